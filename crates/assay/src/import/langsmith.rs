//! LangSmith runs: JSON (an array of runs, `{"runs": [...]}` as the runs API returns them, or a
//! `/runs/batch` body `{"post": [...], "patch": [...]}`) and JSON lines (a run, or a batch body,
//! per line).
//!
//! A run posted when it starts and patched when it ends becomes one span. Within a file the patch
//! is merged into the posted run; a part whose other half is in another file is written as it
//! is, and the store merges spans with the same ids (known fields win over missing ones).

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::request_log::{
    contains, error_class_for, error_message, fill_attribution, first_text, float, int, is_empty,
    json_text, lines, message, messages, parse_time, peer_document, response_output, sniff_json,
    span_id_for, tags, text, trace_id_for, type_name, usage, Bad, PeerJson, Sniffed,
};
use super::{Format, ParseError, Sink};
use crate::model::{Document, Message, Span, SpanEvent, SpanKind, SpanStatus, Usage};

type Run = Map<String, Value>;

const FEEDBACK: &str =
    "this is LangSmith feedback (run_id, key, score), not runs: Assay imports runs";
const NO_RUNS: &str = "no LangSmith runs: expected an array of runs, {\"runs\": [...]}, or a /runs/batch body {\"post\": [...], \"patch\": [...]}";

/// Recognises LangSmith runs (and not their feedback, which has no runs).
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    match sniff_json(head) {
        Sniffed::Lines(v) => holds_runs(&v).then_some(Format::LangsmithJsonl),
        Sniffed::Document(v) => holds_runs(&v).then_some(Format::LangsmithJson),
        Sniffed::Truncated(first) => {
            let runs = match first {
                Some(v) => is_run(&v),
                None => {
                    (contains(head, b"\"run_type\"") || contains(head, b"\"dotted_order\""))
                        && !contains(head, b"\"resourceSpans\"")
                }
            };
            runs.then_some(Format::LangsmithJson)
        }
        Sniffed::NotJson => None,
    }
}

fn is_run(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        o.get("run_type").is_some_and(Value::is_string)
            || o.get("dotted_order").is_some_and(Value::is_string)
            || (o.contains_key("id") && o.contains_key("parent_run_id"))
    })
}

fn holds_runs(value: &Value) -> bool {
    let first_is_run = |v: Option<&Value>| {
        v.and_then(Value::as_array)
            .is_some_and(|items| items.first().is_some_and(is_run))
    };
    match value {
        Value::Array(items) => items.first().is_some_and(is_run),
        Value::Object(o) => {
            is_run(value)
                || first_is_run(o.get("runs"))
                || ["post", "patch"].iter().any(|k| {
                    o.get(*k)
                        .and_then(Value::as_array)
                        .is_some_and(|items| items.iter().any(is_run))
                })
        }
        _ => false,
    }
}

/// How JSON lines and documents too large to hold are read.
const JSON: PeerJson = PeerJson {
    lines_format: Format::LangsmithJsonl,
    lines: parse_lines,
    streamed: parse_streamed,
};

/// A JSON document of runs: merged by id, then written. A document over `whole_up_to` bytes is
/// read as it streams, like JSON lines (see [`parse_streamed`]).
pub(super) fn parse_json_up_to(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
    whole_up_to: u64,
) -> Result<(), ParseError> {
    let Some(doc) = peer_document(reader, sink, whole_up_to, &JSON)? else {
        return Ok(());
    };
    let mut runs = Runs::default();
    match doc {
        Value::Array(items) => runs.add_list(items, "", "", sink),
        Value::Object(obj) => runs.add_body(obj, "", sink).map_err(ParseError::Input)?,
        other => {
            return Err(ParseError::Input(format!(
                "{NO_RUNS}; found {}",
                type_name(&other)
            )))
        }
    }
    for (location, run) in runs.list {
        emit(&location, &run, sink)?;
    }
    Ok(())
}

/// [`parse_json_up_to`] at the importers' threshold.
#[cfg(test)]
pub(super) fn parse_json(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    parse_json_up_to(reader, sink, super::WHOLE_UP_TO)
}

/// A document too large to hold, run by run in the order of the file, as JSON lines are read:
/// a run still open waits for its patch; memory holds only the open runs.
fn parse_streamed(input: super::StreamedInput<'_>, sink: &mut dyn Sink) -> Result<(), ParseError> {
    let mut open = Open::default();
    let lists = ["post", "patch", "runs"];
    super::json_records::walk(input, &lists, sink, &mut |sink, place, value| {
        let mut runs = Runs::default();
        match (place.index, value) {
            (Some(_), item) => runs.add(place.location(), item, sink),
            (None, Value::Object(obj)) => {
                runs.add_body(obj, "", sink).map_err(ParseError::Input)?
            }
            (None, _) => return Err(ParseError::Input(NO_RUNS.to_owned())),
        }
        for (location, run) in runs.list {
            open.add(location, run, sink)?;
        }
        Ok(())
    })?;
    open.finish(sink)
}

/// One run, or one batch body, per line. A run still open (no `end_time`) waits for its patch
/// further down; memory holds only the open runs.
pub(super) fn parse_jsonl(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    parse_lines(None, reader, sink)
}

