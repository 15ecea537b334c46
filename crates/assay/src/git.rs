//! Read and write the local git repository holding a workspace: the history of prompts and eval
//! sets, their content at any commit, exporting a commit's files for evaluation without touching
//! the working tree, and committing (for `assay demo`).
//!
//! Only local repositories are used (libgit2, no network transports, no `git` binary). The
//! workspace root may be a subfolder of the repository: every path taken or returned here is
//! relative to the workspace root, with `/` separators.

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, SecondsFormat};
use git2::{ErrorCode as GitCode, ObjectType, Oid, Repository, Status, StatusOptions, Tree};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The git repository containing a workspace.
pub struct Repo {
    repo: Repository,
    /// The workspace root relative to the repository's working directory: `""` at the top,
    /// otherwise `a/b` (no leading or trailing `/`).
    prefix: String,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("git_dir", &self.repo.path())
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// One commit, as shown in histories and run records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Full hex id.
    pub sha: String,
    /// The shortest unambiguous abbreviation (at least 7 characters), as `git log --oneline`.
    pub short: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author time, RFC 3339 in UTC (`2024-05-01T12:00:00Z`).
    pub time: String,
    /// Author time in seconds since the Unix epoch.
    pub time_s: i64,
    /// The first paragraph of the message, on one line.
    pub summary: String,
    /// The whole message.
    pub message: String,
}

/// How a commit changed a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The path did not exist in the parent commit.
    Added,
    /// The path's content differs from the parent's.
    Modified,
    /// The commit removed the path.
    Deleted,
}

/// A commit that changed a path, from [`Repo::history`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    /// The commit.
    pub commit: CommitInfo,
    /// The path's content id at this commit (blob id of a file, tree id of a folder); equal ids
    /// mean equal content. `None` when the commit deleted the path.
    pub id: Option<String>,
    /// Added, modified or deleted relative to the commit's first parent.
    pub change: Change,
}

/// Opens the repository containing `workspace_root` (discovering upwards); `Ok(None)` when it is
/// not inside one, or only inside a bare repository.
pub fn open(workspace_root: &Path) -> Result<Option<Repo>> {
    let root = workspace_root
        .canonicalize()
        .map_err(|e| Error::io(workspace_root, e))?;
    let repo = match Repository::discover(&root) {
        Ok(r) => r,
        Err(e) if e.code() == GitCode::NotFound => return Ok(None),
        Err(e) => return Err(git_err(&format!("opening {}", root.display()), e)),
    };
    let Some(workdir) = repo.workdir() else {
        return Ok(None);
    };
    let workdir = workdir.canonicalize().map_err(|e| Error::io(workdir, e))?;
    let Ok(rel) = root.strip_prefix(&workdir) else {
        // Discovered from inside the .git folder of a repository, not inside its working tree.
        return Ok(None);
    };
    let prefix = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    if prefix == ".git" || prefix.starts_with(".git/") {
        return Ok(None);
    }
    Ok(Some(Repo { repo, prefix }))
}

/// Creates a repository at `path` (creating the folder) whose first branch is `main`.
pub fn init(path: &Path) -> Result<Repo> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = Repository::init_opts(path, &opts)
        .map_err(|e| git_err(&format!("creating a repository at {}", path.display()), e))?;
    Ok(Repo {
        repo,
        prefix: String::new(),
    })
}

impl Repo {
    /// The repository's working directory.
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The workspace root relative to the working directory (`""` when they are the same).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The commit HEAD points at; `None` on an unborn branch (a repository with no commit yet).
    pub fn head(&self) -> Result<Option<CommitInfo>> {
        let head = match self.repo.head() {
            Ok(h) => h,
            Err(e) if matches!(e.code(), GitCode::UnbornBranch | GitCode::NotFound) => {
                return Ok(None);
            }
            Err(e) => return Err(git_err("reading HEAD", e)),
        };
        let commit = head
            .peel_to_commit()
            .map_err(|e| git_err("reading HEAD", e))?;
        Ok(Some(self.info(&commit)?))
    }

    /// Whether there are changes (staged, unstaged or untracked, not ignored) under these
    /// workspace-relative paths (files or folders); an empty list means anywhere in the
    /// workspace.
    pub fn is_dirty(&self, paths: &[&str]) -> Result<bool> {
        Ok(!self.dirty_paths(paths)?.is_empty())
    }

