//! The one command surface. Every operation a user can perform is one documented function here;
//! the CLI, the HTTP routes of `assay serve` and the Tauri commands are thin adapters over it.
//!
//! **API boundary:** arguments and results are the transport shapes in [`json`]; errors cross as
//! [`json::ApiError`] (a stable code and a message). [`Api::dispatch`] maps a command name and
//! JSON arguments to the typed functions, for transports that carry names (HTTP). When you add a
//! command: write the typed method, add it to [`COMMANDS`] and to `dispatch`, then add the
//! one-line Tauri adapter in `src-tauri` and the wrapper in `ui/src/lib/api.ts`.

mod cost;
mod demo;
mod evals;
mod git;
pub mod json;
mod parts;
mod prices;

pub use demo::{demo, DemoReport};
pub use evals::{CassetteChoice, KEY_PROVIDERS};
pub use parts::{ABANDON_HEADER, LAST_PART_HEADER};
pub use prices::{PriceMatch, PricesImport};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::import::{self, ImportReport};
use crate::model::{format_time_ns, Span};
use crate::store::{search, spans, traces, Store};
use crate::workspace::{self, InitReport, Locate, Workspace};
use json::*;

/// The commands reachable by name from the UI, in both transports.
pub const COMMANDS: &[&str] = &[
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
];

/// Default page size of the trace list.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page the trace list returns.
const MAX_LIMIT: u32 = 1000;

/// An open workspace and its store.
pub struct Api {
    workspace: Workspace,
    // One connection behind a lock: SQLite serialises writers anyway, and reads are short.
    store: Mutex<Store>,
    // Filter values change only when traces are imported (through this Api, which clears it).
    facets: Mutex<FacetCache>,
    // Evaluation runs started in the background by this process.
    eval_jobs: evals::EvalJobs,
    // Uploads being imported, by the id their client gave: how far each has got. Apart from the
    // store's lock, which an import holds throughout.
    uploads: Mutex<HashMap<String, ImportProgress>>,
    // Uploads sent in parts, open until their import ends.
    parted: parts::PartedUploads,
}

/// Filter values by time range (`since`, `until` in ns).
type FacetCache = HashMap<(Option<i64>, Option<i64>), TraceFacets>;

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("workspace", &self.workspace)
            .finish()
    }
}

impl Api {
    /// Finds the workspace and opens (creating or migrating) its database.
    pub fn open(locate: &Locate) -> Result<Api> {
        let workspace = Workspace::locate(locate)?;
        let store = Store::open(&workspace.db_path)?;
        Ok(Api {
            workspace,
            store: Mutex::new(store),
            facets: Mutex::new(HashMap::new()),
            eval_jobs: evals::EvalJobs::default(),
            uploads: Mutex::new(HashMap::new()),
            parted: parts::PartedUploads::default(),
        })
    }

    /// The resolved workspace.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The workspace folder, for commands that read or write its files (eval sets, prompts,
    /// `prices.toml`); an error naming `command` when only a database was opened.
    fn workspace_root(&self, command: &str) -> Result<&Path> {
        self.workspace
            .root
            .as_deref()
            .ok_or_else(|| Error::InvalidArguments {
                command: command.into(),
                message:
                    "this needs a workspace folder; open one with --workspace (or run `assay init`)"
                        .into(),
            })
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // Anything that takes the store may write: forget cached filter values.
        self.facets_cache().clear();
        self.store_for_reading()
    }

