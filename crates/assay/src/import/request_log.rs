//! Generic request logs: one JSON object per line recording one model call, with the request and
//! response bodies as sent (OpenAI chat completions or Responses, Anthropic messages), timing,
//! status and attribution.
//!
//! This module also holds what the LangSmith, Langfuse and promptfoo importers share: derived
//! ids, time parsing, and the readers of provider messages and usage, so that a dialect is read
//! the same way whichever file it arrives in.

use std::fmt::Write as _;
use std::io::BufRead;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{io_message, Format, ParseError, Rejection, Sink};
use crate::model::{Attribution, ErrorClass, Message, Span, SpanKind, SpanStatus, ToolCall, Usage};

/// Recognises request logs: JSON objects with a `request` body and a `response` or `error`.
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    let is_log = match sniff_json(head) {
        Sniffed::Lines(first) | Sniffed::Document(first) => is_log_line(&first),
        // A first line longer than the head: judge by its opening keys.
        Sniffed::Truncated(_) => {
            head.first() == Some(&b'{')
                && contains(head, b"\"request\"")
                && contains(head, b"\"messages\"")
                && !contains(head, b"\"resourceSpans\"")
        }
        Sniffed::NotJson => false,
    };
    is_log.then_some(Format::RequestLogJsonl)
}

fn is_log_line(value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    let Some(request) = obj.get("request").and_then(Value::as_object) else {
        return false;
    };
    (obj.contains_key("response") || obj.contains_key("error"))
        && ["messages", "model", "input", "prompt"]
            .iter()
            .any(|k| request.contains_key(*k))
}

/// One request per line; a line that cannot be read is rejected by its number.
pub(super) fn parse_jsonl(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    for_each_line(reader, |number, line| {
        let location = format!("line {number}");
        let value: Value = match super::json_value(line) {
            Ok(v) => v,
            Err(e) => {
                sink.reject(Rejection {
                    location,
                    field: None,
                    message: format!("not valid JSON: {e}"),
                });
                return Ok(());
            }
        };
        match convert_line(value, line) {
            Ok(span) => sink.span(span)?,
            Err(bad) => sink.reject(bad.at(location)),
        }
        Ok(())
    })
}

/// Keys read from a line itself; the rest of its top-level fields are kept as attributes.
const LINE_KEYS: &[&str] = &[
    "request",
    "response",
    "metadata",
    "tags",
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
];

fn convert_line(value: Value, raw: &[u8]) -> Result<Span, Bad> {
    let Value::Object(obj) = value else {
        return Err(Bad::record("expected a JSON object"));
    };
    let request = match obj.get("request") {
        Some(Value::Object(r)) => r,
        None | Some(Value::Null) => return Err(Bad::field("request", "missing")),
        Some(other) => {
            return Err(Bad::field(
                "request",
                format!("expected an object, found {}", type_name(other)),
            ))
        }
    };
    let response = match obj.get("response") {
        Some(Value::Object(r)) => Some(r),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(Bad::field(
                "response",
                format!("expected an object, found {}", type_name(other)),
            ))
        }
    };

    let (start_ns, end_ns) = timing(&obj)?;

    // Ids: as given, else derived from the record's id (or the line itself), so a re-import
    // yields the same span.
    let key = first_text(&obj, &["id", "request_id"])
        .or_else(|| response.and_then(|r| r.get("id")).and_then(text))
        .unwrap_or_else(|| digest_hex(raw.trim_ascii(), 64));
    let trace_id = match first_text(&obj, &["trace_id", "traceId"]) {
        Some(t) => trace_id_for(&t),
        None => trace_id_for(&key),
    };
    let span_id = match first_text(&obj, &["span_id", "spanId"]) {
        Some(s) => span_id_for(&s),
        None => span_id_for(&key),
    };

    let request_model = request.get("model").and_then(text);
    let response_model = response.and_then(|r| r.get("model")).and_then(text);
    let model = response_model.clone().or_else(|| request_model.clone());

    // Input: Anthropic's `system` first, then the messages (or a Responses API `input`).
    let mut input_messages = Vec::new();
    if let Some(system) = request.get("system").and_then(content_text) {
        input_messages.push(Message {
            role: "system".to_owned(),
            content: Some(system),
            ..Message::default()
        });
    }
    match request.get("messages") {
        Some(m) => input_messages.extend(messages(m)),
        None => match request.get("input") {
            Some(Value::String(s)) if response.is_some_and(|r| r.contains_key("output")) => {
                input_messages.push(Message {
                    role: "user".to_owned(),
                    content: Some(s.clone()),
                    ..Message::default()
                })
            }
            Some(v @ Value::Array(_)) => input_messages.extend(messages(v)),
            _ => {}
        },
    }
    let embedding = !request.contains_key("messages")
        && (response.is_some_and(|r| r.get("object").and_then(Value::as_str) == Some("list"))
            || model.as_deref().is_some_and(|m| m.contains("embed")));
    // The response as a value, for the readers shared with the other importers.
    let response_value = response.and(obj.get("response"));
    let (output_messages, finish) = response_value.map(response_output).unwrap_or_default();

    let usage_value = response
        .and_then(|r| r.get("usage").or_else(|| r.get("usageMetadata")))
        .or_else(|| obj.get("usage"));
    let usage = usage_value.and_then(usage).unwrap_or_default();

    let metadata = match obj.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    let mut attribution = Attribution::default();
    fill_attribution(&mut attribution, &metadata);
    fill_attribution(&mut attribution, &obj);
    if attribution.user.is_none() {
        attribution.user = request.get("user").and_then(text).or_else(|| {
            request
                .get("metadata")
                .and_then(|m| m.get("user_id"))
                .and_then(text)
        });
    }

    let provider = first_text(&obj, &["provider", "gen_ai.system"])
        .or_else(|| first_text(&metadata, &["provider"]))
        .map(|p| p.to_ascii_lowercase())
        .or_else(|| detect_provider(request, response, model.as_deref()).map(str::to_owned));

    let name = first_text(&obj, &["name"]).unwrap_or_else(|| {
        let operation = if embedding { "embeddings" } else { "chat" };
        match &request_model {
            Some(m) => format!("{operation} {m}"),
            None => operation.to_owned(),
        }
    });

    let mut span = Span::new(trace_id, span_id, name, start_ns);
    span.kind = if embedding {
        SpanKind::Embedding
    } else {
        SpanKind::Llm
    };
    span.parent_span_id =
        first_text(&obj, &["parent_span_id", "parentSpanId"]).map(|p| span_id_for(&p));
    span.end_ns = end_ns;
    span.provider = provider;
    span.request_model = request_model.or_else(|| response_model.clone());
    span.response_model = response_model;
    span.finish_reason = finish;
    span.usage = usage;
    span.time_to_first_token_ns = ["time_to_first_token_ms", "ttft_ms"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(millis_to_ns));
    span.reported_cost = ["cost", "cost_usd", "total_cost"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(float));
    span.prompt_name = first_text(&metadata, &["prompt_name"]);
    span.prompt_version = first_text(&metadata, &["prompt_version"]);
    span.attribution = attribution;
    span.tags = obj.get("tags").map(tags).unwrap_or_default();

    let (status, message, class) = outcome(&obj, response);
    span.status = status;
    span.status_message = message;
    span.error_class = class;

    let payload = &mut span.payload;
    payload.input = obj.get("request").and_then(json_text);
    payload.output = response_value.and_then(json_text);
    payload.input_messages = input_messages;
    payload.output_messages = output_messages;
    for (k, v) in request {
        match k.as_str() {
            "messages" | "system" | "input" | "prompt" => {}
            "tools" => {
                let names: Vec<Value> = tool_names(v).into_iter().map(Value::String).collect();
                if !names.is_empty() {
                    payload
                        .attributes
                        .insert("request.tools".to_owned(), Value::Array(names));
                }
            }
            _ if !v.is_null() => {
                payload.attributes.insert(format!("request.{k}"), v.clone());
            }
            _ => {}
        }
    }
    if let Some(r) = response {
        for k in [
            "id",
            "object",
            "created",
            "system_fingerprint",
            "service_tier",
        ] {
            if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
                payload
                    .attributes
                    .insert(format!("response.{k}"), v.clone());
            }
        }
    }
    for (k, v) in &obj {
        if !LINE_KEYS.contains(&k.as_str()) && !v.is_null() {
            payload.attributes.insert(k.clone(), v.clone());
        }
    }
    payload.metadata = metadata;
    Ok(span)
}

