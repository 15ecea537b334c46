//! The runner: executes an [`EvalPlan`] against providers, concurrently, and writes each result
//! to the store as it finishes.
//!
//! **Invariants:**
//! - Every provider call goes through [`Runner::call`]: cassette (replay), then the response
//!   cache, then the provider with an adaptive per-provider concurrency limit and retries.
//!   Errors and empty responses are never cached.
//! - Results are written by one writer thread in small transactions as they arrive, together
//!   with the trace of the provider call and the cache entry, so an interrupted run loses only
//!   what was in flight and `resume` fills in exactly what is missing.
//! - A run's `content_hash` covers exactly what is evaluated (prompts, cases, assertions,
//!   providers' settings, gates, repeats): two runs with the same hash are comparable.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::api::json::{
    EvalGateResult, EvalMetric, EvalProgress, EvalRepeatCount, EvalResultRow, EvalRunBrief,
    EvalSummary, EvalSummaryRow,
};
use crate::error::{Error, Result};
use crate::eval::assertions::{self, AssertionContext, BoxFuture, ModelCalls};
use crate::eval::plan::{
    EvalPlan, PlanCase, PlanPrompt, Prices, PromptTemplate, ProviderError, ProviderKind,
    ProviderRequest, ProviderResponse, ProviderSpec,
};
use crate::eval::providers::{self, ProviderClient};
use crate::eval::template::Template;
use crate::model::{format_time_ns, Message, Span, SpanKind, SpanPayload, SpanStatus, Usage};
use crate::store::{evals, spans, traces, Store};

/// Where responses come from besides the providers.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Cassette {
    /// Call providers (through the response cache).
    #[default]
    Off,
    /// Answer every call from this cassette of recorded responses; nothing goes to a provider.
    Replay(PathBuf),
    /// Call providers and record every response into this cassette.
    Record(PathBuf),
}

/// How failed calls are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles each retry, with full jitter.
    pub base: Duration,
    /// Longest backoff (and longest `Retry-After` honoured).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

/// Choices for one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only these providers (labels or ids); empty = all.
    pub providers: Vec<String>,
    /// Only cases whose id, description or a tag contains this (case-insensitive); `tag:NAME`
    /// matches a tag exactly.
    pub filter: Option<String>,
    /// Repeats per case, overriding the plan.
    pub repeat: Option<u32>,
    /// Calls in flight per provider, overriding the plan.
    pub concurrency: Option<usize>,
    /// Bypass the response cache (responses are still written to it).
    pub no_cache: bool,
    /// Replay or record.
    pub cassette: Cassette,
    /// Continue this run: run only the results it is missing.
    pub resume: Option<String>,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// The git commit evaluated and whether the tree was dirty, when known.
    pub git: Option<(String, bool)>,
    /// The id of a new run (default: a fresh UUID), so a caller can follow it before it starts.
    pub run_id: Option<String>,
    /// Prices for calls whose provider sets no `prices` (the catalogue with the workspace's
    /// overrides); None leaves such calls at their reported cost, if any.
    pub catalogue: Option<std::sync::Arc<crate::cost::Catalogue>>,
}

/// What a finished (or interrupted) run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run's id.
    pub run_id: String,
    /// Its summary.
    pub summary: EvalSummary,
}

/// Applies the options' provider and case filters and overrides to a plan.
pub fn narrow_plan(plan: &EvalPlan, options: &RunOptions) -> Result<EvalPlan> {
    let mut plan = plan.clone();
    if !options.providers.is_empty() {
        let wanted: Vec<&str> = options.providers.iter().map(String::as_str).collect();
        plan.providers
            .retain(|p| wanted.contains(&p.label.as_str()) || wanted.contains(&p.id.as_str()));
        if plan.providers.is_empty() {
            return Err(Error::InvalidArguments {
                command: "eval run".into(),
                message: format!(
                    "--provider {}: no such provider in {} (it has: {})",
                    wanted.join(", "),
                    plan.name,
                    plan_provider_labels(&plan)
                ),
            });
        }
    }
    if let Some(filter) = options.filter.as_deref().filter(|f| !f.is_empty()) {
        plan.cases.retain(|c| case_matches(c, filter));
        if plan.cases.is_empty() {
            return Err(Error::InvalidArguments {
                command: "eval run".into(),
                message: format!("--filter {filter:?} matches no case of {}", plan.name),
            });
        }
    }
    if let Some(repeat) = options.repeat {
        plan.repeat = repeat.max(1);
    }
    if let Some(concurrency) = options.concurrency {
        plan.concurrency = concurrency.max(1);
    }
    Ok(plan)
}

fn plan_provider_labels(plan: &EvalPlan) -> String {
    let labels: Vec<&str> = plan.providers.iter().map(|p| p.label.as_str()).collect();
    labels.join(", ")
}

fn case_matches(case: &PlanCase, filter: &str) -> bool {
    if let Some(tag) = filter.strip_prefix("tag:") {
        return case.tags.iter().any(|t| t == tag);
    }
    let needle = filter.to_lowercase();
    case.id.to_lowercase().contains(&needle)
        || case
            .description
            .as_deref()
            .is_some_and(|d| d.to_lowercase().contains(&needle))
        || case.tags.iter().any(|t| t.to_lowercase().contains(&needle))
}

/// A hash of exactly what a plan evaluates: prompts, providers (settings, not secrets), cases and
/// their assertions, gates and repeats. File locations and the plan's own path are left out, so
/// the same content at another path or commit hashes the same.
pub fn content_hash(plan: &EvalPlan) -> String {
    let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for key in [
            "source",
            "unsupported",
            "concurrency",
            "timeout",
            "description",
        ] {
            map.remove(key);
        }
    }
    strip_locations(&mut value);
    hex_sha256(&canonical_json(&value))
}

fn strip_locations(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("location");
            map.remove("source");
            for v in map.values_mut() {
                strip_locations(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_locations),
        _ => {}
    }
}

/// JSON with object keys sorted, so equal values serialise equally.
fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::to_value(ordered).unwrap_or(Value::Null)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

fn hex_sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The response-cache key of a request: provider kind, base URL, model, parameters and
/// messages. Streaming is left out: it changes how a response arrives, not what it says.
pub fn request_key(spec: &ProviderSpec, request: &ProviderRequest, repeat_index: u32) -> String {
    key_of(spec.kind, spec.base_url.as_deref(), request, repeat_index)
}

