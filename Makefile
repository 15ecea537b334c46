# Assay's build and test entry points. `make demo` and `make test` are the README's quick start.
.PHONY: demo setup deps test-deps ui build lint test test-rust test-keyring test-ui test-browser test-desktop clean

CARGO ?= cargo

## demo: install what is missing, build, and run the demo (desktop app, or the browser without a display)
demo: setup
	./target/debug/assay demo

## setup: Debian packages, npm packages and a debug build of every binary
setup: deps build

deps:
	./scripts/install-deps.sh

test-deps:
	./scripts/install-deps.sh --test

ui/node_modules/.package-lock.json: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund

tests/e2e/node_modules/.package-lock.json: tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund

UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/package.json

## ui: build the web UI into ui/dist (embedded by both binaries); only when its sources changed,
## since a new ui/dist makes cargo re-embed it
ui: ui/dist/index.html

ui/dist/index.html: ui/node_modules/.package-lock.json $(UI_SOURCES)
	cd ui && npm run build

build: ui
	$(CARGO) build --workspace --locked

## lint: formatting, clippy, UI type check and lint
lint: ui
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	cd ui && npm run check && npm run lint

test-rust: build
	$(CARGO) test --workspace --locked

## test-keyring: API keys stored in and read back from a real Secret Service (private session);
## --workspace keeps the feature set of test-rust's build, so nothing is compiled again
test-keyring: build
	./scripts/with-keyring.sh $(CARGO) test --workspace --locked --lib eval::secrets -- --ignored
	./scripts/with-keyring.sh $(CARGO) test --workspace --locked --test evals keys_round_trip -- --ignored

test-ui: ui
	cd ui && npm test

test-browser: build tests/e2e/node_modules/.package-lock.json
	cd tests/e2e && npm run test:browser

test-desktop: build tests/e2e/node_modules/.package-lock.json
	./tests/e2e/run-desktop.sh

## test: everything CI runs (after `make test-deps` on a fresh machine, which `make test` does itself)
test: test-deps
	$(MAKE) lint
	$(MAKE) test-ui
	$(MAKE) test-rust
	$(MAKE) test-keyring
	$(MAKE) test-browser
	$(MAKE) test-desktop
	@echo "All checks passed."

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules tests/e2e/node_modules
