//! Attribute dialects -> the one span model.
//!
//! Each field of [`Span`] is read from the first attribute, in the order of its precedence list
//! below, that is present. The lists are the documented precedence table (also in
//! `docs/import.md`): current OpenTelemetry GenAI names first, then deprecated GenAI names, then
//! OpenInference, OpenLLMetry (`traceloop.*`), Langfuse and the Vercel AI SDK (`ai.*`).
//!
//! **Invariant:** `usage.input` counts every input token, cached ones included (the OTel GenAI
//! and OpenInference meaning); `cache_read`/`cache_write` say how many of them were cached, so
//! pricing charges each token once. Sources that count cached tokens apart (Langfuse's
//! `usage_details` `input` key) are summed into `input` here.

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::RawSpan;
use crate::model::{
    Attribution, Document, ErrorClass, Message, PromptTemplate, Span, SpanKind, SpanPayload,
    SpanStatus, ToolCall, Usage,
};

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
/// Input tokens (all of them, cached ones included).
pub const INPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.promptTokens",
    "ai.usage.inputTokens",
];
/// Output tokens.
pub const OUTPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.completionTokens",
    "ai.usage.outputTokens",
];
/// Input tokens served from a prompt cache.
pub const CACHE_READ_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
];
/// Input tokens written to a prompt cache.
pub const CACHE_WRITE_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
];
/// Reasoning tokens.
pub const REASONING_TOKENS: &[&str] = &[
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
];
/// Input payload as recorded.
pub const INPUT: &[&str] = &[
    "gen_ai.input.messages",
    "input.value",
    "traceloop.entity.input",
    "langfuse.observation.input",
    "gen_ai.tool.call.arguments",
    "gen_ai.retrieval.query.text",
    "ai.prompt.messages",
    "ai.prompt",
];
/// Output payload as recorded.
pub const OUTPUT: &[&str] = &[
    "gen_ai.output.messages",
    "output.value",
    "traceloop.entity.output",
    "langfuse.observation.output",
    "gen_ai.tool.call.result",
    "gen_ai.retrieval.documents",
    "ai.response.text",
];
/// Finish reason (the first one when there are several choices).
pub const FINISH_REASON: &[&str] = &[
    "gen_ai.response.finish_reasons",
    "llm.finish_reason",
    "gen_ai.completion.0.finish_reason",
    "langfuse.observation.metadata.finish_reason",
    "ai.response.finishReason",
    "anthropic.message.stop_reason",
];
/// Prompt (template) name.
pub const PROMPT_NAME: &[&str] = &[
    "gen_ai.prompt.name",
    "langfuse.observation.prompt.name",
    "traceloop.prompt.key",
    "llm.prompt_template.name",
];
/// Prompt version.
pub const PROMPT_VERSION: &[&str] = &[
    "gen_ai.prompt.version",
    "langfuse.observation.prompt.version",
    "traceloop.prompt.version",
    "llm.prompt_template.version",
];
/// Tags.
pub const TAGS: &[&str] = &[
    "tag.tags",
    "langfuse.trace.tags",
    "ai.telemetry.metadata.tags",
];
/// Tenant.
pub const TENANT: &[&str] = &[
    "tenant",
    "tenant.id",
    "tenant_id",
    "metadata.tenant",
    "metadata.tenant_id",
    "langfuse.trace.metadata.tenant",
    "traceloop.association.properties.tenant",
    "ai.telemetry.metadata.tenant",
];
/// Endpoint.
pub const ENDPOINT: &[&str] = &[
    "endpoint",
    "metadata.endpoint",
    "langfuse.trace.metadata.endpoint",
    "traceloop.association.properties.endpoint",
    "ai.telemetry.metadata.endpoint",
];
/// Feature.
pub const FEATURE: &[&str] = &[
    "feature",
    "metadata.feature",
    "langfuse.trace.metadata.feature",
    "traceloop.association.properties.feature",
    "ai.telemetry.metadata.feature",
];
/// End user.
pub const USER: &[&str] = &[
    "user.id",
    "langfuse.user.id",
    "gen_ai.user",
    "enduser.id",
    "traceloop.association.properties.user_id",
];
/// Session.
pub const SESSION: &[&str] = &[
    "session.id",
    "gen_ai.conversation.id",
    "langfuse.session.id",
    "traceloop.association.properties.session_id",
];
/// Environment.
pub const ENVIRONMENT: &[&str] = &[
    "deployment.environment.name",
    "deployment.environment",
    "langfuse.environment",
];
/// Release.
pub const RELEASE: &[&str] = &["langfuse.release", "service.version"];

/// A JSON-object attribute, parsed when first looked into (`None`: it was not valid JSON).
type LazyObject = std::cell::OnceCell<Option<Map<String, Value>>>;

/// Attribute lookup over a span's attributes, then its resource's, with JSON-string attributes
/// (OpenInference `metadata`, `llm.invocation_parameters`, Langfuse `usage_details`) unpacked on
/// demand: `a.b` finds key `b` inside the JSON object held by attribute `a`.
pub(crate) struct Attrs<'a> {
    span: &'a Map<String, Value>,
    /// The span attributes that hold a JSON object as a string, parsed on first use. Few spans
    /// have more than two, so a missing key costs a handful of prefix checks, not a parse.
    objects: Vec<(&'a str, LazyObject)>,
    /// One bit per first key segment present (`gen_ai` of `gen_ai.usage.input_tokens`), span
    /// and resource. Most lookups ask for another dialect's key (`llm.*` on a GenAI span);
    /// this answers them without touching the maps.
    heads: u64,
    /// One bit per whole key present (see [`key_bit`]): without JSON-object attributes, a key
    /// whose bit is clear is absent, known without scanning it or hashing it.
    key_bits: u128,
    /// Every span and resource attribute by key, span values winning. The maps are B-trees,
    /// whose lookups compare keys that share long prefixes (`gen_ai.usage.`); a normalisation
    /// looks up many more keys than a span has, so one hash table built per span costs less.
    keys: FxHashMap<&'a str, &'a Value>,
}

/// The bit of a key's first segment in [`Attrs::heads`]: a mix of the segment's length and its
/// first and last bytes. A normalisation asks for a hundred-odd keys per span, so this must cost
/// next to nothing; two segments sharing a bit only make a lookup go on to the maps.
fn head_bit(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let len = bytes.iter().position(|&b| b == b'.').unwrap_or(bytes.len());
    let first = u64::from(bytes.first().copied().unwrap_or(0));
    let last = u64::from(bytes[..len].last().copied().unwrap_or(0));
    let mixed = (first | last << 8 | (len as u64) << 16).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    1 << (mixed >> 58)
}

