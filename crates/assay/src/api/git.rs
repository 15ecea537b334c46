//! Prompt and eval-set files, their git history, and base-vs-head eval diffs.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::json::*;
use super::Api;
use crate::error::{Error, Result};
use crate::eval::diff::{self, DiffSide};
use crate::eval::plan::EvalPlan;
use crate::eval::runner::{self, Cassette, RunOptions};
use crate::eval::{files, template::Template};
use crate::git::{self, CommitInfo, Repo};
use crate::store::evals;
use crate::textdiff;

/// What an eval set's content is read from at a commit.
const TREE_PATHS: &[&str] = &["prompts", "evalsets", "assay.toml"];
/// The folders whose changes make a working tree "dirty" for evals.
const AUTHORED: &[&str] = &["prompts", "evalsets"];

fn commit_view(c: &CommitInfo) -> CommitView {
    CommitView {
        sha: c.sha.clone(),
        short: c.short.clone(),
        author: c.author.clone(),
        time: c.time.clone(),
        summary: c.summary.clone(),
    }
}

/// How `eval_diff` reports its progress: which side, then the run's progress.
pub type DiffProgress<'a> = &'a mut (dyn FnMut(&str, &EvalProgress) + Send);

impl Api {
    fn repo(&self, command: &str) -> Result<Repo> {
        git::open(self.workspace_root(command)?)?.ok_or_else(|| Error::InvalidArguments {
            command: command.into(),
            message: "the workspace is not in a git repository (run `git init` to keep history)"
                .into(),
        })
    }

    /// The commit evaluated when running from the working tree, and whether prompts or eval
    /// sets had uncommitted changes; None outside a repository or before the first commit.
    pub(crate) fn worktree_commit(&self) -> Option<(String, bool)> {
        let root = self.workspace.root.as_deref()?;
        let repo = git::open(root).ok()??;
        let head = repo.head().ok()??;
        let dirty = repo.is_dirty(AUTHORED).unwrap_or(true);
        Some((head.sha, dirty))
    }

    /// The prompt and eval-set files of the workspace, with their git status.
    pub fn workspace_files(&self) -> Result<WorkspaceFiles> {
        let root = self.workspace_root("workspace_files")?;
        let repo = git::open(root)?;
        let mut paths = Vec::new();
        for top in AUTHORED {
            collect_relative(root, &root.join(top), &mut paths);
        }
        paths.sort();
        // One status scan for every file.
        let dirty: std::collections::HashSet<String> = match &repo {
            Some(r) => r.dirty_paths(AUTHORED)?.into_iter().collect(),
            None => Default::default(),
        };
        let files = paths
            .into_iter()
            .map(|path| {
                let modified = dirty.contains(&path);
                WorkspaceFile {
                    kind: file_kind(&path).into(),
                    path,
                    modified,
                }
            })
            .collect();
        Ok(WorkspaceFiles {
            is_git: repo.is_some(),
            branch: repo.as_ref().and_then(|r| r.current_branch()),
            files,
        })
    }

    /// A file's content in the working tree or at a commit.
    pub fn file_get(&self, args: &FileRef) -> Result<FileContent> {
        let root = self.workspace_root("file_get")?;
        let path = authored_path("file_get", &args.path)?;
        let content = match args.rev.as_deref() {
            None => read_worktree(root, &path)?,
            Some(rev) => self.repo("file_get")?.read_file(rev, &path)?,
        };
        Ok(FileContent {
            path,
            rev: args.rev.clone(),
            content,
        })
    }

    /// The versions of a file or folder: uncommitted changes first, then each commit that
    /// changed it, newest first.
    pub fn file_history(&self, args: &FileRef) -> Result<Vec<FileVersionView>> {
        let path = authored_path("file_history", &args.path)?;
        let repo = self.repo("file_history")?;
        let mut out = Vec::new();
        if repo.is_dirty(&[path.as_str()])? {
            out.push(FileVersionView {
                commit: None,
                id: "worktree".into(),
            });
        }
        if repo.head()?.is_some() {
            let rev = args.rev.as_deref().unwrap_or("HEAD");
            for v in repo.history(&path, rev, 200)? {
                out.push(FileVersionView {
                    commit: Some(commit_view(&v.commit)),
                    id: v.id.unwrap_or_else(|| "deleted".into()),
                });
            }
        }
        Ok(out)
    }

