//! OTLP binary protobuf traces: one `TracesData` message (the body of an OTLP/HTTP
//! `ExportTraceServiceRequest`), or a stream of messages each preceded by its varint length; and
//! one `LogsData` message of GenAI log records (`logs/v1`), read as [`super::otlp_logs`] reads
//! the JSON encoding.
//!
//! A hand-written decoder for the few messages OTLP traces use (opentelemetry-proto `trace/v1`
//! and `common/v1`). It reads straight from the message bytes, allocating only the strings a
//! [`RawSpan`] keeps, and produces exactly what the OTLP/JSON importer produces for the same data:
//! ids as lowercase hex, attribute values as plain JSON, `bytes_value` as standard base64 with
//! padding (what the protobuf JSON mapping writes), non-finite doubles as `"NaN"`, `"Infinity"`
//! and `"-Infinity"` (likewise).
//!
//! Errors are kept as local as the framing allows. A message whose framing (the lengths of its
//! `ResourceSpans`, `ScopeSpans` and `Span`s) is broken is unusable as a whole; it is checked
//! before anything is emitted, so a broken message adds nothing. Anything wrong inside one span
//! (or inside its resource) rejects that span, naming the byte offset.

use std::io::{BufRead, Read};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::normalize::normalize;
use super::{io_message, Format, ParseError, RawSpan, Rejection, Sink};
use crate::model::SpanEvent;

/// The largest message protobuf allows (2 GiB - 1); a longer length prefix is garbage.
const MAX_MESSAGE: u64 = i32::MAX as u64;

/// How deeply array and key-value-list values may nest. Deeper input is refused rather than
/// risking the stack on hostile data.
const MAX_DEPTH: usize = 64;

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

// ------------------------------------------------------------------------------------------------
// Detection
// ------------------------------------------------------------------------------------------------

/// Recognises binary OTLP traces by structure (protobuf has no magic number).
///
/// The first message's fields are walked against the trace schema as deep as `head` reaches:
/// every tag, wire type, length and string must be well-formed, ids must have their sizes, and
/// at least one complete attribute or span must be seen. A message longer than `head` is accepted
/// when all of it that fits is well-formed.
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    if looks_like_message(head) {
        Some(Format::OtlpProto)
    } else if looks_like_stream(head) {
        Some(Format::OtlpProtoStream)
    } else if looks_like_logs(head) {
        Some(Format::OtlpLogsProto)
    } else {
        None
    }
}

/// One `LogsData`: it starts as a `TracesData` does (its first field is a message whose first
/// field is a message), so its log records tell it apart.
fn looks_like_logs(head: &[u8]) -> bool {
    let mut evidence = 0;
    starts_like_traces_data(head, 0)
        && walk(head, 0, usize::MAX, &LOGS_DATA, 0, &mut evidence)
        && evidence > 0
}

/// One `TracesData`: field 1 (`resource_spans`) over and over, from the first byte.
fn looks_like_message(head: &[u8]) -> bool {
    let mut evidence = 0;
    starts_like_traces_data(head, 0)
        // The input's end is unknown: whatever is past `head` may complete the last field.
        && walk(head, 0, usize::MAX, &TRACES_DATA, 0, &mut evidence)
        && evidence > 0
}

/// Length-prefixed `TracesData` messages: every frame that starts within `head` must check out.
fn looks_like_stream(head: &[u8]) -> bool {
    let mut pos = 0;
    let mut frames = 0;
    let mut evidence = 0;
    while pos < head.len() {
        let (len, start) = match varint_at(head, pos) {
            Scan::Ok(len, next) => (len, next),
            // The next prefix is cut off by the end of `head`.
            Scan::Short => break,
            Scan::Bad => return false,
        };
        if len > MAX_MESSAGE || (frames == 0 && !starts_like_traces_data(head, start)) {
            return false;
        }
        let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
            return false;
        };
        if !walk(head, start, end, &TRACES_DATA, 0, &mut evidence) {
            return false;
        }
        frames += 1;
        pos = end;
    }
    frames > 0 && evidence > 0
}

/// A `TracesData` starts with a `ResourceSpans` (tag 0x0a), and that with its resource (0x0a) or
/// its first `ScopeSpans` (0x12). Plain text almost never gets past this.
fn starts_like_traces_data(head: &[u8], pos: usize) -> bool {
    if head.get(pos) != Some(&0x0a) {
        return false;
    }
    match varint_at(head, pos + 1) {
        Scan::Ok(len, next) => len > 0 && matches!(head.get(next), Some(0x0a | 0x12)),
        Scan::Short | Scan::Bad => false,
    }
}

/// What a field holds, for detection.
#[derive(Clone, Copy)]
enum Shape {
    Varint,
    Fixed64,
    Fixed32,
    Bytes,
    /// A UTF-8 string.
    Str,
    /// Bytes that are empty or exactly this long (trace and span ids).
    Id(usize),
    Msg(&'static Schema),
}

impl Shape {
    fn wire(self) -> u8 {
        match self {
            Shape::Varint => VARINT,
            Shape::Fixed64 => FIXED64,
            Shape::Fixed32 => FIXED32,
            Shape::Bytes | Shape::Str | Shape::Id(_) | Shape::Msg(_) => LEN,
        }
    }
}

/// A message type's known fields.
struct Schema {
    fields: &'static [(u64, Shape)],
    /// Whether other field numbers may occur (newer versions of the schema add fields).
    open: bool,
    /// Whether a complete, non-empty one is evidence that the input is OTLP traces.
    evidence: bool,
}

static TRACES_DATA: Schema = Schema {
    fields: &[(1, Shape::Msg(&RESOURCE_SPANS))],
    open: false,
    evidence: false,
};
static RESOURCE_SPANS: Schema = Schema {
    fields: &[
        (1, Shape::Msg(&RESOURCE)),
        (2, Shape::Msg(&SCOPE_SPANS)),
        (3, Shape::Str),
    ],
    open: true,
    evidence: false,
};
static RESOURCE: Schema = Schema {
    fields: &[(1, Shape::Msg(&KEY_VALUE)), (2, Shape::Varint)],
    open: true,
    evidence: false,
};
static SCOPE_SPANS: Schema = Schema {
    fields: &[
        (1, Shape::Msg(&SCOPE)),
        (2, Shape::Msg(&SPAN)),
        (3, Shape::Str),
    ],
    open: true,
    evidence: false,
};
static SCOPE: Schema = Schema {
    fields: &[
        (1, Shape::Str),
        (2, Shape::Str),
        (3, Shape::Msg(&KEY_VALUE)),
        (4, Shape::Varint),
    ],
    open: true,
    evidence: false,
};
static SPAN: Schema = Schema {
    fields: &[
        (1, Shape::Id(16)),
        (2, Shape::Id(8)),
        (3, Shape::Str),
        (4, Shape::Id(8)),
        (5, Shape::Str),
        (6, Shape::Varint),
        (7, Shape::Fixed64),
        (8, Shape::Fixed64),
        (9, Shape::Msg(&KEY_VALUE)),
        (10, Shape::Varint),
        (11, Shape::Msg(&EVENT)),
        (12, Shape::Varint),
        (13, Shape::Msg(&LINK)),
        (14, Shape::Varint),
        (15, Shape::Msg(&STATUS)),
        (16, Shape::Fixed32),
    ],
    open: true,
    evidence: true,
};
static EVENT: Schema = Schema {
    fields: &[
        (1, Shape::Fixed64),
        (2, Shape::Str),
        (3, Shape::Msg(&KEY_VALUE)),
        (4, Shape::Varint),
    ],
    open: true,
    evidence: false,
};
static LINK: Schema = Schema {
    fields: &[
        (1, Shape::Id(16)),
        (2, Shape::Id(8)),
        (3, Shape::Str),
        (4, Shape::Msg(&KEY_VALUE)),
        (5, Shape::Varint),
        (6, Shape::Fixed32),
    ],
    open: true,
    evidence: false,
};
static STATUS: Schema = Schema {
    fields: &[(2, Shape::Str), (3, Shape::Varint)],
    open: true,
    evidence: false,
};
static LOGS_DATA: Schema = Schema {
    fields: &[(1, Shape::Msg(&RESOURCE_LOGS))],
    open: false,
    evidence: false,
};
static RESOURCE_LOGS: Schema = Schema {
    fields: &[
        (1, Shape::Msg(&RESOURCE)),
        (2, Shape::Msg(&SCOPE_LOGS)),
        (3, Shape::Str),
    ],
    open: true,
    evidence: false,
};
static SCOPE_LOGS: Schema = Schema {
    fields: &[
        (1, Shape::Msg(&SCOPE)),
        (2, Shape::Msg(&LOG_RECORD)),
        (3, Shape::Str),
    ],
    open: true,
    evidence: false,
};
static LOG_RECORD: Schema = Schema {
    fields: &[
        (1, Shape::Fixed64),
        (2, Shape::Varint),
        (3, Shape::Str),
        (5, Shape::Msg(&ANY_VALUE)),
        (6, Shape::Msg(&KEY_VALUE)),
        (7, Shape::Varint),
        (8, Shape::Fixed32),
        (9, Shape::Id(16)),
        (10, Shape::Id(8)),
        (11, Shape::Fixed64),
        (12, Shape::Str),
    ],
    open: true,
    evidence: true,
};
static KEY_VALUE: Schema = Schema {
    fields: &[(1, Shape::Str), (2, Shape::Msg(&ANY_VALUE))],
    open: true,
    evidence: true,
};
static ANY_VALUE: Schema = Schema {
    fields: &[
        (1, Shape::Str),
        (2, Shape::Varint),
        (3, Shape::Varint),
        (4, Shape::Fixed64),
        (5, Shape::Msg(&ARRAY_VALUE)),
        (6, Shape::Msg(&KEY_VALUE_LIST)),
        (7, Shape::Bytes),
    ],
    open: true,
    evidence: false,
};
static ARRAY_VALUE: Schema = Schema {
    fields: &[(1, Shape::Msg(&ANY_VALUE))],
    open: true,
    evidence: false,
};
static KEY_VALUE_LIST: Schema = Schema {
    fields: &[(1, Shape::Msg(&KEY_VALUE))],
    open: true,
    evidence: false,
};

/// A varint scanned in `head`.
enum Scan {
    /// The value and the position after it.
    Ok(u64, usize),
    /// `head` ends inside it.
    Short,
    /// Longer than 10 bytes or overflowing 64 bits.
    Bad,
}

fn varint_at(buf: &[u8], mut pos: usize) -> Scan {
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&b) = buf.get(pos) else {
            return Scan::Short;
        };
        pos += 1;
        if i == 9 && b > 1 {
            return Scan::Bad;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Scan::Ok(value, pos);
        }
    }
    Scan::Bad
}

