//! The shapes that cross the API boundary (to the UI over Tauri or HTTP, and to `--json`).
//! Domain types are not shaped for transport; these are. Times are RFC 3339 strings and
//! durations float milliseconds, since JavaScript numbers cannot hold nanoseconds since 1970.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::import::ImportReport;
pub use crate::model::{Attribution, Document, Message, PromptTemplate, ToolCall, Usage};

/// An error as the UI sees it: a stable code and a human message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    /// Stable code (`not_found`, `invalid_input`, ...); see [`crate::error::ErrorCode`].
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError {
            code: e.code().as_str().to_owned(),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

/// `workspace_info` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    /// The workspace's display name.
    pub name: String,
    /// The workspace folder (empty when only a database was given).
    pub root: String,
    /// The database file.
    pub db_path: String,
    /// Assay's version.
    pub version: String,
    /// Traces stored.
    pub trace_count: i64,
    /// Spans stored.
    pub span_count: i64,
}

/// `traces_list` arguments. Every filter is optional; filters combine with AND.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    /// Page size (default 50, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Rows to skip.
    #[serde(default)]
    pub offset: Option<u32>,
    /// Free text: words found together in a trace (root name, service, models, any span's input
    /// or output; full-text), or the start of a trace id (4 to 32 hex digits).
    #[serde(default)]
    pub search: Option<String>,
    /// Traces that started at or after this time (RFC 3339, or a date `2026-11-01`).
    #[serde(default)]
    pub since: Option<String>,
    /// Traces that started before this time (RFC 3339, or a date: the start of that day).
    #[serde(default)]
    pub until: Option<String>,
    /// Exact tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Exact endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A model (requested or responding) used anywhere in the trace.
    #[serde(default)]
    pub model: Option<String>,
    /// `ok`, `error` or `unset`.
    #[serde(default)]
    pub status: Option<String>,
    /// Exact environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// `newest` (default), `oldest`, `slowest`, `most_tokens` or `most_spans`.
    #[serde(default)]
    pub sort: Option<String>,
}

/// `traces_list` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceList {
    /// One page.
    pub traces: Vec<TraceSummary>,
    /// Traces matching the query, over all pages.
    pub total: i64,
    /// Spans whose text is not yet in the full-text index (search may miss them until it is 0);
    /// reported with every list, so the UI can show indexing progress.
    pub search_pending: i64,
}

/// One row of the trace list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceSummary {
    /// Hex trace id.
    pub trace_id: String,
    /// Root span name.
    pub name: String,
    /// Root span's service.
    pub service: Option<String>,
    /// Start (RFC 3339 UTC).
    pub start_time: String,
    /// Duration from first start to last end.
    pub duration_ms: f64,
    /// Spans in the trace.
    pub span_count: i64,
    /// Failed spans.
    pub error_count: i64,
    /// `ok`, `error` or `unset`.
    pub status: String,
    /// Models asked for.
    pub models: Vec<String>,
    /// Input tokens over all spans (duplicate records of one call counted once).
    pub input_tokens: i64,
    /// Output tokens over all spans.
    pub output_tokens: i64,
    /// Tenant.
    pub tenant: Option<String>,
    /// Endpoint.
    pub endpoint: Option<String>,
    /// Environment.
    pub environment: Option<String>,
}

/// `trace_facets` arguments: the time range the facets cover.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacetQuery {
    /// As in [`TraceQuery::since`].
    #[serde(default)]
    pub since: Option<String>,
    /// As in [`TraceQuery::until`].
    #[serde(default)]
    pub until: Option<String>,
}

/// The values the trace filters can take, most frequent first (at most 200 each).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TraceFacets {
    /// Tenants.
    pub tenants: Vec<Facet>,
    /// Endpoints.
    pub endpoints: Vec<Facet>,
    /// Models.
    pub models: Vec<Facet>,
    /// Environments.
    pub environments: Vec<Facet>,
}

