//! Langfuse exports: traces and observations as JSON (an array, an API page `{"data": [...]}`,
//! `{"traces": [...], "observations": [...]}`, or one trace holding its observations), JSON lines,
//! or CSV with Langfuse's camelCase column names (JSON-valued cells hold JSON text).
//!
//! A trace becomes a root span (kind chain); an observation's parent is its
//! `parentObservationId`, else its trace's root span. When an input holds observations but not
//! their trace, the root is made from what the observations say about it (a CSV export's
//! `traceName`, `traceTimestamp`, `traceTags`, `userId`), so the tree is whole either way; a later
//! import of the trace itself completes that root (same ids).

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::request_log::{
    contains, digest_hex, error_class_for, fill_attribution, first_text, float, int, json_text,
    lines, message, messages, parse_time, peer_document, plain_text_messages, response_output,
    skip_bom, sniff_json, span_id_for, tags, text, trace_id_for, type_name, usage, Bad, PeerJson,
    Sniffed,
};
use super::{io_message, Format, ParseError, Sink};
use crate::model::{Attribution, Span, SpanKind, SpanStatus, Usage};

type Record = Map<String, Value>;

const NO_RECORDS: &str = "no Langfuse traces or observations: expected an array, {\"data\": [...]}, or {\"traces\": [...], \"observations\": [...]}";

/// Recognises a Langfuse export: JSON or JSON lines of traces or observations, or CSV with
/// Langfuse's column names.
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    match sniff_json(head) {
        Sniffed::Lines(v) => is_record(&v).then_some(Format::LangfuseJsonl),
        Sniffed::Document(v) => holds_records(&v).then_some(Format::LangfuseJson),
        Sniffed::Truncated(first) => {
            let records = match first {
                Some(v) => is_record(&v),
                // A first record too long to see whole: judge by the keys it opens with.
                None => {
                    let observation =
                        contains(head, b"\"traceId\"") && contains(head, b"\"startTime\"");
                    let trace = contains(head, b"\"timestamp\"")
                        && (contains(head, b"\"sessionId\"") || contains(head, b"\"userId\""));
                    (observation || trace)
                        && !contains(head, b"\"resourceSpans\"")
                        && !contains(head, b"\"request\"")
                }
            };
            records.then_some(Format::LangfuseJson)
        }
        Sniffed::NotJson => csv_header_is_langfuse(head).then_some(Format::LangfuseCsv),
    }
}

fn is_observation(o: &Record) -> bool {
    o.contains_key("id")
        && o.contains_key("traceId")
        && (o.contains_key("startTime") || o.contains_key("type"))
}

fn is_trace(o: &Record) -> bool {
    o.contains_key("id")
        && o.contains_key("timestamp")
        && !o.contains_key("traceId")
        && [
            "observations",
            "sessionId",
            "userId",
            "htmlPath",
            "bookmarked",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
}

fn is_record(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| is_observation(o) || is_trace(o))
}

fn holds_records(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.first().is_some_and(is_record),
        Value::Object(o) => {
            is_record(v)
                || ["data", "traces", "observations"].iter().any(|k| {
                    o.get(*k)
                        .and_then(Value::as_array)
                        .and_then(|items| items.first())
                        .is_some_and(is_record)
                })
        }
        _ => false,
    }
}

fn csv_header_is_langfuse(head: &[u8]) -> bool {
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..end]) else {
        return false;
    };
    let columns: Vec<&str> = line
        .trim_end_matches('\r')
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    let has = |c: &str| columns.contains(&c);
    has("id")
        && ((has("traceId") && has("startTime"))
            || (has("timestamp") && (has("sessionId") || has("userId"))))
}

/// The keys of a document object whose arrays hold records (`data` is an API page).
const RECORD_LISTS: [&str; 3] = ["data", "traces", "observations"];

/// How JSON lines and documents too large to hold are read.
const JSON: PeerJson = PeerJson {
    lines_format: Format::LangfuseJsonl,
    lines: parse_lines,
    streamed: parse_streamed,
};

/// A JSON document. Traces are read first so their attribution reaches their observations, and
/// written last so their end can be taken from their observations when the export has none.
/// A document over `whole_up_to` bytes is read as it streams, like JSON lines (see
/// [`parse_streamed`]).
pub(super) fn parse_json_up_to(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
    whole_up_to: u64,
) -> Result<(), ParseError> {
    let Some(doc) = peer_document(reader, sink, whole_up_to, &JSON)? else {
        return Ok(());
    };
    let mut found = Found::default();
    match doc {
        Value::Array(items) => found.list(items, "", sink),
        Value::Object(mut obj) => {
            if RECORD_LISTS
                .iter()
                .any(|k| obj.get(*k).is_some_and(Value::is_array))
            {
                for key in RECORD_LISTS {
                    if let Some(Value::Array(items)) = obj.remove(key) {
                        found.list(items, key, sink);
                    }
                }
            } else if obj.contains_key("id") {
                found.one(String::new(), Value::Object(obj), None, sink);
            } else {
                return Err(ParseError::Input(NO_RECORDS.to_owned()));
            }
        }
        other => {
            return Err(ParseError::Input(format!(
                "{NO_RECORDS}; found {}",
                type_name(&other)
            )))
        }
    }
    let mut builder = Builder {
        hold_traces: true,
        ..Builder::default()
    };
    builder.take(found, sink)?;
    builder.finish(sink)
}

/// [`parse_json_up_to`] at the importers' threshold.
#[cfg(test)]
pub(super) fn parse_json(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    parse_json_up_to(reader, sink, super::WHOLE_UP_TO)
}

