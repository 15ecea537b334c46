//! Generic request logs: one JSON object per line with an OpenAI-style request and response.

use std::io::BufRead;

use super::{Format, ParseError, Sink};

/// Recognises request logs.
pub(super) fn sniff(_head: &[u8]) -> Option<Format> {
    None
}

/// One request per line.
pub(super) fn parse_jsonl(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "request logs are not supported yet".to_owned(),
    ))
}