/// One value of a facet and how many traces have it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Facet {
    /// The value.
    pub value: String,
    /// Traces with it.
    pub count: i64,
}

/// `trace_get` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceGet {
    /// Hex trace id (case-insensitive).
    pub trace_id: String,
}

/// `trace_get` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceDetail {
    /// Hex trace id.
    pub trace_id: String,
    /// Spans in tree pre-order: parents before children, siblings by start time. A span whose
    /// parent is not stored is shown as a root (depth 0).
    pub spans: Vec<SpanView>,
}

/// One span of a trace, for display.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpanView {
    /// Hex span id.
    pub span_id: String,
    /// Parent span id as recorded (it may not be stored yet).
    pub parent_span_id: Option<String>,
    /// Depth in the tree; 0 for roots and orphans.
    pub depth: u32,
    /// Span name.
    pub name: String,
    /// Span kind (`llm`, `chain`, `tool`, ...).
    pub kind: String,
    /// Service.
    pub service: Option<String>,
    /// Start (RFC 3339 UTC).
    pub start_time: String,
    /// Start relative to the trace's start.
    pub offset_ms: f64,
    /// Duration (0 while the span is open).
    pub duration_ms: f64,
    /// `ok`, `error` or `unset`.
    pub status: String,
    /// Status or error message.
    pub status_message: Option<String>,
    /// For failures: `model`, `tool` or `infrastructure`.
    pub error_class: Option<String>,
    /// Model provider.
    pub provider: Option<String>,
    /// Model asked for.
    pub model: Option<String>,
    /// Model that answered.
    pub response_model: Option<String>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, ...).
    pub finish_reason: Option<String>,
    /// Time to first token of a streamed response.
    pub ttft_ms: Option<f64>,
    /// Input tokens (all, including cached ones).
    pub input_tokens: Option<i64>,
    /// Output tokens.
    pub output_tokens: Option<i64>,
    /// Token counts by usage key.
    pub usage: Usage,
    /// Cost the source reported (USD).
    pub reported_cost: Option<f64>,
    /// Cost computed from the price catalogue (USD).
    pub cost: Option<f64>,
    /// True when the call used tokens but no price covers its model.
    pub unpriced: bool,
    /// Prompt name.
    pub prompt_name: Option<String>,
    /// Prompt version.
    pub prompt_version: Option<String>,
    /// Attribution keys.
    pub attribution: Attribution,
    /// Tags.
    pub tags: Vec<String>,
    /// Set when this span records the same model call as that span (its usage is not counted again).
    pub duplicate_of: Option<String>,
    /// Input payload as recorded.
    pub input: Option<String>,
    /// Output payload as recorded.
    pub output: Option<String>,
    /// Input messages.
    pub input_messages: Vec<Message>,
    /// Output messages (with tool calls).
    pub output_messages: Vec<Message>,
    /// Retrieved documents.
    pub documents: Vec<Document>,
    /// Prompt template and variables.
    pub prompt_template: Option<PromptTemplate>,
    /// Metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Events, with their offset from the span's start.
    pub events: Vec<EventView>,
    /// All attributes as recorded (resource attributes prefixed `resource.`).
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A span event, for display.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventView {
    /// Name.
    pub name: String,
    /// Time after the span's start.
    pub offset_ms: f64,
    /// Attributes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// `import_paths` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportArgs {
    /// Files or folders (folders are read recursively).
    pub paths: Vec<String>,
}

/// `import_paths` result: one report per file imported, one failure per file that was not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// Files imported (possibly with rejected records).
    pub imported: Vec<ImportReport>,
    /// Files that changed nothing, and why.
    pub failed: Vec<ImportFailure>,
    /// Files found inside a folder that hold no trace format (a README, an export's feedback
    /// file): passed over, not failed. A file named on its own that is not traces fails.
    #[serde(default)]
    pub skipped: Vec<ImportFailure>,
}

/// A file that could not be imported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportFailure {
    /// The file.
    pub source: String,
    /// Why.
    pub error: ApiError,
}

