//! Text output for people. Machines use `--json`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use assay::import::Progress;

use assay::api::json::{ImportOutcome, TraceDetail, TraceList};
use assay::workspace::InitReport;

pub fn init(report: &InitReport, out: &mut impl Write) -> io::Result<()> {
    if report.created.is_empty() {
        writeln!(
            out,
            "Workspace {} is already set up.",
            report.root.display()
        )
    } else {
        let created = report.created.join(", ");
        writeln!(
            out,
            "Workspace {}: created {created}.",
            report.root.display()
        )
    }
}

/// A one-line progress display on standard error (only on a terminal), redrawn at most 10
/// times a second.
pub struct ImportProgress {
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
    files_done: Vec<(String, u64)>,
}

impl ImportProgress {
    pub fn new(enabled: bool) -> Self {
        ImportProgress {
            enabled,
            started: Instant::now(),
            last_draw: None,
            drawn: false,
            files_done: Vec::new(),
        }
    }

    pub fn update(&mut self, file: &str, p: Progress) {
        match self.files_done.last_mut() {
            Some((f, spans)) if f == file => *spans = p.spans,
            _ => self.files_done.push((file.to_owned(), p.spans)),
        }
        if !self.enabled
            || self
                .last_draw
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(Instant::now());
        let spans: u64 = self.files_done.iter().map(|(_, s)| s).sum();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let name = truncate(file, 40);
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kimporting {name}: file {}, {spans} spans, {:.1} MB of this file, {:.0} spans/s",
            self.files_done.len(),
            p.bytes as f64 / 1e6,
            spans as f64 / secs
        );
        let _ = err.flush();
        self.drawn = true;
    }

    pub fn indexing(&mut self) {
        if self.enabled {
            let _ = write!(io::stderr(), "\r\x1b[2Kindexing text for search...");
            self.drawn = true;
        }
    }

    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(io::stderr(), "\r\x1b[2K");
            self.drawn = false;
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Per-file lines on `out`; rejected records and failed files on standard error.
pub fn import_outcome(
    outcome: &ImportOutcome,
    elapsed: Duration,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut err = io::stderr().lock();
    for r in &outcome.imported {
        let unchanged = of_them_unchanged(r.spans_unchanged);
        let rejected = match r.rejected_count {
            0 => String::new(),
            n => format!(", {n} rejected"),
        };
        writeln!(
            out,
            "{}: {} spans in {} traces ({} new, {} already stored{unchanged}){rejected}",
            r.source, r.spans_read, r.traces, r.spans_new, r.spans_merged
        )?;
        for rej in &r.rejected {
            let field = rej
                .field
                .as_deref()
                .map(|f| format!(" {f}:"))
                .unwrap_or_default();
            writeln!(
                err,
                "  rejected {} at {}:{field} {}",
                r.source, rej.location, rej.message
            )?;
        }
    }
    for f in &outcome.failed {
        writeln!(err, "error: {}", f.error.message)?;
    }
    for f in &outcome.skipped {
        writeln!(err, "skipped {}: not a trace format Assay reads", f.source)?;
    }
    let spans: u64 = outcome.imported.iter().map(|r| r.spans_read).sum();
    let new: u64 = outcome.imported.iter().map(|r| r.spans_new).sum();
    let unchanged = of_them_unchanged(outcome.imported.iter().map(|r| r.spans_unchanged).sum());
    let rejected: u64 = outcome.imported.iter().map(|r| r.rejected_count).sum();
    let traces: u64 = outcome.imported.iter().map(|r| r.traces).sum();
    let secs = elapsed.as_secs_f64();
    writeln!(
        out,
        "Imported {} file(s) in {secs:.2} s: {traces} traces, {spans} spans ({new} new, {} already stored{unchanged}), \
         {rejected} records rejected, {} file(s) failed.",
        outcome.imported.len(),
        spans - new,
        outcome.failed.len()
    )
}

/// ", N of them unchanged" after a count of spans already stored; nothing when none was.
fn of_them_unchanged(n: u64) -> String {
    match n {
        0 => String::new(),
        n => format!(", {n} of them unchanged"),
    }
}

pub fn trace_list(list: &TraceList, out: &mut impl Write) -> io::Result<()> {
    if list.total == 0 {
        return writeln!(out, "No traces. Import some with `assay import FILE`.");
    }
    writeln!(
        out,
        "{:<24} {:<32} {:<28} {:>5} {:>10} {:>13} {:<6} MODELS",
        "START", "TRACE ID", "NAME", "SPANS", "DURATION", "TOKENS IN/OUT", "STATUS"
    )?;
    for t in &list.traces {
        writeln!(
            out,
            "{:<24} {:<32} {:<28} {:>5} {:>10} {:>13} {:<6} {}",
            t.start_time,
            t.trace_id,
            truncate(&t.name, 28),
            t.span_count,
            duration(t.duration_ms),
            format!("{}/{}", t.input_tokens, t.output_tokens),
            t.status,
            t.models.join(", ")
        )?;
    }
    let shown = list.traces.len();
    if (shown as i64) < list.total {
        writeln!(
            out,
            "({shown} of {} traces; use --limit and --offset for more)",
            list.total
        )?;
    }
    Ok(())
}

/// Draws the span tree with box-drawing guides, one span per line, id first.
pub fn trace_tree(trace: &TraceDetail, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "trace {} ({} spans)",
        trace.trace_id,
        trace.spans.len()
    )?;
    // `open[d]`: whether an ancestor at depth d still has siblings below, so its guide continues.
    let mut open: Vec<bool> = Vec::new();
    for (i, span) in trace.spans.iter().enumerate() {
        let depth = span.depth as usize;
        let is_last = trace.spans[i + 1..]
            .iter()
            .find(|s| (s.depth as usize) <= depth)
            .is_none_or(|s| (s.depth as usize) < depth);
        open.truncate(depth);
        let mut prefix = String::new();
        for &o in &open {
            prefix.push_str(if o { "│  " } else { "   " });
        }
        prefix.push_str(if is_last { "└─ " } else { "├─ " });
        open.push(!is_last);
        let mut line = format!("{prefix}{} {} [{}]", span.span_id, span.name, span.kind);
        if let Some(model) = span.response_model.as_ref().or(span.model.as_ref()) {
            line.push_str(&format!(" {model}"));
        }
        line.push_str(&format!(" {}", duration(span.duration_ms)));
        if let (Some(i), Some(o)) = (span.input_tokens, span.output_tokens) {
            line.push_str(&format!(" tokens {i}/{o}"));
        }
        if span.status == "error" {
            line.push_str(" ERROR");
            if let Some(m) = &span.status_message {
                line.push_str(&format!(": {}", truncate(m, 80)));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.2} ms", ms)
    } else if ms < 1000.0 {
        format!("{:.1} ms", ms)
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn truncate(s: &str, max: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
