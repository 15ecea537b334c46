//! Every parser, fed arbitrary bytes: the first byte picks the format (modulo the number of
//! formats) and, by its high bit, whether a single document or message is streamed however
//! small (the readers for inputs over 32 MB); the rest is the input. A parser may reject the
//! input or records in it; it must never panic or hang.
#![no_main]

use assay::import::{self, Format, Rejection, Sink};
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
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[selector as usize % Format::ALL.len()];
    if selector & 0x80 == 0 {
        let _ = import::parse_into(format, &mut &input[..], &mut Discard);
    } else {
        let _ = import::parse_into_up_to(format, &mut &input[..], &mut Discard, 0);
    }
});