/// `import_upload` arguments besides the raw bytes (the request body).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportUpload {
    /// The file's name, for reports.
    pub name: String,
    /// Read as this format instead of detecting it.
    #[serde(default)]
    pub format: Option<String>,
    /// An id chosen by the client, to ask `import_progress` how far the import has got.
    #[serde(default)]
    pub id: Option<String>,
}

/// `import_upload_part` arguments besides the part's bytes (the request body).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadPart {
    /// The id the upload was opened with (`import_upload_begin`).
    pub id: String,
    /// Whether this is the upload's last part.
    #[serde(default)]
    pub last: bool,
    /// Abandons the upload instead, for this reason (the client could not read its file).
    #[serde(default)]
    pub abandon: Option<String>,
}

/// `import_progress` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportProgressArgs {
    /// The id the upload was sent with.
    pub id: String,
}

/// How far an upload's import has got (`import_progress`), updated at each written batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    /// Bytes of content read (after decompression, so a gzipped file reads more than its size).
    pub bytes: u64,
    /// Spans parsed.
    pub spans: u64,
}

// ---- Evaluations -------------------------------------------------------------------------

pub use crate::eval::assertions::AssertionResult;
pub use crate::eval::plan::Unsupported;

/// `eval_sets` result item: an eval set found in the workspace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalSetInfo {
    /// Its name (the folder under `evalsets/`).
    pub name: String,
    /// Its `evalset.yaml`, relative to the workspace root.
    pub path: String,
    /// What it checks.
    pub description: Option<String>,
    /// Prompt ids.
    pub prompts: Vec<String>,
    /// Provider labels.
    pub providers: Vec<String>,
    /// Number of cases.
    pub cases: usize,
    /// Whether a cassette of recorded responses exists (it can run offline with `replay`).
    pub has_cassette: bool,
    /// Set when the eval set cannot be loaded: what is wrong.
    pub error: Option<ApiError>,
    /// Its most recent run.
    pub last_run: Option<EvalRunBrief>,
}

/// A run in the runs list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalRunBrief {
    /// Run id (a UUID).
    pub id: String,
    /// Eval set name.
    pub evalset: String,
    /// `running`, `completed` or `interrupted`.
    pub status: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Wall time in milliseconds, when finished.
    pub duration_ms: Option<f64>,
    /// Results the plan calls for.
    pub planned: i64,
    /// Results stored.
    pub done: i64,
    /// Results that passed.
    pub pass: i64,
    /// Results that failed an assertion.
    pub fail: i64,
    /// Results that errored (provider or assertion errors).
    pub error: i64,
    /// pass / (pass + fail), when anything was graded.
    pub pass_rate: Option<f64>,
    /// Total cost in USD of the calls made (cached results cost nothing).
    pub cost: f64,
    /// The git commit evaluated, when the workspace is a repository.
    pub git_commit: Option<String>,
    /// Whether the working tree had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// Whether every gate passed (finished runs only).
    pub gates_passed: Option<bool>,
    /// Hash of exactly what was evaluated.
    pub content_hash: String,
}

/// `eval_runs` arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalRunsQuery {
    /// Only runs of this eval set.
    #[serde(default)]
    pub evalset: Option<String>,
    /// At most this many (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `eval_run_get` and `eval_progress` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalRunRef {
    /// The run id.
    pub run_id: String,
}

/// A prompt or provider column of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalColumn {
    /// Prompt id or provider label.
    pub id: String,
    /// Display label.
    pub label: String,
}

/// A case row of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalCaseInfo {
    /// Position in the eval set.
    pub index: usize,
    /// Stable id.
    pub id: String,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Variables.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// Where it is defined.
    pub location: String,
}