/// A document too large to hold, record by record in the order of the file, as JSON lines are
/// read: a trace's attribution reaches the observations after it, and a trace is written when
/// read (its end is the export's, not taken from its observations).
fn parse_streamed(input: super::StreamedInput<'_>, sink: &mut dyn Sink) -> Result<(), ParseError> {
    let mut builder = Builder::default();
    super::json_records::walk(input, &RECORD_LISTS, sink, &mut |sink, place, value| {
        let mut found = Found::default();
        if place.index.is_none() && value.get("id").is_none() {
            return Err(ParseError::Input(NO_RECORDS.to_owned()));
        }
        let location = match place.index {
            Some(_) => place.location(),
            None => String::new(),
        };
        found.one(location, value, None, sink);
        builder.take(found, sink)
    })?;
    builder.finish(sink)
}

/// One trace or observation per line (a trace may hold its observations).
pub(super) fn parse_jsonl(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    parse_lines(None, reader, sink)
}

fn parse_lines(
    first: Option<&[u8]>,
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    let mut builder = Builder::default();
    let each = |number: u64, line: &[u8]| {
        let location = format!("line {number}");
        let mut found = Found::default();
        match super::json_value(line) {
            Ok(value) => found.one(location, value, None, sink),
            Err(e) => sink.reject(Bad::record(format!("not valid JSON: {e}")).at(location)),
        }
        builder.take(found, sink)
    };
    lines(first, reader, each)?;
    builder.finish(sink)
}

/// A CSV cell: the JSON it holds when it reads as an object, an array or a quoted string (how
/// Langfuse writes JSON-valued columns), else its text.
fn json_cell(cell: &str) -> Value {
    let t = cell.trim_start();
    if t.starts_with(['{', '[', '"']) {
        if let Ok(v) = serde_json::from_str(t) {
            return v;
        }
    }
    Value::String(cell.to_owned())
}

/// A CSV export: a header of Langfuse's column names, then one trace or observation per row.
/// Rows are located by the line they start on (a quoted cell may span lines).
pub(super) fn parse_csv(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    skip_bom(reader)?;
    // Records end at `\n` only, so that line numbers stay exact with CRLF line ends too (csv
    // would count the `\n` of a CRLF after the record it ends); the `\r` is trimmed below.
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let header: Vec<String> = csv
        .byte_headers()
        .map_err(|e| ParseError::Input(csv_message(&e)))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    if !header.iter().any(|h| h == "id") {
        return Err(ParseError::Input(
            "line 1: the header has no \"id\" column: not a Langfuse export".to_owned(),
        ));
    }
    let mut builder = Builder::default();
    let mut row = csv::ByteRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(ParseError::Input(csv_message(&e)))
            }
            Err(e) => {
                sink.reject(Bad::record(csv_message(&e)).at(format!("line {line}")));
                continue;
            }
        }
        let location = format!("line {}", row.position().map_or(line, |p| p.line()));
        let cells: Vec<&[u8]> = row
            .iter()
            .enumerate()
            .map(|(i, c)| match c {
                [rest @ .., b'\r'] if i + 1 == row.len() => rest,
                c => c,
            })
            .collect();
        if cells.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if cells.len() != header.len() {
            sink.reject(
                Bad::record(format!(
                    "has {} cells, the header has {}",
                    cells.len(),
                    header.len()
                ))
                .at(location),
            );
            continue;
        }
        let mut record = Record::new();
        let mut bad_column = None;
        for (name, cell) in header.iter().zip(cells) {
            match std::str::from_utf8(cell) {
                Ok("") => {}
                Ok(cell) => {
                    record.insert(name.clone(), json_cell(cell));
                }
                Err(_) => bad_column = Some(name.clone()),
            }
        }
        if let Some(column) = bad_column {
            sink.reject(Bad::field(&column, "not valid UTF-8").at(location));
            continue;
        }
        let mut found = Found::default();
        found.one(location, Value::Object(record), None, sink);
        builder.take(found, sink)?;
    }
    builder.finish(sink)
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io_message(io),
        _ => e.to_string(),
    }
}

/// Records sorted into traces and observations, with where each was found.
#[derive(Default)]
struct Found {
    traces: Vec<(String, Record)>,
    /// An observation, and the id of the trace that holds it (when nested).
    observations: Vec<(String, Record, Option<String>)>,
}

impl Found {
    fn list(&mut self, items: Vec<Value>, key: &str, sink: &mut dyn Sink) {
        for (i, item) in items.into_iter().enumerate() {
            self.one(format!("{key}[{i}]"), item, None, sink);
        }
    }

    fn one(&mut self, location: String, item: Value, trace: Option<&str>, sink: &mut dyn Sink) {
        let shown = if location.is_empty() {
            "document".to_owned()
        } else {
            location.clone()
        };
        let Value::Object(mut record) = item else {
            sink.reject(
                Bad::record(format!(
                    "expected a trace or an observation, found {}",
                    type_name(&item)
                ))
                .at(shown),
            );
            return;
        };
        if trace.is_some() || is_observation(&record) || record.contains_key("startTime") {
            self.observations
                .push((shown, record, trace.map(str::to_owned)));
        } else if record.contains_key("timestamp") {
            // A trace may hold its observations as objects (or only their ids).
            if let Some(Value::Array(nested)) = record.remove("observations") {
                let id = record.get("id").and_then(text);
                let mut ids = Vec::new();
                for (j, o) in nested.into_iter().enumerate() {
                    if o.is_object() {
                        let at = if location.is_empty() {
                            format!("observations[{j}]")
                        } else {
                            format!("{location}.observations[{j}]")
                        };
                        self.one(at, o, Some(id.as_deref().unwrap_or("")), sink);
                    } else {
                        ids.push(o);
                    }
                }
                if !ids.is_empty() {
                    record.insert("observations".to_owned(), Value::Array(ids));
                }
            }
            self.traces.push((shown, record));
        } else {
            sink.reject(
                Bad::record(
                    "neither a trace (id, timestamp) nor an observation (id, traceId, startTime)",
                )
                .at(shown),
            );
        }
    }
}

