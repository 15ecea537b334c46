//! Eval runner benchmark: `cargo bench -p assay --bench eval [-- --cases N --concurrency C]`.
//!
//! A local fake provider (a real HTTP server on 127.0.0.1, in this process) answers in the
//! OpenAI wire format. Each measured run is a child process (so its peak memory is its own) that
//! loads the eval set, runs every case with two cheap assertions (contains, regex), writes each
//! result and the trace of each call to the store, and prints its wall time and peak RSS.
//! Scenarios: the provider at 100 ms (the floor is cases / concurrency x 100 ms), a fully cached
//! rerun, and the provider at 0 ms (what is left is the runner's own overhead per case).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use assay::api::{self, Api};
use assay::eval::runner::RunOptions;
use assay::workspace::Locate;
use fake_provider::{FakeProvider, Options};

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

fn open(dir: &Path) -> Api {
    Api::open(&Locate {
        workspace: Some(dir.to_path_buf()),
        cwd: dir.to_path_buf(),
        ..Default::default()
    })
    .expect("open workspace")
}

/// Child mode: run the eval set once and print `seconds peak_rss_mb cached results pass`.
fn child_run(dir: &Path, no_cache: bool) {
    let api = open(dir);
    let started = Instant::now();
    let plan = api.eval_plan("bench").expect("plan");
    let outcome = api
        .eval_run(
            &plan,
            &RunOptions {
                no_cache,
                ..Default::default()
            },
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("run");
    let secs = started.elapsed().as_secs_f64();
    let cached: i64 = outcome.summary.rows.iter().map(|r| r.cached).sum();
    println!(
        "{secs} {} {cached} {} {}",
        peak_rss_mb(),
        outcome.summary.run.done,
        outcome.summary.run.pass
    );
}

struct Measured {
    secs: f64,
    rss_mb: f64,
    cached: i64,
    done: i64,
    pass: i64,
}

fn measure(dir: &Path, no_cache: bool) -> Measured {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.arg("--child-run").arg(dir);
    if no_cache {
        cmd.arg("--no-cache");
    }
    let out = cmd.output().expect("run child");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    Measured {
        secs: f[0].parse().expect("secs"),
        rss_mb: f[1].parse().expect("rss"),
        cached: f[2].parse().expect("cached"),
        done: f[3].parse().expect("done"),
        pass: f[4].parse().expect("pass"),
    }
}

fn write_evalset(dir: &Path, url: &str, cases: usize, concurrency: usize) {
    api::init(dir).expect("init");
    std::fs::create_dir_all(dir.join("prompts")).expect("mkdir");
    std::fs::create_dir_all(dir.join("evalsets/bench")).expect("mkdir");
    std::fs::write(
        dir.join("prompts/bench.yaml"),
        "messages:\n  - role: system\n    content: Repeat the user's words.\n  - role: user\n    content: \"ECHO: {{word}} is number {{n}}\"\n",
    )
    .expect("write prompt");
    let mut lines = String::new();
    for n in 0..cases {
        lines.push_str(&format!(
            "{{\"vars\": {{\"word\": \"w{n}\", \"n\": {n}}}, \"assert\": [{{\"type\": \"contains\", \"value\": \"w{n}\"}}, {{\"type\": \"regex\", \"value\": \"number \\\\d+\"}}]}}\n"
        ));
    }
    std::fs::write(dir.join("evalsets/bench/cases.jsonl"), lines).expect("write cases");
    std::fs::write(
        dir.join("evalsets/bench/evalset.yaml"),
        format!(
            "prompts: [bench]\nproviders:\n  - id: openai:gpt-4o-mini\n    config:\n      apiBaseUrl: {url}/v1\n      apiKey: sk-bench\n      stream: false\n      prices: {{input: 0.15, output: 0.6}}\nconcurrency: {concurrency}\n"
        ),
    )
    .expect("write evalset");
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child-run") {
        child_run(
            Path::new(&args[i + 1]),
            args.iter().any(|a| a == "--no-cache"),
        );
        return;
    }
    let cases = arg(&args, "--cases", 1000);
    let concurrency = arg(&args, "--concurrency", 50);
    let latency_ms = arg(&args, "--latency-ms", 100) as u64;
    let fake = FakeProvider::start_blocking(Options {
        latency: Duration::from_millis(latency_ms),
        ..Options::default()
    })
    .expect("start the fake provider");
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path().join("ws");
    write_evalset(&dir, &fake.url(), cases, concurrency);

    let floor = (cases as f64 / concurrency as f64).ceil() * latency_ms as f64 / 1000.0;
    let cold = measure(&dir, true);
    assert_eq!(cold.done as usize, cases);
    assert_eq!(cold.pass as usize, cases, "every case passes");
    let cached = measure(&dir, false);
    assert_eq!(cached.cached as usize, cases, "the rerun is fully cached");

    fake.set_latency(Duration::ZERO);
    let zero = measure(&dir, true);
    let calls = fake.calls();

    println!("| scenario ({cases} cases, 2 assertions each, concurrency {concurrency}) | result |");
    println!("|---|---|");
    println!(
        "| provider at {latency_ms} ms: wall time | {:.2} s ({:+.0}% over the {:.1} s floor), peak RSS {:.0} MB |",
        cold.secs,
        (cold.secs / floor - 1.0) * 100.0,
        floor,
        cold.rss_mb
    );
    println!(
        "| fully cached rerun: wall time | {:.3} s, peak RSS {:.0} MB |",
        cached.secs, cached.rss_mb
    );
    println!(
        "| provider at 0 ms: wall time, runner overhead per case | {:.3} s, {:.3} ms per case, peak RSS {:.0} MB |",
        zero.secs,
        zero.secs * 1000.0 / cases as f64,
        zero.rss_mb
    );
    println!("| provider calls made (2 uncached runs) | {calls} |");
}
