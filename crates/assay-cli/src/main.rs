//! `assay`: the command-line front end. Parses arguments (`args`), calls `assay::api`, and
//! renders results as text or JSON (`render`). `assay serve` is the HTTP adapter (`serve`).

mod args;
mod cost;
mod eval;
mod render;
mod serve;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use assay::api::{self, json, Api};
use assay::import::{Format, ImportOptions};
use assay::workspace::Locate;
use clap::Parser;

use args::{Cli, Command, DemoCommand, EvalCommand, Global, PricesCommand, TracesCommand};

// Imports allocate and free a few small strings per attribute; mimalloc does that several times
// faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for failures of the work itself (a bad file, a missing trace).
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`assay traces list | head`): not an error of ours.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init { dir, json } => {
            let report = api::init(&dir)?;
            if json {
                print_json(&report)?;
            } else {
                render::init(&report, &mut std::io::stdout().lock())?;
            }
        }
        Command::Import {
            paths,
            format,
            defer_index,
            json,
        } => return import(&cli.global, paths, format.as_deref(), defer_index, json),
        Command::Traces(TracesCommand::List {
            limit,
            offset,
            search,
            since,
            until,
            tenant,
            endpoint,
            model,
            status,
            environment,
            sort,
            json,
        }) => {
            let api = open(&cli.global)?;
            let list = api.traces_list(&json::TraceQuery {
                limit: Some(limit),
                offset: Some(offset),
                search,
                since,
                until,
                tenant,
                endpoint,
                model,
                status,
                environment,
                sort: Some(sort),
            })?;
            if json {
                print_json(&list)?;
            } else {
                render::trace_list(&list, &mut std::io::stdout().lock())?;
            }
        }
        Command::Traces(TracesCommand::Show { trace_id, json }) => {
            let api = open(&cli.global)?;
            let trace = api.trace_get(&json::TraceGet { trace_id })?;
            if json {
                print_json(&trace)?;
            } else {
                render::trace_tree(&trace, &mut std::io::stdout().lock())?;
            }
        }
        Command::Eval(EvalCommand::Run(args)) => return eval::run(&open(&cli.global)?, args),
        Command::Eval(EvalCommand::Diff(args)) => return eval::diff(&open(&cli.global)?, args),
        Command::Eval(EvalCommand::List { json }) => return eval::list(&open(&cli.global)?, json),
        Command::Eval(EvalCommand::Show { run_id, json }) => {
            return eval::show(&open(&cli.global)?, &run_id, json)
        }
        Command::Keys(command) => return eval::keys(&open(&cli.global)?, command),
        Command::Prices(command) => return prices(&open(&cli.global)?, command),
        Command::Cost { action, query } => return cost::run(&open(&cli.global)?, action, query),
        Command::Chart(command) => return cost::chart(&open(&cli.global)?, command),
        Command::Serve(args) => {
            let api = open(&cli.global)?;
            serve::run(api, &args)?;
        }
        Command::Demo {
            action:
                Some(DemoCommand::Generate {
                    out,
                    spans,
                    format,
                    start,
                    days,
                    seed,
                }),
            ..
        } => generate(&out, spans, &format, &start, days, seed)?,
        Command::Demo {
            action: None,
            dir,
            no_open,
            browser,
            port,
        } => return demo(&dir, no_open, browser, port),
    }
    Ok(ExitCode::SUCCESS)
}

fn open(global: &Global) -> Result<Api> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(Api::open(&Locate {
        workspace: global.workspace.clone(),
        db: global.db.clone(),
        cwd,
        fallback: None,
    })?)
}

