//! The span model every importer normalises into (see PRODUCT.md, "Tracing").
//!
//! A trace is a tree of spans. Trace-level attribution keys are denormalised onto each span so
//! that every breakdown is a scan of one table; large payloads travel in [`SpanPayload`] and are
//! stored apart from the hot columns.

use serde::{Deserialize, Serialize};

/// What a span does. Importers map each dialect's kind vocabulary onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A call to a language model.
    Llm,
    /// A sequence of steps (a workflow, a task, a pipeline).
    Chain,
    /// An agent deciding which steps to take.
    Agent,
    /// A tool or function call.
    Tool,
    /// A retrieval from a document store.
    Retriever,
    /// An embeddings call.
    Embedding,
    /// A reranking step.
    Reranker,
    /// A guardrail check.
    Guardrail,
    /// An evaluation of another step's output.
    Evaluator,
    /// Anything else.
    Other,
}

impl SpanKind {
    /// Every kind, in display order.
    pub const ALL: [SpanKind; 10] = [
        SpanKind::Llm,
        SpanKind::Chain,
        SpanKind::Agent,
        SpanKind::Tool,
        SpanKind::Retriever,
        SpanKind::Embedding,
        SpanKind::Reranker,
        SpanKind::Guardrail,
        SpanKind::Evaluator,
        SpanKind::Other,
    ];

    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Llm => "llm",
            SpanKind::Chain => "chain",
            SpanKind::Agent => "agent",
            SpanKind::Tool => "tool",
            SpanKind::Retriever => "retriever",
            SpanKind::Embedding => "embedding",
            SpanKind::Reranker => "reranker",
            SpanKind::Guardrail => "guardrail",
            SpanKind::Evaluator => "evaluator",
            SpanKind::Other => "other",
        }
    }

    /// Parses a stored kind; unknown strings become [`SpanKind::Other`].
    pub fn parse(s: &str) -> SpanKind {
        SpanKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(SpanKind::Other)
    }
}

/// A span's outcome, following OTLP's status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatus {
    /// No status was set.
    Unset,
    /// The span succeeded.
    Ok,
    /// The span failed.
    Error,
}

impl SpanStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }

    /// Parses a stored status; unknown strings become [`SpanStatus::Unset`].
    pub fn parse(s: &str) -> SpanStatus {
        match s {
            "ok" => SpanStatus::Ok,
            "error" => SpanStatus::Error,
            _ => SpanStatus::Unset,
        }
    }
}

/// Token counts by usage key. Each key is counted once: `input` excludes nothing the provider
/// reported, and `cache_read`/`cache_write` say how much of it was served from or written to a
/// prompt cache, so pricing can charge each token exactly once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input (prompt) tokens as reported.
    pub input: Option<i64>,
    /// Output (completion) tokens as reported.
    pub output: Option<i64>,
    /// Input tokens read from a prompt cache.
    pub cache_read: Option<i64>,
    /// Input tokens written to a prompt cache.
    pub cache_write: Option<i64>,
    /// Reasoning tokens (part of the output on most providers).
    pub reasoning: Option<i64>,
}

/// Who and what a span is attributed to, for breakdowns and filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// The customer or organisation the request served.
    pub tenant: Option<String>,
    /// The application endpoint (route) that made the request.
    pub endpoint: Option<String>,
    /// The product feature.
    pub feature: Option<String>,
    /// The end user.
    pub user: Option<String>,
    /// The conversation or session.
    pub session: Option<String>,
    /// Deployment environment (production, staging, ...).
    pub environment: Option<String>,
    /// The application's release or version.
    pub release: Option<String>,
}

/// Which part of the system failed, so error rates can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The model or its provider answered with an error (5xx, refusal, content filter, rate limit).
    Model,
    /// A tool or function the application called failed.
    Tool,
    /// The application's own infrastructure failed (network, timeout, a bug).
    Infrastructure,
}

impl ErrorClass {
    /// The class as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Model => "model",
            ErrorClass::Tool => "tool",
            ErrorClass::Infrastructure => "infrastructure",
        }
    }

    /// Parses a stored class.
    pub fn parse(s: &str) -> Option<ErrorClass> {
        match s {
            "model" => Some(ErrorClass::Model),
            "tool" => Some(ErrorClass::Tool),
            "infrastructure" => Some(ErrorClass::Infrastructure),
            _ => None,
        }
    }
}

