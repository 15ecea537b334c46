//! Importers: trace data in known formats -> normalised spans in the store.
//!
//! A parser reads a stream and hands each span (or each bad record) to a [`Sink`]; the store sink
//! writes spans in batches. **Invariants:**
//! - A whole-document format (one JSON document, one protobuf message) is written in one
//!   transaction, so a document that turns out to be broken changes nothing. A record-stream
//!   format (JSON lines, length-delimited protobuf) writes every [`BATCH`] spans, so memory stays
//!   flat however large the file, and commits every [`BATCHES_PER_COMMIT`] batches; an
//!   interrupted import leaves whole commits, and running it again completes it (span identity
//!   makes every write idempotent, see [`crate::store::spans`]).
//! - A bad record is reported with its location (line, byte offset or path) and field, and the
//!   rest of the input still imports.
//! - Formats are detected from the content, never only from the file name.
//!
//! To add a format: a module with `sniff(head) -> bool` and `parse(reader, sink)`, a [`Format`]
//! variant, and a line in [`detect`] and [`parse`].

mod json_records;
mod langfuse;
mod langsmith;
pub mod normalize;
mod otlp_json;
mod otlp_logs;
mod otlp_proto;
mod promptfoo;
mod request_log;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{Span, SpanEvent};
use crate::store::spans::PreparedSpan;
use crate::store::{spans, traces, Store};

/// Spans per write batch for record-stream formats (see [`BATCHES_PER_COMMIT`]).
pub const BATCH: usize = 20_000;

/// Write batches per transaction. Each commit writes every page it dirtied to the WAL, and the
/// identity index and the trace rows are keyed by random ids, so a commit rewrites most of their
/// pages however few rows it adds: committing every 200,000 spans instead of every 20,000
/// writes a tenth of those pages. Memory stays bounded by [`BATCH`] (SQLite's page cache spills
/// what does not fit). A transaction also commits once it is [`COMMIT_AFTER`] old, so readers
/// (the explorer during a long import) see progress every few seconds on any machine.
pub const BATCHES_PER_COMMIT: u32 = 10;

/// The longest a batch stays uncommitted.
const COMMIT_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// How many bytes detection looks at.
const SNIFF_BYTES: usize = 64 * 1024;

/// A span as parsed from an OTLP source, before its attributes are mapped onto the span model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawSpan {
    /// Lowercase hex trace id.
    pub trace_id: String,
    /// Lowercase hex span id.
    pub span_id: String,
    /// Parent span id.
    pub parent_span_id: Option<String>,
    /// Span name.
    pub name: String,
    /// Start (ns since epoch).
    pub start_ns: i64,
    /// End (ns since epoch), if the span has ended.
    pub end_ns: Option<i64>,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    pub status_code: i64,
    /// Status message.
    pub status_message: Option<String>,
    /// Span attributes as plain JSON.
    pub attributes: Map<String, Value>,
    /// Resource attributes as plain JSON, shared by the resource's spans.
    pub resource: Arc<Map<String, Value>>,
    /// Span events.
    pub events: Vec<SpanEvent>,
}

/// A record that could not be imported, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Where in the input: a line, a byte offset, and/or a path into the document.
    pub location: String,
    /// The offending field, when one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Where a parser puts what it reads.
pub trait Sink {
    /// A parsed span. An error here is the store's, and stops the import.
    fn span(&mut self, span: Span) -> Result<()>;
    /// A record that could not be imported; the parser goes on with the next one.
    fn reject(&mut self, rejection: Rejection);
    /// The parser found the input to be `format` (e.g. JSON lines whose first line was too
    /// long for detection to see whole). Record streams may then be committed in batches.
    fn found_format(&mut self, _format: Format) {}
    /// The document is too large to hold and is read as it streams: what was parsed may be
    /// written in batches, and a broken part further on no longer undoes it.
    fn write_in_batches(&mut self) {}
}

/// The formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Format {
    /// One OTLP/JSON `TracesData` document.
    OtlpJson,
    /// OTLP/JSON, one `TracesData` per line (the collector's file exporter).
    OtlpJsonl,
    /// One binary protobuf `TracesData` (`ExportTraceServiceRequest`), as OTLP/HTTP sends it.
    OtlpProto,
    /// Binary protobuf `TracesData` messages, each preceded by its varint length.
    OtlpProtoStream,
    /// OTLP/JSON logs (one document, or one per line) whose records carry GenAI content
    /// (`gen_ai.client.inference.operation.details`), merged into the spans they belong to.
    OtlpLogsJson,
    /// One binary protobuf `LogsData` (`ExportLogsServiceRequest`) of such records.
    OtlpLogsProto,
    /// A Langfuse export of traces and/or observations as JSON.
    LangfuseJson,
    /// A Langfuse export, one trace or observation per line.
    LangfuseJsonl,
    /// A Langfuse export as CSV (observations, or traces).
    LangfuseCsv,
    /// LangSmith runs as JSON: an array of runs, or `/runs/batch` bodies (`post`/`patch`).
    LangsmithJson,
    /// LangSmith runs, one per line.
    LangsmithJsonl,
    /// promptfoo results (`promptfoo eval -o results.json`, v3).
    PromptfooJson,
    /// Generic request logs, one JSON object per line: an OpenAI-style request and response
    /// with timing.
    RequestLogJsonl,
}

impl Format {
    /// Every format, for `--format` and help.
    pub const ALL: &'static [Format] = &[
        Format::OtlpJson,
        Format::OtlpJsonl,
        Format::OtlpProto,
        Format::OtlpProtoStream,
        Format::OtlpLogsJson,
        Format::OtlpLogsProto,
        Format::LangfuseJson,
        Format::LangfuseJsonl,
        Format::LangfuseCsv,
        Format::LangsmithJson,
        Format::LangsmithJsonl,
        Format::PromptfooJson,
        Format::RequestLogJsonl,
    ];

    /// The format's name, as shown, stored and accepted by `--format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OtlpJson => "otlp_json",
            Format::OtlpJsonl => "otlp_jsonl",
            Format::OtlpProto => "otlp_proto",
            Format::OtlpProtoStream => "otlp_proto_stream",
            Format::OtlpLogsJson => "otlp_logs_json",
            Format::OtlpLogsProto => "otlp_logs_proto",
            Format::LangfuseJson => "langfuse_json",
            Format::LangfuseJsonl => "langfuse_jsonl",
            Format::LangfuseCsv => "langfuse_csv",
            Format::LangsmithJson => "langsmith_json",
            Format::LangsmithJsonl => "langsmith_jsonl",
            Format::PromptfooJson => "promptfoo_json",
            Format::RequestLogJsonl => "request_log_jsonl",
        }
    }

    /// Parses a `--format` value.
    pub fn parse_name(name: &str) -> Option<Format> {
        let name = name.replace('-', "_");
        Format::ALL.iter().copied().find(|f| f.as_str() == name)
    }

    /// Whether the format is a stream of independent records (committed in batches).
    fn is_record_stream(self) -> bool {
        matches!(
            self,
            Format::OtlpJsonl
                | Format::OtlpProtoStream
                | Format::LangfuseJsonl
                | Format::LangfuseCsv
                | Format::LangsmithJsonl
                | Format::RequestLogJsonl
        )
    }
}