fn import(
    global: &Global,
    paths: Vec<String>,
    format: Option<&str>,
    defer_index: bool,
    as_json: bool,
) -> Result<ExitCode> {
    let format = match format {
        None => None,
        Some(name) => Some(Format::parse_name(name).with_context(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
            format!("--format {name:?} is not one of: {}", names.join(", "))
        })?),
    };
    let api = open(global)?;
    let mut progress = render::ImportProgress::new(std::io::stderr().is_terminal() && !as_json);
    let (stdin, files): (Vec<String>, Vec<String>) = paths.into_iter().partition(|p| p == "-");
    let mut outcome = api.import_paths_with(
        &files,
        format,
        &mut |file, p| progress.update(file, p),
        false,
    )?;
    if !stdin.is_empty() {
        let mut on_batch = |p| progress.update("-", p);
        let options = ImportOptions {
            format,
            progress: Some(&mut on_batch),
            attribution: None,
            catalogue: None,
        };
        match api.import_reader("-", std::io::stdin(), options) {
            Ok(report) => outcome.imported.push(report),
            Err(e) => outcome.failed.push(json::ImportFailure {
                source: "-".into(),
                error: e.into(),
            }),
        }
    }
    progress.finish();
    if !defer_index {
        progress.indexing();
        api.index_search_text(usize::MAX)?;
        progress.finish();
    }
    if as_json {
        print_json(&outcome)?;
    } else {
        render::import_outcome(&outcome, progress.elapsed(), &mut std::io::stdout().lock())?;
    }
    Ok(if outcome.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    })
}

fn demo(dir: &Path, no_open: bool, browser: bool, port: u16) -> Result<ExitCode> {
    let report = api::demo(dir)?;
    let root = report.workspace.root.clone();
    let spans: u64 = report.imported.iter().map(|r| r.spans_read).sum();
    let traces: u64 = report.imported.iter().map(|r| r.traces).sum();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Demo workspace ready at {} ({traces} traces, {spans} spans: {} real SDK exports and a generated month of production traffic, priced).",
        root.display(),
        report.imported.len().saturating_sub(1)
    )?;
    if report.history_created {
        writeln!(
            out,
            "Made it a git repository with {} commits of prompt history (each evaluated).",
            report.history.len()
        )?;
    }
    for run in &report.evals {
        writeln!(
            out,
            "Eval set {}: {} pass, {} fail, {} error (replayed offline; run {}).",
            run.evalset, run.pass, run.fail, run.error, run.id
        )?;
    }
    writeln!(
        out,
        "See what the last commit changed: assay eval diff --base HEAD~1 --replay support-triage"
    )?;
    if no_open {
        return Ok(ExitCode::SUCCESS);
    }
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if has_display && !browser {
        if let Some(desktop) = desktop_binary() {
            writeln!(out, "Opening the desktop app ({})...", desktop.display())?;
            let status = std::process::Command::new(&desktop)
                .arg("--workspace")
                .arg(&root)
                .status()
                .with_context(|| format!("cannot start {}", desktop.display()))?;
            return Ok(if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILURE)
            });
        }
        writeln!(
            out,
            "The desktop app is not built; serving in the browser instead."
        )?;
    } else if !browser {
        writeln!(out, "No display found; serving in the browser instead.")?;
    }
    drop(out);
    let api = Api::open(&Locate {
        workspace: Some(root.clone()),
        cwd: root,
        ..Default::default()
    })?;
    serve::run(
        api,
        &args::ServeArgs {
            host: "127.0.0.1".into(),
            port,
            token: None,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

fn generate(out: &Path, spans: u64, format: &str, start: &str, days: u32, seed: u64) -> Result<()> {
    let (json, proto) = match format {
        "jsonl" => (true, false),
        "proto" => (false, true),
        "both" => (true, true),
        other => anyhow::bail!("--format {other:?} is not one of jsonl, proto, both"),
    };
    let start_ns = api::parse_time("start", Some(start))
        .map_err(anyhow::Error::msg)?
        .context("--start is required")?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let create = |name: &str| -> Result<std::io::BufWriter<std::fs::File>> {
        let path = out.join(name);
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(std::io::BufWriter::with_capacity(1 << 20, file))
    };
    let mut json_out = json.then(|| create("traces.jsonl")).transpose()?;
    let mut proto_out = proto.then(|| create("traces.pbs")).transpose()?;
    let options = assay::generate::GenerateOptions {
        spans,
        start_ns,
        days,
        seed,
        ..Default::default()
    };
    let report = assay::generate::generate(
        &options,
        json_out.as_mut().map(|w| w as &mut dyn Write),
        proto_out.as_mut().map(|w| w as &mut dyn Write),
    )?;
    for w in [json_out.as_mut(), proto_out.as_mut()]
        .into_iter()
        .flatten()
    {
        w.flush()?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "Wrote {} spans in {} traces to {}{}{}.",
        report.spans,
        report.traces,
        out.display(),
        if json {
            format!(" (traces.jsonl, {:.0} MB)", report.json_bytes as f64 / 1e6)
        } else {
            String::new()
        },
        if proto {
            format!(" (traces.pbs, {:.0} MB)", report.proto_bytes as f64 / 1e6)
        } else {
            String::new()
        },
    )?;
    Ok(())
}

/// The desktop app's binary, built next to this one.
fn desktop_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.with_file_name("assay-desktop");
    candidate.is_file().then_some(candidate)
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        serde_json::to_writer_pretty(&mut out, value)?;
    } else {
        serde_json::to_writer(&mut out, value)?;
    }
    writeln!(out)?;
    Ok(())
}