/// One result: a case x prompt x provider x repeat.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalResultRow {
    /// The case's position.
    pub case_index: usize,
    /// The case's id.
    pub case_id: String,
    /// Prompt id.
    pub prompt_id: String,
    /// Provider label.
    pub provider: String,
    /// Which repeat (0-based).
    pub repeat_index: u32,
    /// `pass`, `fail` or `error`.
    pub outcome: String,
    /// Weighted score 0..1.
    pub score: f64,
    /// The output text.
    pub output: Option<String>,
    /// The error, for errored results.
    pub error: Option<String>,
    /// Latency of the provider call (ms).
    pub latency_ms: Option<f64>,
    /// Time to first token (ms), for streamed calls.
    pub ttft_ms: Option<f64>,
    /// Input tokens.
    pub input_tokens: Option<i64>,
    /// Output tokens.
    pub output_tokens: Option<i64>,
    /// Cost in USD, when prices are known.
    pub cost: Option<f64>,
    /// Whether the response came from the cache or a cassette (no provider call).
    pub cached: bool,
    /// Each assertion's result.
    pub assertions: Vec<AssertionResult>,
    /// The rendered messages sent.
    pub rendered: Vec<Message>,
    /// The trace recording the provider call.
    pub trace_id: Option<String>,
}

/// Results of one prompt x provider pair.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalSummaryRow {
    /// Prompt id.
    pub prompt_id: String,
    /// Provider label.
    pub provider: String,
    /// Results.
    pub total: i64,
    /// Passed.
    pub pass: i64,
    /// Failed.
    pub fail: i64,
    /// Errored.
    pub error: i64,
    /// pass / (pass + fail).
    pub pass_rate: Option<f64>,
    /// Weighted mean score of graded results.
    pub mean_score: Option<f64>,
    /// Cost in USD.
    pub cost: f64,
    /// Median latency (ms).
    pub latency_p50_ms: Option<f64>,
    /// 95th percentile latency (ms).
    pub latency_p95_ms: Option<f64>,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Results served from the cache or a cassette.
    pub cached: i64,
}

/// A named metric's mean over a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalMetric {
    /// Metric name.
    pub name: String,
    /// Mean score.
    pub mean: f64,
    /// Assertions aggregated.
    pub count: i64,
}

/// A gate's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalGateResult {
    /// `pass_rate`, `mean_score`, `metric:NAME` or `max_errors`.
    pub name: String,
    /// The threshold.
    pub threshold: f64,
    /// What the run reached (None when nothing was graded).
    pub actual: Option<f64>,
    /// Whether it held.
    pub passed: bool,
}

/// A repeated case's pass count (with `--repeat N`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalRepeatCount {
    /// Case id.
    pub case_id: String,
    /// Prompt id.
    pub prompt_id: String,
    /// Provider label.
    pub provider: String,
    /// Passing repeats.
    pub passes: i64,
    /// Repeats run.
    pub runs: i64,
}

/// A run's summary: per prompt x provider, metrics and gates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalSummary {
    /// The run.
    pub run: EvalRunBrief,
    /// One row per prompt x provider.
    pub rows: Vec<EvalSummaryRow>,
    /// Named metrics.
    pub metrics: Vec<EvalMetric>,
    /// Gate verdicts.
    pub gates: Vec<EvalGateResult>,
    /// Whether every gate passed and the run completed.
    pub passed: bool,
    /// What the config asked for that Assay does not support.
    pub unsupported: Vec<Unsupported>,
    /// Per-case pass counts, when cases were repeated.
    pub repeats: Vec<EvalRepeatCount>,
}

/// `eval_run_get` result: a run with its grid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalRunDetail {
    /// Summary (run, rows, metrics, gates).
    pub summary: EvalSummary,
    /// Description of the eval set.
    pub description: Option<String>,
    /// Prompt columns.
    pub prompts: Vec<EvalColumn>,
    /// Provider columns.
    pub providers: Vec<EvalColumn>,
    /// Case rows.
    pub cases: Vec<EvalCaseInfo>,
    /// Results stored so far.
    pub results: Vec<EvalResultRow>,
}