/// What the observations of a trace say about it, for a root when the trace itself is missing,
/// and for the trace's end. One is kept per trace of the export, so it is small: the texts,
/// rarely present, are boxed.
#[derive(Default)]
struct Seen {
    timestamp: Option<i64>,
    start: Option<i64>,
    end: Option<i64>,
    text: Option<Box<SeenText>>,
}

#[derive(Default)]
struct SeenText {
    name: Option<String>,
    tags: Vec<String>,
    user: Option<String>,
}

#[derive(Default)]
struct Builder {
    /// Keep trace spans until the end (a whole document), to give them an end.
    hold_traces: bool,
    held: Vec<(String, Span)>,
    /// Attribution of the traces read so far, by source id, for their observations.
    traces: HashMap<String, Attribution>,
    /// By a trace's source id, where in `seen` its observations are summed up.
    seen_at: HashMap<Box<str>, u32>,
    /// In the order the traces were first seen.
    seen: Vec<Seen>,
}

impl Builder {
    fn take(&mut self, found: Found, sink: &mut dyn Sink) -> Result<(), ParseError> {
        for (location, record) in found.traces {
            match convert_trace(&record) {
                Ok((source, span)) => {
                    self.traces.insert(source.clone(), span.attribution.clone());
                    if self.hold_traces {
                        self.held.push((source, span));
                    } else {
                        sink.span(span)?;
                    }
                }
                Err(bad) => sink.reject(bad.at(location)),
            }
        }
        for (location, record, holder) in found.observations {
            let trace = record.get("traceId").and_then(text).or(holder);
            let Some(trace) = trace.filter(|t| !t.is_empty()) else {
                sink.reject(Bad::field("traceId", "missing").at(location));
                continue;
            };
            match convert_observation(&record, &trace, self.traces.get(&trace)) {
                Ok(span) => {
                    self.note(&trace, &record, &span);
                    sink.span(span)?;
                }
                Err(bad) => sink.reject(bad.at(location)),
            }
        }
        Ok(())
    }

    fn note(&mut self, trace: &str, record: &Record, span: &Span) {
        let at = match self.seen_at.get(trace) {
            Some(&at) => at as usize,
            None => {
                self.seen_at.insert(trace.into(), self.seen.len() as u32);
                self.seen.push(Seen::default());
                self.seen.len() - 1
            }
        };
        let seen = &mut self.seen[at];
        seen.start = Some(seen.start.map_or(span.start_ns, |s| s.min(span.start_ns)));
        if let Some(end) = span.end_ns {
            seen.end = Some(seen.end.map_or(end, |e| e.max(end)));
        }
        if seen.timestamp.is_none() {
            seen.timestamp = record
                .get("traceTimestamp")
                .and_then(|t| parse_time(t).ok());
        }
        let known = seen.text.as_deref();
        let name = known
            .is_none_or(|t| t.name.is_none())
            .then(|| record.get("traceName").and_then(text))
            .flatten();
        let tags = known
            .is_none_or(|t| t.tags.is_empty())
            .then(|| record.get("traceTags").map(tags))
            .flatten()
            .unwrap_or_default();
        let user = known
            .is_none_or(|t| t.user.is_none())
            .then(|| record.get("userId").and_then(text))
            .flatten();
        if name.is_some() || !tags.is_empty() || user.is_some() {
            let t = seen.text.get_or_insert_with(Box::default);
            if t.name.is_none() {
                t.name = name;
            }
            if t.tags.is_empty() {
                t.tags = tags;
            }
            if t.user.is_none() {
                t.user = user;
            }
        }
    }

    fn seen(&self, trace: &str) -> Option<&Seen> {
        self.seen_at.get(trace).map(|&at| &self.seen[at as usize])
    }

    fn finish(mut self, sink: &mut dyn Sink) -> Result<(), ParseError> {
        for (source, mut span) in std::mem::take(&mut self.held) {
            if span.end_ns.is_none() {
                span.end_ns = self
                    .seen(&source)
                    .and_then(|s| s.end)
                    .filter(|e| *e >= span.start_ns);
            }
            sink.span(span)?;
        }
        let mut order: Vec<(u32, &str)> = self.seen_at.iter().map(|(s, &at)| (at, &**s)).collect();
        order.sort_unstable();
        for (at, source) in order {
            if self.traces.contains_key(source) {
                continue;
            }
            let seen = &self.seen[at as usize];
            let text = seen.text.as_deref();
            let start = match (seen.timestamp, seen.start) {
                (Some(t), Some(s)) => t.min(s),
                (t, s) => t.or(s).unwrap_or(0),
            };
            let mut root = Span::new(
                trace_id_for(source),
                root_span_id(source),
                text.and_then(|t| t.name.clone()).unwrap_or_default(),
                start,
            );
            root.kind = SpanKind::Chain;
            root.end_ns = seen.end.filter(|e| *e >= start);
            root.tags = text.map(|t| t.tags.clone()).unwrap_or_default();
            root.attribution.user = text.and_then(|t| t.user.clone());
            root.payload
                .attributes
                .insert("id".to_owned(), Value::String(source.to_owned()));
            sink.span(root)?;
        }
        Ok(())
    }
}

/// The root span of a trace: derived from the trace's id, apart from any observation's.
fn root_span_id(trace: &str) -> String {
    digest_hex(format!("langfuse-trace:{trace}").as_bytes(), 16)
}

/// An object, or JSON text holding one (Langfuse stores metadata either way).
fn object(value: Option<&Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(o)) => o.clone(),
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(Value::Object(o)) => o,
            _ => Map::new(),
        },
        _ => Map::new(),
    }
}

/// Fields that become span fields or payload; the rest of a record is kept as attributes.
const PAYLOAD_KEYS: &[&str] = &["input", "output", "metadata", "observations", "tags"];

fn keep_attributes(span: &mut Span, record: &Record) {
    for (k, v) in record {
        if !PAYLOAD_KEYS.contains(&k.as_str()) && !v.is_null() {
            span.payload.attributes.insert(k.clone(), v.clone());
        }
    }
}