    fn facets_cache(&self) -> MutexGuard<'_, FacetCache> {
        self.facets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn store_for_reading(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is safe to keep using.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the workspace is and how much it holds.
    pub fn workspace_info(&self) -> Result<WorkspaceInfo> {
        let store = self.store_for_reading();
        Ok(WorkspaceInfo {
            name: self.workspace.name(),
            root: self
                .workspace
                .root
                .as_ref()
                .map(|r| r.display().to_string())
                .unwrap_or_default(),
            db_path: self.workspace.db_path.display().to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            trace_count: traces::count(&store)?,
            span_count: spans::count(&store)?,
        })
    }

    /// One page of traces, filtered and sorted by `query`.
    pub fn traces_list(&self, query: &TraceQuery) -> Result<TraceList> {
        let invalid = |message: String| Error::InvalidArguments {
            command: "traces_list".into(),
            message,
        };
        let sort = match non_empty(&query.sort).as_deref() {
            None => traces::TraceSort::default(),
            Some(s) => traces::TraceSort::parse(s).ok_or_else(|| {
                invalid(format!(
                    "sort: {s:?} is not one of newest, oldest, slowest, most_tokens, most_spans"
                ))
            })?,
        };
        if let Some(status) = non_empty(&query.status).as_deref() {
            if !matches!(status, "ok" | "error" | "unset") {
                return Err(invalid(format!(
                    "status: {status:?} is not one of ok, error, unset"
                )));
            }
        }
        let filter = traces::TraceFilter {
            search: query.search.clone(),
            since_ns: parse_time("since", query.since.as_deref()).map_err(invalid)?,
            until_ns: parse_time("until", query.until.as_deref()).map_err(invalid)?,
            tenant: non_empty(&query.tenant),
            endpoint: non_empty(&query.endpoint),
            model: non_empty(&query.model),
            status: non_empty(&query.status),
            environment: non_empty(&query.environment),
            sort,
            limit: i64::from(query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT)),
            offset: i64::from(query.offset.unwrap_or(0)),
        };
        let store = self.store_for_reading();
        let (rows, total) = traces::list(&store, &filter)?;
        let search_pending = search::pending(&store)?;
        Ok(TraceList {
            traces: rows
                .into_iter()
                .map(|t| TraceSummary {
                    start_time: format_time_ns(t.start_ns),
                    duration_ms: ns_to_ms(t.end_ns - t.start_ns),
                    trace_id: t.trace_id,
                    name: t.name,
                    service: t.service,
                    span_count: t.span_count,
                    error_count: t.error_count,
                    status: t.status,
                    models: t.models,
                    input_tokens: t.input_tokens,
                    output_tokens: t.output_tokens,
                    tenant: t.tenant,
                    endpoint: t.endpoint,
                    environment: t.environment,
                })
                .collect(),
            total,
            search_pending,
        })
    }

    /// The values each trace filter can take in a time range, with trace counts.
    pub fn trace_facets(&self, query: &FacetQuery) -> Result<TraceFacets> {
        let invalid = |message: String| Error::InvalidArguments {
            command: "trace_facets".into(),
            message,
        };
        let since = parse_time("since", query.since.as_deref()).map_err(invalid)?;
        let until = parse_time("until", query.until.as_deref()).map_err(invalid)?;
        if let Some(cached) = self.facets_cache().get(&(since, until)) {
            return Ok(cached.clone());
        }
        let f = traces::facets(&self.store_for_reading(), since, until)?;
        let convert = |values: traces::FacetValues| {
            values
                .into_iter()
                .map(|(value, count)| Facet { value, count })
                .collect()
        };
        let facets = TraceFacets {
            tenants: convert(f.tenants),
            endpoints: convert(f.endpoints),
            models: convert(f.models),
            environments: convert(f.environments),
        };
        self.facets_cache().insert((since, until), facets.clone());
        Ok(facets)
    }

    /// A trace's spans as a tree (pre-order with depths).
    pub fn trace_get(&self, args: &TraceGet) -> Result<TraceDetail> {
        let trace_id = args.trace_id.trim().to_ascii_lowercase();
        let spans = spans::for_trace(&self.store_for_reading(), &trace_id)?;
        if spans.is_empty() {
            return Err(Error::TraceNotFound(args.trace_id.clone()));
        }
        Ok(TraceDetail {
            trace_id,
            spans: tree_order(spans),
        })
    }

    /// Imports files and folders (recursively). Each file is its own import: a file that fails
    /// is reported and changes nothing, and the others still import. The full-text index is
    /// brought up to date afterwards.
    pub fn import_paths(&self, args: &ImportArgs) -> Result<ImportOutcome> {
        self.import_paths_with(&args.paths, None, &mut |_, _| {}, true)
    }