/// `eval_start` arguments: start a run in the background.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalStart {
    /// Eval set name, folder or config file.
    pub target: String,
    /// Only these providers (labels or ids).
    #[serde(default)]
    pub providers: Vec<String>,
    /// Only cases whose id, description or tag matches.
    #[serde(default)]
    pub filter: Option<String>,
    /// Repeats per case.
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Calls in flight per provider.
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Bypass the response cache.
    #[serde(default)]
    pub no_cache: bool,
    /// Answer from the eval set's cassette of recorded responses (offline).
    #[serde(default)]
    pub replay: bool,
}

/// A run's live progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EvalProgress {
    /// Run id.
    pub run_id: String,
    /// `running`, `completed`, `interrupted` or `failed`.
    pub status: String,
    /// Results finished.
    pub done: u64,
    /// Results planned.
    pub total: u64,
    /// Passed so far.
    pub pass: u64,
    /// Failed so far.
    pub fail: u64,
    /// Errored so far.
    pub error: u64,
    /// Cost so far (USD).
    pub cost: f64,
    /// Served from the cache or cassette so far.
    pub cached: u64,
    /// When `failed`: why.
    pub message: Option<String>,
}

/// `keys_status` result item: where a provider's API key would come from. Never the key.
pub use crate::eval::secrets::KeyStatus;

/// `keys_set` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySet {
    /// Provider name.
    pub provider: String,
    /// The key; stored in the OS keyring only.
    pub key: String,
}

/// `keys_delete` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// Provider name.
    pub provider: String,
}

// ---- Git: prompt and eval-set history, diffs --------------------------------------------

pub use crate::eval::diff::{
    CaseChange, CaseDiff, CaseSide, DiffCounts, DiffGates, DiffSide, EvalDiff, PairedTest,
};

/// A file under `prompts/` or `evalsets/`, for the Prompts section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkspaceFile {
    /// Path relative to the workspace root (`prompts/triage.yaml`).
    pub path: String,
    /// `prompt`, `evalset`, `cases`, `cassette` or `other`.
    pub kind: String,
    /// Whether it has uncommitted changes (or is untracked).
    pub modified: bool,
}

/// `workspace_files` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkspaceFiles {
    /// Whether the workspace is in a git repository.
    pub is_git: bool,
    /// The current branch, when on one.
    pub branch: Option<String>,
    /// The files, sorted by path.
    pub files: Vec<WorkspaceFile>,
}

/// A git commit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommitView {
    /// Full sha.
    pub sha: String,
    /// Abbreviated sha.
    pub short: String,
    /// Author name.
    pub author: String,
    /// Author time (RFC 3339).
    pub time: String,
    /// First line of the message.
    pub summary: String,
}

/// `file_get` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Path relative to the workspace root.
    pub path: String,
    /// A git ref (`HEAD`, a sha, a branch); None = the working tree.
    #[serde(default)]
    pub rev: Option<String>,
}

/// `file_get` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileContent {
    /// Path.
    pub path: String,
    /// The ref it was read at (None = working tree).
    pub rev: Option<String>,
    /// The content; None when the file does not exist there.
    pub content: Option<String>,
}

/// `file_history` result item: a version of a file or folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileVersionView {
    /// The commit (None for the uncommitted working-tree version).
    pub commit: Option<CommitView>,
    /// Content id (blob or tree id; `worktree` for uncommitted).
    pub id: String,
}

/// `file_diff` arguments: two versions of one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDiffArgs {
    /// Path.
    pub path: String,
    /// Old version: a ref, or None for the working tree.
    #[serde(default)]
    pub from: Option<String>,
    /// New version: a ref, or None for the working tree.
    #[serde(default)]
    pub to: Option<String>,
}

/// `file_diff` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileDiff {
    /// Path.
    pub path: String,
    /// Unified diff text (empty when equal).
    pub unified: String,
    /// The diff line by line, for side-by-side display.
    pub lines: Vec<crate::textdiff::DiffLine>,
}