    /// The files with changes (staged, unstaged, untracked or deleted, not ignored) under these
    /// workspace-relative paths (empty = anywhere in the workspace), workspace-relative, from
    /// one status scan.
    pub fn dirty_paths(&self, paths: &[&str]) -> Result<Vec<String>> {
        let mut filters = Vec::with_capacity(paths.len().max(1));
        if paths.is_empty() {
            filters.push(self.prefix.clone());
        }
        for p in paths {
            filters.push(self.full(p)?);
        }
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .exclude_submodules(true);
        // Narrow the scan in large repositories; pathspecs are globs, so only plain paths are
        // passed (the filter below decides in every case).
        let plain = |f: &String| !f.is_empty() && !f.contains(['*', '?', '[', '\\']);
        if filters.iter().all(plain) {
            for f in &filters {
                opts.pathspec(f.as_str());
            }
        }
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(|e| git_err("reading the working tree status", e))?;
        let mut dirty = Vec::new();
        for entry in statuses.iter() {
            if entry.status() == Status::CURRENT || entry.status().contains(Status::IGNORED) {
                continue;
            }
            let path = String::from_utf8_lossy(entry.path_bytes());
            let path = path.trim_end_matches('/');
            if filters.iter().any(|f| under(path, f)) {
                let rel = if self.prefix.is_empty() {
                    path
                } else {
                    path.strip_prefix(self.prefix.as_str())
                        .map(|r| r.trim_start_matches('/'))
                        .unwrap_or(path)
                };
                dirty.push(rel.to_owned());
            }
        }
        Ok(dirty)
    }

    /// The commit a revision names: a sha (abbreviated is fine), a branch, a tag, `HEAD`,
    /// `HEAD~2`, `main^`... An unknown revision is an error naming it.
    pub fn resolve(&self, rev: &str) -> Result<CommitInfo> {
        let commit = self.commit(rev)?;
        self.info(&commit)
    }

    /// Local branch names, sorted.
    pub fn branches(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let iter = self
            .repo
            .branches(Some(git2::BranchType::Local))
            .map_err(|e| git_err("listing branches", e))?;
        for item in iter {
            let (branch, _) = item.map_err(|e| git_err("listing branches", e))?;
            let name = branch.get().shorthand_bytes().to_owned();
            out.push(String::from_utf8_lossy(&name).into_owned());
        }
        out.sort();
        Ok(out)
    }

    /// Tag names, sorted.
    pub fn tags(&self) -> Result<Vec<String>> {
        let names = self
            .repo
            .tag_names(None)
            .map_err(|e| git_err("listing tags", e))?;
        let mut out: Vec<String> = names
            .iter_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        out.sort();
        Ok(out)
    }

    /// First-parent history from `rev`, newest first, at most `limit` commits (0 = all).
    pub fn log(&self, rev: &str, limit: usize) -> Result<Vec<CommitInfo>> {
        let mut out = Vec::new();
        let mut next = Some(self.commit(rev)?);
        while let Some(commit) = next {
            if limit != 0 && out.len() >= limit {
                break;
            }
            out.push(self.info(&commit)?);
            next = first_parent(&commit)?;
        }
        Ok(out)
    }