/// What importing one input did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReport {
    /// The file (or `-` for standard input).
    pub source: String,
    /// The format it was read as.
    pub format: Format,
    /// Whether it was gzip-compressed.
    pub compressed: bool,
    /// Distinct traces the input touched.
    pub traces: u64,
    /// Spans read (good ones).
    pub spans_read: u64,
    /// Spans that were new to the store.
    pub spans_new: u64,
    /// Spans already stored, merged with what the input said (a re-import counts nothing twice).
    pub spans_merged: u64,
    /// Of the spans already stored, those the input changed nothing in: sent again as they
    /// were, and left as they are.
    #[serde(default)]
    pub spans_unchanged: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Records that could not be imported, with their locations (the first 1,000).
    pub rejected: Vec<Rejection>,
    /// How many records were rejected in all.
    pub rejected_count: u64,
}

/// Progress of an import, reported after each committed batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Spans written so far in this input.
    pub spans: u64,
    /// Bytes read so far in this input (after decompression).
    pub bytes: u64,
}

/// How to import.
#[derive(Default)]
pub struct ImportOptions<'a> {
    /// Read as this format instead of detecting it.
    pub format: Option<Format>,
    /// Called after each committed batch.
    pub progress: Option<&'a mut dyn FnMut(Progress)>,
    /// The workspace's `[attribution]` mapping.
    pub attribution: Option<crate::workspace::AttributionMap>,
    /// Prices for model calls (default: the shipped catalogue).
    pub catalogue: Option<std::sync::Arc<crate::cost::Catalogue>>,
}

/// Imports one file.
pub fn import_file(
    store: &mut Store,
    path: &Path,
    options: ImportOptions<'_>,
) -> Result<ImportReport> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::Import {
        source_name: source.clone(),
        message: io_message(&e),
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::Import {
            source_name: source,
            message: "is a folder".to_owned(),
        });
    }
    import_reader(store, &source, file, options)
}

/// Imports an in-memory document (`source` names it in reports and errors).
pub fn import_bytes(store: &mut Store, source: &str, bytes: &[u8]) -> Result<ImportReport> {
    import_reader(store, source, bytes, ImportOptions::default())
}

/// Imports from any reader: detects compression and format, parses, writes.
pub fn import_reader(
    store: &mut Store,
    source: &str,
    reader: impl Read + Send,
    mut options: ImportOptions<'_>,
) -> Result<ImportReport> {
    let fail = |message: String| Error::Import {
        source_name: source.to_owned(),
        message,
    };
    let mut raw = BufReader::with_capacity(256 * 1024, reader);
    let compressed = raw
        .fill_buf()
        .map_err(|e| fail(io_message(&e)))?
        .starts_with(&[0x1f, 0x8b]);
    // Decompressed transparently; the tally (bytes, hash) counts the content, so the same data
    // gzipped or not is known to be the same.
    let inner: Box<dyn Read + Send + '_> = if compressed {
        Box::new(flate2::bufread::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut input = BufReader::with_capacity(
        256 * 1024,
        TallyingReader {
            inner,
            tally: Arc::clone(&tally),
        },
    );
    let head = peek(&mut input, SNIFF_BYTES).map_err(|e| fail(io_message(&e)))?;
    let format = match options.format {
        Some(f) => f,
        None => detect(&head).map_err(|message| Error::UnknownFormat {
            source_name: source.to_owned(),
            message,
        })?,
    };

    // Declared before the sink, so it stops after the sink has committed and built indexes.
    let _checkpoints = store.checkpoint_in_background()?;
    let mut sink = StoreSink::new(store, source, format, Arc::clone(&tally));
    sink.progress = options.progress.take();
    let attribution = options.attribution.take().filter(|m| !m.is_empty());
    let catalogue = options
        .catalogue
        .take()
        .or_else(crate::cost::builtin_shared);
    sink.catalogue = catalogue.clone();
    // Two stages on two threads: this one writes to the store while a parser thread reads,
    // parses and normalises the next batch.
    // Room for a whole write batch, so the parser keeps going while the writer commits.
    let (sender, receiver) = mpsc::sync_channel::<Parsed>(BATCH / PIPE_BATCH + 2);
    // Written batches go back to the parser thread, which frees them: memory its allocator
    // gave out returns to it, to be reused for the next spans.
    let (spent_sender, spent) = mpsc::channel::<Vec<Vec<PreparedSpan>>>();
    sink.freer = Some(spent_sender);
    let parsed = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut channel = ChannelSink {
                sender,
                spent,
                batch: Vec::with_capacity(PIPE_BATCH),
                attribution,
                catalogue,
                resources: Default::default(),
            };
            let result = parse(format, &mut input, &mut channel);
            let flushed = channel.flush();
            result.and(flushed.map_err(ParseError::Store))
        });
        let mut written: Result<()> = Ok(());
        loop {
            let began = Instant::now();
            let Ok(message) = receiver.recv() else {
                break;
            };
            sink.waited += began.elapsed();
            match message {
                Parsed::Spans(spans) => written = sink.spans(spans),
                Parsed::Reject(r) => sink.reject(r),
                Parsed::Format(f) => sink.found_format(f),
                Parsed::InBatches => sink.write_in_batches(),
            }
            if written.is_err() {
                // Dropping the receiver stops the parser at its next send.
                break;
            }
        }
        drop(receiver);
        let parsed = parser
            .join()
            .unwrap_or_else(|_| Err(ParseError::Input("the parser stopped unexpectedly".into())));
        written.map(|()| parsed)
    })?;
    match parsed {
        Ok(()) => {}
        Err(ParseError::Store(e)) => return Err(e),
        Err(ParseError::Input(message)) => return Err(fail(message)),
    }
    if sink.spans_read == 0 && sink.rejected_count > 0 {
        let first = &sink.rejected[0];
        return Err(fail(format!(
            "no span could be imported; {} rejected, the first at {}: {}{}",
            sink.rejected_count,
            first.location,
            first
                .field
                .as_deref()
                .map(|f| format!("{f}: "))
                .unwrap_or_default(),
            first.message
        )));
    }
    let mut report = sink.finish()?;
    report.compressed = compressed;
    Ok(report)
}