/// Checks the fields in `head[pos..end]` against `schema`. `end` is where the message ends by
/// its declared length; when that is past the end of `head`, the part that fits is checked and
/// the rest taken on trust. Counts complete evidence messages in `evidence`.
fn walk(
    head: &[u8],
    mut pos: usize,
    end: usize,
    schema: &Schema,
    depth: usize,
    evidence: &mut usize,
) -> bool {
    let avail = end.min(head.len());
    // Whether `head` ends before the message does: running out of bytes is then no fault.
    let cut = end > head.len();
    while pos < avail {
        let (tag, next) = match varint_at(&head[..avail], pos) {
            Scan::Ok(tag, next) => (tag, next),
            Scan::Short => return cut,
            Scan::Bad => return false,
        };
        pos = next;
        let (number, wire) = (tag >> 3, (tag & 7) as u8);
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return false;
        }
        let shape = schema
            .fields
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, s)| *s);
        match shape {
            Some(shape) if shape.wire() != wire => return false,
            None if !schema.open => return false,
            _ => {}
        }
        match wire {
            VARINT => match varint_at(&head[..avail], pos) {
                Scan::Ok(_, next) => pos = next,
                Scan::Short => return cut,
                Scan::Bad => return false,
            },
            FIXED64 | FIXED32 => {
                let size = if wire == FIXED64 { 8 } else { 4 };
                match pos.checked_add(size) {
                    Some(next) if next <= avail => pos = next,
                    Some(next) if next <= end => return true,
                    _ => return false,
                }
            }
            LEN => {
                let (len, start) = match varint_at(&head[..avail], pos) {
                    Scan::Ok(len, next) => (len, next),
                    Scan::Short => return cut,
                    Scan::Bad => return false,
                };
                let Some(sub_end) = usize::try_from(len)
                    .ok()
                    .and_then(|l| start.checked_add(l))
                    .filter(|&e| e <= end)
                else {
                    return false;
                };
                let visible = &head[start..sub_end.min(head.len())];
                let ok = match shape {
                    Some(Shape::Str) => match std::str::from_utf8(visible) {
                        Ok(_) => true,
                        // A character cut in two by the end of `head` is fine.
                        Err(e) => e.error_len().is_none() && sub_end > head.len(),
                    },
                    Some(Shape::Id(n)) => len == 0 || len == n as u64,
                    Some(Shape::Msg(sub)) if depth < MAX_DEPTH => {
                        let complete = sub_end <= head.len();
                        let ok = walk(head, start, sub_end, sub, depth + 1, evidence);
                        if ok && complete && sub.evidence && len > 0 {
                            *evidence += 1;
                        }
                        ok
                    }
                    _ => true,
                };
                if !ok {
                    return false;
                }
                if sub_end > head.len() {
                    // Nothing after this field is visible.
                    return true;
                }
                pos = sub_end;
            }
            // Groups (3, 4) are not used by OTLP; 6 and 7 do not exist.
            _ => return false,
        }
    }
    true
}

// ------------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------------

/// One `TracesData` message. Up to `whole_up_to` bytes (the importers use
/// [`WHOLE_UP_TO`](super::WHOLE_UP_TO)) it is read whole, its framing checked before any span is
/// emitted, so a broken one adds nothing; a larger one is decoded as it streams (see
/// [`stream_message`]).
pub(super) fn parse_message_up_to(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
    whole_up_to: u64,
) -> Result<(), ParseError> {
    match super::whole_or_streamed(reader, Vec::new(), whole_up_to)? {
        super::Document::Whole(bytes) => match decode_message(&bytes, 0, "", sink) {
            Ok(()) => Ok(()),
            Err(Stop::Store(e)) => Err(ParseError::Store(e)),
            Err(Stop::Malformed(m)) => Err(ParseError::Input(m.to_string())),
        },
        super::Document::Streamed(input) => {
            sink.write_in_batches();
            stream_message(input, sink)
        }
    }
}

/// [`parse_message_up_to`] at the importers' threshold.
#[cfg(test)]
pub(super) fn parse_message(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    parse_message_up_to(reader, sink, super::WHOLE_UP_TO)
}

/// Decodes a `TracesData` too large to hold as it is read: each resource and each span is read
/// whole, one at a time, and decoded as [`decode_message`] decodes it, with the same locations
/// and byte offsets. Broken framing part-way is reported as a rejection at its byte offset,
/// after the spans before it; with no span before it, the message fails as a whole.
///
/// Encoders write a `ResourceSpans`' resource before its spans. When spans come first, they are
/// held until the resource arrives (or the `ResourceSpans` ends), so every span is decoded with
/// its resource, as in a message read whole.
fn stream_message(input: impl BufRead, sink: &mut dyn Sink) -> Result<(), ParseError> {
    let mut stream = Streamed {
        input,
        at: 0,
        buf: Vec::new(),
        sink: Counted { sink, spans: 0 },
    };
    match stream.traces_data() {
        Ok(()) => Ok(()),
        Err(Halt::Store(e)) => Err(ParseError::Store(e)),
        Err(Halt::Read(message)) if stream.sink.spans == 0 => Err(ParseError::Input(message)),
        Err(Halt::Malformed(m)) if stream.sink.spans == 0 => Err(ParseError::Input(m.to_string())),
        Err(halt) => {
            let (at, message) = match halt {
                Halt::Malformed(m) => (m.at, m.to_string()),
                Halt::Read(message) => (stream.at, message),
                Halt::Store(_) => unreachable!("returned above"),
            };
            stream.sink.reject(Rejection {
                location: format!("byte {at}"),
                field: None,
                message: format!("{message}; the rest of the message was not read"),
            });
            Ok(())
        }
    }
}

/// Why a streamed message stopped.
enum Halt {
    Malformed(Malformed),
    /// The input could not be read.
    Read(String),
    Store(crate::error::Error),
}

impl From<Malformed> for Halt {
    fn from(m: Malformed) -> Self {
        Halt::Malformed(m)
    }
}

impl From<Stop> for Halt {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Malformed(m) => Halt::Malformed(m),
            Stop::Store(e) => Halt::Store(e),
        }
    }
}

/// A sink that counts the span records (imported or rejected) handed to it.
struct Counted<'a> {
    sink: &'a mut dyn Sink,
    spans: u64,
}

impl Sink for Counted<'_> {
    fn span(&mut self, span: crate::model::Span) -> crate::Result<()> {
        self.spans += 1;
        self.sink.span(span)
    }
    fn reject(&mut self, rejection: Rejection) {
        self.spans += 1;
        self.sink.reject(rejection);
    }
}

/// A message's fields read from a stream, `at` bytes in. Each level of the message is read up to
/// its `end` offset (`u64::MAX` for the top level, which ends with the input).
struct Streamed<'a, R> {
    input: R,
    at: u64,
    /// The value last read whole (a resource or a span).
    buf: Vec<u8>,
    sink: Counted<'a>,
}

