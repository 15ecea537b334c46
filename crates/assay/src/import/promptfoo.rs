//! promptfoo results (`promptfoo eval -o results.json`, v3; v2 reads the same): one trace per
//! eval, a root span for the eval (kind chain) and one llm span per result, carrying the eval's
//! outcome (success, score, assertion results) in its metadata.
//!
//! Results carry a latency but no time of their own, so they are laid out one after another in
//! file order from the eval's timestamp: each starts where the previous one ended. The waterfall
//! reads as the eval's work, not as its real concurrency.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::request_log::{
    contains, digest_hex, finish_reason, first_text, float, int, json_text, messages, millis_to_ns,
    parse_time, plain_text_messages, read_document, sniff_json, span_id_for, text, trace_id_for,
    type_name, Bad, Json, Sniffed,
};
use super::{Format, ParseError, Sink};
use crate::model::{ErrorClass, PromptTemplate, Span, SpanEvent, SpanKind, SpanStatus, Usage};

const NOT_RESULTS: &str = "no promptfoo results: expected {\"evalId\", \"results\": {\"version\", \"timestamp\", \"results\": [...]}} as `promptfoo eval -o results.json` writes it";

const LINES: &str = "JSON lines: promptfoo's JSONL results carry no eval id nor time; export them with `promptfoo eval -o results.json`";

/// promptfoo's `failureReason` for a result whose provider call failed (1 is a failed assertion).
const FAILURE_ERROR: i64 = 2;

/// Recognises promptfoo results.
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    let results = match sniff_json(head) {
        Sniffed::Document(v) => is_results(&v),
        Sniffed::Truncated(_) => {
            head.first() == Some(&b'{')
                && contains(head, b"\"results\"")
                && (contains(head, b"\"evalId\"") || contains(head, b"\"promptfooVersion\""))
        }
        Sniffed::Lines(_) | Sniffed::NotJson => false,
    };
    results.then_some(Format::PromptfooJson)
}

fn is_results(v: &Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    match o.get("results") {
        Some(Value::Object(summary)) => {
            o.contains_key("evalId") || summary.get("results").is_some_and(Value::is_array)
        }
        // A bare summary: {version, timestamp, results: [...]}.
        Some(Value::Array(items)) => {
            o.contains_key("version")
                && items
                    .first()
                    .and_then(Value::as_object)
                    .is_some_and(|r| r.contains_key("promptIdx") || r.contains_key("testIdx"))
        }
        _ => false,
    }
}

/// A results document.
pub(super) fn parse_json(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    // Read whole: the eval's prompts and metadata follow its results in the file.
    let mut top = match read_document(reader, u64::MAX)? {
        Json::Whole(Value::Object(top)) => top,
        Json::Lines(_) => return Err(ParseError::Input(LINES.to_owned())),
        Json::Whole(_) | Json::Streamed(_) => {
            return Err(ParseError::Input(NOT_RESULTS.to_owned()))
        }
    };
    // `-o results.json` wraps the summary: {evalId, results: {...}, config, metadata}.
    let (mut summary, path) = match top.remove("results") {
        Some(Value::Object(summary)) => (summary, "results.results"),
        Some(results @ Value::Array(_)) => {
            let mut summary = std::mem::take(&mut top);
            summary.insert("results".to_owned(), results);
            (summary, "results")
        }
        _ => return Err(ParseError::Input(NOT_RESULTS.to_owned())),
    };
    let Some(Value::Array(results)) = summary.remove("results") else {
        return Err(ParseError::Input(format!(
            "{path}: missing or not an array; {NOT_RESULTS}"
        )));
    };
    let eval = Eval::read(&top, &summary).map_err(ParseError::Input)?;

    let mut cursor = eval.start;
    let mut last_end = eval.start;
    for (i, result) in results.iter().enumerate() {
        match convert(&eval, result, i, cursor) {
            Ok(span) => {
                if let Some(end) = span.end_ns {
                    cursor = end;
                    last_end = last_end.max(end);
                }
                sink.span(span)?;
            }
            Err(bad) => sink.reject(bad.at(format!("{path}[{i}]"))),
        }
    }
    sink.span(eval.root(last_end))?;
    Ok(())
}