    /// A line diff between two versions of a file (None = the working tree).
    pub fn file_diff(&self, args: &FileDiffArgs) -> Result<FileDiff> {
        let path = authored_path("file_diff", &args.path)?;
        let read = |rev: &Option<String>| -> Result<String> {
            Ok(self
                .file_get(&FileRef {
                    path: path.clone(),
                    rev: rev.clone(),
                })?
                .content
                .unwrap_or_default())
        };
        let (old, new) = (read(&args.from)?, read(&args.to)?);
        let name = |rev: &Option<String>| match rev {
            Some(r) => format!("{r}:{path}"),
            None => format!("working tree:{path}"),
        };
        Ok(FileDiff {
            unified: textdiff::unified(&old, &new, &name(&args.from), &name(&args.to), 3),
            lines: textdiff::line_diff(&old, &new),
            path,
        })
    }

    /// Writes a prompt or eval-set file (atomically), optionally committing it. Eval sets that
    /// no longer load are the user's to fix: the Evals section shows why.
    pub fn file_save(&self, args: &FileSave) -> Result<WorkspaceFile> {
        let root = self.workspace_root("file_save")?;
        let path = authored_path("file_save", &args.path)?;
        let target = root.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let tmp = target.with_extension("assay-save.tmp");
        std::fs::write(&tmp, &args.content).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        let repo = git::open(root)?;
        if let (Some(message), Some(repo)) = (args.commit_message.as_deref(), repo.as_ref()) {
            let message = message.trim();
            if message.is_empty() {
                return Err(Error::InvalidArguments {
                    command: "file_save".into(),
                    message: "the commit message is empty".into(),
                });
            }
            repo.commit_paths(&[path.as_str()], message)?;
        }
        Ok(WorkspaceFile {
            modified: repo
                .as_ref()
                .map(|r| r.is_dirty(&[path.as_str()]).unwrap_or(false))
                .unwrap_or(false),
            kind: file_kind(&path).into(),
            path,
        })
    }

    /// A prompt of an eval set rendered with one of its cases' variables.
    pub fn prompt_render(&self, args: &PromptRender) -> Result<RenderedPrompt> {
        let plan = self.eval_plan(&args.evalset)?;
        let prompt = plan
            .prompts
            .iter()
            .find(|p| p.id == args.prompt_id)
            .ok_or_else(|| {
                Error::NotFound(format!("{} has no prompt {}", plan.name, args.prompt_id))
            })?;
        let case = match &args.case_id {
            Some(id) => plan.cases.iter().find(|c| &c.id == id),
            None => plan.cases.first(),
        }
        .ok_or_else(|| Error::NotFound(format!("{} has no such case", plan.name)))?;
        let source = prompt.source.display().to_string();
        let render = |role: &str, text: &str| -> Result<Message> {
            let content = Template::parse(text, &source)
                .and_then(|t| t.render(&case.vars))
                .map_err(|message| Error::EvalFile {
                    location: source.clone(),
                    message,
                })?;
            Ok(Message {
                role: role.into(),
                content: Some(content),
                ..Message::default()
            })
        };
        let messages = match &prompt.template {
            crate::eval::plan::PromptTemplate::Text(t) => vec![render("user", t)?],
            crate::eval::plan::PromptTemplate::Chat(ms) => ms
                .iter()
                .map(|m| render(&m.role, &m.content))
                .collect::<Result<_>>()?,
        };
        Ok(RenderedPrompt {
            case_id: case.id.clone(),
            vars: case.vars.clone(),
            messages,
        })
    }

