//! Workspaces: a folder (usually a git repository) with an `assay.toml`, holding what people
//! author (`prompts/`, `evalsets/`) and, git-ignored, the database `.assay/assay.db`.
//!
//! **Invariant:** the database location is decided here and only here: an explicit path
//! (`--db`, `ASSAY_DB`) wins, then `[store] path` in `assay.toml`, then `.assay/assay.db`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The workspace marker and configuration file.
pub const CONFIG_FILE: &str = "assay.toml";
/// The default database path, relative to the workspace root.
pub const DEFAULT_DB: &str = ".assay/assay.db";

/// `assay.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[workspace]`.
    #[serde(default)]
    pub workspace: WorkspaceSection,
    /// `[store]`.
    #[serde(default)]
    pub store: StoreSection,
    /// `[attribution]`: where this team's traces keep the attribution keys.
    #[serde(default)]
    pub attribution: AttributionMap,
}

/// `[attribution]` in `assay.toml`: for each attribution key, the attributes that hold it in
/// this team's traces, tried in order, before the well-known ones. A path `a.b` also finds key
/// `b` inside a JSON-object attribute `a` (e.g. `metadata.tenant_id`).
///
/// ```toml
/// [attribution]
/// tenant = ["metadata.tenant_id", "app.customer"]
/// endpoint = "http.route"
/// ```
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AttributionMap {
    /// Tenant.
    #[serde(default, deserialize_with = "one_or_many")]
    pub tenant: Vec<String>,
    /// Endpoint.
    #[serde(default, deserialize_with = "one_or_many")]
    pub endpoint: Vec<String>,
    /// Feature.
    #[serde(default, deserialize_with = "one_or_many")]
    pub feature: Vec<String>,
    /// End user.
    #[serde(default, deserialize_with = "one_or_many")]
    pub user: Vec<String>,
    /// Session.
    #[serde(default, deserialize_with = "one_or_many")]
    pub session: Vec<String>,
    /// Environment.
    #[serde(default, deserialize_with = "one_or_many")]
    pub environment: Vec<String>,
    /// Release.
    #[serde(default, deserialize_with = "one_or_many")]
    pub release: Vec<String>,
}

impl AttributionMap {
    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        *self == AttributionMap::default()
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// `[workspace]` in `assay.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSection {
    /// A display name; defaults to the folder's name.
    pub name: Option<String>,
}

/// `[store]` in `assay.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The database file, relative to the workspace root.
    pub path: Option<PathBuf>,
}

/// A resolved workspace: where it is and where its database lives.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The folder holding `assay.toml`; `None` when only a database was given.
    pub root: Option<PathBuf>,
    /// The database file.
    pub db_path: PathBuf,
    /// The parsed `assay.toml` (defaults when there is none).
    pub config: Config,
}

/// How to find the workspace: explicit choices, else discovery from `cwd`.
#[derive(Debug, Clone, Default)]
pub struct Locate {
    /// `--workspace` / `ASSAY_WORKSPACE`.
    pub workspace: Option<PathBuf>,
    /// `--db` / `ASSAY_DB`.
    pub db: Option<PathBuf>,
    /// Where discovery starts (the current directory).
    pub cwd: PathBuf,
    /// A folder to set up and use as the workspace when none is given or found (the desktop
    /// app's personal workspace). Without it, finding none is an error.
    pub fallback: Option<PathBuf>,
}

impl Workspace {
    /// Resolves the workspace as described by `locate`.
    pub fn locate(locate: &Locate) -> Result<Workspace> {
        let root = match &locate.workspace {
            Some(dir) => {
                let dir = absolute(&locate.cwd, dir);
                if !dir.join(CONFIG_FILE).is_file() {
                    return Err(Error::NoWorkspace(format!(
                        "{} is not an Assay workspace (no {CONFIG_FILE}); create one with `assay init {}`",
                        dir.display(),
                        dir.display()
                    )));
                }
                Some(dir)
            }
            None => match (discover(&locate.cwd), &locate.fallback) {
                (Some(found), _) => Some(found),
                (None, Some(fallback)) if locate.db.is_none() => Some(init(fallback)?.root),
                (None, _) => None,
            },
        };
        let config = match &root {
            Some(r) => read_config(&r.join(CONFIG_FILE))?,
            None => Config::default(),
        };
        let db_path = match (&locate.db, &root) {
            (Some(db), _) => absolute(&locate.cwd, db),
            (None, Some(r)) => r.join(
                config
                    .store
                    .path
                    .as_deref()
                    .unwrap_or(Path::new(DEFAULT_DB)),
            ),
            (None, None) => {
                return Err(Error::NoWorkspace(format!(
                "no Assay workspace here: no {CONFIG_FILE} in {} or its parents; run `assay init` \
                     (or pass --db FILE)",
                locate.cwd.display()
            )))
            }
        };
        Ok(Workspace {
            root,
            db_path,
            config,
        })
    }

