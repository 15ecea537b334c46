//! The desktop app: wiring only. Each command below is a one-line adapter over `assay::api`;
//! the workspace is chosen by `--workspace DIR` / `ASSAY_WORKSPACE` (or `ASSAY_DB`), else found
//! upwards from the current folder, else a personal workspace in the app's data folder.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
// A binary decides its exit code, and the code `generate_context!` expands to exits too.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::sync::Arc;

// The same allocator as the CLI, so imports run as fast in the window.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use assay::api::json::{
    ApiError, CostChart, CostChartArgs, CostQuery, CostReport, EvalDiff, EvalDiffArgs,
    EvalProgress, EvalRunBrief, EvalRunDetail, EvalRunRef, EvalRunsQuery, EvalSetInfo, EvalStart,
    EvalTrend, EvalTrendArgs, FacetQuery, FileContent, FileDiff, FileDiffArgs, FileRef, FileSave,
    FileVersionView, GitRefs, ImportArgs, ImportOutcome, ImportProgress, ImportProgressArgs,
    ImportUpload, KeyRef, KeySet, KeyStatus, PromptRender, RenderedPrompt, TraceDetail,
    TraceFacets, TraceGet, TraceList, TraceQuery, UploadPart, WorkspaceFile, WorkspaceFiles,
    WorkspaceInfo,
};
use assay::api::Api;
use assay::workspace::Locate;
use tauri::{Manager, State};

type Shared<'a> = State<'a, Arc<Api>>;

/// Runs a blocking API call off the UI thread.
async fn blocking<T: Send + 'static>(
    api: &Shared<'_>,
    f: impl FnOnce(&Arc<Api>) -> assay::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let api = Arc::clone(api.inner());
    tauri::async_runtime::spawn_blocking(move || f(&api).map_err(ApiError::from))
        .await
        .map_err(|e| ApiError {
            code: "internal".into(),
            message: e.to_string(),
        })?
}

#[tauri::command]
async fn workspace_info(api: Shared<'_>) -> Result<WorkspaceInfo, ApiError> {
    blocking(&api, |a| a.workspace_info()).await
}

#[tauri::command]
async fn traces_list(api: Shared<'_>, args: TraceQuery) -> Result<TraceList, ApiError> {
    blocking(&api, move |a| a.traces_list(&args)).await
}

#[tauri::command]
async fn trace_facets(api: Shared<'_>, args: FacetQuery) -> Result<TraceFacets, ApiError> {
    blocking(&api, move |a| a.trace_facets(&args)).await
}

#[tauri::command]
async fn trace_get(api: Shared<'_>, args: TraceGet) -> Result<TraceDetail, ApiError> {
    blocking(&api, move |a| a.trace_get(&args)).await
}

#[tauri::command]
async fn import_paths(api: Shared<'_>, args: ImportArgs) -> Result<ImportOutcome, ApiError> {
    blocking(&api, move |a| a.import_paths(&args)).await
}

/// The file's bytes are the raw invoke body; its name travels in a header, as over HTTP.
#[tauri::command]
async fn import_upload(
    api: Shared<'_>,
    request: tauri::ipc::Request<'_>,
) -> Result<ImportOutcome, ApiError> {
    let upload = ImportUpload::from_headers(|name| header(&request, name));
    let bytes = raw_body(&request, "import_upload")?;
    blocking(&api, move |a| a.import_upload(&upload, &bytes[..])).await
}

#[tauri::command]
async fn import_upload_begin(api: Shared<'_>, args: ImportProgressArgs) -> Result<(), ApiError> {
    blocking(&api, move |a| a.import_upload_begin(&args)).await
}

#[tauri::command]
async fn import_upload_parts(
    api: Shared<'_>,
    args: ImportUpload,
) -> Result<ImportOutcome, ApiError> {
    blocking(&api, move |a| a.import_upload_parts(&args)).await
}

/// One part's bytes are the raw invoke body; its upload id and last-part mark travel in headers.
#[tauri::command]
async fn import_upload_part(
    api: Shared<'_>,
    request: tauri::ipc::Request<'_>,
) -> Result<bool, ApiError> {
    let part = UploadPart::from_headers(|name| header(&request, name));
    let bytes = raw_body(&request, "import_upload_part")?;
    blocking(&api, move |a| a.import_upload_part(&part, bytes)).await
}

/// A request header's value, when it is text.
fn header<'r>(request: &'r tauri::ipc::Request<'_>, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The raw bytes `command` takes as its invoke body (a file, or a part of one).
fn raw_body(request: &tauri::ipc::Request<'_>, command: &str) -> Result<Vec<u8>, ApiError> {
    match request.body() {
        tauri::ipc::InvokeBody::Raw(bytes) => Ok(bytes.clone()),
        tauri::ipc::InvokeBody::Json(_) => Err(ApiError {
            code: "invalid_input".into(),
            message: format!("{command} takes raw bytes as its body"),
        }),
    }
}

#[tauri::command]
async fn import_progress(
    api: Shared<'_>,
    args: ImportProgressArgs,
) -> Result<Option<ImportProgress>, ApiError> {
    blocking(&api, move |a| a.import_progress(&args)).await
}

#[tauri::command]
async fn eval_sets(api: Shared<'_>) -> Result<Vec<EvalSetInfo>, ApiError> {
    blocking(&api, |a| a.eval_sets()).await
}