fn parse_lines(
    first: Option<&[u8]>,
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    let mut open = Open::default();
    let each = |number: u64, line: &[u8]| {
        let prefix = format!("line {number}");
        let mut runs = Runs::default();
        match super::json_value(line) {
            Ok(Value::Array(items)) => runs.add_list(items, &prefix, "", sink),
            Ok(Value::Object(obj)) => {
                if let Err(message) = runs.add_body(obj, &prefix, sink) {
                    sink.reject(Bad::record(message).at(prefix.clone()));
                }
            }
            Ok(other) => sink.reject(
                Bad::record(format!("expected a run, found {}", type_name(&other)))
                    .at(prefix.clone()),
            ),
            Err(e) => sink.reject(Bad::record(format!("not valid JSON: {e}")).at(prefix.clone())),
        }
        for (location, run) in runs.list {
            open.add(location, run, sink)?;
        }
        Ok(())
    };
    lines(first, reader, each)?;
    open.finish(sink)
}

fn location(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, true) => "run".to_owned(),
        (true, false) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}: {path}"),
    }
}

/// Runs of one document or line, merged by id in order of first appearance.
#[derive(Default)]
struct Runs {
    list: Vec<(String, Run)>,
    index: HashMap<String, usize>,
}

impl Runs {
    /// An object: a batch body, a runs page, or one run. `Err` says why it holds no runs.
    fn add_body(&mut self, mut obj: Run, prefix: &str, sink: &mut dyn Sink) -> Result<(), String> {
        if ["post", "patch"]
            .iter()
            .any(|k| obj.get(*k).is_some_and(Value::is_array))
        {
            for key in ["post", "patch"] {
                if let Some(Value::Array(items)) = obj.remove(key) {
                    self.add_list(items, prefix, key, sink);
                }
            }
            return Ok(());
        }
        if let Some(Value::Array(items)) = obj.remove("runs") {
            self.add_list(items, prefix, "runs", sink);
            return Ok(());
        }
        let feedback = obj.contains_key("run_id") && obj.contains_key("key");
        if feedback && !obj.contains_key("run_type") {
            return Err(FEEDBACK.to_owned());
        }
        if !obj.contains_key("id") {
            return Err(NO_RUNS.to_owned());
        }
        self.add(location(prefix, ""), Value::Object(obj), sink);
        Ok(())
    }

    fn add_list(&mut self, items: Vec<Value>, prefix: &str, key: &str, sink: &mut dyn Sink) {
        for (i, item) in items.into_iter().enumerate() {
            self.add(location(prefix, &format!("{key}[{i}]")), item, sink);
        }
    }

    fn add(&mut self, location: String, item: Value, sink: &mut dyn Sink) {
        let Value::Object(mut run) = item else {
            sink.reject(
                Bad::record(format!("expected a run object, found {}", type_name(&item)))
                    .at(location),
            );
            return;
        };
        let Some(id) = run.get("id").and_then(text) else {
            sink.reject(Bad::field("id", "missing").at(location));
            return;
        };
        // Nested child runs (the runs API with child runs loaded) are runs of their own.
        if let Some(Value::Array(children)) = run.remove("child_runs") {
            for (j, mut child) in children.into_iter().enumerate() {
                if let Value::Object(c) = &mut child {
                    if c.get("parent_run_id").is_none_or(Value::is_null) {
                        c.insert("parent_run_id".to_owned(), Value::String(id.clone()));
                    }
                    if c.get("trace_id").is_none_or(Value::is_null) {
                        if let Some(t) = run.get("trace_id") {
                            c.insert("trace_id".to_owned(), t.clone());
                        }
                    }
                }
                self.add(format!("{location}.child_runs[{j}]"), child, sink);
            }
        }
        match self.index.get(&id) {
            Some(&i) => merge(&mut self.list[i].1, run),
            None => {
                self.index.insert(id, self.list.len());
                self.list.push((location, run));
            }
        }
    }
}

/// Runs of a JSON-lines file still waiting for their end.
#[derive(Default)]
struct Open {
    runs: Vec<Option<(String, Run)>>,
    index: HashMap<String, usize>,
}

impl Open {
    fn add(&mut self, location: String, run: Run, sink: &mut dyn Sink) -> Result<(), ParseError> {
        let id = run.get("id").and_then(text).unwrap_or_default();
        let (location, run) = match self.index.remove(&id).and_then(|i| self.runs[i].take()) {
            Some((first, mut earlier)) => {
                merge(&mut earlier, run);
                (first, earlier)
            }
            None => (location, run),
        };
        if run.get("end_time").is_some_and(|v| !v.is_null()) {
            emit(&location, &run, sink)
        } else {
            self.index.insert(id, self.runs.len());
            self.runs.push(Some((location, run)));
            Ok(())
        }
    }

    fn finish(self, sink: &mut dyn Sink) -> Result<(), ParseError> {
        for (location, run) in self.runs.into_iter().flatten() {
            emit(&location, &run, sink)?;
        }
        Ok(())
    }
}

/// Merges a later part of a run (a patch) into what is known: its values win, except empty ones
/// (`{}`, `[]`, null), which say nothing; `extra` is merged key by key.
fn merge(into: &mut Run, patch: Run) {
    for (k, v) in patch {
        if is_empty(&v) {
            continue;
        }
        match v {
            Value::Object(new) if k == "extra" => match into.get_mut("extra") {
                Some(Value::Object(old)) => merge_deep(old, new),
                _ => {
                    into.insert(k, Value::Object(new));
                }
            },
            v => {
                into.insert(k, v);
            }
        }
    }
}

fn merge_deep(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        if v.is_null() {
            continue;
        }
        match v {
            Value::Object(new) => match into.get_mut(&k) {
                Some(Value::Object(old)) => merge_deep(old, new),
                _ => {
                    into.insert(k, Value::Object(new));
                }
            },
            v => {
                into.insert(k, v);
            }
        }
    }
}

fn emit(location: &str, run: &Run, sink: &mut dyn Sink) -> Result<(), ParseError> {
    match convert(run) {
        Ok(span) => sink.span(span)?,
        Err(bad) => sink.reject(bad.at(location.to_owned())),
    }
    Ok(())
}

