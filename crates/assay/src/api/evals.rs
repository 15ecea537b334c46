//! Evaluation and provider-key commands of the [`Api`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::json::*;
use super::Api;
use crate::error::{Error, Result};
use crate::eval::plan::EvalPlan;
use crate::eval::runner::{self, Cassette, RunOptions, RunOutcome};
use crate::eval::{files, secrets};
use crate::store::evals;

/// Runs started from the UI: their live progress and their stop switch.
#[derive(Debug, Default)]
pub(crate) struct EvalJobs {
    jobs: Mutex<HashMap<String, EvalJob>>,
}

#[derive(Debug)]
struct EvalJob {
    progress: EvalProgress,
    cancel: Arc<AtomicBool>,
}

/// Where a run's responses come from: the CLI's `--replay`, `--record` and `--cassette`.
#[derive(Debug, Clone, Default)]
pub struct CassetteChoice {
    /// Answer from recorded responses only.
    pub replay: bool,
    /// Record responses while calling providers.
    pub record: bool,
    /// The cassette file (default: beside the eval set).
    pub path: Option<PathBuf>,
}

impl CassetteChoice {
    /// The runner's cassette mode for `plan`.
    pub fn resolve(&self, plan: &EvalPlan) -> Result<Cassette> {
        let path = || {
            self.path
                .clone()
                .unwrap_or_else(|| runner::default_cassette(plan))
        };
        match (self.replay, self.record) {
            (true, true) => Err(Error::InvalidArguments {
                command: "eval run".into(),
                message: "--replay and --record exclude each other".into(),
            }),
            (true, false) => Ok(Cassette::Replay(path())),
            (false, true) => Ok(Cassette::Record(path())),
            (false, false) => Ok(Cassette::Off),
        }
    }
}

/// Known provider names for keys, in display order.
pub const KEY_PROVIDERS: &[&str] = &["openai", "anthropic", "gemini", "azure", "openrouter"];

impl Api {
    /// Reads an eval set (a name under `evalsets/`, a folder, an `evalset.yaml` or a
    /// `promptfooconfig.yaml`) into a plan, checking every file it uses.
    pub fn eval_plan(&self, target: &str) -> Result<EvalPlan> {
        files::load_plan(self.workspace_root("eval_plan")?, target)
    }

    /// The eval sets of the workspace, each with its most recent run.
    pub fn eval_sets(&self) -> Result<Vec<EvalSetInfo>> {
        let root = self.workspace_root("eval_sets")?;
        let store = self.store_for_reading();
        let mut out = Vec::new();
        for (name, path) in files::list_evalsets(root) {
            let last_run = match evals::list_runs(store.conn(), Some(&name), 1)?.first() {
                Some(run) => Some(runner::brief(store.conn(), run)?),
                None => None,
            };
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let info = match files::load_plan(root, &path.display().to_string()) {
                Ok(plan) => EvalSetInfo {
                    name,
                    path: rel,
                    description: plan.description.clone(),
                    prompts: plan.prompts.iter().map(|p| p.id.clone()).collect(),
                    providers: plan.providers.iter().map(|p| p.label.clone()).collect(),
                    cases: plan.cases.len(),
                    has_cassette: runner::default_cassette(&plan).exists(),
                    error: None,
                    last_run,
                },
                Err(e) => EvalSetInfo {
                    name,
                    path: rel,
                    description: None,
                    prompts: Vec::new(),
                    providers: Vec::new(),
                    cases: 0,
                    has_cassette: false,
                    error: Some(e.into()),
                    last_run,
                },
            };
            out.push(info);
        }
        Ok(out)
    }

    /// Evaluation runs, newest first.
    pub fn eval_runs(&self, query: &EvalRunsQuery) -> Result<Vec<EvalRunBrief>> {
        let store = self.store_for_reading();
        let limit = i64::from(query.limit.unwrap_or(100).min(10_000));
        evals::list_runs(store.conn(), query.evalset.as_deref(), limit)?
            .iter()
            .map(|run| runner::brief(store.conn(), run))
            .collect()
    }

