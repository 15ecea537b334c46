//! `assay eval` and `assay keys`: arguments onto `assay::api`, progress and reports onto the
//! terminal and files.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use assay::api::json::{EvalProgress, EvalRunDetail, EvalRunRef, EvalRunsQuery, KeyRef, KeySet};
use assay::api::{Api, CassetteChoice};
use assay::eval::report::{self, dollars, percent};
use assay::eval::runner::{RetryPolicy, RunOptions};

use crate::args::{EvalDiffArgs, EvalRunArgs, KeysCommand};

/// Exit code when a gate fails or a run is interrupted.
const EXIT_GATE: u8 = 1;
/// Exit code for an invalid eval set or arguments.
const EXIT_USAGE: u8 = 2;

/// `assay eval run`.
pub fn run(api: &Api, args: EvalRunArgs) -> Result<ExitCode> {
    let loaded = match &args.at {
        Some(rev) => api
            .eval_plan_at(&args.target, rev)
            .map(|(plan, side)| (plan, side.commit.map(|c| (c, false)))),
        None => api.eval_plan(&args.target).map(|plan| (plan, None)),
    };
    let (plan, at_commit) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let cassette = CassetteChoice {
        replay: args.replay,
        record: args.record,
        path: args.cassette.clone(),
    };
    let cassette = match cassette.resolve(&plan) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let options = RunOptions {
        providers: args.providers.clone(),
        filter: args.filter.clone(),
        repeat: args.repeat,
        concurrency: args.concurrency,
        no_cache: args.no_cache,
        cassette,
        resume: args.resume.clone(),
        git: at_commit,
        retry: RetryPolicy {
            max_retries: args.retries,
            ..RetryPolicy::default()
        },
        ..RunOptions::default()
    };
    let narrowed = match assay::eval::runner::narrow_plan(&plan, &options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let mut err = std::io::stderr().lock();
    let total = narrowed.cases.len()
        * narrowed.prompts.len()
        * narrowed.providers.len()
        * narrowed.repeat as usize;
    writeln!(
        err,
        "eval {}: {} cases x {} prompts x {} providers{} = {} calls",
        narrowed.name,
        narrowed.cases.len(),
        narrowed.prompts.len(),
        narrowed.providers.len(),
        if narrowed.repeat > 1 {
            format!(" x {} repeats", narrowed.repeat)
        } else {
            String::new()
        },
        total
    )?;
    for u in &narrowed.unsupported {
        writeln!(err, "warning: not evaluated: {} at {}", u.what, u.location)?;
    }
    drop(err);

    let cancel = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(Arc::clone(&cancel));
    let live = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_draw = Instant::now();
    let mut progress = |p: &EvalProgress| {
        if live && (last_draw.elapsed().as_millis() >= 100 || p.done == p.total) {
            last_draw = Instant::now();
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[2K{}/{}  pass {}  fail {}  error {}  cached {}  cost {}  {:.1} s",
                p.done,
                p.total,
                p.pass,
                p.fail,
                p.error,
                p.cached,
                dollars(p.cost),
                started.elapsed().as_secs_f64()
            );
        }
    };
    let outcome = match api.eval_run(&plan, &options, &mut progress, &cancel) {
        Ok(o) => o,
        Err(e) if e.code() == assay::ErrorCode::InvalidInput => {
            if live {
                eprintln!();
            }
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        Err(e) => return Err(e.into()),
    };
    if live {
        eprintln!();
    }
    let detail = api.eval_run_get(&EvalRunRef {
        run_id: outcome.run_id.clone(),
    })?;
    write_outputs(&detail, &args)?;
    let mut out = std::io::stdout().lock();
    summary_table(&detail, &mut out)?;
    let s = &detail.summary;
    if s.run.status == "interrupted" {
        writeln!(
            out,
            "interrupted after {} of {} results; finish with: assay eval run {} --resume {}",
            s.run.done, s.run.planned, args.target, s.run.id
        )?;
        return Ok(ExitCode::from(EXIT_GATE));
    }
    Ok(if s.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_GATE)
    })
}

fn write_outputs(detail: &EvalRunDetail, args: &EvalRunArgs) -> Result<()> {
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(detail)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(detail))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, report::markdown(detail))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Ctrl-C sets `cancel`; the runner stops, keeps what finished, and the run can be resumed.
fn watch_ctrl_c(cancel: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::Relaxed);
            }
        });
    });
}