    /// [`Api::import_paths`] with a forced format, a progress callback (file, progress after each
    /// committed batch), and the choice to leave the full-text index to catch up later.
    pub fn import_paths_with(
        &self,
        paths: &[String],
        format: Option<import::Format>,
        progress: &mut dyn FnMut(&str, import::Progress),
        index: bool,
    ) -> Result<ImportOutcome> {
        let mut files = Vec::new();
        for p in paths {
            let path = Path::new(p);
            let from_folder = path.is_dir();
            let before = files.len();
            collect_files(path, &mut files);
            // Remember which files were found by walking a folder.
            for f in &mut files[before..] {
                f.1 = from_folder;
            }
        }
        let mut outcome = ImportOutcome {
            imported: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
        };
        let catalogue = std::sync::Arc::new(self.price_catalogue()?);
        for (file, from_folder) in files {
            let name = file.display().to_string();
            let mut on_batch = |p: import::Progress| progress(&name, p);
            let options = import::ImportOptions {
                format,
                progress: Some(&mut on_batch),
                attribution: Some(self.workspace.config.attribution.clone()),
                catalogue: Some(std::sync::Arc::clone(&catalogue)),
            };
            match import::import_file(&mut self.store(), &file, options) {
                Ok(report) => outcome.imported.push(report),
                Err(e @ Error::UnknownFormat { .. }) if from_folder => {
                    outcome.skipped.push(ImportFailure {
                        source: name.clone(),
                        error: e.into(),
                    })
                }
                Err(e) => outcome.failed.push(ImportFailure {
                    source: name.clone(),
                    error: e.into(),
                }),
            }
        }
        if index {
            self.index_search_text(usize::MAX)?;
        }
        Ok(outcome)
    }

    /// Imports one uploaded file (the UI's file picker and drag-and-drop) as its bytes arrive,
    /// then indexes its text. With an `id`, [`Api::import_progress`] tells how far it has got.
    pub fn import_upload(
        &self,
        upload: &ImportUpload,
        bytes: impl std::io::Read + Send,
    ) -> Result<ImportOutcome> {
        let format =
            match upload.format.as_deref() {
                None => None,
                Some(name) => Some(import::Format::parse_name(name).ok_or_else(|| {
                    Error::InvalidArguments {
                        command: "import_upload".into(),
                        message: format!("format: {name:?} is not a format Assay reads"),
                    }
                })?),
            };
        let uploads = || self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        let mut on_batch = |p: import::Progress| {
            if let Some(id) = &upload.id {
                uploads().insert(
                    id.clone(),
                    ImportProgress {
                        bytes: p.bytes,
                        spans: p.spans,
                    },
                );
            }
        };
        if let Some(id) = &upload.id {
            uploads().insert(id.clone(), ImportProgress::default());
        }
        let result = import::import_reader(
            &mut self.store(),
            &upload.name,
            bytes,
            import::ImportOptions {
                format,
                progress: Some(&mut on_batch),
                attribution: Some(self.workspace.config.attribution.clone()),
                catalogue: Some(std::sync::Arc::new(self.price_catalogue()?)),
            },
        );
        if let Some(id) = &upload.id {
            uploads().remove(id);
        }
        let outcome = match result {
            Ok(report) => ImportOutcome {
                imported: vec![report],
                failed: Vec::new(),
                skipped: Vec::new(),
            },
            Err(e) => ImportOutcome {
                imported: Vec::new(),
                failed: vec![ImportFailure {
                    source: upload.name.clone(),
                    error: e.into(),
                }],
                skipped: Vec::new(),
            },
        };
        self.index_search_text(usize::MAX)?;
        Ok(outcome)
    }

    /// How far the upload with this id has got: content bytes read and spans parsed so far,
    /// updated at each written batch. `None` before it starts and after it ends.
    pub fn import_progress(&self, args: &ImportProgressArgs) -> Result<Option<ImportProgress>> {
        let uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        Ok(uploads.get(&args.id).cloned())
    }

    /// Imports from a reader (a file or standard input) with options; `source` names it.
    pub fn import_reader(
        &self,
        source: &str,
        reader: impl std::io::Read + Send,
        mut options: import::ImportOptions<'_>,
    ) -> Result<ImportReport> {
        if options.attribution.is_none() {
            options.attribution = Some(self.workspace.config.attribution.clone());
        }
        if options.catalogue.is_none() {
            options.catalogue = Some(std::sync::Arc::new(self.price_catalogue()?));
        }
        import::import_reader(&mut self.store(), source, reader, options)
    }

    /// Imports an in-memory document (`source` names it in messages).
    pub fn import_bytes(&self, source: &str, bytes: &[u8]) -> Result<ImportReport> {
        self.import_reader(source, bytes, import::ImportOptions::default())
    }