fn convert_trace(record: &Record) -> Result<(String, Span), Bad> {
    let id = record
        .get("id")
        .and_then(text)
        .ok_or_else(|| Bad::field("id", "missing"))?;
    let start = match record.get("timestamp").filter(|v| !v.is_null()) {
        Some(v) => parse_time(v).map_err(|m| Bad::field("timestamp", m))?,
        None => return Err(Bad::field("timestamp", "missing")),
    };
    let mut span = Span::new(
        trace_id_for(&id),
        root_span_id(&id),
        record.get("name").and_then(text).unwrap_or_default(),
        start,
    );
    span.kind = SpanKind::Chain;
    // The API gives a trace's latency in seconds.
    span.end_ns = record
        .get("latency")
        .and_then(float)
        .filter(|l| *l >= 0.0 && *l < 1e9)
        .map(|l| start.saturating_add((l * 1e9).round() as i64));
    let metadata = object(record.get("metadata"));
    let a = &mut span.attribution;
    a.user = record.get("userId").and_then(text);
    a.session = record.get("sessionId").and_then(text);
    a.release = record.get("release").and_then(text);
    a.environment = record.get("environment").and_then(text);
    fill_attribution(a, &metadata);
    span.tags = record.get("tags").map(tags).unwrap_or_default();
    fill_payload(&mut span, record);
    span.payload.metadata = metadata;
    keep_attributes(&mut span, record);
    Ok((id, span))
}

fn convert_observation(
    record: &Record,
    trace: &str,
    trace_attribution: Option<&Attribution>,
) -> Result<Span, Bad> {
    let id = record
        .get("id")
        .and_then(text)
        .ok_or_else(|| Bad::field("id", "missing"))?;
    let start = match record.get("startTime").filter(|v| !v.is_null()) {
        Some(v) => parse_time(v).map_err(|m| Bad::field("startTime", m))?,
        None => return Err(Bad::field("startTime", "missing")),
    };
    let end = match record.get("endTime").filter(|v| !v.is_null()) {
        Some(v) => {
            let end = parse_time(v).map_err(|m| Bad::field("endTime", m))?;
            if end < start {
                return Err(Bad::field("endTime", "is before startTime"));
            }
            Some(end)
        }
        None => None,
    };
    let observation_type = record
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_uppercase();
    let kind = match observation_type.as_str() {
        "GENERATION" => SpanKind::Llm,
        "EMBEDDING" => SpanKind::Embedding,
        "AGENT" => SpanKind::Agent,
        "TOOL" => SpanKind::Tool,
        "CHAIN" => SpanKind::Chain,
        "RETRIEVER" => SpanKind::Retriever,
        "EVALUATOR" => SpanKind::Evaluator,
        "GUARDRAIL" => SpanKind::Guardrail,
        _ => SpanKind::Other,
    };

    let mut span = Span::new(
        trace_id_for(trace),
        span_id_for(&id),
        record.get("name").and_then(text).unwrap_or_default(),
        start,
    );
    span.kind = kind;
    span.parent_span_id = Some(match record.get("parentObservationId").and_then(text) {
        Some(parent) => span_id_for(&parent),
        None => root_span_id(trace),
    });
    // An event is a point in time.
    span.end_ns = end.or((observation_type == "EVENT").then_some(start));
    span.time_to_first_token_ns = record
        .get("completionStartTime")
        .and_then(|t| parse_time(t).ok())
        .map(|t| t.saturating_sub(start))
        .filter(|d| *d >= 0);
    let model = record.get("model").and_then(text);
    span.request_model = model.clone();
    span.response_model = model;
    span.usage = observation_usage(record).unwrap_or_default();
    span.reported_cost = reported_cost(record);
    span.prompt_name = record.get("promptName").and_then(text);
    span.prompt_version = record.get("promptVersion").and_then(text);
    if record.get("level").and_then(Value::as_str) == Some("ERROR") {
        span.status = SpanStatus::Error;
        span.status_message = record
            .get("statusMessage")
            .and_then(text)
            .or_else(|| Some("ERROR".to_owned()));
        span.error_class = error_class_for(kind);
    }

    let metadata = object(record.get("metadata"));
    span.provider =
        first_text(&metadata, &["provider", "ls_provider"]).map(|p| p.to_ascii_lowercase());
    let a = &mut span.attribution;
    fill_attribution(a, &metadata);
    a.environment = a
        .environment
        .take()
        .or_else(|| record.get("environment").and_then(text));
    a.user = a
        .user
        .take()
        .or_else(|| record.get("userId").and_then(text));
    if let Some(t) = trace_attribution {
        inherit(a, t);
    }
    fill_payload(&mut span, record);
    span.payload.metadata = metadata;
    keep_attributes(&mut span, record);
    Ok(span)
}

/// Fills the attribution keys still missing from the trace's.
fn inherit(a: &mut Attribution, from: &Attribution) {
    let fill = |slot: &mut Option<String>, value: &Option<String>| {
        if slot.is_none() {
            slot.clone_from(value);
        }
    };
    fill(&mut a.tenant, &from.tenant);
    fill(&mut a.endpoint, &from.endpoint);
    fill(&mut a.feature, &from.feature);
    fill(&mut a.user, &from.user);
    fill(&mut a.session, &from.session);
    fill(&mut a.environment, &from.environment);
    fill(&mut a.release, &from.release);
}

/// Input and output as recorded, and as messages when they hold them.
fn fill_payload(span: &mut Span, record: &Record) {
    let input = record.get("input");
    let output = record.get("output");
    span.payload.input = input.and_then(json_text);
    span.payload.output = output.and_then(json_text);
    if let Some(i) = input {
        span.payload.input_messages = messages(i);
    }
    if let Some(o) = output {
        let (out, finish) = response_output(o);
        span.finish_reason = finish;
        span.payload.output_messages = if !out.is_empty() {
            out
        } else if o.is_array() {
            messages(o)
        } else {
            message(o).unwrap_or_default()
        };
    }
    plain_text_messages(span, input, output);
}

