//! The eval runner against a real local fake provider (HTTP on 127.0.0.1 with fault injection):
//! results, gates, the response cache, retries, adaptive concurrency, interruption and resume,
//! cassettes, and traces of each call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use assay::api::json::{EvalRunRef, TraceGet};
use assay::api::Api;
use assay::eval::runner::{Cassette, RetryPolicy, RunOptions};
use fake_provider::{FakeProvider, Faults, Options};

use crate::temp_workspace;

/// Writes a prompt and an eval set whose provider is the fake server (OpenAI wire format).
fn write_evalset(root: &std::path::Path, fake: &FakeProvider, cases: &str, extra: &str) {
    std::fs::create_dir_all(root.join("prompts")).unwrap();
    std::fs::create_dir_all(root.join("evalsets/echo")).unwrap();
    std::fs::write(
        root.join("prompts/echo.yaml"),
        "messages:\n  - role: system\n    content: Repeat what you are told.\n  - role: user\n    content: \"{{input}}\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("evalsets/echo/evalset.yaml"),
        format!(
            "description: Echo checks\nprompts: [echo]\nproviders:\n  - id: openai:chat:gpt-4o-mini\n    label: fake\n    config:\n      apiBaseUrl: {}/v1\n      apiKey: sk-test\n      temperature: 0\n      prices: {{input: 1.0, output: 2.0}}\n{extra}\ncases:\n{cases}",
            fake.url()
        ),
    )
    .unwrap();
}

fn echo_cases(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "  - id: case-{i}\n    vars: {{input: \"ECHO: word{i}\"}}\n    assert:\n      - {{type: equals, value: word{i}}}\n"
            )
        })
        .collect()
}

fn run(api: &Api, options: &RunOptions) -> assay::eval::runner::RunOutcome {
    let plan = api.eval_plan("echo").unwrap();
    let never = AtomicBool::new(false);
    api.eval_run(&plan, options, &mut |_| {}, &never).unwrap()
}

fn fast_retries() -> RunOptions {
    RunOptions {
        retry: RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(10),
            max: Duration::from_millis(200),
        },
        ..Default::default()
    }
}

#[test]
fn a_run_grades_every_case_records_traces_and_checks_gates() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let (dir, api) = temp_workspace();
    let cases = "  - id: echoed\n    vars: {input: \"ECHO: hello\"}\n    assert:\n      - {type: equals, value: hello}\n      - {type: not-contains, value: goodbye, metric: polite}\n  - id: wrong\n    vars: {input: \"ECHO: bonjour\"}\n    assert:\n      - {type: equals, value: hello}\n  - id: json\n    vars: {input: JSON please}\n    assert:\n      - {type: is-json, value: {required: [answer]}}\n  - id: broken\n    vars: {input: ERROR500}\n    assert:\n      - {type: contains, value: x}\n";
    write_evalset(dir.path(), &fake, cases, "");
    let outcome = run(
        &api,
        &RunOptions {
            retry: RetryPolicy {
                max_retries: 1,
                base: Duration::from_millis(5),
                max: Duration::from_millis(20),
            },
            ..Default::default()
        },
    );
    let detail = api
        .eval_run_get(&EvalRunRef {
            run_id: outcome.run_id.clone(),
        })
        .unwrap();
    let by_case = |id: &str| detail.results.iter().find(|r| r.case_id == id).unwrap();
    assert_eq!(by_case("echoed").outcome, "pass");
    assert_eq!(by_case("echoed").output.as_deref(), Some("hello"));
    assert_eq!(by_case("wrong").outcome, "fail");
    assert!(
        by_case("wrong").assertions[0].reason.contains("hello"),
        "{:?}",
        by_case("wrong").assertions
    );
    assert_eq!(by_case("json").outcome, "pass");
    let broken = by_case("broken");
    assert_eq!(
        broken.outcome, "error",
        "a provider error is an error, not a failure"
    );
    assert!(
        broken.error.as_deref().unwrap().contains("500"),
        "{broken:?}"
    );
    // 1 retry of the 500: two calls for it, one for each other case.
    assert_eq!(fake.calls(), 5);

    let s = &detail.summary;
    assert_eq!((s.run.pass, s.run.fail, s.run.error), (2, 1, 1));
    assert_eq!(s.run.status, "completed");
    assert!(!s.passed, "no gates given: every result must pass");
    let gate = |name: &str| s.gates.iter().find(|g| g.name == name).unwrap();
    assert!(!gate("pass_rate").passed);
    assert!((gate("pass_rate").actual.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!(!gate("max_errors").passed);
    assert_eq!(s.metrics.len(), 1);
    assert_eq!(s.metrics[0].name, "polite");
    // Cost from the configured prices: every call counted its words as tokens.
    let echoed = by_case("echoed");
    let expected = (echoed.input_tokens.unwrap() as f64 * 1.0
        + echoed.output_tokens.unwrap() as f64 * 2.0)
        / 1e6;
    assert!((echoed.cost.unwrap() - expected).abs() < 1e-12);

    // Each call is a trace in the explorer, with the rendered messages and usage.
    let trace = api
        .trace_get(&TraceGet {
            trace_id: echoed.trace_id.clone().unwrap(),
        })
        .unwrap();
    assert_eq!(trace.spans.len(), 2);
    let llm = trace.spans.iter().find(|s| s.kind == "llm").unwrap();
    assert_eq!(llm.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(
        llm.response_model.as_deref(),
        Some("gpt-4o-mini-2025-01-01")
    );
    assert_eq!(llm.usage.input, echoed.input_tokens);
}

#[test]
fn a_rerun_is_served_from_the_cache_and_no_cache_calls_again() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let (dir, api) = temp_workspace();
    write_evalset(dir.path(), &fake, &echo_cases(6), "");
    let first = run(&api, &RunOptions::default());
    assert_eq!(fake.calls(), 6);
    assert!(first.summary.passed);
    let second = run(&api, &RunOptions::default());
    assert_eq!(fake.calls(), 6, "a cached rerun makes no provider call");
    assert_eq!(second.summary.rows[0].cached, 6);
    assert!(second.summary.passed);
    assert_eq!(
        second.summary.run.cost, 0.0,
        "cached results cost nothing again"
    );
    run(
        &api,
        &RunOptions {
            no_cache: true,
            ..Default::default()
        },
    );
    assert_eq!(fake.calls(), 12);
}

#[test]
fn errors_and_empty_responses_are_not_cached() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let (dir, api) = temp_workspace();
    let cases = "  - id: empty\n    vars: {input: EMPTY}\n    assert:\n      - {type: equals, value: \"\"}\n";
    write_evalset(dir.path(), &fake, cases, "");
    run(&api, &RunOptions::default());
    run(&api, &RunOptions::default());
    assert_eq!(fake.calls(), 2, "an empty response is asked again");
}