    /// Brings the full-text index up to date on a thread of its own, a few thousand payloads at
    /// a time, so a long-running front end (`assay serve`, the desktop app) makes text left
    /// behind by `assay import --defer-index` (or an interrupted import) searchable while it
    /// answers requests.
    pub fn index_in_background(self: &std::sync::Arc<Self>) {
        let api = std::sync::Arc::clone(self);
        std::thread::spawn(move || {
            // Errors here are not the caller's: search keeps reporting what is still pending.
            let mut done = 0;
            while let Ok(n) = api.index_search_text_in_steps(5_000) {
                if n == 0 {
                    break;
                }
                done += n;
            }
            let _ = api.merge_search_index_after(done);
        });
    }

    /// Indexes up to `max` pending payloads for full-text search, a few thousand per transaction
    /// so readers are never blocked for long, then merges the index if that was a large catch-up.
    /// Returns how many it indexed.
    pub fn index_search_text(&self, max: usize) -> Result<usize> {
        let done = self.index_search_text_in_steps(max)?;
        self.merge_search_index_after(done)?;
        Ok(done)
    }

    /// Merges the full-text index into one segment after a catch-up of `indexed` payloads, if
    /// that was a large one (see `store::search::OPTIMIZE_AFTER`).
    fn merge_search_index_after(&self, indexed: usize) -> Result<()> {
        if indexed >= search::OPTIMIZE_AFTER {
            search::optimize(&mut self.store())?;
        }
        Ok(())
    }

    fn index_search_text_in_steps(&self, max: usize) -> Result<usize> {
        let mut done = 0;
        while done < max {
            let n = search::index_pending(&mut self.store(), 5_000.min(max - done))?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    /// Calls a command by name with JSON arguments (the HTTP transport's entry point).
    pub fn dispatch(self: &std::sync::Arc<Self>, command: &str, args: Value) -> Result<Value> {
        fn to_value<T: serde::Serialize>(v: T) -> Result<Value> {
            serde_json::to_value(v).map_err(|e| Error::InvalidArguments {
                command: "result".into(),
                message: e.to_string(),
            })
        }
        match command {
            "workspace_info" => to_value(self.workspace_info()?),
            "traces_list" => to_value(self.traces_list(&parse_args(command, args)?)?),
            "trace_facets" => to_value(self.trace_facets(&parse_args(command, args)?)?),
            "trace_get" => to_value(self.trace_get(&parse_args(command, args)?)?),
            "import_paths" => to_value(self.import_paths(&parse_args(command, args)?)?),
            "import_progress" => to_value(self.import_progress(&parse_args(command, args)?)?),
            "import_upload_begin" => {
                to_value(self.import_upload_begin(&parse_args(command, args)?)?)
            }
            "import_upload_parts" => {
                to_value(self.import_upload_parts(&parse_args(command, args)?)?)
            }
            "eval_sets" => to_value(self.eval_sets()?),
            "eval_runs" => to_value(self.eval_runs(&parse_args(command, args)?)?),
            "eval_run_get" => to_value(self.eval_run_get(&parse_args(command, args)?)?),
            "eval_start" => to_value(self.eval_start(&parse_args(command, args)?)?),
            "eval_progress" => to_value(self.eval_progress(&parse_args(command, args)?)?),
            "eval_cancel" => to_value(self.eval_cancel(&parse_args(command, args)?)?),
            "keys_status" => to_value(self.keys_status()?),
            "keys_set" => to_value(self.keys_set(&parse_args(command, args)?)?),
            "keys_delete" => to_value(self.keys_delete(&parse_args(command, args)?)?),
            "workspace_files" => to_value(self.workspace_files()?),
            "file_get" => to_value(self.file_get(&parse_args(command, args)?)?),
            "file_history" => to_value(self.file_history(&parse_args(command, args)?)?),
            "file_diff" => to_value(self.file_diff(&parse_args(command, args)?)?),
            "file_save" => to_value(self.file_save(&parse_args(command, args)?)?),
            "prompt_render" => to_value(self.prompt_render(&parse_args(command, args)?)?),
            "git_refs" => to_value(self.git_refs()?),
            "eval_diff" => to_value(self.eval_diff(&parse_args(command, args)?)?),
            "eval_trend" => to_value(self.eval_trend(&parse_args(command, args)?)?),
            "cost_breakdown" => to_value(self.cost_breakdown(&parse_args(command, args)?)?),
            "cost_chart" => to_value(self.cost_chart(&parse_args(command, args)?)?),
            other => Err(Error::UnknownCommand(other.to_owned())),
        }
    }
}

fn parse_args<T: DeserializeOwned>(command: &str, args: Value) -> Result<T> {
    // A missing body means "no arguments".
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_path_to_error::deserialize(args).map_err(|e| Error::InvalidArguments {
        command: command.to_owned(),
        message: e.to_string(),
    })
}

/// Creates (or completes) a workspace in `dir`. Idempotent.
pub fn init(dir: &Path) -> Result<InitReport> {
    workspace::init(dir)
}

fn collect_files(path: &Path, out: &mut Vec<(PathBuf, bool)>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            // Unreadable folder: pass it on so the import reports the error by name.
            Err(_) => return out.push((path.to_path_buf(), false)),
        };
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden {
                collect_files(&entry, out);
            }
        }
    } else {
        out.push((path.to_path_buf(), false));
    }
}

