//! `assay eval` and `assay keys` end to end: the built binary against a real local fake provider
//! (HTTP on 127.0.0.1): exit codes, report files, a run killed mid-way and resumed, and a real
//! promptfoo config run as it is.
#![allow(clippy::unwrap_used)] // In a test, a panic is the failure report.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assay_e2e::{assay_bin, fixture, TempWorkspace};
use fake_provider::{FakeProvider, Options};

fn write_evalset(ws: &TempWorkspace, fake: &FakeProvider, cases: &str, extra: &str) {
    let root = ws.path();
    std::fs::create_dir_all(root.join("prompts")).unwrap();
    std::fs::create_dir_all(root.join("evalsets/echo")).unwrap();
    std::fs::write(root.join("prompts/echo.yaml"), "text: \"{{input}}\"\n").unwrap();
    std::fs::write(
        root.join("evalsets/echo/evalset.yaml"),
        format!(
            "prompts: [echo]\nproviders:\n  - id: openai:gpt-4o-mini\n    config:\n      apiBaseUrl: {}/v1\n      apiKey: sk-test\n{extra}\ncases:\n{cases}",
            fake.url()
        ),
    )
    .unwrap();
}

fn echo_cases(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!("  - vars: {{input: \"ECHO: w{i}\"}}\n    assert: [{{type: equals, value: w{i}}}]\n")
        })
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn eval_run_exits_0_when_gates_pass_1_when_one_fails_and_2_on_a_bad_eval_set() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let ws = TempWorkspace::new();
    write_evalset(&ws, &fake, &echo_cases(3), "");
    let reports = ws.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let (json, junit, md) = (
        reports.join("run.json"),
        reports.join("junit.xml"),
        reports.join("summary.md"),
    );
    let out = ws.assay(&[
        "eval",
        "run",
        "echo",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let detail: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(detail["summary"]["passed"], true);
    assert_eq!(detail["results"].as_array().unwrap().len(), 3);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.contains("### Eval `echo`: passed"), "{summary}");

    // One case that cannot pass: the default gate (every result passes) fails, exit 1.
    let failing = format!(
        "{}  - vars: {{input: \"ECHO: yes\"}}\n    assert: [{{type: equals, value: no}}]\n",
        echo_cases(2)
    );
    write_evalset(&ws, &fake, &failing, "");
    let out = ws.assay(&["eval", "run", "echo", "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gate pass_rate"), "{text}");
    assert!(text.contains("FAILED"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");

    // A gate the eval set sets and meets: exit 0 despite the failure.
    write_evalset(&ws, &fake, &failing, "gates: {pass_rate: 0.6}\n");
    let out = ws.assay(&["eval", "run", "echo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Errors of use: exit 2, naming what is wrong.
    write_evalset(&ws, &fake, &echo_cases(1), "concurency: 3\n");
    let out = ws.assay(&["eval", "run", "echo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("concurency"), "{}", stderr(&out));
    write_evalset(&ws, &fake, &echo_cases(1), "");
    let out = ws.assay(&["eval", "run", "echo", "--provider", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    let out = ws.assay(&["eval", "run", "missing-set"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("echo"),
        "lists the eval sets there are: {}",
        stderr(&out)
    );
}

#[test]
fn an_eval_run_killed_mid_way_resumes_with_only_the_missing_results() {
    let fake = FakeProvider::start_blocking(Options {
        latency: Duration::from_millis(150),
        ..Options::default()
    })
    .unwrap();
    let ws = TempWorkspace::new();
    write_evalset(&ws, &fake, &echo_cases(24), "concurrency: 2\n");
    let mut child = Command::new(assay_bin())
        .args(["eval", "run", "echo", "--no-cache"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        let list = ws.assay_json(&["eval", "list", "--json"]);
        let run = list["runs"][0].clone();
        if run["done"].as_i64().unwrap_or(0) >= 6 || Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    // Requests the killed process left in flight reach the fake server's count before we read it.
    std::thread::sleep(Duration::from_millis(400));
    let id = run["id"].as_str().unwrap().to_owned();
    let shown = ws.assay_json(&["eval", "show", &id, "--json"]);
    let done = shown["results"].as_array().unwrap().len() as u64;
    assert!((6..24).contains(&done), "killed after {done} results");
    let calls_before = fake.calls();

    let out = ws.assay(&["eval", "run", "echo", "--no-cache", "--resume", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = ws.assay_json(&["eval", "show", &id[..8], "--json"]);
    assert_eq!(shown["results"].as_array().unwrap().len(), 24);
    assert_eq!(shown["summary"]["run"]["pass"], 24);
    assert_eq!(shown["summary"]["run"]["status"], "completed");
    assert_eq!(
        fake.calls() - calls_before,
        24 - done,
        "the resumed run called only for what was missing"
    );
}

#[test]
fn a_promptfoo_config_runs_as_it_is() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let ws = TempWorkspace::new();
    let config = std::fs::read_to_string(fixture("promptfoo/promptfooconfig.yaml"))
        .unwrap()
        .replace("http://127.0.0.1:18080", &fake.url());
    let path = ws.path().join("promptfooconfig.yaml");
    std::fs::write(&path, config).unwrap();
    let json = ws.path().join("out.json");
    let out = ws.assay(&[
        "eval",
        "run",
        "promptfooconfig.yaml",
        "--retries",
        "0",
        "--json",
        json.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    // The fixture mixes passes, failures and errors on purpose: the gate fails.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "not evaluated: assertion type javascript at promptfooconfig.yaml: tests[5].assert[0]"
        ),
        "unsupported assertions are named with their location: {err}"
    );
    let detail: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let results = detail["results"].as_array().unwrap();
    assert_eq!(results.len(), 22, "2 prompts x 11 tests");
    let outcome = |case: &str, prompt: &str| -> String {
        results
            .iter()
            .find(|r| r["case_id"] == case && r["prompt_id"] == prompt)
            .unwrap_or_else(|| panic!("no result for {case} / {prompt}"))["outcome"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(outcome("exact echo", "echo"), "pass");
    assert_eq!(outcome("exact echo", "answer"), "fail");
    assert_eq!(outcome("contains city", "echo"), "pass");
    assert_eq!(outcome("case-insensitive contains", "echo"), "pass");
    assert_eq!(outcome("provider error 500", "echo"), "error");
    assert_eq!(outcome("provider error 500", "answer"), "error");
    assert_eq!(outcome("contains-any / starts-with", "answer"), "pass");
    assert_eq!(outcome("contains-any / starts-with", "echo"), "fail");
    assert_eq!(
        outcome("is-json (only the answer prompt produces JSON)", "answer"),
        "pass"
    );
    assert_eq!(
        outcome("is-json (only the answer prompt produces JSON)", "echo"),
        "fail"
    );
    assert_eq!(
        detail["summary"]["unsupported"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn keys_status_names_the_source_and_never_the_key() {
    let ws = TempWorkspace::new();
    let out = Command::new(assay_bin())
        .args(["keys", "status", "--json"])
        .current_dir(ws.path())
        .env("ANTHROPIC_API_KEY", "sk-ant-very-secret")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("very-secret"), "{text}");
    let status: serde_json::Value = serde_json::from_str(&text).unwrap();
    let source = |p: &str| {
        status
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["provider"] == p)
            .unwrap()["source"]
            .clone()
    };
    assert_eq!(source("anthropic"), "env:ANTHROPIC_API_KEY");
    let out = ws.assay(&["keys", "set", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown provider"),
        "{}",
        stderr(&out)
    );
}

/// Needs a Secret Service (CI runs it under `dbus-run-session` with gnome-keyring; see the
/// Makefile's `test-keyring`).
#[test]
#[ignore]
fn keys_round_trip_through_the_os_keyring() {
    let ws = TempWorkspace::new();
    let set = |key: &str| {
        let mut child = Command::new(assay_bin())
            .args(["keys", "set", "openrouter"])
            .current_dir(ws.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(key.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = set("sk-or-round-trip-secret\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("round-trip-secret"));
    let status = Command::new(assay_bin())
        .args(["keys", "status", "--json"])
        .current_dir(ws.path())
        .env_remove("OPENROUTER_API_KEY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    let status: serde_json::Value = serde_json::from_str(&text).unwrap();
    let openrouter = status
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["provider"] == "openrouter")
        .unwrap();
    assert_eq!(openrouter["source"], "keyring", "{text}");
    assert!(!text.contains("round-trip-secret"));
    // The key never lands in the workspace's files or database.
    for entry in walk(ws.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("round-trip-secret"),
            "the key was written to {}",
            entry.display()
        );
    }
    let out = ws.assay(&["keys", "delete", "openrouter"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = ws.assay(&["keys", "status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("openrouter") && l.ends_with("not set")),
        "{text}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn eval_diff_reports_the_demo_regression_with_ci_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("demo");
    let out = Command::new(assay_bin())
        .args(["demo", "--no-open"])
        .arg(&ws)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let run = |args: &[&str]| {
        Command::new(assay_bin())
            .args(args)
            .current_dir(&ws)
            .output()
            .unwrap()
    };
    let md = ws.join("diff.md");
    let out = run(&[
        "eval",
        "diff",
        "--base",
        "HEAD~1",
        "--replay",
        "support-triage",
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("5 regressed, 0 fixed"), "{text}");
    assert!(text.contains("REGRESSED     double-charge"), "{text}");
    assert!(text.contains("McNemar"), "names the test: {text}");
    let comment = std::fs::read_to_string(&md).unwrap();
    assert!(
        comment.starts_with("### ❌ Eval diff `support-triage`"),
        "{comment}"
    );
    assert!(comment.contains("#### Regressed"), "{comment}");

    let out = run(&[
        "eval",
        "diff",
        "--base",
        "HEAD~1",
        "--replay",
        "--allow-regressions",
        "support-triage",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The commit that improved the prompt fixed cases and regressed none: the gate holds.
    let out = run(&[
        "eval",
        "diff",
        "--base",
        "HEAD~3",
        "--head",
        "HEAD~2",
        "--replay",
        "support-triage",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Any commit evaluates on its own, without touching the working tree: the first commit had
    // nine cases.
    let out = run(&[
        "eval",
        "run",
        "support-triage",
        "--at",
        "HEAD~3",
        "--replay",
        "--json",
        "at.json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let detail: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("at.json")).unwrap()).unwrap();
    assert_eq!(detail["results"].as_array().unwrap().len(), 18);
    assert_eq!(detail["summary"]["run"]["git_dirty"], false);
    assert_eq!(
        std::fs::read_to_string(ws.join("evalsets/support-triage/cases.jsonl"))
            .unwrap()
            .lines()
            .count(),
        10,
        "the working tree keeps its ten cases"
    );
    let out = run(&[
        "eval",
        "diff",
        "--base",
        "no-such-ref",
        "--replay",
        "support-triage",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-ref"), "{}", stderr(&out));
}

#[test]
fn prices_resolve_dated_models_and_a_litellm_import_overrides_the_catalogue() {
    let ws = TempWorkspace::new();
    let shown = ws.assay_json(&[
        "prices",
        "show",
        "gpt-4o-2024-05-13",
        "--at",
        "2024-09-01",
        "--json",
    ]);
    assert_eq!(shown["entry"]["input"], 5.0);
    let shown = ws.assay_json(&["prices", "show", "gpt-4o", "--at", "2024-11-01", "--json"]);
    assert_eq!(
        shown["entry"]["input"], 2.5,
        "the price cut applies after its date"
    );
    let out = ws.assay(&["prices", "show", "house-model-7b"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unpriced model is not silently free"
    );

    let litellm = ws.path().join("litellm.json");
    std::fs::write(
        &litellm,
        r#"{
  "sample_spec": {"input_cost_per_token": 0, "litellm_provider": "openai"},
  "house-model-7b": {"input_cost_per_token": 2e-07, "output_cost_per_token": 6e-07, "litellm_provider": "openai", "mode": "chat"},
  "dall-e-3": {"output_cost_per_image": 0.04, "litellm_provider": "openai", "mode": "image_generation"}
}"#,
    )
    .unwrap();
    let report = ws.assay_json(&["prices", "import", litellm.to_str().unwrap(), "--json"]);
    assert_eq!(report["imported"], 1);
    assert_eq!(
        report["skipped"].as_array().unwrap().len(),
        1,
        "the per-image model"
    );
    assert!(ws.path().join("prices.toml").exists());
    let shown = ws.assay_json(&["prices", "show", "house-model-7b", "--json"]);
    let input = shown["entry"]["input"].as_f64().unwrap();
    assert!(
        (input - 0.2).abs() < 1e-9,
        "per-token prices become per-million: {input}"
    );
}
