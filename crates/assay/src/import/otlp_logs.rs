//! OTLP logs (JSON here, protobuf in [`super::otlp_proto`]) carrying GenAI content: `gen_ai.client.inference.operation.details` records
//! (the current OpenTelemetry GenAI conventions put a call's messages there when they are not on
//! the span). Each record with a span context becomes a partial span that the store merges into
//! the span it belongs to, whether the traces are imported before or after the logs.
//!
//! The older conventions send one record per message (`gen_ai.system.message`,
//! `gen_ai.user.message`, `gen_ai.choice`, ...): the records of one span in a document are
//! gathered into one partial span, events in time order, so every message is kept.

use std::io::BufRead;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::normalize::normalize;
use super::otlp_json::{attributes_to_map, int64, normalize_id, KeyValue};
use super::{ParseError, RawSpan, Rejection, Sink};
use crate::model::SpanEvent;

#[derive(Deserialize)]
struct LogsData {
    #[serde(default, rename = "resourceLogs", alias = "resource_logs")]
    resource_logs: Option<Vec<ResourceLogs>>,
}

#[derive(Deserialize)]
struct ResourceLogs {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default, rename = "scopeLogs", alias = "scope_logs")]
    scope_logs: Vec<ScopeLogs>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct ScopeLogs {
    #[serde(default, rename = "logRecords", alias = "log_records")]
    log_records: Vec<LogRecord>,
}

#[derive(Deserialize)]
struct LogRecord {
    #[serde(default, rename = "traceId", alias = "trace_id")]
    trace_id: Option<String>,
    #[serde(default, rename = "spanId", alias = "span_id")]
    span_id: Option<String>,
    #[serde(default, rename = "timeUnixNano", alias = "time_unix_nano")]
    time: Option<Value>,
    #[serde(
        default,
        rename = "observedTimeUnixNano",
        alias = "observed_time_unix_nano"
    )]
    observed_time: Option<Value>,
    #[serde(default, rename = "eventName", alias = "event_name")]
    event_name: Option<String>,
    #[serde(default)]
    body: Option<super::otlp_json::AnyValue>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

/// Whether the input looks like OTLP/JSON logs.
pub(super) fn sniff(head: &[u8]) -> bool {
    head.first() == Some(&b'{')
        && head
            .windows(b"\"resourceLogs\"".len())
            .any(|w| w == b"\"resourceLogs\"")
}

/// One logs document, or one per line (the collector's file exporter). The records of the whole
/// input are gathered before any is written, so the messages of one span are kept together
/// wherever they are in the file.
pub(super) fn parse_document_reader(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    let mut gathered = Gathered::default();
    match super::lines_or_document(reader, u64::MAX)? {
        super::JsonInput::Lines(first) => {
            super::request_log::lines(Some(&first), reader, |n, line| {
                let at = format!("line {n}");
                match super::from_json::<LogsData>(line) {
                    Ok(LogsData {
                        resource_logs: Some(resource_logs),
                    }) => gather(resource_logs, &format!("{at}: "), &mut gathered, sink),
                    Ok(_) => sink.reject(Rejection {
                        location: at,
                        field: Some("resourceLogs".to_owned()),
                        message: "missing: not an OTLP logs document".to_owned(),
                    }),
                    Err(ParseError::Input(message)) => sink.reject(Rejection {
                        location: at,
                        field: None,
                        message,
                    }),
                    Err(e) => return Err(e),
                }
                Ok(())
            })?;
        }
        super::JsonInput::Document(document) => {
            let bytes = match document {
                super::Document::Whole(bytes) => bytes,
                super::Document::Streamed(mut rest) => super::read_all(&mut rest)?,
            };
            let doc: LogsData = super::from_json(&bytes)?;
            let resource_logs = doc.resource_logs.ok_or_else(|| {
                ParseError::Input("not an OTLP logs document (no \"resourceLogs\")".into())
            })?;
            gather(resource_logs, "", &mut gathered, sink);
        }
    }
    gathered.emit(sink)
}

