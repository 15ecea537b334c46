//! Importers: files in known trace formats -> normalised spans in the store.
//!
//! **Invariant:** one input file is one transaction. A file that cannot be read or parsed at all
//! changes nothing; a bad record inside a good file is reported (location, field, problem) and
//! the rest of the file is imported. Span identity makes re-imports idempotent (see
//! [`crate::store::spans`]).
//!
//! To add a format: parse it into [`RawSpan`]s in its own module, add a [`Format`] variant and
//! its detection in [`detect`].

pub mod normalize;
mod otlp_json;

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{spans, traces, Store};

/// A span as parsed from a source, before its attributes are mapped onto the span model.
#[derive(Debug, Clone, PartialEq)]
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
    /// Resource attributes as plain JSON.
    pub resource: Map<String, Value>,
}

/// A record that could not be imported, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Where in the file: a line, and/or a path into the document.
    pub location: String,
    /// The offending field, when one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One OTLP/JSON `TracesData` document.
    OtlpJson,
    /// OTLP/JSON, one `TracesData` per line.
    OtlpJsonl,
}

impl Format {
    /// The format's name, as shown and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OtlpJson => "otlp_json",
            Format::OtlpJsonl => "otlp_jsonl",
        }
    }
}

/// What importing one file did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReport {
    /// The file (or `-` for standard input).
    pub source: String,
    /// The format it was read as.
    pub format: Format,
    /// Distinct traces the file touched.
    pub traces: u64,
    /// Spans read from the file (good ones).
    pub spans_read: u64,
    /// Spans that were new to the store.
    pub spans_new: u64,
    /// Spans already stored, merged with what the file said (a re-import counts nothing twice).
    pub spans_merged: u64,
    /// Records that could not be imported, with their locations.
    pub rejected: Vec<Rejection>,
}

/// Imports one file into the store in one transaction.
pub fn import_file(store: &mut Store, path: &Path) -> Result<ImportReport> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::Import {
        source_name: source.clone(),
        message: io_message(&e),
    })?;
    import_bytes(store, &source, &bytes)
}

/// Imports an in-memory document (`source` names it in reports and errors).
pub fn import_bytes(store: &mut Store, source: &str, bytes: &[u8]) -> Result<ImportReport> {
    let fail = |message: String| Error::Import {
        source_name: source.to_owned(),
        message,
    };
    let format = detect(bytes).map_err(fail)?;
    let mut raw = Vec::new();
    let mut rejected = Vec::new();
    match format {
        Format::OtlpJson => {
            otlp_json::parse_document(bytes, "", &mut raw, &mut rejected).map_err(fail)?;
        }
        Format::OtlpJsonl => parse_jsonl(bytes, &mut raw, &mut rejected).map_err(fail)?,
    }
    if raw.is_empty() && !rejected.is_empty() {
        let first = &rejected[0];
        return Err(fail(format!(
            "no span could be imported; {} rejected, the first at {}: {}{}",
            rejected.len(),
            first.location,
            first
                .field
                .as_deref()
                .map(|f| format!("{f}: "))
                .unwrap_or_default(),
            first.message
        )));
    }
    let spans: Vec<_> = raw.into_iter().map(normalize::normalize).collect();
    let trace_ids: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    let started_at = chrono::Utc::now().to_rfc3339();
    let hash = format!("{:x}", Sha256::digest(bytes));

    let tx = store.conn_mut().transaction()?;
    tx.execute(
        "INSERT INTO imports (source, format, content_hash, spans_read, spans_new, spans_merged,
             rejected, started_at, finished_at)
         VALUES (?1, ?2, ?3, 0, 0, 0, 0, ?4, ?4)",
        rusqlite::params![source, format.as_str(), hash, started_at],
    )?;
    let import_id = tx.last_insert_rowid();
    let counts = spans::upsert(&tx, &spans, import_id)?;
    traces::refresh(&tx, trace_ids.iter().copied())?;
    tx.execute(
        "UPDATE imports SET spans_read = ?2, spans_new = ?3, spans_merged = ?4, rejected = ?5,
             finished_at = ?6 WHERE id = ?1",
        rusqlite::params![
            import_id,
            spans.len() as i64,
            counts.new as i64,
            counts.merged as i64,
            rejected.len() as i64,
            chrono::Utc::now().to_rfc3339()
        ],
    )?;
    tx.commit()?;

    Ok(ImportReport {
        source: source.to_owned(),
        format,
        traces: trace_ids.len() as u64,
        spans_read: spans.len() as u64,
        spans_new: counts.new,
        spans_merged: counts.merged,
        rejected,
    })
}

/// Detects the format from the content, not the file name.
fn detect(bytes: &[u8]) -> std::result::Result<Format, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err("the file is empty".to_owned());
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err("gzip-compressed input is not supported yet; decompress it first".to_owned());
    }
    if bytes[first] != b'{' {
        return Err(format!(
            "not OTLP JSON: expected '{{' at byte {first}, found {}",
            describe_byte(bytes[first])
        ));
    }
    // One document per line when the first line holds a complete JSON value on its own.
    let first_line_end = bytes[first..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| first + p);
    if let Some(end) = first_line_end {
        let rest_has_content = bytes[end..].iter().any(|b| !b.is_ascii_whitespace());
        if rest_has_content
            && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes[first..end]).is_ok()
        {
            return Ok(Format::OtlpJsonl);
        }
    }
    Ok(Format::OtlpJson)
}

fn parse_jsonl(
    bytes: &[u8],
    raw: &mut Vec<RawSpan>,
    rejected: &mut Vec<Rejection>,
) -> std::result::Result<(), String> {
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let prefix = format!("line {}: ", i + 1);
        if let Err(message) = otlp_json::parse_document(line, &prefix, raw, rejected) {
            rejected.push(Rejection {
                location: format!("line {}", i + 1),
                field: None,
                message,
            });
        }
    }
    Ok(())
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(detect(b"hello").unwrap_err().contains("expected '{'"));
        assert!(detect(b"").unwrap_err().contains("empty"));
    }
}