/// Usage from `usageDetails`, else the older `usage` ({input, output, unit}) or
/// `promptTokens`/`completionTokens`.
fn observation_usage(record: &Record) -> Option<Usage> {
    if let Some(details) = record
        .get("usageDetails")
        .and_then(Value::as_object)
        .filter(|d| !d.is_empty())
    {
        if let Some(u) = details_usage(details) {
            return Some(u);
        }
    }
    if let Some(u) = record.get("usage").and_then(Value::as_object) {
        let tokens = u
            .get("unit")
            .and_then(Value::as_str)
            .is_none_or(|unit| unit.eq_ignore_ascii_case("TOKENS"));
        let input = u.get("input").and_then(int);
        let output = u.get("output").and_then(int);
        if tokens && (input.is_some() || output.is_some()) {
            return Some(Usage {
                input,
                output,
                ..Usage::default()
            });
        }
        if let Some(provider) = usage(&Value::Object(u.clone())) {
            return Some(provider);
        }
    }
    let input = record.get("promptTokens").and_then(int);
    let output = record.get("completionTokens").and_then(int);
    (input.is_some() || output.is_some()).then(|| Usage {
        input,
        output,
        ..Usage::default()
    })
}

/// Langfuse's usage details. Its own keys are exclusive parts: `input` leaves out the cached
/// tokens (`input_cached_tokens`, or Anthropic's `cache_read_input_tokens` and
/// `cache_creation_input_tokens`), and `output` the reasoning (`output_reasoning_tokens`); the
/// span model's input and output are the sums. OpenAI's own keys (`prompt_tokens`, ...) are
/// already inclusive.
fn details_usage(d: &Map<String, Value>) -> Option<Usage> {
    let get = |k: &str| d.get(k).and_then(int);
    if d.contains_key("prompt_tokens") || d.contains_key("completion_tokens") {
        let mut u = usage(&Value::Object(d.clone()))?;
        if u.cache_read.is_none() {
            u.cache_read = get("cached_tokens").or_else(|| get("input_cached_tokens"));
        }
        return Some(u);
    }
    let sum = |prefix: &str| -> Option<i64> {
        d.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter_map(|(_, v)| int(v))
            .fold(None, |acc: Option<i64>, v| {
                Some(acc.unwrap_or(0).saturating_add(v))
            })
    };
    let by_prefix = |prefixes: &[&str]| -> Option<i64> {
        d.iter()
            .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
            .filter_map(|(_, v)| int(v))
            .fold(None, |acc: Option<i64>, v| {
                Some(acc.unwrap_or(0).saturating_add(v))
            })
    };
    let read = get("cache_read_input_tokens");
    let write = get("cache_creation_input_tokens");
    let input = sum("input");
    let output = sum("output");
    if input.is_none() && output.is_none() && read.is_none() && write.is_none() {
        return None;
    }
    let input = match (input, read, write) {
        (None, None, None) => None,
        (i, r, w) => Some(
            i.unwrap_or(0)
                .saturating_add(r.unwrap_or(0))
                .saturating_add(w.unwrap_or(0)),
        ),
    };
    Some(Usage {
        input,
        output,
        cache_read: read.or_else(|| by_prefix(&["input_cached", "input_cache_read"])),
        cache_write: write.or_else(|| by_prefix(&["input_cache_creation", "input_cache_write"])),
        reasoning: by_prefix(&["output_reasoning"]),
    })
}

