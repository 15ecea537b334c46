//! OTLP/JSON traces: one `TracesData` (`ExportTraceServiceRequest`) document per file, or one
//! per line (JSONL, as the collector's file exporter writes).
//!
//! Follows the OTLP/JSON encoding: lowerCamelCase keys (snake_case accepted too), hex ids,
//! 64-bit integers as strings or numbers, unknown fields ignored.

use std::io::BufRead;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::normalize::normalize;
use super::{ParseError, RawSpan, Rejection, Sink};
use crate::model::SpanEvent;

#[derive(Deserialize)]
struct TracesData {
    #[serde(default, rename = "resourceSpans", alias = "resource_spans")]
    resource_spans: Option<Vec<ResourceSpans>>,
}

#[derive(Deserialize)]
struct ResourceSpans {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default, rename = "scopeSpans", alias = "scope_spans")]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct ScopeSpans {
    #[serde(default)]
    spans: Vec<OtlpSpan>,
}

#[derive(Deserialize)]
struct OtlpSpan {
    #[serde(default, rename = "traceId", alias = "trace_id")]
    trace_id: Option<String>,
    #[serde(default, rename = "spanId", alias = "span_id")]
    span_id: Option<String>,
    #[serde(default, rename = "parentSpanId", alias = "parent_span_id")]
    parent_span_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "startTimeUnixNano", alias = "start_time_unix_nano")]
    start_time: Option<Value>,
    #[serde(default, rename = "endTimeUnixNano", alias = "end_time_unix_nano")]
    end_time: Option<Value>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default, rename = "timeUnixNano", alias = "time_unix_nano")]
    time: Option<Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct KeyValue {
    key: String,
    #[serde(default)]
    value: Option<AnyValue>,
}

/// An OTLP `AnyValue`, deserialised straight into plain JSON (`{"stringValue": "a"}` -> `"a"`,
/// `{"intValue": "7"}` -> `7`, arrays and key-value lists likewise), with no intermediate object.
pub(super) struct AnyValue(pub(super) Value);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum AnyValueField {
    #[serde(alias = "string_value")]
    StringValue,
    #[serde(alias = "bool_value")]
    BoolValue,
    #[serde(alias = "int_value")]
    IntValue,
    #[serde(alias = "double_value")]
    DoubleValue,
    #[serde(alias = "array_value")]
    ArrayValue,
    #[serde(alias = "kvlist_value")]
    KvlistValue,
    #[serde(alias = "bytes_value")]
    BytesValue,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ArrayValue {
    #[serde(default)]
    values: Vec<AnyValue>,
}

#[derive(Deserialize)]
struct KeyValueList {
    #[serde(default)]
    values: Vec<KeyValue>,
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = AnyValue;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an OTLP AnyValue object")
            }