/// What the document says about the eval as a whole.
struct Eval {
    key: String,
    trace_id: String,
    root_id: String,
    start: i64,
    name: String,
    duration_ns: Option<i64>,
    /// The prompt templates, by index (`promptIdx`).
    prompts: Vec<Value>,
    metadata: Map<String, Value>,
    attributes: Map<String, Value>,
    tags: Vec<String>,
}

impl Eval {
    fn read(top: &Map<String, Value>, summary: &Map<String, Value>) -> Result<Eval, String> {
        let eval_id = top.get("evalId").and_then(text);
        let meta = top.get("metadata").and_then(Value::as_object);
        let config = top.get("config").and_then(Value::as_object);
        let time = summary
            .get("timestamp")
            .or_else(|| meta.and_then(|m| m.get("evaluationCreatedAt")))
            .or_else(|| top.get("createdAt"))
            .filter(|v| !v.is_null());
        let start = match time {
            Some(t) => parse_time(t).map_err(|m| format!("results.timestamp: {m}"))?,
            // An eval id ends with its creation time: `eval-tN9-2026-11-27T02:13:14`.
            None => eval_id
                .as_deref()
                .and_then(|id| id.get(id.len().saturating_sub(19)..))
                .and_then(|t| parse_time(&Value::from(t)).ok())
                .ok_or("results.timestamp: missing, so the eval cannot be placed in time")?,
        };
        let key = eval_id
            .clone()
            .or_else(|| time.and_then(text))
            .unwrap_or_else(|| start.to_string());
        let name = config
            .and_then(|c| first_text(c, &["description"]))
            .or_else(|| eval_id.clone())
            .unwrap_or_else(|| "promptfoo eval".to_owned());

        let mut metadata = Map::new();
        if let Some(stats) = summary.get("stats") {
            metadata.insert("stats".to_owned(), stats.clone());
        }
        for (k, v) in meta.into_iter().flatten() {
            metadata.insert(k.clone(), v.clone());
        }
        let mut attributes = Map::new();
        if let Some(id) = &eval_id {
            attributes.insert("evalId".to_owned(), Value::String(id.clone()));
        }
        if let Some(v) = summary.get("version") {
            attributes.insert("version".to_owned(), v.clone());
        }
        if let Some(providers) = config.and_then(|c| c.get("providers")) {
            let ids: Vec<Value> = providers
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("id").or(Some(p)).and_then(text).map(Value::String))
                .collect();
            attributes.insert("providers".to_owned(), Value::Array(ids));
        }
        let tags = match config.and_then(|c| c.get("tags")) {
            Some(Value::Object(t)) => t
                .iter()
                .map(|(k, v)| match text(v) {
                    Some(v) => format!("{k}:{v}"),
                    None => k.clone(),
                })
                .collect(),
            Some(v) => super::request_log::tags(v),
            None => Vec::new(),
        };
        Ok(Eval {
            trace_id: trace_id_for(&key),
            root_id: digest_hex(format!("promptfoo-eval:{key}").as_bytes(), 16),
            key,
            start,
            name,
            duration_ns: summary
                .get("stats")
                .and_then(|s| s.get("durationMs"))
                .and_then(millis_to_ns),
            prompts: summary
                .get("prompts")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            metadata,
            attributes,
            tags,
        })
    }

    /// The eval's own span, over its results.
    fn root(&self, last_end: i64) -> Span {
        let mut root = Span::new(
            self.trace_id.clone(),
            self.root_id.clone(),
            self.name.clone(),
            self.start,
        );
        root.kind = SpanKind::Chain;
        root.status = SpanStatus::Ok;
        root.end_ns = Some(
            self.duration_ns
                .map_or(last_end, |d| last_end.max(self.start.saturating_add(d))),
        );
        root.tags = self.tags.clone();
        root.payload.metadata = self.metadata.clone();
        root.payload.attributes = self.attributes.clone();
        root
    }
}