/// Start and end from `start_time`/`timestamp`, `end_time` and `latency_ms`/`duration_ms`.
fn timing(obj: &Map<String, Value>) -> Result<(i64, Option<i64>), Bad> {
    let time = |keys: &[&'static str]| -> Result<Option<i64>, Bad> {
        match keys
            .iter()
            .find_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
        {
            Some((k, v)) => parse_time(v).map(Some).map_err(|m| Bad::field(k, m)),
            None => Ok(None),
        }
    };
    let start = time(&["start_time", "timestamp", "startTime", "created_at", "time"])?;
    let end = time(&["end_time", "endTime"])?;
    let latency = match ["latency_ms", "duration_ms", "latencyMs", "durationMs"]
        .iter()
        .find_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
    {
        Some((k, v)) => Some(
            millis_to_ns(v)
                .ok_or_else(|| Bad::field(k, "expected a non-negative number of milliseconds"))?,
        ),
        None => None,
    };
    let (start, end) = match (start, end, latency) {
        (Some(s), Some(e), _) => (s, Some(e)),
        (Some(s), None, l) => (s, l.map(|l| s.saturating_add(l))),
        (None, Some(e), Some(l)) => (e.saturating_sub(l), Some(e)),
        (None, Some(e), None) => (e, Some(e)),
        (None, None, _) => {
            return Err(Bad::field(
                "start_time",
                "missing (looked for start_time, timestamp, created_at and end_time)",
            ))
        }
    };
    if let Some(e) = end {
        if e < start {
            return Err(Bad::field("end_time", "is before the start"));
        }
    }
    Ok((start, end))
}

/// Status, message and error class from `error`, `status` and an error body in the response.
fn outcome(
    obj: &Map<String, Value>,
    response: Option<&Map<String, Value>>,
) -> (SpanStatus, Option<String>, Option<ErrorClass>) {
    let http = ["status", "status_code", "http_status"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(int));
    let status_word = obj
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let error = obj.get("error").filter(|v| !is_empty(v)).or_else(|| {
        response
            .and_then(|r| r.get("error"))
            .filter(|v| !is_empty(v))
    });
    let failed = error.is_some()
        || http.is_some_and(|s| s >= 400)
        || matches!(status_word.as_deref(), Some("error" | "failed" | "failure"));
    if !failed {
        let ok = response.is_some()
            || http.is_some_and(|s| (200..300).contains(&s))
            || matches!(status_word.as_deref(), Some("ok" | "success" | "succeeded"));
        return (
            if ok {
                SpanStatus::Ok
            } else {
                SpanStatus::Unset
            },
            None,
            None,
        );
    }
    let message = error
        .and_then(error_message)
        .or_else(|| http.map(|s| format!("HTTP {s}")));
    // Without an HTTP status, a timeout or a broken connection is the application's side.
    let infrastructure = http.is_none()
        && message.as_deref().is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            ["timeout", "timed out", "connection", "network", "dns"]
                .iter()
                .any(|w| m.contains(w))
        });
    let class = if infrastructure {
        ErrorClass::Infrastructure
    } else {
        ErrorClass::Model
    };
    (SpanStatus::Error, message, Some(class))
}

fn detect_provider(
    request: &Map<String, Value>,
    response: Option<&Map<String, Value>>,
    model: Option<&str>,
) -> Option<&'static str> {
    if let Some(r) = response {
        if r.get("type").and_then(Value::as_str) == Some("message") || r.contains_key("stop_reason")
        {
            return Some("anthropic");
        }
    }
    if request.contains_key("anthropic_version") {
        return Some("anthropic");
    }
    let model = model.unwrap_or("").to_ascii_lowercase();
    if model.starts_with("claude") {
        return Some("anthropic");
    }
    if [
        "gpt-",
        "o1",
        "o3",
        "o4",
        "chatgpt",
        "text-embedding",
        "davinci",
    ]
    .iter()
    .any(|p| model.starts_with(p))
    {
        return Some("openai");
    }
    if model.starts_with("gemini") {
        return Some("google");
    }
    match response
        .and_then(|r| r.get("object"))
        .and_then(Value::as_str)
    {
        Some("chat.completion" | "chat.completion.chunk" | "text_completion" | "response") => {
            Some("openai")
        }
        _ => None,
    }
}