/// One segment of a dotted order: `20261127T021249123456Z<run id>`.
struct Segment {
    start_ns: i64,
    id: String,
}

fn parse_dotted(dotted: &str) -> Option<Vec<Segment>> {
    dotted
        .split('.')
        .map(|segment| {
            let z = segment.find('Z')?;
            let (time, id) = (segment.get(..z)?, segment.get(z + 1..)?);
            let (whole, fraction) = (time.get(..15)?, time.get(15..)?);
            let base = chrono::NaiveDateTime::parse_from_str(whole, "%Y%m%dT%H%M%S")
                .ok()?
                .and_utc()
                .timestamp_nanos_opt()?;
            if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) || id.is_empty()
            {
                return None;
            }
            let digits: i64 = if fraction.is_empty() {
                0
            } else {
                fraction.parse().ok()?
            };
            let nanos = digits * 10i64.pow(9 - fraction.len() as u32);
            Some(Segment {
                start_ns: base.checked_add(nanos)?,
                id: id.to_owned(),
            })
        })
        .collect()
}

fn kind_of(run_type: &str) -> SpanKind {
    match run_type {
        "llm" => SpanKind::Llm,
        "chain" | "prompt" | "parser" => SpanKind::Chain,
        "tool" => SpanKind::Tool,
        "retriever" => SpanKind::Retriever,
        "embedding" => SpanKind::Embedding,
        _ => SpanKind::Other,
    }
}

/// Keys that become span fields or payload; the rest of a run is kept as attributes.
const CONSUMED: &[&str] = &[
    "inputs",
    "outputs",
    "events",
    "extra",
    "error",
    "tags",
    "serialized",
    "child_runs",
];

