//! Hostile input: every importer, fed mutated copies of real inputs, reports errors and never
//! panics; and any valid OTLP span round-trips through parsing and normalising with its ids,
//! times and token counts intact.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use assay::import::{self, Rejection, Sink};
use assay::model::Span;
use proptest::prelude::*;

#[derive(Default)]
struct Collect {
    spans: Vec<Span>,
    rejected: usize,
}

impl Sink for Collect {
    fn span(&mut self, span: Span) -> assay::Result<()> {
        self.spans.push(span);
        Ok(())
    }
    fn reject(&mut self, _rejection: Rejection) {
        self.rejected += 1;
    }
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("../../tests/fixtures"), root.join("tests/data")] {
        collect(&dir, &mut files);
    }
    files
        .into_iter()
        .filter(|p| !p.ends_with("README.md"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn collect(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Detects and parses like the importer does (gzip included), catching any panic.
fn parse(bytes: &[u8]) -> Result<Collect, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut data = bytes.to_vec();
        if data.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
            if std::io::Read::read_to_end(&mut decoder, &mut out).is_err() {
                return Ok(Collect::default());
            }
            data = out;
        }
        let head = &data[..data.len().min(64 * 1024)];
        let Ok(format) = import::detect(head) else {
            return Ok(Collect::default());
        };
        let mut sink = Collect::default();
        let _ = import::parse_into(format, &mut &data[..], &mut sink);
        Ok(sink)
    }));
    outcome.unwrap_or_else(|_| Err("panicked".to_owned()))
}

/// splitmix64, so the mutations are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_inputs_never_panic_any_importer() {
    let mut rng = Rng(7);
    let inputs = inputs();
    assert!(
        inputs.len() >= 15,
        "the fixtures and samples are found: {}",
        inputs.len()
    );
    for (name, original) in &inputs {
        let clean = parse(original).unwrap_or_else(|e| panic!("{name}: {e}"));
        let _ = clean;
        for round in 0..60 {
            let mut bytes = original.clone();
            match round % 4 {
                0 => bytes.truncate(rng.below(bytes.len())),
                1 => {
                    for _ in 0..1 + rng.below(8) {
                        let i = rng.below(bytes.len());
                        if let Some(b) = bytes.get_mut(i) {
                            *b = rng.next() as u8;
                        }
                    }
                }
                2 => {
                    let i = rng.below(bytes.len());
                    let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                    bytes.splice(i..i, junk);
                }
                _ => {
                    let (a, b) = (rng.below(bytes.len()), rng.below(bytes.len()));
                    let (a, b) = (a.min(b), a.max(b));
                    bytes.drain(a..b);
                }
            }
            if let Err(e) = parse(&bytes) {
                let path = std::env::temp_dir().join(format!("assay-crash-{round}.bin"));
                std::fs::write(&path, &bytes).unwrap();
                panic!(
                    "{name}, mutation {round}: {e} (input kept at {})",
                    path.display()
                );
            }
        }
    }
}

fn any_value(v: i64, as_string: bool) -> String {
    if as_string {
        format!(r#"{{"intValue":"{v}"}}"#)
    } else {
        format!(r#"{{"intValue":{v}}}"#)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_valid_otlp_span_keeps_its_ids_times_and_tokens(
        trace in prop::array::uniform16(any::<u8>()).prop_filter("non-zero", |t| t.iter().any(|&b| b != 0)),
        span in prop::array::uniform8(any::<u8>()).prop_filter("non-zero", |s| s.iter().any(|&b| b != 0)),
        parent in prop::option::of(prop::array::uniform8(1u8..)),
        start in 0i64..4_000_000_000_000_000_000,
        duration in 0i64..1_000_000_000_000,
        input in 0i64..10_000_000,
        output in 0i64..10_000_000,
        cached in 0i64..1_000_000,
        strings in any::<bool>(),
        uppercase in any::<bool>(),
    ) {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let case = |s: String| if uppercase { s.to_uppercase() } else { s };
        let parent_field = parent
            .map(|p| format!(r#""parentSpanId":"{}","#, case(hex(&p))))
            .unwrap_or_default();
        let doc = format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"{}",{parent_field}"name":"call","startTimeUnixNano":"{start}","endTimeUnixNano":"{}","attributes":[
                {{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},
                {{"key":"gen_ai.usage.input_tokens","value":{}}},
                {{"key":"gen_ai.usage.output_tokens","value":{}}},
                {{"key":"gen_ai.usage.cache_read.input_tokens","value":{}}}]}}]}}]}}]}}"#,
            case(hex(&trace)),
            case(hex(&span)),
            start + duration,
            any_value(input, strings),
            any_value(output, !strings),
            any_value(cached, strings),
        );
        let mut sink = Collect::default();
        import::parse_into(import::Format::OtlpJson, &mut doc.as_bytes(), &mut sink).unwrap();
        prop_assert_eq!(sink.spans.len(), 1);
        let s = &sink.spans[0];
        prop_assert_eq!(&s.trace_id, &hex(&trace));
        prop_assert_eq!(&s.span_id, &hex(&span));
        prop_assert_eq!(s.parent_span_id.clone(), parent.map(|p| hex(&p)));
        prop_assert_eq!(s.start_ns, start);
        prop_assert_eq!(s.end_ns, (start + duration != 0).then_some(start + duration));
        prop_assert_eq!((s.usage.input, s.usage.output, s.usage.cache_read), (Some(input), Some(output), Some(cached)));
    }
}

/// Inputs the fuzzers once broke a parser with (`fuzz/regressions/`), replayed on every run.
#[test]
fn fuzzer_findings_stay_fixed() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    for target in ["import", "detect"] {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| match target {
                "import" => {
                    if let Some((&selector, input)) = data.split_first() {
                        let format =
                            import::Format::ALL[selector as usize % import::Format::ALL.len()];
                        // As the fuzz target reads it: the high bit streams every document.
                        let mut sink = Collect::default();
                        let _ = if selector & 0x80 == 0 {
                            import::parse_into(format, &mut &input[..], &mut sink)
                        } else {
                            import::parse_into_up_to(format, &mut &input[..], &mut sink, 0)
                        };
                    }
                }
                _ => {
                    let _ = parse(&data);
                }
            }));
            assert!(outcome.is_ok(), "{} panics again", path.display());
        }
    }
}