fn ns_to_ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

/// Orders spans as a tree: roots (and orphans) by start time, each followed by its subtree.
fn tree_order(spans: Vec<Span>) -> Vec<SpanView> {
    let trace_start = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let index: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    // `spans` is sorted by start time, so every child list comes out sorted too.
    for (i, s) in spans.iter().enumerate() {
        match s.parent_span_id.as_deref().and_then(|p| index.get(p)) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let mut order: Vec<(usize, u32)> = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let visit_from = |start: usize, order: &mut Vec<(usize, u32)>, visited: &mut Vec<bool>| {
        let mut stack = vec![(start, 0u32)];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            order.push((i, depth));
            for &c in children[i].iter().rev() {
                stack.push((c, depth + 1));
            }
        }
    };
    for &r in &roots {
        visit_from(r, &mut order, &mut visited);
    }
    // Spans in a parent cycle are unreachable from any root: still show every one of them.
    for i in 0..spans.len() {
        if !visited[i] {
            visit_from(i, &mut order, &mut visited);
        }
    }
    let mut slots: Vec<Option<Span>> = spans.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| slots[i].take().map(|s| span_view(s, depth, trace_start)))
        .collect()
}

fn span_view(s: Span, depth: u32, trace_start: i64) -> SpanView {
    let p = s.payload;
    SpanView {
        depth,
        kind: s.kind.as_str().to_owned(),
        start_time: format_time_ns(s.start_ns),
        offset_ms: ns_to_ms(s.start_ns - trace_start),
        duration_ms: s.end_ns.map(|e| ns_to_ms(e - s.start_ns)).unwrap_or(0.0),
        status: s.status.as_str().to_owned(),
        error_class: s.error_class.map(|c| c.as_str().to_owned()),
        ttft_ms: s.time_to_first_token_ns.map(ns_to_ms),
        input_tokens: s.usage.input,
        output_tokens: s.usage.output,
        events: p
            .events
            .into_iter()
            .map(|e| EventView {
                name: e.name,
                offset_ms: ns_to_ms(e.time_ns - s.start_ns),
                attributes: e.attributes,
            })
            .collect(),
        usage: s.usage,
        span_id: s.span_id,
        parent_span_id: s.parent_span_id,
        name: s.name,
        service: s.service,
        status_message: s.status_message,
        provider: s.provider,
        model: s.request_model,
        response_model: s.response_model,
        finish_reason: s.finish_reason,
        reported_cost: s.reported_cost,
        cost: s.cost,
        unpriced: s.unpriced,
        prompt_name: s.prompt_name,
        prompt_version: s.prompt_version,
        attribution: s.attribution,
        tags: s.tags,
        duplicate_of: s.duplicate_of,
        input: p.input,
        output: p.output,
        input_messages: p.input_messages,
        output_messages: p.output_messages,
        documents: p.documents,
        prompt_template: p.prompt_template,
        metadata: p.metadata,
        attributes: p.attributes,
    }
}

/// The header that carries an uploaded file's name (percent-encoded) in both transports.
pub const FILE_NAME_HEADER: &str = "x-assay-file-name";
/// The header that may force an uploaded file's format.
pub const FORMAT_HEADER: &str = "x-assay-format";
/// The header giving an upload the id its progress is asked by (`import_progress`).
pub const IMPORT_ID_HEADER: &str = "x-assay-import-id";