    /// A run with its summary, columns, cases and every stored result.
    pub fn eval_run_get(&self, args: &EvalRunRef) -> Result<EvalRunDetail> {
        let store = self.store_for_reading();
        let run = evals::get_run(store.conn(), &args.run_id)?
            .ok_or_else(|| Error::NotFound(format!("no eval run with id {}", args.run_id)))?;
        let summary = runner::summarize(store.conn(), &run.id)?;
        let plan: serde_json::Value = serde_json::from_str(&run.plan).unwrap_or_default();
        let columns = |key: &str, id: &str| -> Vec<EvalColumn> {
            plan.get(key)
                .and_then(|v| v.as_array())
                .map(|items| {
                    items
                        .iter()
                        .map(|p| EvalColumn {
                            id: p.get(id).and_then(|v| v.as_str()).unwrap_or("").to_owned(),
                            label: p
                                .get("label")
                                .and_then(|v| v.as_str())
                                .unwrap_or("")
                                .to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let cases = plan
            .get("cases")
            .and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| serde_json::from_value::<CaseShape>(c.clone()).ok())
                    .map(|c| EvalCaseInfo {
                        index: c.index,
                        id: c.id,
                        description: c.description,
                        tags: c.tags,
                        vars: c.vars,
                        location: c.location,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(EvalRunDetail {
            summary,
            description: run.description.clone(),
            prompts: columns("prompts", "id"),
            providers: columns("providers", "label"),
            cases,
            results: evals::results(store.conn(), &run.id)?,
        })
    }

    /// Runs a plan in the calling thread (the CLI), reporting progress after each committed
    /// batch; setting `cancel` stops it, keeping what finished. Indexes the calls' text for
    /// search afterwards.
    pub fn eval_run(
        &self,
        plan: &EvalPlan,
        options: &RunOptions,
        progress: &mut (dyn FnMut(&EvalProgress) + Send),
        cancel: &AtomicBool,
    ) -> Result<RunOutcome> {
        let mut options = options.clone();
        if options.git.is_none() && options.resume.is_none() {
            options.git = self.worktree_commit();
        }
        if options.catalogue.is_none() {
            options.catalogue = Some(std::sync::Arc::new(self.price_catalogue()?));
        }
        let options = &options;
        let outcome = runner::run(&self.workspace.db_path, plan, options, progress, cancel)?;
        self.index_search_text(usize::MAX)?;
        Ok(outcome)
    }

    /// Starts a run in the background (the UI) and returns its first progress report; follow it
    /// with [`Api::eval_progress`].
    pub fn eval_start(self: &Arc<Self>, args: &EvalStart) -> Result<EvalProgress> {
        let plan = self.eval_plan(&args.target)?;
        let cassette = CassetteChoice {
            replay: args.replay,
            ..Default::default()
        }
        .resolve(&plan)?;
        let run_id = uuid::Uuid::new_v4().to_string();
        let options = RunOptions {
            providers: args.providers.clone(),
            filter: args.filter.clone(),
            repeat: args.repeat,
            concurrency: args.concurrency,
            no_cache: args.no_cache,
            cassette,
            run_id: Some(run_id.clone()),
            ..Default::default()
        };
        // Check the filters before answering, so a bad one is an error of this call.
        runner::narrow_plan(&plan, &options)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let first = EvalProgress {
            run_id: run_id.clone(),
            status: "running".into(),
            ..Default::default()
        };
        self.eval_jobs.set(
            &run_id,
            EvalJob {
                progress: first.clone(),
                cancel: Arc::clone(&cancel),
            },
        );
        let api = Arc::clone(self);
        std::thread::spawn(move || {
            let id = run_id.clone();
            let jobs = &api.eval_jobs;
            let mut report = |p: &EvalProgress| jobs.update(&id, p.clone());
            let result = api.eval_run(&plan, &options, &mut report, &cancel);
            let mut last = jobs.progress(&id).unwrap_or_default();
            match result {
                Ok(outcome) => last.status = outcome.summary.run.status,
                Err(e) => {
                    last.status = "failed".into();
                    last.message = Some(e.to_string());
                }
            }
            jobs.update(&id, last);
        });
        Ok(first)
    }

    /// A run's progress: live for runs started by this process, from the store otherwise.
    pub fn eval_progress(&self, args: &EvalRunRef) -> Result<EvalProgress> {
        if let Some(p) = self.eval_jobs.progress(&args.run_id) {
            return Ok(p);
        }
        let store = self.store_for_reading();
        let run = evals::get_run(store.conn(), &args.run_id)?
            .ok_or_else(|| Error::NotFound(format!("no eval run with id {}", args.run_id)))?;
        let brief = runner::brief(store.conn(), &run)?;
        Ok(EvalProgress {
            run_id: run.id,
            status: run.status,
            done: brief.done as u64,
            total: brief.planned as u64,
            pass: brief.pass as u64,
            fail: brief.fail as u64,
            error: brief.error as u64,
            cost: brief.cost,
            cached: 0,
            message: None,
        })
    }

    /// Stops a run started by [`Api::eval_start`]; what finished is kept.
    pub fn eval_cancel(&self, args: &EvalRunRef) -> Result<EvalProgress> {
        if !self.eval_jobs.cancel(&args.run_id) {
            return Err(Error::NotFound(format!(
                "no eval run {} is running in this process",
                args.run_id
            )));
        }
        self.eval_progress(args)
    }

    /// The price catalogue with the workspace's `prices.toml` overrides.
    pub fn price_catalogue(&self) -> Result<crate::cost::Catalogue> {
        match self.workspace.root.as_deref() {
            Some(root) => crate::cost::Catalogue::load_workspace(root),
            None => crate::cost::Catalogue::builtin(),
        }
    }

    /// Where each provider's API key comes from (never the key itself).
    pub fn keys_status(&self) -> Result<Vec<KeyStatus>> {
        Ok(KEY_PROVIDERS
            .iter()
            .map(|p| secrets::key_status(p))
            .collect())
    }

    /// Stores a provider's API key in the OS keyring.
    pub fn keys_set(&self, args: &KeySet) -> Result<KeyStatus> {
        check_key_provider(&args.provider)?;
        let key = args.key.trim();
        if key.is_empty() {
            return Err(Error::InvalidArguments {
                command: "keys_set".into(),
                message: "the key is empty".into(),
            });
        }
        secrets::set_key(&args.provider, key)?;
        Ok(secrets::key_status(&args.provider))
    }

    /// Removes a provider's API key from the OS keyring.
    pub fn keys_delete(&self, args: &KeyRef) -> Result<KeyStatus> {
        check_key_provider(&args.provider)?;
        secrets::delete_key(&args.provider)?;
        Ok(secrets::key_status(&args.provider))
    }
}

fn check_key_provider(provider: &str) -> Result<()> {
    if KEY_PROVIDERS.contains(&provider) {
        Ok(())
    } else {
        Err(Error::InvalidArguments {
            command: "keys".into(),
            message: format!(
                "unknown provider {provider:?}; keys are kept for {}",
                KEY_PROVIDERS.join(", ")
            ),
        })
    }
}

/// The parts of a stored plan's case that the run view shows.
#[derive(serde::Deserialize)]
struct CaseShape {
    index: usize,
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    vars: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    location: String,
}

impl EvalJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, EvalJob>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, id: &str, job: EvalJob) {
        self.lock().insert(id.to_owned(), job);
    }

    fn update(&self, id: &str, progress: EvalProgress) {
        if let Some(job) = self.lock().get_mut(id) {
            job.progress = progress;
        }
    }

    fn progress(&self, id: &str) -> Option<EvalProgress> {
        self.lock().get(id).map(|j| j.progress.clone())
    }

    fn cancel(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(job) if job.progress.status == "running" => {
                job.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }
}
