//! Integration tests of the core library, one module per area.
#![allow(clippy::unwrap_used)] // In a test, a panic is the failure report.

mod cost;
mod diff;
mod evals;
mod fixtures;
mod robustness;
mod store;

/// A new workspace in a temporary folder, opened.
pub fn temp_workspace() -> (tempfile::TempDir, assay::api::Api) {
    let dir = tempfile::tempdir().unwrap();
    assay::api::init(dir.path()).unwrap();
    let api = assay::api::Api::open(&assay::workspace::Locate {
        workspace: Some(dir.path().to_path_buf()),
        cwd: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    (dir, api)
}