/// `openai:chat:gpt-4o-mini` -> (`openai`, `gpt-4o-mini`); `anthropic:messages:claude-...`,
/// `openrouter:openai/gpt-4o`, `openai:gpt-4o` likewise. Ids naming a script or a URL name no
/// provider.
fn provider_and_model(id: &str) -> (Option<String>, Option<String>) {
    let Some((provider, rest)) = id.split_once(':') else {
        return (None, None);
    };
    let scheme = [
        "file", "http", "https", "exec", "python", "golang", "ruby", "package",
    ];
    if rest.starts_with("//")
        || scheme.contains(&provider)
        || provider.is_empty()
        || !provider
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return (None, None);
    }
    let kinds = [
        "chat:",
        "completion:",
        "messages:",
        "embedding:",
        "embeddings:",
        "responses:",
        "assistant:",
        "realtime:",
    ];
    let model = kinds
        .iter()
        .find_map(|k| rest.strip_prefix(k))
        .unwrap_or(rest);
    let model = (!model.is_empty()).then(|| model.to_owned());
    (Some(provider.to_ascii_lowercase()), model)
}

fn convert(eval: &Eval, result: &Value, index: usize, start: i64) -> Result<Span, Bad> {
    let Some(r) = result.as_object() else {
        return Err(Bad::record(format!(
            "expected a result object, found {}",
            type_name(result)
        )));
    };
    let response = r.get("response").and_then(Value::as_object);
    let latency = match r
        .get("latencyMs")
        .or_else(|| response.and_then(|p| p.get("latencyMs")))
        .filter(|v| !v.is_null())
    {
        Some(v) => millis_to_ns(v).ok_or_else(|| {
            Bad::field(
                "latencyMs",
                "expected a non-negative number of milliseconds",
            )
        })?,
        None => 0,
    };
    let prompt = r.get("prompt");
    let prompt_label = prompt
        .and_then(|p| p.get("label"))
        .and_then(text)
        .or_else(|| r.get("promptId").and_then(text));
    let test = r.get("testCase").and_then(Value::as_object);
    let description = test
        .and_then(|t| first_text(t, &["description"]))
        .or_else(|| r.get("description").and_then(text));
    let test_idx = r.get("testIdx").and_then(int);
    let prompt_idx = r.get("promptIdx").and_then(int);
    let name = match (&prompt_label, &description) {
        (Some(p), Some(d)) => format!("{p} / {d}"),
        (Some(p), None) => p.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => format!("result {index}"),
    };
    let span_key = r.get("id").and_then(text).unwrap_or_else(|| {
        format!(
            "{}/{}/{}/{index}",
            eval.key,
            test_idx.unwrap_or(-1),
            prompt_idx.unwrap_or(-1)
        )
    });

    let mut span = Span::new(eval.trace_id.clone(), span_id_for(&span_key), name, start);
    span.kind = SpanKind::Llm;
    span.parent_span_id = Some(eval.root_id.clone());
    span.end_ns = Some(start.saturating_add(latency));

    let provider_value = r.get("provider");
    let provider_id = provider_value
        .and_then(|p| p.get("id"))
        .or(provider_value)
        .and_then(text);
    let (provider, model) = provider_id
        .as_deref()
        .map(provider_and_model)
        .unwrap_or_default();
    span.request_model = model;
    span.usage = token_usage(r, response, provider.as_deref()).unwrap_or_default();
    span.provider = provider;
    span.reported_cost = r
        .get("cost")
        .or_else(|| response.and_then(|p| p.get("cost")))
        .and_then(float);
    span.finish_reason = response
        .and_then(|p| p.get("finishReason"))
        .and_then(Value::as_str)
        .map(finish_reason);
    span.prompt_name = prompt_label;

    // A failed assertion is the eval's verdict, not a failed call: only provider errors are
    // errors. Older results have no `failureReason`; an error in the response says the same.
    let response_error = response.and_then(|p| p.get("error")).and_then(text);
    let failed = match r.get("failureReason").and_then(int) {
        Some(reason) => reason == FAILURE_ERROR,
        None => response_error.is_some(),
    };
    if failed {
        let error = r.get("error").and_then(text).or(response_error);
        span.status = SpanStatus::Error;
        span.error_class = Some(ErrorClass::Model);
        if let Some(error) = error {
            let first = error
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_owned();
            span.status_message = Some(first.clone());
            let mut attributes = Map::new();
            attributes.insert("exception.message".to_owned(), Value::String(first));
            attributes.insert("exception.stacktrace".to_owned(), Value::String(error));
            span.payload.events.push(SpanEvent {
                name: "exception".to_owned(),
                time_ns: span.end_ns.unwrap_or(start),
                attributes,
            });
        }
    } else {
        span.status = SpanStatus::Ok;
    }

    let payload = &mut span.payload;
    let raw = prompt.and_then(|p| p.get("raw").or(Some(p))).and_then(text);
    if let Some(raw) = &raw {
        // A chat prompt is JSON text of messages.
        if let Ok(parsed) = serde_json::from_str::<Value>(raw) {
            payload.input_messages = messages(&parsed);
        }
    }
    payload.input = raw;
    let output = response.and_then(|p| p.get("output"));
    payload.output = output.and_then(json_text);
    let input = payload.input.clone().map(Value::String);
    plain_text_messages(&mut span, input.as_ref(), output);
    let payload = &mut span.payload;
    let vars = r
        .get("vars")
        .or_else(|| test.and_then(|t| t.get("vars")))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let template = prompt_idx
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| eval.prompts.get(i))
        .and_then(|p| p.get("raw"))
        .and_then(text);
    if template.is_some() || !vars.is_empty() {
        payload.prompt_template = Some(PromptTemplate {
            template,
            variables: vars.clone(),
        });
    }
    payload.metadata = outcome(r, response, test, description, vars);
    let attributes = &mut payload.attributes;
    for k in ["id", "promptId", "testIdx", "promptIdx", "latencyMs"] {
        if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
            attributes.insert(k.to_owned(), v.clone());
        }
    }
    if let Some(id) = provider_id {
        attributes.insert("provider.id".to_owned(), Value::String(id));
    }
    if let Some(label) = provider_value.and_then(|p| p.get("label")).and_then(text) {
        attributes.insert("provider.label".to_owned(), Value::String(label));
    }
    if let Some(status) = response
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("http"))
        .and_then(|h| h.get("status"))
    {
        attributes.insert("http.status".to_owned(), status.clone());
    }
    Ok(span)
}