/// The summary: one line per prompt x provider, then gates, then failing results.
pub fn summary_table(detail: &EvalRunDetail, out: &mut impl Write) -> std::io::Result<()> {
    let s = &detail.summary;
    writeln!(
        out,
        "{:<24} {:<28} {:>9} {:>6} {:>5} {:>5} {:>5} {:>10} {:>9}",
        "PROMPT", "PROVIDER", "PASS RATE", "SCORE", "PASS", "FAIL", "ERROR", "COST", "P50"
    )?;
    for row in &s.rows {
        writeln!(
            out,
            "{:<24} {:<28} {:>9} {:>6} {:>5} {:>5} {:>5} {:>10} {:>9}",
            clip(&row.prompt_id, 24),
            clip(&row.provider, 28),
            percent(row.pass_rate),
            row.mean_score
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "–".into()),
            row.pass,
            row.fail,
            row.error,
            dollars(row.cost),
            row.latency_p50_ms
                .map(|v| format!("{v:.0}ms"))
                .unwrap_or_else(|| "–".into())
        )?;
    }
    for r in detail
        .results
        .iter()
        .filter(|r| r.outcome != "pass")
        .take(20)
    {
        let why = if r.outcome == "error" {
            r.error.clone().unwrap_or_default()
        } else {
            report::failed_assertions(r).join("; ")
        };
        writeln!(
            out,
            "  {} {} [{} / {}]: {}",
            r.outcome.to_uppercase(),
            r.case_id,
            r.prompt_id,
            r.provider,
            clip(&why, 160)
        )?;
    }
    if s.repeats.iter().any(|c| c.passes != c.runs) {
        writeln!(out, "flaky cases (passes/runs):")?;
        for c in s.repeats.iter().filter(|c| c.passes != c.runs) {
            writeln!(
                out,
                "  {} [{} / {}]: {}/{}",
                c.case_id, c.prompt_id, c.provider, c.passes, c.runs
            )?;
        }
    }
    for g in &s.gates {
        writeln!(
            out,
            "gate {:<20} {:<4} {} (needs {} {})",
            g.name,
            if g.passed { "ok" } else { "FAIL" },
            report::gate_actual(g),
            if report::gate_is_ceiling(g) {
                "<="
            } else {
                ">="
            },
            g.threshold
        )?;
    }
    writeln!(
        out,
        "run {}: {} ({} pass, {} fail, {} error; {}; {:.1} s)",
        s.run.id,
        if s.passed { "passed" } else { "FAILED" },
        s.run.pass,
        s.run.fail,
        s.run.error,
        dollars(s.run.cost),
        s.run.duration_ms.unwrap_or(0.0) / 1000.0
    )
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `assay eval list`.
pub fn list(api: &Api, json: bool) -> Result<ExitCode> {
    let sets = api.eval_sets()?;
    let runs = api.eval_runs(&EvalRunsQuery {
        evalset: None,
        limit: Some(20),
    })?;
    if json {
        crate::print_json(&serde_json::json!({ "evalsets": sets, "runs": runs }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    if sets.is_empty() {
        writeln!(
            out,
            "no eval sets: create evalsets/NAME/evalset.yaml (see docs/evals.md)"
        )?;
    }
    for s in &sets {
        match &s.error {
            Some(e) => writeln!(out, "{:<28} INVALID: {}", s.name, e.message)?,
            None => writeln!(
                out,
                "{:<28} {} cases x {} prompts x {} providers{}",
                s.name,
                s.cases,
                s.prompts.len(),
                s.providers.len(),
                if s.has_cassette {
                    " (replayable offline)"
                } else {
                    ""
                }
            )?,
        }
    }
    if !runs.is_empty() {
        writeln!(out, "\nrecent runs:")?;
    }
    for r in &runs {
        writeln!(
            out,
            "{}  {:<24} {:<11} {:>7} pass rate  {} pass {} fail {} error  {}",
            r.id,
            clip(&r.evalset, 24),
            r.status,
            percent(r.pass_rate),
            r.pass,
            r.fail,
            r.error,
            r.started_at
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `assay eval show`.
pub fn show(api: &Api, run_id: &str, json: bool) -> Result<ExitCode> {
    let id = resolve_run_id(api, run_id)?;
    let detail = api.eval_run_get(&EvalRunRef { run_id: id })?;
    if json {
        crate::print_json(&detail)?;
    } else {
        summary_table(&detail, &mut std::io::stdout().lock())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn resolve_run_id(api: &Api, prefix: &str) -> Result<String> {
    let runs = api.eval_runs(&EvalRunsQuery {
        evalset: None,
        limit: Some(10_000),
    })?;
    let matching: Vec<&str> = runs
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| id.starts_with(prefix))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!("no eval run with id {prefix}"),
        _ => bail!(
            "{prefix} matches {} runs; give more of the id",
            matching.len()
        ),
    }
}

/// `assay keys ...`.
pub fn keys(api: &Api, command: KeysCommand) -> Result<ExitCode> {
    match command {
        KeysCommand::Set { provider } => {
            let mut key = String::new();
            if std::io::stdin().is_terminal() {
                eprint!("paste the {provider} API key and press Enter: ");
                std::io::stdin().read_line(&mut key)?;
            } else {
                std::io::stdin().read_to_string(&mut key)?;
            }
            let status = api.keys_set(&KeySet {
                provider,
                key: key.trim().to_owned(),
            })?;
            println!("{}: stored in the OS keyring", status.provider);
        }
        KeysCommand::Delete { provider } => {
            let status = api.keys_delete(&KeyRef { provider })?;
            println!(
                "{}: removed from the OS keyring{}",
                status.provider,
                status
                    .source
                    .map(|s| format!(" (a key still comes from {s})"))
                    .unwrap_or_default()
            );
        }
        KeysCommand::Status { json } => {
            let status = api.keys_status()?;
            if json {
                crate::print_json(&status)?;
            } else {
                for s in status {
                    println!(
                        "{:<12} {}",
                        s.provider,
                        s.source.as_deref().unwrap_or("not set")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `assay eval diff`.
pub fn diff(api: &Api, args: EvalDiffArgs) -> Result<ExitCode> {
    use assay::api::json::{DiffGates, EvalDiffArgs as Args};
    let evalsets = if args.evalsets.is_empty() {
        match api.eval_sets() {
            Ok(sets) => sets.into_iter().map(|s| s.name).collect(),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
    } else {
        args.evalsets.clone()
    };
    if evalsets.is_empty() {
        eprintln!("error: no eval sets to compare (evalsets/NAME/evalset.yaml)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(Arc::clone(&cancel));
    let live = std::io::stderr().is_terminal();
    let mut diffs = Vec::new();
    for evalset in &evalsets {
        let request = Args {
            evalset: evalset.clone(),
            base: args.base.clone(),
            head: args.head.clone(),
            repeat: args.repeat,
            replay: args.replay,
            gates: DiffGates {
                no_regressions: !args.allow_regressions,
                max_pass_rate_drop_pp: args.max_pass_rate_drop,
                max_cost_increase_pct: args.max_cost_increase,
                max_latency_increase_pct: args.max_latency_increase,
            },
        };
        let mut progress = |side: &str, p: &EvalProgress| {
            if live {
                let _ = write!(
                    std::io::stderr(),
                    "\r\x1b[2K{evalset} {side}: {}/{}  pass {}  fail {}  error {}",
                    p.done,
                    p.total,
                    p.pass,
                    p.fail,
                    p.error
                );
            }
        };
        match api.eval_diff_with(&request, &mut progress, &cancel) {
            Ok(d) => {
                if live {
                    eprint!("\r\x1b[2K");
                }
                print!("{}", assay::eval::diff::terminal(&d));
                diffs.push(d);
            }
            Err(e) if e.code() == assay::ErrorCode::InvalidInput => {
                if live {
                    eprintln!();
                }
                eprintln!("error: {e}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(path) = &args.json {
        let value = if diffs.len() == 1 {
            serde_json::to_value(&diffs[0])?
        } else {
            serde_json::to_value(&diffs)?
        };
        std::fs::write(path, serde_json::to_string_pretty(&value)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        let text: Vec<String> = diffs.iter().map(assay::eval::diff::markdown).collect();
        std::fs::write(path, text.join("\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if diffs.iter().all(|d| d.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_GATE)
    })
}
