//! promptfoo results (v3 JSON): each result becomes an llm span carrying its eval outcome.

use std::io::BufRead;

use super::{Format, ParseError, Sink};

/// Recognises promptfoo results.
pub(super) fn sniff(_head: &[u8]) -> Option<Format> {
    None
}

/// A results document.
pub(super) fn parse_json(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "promptfoo results are not supported yet".to_owned(),
    ))
}