            fn visit_unit<E>(self) -> Result<AnyValue, E> {
                Ok(AnyValue(Value::Null))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<AnyValue, A::Error> {
                let mut out = Value::Null;
                while let Some(field) = map.next_key::<AnyValueField>()? {
                    out = match field {
                        AnyValueField::StringValue => Value::String(map.next_value()?),
                        AnyValueField::BoolValue => Value::Bool(map.next_value()?),
                        AnyValueField::IntValue => {
                            let v: Value = map.next_value()?;
                            int64(&v).map(Value::from).unwrap_or(v)
                        }
                        AnyValueField::DoubleValue | AnyValueField::BytesValue => {
                            map.next_value()?
                        }
                        AnyValueField::ArrayValue => {
                            let a: ArrayValue = map.next_value()?;
                            Value::Array(a.values.into_iter().map(|v| v.0).collect())
                        }
                        AnyValueField::KvlistValue => {
                            let l: KeyValueList = map.next_value()?;
                            Value::Object(
                                l.values
                                    .into_iter()
                                    .map(|kv| {
                                        (kv.key, kv.value.map(|v| v.0).unwrap_or(Value::Null))
                                    })
                                    .collect(),
                            )
                        }
                        AnyValueField::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            continue;
                        }
                    };
                }
                Ok(AnyValue(out))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A document that is JSON but not OTLP traces.
pub(super) const NOT_OTLP: &str = "not an OTLP traces document (no \"resourceSpans\")";

/// Whether the input looks like OTLP/JSON traces.
pub(super) fn sniff(head: &[u8]) -> bool {
    head.first() == Some(&b'{')
        && (contains(head, b"\"resourceSpans\"") || contains(head, b"\"resource_spans\""))
}

/// Whether the first line is a complete JSON value and more lines follow (JSON lines).
pub(super) fn first_line_is_whole_document(head: &[u8]) -> bool {
    let Some(end) = head.iter().position(|&b| b == b'\n') else {
        return false;
    };
    head[end..].iter().any(|b| !b.is_ascii_whitespace())
        && serde_json::from_slice::<serde::de::IgnoredAny>(&head[..end]).is_ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One document, or JSON lines whose first line was longer than detection could see: the first
/// line is read whole (up to `whole_up_to` bytes; the importers use
/// [`WHOLE_UP_TO`](super::WHOLE_UP_TO)); when it is a complete document and more follows, the
/// input is lines. A document over that size is parsed as it streams (see [`stream_document`]).
pub(super) fn parse_document_reader_up_to(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
    whole_up_to: u64,
) -> Result<(), ParseError> {
    match super::lines_or_document(reader, whole_up_to)? {
        super::JsonInput::Lines(first) => {
            sink.found_format(super::Format::OtlpJsonl);
            super::request_log::lines(Some(&first), reader, |n, line| parse_line(line, n, sink))
        }
        super::JsonInput::Document(super::Document::Whole(bytes)) => {
            parse_document(&bytes, "", sink)
        }
        super::JsonInput::Document(super::Document::Streamed(input)) => {
            sink.write_in_batches();
            stream_document(input, sink)
        }
    }
}

/// Parses a document too large to hold, span by span as it is read: each span's JSON is taken
/// whole (so a wrongly typed field rejects that span only, by its path) and normalised at once.
/// A syntax error part-way is reported as a rejection at its line and column, after the spans
/// before it; with no span before it, the document fails as a whole.
fn stream_document(input: impl std::io::Read, sink: &mut dyn Sink) -> Result<(), ParseError> {
    let mut stream = Stream {
        sink,
        store_error: None,
        spans: 0,
    };
    let mut de = serde_json::Deserializer::from_reader(input);
    let parsed = DocumentSeed(&mut stream)
        .deserialize(&mut de)
        .and_then(|found| de.end().map(|()| found));
    if let Some(e) = stream.store_error.take() {
        return Err(ParseError::Store(e));
    }
    match parsed {
        Ok(false) => Err(ParseError::Input(NOT_OTLP.to_owned())),
        parsed => super::json_records::end_of_stream(
            parsed.map(drop),
            stream.spans,
            stream.sink,
            "document",
        ),
    }
}

/// What [`stream_document`]'s visitors share.
struct Stream<'a> {
    sink: &'a mut dyn Sink,
    /// Set when the store failed: the parse stops and this is the import's error.
    store_error: Option<crate::error::Error>,
    /// Span records met so far (imported or rejected).
    spans: u64,
}

impl Stream<'_> {
    /// One span's JSON at `resourceSpans[ri].scopeSpans[si].spans[pi]`.
    fn span(
        &mut self,
        json: &str,
        at: (usize, usize, usize),
        resource: &Arc<Map<String, Value>>,
    ) -> Result<(), ()> {
        self.spans += 1;
        let (ri, si, pi) = at;
        let location = || format!("resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]");
        let written = match super::from_json::<OtlpSpan>(json.as_bytes()) {
            Ok(span) => write_span(span, resource, location, &mut *self.sink),
            Err(ParseError::Input(message)) => {
                self.sink.reject(Rejection {
                    location: location(),
                    field: None,
                    message,
                });
                Ok(())
            }
            Err(ParseError::Store(e)) => Err(e),
        };
        written.map_err(|e| self.store_error = Some(e))
    }
}

/// The message of the error that stops a streamed parse when the store failed.
const STORE_FAILED: &str = "the store failed";

/// `TracesData`: its `resourceSpans`, one at a time. The value says whether it had them.
struct DocumentSeed<'s, 'a>(&'s mut Stream<'a>);

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an OTLP TracesData object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "resourceSpans" || key == "resource_spans" {
                map.next_value_seed(ResourceListSeed(&mut *self.0))?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

struct ResourceListSeed<'s, 'a>(&'s mut Stream<'a>);

impl<'de> DeserializeSeed<'de> for ResourceListSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResourceListSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of ResourceSpans")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut ri = 0;
        while seq
            .next_element_seed(ResourceSeed {
                stream: &mut *self.0,
                ri,
            })?
            .is_some()
        {
            ri += 1;
        }
        Ok(())
    }
}