/// Gathers the records of one `LogsData`, rejecting bad ones at `resourceLogs[..]...` after
/// `prefix`.
fn gather(
    resource_logs: Vec<ResourceLogs>,
    prefix: &str,
    gathered: &mut Gathered,
    sink: &mut dyn Sink,
) {
    for (ri, rl) in resource_logs.into_iter().enumerate() {
        let resource: Arc<Map<String, Value>> = Arc::new(
            rl.resource
                .map(|r| attributes_to_map(r.attributes))
                .unwrap_or_default(),
        );
        for (si, sl) in rl.scope_logs.into_iter().enumerate() {
            for (li, record) in sl.log_records.into_iter().enumerate() {
                let record = Record {
                    trace_id: record.trace_id,
                    span_id: record.span_id,
                    time: record.time.as_ref().and_then(|t| int64(t).ok()),
                    observed_time: record.observed_time.as_ref().and_then(|t| int64(t).ok()),
                    event_name: record.event_name,
                    body: record.body.map(|b| b.0),
                    attributes: attributes_to_map(record.attributes),
                };
                match convert(record, &resource) {
                    Ok(raw) => gathered.add(raw),
                    Err((field, message)) => sink.reject(Rejection {
                        location: format!(
                            "{prefix}resourceLogs[{ri}].scopeLogs[{si}].logRecords[{li}]"
                        ),
                        field: Some(field.to_owned()),
                        message,
                    }),
                }
            }
        }
    }
}

/// One log record, as either encoding carries it (ids as hex).
pub(super) struct Record {
    pub(super) trace_id: Option<String>,
    pub(super) span_id: Option<String>,
    pub(super) time: Option<i64>,
    pub(super) observed_time: Option<i64>,
    pub(super) event_name: Option<String>,
    pub(super) body: Option<Value>,
    pub(super) attributes: Map<String, Value>,
}

/// The partial spans of one document in first-seen order, one per (trace id, span id).
#[derive(Default)]
pub(super) struct Gathered {
    spans: Vec<RawSpan>,
    index: std::collections::HashMap<(String, String), usize>,
}

impl Gathered {
    pub(super) fn add(&mut self, raw: RawSpan) {
        let key = (raw.trace_id.clone(), raw.span_id.clone());
        match self.index.get(&key) {
            Some(&i) => merge_record(&mut self.spans[i], raw),
            None => {
                self.index.insert(key, self.spans.len());
                self.spans.push(raw);
            }
        }
    }

    /// Hands every partial span on, its events in time order.
    pub(super) fn emit(self, sink: &mut dyn Sink) -> Result<(), ParseError> {
        for mut raw in self.spans {
            raw.events.sort_by_key(|e| e.time_ns);
            sink.span(normalize(raw))?;
        }
        Ok(())
    }
}

/// Adds a later record of the same span: its events, and its attributes over earlier ones.
fn merge_record(into: &mut RawSpan, record: RawSpan) {
    into.start_ns = into.start_ns.min(record.start_ns);
    into.events.extend(record.events);
    into.attributes.extend(record.attributes);
}

