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
    /// The service that emitted the span (`service.name`).
    pub service: Option<String>,
    /// The model provider (`openai`, `anthropic`, ...).
    pub provider: Option<String>,
    /// The model asked for.
    pub request_model: Option<String>,
    /// The model (version) that answered.
    pub response_model: Option<String>,
    /// Token usage.
    pub usage: Usage,
    /// Attribution keys.
    pub attribution: Attribution,
    /// Large and rarely filtered data, stored apart.
    pub payload: SpanPayload,
}

/// The parts of a span kept out of the hot table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanPayload {
    /// The input: messages as JSON, or text.
    pub input: Option<String>,
    /// The output: messages as JSON, or text.
    pub output: Option<String>,
    /// All source attributes (span and resource), as a JSON object.
    pub attributes: serde_json::Map<String, serde_json::Value>,
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
