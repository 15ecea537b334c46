//! Langfuse exports: traces and observations as JSON, JSON lines or CSV.

use std::io::BufRead;

use super::{Format, ParseError, Sink};

/// Recognises a Langfuse export.
pub(super) fn sniff(_head: &[u8]) -> Option<Format> {
    None
}

/// A JSON export.
pub(super) fn parse_json(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "Langfuse exports are not supported yet".to_owned(),
    ))
}

/// A JSON-lines export.
pub(super) fn parse_jsonl(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "Langfuse exports are not supported yet".to_owned(),
    ))
}

/// A CSV export.
pub(super) fn parse_csv(_reader: &mut dyn BufRead, _sink: &mut dyn Sink) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "Langfuse exports are not supported yet".to_owned(),
    ))
}