#[test]
fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    fake.set_faults(Faults {
        rate_limit_next: 2,
        retry_after: Some(0.05),
        server_error_next: 1,
        drop_next: 1,
        malformed_next: 1,
        ..Faults::default()
    });
    let (dir, api) = temp_workspace();
    write_evalset(dir.path(), &fake, &echo_cases(3), "concurrency: 1\n");
    let outcome = run(&api, &fast_retries());
    assert!(outcome.summary.passed, "{:?}", outcome.summary);
    assert_eq!(outcome.summary.run.pass, 3);
    assert_eq!(fake.calls(), 3 + 5, "each fault costs one retry");
}

#[test]
fn concurrency_adapts_to_a_providers_rate_limit() {
    let fake = FakeProvider::start_blocking(Options {
        latency: Duration::from_millis(20),
        faults: Faults {
            max_concurrency: Some(3),
            retry_after: Some(0.02),
            ..Faults::default()
        },
    })
    .unwrap();
    let (dir, api) = temp_workspace();
    write_evalset(dir.path(), &fake, &echo_cases(60), "concurrency: 24\n");
    let mut options = fast_retries();
    options.retry.max_retries = 20;
    let outcome = run(&api, &options);
    assert_eq!(outcome.summary.run.pass, 60, "{:?}", outcome.summary);
    let rejected = fake.calls() - 60;
    // Without adapting, every wave would send 24 and have 21 rejected (hundreds in all).
    assert!(
        rejected < 60,
        "the runner kept hammering a rate-limited provider: {rejected} requests rejected"
    );
}

