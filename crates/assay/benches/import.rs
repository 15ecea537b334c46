//! Import and explorer benchmark: `cargo bench -p assay --bench import [-- --spans N]`.
//!
//! Generates a month of production traces (OTLP JSON lines and length-delimited protobuf),
//! measures each import stage (read, parse, parse + normalise, the full import with writes and
//! rollups, the full-text index), the peak memory of an import (in a child process, so nothing
//! else counts), and the explorer's queries over the result. Prints a Markdown table.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assay::api::json::{TraceGet, TraceQuery};
use assay::api::{self, Api};
use assay::generate::{generate, GenerateOptions};
use assay::import::{self, Format, Rejection, Sink};
use assay::model::Span;
use assay::workspace::Locate;

// The allocator the binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Count(u64);

impl Sink for Count {
    fn span(&mut self, _span: Span) -> assay::Result<()> {
        self.0 += 1;
        Ok(())
    }
    fn reject(&mut self, _rejection: Rejection) {}
}

fn open_workspace(dir: &Path) -> Api {
    api::init(dir).expect("init");
    Api::open(&Locate {
        workspace: Some(dir.to_path_buf()),
        cwd: dir.to_path_buf(),
        ..Default::default()
    })
    .expect("open")
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Child mode: import one file into a fresh workspace, print seconds, spans and peak RSS.
fn child_import(file: &Path, dir: &Path) {
    let api = open_workspace(dir);
    let started = Instant::now();
    let report = api
        .import_reader(
            &file.display().to_string(),
            std::fs::File::open(file).expect("open input"),
            import::ImportOptions::default(),
        )
        .expect("import");
    let import_secs = started.elapsed().as_secs_f64();
    let indexed_at = Instant::now();
    api.index_search_text(usize::MAX).expect("index");
    let index_secs = indexed_at.elapsed().as_secs_f64();
    println!(
        "{import_secs} {} {} {index_secs}",
        report.spans_read,
        peak_rss_mb()
    );
}

/// Runs [`child_import`] of `file` into `dir` in a child process: (import seconds, spans, peak
/// RSS in MB, index seconds).
fn import_in_child(file: &Path, dir: &Path) -> (f64, f64, f64, f64) {
    let exe = std::env::current_exe().expect("exe");
    let out = std::process::Command::new(&exe)
        .arg("--child-import")
        .arg(file)
        .arg(dir)
        .output()
        .expect("child import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    (fields[0], fields[1], fields[2], fields[3])
}

/// A whole import's row: time, rate and peak memory.
fn import_result(secs: f64, spans: f64, peak_mb: f64) -> String {
    format!(
        "{secs:.2} s, {:.0} spans/s, peak RSS {peak_mb:.0} MB",
        spans / secs
    )
}

/// A varint length prefix, or `None` at the end of the input.
fn read_varint(reader: &mut impl BufRead) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let mut byte = [0u8];
        if reader.read(&mut byte).expect("read") == 0 {
            assert_eq!(shift, 0, "a length prefix cut off");
            return None;
        }
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] < 0x80 {
            return Some(value);
        }
    }
    panic!("a length prefix longer than a varint")
}

/// Imports `file` into a fresh workspace at `dir` (in a child process), then deletes both.
/// The row is named by `label`, given the file's size in MB.
fn import_and_remove(
    file: &Path,
    dir: &Path,
    label: impl FnOnce(f64) -> String,
) -> (String, String) {
    let mb = std::fs::metadata(file).expect("size").len() as f64 / 1e6;
    let (secs, count, peak, _) = import_in_child(file, dir);
    std::fs::remove_file(file).ok();
    std::fs::remove_dir_all(dir).ok();
    (label(mb), import_result(secs, count, peak))
}

/// The peer exports the benchmark writes from the generated spans.
#[derive(Clone, Copy)]
enum PeerExport {
    /// Langfuse: `{"observations": [...]}`, one observation per span.
    Langfuse,
    /// LangSmith: an array of finished runs, one per span.
    Langsmith,
}