/// The cost Langfuse computed or was given: `costDetails.total`, `calculatedTotalCost`,
/// `totalCost`, else the sum of the cost details.
fn reported_cost(record: &Record) -> Option<f64> {
    let details = record.get("costDetails").and_then(Value::as_object);
    details
        .and_then(|d| d.get("total"))
        .and_then(float)
        .or_else(|| record.get("calculatedTotalCost").and_then(float))
        .or_else(|| record.get("totalCost").and_then(float))
        .or_else(|| {
            let parts: Vec<f64> = details?.values().filter_map(float).collect();
            (!parts.is_empty()).then(|| parts.iter().sum())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::request_log::tests::{fixture, sample, Collect};
    use crate::import::Rejection;
    use crate::model::ErrorClass;

    const TRACE: &str = "7f3b2c1a-9d4e-4f5a-8b6c-1d2e3f4a5b6c";
    const O1: &str = "0f1e2d3c-0000-4000-8000-000000000001";
    const O2: &str = "0f1e2d3c-0000-4000-8000-000000000002";

    fn run(
        f: fn(&mut dyn BufRead, &mut dyn Sink) -> Result<(), ParseError>,
        bytes: &[u8],
    ) -> Collect {
        let mut sink = Collect::default();
        f(&mut &bytes[..], &mut sink).unwrap();
        sink
    }

    fn time(s: &str) -> i64 {
        parse_time(&Value::from(s)).unwrap()
    }

    fn located(rejections: &[Rejection]) -> Vec<(&str, Option<&str>)> {
        rejections
            .iter()
            .map(|r| (r.location.as_str(), r.field.as_deref()))
            .collect()
    }

    /// What every form of the sample says about its observations.
    fn check_observations(sink: &Collect) {
        let trace_id = "7f3b2c1a9d4e4f5a8b6c1d2e3f4a5b6c";
        let root = root_span_id(TRACE);

        let plan = sink.named("plan");
        assert_eq!(plan.trace_id, trace_id);
        assert_eq!(plan.span_id, span_id_for(O1));
        assert_eq!(plan.parent_span_id.as_deref(), Some(root.as_str()));
        assert_eq!(plan.kind, SpanKind::Other);
        assert_eq!(plan.start_ns, time("2026-11-27T02:13:07.150Z"));
        assert_eq!(plan.end_ns, Some(time("2026-11-27T02:13:08.400Z")));
        assert_eq!(plan.status, SpanStatus::Unset);
        assert_eq!(
            plan.payload.input.as_deref(),
            Some("{\"question\":\"What is the weather in Paris?\"}")
        );
        assert_eq!(plan.attribution.feature.as_deref(), Some("trip-planner"));
        assert_eq!(plan.attribution.user.as_deref(), Some("user-42"));
        assert_eq!(plan.attribution.environment.as_deref(), Some("production"));

        let chat = sink.named("chat-completion");
        assert_eq!(chat.trace_id, trace_id);
        assert_eq!(
            chat.parent_span_id,
            Some(span_id_for(O1)),
            "nested under plan"
        );
        assert_eq!(chat.span_id, span_id_for(O2));
        assert_eq!(chat.kind, SpanKind::Llm);
        assert_eq!(
            chat.request_model.as_deref(),
            Some("claude-3-5-haiku-20241022")
        );
        assert_eq!(
            chat.response_model.as_deref(),
            Some("claude-3-5-haiku-20241022")
        );
        assert_eq!(chat.provider.as_deref(), Some("anthropic"));
        assert_eq!(chat.time_to_first_token_ns, Some(300_000_000));
        assert_eq!(
            chat.usage,
            Usage {
                input: Some(80 + 1000 + 120),
                output: Some(25),
                cache_read: Some(1000),
                cache_write: Some(120),
                reasoning: None,
            }
        );
        assert_eq!(chat.reported_cost, Some(0.0003));
        assert_eq!(chat.prompt_name.as_deref(), Some("travel-answer"));
        assert_eq!(chat.prompt_version.as_deref(), Some("3"));
        let inputs = &chat.payload.input_messages;
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[0].role, "system");
        assert_eq!(
            inputs[0].content.as_deref(),
            Some("You are a helpful travel assistant.\nAnswer briefly.")
        );
        let out = &chat.payload.output_messages[0];
        assert_eq!(out.role, "assistant");
        assert_eq!(out.content.as_deref(), Some("Let me check."));
        assert_eq!(out.tool_calls[0].name, "get_weather");
        assert_eq!(
            out.tool_calls[0].arguments.as_deref(),
            Some("{\"city\":\"Paris\"}")
        );
        assert_eq!(
            chat.payload.attributes["modelParameters"]["max_tokens"],
            Value::from(200)
        );
        assert_eq!(chat.payload.attributes["type"], Value::from("GENERATION"));
        assert_eq!(chat.payload.metadata["provider"], Value::from("anthropic"));

        let failed = sink.named("fallback-call");
        assert_eq!(failed.parent_span_id.as_deref(), Some(root.as_str()));
        assert_eq!(failed.status, SpanStatus::Error);
        assert_eq!(
            failed.status_message.as_deref(),
            Some("Error code: 500 - upstream failure")
        );
        assert_eq!(failed.error_class, Some(ErrorClass::Model));
        assert_eq!(failed.request_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(failed.usage.input, Some(12));
        assert_eq!(failed.usage.output, Some(0));
        assert_eq!(failed.reported_cost, Some(0.0000018));
        assert_eq!(
            failed.payload.input.as_deref(),
            Some("Translate this ERROR500 please\n(into French)")
        );
        assert_eq!(failed.payload.input_messages[0].role, "user");
        assert_eq!(
            failed.payload.input_messages[0].content,
            failed.payload.input
        );
        assert!(failed.payload.output_messages.is_empty());
        assert!(
            plan.payload.input_messages.is_empty(),
            "only model calls read text as messages"
        );
        assert_eq!(failed.payload.output, None);
    }

    fn check_trace(root: &Span) {
        assert_eq!(root.name, "answer_question");
        assert_eq!(root.kind, SpanKind::Chain);
        assert_eq!(root.trace_id, "7f3b2c1a9d4e4f5a8b6c1d2e3f4a5b6c");
        assert_eq!(root.span_id, root_span_id(TRACE));
        assert_eq!(root.parent_span_id, None);
        assert_eq!(root.start_ns, time("2026-11-27T02:13:07.100Z"));
        assert_eq!(
            root.end_ns,
            Some(time("2026-11-27T02:13:08.550Z")),
            "latency 1.45 s"
        );
        let a = &root.attribution;
        assert_eq!(a.user.as_deref(), Some("user-42"));
        assert_eq!(a.session.as_deref(), Some("sess-0001"));
        assert_eq!(a.release.as_deref(), Some("2026.11.1"));
        assert_eq!(a.environment.as_deref(), Some("production"));
        assert_eq!(a.tenant.as_deref(), Some("acme"));
        assert_eq!(a.endpoint.as_deref(), Some("/api/answer"));
        assert_eq!(a.feature.as_deref(), Some("travel-qa"));
        assert_eq!(root.tags, vec!["travel", "prod"]);
        assert_eq!(
            root.usage,
            Usage::default(),
            "a trace's totals are its observations'"
        );
        assert_eq!(root.reported_cost, None);
        assert!(root.payload.output.as_deref().unwrap().contains("cloudy"));
        assert_eq!(root.payload.attributes["version"], Value::from("v7"));
    }

    #[test]
    fn the_json_sample_imports_field_by_field() {
        let sink = run(parse_json, &sample("langfuse.json"));
        assert_eq!(sink.spans.len(), 4);
        check_observations(&sink);
        check_trace(sink.named("answer_question"));
        // Trace attribution reaches the observations that lack their own.
        let chat = sink.named("chat-completion");
        assert_eq!(chat.attribution.tenant.as_deref(), Some("acme"));
        assert_eq!(chat.attribution.feature.as_deref(), Some("travel-qa"));
        assert_eq!(chat.attribution.session.as_deref(), Some("sess-0001"));
        assert_eq!(
            located(&sink.rejections),
            vec![("observations[3]", Some("startTime"))]
        );
    }

    #[test]
    fn a_document_too_large_to_hold_streams_like_its_records_as_lines() {
        let doc = sample("langfuse.json");
        let mut sink = Collect::default();
        let mut reader = std::io::BufReader::with_capacity(16, &doc[..]);
        parse_json_up_to(&mut reader, &mut sink, 0).unwrap();
        assert!(sink.in_batches, "a streamed document is written in batches");
        check_observations(&sink);
        assert_eq!(
            located(&sink.rejections),
            vec![("observations[3]", Some("startTime"))]
        );

        // The same records one per line, in the order of the document.
        let value: Value = serde_json::from_slice(&doc).unwrap();
        let mut lines = String::new();
        for key in ["traces", "observations"] {
            for record in value[key].as_array().unwrap() {
                lines.push_str(&record.to_string());
                lines.push('\n');
            }
        }
        let as_lines = run(parse_jsonl, lines.as_bytes());
        assert_eq!(sink.spans, as_lines.spans);
        let said = |c: &Collect| -> Vec<(Option<String>, String)> {
            c.rejections
                .iter()
                .map(|r| (r.field.clone(), r.message.clone()))
                .collect()
        };
        assert_eq!(said(&sink), said(&as_lines));
    }

    #[test]
    fn the_jsonl_sample_imports_field_by_field() {
        let sink = run(parse_jsonl, &sample("langfuse.jsonl"));
        assert_eq!(sink.spans.len(), 4);
        check_observations(&sink);
        check_trace(sink.named("answer_question"));
        assert_eq!(
            sink.named("chat-completion").attribution.tenant.as_deref(),
            Some("acme"),
            "the trace came first"
        );
        assert_eq!(
            located(&sink.rejections),
            vec![("line 5", Some("startTime")), ("line 6", None)]
        );
    }

    #[test]
    fn the_csv_samples_import_field_by_field() {
        let sink = run(parse_csv, &sample("langfuse_observations.csv"));
        assert_eq!(sink.spans.len(), 4, "{:?}", sink.rejections);
        check_observations(&sink);
        // No trace row: the root is made from the observations' trace columns.
        let root = sink.named("answer_question");
        assert_eq!(root.span_id, root_span_id(TRACE));
        assert_eq!(root.start_ns, time("2026-11-27T02:13:07.100Z"));
        assert_eq!(root.end_ns, Some(time("2026-11-27T02:13:08.500Z")));
        assert_eq!(root.tags, vec!["travel", "prod"]);
        assert_eq!(root.attribution.user.as_deref(), Some("user-42"));
        // The third row spans lines 4-5; the bad ones are located by the line they start on.
        assert_eq!(
            located(&sink.rejections),
            vec![("line 6", Some("startTime")), ("line 7", None)]
        );

        let traces = run(parse_csv, &sample("langfuse_traces.csv"));
        assert!(traces.rejections.is_empty(), "{:?}", traces.rejections);
        assert_eq!(traces.spans.len(), 1);
        check_trace(&traces.spans[0]);
    }

    #[test]
    fn both_csv_exports_make_one_tree_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("assay.db")).unwrap();
        for name in ["langfuse_observations.csv", "langfuse_traces.csv"] {
            let report = crate::import::import_bytes(&mut store, name, &sample(name)).unwrap();
            assert_eq!(report.format, Format::LangfuseCsv);
        }
        let spans =
            crate::store::spans::for_trace(&store, "7f3b2c1a9d4e4f5a8b6c1d2e3f4a5b6c").unwrap();
        assert_eq!(spans.len(), 4);
        let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
        check_trace(root);
    }

    #[test]
    fn api_pages_and_nested_observations() {
        let page = format!(
            r#"{{"data": [{{"id": "{TRACE}", "timestamp": "2026-11-27T02:13:07.100Z", "name": "t",
                "observations": [
                    {{"id": "{O1}", "type": "EVENT", "name": "e", "startTime": "2026-11-27T02:13:07.200Z"}},
                    {{"id": "{O2}", "type": "GENERATION", "name": "g", "startTime": "2026-11-27T02:13:07.300Z",
                      "endTime": "2026-11-27T02:13:07.900Z",
                      "usageDetails": {{"input": 70, "input_cached_tokens": 30, "output": 12, "output_reasoning_tokens": 8, "total": 120}},
                      "costDetails": {{"input": 0.1, "output": 0.2}},
                      "output": {{"choices": [{{"message": {{"role": "assistant", "content": "hi"}}, "finish_reason": "length"}}]}}}},
                    {{"type": "SPAN"}}
                ]}}], "meta": {{"page": 1}}}}"#
        );
        let sink = run(parse_json, page.as_bytes());
        assert_eq!(sink.spans.len(), 3);
        let root = sink.named("t");
        assert_eq!(
            root.end_ns,
            Some(time("2026-11-27T02:13:07.900Z")),
            "from its observations"
        );
        let event = sink.named("e");
        assert_eq!(event.end_ns, Some(event.start_ns));
        assert_eq!(event.trace_id, root.trace_id);
        let g = sink.named("g");
        assert_eq!(
            g.usage,
            Usage {
                input: Some(100),
                output: Some(20),
                cache_read: Some(30),
                cache_write: None,
                reasoning: Some(8),
            }
        );
        assert!((g.reported_cost.unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(g.finish_reason.as_deref(), Some("length"));
        assert_eq!(g.payload.output_messages[0].content.as_deref(), Some("hi"));
        assert_eq!(
            located(&sink.rejections),
            vec![("data[0].observations[2]", Some("id"))]
        );
    }

    #[test]
    fn openai_native_usage_keys_are_inclusive() {
        let doc = format!(
            r#"[{{"id": "o", "traceId": "{TRACE}", "type": "GENERATION", "startTime": "2026-11-27T02:13:07Z",
                "usageDetails": {{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}}},
               {{"id": "p", "traceId": "{TRACE}", "type": "GENERATION", "startTime": "2026-11-27T02:13:07Z",
                "promptTokens": 5, "completionTokens": 6}},
               {{"id": "q", "traceId": "{TRACE}", "type": "GENERATION", "startTime": "2026-11-27T02:13:07Z",
                "usage": {{"input": 40, "output": 2, "unit": "CHARACTERS"}}}}]"#
        );
        let sink = run(parse_json, doc.as_bytes());
        assert_eq!(
            sink.spans.len(),
            4,
            "three observations and their trace's root"
        );
        let by_id = |id: &str| {
            sink.spans
                .iter()
                .find(|s| s.span_id == span_id_for(id))
                .unwrap()
        };
        assert_eq!(by_id("o").usage.input, Some(100));
        assert_eq!(by_id("o").usage.output, Some(20));
        assert_eq!(by_id("p").usage.input, Some(5));
        assert_eq!(
            by_id("q").usage,
            Usage::default(),
            "characters are not tokens"
        );
    }

    #[test]
    fn otel_style_ids_are_kept() {
        let doc = br#"{"id": "46ecba03b1aee928", "traceId": "63D3027CE14E6042C704192C088F83E9", "type": "SPAN", "startTime": "2026-11-27T02:12:49Z", "parentObservationId": "a3770185000cd35e"}"#;
        let sink = run(parse_json, doc);
        let s = &sink.spans[0];
        assert_eq!(s.trace_id, "63d3027ce14e6042c704192c088f83e9");
        assert_eq!(s.span_id, "46ecba03b1aee928");
        assert_eq!(s.parent_span_id.as_deref(), Some("a3770185000cd35e"));
    }

    #[test]
    fn bad_records_are_rejected_where_they_are() {
        let doc = format!(
            r#"[5, {{"name": "x"}}, {{"id": "t", "timestamp": "never", "userId": "u"}},
               {{"id": "o", "traceId": "{TRACE}", "startTime": "2026-11-27T02:13:07Z", "endTime": "2026-11-27T02:13:06Z"}},
               {{"id": "o2", "type": "SPAN", "startTime": "2026-11-27T02:13:07Z"}}]"#
        );
        let sink = run(parse_json, doc.as_bytes());
        assert!(sink.spans.is_empty());
        assert_eq!(
            located(&sink.rejections),
            vec![
                ("[0]", None),
                ("[1]", None),
                ("[2]", Some("timestamp")),
                ("[3]", Some("endTime")),
                ("[4]", Some("traceId")),
            ]
        );
        for doc in [&b"7"[..], b"{\"x\": 1}", b"[", b"\xEF\xBB\xBF{"] {
            let mut sink = Collect::default();
            assert!(matches!(
                parse_json(&mut &doc[..], &mut sink),
                Err(ParseError::Input(_))
            ));
        }
        let csv = b"name,value\nx,1\n";
        let mut sink = Collect::default();
        assert!(matches!(
            parse_csv(&mut &csv[..], &mut sink),
            Err(ParseError::Input(_))
        ));
        let csv = b"\xEF\xBB\xBFid,traceId,startTime\r\no,t,2026-11-27T02:13:07Z\r\n\r\np,t,\"unterminated\n";
        let sink = run(parse_csv, csv);
        assert_eq!(sink.spans.len(), 2, "the observation and its trace's root");
        assert_eq!(
            located(&sink.rejections),
            vec![("line 4", Some("startTime"))]
        );
    }

    #[test]
    fn json_lines_with_a_long_first_line_are_read_as_lines() {
        // The trace's output is large: its first line does not fit in what detection sees.
        let sample = sample("langfuse.jsonl");
        let end = sample.iter().position(|&b| b == b'\n').unwrap();
        let mut lines = sample[..end - 1].to_vec();
        lines.extend(format!(", \"pad\": \"{}\"}}", "x".repeat(70 * 1024)).into_bytes());
        lines.extend(&sample[end..]);
        assert_eq!(
            crate::import::detect(&lines[..64 * 1024]),
            Ok(Format::LangfuseJson)
        );
        let sink = run(parse_json, &lines);
        assert_eq!(sink.format, Some(Format::LangfuseJsonl));
        assert_eq!(sink.spans.len(), 4);
        check_observations(&sink);
        assert_eq!(
            located(&sink.rejections),
            vec![("line 5", Some("startTime")), ("line 6", None)]
        );
    }

    #[test]
    fn sniff_claims_langfuse_exports_only() {
        assert_eq!(sniff(&sample("langfuse.json")), Some(Format::LangfuseJson));
        assert_eq!(
            sniff(&sample("langfuse.jsonl")),
            Some(Format::LangfuseJsonl)
        );
        assert_eq!(
            sniff(&sample("langfuse_observations.csv")),
            Some(Format::LangfuseCsv)
        );
        assert_eq!(
            sniff(&sample("langfuse_traces.csv")),
            Some(Format::LangfuseCsv)
        );
        assert_eq!(
            sniff(
                format!(r#"{{"data": [{{"id": "o", "traceId": "{TRACE}", "startTime": "x"}}]}}"#)
                    .as_bytes()
            ),
            Some(Format::LangfuseJson)
        );
        for other in [
            fixture("otlp/langfuse-python/traces.json"),
            fixture("otlp/langfuse-python/scores.json"),
            fixture("otlp/openinference-js/traces.json"),
            fixture("promptfoo/results.json"),
            fixture("promptfoo/results.jsonl"),
            fixture("promptfoo/results.csv"),
            fixture("langsmith/runs-batch/000004_runs_batch.json"),
            fixture("langsmith/runs-batch/feedback.json"),
            sample("request_log.jsonl"),
        ] {
            assert_eq!(sniff(&other[..other.len().min(64 * 1024)]), None);
        }
    }
}