/// The eval's verdict on one result, for the span's metadata.
fn outcome(
    r: &Map<String, Value>,
    response: Option<&Map<String, Value>>,
    test: Option<&Map<String, Value>>,
    description: Option<String>,
    vars: Map<String, Value>,
) -> Map<String, Value> {
    let mut m = Map::new();
    for k in [
        "success",
        "score",
        "namedScores",
        "failureReason",
        "testIdx",
        "promptIdx",
    ] {
        if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
            m.insert(k.to_owned(), v.clone());
        }
    }
    let grading = r.get("gradingResult").and_then(Value::as_object);
    if let Some(reason) = grading.and_then(|g| g.get("reason")).and_then(text) {
        m.insert("reason".to_owned(), Value::String(reason));
    }
    let assertions: Vec<Value> = grading
        .and_then(|g| g.get("componentResults"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|c| {
            let mut a = Map::new();
            if let Some(assertion) = c.get("assertion").and_then(Value::as_object) {
                for k in ["type", "value", "threshold", "weight", "metric"] {
                    if let Some(v) = assertion.get(k) {
                        a.insert(k.to_owned(), v.clone());
                    }
                }
            }
            for k in ["pass", "score", "reason"] {
                if let Some(v) = c.get(k) {
                    a.insert(k.to_owned(), v.clone());
                }
            }
            Value::Object(a)
        })
        .collect();
    if !assertions.is_empty() {
        m.insert("assertions".to_owned(), Value::Array(assertions));
    }
    if let Some(d) = description {
        m.insert("test".to_owned(), Value::String(d));
    }
    if !vars.is_empty() {
        m.insert("vars".to_owned(), Value::Object(vars));
    }
    if let Some(cached) = response.and_then(|p| p.get("cached")) {
        m.insert("cached".to_owned(), cached.clone());
    }
    if let Some(meta) = test
        .and_then(|t| t.get("metadata"))
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    {
        m.insert("testMetadata".to_owned(), meta.clone());
    }
    m
}