/// `file_save` arguments: write a prompt or eval-set file, optionally committing it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSave {
    /// Path under `prompts/` or `evalsets/`.
    pub path: String,
    /// The new content.
    pub content: String,
    /// When set, commit the file with this message.
    #[serde(default)]
    pub commit_message: Option<String>,
}

/// `prompt_render` arguments: a prompt rendered with a case's variables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptRender {
    /// Eval set name.
    pub evalset: String,
    /// Prompt id.
    pub prompt_id: String,
    /// Case id (default: the first case).
    #[serde(default)]
    pub case_id: Option<String>,
}

/// `prompt_render` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RenderedPrompt {
    /// The case used.
    pub case_id: String,
    /// Its variables.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// The rendered messages.
    pub messages: Vec<Message>,
}

/// `git_refs` result: what the diff view can compare.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GitRefs {
    /// Whether the workspace is in a git repository.
    pub is_git: bool,
    /// Branches.
    pub branches: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Recent commits of HEAD, newest first.
    pub commits: Vec<CommitView>,
    /// Whether prompts or eval sets have uncommitted changes.
    pub dirty: bool,
}

/// `eval_diff` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalDiffArgs {
    /// Eval set name.
    pub evalset: String,
    /// Base ref (branch, tag, sha, `HEAD~1`).
    pub base: String,
    /// Head ref; `WORKTREE` (default) evaluates the working tree as it is.
    #[serde(default = "worktree")]
    pub head: String,
    /// Repeats per case (noise-aware verdicts).
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Answer from each side's cassette (offline).
    #[serde(default)]
    pub replay: bool,
    /// Gates.
    #[serde(default = "default_diff_gates")]
    pub gates: DiffGates,
}

/// The ref that means "the working tree as it is".
pub const WORKTREE: &str = "WORKTREE";

fn worktree() -> String {
    WORKTREE.to_owned()
}

fn default_diff_gates() -> DiffGates {
    DiffGates {
        no_regressions: true,
        ..DiffGates::default()
    }
}

/// `eval_trend` arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalTrendArgs {
    /// Eval set name.
    pub evalset: String,
    /// The branch or ref whose first-parent history to follow (default HEAD).
    #[serde(default)]
    pub rev: Option<String>,
    /// Commits to look back (default 30).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `light` or `dark`.
    #[serde(default)]
    pub theme: Option<String>,
}

/// One commit of a trend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrendPoint {
    /// The commit.
    pub commit: CommitView,
    /// The latest completed run at that commit, if any.
    pub run_id: Option<String>,
    /// Its pass rate.
    pub pass_rate: Option<f64>,
    /// Its mean score.
    pub mean_score: Option<f64>,
}

/// `eval_trend` result: points, oldest first, and the chart as SVG.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalTrend {
    /// Eval set.
    pub evalset: String,
    /// One point per commit, oldest first.
    pub points: Vec<TrendPoint>,
    /// The plotters chart (SVG).
    pub svg: String,
}

// ---- Cost ----------------------------------------------------------------------------------

/// The dimensions cost can be broken down by.
pub const COST_DIMENSIONS: &[&str] = &[
    "tenant",
    "endpoint",
    "model",
    "prompt",
    "prompt_version",
    "feature",
    "environment",
    "user",
];

/// `cost_breakdown` arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostQuery {
    /// Dimensions to group by (see [`COST_DIMENSIONS`]); empty = the total only. `user` cannot
    /// be combined with other dimensions.
    #[serde(default)]
    pub by: Vec<String>,
    /// `day`, `hour`, `month` or None (the whole range).
    #[serde(default)]
    pub per: Option<String>,
    /// From (RFC 3339 or YYYY-MM-DD, inclusive); default: 30 days before `until`.
    #[serde(default)]
    pub since: Option<String>,
    /// Until (exclusive); default: the end of the last day with data.
    #[serde(default)]
    pub until: Option<String>,
    /// Filters: dimension -> value (exact; "" matches spans without the key).
    #[serde(default)]
    pub filters: std::collections::BTreeMap<String, String>,
    /// Keep the top N groups by cost (the rest are summed into one "other" row).
    #[serde(default)]
    pub top: Option<u32>,
}

