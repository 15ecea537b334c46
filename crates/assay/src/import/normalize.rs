//! Attribute dialects -> the one span model.
//!
//! Each field of [`Span`] is read from the first attribute, in the order of its precedence list
//! below, that is present. The lists are the documented precedence table (also in
//! `docs/import.md`): current OpenTelemetry GenAI names first, then deprecated GenAI names, then
//! OpenInference, OpenLLMetry (`traceloop.*`) and Langfuse.

use serde_json::{Map, Value};

use super::RawSpan;
use crate::model::{Attribution, Span, SpanKind, SpanPayload, SpanStatus, Usage};

/// Requested model.
pub const REQUEST_MODEL: &[&str] = &[
    "gen_ai.request.model",
    "llm.invocation_parameters.model",
    "embedding.invocation_parameters.model",
    "ai.model.id",
];
/// Responding model (the dated version).
pub const RESPONSE_MODEL: &[&str] = &[
    "gen_ai.response.model",
    "llm.model_name",
    "embedding.model_name",
    "langfuse.observation.model.name",
    "ai.response.model",
];
/// Provider.
pub const PROVIDER: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "langfuse.observation.metadata.provider",
    "ai.model.provider",
];
/// Input tokens (OTel: includes cache reads).
pub const INPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "langfuse.observation.usage_details.prompt_tokens",
    "langfuse.observation.usage_details.input",
    "ai.usage.promptTokens",
];
/// Output tokens.
pub const OUTPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "langfuse.observation.usage_details.completion_tokens",
    "langfuse.observation.usage_details.output",
    "ai.usage.completionTokens",
];
/// Input tokens served from a prompt cache.
pub const CACHE_READ_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "langfuse.observation.usage_details.cache_read_input_tokens",
];
/// Input tokens written to a prompt cache.
pub const CACHE_WRITE_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
    "langfuse.observation.usage_details.cache_creation_input_tokens",
];
/// Reasoning tokens.
pub const REASONING_TOKENS: &[&str] = &[
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "llm.token_count.completion_details.reasoning",
];
/// Input payload.
pub const INPUT: &[&str] = &[
    "gen_ai.input.messages",
    "input.value",
    "traceloop.entity.input",
    "langfuse.observation.input",
    "gen_ai.tool.call.arguments",
    "gen_ai.retrieval.query.text",
    "ai.prompt",
];
/// Output payload.
pub const OUTPUT: &[&str] = &[
    "gen_ai.output.messages",
    "output.value",
    "traceloop.entity.output",
    "langfuse.observation.output",
    "gen_ai.tool.call.result",
    "gen_ai.retrieval.documents",
    "ai.response.text",
];
/// Tenant.
pub const TENANT: &[&str] = &[
    "tenant",
    "tenant.id",
    "metadata.tenant",
    "metadata.tenant_id",
    "langfuse.trace.metadata.tenant",
    "traceloop.association.properties.tenant",
];
/// Endpoint.
pub const ENDPOINT: &[&str] = &[
    "endpoint",
    "metadata.endpoint",
    "langfuse.trace.metadata.endpoint",
    "traceloop.association.properties.endpoint",
];
/// Feature.
pub const FEATURE: &[&str] = &[
    "feature",
    "metadata.feature",
    "langfuse.trace.metadata.feature",
    "traceloop.association.properties.feature",
];
/// End user.
pub const USER: &[&str] = &["user.id", "langfuse.user.id", "gen_ai.user", "enduser.id"];
/// Session.
pub const SESSION: &[&str] = &[
    "session.id",
    "gen_ai.conversation.id",
    "langfuse.session.id",
];
/// Environment.
pub const ENVIRONMENT: &[&str] = &[
    "deployment.environment.name",
    "deployment.environment",
    "langfuse.environment",
];
/// Release.
pub const RELEASE: &[&str] = &["langfuse.release", "service.version"];

/// Attribute lookup over a span's attributes, then its resource's, with `metadata` JSON and
/// Langfuse's JSON-valued attributes unpacked on demand.
struct Attrs<'a> {
    span: &'a Map<String, Value>,
    resource: &'a Map<String, Value>,
}