/// One `ResourceSpans`. Its resource comes first in what OTLP encoders write; scope spans met
/// before it are held (as JSON text) until the resource is known.
struct ResourceSeed<'s, 'a> {
    stream: &'s mut Stream<'a>,
    ri: usize,
}

impl<'de> DeserializeSeed<'de> for ResourceSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResourceSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a ResourceSpans object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut resource: Option<Arc<Map<String, Value>>> = None;
        let mut early: Option<Box<serde_json::value::RawValue>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resource" => {
                    let r: Option<Resource> = map.next_value()?;
                    resource = Some(Arc::new(
                        r.map(|r| attributes_to_map(r.attributes))
                            .unwrap_or_default(),
                    ));
                }
                "scopeSpans" | "scope_spans" => match &resource {
                    Some(resource) => map.next_value_seed(ScopeListSeed {
                        stream: &mut *self.stream,
                        ri: self.ri,
                        resource,
                    })?,
                    None => early = Some(map.next_value()?),
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(early) = early {
            let resource = resource.unwrap_or_default();
            let mut de = serde_json::Deserializer::from_str(early.get());
            ScopeListSeed {
                stream: &mut *self.stream,
                ri: self.ri,
                resource: &resource,
            }
            .deserialize(&mut de)
            .map_err(serde::de::Error::custom)?;
        }
        Ok(())
    }
}

struct ScopeListSeed<'s, 'a, 'r> {
    stream: &'s mut Stream<'a>,
    ri: usize,
    resource: &'r Arc<Map<String, Value>>,
}

impl<'de> DeserializeSeed<'de> for ScopeListSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ScopeListSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of ScopeSpans")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut si = 0;
        while seq
            .next_element_seed(ScopeSeed {
                stream: &mut *self.stream,
                at: (self.ri, si),
                resource: self.resource,
            })?
            .is_some()
        {
            si += 1;
        }
        Ok(())
    }
}

/// One `ScopeSpans`: its spans, one at a time.
struct ScopeSeed<'s, 'a, 'r> {
    stream: &'s mut Stream<'a>,
    at: (usize, usize),
    resource: &'r Arc<Map<String, Value>>,
}

impl<'de> DeserializeSeed<'de> for ScopeSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ScopeSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a ScopeSpans object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "spans" {
                map.next_value_seed(SpanListSeed {
                    stream: &mut *self.stream,
                    at: self.at,
                    resource: self.resource,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct SpanListSeed<'s, 'a, 'r> {
    stream: &'s mut Stream<'a>,
    at: (usize, usize),
    resource: &'r Arc<Map<String, Value>>,
}

impl<'de> DeserializeSeed<'de> for SpanListSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SpanListSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of spans")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (ri, si) = self.at;
        let mut pi = 0;
        while let Some(json) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
            self.stream
                .span(json.get(), (ri, si, pi), self.resource)
                .map_err(|()| serde::de::Error::custom(STORE_FAILED))?;
            pi += 1;
        }
        Ok(())
    }
}

/// One document per line; a line that is not a valid document is rejected by its number.
pub(super) fn parse_lines(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    super::request_log::lines(None, reader, |n, line| parse_line(line, n, sink))
}