/// Tokens the provider call used, from the response's `tokenUsage` (else the result's). Its
/// `cached` counts responses served from promptfoo's own cache, which spent nothing now; prompt
/// cache reads and writes are in `completionDetails`. promptfoo's Anthropic provider reports
/// `input_tokens` as `prompt`, which leaves the cached tokens out: they are added back.
fn token_usage(
    r: &Map<String, Value>,
    response: Option<&Map<String, Value>>,
    provider: Option<&str>,
) -> Option<Usage> {
    let u = response
        .and_then(|p| p.get("tokenUsage"))
        .or_else(|| r.get("tokenUsage"))?
        .as_object()?;
    let details = u.get("completionDetails");
    let detail = |k: &str| details.and_then(|d| d.get(k)).and_then(int);
    let mut usage = Usage {
        input: u.get("prompt").and_then(int),
        output: u.get("completion").and_then(int),
        cache_read: detail("cacheReadInputTokens"),
        cache_write: detail("cacheCreationInputTokens"),
        reasoning: detail("reasoning"),
    };
    if provider == Some("anthropic") {
        if let Some(input) = usage.input.as_mut() {
            *input = input
                .saturating_add(usage.cache_read.unwrap_or(0))
                .saturating_add(usage.cache_write.unwrap_or(0));
        }
    }
    (usage.input.is_some() || usage.output.is_some()).then_some(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::request_log::tests::{fixture, sample, Collect};

    fn results() -> Vec<u8> {
        fixture("promptfoo/results.json")
    }

    fn parse(bytes: &[u8]) -> Collect {
        let mut sink = Collect::default();
        parse_json(&mut &bytes[..], &mut sink).unwrap();
        sink
    }

    fn time(s: &str) -> i64 {
        parse_time(&Value::from(s)).unwrap()
    }

    #[test]
    fn the_fixture_becomes_one_trace_of_22_calls() {
        let sink = parse(&results());
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);
        assert_eq!(sink.spans.len(), 23);
        let trace_id = trace_id_for("eval-tN9-2026-11-27T02:13:14");
        assert!(sink.spans.iter().all(|s| s.trace_id == trace_id));

        let root = sink
            .spans
            .iter()
            .find(|s| s.parent_span_id.is_none())
            .unwrap();
        assert_eq!(root.kind, SpanKind::Chain);
        assert_eq!(
            root.name,
            "LLMOps workbench import fixture (mock gpt-4o-mini)"
        );
        assert_eq!(root.start_ns, time("2026-11-27T02:13:14.536Z"));
        assert_eq!(root.payload.metadata["stats"]["successes"], Value::from(14));
        assert_eq!(
            root.payload.metadata["promptfooVersion"],
            Value::from("0.121.20")
        );
        assert_eq!(
            root.payload.attributes["evalId"],
            Value::from("eval-tN9-2026-11-27T02:13:14")
        );

        let calls: Vec<&Span> = sink
            .spans
            .iter()
            .filter(|s| s.parent_span_id.is_some())
            .collect();
        assert_eq!(calls.len(), 22);
        assert!(calls.iter().all(|s| s.kind == SpanKind::Llm
            && s.parent_span_id.as_deref() == Some(root.span_id.as_str())
            && s.provider.as_deref() == Some("openai")
            && s.request_model.as_deref() == Some("gpt-4o-mini")));
        let errors: Vec<&&Span> = calls
            .iter()
            .filter(|s| s.status == SpanStatus::Error)
            .collect();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|s| s.status_message.as_deref()
            == Some("API error: 500 Internal Server Error")
            && s.error_class == Some(ErrorClass::Model)));
        let passed = calls
            .iter()
            .filter(|s| s.payload.metadata.get("success") == Some(&Value::Bool(true)))
            .count();
        assert_eq!(passed, 14);
        let failed = calls
            .iter()
            .filter(|s| s.payload.metadata.get("success") == Some(&Value::Bool(false)))
            .count();
        assert_eq!(failed, 8, "6 failed assertions and 2 errors");
        // Ids are distinct, and laid out one after another from the eval's start.
        let mut ids: Vec<&str> = sink.spans.iter().map(|s| s.span_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 23);
        for pair in calls.windows(2) {
            assert_eq!(pair[1].start_ns, pair[0].end_ns.unwrap());
        }
        assert_eq!(calls[0].start_ns, root.start_ns);
        assert_eq!(
            root.end_ns, calls[21].end_ns,
            "the sum of latencies exceeds durationMs"
        );
        let tokens: i64 = calls.iter().filter_map(|s| s.usage.input).sum();
        assert_eq!(tokens, 252, "stats.tokenUsage.prompt");
        let tokens: i64 = calls.iter().filter_map(|s| s.usage.output).sum();
        assert_eq!(tokens, 274, "stats.tokenUsage.completion");
    }

    #[test]
    fn a_result_field_by_field() {
        let sink = parse(&results());
        // The first result: answer_prompt on "exact echo", whose assertion failed.
        let s = &sink.spans[0];
        assert_eq!(s.name, "answer_prompt / exact echo");
        assert_eq!(
            s.span_id,
            span_id_for("184ae230-70a5-4582-bbd9-8009e4b05fdc")
        );
        assert_eq!(s.start_ns, time("2026-11-27T02:13:14.536Z"));
        assert_eq!(s.end_ns, Some(s.start_ns + 86_000_000));
        assert_eq!(
            s.status,
            SpanStatus::Ok,
            "a failed assertion is not a failed call"
        );
        assert_eq!(
            s.payload.input.as_deref(),
            Some("Please answer: hello world")
        );
        assert_eq!(
            s.payload.output.as_deref(),
            Some("Mock answer: Please answer: hello world (you used 4 words; checksum a5fe71e5).")
        );
        assert_eq!(
            s.usage,
            Usage {
                input: Some(12),
                output: Some(19),
                cache_read: None,
                cache_write: None,
                reasoning: Some(0),
            }
        );
        assert_eq!(s.reported_cost, Some(1.3199999999999999e-05));
        assert_eq!(s.payload.input_messages[0].role, "user");
        assert_eq!(s.payload.input_messages[0].content, s.payload.input);
        assert_eq!(s.payload.output_messages[0].role, "assistant");
        assert_eq!(s.payload.output_messages[0].content, s.payload.output);
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        assert_eq!(s.prompt_name.as_deref(), Some("answer_prompt"));
        let template = s.payload.prompt_template.as_ref().unwrap();
        assert_eq!(
            template.template.as_deref(),
            Some("Please answer: {{input}}")
        );
        assert_eq!(template.variables["input"], Value::from("hello world"));
        let m = &s.payload.metadata;
        assert_eq!(m["success"], Value::Bool(false));
        assert_eq!(m["score"], Value::from(0));
        assert_eq!(m["failureReason"], Value::from(1));
        assert_eq!(m["test"], Value::from("exact echo"));
        assert_eq!(m["assertions"][0]["type"], Value::from("equals"));
        assert_eq!(m["assertions"][0]["pass"], Value::Bool(false));
        assert!(m["reason"].as_str().unwrap().starts_with("Expected output"));
        assert_eq!(m["cached"], Value::Bool(false));
        assert_eq!(m["testMetadata"]["suite"], Value::from("fixtures"));
        let a = &s.payload.attributes;
        assert_eq!(a["provider.id"], Value::from("openai:chat:gpt-4o-mini"));
        assert_eq!(a["provider.label"], Value::from("mock-gpt-4o-mini"));
        assert_eq!(a["http.status"], Value::from(200));
        assert_eq!(a["testIdx"], Value::from(0));

        // A provider error: status error, the whole text in an exception event.
        let e = sink
            .spans
            .iter()
            .find(|s| s.name == "echo_prompt / provider error 500")
            .unwrap();
        assert_eq!(e.status, SpanStatus::Error);
        assert!(e.payload.events[0].attributes["exception.stacktrace"]
            .as_str()
            .unwrap()
            .contains("mock ERROR500"));
        assert_eq!(e.payload.output, None);
        assert!(e.payload.output_messages.is_empty());
        assert_eq!(e.payload.metadata["failureReason"], Value::from(2));

        // A weighted, thresholded test keeps every assertion's verdict.
        let j = sink
            .spans
            .iter()
            .find(|s| s.name == "echo_prompt / json field check with weight and threshold")
            .unwrap();
        let assertions = j.payload.metadata["assertions"].as_array().unwrap();
        assert_eq!(assertions.len(), 2);
        assert_eq!(assertions[0]["weight"], Value::from(2));
        assert_eq!(
            j.payload.metadata["reason"],
            Value::from("Aggregate score 0.00 < 0.5 threshold")
        );
    }

    #[test]
    fn providers_split_into_provider_and_model() {
        let cases = [
            (
                "openai:chat:gpt-4o-mini",
                Some("openai"),
                Some("gpt-4o-mini"),
            ),
            ("openai:gpt-4o", Some("openai"), Some("gpt-4o")),
            (
                "anthropic:messages:claude-3-5-haiku-latest",
                Some("anthropic"),
                Some("claude-3-5-haiku-latest"),
            ),
            (
                "openrouter:openai/gpt-4o",
                Some("openrouter"),
                Some("openai/gpt-4o"),
            ),
            ("file://provider.js", None, None),
            ("https://example.com/api", None, None),
            ("echo", None, None),
        ];
        for (id, provider, model) in cases {
            let (p, m) = provider_and_model(id);
            assert_eq!((p.as_deref(), m.as_deref()), (provider, model), "{id}");
        }
    }

    #[test]
    fn bad_results_are_rejected_by_index() {
        let doc = br#"{"evalId": "e1", "results": {"version": 3, "timestamp": "2026-11-27T02:13:14Z",
            "results": [
                {"id": "a", "provider": {"id": "anthropic:messages:claude-3-5-haiku-latest"}, "latencyMs": 10,
                 "response": {"output": "ok", "tokenUsage": {"prompt": 5, "completion": 2,
                    "completionDetails": {"cacheReadInputTokens": 100, "cacheCreationInputTokens": 20}}},
                 "success": true, "score": 1},
                7,
                {"id": "b", "latencyMs": "slow"},
                {"id": "c", "response": {"error": "boom"}, "success": false}
            ]}}"#;
        let sink = parse(doc);
        assert_eq!(sink.spans.len(), 3, "two results and the root");
        let a = &sink.spans[0];
        assert_eq!(
            a.usage.input,
            Some(125),
            "Anthropic's prompt leaves out the cache"
        );
        assert_eq!(a.usage.cache_read, Some(100));
        assert_eq!(a.usage.cache_write, Some(20));
        let c = &sink.spans[1];
        assert_eq!(
            c.status,
            SpanStatus::Error,
            "no failureReason: the response error says so"
        );
        assert_eq!(c.start_ns, a.end_ns.unwrap());
        let got: Vec<(&str, Option<&str>)> = sink
            .rejections
            .iter()
            .map(|r| (r.location.as_str(), r.field.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("results.results[1]", None),
                ("results.results[2]", Some("latencyMs"))
            ]
        );
        for doc in [
            &b"[]"[..],
            b"{\"results\": 3}",
            b"{\"evalId\": \"x\", \"results\": {}}",
            b"{\"results\": {\"results\": []}}",
        ] {
            let mut sink = Collect::default();
            assert!(matches!(
                parse_json(&mut &doc[..], &mut sink),
                Err(ParseError::Input(_))
            ));
        }
    }

    #[test]
    fn the_store_imports_the_fixture_in_one_trace() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("assay.db")).unwrap();
        let report = crate::import::import_bytes(&mut store, "results.json", &results()).unwrap();
        assert_eq!(report.format, Format::PromptfooJson);
        assert_eq!((report.spans_read, report.traces), (23, 1));
        let spans =
            crate::store::spans::for_trace(&store, &trace_id_for("eval-tN9-2026-11-27T02:13:14"))
                .unwrap();
        assert_eq!(spans.len(), 23);
        // promptfoo's JSON lines name no eval: refused with a way out.
        let lines = fixture("promptfoo/results.jsonl");
        let mut sink = Collect::default();
        let Err(ParseError::Input(message)) = parse_json(&mut &lines[..], &mut sink) else {
            panic!("JSON lines must be refused");
        };
        assert!(message.contains("-o results.json"), "{message}");
    }

    #[test]
    fn sniff_claims_results_only() {
        assert_eq!(sniff(&results()[..64 * 1024]), Some(Format::PromptfooJson));
        assert_eq!(sniff(&results()), Some(Format::PromptfooJson));
        for other in [
            fixture("promptfoo/results.jsonl"),
            fixture("promptfoo/results.csv"),
            fixture("otlp/openinference-python/traces.json"),
            fixture("langsmith/runs-batch/000001_runs_batch.json"),
            sample("langfuse.json"),
            sample("langfuse.jsonl"),
            sample("langfuse_observations.csv"),
            sample("request_log.jsonl"),
        ] {
            assert_eq!(sniff(&other[..other.len().min(64 * 1024)]), None);
        }
    }
}