/// Why a parse stopped.
#[derive(Debug)]
pub(crate) enum ParseError {
    /// The input as a whole is unusable (its message names the place).
    Input(String),
    /// Writing to the store failed.
    Store(Error),
}

impl From<Error> for ParseError {
    fn from(e: Error) -> Self {
        ParseError::Store(e)
    }
}

/// A document (one OTLP/JSON document, one protobuf message) up to this size is read whole and
/// written in one transaction, so a broken one changes nothing; a larger one is parsed as it
/// streams and written in batches, so memory stays flat however large it is.
pub(crate) const WHOLE_UP_TO: u64 = 32 << 20;

/// A document as [`whole_or_streamed`] found it.
pub(crate) enum Document<'r> {
    /// It ended within the limit: all of it.
    Whole(Vec<u8>),
    /// It goes on: what was read, then the rest of the input.
    Streamed(StreamedInput<'r>),
}

/// A document too large to hold: what was read of it, then the rest of the input.
pub(crate) type StreamedInput<'r> =
    BufReader<std::io::Chain<std::io::Cursor<Vec<u8>>, &'r mut dyn BufRead>>;

/// A JSON input, as its first line tells.
pub(crate) enum JsonInput<'r> {
    /// JSON lines: the first line (a complete value, and more follows), the rest still to read.
    Lines(Vec<u8>),
    /// One document (see [`whole_or_streamed`]).
    Document(Document<'r>),
}

/// Reads the first line of a JSON input (up to `limit` bytes): when it is a complete value and
/// more follows, the input is JSON lines; else it is one document, read whole up to `limit`.
pub(crate) fn lines_or_document(
    reader: &mut dyn BufRead,
    limit: u64,
) -> std::result::Result<JsonInput<'_>, ParseError> {
    let read_error = |e: std::io::Error| ParseError::Input(io_message(&e));
    let mut bytes = Vec::new();
    (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut bytes)
        .map_err(read_error)?;
    let more = !reader
        .fill_buf()
        .map_err(read_error)?
        .iter()
        .all(u8::is_ascii_whitespace);
    if more && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
        return Ok(JsonInput::Lines(bytes));
    }
    whole_or_streamed(reader, bytes, limit).map(JsonInput::Document)
}

/// Reads the rest of a document after `bytes` (what was read of it already) while it fits in
/// `limit` bytes: whole when the input ends there, else to be parsed as it streams.
pub(crate) fn whole_or_streamed<'r>(
    reader: &'r mut dyn BufRead,
    mut bytes: Vec<u8>,
    limit: u64,
) -> std::result::Result<Document<'r>, ParseError> {
    let read_error = |e: std::io::Error| ParseError::Input(io_message(&e));
    let room = limit.saturating_sub(bytes.len() as u64);
    (&mut *reader)
        .take(room)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if reader.fill_buf().map_err(read_error)?.is_empty() {
        return Ok(Document::Whole(bytes));
    }
    let rest = std::io::Cursor::new(bytes).chain(reader);
    Ok(Document::Streamed(BufReader::with_capacity(
        256 * 1024,
        rest,
    )))
}

/// The rest of the input, for whole-document formats (one JSON document, one protobuf message).
pub(crate) fn read_all(reader: &mut dyn BufRead) -> std::result::Result<Vec<u8>, ParseError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| ParseError::Input(io_message(&e)))?;
    Ok(bytes)
}

/// One JSON document of type `T`; an error names the path of the bad field
/// (`resourceSpans[0].scopeSpans[0].spans[0].name: invalid type ...`).
///
/// A document is read first by `sonic_rs`, whose SIMD scanner parses a month of OTLP JSON lines
/// in about 12% less time than `serde_json`; it drives the same `Deserialize` impls, reads
/// every value as `serde_json` does (floats included: both round correctly) and refuses what
/// `serde_json` refuses (invalid UTF-8, lone surrogates, control characters, trailing bytes).
/// Only a document it refuses is read again by `serde_json`, which tracks the path and words
/// the error.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> std::result::Result<T, ParseError> {
    if let Ok(value) = sonic_rs::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ParseError::Input(if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
    })?;
    de.end().map_err(|e| ParseError::Input(e.to_string()))?;
    Ok(value)
}

/// One JSON value (a record of JSON lines), read as [`from_json`] reads a document: by
/// `sonic_rs`, and by `serde_json` again for the error of a record it refuses.
pub(crate) fn json_value(
    bytes: &[u8],
) -> std::result::Result<serde_json::Value, serde_json::Error> {
    sonic_rs::from_slice(bytes).or_else(|_| serde_json::from_slice(bytes))
}

