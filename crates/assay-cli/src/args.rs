//! The command line, declared once: clap derives parsing, `--help` and errors from it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Assay: local-first LLMOps workbench. Traces, evaluations, cost and alerts over files under git.
#[derive(Debug, Parser)]
#[command(
    name = "assay",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The workspace folder (default: the nearest folder upwards holding assay.toml).
    #[arg(
        long,
        short = 'w',
        global = true,
        env = "ASSAY_WORKSPACE",
        value_name = "DIR"
    )]
    pub workspace: Option<PathBuf>,
    /// The database file (default: .assay/assay.db in the workspace).
    #[arg(long, global = true, env = "ASSAY_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace: assay.toml, prompts/, evalsets/ and a .gitignore entry. Idempotent.
    Init {
        /// Where (default: the current folder).
        #[arg(value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import traces from files or folders (recursively); `-` reads standard input.
    ///
    /// Formats are detected from the content: OTLP/JSON (one document, or one per line).
    /// Re-importing the same data changes nothing; a bad record is reported with its location
    /// and the rest of its file still imports; a file that cannot be read changes nothing.
    Import {
        /// Files, folders or `-`.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        /// Read every input as this format instead of detecting it (see `docs/import.md`).
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Leave the full-text index to catch up later (search says so until it has).
        #[arg(long)]
        defer_index: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Browse imported traces.
    #[command(subcommand)]
    Traces(TracesCommand),
    /// Run eval sets against providers, with gates for CI, and browse past runs.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Provider API keys, kept in the OS keyring (never in files or the database).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The price catalogue (shipped with Assay) and the workspace's overrides in prices.toml.
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Cost and usage of model calls by tenant, endpoint, model, prompt, feature, user or
    /// environment, per day, hour or month (from rollups kept at import).
    #[command(args_conflicts_with_subcommands = true)]
    Cost {
        #[command(subcommand)]
        action: Option<CostCommand>,
        #[command(flatten)]
        query: CostArgs,
    },
    /// Charts rendered to files (SVG or PNG, by the file's extension).
    #[command(subcommand)]
    Chart(ChartCommand),
    /// Serve the web UI and the HTTP API (loopback only unless --host says otherwise).
    Serve(ServeArgs),
    /// Set up a demo workspace with bundled sample traces, then open it in the desktop app,
    /// or serve it in the browser where there is no display.
    #[command(args_conflicts_with_subcommands = true)]
    Demo {
        #[command(subcommand)]
        action: Option<DemoCommand>,
        /// Where to create the demo workspace.
        #[arg(value_name = "DIR", default_value = "assay-demo")]
        dir: PathBuf,
        /// Only set up the workspace; open nothing.
        #[arg(long)]
        no_open: bool,
        /// Serve in the browser even when a display is available.
        #[arg(long)]
        browser: bool,
        /// The port for the browser mode.
        #[arg(long, default_value_t = 7410)]
        port: u16,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Write a realistic month of production traces (tenants, endpoints, models, errors, a cost
    /// spike and a latency regression) as OTLP JSON lines and/or length-delimited protobuf.
    Generate {
        /// The folder to write `traces.jsonl` and/or `traces.pbs` into.
        #[arg(long, short = 'o', value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// About how many spans.
        #[arg(long, default_value_t = 1_000_000)]
        spans: u64,
        /// `jsonl`, `proto` or `both`.
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// First day (YYYY-MM-DD).
        #[arg(long, default_value = "2026-10-01")]
        start: String,
        /// Number of days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Random seed (the same seed writes the same traces).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum TracesCommand {
    /// List traces, newest first.
    List {
        /// How many to show.
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: u32,
        /// How many to skip.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Words found together in a trace (root name, service, models, any span's input or output), or the start of a trace id.
        #[arg(long, short = 's')]
        search: Option<String>,
        /// Traces that started at or after this time (RFC 3339, or YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Traces that started before this time (RFC 3339, or YYYY-MM-DD).
        #[arg(long)]
        until: Option<String>,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only this endpoint.
        #[arg(long)]
        endpoint: Option<String>,
        /// Only traces that used this model.
        #[arg(long)]
        model: Option<String>,
        /// Only this status: ok, error or unset.
        #[arg(long)]
        status: Option<String>,
        /// Only this environment.
        #[arg(long)]
        environment: Option<String>,
        /// Order: newest, oldest, slowest, most_tokens, most_spans.
        #[arg(long, default_value = "newest")]
        sort: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one trace as a tree of spans.
    Show {
        /// The trace id (hex).
        trace_id: String,
        /// Print the result as JSON (spans in tree order, with depth and parent ids).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to bind. Any address other than loopback requires an access token.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0 picks a free one).
    #[arg(long, short = 'p', default_value_t = 7410)]
    pub port: u16,
    /// The access token API requests must carry (generated when needed and not given).
    #[arg(long, env = "ASSAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Run an eval set: every case x prompt x provider, then check the gates.
    ///
    /// Exit code: 0 when every gate passes, 1 when a gate fails (or the run is interrupted),
    /// 2 when the eval set or the arguments are invalid.
    Run(EvalRunArgs),
    /// Compare an eval set at two git refs: what a branch changes in quality, cost and latency.
    ///
    /// Each side is read from its commit without touching the working tree (`WORKTREE`, the
    /// default head, is the working tree as it is). A side whose content was already evaluated
    /// reuses that run, and the response cache makes unchanged prompts free. Exit code: 0 when
    /// every gate holds, 1 when one fails, 2 on invalid input.
    Diff(EvalDiffArgs),
    /// List the workspace's eval sets and recent runs.
    List {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a run: its summary, gates and failing results.
    Show {
        /// The run id (a prefix is enough when it is unique).
        run_id: String,
        /// Print the run with every result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct EvalRunArgs {
    /// An eval set name (under evalsets/), its folder, its evalset.yaml, or a promptfooconfig.yaml.
    #[arg(value_name = "EVALSET")]
    pub target: String,
    /// Only these providers (label or id; repeat or comma-separate).
    #[arg(long = "provider", value_delimiter = ',')]
    pub providers: Vec<String>,
    /// Only cases whose id, description or a tag contains this text (`tag:NAME` for a tag).
    #[arg(long)]
    pub filter: Option<String>,
    /// Run each case N times (for noisy models); reports per-case pass counts.
    #[arg(long)]
    pub repeat: Option<u32>,
    /// Calls in flight per provider (halved on rate limits, grown back on success).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Call providers even when a cached response exists.
    #[arg(long)]
    pub no_cache: bool,
    /// Answer from the eval set's cassette of recorded responses: offline, no key needed.
    #[arg(long)]
    pub replay: bool,
    /// Record every response into the cassette while calling the providers.
    #[arg(long)]
    pub record: bool,
    /// The cassette file (default: cassette.jsonl beside evalset.yaml).
    #[arg(long, value_name = "FILE")]
    pub cassette: Option<PathBuf>,
    /// Finish an interrupted run: run only the results it is missing.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Evaluate the eval set as it is at this git commit, branch or tag (the working tree is
    /// not touched).
    #[arg(long, value_name = "REF")]
    pub at: Option<String>,
    /// Retries of a failed call (429, 5xx, timeouts, dropped connections).
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
    /// Write the run with every result as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Store a provider's API key in the OS keyring, reading it from standard input.
    Set {
        /// openai, anthropic, gemini, azure or openrouter.
        provider: String,
    },
    /// Remove a provider's API key from the OS keyring.
    Delete {
        /// The provider.
        provider: String,
    },
    /// Where each provider's key comes from (keyring or environment), never the key.
    Status {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct EvalDiffArgs {
    /// The base: a branch, tag, commit or `HEAD~1`.
    #[arg(long)]
    pub base: String,
    /// The head: a ref, or WORKTREE for the working tree as it is.
    #[arg(long, default_value = "WORKTREE")]
    pub head: String,
    /// Eval sets to compare (default: every eval set of the head).
    #[arg(value_name = "EVALSET")]
    pub evalsets: Vec<String>,
    /// Run each case N times on each side; verdicts then account for noise.
    #[arg(long)]
    pub repeat: Option<u32>,
    /// Answer from each side's cassette of recorded responses (offline).
    #[arg(long)]
    pub replay: bool,
    /// Do not fail on regressions (report them only).
    #[arg(long)]
    pub allow_regressions: bool,
    /// Fail when the pass rate drops by more than this many percentage points.
    #[arg(long, value_name = "PP")]
    pub max_pass_rate_drop: Option<f64>,
    /// Fail when the cost rises by more than this percentage.
    #[arg(long, value_name = "PCT")]
    pub max_cost_increase: Option<f64>,
    /// Fail when the median latency rises by more than this percentage.
    #[arg(long, value_name = "PCT")]
    pub max_latency_increase: Option<f64>,
    /// Write the comparison as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write Markdown for a pull-request comment.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// List price entries (USD per million tokens).
    List {
        /// Only this provider (openai, anthropic, google, mistral, ...).
        #[arg(long)]
        provider: Option<String>,
        /// Only entries whose id or model contains this.
        #[arg(long, short = 's')]
        search: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Which entry prices a model on a date (dated versions, aliases and provider prefixes
    /// resolve, e.g. `gpt-4o-mini-2024-07-18`, `bedrock/anthropic.claude-3-5-haiku-20241022-v1:0`).
    Show {
        /// The model name as a span or provider reports it.
        model: String,
        /// The provider, when the name alone is ambiguous.
        #[arg(long)]
        provider: Option<String>,
        /// The date (YYYY-MM-DD; default today): prices change over time.
        #[arg(long)]
        at: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import LiteLLM's model_prices_and_context_window.json into the workspace's prices.toml.
    Import {
        /// The LiteLLM price file.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Group by these (comma-separated): tenant, endpoint, model, prompt, prompt_version,
    /// feature, environment, user.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// One row per day, hour or month.
    #[arg(long)]
    pub per: Option<String>,
    /// From (YYYY-MM-DD or RFC 3339); default: 30 days before --until.
    #[arg(long)]
    pub since: Option<String>,
    /// Until (exclusive); default: the end of the last day with data.
    #[arg(long)]
    pub until: Option<String>,
    /// Only where KEY=VALUE (repeatable), e.g. --where tenant=acme.
    #[arg(long = "where", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,
    /// Keep the top N groups by cost (the rest summed as "other").
    #[arg(long)]
    pub top: Option<u32>,
    /// Print the result as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the rows as CSV.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// Price every stored model call again with the current prices (after a price change or a
    /// new prices.toml), in place; rollups follow. Running it twice changes nothing.
    Reprice {
        /// Only calls from this time on.
        #[arg(long)]
        since: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChartCommand {
    /// Cost per period, stacked by a dimension.
    Cost {
        /// Stack by this dimension (tenant, endpoint, model, ...).
        #[arg(long)]
        by: Option<String>,
        /// day (default), hour or month.
        #[arg(long)]
        per: Option<String>,
        /// From.
        #[arg(long)]
        since: Option<String>,
        /// Until.
        #[arg(long)]
        until: Option<String>,
        /// Only where KEY=VALUE (repeatable).
        #[arg(long = "where", value_name = "KEY=VALUE")]
        filters: Vec<String>,
        /// light or dark.
        #[arg(long, default_value = "light")]
        theme: String,
        /// Width in pixels.
        #[arg(long, default_value_t = 960)]
        width: u32,
        /// Height in pixels.
        #[arg(long, default_value_t = 360)]
        height: u32,
        /// The file to write: .svg or .png.
        #[arg(long, short = 'o')]
        out: PathBuf,
    },
}