/// The cassette key of a request: as [`request_key`] without the base URL, so a recording made
/// against one server replays for another serving the same model (a proxy, a local mirror).
pub fn cassette_key(spec: &ProviderSpec, request: &ProviderRequest, repeat_index: u32) -> String {
    key_of(spec.kind, None, request, repeat_index)
}

fn key_of(
    kind: ProviderKind,
    base_url: Option<&str>,
    request: &ProviderRequest,
    repeat_index: u32,
) -> String {
    request_parts_key(
        kind,
        base_url,
        &request.model,
        &request.params,
        &request.messages,
        repeat_index,
    )
}

fn request_parts_key(
    kind: ProviderKind,
    base_url: Option<&str>,
    model: &str,
    params: &Map<String, Value>,
    messages: &[Message],
    repeat_index: u32,
) -> String {
    let mut key = serde_json::json!({
        "kind": kind.as_str(),
        "base_url": base_url,
        "model": model,
        "params": params,
        "messages": messages,
    });
    // Repeats exist to sample a noisy model again: each repeat has its own entry.
    if repeat_index > 0 {
        key["repeat"] = Value::from(repeat_index);
    }
    hex_sha256(&canonical_json(&key))
}

fn embed_key(kind: ProviderKind, model: &str, texts: &[String]) -> String {
    let key = serde_json::json!({
        "embed": true,
        "kind": kind.as_str(),
        "model": model,
        "texts": texts,
    });
    hex_sha256(&canonical_json(&key))
}

/// The cost of a call in USD from per-million prices; each usage key is charged once.
pub fn cost_of(prices: &Prices, usage: &Usage) -> Option<f64> {
    let input = usage.input?;
    let output = usage.output.unwrap_or(0);
    let cache_read = usage.cache_read.unwrap_or(0);
    let cache_write = usage.cache_write.unwrap_or(0);
    let uncached = (input - cache_read - cache_write).max(0);
    let micro = uncached as f64 * prices.input
        + cache_read as f64 * prices.cache_read.unwrap_or(prices.input)
        + cache_write as f64 * prices.cache_write.unwrap_or(prices.input)
        + output as f64 * prices.output;
    Some(micro / 1_000_000.0)
}

// ---- Cassettes ---------------------------------------------------------------------------

/// One recorded response. The request is kept in full (readable in review, and the key is
/// recomputed from it, so an edited response still replays).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CassetteEntry {
    provider: String,
    model: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "is_zero")]
    repeat: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<ProviderResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embed_texts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embeddings: Option<Vec<Vec<f32>>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl CassetteEntry {
    fn key(&self) -> Option<String> {
        let kind = ProviderKind::parse(&self.provider)?;
        Some(match &self.embed_texts {
            Some(texts) => embed_key(kind, &self.model, texts),
            // As `cassette_key`: no base URL.
            None => request_parts_key(
                kind,
                None,
                &self.model,
                &self.params,
                &self.messages,
                self.repeat,
            ),
        })
    }
}

#[derive(Debug, Default)]
struct CassetteData {
    responses: HashMap<String, ProviderResponse>,
    embeddings: HashMap<String, Vec<Vec<f32>>>,
}

fn read_cassette(path: &Path) -> Result<(CassetteData, Vec<CassetteEntry>)> {
    let mut data = CassetteData::default();
    let mut entries = Vec::new();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((data, entries)),
        Err(e) => return Err(Error::io(path, e)),
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: CassetteEntry = serde_json::from_str(line).map_err(|e| Error::EvalFile {
            location: format!("{}:{}", path.display(), n + 1),
            message: format!("not a cassette entry: {e}"),
        })?;
        let key = entry.key().ok_or_else(|| Error::EvalFile {
            location: format!("{}:{}", path.display(), n + 1),
            message: format!("unknown provider {:?}", entry.provider),
        })?;
        if let Some(r) = &entry.response {
            data.responses.insert(key, r.clone());
        } else if let Some(v) = &entry.embeddings {
            data.embeddings.insert(key, v.clone());
        }
        entries.push(entry);
    }
    Ok((data, entries))
}

fn write_cassette(path: &Path, old: Vec<CassetteEntry>, new: Vec<CassetteEntry>) -> Result<()> {
    // Newer recordings replace older ones of the same request; the order is stable for diffs.
    let mut by_key: BTreeMap<String, CassetteEntry> = BTreeMap::new();
    for e in old.into_iter().chain(new) {
        if let Some(k) = e.key() {
            by_key.insert(k, e);
        }
    }
    let mut text = String::new();
    for e in by_key.values() {
        text.push_str(&serde_json::to_string(e).unwrap_or_default());
        text.push('\n');
    }
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// The cassette that belongs to a plan: `cassette.jsonl` beside `evalset.yaml`, or
/// `NAME.cassette.jsonl` beside a promptfoo config.
pub fn default_cassette(plan: &EvalPlan) -> PathBuf {
    let dir = plan.source.parent().unwrap_or(Path::new("."));
    let file = plan
        .source
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("");
    if file == "evalset.yaml" || file == "evalset.yml" {
        dir.join("cassette.jsonl")
    } else {
        let stem = plan
            .source
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("evalset");
        dir.join(format!("{stem}.cassette.jsonl"))
    }
}

// ---- Adaptive concurrency ----------------------------------------------------------------

/// A concurrency limit that halves on a rate limit and grows back by one per window of
/// successes (additive increase, multiplicative decrease), never above the configured maximum.
#[derive(Debug)]
struct AdaptiveLimit {
    state: Mutex<LimitState>,
    released: tokio::sync::Notify,
    max: f64,
}

#[derive(Debug)]
struct LimitState {
    limit: f64,
    in_flight: usize,
    /// Bumped at each decrease: calls issued before it must not decrease the limit again (a
    /// burst of 429s from one window is one signal, not many).
    epoch: u64,
}

struct Permit<'a>(&'a AdaptiveLimit, u64);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).in_flight -= 1;
        self.0.released.notify_waiters();
    }
}