/// Parses `reader` as `format` into any sink, without a store: for tools and benchmarks that
/// measure or inspect parsing alone. The error is the input's problem, as text.
pub fn parse_into(
    format: Format,
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> std::result::Result<(), String> {
    parse_into_up_to(format, reader, sink, WHOLE_UP_TO)
}

/// [`parse_into`] with the size up to which a single document or message is read whole: a
/// larger one is parsed as it streams. The importers use 32 MB; 0 streams every document, so
/// that small inputs (tests, fuzzing) reach the streaming readers too.
pub fn parse_into_up_to(
    format: Format,
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
    whole_up_to: u64,
) -> std::result::Result<(), String> {
    match parse_up_to(format, reader, sink, whole_up_to) {
        Ok(()) => Ok(()),
        Err(ParseError::Input(m)) => Err(m),
        Err(ParseError::Store(e)) => Err(e.to_string()),
    }
}

fn parse(
    format: Format,
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
) -> std::result::Result<(), ParseError> {
    parse_up_to(format, reader, sink, WHOLE_UP_TO)
}

fn parse_up_to(
    format: Format,
    reader: &mut dyn BufRead,
    sink: &mut dyn Sink,
    whole_up_to: u64,
) -> std::result::Result<(), ParseError> {
    match format {
        Format::OtlpJson => otlp_json::parse_document_reader_up_to(reader, sink, whole_up_to),
        Format::OtlpJsonl => otlp_json::parse_lines(reader, sink),
        Format::OtlpProto => otlp_proto::parse_message_up_to(reader, sink, whole_up_to),
        Format::OtlpProtoStream => otlp_proto::parse_stream(reader, sink),
        Format::OtlpLogsJson => otlp_logs::parse_document_reader(reader, sink),
        Format::OtlpLogsProto => otlp_proto::parse_logs_message(reader, sink),
        Format::LangfuseJson => langfuse::parse_json_up_to(reader, sink, whole_up_to),
        Format::LangfuseJsonl => langfuse::parse_jsonl(reader, sink),
        Format::LangfuseCsv => langfuse::parse_csv(reader, sink),
        Format::LangsmithJson => langsmith::parse_json_up_to(reader, sink, whole_up_to),
        Format::LangsmithJsonl => langsmith::parse_jsonl(reader, sink),
        Format::PromptfooJson => promptfoo::parse_json(reader, sink),
        Format::RequestLogJsonl => request_log::parse_jsonl(reader, sink),
    }
}

/// Detects the format from the first bytes of the (decompressed) input.
pub fn detect(head: &[u8]) -> std::result::Result<Format, String> {
    // Binary protobuf first, on the raw bytes: it has no magic number, its first byte (0x0a)
    // reads as whitespace to the text formats, and its structural check is strict enough never
    // to claim text.
    if let Some(format) = otlp_proto::sniff(head) {
        return Ok(format);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some(first) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err("the file is empty".to_owned());
    };
    let text = &head[first..];
    if otlp_json::sniff(text) {
        return Ok(if otlp_json::first_line_is_whole_document(text) {
            Format::OtlpJsonl
        } else {
            Format::OtlpJson
        });
    }
    if otlp_logs::sniff(text) {
        return Ok(Format::OtlpLogsJson);
    }
    // Peer formats, most specific first.
    if let Some(format) = promptfoo::sniff(text)
        .or_else(|| langsmith::sniff(text))
        .or_else(|| langfuse::sniff(text))
        .or_else(|| request_log::sniff(text))
    {
        return Ok(format);
    }
    if head[first] == b'{' || head[first] == b'[' {
        return Err(
            "JSON, but not a format Assay reads (OTLP traces need \"resourceSpans\"); pass --format to choose one"
                .to_owned(),
        );
    }
    Err(format!(
        "not a trace format Assay reads: expected JSON, found {} at byte {first}",
        describe_byte(head[first])
    ))
}

/// Whether an import into an empty store keeps the trace list's filter indexes up to date as it
/// writes, or drops them and builds them once at its end. Building costs less in all (about a
/// second for a month of traces, on one core after the parsing is done); keeping them costs
/// the writer more, but while the writer waits for the parser (JSON is slower to parse than it
/// is to write) that work is free and the build at the end is saved. So the writer keeps them,
/// and drops them once it turns out to be the slower stage: over the spans from
/// [`IndexPlan::WINDOW_FROM`] to [`IndexPlan::WINDOW_TO`] (past the start, where the parser
/// fills the pipe) it waited less than [`IndexPlan::IDLE_SHARE`] of the time. It drops them as
/// well, at any batch, once most of a batch's traces rewrite their rows (spans of traces
/// written earlier, such as the trace roots a Langfuse export gives at its end): a rewritten
/// row moves in every index, which costs more than the build at the end. The trace ids' index
/// goes with them (see `traces::drop_filter_indexes`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum IndexPlan {
    /// Keep them (the store held traces, the input is one document, or they are dropped).
    Keep,
    /// Watching the writer; `window`: when the window began and how long it had waited then.
    Undecided {
        window: Option<(Instant, std::time::Duration)>,
    },
    /// Kept while the writer waits for the parser, until batches rewrite trace rows.
    KeptWhileWriterWaits,
}

impl IndexPlan {
    const WINDOW_FROM: u64 = 60_000;
    const WINDOW_TO: u64 = 120_000;
    const IDLE_SHARE: f64 = 0.10;
    /// A batch of fewer traces says little about the input.
    const REWRITES_FROM_TRACES: usize = 1_000;

    /// Called after each batch's refresh; true once, when the indexes should be dropped because
    /// most of the batch's traces rewrote their rows.
    fn rewrites_dominate(&mut self, refreshed: traces::RefreshCounts) -> bool {
        let watching = matches!(
            self,
            IndexPlan::Undecided { .. } | IndexPlan::KeptWhileWriterWaits
        );
        let drop_now = watching
            && refreshed.traces >= Self::REWRITES_FROM_TRACES
            && refreshed.recomputed * 2 >= refreshed.traces;
        if drop_now {
            *self = IndexPlan::Keep;
        }
        drop_now
    }

    /// Called before each batch with the spans read and the writer's total wait so far; true
    /// once, when the indexes should be dropped.
    fn writer_is_slower(
        &mut self,
        spans_read: u64,
        waited: std::time::Duration,
        now: Instant,
    ) -> bool {
        let IndexPlan::Undecided { window } = *self else {
            return false;
        };
        match window {
            None if spans_read >= Self::WINDOW_FROM => {
                *self = IndexPlan::Undecided {
                    window: Some((now, waited)),
                };
                false
            }
            Some((began, waited_then)) if spans_read >= Self::WINDOW_TO => {
                let elapsed = now.duration_since(began).as_secs_f64();
                let idle = waited.saturating_sub(waited_then).as_secs_f64();
                let slower = elapsed > 0.0 && idle < Self::IDLE_SHARE * elapsed;
                *self = if slower {
                    IndexPlan::Keep
                } else {
                    IndexPlan::KeptWhileWriterWaits
                };
                slower
            }
            _ => false,
        }
    }
}

