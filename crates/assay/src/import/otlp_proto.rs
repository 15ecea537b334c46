//! OTLP binary protobuf traces: one `TracesData` message, or a stream of length-delimited ones.

use std::io::BufRead;

use super::{Format, ParseError, Sink};

/// Recognises binary OTLP traces by structure.
pub(super) fn sniff(_head: &[u8]) -> Option<Format> {
    None
}

/// One `TracesData` message.
pub(super) fn parse_message(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "binary OTLP is not supported yet".to_owned(),
    ))
}

/// Varint-length-delimited `TracesData` messages.
pub(super) fn parse_stream(
    _reader: &mut dyn BufRead,
    _sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    Err(ParseError::Input(
        "binary OTLP is not supported yet".to_owned(),
    ))
}