/// Writes the spans of the generated JSON lines at `jsonl` as one `export` document. Returns
/// how many records it wrote.
fn write_peer_document(jsonl: &Path, document: &Path, export: PeerExport) -> u64 {
    use serde_json::{json, Value};
    let attribute = |span: &Value, key: &str| -> Option<Value> {
        let found = span["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["key"] == key)?;
        let v = &found["value"];
        v.get("stringValue")
            .cloned()
            .or_else(|| {
                v.get("intValue")
                    .and_then(|i| i.as_str()?.parse::<i64>().ok())
                    .map(Value::from)
            })
            .or_else(|| v.get("intValue").cloned())
    };
    let time = |ns: &Value| -> Value {
        let ns: i64 = ns.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
        Value::from(chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339())
    };
    let record = |span: &Value| -> Value {
        let model = attribute(span, "gen_ai.request.model");
        let parent = span.get("parentSpanId").filter(|p| p.as_str() != Some(""));
        let tenant = json!({"tenant": attribute(span, "tenant")});
        match export {
            PeerExport::Langfuse => json!({
                "id": span["spanId"],
                "traceId": span["traceId"],
                "type": if model.is_some() { "GENERATION" } else { "SPAN" },
                "name": span["name"],
                "startTime": time(&span["startTimeUnixNano"]),
                "endTime": time(&span["endTimeUnixNano"]),
                "parentObservationId": parent,
                "model": model,
                "usage": {
                    "input": attribute(span, "gen_ai.usage.input_tokens"),
                    "output": attribute(span, "gen_ai.usage.output_tokens"),
                },
                "metadata": tenant,
            }),
            PeerExport::Langsmith => json!({
                "id": span["spanId"],
                "trace_id": span["traceId"],
                "parent_run_id": parent,
                "name": span["name"],
                "run_type": if model.is_some() { "llm" } else { "chain" },
                "start_time": time(&span["startTimeUnixNano"]),
                "end_time": time(&span["endTimeUnixNano"]),
                "inputs": {"model": model},
                "outputs": {"tokens": attribute(span, "gen_ai.usage.output_tokens")},
                "extra": {"metadata": tenant},
            }),
        }
    };
    let (head, tail): (&[u8], &[u8]) = match export {
        PeerExport::Langfuse => (b"{\"observations\": [", b"]}"),
        PeerExport::Langsmith => (b"[", b"]"),
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(document).expect("create"));
    out.write_all(head).expect("write");
    let mut reader =
        BufReader::with_capacity(256 * 1024, std::fs::File::open(jsonl).expect("open"));
    let mut line = Vec::new();
    let mut written = 0u64;
    while reader.read_until(b'\n', &mut line).expect("read") > 0 {
        let doc: Value = serde_json::from_slice(&line).expect("a generated line");
        line.clear();
        let resources = doc["resourceSpans"].as_array().cloned().unwrap_or_default();
        for scope in resources
            .iter()
            .flat_map(|r| r["scopeSpans"].as_array().cloned().unwrap_or_default())
        {
            for span in scope["spans"].as_array().cloned().unwrap_or_default() {
                if written > 0 {
                    out.write_all(b",\n").expect("write");
                }
                serde_json::to_writer(&mut out, &record(&span)).expect("write");
                written += 1;
            }
        }
    }
    out.write_all(tail).expect("write");
    close_written(out);
    written
}

/// Flushes a file the benchmark wrote and waits until it is on disk, so the timings that read
/// it do not share the disk with its writeback (a user imports files written long before).
fn close_written(out: std::io::BufWriter<std::fs::File>) {
    out.into_inner().expect("flush").sync_all().expect("sync");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_query(api: &Api, query: &TraceQuery) -> (Duration, i64) {
    let mut samples = Vec::new();
    let mut total = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let list = api.traces_list(query).expect("query");
        samples.push(t.elapsed());
        total = list.total;
    }
    (median(samples), total)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child-import") {
        child_import(Path::new(&args[i + 1]), Path::new(&args[i + 2]));
        return;
    }
    let spans: u64 = args
        .iter()
        .position(|a| a == "--spans")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let scratch = tempfile::tempdir().expect("temp dir");
    let jsonl = scratch.path().join("traces.jsonl");
    let proto = scratch.path().join("traces.pbs");

    let t = Instant::now();
    let report = {
        let mut j = std::io::BufWriter::new(std::fs::File::create(&jsonl).expect("create"));
        let mut p = std::io::BufWriter::new(std::fs::File::create(&proto).expect("create"));
        let r = generate(
            &GenerateOptions {
                spans,
                ..Default::default()
            },
            Some(&mut j),
            Some(&mut p),
        )
        .expect("generate");
        close_written(j);
        close_written(p);
        r
    };
    eprintln!(
        "generated {} spans in {} traces ({:.0} MB JSONL, {:.0} MB protobuf) in {:.1} s",
        report.spans,
        report.traces,
        report.json_bytes as f64 / 1e6,
        report.proto_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let n = report.spans as f64;
    let mut rows: Vec<(String, String)> = Vec::new();
    let rate = |secs: f64| format!("{:.2} s, {:.0} spans/s", secs, n / secs);

    // Stage: read the bytes, line by line.
    let t = Instant::now();
    let mut reader =
        BufReader::with_capacity(256 * 1024, std::fs::File::open(&jsonl).expect("open"));
    let mut line = Vec::new();
    let mut bytes = 0;
    while reader.read_until(b'\n', &mut line).expect("read") > 0 {
        bytes += line.len();
        line.clear();
    }
    let read = t.elapsed().as_secs_f64();
    rows.push((
        "JSONL: read lines".into(),
        format!("{} ({:.0} MB/s)", rate(read), bytes as f64 / 1e6 / read),
    ));

    // Stage: JSON syntax only (serde's lower bound for these bytes).
    let t = Instant::now();
    let mut reader =
        BufReader::with_capacity(256 * 1024, std::fs::File::open(&jsonl).expect("open"));
    while reader.read_until(b'\n', &mut line).expect("read") > 0 {
        let _: serde::de::IgnoredAny = serde_json::from_slice(&line).expect("json");
        line.clear();
    }
    rows.push((
        "JSONL: JSON syntax only (lower bound)".into(),
        rate(t.elapsed().as_secs_f64()),
    ));

    for (label, file, format) in [
        ("JSONL", &jsonl, Format::OtlpJsonl),
        ("protobuf", &proto, Format::OtlpProtoStream),
    ] {
        let t = Instant::now();
        let mut count = Count(0);
        let mut reader =
            BufReader::with_capacity(256 * 1024, std::fs::File::open(file).expect("open"));
        import::parse_into(format, &mut reader, &mut count).expect("parse");
        assert_eq!(count.0, report.spans);
        rows.push((
            format!("{label}: parse + normalise (no store)"),
            rate(t.elapsed().as_secs_f64()),
        ));
    }

    let mut stores: Vec<PathBuf> = Vec::new();
    let mut import_secs: Vec<f64> = Vec::new();
    for (label, file) in [("JSONL", &jsonl), ("protobuf", &proto)] {
        let dir = scratch.path().join(format!("ws-{label}"));
        let (secs, count, peak, index) = import_in_child(file, &dir);
        import_secs.push(secs);
        rows.push((
            format!("{label}: full import (parse, normalise, write, rollups)"),
            import_result(secs, count, peak),
        ));
        rows.push((format!("{label}: full-text index afterwards"), rate(index)));
        stores.push(dir);
    }

    // The same month as one OTLP/JSON document (1 GB, one line): read as it streams, so memory
    // must stay as flat as for the lines.
    {
        let document = scratch.path().join("one-document.json");
        let (head, tail) = (&b"{\"resourceSpans\":["[..], &b"]}"[..]);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&document).expect("create"));
        out.write_all(head).expect("write");
        let mut reader =
            BufReader::with_capacity(256 * 1024, std::fs::File::open(&jsonl).expect("open"));
        let mut first = true;
        while reader.read_until(b'\n', &mut line).expect("read") > 0 {
            let text = line.trim_ascii_end();
            let inner = text
                .strip_prefix(head)
                .and_then(|t| t.strip_suffix(tail))
                .expect("a generated line is one TracesData");
            if !first {
                out.write_all(b",").expect("write");
            }
            out.write_all(inner).expect("write");
            first = false;
            line.clear();
        }
        out.write_all(tail).expect("write");
        close_written(out);
        let dir = scratch.path().join("ws-document");
        rows.push(import_and_remove(&document, &dir, |mb| {
            format!("OTLP/JSON as one {mb:.0} MB document (streamed)")
        }));
    }

    // The same month as one protobuf `TracesData` message (the stream's messages without their
    // length prefixes: repeated fields concatenate): decoded as it streams too.
    {
        let message = scratch.path().join("one-message.pb");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&message).expect("create"));
        let mut reader =
            BufReader::with_capacity(256 * 1024, std::fs::File::open(&proto).expect("open"));
        let mut buf = Vec::new();
        while let Some(len) = read_varint(&mut reader) {
            buf.resize(len as usize, 0);
            reader.read_exact(&mut buf).expect("a whole message");
            out.write_all(&buf).expect("write");
        }
        close_written(out);
        let dir = scratch.path().join("ws-message");
        rows.push(import_and_remove(&message, &dir, |mb| {
            format!("protobuf as one {mb:.0} MB message (streamed)")
        }));
    }

    // The same month as the peers export it: one JSON document of Langfuse observations, and
    // one of LangSmith runs. Their records are taken one at a time as they stream, so memory
    // must stay flat here too.
    for (export, name) in [
        (PeerExport::Langfuse, "Langfuse"),
        (PeerExport::Langsmith, "LangSmith"),
    ] {
        let document = scratch.path().join(format!("{name}-export.json"));
        let written = write_peer_document(&jsonl, &document, export);
        assert_eq!(written, report.spans);
        let dir = scratch.path().join(format!("ws-{name}"));
        rows.push(import_and_remove(&document, &dir, |mb| {
            format!("{name} export as one {mb:.0} MB JSON document (streamed)")
        }));
    }

    // The next month into the store holding the first (the protobuf one): an import's cost
    // must follow what it imports, not what the store already holds.
    {
        let next = scratch.path().join("next-month.jsonl");
        let first = GenerateOptions::default();
        let mut j = std::io::BufWriter::new(std::fs::File::create(&next).expect("create"));
        generate(
            &GenerateOptions {
                spans,
                start_ns: first.start_ns + i64::from(first.days) * 86_400_000_000_000,
                seed: first.seed + 1,
                ..first
            },
            Some(&mut j),
            None,
        )
        .expect("generate");
        close_written(j);
        let (secs, count, peak, _) = import_in_child(&next, &stores[1]);
        rows.push((
            "JSONL: the next month, into the store holding the first".into(),
            import_result(secs, count, peak),
        ));
        std::fs::remove_file(&next).ok();
    }

    // The protobuf month again into the store holding it: every span arrives again unchanged.
    {
        let (secs, count, peak, _) = import_in_child(&proto, &stores[1]);
        rows.push((
            "protobuf: the same month again, into the store holding it".into(),
            import_result(secs, count, peak),
        ));
    }

    // What keeping the cost rollups costs the writer: the same spans summed per group and
    // written per 20,000-span batch, timed alone (pricing runs on the parser thread).
    {
        let dir = scratch.path().join("ws-rollups");
        drop(open_workspace(&dir));
        let mut conn = rusqlite::Connection::open(dir.join(".assay/assay.db")).expect("open db");
        let catalogue = assay::cost::Catalogue::builtin().expect("catalogue");
        struct Rollups<'c> {
            conn: &'c mut rusqlite::Connection,
            catalogue: &'c assay::cost::Catalogue,
            spans: Vec<Span>,
            rollup: Duration,
            pricing: Duration,
        }
        impl Rollups<'_> {
            fn flush(&mut self) {
                let t = Instant::now();
                let mut batch = assay::store::cost::RollupBatch::default();
                for s in &self.spans {
                    batch.add(s);
                }
                let tx = self.conn.transaction().expect("tx");
                let mut months = assay::store::cost::UserMonths::default();
                batch.write(&tx, &mut months).expect("write");
                months.write(&tx).expect("write the users' months");
                tx.commit().expect("commit");
                self.rollup += t.elapsed();
                self.spans.clear();
            }
        }
        impl Sink for Rollups<'_> {
            fn span(&mut self, mut span: Span) -> assay::Result<()> {
                let t = Instant::now();
                assay::cost::apply_price(&mut span, self.catalogue);
                self.pricing += t.elapsed();
                self.spans.push(span);
                if self.spans.len() == 20_000 {
                    self.flush();
                }
                Ok(())
            }
            fn reject(&mut self, _rejection: Rejection) {}
        }
        let mut sink = Rollups {
            conn: &mut conn,
            catalogue: &catalogue,
            spans: Vec::with_capacity(20_000),
            rollup: Duration::ZERO,
            pricing: Duration::ZERO,
        };
        let mut reader =
            BufReader::with_capacity(256 * 1024, std::fs::File::open(&jsonl).expect("open"));
        import::parse_into(Format::OtlpJsonl, &mut reader, &mut sink).expect("parse");
        sink.flush();
        let jsonl_import = import_secs[0];
        rows.push((
            "cost rollups: summing and writing them (writer thread)".into(),
            format!(
                "{:.2} s, {:.1}% of the JSONL import",
                sink.rollup.as_secs_f64(),
                sink.rollup.as_secs_f64() / jsonl_import * 100.0
            ),
        ));
        rows.push((
            "cost: pricing every span (parser thread)".into(),
            format!(
                "{:.2} s, {:.2} µs a span",
                sink.pricing.as_secs_f64(),
                sink.pricing.as_secs_f64() * 1e6 / report.spans as f64
            ),
        ));
    }

    // Explorer queries over the JSONL store.
    let api = Api::open(&Locate {
        workspace: Some(stores[0].clone()),
        cwd: stores[0].clone(),
        ..Default::default()
    })
    .expect("open store");
    let queries: Vec<(&str, TraceQuery)> = vec![
        ("first page, newest", TraceQuery::default()),
        (
            "tenant = globex",
            TraceQuery {
                tenant: Some("globex".into()),
                ..Default::default()
            },
        ),
        (
            "endpoint = /api/search",
            TraceQuery {
                endpoint: Some("/api/search".into()),
                ..Default::default()
            },
        ),
        (
            "model = gpt-4o",
            TraceQuery {
                model: Some("gpt-4o".into()),
                ..Default::default()
            },
        ),
        (
            "status = error",
            TraceQuery {
                status: Some("error".into()),
                ..Default::default()
            },
        ),
        (
            "one day (2026-10-20)",
            TraceQuery {
                since: Some("2026-10-20".into()),
                until: Some("2026-10-21".into()),
                ..Default::default()
            },
        ),
        (
            "rare tenant + error",
            TraceQuery {
                tenant: Some("soylent".into()),
                status: Some("error".into()),
                ..Default::default()
            },
        ),
        (
            "sort slowest",
            TraceQuery {
                sort: Some("slowest".into()),
                ..Default::default()
            },
        ),
        (
            "page 100 (offset 5000)",
            TraceQuery {
                offset: Some(5000),
                ..Default::default()
            },
        ),
        (
            "text search \"invoice\"",
            TraceQuery {
                search: Some("invoice".into()),
                ..Default::default()
            },
        ),
        (
            "text search \"gpt 4o\" (in most traces)",
            TraceQuery {
                search: Some("gpt 4o".into()),
                ..Default::default()
            },
        ),
        (
            "text search \"invoice\", tenant = globex",
            TraceQuery {
                search: Some("invoice".into()),
                tenant: Some("globex".into()),
                ..Default::default()
            },
        ),
        (
            "text search \"invoice\", sort slowest",
            TraceQuery {
                search: Some("invoice".into()),
                sort: Some("slowest".into()),
                ..Default::default()
            },
        ),
        (
            "text search, a word in no trace",
            TraceQuery {
                search: Some("zeppelin".into()),
                ..Default::default()
            },
        ),
        (
            "trace id prefix \"0af7\"",
            TraceQuery {
                search: Some("0af7".into()),
                ..Default::default()
            },
        ),
    ];
    let mut query_rows = Vec::new();
    for (label, q) in &queries {
        let (d, total) = time_query(&api, q);
        query_rows.push((
            label.to_string(),
            format!("{:.1} ms ({total} traces)", d.as_secs_f64() * 1e3),
        ));
    }
    let first = api
        .traces_list(&TraceQuery::default())
        .expect("list")
        .traces[0]
        .trace_id
        .clone();
    let mut samples = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        api.trace_get(&TraceGet {
            trace_id: first.clone(),
        })
        .expect("trace");
        samples.push(t.elapsed());
    }
    query_rows.push((
        "open one trace".into(),
        format!("{:.1} ms", median(samples).as_secs_f64() * 1e3),
    ));
    // The first call of each range computes them (later ones are cached until the next import).
    let facets_t = Instant::now();
    api.trace_facets(&Default::default()).expect("facets");
    query_rows.push((
        "filter values (facets), whole range, first call".into(),
        format!("{:.1} ms", facets_t.elapsed().as_secs_f64() * 1e3),
    ));
    let facets_t = Instant::now();
    api.trace_facets(&assay::api::json::FacetQuery {
        since: Some("2026-10-10".into()),
        until: Some("2026-10-20".into()),
    })
    .expect("facets");
    query_rows.push((
        "filter values (facets), ten days, first call".into(),
        format!("{:.1} ms", facets_t.elapsed().as_secs_f64() * 1e3),
    ));

    let db_size = std::fs::metadata(stores[0].join(".assay/assay.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "\n## Import of {} spans ({} traces); database {:.0} MB\n",
        report.spans,
        report.traces,
        db_size as f64 / 1e6
    );
    println!("| stage | result |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
    println!("\n## Explorer over {} spans (median of 7)\n", report.spans);
    println!("| query | time |\n|---|---|");
    for (k, v) in query_rows {
        println!("| {k} | {v} |");
    }
    cost_section(&api, &stores[0], report.spans);
}

/// Cost breakdowns and charts over the rollups, and repricing the month.
fn cost_section(api: &Api, dir: &Path, spans: u64) {
    use assay::api::json::{CostChartArgs, CostQuery};
    let month = |by: &[&str], per: Option<&str>| CostQuery {
        by: by.iter().map(|b| b.to_string()).collect(),
        per: per.map(str::to_owned),
        since: Some("2026-10-01".into()),
        until: Some("2026-11-01".into()),
        ..Default::default()
    };
    let mut queries: Vec<(&str, CostQuery)> = vec![
        ("total for the month", month(&[], None)),
        ("by tenant, per day", month(&["tenant"], Some("day"))),
        ("by model", month(&["model"], None)),
        (
            "by endpoint and tenant",
            month(&["endpoint", "tenant"], None),
        ),
        ("by tenant, per hour", month(&["tenant"], Some("hour"))),
        (
            "by user (top 10)",
            CostQuery {
                top: Some(10),
                ..month(&["user"], None)
            },
        ),
    ];
    let mut filtered = month(&["model"], Some("day"));
    filtered.filters.insert("tenant".into(), "globex".into());
    queries.push(("by model per day, tenant = globex", filtered));
    // Beyond what the narrower rollups answer: 30 days across two months (users), and hourly
    // breakdowns with a filter or two dimensions (the full hourly table).
    queries.push((
        "by user (top 10), Oct 5 - Nov 4",
        CostQuery {
            top: Some(10),
            since: Some("2026-10-05".into()),
            until: Some("2026-11-04".into()),
            ..month(&["user"], None)
        },
    ));
    let mut hourly_filtered = month(&["model"], Some("hour"));
    hourly_filtered
        .filters
        .insert("tenant".into(), "globex".into());
    queries.push(("by model per hour, tenant = globex", hourly_filtered));
    queries.push((
        "by tenant and endpoint, per hour",
        month(&["tenant", "endpoint"], Some("hour")),
    ));
    println!("\n## Cost over {spans} spans (median of 7)\n");
    println!("| query | time |\n|---|---|");
    for (label, q) in &queries {
        let mut samples = Vec::new();
        let mut rows = 0;
        for _ in 0..7 {
            let t = Instant::now();
            rows = api.cost_breakdown(q).expect("breakdown").rows.len();
            samples.push(t.elapsed());
        }
        println!(
            "| {label} | {:.1} ms ({rows} rows) |",
            median(samples).as_secs_f64() * 1e3
        );
    }
    let mut samples = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        api.cost_chart(&CostChartArgs {
            by: Some("tenant".into()),
            since: Some("2026-10-01".into()),
            until: Some("2026-11-01".into()),
            ..Default::default()
        })
        .expect("chart");
        samples.push(t.elapsed());
    }
    println!(
        "| chart: cost per day by tenant (query + SVG) | {:.1} ms |",
        median(samples).as_secs_f64() * 1e3
    );
    // A price change for one model, then the whole month priced again.
    std::fs::write(
        dir.join("prices.toml"),
        "[[prices]]\nid = \"bench/gpt-4o\"\nprovider = \"openai\"\nmodel = \"gpt-4o\"\ninput = 3.0\noutput = 12.0\nsource = \"benchmark\"\nas_of = \"2026-10-01\"\n",
    )
    .expect("prices.toml");
    let t = Instant::now();
    let report = api.cost_reprice(None).expect("reprice");
    println!(
        "| reprice the month ({} calls, {} changed) | {:.2} s |",
        report.calls,
        report.changed,
        t.elapsed().as_secs_f64()
    );
}