impl Attrs<'_> {
    fn raw(&self, key: &str) -> Option<Value> {
        if let Some(v) = self.span.get(key).or_else(|| self.resource.get(key)) {
            return Some(v.clone());
        }
        // `a.b.c` may live inside a JSON-string attribute `a` or `a.b` (OpenInference `metadata`,
        // `llm.invocation_parameters`, Langfuse `usage_details`).
        let mut split = key.len();
        while let Some(dot) = key[..split].rfind('.') {
            let (head, rest) = (&key[..dot], &key[dot + 1..]);
            if let Some(Value::String(json)) = self.span.get(head) {
                if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(json) {
                    return obj.get(rest).cloned();
                }
            }
            split = dot;
        }
        None
    }

    /// The first non-empty value among `keys`, as text. JSON-encoded strings (`"\"acme\""`, as
    /// Langfuse writes metadata) are unwrapped.
    fn text(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| match self.raw(k)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => match serde_json::from_str::<Value>(&s) {
                Ok(Value::String(inner)) if s.starts_with('"') => Some(inner),
                _ => Some(s),
            },
            Value::Null => None,
            other => Some(other.to_string()),
        })
    }

    fn int(&self, keys: &[&str]) -> Option<i64> {
        keys.iter().find_map(|k| match self.raw(k)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }
}

/// Maps a raw span's attributes onto the span model.
pub fn normalize(raw: RawSpan) -> Span {
    let attrs = Attrs {
        span: &raw.attributes,
        resource: &raw.resource,
    };
    let kind = kind(&attrs);
    let mut status = match raw.status_code {
        1 => SpanStatus::Ok,
        2 => SpanStatus::Error,
        _ => SpanStatus::Unset,
    };
    let mut status_message = raw.status_message.clone();
    if status != SpanStatus::Error {
        let level = attrs.text(&["langfuse.observation.level"]);
        if attrs.text(&["error.type"]).is_some() || level.as_deref() == Some("ERROR") {
            status = SpanStatus::Error;
        }
    }
    if status == SpanStatus::Error && status_message.is_none() {
        status_message = attrs.text(&["langfuse.observation.status_message", "error.type"]);
    }
    let usage = Usage {
        input: attrs.int(INPUT_TOKENS),
        output: attrs.int(OUTPUT_TOKENS),
        cache_read: attrs.int(CACHE_READ_TOKENS),
        cache_write: attrs.int(CACHE_WRITE_TOKENS),
        reasoning: attrs.int(REASONING_TOKENS),
    };
    let attribution = Attribution {
        tenant: attrs.text(TENANT),
        endpoint: attrs.text(ENDPOINT),
        feature: attrs.text(FEATURE),
        user: attrs.text(USER),
        session: attrs.text(SESSION),
        environment: attrs.text(ENVIRONMENT),
        release: attrs.text(RELEASE),
    };
    let request_model = attrs.text(REQUEST_MODEL);
    let response_model = attrs.text(RESPONSE_MODEL);
    let provider = attrs.text(PROVIDER).map(|p| p.to_ascii_lowercase());
    let service = attrs.text(&["service.name"]);
    let input = attrs.text(INPUT);
    let output = attrs.text(OUTPUT);
    let mut attributes = raw.attributes;
    for (k, v) in raw.resource {
        attributes.insert(format!("resource.{k}"), v);
    }
    let mut span = Span::new(raw.trace_id, raw.span_id, raw.name, raw.start_ns);
    span.parent_span_id = raw.parent_span_id;
    span.kind = kind;
    span.end_ns = raw.end_ns;
    span.status = status;
    span.status_message = status_message;
    span.service = service;
    span.provider = provider;
    span.request_model = request_model.or_else(|| response_model.clone());
    span.response_model = response_model;
    span.usage = usage;
    span.attribution = attribution;
    span.payload = SpanPayload {
        input,
        output,
        attributes,
        ..SpanPayload::default()
    };
    span
}