#[tauri::command]
async fn eval_runs(api: Shared<'_>, args: EvalRunsQuery) -> Result<Vec<EvalRunBrief>, ApiError> {
    blocking(&api, move |a| a.eval_runs(&args)).await
}

#[tauri::command]
async fn eval_run_get(api: Shared<'_>, args: EvalRunRef) -> Result<EvalRunDetail, ApiError> {
    blocking(&api, move |a| a.eval_run_get(&args)).await
}

#[tauri::command]
async fn eval_start(api: Shared<'_>, args: EvalStart) -> Result<EvalProgress, ApiError> {
    blocking(&api, move |a| a.eval_start(&args)).await
}

#[tauri::command]
async fn eval_progress(api: Shared<'_>, args: EvalRunRef) -> Result<EvalProgress, ApiError> {
    blocking(&api, move |a| a.eval_progress(&args)).await
}

#[tauri::command]
async fn eval_cancel(api: Shared<'_>, args: EvalRunRef) -> Result<EvalProgress, ApiError> {
    blocking(&api, move |a| a.eval_cancel(&args)).await
}

#[tauri::command]
async fn keys_status(api: Shared<'_>) -> Result<Vec<KeyStatus>, ApiError> {
    blocking(&api, |a| a.keys_status()).await
}

#[tauri::command]
async fn keys_set(api: Shared<'_>, args: KeySet) -> Result<KeyStatus, ApiError> {
    blocking(&api, move |a| a.keys_set(&args)).await
}

#[tauri::command]
async fn keys_delete(api: Shared<'_>, args: KeyRef) -> Result<KeyStatus, ApiError> {
    blocking(&api, move |a| a.keys_delete(&args)).await
}

#[tauri::command]
async fn workspace_files(api: Shared<'_>) -> Result<WorkspaceFiles, ApiError> {
    blocking(&api, |a| a.workspace_files()).await
}

#[tauri::command]
async fn file_get(api: Shared<'_>, args: FileRef) -> Result<FileContent, ApiError> {
    blocking(&api, move |a| a.file_get(&args)).await
}

#[tauri::command]
async fn file_history(api: Shared<'_>, args: FileRef) -> Result<Vec<FileVersionView>, ApiError> {
    blocking(&api, move |a| a.file_history(&args)).await
}

#[tauri::command]
async fn file_diff(api: Shared<'_>, args: FileDiffArgs) -> Result<FileDiff, ApiError> {
    blocking(&api, move |a| a.file_diff(&args)).await
}

#[tauri::command]
async fn file_save(api: Shared<'_>, args: FileSave) -> Result<WorkspaceFile, ApiError> {
    blocking(&api, move |a| a.file_save(&args)).await
}

#[tauri::command]
async fn prompt_render(api: Shared<'_>, args: PromptRender) -> Result<RenderedPrompt, ApiError> {
    blocking(&api, move |a| a.prompt_render(&args)).await
}

#[tauri::command]
async fn git_refs(api: Shared<'_>) -> Result<GitRefs, ApiError> {
    blocking(&api, |a| a.git_refs()).await
}

#[tauri::command]
async fn eval_diff(api: Shared<'_>, args: EvalDiffArgs) -> Result<EvalDiff, ApiError> {
    blocking(&api, move |a| a.eval_diff(&args)).await
}

#[tauri::command]
async fn eval_trend(api: Shared<'_>, args: EvalTrendArgs) -> Result<EvalTrend, ApiError> {
    blocking(&api, move |a| a.eval_trend(&args)).await
}

#[tauri::command]
async fn cost_breakdown(api: Shared<'_>, args: CostQuery) -> Result<CostReport, ApiError> {
    blocking(&api, move |a| a.cost_breakdown(&args)).await
}

#[tauri::command]
async fn cost_chart(api: Shared<'_>, args: CostChartArgs) -> Result<CostChart, ApiError> {
    blocking(&api, move |a| a.cost_chart(&args)).await
}

fn locate(app: &tauri::App) -> Locate {
    let mut args = std::env::args().skip(1);
    let mut workspace = std::env::var_os("ASSAY_WORKSPACE").map(PathBuf::from);
    while let Some(arg) = args.next() {
        if arg == "--workspace" {
            workspace = args.next().map(PathBuf::from);
        } else if let Some(dir) = arg.strip_prefix("--workspace=") {
            workspace = Some(PathBuf::from(dir));
        }
    }
    Locate {
        workspace,
        db: std::env::var_os("ASSAY_DB").map(PathBuf::from),
        cwd: std::env::current_dir().unwrap_or_default(),
        fallback: app.path().app_data_dir().ok().map(|d| d.join("workspace")),
    }
}

fn main() {
    let app = tauri::Builder::default()
        .setup(|app| {
            let api =
                Api::open(&locate(app)).map_err(|e| format!("cannot open the workspace: {e}"))?;
            let api = Arc::new(api);
            api.index_in_background();
            app.manage(api);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            workspace_info,
            traces_list,
            trace_facets,
            trace_get,
            import_paths,
            import_upload,
            import_upload_begin,
            import_upload_parts,
            import_upload_part,
            import_progress,
            eval_sets,
            eval_runs,
            eval_run_get,
            eval_start,
            eval_progress,
            eval_cancel,
            keys_status,
            keys_set,
            keys_delete,
            workspace_files,
            file_get,
            file_history,
            file_diff,
            file_save,
            prompt_render,
            git_refs,
            eval_diff,
            eval_trend,
            cost_breakdown,
            cost_chart
        ])
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