    /// Branches, tags and recent commits, for choosing what to compare.
    pub fn git_refs(&self) -> Result<GitRefs> {
        let root = self.workspace_root("git_refs")?;
        let Some(repo) = git::open(root)? else {
            return Ok(GitRefs {
                is_git: false,
                branches: Vec::new(),
                tags: Vec::new(),
                commits: Vec::new(),
                dirty: false,
            });
        };
        let commits = if repo.head()?.is_some() {
            repo.log("HEAD", 50)?.iter().map(commit_view).collect()
        } else {
            Vec::new()
        };
        Ok(GitRefs {
            is_git: true,
            branches: repo.branches()?,
            tags: repo.tags()?,
            commits,
            dirty: repo.is_dirty(AUTHORED)?,
        })
    }

    /// Loads an eval set as it is at `git_ref` (`WORKTREE` = the working tree), exporting the
    /// commit's prompts and eval sets into `.assay/trees/SHA` (never touching the working tree).
    pub fn eval_plan_at(&self, evalset: &str, git_ref: &str) -> Result<(EvalPlan, DiffSide)> {
        let root = self.workspace_root("eval_diff")?;
        if git_ref == WORKTREE {
            let plan = files::load_plan(root, evalset)?;
            let (commit, dirty) = match self.worktree_commit() {
                Some((c, d)) => (Some(c), d),
                None => (None, true),
            };
            return Ok((plan, DiffSide::new(git_ref, commit, dirty)));
        }
        let repo = self.repo("eval_diff")?;
        let commit = repo.resolve(git_ref)?;
        let tree_root = self.tree_dir(&commit.sha);
        if !tree_root.join(".complete").exists() {
            let staging = tree_root.with_extension("partial");
            let _ = std::fs::remove_dir_all(&staging);
            repo.export(&commit.sha, TREE_PATHS, &staging)?;
            std::fs::write(staging.join(".complete"), &commit.sha)
                .map_err(|e| Error::io(&staging, e))?;
            let _ = std::fs::remove_dir_all(&tree_root);
            std::fs::rename(&staging, &tree_root).map_err(|e| Error::io(&tree_root, e))?;
        }
        let plan = files::load_plan(&tree_root, evalset).map_err(|e| match e {
            Error::EvalFile { location, message } => Error::EvalFile {
                location: format!("{location} (at {})", commit.short),
                message,
            },
            other => other,
        })?;
        Ok((plan, DiffSide::new(git_ref, Some(commit.sha), false)))
    }

