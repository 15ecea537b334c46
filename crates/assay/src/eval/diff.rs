//! Comparing two runs of an eval set (base vs head): per-case changes, deltas, a noise-aware
//! verdict and CI gates. Pure functions over two run details.
//!
//! Results pair up by (case id, prompt id, provider label), so inserting a case does not shift
//! the others. With repeats, a side's verdict for a case is its majority (ties fail), and a case
//! whose repeats disagree on either side is *flaky*: it is reported, but it alone does not fail
//! the `no_regressions` gate. The overall verdict is McNemar's exact test over the cases graded
//! on both sides (discordant pairs: regressed vs fixed), so a pull request fails when head is
//! significantly worse or when a case regresses consistently.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::api::json::{EvalGateResult, EvalResultRow, EvalRunDetail};
use crate::eval::report::{dollars, percent};
use crate::textdiff;

/// Thresholds for `assay eval diff`; each one set is checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiffGates {
    /// Fail on a consistent regression or a significant overall one (default on).
    pub no_regressions: bool,
    /// Largest allowed pass-rate drop, in percentage points.
    pub max_pass_rate_drop_pp: Option<f64>,
    /// Largest allowed cost increase, in percent.
    pub max_cost_increase_pct: Option<f64>,
    /// Largest allowed median latency increase, in percent.
    pub max_latency_increase_pct: Option<f64>,
}

/// One side of a diff.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DiffSide {
    /// The ref as given (`main`, `HEAD~1`, `WORKTREE`).
    pub git_ref: String,
    /// The commit it resolved to (None for the working tree of a repository without commits).
    pub commit: Option<String>,
    /// Whether uncommitted changes were evaluated.
    pub dirty: bool,
    /// The run compared.
    pub run_id: String,
    /// Whether the run was reused from an earlier one with the same content hash.
    pub reused: bool,
    /// Its content hash.
    pub content_hash: String,
    /// Graded pass rate.
    pub pass_rate: Option<f64>,
    /// Weighted mean score.
    pub mean_score: Option<f64>,
    /// Cost of the results (as if uncached: what the content costs to run).
    pub cost: f64,
    /// Median latency (ms).
    pub latency_p50_ms: Option<f64>,
    /// Results passed, failed, errored.
    pub pass: i64,
    /// Failed.
    pub fail: i64,
    /// Errored.
    pub error: i64,
}

impl DiffSide {
    /// A side before it is evaluated: which ref, which commit, whether dirty.
    pub fn new(git_ref: &str, commit: Option<String>, dirty: bool) -> DiffSide {
        DiffSide {
            git_ref: git_ref.to_owned(),
            commit,
            dirty,
            run_id: String::new(),
            reused: false,
            content_hash: String::new(),
            pass_rate: None,
            mean_score: None,
            cost: 0.0,
            latency_p50_ms: None,
            pass: 0,
            fail: 0,
            error: 0,
        }
    }
}

/// How a case changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    /// Passed on base, fails on head.
    Regressed,
    /// Errors on head (and did not on base).
    Errored,
    /// Failed on base, passes on head.
    Fixed,
    /// Fails on both.
    StillFailing,
    /// Only on head.
    New,
    /// Only on base.
    Removed,
    /// Passes on both.
    Unchanged,
}

impl CaseChange {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseChange::Regressed => "regressed",
            CaseChange::Errored => "errored",
            CaseChange::Fixed => "fixed",
            CaseChange::StillFailing => "still failing",
            CaseChange::New => "new",
            CaseChange::Removed => "removed",
            CaseChange::Unchanged => "unchanged",
        }
    }
}

/// A case's results on one side.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseSide {
    /// Passing repeats.
    pub passes: i64,
    /// Repeats run.
    pub runs: i64,
    /// Repeats that errored.
    pub errors: i64,
    /// Majority verdict: `pass`, `fail` or `error`.
    pub outcome: String,
    /// Mean score over graded repeats.
    pub score: Option<f64>,
    /// Mean cost.
    pub cost: Option<f64>,
    /// Mean latency (ms).
    pub latency_ms: Option<f64>,
    /// The first repeat's output.
    pub output: Option<String>,
    /// Reasons of the first failing repeat's failed assertions (or its error).
    pub reasons: Vec<String>,
}

