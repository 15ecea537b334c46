//! Reports of a finished run for CI: JUnit XML (one test case per result) and Markdown sized for
//! a pull-request comment. Both are pure functions of a run's detail.

use std::fmt::Write;

use crate::api::json::{EvalGateResult, EvalResultRow, EvalRunDetail, EvalSummary};

/// JUnit XML: a test suite per prompt x provider, a test case per result. Failed assertions
/// are `<failure>`, errors `<error>`, unsupported assertions are named in `<system-out>`.
pub fn junit(detail: &EvalRunDetail) -> String {
    let s = &detail.summary;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        xml(&s.run.evalset),
        s.run.done,
        s.run.fail,
        s.run.error,
        s.run.duration_ms.unwrap_or(0.0) / 1000.0
    );
    for row in &s.rows {
        let results: Vec<&EvalResultRow> = detail
            .results
            .iter()
            .filter(|r| r.prompt_id == row.prompt_id && r.provider == row.provider)
            .collect();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{} / {} / {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
            xml(&s.run.evalset),
            xml(&row.prompt_id),
            xml(&row.provider),
            row.total,
            row.fail,
            row.error
        );
        for r in results {
            let name = if r.repeat_index > 0 {
                format!("{} (repeat {})", r.case_id, r.repeat_index + 1)
            } else {
                r.case_id.clone()
            };
            let _ = write!(
                out,
                "    <testcase classname=\"{}.{}.{}\" name=\"{}\" time=\"{:.3}\"",
                xml(&s.run.evalset),
                xml(&r.prompt_id),
                xml(&r.provider),
                xml(&name),
                r.latency_ms.unwrap_or(0.0) / 1000.0
            );
            match r.outcome.as_str() {
                "pass" => out.push_str("/>\n"),
                "fail" => {
                    let reasons = failed_reasons(r);
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(&first_line(&reasons)),
                        xml(&format!(
                            "{reasons}\n\noutput:\n{}",
                            r.output.as_deref().unwrap_or("")
                        ))
                    );
                }
                _ => {
                    let message = r.error.clone().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                        xml(&first_line(&message)),
                        xml(&message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    if !s.unsupported.is_empty() {
        out.push_str("  <system-out>");
        for u in &s.unsupported {
            let _ = writeln!(out, "unsupported: {} at {}", xml(&u.what), xml(&u.location));
        }
        out.push_str("</system-out>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Each failed assertion of a result as `kind: reason` (unsupported ones are not failures).
pub fn failed_assertions(r: &EvalResultRow) -> Vec<String> {
    r.assertions
        .iter()
        .filter(|a| !a.pass && !a.unsupported)
        .map(|a| format!("{}: {}", a.kind, a.reason))
        .collect()
}

fn failed_reasons(r: &EvalResultRow) -> String {
    failed_assertions(r).join("\n")
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Markdown for a pull-request comment: verdict, gates, the prompt x provider table, then the
/// failing and erroring cases in a collapsed section.
pub fn markdown(detail: &EvalRunDetail) -> String {
    let s = &detail.summary;
    let mut out = String::new();
    let verdict = if s.passed { "passed" } else { "failed" };
    let _ = writeln!(
        out,
        "### Eval `{}`: {} ({} pass, {} fail, {} error of {})\n",
        s.run.evalset, verdict, s.run.pass, s.run.fail, s.run.error, s.run.planned
    );
    out.push_str(&gates_markdown(s));
    out.push_str(
        "\n| prompt | provider | pass rate | score | pass | fail | error | cost | p50 latency |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in &s.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&row.prompt_id),
            md(&row.provider),
            percent(row.pass_rate),
            row.mean_score
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "–".into()),
            row.pass,
            row.fail,
            row.error,
            dollars(row.cost),
            row.latency_p50_ms
                .map(|v| format!("{v:.0} ms"))
                .unwrap_or_else(|| "–".into())
        );
    }
    if !s.unsupported.is_empty() {
        out.push_str("\n**Not evaluated** (unsupported by Assay):\n");
        for u in &s.unsupported {
            let _ = writeln!(out, "- {} at `{}`", md(&u.what), u.location);
        }
    }
    let bad: Vec<&EvalResultRow> = detail
        .results
        .iter()
        .filter(|r| r.outcome != "pass")
        .collect();
    if !bad.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} failing or erroring results</summary>\n",
            bad.len()
        );
        for r in bad.iter().take(50) {
            let what = if r.outcome == "error" {
                r.error.clone().unwrap_or_default()
            } else {
                failed_reasons(r)
            };
            let _ = writeln!(
                out,
                "- **{}** ({} / {}): {} — {}",
                md(&r.case_id),
                md(&r.prompt_id),
                md(&r.provider),
                r.outcome,
                md(&first_line(&what))
            );
        }
        if bad.len() > 50 {
            let _ = writeln!(out, "- … and {} more", bad.len() - 50);
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// What a gate reached, as shown: a count for `max_errors`, a fraction otherwise.
pub fn gate_actual(g: &EvalGateResult) -> String {
    match g.actual {
        Some(a) if g.name == "max_errors" => format!("{a:.0}"),
        Some(a) => format!("{a:.3}"),
        None => "nothing graded".into(),
    }
}

/// Whether a gate is a ceiling (`max_errors`) rather than a floor.
pub fn gate_is_ceiling(g: &EvalGateResult) -> bool {
    g.name == "max_errors"
}

fn gates_markdown(s: &EvalSummary) -> String {
    let mut out = String::new();
    for g in &s.gates {
        let mark = if g.passed { "✅" } else { "❌" };
        let actual = gate_actual(g);
        let op = if gate_is_ceiling(g) { "≤" } else { "≥" };
        let _ = writeln!(
            out,
            "- {mark} {}: {actual} (needs {op} {})",
            g.name, g.threshold
        );
    }
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `92.0%`, or a dash when nothing was graded.
pub fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// `$0.0123`.
pub fn dollars(v: f64) -> String {
    if v == 0.0 {
        "$0".into()
    } else if v < 0.01 {
        format!("${v:.5}")
    } else {
        format!("${v:.4}")
    }
}