/// A log record as a partial span: no name (the store then keeps the span's own name and start),
/// the record's attributes, and its body as an event.
pub(super) fn convert(
    record: Record,
    resource: &Arc<Map<String, Value>>,
) -> Result<RawSpan, (&'static str, String)> {
    let trace_id = normalize_id(record.trace_id.as_deref(), 16).map_err(|m| {
        (
            "traceId",
            format!("{m}: a log record is attached to a span by its trace and span id"),
        )
    })?;
    let span_id = normalize_id(record.span_id.as_deref(), 8).map_err(|m| ("spanId", m))?;
    let time = record
        .time
        .filter(|&t| t > 0)
        .or(record.observed_time.filter(|&t| t > 0))
        .ok_or(("timeUnixNano", "missing".to_owned()))?;
    let mut attributes = record.attributes;
    let mut events = Vec::new();
    let name = record.event_name.unwrap_or_default();
    if let Some(body) = record.body {
        if let Value::Object(body) = body {
            if !body.is_empty() {
                events.push(SpanEvent {
                    name: name.clone(),
                    time_ns: time,
                    attributes: body,
                });
            }
        } else if !body.is_null() {
            attributes.insert("log.body".into(), body);
        }
    }
    Ok(RawSpan {
        trace_id,
        span_id,
        parent_span_id: None,
        name: String::new(),
        start_ns: time,
        end_ns: None,
        status_code: 0,
        status_message: None,
        attributes,
        resource: resource.clone(),
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<crate::model::Span>, Vec<Rejection>);

    impl Sink for Collect {
        fn span(&mut self, span: crate::model::Span) -> crate::Result<()> {
            self.0.push(span);
            Ok(())
        }
        fn reject(&mut self, rejection: Rejection) {
            self.1.push(rejection);
        }
    }

    /// One span's three per-message records, out of order on purpose: records arrive as the
    /// exporter batches them.
    fn per_message_records() -> [String; 3] {
        let record = |name: &str, time: u64, body: &str| {
            format!(
                r#"{{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                   "timeUnixNano": "{time}", "eventName": "{name}", "body": {body}}}"#
            )
        };
        [
            record(
                "gen_ai.user.message",
                2000,
                r#"{"kvlistValue": {"values": [{"key": "content", "value": {"stringValue": "What is the weather in Paris?"}}]}}"#,
            ),
            record(
                "gen_ai.system.message",
                1000,
                r#"{"kvlistValue": {"values": [{"key": "content", "value": {"stringValue": "You are terse."}}]}}"#,
            ),
            record(
                "gen_ai.choice",
                3000,
                r#"{"kvlistValue": {"values": [{"key": "message", "value": {"kvlistValue": {"values": [{"key": "role", "value": {"stringValue": "assistant"}}, {"key": "content", "value": {"stringValue": "Sunny."}}]}}}, {"key": "index", "value": {"intValue": "0"}}]}}"#,
            ),
        ]
    }

    fn logs_data(records: &[String]) -> String {
        format!(
            r#"{{"resourceLogs": [{{"scopeLogs": [{{"logRecords": [{}]}}]}}]}}"#,
            records.join(", ")
        )
    }

    /// The one partial span the records make, its messages in time order.
    fn check_gathered(spans: &[crate::model::Span]) {
        assert_eq!(spans.len(), 1, "one partial span for the three records");
        let p = &spans[0].payload;
        let inputs: Vec<(&str, Option<&str>)> = p
            .input_messages
            .iter()
            .map(|m| (m.role.as_str(), m.content.as_deref()))
            .collect();
        assert_eq!(
            inputs,
            vec![
                ("system", Some("You are terse.")),
                ("user", Some("What is the weather in Paris?"))
            ]
        );
        assert_eq!(p.output_messages.len(), 1);
        assert_eq!(p.output_messages[0].content.as_deref(), Some("Sunny."));
        assert_eq!(spans[0].start_ns, 1000);
    }

    #[test]
    fn per_message_records_of_one_span_keep_every_message_in_order() {
        let doc = logs_data(&per_message_records());
        let mut sink = Collect::default();
        parse_document_reader(&mut doc.as_bytes(), &mut sink).unwrap();
        check_gathered(&sink.0);
        assert!(sink.1.is_empty());
    }

    #[test]
    fn logs_as_json_lines_are_gathered_across_lines() {
        // The collector's file exporter: one `LogsData` per line, one span's records in three.
        let [a, b, c] = per_message_records().map(|r| r.replace('\n', " "));
        let bad_record =
            r#"{"traceId": "zz", "spanId": "b7ad6b7169203331", "eventName": "gen_ai.choice"}"#;
        let lines = [
            logs_data(&[a]),
            "{\"resourceLogs\": [oops".to_owned(),
            logs_data(&[b, bad_record.to_owned()]),
            r#"{"resourceSpans": []}"#.to_owned(),
            String::new(),
            logs_data(&[c]),
        ];
        let mut sink = Collect::default();
        parse_document_reader(&mut lines.join("\n").as_bytes(), &mut sink).unwrap();
        check_gathered(&sink.0);
        let rejected: Vec<(&str, Option<&str>)> = sink
            .1
            .iter()
            .map(|r| (r.location.as_str(), r.field.as_deref()))
            .collect();
        assert_eq!(
            rejected,
            vec![
                ("line 2", None),
                (
                    "line 3: resourceLogs[0].scopeLogs[0].logRecords[1]",
                    Some("traceId")
                ),
                ("line 4", Some("resourceLogs")),
            ]
        );
    }
}