impl<R: BufRead> Streamed<'_, R> {
    fn malformed(&self, at: u64, what: &'static str) -> Halt {
        Halt::Malformed(Malformed { at, what })
    }

    /// The next byte, left in the input; `None` at its end.
    fn peek(&mut self) -> Result<Option<u8>, Halt> {
        loop {
            match self.input.fill_buf() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Halt::Read(io_message(&e))),
            }
        }
    }

    /// The next byte; `None` at the end of the input.
    fn byte(&mut self) -> Result<Option<u8>, Halt> {
        let b = self.peek()?;
        if b.is_some() {
            self.input.consume(1);
            self.at += 1;
        }
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Halt> {
        let start = self.at;
        let mut value = 0u64;
        for i in 0..10 {
            let Some(b) = self.byte()? else {
                return Err(self.malformed(start, "the input ends inside a message"));
            };
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(self.malformed(start, "a varint is longer than 10 bytes"))
    }

    /// The next field's number and wire type, and where its tag starts; `None` at `end`.
    fn tag(&mut self, end: u64) -> Result<Option<(u64, u8, u64)>, Halt> {
        let tag_at = self.at;
        if tag_at == end {
            return Ok(None);
        }
        if tag_at > end {
            return Err(self.malformed(tag_at, "a field runs past the end of its message"));
        }
        // Only the top level may end with the input.
        if end == u64::MAX && self.peek()?.is_none() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 {
            return Err(self.malformed(tag_at, "field number 0"));
        }
        match (tag & 7) as u8 {
            wire @ (VARINT | FIXED64 | LEN | FIXED32) => Ok(Some((number, wire, tag_at))),
            3 | 4 => Err(self.malformed(tag_at, "groups are not used by OTLP")),
            _ => Err(self.malformed(tag_at, "unknown wire type")),
        }
    }

    /// A length-delimited field's length, checked against its message's `end`.
    fn length(&mut self, end: u64) -> Result<u64, Halt> {
        let len_at = self.at;
        let len = self.varint()?;
        if self.at.checked_add(len).is_none_or(|e| e > end) {
            return Err(self.malformed(len_at, "a length runs past the end of its message"));
        }
        Ok(len)
    }

    /// Reads `len` bytes into `buf`; returns their offset.
    fn read(&mut self, len: u64) -> Result<u64, Halt> {
        let start = self.at;
        self.buf.clear();
        // Reserve what the length promises, within reason: a lying length must not allocate.
        self.buf.reserve(len.min(16 << 20) as usize);
        let got = Read::take(&mut self.input, len)
            .read_to_end(&mut self.buf)
            .map_err(|e| Halt::Read(io_message(&e)))? as u64;
        self.at += got;
        if got < len {
            return Err(self.malformed(self.at, "the input ends inside a message"));
        }
        Ok(start)
    }

    /// Skips a field of wire type `wire` inside a message ending at `end`.
    fn skip(&mut self, wire: u8, end: u64) -> Result<(), Halt> {
        let len = match wire {
            VARINT => return self.varint().map(drop),
            FIXED64 => 8,
            FIXED32 => 4,
            _ => self.length(end)?,
        };
        let skipped = std::io::copy(&mut Read::take(&mut self.input, len), &mut std::io::sink())
            .map_err(|e| Halt::Read(io_message(&e)))?;
        self.at += skipped;
        if skipped < len {
            return Err(self.malformed(self.at, "the input ends inside a message"));
        }
        Ok(())
    }

    fn traces_data(&mut self) -> Result<(), Halt> {
        let mut ri = 0;
        while let Some((number, wire, tag_at)) = self.tag(u64::MAX)? {
            match (number, wire) {
                (1, LEN) => {
                    let len = self.length(u64::MAX)?;
                    self.resource_spans(self.at + len, ri)?;
                    ri += 1;
                }
                (1, _) => return Err(self.malformed(tag_at, "a field has the wrong wire type")),
                _ => self.skip(wire, u64::MAX)?,
            }
        }
        Ok(())
    }

    fn resource_spans(&mut self, end: u64, ri: usize) -> Result<(), Halt> {
        let mut resource: Arc<Map<String, Value>> = Arc::default();
        let mut resource_bad = None;
        let mut seen_resource = false;
        // Scope spans met before the resource: (index, offset, bytes).
        let mut waiting: Vec<(usize, u64, Vec<u8>)> = Vec::new();
        let mut si = 0;
        while let Some((number, wire, tag_at)) = self.tag(end)? {
            match (number, wire) {
                (1, LEN) => {
                    let len = self.length(end)?;
                    let base = self.read(len)?;
                    // The spans decoded so far have been normalised and dropped, so this
                    // does not copy the map.
                    let into = Arc::make_mut(&mut resource);
                    if let Err(bad) = decode_resource(Cursor::new(&self.buf, base), into) {
                        resource_bad.get_or_insert(bad);
                    }
                    seen_resource = true;
                    let resource = resource_bad.as_ref().map_or(Ok(&resource), Err);
                    for (si, base, bytes) in waiting.drain(..) {
                        let ss = Cursor::new(&bytes, base);
                        decode_scope_spans(ss, ("", ri, si), resource, &mut self.sink)?;
                    }
                }
                (2, LEN) => {
                    let len = self.length(end)?;
                    if seen_resource {
                        let resource = resource_bad.as_ref().map_or(Ok(&resource), Err);
                        self.scope_spans(self.at + len, (ri, si), resource)?;
                    } else {
                        let base = self.read(len)?;
                        check_scope_framing(Cursor::new(&self.buf, base))?;
                        waiting.push((si, base, std::mem::take(&mut self.buf)));
                    }
                    si += 1;
                }
                (3, LEN) => self.skip(wire, end)?,
                (1..=3, _) => return Err(self.malformed(tag_at, "a field has the wrong wire type")),
                _ => self.skip(wire, end)?,
            }
        }
        // Spans of a resource spans without a resource.
        for (si, base, bytes) in waiting {
            let ss = Cursor::new(&bytes, base);
            decode_scope_spans(ss, ("", ri, si), Ok(&resource), &mut self.sink)?;
        }
        Ok(())
    }

    /// One `ScopeSpans` ending at `end`, its spans read and decoded one at a time.
    fn scope_spans(
        &mut self,
        end: u64,
        (ri, si): (usize, usize),
        resource: Result<&Arc<Map<String, Value>>, &Bad>,
    ) -> Result<(), Halt> {
        let mut pi = 0;
        while let Some((number, wire, tag_at)) = self.tag(end)? {
            match (number, wire) {
                (2, LEN) => {
                    let len = self.length(end)?;
                    let base = self.read(len)?;
                    let span = Cursor::new(&self.buf, base);
                    emit_span(span, ("", ri, si, pi), resource, &mut self.sink)
                        .map_err(Halt::Store)?;
                    pi += 1;
                }
                (1..=3, LEN) => self.skip(wire, end)?,
                (1..=3, _) => return Err(self.malformed(tag_at, "a field has the wrong wire type")),
                _ => self.skip(wire, end)?,
            }
        }
        Ok(())
    }
}

/// One `LogsData` message: its records gathered into partial spans, as the JSON encoding is.
/// Broken framing fails the message; a bad record is rejected by its location and byte offset.
pub(super) fn parse_logs_message(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    let bytes = super::read_all(reader)?;
    let input = |m: Malformed| ParseError::Input(m.to_string());
    let mut gathered = super::otlp_logs::Gathered::default();
    let mut top = Cursor::new(&bytes, 0);
    let mut ri = 0;
    while let Some((number, wire)) = top.field().map_err(input)? {
        let (1, Wire::Len(rl)) = (number, wire) else {
            continue;
        };
        let mut resource = Map::new();
        let mut resource_bad = None;
        let mut fields = rl;
        while let Some((number, wire)) = fields.field().map_err(input)? {
            if let (1, Wire::Len(r)) = (number, wire) {
                if let Err(bad) = decode_resource(r, &mut resource) {
                    resource_bad.get_or_insert(bad);
                }
            }
        }
        let resource = Arc::new(resource);
        let mut fields = rl;
        let mut si = 0;
        while let Some((number, wire)) = fields.field().map_err(input)? {
            let (2, Wire::Len(mut sl)) = (number, wire) else {
                continue;
            };
            let mut li = 0;
            while let Some((number, wire)) = sl.field().map_err(input)? {
                let (2, Wire::Len(record)) = (number, wire) else {
                    continue;
                };
                let converted = match &resource_bad {
                    Some(bad) => Err(bad.clone()),
                    None => decode_log_record(record).and_then(|r| {
                        super::otlp_logs::convert(r, &resource)
                            .map_err(|(field, message)| Bad::new(field, message))
                    }),
                };
                match converted {
                    Ok(raw) => gathered.add(raw),
                    Err(bad) => sink.reject(Rejection {
                        location: format!(
                            "resourceLogs[{ri}].scopeLogs[{si}].logRecords[{li}] at byte {}",
                            record.base
                        ),
                        field: bad.field,
                        message: bad.message,
                    }),
                }
                li += 1;
            }
            si += 1;
        }
        ri += 1;
    }
    gathered.emit(sink)
}

/// A `LogRecord`'s fields, ids as hex (checked by [`super::otlp_logs::convert`]).
fn decode_log_record(mut r: Cursor<'_>) -> Result<super::otlp_logs::Record, Bad> {
    let malformed = |m: Malformed| Bad {
        field: None,
        message: m.to_string(),
    };
    let hex = |bytes: &[u8]| (!bytes.is_empty()).then(|| to_hex(bytes));
    let mut record = super::otlp_logs::Record {
        trace_id: None,
        span_id: None,
        time: None,
        observed_time: None,
        event_name: None,
        body: None,
        attributes: Map::new(),
    };
    let nanos = |v: u64, field: &str| time(v).map_err(|message| Bad::new(field, message));
    while let Some((number, wire)) = r.field().map_err(malformed)? {
        match (number, wire) {
            (1, Wire::Fixed64(v)) => record.time = Some(nanos(v, "timeUnixNano")?),
            (11, Wire::Fixed64(v)) => {
                record.observed_time = Some(nanos(v, "observedTimeUnixNano")?)
            }
            (5, Wire::Len(c)) => {
                record.body = Some(any_value(c, 0).map_err(|f| Bad::new("body", f.to_string()))?)
            }
            (6, Wire::Len(kv)) => insert_attribute(kv, &mut record.attributes)?,
            (9, Wire::Len(c)) => record.trace_id = hex(c.buf),
            (10, Wire::Len(c)) => record.span_id = hex(c.buf),
            (12, Wire::Len(c)) => {
                record.event_name = Some(
                    c.string()
                        .map_err(|f| Bad::new("eventName", f.to_string()))?,
                )
            }
            (1 | 11, _) | (5 | 6 | 9 | 10 | 12, _) => return Err(malformed(wrong_type(&r))),
            _ => {}
        }
    }
    Ok(record)
}

/// Varint-length-delimited `TracesData` messages, one in memory at a time. A message that does
/// not decode is rejected and the next one read; a broken length prefix ends the input.
pub(super) fn parse_stream(
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    let mut buf = Vec::new();
    let mut offset = 0u64;
    let mut number = 0u64;
    loop {
        let prefix_at = offset;
        let Some((len, prefix_len)) = read_length(reader, prefix_at)? else {
            return Ok(());
        };
        number += 1;
        offset += prefix_len;
        if len > MAX_MESSAGE {
            return Err(ParseError::Input(format!(
                "the length prefix at byte {prefix_at} says {len} bytes, more than a protobuf message can hold"
            )));
        }
        buf.clear();
        // Reserve what the prefix promises, within reason: a lying prefix must not allocate.
        buf.reserve(len.min(16 << 20) as usize);
        let got = Read::take(&mut *reader, len)
            .read_to_end(&mut buf)
            .map_err(|e| ParseError::Input(io_message(&e)))? as u64;
        // A message is located by where its record (the length prefix) starts.
        let location = format!("message {number} at byte {prefix_at}");
        if got < len {
            sink.reject(Rejection {
                location,
                field: None,
                message: format!("cut off: the length prefix says {len} bytes, {got} follow"),
            });
            return Ok(());
        }
        let prefix = format!("message {number}: ");
        match decode_message(&buf, offset, &prefix, sink) {
            Ok(()) => {}
            Err(Stop::Store(e)) => return Err(ParseError::Store(e)),
            Err(Stop::Malformed(m)) => sink.reject(Rejection {
                location,
                field: None,
                message: m.to_string(),
            }),
        }
        offset += len;
    }
}

/// Reads a varint length prefix: `None` at a clean end of input, else the value and its size.
fn read_length(reader: &mut dyn BufRead, at: u64) -> Result<Option<(u64, u64)>, ParseError> {
    let mut value = 0u64;
    let mut size = 0u64;
    loop {
        let byte = match reader.fill_buf() {
            Ok(buf) => buf.first().copied(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ParseError::Input(io_message(&e))),
        };
        let Some(b) = byte else {
            if size == 0 {
                return Ok(None);
            }
            return Err(ParseError::Input(format!(
                "the length prefix at byte {at} is cut off by the end of the input"
            )));
        };
        reader.consume(1);
        if size == 9 && b > 1 {
            return Err(ParseError::Input(format!(
                "the length prefix at byte {at} is not a valid varint"
            )));
        }
        value |= u64::from(b & 0x7f) << (7 * size);
        size += 1;
        if b < 0x80 {
            return Ok(Some((value, size)));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Decoding
// ------------------------------------------------------------------------------------------------

/// Broken framing: where and what.
#[derive(Debug, Clone, Copy)]
struct Malformed {
    /// Byte offset in the input.
    at: u64,
    what: &'static str,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed protobuf at byte {}: {}", self.at, self.what)
    }
}

/// Something wrong inside a value.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Malformed(Malformed),
    /// Invalid UTF-8 at this byte offset.
    Utf8(u64),
}

impl From<Malformed> for Fault {
    fn from(m: Malformed) -> Self {
        Fault::Malformed(m)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Malformed(m) => m.fmt(f),
            Fault::Utf8(at) => write!(f, "invalid UTF-8 at byte {at}"),
        }
    }
}

/// Why a span is rejected.
#[derive(Debug, Clone)]
struct Bad {
    field: Option<String>,
    message: String,
}

impl Bad {
    fn new(field: &str, message: impl Into<String>) -> Bad {
        Bad {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}

/// Why decoding a message stopped.
enum Stop {
    Malformed(Malformed),
    Store(crate::error::Error),
}

impl From<Malformed> for Stop {
    fn from(m: Malformed) -> Self {
        Stop::Malformed(m)
    }
}

/// One field's value, as the wire carries it.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(Cursor<'a>),
    Fixed32,
}

/// Reads the fields of one message. `buf` is exactly the message; `base` is its byte offset in
/// the input, for error messages.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Where the field last read starts, for errors about it.
    field_at: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], base: u64) -> Self {
        Cursor {
            buf,
            pos: 0,
            field_at: 0,
            base,
        }
    }

    fn at(&self, pos: usize) -> u64 {
        self.base + pos as u64
    }

    fn bad(&self, pos: usize, what: &'static str) -> Malformed {
        Malformed {
            at: self.at(pos),
            what,
        }
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        // Most varints here (tags, small lengths) are one byte.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        match varint_at(self.buf, self.pos) {
            Scan::Ok(v, next) => {
                self.pos = next;
                Ok(v)
            }
            Scan::Short => Err(self.bad(self.pos, "a varint runs past the end of its message")),
            Scan::Bad => Err(self.bad(self.pos, "a varint is longer than 10 bytes")),
        }
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let bytes = self
            .buf
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<N>())
            .ok_or_else(|| {
                self.bad(
                    self.pos,
                    "a fixed-size field runs past the end of its message",
                )
            })?;
        self.pos += N;
        Ok(*bytes)
    }

    /// The next field, or `None` at the end of the message.
    fn field(&mut self) -> Result<Option<(u64, Wire<'a>)>, Malformed> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let tag_at = self.pos;
        self.field_at = tag_at;
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 {
            return Err(self.bad(tag_at, "field number 0"));
        }
        let wire = match (tag & 7) as u8 {
            VARINT => Wire::Varint(self.varint()?),
            FIXED64 => Wire::Fixed64(u64::from_le_bytes(self.fixed::<8>()?)),
            LEN => {
                let len_at = self.pos;
                let len = self.varint()?;
                let start = self.pos;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| start.checked_add(l))
                    .filter(|&e| e <= self.buf.len())
                    .ok_or_else(|| self.bad(len_at, "a length runs past the end of its message"))?;
                self.pos = end;
                Wire::Len(Cursor::new(&self.buf[start..end], self.at(start)))
            }
            FIXED32 => {
                self.fixed::<4>()?;
                Wire::Fixed32
            }
            3 | 4 => return Err(self.bad(tag_at, "groups are not used by OTLP")),
            _ => return Err(self.bad(tag_at, "unknown wire type")),
        };
        Ok(Some((number, wire)))
    }

    /// The whole message as a UTF-8 string.
    fn string(&self) -> Result<String, Fault> {
        match std::str::from_utf8(self.buf) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(Fault::Utf8(self.at(e.valid_up_to()))),
        }
    }
}

