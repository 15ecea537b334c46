//! Base-vs-head eval diffs over real git repositories and the fake provider.

use assay::api::json::{CaseChange, DiffGates, EvalDiffArgs, WORKTREE};
use fake_provider::{FakeProvider, Options};

use crate::temp_workspace;

fn write(root: &std::path::Path, path: &str, content: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn evalset(fake: &FakeProvider, cases: &[(&str, &str, &str)]) -> String {
    let mut s = format!(
        "prompts: [echo]\nproviders:\n  - id: openai:gpt-4o-mini\n    label: fake\n    config:\n      apiBaseUrl: {}/v1\n      apiKey: sk-test\ncases:\n",
        fake.url()
    );
    for (id, input, expected) in cases {
        s.push_str(&format!(
            "  - id: {id}\n    vars: {{input: \"{input}\"}}\n    assert: [{{type: equals, value: \"{expected}\"}}]\n"
        ));
    }
    s
}

fn args(base: &str, head: &str) -> EvalDiffArgs {
    EvalDiffArgs {
        evalset: "echo".into(),
        base: base.into(),
        head: head.into(),
        repeat: None,
        replay: false,
        gates: DiffGates {
            no_regressions: true,
            ..DiffGates::default()
        },
    }
}

#[test]
fn a_diff_of_two_commits_finds_exactly_what_changed_and_reuses_unchanged_runs() {
    let fake = FakeProvider::start_blocking(Options::default()).unwrap();
    let (dir, api) = temp_workspace();
    let root = dir.path();
    let repo = assay::git::init(root).unwrap();
    write(root, "prompts/echo.yaml", "text: \"ECHO: {{input}}\"\n");
    write(
        root,
        "evalsets/echo/evalset.yaml",
        &evalset(
            &fake,
            &[
                ("same", "a", "a"),
                ("broken", "b", "b"),
                ("fixme", "x", "y"),
            ],
        ),
    );
    let base = repo
        .commit_all("base", "Ann", "ann@example.com", 1_790_000_000)
        .unwrap();
    // Head: the `broken` case's input changes (it regresses), `fixme` gets the right
    // expectation (fixed), and a case is added.
    write(
        root,
        "evalsets/echo/evalset.yaml",
        &evalset(
            &fake,
            &[
                ("same", "a", "a"),
                ("broken", "bb", "b"),
                ("fixme", "x", "x"),
                ("added", "n", "n"),
            ],
        ),
    );
    repo.commit_all("head", "Ann", "ann@example.com", 1_790_000_100)
        .unwrap();

    let d = api.eval_diff(&args(&base.sha, "HEAD")).unwrap();
    let of = |c: CaseChange| -> Vec<&str> {
        d.cases
            .iter()
            .filter(|x| x.change == c)
            .map(|x| x.case_id.as_str())
            .collect()
    };
    assert_eq!(of(CaseChange::Regressed), vec!["broken"]);
    assert_eq!(of(CaseChange::Fixed), vec!["fixme"]);
    assert_eq!(of(CaseChange::New), vec!["added"]);
    assert_eq!(of(CaseChange::Unchanged), vec!["same"]);
    assert_eq!(d.cases[0].case_id, "broken", "regressions first");
    assert!(!d.passed, "a consistent regression fails the gate");
    assert_eq!(d.base.commit.as_deref(), Some(base.sha.as_str()));
    assert!(!d.base.dirty && !d.head.dirty);
    assert!(
        (d.paired.p_value - 1.0).abs() < 1e-12,
        "one regressed vs one fixed"
    );
    assert!(d.cases[0].output_diff.as_deref().unwrap().contains("bb"));
    // 3 base calls; on head only the changed request (`broken`) and the new case call: `same`
    // and `fixme` send the same request as on base (only an assertion changed) and are cached.
    assert_eq!(fake.calls(), 5);
    // The working tree was not touched by evaluating the base commit.
    let now = std::fs::read_to_string(root.join("evalsets/echo/evalset.yaml")).unwrap();
    assert!(now.contains("added"));

    // Again: both sides' content was evaluated already; nothing is called.
    let again = api.eval_diff(&args(&base.sha, "HEAD")).unwrap();
    assert!(again.base.reused && again.head.reused);
    assert_eq!(fake.calls(), 5, "an unchanged base costs no provider call");
    assert_eq!(again.counts, d.counts);

    // The working tree with an uncommitted edit is the default head, marked dirty.
    write(
        root,
        "prompts/echo.yaml",
        "text: \"ECHO: {{input}}\"\ndescription: edited\n",
    );
    let files = api.workspace_files().unwrap();
    let modified: Vec<&str> = files
        .files
        .iter()
        .filter(|f| f.modified)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(modified, vec!["prompts/echo.yaml"]);
    let dirty = api.eval_diff(&args("HEAD", WORKTREE)).unwrap();
    assert!(dirty.head.dirty);
    assert_eq!(dirty.counts.regressed + dirty.counts.fixed, 0);

    // A ref that does not exist is an error of use naming it.
    let err = api.eval_diff(&args("no-such-branch", "HEAD")).unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");
    assert_eq!(err.code(), assay::ErrorCode::InvalidInput);
}

#[test]
fn the_demo_tells_a_prompt_history_with_a_regression_to_find() {
    let dir = tempfile::tempdir().unwrap();
    let report = assay::api::demo(dir.path()).unwrap();
    assert!(report.history_created);
    assert_eq!(report.history.len(), 4);
    let api = assay::api::Api::open(&assay::workspace::Locate {
        workspace: Some(dir.path().to_path_buf()),
        cwd: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    let mut a = args("HEAD~1", WORKTREE);
    a.evalset = "support-triage".into();
    a.replay = true;
    let d = api.eval_diff(&a).unwrap();
    assert!(
        d.base.reused && d.head.reused,
        "the demo evaluated both sides already"
    );
    let mut regressed: Vec<String> = d
        .cases
        .iter()
        .filter(|c| c.change == CaseChange::Regressed)
        .map(|c| format!("{} {}", c.case_id, c.provider))
        .collect();
    regressed.sort();
    // The shorter prompt lists capitalised categories: gpt-4o-mini follows them off the schema.
    assert_eq!(
        regressed,
        vec![
            "api-down claude-3.5-haiku",
            "double-charge gpt-4o-mini",
            "invoice-address gpt-4o-mini",
            "legal-threat gpt-4o-mini",
            "sso-request gpt-4o-mini",
        ]
    );
    assert!(!d.passed);
    // The prompt improvement (commit 2) fixed the escalation cases.
    a.base = "HEAD~3".into();
    a.head = "HEAD~2".into();
    let d = api.eval_diff(&a).unwrap();
    assert!(d.counts.fixed >= 3, "{:?}", d.counts);
    assert_eq!(d.counts.regressed, 0);
    // The trend has a point per commit.
    let trend = api
        .eval_trend(&assay::api::json::EvalTrendArgs {
            evalset: "support-triage".into(),
            rev: None,
            limit: None,
            theme: None,
        })
        .unwrap();
    assert_eq!(trend.points.len(), 4);
    assert!(trend.points.iter().all(|p| p.pass_rate.is_some()));
    assert!(trend.svg.contains("<svg"));
}
