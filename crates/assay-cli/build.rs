//! The web UI is embedded from `ui/dist`: fail early, with the fix, when it has not been built.
fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    if !dist.join("index.html").is_file() {
        panic!(
            "the web UI is not built ({} is missing): run `make ui` (npm ci && npm run build in ui/) first",
            dist.join("index.html").display()
        );
    }
}