/// A known field with the wrong wire type.
fn wrong_type(c: &Cursor<'_>) -> Malformed {
    c.bad(c.field_at, "a field has the wrong wire type")
}

/// Checks the framing down to the spans, then decodes and emits every span.
fn decode_message(msg: &[u8], base: u64, prefix: &str, sink: &mut dyn Sink) -> Result<(), Stop> {
    let root = Cursor::new(msg, base);
    check_framing(root)?;
    let mut top = root;
    let mut ri = 0;
    while let Some((number, wire)) = top.field()? {
        if let (1, Wire::Len(rs)) = (number, wire) {
            decode_resource_spans(rs, ri, prefix, sink)?;
            ri += 1;
        }
    }
    Ok(())
}

/// Walks `TracesData` -> `ResourceSpans` -> `ScopeSpans` -> span boundaries without decoding
/// spans, so a broken message is known before any of its spans is emitted.
fn check_framing(root: Cursor<'_>) -> Result<(), Malformed> {
    let mut top = root;
    while let Some((number, wire)) = top.field()? {
        match (number, wire) {
            (1, Wire::Len(mut rs)) => {
                while let Some((number, wire)) = rs.field()? {
                    match (number, wire) {
                        (2, Wire::Len(ss)) => check_scope_framing(ss)?,
                        (1..=3, Wire::Len(_)) => {}
                        (1..=3, _) => return Err(wrong_type(&rs)),
                        _ => {}
                    }
                }
            }
            (1, _) => return Err(wrong_type(&top)),
            _ => {}
        }
    }
    Ok(())
}

/// A `ScopeSpans`' framing down to its span boundaries.
fn check_scope_framing(mut ss: Cursor<'_>) -> Result<(), Malformed> {
    while let Some((number, wire)) = ss.field()? {
        if matches!(number, 1..=3) && !matches!(wire, Wire::Len(_)) {
            return Err(wrong_type(&ss));
        }
    }
    Ok(())
}