    /// Commits that changed `path` (a file or a folder, workspace-relative), newest first, in a
    /// first-parent walk from `rev`, at most `limit` (0 = all). A commit is listed when the
    /// path's content id differs from its first parent's, so commits that leave the path as it
    /// was are skipped.
    pub fn history(&self, path: &str, rev: &str, limit: usize) -> Result<Vec<FileVersion>> {
        let full = self.full(path)?;
        let mut out = Vec::new();
        let mut commit = self.commit(rev)?;
        let mut id = self.id_at(&commit, &full)?;
        loop {
            if limit != 0 && out.len() >= limit {
                break;
            }
            let parent = first_parent(&commit)?;
            let parent_id = match &parent {
                Some(p) => self.id_at(p, &full)?,
                None => None,
            };
            if id != parent_id {
                let change = match (parent_id, id) {
                    (None, _) => Change::Added,
                    (_, None) => Change::Deleted,
                    _ => Change::Modified,
                };
                out.push(FileVersion {
                    commit: self.info(&commit)?,
                    id: id.map(|i| i.to_string()),
                    change,
                });
            }
            match parent {
                Some(p) => {
                    commit = p;
                    id = parent_id;
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// A file's text as it is at `rev`; `None` when the path does not exist there. A folder,
    /// a symlink, a submodule or non-UTF-8 content is an error naming the path.
    pub fn read_file(&self, rev: &str, path: &str) -> Result<Option<String>> {
        let full = self.full(path)?;
        let commit = self.commit(rev)?;
        let tree = commit
            .tree()
            .map_err(|e| git_err(&format!("reading the tree of {rev}"), e))?;
        let entry = match tree.get_path(Path::new(&full)) {
            Ok(entry) => entry,
            Err(e) if e.code() == GitCode::NotFound => return Ok(None),
            Err(e) => return Err(git_err(&format!("looking up {path} at {rev}"), e)),
        };
        if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == MODE_LINK {
            return Err(Error::GitInput {
                message: format!("{path} at {rev} is not a regular file"),
            });
        }
        let blob = self
            .repo
            .find_blob(entry.id())
            .map_err(|e| git_err(&format!("reading {path} at {rev}"), e))?;
        match std::str::from_utf8(blob.content()) {
            Ok(text) => Ok(Some(text.to_owned())),
            Err(e) => Err(Error::GitInput {
                message: format!(
                    "{path} at {rev} is not UTF-8 text (byte {})",
                    e.valid_up_to()
                ),
            }),
        }
    }

    /// Writes the listed workspace-relative folders and files (e.g. `["prompts", "evalsets",
    /// "assay.toml"]`) as they are at `rev` into `dest` (created if needed), at the same
    /// relative paths, so a commit can be evaluated without touching the working tree. Paths
    /// absent at `rev` are skipped, and so are symlinks and submodules.
    pub fn export(&self, rev: &str, paths: &[&str], dest: &Path) -> Result<()> {
        let commit = self.commit(rev)?;
        let tree = commit
            .tree()
            .map_err(|e| git_err(&format!("reading the tree of {rev}"), e))?;
        std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
        for path in paths {
            let full = self.full(path)?;
            let rel = self.rel_path(path)?;
            let entry = if full.is_empty() {
                None
            } else {
                match tree.get_path(Path::new(&full)) {
                    Ok(entry) => Some(entry),
                    Err(e) if e.code() == GitCode::NotFound => continue,
                    Err(e) => return Err(git_err(&format!("looking up {path} at {rev}"), e)),
                }
            };
            let target = dest.join(&rel);
            match entry {
                // The repository root itself.
                None => self.write_tree(&tree, &target)?,
                Some(entry) => match entry.kind() {
                    Some(ObjectType::Tree) => {
                        let sub = self
                            .repo
                            .find_tree(entry.id())
                            .map_err(|e| git_err(&format!("reading {path} at {rev}"), e))?;
                        self.write_tree(&sub, &target)?;
                    }
                    Some(ObjectType::Blob) if entry.filemode() != MODE_LINK => {
                        if let Some(parent) = target.parent() {
                            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                        }
                        self.write_blob(entry.id(), entry.filemode(), &target)?;
                    }
                    _ => {}
                },
            }
        }
        Ok(())
    }

    /// Stages everything in the working directory (respecting `.gitignore`, including
    /// deletions) and commits it on HEAD with this author and committer at `time_s` (seconds
    /// since the epoch, UTC), so a demo can date its history in the past. Returns the commit.
    pub fn commit_all(
        &self,
        message: &str,
        author: &str,
        email: &str,
        time_s: i64,
    ) -> Result<CommitInfo> {
        let mut index = self
            .repo
            .index()
            .map_err(|e| git_err("opening the index", e))?;
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .map_err(|e| git_err("staging files", e))?;
        index
            .update_all(["*"], None)
            .map_err(|e| git_err("staging deletions", e))?;
        let sig =
            git2::Signature::new(author, email, &git2::Time::new(time_s, 0)).map_err(|e| {
                Error::GitInput {
                    message: format!(
                        "invalid commit author {author:?} <{email}>: {}",
                        e.message()
                    ),
                }
            })?;
        self.commit_index(&mut index, &sig, message)
    }

    /// The checked-out branch's short name; None when HEAD is detached or unborn.
    pub fn current_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if !head.is_branch() {
            return None;
        }
        head.shorthand().ok().map(str::to_owned)
    }

    /// Commits the given workspace-relative files as they are on disk (the Prompts section's
    /// "save and commit"), leaving anything else staged or modified alone. The author comes
    /// from git's configuration (`user.name`, `user.email`), else "Assay".
    pub fn commit_paths(&self, paths: &[&str], message: &str) -> Result<CommitInfo> {
        let mut index = self
            .repo
            .index()
            .map_err(|e| git_err("opening the index", e))?;
        for path in paths {
            let rel = self.full(path)?;
            let on_disk = self
                .repo
                .workdir()
                .map(|w| w.join(&rel).exists())
                .unwrap_or(false);
            if on_disk {
                index
                    .add_path(Path::new(&rel))
                    .map_err(|e| git_err("staging the file", e))?;
            } else {
                let _ = index.remove_path(Path::new(&rel));
            }
        }
        let sig = self
            .repo
            .signature()
            .or_else(|_| git2::Signature::now("Assay", "assay@localhost"))
            .map_err(|e| git_err("making the commit author", e))?;
        self.commit_index(&mut index, &sig, message)
    }

    /// Writes `index` as a tree and commits it on HEAD (its first commit when HEAD is unborn).
    fn commit_index(
        &self,
        index: &mut git2::Index,
        sig: &git2::Signature<'_>,
        message: &str,
    ) -> Result<CommitInfo> {
        index.write().map_err(|e| git_err("writing the index", e))?;
        let tree_id = index
            .write_tree()
            .map_err(|e| git_err("writing the tree", e))?;
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|e| git_err("reading the new tree", e))?;
        let parent = match self.repo.head() {
            Ok(h) => Some(h.peel_to_commit().map_err(|e| git_err("reading HEAD", e))?),
            Err(e) if matches!(e.code(), GitCode::UnbornBranch | GitCode::NotFound) => None,
            Err(e) => return Err(git_err("reading HEAD", e)),
        };
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = self
            .repo
            .commit(Some("HEAD"), sig, sig, message, &tree, &parents)
            .map_err(|e| git_err("committing", e))?;
        let commit = self
            .repo
            .find_commit(oid)
            .map_err(|e| git_err("reading the new commit", e))?;
        self.info(&commit)
    }

    fn commit(&self, rev: &str) -> Result<git2::Commit<'_>> {
        let bad = |e: git2::Error| Error::GitInput {
            message: format!("unknown revision {rev:?}: {}", e.message()),
        };
        if rev.trim().is_empty() {
            return Err(Error::GitInput {
                message: "empty revision".to_owned(),
            });
        }
        let obj = self.repo.revparse_single(rev).map_err(bad)?;
        obj.peel_to_commit().map_err(|_| Error::GitInput {
            message: format!("revision {rev:?} does not name a commit"),
        })
    }

    fn info(&self, commit: &git2::Commit<'_>) -> Result<CommitInfo> {
        let author = commit.author();
        let time_s = author.when().seconds();
        let time = DateTime::from_timestamp(time_s, 0)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default();
        let short = commit
            .as_object()
            .short_id()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_owned))
            .unwrap_or_else(|| commit.id().to_string()[..7].to_owned());
        Ok(CommitInfo {
            sha: commit.id().to_string(),
            short,
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            time,
            time_s,
            summary: commit
                .summary_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
            message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
        })
    }

    /// The content id of a repository path at a commit (`""` = the root tree).
    fn id_at(&self, commit: &git2::Commit<'_>, full: &str) -> Result<Option<Oid>> {
        let tree = commit
            .tree()
            .map_err(|e| git_err(&format!("reading the tree of {}", commit.id()), e))?;
        if full.is_empty() {
            return Ok(Some(tree.id()));
        }
        match tree.get_path(Path::new(full)) {
            Ok(entry) => Ok(Some(entry.id())),
            Err(e) if e.code() == GitCode::NotFound => Ok(None),
            Err(e) => Err(git_err(&format!("looking up {full} at {}", commit.id()), e)),
        }
    }

    /// The repository path of a workspace-relative path.
    fn full(&self, path: &str) -> Result<String> {
        let rel = normalize(path)?;
        Ok(match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel,
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{rel}", self.prefix),
        })
    }

    fn rel_path(&self, path: &str) -> Result<PathBuf> {
        Ok(normalize(path)?
            .split('/')
            .filter(|s| !s.is_empty())
            .collect())
    }

    fn write_tree(&self, tree: &Tree<'_>, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for entry in tree.iter() {
            let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
            // Names a checkout would refuse; a crafted tree must not write outside `dir`.
            if name.is_empty()
                || name == "."
                || name == ".."
                || name.eq_ignore_ascii_case(".git")
                || name.contains(['/', '\\'])
            {
                continue;
            }
            let target = dir.join(&name);
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let sub = self
                        .repo
                        .find_tree(entry.id())
                        .map_err(|e| git_err(&format!("reading {}", target.display()), e))?;
                    self.write_tree(&sub, &target)?;
                }
                Some(ObjectType::Blob) if entry.filemode() != MODE_LINK => {
                    self.write_blob(entry.id(), entry.filemode(), &target)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn write_blob(&self, id: Oid, mode: i32, target: &Path) -> Result<()> {
        let blob = self
            .repo
            .find_blob(id)
            .map_err(|e| git_err(&format!("reading {}", target.display()), e))?;
        std::fs::write(target, blob.content()).map_err(|e| Error::io(target, e))?;
        #[cfg(unix)]
        if mode == MODE_EXEC {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(target, e))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        Ok(())
    }
}