fn convert(run: &Run) -> Result<Span, Bad> {
    let id = run
        .get("id")
        .and_then(text)
        .ok_or_else(|| Bad::field("id", "missing"))?;
    let segments = run
        .get("dotted_order")
        .and_then(Value::as_str)
        .and_then(parse_dotted);
    let parent = run.get("parent_run_id").and_then(text).or_else(|| {
        let s = segments.as_ref()?;
        (s.len() > 1).then(|| s[s.len() - 2].id.clone())
    });
    let trace = run
        .get("trace_id")
        .and_then(text)
        .or_else(|| segments.as_ref()?.first().map(|s| s.id.clone()))
        .or_else(|| parent.is_none().then(|| id.clone()))
        .ok_or_else(|| Bad::field("trace_id", "missing, and no dotted_order to take it from"))?;
    let start_ns = match run.get("start_time").filter(|v| !v.is_null()) {
        Some(v) => parse_time(v).map_err(|m| Bad::field("start_time", m))?,
        None => segments
            .as_ref()
            .and_then(|s| s.last())
            .filter(|s| s.id.eq_ignore_ascii_case(&id))
            .map(|s| s.start_ns)
            .ok_or_else(|| {
                Bad::field("start_time", "missing, and no dotted_order to take it from")
            })?,
    };
    let end_ns = match run.get("end_time").filter(|v| !v.is_null()) {
        Some(v) => {
            let end = parse_time(v).map_err(|m| Bad::field("end_time", m))?;
            if end < start_ns {
                return Err(Bad::field("end_time", "is before start_time"));
            }
            Some(end)
        }
        None => None,
    };

    let kind = kind_of(run.get("run_type").and_then(Value::as_str).unwrap_or(""));
    let llm_like = matches!(kind, SpanKind::Llm | SpanKind::Embedding);
    let inputs = run.get("inputs").filter(|v| !is_empty(v));
    // `{"output": null}` is what a failed call leaves: no output.
    let outputs = run.get("outputs").filter(|v| {
        !is_empty(v)
            && !v
                .as_object()
                .is_some_and(|o| o.values().all(Value::is_null))
    });
    let extra = run.get("extra").and_then(Value::as_object);
    let metadata = extra
        .and_then(|e| e.get("metadata"))
        .and_then(Value::as_object);
    let invocation = extra
        .and_then(|e| e.get("invocation_params"))
        .and_then(Value::as_object);

    let mut span = Span::new(
        trace_id_for(&trace),
        span_id_for(&id),
        run.get("name").and_then(text).unwrap_or_default(),
        start_ns,
    );
    span.kind = kind;
    span.parent_span_id = parent.map(|p| span_id_for(&p));
    span.end_ns = end_ns;
    span.provider = metadata
        .and_then(|m| first_text(m, &["ls_provider"]))
        .map(|p| p.to_ascii_lowercase());
    span.request_model = metadata
        .and_then(|m| first_text(m, &["ls_model_name"]))
        .or_else(|| invocation.and_then(|i| first_text(i, &["model", "model_name"])))
        .or_else(|| {
            inputs
                .filter(|_| llm_like)
                .and_then(|i| i.get("model"))
                .and_then(text)
        });
    span.response_model = outputs.and_then(|o| {
        o.get("model")
            .and_then(text)
            .or_else(|| {
                o.get("llm_output")
                    .and_then(|l| l.get("model_name").or_else(|| l.get("model")))
                    .and_then(text)
            })
            .or_else(|| {
                o.get("response_metadata")
                    .and_then(|r| r.get("model_name"))
                    .and_then(text)
            })
    });
    span.usage = run_usage(run, outputs, metadata, llm_like).unwrap_or_default();
    if llm_like {
        span.reported_cost = run.get("total_cost").and_then(float);
    }

    // Error: the first line is the message; the whole text (a traceback) goes in an event.
    let error = run.get("error").and_then(error_message);
    let status = run.get("status").and_then(Value::as_str);
    let mut events = Vec::new();
    if error.is_some() || status == Some("error") {
        span.status = SpanStatus::Error;
        span.error_class = error_class_for(kind);
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
            events.push(SpanEvent {
                name: "exception".to_owned(),
                time_ns: end_ns.unwrap_or(start_ns),
                attributes,
            });
        }
    } else if end_ns.is_some() || status == Some("success") {
        span.status = SpanStatus::Ok;
    }

    let mut first_token = run.get("first_token_time").and_then(|t| parse_time(t).ok());
    if let Some(Value::Array(list)) = run.get("events") {
        let mut seen_token = false;
        for e in list.iter().filter_map(Value::as_object) {
            let name = e.get("name").and_then(text).unwrap_or_default();
            let time = e.get("time").and_then(|t| parse_time(t).ok());
            // A stream records one event per token: the first is kept, for time to first token.
            if name == "new_token" {
                if seen_token {
                    continue;
                }
                seen_token = true;
                first_token = first_token.or(time);
            }
            events.push(SpanEvent {
                name,
                time_ns: time.unwrap_or(start_ns),
                attributes: e
                    .get("kwargs")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            });
        }
    }
    span.time_to_first_token_ns = first_token
        .map(|t| t.saturating_sub(start_ns))
        .filter(|d| *d >= 0);

    if let Some(m) = metadata {
        fill_attribution(&mut span.attribution, m);
    }
    span.tags = run.get("tags").map(tags).unwrap_or_default();

    let payload = &mut span.payload;
    payload.input = inputs.and_then(json_text);
    payload.output = outputs.and_then(json_text);
    if let Some(i) = inputs {
        payload.input_messages = messages(i);
        if payload.input_messages.is_empty() {
            payload.input_messages = prompts(i);
        }
    }
    if let Some(o) = outputs {
        let (out, finish) = response_output(o);
        span.finish_reason = finish;
        payload.output_messages = if out.is_empty() {
            let listed = messages(o);
            if listed.is_empty() {
                o.get("output").and_then(message).unwrap_or_default()
            } else {
                listed
            }
        } else {
            out
        };
        if kind == SpanKind::Retriever {
            payload.documents = documents(o);
        }
    }
    payload.events = events;
    payload.metadata = metadata.cloned().unwrap_or_default();
    for (k, v) in run {
        if !CONSUMED.contains(&k.as_str()) && !v.is_null() {
            payload.attributes.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in extra.into_iter().flatten() {
        if k != "metadata" && !v.is_null() {
            payload.attributes.insert(format!("extra.{k}"), v.clone());
        }
    }
    Ok(span)
}

/// Usage from the outputs (`usage_metadata`, LangChain's `llm_output.token_usage`, a provider's
/// `usage`), the metadata, or for model runs the run's own token fields.
fn run_usage(
    run: &Run,
    outputs: Option<&Value>,
    metadata: Option<&Map<String, Value>>,
    llm_like: bool,
) -> Option<Usage> {
    let from_outputs = outputs.and_then(|o| {
        o.get("usage_metadata")
            .and_then(usage)
            .or_else(|| {
                o.get("llm_output")
                    .and_then(|l| l.get("token_usage").or_else(|| l.get("usage")))
                    .and_then(usage)
            })
            .or_else(|| o.get("usage").and_then(usage))
    });
    from_outputs
        .or_else(|| metadata?.get("usage_metadata").and_then(usage))
        .or_else(|| {
            // The runs API totals tokens on every run, chains included: only a model run's are
            // its own.
            if !llm_like {
                return None;
            }
            let input = run.get("prompt_tokens").and_then(int);
            let output = run.get("completion_tokens").and_then(int);
            let detail = |parent: &str, k: &str| run.get(parent)?.get(k).and_then(int);
            (input.is_some() || output.is_some()).then(|| Usage {
                input,
                output,
                cache_read: detail("prompt_token_details", "cache_read"),
                cache_write: detail("prompt_token_details", "cache_creation"),
                reasoning: detail("completion_token_details", "reasoning"),
            })
        })
}

/// LangChain completion-model inputs: `{"prompts": ["..."]}`.
fn prompts(inputs: &Value) -> Vec<Message> {
    let Some(Value::Array(list)) = inputs.get("prompts") else {
        return Vec::new();
    };
    list.iter()
        .filter_map(Value::as_str)
        .map(|p| Message {
            role: "user".to_owned(),
            content: Some(p.to_owned()),
            ..Message::default()
        })
        .collect()
}

/// Retrieved LangChain documents (`page_content`, `metadata`), plain or serialised.
fn documents(outputs: &Value) -> Vec<Document> {
    let Some(list) = outputs
        .get("documents")
        .or_else(|| outputs.get("output"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|d| {
            let d = d.get("kwargs").unwrap_or(d);
            let content = d.get("page_content").and_then(Value::as_str)?;
            let meta = d.get("metadata");
            Some(Document {
                id: d
                    .get("id")
                    .and_then(text)
                    .or_else(|| meta?.get("id").and_then(text)),
                content: Some(content.to_owned()),
                score: meta
                    .and_then(|m| m.get("score"))
                    .or_else(|| d.get("score"))
                    .and_then(float),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::request_log::digest_hex;
    use crate::import::request_log::tests::{fixture, sample, Collect};
    use crate::model::ErrorClass;

    const ROOT: &str = "01a21ac7-1fb4-7182-9bd1-028cb3112a5a";
    const TRACE: &str = "01a21ac71fb471829bd1028cb3112a5a";

    fn json(bytes: &[u8]) -> Collect {
        let mut sink = Collect::default();
        parse_json(&mut &bytes[..], &mut sink).unwrap();
        sink
    }

    fn jsonl(bytes: &[u8]) -> Collect {
        let mut sink = Collect::default();
        parse_jsonl(&mut &bytes[..], &mut sink).unwrap();
        sink
    }

    fn time(s: &str) -> i64 {
        parse_time(&Value::from(s)).unwrap()
    }

    fn batch(name: &str) -> Vec<u8> {
        fixture(&format!("langsmith/runs-batch/{name}"))
    }

    /// The three batch bodies as one: every post, then the patch.
    fn all_in_one() -> Vec<u8> {
        let mut post = Vec::new();
        let mut patch = Vec::new();
        for name in [
            "000001_runs_batch.json",
            "000002_runs_batch.json",
            "000004_runs_batch.json",
        ] {
            let body: Value = serde_json::from_slice(&batch(name)).unwrap();
            post.extend(body["post"].as_array().cloned().unwrap_or_default());
            patch.extend(body["patch"].as_array().cloned().unwrap_or_default());
        }
        // Posts first, as the batch endpoint's bodies have them.
        let (post, patch) = (Value::from(post), Value::from(patch));
        format!("{{\"post\": {post}, \"patch\": {patch}}}").into_bytes()
    }

    /// Parses `doc` through a 16-byte buffer as a document too large to hold.
    fn streamed(doc: &[u8]) -> Collect {
        let mut sink = Collect::default();
        let mut reader = std::io::BufReader::with_capacity(16, doc);
        parse_json_up_to(&mut reader, &mut sink, 0).unwrap();
        assert!(sink.in_batches, "a streamed document is written in batches");
        sink
    }

    fn by_identity(mut spans: Vec<crate::model::Span>) -> Vec<crate::model::Span> {
        spans.sort_by(|a, b| (&a.trace_id, &a.span_id).cmp(&(&b.trace_id, &b.span_id)));
        spans
    }

    #[test]
    fn a_document_too_large_to_hold_streams_like_its_runs_as_lines() {
        let doc = all_in_one();
        let sink = streamed(&doc);
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);

        // The same runs one per line, in the order of the document.
        let value: Value = serde_json::from_slice(&doc).unwrap();
        let mut lines = String::new();
        for key in ["post", "patch"] {
            for run in value[key].as_array().unwrap() {
                lines.push_str(&run.to_string());
                lines.push('\n');
            }
        }
        assert_eq!(sink.spans, jsonl(lines.as_bytes()).spans);
        // Every post met its patch: the same spans as the document read whole.
        assert_eq!(by_identity(sink.spans), by_identity(json(&doc).spans));
    }

    #[test]
    fn a_streamed_document_keeps_what_it_read_before_a_break() {
        let doc = String::from_utf8(batch("000002_runs_batch.json")).unwrap();
        let whole = json(doc.as_bytes());
        // Break the document inside its last posted run.
        let last = doc.rfind("\"run_type\"").unwrap();
        let broken = format!("{}\"run_type\" oops {}", &doc[..last], &doc[last..]);
        let sink = streamed(broken.as_bytes());
        assert_eq!(sink.spans.len(), whole.spans.len() - 1);
        assert_eq!(sink.spans[..], whole.spans[..whole.spans.len() - 1]);
        assert_eq!(sink.rejections.len(), 1);
        assert!(sink.rejections[0].location.starts_with("line "));
        assert!(sink.rejections[0]
            .message
            .ends_with("the rest of the document was not read"));

        // One run as the whole document, and a document of no runs.
        let one = serde_json::from_str::<Value>(&doc).unwrap()["post"][0].to_string();
        assert_eq!(streamed(one.as_bytes()).spans, json(one.as_bytes()).spans);
        let mut sink = Collect::default();
        let mut reader = std::io::BufReader::with_capacity(16, &b"{\"name\": \"x\"}"[..]);
        let err = parse_json_up_to(&mut reader, &mut sink, 0).unwrap_err();
        assert!(matches!(err, ParseError::Input(m) if m == NO_RUNS));
    }

    #[test]
    fn model_runs_map_field_by_field() {
        let sink = json(&batch("000002_runs_batch.json"));
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);
        assert_eq!(sink.spans.len(), 4);
        let root_span = span_id_for(ROOT);

        let s = &sink.spans[0];
        assert_eq!(s.name, "ChatOpenAI");
        assert_eq!(s.kind, SpanKind::Llm);
        assert_eq!(s.trace_id, TRACE);
        assert_eq!(
            s.span_id,
            digest_hex(b"01a21ac7-2067-709f-bdd3-71e53f1ca29f", 16)
        );
        assert_eq!(s.parent_span_id.as_deref(), Some(root_span.as_str()));
        assert_eq!(s.start_ns, time("2026-11-27T02:13:07.303637+00:00"));
        assert_eq!(s.end_ns, Some(time("2026-11-27T02:13:07.336753+00:00")));
        assert_eq!(s.status, SpanStatus::Ok);
        assert_eq!(s.provider.as_deref(), Some("openai"));
        assert_eq!(s.request_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(s.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(s.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            s.usage,
            Usage {
                input: Some(133),
                output: Some(11),
                cache_read: Some(0),
                cache_write: None,
                reasoning: Some(0),
            }
        );
        let a = &s.attribution;
        assert_eq!(a.tenant.as_deref(), Some("acme"));
        assert_eq!(a.feature.as_deref(), Some("travel-qa"));
        assert_eq!(a.endpoint.as_deref(), Some("/api/answer"));
        assert_eq!(a.session.as_deref(), Some("sess-0001"));
        assert_eq!(a.user.as_deref(), Some("user-42"));
        assert_eq!(s.tags, vec!["fixture", "langsmith"]);
        let p = &s.payload;
        let roles: Vec<&str> = p.input_messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, vec!["system", "user"]);
        assert_eq!(
            p.input_messages[1].content.as_deref(),
            Some("What is the weather in the capital of France? TOOL")
        );
        let call = &p.output_messages[0].tool_calls[0];
        assert_eq!(call.id.as_deref(), Some("call_10ab06989808a093615535b6"));
        assert_eq!(call.name, "get_weather");
        assert_eq!(call.arguments.as_deref(), Some("{\"city\": \"France\"}"));
        assert!(p.input.as_deref().unwrap().contains("\"temperature\":0.2"));
        assert!(p
            .output
            .as_deref()
            .unwrap()
            .contains("chatcmpl-13b5a7dfc2a124634a552e0c0d8dc"));
        assert_eq!(p.metadata["ls_model_type"], Value::from("chat"));
        assert_eq!(p.attributes["run_type"], Value::from("llm"));
        assert_eq!(p.attributes["session_name"], Value::from("fixtures"));
        assert_eq!(
            p.attributes["extra.runtime"]["sdk_version"],
            Value::from("0.15.1")
        );
        assert!(!p.attributes.contains_key("inputs"));

        let tool = &sink.spans[1];
        assert_eq!(tool.name, "get_weather");
        assert_eq!(tool.kind, SpanKind::Tool);
        assert_eq!(tool.payload.input.as_deref(), Some("{\"city\":\"France\"}"));
        assert!(tool
            .payload
            .output
            .as_deref()
            .unwrap()
            .contains("temperature_c"));
        assert_eq!(tool.usage, Usage::default());

        // The second call answers the tool: its input carries the call and the result.
        let second = &sink.spans[2];
        let inputs = &second.payload.input_messages;
        assert_eq!(inputs.len(), 4);
        assert_eq!(inputs[2].tool_calls[0].name, "get_weather");
        assert_eq!(inputs[3].role, "tool");
        assert_eq!(
            inputs[3].tool_call_id.as_deref(),
            Some("call_10ab06989808a093615535b6")
        );
        assert_eq!(second.finish_reason.as_deref(), Some("stop"));
        assert_eq!(second.usage.input, Some(193));

        // The streamed call: time to first token from its first `new_token` event.
        let stream = &sink.spans[3];
        assert_eq!(
            stream.time_to_first_token_ns,
            Some(time("2026-11-27T02:13:07.408124+00:00") - stream.start_ns)
        );
        assert_eq!(stream.usage.output, Some(48));
        assert_eq!(stream.payload.events.len(), 1);
        assert_eq!(stream.payload.events[0].name, "new_token");
    }

    #[test]
    fn the_posted_root_and_the_retriever() {
        let sink = json(&batch("000001_runs_batch.json"));
        assert_eq!(sink.spans.len(), 2);
        let root = sink.named("answer_question");
        assert_eq!(root.kind, SpanKind::Chain);
        assert_eq!(root.trace_id, TRACE);
        assert_eq!(root.span_id, span_id_for(ROOT));
        assert_eq!(root.parent_span_id, None);
        assert_eq!(root.end_ns, None, "only posted: still open");
        assert_eq!(root.status, SpanStatus::Unset);
        assert_eq!(
            root.payload.input.as_deref(),
            Some("{\"question\":\"What is the weather in the capital of France?\"}")
        );
        assert_eq!(root.payload.output, None, "empty outputs say nothing");

        let retriever = sink.named("retrieve_documents");
        assert_eq!(retriever.kind, SpanKind::Retriever);
        let docs = &retriever.payload.documents;
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].id.as_deref(), Some("doc-1"));
        assert_eq!(
            docs[0].content.as_deref(),
            Some("Paris is the capital and most populous city of France.")
        );
        assert_eq!(docs[0].score, Some(0.92));
        assert_eq!(docs[2].score, Some(0.44));
    }

    #[test]
    fn a_failed_call_and_a_patch_whose_post_is_elsewhere() {
        let sink = json(&batch("000004_runs_batch.json"));
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);
        assert_eq!(sink.spans.len(), 3);

        let failed = &sink.spans[0];
        assert_eq!(failed.status, SpanStatus::Error);
        assert_eq!(failed.error_class, Some(ErrorClass::Model));
        assert_eq!(
            failed.status_message.as_deref(),
            Some("InternalServerError('Error code: 500 - The server had an error while processing your request. Sorry about that! (mock ERROR500)')")
        );
        let exception = &failed.payload.events[0];
        assert_eq!(exception.name, "exception");
        assert!(exception.attributes["exception.stacktrace"]
            .as_str()
            .unwrap()
            .contains("Traceback"));
        assert_eq!(failed.payload.output, None);
        assert_eq!(failed.usage, Usage::default());

        let rerank = sink.named("manual_rerank");
        assert_eq!(rerank.provider.as_deref(), Some("anthropic"));
        assert_eq!(
            rerank.request_model.as_deref(),
            Some("claude-3-5-haiku-20241022")
        );
        assert_eq!(rerank.response_model, None);
        assert_eq!(rerank.usage.input, Some(42));
        assert_eq!(rerank.usage.cache_read, Some(10));
        assert_eq!(rerank.usage.output, Some(9));
        assert_eq!(
            rerank.payload.output_messages[0].content.as_deref(),
            Some("doc-1 > doc-2 > doc-3")
        );

        // The patch alone: the end, the output and the outcome of the root posted in 000001.
        let root = sink.named("answer_question");
        assert_eq!(root.span_id, span_id_for(ROOT));
        assert_eq!(root.start_ns, time("2026-11-27T02:13:07.124838+00:00"));
        assert_eq!(root.end_ns, Some(time("2026-11-27T02:13:07.546560+00:00")));
        assert_eq!(root.status, SpanStatus::Ok);
        assert!(root
            .payload
            .output
            .as_deref()
            .unwrap()
            .contains("Mock answer"));
        assert_eq!(root.payload.input, None);
    }

    #[test]
    fn a_post_and_its_patch_in_one_file_become_one_span() {
        for sink in [json(&all_in_one()), {
            // As JSON lines, one batch body per line: the open root waits for its patch.
            let mut lines = Vec::new();
            for name in [
                "000001_runs_batch.json",
                "000002_runs_batch.json",
                "000004_runs_batch.json",
            ] {
                let body: Value = serde_json::from_slice(&batch(name)).unwrap();
                lines.extend(serde_json::to_vec(&body).unwrap());
                lines.push(b'\n');
            }
            jsonl(&lines)
        }] {
            assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);
            assert_eq!(sink.spans.len(), 8, "7 posted children and the root, once");
            let root = sink.named("answer_question");
            assert!(root.payload.input.as_deref().unwrap().contains("question"));
            assert!(root
                .payload
                .output
                .as_deref()
                .unwrap()
                .contains("Mock answer"));
            assert_eq!(root.end_ns, Some(time("2026-11-27T02:13:07.546560+00:00")));
            assert_eq!(root.status, SpanStatus::Ok);
            assert_eq!(root.attribution.tenant.as_deref(), Some("acme"));
            // Every other span hangs off the root.
            for s in sink.spans.iter().filter(|s| s.name != "answer_question") {
                assert_eq!(s.parent_span_id.as_deref(), Some(root.span_id.as_str()));
                assert_eq!(s.trace_id, TRACE);
            }
        }
    }

    #[test]
    fn across_files_the_store_merges_the_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("assay.db")).unwrap();
        for name in [
            "000001_runs_batch.json",
            "000002_runs_batch.json",
            "000004_runs_batch.json",
        ] {
            let report = crate::import::import_bytes(&mut store, name, &batch(name)).unwrap();
            assert_eq!(report.format, Format::LangsmithJson);
        }
        let spans = crate::store::spans::for_trace(&store, TRACE).unwrap();
        assert_eq!(spans.len(), 8);
        let root = spans.iter().find(|s| s.name == "answer_question").unwrap();
        assert_eq!(root.kind, SpanKind::Chain);
        assert_eq!(root.end_ns, Some(time("2026-11-27T02:13:07.546560+00:00")));
        assert!(root.payload.input.as_deref().unwrap().contains("question"));
        assert!(root
            .payload
            .output
            .as_deref()
            .unwrap()
            .contains("Mock answer"));
    }

    #[test]
    fn the_tree_comes_from_dotted_order_when_ids_are_missing() {
        let doc = br#"[
            {"id": "aaaaaaaa-0000-0000-0000-000000000001", "name": "child", "run_type": "prompt",
             "dotted_order": "20261127T021249123456Zaaaaaaaa-0000-0000-0000-000000000000.20261127T021250000001Zaaaaaaaa-0000-0000-0000-000000000001"},
            {"id": "x", "name": "orphan", "parent_run_id": "y", "start_time": "2026-11-27T02:12:49.123456"}
        ]"#;
        let sink = json(doc);
        let s = sink.named("child");
        assert_eq!(s.trace_id, "aaaaaaaa000000000000000000000000");
        assert_eq!(
            s.parent_span_id,
            Some(span_id_for("aaaaaaaa-0000-0000-0000-000000000000"))
        );
        assert_eq!(s.start_ns, time("2026-11-27T02:12:50.000001Z"));
        assert_eq!(s.kind, SpanKind::Chain);
        // A run with a parent but no trace id, nor a dotted order to find it, cannot be placed.
        assert_eq!(sink.rejections.len(), 1);
        assert_eq!(sink.rejections[0].location, "[1]");
        assert_eq!(sink.rejections[0].field.as_deref(), Some("trace_id"));
    }

    #[test]
    fn langchain_runs_read_generations_and_serialised_messages() {
        let doc = br#"{"runs": [{"id": "r1", "trace_id": "r1", "name": "ChatOpenAI", "run_type": "llm",
            "start_time": "2026-11-27T02:12:49.1", "end_time": "2026-11-27T02:12:50.1",
            "inputs": {"messages": [[
                {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "SystemMessage"], "kwargs": {"content": "be brief", "type": "system"}},
                {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"], "kwargs": {"content": "weather?", "type": "human"}}
            ]]},
            "outputs": {"generations": [[{"text": "", "generation_info": {"finish_reason": "tool_calls"},
                "message": {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
                    "kwargs": {"content": "", "tool_calls": [{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}]}}}]],
                "llm_output": {"token_usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}, "model_name": "gpt-4o-2024-08-06"}},
            "extra": {"invocation_params": {"model": "gpt-4o"}, "metadata": {"thread_id": "t-9", "env": "staging", "revision_id": "v3"}},
            "prompt_tokens": 999, "total_cost": "0.00012"}]}"#;
        let sink = json(doc);
        let s = &sink.spans[0];
        assert_eq!(s.request_model.as_deref(), Some("gpt-4o"));
        assert_eq!(s.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(s.usage.input, Some(20), "outputs win over the run's totals");
        assert_eq!(s.usage.output, Some(5));
        assert_eq!(s.reported_cost, Some(0.00012));
        assert_eq!(s.finish_reason.as_deref(), Some("tool_calls"));
        let roles: Vec<&str> = s
            .payload
            .input_messages
            .iter()
            .map(|m| m.role.as_str())
            .collect();
        assert_eq!(roles, vec!["system", "user"]);
        let call = &s.payload.output_messages[0].tool_calls[0];
        assert_eq!(call.name, "get_weather");
        assert_eq!(call.arguments.as_deref(), Some("{\"city\":\"Paris\"}"));
        assert_eq!(s.attribution.session.as_deref(), Some("t-9"));
        assert_eq!(s.attribution.environment.as_deref(), Some("staging"));
        assert_eq!(s.attribution.release.as_deref(), Some("v3"));
        assert_eq!(s.trace_id, digest_hex(b"r1", 32));
    }

    #[test]
    fn bad_runs_are_rejected_where_they_are() {
        let doc = br#"{"post": [
            {"id": "a", "trace_id": "a", "name": "ok", "run_type": "chain", "start_time": "2026-11-27T02:12:49Z"},
            {"name": "no id", "run_type": "chain"},
            7,
            {"id": "b", "trace_id": "a", "parent_run_id": "a", "start_time": "soon"},
            {"id": "c", "trace_id": "a", "parent_run_id": "a", "start_time": "2026-11-27T02:12:49Z", "end_time": "2026-11-27T02:12:48Z"}
        ], "patch": [{"id": "d", "trace_id": "a", "end_time": "2026-11-27T02:12:49Z"}]}"#;
        let sink = json(doc);
        assert_eq!(sink.spans.len(), 1);
        let got: Vec<(&str, Option<&str>)> = sink
            .rejections
            .iter()
            .map(|r| (r.location.as_str(), r.field.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("post[1]", Some("id")),
                ("post[2]", None),
                ("post[3]", Some("start_time")),
                ("post[4]", Some("end_time")),
                ("patch[0]", Some("start_time")),
            ]
        );
        let lines = jsonl(b"{\"id\": \"a\", \"run_type\": \"chain\", \"start_time\": 1795745569}\nnot json\n[1]\n");
        assert_eq!(lines.spans.len(), 1);
        let got: Vec<&str> = lines
            .rejections
            .iter()
            .map(|r| r.location.as_str())
            .collect();
        assert_eq!(got, vec!["line 2", "line 3: [0]"]);
    }

    #[test]
    fn json_lines_with_a_long_first_line_are_read_as_lines() {
        let padding = "x".repeat(70 * 1024);
        let lines = format!(
            "{{\"id\": \"a\", \"trace_id\": \"a\", \"name\": \"root\", \"run_type\": \"chain\", \"start_time\": \"2026-11-27T02:12:49Z\", \"inputs\": {{\"pad\": \"{padding}\"}}}}\n\
             {{\"id\": \"b\", \"trace_id\": \"a\", \"parent_run_id\": \"a\", \"name\": \"child\", \"run_type\": \"tool\", \"start_time\": \"2026-11-27T02:12:50Z\", \"end_time\": \"2026-11-27T02:12:51Z\"}}\n"
        );
        // Detection sees only the start of the first line, and takes it for a document.
        assert_eq!(
            crate::import::detect(&lines.as_bytes()[..64 * 1024]),
            Ok(Format::LangsmithJson)
        );
        let sink = json(lines.as_bytes());
        assert_eq!(sink.format, Some(Format::LangsmithJsonl));
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);
        assert_eq!(sink.spans.len(), 2);
        assert_eq!(
            sink.named("child").parent_span_id,
            Some(sink.named("root").span_id.clone())
        );
    }

    #[test]
    fn feedback_is_not_runs() {
        let feedback = batch("feedback.json");
        assert_eq!(sniff(&feedback), None);
        let mut sink = Collect::default();
        let Err(ParseError::Input(message)) = parse_json(&mut &feedback[..], &mut sink) else {
            panic!("feedback must be refused");
        };
        assert!(message.contains("feedback"), "{message}");
    }

    #[test]
    fn sniff_claims_runs_only() {
        for name in [
            "000001_runs_batch.json",
            "000002_runs_batch.json",
            "000004_runs_batch.json",
        ] {
            assert_eq!(sniff(&batch(name)), Some(Format::LangsmithJson), "{name}");
        }
        let body: Value = serde_json::from_slice(&batch("000002_runs_batch.json")).unwrap();
        let mut lines = Vec::new();
        for run in body["post"].as_array().unwrap() {
            lines.extend(serde_json::to_vec(run).unwrap());
            lines.push(b'\n');
        }
        assert_eq!(sniff(&lines), Some(Format::LangsmithJsonl));
        assert_eq!(
            sniff(b"[{\"id\": \"r\", \"run_type\": \"llm\"}]"),
            Some(Format::LangsmithJson)
        );
        for other in [
            fixture("otlp/openinference-python/traces.json"),
            fixture("otlp/langfuse-python/traces.json"),
            fixture("promptfoo/results.json"),
            fixture("promptfoo/results.jsonl"),
            sample("langfuse.json"),
            sample("langfuse.jsonl"),
            sample("langfuse_observations.csv"),
            sample("request_log.jsonl"),
        ] {
            assert_eq!(sniff(&other[..other.len().min(64 * 1024)]), None);
        }
    }

    #[test]
    fn anything_else_is_refused_whole() {
        for doc in [&b"5"[..], b"{\"other\": 1}", b"{", b""] {
            let mut sink = Collect::default();
            assert!(matches!(
                parse_json(&mut &doc[..], &mut sink),
                Err(ParseError::Input(_))
            ));
        }
    }
}