fn decode_resource_spans(
    rs: Cursor<'_>,
    ri: usize,
    prefix: &str,
    sink: &mut dyn Sink,
) -> Result<(), Stop> {
    // The resource may follow the spans on the wire (fields come in any order), so it is read
    // first. A broken resource rejects each of its spans, as the JSON importer would have none.
    let mut resource = Map::new();
    let mut resource_bad = None;
    let mut fields = rs;
    while let Some((number, wire)) = fields.field()? {
        if let (1, Wire::Len(r)) = (number, wire) {
            if let Err(bad) = decode_resource(r, &mut resource) {
                resource_bad.get_or_insert(bad);
            }
        }
    }
    let resource = Arc::new(resource);
    let resource = match &resource_bad {
        Some(bad) => Err(bad),
        None => Ok(&resource),
    };
    let mut fields = rs;
    let mut si = 0;
    while let Some((number, wire)) = fields.field()? {
        if let (2, Wire::Len(ss)) = (number, wire) {
            decode_scope_spans(ss, (prefix, ri, si), resource, sink)?;
            si += 1;
        }
    }
    Ok(())
}

/// The spans of one `ScopeSpans` (framing already checked), `at` being its place
/// (`prefix`, resource index, scope index), decoded against their resource or rejected for it.
fn decode_scope_spans(
    mut ss: Cursor<'_>,
    at: (&str, usize, usize),
    resource: Result<&Arc<Map<String, Value>>, &Bad>,
    sink: &mut dyn Sink,
) -> Result<(), Stop> {
    let mut pi = 0;
    while let Some((number, wire)) = ss.field()? {
        if let (2, Wire::Len(span)) = (number, wire) {
            emit_span(span, (at.0, at.1, at.2, pi), resource, sink).map_err(Stop::Store)?;
            pi += 1;
        }
    }
    Ok(())
}

/// Decodes one span and hands it to `sink`, or rejects it by its place
/// (`prefix`, resource, scope and span indexes) and byte offset.
fn emit_span(
    span: Cursor<'_>,
    at: (&str, usize, usize, usize),
    resource: Result<&Arc<Map<String, Value>>, &Bad>,
    sink: &mut dyn Sink,
) -> crate::Result<()> {
    match resource
        .map_err(Bad::clone)
        .and_then(|r| decode_span(span, r))
    {
        Ok(raw) => sink.span(normalize(raw)),
        Err(bad) => {
            let (prefix, ri, si, pi) = at;
            sink.reject(Rejection {
                location: format!(
                    "{prefix}resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}] at byte {}",
                    span.base
                ),
                field: bad.field,
                message: bad.message,
            });
            Ok(())
        }
    }
}

fn decode_resource(mut r: Cursor<'_>, out: &mut Map<String, Value>) -> Result<(), Bad> {
    let in_resource = |bad: Bad| Bad {
        message: format!("resource attribute: {}", bad.message),
        ..bad
    };
    while let Some((number, wire)) = r.field().map_err(|m| Bad {
        field: None,
        message: format!("resource: {m}"),
    })? {
        if let (1, Wire::Len(kv)) = (number, wire) {
            insert_attribute(kv, out).map_err(in_resource)?;
        }
    }
    Ok(())
}

fn decode_span(mut s: Cursor<'_>, resource: &Arc<Map<String, Value>>) -> Result<RawSpan, Bad> {
    let malformed = |m: Malformed, field: Option<&str>| Bad {
        field: field.map(str::to_owned),
        message: m.to_string(),
    };
    let mut trace_id: &[u8] = &[];
    let mut span_id: &[u8] = &[];
    let mut parent: &[u8] = &[];
    let mut name = None;
    let mut start = 0u64;
    let mut end = 0u64;
    let mut attributes = Map::new();
    let mut events = Vec::new();
    let mut status_code = 0i64;
    let mut status_message = None;
    // Scalars: the last occurrence wins, as in any protobuf decoder.
    while let Some((number, wire)) = s.field().map_err(|m| malformed(m, None))? {
        match (number, wire) {
            (1, Wire::Len(c)) => trace_id = c.buf,
            (2, Wire::Len(c)) => span_id = c.buf,
            (4, Wire::Len(c)) => parent = c.buf,
            (5, Wire::Len(c)) => name = Some(c),
            (7, Wire::Fixed64(v)) => start = v,
            (8, Wire::Fixed64(v)) => end = v,
            (9, Wire::Len(c)) => insert_attribute(c, &mut attributes)?,
            (11, Wire::Len(c)) => events.push(decode_event(c)?),
            (15, Wire::Len(mut c)) => {
                // A repeated embedded message merges: present fields override.
                while let Some((number, wire)) =
                    c.field().map_err(|m| malformed(m, Some("status")))?
                {
                    match (number, wire) {
                        // An enum is an int32, sign-extended to 64 bits on the wire.
                        (3, Wire::Varint(v)) => status_code = v as i64,
                        (2, Wire::Len(m)) => status_message = Some(m),
                        (2 | 3, _) => return Err(malformed(wrong_type(&c), Some("status"))),
                        _ => {}
                    }
                }
            }
            (3 | 13, Wire::Len(_)) | (6 | 10 | 12 | 14, Wire::Varint(_)) | (16, Wire::Fixed32) => {}
            (1..=16, _) => return Err(malformed(wrong_type(&s), None)),
            _ => {}
        }
    }
    let name = match name {
        Some(c) => c.string().map_err(|f| Bad::new("name", f.to_string()))?,
        None => String::new(),
    };
    let status_message = match status_message {
        Some(c) => Some(
            c.string()
                .map_err(|f| Bad::new("status.message", f.to_string()))?,
        ),
        None => None,
    }
    .filter(|m| !m.is_empty());
    let trace_id = hex_id(trace_id, 16).map_err(|m| Bad::new("traceId", m))?;
    let span_id = hex_id(span_id, 8).map_err(|m| Bad::new("spanId", m))?;
    // An empty parent means a root span.
    let parent_span_id = if parent.is_empty() {
        None
    } else {
        Some(hex_id(parent, 8).map_err(|m| Bad::new("parentSpanId", m))?)
    };
    // Protobuf cannot tell 0 from absent; the JSON mapping omits a 0, which the JSON importer
    // rejects as missing. A span must have started.
    if start == 0 {
        return Err(Bad::new("startTimeUnixNano", "missing"));
    }
    let start_ns = time(start).map_err(|m| Bad::new("startTimeUnixNano", m))?;
    let end_ns = match end {
        // 0 means not ended yet.
        0 => None,
        v => Some(time(v).map_err(|m| Bad::new("endTimeUnixNano", m))?),
    };
    if let Some(end) = end_ns {
        if end < start_ns {
            return Err(Bad::new(
                "endTimeUnixNano",
                format!("end {end} is before start {start_ns}"),
            ));
        }
    }
    Ok(RawSpan {
        trace_id,
        span_id,
        parent_span_id,
        name,
        start_ns,
        end_ns,
        status_code,
        status_message,
        attributes,
        resource: resource.clone(),
        events,
    })
}

fn decode_event(mut e: Cursor<'_>) -> Result<SpanEvent, Bad> {
    let malformed = |m: Malformed| Bad::new("events", m.to_string());
    let mut event = SpanEvent::default();
    let mut name = None;
    while let Some((number, wire)) = e.field().map_err(malformed)? {
        match (number, wire) {
            // The JSON importer reads an unrepresentable time as 0.
            (1, Wire::Fixed64(v)) => event.time_ns = i64::try_from(v).unwrap_or(0),
            (2, Wire::Len(c)) => name = Some(c),
            (3, Wire::Len(c)) => insert_attribute(c, &mut event.attributes)?,
            (4, Wire::Varint(_)) => {}
            (1..=4, _) => return Err(malformed(wrong_type(&e))),
            _ => {}
        }
    }
    if let Some(c) = name {
        event.name = c
            .string()
            .map_err(|f| Bad::new("events.name", f.to_string()))?;
    }
    Ok(event)
}

/// Decodes one `KeyValue` into `out`; a later duplicate key wins, as in the JSON importer. A
/// fault is reported against the attribute's key.
fn insert_attribute(kv: Cursor<'_>, out: &mut Map<String, Value>) -> Result<(), Bad> {
    match key_value(kv, 0) {
        Ok((key, value)) => {
            out.insert(key, value);
            Ok(())
        }
        Err((key, fault)) => Err(Bad {
            field: Some(key.unwrap_or_else(|| "attributes".to_owned())),
            message: fault.to_string(),
        }),
    }
}

/// One `KeyValue`; on failure, the key (when it could be read) and the fault.
fn key_value(mut kv: Cursor<'_>, depth: usize) -> Result<(String, Value), (Option<String>, Fault)> {
    let mut key = None;
    let mut value = None;
    while let Some((number, wire)) = kv.field().map_err(|m| (None, m.into()))? {
        match (number, wire) {
            (1, Wire::Len(c)) => key = Some(c),
            (2, Wire::Len(c)) => value = Some(c),
            (1 | 2, _) => return Err((None, wrong_type(&kv).into())),
            _ => {}
        }
    }
    let key = match key {
        Some(c) => c
            .string()
            .map_err(|f| (Some(String::from_utf8_lossy(c.buf).into_owned()), f))?,
        None => String::new(),
    };
    // A KeyValue without a value is null, as in the JSON importer.
    let value = match value {
        Some(c) => match any_value(c, depth) {
            Ok(v) => v,
            Err(f) => return Err((Some(key), f)),
        },
        None => Value::Null,
    };
    Ok((key, value))
}