fn parse_line(line: &[u8], number: u64, sink: &mut dyn Sink) -> Result<(), ParseError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let prefix = format!("line {number}: ");
    match parse_document(line, &prefix, sink) {
        Ok(()) => Ok(()),
        Err(ParseError::Input(message)) => {
            sink.reject(Rejection {
                location: format!("line {number}"),
                field: None,
                message,
            });
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Parses one OTLP/JSON document. `Err(Input)` means the document as a whole is unusable (its
/// message names the path of the bad field); bad spans inside a good document are rejected.
pub(super) fn parse_document(
    bytes: &[u8],
    location_prefix: &str,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    let doc: TracesData = super::from_json(bytes)?;
    let resource_spans = doc
        .resource_spans
        .ok_or_else(|| ParseError::Input(NOT_OTLP.to_owned()))?;
    for (ri, rs) in resource_spans.into_iter().enumerate() {
        let resource: Arc<Map<String, Value>> = Arc::new(
            rs.resource
                .map(|r| attributes_to_map(r.attributes))
                .unwrap_or_default(),
        );
        for (si, ss) in rs.scope_spans.into_iter().enumerate() {
            for (pi, span) in ss.spans.into_iter().enumerate() {
                let location =
                    || format!("{location_prefix}resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]");
                write_span(span, &resource, location, sink)?;
            }
        }
    }
    Ok(())
}

/// Hands one span of `resource` to `sink` normalised, or rejects it at the place `location`
/// names (only built for a rejection: this runs for every span).
fn write_span(
    span: OtlpSpan,
    resource: &Arc<Map<String, Value>>,
    location: impl FnOnce() -> String,
    sink: &mut dyn Sink,
) -> crate::error::Result<()> {
    match convert_span(span, resource) {
        Ok(raw) => sink.span(normalize(raw)),
        Err((field, message)) => {
            sink.reject(Rejection {
                location: location(),
                field: Some(field.to_owned()),
                message,
            });
            Ok(())
        }
    }
}

fn convert_span(
    span: OtlpSpan,
    resource: &Arc<Map<String, Value>>,
) -> Result<RawSpan, (&'static str, String)> {
    let trace_id = normalize_id(span.trace_id.as_deref(), 16).map_err(|m| ("traceId", m))?;
    let span_id = normalize_id(span.span_id.as_deref(), 8).map_err(|m| ("spanId", m))?;
    let parent_span_id = match span.parent_span_id.as_deref() {
        None | Some("") => None,
        Some(p) => Some(normalize_id(Some(p), 8).map_err(|m| ("parentSpanId", m))?),
    };
    let start_ns = match span.start_time.as_ref().map(int64) {
        Some(Ok(v)) => v,
        Some(Err(m)) => return Err(("startTimeUnixNano", m)),
        None => return Err(("startTimeUnixNano", "missing".to_owned())),
    };
    let end_ns = match span.end_time.as_ref().map(int64) {
        // OTLP uses 0 for "not set"; keep the span as still open.
        Some(Ok(0)) | None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(m)) => return Err(("endTimeUnixNano", m)),
    };
    if let Some(end) = end_ns {
        if end < start_ns {
            return Err((
                "endTimeUnixNano",
                format!("end {end} is before start {start_ns}"),
            ));
        }
    }
    let (status_code, status_message) = match span.status {
        Some(s) => (
            match s.code.as_ref() {
                Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
                Some(Value::String(s)) => match s.as_str() {
                    "STATUS_CODE_OK" | "1" => 1,
                    "STATUS_CODE_ERROR" | "2" => 2,
                    _ => 0,
                },
                _ => 0,
            },
            s.message.filter(|m| !m.is_empty()),
        ),
        None => (0, None),
    };
    Ok(RawSpan {
        trace_id,
        span_id,
        parent_span_id,
        name: span.name.unwrap_or_default(),
        start_ns,
        end_ns,
        status_code,
        status_message,
        attributes: attributes_to_map(span.attributes),
        resource: resource.clone(),
        events: span
            .events
            .into_iter()
            .map(|e| SpanEvent {
                name: e.name.unwrap_or_default(),
                time_ns: e.time.as_ref().and_then(|t| int64(t).ok()).unwrap_or(0),
                attributes: attributes_to_map(e.attributes),
            })
            .collect(),
    })
}

/// Checks an id is hex of the right byte length (or empty/all zero -> missing), lowercased.
pub(super) fn normalize_id(id: Option<&str>, bytes: usize) -> Result<String, String> {
    let id = id.unwrap_or("");
    if id.is_empty() {
        return Err("missing".to_owned());
    }
    if id.len() != bytes * 2 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{id:?} is not {} hex digits", bytes * 2));
    }
    if id.bytes().all(|b| b == b'0') {
        return Err("is all zeros (invalid per OTLP)".to_owned());
    }
    Ok(id.to_ascii_lowercase())
}

/// An OTLP int64: a JSON string of digits or a JSON number.
pub(super) fn int64(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
            .ok_or_else(|| format!("{n} is not a 64-bit integer")),
        Value::String(s) => s
            .parse::<i64>()
            .map_err(|_| format!("{s:?} is not a 64-bit integer")),
        other => Err(format!("expected an integer, found {other}")),
    }
}