impl AdaptiveLimit {
    fn new(max: usize) -> AdaptiveLimit {
        AdaptiveLimit {
            state: Mutex::new(LimitState {
                limit: max.max(1) as f64,
                in_flight: 0,
                epoch: 0,
            }),
            released: tokio::sync::Notify::new(),
            max: max.max(1) as f64,
        }
    }

    async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = lock(&self.state);
                if (s.in_flight as f64) < s.limit.floor().max(1.0) {
                    s.in_flight += 1;
                    return Permit(self, s.epoch);
                }
            }
            notified.await;
        }
    }

    fn on_rate_limited(&self, epoch: u64) {
        let mut s = lock(&self.state);
        if epoch == s.epoch {
            s.limit = (s.limit / 2.0).max(1.0);
            s.epoch += 1;
        }
    }

    fn on_success(&self) {
        let mut s = lock(&self.state);
        if s.limit < self.max {
            s.limit = (s.limit + 1.0 / s.limit).min(self.max);
            drop(s);
            self.released.notify_waiters();
        }
    }

    #[cfg(test)]
    fn current(&self) -> f64 {
        lock(&self.state).limit
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---- The run -----------------------------------------------------------------------------

/// A provider call's outcome as the runner sees it.
struct CallOutcome {
    response: ProviderResponse,
    /// Served from the cache or a cassette.
    cached: bool,
    /// The trace of the call that produced the response.
    trace_id: Option<String>,
    /// A fresh call to record as a trace: (start ns, attempts).
    fresh: Option<i64>,
}

/// What the writer thread receives.
enum WriterMsg {
    Result {
        row: Box<EvalResultRow>,
        spans: Vec<Span>,
        cache: Option<(String, Box<ProviderResponse>)>,
    },
}

struct Runner<'p> {
    plan: &'p EvalPlan,
    options: &'p RunOptions,
    run_id: String,
    client: ProviderClient,
    limits: HashMap<String, AdaptiveLimit>,
    cache_reader: Option<Mutex<Store>>,
    cassette: Option<CassetteData>,
    recorded: Mutex<Vec<CassetteEntry>>,
    embeddings: Mutex<HashMap<String, Vec<Vec<f32>>>>,
    extra_specs: Mutex<HashMap<String, ProviderSpec>>,
    templates: Vec<Vec<(String, Template)>>,
    jitter: Mutex<u64>,
}