/// The bit of a whole key in [`Attrs::key_bits`]: a mix of its length and three of its bytes,
/// taken where keys of one dialect differ (the end, and the middle). Constant time: a
/// normalisation asks for about ninety keys per span, two thirds of them absent.
fn key_bit(key: &str) -> u128 {
    let bytes = key.as_bytes();
    let len = bytes.len();
    let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
    let mixed = (len as u64
        | at(len.wrapping_sub(1)) << 16
        | at(len.wrapping_sub(2)) << 24
        | at(len / 2) << 32)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    1 << (mixed >> 57)
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(span: &'a Map<String, Value>, resource: &'a Map<String, Value>) -> Self {
        let objects = span
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(|s| s.starts_with('{')))
            .map(|(k, _)| (k.as_str(), std::cell::OnceCell::new()))
            .collect();
        let mut heads = 0;
        let mut key_bits = 0;
        let mut keys = FxHashMap::default();
        keys.reserve(span.len() + resource.len());
        for (k, v) in resource.iter().chain(span) {
            heads |= head_bit(k);
            key_bits |= key_bit(k);
            keys.insert(k.as_str(), v);
        }
        Attrs {
            span,
            objects,
            heads,
            key_bits,
            keys,
        }
    }

    fn raw(&self, key: &str) -> Option<&Value> {
        if self.objects.is_empty() {
            if self.key_bits & key_bit(key) == 0 {
                return None;
            }
            return self.keys.get(key).copied();
        }
        if self.heads & head_bit(key) == 0 {
            return None;
        }
        if let Some(v) = self.keys.get(key) {
            return Some(v);
        }
        for (head, parsed) in &self.objects {
            let Some(rest) = key.strip_prefix(head).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let object = parsed.get_or_init(|| {
                match self
                    .span
                    .get(*head)
                    .and_then(Value::as_str)
                    .map(serde_json::from_str)
                {
                    Some(Ok(Value::Object(m))) => Some(m),
                    _ => None,
                }
            });
            if let Some(v) = object.as_ref().and_then(|m| m.get(rest)) {
                return Some(v);
            }
        }
        None
    }

    /// The first non-empty value among `keys`, as JSON (JSON-string values parsed).
    fn json(&self, keys: &[&str]) -> Option<Value> {
        keys.iter().find_map(|k| match self.raw(k)? {
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => {
                Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())))
            }
            Value::Null => None,
            other => Some(other.clone()),
        })
    }

    /// The first non-empty value among `keys`, as text. JSON-encoded strings (`"\"acme\""`, as
    /// Langfuse writes metadata) are unwrapped.
    pub(crate) fn text(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| match self.raw(k)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) if s.starts_with('"') => match serde_json::from_str::<Value>(s) {
                Ok(Value::String(inner)) => Some(inner),
                _ => Some(s.clone()),
            },
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
    }

    fn int(&self, keys: &[&str]) -> Option<i64> {
        keys.iter().find_map(|k| as_int(self.raw(k)?))
    }

    fn float(&self, keys: &[&str]) -> Option<f64> {
        keys.iter().find_map(|k| match self.raw(k)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    /// Span attributes whose key starts with `prefix`, grouped by the index after it:
    /// `llm.input_messages.0.message.role` -> index 0, rest `message.role`.
    fn indexed(&self, prefix: &str) -> Vec<Map<String, Value>> {
        let mut groups: std::collections::BTreeMap<usize, Map<String, Value>> = Default::default();
        for (k, v) in self.span {
            let Some(rest) = k.strip_prefix(prefix) else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            groups
                .entry(index)
                .or_default()
                .insert(field.to_owned(), v.clone());
        }
        groups.into_values().collect()
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Maps a raw span's attributes onto the span model.
pub fn normalize(mut raw: RawSpan) -> Span {
    let attrs = Attrs::new(&raw.attributes, &raw.resource);
    let kind = kind(&attrs);
    let mut status = match raw.status_code {
        1 => SpanStatus::Ok,
        2 => SpanStatus::Error,
        _ => SpanStatus::Unset,
    };
    let mut status_message = raw.status_message.take();
    if status != SpanStatus::Error {
        let level = attrs.text(&["langfuse.observation.level"]);
        if attrs.text(&["error.type"]).is_some() || level.as_deref() == Some("ERROR") {
            status = SpanStatus::Error;
        }
    }
    if status == SpanStatus::Error && status_message.is_none() {
        status_message = attrs
            .text(&["langfuse.observation.status_message", "error.type"])
            .or_else(|| {
                raw.events
                    .iter()
                    .find(|e| e.name == "exception")
                    .and_then(|e| e.attributes.get("exception.message"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
    }
    let error_class =
        (status == SpanStatus::Error).then(|| error_class(kind, &attrs, status_message.as_deref()));

    // Moved out of `raw`: the lookups below read its attributes and events only.
    let mut span = Span::new(
        std::mem::take(&mut raw.trace_id),
        std::mem::take(&mut raw.span_id),
        std::mem::take(&mut raw.name),
        raw.start_ns,
    );
    span.parent_span_id = raw.parent_span_id.take();
    span.kind = kind;
    span.end_ns = raw.end_ns;
    span.status = status;
    span.status_message = status_message;
    span.error_class = error_class;
    span.service = attrs.text(&["service.name"]);
    span.provider = attrs.text(PROVIDER).map(|p| p.to_ascii_lowercase());
    let response_model = attrs.text(RESPONSE_MODEL);
    span.request_model = attrs.text(REQUEST_MODEL).or_else(|| response_model.clone());
    span.response_model = response_model;
    span.usage = usage(&attrs);
    span.reported_cost = reported_cost(&attrs);
    span.prompt_name = attrs.text(PROMPT_NAME);
    span.prompt_version = attrs.text(PROMPT_VERSION);
    span.attribution = Attribution {
        tenant: attrs.text(TENANT),
        endpoint: attrs.text(ENDPOINT),
        feature: attrs.text(FEATURE),
        user: attrs.text(USER),
        session: attrs.text(SESSION),
        environment: attrs.text(ENVIRONMENT),
        release: attrs.text(RELEASE),
    };
    span.tags = tags(&attrs);

    let (mut input_messages, input_in_text) = input_messages(&attrs, &raw);
    let (mut output_messages, output_in_text) = output_messages(&attrs, &raw);
    if kind == SpanKind::Llm {
        // A model call recorded with plain-text input or output (Langfuse generations, text
        // completions): one user message in, one assistant message out.
        let plain = |keys: &[&str]| match attrs.json(keys) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        if input_messages.is_empty() {
            if let Some(text) = plain(&["langfuse.observation.input", "input.value", "ai.prompt"]) {
                input_messages.push(Message {
                    role: "user".into(),
                    content: Some(text),
                    ..Message::default()
                });
            }
        }
        if output_messages.is_empty() {
            if let Some(text) = plain(&["langfuse.observation.output", "output.value"]) {
                output_messages.push(Message {
                    role: "assistant".into(),
                    content: Some(text),
                    ..Message::default()
                });
            }
        }
    }
    span.finish_reason = attrs
        .json(FINISH_REASON)
        .and_then(|v| match v {
            Value::Array(a) => a.into_iter().find_map(|x| x.as_str().map(str::to_owned)),
            Value::String(s) => Some(s),
            _ => None,
        })
        .or_else(|| output_finish_reason(&attrs))
        .map(|r| normalize_finish_reason(&r));
    span.time_to_first_token_ns = time_to_first_token(&attrs, &raw);
    let (input_key, input) = first_text(&attrs, INPUT);
    let (output_key, output) = first_text(&attrs, OUTPUT);
    // The messages read from the very text that became the input (output) are stored as that
    // text alone.
    let messages_in_text = crate::model::MessagesInText {
        input: input_in_text && input_key == Some(GENAI_INPUT_MESSAGES),
        output: output_in_text && output_key == Some(GENAI_OUTPUT_MESSAGES),
    };
    let documents = documents(&attrs);
    let prompt_template = prompt_template(&attrs);
    let metadata = metadata(&attrs);
    drop(attrs);
    let RawSpan {
        mut attributes,
        resource,
        events,
        ..
    } = raw;
    // The attributes that became the input and output are stored there, not twice.
    for key in [input_key, output_key].into_iter().flatten() {
        attributes.remove(key);
    }
    span.payload = SpanPayload {
        input,
        output,
        input_messages,
        output_messages,
        documents,
        prompt_template,
        metadata,
        events,
        attributes,
        resource: (!resource.is_empty()).then_some(resource),
        messages_in_text,
    };
    span
}

/// The first non-empty span attribute among `keys` as text, and which key it was.
fn first_text(attrs: &Attrs<'_>, keys: &[&'static str]) -> (Option<&'static str>, Option<String>) {
    for key in keys {
        if let Some(text) = attrs.text(&[key]) {
            let from_span = attrs.span.contains_key(*key);
            return (from_span.then_some(*key), Some(text));
        }
    }
    (None, None)
}

/// Applies a workspace's `[attribution]` mapping to a normalised span: a mapped attribute that is
/// present wins over what the well-known attributes said.
pub fn apply_attribution_map(span: &mut Span, map: &crate::workspace::AttributionMap) {
    let empty = Map::new();
    let resource = span.payload.resource.as_deref().unwrap_or(&empty);
    // A span's attribute, then its resource's, by name; or a resource's by `resource.` and its
    // name, as the span detail shows them.
    let attrs = Attrs::new(&span.payload.attributes, resource);
    let lookup = |paths: &[String]| -> Option<String> {
        paths.iter().find_map(|p| {
            attrs
                .text(&[p.as_str()])
                .or_else(|| {
                    let name = p.strip_prefix("resource.")?;
                    Attrs::new(&empty, resource).text(&[name])
                })
                .or_else(|| {
                    let key = p.strip_prefix("metadata.")?;
                    match span.payload.metadata.get(key)? {
                        Value::String(s) => Some(s.clone()),
                        Value::Null => None,
                        other => Some(other.to_string()),
                    }
                })
        })
    };
    let found = [
        lookup(&map.tenant),
        lookup(&map.endpoint),
        lookup(&map.feature),
        lookup(&map.user),
        lookup(&map.session),
        lookup(&map.environment),
        lookup(&map.release),
    ];
    drop(attrs);
    let [tenant, endpoint, feature, user, session, environment, release] = found;
    let a = &mut span.attribution;
    for (slot, value) in [
        (&mut a.tenant, tenant),
        (&mut a.endpoint, endpoint),
        (&mut a.feature, feature),
        (&mut a.user, user),
        (&mut a.session, session),
        (&mut a.environment, environment),
        (&mut a.release, release),
    ] {
        if value.is_some() {
            *slot = value;
        }
    }
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
        return match k.to_ascii_lowercase().as_str() {
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
    if let Some(op) = attrs.text(&["ai.operationId"]) {
        if op.contains("embed") {
            return SpanKind::Embedding;
        }
        if op.contains("toolCall") {
            return SpanKind::Tool;
        }
        if op.starts_with("ai.") {
            return SpanKind::Llm;
        }
    }
    if attrs.text(&["llm.request.type"]).is_some()
        || attrs.text(REQUEST_MODEL).is_some()
        || attrs.text(&["gen_ai.response.model"]).is_some()
    {
        return SpanKind::Llm;
    }
    SpanKind::Other
}

/// Tells model, tool and infrastructure failures apart.
fn error_class(kind: SpanKind, attrs: &Attrs<'_>, message: Option<&str>) -> ErrorClass {
    if kind == SpanKind::Tool {
        return ErrorClass::Tool;
    }
    let text = format!(
        "{} {}",
        attrs.text(&["error.type"]).unwrap_or_default(),
        message.unwrap_or_default()
    )
    .to_ascii_lowercase();
    let infrastructure = [
        "timeout",
        "timed out",
        "connection",
        "connect",
        "dns",
        "unreachable",
        "refused",
        "reset by peer",
    ];
    if infrastructure.iter().any(|w| text.contains(w)) {
        return ErrorClass::Infrastructure;
    }
    let model_call = matches!(
        kind,
        SpanKind::Llm | SpanKind::Embedding | SpanKind::Reranker
    );
    let provider_error = [
        "error code",
        "status code",
        "api",
        "rate limit",
        "ratelimit",
        "overloaded",
        "content filter",
        "internal server",
    ];
    if model_call || provider_error.iter().any(|w| text.contains(w)) {
        return ErrorClass::Model;
    }
    ErrorClass::Infrastructure
}

fn usage(attrs: &Attrs<'_>) -> Usage {
    let mut usage = Usage {
        input: attrs.int(INPUT_TOKENS),
        output: attrs.int(OUTPUT_TOKENS),
        cache_read: attrs.int(CACHE_READ_TOKENS),
        cache_write: attrs.int(CACHE_WRITE_TOKENS),
        reasoning: attrs.int(REASONING_TOKENS),
    };
    if usage.input.is_none() && usage.output.is_none() {
        if let Some(Value::Object(details)) = attrs.json(&["langfuse.observation.usage_details"]) {
            usage = langfuse_usage(&details);
        }
    }
    usage
}

/// Langfuse's `usage_details` holds provider-native keys. OpenAI's `prompt_tokens` includes
/// cached tokens; Langfuse's own `input` key does not (each key is priced apart), so the cached
/// parts are added back to make `input` the total.
pub(crate) fn langfuse_usage(d: &Map<String, Value>) -> Usage {
    let get = |k: &str| d.get(k).and_then(as_int);
    let nested =
        |outer: &str, inner: &str| d.get(outer).and_then(|o| o.get(inner)).and_then(as_int);
    if let Some(prompt) = get("prompt_tokens") {
        return Usage {
            input: Some(prompt),
            output: get("completion_tokens"),
            cache_read: nested("prompt_tokens_details", "cached_tokens")
                .or_else(|| get("prompt_tokens_details.cached_tokens")),
            cache_write: None,
            reasoning: nested("completion_tokens_details", "reasoning_tokens")
                .or_else(|| get("completion_tokens_details.reasoning_tokens")),
        };
    }
    let cache_read = get("cache_read_input_tokens").or_else(|| get("input_cache_read"));
    let cache_write = get("cache_creation_input_tokens").or_else(|| get("input_cache_creation"));
    let input = get("input").or_else(|| get("input_tokens"));
    Usage {
        input: input.map(|i| i + cache_read.unwrap_or(0) + cache_write.unwrap_or(0)),
        output: get("output").or_else(|| get("output_tokens")),
        cache_read,
        cache_write,
        reasoning: get("output_reasoning").or_else(|| get("reasoning_tokens")),
    }
}

fn reported_cost(attrs: &Attrs<'_>) -> Option<f64> {
    if let Some(Value::Object(cost)) = attrs.json(&["langfuse.observation.cost_details"]) {
        if let Some(total) = cost.get("total").and_then(Value::as_f64) {
            return Some(total);
        }
    }
    attrs.float(&["gen_ai.usage.cost", "llm.cost.total", "ai.usage.cost"])
}

fn tags(attrs: &Attrs<'_>) -> Vec<String> {
    match attrs.json(TAGS) {
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn metadata(attrs: &Attrs<'_>) -> Map<String, Value> {
    let mut out = match attrs.json(&["metadata"]) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for prefix in [
        "langfuse.trace.metadata.",
        "langfuse.observation.metadata.",
        "traceloop.association.properties.",
        "ai.telemetry.metadata.",
    ] {
        for (k, v) in attrs.span {
            if let Some(key) = k.strip_prefix(prefix) {
                let value = match v {
                    Value::String(s) if s.starts_with('"') => {
                        serde_json::from_str(s).unwrap_or(v.clone())
                    }
                    other => other.clone(),
                };
                out.insert(key.to_owned(), value);
            }
        }
    }
    out
}

/// Normalises finish reasons across providers: `stop`, `length`, `tool_calls`, `content_filter`,
/// or the source's word in lowercase.
pub fn normalize_finish_reason(reason: &str) -> String {
    let r = reason.trim().to_ascii_lowercase();
    match r.as_str() {
        "tool_call" | "tool_use" | "function_call" | "tool-calls" | "tool_calls" => {
            "tool_calls".to_owned()
        }
        "end_turn" | "stop_sequence" | "stop" | "finish_reason_stop" | "complete" => {
            "stop".to_owned()
        }
        "max_tokens" | "length" | "max_output_tokens" | "finish_reason_max_tokens" => {
            "length".to_owned()
        }
        "content_filter" | "safety" | "content-filter" | "refusal" => "content_filter".to_owned(),
        _ => r,
    }
}

fn output_finish_reason(attrs: &Attrs<'_>) -> Option<String> {
    match attrs.json(&["gen_ai.output.messages"])? {
        Value::Array(items) => items.iter().find_map(|m| {
            m.get("finish_reason")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        _ => None,
    }
}

fn time_to_first_token(attrs: &Attrs<'_>, raw: &RawSpan) -> Option<i64> {
    let first_event = raw
        .events
        .iter()
        .filter(|e| {
            e.name == "First Token Stream Event" || e.name == "gen_ai.content.completion.chunk"
        })
        .map(|e| e.time_ns)
        .filter(|&t| t >= raw.start_ns)
        .min();
    if let Some(t) = first_event {
        return Some(t - raw.start_ns);
    }
    if let Some(at) = attrs.text(&["langfuse.observation.completion_start_time"]) {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&at) {
            if let Some(ns) = t.timestamp_nanos_opt() {
                return (ns >= raw.start_ns).then_some(ns - raw.start_ns);
            }
        }
    }
    if let Some(secs) = attrs.float(&[
        "gen_ai.response.time_to_first_chunk",
        "gen_ai.server.time_to_first_token",
    ]) {
        return Some((secs * 1e9) as i64);
    }
    attrs
        .float(&["ai.response.msToFirstChunk"])
        .map(|ms| (ms * 1e6) as i64)
}

/// The messages of a GenAI messages attribute (`gen_ai.input.messages`, ...), when it has one,
/// and whether its text was read by [`plain_genai_messages`].
fn genai_messages(attrs: &Attrs<'_>, key: &str) -> Option<(Vec<Message>, bool)> {
    if let Some(Value::String(text)) = attrs.raw(key) {
        if let Some(messages) = plain_genai_messages(text) {
            return Some((messages, true));
        }
    }
    attrs.json(&[key]).map(|v| (messages_from_json(&v), false))
}

/// Messages in the GenAI convention's plain shape, read straight from their JSON text: a list
/// of `{role, parts: [{type, content}], finish_reason?}` whose parts are all text (no tool
/// call or result). That is what instrumentations write for nearly every model call, and
/// reading it without building a JSON tree first halves its cost. Any other shape is `None`,
/// and read by [`messages_from_json`], which gives the same messages for this one (a test
/// checks).
pub(crate) fn plain_genai_messages(text: &str) -> Option<Vec<Message>> {
    use std::borrow::Cow;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Plain<'a> {
        #[serde(borrow)]
        role: Cow<'a, str>,
        #[serde(borrow)]
        parts: Vec<Part<'a>>,
        #[serde(default)]
        #[allow(dead_code)]
        finish_reason: serde::de::IgnoredAny,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Part<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
        #[serde(borrow)]
        content: Cow<'a, str>,
    }
    let plain: Vec<Plain<'_>> = sonic_rs::from_str(text).ok()?;
    plain
        .into_iter()
        .map(|m| {
            if m.parts
                .iter()
                .any(|p| is_tool_call_part(&p.kind) || is_tool_result_part(&p.kind))
            {
                return None;
            }
            let role = match m.role.as_ref() {
                "human" => "user".to_owned(),
                "ai" => "assistant".to_owned(),
                _ => m.role.into_owned(),
            };
            let content = match m.parts.len() {
                0 => None,
                1 => m.parts.into_iter().next().map(|p| p.content.into_owned()),
                _ => Some(
                    m.parts
                        .iter()
                        .map(|p| p.content.as_ref())
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            };
            Some(Message {
                role,
                content,
                ..Message::default()
            })
        })
        .collect()
}

const GENAI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
const GENAI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";

/// The input messages, and whether they are exactly [`plain_genai_messages`] of the
/// `gen_ai.input.messages` text (not empty, nothing added).
fn input_messages(attrs: &Attrs<'_>, raw: &RawSpan) -> (Vec<Message>, bool) {
    if let Some((input, plain)) = genai_messages(attrs, GENAI_INPUT_MESSAGES) {
        let mut messages = Vec::new();
        if let Some(system) = attrs.json(&["gen_ai.system_instructions"]) {
            if let Some(content) = parts_text(&system) {
                messages.push(Message {
                    role: "system".into(),
                    content: Some(content),
                    ..Message::default()
                });
            }
        }
        let in_text = plain && messages.is_empty() && !input.is_empty();
        messages.extend(input);
        return (messages, in_text);
    }
    (other_input_messages(attrs, raw), false)
}

fn other_input_messages(attrs: &Attrs<'_>, raw: &RawSpan) -> Vec<Message> {
    let oi = flattened_messages(attrs, "llm.input_messages.");
    if !oi.is_empty() {
        return oi;
    }
    let indexed = indexed_messages(attrs, "gen_ai.prompt.");
    if !indexed.is_empty() {
        return indexed;
    }
    let events = event_messages(raw, false);
    if !events.is_empty() {
        return events;
    }
    for key in [
        "langfuse.observation.input",
        "ai.prompt.messages",
        "input.value",
        "ai.prompt",
    ] {
        if let Some(v) = attrs.json(&[key]) {
            let messages = messages_from_json(&v);
            if !messages.is_empty() {
                return messages;
            }
        }
    }
    Vec::new()
}

/// The output messages, and whether they are exactly [`plain_genai_messages`] of the
/// `gen_ai.output.messages` text (not empty).
fn output_messages(attrs: &Attrs<'_>, raw: &RawSpan) -> (Vec<Message>, bool) {
    if let Some((output, plain)) = genai_messages(attrs, GENAI_OUTPUT_MESSAGES) {
        let in_text = plain && !output.is_empty();
        return (output, in_text);
    }
    (other_output_messages(attrs, raw), false)
}

fn other_output_messages(attrs: &Attrs<'_>, raw: &RawSpan) -> Vec<Message> {
    let oi = flattened_messages(attrs, "llm.output_messages.");
    if !oi.is_empty() {
        return oi;
    }
    let indexed = indexed_messages(attrs, "gen_ai.completion.");
    if !indexed.is_empty() {
        return indexed;
    }
    let events = event_messages(raw, true);
    if !events.is_empty() {
        return events;
    }
    if let Some(v) = attrs.json(&["langfuse.observation.output"]) {
        let messages = messages_from_json(&v);
        if !messages.is_empty() {
            return messages;
        }
    }
    if let Some(text) = attrs.text(&["ai.response.text"]) {
        let mut m = Message {
            role: "assistant".into(),
            content: Some(text),
            ..Message::default()
        };
        if let Some(Value::Array(calls)) = attrs.json(&["ai.response.toolCalls"]) {
            m.tool_calls = calls.iter().filter_map(tool_call_from_json).collect();
        }
        return vec![m];
    }
    // OpenAI-style response bodies recorded as the output (OpenInference `output.value`).
    if let Some(Value::Object(body)) = attrs.json(&["output.value"]) {
        if let Some(Value::Array(choices)) = body.get("choices") {
            return choices
                .iter()
                .filter_map(|c| c.get("message"))
                .filter_map(message_from_json)
                .collect();
        }
    }
    Vec::new()
}

/// OpenInference's flattened `PREFIX.N.message.*` attributes.
fn flattened_messages(attrs: &Attrs<'_>, prefix: &str) -> Vec<Message> {
    attrs
        .indexed(prefix)
        .into_iter()
        .filter_map(|fields| {
            let get = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_owned);
            let role = get("message.role")?;
            let mut content = get("message.content");
            if content.is_none() {
                // Multi-part content: message.contents.M.message_content.text
                let mut parts: Vec<(usize, String)> = fields
                    .iter()
                    .filter_map(|(k, v)| {
                        let rest = k.strip_prefix("message.contents.")?;
                        let (i, field) = rest.split_once('.')?;
                        if field != "message_content.text" {
                            return None;
                        }
                        Some((i.parse::<usize>().ok()?, v.as_str()?.to_owned()))
                    })
                    .collect();
                parts.sort();
                if !parts.is_empty() {
                    content = Some(
                        parts
                            .into_iter()
                            .map(|(_, t)| t)
                            .collect::<Vec<_>>()
                            .join("\n"),
                    );
                }
            }
            Some(Message {
                role,
                content,
                tool_calls: indexed_tool_calls(
                    &fields,
                    "message.tool_calls.",
                    [
                        "tool_call.id",
                        "tool_call.function.name",
                        "tool_call.function.arguments",
                    ],
                ),
                tool_call_id: get("message.tool_call_id"),
            })
        })
        .collect()
}

/// Tool calls flattened as `PREFIX.K.FIELD`, with the field names of the id, the tool's name
/// and its arguments (they differ between dialects), in index order.
fn indexed_tool_calls(
    fields: &Map<String, Value>,
    prefix: &str,
    [id, name, arguments]: [&str; 3],
) -> Vec<ToolCall> {
    let mut calls: std::collections::BTreeMap<usize, ToolCall> = Default::default();
    for (k, v) in fields {
        let Some((i, field)) = k.strip_prefix(prefix).and_then(|rest| rest.split_once('.')) else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else { continue };
        let call = calls.entry(i).or_default();
        let text = v
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string());
        if field == id {
            call.id = Some(text);
        } else if field == name {
            call.name = text;
        } else if field == arguments {
            call.arguments = Some(text);
        }
    }
    calls.into_values().collect()
}

/// OpenLLMetry's (and the older GenAI conventions') `PREFIX.N.role` / `.content` / `.tool_calls.K.*`.
fn indexed_messages(attrs: &Attrs<'_>, prefix: &str) -> Vec<Message> {
    attrs
        .indexed(prefix)
        .into_iter()
        .filter_map(|fields| {
            let get = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_owned);
            let role = get("role")?;
            Some(Message {
                role,
                content: get("content"),
                tool_calls: indexed_tool_calls(&fields, "tool_calls.", ["id", "name", "arguments"]),
                tool_call_id: get("tool_call_id"),
            })
        })
        .collect()
}

/// The deprecated GenAI per-message events (`gen_ai.user.message`, `gen_ai.choice`, ...).
fn event_messages(raw: &RawSpan, output: bool) -> Vec<Message> {
    raw.events
        .iter()
        .filter_map(|e| {
            let a = &e.attributes;
            if output {
                if e.name != "gen_ai.choice" {
                    return None;
                }
                let message = a.get("message").map(|m| match m {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
                    other => other.clone(),
                });
                let mut m = message
                    .as_ref()
                    .and_then(message_from_json)
                    .unwrap_or(Message {
                        role: "assistant".into(),
                        ..Message::default()
                    });
                if m.role.is_empty() {
                    m.role = "assistant".into();
                }
                Some(m)
            } else {
                let role = e.name.strip_prefix("gen_ai.")?.strip_suffix(".message")?;
                let mut value = Value::Object(a.clone());
                if let Value::Object(o) = &mut value {
                    o.entry("role")
                        .or_insert_with(|| Value::String(role.to_owned()));
                }
                message_from_json(&value)
            }
        })
        .collect()
}

/// Messages from any common JSON shape: a list of messages, `{"messages": [...]}`, or one message.
fn messages_from_json(v: &Value) -> Vec<Message> {
    match v {
        Value::Array(items) => items.iter().filter_map(message_from_json).collect(),
        Value::Object(o) => {
            if let Some(Value::Array(items)) = o.get("messages") {
                let mut out = Vec::new();
                // Anthropic puts the system prompt beside the messages.
                if let Some(system) = o.get("system").and_then(parts_text) {
                    out.push(Message {
                        role: "system".into(),
                        content: Some(system),
                        ..Message::default()
                    });
                }
                out.extend(items.iter().filter_map(message_from_json));
                out
            } else {
                message_from_json(v).into_iter().collect()
            }
        }
        _ => Vec::new(),
    }
}

/// A message part asking for a tool call (GenAI `tool_call`, Anthropic `tool_use`).
fn is_tool_call_part(kind: &str) -> bool {
    matches!(kind, "tool_call" | "tool_use")
}

/// A message part holding a tool's result (GenAI `tool_call_response`, Anthropic `tool_result`).
fn is_tool_result_part(kind: &str) -> bool {
    matches!(kind, "tool_call_response" | "tool_result")
}

/// One message from OpenAI, Anthropic, GenAI-parts or LangChain shapes.
pub(crate) fn message_from_json(v: &Value) -> Option<Message> {
    let o = v.as_object()?;
    let role = o
        .get("role")
        .or_else(|| o.get("type"))
        .and_then(Value::as_str)
        .map(|r| match r {
            "human" => "user",
            "ai" => "assistant",
            other => other,
        })?
        .to_owned();
    let mut message = Message {
        role,
        ..Message::default()
    };
    let content = o.get("content").or_else(|| o.get("parts"));
    let mut texts = Vec::new();
    match content {
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(parts)) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some(kind) if is_tool_call_part(kind) => {
                        if let Some(call) = tool_call_from_json(part) {
                            message.tool_calls.push(call);
                        }
                    }
                    Some(kind) if is_tool_result_part(kind) => {
                        message.tool_call_id = part
                            .get("id")
                            .or_else(|| part.get("tool_use_id"))
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        if let Some(r) = part
                            .get("response")
                            .or_else(|| part.get("result"))
                            .or_else(|| part.get("content"))
                        {
                            texts.push(
                                r.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| r.to_string()),
                            );
                        }
                    }
                    _ => {
                        if let Some(t) = part
                            .get("content")
                            .or_else(|| part.get("text"))
                            .and_then(Value::as_str)
                        {
                            texts.push(t.to_owned());
                        } else if let Some(s) = part.as_str() {
                            texts.push(s.to_owned());
                        }
                    }
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => texts.push(other.to_string()),
    }
    if !texts.is_empty() {
        message.content = Some(texts.join("\n"));
    }
    if let Some(Value::Array(calls)) = o.get("tool_calls") {
        message
            .tool_calls
            .extend(calls.iter().filter_map(tool_call_from_json));
    }
    if message.tool_call_id.is_none() {
        message.tool_call_id = o
            .get("tool_call_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    Some(message)
}

fn tool_call_from_json(v: &Value) -> Option<ToolCall> {
    let function = v.get("function");
    let name = v
        .get("name")
        .or_else(|| function.and_then(|f| f.get("name")))
        .or_else(|| v.get("toolName"))
        .and_then(Value::as_str)?
        .to_owned();
    let args = v
        .get("arguments")
        .or_else(|| function.and_then(|f| f.get("arguments")))
        .or_else(|| v.get("input"))
        .or_else(|| v.get("args"));
    Some(ToolCall {
        id: v
            .get("id")
            .or_else(|| v.get("toolCallId"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        name,
        arguments: args.map(|a| {
            a.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| a.to_string())
        }),
    })
}

/// Text of a string or a list of `{type: text, content|text}` parts.
fn parts_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| {
                    p.get("content")
                        .or_else(|| p.get("text"))
                        .and_then(Value::as_str)
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

fn documents(attrs: &Attrs<'_>) -> Vec<Document> {
    for prefix in ["retrieval.documents.", "reranker.output_documents."] {
        let docs: Vec<Document> = attrs
            .indexed(prefix)
            .into_iter()
            .map(|f| Document {
                id: f.get("document.id").map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                }),
                content: f
                    .get("document.content")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                score: f
                    .get("document.score")
                    .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok())),
            })
            .collect();
        if !docs.is_empty() {
            return docs;
        }
    }
    match attrs.json(&["gen_ai.retrieval.documents"]) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|d| Document {
                id: d.get("id").map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                }),
                content: d
                    .get("content")
                    .or_else(|| d.get("text"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                score: d.get("score").and_then(Value::as_f64),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn prompt_template(attrs: &Attrs<'_>) -> Option<PromptTemplate> {
    let template = attrs.text(&[
        "llm.prompt_template.template",
        "traceloop.prompt.template",
        "gen_ai.prompt.template",
    ]);
    let variables = match attrs.json(&[
        "llm.prompt_template.variables",
        "traceloop.prompt.template_variables",
        "gen_ai.prompt.variables",
    ]) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    (template.is_some() || !variables.is_empty()).then_some(PromptTemplate {
        template,
        variables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// JSON text of GenAI-style messages, in the plain shape and around it (tool parts, other
    /// keys, text under another key, content that is not text, escapes).
    fn messages_text() -> impl Strategy<Value = String> {
        // Mostly the plain shape, so both paths are compared often; the rest strays from it.
        let text = prop_oneof![
            4 => Just(Value::from("hello")),
            1 => Just(Value::from("")),
            2 => Just(Value::from("line\nbreak \"quoted\" \\ é \u{1F600}")),
            1 => Just(Value::from(7)),
            1 => Just(Value::Null),
        ];
        let kind = prop_oneof![
            12 => Just("text"),
            1 => Just("reasoning"),
            1 => Just("image"),
            1 => Just("tool_call"),
            1 => Just("tool_use"),
            1 => Just("tool_call_response"),
            1 => Just("tool_result"),
        ];
        let part = (kind, proptest::option::weighted(0.95, text), 0..20u8).prop_map(
            |(kind, content, stray)| {
                let mut p = serde_json::json!({ "type": kind });
                if let Some(c) = content {
                    p[if stray == 0 { "text" } else { "content" }] = c;
                }
                if stray == 1 {
                    p["id"] = Value::from("call_1");
                }
                p
            },
        );
        let role = prop_oneof![
            3 => Just(Value::from("user")),
            3 => Just(Value::from("assistant")),
            2 => Just(Value::from("human")),
            2 => Just(Value::from("ai")),
            1 => Just(Value::from("tool")),
            1 => Just(Value::from(3)),
        ];
        let extra = prop_oneof![
            6 => Just(None),
            3 => Just(Some(("finish_reason", Value::from("stop")))),
            1 => Just(Some(("name", Value::from("bot")))),
            1 => Just(Some(("content", Value::from("inline")))),
            1 => Just(Some(("tool_calls", serde_json::json!([{ "name": "f" }])))),
        ];
        let message = (role, proptest::collection::vec(part, 0..4), extra, 0..10u8).prop_map(
            |(role, parts, extra, stray)| {
                let mut m = serde_json::json!({ "role": role });
                if stray > 0 {
                    m["parts"] = Value::Array(parts);
                }
                if let Some((k, v)) = extra {
                    m[k] = v;
                }
                m
            },
        );
        prop_oneof![
            proptest::collection::vec(message.clone(), 0..4)
                .prop_map(|m| Value::Array(m).to_string()),
            message.prop_map(|m| m.to_string()),
            Just("not json".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn plain_genai_messages_read_as_the_general_reader_reads_them(text in messages_text()) {
            if let Some(fast) = plain_genai_messages(&text) {
                let value: Value = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(fast, messages_from_json(&value));
            }
        }
    }

    /// The key filter never hides a key that is there, with or without JSON-object attributes.
    #[test]
    fn every_attribute_is_found_and_no_other() {
        let present: Vec<String> = (0..60)
            .map(|i| format!("gen_ai.usage.key_{i}"))
            .chain(["", "a", "llm.token_count.prompt", "é.ü"].map(String::from))
            .collect();
        let span: Map<String, Value> = present
            .iter()
            .map(|k| (k.clone(), Value::from(1)))
            .collect();
        let resource: Map<String, Value> = [("service.name".to_owned(), Value::from("api"))]
            .into_iter()
            .collect();
        let mut with_object = span.clone();
        with_object.insert("metadata".into(), Value::from(r#"{"tenant_id":"acme"}"#));
        for span in [&span, &with_object] {
            let attrs = Attrs::new(span, &resource);
            for k in &present {
                assert_eq!(attrs.raw(k), Some(&Value::from(1)), "{k:?}");
            }
            assert_eq!(attrs.raw("service.name"), Some(&Value::from("api")));
            for k in [
                "gen_ai.usage.key_60",
                "gen_ai.usage.key_",
                "b",
                "llm.token_count.total",
            ] {
                assert_eq!(attrs.raw(k), None, "{k:?}");
            }
        }
        let attrs = Attrs::new(&with_object, &resource);
        assert_eq!(attrs.raw("metadata.tenant_id"), Some(&Value::from("acme")));
    }

    #[test]
    fn plain_genai_messages_map_roles_and_join_parts() {
        let text = r#"[{"role":"human","parts":[{"type":"text","content":"a"},
            {"type":"reasoning","content":"b\u00e9"}]},
            {"role":"ai","parts":[],"finish_reason":"stop"}]"#;
        let fast = plain_genai_messages(text).unwrap();
        assert_eq!(fast[0].role, "user");
        assert_eq!(fast[0].content.as_deref(), Some("a\nbé"));
        assert_eq!(fast[1].role, "assistant");
        assert_eq!(fast[1].content, None);
        assert_eq!(
            fast,
            messages_from_json(&serde_json::from_str(text).unwrap())
        );
        // A tool call, or any key the plain shape lacks, takes the general reader.
        for other in [
            r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"1","name":"f"}]}]"#,
            r#"[{"role":"user","parts":[{"type":"text","text":"a"}]}]"#,
            r#"[{"role":"user","content":"a"}]"#,
            r#"{"messages":[]}"#,
        ] {
            assert_eq!(plain_genai_messages(other), None, "{other}");
        }
    }

    /// Every messages attribute of the generated month takes the direct path, and reads as the
    /// general reader reads it.
    #[test]
    fn generated_messages_take_the_plain_path() {
        let mut month = Vec::new();
        let options = crate::generate::GenerateOptions {
            spans: 2_000,
            ..Default::default()
        };
        crate::generate::generate(&options, Some(&mut month), None).unwrap();
        let mut checked = 0;
        for line in month.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let doc: Value = serde_json::from_slice(line).unwrap();
            for rs in doc["resourceSpans"].as_array().unwrap() {
                for ss in rs["scopeSpans"].as_array().unwrap() {
                    for span in ss["spans"].as_array().unwrap() {
                        for kv in span["attributes"].as_array().unwrap() {
                            let key = kv["key"].as_str().unwrap();
                            if key != "gen_ai.input.messages" && key != "gen_ai.output.messages" {
                                continue;
                            }
                            let text = kv["value"]["stringValue"].as_str().unwrap();
                            let general = messages_from_json(&serde_json::from_str(text).unwrap());
                            assert_eq!(plain_genai_messages(text), Some(general), "{text}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    fn raw(attrs: Value) -> RawSpan {
        RawSpan {
            trace_id: "t".into(),
            span_id: "s".into(),
            name: "n".into(),
            start_ns: 1,
            end_ns: Some(2),
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
        assert_eq!(
            s.payload.metadata.get("feature"),
            Some(&Value::from("travel-qa"))
        );
    }

    #[test]
    fn error_type_marks_an_unset_span_as_a_model_error() {
        let s = normalize(raw(serde_json::json!({
            "gen_ai.operation.name": "chat",
            "error.type": "<class 'openai.InternalServerError'>"
        })));
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(
            s.status_message.as_deref(),
            Some("<class 'openai.InternalServerError'>")
        );
        assert_eq!(s.error_class, Some(ErrorClass::Model));
    }

    #[test]
    fn failures_are_classed_by_what_failed() {
        let mut tool = raw(serde_json::json!({"openinference.span.kind": "TOOL"}));
        tool.status_code = 2;
        assert_eq!(normalize(tool).error_class, Some(ErrorClass::Tool));
        let mut timeout = raw(serde_json::json!({"gen_ai.operation.name": "chat"}));
        timeout.status_code = 2;
        timeout.status_message = Some("APITimeoutError: Request timed out.".into());
        assert_eq!(
            normalize(timeout).error_class,
            Some(ErrorClass::Infrastructure)
        );
    }

    #[test]
    fn langfuse_usage_adds_cached_tokens_back_into_input() {
        let d = serde_json::json!({"input": 42, "output": 9, "cache_read_input_tokens": 10});
        let u = langfuse_usage(d.as_object().unwrap());
        assert_eq!(
            (u.input, u.output, u.cache_read),
            (Some(52), Some(9), Some(10))
        );
        let d = serde_json::json!({"prompt_tokens": 193, "completion_tokens": 30,
            "prompt_tokens_details": {"cached_tokens": 64}});
        let u = langfuse_usage(d.as_object().unwrap());
        assert_eq!(
            (u.input, u.cache_read),
            (Some(193), Some(64)),
            "OpenAI's prompt_tokens already includes the cache"
        );
    }

    #[test]
    fn flattened_openinference_messages_and_tool_calls() {
        let s = normalize(raw(serde_json::json!({
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Be brief.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.contents.0.message_content.text": "Weather?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{\"city\": \"Paris\"}",
            "llm.finish_reason": "tool_calls",
        })));
        let roles: Vec<&str> = s
            .payload
            .input_messages
            .iter()
            .map(|m| m.role.as_str())
            .collect();
        assert_eq!(roles, ["system", "user"]);
        assert_eq!(
            s.payload.input_messages[1].content.as_deref(),
            Some("Weather?")
        );
        let call = &s.payload.output_messages[0].tool_calls[0];
        assert_eq!(
            (call.id.as_deref(), call.name.as_str()),
            (Some("call_1"), "get_weather")
        );
        assert_eq!(call.arguments.as_deref(), Some("{\"city\": \"Paris\"}"));
        assert_eq!(s.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn genai_parts_messages_with_system_instructions() {
        let s = normalize(raw(serde_json::json!({
            "gen_ai.system_instructions": "[{\"type\": \"text\", \"content\": \"Be brief.\"}]",
            "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"Hi\"}]}]",
            "gen_ai.output.messages": "[{\"role\": \"assistant\", \"parts\": [{\"type\": \"tool_call\", \"id\": \"c1\", \"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}], \"finish_reason\": \"tool_call\"}]",
        })));
        assert_eq!(s.payload.input_messages[0].role, "system");
        assert_eq!(s.payload.input_messages[1].content.as_deref(), Some("Hi"));
        assert_eq!(
            s.payload.output_messages[0].tool_calls[0]
                .arguments
                .as_deref(),
            Some("{\"city\":\"Rome\"}")
        );
        assert_eq!(
            s.finish_reason.as_deref(),
            Some("tool_calls"),
            "tool_call and tool_calls are one reason"
        );
    }

    #[test]
    fn finish_reasons_are_normalised_across_providers() {
        assert_eq!(normalize_finish_reason("end_turn"), "stop");
        assert_eq!(normalize_finish_reason("max_tokens"), "length");
        assert_eq!(normalize_finish_reason("tool_use"), "tool_calls");
        assert_eq!(normalize_finish_reason("STOP"), "stop");
    }

    #[test]
    fn retrieval_documents_from_both_dialects() {
        let s = normalize(raw(serde_json::json!({
            "retrieval.documents.0.document.id": "doc-1",
            "retrieval.documents.0.document.score": 0.92,
            "retrieval.documents.0.document.content": "Paris",
        })));
        assert_eq!(s.payload.documents.len(), 1);
        assert_eq!(s.payload.documents[0].score, Some(0.92));
        let s = normalize(raw(serde_json::json!({
            "gen_ai.retrieval.documents": "[{\"id\":\"doc-2\",\"score\":0.5,\"content\":\"Rome\"}]",
        })));
        assert_eq!(s.payload.documents[0].id.as_deref(), Some("doc-2"));
    }
}