#[test]
fn an_interrupted_run_resumes_with_only_what_is_missing() {
    let fake = FakeProvider::start_blocking(Options {
        latency: Duration::from_millis(30),
        ..Options::default()
    })
    .unwrap();
    let (dir, api) = temp_workspace();
    write_evalset(dir.path(), &fake, &echo_cases(20), "concurrency: 2\n");
    let plan = api.eval_plan("echo").unwrap();
    let cancel = AtomicBool::new(false);
    let options = RunOptions {
        no_cache: true,
        ..Default::default()
    };
    let first = api
        .eval_run(
            &plan,
            &options,
            &mut |p| {
                if p.done >= 5 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .unwrap();
    let s = &first.summary;
    assert_eq!(s.run.status, "interrupted");
    assert!(!s.passed, "an interrupted run never passes its gates");
    assert!(s.run.done >= 5 && s.run.done < 20, "{}", s.run.done);
    let done_before = s.run.done;
    let calls_before = fake.calls();

    let resumed = api
        .eval_run(
            &plan,
            &RunOptions {
                resume: Some(first.run_id.clone()),
                no_cache: true,
                ..Default::default()
            },
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(resumed.run_id, first.run_id);
    assert_eq!(resumed.summary.run.status, "completed");
    assert_eq!(resumed.summary.run.done, 20);
    assert_eq!(resumed.summary.run.pass, 20);
    assert!(resumed.summary.passed);
    assert_eq!(
        fake.calls() - calls_before,
        (20 - done_before) as u64,
        "resume calls only for the missing results"
    );
}

#[test]
fn resume_refuses_a_run_of_other_content() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let (dir, api) = temp_workspace();
    write_evalset(dir.path(), &fake, &echo_cases(2), "");
    let first = run(&api, &RunOptions::default());
    write_evalset(dir.path(), &fake, &echo_cases(3), "");
    let plan = api.eval_plan("echo").unwrap();
    let err = api
        .eval_run(
            &plan,
            &RunOptions {
                resume: Some(first.run_id),
                ..Default::default()
            },
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap_err();
    assert!(err.to_string().contains("other content"), "{err}");
}

#[test]
fn a_recorded_cassette_replays_offline_with_the_same_results() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let (dir, api) = temp_workspace();
    write_evalset(dir.path(), &fake, &echo_cases(4), "");
    let cassette = dir.path().join("evalsets/echo/cassette.jsonl");
    let recorded = run(
        &api,
        &RunOptions {
            cassette: Cassette::Record(cassette.clone()),
            ..Default::default()
        },
    );
    assert_eq!(fake.calls(), 4);
    assert_eq!(
        std::fs::read_to_string(&cassette).unwrap().lines().count(),
        4
    );
    drop(fake);
    let replayed = run(
        &api,
        &RunOptions {
            cassette: Cassette::Replay(cassette),
            ..Default::default()
        },
    );
    assert_eq!(replayed.summary.run.pass, recorded.summary.run.pass);
    assert_eq!(replayed.summary.rows[0].cached, 4);

    // A request the cassette does not hold is an error naming the cassette, not a network call.
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    write_evalset(dir.path(), &fake, &echo_cases(5), "");
    let plan = api.eval_plan("echo").unwrap();
    let outcome = api
        .eval_run(
            &plan,
            &RunOptions {
                cassette: Cassette::Replay(dir.path().join("evalsets/echo/cassette.jsonl")),
                ..Default::default()
            },
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(fake.calls(), 0);
    assert_eq!(outcome.summary.run.error, 1);
}

#[test]
fn the_example_eval_sets_run_offline_in_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let report = assay::api::demo(dir.path()).unwrap();
    assert_eq!(report.evals.len(), 3);
    // The sample responses hold realistic mistakes (and the demo history ends with a regressing
    // triage prompt); replaying them grades the same every time.
    let counts: Vec<(&str, i64, i64, i64)> = report
        .evals
        .iter()
        .map(|r| (r.evalset.as_str(), r.pass, r.fail, r.error))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("rag-answers", 4, 1, 0),
            ("release-notes", 3, 1, 0),
            ("support-triage", 12, 8, 0)
        ]
    );
    for run in &report.evals {
        assert_eq!(run.status, "completed", "{run:?}");
        assert_eq!(run.done, run.planned, "{run:?}");
        assert_eq!(run.error, 0, "every call is in the cassette: {run:?}");
        assert!(run.pass > 0, "{run:?}");
    }
}

#[test]
fn calls_without_configured_prices_are_costed_from_the_catalogue() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let (dir, api) = temp_workspace();
    write_evalset(dir.path(), &fake, &echo_cases(2), "");
    // The same eval set without `prices`: the catalogue prices gpt-4o-mini (answered as the
    // dated version gpt-4o-mini-2025-01-01) at $0.15 in / $0.60 out per million tokens.
    let path = dir.path().join("evalsets/echo/evalset.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("      prices: {input: 1.0, output: 2.0}\n", "");
    std::fs::write(&path, text).unwrap();
    let outcome = run(&api, &RunOptions::default());
    let detail = api
        .eval_run_get(&EvalRunRef {
            run_id: outcome.run_id,
        })
        .unwrap();
    for r in &detail.results {
        let expected =
            (r.input_tokens.unwrap() as f64 * 0.15 + r.output_tokens.unwrap() as f64 * 0.60) / 1e6;
        assert!(
            (r.cost.unwrap() - expected).abs() < 1e-12,
            "{:?} vs {expected}",
            r.cost
        );
    }
}
