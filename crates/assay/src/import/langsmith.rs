//! LangSmith runs: JSON (an array, or `/runs/batch` bodies) and JSON lines.

use std::io::BufRead;

use super::{Format, ParseError, Sink};

/// Recognises LangSmith runs.
pub(super) fn sniff(_head: &[u8]) -> Option<Format> {
    None
}

/// A JSON document of runs.
pub(super) fn parse_json(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "LangSmith runs are not supported yet".to_owned(),
    ))
}

/// One run per line.
pub(super) fn parse_jsonl(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "LangSmith runs are not supported yet".to_owned(),
    ))
}
