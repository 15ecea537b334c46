//! `assay cost` and `assay chart`: cost tables (text, CSV, JSON) and chart files.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use assay::api::json::{CostChartArgs, CostQuery, CostReport};
use assay::api::Api;
use assay::eval::report::dollars;

use crate::args::{ChartCommand, CostArgs, CostCommand};

fn filters(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_owned(), v.trim().to_owned())),
            None => bail!("--where {p:?}: expected KEY=VALUE, e.g. tenant=acme"),
        })
        .collect()
}

/// `assay cost [reprice]`.
pub fn run(api: &Api, action: Option<CostCommand>, args: CostArgs) -> Result<ExitCode> {
    if let Some(CostCommand::Reprice { since, json }) = action {
        let report = api.cost_reprice(since.as_deref())?;
        if json {
            crate::print_json(&report)?;
        } else {
            println!(
                "repriced {} model calls ({} changed)",
                report.calls, report.changed
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let query = CostQuery {
        by: args.by.clone(),
        per: args.per.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        filters: filters(&args.filters)?,
        top: args.top,
    };
    let report = api.cost_breakdown(&query)?;
    if args.json {
        crate::print_json(&report)?;
    } else if args.csv {
        csv(&report, &mut std::io::stdout().lock())?;
    } else {
        table(&report, &mut std::io::stdout().lock())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:+.1}%")).unwrap_or_else(|| "–".into())
}

fn table(r: &CostReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "cost from {} to {}", r.since, r.until)?;
    let mut header: Vec<String> = Vec::new();
    if r.per.is_some() {
        header.push("PERIOD".into());
    }
    header.extend(r.by.iter().map(|b| b.to_uppercase()));
    let key_width = 28;
    for h in &header {
        write!(out, "{h:<key_width$} ")?;
    }
    writeln!(
        out,
        "{:>12} {:>7} {:>9} {:>9} {:>13} {:>13} {:>9}",
        "COST", "SHARE", "CHANGE", "REQUESTS", "INPUT TOK", "OUTPUT TOK", "UNPRICED"
    )?;
    for row in &r.rows {
        if let Some(p) = &row.period {
            write!(out, "{p:<key_width$} ")?;
        }
        for k in &row.keys {
            let k: String = k.chars().take(key_width).collect();
            write!(out, "{k:<key_width$} ")?;
        }
        writeln!(
            out,
            "{:>12} {:>6.1}% {:>9} {:>9} {:>13} {:>13} {:>9}",
            dollars(row.totals.cost),
            row.share * 100.0,
            pct(row.change_pct),
            row.totals.requests,
            row.totals.input_tokens,
            row.totals.output_tokens,
            row.totals.unpriced
        )?;
    }
    let t = &r.total;
    writeln!(
        out,
        "TOTAL {} over {} calls ({} per 1,000 calls), {} vs the previous period; tokens: input {}, cache read {}, cache write {}, output {}, reasoning {}",
        dollars(t.cost),
        t.requests,
        t.cost_per_1k_requests.map(dollars).unwrap_or_else(|| "–".into()),
        pct(r.change_pct),
        t.input_tokens,
        t.cache_read_tokens,
        t.cache_write_tokens,
        t.output_tokens,
        t.reasoning_tokens
    )?;
    if t.reported_cost > 0.0 {
        writeln!(out, "reported by the sources: {}", dollars(t.reported_cost))?;
    }
    for d in &r.disagreements {
        writeln!(
            out,
            "computed and reported cost differ for {}: {} computed, {} reported",
            d.model,
            dollars(d.computed),
            dollars(d.reported)
        )?;
    }
    if !r.unpriced_models.is_empty() {
        let list: Vec<String> = r
            .unpriced_models
            .iter()
            .map(|m| format!("{} ({} calls)", m.model, m.requests))
            .collect();
        writeln!(
            out,
            "not costed (no price; add one to prices.toml): {}",
            list.join(", ")
        )?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv(r: &CostReport, out: &mut impl Write) -> std::io::Result<()> {
    let mut header: Vec<String> = Vec::new();
    if r.per.is_some() {
        header.push("period".into());
    }
    header.extend(r.by.iter().cloned());
    header.extend(
        [
            "cost",
            "share",
            "change_pct",
            "requests",
            "errors",
            "unpriced",
            "input_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "output_tokens",
            "reasoning_tokens",
            "reported_cost",
        ]
        .map(String::from),
    );
    writeln!(out, "{}", header.join(","))?;
    for row in &r.rows {
        let mut fields: Vec<String> = Vec::new();
        if let Some(p) = &row.period {
            fields.push(p.clone());
        }
        fields.extend(row.keys.iter().map(|k| csv_field(k)));
        let t = &row.totals;
        fields.extend([
            format!("{}", t.cost),
            format!("{}", row.share),
            row.change_pct.map(|c| format!("{c}")).unwrap_or_default(),
            t.requests.to_string(),
            t.errors.to_string(),
            t.unpriced.to_string(),
            t.input_tokens.to_string(),
            t.cache_read_tokens.to_string(),
            t.cache_write_tokens.to_string(),
            t.output_tokens.to_string(),
            t.reasoning_tokens.to_string(),
            format!("{}", t.reported_cost),
        ]);
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}

/// `assay chart cost`.
pub fn chart(api: &Api, command: ChartCommand) -> Result<ExitCode> {
    let ChartCommand::Cost {
        by,
        per,
        since,
        until,
        filters: pairs,
        theme,
        width,
        height,
        out,
    } = command;
    let args = CostChartArgs {
        by,
        per,
        since,
        until,
        filters: filters(&pairs)?,
        theme: Some(theme),
        width: Some(width),
        height: Some(height),
    };
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("svg") => api.cost_chart(&args)?.svg.into_bytes(),
        Some("png") => api.cost_chart_png(&args)?,
        _ => bail!("--out {}: the file must end in .svg or .png", out.display()),
    };
    std::fs::write(&out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