fn tool_names(tools: &Value) -> Vec<String> {
    let Some(tools) = tools.as_array() else {
        return Vec::new();
    };
    tools
        .iter()
        .filter_map(|t| {
            t.get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| t.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shared with the other JSON importers.
// ---------------------------------------------------------------------------------------------

/// Why a record was rejected: the field to blame (if one is) and what is wrong.
#[derive(Debug)]
pub(super) struct Bad {
    pub(super) field: Option<String>,
    pub(super) message: String,
}

impl Bad {
    /// The record as a whole is wrong.
    pub(super) fn record(message: impl Into<String>) -> Bad {
        Bad {
            field: None,
            message: message.into(),
        }
    }

    /// One field is wrong.
    pub(super) fn field(field: &str, message: impl Into<String>) -> Bad {
        Bad {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The rejection, at `location`.
    pub(super) fn at(self, location: String) -> Rejection {
        Rejection {
            location,
            field: self.field,
            message: self.message,
        }
    }
}

/// What the first bytes of an input hold, for sniffing.
pub(super) enum Sniffed {
    /// JSON lines: the first line's value (more lines follow).
    Lines(Value),
    /// One complete JSON document.
    Document(Value),
    /// JSON that does not end within the head; for an array, its first element when that fits.
    Truncated(Option<Value>),
    /// Not JSON.
    NotJson,
}

/// Reads the head as JSON lines, a complete document, or the start of a larger one.
pub(super) fn sniff_json(head: &[u8]) -> Sniffed {
    if !matches!(head.first(), Some(b'{' | b'[')) {
        return Sniffed::NotJson;
    }
    if super::otlp_json::first_line_is_whole_document(head) {
        let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
        if let Ok(v) = serde_json::from_slice(&head[..end]) {
            return Sniffed::Lines(v);
        }
    }
    if let Ok(v) = serde_json::from_slice(head) {
        return Sniffed::Document(v);
    }
    let first = if head[0] == b'[' {
        serde_json::Deserializer::from_slice(&head[1..])
            .into_iter::<Value>()
            .next()
            .and_then(Result::ok)
    } else {
        None
    };
    Sniffed::Truncated(first)
}

/// Whether `needle` occurs in `haystack`.
pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Skips a UTF-8 byte order mark, which detection ignores but the parsers would not.
pub(super) fn skip_bom(reader: &mut dyn BufRead) -> Result<(), ParseError> {
    let buf = reader
        .fill_buf()
        .map_err(|e| ParseError::Input(io_message(&e)))?;
    if buf.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(())
}

/// A JSON input read whole, found to be JSON lines, or too large to hold.
pub(super) enum Json<'r> {
    /// One JSON document.
    Whole(Value),
    /// JSON lines after all (detection saw only part of a long first line): the first line,
    /// the rest still to be read.
    Lines(Vec<u8>),
    /// One document larger than the limit given to [`read_document`], to be parsed as it
    /// streams (see [`super::json_records`]).
    Streamed(super::StreamedInput<'r>),
}

/// Reads a whole JSON document of up to `whole_up_to` bytes, unless its first line is a
/// complete value and more follows (JSON lines).
pub(super) fn read_document(
    reader: &mut dyn BufRead,
    whole_up_to: u64,
) -> Result<Json<'_>, ParseError> {
    skip_bom(reader)?;
    Ok(match super::lines_or_document(reader, whole_up_to)? {
        super::JsonInput::Lines(first) => Json::Lines(first),
        super::JsonInput::Document(super::Document::Whole(bytes)) => serde_json::from_slice(&bytes)
            .map(Json::Whole)
            .map_err(|e| ParseError::Input(format!("not valid JSON: {e}")))?,
        super::JsonInput::Document(super::Document::Streamed(input)) => Json::Streamed(input),
    })
}

/// Reads JSON lines whose first line was read already.
pub(super) type ReadLines =
    fn(Option<&[u8]>, &mut dyn BufRead, &mut dyn Sink) -> Result<(), ParseError>;

/// How a peer format reads its JSON input when it is not one document to read whole.
pub(super) struct PeerJson {
    /// The format of its JSON lines.
    pub lines_format: Format,
    pub lines: ReadLines,
    /// Reads a document too large to hold as it streams (written in batches).
    pub streamed: fn(super::StreamedInput<'_>, &mut dyn Sink) -> Result<(), ParseError>,
}

/// A peer format's JSON document of up to `whole_up_to` bytes, read whole (`Some`); JSON lines
/// and larger documents are read by `how` instead (`None`).
pub(super) fn peer_document(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
    whole_up_to: u64,
    how: &PeerJson,
) -> Result<Option<Value>, ParseError> {
    match read_document(reader, whole_up_to)? {
        Json::Whole(doc) => Ok(Some(doc)),
        Json::Lines(first) => {
            sink.found_format(how.lines_format);
            (how.lines)(Some(&first), reader, sink).map(|()| None)
        }
        Json::Streamed(input) => {
            sink.write_in_batches();
            (how.streamed)(input, sink).map(|()| None)
        }
    }
}

/// Calls `f` with each non-blank line and its number (from 1).
pub(super) fn for_each_line(
    reader: &mut dyn BufRead,
    f: impl FnMut(u64, &[u8]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    skip_bom(reader)?;
    lines_after(None, reader, f)
}

/// [`lines_after`] when the first line was already read (see [`Json::Lines`]), else
/// [`for_each_line`].
pub(super) fn lines(
    first: Option<&[u8]>,
    reader: &mut dyn BufRead,
    f: impl FnMut(u64, &[u8]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    match first {
        Some(first) => lines_after(Some(first), reader, f),
        None => for_each_line(reader, f),
    }
}

/// Like [`for_each_line`], with the first line already read (see [`Json::Lines`]).
pub(super) fn lines_after(
    first: Option<&[u8]>,
    reader: &mut dyn BufRead,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut number = 0u64;
    if let Some(first) = first {
        number = 1;
        if !first.iter().all(u8::is_ascii_whitespace) {
            f(1, first)?;
        }
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| ParseError::Input(io_message(&e)))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(number, &line)?;
    }
}

/// The first `len` hex digits of the SHA-256 of `bytes`.
pub(super) fn digest_hex(bytes: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        let _ = write!(out, "{b:02x}");
    }
    out.truncate(len);
    out
}

/// A trace id (32 lowercase hex digits) for a source's id: the id itself when it is 32 hex
/// digits or a UUID, else derived from it by hashing.
pub(super) fn trace_id_for(source: &str) -> String {
    let source = source.trim();
    let hex: String = if is_uuid(source) {
        source.chars().filter(|&c| c != '-').collect()
    } else {
        source.to_owned()
    };
    if is_hex_id(&hex, 32) {
        hex.to_ascii_lowercase()
    } else {
        digest_hex(source.as_bytes(), 32)
    }
}

/// A span id (16 lowercase hex digits) for a source's id: the id itself when it already is one,
/// else the first 16 hex digits of its SHA-256.
pub(super) fn span_id_for(source: &str) -> String {
    let source = source.trim();
    if is_hex_id(source, 16) {
        source.to_ascii_lowercase()
    } else {
        digest_hex(source.as_bytes(), 16)
    }
}

fn is_hex_id(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0')
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A time as nanoseconds since the epoch: RFC 3339 (`Z` or an offset), a naive ISO 8601 time
/// (taken as UTC, as LangSmith writes them), or an epoch number in s, ms, µs or ns (told apart by
/// magnitude).
pub(super) fn parse_time(value: &Value) -> Result<i64, String> {
    match value {
        Value::String(s) => parse_time_str(s.trim()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => epoch_to_ns(i as f64, Some(i)),
            None => epoch_to_ns(n.as_f64().unwrap_or(f64::NAN), None),
        },
        other => Err(format!("expected a time, found {}", type_name(other))),
    }
}

fn parse_time_str(s: &str) -> Result<i64, String> {
    use chrono::{DateTime, NaiveDateTime};
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    let out_of_range = || format!("{s:?} is out of range");
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.timestamp_nanos_opt().ok_or_else(out_of_range);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return t.timestamp_nanos_opt().ok_or_else(out_of_range);
        }
    }
    let naive = s.strip_suffix(" UTC").unwrap_or(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return t.and_utc().timestamp_nanos_opt().ok_or_else(out_of_range);
        }
    }
    if let Ok(i) = s.parse::<i64>() {
        return epoch_to_ns(i as f64, Some(i));
    }
    if let Ok(f) = s.parse::<f64>() {
        return epoch_to_ns(f, None);
    }
    Err(format!("{s:?} is not an RFC 3339 time or an epoch number"))
}

/// An epoch number in seconds, milliseconds, microseconds or nanoseconds, to nanoseconds.
fn epoch_to_ns(value: f64, exact: Option<i64>) -> Result<i64, String> {
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{value} is not a time"));
    }
    // Below 1e11 s is before the year 5138; 1e11 ms is 1973: magnitudes do not overlap in practice.
    let scale: i64 = if value < 1e11 {
        1_000_000_000
    } else if value < 1e14 {
        1_000_000
    } else if value < 1e17 {
        1_000
    } else {
        1
    };
    if let Some(i) = exact {
        return i
            .checked_mul(scale)
            .ok_or_else(|| format!("{i} is out of range"));
    }
    let ns = value * scale as f64;
    if ns >= i64::MAX as f64 {
        return Err(format!("{value} is out of range"));
    }
    Ok(ns.round() as i64)
}

/// A non-negative number of milliseconds (a number or numeric text), to nanoseconds.
pub(super) fn millis_to_ns(value: &Value) -> Option<i64> {
    let ms = float(value)?;
    (ms.is_finite() && ms >= 0.0 && ms * 1e6 < i64::MAX as f64).then(|| (ms * 1e6).round() as i64)
}

/// An integer from a number or numeric text.
pub(super) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// A number from a number or numeric text.
pub(super) fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

/// Text from a non-empty string, a number or a boolean.
pub(super) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first of `keys` in `obj` that holds text.
pub(super) fn first_text(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| obj.get(*k).and_then(text))
}

/// A payload as text: strings as they are, other JSON serialised; nothing for null or empty.
pub(super) fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        v if is_empty(v) => None,
        v => Some(v.to_string()),
    }
}