/// Converts an `AnyValue` into plain JSON, as the JSON importer does.
fn any_value(mut v: Cursor<'_>, depth: usize) -> Result<Value, Fault> {
    if depth >= MAX_DEPTH {
        return Err(v.bad(0, "values nested too deeply").into());
    }
    // A oneof: the last member on the wire wins. None set is null.
    let mut out = Value::Null;
    while let Some((number, wire)) = v.field()? {
        out = match (number, wire) {
            (1, Wire::Len(c)) => Value::String(c.string()?),
            (2, Wire::Varint(b)) => Value::Bool(b != 0),
            (3, Wire::Varint(i)) => Value::from(i as i64),
            (4, Wire::Fixed64(bits)) => double(f64::from_bits(bits)),
            (5, Wire::Len(mut c)) => {
                let mut values = Vec::new();
                while let Some((number, wire)) = c.field()? {
                    match (number, wire) {
                        (1, Wire::Len(item)) => values.push(any_value(item, depth + 1)?),
                        (1, _) => return Err(wrong_type(&c).into()),
                        _ => {}
                    }
                }
                Value::Array(values)
            }
            (6, Wire::Len(mut c)) => {
                let mut map = Map::new();
                while let Some((number, wire)) = c.field()? {
                    match (number, wire) {
                        (1, Wire::Len(kv)) => {
                            let (k, v) = key_value(kv, depth + 1).map_err(|(_, f)| f)?;
                            map.insert(k, v);
                        }
                        (1, _) => return Err(wrong_type(&c).into()),
                        _ => {}
                    }
                }
                Value::Object(map)
            }
            (7, Wire::Len(c)) => Value::String(base64(c.buf)),
            (1..=7, _) => return Err(wrong_type(&v).into()),
            _ => continue,
        };
    }
    Ok(out)
}