/// Runs `plan` and writes its results to the store at `db_path`. `progress` is called after
/// each batch of results is committed; setting `cancel` stops the run (what finished is kept,
/// and the run can be resumed).
pub fn run(
    db_path: &Path,
    plan: &EvalPlan,
    options: &RunOptions,
    progress: &mut (dyn FnMut(&EvalProgress) + Send),
    cancel: &AtomicBool,
) -> Result<RunOutcome> {
    let plan = narrow_plan(plan, options)?;
    let hash = content_hash(&plan);
    let mut writer = Store::open(db_path)?;
    let now = now_ns();
    let (run_id, done_keys) = match &options.resume {
        Some(id) => {
            let run = evals::get_run(writer.conn(), id)?
                .ok_or_else(|| Error::NotFound(format!("no eval run with id {id}")))?;
            if run.content_hash != hash {
                return Err(Error::InvalidArguments {
                    command: "eval run --resume".into(),
                    message: format!(
                        "run {id} evaluated other content (its prompts, cases, providers or options differ from {} now); start a new run instead",
                        plan.name
                    ),
                });
            }
            evals::set_run_status(writer.conn(), id, "running", None, None)?;
            (id.clone(), evals::result_keys(writer.conn(), id)?)
        }
        None => {
            let id = options
                .run_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let planned = (plan.cases.len() * plan.prompts.len() * plan.providers.len()) as i64
                * i64::from(plan.repeat);
            evals::insert_run(
                writer.conn(),
                &evals::RunRecord {
                    id: id.clone(),
                    evalset: plan.name.clone(),
                    source: plan.source.display().to_string(),
                    description: plan.description.clone(),
                    content_hash: hash.clone(),
                    git_commit: options.git.as_ref().map(|g| g.0.clone()),
                    git_dirty: options.git.as_ref().map(|g| g.1),
                    status: "running".into(),
                    started_ns: now,
                    finished_ns: None,
                    planned,
                    plan: serde_json::to_string(&plan).unwrap_or_default(),
                    summary: None,
                },
            )?;
            (id, HashSet::new())
        }
    };

    let mut templates = Vec::new();
    for prompt in &plan.prompts {
        templates.push(parse_prompt(prompt)?);
    }
    let mut limits = HashMap::new();
    for spec in plan
        .providers
        .iter()
        .chain(plan.judge.iter())
        .chain(plan.embedder.iter())
    {
        limits
            .entry(spec.label.clone())
            .or_insert_with(|| AdaptiveLimit::new(plan.concurrency));
    }
    let (cassette, old_entries) = match &options.cassette {
        Cassette::Replay(path) => {
            if !path.exists() {
                return Err(Error::EvalFile {
                    location: path.display().to_string(),
                    message: "no cassette to replay (record one with --record)".into(),
                });
            }
            let (data, _) = read_cassette(path)?;
            (Some(data), Vec::new())
        }
        Cassette::Record(path) => (None, read_cassette(path)?.1),
        Cassette::Off => (None, Vec::new()),
    };
    let runner = Runner {
        plan: &plan,
        options,
        run_id: run_id.clone(),
        client: ProviderClient::new(),
        limits,
        cache_reader: if cassette.is_none() && !options.no_cache {
            Some(Mutex::new(Store::open(db_path)?))
        } else {
            None
        },
        cassette,
        recorded: Mutex::new(Vec::new()),
        embeddings: Mutex::new(HashMap::new()),
        extra_specs: Mutex::new(HashMap::new()),
        templates,
        jitter: Mutex::new(now as u64 | 1),
    };

    let mut jobs = Vec::new();
    for repeat in 0..plan.repeat {
        for case in 0..plan.cases.len() {
            for prompt in 0..plan.prompts.len() {
                for provider in 0..plan.providers.len() {
                    let key = (
                        plan.cases[case].index,
                        plan.prompts[prompt].id.clone(),
                        plan.providers[provider].label.clone(),
                        repeat,
                    );
                    if !done_keys.contains(&key) {
                        jobs.push(Job {
                            case,
                            prompt,
                            provider,
                            repeat,
                        });
                    }
                }
            }
        }
    }

    let before = evals::counts(writer.conn(), &run_id)?;
    let planned = (plan.cases.len() * plan.prompts.len() * plan.providers.len()) as u64
        * u64::from(plan.repeat);
    let mut state = EvalProgress {
        run_id: run_id.clone(),
        status: "running".into(),
        done: before.done as u64,
        total: planned,
        pass: before.pass as u64,
        fail: before.fail as u64,
        error: before.error as u64,
        cost: before.cost,
        cached: 0,
        message: None,
    };
    progress(&state);
    let import_id = eval_import_id(&writer, &run_id)?;

    let (tx, rx) = std::sync::mpsc::channel::<WriterMsg>();
    let interrupted = std::thread::scope(|scope| -> Result<bool> {
        let writer_thread = scope.spawn(|| -> Result<()> {
            write_results(&mut writer, &run_id, import_id, rx, &mut state, progress)
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        let in_flight = (plan.concurrency * plan.providers.len().max(1) * 2).max(4);
        let interrupted = runtime.block_on(async {
            let mut results = futures_util::stream::iter(jobs)
                .map(|job| runner.run_job(job))
                .buffer_unordered(in_flight);
            loop {
                let next = tokio::select! {
                    next = results.next() => next,
                    _ = wait_for(cancel) => return true,
                };
                let Some(msg) = next else { return false };
                if tx.send(msg).is_err() {
                    // The writer failed; its error is reported below.
                    return false;
                }
            }
        });
        drop(tx);
        match writer_thread.join() {
            Ok(r) => r?,
            Err(_) => {
                return Err(Error::InvalidArguments {
                    command: "eval run".into(),
                    message: "the result writer stopped unexpectedly".into(),
                })
            }
        }
        Ok(interrupted)
    })?;

    if let Cassette::Record(path) = &options.cassette {
        let recorded = std::mem::take(&mut *lock(&runner.recorded));
        write_cassette(path, old_entries, recorded)?;
    }
    let status = if interrupted {
        "interrupted"
    } else {
        "completed"
    };
    // The status first, so the summary (computed once) reflects it; then the summary is kept.
    let finished = now_ns();
    evals::set_run_status(writer.conn(), &run_id, status, Some(finished), None)?;
    let mut summary = summarize(writer.conn(), &run_id)?;
    summary.run.gates_passed = Some(summary.passed);
    let json = serde_json::to_string(&summary).unwrap_or_default();
    evals::set_run_status(writer.conn(), &run_id, status, Some(finished), Some(&json))?;
    Ok(RunOutcome { run_id, summary })
}

async fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn parse_prompt(prompt: &PlanPrompt) -> Result<Vec<(String, Template)>> {
    let source = prompt.source.display().to_string();
    let parse = |role: &str, text: &str| {
        Template::parse(text, &source)
            .map(|t| (role.to_owned(), t))
            .map_err(|message| Error::EvalFile {
                location: source.clone(),
                message,
            })
    };
    match &prompt.template {
        PromptTemplate::Text(text) => Ok(vec![parse("user", text)?]),
        PromptTemplate::Chat(messages) => messages
            .iter()
            .map(|m| parse(&m.role, &m.content))
            .collect(),
    }
}

/// The import row that the run's traces are attributed to (one per run).
fn eval_import_id(store: &Store, run_id: &str) -> Result<i64> {
    let source = format!("eval run {run_id}");
    let conn = store.conn();
    let existing: Option<i64> = conn
        .query_row(
            "SELECT id FROM imports WHERE source = ?1 AND format = 'eval'",
            [&source],
            |r| r.get(0),
        )
        .ok();
    if let Some(id) = existing {
        return Ok(id);
    }
    conn.execute(
        "INSERT INTO imports (source, format, content_hash, status, spans_read, spans_new,
             spans_merged, rejected, started_at, finished_at)
         VALUES (?1, 'eval', '', 'done', 0, 0, 0, 0, ?2, NULL)",
        rusqlite::params![source, chrono::Utc::now().to_rfc3339()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The writer thread: commits whatever results have arrived, in one transaction per batch.
fn write_results(
    store: &mut Store,
    run_id: &str,
    import_id: i64,
    rx: std::sync::mpsc::Receiver<WriterMsg>,
    state: &mut EvalProgress,
    progress: &mut (dyn FnMut(&EvalProgress) + Send),
) -> Result<()> {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let tx = store.conn_mut().transaction()?;
        let now = now_ns();
        let mut new_spans = Vec::new();
        for msg in batch {
            let WriterMsg::Result { row, spans, cache } = msg;
            if let Some((key, response)) = &cache {
                evals::cache_put(&tx, key, response, row.trace_id.as_deref(), now)?;
            }
            if evals::insert_result(&tx, run_id, &row, now)? {
                state.done += 1;
                match row.outcome.as_str() {
                    "pass" => state.pass += 1,
                    "fail" => state.fail += 1,
                    _ => state.error += 1,
                }
                if row.cached {
                    state.cached += 1;
                } else {
                    state.cost += row.cost.unwrap_or(0.0);
                }
            }
            new_spans.extend(spans.into_iter().map(spans::PreparedSpan::new));
        }
        if !new_spans.is_empty() {
            spans::upsert(&tx, &mut new_spans, import_id)?;
            traces::refresh(&tx, &new_spans)?;
        }
        tx.commit()?;
        progress(state);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Job {
    case: usize,
    prompt: usize,
    provider: usize,
    repeat: u32,
}

impl Runner<'_> {
    async fn run_job(&self, job: Job) -> WriterMsg {
        let plan = self.plan;
        let case = &plan.cases[job.case];
        let prompt = &plan.prompts[job.prompt];
        let spec = &plan.providers[job.provider];
        let mut row = EvalResultRow {
            case_index: case.index,
            case_id: case.id.clone(),
            prompt_id: prompt.id.clone(),
            provider: spec.label.clone(),
            repeat_index: job.repeat,
            outcome: "error".into(),
            score: 0.0,
            output: None,
            error: None,
            latency_ms: None,
            ttft_ms: None,
            input_tokens: None,
            output_tokens: None,
            cost: None,
            cached: false,
            assertions: Vec::new(),
            rendered: Vec::new(),
            trace_id: None,
        };
        let messages = match self.render(job.prompt, case) {
            Ok(m) => m,
            Err(e) => {
                row.error = Some(e);
                return WriterMsg::Result {
                    row: Box::new(row),
                    spans: Vec::new(),
                    cache: None,
                };
            }
        };
        row.rendered = messages.clone();
        let mut params = prompt.params.clone();
        params.extend(spec.params.clone());
        let request = ProviderRequest {
            model: spec.model.clone(),
            messages,
            params,
        };
        let key = request_key(spec, &request, job.repeat);
        let started = now_ns();
        let result = self.call(spec, &request, job.repeat).await;
        let (outcome, mut span_list, cache) = match result {
            Err(e) => {
                row.error = Some(e.to_string());
                let trace = self.trace_spans(case, prompt, spec, &request, started, None, Some(&e));
                row.trace_id = trace.first().map(|s| s.trace_id.clone());
                return WriterMsg::Result {
                    row: Box::new(row),
                    spans: trace,
                    cache: None,
                };
            }
            Ok(outcome) => {
                let spans = match outcome.fresh {
                    Some(start) => self.trace_spans(
                        case,
                        prompt,
                        spec,
                        &request,
                        start,
                        Some(&outcome.response),
                        None,
                    ),
                    None => Vec::new(),
                };
                let cacheable = outcome.fresh.is_some()
                    && self.cassette.is_none()
                    && (!outcome.response.output.is_empty()
                        || !outcome.response.tool_calls.is_empty());
                let cache = cacheable.then(|| (key.clone(), Box::new(outcome.response.clone())));
                (outcome, spans, cache)
            }
        };
        let response = &outcome.response;
        row.cached = outcome.cached;
        row.trace_id = span_list
            .first()
            .map(|s| s.trace_id.clone())
            .or(outcome.trace_id.clone());
        row.output = Some(response.output.clone());
        row.latency_ms = Some(response.latency_ms);
        row.ttft_ms = response.time_to_first_token_ms;
        row.input_tokens = response.usage.input;
        row.output_tokens = response.usage.output;
        row.cost = match &spec.prices {
            Some(p) => cost_of(p, &response.usage),
            None => self.catalogue_cost(spec, &request, response),
        }
        .or(response.reported_cost);
        if let Some(llm) = span_list.get_mut(1) {
            llm.cost = row.cost;
            llm.unpriced = row.cost.is_none() && response.usage.input.is_some();
        }
        let prompt_text = row
            .rendered
            .iter()
            .filter_map(|m| m.content.as_deref())
            .collect::<Vec<_>>()
            .join("\n\n");
        let ctx = AssertionContext {
            output: &response.output,
            response,
            cost: row.cost,
            prompt: &prompt_text,
            case,
            vars: &case.vars,
        };
        let mut results = Vec::with_capacity(case.assertions.len());
        for assertion in &case.assertions {
            results.push(assertions::evaluate(assertion, &ctx, self).await);
        }
        let (pass, score) = assertions::case_verdict(&results, case.threshold);
        let errored = results.iter().any(|r| r.error);
        row.outcome = if errored {
            "error"
        } else if pass {
            "pass"
        } else {
            "fail"
        }
        .into();
        if errored {
            row.error = results
                .iter()
                .find(|r| r.error)
                .map(|r| format!("assertion {} could not be evaluated: {}", r.kind, r.reason));
        }
        row.score = score;
        row.assertions = results;
        // The root span carries the verdict, so evals are searchable in the trace explorer.
        if let Some(root) = span_list.first_mut() {
            root.payload.attributes.insert(
                "assay.eval.outcome".into(),
                Value::from(row.outcome.clone()),
            );
        }
        WriterMsg::Result {
            row: Box::new(row),
            spans: span_list,
            cache,
        }
    }

    /// The catalogue's price for a call: the answering model's, else the requested one's.
    fn catalogue_cost(
        &self,
        spec: &ProviderSpec,
        request: &ProviderRequest,
        response: &ProviderResponse,
    ) -> Option<f64> {
        let catalogue = self.options.catalogue.as_ref()?;
        let provider = match spec.kind {
            ProviderKind::AzureOpenAi => "azure",
            ProviderKind::OpenAiCompatible => "openai",
            other => other.as_str(),
        };
        let now = now_ns();
        let models = response
            .response_model
            .iter()
            .chain(std::iter::once(&request.model));
        for model in models {
            if let crate::cost::Priced::Cost(c) =
                catalogue.price(Some(provider), model, now, &response.usage)
            {
                return Some(c.total);
            }
        }
        None
    }

    fn render(&self, prompt: usize, case: &PlanCase) -> std::result::Result<Vec<Message>, String> {
        self.templates[prompt]
            .iter()
            .map(|(role, template)| {
                template.render(&case.vars).map(|content| Message {
                    role: role.clone(),
                    content: Some(content),
                    ..Message::default()
                })
            })
            .collect()
    }

    /// One provider call: cassette, cache, then the provider with retries.
    async fn call(
        &self,
        spec: &ProviderSpec,
        request: &ProviderRequest,
        repeat: u32,
    ) -> std::result::Result<CallOutcome, ProviderError> {
        if let Some(cassette) = &self.cassette {
            return match cassette.responses.get(&cassette_key(spec, request, repeat)) {
                Some(r) => Ok(CallOutcome {
                    response: r.clone(),
                    cached: true,
                    trace_id: None,
                    fresh: None,
                }),
                None => Err(ProviderError::NotRecorded {
                    cassette: match &self.options.cassette {
                        Cassette::Replay(p) => p.display().to_string(),
                        _ => String::new(),
                    },
                }),
            };
        }
        if let Some(reader) = &self.cache_reader {
            let key = request_key(spec, request, repeat);
            let hit = evals::cache_get(lock(reader).conn(), &key).ok().flatten();
            if let Some((response, trace_id)) = hit {
                return Ok(CallOutcome {
                    response,
                    cached: true,
                    trace_id,
                    fresh: None,
                });
            }
        }
        let started = now_ns();
        let response = self
            .with_retries(spec, || {
                self.client.complete(spec, request, self.plan.timeout)
            })
            .await?;
        if matches!(self.options.cassette, Cassette::Record(_)) {
            lock(&self.recorded).push(CassetteEntry {
                provider: spec.kind.as_str().to_owned(),
                model: request.model.clone(),
                params: request.params.clone(),
                messages: request.messages.clone(),
                repeat,
                response: Some(response.clone()),
                embed_texts: None,
                embeddings: None,
            });
        }
        Ok(CallOutcome {
            response,
            cached: false,
            trace_id: None,
            fresh: Some(started),
        })
    }

    async fn with_retries<T, F, Fut>(
        &self,
        spec: &ProviderSpec,
        mut attempt: F,
    ) -> std::result::Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, ProviderError>>,
    {
        let limit = self.limits.get(&spec.label);
        let retry = self.options.retry;
        let mut tries = 0;
        loop {
            let permit = match limit {
                Some(l) => Some(l.acquire().await),
                None => None,
            };
            let result = attempt().await;
            let epoch = permit.as_ref().map(|p| p.1).unwrap_or(0);
            drop(permit);
            match result {
                Ok(v) => {
                    if let Some(l) = limit {
                        l.on_success();
                    }
                    return Ok(v);
                }
                Err(e) if e.is_retryable() && tries < retry.max_retries => {
                    let wait = match &e {
                        ProviderError::RateLimited { retry_after, .. } => {
                            if let Some(l) = limit {
                                l.on_rate_limited(epoch);
                            }
                            retry_after
                                .map(|d| d.min(retry.max))
                                .unwrap_or_else(|| self.backoff(tries))
                        }
                        _ => self.backoff(tries),
                    };
                    tries += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Exponential backoff with full jitter.
    fn backoff(&self, tries: u32) -> Duration {
        let ceiling = self
            .options
            .retry
            .base
            .saturating_mul(1u32 << tries.min(16))
            .min(self.options.retry.max);
        let mut seed = lock(&self.jitter);
        // xorshift64: jitter needs spread, not cryptographic quality.
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let fraction = (*seed % 1_000_000) as f64 / 1_000_000.0;
        ceiling.mul_f64(0.5 + fraction / 2.0)
    }

    fn resolve_spec(
        &self,
        id: Option<&str>,
        judge: bool,
    ) -> std::result::Result<ProviderSpec, ProviderError> {
        let plan = self.plan;
        let fallback = if judge { &plan.judge } else { &plan.embedder };
        let Some(id) = id else {
            return fallback.clone().ok_or_else(|| {
                ProviderError::Config(if judge {
                    "no judge provider: add `judge:` to the eval set (or `provider:` to the assertion)".into()
                } else {
                    "no embeddings provider: add `embedder:` to the eval set (or `provider:` to the assertion)".into()
                })
            });
        };
        if let Some(spec) = plan
            .providers
            .iter()
            .chain(plan.judge.iter())
            .chain(plan.embedder.iter())
            .find(|p| p.id == id || p.label == id)
        {
            return Ok(spec.clone());
        }
        let mut extra = lock(&self.extra_specs);
        if let Some(spec) = extra.get(id) {
            return Ok(spec.clone());
        }
        let spec =
            providers::spec_from_config(id, None, &Map::new()).map_err(ProviderError::Config)?;
        extra.insert(id.to_owned(), spec.clone());
        Ok(spec)
    }

    /// The trace of one provider call: a root span for the evaluated case and the model call.
    #[allow(clippy::too_many_arguments)]
    fn trace_spans(
        &self,
        case: &PlanCase,
        prompt: &PlanPrompt,
        spec: &ProviderSpec,
        request: &ProviderRequest,
        start_ns: i64,
        response: Option<&ProviderResponse>,
        error: Option<&ProviderError>,
    ) -> Vec<Span> {
        let trace_id = uuid::Uuid::new_v4().simple().to_string();
        let ids = uuid::Uuid::new_v4().simple().to_string();
        let (root_id, llm_id) = (ids[..16].to_owned(), ids[16..].to_owned());
        let latency_ns = response
            .map(|r| (r.latency_ms * 1e6) as i64)
            .unwrap_or_else(|| now_ns() - start_ns);
        let end_ns = start_ns + latency_ns.max(0);
        let mut root = Span::new(
            trace_id.clone(),
            root_id.clone(),
            format!("eval {}", self.plan.name),
            start_ns,
        );
        root.kind = SpanKind::Evaluator;
        root.end_ns = Some(end_ns);
        root.service = Some("assay eval".into());
        root.attribution.feature = Some(self.plan.name.clone());
        root.attribution.environment = Some("eval".into());
        root.tags = case.tags.clone();
        let mut attrs = Map::new();
        attrs.insert("assay.eval.run_id".into(), Value::from(self.run_id.clone()));
        attrs.insert("assay.eval.case_id".into(), Value::from(case.id.clone()));
        attrs.insert(
            "assay.eval.prompt_id".into(),
            Value::from(prompt.id.clone()),
        );
        attrs.insert(
            "assay.eval.provider".into(),
            Value::from(spec.label.clone()),
        );
        root.payload.attributes = attrs;
        root.payload.input = Some(Value::Object(case.vars.clone()).to_string());

        let mut llm = Span::new(
            trace_id,
            llm_id,
            format!("chat {}", request.model),
            start_ns,
        );
        llm.parent_span_id = Some(root_id);
        llm.kind = SpanKind::Llm;
        llm.end_ns = Some(end_ns);
        llm.service = Some("assay eval".into());
        llm.provider = Some(spec.kind.as_str().to_owned());
        llm.request_model = Some(request.model.clone());
        llm.prompt_name = Some(prompt.id.clone());
        llm.attribution = root.attribution.clone();
        let input = serde_json::to_string(&request.messages).ok();
        llm.payload = SpanPayload {
            input,
            input_messages: request.messages.clone(),
            attributes: {
                let mut a = Map::new();
                a.insert(
                    "gen_ai.request.parameters".into(),
                    Value::Object(request.params.clone()),
                );
                a
            },
            ..SpanPayload::default()
        };
        match (response, error) {
            (Some(r), _) => {
                llm.status = SpanStatus::Ok;
                llm.response_model = r.response_model.clone();
                llm.finish_reason = r.finish_reason.clone();
                llm.usage = r.usage.clone();
                llm.reported_cost = r.reported_cost;
                llm.time_to_first_token_ns = r.time_to_first_token_ms.map(|ms| (ms * 1e6) as i64);
                llm.payload.output = Some(r.output.clone());
                llm.payload.output_messages = vec![Message {
                    role: "assistant".into(),
                    content: Some(r.output.clone()),
                    tool_calls: r.tool_calls.clone(),
                    tool_call_id: None,
                }];
                root.status = SpanStatus::Ok;
                root.payload.output = Some(r.output.clone());
            }
            (None, Some(e)) => {
                for s in [&mut root, &mut llm] {
                    s.status = SpanStatus::Error;
                    s.status_message = Some(e.to_string());
                }
                llm.error_class = Some(match e {
                    ProviderError::Network(_)
                    | ProviderError::Timeout(_)
                    | ProviderError::Config(_)
                    | ProviderError::NotRecorded { .. } => crate::model::ErrorClass::Infrastructure,
                    _ => crate::model::ErrorClass::Model,
                });
                root.error_class = llm.error_class;
            }
            (None, None) => {}
        }
        vec![root, llm]
    }
}

impl ModelCalls for Runner<'_> {
    fn complete<'a>(
        &'a self,
        provider: Option<&'a str>,
        messages: Vec<Message>,
    ) -> BoxFuture<'a, std::result::Result<ProviderResponse, ProviderError>> {
        Box::pin(async move {
            let spec = self.resolve_spec(provider, true)?;
            let request = ProviderRequest {
                model: spec.model.clone(),
                messages,
                params: spec.params.clone(),
            };
            let outcome = self.call(&spec, &request, 0).await?;
            Ok(outcome.response)
        })
    }

    fn embed<'a>(
        &'a self,
        provider: Option<&'a str>,
        texts: Vec<String>,
    ) -> BoxFuture<'a, std::result::Result<Vec<Vec<f32>>, ProviderError>> {
        Box::pin(async move {
            let spec = self.resolve_spec(provider, false)?;
            let key = embed_key(spec.kind, &spec.model, &texts);
            if let Some(cassette) = &self.cassette {
                return cassette.embeddings.get(&key).cloned().ok_or_else(|| {
                    ProviderError::NotRecorded {
                        cassette: match &self.options.cassette {
                            Cassette::Replay(p) => p.display().to_string(),
                            _ => String::new(),
                        },
                    }
                });
            }
            if let Some(v) = lock(&self.embeddings).get(&key) {
                return Ok(v.clone());
            }
            let vectors = self
                .with_retries(&spec, || {
                    self.client.embed(&spec, &texts, self.plan.timeout)
                })
                .await?;
            lock(&self.embeddings).insert(key, vectors.clone());
            if matches!(self.options.cassette, Cassette::Record(_)) {
                lock(&self.recorded).push(CassetteEntry {
                    provider: spec.kind.as_str().to_owned(),
                    model: spec.model.clone(),
                    params: Map::new(),
                    messages: Vec::new(),
                    repeat: 0,
                    response: None,
                    embed_texts: Some(texts.clone()),
                    embeddings: Some(vectors.clone()),
                });
            }
            Ok(vectors)
        })
    }
}

// ---- Summaries ---------------------------------------------------------------------------

/// A run's brief from its record and stored results.
pub fn brief(conn: &rusqlite::Connection, run: &evals::RunRecord) -> Result<EvalRunBrief> {
    let counts = evals::counts(conn, &run.id)?;
    let graded = counts.pass + counts.fail;
    let gates_passed = run
        .summary
        .as_deref()
        .and_then(|s| serde_json::from_str::<EvalSummary>(s).ok())
        .map(|s| s.passed);
    Ok(EvalRunBrief {
        id: run.id.clone(),
        evalset: run.evalset.clone(),
        status: run.status.clone(),
        started_at: format_time_ns(run.started_ns),
        finished_at: run.finished_ns.map(format_time_ns),
        duration_ms: run.finished_ns.map(|f| (f - run.started_ns) as f64 / 1e6),
        planned: run.planned,
        done: counts.done,
        pass: counts.pass,
        fail: counts.fail,
        error: counts.error,
        pass_rate: (graded > 0).then(|| counts.pass as f64 / graded as f64),
        cost: counts.cost,
        git_commit: run.git_commit.clone(),
        git_dirty: run.git_dirty,
        gates_passed,
        content_hash: run.content_hash.clone(),
    })
}

/// Computes a run's summary from its stored results and its plan's gates.
pub fn summarize(conn: &rusqlite::Connection, run_id: &str) -> Result<EvalSummary> {
    let run = evals::get_run(conn, run_id)?
        .ok_or_else(|| Error::NotFound(format!("no eval run with id {run_id}")))?;
    let plan: Value = serde_json::from_str(&run.plan).unwrap_or(Value::Null);
    let gates: crate::eval::plan::Gates =
        serde_json::from_value(plan.get("gates").cloned().unwrap_or(Value::Null))
            .unwrap_or_default();
    let unsupported =
        serde_json::from_value(plan.get("unsupported").cloned().unwrap_or(Value::Null))
            .unwrap_or_default();
    let weights: HashMap<usize, f64> = plan
        .get("cases")
        .and_then(Value::as_array)
        .map(|cases| {
            cases
                .iter()
                .filter_map(|c| {
                    Some((
                        c.get("index")?.as_u64()? as usize,
                        c.get("weight")?.as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let results = evals::results(conn, run_id)?;
    let mut groups: BTreeMap<(String, String), Vec<&EvalResultRow>> = BTreeMap::new();
    for r in &results {
        groups
            .entry((r.prompt_id.clone(), r.provider.clone()))
            .or_default()
            .push(r);
    }
    let rows = groups
        .into_iter()
        .map(|((prompt_id, provider), rs)| summary_row(prompt_id, provider, &rs, &weights))
        .collect::<Vec<_>>();

    let mut metric_sums: BTreeMap<String, (f64, i64)> = BTreeMap::new();
    for r in &results {
        for a in &r.assertions {
            if let (Some(m), false, false) = (&a.metric, a.unsupported, a.error) {
                let e = metric_sums.entry(m.clone()).or_default();
                e.0 += a.score;
                e.1 += 1;
            }
        }
    }
    let metrics: Vec<EvalMetric> = metric_sums
        .into_iter()
        .map(|(name, (sum, count))| EvalMetric {
            name,
            mean: sum / count as f64,
            count,
        })
        .collect();

    let pass = results.iter().filter(|r| r.outcome == "pass").count() as f64;
    let fail = results.iter().filter(|r| r.outcome == "fail").count() as f64;
    let errors = results.iter().filter(|r| r.outcome == "error").count() as f64;
    let pass_rate = (pass + fail > 0.0).then(|| pass / (pass + fail));
    let mean_score = weighted_mean(results.iter().filter(|r| r.outcome != "error"), &weights);
    let mut gate_results = Vec::new();
    let no_quality_gate =
        gates.pass_rate.is_none() && gates.mean_score.is_none() && gates.metrics.is_empty();
    // Without gates, every result must pass (what a CI user expects from an eval).
    let pass_rate_gate = gates.pass_rate.or(no_quality_gate.then_some(1.0));
    if let Some(threshold) = pass_rate_gate {
        gate_results.push(EvalGateResult {
            name: "pass_rate".into(),
            threshold,
            actual: pass_rate,
            passed: pass_rate.is_some_and(|a| a + 1e-12 >= threshold),
        });
    }
    if let Some(threshold) = gates.mean_score {
        gate_results.push(EvalGateResult {
            name: "mean_score".into(),
            threshold,
            actual: mean_score,
            passed: mean_score.is_some_and(|a| a + 1e-12 >= threshold),
        });
    }
    for (name, threshold) in &gates.metrics {
        let actual = metrics.iter().find(|m| &m.name == name).map(|m| m.mean);
        gate_results.push(EvalGateResult {
            name: format!("metric:{name}"),
            threshold: *threshold,
            actual,
            passed: actual.is_some_and(|a| a + 1e-12 >= *threshold),
        });
    }
    let max_errors = gates.max_errors.unwrap_or(0) as f64;
    gate_results.push(EvalGateResult {
        name: "max_errors".into(),
        threshold: max_errors,
        actual: Some(errors),
        passed: errors <= max_errors,
    });

    let mut repeats = Vec::new();
    let repeat_count = plan.get("repeat").and_then(Value::as_u64).unwrap_or(1);
    if repeat_count > 1 {
        let mut counts: BTreeMap<(usize, String, String, String), (i64, i64)> = BTreeMap::new();
        for r in &results {
            let e = counts
                .entry((
                    r.case_index,
                    r.case_id.clone(),
                    r.prompt_id.clone(),
                    r.provider.clone(),
                ))
                .or_default();
            e.0 += i64::from(r.outcome == "pass");
            e.1 += 1;
        }
        repeats = counts
            .into_iter()
            .map(
                |((_, case_id, prompt_id, provider), (passes, runs))| EvalRepeatCount {
                    case_id,
                    prompt_id,
                    provider,
                    passes,
                    runs,
                },
            )
            .collect();
    }
    let run_brief = brief(conn, &run)?;
    let complete = run_brief.done >= run_brief.planned && run.status != "interrupted";
    Ok(EvalSummary {
        passed: complete && gate_results.iter().all(|g| g.passed),
        run: run_brief,
        rows,
        metrics,
        gates: gate_results,
        unsupported,
        repeats,
    })
}

fn weighted_mean<'a>(
    rows: impl Iterator<Item = &'a EvalResultRow>,
    weights: &HashMap<usize, f64>,
) -> Option<f64> {
    let (mut sum, mut total) = (0.0, 0.0);
    for r in rows {
        let w = weights.get(&r.case_index).copied().unwrap_or(1.0);
        sum += w * r.score;
        total += w;
    }
    (total > 0.0).then(|| sum / total)
}

fn summary_row(
    prompt_id: String,
    provider: String,
    rows: &[&EvalResultRow],
    weights: &HashMap<usize, f64>,
) -> EvalSummaryRow {
    let count = |o: &str| rows.iter().filter(|r| r.outcome == o).count() as i64;
    let (pass, fail, error) = (count("pass"), count("fail"), count("error"));
    let mut latencies: Vec<f64> = rows
        .iter()
        .filter(|r| r.outcome != "error")
        .filter_map(|r| r.latency_ms)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> Option<f64> {
        if latencies.is_empty() {
            return None;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        Some(latencies[rank - 1])
    };
    EvalSummaryRow {
        total: rows.len() as i64,
        pass,
        fail,
        error,
        pass_rate: (pass + fail > 0).then(|| pass as f64 / (pass + fail) as f64),
        mean_score: weighted_mean(
            rows.iter().copied().filter(|r| r.outcome != "error"),
            weights,
        ),
        cost: rows
            .iter()
            .filter(|r| !r.cached)
            .filter_map(|r| r.cost)
            .sum(),
        latency_p50_ms: pct(0.5),
        latency_p95_ms: pct(0.95),
        input_tokens: rows.iter().filter_map(|r| r.input_tokens).sum(),
        output_tokens: rows.iter().filter_map(|r| r.output_tokens).sum(),
        cached: rows.iter().filter(|r| r.cached).count() as i64,
        prompt_id,
        provider,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_halves_on_rate_limits_and_grows_back() {
        let limit = AdaptiveLimit::new(16);
        limit.on_rate_limited(0);
        assert_eq!(limit.current(), 8.0);
        limit.on_rate_limited(0);
        assert_eq!(limit.current(), 8.0, "calls of the same window halve once");
        for epoch in 1..8 {
            limit.on_rate_limited(epoch);
        }
        assert_eq!(limit.current(), 1.0, "never below one call in flight");
        for _ in 0..200 {
            limit.on_success();
        }
        assert_eq!(
            limit.current(),
            16.0,
            "grows back, but not beyond the maximum"
        );
    }

    #[test]
    fn costs_charge_each_usage_key_once() {
        let prices = Prices {
            input: 2.0,
            output: 8.0,
            cache_read: Some(0.5),
            cache_write: None,
        };
        let usage = Usage {
            input: Some(1_000_000),
            output: Some(100_000),
            cache_read: Some(400_000),
            cache_write: None,
            reasoning: Some(50_000),
        };
        // 600k uncached x $2 + 400k cached x $0.5 + 100k output x $8 (reasoning is inside output).
        let cost = cost_of(&prices, &usage).unwrap();
        assert!((cost - (1.2 + 0.2 + 0.8)).abs() < 1e-9, "{cost}");
        assert_eq!(cost_of(&prices, &Usage::default()), None);
    }
}