const MODE_LINK: i32 = 0o120000;
const MODE_EXEC: i32 = 0o100755;

fn first_parent<'r>(commit: &git2::Commit<'r>) -> Result<Option<git2::Commit<'r>>> {
    if commit.parent_count() == 0 {
        return Ok(None);
    }
    commit
        .parent(0)
        .map(Some)
        .map_err(|e| git_err(&format!("reading the parent of {}", commit.id()), e))
}

/// Whether repository path `path` is `dir` or inside it (`""` = everything).
fn under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// A workspace-relative path in `a/b` form: `.` segments and trailing `/` dropped; absolute
/// paths and `..` refused, since everything here stays inside the workspace.
fn normalize(path: &str) -> Result<String> {
    let bad = |why: &str| Error::GitInput {
        message: format!("path {path:?} {why}"),
    };
    let mut parts = Vec::new();
    for c in Path::new(&path.replace('\\', "/")).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(bad("leaves the workspace (`..`)")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(bad("must be relative to the workspace root"));
            }
        }
    }
    Ok(parts.join("/"))
}

fn git_err(doing: &str, e: git2::Error) -> Error {
    Error::Git {
        message: format!("{doing}: {}", e.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const T0: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(root: &Path, rel: &str) -> String {
        std::fs::read_to_string(root.join(rel)).unwrap()
    }

    fn commit(repo: &Repo, msg: &str, day: i64) -> CommitInfo {
        repo.commit_all(msg, "Ada Lovelace", "ada@example.com", T0 + day * 86_400)
            .unwrap()
    }

    /// A repository whose prompt changes in commits 1 and 3 and is untouched by commit 2.
    fn prompt_repo() -> (tempfile::TempDir, Repo, Vec<CommitInfo>) {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path()).unwrap();
        let root = dir.path();
        write(root, "prompts/support.md", "You are helpful.\n");
        write(root, "assay.toml", "[workspace]\n");
        let c1 = commit(&repo, "Add the support prompt", 0);
        write(root, "README.md", "# Demo\n");
        let c2 = commit(&repo, "Add a README", 1);
        write(root, "prompts/support.md", "You are helpful and brief.\n");
        let c3 = commit(
            &repo,
            "Make the support prompt brief\n\nShorter answers.",
            2,
        );
        (dir, repo, vec![c1, c2, c3])
    }

    #[test]
    fn commit_info_fields() {
        let (_dir, repo, c) = prompt_repo();
        let head = repo.head().unwrap().unwrap();
        assert_eq!(head, c[2]);
        assert_eq!(head.author, "Ada Lovelace");
        assert_eq!(head.email, "ada@example.com");
        assert_eq!(head.time, "2024-05-03T12:00:00Z");
        assert_eq!(head.time_s, T0 + 2 * 86_400);
        assert_eq!(head.summary, "Make the support prompt brief");
        assert_eq!(
            head.message,
            "Make the support prompt brief\n\nShorter answers."
        );
        assert_eq!(head.sha.len(), 40);
        assert!(head.short.len() >= 7 && head.sha.starts_with(&head.short));
        assert_eq!(repo.branches().unwrap(), ["main"]);
    }

    #[test]
    fn history_of_a_prompt_skips_commits_that_do_not_touch_it() {
        let (dir, repo, c) = prompt_repo();
        let h = repo.history("prompts/support.md", "HEAD", 0).unwrap();
        let shas: Vec<&str> = h.iter().map(|v| v.commit.sha.as_str()).collect();
        assert_eq!(shas, [c[2].sha.as_str(), c[0].sha.as_str()]);
        assert_eq!(h[0].change, Change::Modified);
        assert_eq!(h[1].change, Change::Added);
        assert_ne!(h[0].id, h[1].id);
        // The id is the blob id: the same content always has the same id.
        let same = repo.history("./prompts/support.md", &c[2].sha, 1).unwrap();
        assert_eq!(same.len(), 1);
        assert_eq!(same[0].id, h[0].id);
        // From an older revision, only the older version.
        let old = repo.history("prompts/support.md", "HEAD~1", 0).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].commit.sha, c[0].sha);

        // Deleting then restoring the same text: a deletion, then the old id again.
        std::fs::remove_file(dir.path().join("prompts/support.md")).unwrap();
        let del = commit(&repo, "Remove the prompt", 3);
        write(dir.path(), "prompts/support.md", "You are helpful.\n");
        let back = commit(&repo, "Restore the first prompt", 4);
        let h = repo.history("prompts/support.md", "main", 0).unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h[1].commit.sha, del.sha);
        assert_eq!((h[1].change, h[1].id.clone()), (Change::Deleted, None));
        assert_eq!(h[0].commit.sha, back.sha);
        assert_eq!(h[0].change, Change::Added);
        assert_eq!(h[0].id, h[3].id);
        assert!(repo
            .history("prompts/missing.md", "HEAD", 0)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn history_of_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path()).unwrap();
        let root = dir.path();
        write(root, "evalsets/qa/cases.yaml", "- q: one\n");
        write(root, "evalsets/qa/set.yaml", "name: qa\n");
        let c1 = commit(&repo, "Add the qa eval set", 0);
        write(root, "evalsets/other/set.yaml", "name: other\n");
        commit(&repo, "Add another eval set", 1);
        write(root, "evalsets/qa/cases.yaml", "- q: one\n- q: two\n");
        let c3 = commit(&repo, "Add a case", 2);
        write(root, "prompts/p.md", "hi\n");
        commit(&repo, "Add a prompt", 3);

        let h = repo.history("evalsets/qa", "HEAD", 0).unwrap();
        let shas: Vec<&str> = h.iter().map(|v| v.commit.sha.as_str()).collect();
        assert_eq!(shas, [c3.sha.as_str(), c1.sha.as_str()]);
        // A folder's id is its tree id.
        let tree = repo.repo.revparse_single("HEAD:evalsets/qa").unwrap();
        assert_eq!(h[0].id.as_deref(), Some(tree.id().to_string().as_str()));
        assert_eq!(repo.history("evalsets/", "HEAD", 0).unwrap().len(), 3);
        assert_eq!(repo.history("evalsets", "HEAD", 2).unwrap().len(), 2);
        // The workspace root itself: every commit changed something.
        assert_eq!(repo.history("", "HEAD", 0).unwrap().len(), 4);
    }

    #[test]
    fn read_file_at_old_commits() {
        let (dir, repo, c) = prompt_repo();
        let p = "prompts/support.md";
        assert_eq!(
            repo.read_file(&c[0].sha, p).unwrap().unwrap(),
            "You are helpful.\n"
        );
        assert_eq!(
            repo.read_file(&c[0].short, p).unwrap().unwrap(),
            "You are helpful.\n"
        );
        assert_eq!(
            repo.read_file("HEAD", p).unwrap().unwrap(),
            "You are helpful and brief.\n"
        );
        assert_eq!(repo.read_file(&c[0].sha, "README.md").unwrap(), None);
        assert_eq!(repo.read_file("HEAD", "prompts/nope.md").unwrap(), None);
        assert_eq!(repo.read_file("HEAD", "nope/deeper/x.md").unwrap(), None);

        let err = repo.read_file("HEAD", "prompts").unwrap_err();
        assert!(err.to_string().contains("prompts"), "{err}");
        let err = repo.read_file("HEAD", "../etc/passwd").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(err.to_string().contains("../etc/passwd"), "{err}");

        std::fs::write(dir.path().join("prompts/bin.md"), [0xff, 0xfe, b'a']).unwrap();
        commit(&repo, "Add a binary file", 5);
        let err = repo.read_file("HEAD", "prompts/bin.md").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(err.to_string().contains("prompts/bin.md"), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn export_leaves_the_working_tree_alone() {
        let (dir, repo, c) = prompt_repo();
        let root = dir.path();
        write(root, "evalsets/qa/set.yaml", "name: qa\n");
        write(root, "build.sh", "#!/bin/sh\necho hi\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let p = root.join("build.sh");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let c4 = commit(&repo, "Add an eval set", 3);
        // Uncommitted edits, an untracked file and a deletion in the working tree.
        write(root, "prompts/support.md", "UNCOMMITTED\n");
        write(root, "prompts/draft.md", "draft\n");
        std::fs::remove_file(root.join("evalsets/qa/set.yaml")).unwrap();

        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("at-c1");
        let paths = ["prompts", "evalsets", "assay.toml", "missing.txt"];
        repo.export(&c[0].sha, &paths, &dest).unwrap();
        assert_eq!(read(&dest, "prompts/support.md"), "You are helpful.\n");
        assert_eq!(read(&dest, "assay.toml"), "[workspace]\n");
        assert!(!dest.join("evalsets").exists());
        assert!(!dest.join("prompts/draft.md").exists());
        assert!(!dest.join("missing.txt").exists());
        assert!(!dest.join("README.md").exists());

        let dest = out.path().join("at-c4");
        repo.export(&c4.sha, &["evalsets/qa", "prompts", "build.sh"], &dest)
            .unwrap();
        assert_eq!(read(&dest, "evalsets/qa/set.yaml"), "name: qa\n");
        assert_eq!(
            read(&dest, "prompts/support.md"),
            "You are helpful and brief.\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dest.join("build.sh"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111);
        }

        // The working tree and the index are exactly as they were.
        assert_eq!(read(root, "prompts/support.md"), "UNCOMMITTED\n");
        assert_eq!(read(root, "prompts/draft.md"), "draft\n");
        assert!(!root.join("evalsets/qa/set.yaml").exists());
        assert!(repo.is_dirty(&["prompts/support.md"]).unwrap());
        assert_eq!(repo.head().unwrap().unwrap().sha, c4.sha);
    }

    #[test]
    fn is_dirty_sees_modified_and_untracked_but_not_ignored() {
        let (dir, repo, _) = prompt_repo();
        let root = dir.path();
        write(root, ".gitignore", ".assay/\n");
        commit(&repo, "Ignore the store", 3);
        assert!(!repo.is_dirty(&[]).unwrap());

        write(root, ".assay/assay.db", "binary");
        assert!(
            !repo.is_dirty(&[]).unwrap(),
            "ignored files are not changes"
        );

        write(root, "prompts/support.md", "edited\n");
        assert!(repo.is_dirty(&[]).unwrap());
        assert!(repo.is_dirty(&["prompts"]).unwrap());
        assert!(repo.is_dirty(&["prompts/support.md"]).unwrap());
        assert!(!repo.is_dirty(&["evalsets"]).unwrap());
        assert!(
            !repo.is_dirty(&["prompt"]).unwrap(),
            "a name prefix is not a folder"
        );
        commit(&repo, "Edit", 4);
        assert!(!repo.is_dirty(&["prompts"]).unwrap());

        write(root, "evalsets/new/set.yaml", "name: new\n");
        assert!(
            repo.is_dirty(&["evalsets"]).unwrap(),
            "untracked files count"
        );
        assert!(repo.is_dirty(&["evalsets/new/set.yaml"]).unwrap());
        assert!(!repo.is_dirty(&["prompts", "assay.toml"]).unwrap());

        // A staged-only change counts too.
        commit(&repo, "Add set", 5);
        write(root, "assay.toml", "[workspace]\nname = \"x\"\n");
        let mut index = repo.repo.index().unwrap();
        index.add_path(Path::new("assay.toml")).unwrap();
        index.write().unwrap();
        assert!(repo.is_dirty(&["assay.toml"]).unwrap());
        // A deletion counts.
        commit(&repo, "Config", 6);
        std::fs::remove_file(root.join("README.md")).unwrap();
        assert!(repo.is_dirty(&["README.md"]).unwrap());
        assert!(!repo.is_dirty(&["prompts"]).unwrap());
        // Glob characters in a name are taken literally.
        write(root, "evalsets/[x]/set.yaml", "name: x\n");
        assert!(repo.is_dirty(&["evalsets/[x]"]).unwrap());
        assert!(!repo.is_dirty(&["evalsets/x"]).unwrap());
    }

    #[test]
    fn resolve_revisions() {
        let (_dir, repo, c) = prompt_repo();
        let first = repo
            .repo
            .find_commit(Oid::from_str(&c[0].sha).unwrap())
            .unwrap();
        repo.repo.branch("experiment", &first, false).unwrap();
        repo.repo
            .tag_lightweight("v1", first.as_object(), false)
            .unwrap();
        let sig = git2::Signature::new("A", "a@example.com", &git2::Time::new(T0, 0)).unwrap();
        repo.repo
            .tag(
                "v2-annotated",
                &repo.repo.revparse_single(&c[1].sha).unwrap(),
                &sig,
                "v2",
                false,
            )
            .unwrap();

        assert_eq!(repo.resolve("HEAD").unwrap(), c[2]);
        assert_eq!(repo.resolve("main").unwrap(), c[2]);
        assert_eq!(repo.resolve("HEAD~1").unwrap(), c[1]);
        assert_eq!(repo.resolve("main^^").unwrap(), c[0]);
        assert_eq!(repo.resolve("experiment").unwrap(), c[0]);
        assert_eq!(repo.resolve("v1").unwrap(), c[0]);
        assert_eq!(repo.resolve("v2-annotated").unwrap(), c[1]);
        assert_eq!(repo.resolve(&c[1].sha[..8]).unwrap(), c[1]);
        assert_eq!(repo.resolve(&c[1].short).unwrap(), c[1]);
        assert_eq!(repo.branches().unwrap(), ["experiment", "main"]);
        assert_eq!(repo.tags().unwrap(), ["v1", "v2-annotated"]);

        for bad in ["no-such-branch", "HEAD~9", "deadbeef00"] {
            let err = repo.resolve(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidInput, "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        let err = repo.resolve("HEAD:prompts/support.md").unwrap_err();
        assert!(err.to_string().contains("does not name a commit"), "{err}");
        assert_eq!(
            repo.resolve("").unwrap_err().code(),
            ErrorCode::InvalidInput
        );
        assert!(repo.read_file("nope", "prompts/support.md").is_err());
    }

    #[test]
    fn log_follows_first_parents() {
        let (dir, repo, c) = prompt_repo();
        let root = dir.path();
        // A side branch from c[1] with one commit, merged into main after one more main commit.
        let g = &repo.repo;
        let sig =
            git2::Signature::new("Bo", "bo@example.com", &git2::Time::new(T0 + 9 * 86_400, 0))
                .unwrap();
        let base = g.find_commit(Oid::from_str(&c[1].sha).unwrap()).unwrap();
        let mut builder = g.treebuilder(Some(&base.tree().unwrap())).unwrap();
        let blob = g.blob(b"side\n").unwrap();
        builder.insert("side.md", blob, 0o100644).unwrap();
        let side_tree = g.find_tree(builder.write().unwrap()).unwrap();
        let side = g
            .commit(
                Some("refs/heads/side"),
                &sig,
                &sig,
                "Side work",
                &side_tree,
                &[&base],
            )
            .unwrap();
        write(root, "prompts/support.md", "main again\n");
        let b = commit(&repo, "Main work", 4);
        write(root, "side.md", "side\n");
        let mut index = g.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        let merged_tree = g.find_tree(index.write_tree().unwrap()).unwrap();
        let head = g.find_commit(Oid::from_str(&b.sha).unwrap()).unwrap();
        let side_commit = g.find_commit(side).unwrap();
        let m = g
            .commit(
                Some("HEAD"),
                &sig,
                &sig,
                "Merge side",
                &merged_tree,
                &[&head, &side_commit],
            )
            .unwrap();

        let log = repo.log("HEAD", 0).unwrap();
        let shas: Vec<String> = log.iter().map(|c| c.sha.clone()).collect();
        assert_eq!(
            shas,
            [
                m.to_string(),
                b.sha.clone(),
                c[2].sha.clone(),
                c[1].sha.clone(),
                c[0].sha.clone()
            ]
        );
        assert!(!shas.contains(&side.to_string()));
        assert_eq!(repo.log("HEAD", 2).unwrap().len(), 2);
        assert_eq!(repo.log("side", 0).unwrap().len(), 3);
        // The side file arrived with the merge on the first-parent line.
        let h = repo.history("side.md", "HEAD", 0).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].commit.sha, m.to_string());
        assert_eq!(h[0].commit.author, "Bo");
    }

    #[test]
    fn workspace_in_a_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        let top = init(dir.path()).unwrap();
        let root = dir.path();
        write(root, "app/ws/prompts/p.md", "v1\n");
        write(root, "app/ws/assay.toml", "[workspace]\n");
        write(root, "prompts/p.md", "outside the workspace\n");
        let c1 = commit(&top, "One", 0);
        write(root, "prompts/p.md", "outside, edited\n");
        commit(&top, "Outside only", 1);
        write(root, "app/ws/prompts/p.md", "v2\n");
        let c3 = commit(&top, "Two", 2);

        let ws = root.join("app/ws");
        let repo = open(&ws).unwrap().unwrap();
        assert_eq!(repo.prefix(), "app/ws");
        assert_eq!(
            repo.read_file(&c1.sha, "prompts/p.md").unwrap().unwrap(),
            "v1\n"
        );
        let h = repo.history("prompts/p.md", "HEAD", 0).unwrap();
        let shas: Vec<&str> = h.iter().map(|v| v.commit.sha.as_str()).collect();
        assert_eq!(shas, [c3.sha.as_str(), c1.sha.as_str()]);
        assert_eq!(repo.history("", "HEAD", 0).unwrap().len(), 2);

        let out = tempfile::tempdir().unwrap();
        repo.export(&c1.sha, &["prompts", "assay.toml"], out.path())
            .unwrap();
        assert_eq!(read(out.path(), "prompts/p.md"), "v1\n");
        assert_eq!(read(out.path(), "assay.toml"), "[workspace]\n");

        // Changes outside the workspace do not make it dirty.
        write(root, "prompts/p.md", "outside, dirty\n");
        assert!(!repo.is_dirty(&[]).unwrap());
        assert!(!repo.is_dirty(&["prompts"]).unwrap());
        write(root, "app/ws/prompts/new.md", "new\n");
        assert!(repo.is_dirty(&[]).unwrap());
        assert!(repo.is_dirty(&["prompts"]).unwrap());

        // Opening from deeper inside the workspace finds the same repository.
        let deeper = open(&ws.join("prompts")).unwrap().unwrap();
        assert_eq!(deeper.prefix(), "app/ws/prompts");
        assert_eq!(deeper.read_file("HEAD", "p.md").unwrap().unwrap(), "v2\n");
    }

    #[test]
    fn unborn_and_missing_repositories() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(&dir.path().join("new")).unwrap();
        assert_eq!(repo.head().unwrap(), None);
        assert!(repo.branches().unwrap().is_empty());
        assert!(!repo.is_dirty(&[]).unwrap());
        assert_eq!(
            repo.resolve("HEAD").unwrap_err().code(),
            ErrorCode::InvalidInput
        );
        let reopened = open(&dir.path().join("new")).unwrap().unwrap();
        assert_eq!(reopened.head().unwrap(), None);
        assert_eq!(reopened.prefix(), "");

        // A folder outside any repository (unless the temp dir itself is in one).
        let plain = dir.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        if Repository::discover(&plain).is_err() {
            assert!(open(&plain).unwrap().is_none());
        }
        let err = open(&dir.path().join("does-not-exist")).unwrap_err();
        assert!(err.to_string().contains("does-not-exist"), "{err}");
    }
}