    /// The workspace's display name.
    pub fn name(&self) -> String {
        self.config
            .workspace
            .name
            .clone()
            .or_else(|| {
                self.root
                    .as_ref()
                    .and_then(|r| r.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "assay".to_owned())
    }
}

/// What [`init`] created (empty lists when everything already existed).
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The workspace folder.
    pub root: PathBuf,
    /// Files and folders created, relative to the root.
    pub created: Vec<String>,
}

/// Creates a workspace in `dir` (creating `dir` too). Idempotent: existing files are kept.
pub fn init(dir: &Path) -> Result<InitReport> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let root = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let mut created = Vec::new();
    let config = root.join(CONFIG_FILE);
    if !config.exists() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "assay".to_owned());
        let text = format!(
            "# Assay workspace. Prompts live in prompts/, eval sets in evalsets/;\n\
             # results and imported traces in the database (git-ignored).\n\n\
             [workspace]\nname = {}\n\n[store]\n# path = \"{DEFAULT_DB}\"\n\n\
             # Where your traces keep the attribution keys, tried before the well-known ones:\n\
             [attribution]\n# tenant = [\"metadata.tenant_id\"]\n# endpoint = \"http.route\"\n",
            toml_string(&name)
        );
        std::fs::write(&config, text).map_err(|e| Error::io(&config, e))?;
        created.push(CONFIG_FILE.to_owned());
    }
    for sub in ["prompts", "evalsets"] {
        let path = root.join(sub);
        if !path.exists() {
            std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            created.push(format!("{sub}/"));
        }
    }
    let gitignore = root.join(".gitignore");
    let existing = match std::fs::read_to_string(&gitignore) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(&gitignore, e)),
    };
    if !existing
        .lines()
        .any(|l| matches!(l.trim(), ".assay" | ".assay/" | "/.assay/" | "/.assay"))
    {
        let mut text = existing;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# Assay's database and caches\n.assay/\n");
        std::fs::write(&gitignore, text).map_err(|e| Error::io(&gitignore, e))?;
        created.push(".gitignore entry .assay/".to_owned());
    }
    Ok(InitReport { root, created })
}

fn discover(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .find(|d| d.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

fn read_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_owned(),
    })
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_idempotent_and_keeps_user_files() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        let first = init(&ws).unwrap();
        assert!(first.created.contains(&CONFIG_FILE.to_owned()));
        std::fs::write(ws.join(".gitignore"), "target/\n.assay/\n").unwrap();
        std::fs::write(ws.join(CONFIG_FILE), "[workspace]\nname = \"mine\"\n").unwrap();
        let second = init(&ws).unwrap();
        assert!(
            second.created.is_empty(),
            "nothing new on a second init: {:?}",
            second.created
        );
        assert_eq!(
            std::fs::read_to_string(ws.join(CONFIG_FILE)).unwrap(),
            "[workspace]\nname = \"mine\"\n"
        );
    }

    #[test]
    fn discovery_walks_up_and_db_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let report = init(dir.path()).unwrap();
        let nested = report.root.join("prompts");
        let ws = Workspace::locate(&Locate {
            cwd: nested.clone(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ws.root.as_deref(), Some(report.root.as_path()));
        assert_eq!(ws.db_path, report.root.join(DEFAULT_DB));
        let ws = Workspace::locate(&Locate {
            cwd: nested,
            db: Some("x.db".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ws.db_path, report.root.join("prompts/x.db"));
    }

    #[test]
    fn an_unknown_config_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "[store]\npth = \"x\"\n").unwrap();
        let err = Workspace::locate(&Locate {
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("pth"), "{err}");
    }

    #[test]
    fn attribution_paths_take_one_or_many() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[attribution]\ntenant = [\"metadata.tenant_id\", \"app.customer\"]\nendpoint = \"http.route\"\n",
        )
        .unwrap();
        let ws = Workspace::locate(&Locate {
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            ws.config.attribution.tenant,
            ["metadata.tenant_id", "app.customer"]
        );
        assert_eq!(ws.config.attribution.endpoint, ["http.route"]);
    }

    #[test]
    fn no_workspace_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Workspace::locate(&Locate {
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("assay init"), "{err}");
    }
}