/// One case x prompt x provider compared.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseDiff {
    /// Case id.
    pub case_id: String,
    /// Prompt id.
    pub prompt_id: String,
    /// Provider label.
    pub provider: String,
    /// What changed.
    pub change: CaseChange,
    /// Whether repeats disagreed on either side.
    pub flaky: bool,
    /// Base results.
    pub base: Option<CaseSide>,
    /// Head results.
    pub head: Option<CaseSide>,
    /// Head score minus base score.
    pub score_delta: Option<f64>,
    /// Head cost minus base cost.
    pub cost_delta: Option<f64>,
    /// Head latency minus base latency (ms).
    pub latency_delta_ms: Option<f64>,
    /// The outputs' word diff, `[-old-]{+new+}`, when they differ.
    pub output_diff: Option<String>,
}

/// Counts by change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DiffCounts {
    /// Regressed.
    pub regressed: i64,
    /// Errored on head.
    pub errored: i64,
    /// Fixed.
    pub fixed: i64,
    /// Failing on both.
    pub still_failing: i64,
    /// Only on head.
    pub new: i64,
    /// Only on base.
    pub removed: i64,
    /// Passing on both.
    pub unchanged: i64,
    /// Flaky (repeats disagree).
    pub flaky: i64,
}

/// The paired test's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PairedTest {
    /// Which test.
    pub test: String,
    /// Cases that passed on base and fail on head.
    pub regressed: i64,
    /// Cases that failed on base and pass on head.
    pub fixed: i64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether head is significantly worse (p < 0.05 and more regressed than fixed).
    pub significantly_worse: bool,
    /// Whether head is significantly better.
    pub significantly_better: bool,
}

/// A base-vs-head comparison.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalDiff {
    /// The eval set.
    pub evalset: String,
    /// Base.
    pub base: DiffSide,
    /// Head.
    pub head: DiffSide,
    /// Per case x prompt x provider, regressions first.
    pub cases: Vec<CaseDiff>,
    /// Counts by change.
    pub counts: DiffCounts,
    /// The paired test over cases graded on both sides.
    pub paired: PairedTest,
    /// Gate verdicts.
    pub gates: Vec<EvalGateResult>,
    /// Whether every gate held.
    pub passed: bool,
}

type Key = (String, String, String);