/// Writes parsed spans to the store in batches, [`BATCHES_PER_COMMIT`] batches per transaction.
struct StoreSink<'s, 'p> {
    store: &'s Store,
    /// The open transaction, between a batch and the commit, and when it began.
    tx: Option<(rusqlite::Transaction<'s>, Instant)>,
    /// Batches written in `tx`.
    batches_in_tx: u32,
    import_id: i64,
    record_stream: bool,
    /// The pending batch, in the chunks the parser sent (never moved span by span).
    batch: Vec<Vec<PreparedSpan>>,
    /// Spans in `batch`.
    pending: usize,
    /// The traces this import wrote spans of: counted, and their numbers kept for the writer.
    traces: spans::TraceNumbers,
    /// The users' monthly cost sums of `tx`, written before it commits.
    user_months: crate::store::cost::UserMonths,
    spans_read: u64,
    spans_new: u64,
    spans_merged: u64,
    spans_unchanged: u64,
    rejected: Vec<Rejection>,
    rejected_count: u64,
    source: String,
    format: Format,
    tally: Arc<Mutex<Tally>>,
    progress: Option<&'p mut dyn FnMut(Progress)>,
    committed_any: bool,
    /// Whether the trace list's filter indexes are dropped until this import ends.
    indexes_dropped: bool,
    /// Whether to keep those indexes up to date or drop them (see [`IndexPlan`]).
    index_plan: IndexPlan,
    /// How long the writer has waited for the parser so far.
    waited: std::time::Duration,
    /// Prices merged spans again.
    catalogue: Option<Arc<crate::cost::Catalogue>>,
    /// Whether this import turned the connection's foreign key checks off (see `flush`).
    foreign_keys_off: bool,
    /// Where written batches go to be freed (see `flush`): back to the parser thread, then,
    /// once it is done, to a thread of their own.
    freer: Option<mpsc::Sender<Vec<Vec<PreparedSpan>>>>,
}

impl Drop for StoreSink<'_, '_> {
    fn drop(&mut self) {
        // An import stopped by its input (a read error) keeps the whole batches it wrote, as if
        // each had been committed; one stopped by the store rolled back in `flush`.
        if let Some((tx, _)) = self.tx.take() {
            // Should its last sums not be written, the transaction rolls back as a whole.
            if self.user_months.write(&tx).is_ok() {
                let _ = tx.commit();
            }
        }
        // Whatever ended the import, the filter indexes come back (at the latest at next open).
        if self.indexes_dropped {
            let _ = traces::ensure_filter_indexes(self.store.conn());
        }
        if self.foreign_keys_off {
            let _ = self.store.conn().pragma_update(None, "foreign_keys", true);
        }
    }
}

impl<'s, 'p> StoreSink<'s, 'p> {
    fn new(store: &'s Store, source: &str, format: Format, tally: Arc<Mutex<Tally>>) -> Self {
        StoreSink {
            store,
            tx: None,
            batches_in_tx: 0,
            import_id: 0,
            record_stream: format.is_record_stream(),
            batch: Vec::new(),
            pending: 0,
            traces: Default::default(),
            user_months: Default::default(),
            spans_read: 0,
            spans_new: 0,
            spans_merged: 0,
            spans_unchanged: 0,
            rejected: Vec::new(),
            rejected_count: 0,
            source: source.to_owned(),
            format,
            tally,
            progress: None,
            committed_any: false,
            indexes_dropped: false,
            index_plan: IndexPlan::Keep,
            waited: std::time::Duration::ZERO,
            catalogue: None,
            foreign_keys_off: false,
            freer: None,
        }
    }

    /// Writes the pending batch (and the import's bookkeeping), and commits when the
    /// transaction holds [`BATCHES_PER_COMMIT`] batches or `last` says the import ends. A failed
    /// write rolls the whole transaction back.
    fn flush(&mut self, last: bool) -> Result<()> {
        let (tx, began) = match self.tx.take() {
            Some(open) => open,
            None => {
                // The writer sets every reference it writes itself (a payload's id is its
                // span's row, a span's import is this import's row), so checking them costs two
                // lookups per span for nothing. The sink holds the connection for the whole
                // import, and turns the checks back on when it ends (`Drop`); the pragma only
                // takes effect outside a transaction.
                if !self.foreign_keys_off {
                    self.store
                        .conn()
                        .pragma_update(None, "foreign_keys", false)?;
                    self.foreign_keys_off = true;
                }
                (self.store.conn().unchecked_transaction()?, Instant::now())
            }
        };
        let written = self.write_batch(&tx).and_then(|()| {
            self.batches_in_tx += 1;
            let commit =
                last || self.batches_in_tx >= BATCHES_PER_COMMIT || began.elapsed() >= COMMIT_AFTER;
            if commit {
                self.user_months.write(&tx)?;
            }
            Ok(commit)
        });
        let commit = match written {
            Ok(commit) => commit,
            Err(e) => {
                // Dropping `tx` rolls the whole transaction back, with the sums it held.
                self.batches_in_tx = 0;
                self.user_months.forget();
                return Err(e);
            }
        };
        if commit {
            tx.commit()?;
            self.batches_in_tx = 0;
        } else {
            self.tx = Some((tx, began));
        }
        self.committed_any = true;
        // Freeing 20,000 spans (a few dozen heap blocks each) costs the writer about a tenth of
        // its time, so another thread does it: the parser, which allocated them (a block freed
        // by the thread that allocated it costs the allocator least, and is reused at once);
        // once the parser is done, one thread for the rest of the import. (A new thread per
        // batch freed as fast, but the allocator kept what each one freed: a Langfuse export of
        // the month peaked at 410-455 MB instead of 345-381 MB.)
        if self.pending >= 1_000 {
            let spent = std::mem::take(&mut self.batch);
            let refused = match &self.freer {
                Some(freer) => freer.send(spent).err().map(|e| e.0),
                None => Some(spent),
            };
            // The parser is done (or there was none): a thread of their own frees the rest.
            if let Some(spent) = refused {
                let (sender, receiver) = mpsc::channel::<Vec<Vec<PreparedSpan>>>();
                std::thread::spawn(move || receiver.into_iter().for_each(drop));
                // Should the thread be gone, the batch comes back in the error and is freed here.
                let _ = sender.send(spent);
                self.freer = Some(sender);
            }
        } else {
            self.batch.clear();
        }
        self.pending = 0;
        if let Some(progress) = self.progress.as_mut() {
            progress(Progress {
                spans: self.spans_read,
                bytes: lock(&self.tally).bytes,
            });
        }
        Ok(())
    }