fn prices(api: &Api, command: PricesCommand) -> Result<ExitCode> {
    let per_m = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_else(|| "-".into());
    match command {
        PricesCommand::List {
            provider,
            search,
            json,
        } => {
            let entries = api.prices_list(provider.as_deref(), search.as_deref())?;
            if json {
                return print_json(&entries).map(|_| ExitCode::SUCCESS);
            }
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<44} {:>9} {:>9} {:>10} {:>10}  {:<23} AS OF",
                "ENTRY", "INPUT", "OUTPUT", "CACHE RD", "CACHE WR", "EFFECTIVE"
            )?;
            for e in entries {
                let effective = match (e.effective_from, e.effective_until) {
                    (None, None) => "always".to_owned(),
                    (from, until) => format!(
                        "{}..{}",
                        from.map(|d| d.to_string()).unwrap_or_default(),
                        until.map(|d| d.to_string()).unwrap_or_default()
                    ),
                };
                writeln!(
                    out,
                    "{:<44} {:>9} {:>9} {:>10} {:>10}  {:<23} {}",
                    e.id,
                    e.input,
                    e.output,
                    per_m(e.cache_read),
                    per_m(e.cache_write_5m),
                    effective,
                    e.as_of
                )?;
            }
        }
        PricesCommand::Show {
            model,
            provider,
            at,
            json,
        } => {
            let found = api.prices_show(&model, provider.as_deref(), at.as_deref())?;
            if json {
                print_json(&found)?;
            } else {
                match &found.entry {
                    Some(e) => println!(
                        "{model} on {}: {} (USD per 1M tokens: input {}, output {}, cache read {}, cache write {}, reasoning {}){}\nsource: {} (as of {})",
                        found.at,
                        e.id,
                        e.input,
                        e.output,
                        per_m(e.cache_read),
                        per_m(e.cache_write_5m),
                        per_m(e.reasoning),
                        if e.tiers.is_empty() {
                            String::new()
                        } else {
                            format!(", {} long-context tier(s)", e.tiers.len())
                        },
                        e.source,
                        e.as_of
                    ),
                    None => {
                        println!("{model} on {}: no price (add one to prices.toml)", found.at);
                        return Ok(ExitCode::from(EXIT_FAILURE));
                    }
                }
            }
        }
        PricesCommand::Import { file, json } => {
            let report = api.prices_import(&file)?;
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "{}: {} prices imported ({} entries in the file); {} keys skipped",
                    report.file,
                    report.imported,
                    report.total,
                    report.skipped.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
