//! `assay demo`: a workspace with sample traces and example eval sets under a short, realistic
//! git history, evaluated offline from recorded responses.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::json::{EvalRunBrief, WORKTREE};
use super::{init, Api};
use crate::error::{Error, Result};
use crate::eval::runner::{self, Cassette, RunOptions};
use crate::import::ImportReport;
use crate::workspace::{InitReport, Locate};

/// What [`demo`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    /// The workspace set up.
    pub workspace: InitReport,
    /// The database file.
    pub db_path: String,
    /// One report per bundled sample file, then the generated month.
    pub imported: Vec<ImportReport>,
    /// Whether the git history was created now (false when the workspace already had one).
    pub history_created: bool,
    /// The eval sets of the working tree, each run offline from its cassette.
    pub evals: Vec<EvalRunBrief>,
    /// Runs of the triage eval set at each commit of the history (for the trend and the diff).
    pub history: Vec<EvalRunBrief>,
}

/// The eval set whose history the demo tells.
const TRIAGE: &str = "support-triage";
/// The SSO case, added in the third commit.
const SSO_CASE: &str = "\"id\": \"sso-request\"";

/// Sets up a demo workspace in `dir`: imports the bundled sample traces, and, the first time,
/// makes it a git repository whose history tells a prompt's story (eval sets added, the triage
/// prompt improved, a case added, then a regression introduced), then runs the triage eval set
/// at each commit and every eval set in the working tree, offline from their cassettes. Running
/// it again imports nothing twice, keeps the history and any edits, and adds one run per eval
/// set.
pub fn demo(dir: &Path) -> Result<DemoReport> {
    let workspace = init(dir)?;
    let root = workspace.root.clone();
    let api = Api::open(&Locate {
        workspace: Some(root.clone()),
        cwd: root.clone(),
        ..Default::default()
    })?;
    let mut imported = crate::samples::TRACES
        .iter()
        .map(|(name, doc)| api.import_bytes(&format!("sample:{name}"), doc.as_bytes()))
        .collect::<Result<Vec<_>>>()?;
    imported.push(import_month(&api)?);
    // The demo's own repository, even when the folder sits inside another one.
    let history_created = !root.join(".git").exists();
    let mut history = Vec::new();
    if history_created {
        let commits = write_history(&root)?;
        for sha in commits {
            let (plan, side) = api.eval_plan_at(TRIAGE, &sha)?;
            let options = RunOptions {
                cassette: Cassette::Replay(runner::default_cassette(&plan)),
                git: side.commit.map(|c| (c, false)),
                ..Default::default()
            };
            let outcome = api.eval_run(&plan, &options, &mut |_| {}, &AtomicBool::new(false))?;
            history.push(outcome.summary.run);
        }
    } else {
        write_missing(&root)?;
    }
    let mut evals = Vec::new();
    for (name, _) in crate::eval::files::list_evalsets(&root) {
        let (plan, _) = api.eval_plan_at(&name, WORKTREE)?;
        let options = RunOptions {
            cassette: Cassette::Replay(runner::default_cassette(&plan)),
            ..Default::default()
        };
        let outcome = api.eval_run(&plan, &options, &mut |_| {}, &AtomicBool::new(false))?;
        evals.push(outcome.summary.run);
    }
    api.index_search_text(usize::MAX)?;
    Ok(DemoReport {
        db_path: api.workspace.db_path.display().to_string(),
        workspace,
        imported,
        history_created,
        evals,
        history,
    })
}

/// Spans in the demo's generated month of production traffic.
const MONTH_SPANS: u64 = 20_000;

/// A month of realistic production traces ending yesterday (tenants, endpoints, models, errors,
/// a cost spike), so the explorer and the Cost section have something to show. The generator is
/// deterministic: running the demo again the same day imports nothing new.
fn import_month(api: &Api) -> Result<ImportReport> {
    let day = 86_400_000_000_000_i64;
    let today = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap_or(0)
        .div_euclid(day)
        * day;
    // 29 days up to yesterday: with today's sample traces, exactly the Cost section's default
    // 30-day range, so the month is compared with nothing rather than with one stray day.
    let options = crate::generate::GenerateOptions {
        spans: MONTH_SPANS,
        start_ns: today - 29 * day,
        days: 29,
        ..Default::default()
    };
    let mut lines = Vec::new();
    crate::generate::generate(&options, Some(&mut lines), None)?;
    api.import_bytes("sample:generated-month", &lines)
}

fn write(root: &Path, path: &str, content: &str) -> Result<()> {
    let target = root.join(path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::write(&target, content).map_err(|e| Error::io(&target, e))
}

/// Writes the example files that are missing (edits to existing ones survive).
fn write_missing(root: &Path) -> Result<()> {
    for (path, content) in crate::samples::EVAL_FILES {
        if !root.join(path).exists() {
            write(root, path, content)?;
        }
    }
    Ok(())
}

fn sample(path: &str) -> &'static str {
    crate::samples::EVAL_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, c)| *c)
        .unwrap_or("")
}

/// Writes the files commit by commit and returns the commits, oldest first.
fn write_history(root: &Path) -> Result<Vec<String>> {
    use crate::samples::demo_history as h;
    let repo = crate::git::init(root)?;
    let day = 86_400;
    let now = chrono::Utc::now().timestamp();
    // The cassette holds the responses recorded for every version of the triage prompt.
    let cassette = format!(
        "{}{}",
        sample("evalsets/support-triage/cassette.jsonl"),
        h::TRIAGE_CASSETTE
    );
    let all_cases = sample("evalsets/support-triage/cases.jsonl");
    let first_cases: String = all_cases
        .lines()
        .filter(|l| !l.contains(SSO_CASE))
        .map(|l| format!("{l}\n"))
        .collect();

    for (path, content) in crate::samples::EVAL_FILES {
        write(root, path, content)?;
    }
    write(root, "prompts/triage.yaml", h::TRIAGE_V1)?;
    write(root, "evalsets/support-triage/cases.jsonl", &first_cases)?;
    write(root, "evalsets/support-triage/cassette.jsonl", &cassette)?;
    let mut commits = Vec::new();
    let maya = ("Maya Chen", "maya@acme.example");
    let tom = ("Tom Okafor", "tom@acme.example");
    let c = repo.commit_all(
        "Add eval sets for ticket triage, RAG answers and release notes",
        maya.0,
        maya.1,
        now - 4 * day,
    )?;
    commits.push(c.sha);
    write(root, "prompts/triage.yaml", sample("prompts/triage.yaml"))?;
    let c = repo.commit_all(
        "Triage: say when a human must step in (refunds, legal threats, data loss)",
        maya.0,
        maya.1,
        now - 3 * day,
    )?;
    commits.push(c.sha);
    write(root, "evalsets/support-triage/cases.jsonl", all_cases)?;
    let c = repo.commit_all(
        "Triage: add the SSO sales question as a case",
        tom.0,
        tom.1,
        now - 2 * day,
    )?;
    commits.push(c.sha);
    write(root, "prompts/triage.yaml", h::TRIAGE_V3)?;
    let c = repo.commit_all("Triage: shorter system prompt", tom.0, tom.1, now - day)?;
    commits.push(c.sha);
    Ok(commits)
}