    /// Writes the pending batch and the import's bookkeeping inside `tx`.
    fn write_batch(&mut self, tx: &rusqlite::Transaction<'_>) -> Result<()> {
        let bytes = lock(&self.tally).bytes;
        if self.import_id == 0 {
            tx.execute(
                "INSERT INTO imports (source, format, content_hash, status, spans_read, spans_new,
                     spans_merged, rejected, started_at, finished_at)
                 VALUES (?1, ?2, '', 'running', 0, 0, 0, 0, ?3, NULL)",
                rusqlite::params![
                    self.source,
                    self.format.as_str(),
                    chrono::Utc::now().to_rfc3339()
                ],
            )?;
            self.import_id = tx.last_insert_rowid();
            // Into a store that holds traces already, keeping the trace list's indexes up to
            // date costs less than building them again over everything; into an empty one, it
            // depends on which stage is slower (see `IndexPlan`).
            let empty: bool =
                tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM traces)", [], |r| r.get(0))?;
            if self.record_stream && empty {
                self.index_plan = IndexPlan::Undecided { window: None };
            }
            // Into an empty store, a trace this import has not met is new: no lookups.
            self.traces.holds_every_stored_trace(empty);
        }
        if self
            .index_plan
            .writer_is_slower(self.spans_read, self.waited, Instant::now())
        {
            traces::drop_filter_indexes(tx)?;
            self.indexes_dropped = true;
        }
        fill_trace_attribution(&mut self.batch);
        let mut merged = Vec::new();
        let counts = spans::upsert_chunks(
            tx,
            &mut self.batch,
            self.import_id,
            &mut merged,
            &mut self.traces,
            &mut self.user_months,
        )?;
        // A merged span's cost follows from its merged usage and model.
        if let (false, Some(catalogue)) = (merged.is_empty(), &self.catalogue) {
            spans::reprice_rows(tx, &merged, catalogue)?;
        }
        let refreshed = traces::refresh(tx, self.batch.iter().flatten())?;
        if self.index_plan.rewrites_dominate(refreshed) {
            traces::drop_filter_indexes(tx)?;
            self.indexes_dropped = true;
        }
        self.spans_new += counts.new;
        self.spans_merged += counts.merged;
        self.spans_unchanged += counts.unchanged;
        tx.execute(
            "UPDATE imports SET spans_read = ?2, spans_new = ?3, spans_merged = ?4, rejected = ?5,
                 bytes = ?6 WHERE id = ?1",
            rusqlite::params![
                self.import_id,
                self.spans_read as i64,
                self.spans_new as i64,
                self.spans_merged as i64,
                self.rejected_count as i64,
                bytes as i64
            ],
        )?;
        Ok(())
    }

    fn finish(mut self) -> Result<ImportReport> {
        if !self.batch.is_empty() || !self.committed_any {
            self.flush(true)?;
        } else if let Some((tx, _)) = self.tx.take() {
            self.user_months.write(&tx)?;
            tx.commit()?;
        }
        if self.indexes_dropped {
            traces::ensure_filter_indexes(self.store.conn())?;
            self.indexes_dropped = false;
        }
        let (hash, bytes) = {
            let mut tally = lock(&self.tally);
            (
                format!("{:x}", std::mem::take(&mut tally.hash).finalize()),
                tally.bytes,
            )
        };
        self.store.conn().execute(
            "UPDATE imports SET status = 'done', content_hash = ?2, bytes = ?3, finished_at = ?4 WHERE id = ?1",
            rusqlite::params![self.import_id, hash, bytes as i64, chrono::Utc::now().to_rfc3339()],
        )?;
        Ok(ImportReport {
            source: std::mem::take(&mut self.source),
            format: self.format,
            compressed: false,
            traces: self.traces.len(),
            spans_read: self.spans_read,
            spans_new: self.spans_new,
            spans_merged: self.spans_merged,
            spans_unchanged: self.spans_unchanged,
            bytes,
            rejected: std::mem::take(&mut self.rejected),
            rejected_count: self.rejected_count,
        })
    }
}

impl StoreSink<'_, '_> {
    /// Takes a chunk of spans from the parser: a record stream writes a batch once [`BATCH`]
    /// spans are pending; a whole document collects them all.
    fn spans(&mut self, spans: Vec<PreparedSpan>) -> Result<()> {
        self.spans_read += spans.len() as u64;
        self.pending += spans.len();
        self.batch.push(spans);
        if self.record_stream && self.pending >= BATCH {
            self.flush(false)?;
        }
        Ok(())
    }

    fn found_format(&mut self, format: Format) {
        self.format = format;
        self.record_stream = format.is_record_stream();
    }

    fn write_in_batches(&mut self) {
        self.record_stream = true;
    }

    fn reject(&mut self, rejection: Rejection) {
        self.rejected_count += 1;
        if self.rejected.len() < 1000 {
            self.rejected.push(rejection);
        }
    }
}

/// Attribution is a property of the whole trace (instrumentations often set the user, session or
/// feature on the root span only): each span of the batch gets the keys it lacks from the other
/// spans of its trace in the batch, root first, so breakdowns by any key count every model call.
/// Values a span has are never replaced.
fn fill_trace_attribution(batch: &mut [Vec<PreparedSpan>]) {
    // One merged attribution per trace; `slot[i]` says which is span i's.
    let mut traces: Vec<crate::model::Attribution> = Vec::new();
    let mut slot = vec![0usize; batch.iter().map(Vec::len).sum()];
    {
        let mut by_trace: rustc_hash::FxHashMap<&str, usize> = Default::default();
        // A trace's spans mostly come one after another: the previous span's trace is checked
        // before the table.
        let mut previous: Option<(&str, usize)> = None;
        for (i, p) in batch.iter().flatten().enumerate() {
            let id = p.span.trace_id.as_str();
            let t = match previous {
                Some((last, t)) if last == id => t,
                _ => {
                    let next = traces.len();
                    let t = *by_trace.entry(id).or_insert(next);
                    if t == next {
                        traces.push(crate::model::Attribution::default());
                    }
                    t
                }
            };
            previous = Some((id, t));
            slot[i] = t;
        }
    }
    // Roots first, so a root's value wins over a child's.
    for roots in [true, false] {
        for (i, p) in batch.iter().flatten().enumerate() {
            if p.span.parent_span_id.is_none() == roots {
                fill_missing(&mut traces[slot[i]], &p.span.attribution);
            }
        }
    }
    for (i, p) in batch.iter_mut().flatten().enumerate() {
        fill_missing(&mut p.span.attribution, &traces[slot[i]]);
    }
}

/// Sets each key `into` lacks from `from`.
fn fill_missing(into: &mut crate::model::Attribution, from: &crate::model::Attribution) {
    for (slot, value) in [
        (&mut into.tenant, &from.tenant),
        (&mut into.endpoint, &from.endpoint),
        (&mut into.feature, &from.feature),
        (&mut into.user, &from.user),
        (&mut into.session, &from.session),
        (&mut into.environment, &from.environment),
        (&mut into.release, &from.release),
    ] {
        if slot.is_none() {
            slot.clone_from(value);
        }
    }
}

/// Spans per message from the parser thread to the writer.
const PIPE_BATCH: usize = 1_000;

/// What the parser thread hands to the writer.
enum Parsed {
    Spans(Vec<PreparedSpan>),
    Reject(Rejection),
    Format(Format),
    InBatches,
}

/// The parser thread's sink: applies the attribution mapping, serialises payloads, and sends
/// batches to the writer.
struct ChannelSink {
    sender: mpsc::SyncSender<Parsed>,
    /// Batches the writer is done with, freed here.
    spent: mpsc::Receiver<Vec<Vec<PreparedSpan>>>,
    batch: Vec<PreparedSpan>,
    attribution: Option<crate::workspace::AttributionMap>,
    catalogue: Option<Arc<crate::cost::Catalogue>>,
    resources: spans::Resources,
}

impl ChannelSink {
    fn send(&self, message: Parsed) -> Result<()> {
        self.sender.send(message).map_err(|_| Error::Import {
            source_name: String::new(),
            message: "the import stopped".into(),
        })
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.spent.try_iter().for_each(drop);
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(PIPE_BATCH));
        self.send(Parsed::Spans(batch))
    }
}