/// Null, an empty string, an empty object or an empty array.
pub(super) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The JSON type of a value, for messages.
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Tags from an array of strings or a comma-separated string.
pub(super) fn tags(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Fills the attribution keys still missing from the conventional keys of `obj` (metadata, or a
/// record's own fields).
pub(super) fn fill_attribution(a: &mut Attribution, obj: &Map<String, Value>) {
    let fill = |slot: &mut Option<String>, keys: &[&str]| {
        if slot.is_none() {
            *slot = first_text(obj, keys);
        }
    };
    fill(&mut a.tenant, &["tenant", "tenant_id", "tenantId"]);
    fill(&mut a.endpoint, &["endpoint", "route"]);
    fill(&mut a.feature, &["feature"]);
    fill(&mut a.user, &["user", "user_id", "userId"]);
    fill(
        &mut a.session,
        &[
            "session",
            "session_id",
            "sessionId",
            "thread_id",
            "conversation_id",
        ],
    );
    fill(&mut a.environment, &["environment", "env"]);
    fill(&mut a.release, &["release", "revision_id"]);
}

/// The error class a failure of a span of this kind belongs to, when it is clear.
pub(super) fn error_class_for(kind: SpanKind) -> Option<ErrorClass> {
    match kind {
        SpanKind::Llm | SpanKind::Embedding => Some(ErrorClass::Model),
        SpanKind::Tool => Some(ErrorClass::Tool),
        _ => None,
    }
}

/// A finish reason, lowercased and with each provider's synonyms mapped onto one word (the one
/// table all importers share).
pub(super) fn finish_reason(raw: &str) -> String {
    super::normalize::normalize_finish_reason(raw)
}

/// Token usage as a provider (or LangChain) reports it, with `input` covering all input tokens:
/// OpenAI `prompt_tokens` already include cached ones; Anthropic `input_tokens` do not, so the
/// cache reads and writes are added.
pub(super) fn usage(value: &Value) -> Option<Usage> {
    let u = value.as_object()?;
    let get = |k: &str| u.get(k).and_then(int);
    let detail = |parent: &str, k: &str| u.get(parent).and_then(|d| d.get(k)).and_then(int);
    let mut usage = Usage::default();
    if let Some(prompt) = get("prompt_tokens") {
        usage.input = Some(prompt);
        usage.output = get("completion_tokens");
        usage.cache_read = detail("prompt_tokens_details", "cached_tokens")
            .or_else(|| get("cache_read_input_tokens"));
        usage.cache_write = get("cache_creation_input_tokens");
        usage.reasoning = detail("completion_tokens_details", "reasoning_tokens");
    } else if let Some(input) = get("input_tokens") {
        let read = get("cache_read_input_tokens");
        let write = get("cache_creation_input_tokens");
        if read.is_some() || write.is_some() {
            usage.input = Some(
                input
                    .saturating_add(read.unwrap_or(0))
                    .saturating_add(write.unwrap_or(0)),
            );
            usage.cache_read = read;
            usage.cache_write = write;
        } else {
            // OpenAI Responses and LangChain `usage_metadata`: the total, with the cached part
            // beside it.
            usage.input = Some(input);
            usage.cache_read = detail("input_tokens_details", "cached_tokens")
                .or_else(|| detail("input_token_details", "cache_read"));
            usage.cache_write = detail("input_token_details", "cache_creation");
        }
        usage.output = get("output_tokens");
        usage.reasoning = detail("output_tokens_details", "reasoning_tokens")
            .or_else(|| detail("output_token_details", "reasoning"));
    } else if let Some(prompt) = get("promptTokenCount") {
        // Gemini: thoughts are counted apart from the candidates.
        usage.input = Some(prompt);
        usage.cache_read = get("cachedContentTokenCount");
        usage.reasoning = get("thoughtsTokenCount");
        usage.output = match (get("candidatesTokenCount"), usage.reasoning) {
            (Some(c), r) => Some(c.saturating_add(r.unwrap_or(0))),
            (None, r) => r,
        };
    } else if let Some(completion) = get("completion_tokens") {
        usage.output = Some(completion);
    } else {
        return None;
    }
    Some(usage)
}

/// Text of a message content: a string, or the text parts of a list joined by newlines.
pub(super) fn content_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(o) => o.get("text").and_then(Value::as_str),
                    _ => None,
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Chat messages in the common shapes: OpenAI, Anthropic (content blocks), LangChain
/// (`{"type": "human"}`, `{"lc": 1, ...}` serialised, `{"type", "data"}`), Gemini (`parts`),
/// OpenAI Responses items. Takes a list, a list of lists (a LangChain batch: the first), or an
/// object holding `messages`. Returns nothing unless every element is a message.
pub(super) fn messages(value: &Value) -> Vec<Message> {
    let list = match value {
        Value::Array(items) => match items.first() {
            Some(Value::Array(first)) => first,
            _ => items,
        },
        Value::Object(o) => {
            return match o.get("messages") {
                Some(inner) if !inner.is_object() => messages(inner),
                _ => Vec::new(),
            }
        }
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for item in list {
        match message(item) {
            Some(ms) => out.extend(ms),
            None => return Vec::new(),
        }
    }
    out
}

/// One message; an Anthropic turn carrying tool results becomes one `tool` message per result.
pub(super) fn message(value: &Value) -> Option<Vec<Message>> {
    let obj = value.as_object()?;
    if obj.contains_key("lc") {
        let kwargs = obj.get("kwargs")?.as_object()?;
        let class = obj.get("id")?.as_array()?.last()?.as_str()?;
        let role = match kwargs.get("role").and_then(Value::as_str) {
            Some(r) => normalize_role(r),
            None => langchain_role(class.trim_end_matches("Chunk"))?,
        };
        return Some(build_message(role, kwargs));
    }
    let kind = obj.get("type").and_then(Value::as_str);
    if let (Some(t), Some(Value::Object(data))) = (kind, obj.get("data")) {
        return Some(build_message(langchain_role(t)?, data));
    }
    match kind {
        Some("function_call") => {
            return Some(vec![Message {
                role: "assistant".to_owned(),
                tool_calls: tool_call(value).into_iter().collect(),
                ..Message::default()
            }])
        }
        Some("function_call_output") => {
            return Some(vec![Message {
                role: "tool".to_owned(),
                content: obj.get("output").and_then(json_text),
                tool_call_id: obj.get("call_id").and_then(text),
                ..Message::default()
            }])
        }
        _ => {}
    }
    let role = match (obj.get("role").and_then(Value::as_str), kind) {
        (Some(r), _) => normalize_role(r),
        (None, Some(t)) => langchain_role(t)?,
        (None, None) => return None,
    };
    Some(build_message(role, obj))
}

fn build_message(role: String, obj: &Map<String, Value>) -> Vec<Message> {
    let mut texts = Vec::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    match obj.get("content").or_else(|| obj.get("parts")) {
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(parts)) => {
            for part in parts {
                let Some(p) = part.as_object() else {
                    if let Some(s) = part.as_str() {
                        texts.push(s.to_owned());
                    }
                    continue;
                };
                match p.get("type").and_then(Value::as_str) {
                    Some("tool_use") => calls.push(ToolCall {
                        id: p.get("id").and_then(text),
                        name: p.get("name").and_then(text).unwrap_or_default(),
                        arguments: p.get("input").and_then(json_text),
                    }),
                    Some("tool_result") => results.push(Message {
                        role: "tool".to_owned(),
                        content: p.get("content").and_then(content_text),
                        tool_call_id: p.get("tool_use_id").and_then(text),
                        ..Message::default()
                    }),
                    _ => {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            texts.push(t.to_owned());
                        } else if let Some(f) = p.get("functionCall") {
                            calls.push(ToolCall {
                                id: None,
                                name: f.get("name").and_then(text).unwrap_or_default(),
                                arguments: f.get("args").and_then(json_text),
                            });
                        }
                    }
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => texts.push(other.to_string()),
    }
    calls.extend(tool_calls(obj.get("tool_calls")));
    if calls.is_empty() {
        calls.extend(tool_calls(
            obj.get("additional_kwargs")
                .and_then(|k| k.get("tool_calls")),
        ));
    }
    if let Some(f) = obj.get("function_call").filter(|f| f.is_object()) {
        calls.extend(tool_call(f));
    }
    let content = (!texts.is_empty()).then(|| texts.join("\n"));
    let own = content.is_some() || !calls.is_empty() || results.is_empty();
    let mut out = results;
    if own {
        out.push(Message {
            role,
            content,
            tool_calls: calls,
            tool_call_id: obj.get("tool_call_id").and_then(text),
        });
    }
    out
}

/// Tool calls in OpenAI (`function: {name, arguments}`), LangChain (`name`, `args`) or Responses
/// (`call_id`, `name`, `arguments`) shape.
fn tool_calls(value: Option<&Value>) -> Vec<ToolCall> {
    let Some(Value::Array(calls)) = value else {
        return Vec::new();
    };
    calls.iter().filter_map(tool_call).collect()
}

fn tool_call(call: &Value) -> Option<ToolCall> {
    let c = call.as_object()?;
    let f = c.get("function").and_then(Value::as_object);
    let field = |k: &str| f.and_then(|f| f.get(k)).or_else(|| c.get(k));
    Some(ToolCall {
        id: c.get("id").or_else(|| c.get("call_id")).and_then(text),
        name: field("name").and_then(text)?,
        arguments: field("arguments")
            .or_else(|| c.get("args"))
            .and_then(json_text),
    })
}

fn normalize_role(role: &str) -> String {
    match role.to_ascii_lowercase().as_str() {
        "human" => "user".to_owned(),
        "ai" | "model" => "assistant".to_owned(),
        other => other.to_owned(),
    }
}

/// The role of a LangChain message type or class name.
fn langchain_role(kind: &str) -> Option<String> {
    let role = match kind {
        "human" | "HumanMessage" | "user" => "user",
        "ai" | "AIMessage" | "assistant" => "assistant",
        "system" | "SystemMessage" => "system",
        "tool" | "ToolMessage" | "function" | "FunctionMessage" => "tool",
        "developer" => "developer",
        _ => return None,
    };
    Some(role.to_owned())
}

/// The messages a model answered with, and why it stopped: OpenAI `choices`, Anthropic content
/// blocks, LangChain `generations`, OpenAI Responses `output`, Gemini `candidates`.
pub(super) fn response_output(value: &Value) -> (Vec<Message>, Option<String>) {
    let Some(obj) = value.as_object() else {
        return (Vec::new(), None);
    };
    let mut out = Vec::new();
    let mut finish = None;
    let mut note_finish = |v: Option<&Value>| {
        if finish.is_none() {
            finish = v.and_then(Value::as_str).map(finish_reason);
        }
    };
    if let Some(Value::Array(choices)) = obj.get("choices") {
        for c in choices {
            note_finish(c.get("finish_reason"));
            if let Some(ms) = c.get("message").and_then(message) {
                out.extend(ms);
            } else if let Some(t) = c.get("text").and_then(Value::as_str) {
                out.push(assistant(t));
            }
        }
    } else if let Some(Value::Array(generations)) = obj.get("generations") {
        let list = match generations.first() {
            Some(Value::Array(first)) => first,
            _ => generations,
        };
        for g in list {
            note_finish(
                g.get("generation_info")
                    .and_then(|i| i.get("finish_reason")),
            );
            if let Some(ms) = g.get("message").and_then(message) {
                out.extend(ms);
            } else if let Some(t) = g.get("text").and_then(Value::as_str) {
                out.push(assistant(t));
            }
        }
    } else if let Some(Value::Array(candidates)) = obj.get("candidates") {
        for c in candidates {
            note_finish(c.get("finishReason"));
            if let Some(ms) = c.get("content").and_then(message) {
                out.extend(ms);
            }
        }
    } else if obj.get("content").is_some_and(Value::is_array)
        && (obj.get("type").and_then(Value::as_str) == Some("message")
            || obj.get("role").and_then(Value::as_str) == Some("assistant"))
    {
        note_finish(obj.get("stop_reason"));
        out.extend(build_message("assistant".to_owned(), obj));
    } else if let Some(Value::Array(items)) = obj.get("output") {
        let mut calls = Vec::new();
        for item in items {
            match item.get("type").and_then(Value::as_str) {
                Some("message") => out.extend(message(item).unwrap_or_default()),
                Some("function_call") => calls.extend(tool_call(item)),
                _ => {}
            }
        }
        if !calls.is_empty() {
            out.push(Message {
                role: "assistant".to_owned(),
                tool_calls: calls,
                ..Message::default()
            });
        }
    }
    (out, finish)
}

/// A model call recorded with plain-text input or output (a Langfuse generation, a promptfoo
/// prompt): one user message in, one assistant message out, as the OTLP importer reads them.
pub(super) fn plain_text_messages(span: &mut Span, input: Option<&Value>, output: Option<&Value>) {
    if span.kind != SpanKind::Llm {
        return;
    }
    let payload = &mut span.payload;
    if let (true, Some(Value::String(text))) = (payload.input_messages.is_empty(), input) {
        if !text.is_empty() {
            payload.input_messages.push(Message {
                role: "user".to_owned(),
                content: Some(text.clone()),
                ..Message::default()
            });
        }
    }
    if let (true, Some(Value::String(text))) = (payload.output_messages.is_empty(), output) {
        if !text.is_empty() {
            payload.output_messages.push(assistant(text));
        }
    }
}

fn assistant(text: &str) -> Message {
    Message {
        role: "assistant".to_owned(),
        content: Some(text.to_owned()),
        ..Message::default()
    }
}

/// A readable message from an error value: text, `message` (possibly nested under `error`), or
/// the JSON.
pub(super) fn error_message(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Object(o) => o
            .get("message")
            .and_then(text)
            .or_else(|| o.get("error").and_then(error_message))
            .or_else(|| Some(value.to_string())),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Collects what a parser produces.
    #[derive(Default)]
    pub(crate) struct Collect {
        pub(crate) spans: Vec<Span>,
        pub(crate) rejections: Vec<Rejection>,
        /// The format the parser said it found, if it said.
        pub(crate) format: Option<Format>,
        /// Whether the parser asked for its spans to be written in batches (a streamed document).
        pub(crate) in_batches: bool,
    }

    impl Sink for Collect {
        fn span(&mut self, span: Span) -> crate::Result<()> {
            self.spans.push(span);
            Ok(())
        }
        fn reject(&mut self, rejection: Rejection) {
            self.rejections.push(rejection);
        }
        fn found_format(&mut self, format: Format) {
            self.format = Some(format);
        }
        fn write_in_batches(&mut self) {
            self.in_batches = true;
        }
    }

    impl Collect {
        /// The span with this name (there must be exactly one).
        pub(crate) fn named(&self, name: &str) -> &Span {
            let found: Vec<&Span> = self.spans.iter().filter(|s| s.name == name).collect();
            assert_eq!(found.len(), 1, "spans named {name:?}");
            found[0]
        }
    }

    /// Reads a sample under `tests/data/peer/`.
    pub(crate) fn sample(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/peer")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Reads a real fixture under the workspace's `tests/fixtures/`.
    pub(crate) fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn parse(bytes: &[u8]) -> Collect {
        let mut sink = Collect::default();
        parse_jsonl(&mut &bytes[..], &mut sink).unwrap();
        sink
    }

    fn time(s: &str) -> i64 {
        parse_time(&Value::from(s)).unwrap()
    }

    #[test]
    fn the_sample_imports_field_by_field() {
        let sink = parse(&sample("request_log.jsonl"));
        assert_eq!(sink.spans.len(), 4, "{:?}", sink.rejections);

        // Line 1: OpenAI chat with cached prompt tokens.
        let s = &sink.spans[0];
        assert_eq!(s.name, "chat gpt-4o-mini");
        assert_eq!(s.kind, SpanKind::Llm);
        assert_eq!(s.trace_id, digest_hex(b"req-0001", 32));
        assert_eq!(s.span_id, digest_hex(b"req-0001", 16));
        assert_eq!(s.parent_span_id, None);
        assert_eq!(s.start_ns, time("2026-11-27T02:13:07.100Z"));
        assert_eq!(s.end_ns, Some(s.start_ns + 850_000_000));
        assert_eq!(s.provider.as_deref(), Some("openai"));
        assert_eq!(s.request_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(s.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            s.usage,
            Usage {
                input: Some(1200),
                output: Some(30),
                cache_read: Some(1024),
                cache_write: None,
                reasoning: Some(0),
            }
        );
        assert_eq!(s.status, SpanStatus::Ok);
        assert_eq!(s.reported_cost, Some(0.00021));
        assert_eq!(s.time_to_first_token_ns, Some(120_000_000));
        let a = &s.attribution;
        assert_eq!(a.tenant.as_deref(), Some("acme"));
        assert_eq!(a.endpoint.as_deref(), Some("/api/answer"));
        assert_eq!(a.feature.as_deref(), Some("travel-qa"));
        assert_eq!(a.user.as_deref(), Some("user-42"));
        assert_eq!(a.session.as_deref(), Some("sess-0001"));
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.release.as_deref(), Some("2026.11.1"));
        assert_eq!(s.tags, vec!["travel", "cached"]);
        let p = &s.payload;
        assert_eq!(p.input_messages.len(), 2);
        assert_eq!(p.input_messages[0].role, "system");
        assert_eq!(
            p.input_messages[1].content.as_deref(),
            Some("What is the weather in Paris?")
        );
        assert_eq!(p.output_messages.len(), 1);
        assert_eq!(p.output_messages[0].role, "assistant");
        assert_eq!(
            p.output_messages[0].content.as_deref(),
            Some("It is 18°C and cloudy in Paris.")
        );
        assert_eq!(p.attributes["request.temperature"], Value::from(0.2));
        assert_eq!(p.attributes["response.id"], Value::from("chatcmpl-001"));
        assert_eq!(p.attributes["id"], Value::from("req-0001"));
        assert_eq!(p.metadata["tenant"], Value::from("acme"));
        assert!(p.input.as_deref().unwrap().contains("\"messages\""));
        assert!(p.output.as_deref().unwrap().contains("chatcmpl-001"));

        // Line 2: an OpenAI tool call, in a given trace with a given span id and parent.
        let s = &sink.spans[1];
        assert_eq!(s.trace_id, "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(s.span_id, "b7ad6b7169203331");
        assert_eq!(s.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(s.name, "plan-trip");
        assert_eq!(s.start_ns, 1_795_745_587_000_000_000);
        assert_eq!(s.end_ns, Some(1_795_745_587_640_000_000));
        assert_eq!(s.request_model.as_deref(), Some("o4-mini"));
        assert_eq!(s.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(s.usage.input, Some(310));
        assert_eq!(s.usage.output, Some(95));
        assert_eq!(s.usage.reasoning, Some(64));
        assert_eq!(s.usage.cache_read, Some(0));
        let out = &s.payload.output_messages[0];
        assert_eq!(out.content, None);
        assert_eq!(out.tool_calls.len(), 1);
        assert_eq!(out.tool_calls[0].id.as_deref(), Some("call_abc123"));
        assert_eq!(out.tool_calls[0].name, "get_weather");
        assert_eq!(
            out.tool_calls[0].arguments.as_deref(),
            Some("{\"city\": \"Paris\"}")
        );
        assert_eq!(
            s.payload.attributes["request.tools"],
            serde_json::json!(["get_weather"])
        );

        // Line 3: Anthropic with a cached prompt, a tool result in and a tool use out.
        let s = &sink.spans[2];
        assert_eq!(s.provider.as_deref(), Some("anthropic"));
        assert_eq!(s.name, "chat claude-3-5-haiku-latest");
        assert_eq!(
            s.response_model.as_deref(),
            Some("claude-3-5-haiku-20241022")
        );
        assert_eq!(s.start_ns, 1_795_745_590_500_000_000);
        assert_eq!(s.end_ns, Some(time("2026-11-27T02:13:11.250Z")));
        assert_eq!(
            s.usage,
            Usage {
                input: Some(50 + 1000 + 200),
                output: Some(40),
                cache_read: Some(1000),
                cache_write: Some(200),
                reasoning: None,
            }
        );
        assert_eq!(s.finish_reason.as_deref(), Some("tool_calls"));
        let inputs = &s.payload.input_messages;
        assert_eq!(
            inputs.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
            vec!["system", "user", "assistant", "tool"]
        );
        assert_eq!(
            inputs[0].content.as_deref(),
            Some("You are a travel agent.")
        );
        assert_eq!(inputs[2].tool_calls[0].name, "get_weather");
        assert_eq!(inputs[3].tool_call_id.as_deref(), Some("toolu_01"));
        assert_eq!(
            inputs[3].content.as_deref(),
            Some("{\"temperature_c\": 18}")
        );
        let out = &s.payload.output_messages[0];
        assert_eq!(out.content.as_deref(), Some("Let me book that."));
        assert_eq!(out.tool_calls[0].name, "book_hotel");
        assert_eq!(out.tool_calls[0].id.as_deref(), Some("toolu_02"));
        assert_eq!(
            out.tool_calls[0].arguments.as_deref(),
            Some("{\"city\":\"Paris\"}")
        );
        assert_eq!(s.attribution.tenant.as_deref(), Some("globex"));
        assert_eq!(s.attribution.user.as_deref(), Some("user-7"));

        // Line 4: a provider error.
        let s = &sink.spans[3];
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(
            s.status_message.as_deref(),
            Some("The server had an error while processing your request.")
        );
        assert_eq!(s.error_class, Some(ErrorClass::Model));
        assert_eq!(s.payload.output, None);
        assert_eq!(s.usage, Usage::default());
        assert_eq!(s.end_ns, Some(s.start_ns + 41_000_000));

        // Lines 5-7: malformed JSON, no request, a bad time; blank line 6 is skipped.
        let r: Vec<(&str, Option<&str>)> = sink
            .rejections
            .iter()
            .map(|r| (r.location.as_str(), r.field.as_deref()))
            .collect();
        assert_eq!(
            r,
            vec![
                ("line 5", None),
                ("line 7", Some("request")),
                ("line 8", Some("start_time"))
            ]
        );
        assert!(sink.rejections[0].message.contains("not valid JSON"));
    }

    #[test]
    fn reimporting_yields_the_same_ids() {
        let a = parse(&sample("request_log.jsonl"));
        let b = parse(&sample("request_log.jsonl"));
        let ids = |c: &Collect| -> Vec<(String, String)> {
            c.spans
                .iter()
                .map(|s| (s.trace_id.clone(), s.span_id.clone()))
                .collect()
        };
        assert_eq!(ids(&a), ids(&b));
        // A line without any id is identified by its content.
        let line = br#"{"request":{"model":"gpt-4o","messages":[]},"response":null,"error":"timed out","timestamp":1795745587}"#;
        let c = parse(line);
        assert_eq!(c.spans[0].trace_id, trace_id_for(&digest_hex(line, 64)));
        assert_eq!(c.spans[0].span_id, span_id_for(&digest_hex(line, 64)));
        assert_eq!(c.spans[0].error_class, Some(ErrorClass::Infrastructure));
    }

    #[test]
    fn times_parse_in_every_common_form() {
        let t = 1_795_745_569_123_456_000;
        assert_eq!(time("2026-11-27T02:12:49.123456Z"), t);
        assert_eq!(time("2026-11-27T02:12:49.123456+00:00"), t);
        assert_eq!(time("2026-11-27T03:12:49.123456+01:00"), t);
        // LangSmith writes naive times meaning UTC.
        assert_eq!(time("2026-11-27T02:12:49.123456"), t);
        assert_eq!(time("2026-11-27 02:12:49.123456"), t);
        assert_eq!(time("2026-11-27T02:12:49Z"), 1_795_745_569_000_000_000);
        assert_eq!(time("2026-11-27T02:12:49"), 1_795_745_569_000_000_000);
        let n = |v: Value| parse_time(&v).unwrap();
        assert_eq!(n(Value::from(1_795_745_569)), 1_795_745_569_000_000_000);
        assert_eq!(
            n(Value::from(1_795_745_569_123i64)),
            1_795_745_569_123_000_000
        );
        assert_eq!(n(Value::from(1_795_745_569.5)), 1_795_745_569_500_000_000);
        assert_eq!(n(Value::from(t)), t);
        assert!(parse_time(&Value::from("yesterday")).is_err());
        assert!(parse_time(&Value::from(-5)).is_err());
        assert!(parse_time(&Value::from(f64::MAX)).is_err());
        assert!(parse_time(&Value::Bool(true)).is_err());
    }

    #[test]
    fn ids_keep_hex_and_hash_the_rest() {
        assert_eq!(
            trace_id_for("01a21ac7-1fb4-7182-9bd1-028cb3112a5a"),
            "01a21ac71fb471829bd1028cb3112a5a"
        );
        assert_eq!(
            trace_id_for("0AF7651916CD43DD8448EB211C80319C"),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(trace_id_for("eval-1"), digest_hex(b"eval-1", 32));
        assert_eq!(span_id_for("B7AD6B7169203331"), "b7ad6b7169203331");
        assert_eq!(
            span_id_for("01a21ac7-1fb4-7182-9bd1-028cb3112a5a"),
            digest_hex(b"01a21ac7-1fb4-7182-9bd1-028cb3112a5a", 16)
        );
        // All-zero ids are invalid in OTLP: hashed like any other text.
        assert_eq!(span_id_for("0000000000000000").len(), 16);
        assert_ne!(span_id_for("0000000000000000"), "0000000000000000");
    }

    #[test]
    fn usage_follows_each_dialect() {
        let u = |v: Value| usage(&v).unwrap();
        // OpenAI: prompt tokens include the cached ones.
        let openai = u(
            serde_json::json!({"prompt_tokens": 100, "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 60},
            "completion_tokens_details": {"reasoning_tokens": 8}}),
        );
        assert_eq!(
            openai,
            Usage {
                input: Some(100),
                output: Some(20),
                cache_read: Some(60),
                cache_write: None,
                reasoning: Some(8)
            }
        );
        // Anthropic: input tokens exclude cache reads and writes.
        let anthropic = u(serde_json::json!({"input_tokens": 5, "output_tokens": 7,
            "cache_read_input_tokens": 100, "cache_creation_input_tokens": 10}));
        assert_eq!(anthropic.input, Some(115));
        assert_eq!(anthropic.cache_read, Some(100));
        assert_eq!(anthropic.cache_write, Some(10));
        // LangChain usage_metadata: input tokens are the total.
        let lc = u(serde_json::json!({"input_tokens": 42, "output_tokens": 9,
            "input_token_details": {"cache_read": 10}, "output_token_details": {"reasoning": 2}}));
        assert_eq!(lc.input, Some(42));
        assert_eq!(lc.cache_read, Some(10));
        assert_eq!(lc.reasoning, Some(2));
        assert!(usage(&serde_json::json!({"total": 3})).is_none());
    }

    #[test]
    fn finish_reasons_are_normalised() {
        for (raw, want) in [
            ("tool_use", "tool_calls"),
            ("tool_call", "tool_calls"),
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("STOP", "stop"),
            ("MAX_TOKENS", "length"),
            ("content_filter", "content_filter"),
        ] {
            assert_eq!(finish_reason(raw), want, "{raw}");
        }
    }

    #[test]
    fn langchain_messages_map_their_types_to_roles() {
        let ms = messages(&serde_json::json!([
            {"type": "system", "content": "be brief"},
            {"type": "human", "content": [{"type": "text", "text": "hi"}]},
            {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
             "kwargs": {"content": "", "tool_calls": [{"name": "search", "args": {"q": "x"}, "id": "c1"}]}},
            {"type": "tool", "data": {"content": "found", "tool_call_id": "c1"}}
        ]));
        let roles: Vec<&str> = ms.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, vec!["system", "user", "assistant", "tool"]);
        assert_eq!(ms[1].content.as_deref(), Some("hi"));
        assert_eq!(ms[2].tool_calls[0].name, "search");
        assert_eq!(
            ms[2].tool_calls[0].arguments.as_deref(),
            Some("{\"q\":\"x\"}")
        );
        assert_eq!(ms[3].tool_call_id.as_deref(), Some("c1"));
        // Anything that is not a message list yields none.
        assert!(messages(&serde_json::json!([{"question": "x"}])).is_empty());
        assert!(messages(&serde_json::json!("text")).is_empty());
    }

    #[test]
    fn sniff_claims_request_logs_only() {
        assert_eq!(
            sniff(&sample("request_log.jsonl")),
            Some(Format::RequestLogJsonl)
        );
        let one = br#"{"request": {"model": "gpt-4o", "messages": []}, "response": {}}"#;
        assert_eq!(sniff(one), Some(Format::RequestLogJsonl));
        for other in [
            fixture("otlp/openinference-python/traces.json"),
            fixture("promptfoo/results.json"),
            fixture("promptfoo/results.jsonl"),
            fixture("langsmith/runs-batch/000002_runs_batch.json"),
            fixture("langsmith/runs-batch/feedback.json"),
            sample("langfuse.json"),
            sample("langfuse.jsonl"),
            sample("langfuse_observations.csv"),
        ] {
            assert_eq!(sniff(&other[..other.len().min(64 * 1024)]), None);
        }
    }

    /// The head detection sees: at most 64 KiB.
    fn head(bytes: &[u8]) -> &[u8] {
        &bytes[..bytes.len().min(64 * 1024)]
    }

    #[test]
    fn detection_tells_every_input_apart() {
        use crate::import::detect;
        let cases = [
            (sample("request_log.jsonl"), Format::RequestLogJsonl),
            (sample("langfuse.json"), Format::LangfuseJson),
            (sample("langfuse.jsonl"), Format::LangfuseJsonl),
            (sample("langfuse_observations.csv"), Format::LangfuseCsv),
            (sample("langfuse_traces.csv"), Format::LangfuseCsv),
            (fixture("promptfoo/results.json"), Format::PromptfooJson),
            (
                fixture("langsmith/runs-batch/000001_runs_batch.json"),
                Format::LangsmithJson,
            ),
            (
                fixture("langsmith/runs-batch/000004_runs_batch.json"),
                Format::LangsmithJson,
            ),
            (
                fixture("otlp/openinference-python/traces.json"),
                Format::OtlpJson,
            ),
            (
                fixture("otlp/langfuse-python/traces.json"),
                Format::OtlpJson,
            ),
            (
                fixture("otlp/openllmetry-python/traces.json"),
                Format::OtlpJson,
            ),
        ];
        for (bytes, format) in cases {
            assert_eq!(detect(head(&bytes)), Ok(format));
        }
        // Not traces: feedback, scores, and promptfoo's JSONL and CSV (no eval id, no time).
        for name in [
            "langsmith/runs-batch/feedback.json",
            "otlp/langfuse-python/scores.json",
            "promptfoo/results.jsonl",
            "promptfoo/results.csv",
        ] {
            assert!(detect(head(&fixture(name))).is_err(), "{name}");
        }
    }

    #[test]
    fn the_store_imports_the_sample() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("assay.db")).unwrap();
        let report =
            crate::import::import_bytes(&mut store, "log", &sample("request_log.jsonl")).unwrap();
        assert_eq!(report.format, Format::RequestLogJsonl);
        assert_eq!(report.spans_read, 4);
        assert_eq!(report.traces, 4);
        assert_eq!(report.rejected_count, 3);
        assert_eq!(report.rejected[0].location, "line 5");
        let again =
            crate::import::import_bytes(&mut store, "log", &sample("request_log.jsonl")).unwrap();
        assert_eq!((again.spans_new, again.spans_merged), (0, 4));
    }

    #[test]
    fn no_input_makes_a_parser_panic() {
        type Parse = fn(&mut dyn BufRead, &mut dyn Sink) -> Result<(), ParseError>;
        let parsers: [Parse; 9] = [
            parse_jsonl,
            crate::import::langsmith::parse_json,
            // The same documents as if too large to hold: streamed record by record.
            |r, s| crate::import::langsmith::parse_json_up_to(r, s, 0),
            crate::import::langsmith::parse_jsonl,
            crate::import::langfuse::parse_json,
            |r, s| crate::import::langfuse::parse_json_up_to(r, s, 0),
            crate::import::langfuse::parse_jsonl,
            crate::import::langfuse::parse_csv,
            crate::import::promptfoo::parse_json,
        ];
        let inputs = [
            sample("request_log.jsonl"),
            sample("langfuse.json"),
            sample("langfuse.jsonl"),
            sample("langfuse_observations.csv"),
            fixture("langsmith/runs-batch/000004_runs_batch.json"),
            fixture("promptfoo/results.json"),
        ];
        for input in &inputs {
            let step = input.len() / 60 + 1;
            for cut in (0..input.len()).step_by(step) {
                let mut flipped = input.clone();
                flipped[cut] = match flipped[cut] {
                    b'"' => b'}',
                    b'0'..=b'9' => b'-',
                    _ => b'"',
                };
                for bytes in [&input[..cut], &flipped[..]] {
                    for parse in parsers {
                        let _ = parse(&mut &bytes[..], &mut Collect::default());
                    }
                    let _ = crate::import::detect(bytes);
                }
            }
        }
    }

    #[test]
    fn hostile_lines_are_rejected_without_panicking() {
        let lines = [
            "[1,2]",
            "\"text\"",
            "{\"request\": 5}",
            "{\"request\": {}, \"response\": [], \"timestamp\": 1}",
            "{\"request\": {}, \"timestamp\": 1e300}",
            "{\"request\": {}, \"timestamp\": \"9999999999999999999\"}",
            "{\"request\": {}, \"timestamp\": 1, \"latency_ms\": -4}",
            "{\"request\": {}, \"timestamp\": 1, \"latency_ms\": 1e300}",
            "{\"request\": {}, \"start_time\": 10, \"end_time\": 5}",
            "{\"request\": {\"messages\": [{\"role\": 5}]}, \"timestamp\": 1, \"response\": {\"choices\": [1, {\"message\": 2}]}, \"usage\": {\"prompt_tokens\": 1e300}}",
        ];
        let sink = parse(lines.join("\n").as_bytes());
        assert_eq!(sink.spans.len(), 1, "only the last line is a usable record");
        assert_eq!(sink.rejections.len(), lines.len() - 1);
    }
}
