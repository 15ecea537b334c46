#!/usr/bin/env bash
# Runs the desktop end-to-end tests in a private X display and D-Bus session, then stops both.
set -euo pipefail
cd "$(dirname "$0")"
display=":$((90 + RANDOM % 400))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp &
xvfb_pid=$!
trap 'kill "$xvfb_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  [ -e "/tmp/.X11-unix/X${display#:}" ] && break
  sleep 0.1
done
DISPLAY="$display" dbus-run-session -- node --test --test-concurrency=1 "$@" desktop.test.mjs
