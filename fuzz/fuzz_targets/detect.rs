//! Format detection, then the detected parser, on arbitrary bytes (the importer's own path).
#![no_main]

use assay::import::{self, Rejection, Sink};
use assay::model::Span;
use libfuzzer_sys::fuzz_target;

struct Discard;

impl Sink for Discard {
    fn span(&mut self, _span: Span) -> assay::Result<()> {
        Ok(())
    }
    fn reject(&mut self, _rejection: Rejection) {}
}

fuzz_target!(|data: &[u8]| {
    if let Ok(format) = import::detect(&data[..data.len().min(64 * 1024)]) {
        let _ = import::parse_into(format, &mut &data[..], &mut Discard);
    }
});
