//! Tauri's build step. The app's own commands are declared here so that the capability file can
//! grant exactly them and nothing else; keep this list equal to `assay::api::COMMANDS`.
fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/index.html");
    if !dist.is_file() {
        panic!(
            "the web UI is not built ({} is missing): run `make ui` (npm ci && npm run build in ui/) first",
            dist.display()
        );
    }
    let manifest = tauri_build::AppManifest::new().commands(&[
        "workspace_info",
        "traces_list",
        "trace_facets",
        "trace_get",
        "import_paths",
        "import_upload",
        "import_upload_begin",
        "import_upload_parts",
        "import_upload_part",
        "import_progress",
        "eval_sets",
        "eval_runs",
        "eval_run_get",
        "eval_start",
        "eval_progress",
        "eval_cancel",
        "keys_status",
        "keys_set",
        "keys_delete",
        "workspace_files",
        "file_get",
        "file_history",
        "file_diff",
        "file_save",
        "prompt_render",
        "git_refs",
        "eval_diff",
        "eval_trend",
        "cost_breakdown",
        "cost_chart",
    ]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build step failed: {e:#}");
    }
}