impl ImportUpload {
    /// The upload's name and format from its request headers (`header` looks one up by name),
    /// as both transports carry them.
    pub fn from_headers<'h>(header: impl Fn(&str) -> Option<&'h str>) -> ImportUpload {
        ImportUpload {
            name: header(FILE_NAME_HEADER)
                .map(decode_header_value)
                .unwrap_or_else(|| "upload".to_owned()),
            format: header(FORMAT_HEADER).map(decode_header_value),
            id: header(IMPORT_ID_HEADER).map(decode_header_value),
        }
    }
}

/// Decodes a percent-encoded header value (`encodeURIComponent` on the UI side). Invalid escapes
/// are kept as they are; the name is only used in reports.
pub fn decode_header_value(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Parses a time bound: RFC 3339, or a date (`2026-11-01`, the start of that day in UTC).
pub fn parse_time(field: &str, value: Option<&str>) -> std::result::Result<Option<i64>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let parsed = chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| {
            format!("{field}: {value:?} is not a time (RFC 3339) or a date (YYYY-MM-DD)")
        })?;
    parsed
        .timestamp_nanos_opt()
        .map(Some)
        .ok_or_else(|| format!("{field}: {value:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, start: i64) -> Span {
        let mut s = Span::new("t".into(), id.into(), id.into(), start);
        s.parent_span_id = parent.map(Into::into);
        s.end_ns = Some(start + 10);
        s
    }

    #[test]
    fn header_values_are_percent_decoded() {
        assert_eq!(decode_header_value("traces%20(1).json"), "traces (1).json");
        assert_eq!(decode_header_value("%E2%9C%93.json"), "\u{2713}.json");
        assert_eq!(
            decode_header_value("bad%zz%4"),
            "bad%zz%4",
            "broken escapes stay as they are"
        );
    }

    #[test]
    fn time_bounds_accept_rfc3339_and_dates() {
        assert_eq!(
            parse_time("since", Some("1970-01-02")),
            Ok(Some(86_400_000_000_000))
        );
        assert_eq!(
            parse_time("since", Some("1970-01-01T00:00:01Z")),
            Ok(Some(1_000_000_000))
        );
        assert_eq!(parse_time("since", None), Ok(None));
        assert!(parse_time("until", Some("yesterday"))
            .unwrap_err()
            .starts_with("until:"));
    }

    #[test]
    fn tree_order_is_preorder_with_orphans_and_cycles_kept() {
        let spans = vec![
            span("root", None, 0),
            span("a", Some("root"), 1),
            span("orphan", Some("missing"), 2),
            span("a1", Some("a"), 3),
            span("b", Some("root"), 4),
            span("c1", Some("c2"), 5),
            span("c2", Some("c1"), 6),
        ];
        let order: Vec<(String, u32)> = tree_order(spans)
            .into_iter()
            .map(|s| (s.span_id, s.depth))
            .collect();
        let expected = [
            ("root", 0),
            ("a", 1),
            ("a1", 2),
            ("b", 1),
            ("orphan", 0),
            ("c1", 0),
            ("c2", 1),
        ];
        let expected: Vec<(String, u32)> =
            expected.iter().map(|(s, d)| (s.to_string(), *d)).collect();
        assert_eq!(order, expected);
    }
}

#[cfg(test)]
mod command_list_tests {
    use super::COMMANDS;

    /// The desktop app's build script and capability file list the commands by hand (a build
    /// script cannot use this crate); they must stay equal to `COMMANDS`.
    #[test]
    fn the_desktop_app_declares_and_grants_exactly_the_api_commands() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let build = std::fs::read_to_string(root.join("src-tauri/build.rs")).unwrap_or_default();
        let caps = std::fs::read_to_string(root.join("src-tauri/capabilities/default.json"))
            .unwrap_or_default();
        let declared: Vec<&str> = build
            .split(".commands(&[")
            .nth(1)
            .and_then(|rest| rest.split("])").next())
            .unwrap_or("")
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(declared, COMMANDS, "src-tauri/build.rs");
        for command in COMMANDS {
            let permission = format!("\"allow-{}\"", command.replace('_', "-"));
            assert!(
                caps.contains(&permission),
                "capabilities/default.json lacks {permission}"
            );
        }
        assert_eq!(caps.matches("\"allow-").count(), COMMANDS.len());
    }
}