fn side_of(rows: &[&EvalResultRow]) -> CaseSide {
    let runs = rows.len() as i64;
    let passes = rows.iter().filter(|r| r.outcome == "pass").count() as i64;
    let errors = rows.iter().filter(|r| r.outcome == "error").count() as i64;
    let graded: Vec<&&EvalResultRow> = rows.iter().filter(|r| r.outcome != "error").collect();
    let mean = |f: &dyn Fn(&EvalResultRow) -> Option<f64>, set: &[&&EvalResultRow]| {
        let v: Vec<f64> = set.iter().filter_map(|r| f(r)).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let all: Vec<&&EvalResultRow> = rows.iter().collect();
    // Majority of all repeats; an errored majority is an error, ties fail.
    let outcome = if errors * 2 > runs {
        "error"
    } else if passes * 2 > runs {
        "pass"
    } else {
        "fail"
    };
    let first_bad = rows.iter().find(|r| r.outcome != "pass");
    let reasons = match first_bad {
        Some(r) if r.outcome == "error" => r.error.iter().cloned().collect(),
        Some(r) => crate::eval::report::failed_assertions(r),
        None => Vec::new(),
    };
    CaseSide {
        passes,
        runs,
        errors,
        outcome: outcome.into(),
        score: mean(&|r| Some(r.score), &graded),
        cost: mean(&|r| r.cost, &all),
        latency_ms: mean(&|r| r.latency_ms, &graded),
        output: rows.first().and_then(|r| r.output.clone()),
        reasons,
    }
}

fn group(detail: &EvalRunDetail) -> BTreeMap<Key, Vec<&EvalResultRow>> {
    let mut map: BTreeMap<Key, Vec<&EvalResultRow>> = BTreeMap::new();
    for r in &detail.results {
        map.entry((r.case_id.clone(), r.prompt_id.clone(), r.provider.clone()))
            .or_default()
            .push(r);
    }
    map
}

/// McNemar's exact test: a two-sided binomial test of `b` against `c` with p = 0.5.
pub fn mcnemar_exact(b: i64, c: i64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    // Sum of C(n, i) / 2^n for i <= k, in logs to stay finite for large n.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_c = 0.0; // ln C(n, 0)
    let mut tail = 0.0;
    for i in 0..=k {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_c + ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

/// Compares two runs. `base` and `head` describe the sides (refs, commits, reuse); their
/// summary fields are filled here from the runs.
pub fn compare(
    base_run: &EvalRunDetail,
    head_run: &EvalRunDetail,
    mut base: DiffSide,
    mut head: DiffSide,
    gates: &DiffGates,
) -> EvalDiff {
    fill_side(&mut base, base_run);
    fill_side(&mut head, head_run);
    let b = group(base_run);
    let h = group(head_run);
    let mut keys: Vec<&Key> = b.keys().chain(h.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut cases = Vec::new();
    let mut counts = DiffCounts::default();
    for key in keys {
        let bs = b.get(key).map(|rows| side_of(rows));
        let hs = h.get(key).map(|rows| side_of(rows));
        let flaky = [&bs, &hs].iter().any(|s| {
            s.as_ref()
                .is_some_and(|s| s.passes > 0 && s.passes < s.runs)
        });
        let change = match (&bs, &hs) {
            (None, Some(_)) => CaseChange::New,
            (Some(_), None) => CaseChange::Removed,
            (Some(b), Some(h)) => match (b.outcome.as_str(), h.outcome.as_str()) {
                (_, "error") if b.outcome != "error" => CaseChange::Errored,
                ("pass", "pass") => CaseChange::Unchanged,
                ("pass", _) => CaseChange::Regressed,
                (_, "pass") => CaseChange::Fixed,
                _ => CaseChange::StillFailing,
            },
            (None, None) => continue,
        };
        match change {
            CaseChange::Regressed => counts.regressed += 1,
            CaseChange::Errored => counts.errored += 1,
            CaseChange::Fixed => counts.fixed += 1,
            CaseChange::StillFailing => counts.still_failing += 1,
            CaseChange::New => counts.new += 1,
            CaseChange::Removed => counts.removed += 1,
            CaseChange::Unchanged => counts.unchanged += 1,
        }
        counts.flaky += i64::from(flaky);
        let delta = |f: fn(&CaseSide) -> Option<f64>| match (&bs, &hs) {
            (Some(b), Some(h)) => Some(f(h)? - f(b)?),
            _ => None,
        };
        let output_diff = match (&bs, &hs) {
            (Some(b), Some(h)) => match (&b.output, &h.output) {
                (Some(o1), Some(o2)) if o1 != o2 => Some(textdiff::inline(o1, o2)),
                _ => None,
            },
            _ => None,
        };
        cases.push(CaseDiff {
            case_id: key.0.clone(),
            prompt_id: key.1.clone(),
            provider: key.2.clone(),
            change,
            flaky,
            score_delta: delta(|s| s.score),
            cost_delta: delta(|s| s.cost),
            latency_delta_ms: delta(|s| s.latency_ms),
            output_diff,
            base: bs,
            head: hs,
        });
    }
    // Regressions first, then errors, fixes, ...; within a change, the biggest score drop first.
    cases.sort_by(|x, y| {
        x.change.cmp(&y.change).then(
            x.score_delta
                .unwrap_or(0.0)
                .total_cmp(&y.score_delta.unwrap_or(0.0)),
        )
    });
    let p = mcnemar_exact(counts.regressed, counts.fixed);
    let paired = PairedTest {
        test: "McNemar's exact test (two-sided binomial on discordant cases)".into(),
        regressed: counts.regressed,
        fixed: counts.fixed,
        p_value: p,
        significantly_worse: p < 0.05 && counts.regressed > counts.fixed,
        significantly_better: p < 0.05 && counts.fixed > counts.regressed,
    };

    let mut results = Vec::new();
    if gates.no_regressions {
        let consistent = cases
            .iter()
            .filter(|c| matches!(c.change, CaseChange::Regressed | CaseChange::Errored) && !c.flaky)
            .count() as f64;
        results.push(EvalGateResult {
            name: "no_regressions".into(),
            threshold: 0.0,
            actual: Some(consistent),
            passed: consistent == 0.0 && !paired.significantly_worse,
        });
    }
    if let Some(max) = gates.max_pass_rate_drop_pp {
        let drop = match (base.pass_rate, head.pass_rate) {
            (Some(b), Some(h)) => Some((b - h) * 100.0),
            _ => None,
        };
        results.push(EvalGateResult {
            name: "pass_rate_drop_pp".into(),
            threshold: max,
            actual: drop,
            passed: drop.is_none_or(|d| d <= max + 1e-9),
        });
    }
    if let Some(max) = gates.max_cost_increase_pct {
        let inc = pct_change(base.cost, head.cost);
        results.push(EvalGateResult {
            name: "cost_increase_pct".into(),
            threshold: max,
            actual: inc,
            passed: inc.is_none_or(|d| d <= max + 1e-9),
        });
    }
    if let Some(max) = gates.max_latency_increase_pct {
        let inc = match (base.latency_p50_ms, head.latency_p50_ms) {
            (Some(b), Some(h)) => pct_change(b, h),
            _ => None,
        };
        results.push(EvalGateResult {
            name: "latency_increase_pct".into(),
            threshold: max,
            actual: inc,
            passed: inc.is_none_or(|d| d <= max + 1e-9),
        });
    }
    EvalDiff {
        evalset: head_run.summary.run.evalset.clone(),
        passed: results.iter().all(|g| g.passed),
        base,
        head,
        cases,
        counts,
        paired,
        gates: results,
    }
}

fn pct_change(base: f64, head: f64) -> Option<f64> {
    if base > 0.0 {
        Some((head - base) / base * 100.0)
    } else if head > 0.0 {
        None
    } else {
        Some(0.0)
    }
}

fn fill_side(side: &mut DiffSide, run: &EvalRunDetail) {
    let s = &run.summary;
    side.run_id = s.run.id.clone();
    side.content_hash = s.run.content_hash.clone();
    side.pass = s.run.pass;
    side.fail = s.run.fail;
    side.error = s.run.error;
    side.pass_rate = s.run.pass_rate;
    let graded: Vec<&EvalResultRow> = run
        .results
        .iter()
        .filter(|r| r.outcome != "error")
        .collect();
    side.mean_score = (!graded.is_empty())
        .then(|| graded.iter().map(|r| r.score).sum::<f64>() / graded.len() as f64);
    // What the content costs to run, whether or not this run's calls were cached.
    side.cost = run.results.iter().filter_map(|r| r.cost).sum();
    let mut lat: Vec<f64> = graded.iter().filter_map(|r| r.latency_ms).collect();
    lat.sort_by(f64::total_cmp);
    side.latency_p50_ms = (!lat.is_empty()).then(|| lat[(lat.len() - 1) / 2]);
}

fn signed_pp(base: Option<f64>, head: Option<f64>) -> String {
    match (base, head) {
        (Some(b), Some(h)) => format!("{:+.0} pp", (h - b) * 100.0),
        _ => "–".into(),
    }
}

fn signed_pct(base: f64, head: f64) -> String {
    pct_change(base, head)
        .map(|p| format!("{p:+.0}%"))
        .unwrap_or_else(|| "new cost".into())
}

fn side_name(s: &DiffSide) -> String {
    match &s.commit {
        Some(c) if s.git_ref.starts_with(&c[..c.len().min(7)]) || s.git_ref == *c => {
            c[..c.len().min(7)].to_owned()
        }
        Some(c) => format!(
            "{} ({}{})",
            s.git_ref,
            &c[..c.len().min(7)],
            if s.dirty { ", dirty" } else { "" }
        ),
        None => s.git_ref.clone(),
    }
}

/// The one-line summary: "pass rate 92% -> 88% (-4 pp), 3 regressed, 1 fixed, cost +12%".
pub fn headline(d: &EvalDiff) -> String {
    format!(
        "pass rate {} -> {} ({}), {} regressed, {} fixed{}{}, cost {}",
        percent(d.base.pass_rate),
        percent(d.head.pass_rate),
        signed_pp(d.base.pass_rate, d.head.pass_rate),
        d.counts.regressed,
        d.counts.fixed,
        if d.counts.new > 0 {
            format!(", {} new", d.counts.new)
        } else {
            String::new()
        },
        if d.counts.errored > 0 {
            format!(", {} errored", d.counts.errored)
        } else {
            String::new()
        },
        signed_pct(d.base.cost, d.head.cost)
    )
}

fn clip(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut t: String = one_line.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The terminal report.
pub fn terminal(d: &EvalDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "eval diff {}: {} -> {}",
        d.evalset,
        side_name(&d.base),
        side_name(&d.head)
    );
    let _ = writeln!(out, "{}", headline(d));
    for c in d.cases.iter().filter(|c| c.change != CaseChange::Unchanged) {
        let counts = |s: &Option<CaseSide>| {
            s.as_ref()
                .map(|s| {
                    if s.runs > 1 {
                        format!("{}/{}", s.passes, s.runs)
                    } else {
                        s.outcome.clone()
                    }
                })
                .unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(
            out,
            "  {:<13} {} [{} / {}]: {} -> {}{}",
            c.change.as_str().to_uppercase(),
            c.case_id,
            c.prompt_id,
            c.provider,
            counts(&c.base),
            counts(&c.head),
            if c.flaky { " (flaky)" } else { "" }
        );
        if matches!(c.change, CaseChange::Regressed | CaseChange::Errored) {
            if let Some(r) = c.head.as_ref().and_then(|h| h.reasons.first()) {
                let _ = writeln!(out, "      {}", clip(r, 140));
            }
            if let Some(diff) = &c.output_diff {
                let _ = writeln!(out, "      output: {}", clip(diff, 140));
            }
        }
    }
    let _ = writeln!(
        out,
        "{}: {} regressed vs {} fixed, p = {:.3}{}",
        d.paired.test,
        d.paired.regressed,
        d.paired.fixed,
        d.paired.p_value,
        if d.paired.significantly_worse {
            " (head significantly worse)"
        } else if d.paired.significantly_better {
            " (head significantly better)"
        } else {
            ""
        }
    );
    for g in &d.gates {
        let _ = writeln!(
            out,
            "gate {:<22} {:<4} {}",
            g.name,
            if g.passed { "ok" } else { "FAIL" },
            g.actual
                .map(|a| format!("{a:.2}"))
                .unwrap_or_else(|| "–".into())
        );
    }
    let _ = writeln!(out, "{}", if d.passed { "passed" } else { "FAILED" });
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for a pull-request comment.
pub fn markdown(d: &EvalDiff) -> String {
    let mut out = String::new();
    let mark = if d.passed { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "### {mark} Eval diff `{}`: `{}` → `{}`\n",
        d.evalset,
        side_name(&d.base),
        side_name(&d.head)
    );
    let _ = writeln!(out, "**{}**\n", headline(d));
    out.push_str("| | base | head | change |\n|---|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| pass rate | {} | {} | {} |",
        percent(d.base.pass_rate),
        percent(d.head.pass_rate),
        signed_pp(d.base.pass_rate, d.head.pass_rate)
    );
    let score = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into());
    let _ = writeln!(
        out,
        "| mean score | {} | {} | {} |",
        score(d.base.mean_score),
        score(d.head.mean_score),
        match (d.base.mean_score, d.head.mean_score) {
            (Some(b), Some(h)) => format!("{:+.2}", h - b),
            _ => "–".into(),
        }
    );
    let _ = writeln!(
        out,
        "| cost | {} | {} | {} |",
        dollars(d.base.cost),
        dollars(d.head.cost),
        signed_pct(d.base.cost, d.head.cost)
    );
    let ms = |v: Option<f64>| {
        v.map(|v| format!("{v:.0} ms"))
            .unwrap_or_else(|| "–".into())
    };
    let _ = writeln!(
        out,
        "| p50 latency | {} | {} | {} |",
        ms(d.base.latency_p50_ms),
        ms(d.head.latency_p50_ms),
        match (d.base.latency_p50_ms, d.head.latency_p50_ms) {
            (Some(b), Some(h)) => signed_pct(b, h),
            _ => "–".into(),
        }
    );
    let _ = writeln!(
        out,
        "\n{}: {} regressed vs {} fixed, p = {:.3}.",
        d.paired.test, d.paired.regressed, d.paired.fixed, d.paired.p_value
    );
    for g in d.gates.iter().filter(|g| !g.passed) {
        let _ = writeln!(
            out,
            "- ❌ gate `{}` (threshold {}, got {})",
            g.name,
            g.threshold,
            g.actual
                .map(|a| format!("{a:.2}"))
                .unwrap_or_else(|| "–".into())
        );
    }
    let bad: Vec<&CaseDiff> = d
        .cases
        .iter()
        .filter(|c| matches!(c.change, CaseChange::Regressed | CaseChange::Errored))
        .collect();
    if !bad.is_empty() {
        out.push_str("\n#### Regressed\n\n");
        for c in bad.iter().take(20) {
            let why = c
                .head
                .as_ref()
                .and_then(|h| h.reasons.first())
                .map(|r| md(&clip(r, 160)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- **{}** ({} / {}){}: {}",
                md(&c.case_id),
                md(&c.prompt_id),
                md(&c.provider),
                if c.flaky { " _flaky_" } else { "" },
                why
            );
            if let Some(diff) = &c.output_diff {
                let _ = writeln!(out, "  - output: `{}`", clip(diff, 200).replace('`', "'"));
            }
        }
        if bad.len() > 20 {
            let _ = writeln!(out, "- … and {} more", bad.len() - 20);
        }
    }
    let other: Vec<&CaseDiff> = d
        .cases
        .iter()
        .filter(|c| {
            !matches!(
                c.change,
                CaseChange::Regressed | CaseChange::Errored | CaseChange::Unchanged
            )
        })
        .collect();
    if !other.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} other changed cases (fixed, still failing, new, removed)</summary>\n",
            other.len()
        );
        for c in other.iter().take(100) {
            let _ = writeln!(
                out,
                "- {}: **{}** ({} / {})",
                c.change.as_str(),
                md(&c.case_id),
                md(&c.prompt_id),
                md(&c.provider)
            );
        }
        out.push_str("\n</details>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_matches_the_binomial_tail() {
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        // b=1, c=0: 2 * 0.5 = 1.0 (one discordant pair proves nothing).
        assert!((mcnemar_exact(1, 0) - 1.0).abs() < 1e-12);
        // b=6, c=0: 2 * 0.5^6 = 0.03125.
        assert!((mcnemar_exact(6, 0) - 0.03125).abs() < 1e-12);
        // b=8, c=2: 2 * (1 + 10 + 45) / 1024 = 0.109375.
        assert!((mcnemar_exact(8, 2) - 0.109375).abs() < 1e-12);
        assert_eq!(mcnemar_exact(5, 5), 1.0);
        // Large counts stay finite.
        let p = mcnemar_exact(600, 400);
        assert!(p > 0.0 && p < 1e-9, "{p}");
    }
}

#[cfg(test)]
mod compare_tests {
    use super::*;
    use crate::api::json::{EvalRunBrief, EvalSummary};

    /// A run whose results are `(case, outcome)` pairs, repeats in order.
    fn run(results: &[(&str, &str)]) -> EvalRunDetail {
        let mut repeat: BTreeMap<&str, u32> = BTreeMap::new();
        let rows = results
            .iter()
            .map(|(case, outcome)| {
                let r = repeat.entry(case).or_default();
                *r += 1;
                EvalResultRow {
                    case_index: 0,
                    case_id: (*case).into(),
                    prompt_id: "p".into(),
                    provider: "m".into(),
                    repeat_index: *r - 1,
                    outcome: (*outcome).into(),
                    score: if *outcome == "pass" { 1.0 } else { 0.0 },
                    output: Some(format!("{case} {outcome}")),
                    error: None,
                    latency_ms: Some(100.0),
                    ttft_ms: None,
                    input_tokens: None,
                    output_tokens: None,
                    cost: Some(0.001),
                    cached: false,
                    assertions: Vec::new(),
                    rendered: Vec::new(),
                    trace_id: None,
                }
            })
            .collect();
        EvalRunDetail {
            summary: EvalSummary {
                run: EvalRunBrief {
                    id: "r".into(),
                    evalset: "e".into(),
                    status: "completed".into(),
                    started_at: String::new(),
                    finished_at: None,
                    duration_ms: None,
                    planned: 0,
                    done: 0,
                    pass: 0,
                    fail: 0,
                    error: 0,
                    pass_rate: None,
                    cost: 0.0,
                    git_commit: None,
                    git_dirty: None,
                    gates_passed: None,
                    content_hash: String::new(),
                },
                rows: Vec::new(),
                metrics: Vec::new(),
                gates: Vec::new(),
                passed: true,
                unsupported: Vec::new(),
                repeats: Vec::new(),
            },
            description: None,
            prompts: Vec::new(),
            providers: Vec::new(),
            cases: Vec::new(),
            results: rows,
        }
    }

    fn side() -> DiffSide {
        DiffSide::new("x", None, false)
    }

    fn gates() -> DiffGates {
        DiffGates {
            no_regressions: true,
            ..DiffGates::default()
        }
    }

    fn repeated(
        case: &'static str,
        outcomes: &[&'static str],
    ) -> Vec<(&'static str, &'static str)> {
        outcomes.iter().map(|o| (case, *o)).collect()
    }

    #[test]
    fn one_flaky_case_does_not_fail_the_diff_but_a_consistent_regression_does() {
        let mut base = Vec::new();
        let mut head = Vec::new();
        for case in ["a", "b", "c", "d"] {
            base.extend(repeated(case, &["pass", "pass", "pass"]));
        }
        head.extend(repeated("a", &["pass", "pass", "pass"]));
        head.extend(repeated("b", &["pass", "pass", "pass"]));
        head.extend(repeated("c", &["pass", "pass", "pass"]));
        // Flaky: one of three repeats passes now. Its majority regressed, but the noise is visible.
        head.extend(repeated("d", &["fail", "pass", "fail"]));
        let d = compare(&run(&base), &run(&head), side(), side(), &gates());
        let flaky = d.cases.iter().find(|c| c.case_id == "d").unwrap();
        assert_eq!(flaky.change, CaseChange::Regressed);
        assert!(flaky.flaky);
        assert_eq!(d.counts.regressed, 1);
        assert!((d.paired.p_value - 1.0).abs() < 1e-12);
        assert!(
            d.passed,
            "a single flaky case does not fail the pull request"
        );

        // The same case failing every repeat is a consistent regression: the gate fails.
        let mut head2 = head.clone();
        head2.retain(|(c, _)| *c != "d");
        head2.extend(repeated("d", &["fail", "fail", "fail"]));
        let d = compare(&run(&base), &run(&head2), side(), side(), &gates());
        assert!(!d.cases.iter().find(|c| c.case_id == "d").unwrap().flaky);
        assert!(!d.passed);
        assert_eq!(d.cases[0].case_id, "d", "regressions come first");
    }

    #[test]
    fn many_flaky_regressions_are_caught_by_the_paired_test() {
        let cases = ["a", "b", "c", "d", "e", "f", "g"];
        let mut base = Vec::new();
        let mut head = Vec::new();
        for case in cases {
            base.extend(repeated(case, &["pass", "pass", "fail"]));
            head.extend(repeated(case, &["fail", "pass", "fail"]));
        }
        let d = compare(&run(&base), &run(&head), side(), side(), &gates());
        assert_eq!(d.counts.regressed, 7);
        assert!(d.cases.iter().all(|c| c.flaky));
        // 7 regressed vs 0 fixed: p = 2 / 128.
        assert!((d.paired.p_value - 2.0 / 128.0).abs() < 1e-12);
        assert!(d.paired.significantly_worse);
        assert!(!d.passed, "noise does not hide a regression this broad");
    }

    #[test]
    fn cases_are_classified_and_deltas_computed() {
        let base = run(&[
            ("same", "pass"),
            ("gone", "pass"),
            ("fix", "fail"),
            ("bad", "pass"),
            ("still", "fail"),
        ]);
        let head = run(&[
            ("same", "pass"),
            ("new", "pass"),
            ("fix", "pass"),
            ("bad", "error"),
            ("still", "fail"),
        ]);
        let d = compare(&base, &head, side(), side(), &gates());
        let change = |id: &str| d.cases.iter().find(|c| c.case_id == id).unwrap().change;
        assert_eq!(change("same"), CaseChange::Unchanged);
        assert_eq!(change("gone"), CaseChange::Removed);
        assert_eq!(change("new"), CaseChange::New);
        assert_eq!(change("fix"), CaseChange::Fixed);
        assert_eq!(change("bad"), CaseChange::Errored);
        assert_eq!(change("still"), CaseChange::StillFailing);
        assert_eq!(d.cases[0].case_id, "bad");
        assert!(
            !d.passed,
            "a case that now errors fails the no-regressions gate"
        );
        let fixed = d.cases.iter().find(|c| c.case_id == "fix").unwrap();
        assert_eq!(fixed.score_delta, Some(1.0));
        assert!(fixed.output_diff.is_some());
        let md = markdown(&d);
        assert!(md.contains("#### Regressed"), "{md}");
        assert!(headline(&d).contains("1 fixed"), "{}", headline(&d));
    }
}