/// A double as JSON. JSON has no NaN or infinities; the protobuf JSON mapping writes them as
/// strings, and the JSON importer keeps those strings.
fn double(d: f64) -> Value {
    if d.is_nan() {
        Value::from("NaN")
    } else if d.is_infinite() {
        Value::from(if d > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        Value::from(d)
    }
}

/// A nanosecond time as the JSON importer's int64.
fn time(v: u64) -> Result<i64, String> {
    i64::try_from(v).map_err(|_| format!("{v} is not a 64-bit integer"))
}

/// An id of `len` bytes as lowercase hex; empty or all-zero ids are missing (OTLP says invalid).
fn hex_id(bytes: &[u8], len: usize) -> Result<String, String> {
    if bytes.is_empty() {
        return Err("missing".to_owned());
    }
    if bytes.len() != len {
        return Err(format!("is {} bytes, expected {len}", bytes.len()));
    }
    if bytes.iter().all(|&b| b == 0) {
        return Err("is all zeros (invalid per OTLP)".to_owned());
    }
    Ok(to_hex(bytes))
}

/// Bytes as lowercase hex.
fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Standard base64 with padding, as the protobuf JSON mapping writes `bytes`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        let digit = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(digit(18));
        out.push(digit(12));
        out.push(if chunk.len() > 1 { digit(6) } else { '=' });
        out.push(if chunk.len() > 2 { digit(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Span;

    #[derive(Default)]
    struct Collect {
        spans: Vec<Span>,
        rejections: Vec<Rejection>,
        in_batches: bool,
    }

    impl Sink for Collect {
        fn span(&mut self, span: Span) -> crate::Result<()> {
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

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!(
            "{}/../../tests/fixtures/otlp/{path}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
        if path.ends_with(".gz") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        } else {
            bytes
        }
    }

    const FIXTURES: &[(&str, &str)] = &[
        (
            "openinference-python/traces.pb",
            "openinference-python/traces.json",
        ),
        (
            "openllmetry-python/traces.pb",
            "openllmetry-python/traces.json",
        ),
        (
            "otel-genai-python/traces.pb",
            "otel-genai-python/traces.json",
        ),
        (
            "langfuse-python/traces.pb.gz",
            "langfuse-python/traces.json",
        ),
    ];

    fn decode(bytes: &[u8]) -> Collect {
        let mut sink = Collect::default();
        parse_message(&mut &bytes[..], &mut sink).unwrap();
        sink
    }

    fn decode_stream(bytes: &[u8]) -> (Result<(), ParseError>, Collect) {
        let mut sink = Collect::default();
        let result = parse_stream(&mut &bytes[..], &mut sink);
        (result, sink)
    }

    fn by_id(mut spans: Vec<Span>) -> Vec<Span> {
        spans.sort_by(|a, b| (&a.span_id, &a.trace_id).cmp(&(&b.span_id, &b.trace_id)));
        spans
    }

    #[test]
    fn fixtures_decode_exactly_like_their_json() {
        for (pb, json) in FIXTURES {
            let proto = decode(&fixture(pb));
            let mut from_json = Collect::default();
            crate::import::otlp_json::parse_document(&fixture(json), "", &mut from_json).unwrap();
            assert!(proto.rejections.is_empty(), "{pb}: {:?}", proto.rejections);
            assert!(from_json.rejections.is_empty(), "{json}");
            assert!(!proto.spans.is_empty(), "{pb}");
            assert_eq!(proto.spans.len(), from_json.spans.len(), "{pb}");
            for (p, j) in by_id(proto.spans).iter().zip(by_id(from_json.spans)) {
                if *p != j {
                    // serde_json (without its `float_roundtrip` feature) may parse a decimal
                    // double 1 ulp off: -0.18858860433101654 in openinference-python's JSON
                    // reads as -0.18858860433101657, while the protobuf carries the exact bits.
                    // Such doubles are compared as nearly equal; everything else exactly.
                    let pv = serde_json::to_value(p).unwrap();
                    let jv = serde_json::to_value(&j).unwrap();
                    assert!(
                        same_but_float_rounding(&pv, &jv),
                        "{pb}: span {}\n{pv}\n{jv}",
                        j.span_id
                    );
                }
            }
        }
    }

    /// Equal, except that two doubles within an ulp or so count as equal.
    fn same_but_float_rounding(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                x == y || (x - y).abs() <= 2.0 * f64::EPSILON * x.abs().max(y.abs())
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_but_float_rounding(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| same_but_float_rounding(v, w)))
            }
            _ => a == b,
        }
    }

    /// The fixture messages, each preceded by its varint length.
    fn stream_of(messages: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in messages {
            put_varint(&mut out, m.len() as u64);
            out.extend_from_slice(m);
        }
        out
    }

    #[test]
    fn a_stream_yields_every_message() {
        let a = fixture("openinference-python/traces.pb");
        let b = fixture("otel-genai-python/traces.pb");
        let c = fixture("openllmetry-python/traces.pb");
        let expected = decode(&a).spans.len() + decode(&b).spans.len() + decode(&c).spans.len();
        let stream = stream_of(&[&a, &b, &c]);
        let (result, sink) = decode_stream(&stream);
        result.unwrap();
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);
        assert_eq!(sink.spans.len(), expected);
        // Empty messages are allowed and yield nothing.
        let (result, sink) = decode_stream(&stream_of(&[&[], &a, &[]]));
        result.unwrap();
        assert_eq!(sink.spans.len(), decode(&a).spans.len());
    }

    #[test]
    fn a_broken_message_in_a_stream_is_rejected_and_the_rest_kept() {
        let a = fixture("otel-genai-python/traces.pb");
        let mut broken = a.clone();
        // Claim the first ResourceSpans is longer than the message.
        broken[1] = 0xff;
        let stream = stream_of(&[&a, &broken, &a]);
        let (result, sink) = decode_stream(&stream);
        result.unwrap();
        assert_eq!(sink.spans.len(), 2 * decode(&a).spans.len());
        assert_eq!(sink.rejections.len(), 1, "{:?}", sink.rejections);
        let second_at = 2 + a.len();
        assert_eq!(
            sink.rejections[0].location,
            format!("message 2 at byte {second_at}")
        );
        assert!(
            sink.rejections[0]
                .message
                .starts_with("malformed protobuf at byte"),
            "{:?}",
            sink.rejections[0]
        );

        // A message cut short at the end is rejected; the ones before it stay.
        let cut = &stream[..stream.len() - 10];
        let (result, sink) = decode_stream(cut);
        result.unwrap();
        assert_eq!(sink.spans.len(), decode(&a).spans.len());
        assert_eq!(sink.rejections.len(), 2);
        assert!(sink.rejections[1].message.contains("cut off"));
    }

    /// Decodes `bytes` as one message that is too large to read whole, through a small buffer.
    fn streamed(bytes: &[u8]) -> (Result<(), ParseError>, Collect) {
        let mut sink = Collect::default();
        let mut reader = std::io::BufReader::with_capacity(16, bytes);
        let result = parse_message_up_to(&mut reader, &mut sink, 0);
        (result, sink)
    }

    /// Every fixture, and all of them as one message (repeated fields concatenate).
    fn messages() -> Vec<(String, Vec<u8>)> {
        let mut all = Vec::new();
        let mut out = Vec::new();
        for (pb, _) in FIXTURES {
            let bytes = fixture(pb);
            all.extend_from_slice(&bytes);
            out.push((pb.to_string(), bytes));
        }
        out.push(("all fixtures".to_owned(), all));
        out
    }

    #[test]
    fn a_large_message_streams_to_exactly_what_it_decodes_to_whole() {
        for (name, bytes) in messages() {
            let whole = decode(&bytes);
            let (result, sink) = streamed(&bytes);
            result.unwrap();
            assert!(!whole.spans.is_empty(), "{name}");
            assert_eq!(sink.spans, whole.spans, "{name}");
            assert_eq!(sink.rejections, whole.rejections, "{name}");
            assert!(
                sink.in_batches,
                "{name}: a streamed message is written in batches"
            );
            assert!(
                !whole.in_batches,
                "{name}: a small message is one transaction"
            );
        }
    }

    /// `msg` with every `ResourceSpans`' resource moved after its scope spans.
    fn resource_last(msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut top = Cursor::new(msg, 0);
        while let Some((1, Wire::Len(mut rs))) = top.field().unwrap() {
            let (mut first, mut last) = (Vec::new(), Vec::new());
            while let Some((number, wire)) = rs.field().unwrap() {
                let Wire::Len(value) = wire else {
                    panic!("ResourceSpans holds messages only")
                };
                let to = if number == 1 { &mut last } else { &mut first };
                to.extend(tag(number, LEN));
                put_varint(to, value.buf.len() as u64);
                to.extend_from_slice(value.buf);
            }
            first.extend(last);
            out.extend(tag(1, LEN));
            put_varint(&mut out, first.len() as u64);
            out.extend(first);
        }
        out
    }

    #[test]
    fn spans_before_their_resource_wait_for_it() {
        for (name, bytes) in messages() {
            let reordered = resource_last(&bytes);
            assert_ne!(
                reordered, bytes,
                "{name}: the fixture has a resource to move"
            );
            let whole = decode(&bytes);
            let (result, sink) = streamed(&reordered);
            result.unwrap();
            assert!(sink.rejections.is_empty(), "{name}: {:?}", sink.rejections);
            assert_eq!(sink.spans, whole.spans, "{name}");
            // A service name comes from the resource only.
            assert!(sink.spans.iter().any(|s| s.service.is_some()), "{name}");
        }
    }

    #[test]
    fn a_streamed_message_broken_part_way_keeps_the_spans_before_the_break() {
        let a = fixture("otel-genai-python/traces.pb");
        let expected = decode(&a).spans;
        let mut broken = [&a[..], &a[..]].concat();
        let length_at = broken.len() + 3;
        // A ResourceSpans of 3 bytes holding a ScopeSpans that claims 5, then more spans.
        broken.extend([0x0a, 0x03, 0x12, 0x05, 0x00]);
        broken.extend_from_slice(&a);
        let (result, sink) = streamed(&broken);
        result.unwrap();
        assert_eq!(sink.spans, [&expected[..], &expected[..]].concat());
        assert_eq!(sink.rejections.len(), 1, "{:?}", sink.rejections);
        let rejection = &sink.rejections[0];
        assert_eq!(rejection.location, format!("byte {length_at}"));
        assert!(
            rejection
                .message
                .contains("a length runs past the end of its message; the rest of the message"),
            "{rejection:?}"
        );
        // Read whole, the same message adds nothing.
        let mut sink = Collect::default();
        assert!(parse_message(&mut &broken[..], &mut sink).is_err());
        assert!(sink.spans.is_empty());
        // Broken before any span, a streamed message fails as a whole.
        let (result, sink) = streamed(&[0x0a, 0x03, 0x12, 0x05, 0x00, 0x0a, 0x00]);
        let Err(ParseError::Input(message)) = result else {
            panic!("nothing read is an input error")
        };
        assert_eq!(
            message,
            "malformed protobuf at byte 3: a length runs past the end of its message"
        );
        assert!(sink.spans.is_empty() && sink.rejections.is_empty());
    }

    #[test]
    fn a_streamed_message_cut_anywhere_keeps_exactly_the_spans_before_the_cut() {
        for (name, bytes) in messages() {
            let whole = decode(&bytes).spans;
            for cut in (1..bytes.len()).step_by(89) {
                let (result, sink) = streamed(&bytes[..cut]);
                // Cut at a span boundary, what is left is a shorter but complete message.
                assert!(
                    result.is_err()
                        || !sink.rejections.is_empty()
                        || sink.spans.len() < whole.len(),
                    "{name} cut at {cut}"
                );
                assert_eq!(sink.spans, whole[..sink.spans.len()], "{name} cut at {cut}");
            }
        }
    }

    #[test]
    fn a_broken_length_prefix_stops_the_stream() {
        let (result, _) = decode_stream(&[0x80, 0x80]);
        let Err(ParseError::Input(message)) = result else {
            panic!("a cut prefix is an input error");
        };
        assert!(message.contains("byte 0"), "{message}");
        let mut overlong = vec![0xff; 10];
        overlong.push(0x01);
        assert!(matches!(
            decode_stream(&overlong).0,
            Err(ParseError::Input(_))
        ));
        let (result, _) = decode_stream(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        let Err(ParseError::Input(message)) = result else {
            panic!("a 4 GiB message is refused");
        };
        assert!(message.contains("more than a protobuf message can hold"));
    }

    #[test]
    fn truncated_input_never_panics() {
        for (pb, _) in FIXTURES {
            let bytes = fixture(pb);
            let stream = stream_of(&[&bytes, &bytes]);
            for cut in (0..bytes.len()).step_by(97) {
                let mut sink = Collect::default();
                let result = parse_message(&mut &bytes[..cut], &mut sink);
                if cut > 0 {
                    assert!(result.is_err(), "{pb} cut at {cut} decodes");
                }
                // Nothing of a broken message is emitted.
                assert!(sink.spans.is_empty(), "{pb} cut at {cut}");
                let _ = sniff(&bytes[..cut]);
            }
            for cut in (0..stream.len()).step_by(97) {
                let (result, sink) = decode_stream(&stream[..cut]);
                assert!(result.is_err() || !sink.rejections.is_empty() || cut == 0);
                let _ = sniff(&stream[..cut]);
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        // Every fixture with one byte flipped to each of a few values: errors, not panics.
        let bytes = fixture("otel-genai-python/traces.pb");
        for at in (0..bytes.len()).step_by(13) {
            for value in [0x00, 0x07, 0x0b, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[at] = value;
                let _ = parse_message(&mut &b[..], &mut Collect::default());
                let _ = streamed(&b);
                let _ = parse_stream(&mut &b[..], &mut Collect::default());
                let _ = sniff(&b);
            }
        }
    }

    #[test]
    fn sniff_tells_traces_from_logs_and_from_anything_else() {
        for input in [
            &b""[..],
            b"this is not json\n",
            b"a,b,c\n1,2,3\n",
            b"{\"resourceSpans\": []}",
            b"[1, 2]",
            b"\n\n\nabc",
            b"\n \n\n",
            b"\n\x02\n\x00",
            &[0x0a],
            &[0x0a, 0x05],
        ] {
            assert_eq!(sniff(input), None, "{:?}", String::from_utf8_lossy(input));
        }
        for (pb, json) in FIXTURES {
            let bytes = fixture(pb);
            assert_eq!(sniff(&bytes), Some(Format::OtlpProto), "{pb}");
            // A message longer than the head is judged by what fits.
            assert_eq!(
                sniff(&bytes[..bytes.len() / 2]),
                Some(Format::OtlpProto),
                "{pb}"
            );
            let stream = stream_of(&[&bytes, &bytes, &bytes]);
            assert_eq!(sniff(&stream), Some(Format::OtlpProtoStream), "{pb}");
            assert_eq!(
                sniff(&stream[..stream.len() / 2]),
                Some(Format::OtlpProtoStream)
            );
            assert_eq!(sniff(&fixture(json)), None, "{json}");
        }
        // OTLP logs share the outer structure; their records tell them apart from spans.
        let logs = fixture("otel-genai-python/logs.pb");
        assert_eq!(sniff(&logs), Some(Format::OtlpLogsProto));
        assert_eq!(sniff(&logs[..logs.len() / 2]), Some(Format::OtlpLogsProto));
        // Length-delimited logs are not a format Assay reads, and are not taken for traces.
        assert_eq!(sniff(&stream_of(&[&logs])), None);
    }

    // --- Hand-built messages -------------------------------------------------------------------

    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn tag(number: u64, wire: u8) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, (number << 3) | u64::from(wire));
        out
    }

    fn len_field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = tag(number, LEN);
        put_varint(&mut out, bytes.len() as u64);
        out.extend_from_slice(bytes);
        out
    }

    fn varint_field(number: u64, v: u64) -> Vec<u8> {
        let mut out = tag(number, VARINT);
        put_varint(&mut out, v);
        out
    }

    fn fixed64_field(number: u64, v: u64) -> Vec<u8> {
        let mut out = tag(number, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
        out
    }

    fn kv(key: &str, any_value: &[u8]) -> Vec<u8> {
        [len_field(1, key.as_bytes()), len_field(2, any_value)].concat()
    }

    /// A span attribute (field 9).
    fn attr(key: &str, any_value: &[u8]) -> Vec<u8> {
        len_field(9, &kv(key, any_value))
    }

    /// A valid span's fields with `extra` appended.
    fn span(id: u8, extra: &[Vec<u8>]) -> Vec<u8> {
        let mut fields = vec![
            len_field(1, &[0xab; 16]),
            len_field(2, &[0, 0, 0, 0, 0, 0, 0, id]),
            len_field(5, b"op"),
            fixed64_field(7, 1_000),
            fixed64_field(8, 2_000),
        ];
        fields.extend_from_slice(extra);
        fields.concat()
    }

    fn traces(spans: &[Vec<u8>]) -> Vec<u8> {
        let spans: Vec<u8> = spans.iter().flat_map(|s| len_field(2, s)).collect();
        len_field(1, &len_field(2, &spans))
    }

    #[test]
    fn ids_times_and_strings_are_checked_per_span() {
        let msg = traces(&[
            span(1, &[]),
            span(2, &[len_field(1, &[0xab; 15])]),
            span(3, &[len_field(2, &[0; 8])]),
            span(4, &[len_field(4, &[1; 4])]),
            span(5, &[fixed64_field(8, 500)]),
            span(6, &[len_field(5, b"bad \xff name")]),
            span(7, &[attr("k", &len_field(1, b"\xc3\x28"))]),
            span(8, &[fixed64_field(7, 0)]),
            span(9, &[len_field(4, b"")]),
            span(10, &[fixed64_field(8, 0)]),
        ]);
        let sink = decode(&msg);
        let fields: Vec<_> = sink
            .rejections
            .iter()
            .map(|r| r.field.as_deref().unwrap_or("-"))
            .collect();
        assert_eq!(
            fields,
            [
                "traceId",
                "spanId",
                "parentSpanId",
                "endTimeUnixNano",
                "name",
                "k",
                "startTimeUnixNano"
            ]
        );
        assert!(sink.rejections[0].message.contains("15 bytes"));
        assert!(sink.rejections[0]
            .location
            .starts_with("resourceSpans[0].scopeSpans[0].spans[1] at byte "));
        // The invalid byte's offset: the name's value starts 4 bytes in, the bad byte 4 after.
        let name_at = msg.windows(4).position(|w| w == b"bad ").unwrap();
        assert_eq!(
            sink.rejections[4].message,
            format!("invalid UTF-8 at byte {}", name_at + 4)
        );
        let ids: Vec<_> = sink.spans.iter().map(|s| s.span_id.as_str()).collect();
        assert_eq!(
            ids,
            ["0000000000000001", "0000000000000009", "000000000000000a"]
        );
        assert_eq!(sink.spans[0].trace_id, "ab".repeat(16));
        assert_eq!(
            sink.spans[1].parent_span_id, None,
            "an empty parent is a root"
        );
        assert_eq!(sink.spans[2].end_ns, None, "end 0 is still open");
    }

    #[test]
    fn values_become_the_json_importers_values() {
        let array = len_field(
            5,
            &[
                len_field(1, &len_field(1, b"a")),
                len_field(1, &varint_field(3, (-7i64) as u64)),
                len_field(1, &varint_field(2, 1)),
                len_field(1, b""),
            ]
            .concat(),
        );
        let kvlist = len_field(
            6,
            &len_field(
                1,
                &[
                    len_field(1, b"inner"),
                    len_field(2, &fixed64_field(4, 2.5f64.to_bits())),
                ]
                .concat(),
            ),
        );
        let msg = traces(&[span(
            1,
            &[
                attr("array", &array),
                attr("kvlist", &kvlist),
                attr("bytes", &len_field(7, b"hello")),
                attr("nan", &fixed64_field(4, f64::NAN.to_bits())),
                attr("whole", &fixed64_field(4, 3.0f64.to_bits())),
                // No value at all is null; a later duplicate key wins.
                len_field(9, &len_field(1, b"none")),
                attr("dup", &len_field(1, b"first")),
                attr("dup", &len_field(1, b"second")),
            ],
        )]);
        let sink = decode(&msg);
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);
        let attrs = &sink.spans[0].payload.attributes;
        assert_eq!(attrs["array"], serde_json::json!(["a", -7, true, null]));
        assert_eq!(attrs["kvlist"], serde_json::json!({"inner": 2.5}));
        assert_eq!(attrs["bytes"], serde_json::json!("aGVsbG8="));
        assert_eq!(attrs["nan"], serde_json::json!("NaN"));
        assert_eq!(attrs["whole"], serde_json::json!(3.0));
        assert_eq!(attrs["none"], Value::Null);
        assert_eq!(attrs["dup"], serde_json::json!("second"));
    }

    #[test]
    fn the_same_span_decodes_like_its_json() {
        // Resource after the spans, status, an event, and unknown fields of every wire type.
        let unknown = [
            varint_field(99, 5),
            fixed64_field(98, 1),
            len_field(97, b"xyz"),
            [tag(96, FIXED32), vec![1, 2, 3, 4]].concat(),
        ]
        .concat();
        let event = [
            fixed64_field(1, 1_500),
            len_field(2, b"exception"),
            len_field(
                3,
                &[
                    len_field(1, b"exception.type"),
                    len_field(2, &len_field(1, b"E")),
                ]
                .concat(),
            ),
            unknown.clone(),
        ]
        .concat();
        let status = [len_field(2, b"boom"), varint_field(3, 2), unknown.clone()].concat();
        let span = [
            span(1, &[]),
            len_field(4, &[0x12; 8]),
            attr("gen_ai.request.model", &len_field(1, b"gpt-4o")),
            attr("gen_ai.usage.input_tokens", &varint_field(3, 12)),
            len_field(11, &event),
            len_field(15, &status),
            unknown.clone(),
        ]
        .concat();
        let resource = len_field(
            1,
            &[
                len_field(1, &kv("service.name", &len_field(1, b"svc"))),
                unknown.clone(),
            ]
            .concat(),
        );
        let scope_spans = [
            len_field(1, &len_field(1, b"scope")),
            len_field(2, &span),
            unknown.clone(),
        ]
        .concat();
        let msg = len_field(
            1,
            &[len_field(2, &scope_spans), resource, unknown.clone()].concat(),
        );
        let msg = [msg, unknown].concat();
        let sink = decode(&msg);
        assert!(sink.rejections.is_empty(), "{:?}", sink.rejections);

        let json = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
            "scopeSpans":[{"scope":{"name":"scope"},"spans":[{"traceId":"abababababababababababababababab","spanId":"0000000000000001",
            "parentSpanId":"1212121212121212","name":"op","startTimeUnixNano":"1000","endTimeUnixNano":"2000",
            "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}],
            "events":[{"timeUnixNano":"1500","name":"exception","attributes":[{"key":"exception.type","value":{"stringValue":"E"}}]}],
            "status":{"code":2,"message":"boom"}}]}]}]}"#;
        let mut from_json = Collect::default();
        crate::import::otlp_json::parse_document(json, "", &mut from_json).unwrap();
        assert_eq!(sink.spans, from_json.spans);
        assert_eq!(sink.spans[0].service.as_deref(), Some("svc"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        // A group inside a span rejects that span.
        let msg = traces(&[span(1, &[tag(20, 3)]), span(2, &[])]);
        let sink = decode(&msg);
        assert_eq!(sink.spans.len(), 1);
        assert!(sink.rejections[0].message.contains("groups"));
        // A group at the top level breaks the message.
        let mut sink = Collect::default();
        let result = parse_message(
            &mut &[traces(&[span(1, &[])]), tag(20, 4)].concat()[..],
            &mut sink,
        );
        assert!(matches!(result, Err(ParseError::Input(m)) if m.contains("groups")));
        assert!(sink.spans.is_empty(), "a broken message emits nothing");
        // Values nested past the limit are refused without exhausting the stack.
        let mut value = len_field(1, b"deep");
        for _ in 0..10_000 {
            value = len_field(5, &len_field(1, &value));
        }
        let sink = decode(&traces(&[span(1, &[attr("deep", &value)])]));
        assert_eq!(sink.rejections[0].field.as_deref(), Some("deep"));
        assert!(sink.rejections[0].message.contains("nested too deeply"));
        // A wrong wire type for a known field.
        let sink = decode(&traces(&[span(1, &[varint_field(5, 1)])]));
        assert!(sink.rejections[0].message.contains("wrong wire type"));
        // A bad resource rejects its spans.
        let resource = len_field(1, &len_field(1, &[len_field(1, b"k\xff")].concat()));
        let msg = len_field(
            1,
            &[resource, len_field(2, &len_field(2, &span(1, &[])))].concat(),
        );
        let sink = decode(&msg);
        assert!(sink.spans.is_empty());
        assert_eq!(sink.rejections[0].field.as_deref(), Some("k\u{fffd}"));
        assert!(sink.rejections[0]
            .message
            .starts_with("resource attribute: invalid UTF-8"));
    }

    #[test]
    fn base64_matches_the_standard() {
        for (input, output) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\xfd", "//79"),
        ] {
            assert_eq!(base64(input), output);
        }
    }

    #[test]
    fn imports_end_to_end_with_detection() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("assay.db")).unwrap();
        // Gzip is undone before detection.
        let gz = std::fs::read(format!(
            "{}/../../tests/fixtures/otlp/langfuse-python/traces.pb.gz",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let report = crate::import::import_bytes(&mut store, "langfuse", &gz).unwrap();
        assert_eq!(report.format, Format::OtlpProto);
        assert!(report.compressed);
        assert_eq!(
            report.spans_read as usize,
            decode(&fixture("langfuse-python/traces.pb.gz")).spans.len()
        );
        assert_eq!(report.rejected_count, 0);

        let a = fixture("openllmetry-python/traces.pb");
        let stream = stream_of(&[&a, &a]);
        let report = crate::import::import_bytes(&mut store, "stream", &stream).unwrap();
        assert_eq!(report.format, Format::OtlpProtoStream);
        let spans = decode(&a).spans.len() as u64;
        assert_eq!(report.spans_read, 2 * spans);
        // The second message repeats the first: the same spans, merged.
        assert_eq!(report.spans_new, spans);
    }
}