    fn tree_dir(&self, sha: &str) -> PathBuf {
        let state = self
            .workspace
            .db_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".assay"));
        state.join("trees").join(sha)
    }

    /// Evaluates an eval set at `base` and at `head` and compares them per case. A side whose
    /// content (hash) was already evaluated to completion reuses that run; otherwise it runs,
    /// with the response cache, so unchanged prompts cost nothing.
    pub fn eval_diff_with(
        &self,
        args: &EvalDiffArgs,
        progress: DiffProgress<'_>,
        cancel: &AtomicBool,
    ) -> Result<EvalDiff> {
        let mut sides = Vec::new();
        for (label, git_ref) in [("base", args.base.as_str()), ("head", args.head.as_str())] {
            let (plan, mut side) = self.eval_plan_at(&args.evalset, git_ref)?;
            let options = RunOptions {
                repeat: args.repeat,
                cassette: if args.replay {
                    Cassette::Replay(runner::default_cassette(&plan))
                } else {
                    Cassette::Off
                },
                git: side.commit.clone().map(|c| (c, side.dirty)),
                ..Default::default()
            };
            let narrowed = runner::narrow_plan(&plan, &options)?;
            let hash = runner::content_hash(&narrowed);
            let reusable = {
                let store = self.store_for_reading();
                evals::find_completed_run(store.conn(), &hash)?
            };
            let run_id = match reusable {
                Some(id) => {
                    side.reused = true;
                    id
                }
                None => {
                    let mut report = |p: &EvalProgress| progress(label, p);
                    self.eval_run(&plan, &options, &mut report, cancel)?.run_id
                }
            };
            let detail = self.eval_run_get(&EvalRunRef { run_id })?;
            sides.push((detail, side));
        }
        let (head_detail, head_side) = sides.pop().ok_or_else(|| Error::NotFound("head".into()))?;
        let (base_detail, base_side) = sides.pop().ok_or_else(|| Error::NotFound("base".into()))?;
        Ok(diff::compare(
            &base_detail,
            &head_detail,
            base_side,
            head_side,
            &args.gates,
        ))
    }

    /// [`Api::eval_diff_with`] without progress reports (the UI).
    pub fn eval_diff(&self, args: &EvalDiffArgs) -> Result<EvalDiff> {
        self.eval_diff_with(args, &mut |_, _| {}, &AtomicBool::new(false))
    }

    /// Pass rate and mean score per commit along a branch's first-parent history, from stored
    /// runs (the latest completed run at each commit), with the chart.
    pub fn eval_trend(&self, args: &EvalTrendArgs) -> Result<EvalTrend> {
        let repo = self.repo("eval_trend")?;
        let rev = args.rev.as_deref().unwrap_or("HEAD");
        let limit = args.limit.unwrap_or(30).clamp(1, 500) as usize;
        let mut commits = repo.log(rev, limit)?;
        commits.reverse();
        let store = self.store_for_reading();
        let mut points = Vec::new();
        for c in &commits {
            let run = evals::latest_run_at_commit(store.conn(), &args.evalset, &c.sha)?;
            let (run_id, pass_rate, mean_score) = match run {
                Some(run) => {
                    let summary = runner::summarize(store.conn(), &run.id)?;
                    let graded: Vec<&EvalSummaryRow> = summary.rows.iter().collect();
                    let scores: Vec<f64> = graded.iter().filter_map(|r| r.mean_score).collect();
                    let mean = (!scores.is_empty())
                        .then(|| scores.iter().sum::<f64>() / scores.len() as f64);
                    (Some(run.id), summary.run.pass_rate, mean)
                }
                None => (None, None, None),
            };
            points.push(TrendPoint {
                commit: commit_view(c),
                run_id,
                pass_rate,
                mean_score,
            });
        }
        drop(store);
        let spec = crate::chart::ChartSpec {
            title: format!("{}: pass rate and mean score per commit", args.evalset),
            kind: crate::chart::ChartKind::Line,
            x_labels: points.iter().map(|p| p.commit.short.clone()).collect(),
            x_is_date: false,
            series: vec![
                crate::chart::Series {
                    name: "pass rate".into(),
                    values: points.iter().map(|p| p.pass_rate).collect(),
                },
                crate::chart::Series {
                    name: "mean score".into(),
                    values: points.iter().map(|p| p.mean_score).collect(),
                },
            ],
            y_label: "".into(),
            format: crate::chart::ValueFormat::Percent,
            theme: if args.theme.as_deref() == Some("dark") {
                crate::chart::Theme::Dark
            } else {
                crate::chart::Theme::Light
            },
            width: 900,
            height: 320,
        };
        Ok(EvalTrend {
            evalset: args.evalset.clone(),
            svg: crate::chart::render_svg(&spec)?,
            points,
        })
    }
}

/// Checks that a path stays under `prompts/` or `evalsets/` (no `..`, not absolute).
fn authored_path(command: &str, path: &str) -> Result<String> {
    let normal = path.trim().trim_start_matches("./").replace('\\', "/");
    let ok = AUTHORED
        .iter()
        .any(|top| normal == *top || normal.starts_with(&format!("{top}/")))
        && !normal.split('/').any(|part| part == "..");
    if ok {
        Ok(normal.trim_end_matches('/').to_owned())
    } else {
        Err(Error::InvalidArguments {
            command: command.into(),
            message: format!("{path:?} is not a file under prompts/ or evalsets/"),
        })
    }
}

fn read_worktree(root: &Path, path: &str) -> Result<Option<String>> {
    let full = root.join(path);
    match std::fs::read(&full) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::EvalFile {
                location: path.to_owned(),
                message: "not UTF-8 text".into(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(full, e)),
    }
}

fn file_kind(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path.starts_with("prompts/") {
        "prompt"
    } else if name == "evalset.yaml" || name == "evalset.yml" {
        "evalset"
    } else if name.starts_with("cases.") {
        "cases"
    } else if name.ends_with("cassette.jsonl") {
        "cassette"
    } else {
        "other"
    }
}

fn collect_relative(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_relative(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}