/// A span's kind, from the first dialect that declares one.
fn kind(attrs: &Attrs<'_>) -> SpanKind {
    if let Some(k) = attrs.text(&["openinference.span.kind"]) {
        return match k.to_ascii_uppercase().as_str() {
            "LLM" => SpanKind::Llm,
            "CHAIN" => SpanKind::Chain,
            "AGENT" => SpanKind::Agent,
            "TOOL" => SpanKind::Tool,
            "RETRIEVER" => SpanKind::Retriever,
            "EMBEDDING" => SpanKind::Embedding,
            "RERANKER" => SpanKind::Reranker,
            "GUARDRAIL" => SpanKind::Guardrail,
            "EVALUATOR" => SpanKind::Evaluator,
            _ => SpanKind::Other,
        };
    }
    if let Some(k) = attrs.text(&["gen_ai.operation.name"]) {
        return match k.as_str() {
            "chat" | "text_completion" | "generate_content" | "completion" => SpanKind::Llm,
            "embeddings" | "embedding" => SpanKind::Embedding,
            "execute_tool" => SpanKind::Tool,
            "invoke_agent" | "create_agent" => SpanKind::Agent,
            "retrieval" | "retrieve" => SpanKind::Retriever,
            "rerank" => SpanKind::Reranker,
            _ => SpanKind::Other,
        };
    }
    if let Some(k) = attrs.text(&["traceloop.span.kind"]) {
        return match k.as_str() {
            "workflow" | "task" => SpanKind::Chain,
            "agent" => SpanKind::Agent,
            "tool" => SpanKind::Tool,
            _ => SpanKind::Other,
        };
    }
    if let Some(k) = attrs.text(&["langfuse.observation.type"]) {
        return match k.as_str() {
            "generation" => SpanKind::Llm,
            "embedding" => SpanKind::Embedding,
            "agent" => SpanKind::Agent,
            "tool" => SpanKind::Tool,
            "chain" => SpanKind::Chain,
            "retriever" => SpanKind::Retriever,
            "evaluator" => SpanKind::Evaluator,
            "guardrail" => SpanKind::Guardrail,
            _ => SpanKind::Other,
        };
    }
    if attrs.text(&["llm.request.type"]).is_some()
        || attrs.text(REQUEST_MODEL).is_some()
        || attrs.text(&["gen_ai.response.model"]).is_some()
    {
        return SpanKind::Llm;
    }
    SpanKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(attrs: Value) -> RawSpan {
        RawSpan {
            trace_id: "t".into(),
            span_id: "s".into(),
            parent_span_id: None,
            name: "n".into(),
            start_ns: 1,
            end_ns: Some(2),
            status_code: 0,
            status_message: None,
            attributes: attrs.as_object().cloned().unwrap_or_default(),
            ..RawSpan::default()
        }
    }

    #[test]
    fn current_genai_names_win_over_deprecated_ones() {
        let s = normalize(raw(serde_json::json!({
            "gen_ai.usage.input_tokens": 10, "gen_ai.usage.prompt_tokens": 99,
            "gen_ai.provider.name": "openai", "gen_ai.system": "other",
            "gen_ai.operation.name": "chat"
        })));
        assert_eq!(s.usage.input, Some(10));
        assert_eq!(s.provider.as_deref(), Some("openai"));
        assert_eq!(s.kind, SpanKind::Llm);
    }

    #[test]
    fn metadata_json_and_langfuse_encoded_values_are_unpacked() {
        let s = normalize(raw(serde_json::json!({
            "metadata": "{\"tenant\": \"acme\", \"endpoint\": \"/api/answer\"}",
            "langfuse.trace.metadata.feature": "\"travel-qa\"",
            "llm.invocation_parameters": "{\"model\": \"gpt-4o-mini\"}",
        })));
        assert_eq!(s.attribution.tenant.as_deref(), Some("acme"));
        assert_eq!(s.attribution.endpoint.as_deref(), Some("/api/answer"));
        assert_eq!(s.attribution.feature.as_deref(), Some("travel-qa"));
        assert_eq!(s.request_model.as_deref(), Some("gpt-4o-mini"));
    }

    #[test]
    fn error_type_marks_an_unset_span_as_error() {
        let s = normalize(raw(
            serde_json::json!({"error.type": "<class 'openai.InternalServerError'>"}),
        ));
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(
            s.status_message.as_deref(),
            Some("<class 'openai.InternalServerError'>")
        );
    }
}
