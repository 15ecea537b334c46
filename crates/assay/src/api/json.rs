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
    /// Free text: matched against the trace id, root name, service and models, and (full-text)
    /// against every span's input and output.
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
}