impl Sink for ChannelSink {
    fn span(&mut self, mut span: Span) -> Result<()> {
        if let Some(map) = &self.attribution {
            normalize::apply_attribution_map(&mut span, map);
        }
        // Priced here, on the parser thread, so the writer only writes.
        if let Some(catalogue) = &self.catalogue {
            crate::cost::apply_price(&mut span, catalogue);
        }
        self.batch
            .push(PreparedSpan::sharing(span, &mut self.resources));
        if self.batch.len() >= PIPE_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn reject(&mut self, rejection: Rejection) {
        // Keep the order of spans and rejections; a closed channel means the import stopped,
        // which the next span reports.
        let _ = self.flush();
        let _ = self.send(Parsed::Reject(rejection));
    }

    fn found_format(&mut self, format: Format) {
        let _ = self.flush();
        let _ = self.send(Parsed::Format(format));
    }

    fn write_in_batches(&mut self) {
        let _ = self.flush();
        let _ = self.send(Parsed::InBatches);
    }
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    // The tally holds plain counters: a panic elsewhere cannot leave it inconsistent.
    tally.lock().unwrap_or_else(|p| p.into_inner())
}

/// What has been read of the input: its length and content hash, computed as it streams by.
#[derive(Default)]
struct Tally {
    bytes: u64,
    hash: Sha256,
}

struct TallyingReader<R> {
    inner: R,
    tally: Arc<Mutex<Tally>>,
}

impl<R: Read> Read for TallyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut tally = lock(&self.tally);
        tally.bytes += n as u64;
        tally.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Returns up to `n` bytes from the front of `reader` without consuming them.
fn peek<R: BufRead>(reader: &mut R, n: usize) -> std::io::Result<Vec<u8>> {
    // BufReader::fill_buf returns at most its buffer; that is enough to sniff a format.
    let buf = reader.fill_buf()?;
    Ok(buf[..buf.len().min(n)].to_vec())
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

pub(crate) fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::InvalidData => format!("not valid UTF-8 text ({e})"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A span lacks only the keys it has no value for: it takes each from its trace's first root
    /// that has it, else from the first of its trace's spans that has it, wherever those are in
    /// the batch's chunks; no value is replaced, and other traces lend nothing.
    #[test]
    fn spans_take_the_keys_they_lack_from_their_trace_root_first() {
        let span = |trace: &str, id: &str, parent: Option<&str>, keys: &[(&str, &str)]| {
            let mut s = Span::new(trace.into(), id.into(), "step".into(), 1);
            s.parent_span_id = parent.map(str::to_owned);
            let a = &mut s.attribution;
            for (key, value) in keys {
                let slot = match *key {
                    "tenant" => &mut a.tenant,
                    "user" => &mut a.user,
                    "feature" => &mut a.feature,
                    "session" => &mut a.session,
                    other => panic!("{other}"),
                };
                *slot = Some((*value).to_owned());
            }
            PreparedSpan::new(s)
        };
        let mut batch = vec![
            vec![
                span(
                    "a",
                    "a-child-1",
                    Some("a-root"),
                    &[("tenant", "child-tenant")],
                ),
                span("c", "c-child-1", Some("c-root"), &[("session", "s1")]),
                span("b", "b-only", None, &[("user", "bob")]),
            ],
            vec![
                span(
                    "a",
                    "a-root",
                    None,
                    &[("tenant", "acme"), ("user", "ann"), ("feature", "f")],
                ),
                span("c", "c-root", None, &[]),
                span("a", "a-child-2", Some("a-root"), &[]),
                span("c", "c-child-2", Some("c-root"), &[("session", "s2")]),
                span("c", "c-child-3", Some("c-root"), &[]),
            ],
        ];
        fill_trace_attribution(&mut batch);
        let got: Vec<(String, [Option<String>; 4])> = batch
            .iter()
            .flatten()
            .map(|p| {
                let a = &p.span.attribution;
                let keys = [&a.tenant, &a.user, &a.feature, &a.session].map(Clone::clone);
                (p.span.span_id.clone(), keys)
            })
            .collect();
        let some = |v: &str| Some(v.to_owned());
        let expected = vec![
            (
                "a-child-1",
                [some("child-tenant"), some("ann"), some("f"), None],
            ),
            ("c-child-1", [None, None, None, some("s1")]),
            ("b-only", [None, some("bob"), None, None]),
            ("a-root", [some("acme"), some("ann"), some("f"), None]),
            ("c-root", [None, None, None, some("s1")]),
            ("a-child-2", [some("acme"), some("ann"), some("f"), None]),
            ("c-child-2", [None, None, None, some("s2")]),
            ("c-child-3", [None, None, None, some("s1")]),
        ];
        let expected: Vec<(String, [Option<String>; 4])> = expected
            .into_iter()
            .map(|(id, keys)| (id.to_owned(), keys))
            .collect();
        assert_eq!(got, expected);
    }

    /// A new store, and a generated month of about `spans` spans as OTLP JSON lines.
    fn store_and_month(spans: u64) -> (tempfile::TempDir, Store, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("assay.db")).unwrap();
        let mut month = Vec::new();
        let options = crate::generate::GenerateOptions {
            spans,
            ..Default::default()
        };
        crate::generate::generate(&options, Some(&mut month), None).unwrap();
        (dir, store, month)
    }

    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = prop_oneof![".*", "[a-z\\\\\"\u{1}\u{7f}\u{e9}\u{1F600}]{0,12}",];
        let leaf = prop_oneof![
            Just("null".to_owned()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:e}")),
            "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?",
            text.clone()
                .prop_map(|s| serde_json::to_string(&s).unwrap()),
            // Escapes as other encoders write them.
            "[a-z]{0,3}".prop_map(|s| format!("\"\\u00e9\\ud83d\\ude00\\n{s}\\/\"")),
        ];
        leaf.prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec((text.clone(), inner), 0..4).prop_map(|fields| {
                    let fields: Vec<String> = fields
                        .into_iter()
                        .map(|(k, v)| format!("{} : {v}", serde_json::to_string(&k).unwrap()))
                        .collect();
                    format!("{{ {} }}", fields.join(", "))
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn documents_read_as_serde_json_reads_them(text in json_text()) {
            let ours = from_json::<serde_json::Value>(text.as_bytes());
            let reference = serde_json::from_str::<serde_json::Value>(&text);
            match (ours, reference) {
                (Ok(ours), Ok(reference)) => proptest::prop_assert_eq!(ours, reference),
                // Refused by both (a number out of range), with serde_json's words.
                (Err(ParseError::Input(ours)), Err(reference)) => proptest::prop_assert!(
                    ours.ends_with(&reference.to_string()),
                    "{ours} against {reference}"
                ),
                (ours, reference) => proptest::prop_assert!(
                    false,
                    "{text}: {:?} against {:?}",
                    ours.ok(),
                    reference.ok()
                ),
            }
        }
    }

    #[test]
    fn what_serde_json_refuses_is_refused_with_its_words() {
        for bad in [
            &br#""\ud800""#[..],
            br#""\udc00x""#,
            b"\"a\x01b\"",
            b"\"\xff\"",
            b"\"\xc3\x28\"",
            b"01",
            b"NaN",
            b"[1,]",
            b"{\"a\":1,}",
            b"1 2",
            b"{\"a\":1}{",
            b"\"\\x\"",
            b"tru",
            b"[",
            b"\xef\xbb\xbf1",
            b"+1",
            b".5",
            b"",
        ] {
            let reference = serde_json::from_slice::<serde_json::Value>(bad).unwrap_err();
            match from_json::<serde_json::Value>(bad) {
                // The path of a failed value comes first (`?: ` for a document's top level).
                Err(ParseError::Input(message)) => {
                    assert!(message.ends_with(&reference.to_string()), "{message}")
                }
                other => panic!("{bad:?} was read: {:?}", other.ok()),
            }
        }
    }

    #[test]
    fn the_writer_drops_the_list_indexes_once_it_is_the_slower_stage_or_rewrites_rows() {
        use std::time::Duration;
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        // The writer waited 5% of the window: it is the slower stage, so the indexes go, once.
        let mut plan = IndexPlan::Undecided { window: None };
        assert!(!plan.writer_is_slower(20_000, Duration::from_secs(1), at(0.5)));
        assert!(!plan.writer_is_slower(60_000, Duration::from_secs(1), at(1.0)));
        assert!(!plan.writer_is_slower(80_000, Duration::from_millis(1_020), at(1.5)));
        assert!(plan.writer_is_slower(120_000, Duration::from_millis(1_050), at(2.0)));
        assert_eq!(plan, IndexPlan::Keep);
        assert!(!plan.writer_is_slower(140_000, Duration::from_millis(1_050), at(2.5)));
        // It waited 30% of the window for the parser: the indexes stay, kept up to date...
        let mut plan = IndexPlan::Undecided { window: None };
        assert!(!plan.writer_is_slower(60_000, Duration::from_secs(1), at(1.0)));
        assert!(!plan.writer_is_slower(120_000, Duration::from_millis(1_300), at(2.0)));
        assert_eq!(plan, IndexPlan::KeptWhileWriterWaits);
        assert!(!plan.writer_is_slower(140_000, Duration::from_millis(1_300), at(2.5)));
        // ...while batches mostly add traces; once most of a batch's traces rewrite their rows
        // (spans of traces written before), they go, once.
        let batch = |traces, recomputed| traces::RefreshCounts { traces, recomputed };
        assert!(!plan.rewrites_dominate(batch(5_000, 2_000)));
        assert!(!plan.rewrites_dominate(batch(900, 900)));
        assert!(plan.rewrites_dominate(batch(5_000, 2_500)));
        assert_eq!(plan, IndexPlan::Keep);
        assert!(!plan.rewrites_dominate(batch(5_000, 5_000)));
        // Rewrites before the window ends count as well.
        let mut plan = IndexPlan::Undecided { window: None };
        assert!(plan.rewrites_dominate(batch(4_000, 4_000)));
        assert!(!plan.writer_is_slower(120_000, Duration::ZERO, at(2.0)));
        // A store that held traces, or a document read whole, keeps them.
        let mut plan = IndexPlan::Keep;
        assert!(!plan.writer_is_slower(120_000, Duration::ZERO, at(2.0)));
        assert!(!plan.rewrites_dominate(batch(5_000, 5_000)));
    }

    #[test]
    fn an_import_records_the_sha256_of_its_content_gzipped_or_not() {
        use std::io::Write;
        let (_dir, mut store, month) = store_and_month(2_000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&month).unwrap();
        let gz = gz.finish().unwrap();
        import_bytes(&mut store, "month.jsonl", &month).unwrap();
        import_bytes(&mut store, "month.jsonl.gz", &gz).unwrap();
        let expected = format!("{:x}", Sha256::digest(&month));
        let mut stmt = store
            .conn()
            .prepare("SELECT content_hash, bytes FROM imports ORDER BY id")
            .unwrap();
        let rows: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let whole = (expected, month.len() as i64);
        assert_eq!(rows, vec![whole.clone(), whole]);
    }

    #[test]
    fn the_list_indexes_are_there_after_an_import_into_an_empty_store() {
        let (_dir, mut store, month) = store_and_month(3_000);
        import_bytes(&mut store, "month", &month).unwrap();
        let indexes: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN
                 ('traces_by_tenant', 'traces_by_endpoint', 'traces_by_status',
                  'traces_by_environment', 'traces_facets', 'traces_search_sorts')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 6);
        let plan = crate::store::query_plan(
            store.conn(),
            "SELECT search_num FROM traces WHERE tenant = 'acme' ORDER BY start_ns DESC LIMIT 50",
        );
        assert!(
            plan.iter().any(|s| s.contains("traces_by_tenant")),
            "{plan:#?}"
        );
    }

    #[test]
    fn references_are_checked_again_once_an_import_ends_however_it_ends() {
        let (_dir, mut store, month) = store_and_month(3_000);
        let first = import_bytes(&mut store, "month", &month).unwrap();
        let again = import_bytes(&mut store, "month again", &month).unwrap();
        assert_eq!((again.spans_new, again.spans_merged), (0, first.spans_new));
        assert!(import_bytes(&mut store, "not traces", b"\x00\x01 binary").is_err());
        let conn = store.conn();
        let checking: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(checking, "foreign key checks are back on");
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0, "every reference the imports wrote holds");
        let orphan = conn.execute(
            "INSERT INTO span_payloads (id, detail, attributes) VALUES (?1, '{}', '{}')",
            [i64::MAX],
        );
        assert!(orphan.is_err(), "a payload without its span is refused");
    }

    #[test]
    fn detection_reads_content_not_names() {
        assert_eq!(detect(b"  {\"resourceSpans\": []}"), Ok(Format::OtlpJson));
        assert_eq!(
            detect(b"{\"resourceSpans\": []}\n{\"resourceSpans\": []}\n"),
            Ok(Format::OtlpJsonl)
        );
        // A pretty-printed document's first line is not a complete value: still one document.
        assert_eq!(
            detect(b"{\n  \"resourceSpans\": []\n}\n"),
            Ok(Format::OtlpJson)
        );
        assert!(detect(b"hello").unwrap_err().contains("expected JSON"));
        assert!(detect(b"{\"other\": 1}")
            .unwrap_err()
            .contains("not a format"));
        assert!(detect(b"").unwrap_err().contains("empty"));
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse_name(f.as_str()), Some(*f));
        }
        assert_eq!(Format::parse_name("otlp-jsonl"), Some(Format::OtlpJsonl));
    }
}