/// Token and money sums.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CostTotals {
    /// Model calls (llm spans; duplicates of one call counted once).
    pub requests: i64,
    /// Calls that failed.
    pub errors: i64,
    /// Computed cost (USD) of the priced calls.
    pub cost: f64,
    /// Cost the sources reported (USD), where they did.
    pub reported_cost: f64,
    /// Calls whose model has no price.
    pub unpriced: i64,
    /// Input tokens (cached included).
    pub input_tokens: i64,
    /// Output tokens (reasoning included).
    pub output_tokens: i64,
    /// Input tokens read from a prompt cache.
    pub cache_read_tokens: i64,
    /// Input tokens written to a prompt cache.
    pub cache_write_tokens: i64,
    /// Reasoning tokens.
    pub reasoning_tokens: i64,
    /// Cost per 1,000 requests (USD).
    pub cost_per_1k_requests: Option<f64>,
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostRow {
    /// The group's values, one per `by` dimension ("(none)" for spans without it, "other" for
    /// the rest after `top`).
    pub keys: Vec<String>,
    /// The period (`2026-10-03`, `2026-10-03T14`, `2026-10`), when `per` is set.
    pub period: Option<String>,
    /// Sums.
    pub totals: CostTotals,
    /// Share of the total cost (0..1).
    pub share: f64,
    /// Change of cost against the previous period of the same length (for `per` = None: the
    /// range before `since`), in percent; None when there was nothing to compare.
    pub change_pct: Option<f64>,
}

/// A model without a price, and how many calls used it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnpricedModel {
    /// The model.
    pub model: String,
    /// Calls.
    pub requests: i64,
}

/// `cost_breakdown` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostReport {
    /// The range (RFC 3339), as resolved.
    pub since: String,
    /// End of the range (exclusive).
    pub until: String,
    /// The dimensions grouped by.
    pub by: Vec<String>,
    /// The period size.
    pub per: Option<String>,
    /// Totals over the range (the rows sum to it).
    pub total: CostTotals,
    /// Totals over the range of the same length just before.
    pub previous: CostTotals,
    /// Change of total cost against the previous range, in percent.
    pub change_pct: Option<f64>,
    /// Rows, by period then cost (largest first).
    pub rows: Vec<CostRow>,
    /// Models without a price in the range.
    pub unpriced_models: Vec<UnpricedModel>,
    /// Computed and reported cost disagree by more than 5% on these groups (model) in range.
    pub disagreements: Vec<CostDisagreement>,
}

/// Where a source's reported cost and Assay's computed cost differ.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostDisagreement {
    /// The model.
    pub model: String,
    /// Computed (USD) over the calls that reported a cost.
    pub computed: f64,
    /// Reported (USD).
    pub reported: f64,
}

/// `cost_chart` arguments: a stacked cost chart.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostChartArgs {
    /// The dimension to stack by (default: none, one series).
    #[serde(default)]
    pub by: Option<String>,
    /// `day` (default), `hour` or `month`.
    #[serde(default)]
    pub per: Option<String>,
    /// Range start.
    #[serde(default)]
    pub since: Option<String>,
    /// Range end.
    #[serde(default)]
    pub until: Option<String>,
    /// Filters, as in [`CostQuery`].
    #[serde(default)]
    pub filters: std::collections::BTreeMap<String, String>,
    /// `light` (default) or `dark`.
    #[serde(default)]
    pub theme: Option<String>,
    /// Width in pixels (default 960).
    #[serde(default)]
    pub width: Option<u32>,
    /// Height in pixels (default 360).
    #[serde(default)]
    pub height: Option<u32>,
}

/// `cost_chart` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostChart {
    /// The chart as SVG (with `<title>` tooltips).
    pub svg: String,
    /// The x labels (periods), for click-through.
    pub periods: Vec<String>,
    /// The series names (groups), in stacking order.
    pub series: Vec<String>,
}