/// One span, normalised. Identity is `(trace_id, span_id)`: importing it again updates it in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Lowercase hex trace id.
    pub trace_id: String,
    /// Lowercase hex span id.
    pub span_id: String,
    /// The parent's span id; `None` for a root.
    pub parent_span_id: Option<String>,
    /// The span's name as the instrumentation set it.
    pub name: String,
    /// What the span does.
    pub kind: SpanKind,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_ns: i64,
    /// End, in nanoseconds since the Unix epoch; `None` while the span is still open.
    pub end_ns: Option<i64>,
    /// Outcome.
    pub status: SpanStatus,
    /// The status message or error description.
    pub status_message: Option<String>,
    /// For failed spans: which part of the system failed.
    pub error_class: Option<ErrorClass>,
    /// The service that emitted the span (`service.name`).
    pub service: Option<String>,
    /// The model provider (`openai`, `anthropic`, ...).
    pub provider: Option<String>,
    /// The model asked for.
    pub request_model: Option<String>,
    /// The model (version) that answered.
    pub response_model: Option<String>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, ...), normalised to lowercase.
    pub finish_reason: Option<String>,
    /// Time to first token of a streamed response, in nanoseconds after the start.
    pub time_to_first_token_ns: Option<i64>,
    /// Token usage.
    pub usage: Usage,
    /// A cost the source reported (in USD), kept beside the one Assay computes.
    pub reported_cost: Option<f64>,
    /// The cost Assay computed (USD) from the price catalogue and the workspace's overrides.
    #[serde(default)]
    pub cost: Option<f64>,
    /// Set when the span used tokens but no price covers its model at its date: it is counted
    /// and listed, never costed at zero.
    #[serde(default)]
    pub unpriced: bool,
    /// The prompt (template) this call rendered, when known.
    pub prompt_name: Option<String>,
    /// The prompt's version or label.
    pub prompt_version: Option<String>,
    /// Attribution keys.
    pub attribution: Attribution,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// When this span records the same model call as another span (two instrumentations of one
    /// request), that span's id: it is shown, but its usage and cost are not counted again.
    pub duplicate_of: Option<String>,
    /// Large and rarely filtered data, stored apart.
    pub payload: SpanPayload,
}

impl Span {
    /// A span with the given identity and everything else empty; importers fill in the rest.
    pub fn new(trace_id: String, span_id: String, name: String, start_ns: i64) -> Span {
        Span {
            trace_id,
            span_id,
            parent_span_id: None,
            name,
            kind: SpanKind::Other,
            start_ns,
            end_ns: None,
            status: SpanStatus::Unset,
            status_message: None,
            error_class: None,
            service: None,
            provider: None,
            request_model: None,
            response_model: None,
            finish_reason: None,
            time_to_first_token_ns: None,
            usage: Usage::default(),
            reported_cost: None,
            cost: None,
            unpriced: false,
            prompt_name: None,
            prompt_version: None,
            attribution: Attribution::default(),
            tags: Vec::new(),
            duplicate_of: None,
            payload: SpanPayload::default(),
        }
    }
}

/// A chat message, in or out of a model call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, ...
    pub role: String,
    /// Text content (parts joined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool calls the assistant asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A tool (function) call requested by a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id, when the provider gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The arguments, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// A document returned by a retriever (or reranker).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Document id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Relevance score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// The template a prompt was rendered from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptTemplate {
    /// The template text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The variables it was rendered with.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub variables: serde_json::Map<String, serde_json::Value>,
}

/// A timestamped event inside a span (an exception, a streamed chunk, a log record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// Event name.
    pub name: String,
    /// When (ns since epoch).
    pub time_ns: i64,
    /// Its attributes.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// The parts of a span kept out of the hot table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanPayload {
    /// The input as recorded: messages as JSON, or text.
    pub input: Option<String>,
    /// The output as recorded: messages as JSON, or text.
    pub output: Option<String>,
    /// Input messages, normalised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_messages: Vec<Message>,
    /// Output messages, normalised (tool calls included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_messages: Vec<Message>,
    /// Retrieved documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
    /// The prompt template and its variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<PromptTemplate>,
    /// Free-form metadata the source attached.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Span events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SpanEvent>,
    /// All source attributes (span and resource), as a JSON object. A span read from a file
    /// holds its resource's apart, in `resource`, until it is stored.
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The resource's attributes (unprefixed) of a span read from an OTLP file, shared by the
    /// resource's spans and stored once for all of them (`resources`); under `resource.` in
    /// `attributes` once read back from the store.
    #[serde(skip)]
    pub resource: Option<std::sync::Arc<serde_json::Map<String, serde_json::Value>>>,
    /// Whether `input_messages` and `output_messages` are exactly what `input` and `output`
    /// say, read as the GenAI convention's plain shape (`gen_ai.input.messages`): then they are
    /// stored once, as that text, and read from it again.
    #[serde(skip)]
    pub messages_in_text: MessagesInText,
}

/// See [`SpanPayload::messages_in_text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessagesInText {
    /// The input messages are `input`'s text.
    pub input: bool,
    /// The output messages are `output`'s text.
    pub output: bool,
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC with milliseconds (`2026-11-27T04:16:30.123Z`).
pub fn format_time_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ns.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in SpanKind::ALL {
            assert_eq!(
                SpanKind::parse(kind.as_str()),
                kind,
                "stored name must parse back"
            );
        }
        assert_eq!(SpanKind::parse("nonsense"), SpanKind::Other);
    }

    #[test]
    fn times_format_as_utc_millis() {
        // 1795745521126627187 ns is 2026-11-27T02:12:01.126627187Z: milliseconds are truncated.
        assert_eq!(
            format_time_ns(1_795_745_521_126_627_187),
            "2026-11-27T02:12:01.126Z"
        );
        assert_eq!(format_time_ns(0), "1970-01-01T00:00:00.000Z");
    }
}