pub(super) fn attributes_to_map(attributes: Vec<KeyValue>) -> Map<String, Value> {
    attributes
        .into_iter()
        .map(|kv| (kv.key, kv.value.map(|v| v.0).unwrap_or(Value::Null)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int64_accepts_strings_and_numbers() {
        assert_eq!(
            int64(&Value::from("1795745521126627187")),
            Ok(1_795_745_521_126_627_187)
        );
        assert_eq!(
            int64(&serde_json::json!(1795745564835000000u64)),
            Ok(1_795_745_564_835_000_000)
        );
        assert!(int64(&Value::from("12x")).is_err());
    }

    #[test]
    fn ids_are_validated_and_lowercased() {
        assert_eq!(
            normalize_id(Some("ABCDEF0123456789"), 8).as_deref(),
            Ok("abcdef0123456789")
        );
        assert!(normalize_id(Some("abc"), 8).is_err(), "too short");
        assert!(
            normalize_id(Some("0000000000000000"), 8).is_err(),
            "all-zero ids are invalid"
        );
        assert!(normalize_id(None, 16).is_err());
    }

    #[test]
    fn any_values_become_plain_json() {
        let any = |json: &str| serde_json::from_str::<AnyValue>(json).unwrap().0;
        assert_eq!(
            any(r#"{"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "7"}]}}"#),
            serde_json::json!(["a", 7])
        );
        assert_eq!(
            any(r#"{"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": true}}]}}"#),
            serde_json::json!({"k": true})
        );
        assert_eq!(
            any(r#"{"int_value": 12, "unknown": [1]}"#),
            serde_json::json!(12),
            "snake_case and unknown fields"
        );
        assert_eq!(any(r#"{}"#), Value::Null);
    }

    #[derive(Default)]
    struct Collect {
        spans: Vec<crate::model::Span>,
        rejections: Vec<Rejection>,
        in_batches: bool,
    }

    impl Sink for Collect {
        fn span(&mut self, span: crate::model::Span) -> crate::Result<()> {
            self.spans.push(span);
            Ok(())
        }
        fn reject(&mut self, rejection: Rejection) {
            self.rejections.push(rejection);
        }
        fn write_in_batches(&mut self) {
            self.in_batches = true;
        }
    }

    /// Parses `doc` as a document reader would, streaming it when it is over `whole_up_to`.
    fn read(doc: &[u8], whole_up_to: u64) -> (Collect, Result<(), ParseError>) {
        let mut sink = Collect::default();
        let mut reader = std::io::BufReader::with_capacity(16, doc);
        let result = parse_document_reader_up_to(&mut reader, &mut sink, whole_up_to);
        (sink, result)
    }

    const STREAMED: &[u8] = br#"{"resourceSpans":[
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
         "scopeSpans":[{"scope":{"name":"x"},"spans":[
            {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"root","startTimeUnixNano":"1","endTimeUnixNano":"9"},
            {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203332","parentSpanId":"b7ad6b7169203331","name":5,"startTimeUnixNano":"2"},
            {"traceId":"0af7651916cd43dd8448eb211c80319c","name":"no span id","startTimeUnixNano":"1"}
         ]}]},
        {"scopeSpans":[{"spans":[
            {"traceId":"1af7651916cd43dd8448eb211c80319c","spanId":"c7ad6b7169203331","name":"other","startTimeUnixNano":"3","endTimeUnixNano":"4"}
         ]}],
         "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"worker"}}]},
         "schemaUrl":"https://opentelemetry.io/schemas/1.26.0"}
    ], "unknown": {"a": [1, 2]}}"#;

    #[test]
    fn a_document_over_the_size_read_whole_is_parsed_span_by_span() {
        let (whole, result) = read(STREAMED, u64::MAX);
        assert!(
            matches!(result, Err(ParseError::Input(ref m)) if m.contains("name")),
            "read whole, a wrongly typed field fails the document"
        );
        assert!(!whole.in_batches && whole.spans.is_empty());

        let (streamed, result) = read(STREAMED, 64);
        result.unwrap();
        assert!(
            streamed.in_batches,
            "the writer is told to commit as it goes"
        );
        let spans: Vec<(&str, Option<&str>)> = streamed
            .spans
            .iter()
            .map(|s| (s.name.as_str(), s.service.as_deref()))
            .collect();
        // The second resource comes after its scope spans: they still get its service.
        assert_eq!(spans, [("root", Some("api")), ("other", Some("worker"))]);
        let rejected: Vec<(&str, Option<&str>)> = streamed
            .rejections
            .iter()
            .map(|r| (r.location.as_str(), r.field.as_deref()))
            .collect();
        assert_eq!(
            rejected,
            [
                ("resourceSpans[0].scopeSpans[0].spans[1]", None),
                ("resourceSpans[0].scopeSpans[0].spans[2]", Some("spanId")),
            ]
        );
        assert!(
            streamed.rejections[0]
                .message
                .starts_with("name: invalid type"),
            "{}",
            streamed.rejections[0].message
        );
    }

    #[test]
    fn a_streamed_document_cut_short_keeps_the_spans_before_the_cut() {
        let cut = &STREAMED[..STREAMED.len() - 200];
        let (sink, result) = read(cut, 64);
        result.unwrap();
        assert_eq!(sink.spans.len(), 1, "the spans before the cut");
        let last = sink.rejections.last().unwrap();
        assert!(last.location.starts_with("line "), "{}", last.location);
        assert!(
            last.message
                .ends_with("the rest of the document was not read"),
            "{}",
            last.message
        );
        // Broken before any span: the document fails as a whole, as when read whole.
        let (sink, result) = read(&STREAMED[..120], 64);
        assert!(matches!(result, Err(ParseError::Input(_))), "{result:?}");
        assert!(sink.spans.is_empty() && sink.rejections.is_empty());
        let (_, result) = read(
            br#"{"resourceSpanz": [], "more": "....................."}"#,
            8,
        );
        assert!(
            matches!(result, Err(ParseError::Input(ref m)) if m == NOT_OTLP),
            "{result:?}"
        );
    }

    #[test]
    fn a_span_without_ids_is_rejected_and_the_rest_kept() {
        let doc = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[
            {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"},
            {"traceId":"0af7651916cd43dd8448eb211c80319c","name":"no span id","startTimeUnixNano":"1"},
            {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203332","name":"backwards","startTimeUnixNano":"5","endTimeUnixNano":"2"}
        ]}]}]}"#;
        let mut sink = Collect::default();
        parse_document(doc, "", &mut sink).unwrap();
        assert_eq!(sink.spans.len(), 1);
        assert_eq!(sink.spans[0].name, "ok");
        assert_eq!(sink.rejections.len(), 2);
        assert_eq!(
            sink.rejections[0].location,
            "resourceSpans[0].scopeSpans[0].spans[1]"
        );
        assert_eq!(sink.rejections[0].field.as_deref(), Some("spanId"));
        assert_eq!(sink.rejections[1].field.as_deref(), Some("endTimeUnixNano"));
    }

    #[test]
    fn a_bad_field_type_names_its_path() {
        let doc = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name": 5}]}]}]}"#;
        let Err(ParseError::Input(err)) = parse_document(doc, "", &mut Collect::default()) else {
            panic!("a wrongly typed field fails the document");
        };
        assert!(
            err.starts_with("resourceSpans[0].scopeSpans[0].spans[0].name:"),
            "{err}"
        );
    }
}
