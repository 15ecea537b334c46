//! Reading prompts (`prompts/NAME.yaml`, `prompts/NAME.md`), eval sets
//! (`evalsets/NAME/evalset.yaml` with inline cases or `cases.jsonl`/`cases.yaml`/`cases.csv`)
//! and promptfoo configs into an [`EvalPlan`].
//!
//! Every error is an [`Error::EvalFile`] whose location is the file (relative to the workspace
//! root), with the line when the format reports one, and the key path (`cases[2].assert[0]`).
//! Unknown keys are errors, so a typo never silently changes what runs. Things a promptfoo
//! config asks for that Assay cannot run are kept and listed in [`EvalPlan::unsupported`].
//!
//! Loading renders every case with every prompt once, so a variable a case forgets is reported
//! before any provider is called.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::eval::plan::{
    AssertionSpec, EvalPlan, Gates, MessageTemplate, PlanCase, PlanPrompt, PromptTemplate,
    ProviderSpec, Unsupported,
};
use crate::eval::template::Template;
use crate::eval::{assertions, providers};

/// promptfoo assertion types Assay does not evaluate. A case using one keeps it (it is reported
/// as unsupported in results) and the plan lists it, instead of failing the whole load.
pub const UNSUPPORTED_ASSERTIONS: &[&str] = &[
    "javascript",
    "python",
    "ruby",
    "webhook",
    "assert-set",
    "select-best",
    "max-score",
    "human",
    "model-graded-closedqa",
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "conversation-relevance",
    "search-rubric",
    "moderation",
    "perplexity",
    "perplexity-score",
    "rouge-n",
    "bleu",
    "gleu",
    "meteor",
    "classifier",
    "g-eval",
    "pi",
    "guardrails",
    "is-valid-openai-tools-call",
    "is-valid-openai-function-call",
    "is-valid-function-call",
    "tool-call-f1",
    "is-refusal",
    "is-sql",
    "contains-sql",
    "is-xml",
    "contains-xml",
    "is-html",
    "contains-html",
    "trace-span-count",
    "trace-span-duration",
    "trace-error-spans",
];

/// Run settings when the eval set names none.
const DEFAULT_CONCURRENCY: usize = 8;
const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// Loads the eval set at `target`: a name under `<workspace>/evalsets/`, a folder holding
/// `evalset.yaml` (or `promptfooconfig.yaml`), the `evalset.yaml` file itself, or a promptfoo
/// config file. Relative paths are tried from the current directory, then from the workspace.
pub fn load_plan(workspace_root: &Path, target: &str) -> Result<EvalPlan> {
    load_plan_with(workspace_root, target, &|entry| {
        providers::spec_from_config(&entry.id, entry.label.clone(), &entry.config)
    })
}

/// The eval sets of a workspace: `(name, path of evalset.yaml)`, sorted by name.
pub fn list_evalsets(workspace_root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(dir) = std::fs::read_dir(workspace_root.join("evalsets")) else {
        return Vec::new();
    };
    let mut sets: Vec<(String, PathBuf)> = dir
        .flatten()
        .filter_map(|entry| {
            let folder = entry.path();
            let file = evalset_file_in(&folder)?;
            Some((entry.file_name().to_string_lossy().into_owned(), file))
        })
        .collect();
    sets.sort();
    sets
}

/// The prompts of a workspace: `(id, path)` for every `.yaml`, `.yml` and `.md` file under
/// `prompts/` (subfolders included; the id is the relative path without extension), sorted.
pub fn list_prompts(workspace_root: &Path) -> Vec<(String, PathBuf)> {
    let base = workspace_root.join("prompts");
    let mut found = Vec::new();
    let mut pending = vec![base.clone()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if is_prompt_file(&path) {
                if let Some(id) = prompt_id(&base, &path) {
                    found.push((id, path));
                }
            }
        }
    }
    found.sort();
    found
}

/// Reads one prompt file. Its id is its path under the nearest `prompts/` folder without the
/// extension (else the file stem); errors name the file as given.
pub fn load_prompt(path: &Path) -> Result<PlanPrompt> {
    let base = path
        .ancestors()
        .skip(1)
        .find(|a| a.file_name().is_some_and(|n| n == "prompts"));
    let id = base
        .and_then(|b| prompt_id(b, path))
        .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    read_prompt_file(path, &id, &path.display().to_string()).map(|(prompt, _)| prompt)
}

/// One provider as written in a config, before it is resolved into a [`ProviderSpec`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProviderEntry {
    /// The id (`openai:gpt-4o-mini`).
    pub id: String,
    /// The label, when the config gives one.
    pub label: Option<String>,
    /// Settings, verbatim.
    pub config: Map<String, Value>,
    /// Where it was written (`evalsets/x/evalset.yaml: providers[1]`).
    pub location: String,
}

/// Resolves a provider entry; [`load_plan`] uses [`providers::spec_from_config`].
pub(crate) type MakeProvider<'a> =
    &'a dyn Fn(&ProviderEntry) -> std::result::Result<ProviderSpec, String>;

/// [`load_plan`] with the provider resolution given, so the reading of files can be checked on
/// its own.
pub(crate) fn load_plan_with(
    workspace_root: &Path,
    target: &str,
    make_provider: MakeProvider<'_>,
) -> Result<EvalPlan> {
    let path = resolve_target(workspace_root, target)?;
    let mut loader = Loader {
        root: workspace_root,
        make_provider,
        unsupported: Vec::new(),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file_name == "evalset.yaml" || file_name == "evalset.yml" {
        loader.evalset(&path)
    } else if file_name.ends_with(".yaml") || file_name.ends_with(".yml") {
        loader.promptfoo(&path)
    } else {
        Err(fail(
            &loader.display(&path),
            "not an eval set: expected an evalset.yaml or a promptfoo config (.yaml)",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Locations and errors

/// Where something is: a file, maybe a line, maybe a key path.
#[derive(Debug, Clone, PartialEq)]
struct Loc {
    file: String,
    line: Option<usize>,
    path: String,
}

impl Loc {
    fn file(file: &str) -> Loc {
        Loc {
            file: file.to_owned(),
            line: None,
            path: String::new(),
        }
    }

    fn line(file: &str, line: usize) -> Loc {
        Loc {
            line: Some(line),
            ..Loc::file(file)
        }
    }

    fn key(&self, key: &str) -> Loc {
        let mut loc = self.clone();
        if !loc.path.is_empty() {
            loc.path.push('.');
        }
        loc.path.push_str(key);
        loc
    }

    fn index(&self, i: usize) -> Loc {
        let mut loc = self.clone();
        loc.path.push_str(&format!("[{i}]"));
        loc
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        Ok(())
    }
}

fn fail(location: &impl fmt::Display, message: impl Into<String>) -> Error {
    Error::EvalFile {
        location: location.to_string(),
        message: message.into(),
    }
}

/// serde and libyaml messages say ` at line L column C`; the line goes into the location
/// instead.
static AT_LINE: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r" at line \d+ column \d+").ok());

/// Turns a serde error into an `EvalFile` error at `file[:line]: path`.
fn serde_error(file: &str, line: Option<usize>, path: &str, message: String) -> Error {
    let mut path = if path == "." { "" } else { path };
    let mut message = match AT_LINE.as_ref() {
        Some(re) => re.replace_all(&message, "").into_owned(),
        None => message,
    };
    // serde_norway puts the path of the enclosing value in its message too; keep it once, in
    // the location.
    if let Some((prefix, rest)) = message.split_once(": ") {
        if is_path_prefix(prefix, path) {
            message = rest.to_owned();
        }
    }
    // For an unknown key the tracked path ends with the key itself; the location is the
    // mapping that holds it, and the message names the key.
    if let Some(key) = message
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
    {
        if let Some(parent) = path.strip_suffix(key) {
            path = parent.strip_suffix('.').unwrap_or(parent);
        }
    }
    fail(
        &Loc {
            file: file.to_owned(),
            line,
            path: path.to_owned(),
        },
        message,
    )
}

/// Whether `prefix` is `path` or a leading part of it (`cases[2]` of `cases[2].asert`).
fn is_path_prefix(prefix: &str, path: &str) -> bool {
    !prefix.is_empty()
        && path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Parses YAML into `T`, naming the key path and line of any error. `line_offset` is added to
/// reported lines (front matter starts below the `---`).
fn parse_yaml<T: DeserializeOwned>(text: &str, file: &str, line_offset: usize) -> Result<T> {
    serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(text)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.location().map(|l| l.line() + line_offset);
        serde_error(file, line, &path, inner.to_string())
    })
}

/// Parses one JSON document (a JSONL line when `line` is set) into `T`.
fn parse_json<T: DeserializeOwned>(text: &str, file: &str, line: Option<usize>) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        serde_error(file, line.or(Some(inner.line())), &path, inner.to_string())
    })?;
    de.end()
        .map_err(|e| serde_error(file, line.or(Some(e.line())), "", e.to_string()))?;
    Ok(value)
}

fn read_text(path: &Path, location: &impl fmt::Display) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| fail(location, format!("cannot read {}: {e}", path.display())))
}

// ---------------------------------------------------------------------------------------------
// Flexible YAML shapes that keep serde's error paths and lines

/// A string, or a mapping read as `T` (`- name` or `- {id: name, ...}`).
#[derive(Debug)]
enum StrOr<T> {
    Str(String),
    Obj(T),
}

struct StrOrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for StrOrVisitor<T> {
    type Value = StrOr<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a mapping")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<StrOr<T>, E> {
        Ok(StrOr::Str(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<StrOr<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(StrOr::Obj)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StrOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrOrVisitor(PhantomData))
    }
}

/// One string or mapping, or a list of them.
#[derive(Debug)]
struct Items<T>(Vec<StrOr<T>>);

struct ItemsVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ItemsVisitor<T> {
    type Value = Items<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a mapping, or a list of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Items<T>, E> {
        Ok(Items(vec![StrOr::Str(v.to_owned())]))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Items<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(|t| Items(vec![StrOr::Obj(t)]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Items<T>, A::Error> {
        Vec::<StrOr<T>>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Items)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// File shapes

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderDoc {
    id: String,
    label: Option<String>,
    config: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertionDoc {
    #[serde(rename = "type")]
    kind: String,
    value: Option<Value>,
    threshold: Option<f64>,
    weight: Option<f64>,
    metric: Option<String>,
    provider: Option<StrOr<ProviderDoc>>,
    transform: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsDoc {
    provider: Option<StrOr<ProviderDoc>>,
    transform: Option<IgnoredAny>,
    postprocess: Option<IgnoredAny>,
}

/// A case of an eval set, or a test of a promptfoo config.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDoc {
    id: Option<String>,
    description: Option<String>,
    vars: Option<Map<String, Value>>,
    expected: Option<Value>,
    #[serde(rename = "assert")]
    assertions: Option<Vec<AssertionDoc>>,
    tags: Option<Vec<String>>,
    weight: Option<f64>,
    threshold: Option<f64>,
    #[serde(rename = "metadata")]
    _metadata: Option<IgnoredAny>,
    options: Option<OptionsDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageDoc {
    role: String,
    content: String,
}

/// A prompt file in YAML, or a prompt written inline in an eval set (which adds `id`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptDoc {
    id: Option<String>,
    #[serde(rename = "description")]
    _description: Option<String>,
    label: Option<String>,
    model: Option<String>,
    params: Option<Map<String, Value>>,
    text: Option<String>,
    messages: Option<Vec<MessageDoc>>,
}

/// The YAML front matter of a Markdown prompt.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    #[serde(rename = "description")]
    _description: Option<String>,
    label: Option<String>,
    model: Option<String>,
    params: Option<Map<String, Value>>,
    system: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvalSetDoc {
    description: Option<String>,
    prompts: Option<Items<PromptDoc>>,
    providers: Option<Items<ProviderDoc>>,
    judge: Option<StrOr<ProviderDoc>>,
    embedder: Option<StrOr<ProviderDoc>>,
    default_assert: Option<Vec<AssertionDoc>>,
    gates: Option<Gates>,
    concurrency: Option<usize>,
    repeat: Option<u32>,
    timeout_ms: Option<u64>,
    cases: Option<Items<CaseDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PromptfooDoc {
    #[serde(rename = "$schema")]
    _schema: Option<IgnoredAny>,
    description: Option<String>,
    prompts: Option<Items<PromptfooPromptDoc>>,
    providers: Option<Items<ProviderDoc>>,
    tests: Option<Items<CaseDoc>>,
    default_test: Option<DefaultTestDoc>,
    evaluate_options: Option<EvaluateOptionsDoc>,
    // Accepted and ignored: they do not change what runs.
    #[serde(rename = "sharing")]
    _sharing: Option<IgnoredAny>,
    #[serde(rename = "outputPath")]
    _output_path: Option<IgnoredAny>,
    #[serde(rename = "tags")]
    _tags: Option<IgnoredAny>,
    #[serde(rename = "metadata")]
    _metadata: Option<IgnoredAny>,
    #[serde(rename = "writeLatestResults")]
    _write_latest_results: Option<IgnoredAny>,
    // Reported as unsupported.
    scenarios: Option<IgnoredAny>,
    extensions: Option<IgnoredAny>,
    nunjucks_filters: Option<IgnoredAny>,
    derived_metrics: Option<IgnoredAny>,
    env: Option<IgnoredAny>,
    redteam: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptfooPromptDoc {
    id: Option<String>,
    label: Option<String>,
    raw: Option<String>,
    config: Option<Map<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultTestDoc {
    #[serde(rename = "description")]
    _description: Option<IgnoredAny>,
    vars: Option<Map<String, Value>>,
    #[serde(rename = "assert")]
    assertions: Option<Vec<AssertionDoc>>,
    options: Option<OptionsDoc>,
    threshold: Option<f64>,
    #[serde(rename = "metadata")]
    _metadata: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EvaluateOptionsDoc {
    max_concurrency: Option<usize>,
    repeat: Option<u32>,
    timeout_ms: Option<u64>,
    // Accepted and ignored: display and pacing options of promptfoo's CLI.
    #[serde(rename = "showProgressBar")]
    _show_progress_bar: Option<IgnoredAny>,
    #[serde(rename = "cache")]
    _cache: Option<IgnoredAny>,
    #[serde(rename = "delay")]
    _delay: Option<IgnoredAny>,
}

// ---------------------------------------------------------------------------------------------
// Targets

fn evalset_file_in(folder: &Path) -> Option<PathBuf> {
    ["evalset.yaml", "evalset.yml"]
        .iter()
        .map(|n| folder.join(n))
        .find(|p| p.is_file())
}

fn resolve_target(root: &Path, target: &str) -> Result<PathBuf> {
    let is_name = !matches!(target, "" | "." | "..") && !target.contains(['/', '\\']);
    if is_name {
        if let Some(file) = evalset_file_in(&root.join("evalsets").join(target)) {
            return Ok(file);
        }
    }
    for candidate in [PathBuf::from(target), root.join(target)] {
        if candidate.is_file() {
            return Ok(candidate);
        }
        if candidate.is_dir() {
            let found = evalset_file_in(&candidate).or_else(|| {
                ["promptfooconfig.yaml", "promptfooconfig.yml"]
                    .iter()
                    .map(|n| candidate.join(n))
                    .find(|p| p.is_file())
            });
            if let Some(file) = found {
                return Ok(file);
            }
        }
    }
    let names: Vec<String> = list_evalsets(root).into_iter().map(|(n, _)| n).collect();
    let available = if names.is_empty() {
        format!(
            "there are no eval sets in {}",
            root.join("evalsets").display()
        )
    } else {
        format!("available eval sets: {}", names.join(", "))
    };
    Err(fail(
        &target,
        format!("no eval set or promptfoo config found ({available})"),
    ))
}

fn is_prompt_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "yaml" || e == "yml" || e == "md")
}

/// `prompts/a/b.md` -> `a/b`.
fn prompt_id(base: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?.with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

// ---------------------------------------------------------------------------------------------
// Prompts

/// The templates of a prompt, parsed, for the render check at load.
struct Parsed {
    prompt_id: String,
    templates: Vec<Template>,
}

fn check_role(role: &str, loc: &Loc) -> Result<()> {
    if matches!(role, "system" | "user" | "assistant") {
        Ok(())
    } else {
        Err(fail(
            &loc.key("role"),
            format!("role {role:?} is not one of system, user, assistant"),
        ))
    }
}

/// Parses a template, reporting a syntax error at its line in `source`.
fn parse_template(text: &str, source: &str, first_line: usize) -> Result<Template> {
    Template::parse_at_line(text, source, first_line).map_err(|e| {
        // The template's message is `source:LINE: what`; split it back into location and
        // message so the location is not repeated.
        let rest = e.strip_prefix(source).and_then(|r| r.strip_prefix(':'));
        match rest.and_then(|r| r.split_once(": ")) {
            Some((line, what)) if line.parse::<usize>().is_ok() => {
                fail(&format!("{source}:{line}"), what)
            }
            _ => fail(&source, e),
        }
    })
}

/// Parses a prompt's templates; `text_suffix` marks a text that is a value inside `source`
/// (` (text)`), so its line numbers are not read as lines of the file.
fn parse_prompt_templates(
    template: &PromptTemplate,
    source: &str,
    text_suffix: &str,
) -> Result<Vec<Template>> {
    match template {
        PromptTemplate::Text(text) => Ok(vec![parse_template(
            text,
            &format!("{source}{text_suffix}"),
            1,
        )?]),
        PromptTemplate::Chat(messages) => messages
            .iter()
            .enumerate()
            .map(|(i, m)| parse_template(&m.content, &format!("{source} (messages[{i}])"), 1))
            .collect(),
    }
}

/// Builds a prompt from YAML keys (a prompt file, or an inline prompt at `loc`).
fn prompt_from_doc(
    doc: PromptDoc,
    id: String,
    source: &Path,
    loc: &Loc,
    template_source: &str,
) -> Result<(PlanPrompt, Parsed)> {
    let template = match (doc.text, doc.messages) {
        (Some(text), None) => PromptTemplate::Text(text),
        (None, Some(messages)) => {
            if messages.is_empty() {
                return Err(fail(&loc.key("messages"), "the message list is empty"));
            }
            for (i, m) in messages.iter().enumerate() {
                check_role(&m.role, &loc.key("messages").index(i))?;
            }
            PromptTemplate::Chat(
                messages
                    .into_iter()
                    .map(|m| MessageTemplate {
                        role: m.role,
                        content: m.content,
                    })
                    .collect(),
            )
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                loc,
                "a prompt has either `text` or `messages`, not both",
            ))
        }
        (None, None) => return Err(fail(loc, "a prompt needs `text` or `messages`")),
    };
    let templates = parse_prompt_templates(&template, template_source, " (text)")?;
    Ok((
        PlanPrompt {
            label: doc.label.unwrap_or_else(|| id.clone()),
            id: id.clone(),
            template,
            source: source.to_path_buf(),
            params: doc.params.unwrap_or_default(),
            default_provider: doc.model,
        },
        Parsed {
            prompt_id: id,
            templates,
        },
    ))
}

/// Reads a prompt file (`.yaml`, `.yml` or `.md`); `display` names it in errors.
fn read_prompt_file(path: &Path, id: &str, display: &str) -> Result<(PlanPrompt, Parsed)> {
    let text = read_text(path, &display)?;
    let loc = Loc::file(display);
    if path.extension().is_some_and(|e| e == "md") {
        return markdown_prompt(&text, path, id, display);
    }
    let doc: PromptDoc = parse_yaml(&text, display, 0)?;
    if doc.id.is_some() {
        return Err(fail(
            &loc.key("id"),
            "a prompt file's id is its file name; remove `id`",
        ));
    }
    prompt_from_doc(doc, id.to_owned(), path, &loc, display)
}

/// A Markdown prompt: optional YAML front matter between `---` lines, then the text.
fn markdown_prompt(
    text: &str,
    path: &Path,
    id: &str,
    display: &str,
) -> Result<(PlanPrompt, Parsed)> {
    let mut front = FrontMatter::default();
    let mut body = text;
    let mut body_line = 1;
    let mut lines = text.split_inclusive('\n');
    if lines.next().is_some_and(|l| l.trim_end() == "---") {
        let mut offset = text.find('\n').map_or(text.len(), |i| i + 1);
        let yaml_start = offset;
        let mut line_no = 1;
        let mut closed = false;
        for line in lines {
            line_no += 1;
            if line.trim_end() == "---" {
                let yaml = &text[yaml_start..offset];
                if !yaml.trim().is_empty() {
                    front = parse_yaml(yaml, display, 1)?;
                }
                body = &text[offset + line.len()..];
                body_line = line_no + 1;
                closed = true;
                break;
            }
            offset += line.len();
        }
        if !closed {
            return Err(fail(
                &Loc::line(display, 1),
                "front matter opened with `---` is never closed",
            ));
        }
    }
    // The body is trimmed; errors still point at the body's first line in the file.
    let leading = &body[..body.len() - body.trim_start().len()];
    body_line += leading.matches('\n').count();
    let body = body.trim();
    if body.is_empty() {
        return Err(fail(&display, "the prompt text is empty"));
    }
    let body_template = parse_template(body, display, body_line)?;
    let mut templates = Vec::new();
    let template = match front.system {
        Some(system) => {
            templates.push(parse_template(&system, &format!("{display} (system)"), 1)?);
            PromptTemplate::Chat(vec![
                MessageTemplate {
                    role: "system".into(),
                    content: system,
                },
                MessageTemplate {
                    role: "user".into(),
                    content: body.to_owned(),
                },
            ])
        }
        None => PromptTemplate::Text(body.to_owned()),
    };
    templates.push(body_template);
    Ok((
        PlanPrompt {
            id: id.to_owned(),
            label: front.label.unwrap_or_else(|| id.to_owned()),
            template,
            source: path.to_path_buf(),
            params: front.params.unwrap_or_default(),
            default_provider: front.model,
        },
        Parsed {
            prompt_id: id.to_owned(),
            templates,
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Expected-value shorthand

/// Types promptfoo accepts in `expected: TYPE:value` / `__expected` strings.
static SHORTHAND: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"^(not-)?(equals|contains-any|contains-all|icontains-any|icontains-all|contains-json|",
        r"is-json|is-html|is-sql|is-xml|regex|icontains|contains|webhook|rouge-n|similar|",
        r"starts-with|levenshtein|classifier|model-graded-factuality|factuality|",
        r"model-graded-closedqa|answer-relevance|context-recall|context-relevance|",
        r"context-faithfulness|is-valid-openai-function-call|is-valid-openai-tools-call|",
        r"latency|perplexity|perplexity-score|cost|select-best)",
        r"(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$"
    ))
    .ok()
});

/// Types that make sense without a value (`expected: is-json`).
const VALUELESS: &[&str] = &[
    "is-json",
    "contains-json",
    "is-html",
    "is-sql",
    "is-xml",
    "is-valid-openai-function-call",
    "is-valid-openai-tools-call",
];

fn shorthand(kind: &str, value: Option<Value>, threshold: Option<f64>) -> AssertionDoc {
    AssertionDoc {
        kind: kind.to_owned(),
        value,
        threshold,
        weight: None,
        metric: None,
        provider: None,
        transform: None,
    }
}

/// `expected: VALUE` as an assertion: promptfoo's `TYPE:value` strings map to that type,
/// anything else is an `equals`.
fn expected_assertion(value: Value) -> AssertionDoc {
    let Value::String(s) = value else {
        return shorthand("equals", Some(value), None);
    };
    for (prefix, kind) in [
        ("grade:", "llm-rubric"),
        ("llm-rubric:", "llm-rubric"),
        ("fn:", "javascript"),
        ("eval:", "javascript"),
        ("javascript:", "javascript"),
        ("python:", "python"),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return shorthand(kind, Some(Value::String(rest.trim().to_owned())), None);
        }
    }
    if let Some(file) = s.strip_prefix("file://") {
        let kind = if file.ends_with(".py") {
            "python"
        } else {
            "javascript"
        };
        return shorthand(kind, Some(Value::String(s.clone())), None);
    }
    if let Some(c) = SHORTHAND.as_ref().and_then(|re| re.captures(&s)) {
        let negate = c.get(1).is_some();
        let base = c.get(2).map_or("", |m| m.as_str());
        let threshold = c.get(3).and_then(|m| m.as_str().parse::<f64>().ok());
        let rest = c.get(4).map(|m| m.as_str());
        if rest.is_some() || threshold.is_some() || VALUELESS.contains(&base) {
            let value = rest.map(|r| {
                if matches!(
                    base,
                    "contains-any" | "contains-all" | "icontains-any" | "icontains-all"
                ) {
                    Value::Array(
                        r.split(',')
                            .map(|p| Value::String(p.trim().to_owned()))
                            .collect(),
                    )
                } else {
                    Value::String(r.to_owned())
                }
            });
            let kind = if negate {
                format!("not-{base}")
            } else {
                base.to_owned()
            };
            return shorthand(&kind, value, threshold);
        }
    }
    shorthand("equals", Some(Value::String(s)), None)
}

// ---------------------------------------------------------------------------------------------
// The loader

/// A case as read, before defaults are merged.
struct CaseInput {
    doc: CaseDoc,
    loc: Loc,
    /// Assertions from CSV `__expected` columns, each with its column as location.
    extra: Vec<(AssertionDoc, Loc)>,
}

/// What a promptfoo `defaultTest` or an eval set's defaults add to every case.
#[derive(Default)]
struct Defaults {
    assertions: Vec<AssertionSpec>,
    vars: Map<String, Value>,
    threshold: Option<f64>,
}

struct Loader<'a> {
    root: &'a Path,
    make_provider: MakeProvider<'a>,
    unsupported: Vec<Unsupported>,
}

impl Loader<'_> {
    /// A path relative to the workspace root when inside it.
    fn display(&self, path: &Path) -> String {
        if let Ok(rel) = path.strip_prefix(self.root) {
            return rel.display().to_string();
        }
        if let (Ok(p), Ok(r)) = (path.canonicalize(), self.root.canonicalize()) {
            if let Ok(rel) = p.strip_prefix(&r) {
                return rel.display().to_string();
            }
        }
        path.display().to_string()
    }

    fn unsupported(&mut self, what: impl Into<String>, loc: &Loc) {
        self.unsupported.push(Unsupported {
            what: what.into(),
            location: loc.to_string(),
        });
    }

    fn provider(&self, doc: StrOr<ProviderDoc>, loc: &Loc) -> Result<ProviderSpec> {
        let entry = match doc {
            StrOr::Str(id) => ProviderEntry {
                id,
                label: None,
                config: Map::new(),
                location: loc.to_string(),
            },
            StrOr::Obj(p) => ProviderEntry {
                id: p.id,
                label: p.label,
                config: p.config.unwrap_or_default(),
                location: loc.to_string(),
            },
        };
        (self.make_provider)(&entry).map_err(|m| fail(loc, m))
    }

    fn providers(&self, items: Items<ProviderDoc>, loc: &Loc) -> Result<Vec<ProviderSpec>> {
        let mut specs: Vec<ProviderSpec> = Vec::new();
        let mut seen: HashMap<String, Loc> = HashMap::new();
        for (i, item) in items.0.into_iter().enumerate() {
            let at = loc.index(i);
            let spec = self.provider(item, &at)?;
            if let Some(first) = seen.get(&spec.label) {
                return Err(fail(
                    &at,
                    format!(
                        "provider label {:?} is already used at {first}; give one a `label`",
                        spec.label
                    ),
                ));
            }
            seen.insert(spec.label.clone(), at);
            specs.push(spec);
        }
        Ok(specs)
    }

    /// Reads a `file://` value relative to `dir`: JSON and YAML files are parsed, others are
    /// text. Other values are returned unchanged.
    fn file_value(&self, value: Value, dir: &Path, loc: &Loc) -> Result<Value> {
        let Some(rel) = value.as_str().and_then(|s| s.strip_prefix("file://")) else {
            return Ok(value);
        };
        let path = dir.join(rel);
        let text = read_text(&path, loc)?;
        let shown = self.display(&path);
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => parse_json(&text, &shown, None),
            Some("yaml" | "yml") => parse_yaml(&text, &shown, 0),
            _ => Ok(Value::String(text)),
        }
    }

    /// Converts an assertion; unsupported types are kept and listed, others validated.
    fn assertion(&mut self, doc: AssertionDoc, loc: &Loc, dir: &Path) -> Result<AssertionSpec> {
        let (kind, negate) = match doc.kind.strip_prefix("not-") {
            Some(base) => (base.to_owned(), true),
            None => (doc.kind.clone(), false),
        };
        let unsupported = UNSUPPORTED_ASSERTIONS.contains(&kind.as_str())
            && !assertions::SUPPORTED.contains(&kind.as_str());
        if doc.transform.is_some() {
            self.unsupported("assertion transform", &loc.key("transform"));
        }
        let value = match doc.value {
            Some(v) if !unsupported => Some(self.file_value(v, dir, &loc.key("value"))?),
            other => other,
        };
        if let Some(w) = doc.weight {
            if !(w.is_finite() && w >= 0.0) {
                return Err(fail(
                    &loc.key("weight"),
                    format!("weight must be 0 or more, not {w}"),
                ));
            }
        }
        let spec = AssertionSpec {
            kind,
            negate,
            value,
            threshold: doc.threshold,
            weight: doc.weight.unwrap_or(1.0),
            metric: doc.metric,
            provider: doc.provider.map(|p| match p {
                StrOr::Str(id) => id,
                StrOr::Obj(p) => p.id,
            }),
            location: loc.to_string(),
        };
        if unsupported {
            self.unsupported(format!("assertion type {}", doc.kind), loc);
        } else {
            assertions::validate(&spec).map_err(|m| fail(loc, m))?;
        }
        Ok(spec)
    }

    fn assertions(
        &mut self,
        docs: Option<Vec<AssertionDoc>>,
        loc: &Loc,
        dir: &Path,
    ) -> Result<Vec<AssertionSpec>> {
        docs.unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, doc)| self.assertion(doc, &loc.index(i), dir))
            .collect()
    }

    /// Cases from a list that mixes inline cases and file names (relative to `dir`).
    fn case_items(&self, items: Items<CaseDoc>, loc: &Loc, dir: &Path) -> Result<Vec<CaseInput>> {
        let single = items.0.len() == 1;
        let mut cases = Vec::new();
        for (i, item) in items.0.into_iter().enumerate() {
            let at = if single && matches!(item, StrOr::Str(_)) {
                loc.clone()
            } else {
                loc.index(i)
            };
            match item {
                StrOr::Obj(doc) => cases.push(CaseInput {
                    doc,
                    loc: at,
                    extra: Vec::new(),
                }),
                StrOr::Str(name) => {
                    let rel = name.strip_prefix("file://").unwrap_or(&name);
                    if rel.contains(['*', '?']) {
                        return Err(fail(
                            &at,
                            format!("file patterns ({name}) are not supported; list the files"),
                        ));
                    }
                    cases.extend(self.cases_file(&dir.join(rel), &at)?);
                }
            }
        }
        Ok(cases)
    }

    /// Reads a cases file: `.jsonl`, `.yaml`/`.yml`/`.json` (a list), or `.csv`.
    fn cases_file(&self, path: &Path, from: &Loc) -> Result<Vec<CaseInput>> {
        let text = read_text(path, from)?;
        let shown = self.display(path);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let list = |docs: Vec<CaseDoc>| {
            docs.into_iter()
                .enumerate()
                .map(|(i, doc)| CaseInput {
                    doc,
                    loc: Loc::file(&shown).index(i),
                    extra: Vec::new(),
                })
                .collect()
        };
        match ext {
            "jsonl" => {
                let mut cases = Vec::new();
                for (i, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let doc: CaseDoc = parse_json(line, &shown, Some(i + 1))?;
                    cases.push(CaseInput {
                        doc,
                        loc: Loc::line(&shown, i + 1),
                        extra: Vec::new(),
                    });
                }
                Ok(cases)
            }
            "yaml" | "yml" => Ok(list(parse_yaml(&text, &shown, 0)?)),
            "json" => Ok(list(parse_json(&text, &shown, None)?)),
            "csv" => csv_cases(&text, &shown),
            _ => Err(fail(
                from,
                format!("{shown}: cases files are .jsonl, .yaml, .yml, .json or .csv"),
            )),
        }
    }

    /// Merges defaults into each case, converts assertions and checks ids.
    fn cases(
        &mut self,
        inputs: Vec<CaseInput>,
        defaults: &Defaults,
        dir: &Path,
    ) -> Result<Vec<PlanCase>> {
        let mut cases = Vec::with_capacity(inputs.len());
        let mut explicit: HashMap<String, Loc> = HashMap::new();
        let mut derived: HashMap<String, usize> = HashMap::new();
        for (index, input) in inputs.into_iter().enumerate() {
            let CaseInput { doc, loc, extra } = input;
            let mut assertions = defaults.assertions.clone();
            let own = self.assertions(doc.assertions, &loc.key("assert"), dir)?;
            assertions.extend(own);
            if let Some(expected) = doc.expected {
                let at = loc.key("expected");
                assertions.push(self.assertion(expected_assertion(expected), &at, dir)?);
            }
            for (extra_doc, at) in extra {
                assertions.push(self.assertion(extra_doc, &at, dir)?);
            }
            if let Some(options) = doc.options {
                let at = loc.key("options");
                if options.transform.is_some() {
                    self.unsupported("options.transform", &at.key("transform"));
                }
                if options.postprocess.is_some() {
                    self.unsupported("options.postprocess", &at.key("postprocess"));
                }
                if let Some(provider) = options.provider {
                    let id = match provider {
                        StrOr::Str(id) => id,
                        StrOr::Obj(p) => p.id,
                    };
                    for a in assertions.iter_mut().filter(|a| a.provider.is_none()) {
                        a.provider = Some(id.clone());
                    }
                }
            }
            let mut vars = defaults.vars.clone();
            for (k, v) in doc.vars.unwrap_or_default() {
                let v = self.file_value(v, dir, &loc.key("vars").key(&k))?;
                vars.insert(k, v);
            }
            let weight = doc.weight.unwrap_or(1.0);
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(fail(
                    &loc.key("weight"),
                    format!("weight must be 0 or more, not {weight}"),
                ));
            }
            let id = match doc.id {
                Some(id) => {
                    if let Some(first) = explicit.get(&id) {
                        return Err(fail(
                            &loc,
                            format!(
                                "case id {id:?} is already used at {first}; ids must be unique"
                            ),
                        ));
                    }
                    explicit.insert(id.clone(), loc.clone());
                    id
                }
                // Derived ids may repeat (promptfoo tests often share a description); the
                // case number keeps them apart.
                None => {
                    let base = doc
                        .description
                        .clone()
                        .unwrap_or_else(|| format!("case-{}", index + 1));
                    let n = derived.entry(base.clone()).or_insert(0);
                    *n += 1;
                    if *n == 1 {
                        base
                    } else {
                        format!("{base} (case-{})", index + 1)
                    }
                }
            };
            cases.push(PlanCase {
                index,
                id,
                description: doc.description,
                vars,
                assertions,
                tags: doc.tags.unwrap_or_default(),
                weight,
                threshold: doc.threshold.or(defaults.threshold),
                location: loc.to_string(),
            });
        }
        // An explicit id may equal a derived one; ids are how results are matched across runs.
        for case in &cases {
            if let Some(first) = explicit.get(&case.id) {
                if first.to_string() != case.location {
                    return Err(fail(
                        &case.location,
                        format!(
                            "case id {:?} (from its description) is already used at {first}; give the case an `id`",
                            case.id
                        ),
                    ));
                }
            }
        }
        Ok(cases)
    }

    fn evalset(&mut self, path: &Path) -> Result<EvalPlan> {
        let shown = self.display(path);
        let file = Loc::file(&shown);
        let dir = path.parent().unwrap_or(Path::new("."));
        let doc: EvalSetDoc = parse_yaml(&read_text(path, &file)?, &shown, 0)?;

        let Some(prompt_items) = doc.prompts else {
            return Err(fail(
                &file,
                "no prompts: add `prompts:` (names of files under prompts/, or inline prompts)",
            ));
        };
        let mut prompts = Vec::new();
        let mut parsed = Vec::new();
        for (i, item) in prompt_items.0.into_iter().enumerate() {
            let at = file.key("prompts").index(i);
            let (prompt, p) = self.evalset_prompt(item, path, &at)?;
            if let Some(other) = prompts.iter().position(|q: &PlanPrompt| q.id == prompt.id) {
                return Err(fail(
                    &at,
                    format!(
                        "prompt {:?} is already listed at prompts[{other}]",
                        prompt.id
                    ),
                ));
            }
            prompts.push(prompt);
            parsed.push(p);
        }
        if prompts.is_empty() {
            return Err(fail(&file.key("prompts"), "the prompt list is empty"));
        }

        let providers = match doc.providers {
            Some(items) => self.providers(items, &file.key("providers"))?,
            None => self.prompt_models(&prompts, &file)?,
        };
        if providers.is_empty() {
            return Err(fail(&file.key("providers"), "the provider list is empty"));
        }
        let judge = doc
            .judge
            .map(|j| self.provider(j, &file.key("judge")))
            .transpose()?;
        let embedder = doc
            .embedder
            .map(|e| self.provider(e, &file.key("embedder")))
            .transpose()?;

        let defaults = Defaults {
            assertions: self.assertions(doc.default_assert, &file.key("default_assert"), dir)?,
            ..Defaults::default()
        };
        let inputs = match doc.cases {
            Some(items) => self.case_items(items, &file.key("cases"), dir)?,
            None => {
                let mut inputs = Vec::new();
                let mut any = false;
                for name in ["cases.jsonl", "cases.yaml", "cases.csv"] {
                    let candidate = dir.join(name);
                    if candidate.is_file() {
                        any = true;
                        inputs.extend(self.cases_file(&candidate, &file)?);
                    }
                }
                if !any {
                    return Err(fail(
                        &file,
                        "no cases: add `cases:` or a cases.jsonl, cases.yaml or cases.csv next to evalset.yaml",
                    ));
                }
                inputs
            }
        };
        let cases = self.cases(inputs, &defaults, dir)?;
        if cases.is_empty() {
            return Err(fail(&file, "no cases: the cases list is empty"));
        }
        check_renders(&parsed, &cases)?;

        let concurrency = doc.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            return Err(fail(
                &file.key("concurrency"),
                "concurrency must be at least 1",
            ));
        }
        let repeat = doc.repeat.unwrap_or(1);
        if repeat == 0 {
            return Err(fail(&file.key("repeat"), "repeat must be at least 1"));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.clone());
        Ok(EvalPlan {
            name,
            source: path.to_path_buf(),
            description: doc.description,
            prompts,
            providers,
            cases,
            gates: doc.gates.unwrap_or_default(),
            judge,
            embedder,
            concurrency,
            repeat,
            timeout: Duration::from_millis(doc.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)),
            unsupported: std::mem::take(&mut self.unsupported),
        })
    }

    /// A prompt of an eval set: a name under `prompts/`, or an inline prompt.
    fn evalset_prompt(
        &self,
        item: StrOr<PromptDoc>,
        evalset: &Path,
        at: &Loc,
    ) -> Result<(PlanPrompt, Parsed)> {
        match item {
            StrOr::Str(name) => self.named_prompt(&name, at),
            StrOr::Obj(doc) => {
                let Some(id) = doc.id.clone() else {
                    return Err(fail(at, "an inline prompt needs an `id`"));
                };
                if doc.text.is_none() && doc.messages.is_none() {
                    // `{id: name, label: ...}` refers to a prompt file and overrides its keys.
                    let (mut prompt, parsed) = self.named_prompt(&id, at)?;
                    if let Some(label) = doc.label {
                        prompt.label = label;
                    }
                    if let Some(model) = doc.model {
                        prompt.default_provider = Some(model);
                    }
                    if let Some(params) = doc.params {
                        prompt.params.extend(params);
                    }
                    return Ok((prompt, parsed));
                }
                let source = format!("{at}");
                prompt_from_doc(doc, id, evalset, at, &source)
            }
        }
    }

    fn named_prompt(&self, name: &str, at: &Loc) -> Result<(PlanPrompt, Parsed)> {
        let base = self.root.join("prompts");
        let found: Vec<PathBuf> = ["yaml", "yml", "md"]
            .iter()
            .map(|ext| base.join(format!("{name}.{ext}")))
            .filter(|p| p.is_file())
            .collect();
        match found.as_slice() {
            [path] => read_prompt_file(path, name, &self.display(path)),
            [] => {
                let ids: Vec<String> = list_prompts(self.root)
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                let available = if ids.is_empty() {
                    "there are no prompts in prompts/".to_owned()
                } else {
                    format!("available: {}", ids.join(", "))
                };
                Err(fail(
                    at,
                    format!("prompt {name:?} not found: no prompts/{name}.yaml, .yml or .md ({available})"),
                ))
            }
            several => Err(fail(
                at,
                format!(
                    "prompt {name:?} is ambiguous: {}",
                    several
                        .iter()
                        .map(|p| self.display(p))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )),
        }
    }

    /// Without `providers:`, each prompt's `model:` is a provider (each once).
    fn prompt_models(&self, prompts: &[PlanPrompt], evalset: &Loc) -> Result<Vec<ProviderSpec>> {
        let mut specs: Vec<ProviderSpec> = Vec::new();
        for prompt in prompts {
            let Some(model) = &prompt.default_provider else {
                continue;
            };
            if specs.iter().any(|s| &s.id == model) {
                continue;
            }
            let at = Loc::file(&self.display(&prompt.source)).key("model");
            specs.push(self.provider(StrOr::Str(model.clone()), &at)?);
        }
        if specs.is_empty() {
            return Err(fail(
                evalset,
                "no providers: add `providers:` to the eval set, or `model:` to a prompt",
            ));
        }
        Ok(specs)
    }

    fn promptfoo(&mut self, path: &Path) -> Result<EvalPlan> {
        let shown = self.display(path);
        let file = Loc::file(&shown);
        let dir = path.parent().unwrap_or(Path::new("."));
        let doc: PromptfooDoc = parse_yaml(&read_text(path, &file)?, &shown, 0)?;

        for (present, key) in [
            (doc.scenarios.is_some(), "scenarios"),
            (doc.extensions.is_some(), "extensions"),
            (doc.nunjucks_filters.is_some(), "nunjucksFilters"),
            (doc.derived_metrics.is_some(), "derivedMetrics"),
            (doc.env.is_some(), "env"),
            (doc.redteam.is_some(), "redteam"),
        ] {
            if present {
                self.unsupported(key, &file.key(key));
            }
        }

        let Some(prompt_items) = doc.prompts else {
            return Err(fail(&file, "no prompts: add `prompts:`"));
        };
        let mut prompts: Vec<PlanPrompt> = Vec::new();
        let mut parsed = Vec::new();
        for (i, item) in prompt_items.0.into_iter().enumerate() {
            let at = file.key("prompts").index(i);
            let (prompt, p) = self.promptfoo_prompt(item, i, path, dir, &at)?;
            if prompts.iter().any(|q| q.id == prompt.id) {
                return Err(fail(
                    &at,
                    format!("prompt id {:?} is used twice", prompt.id),
                ));
            }
            prompts.push(prompt);
            parsed.push(p);
        }
        if prompts.is_empty() {
            return Err(fail(&file.key("prompts"), "the prompt list is empty"));
        }
        let Some(provider_items) = doc.providers else {
            return Err(fail(&file, "no providers: add `providers:`"));
        };
        let providers = self.providers(provider_items, &file.key("providers"))?;
        if providers.is_empty() {
            return Err(fail(&file.key("providers"), "the provider list is empty"));
        }

        let default_test = doc.default_test.unwrap_or_default();
        let dt = file.key("defaultTest");
        let mut judge = None;
        if let Some(options) = default_test.options {
            if options.transform.is_some() {
                self.unsupported("options.transform", &dt.key("options").key("transform"));
            }
            if options.postprocess.is_some() {
                self.unsupported("options.postprocess", &dt.key("options").key("postprocess"));
            }
            if let Some(p) = options.provider {
                judge = Some(self.provider(p, &dt.key("options").key("provider"))?);
            }
        }
        let mut default_vars = Map::new();
        for (k, v) in default_test.vars.unwrap_or_default() {
            let v = self.file_value(v, dir, &dt.key("vars").key(&k))?;
            default_vars.insert(k, v);
        }
        let defaults = Defaults {
            assertions: self.assertions(default_test.assertions, &dt.key("assert"), dir)?,
            vars: default_vars,
            threshold: default_test.threshold,
        };
        let inputs = match doc.tests {
            Some(items) => self.case_items(items, &file.key("tests"), dir)?,
            None => return Err(fail(&file, "no tests: add `tests:`")),
        };
        let cases = self.cases(inputs, &defaults, dir)?;
        if cases.is_empty() {
            return Err(fail(&file.key("tests"), "the test list is empty"));
        }
        check_renders(&parsed, &cases)?;

        let options = doc.evaluate_options.unwrap_or_default();
        let concurrency = options.max_concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            return Err(fail(
                &file.key("evaluateOptions").key("maxConcurrency"),
                "maxConcurrency must be at least 1",
            ));
        }
        let repeat = options.repeat.unwrap_or(1);
        if repeat == 0 {
            return Err(fail(
                &file.key("evaluateOptions").key("repeat"),
                "repeat must be at least 1",
            ));
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = if stem == "promptfooconfig" {
            path.canonicalize()
                .ok()
                .as_deref()
                .and_then(Path::parent)
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(stem)
        } else {
            stem
        };
        Ok(EvalPlan {
            name,
            source: path.to_path_buf(),
            description: doc.description,
            prompts,
            providers,
            cases,
            gates: Gates::default(),
            judge,
            embedder: None,
            concurrency,
            repeat,
            timeout: Duration::from_millis(options.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)),
            unsupported: std::mem::take(&mut self.unsupported),
        })
    }

    /// A promptfoo prompt: a template string, a `file://` path, or `{id, label, raw}`.
    fn promptfoo_prompt(
        &self,
        item: StrOr<PromptfooPromptDoc>,
        i: usize,
        config: &Path,
        dir: &Path,
        at: &Loc,
    ) -> Result<(PlanPrompt, Parsed)> {
        let (id, label, raw, params) = match item {
            StrOr::Str(raw) => (None, None, raw, Map::new()),
            StrOr::Obj(p) => {
                let raw =
                    match (p.raw, &p.id) {
                        (Some(raw), _) => raw,
                        // promptfoo's `{id: file://x.txt, label: ...}` names a file by its id.
                        (None, Some(id)) if id.starts_with("file://") => id.clone(),
                        (None, _) => return Err(fail(
                            at,
                            "a prompt needs `raw` (its text) or an `id` of the form file://PATH",
                        )),
                    };
                (p.id, p.label, raw, p.config.unwrap_or_default())
            }
        };
        let id = id
            .filter(|id| !id.starts_with("file://"))
            .unwrap_or_else(|| format!("prompt-{}", i + 1));
        let (template, source, template_source) = match raw.strip_prefix("file://") {
            Some(rel) => {
                if rel.contains(['*', '?']) {
                    return Err(fail(
                        at,
                        format!("file patterns ({raw}) are not supported; list the files"),
                    ));
                }
                let path = dir.join(rel);
                let shown = self.display(&path);
                let text = read_text(&path, at)?;
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or_default();
                let template = match ext {
                    "json" => PromptTemplate::Chat(messages_value(
                        parse_json(&text, &shown, None)?,
                        &Loc::file(&shown),
                    )?),
                    "yaml" | "yml" => match parse_yaml::<Value>(&text, &shown, 0)? {
                        Value::String(s) => PromptTemplate::Text(s),
                        other => PromptTemplate::Chat(messages_value(other, &Loc::file(&shown))?),
                    },
                    "txt" | "md" | "" => text_or_chat(text.trim().to_owned()),
                    _ => {
                        return Err(fail(
                            at,
                            format!("prompt files are .txt, .md, .json or .yaml; {shown} cannot be run here"),
                        ))
                    }
                };
                (template, path, shown)
            }
            None => (text_or_chat(raw), config.to_path_buf(), at.to_string()),
        };
        let templates = parse_prompt_templates(&template, &template_source, "")?;
        Ok((
            PlanPrompt {
                label: label.unwrap_or_else(|| id.clone()),
                id: id.clone(),
                template,
                source,
                params,
                default_provider: None,
            },
            Parsed {
                prompt_id: id,
                templates,
            },
        ))
    }
}

/// A prompt string that is a JSON list of chat messages is a chat prompt (as in promptfoo);
/// anything else is text.
fn text_or_chat(text: String) -> PromptTemplate {
    if text.trim_start().starts_with('[') {
        if let Ok(messages) = serde_json::from_str::<Vec<MessageTemplate>>(&text) {
            if !messages.is_empty()
                && messages
                    .iter()
                    .all(|m| matches!(m.role.as_str(), "system" | "user" | "assistant"))
            {
                return PromptTemplate::Chat(messages);
            }
        }
    }
    PromptTemplate::Text(text)
}

/// A chat messages array read from a prompt file.
fn messages_value(value: Value, loc: &Loc) -> Result<Vec<MessageTemplate>> {
    let Value::Array(items) = value else {
        return Err(fail(loc, "expected a list of {role, content} messages"));
    };
    let mut messages = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = loc.index(i);
        let m: MessageDoc = serde_json::from_value(item).map_err(|e| fail(&at, e.to_string()))?;
        check_role(&m.role, &at)?;
        messages.push(MessageTemplate {
            role: m.role,
            content: m.content,
        });
    }
    if messages.is_empty() {
        return Err(fail(loc, "the message list is empty"));
    }
    Ok(messages)
}

/// Rows of a CSV: each column a variable, except the `__` columns promptfoo defines.
fn csv_cases(text: &str, shown: &str) -> Result<Vec<CaseInput>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(1, |p| p.line() as usize);
        fail(&Loc::line(shown, line), e.to_string())
    };
    let headers = reader.headers().map_err(csv_error)?.clone();
    let is_expected = |h: &str| {
        h.strip_prefix("__expected")
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
    };
    for h in headers.iter() {
        if h.starts_with("__")
            && !is_expected(h)
            && !matches!(
                h,
                "__description" | "__id" | "__tags" | "__threshold" | "__weight" | "__metric"
            )
        {
            return Err(fail(
                &Loc::line(shown, 1),
                format!(
                    "unknown column {h:?}; the special columns are __expected, __expected1.., \
                     __description, __id, __tags, __threshold, __weight and __metric"
                ),
            ));
        }
    }
    let mut cases = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let loc = Loc::line(shown, line);
        let mut doc = CaseDoc::default();
        let mut vars = Map::new();
        let mut extra = Vec::new();
        let mut metric = None;
        let number = |h: &str, v: &str| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| fail(&loc.key(h), format!("{v:?} is not a number")))
        };
        for (h, v) in headers.iter().zip(record.iter()) {
            match h {
                _ if is_expected(h) => {
                    if !v.trim().is_empty() {
                        extra.push((expected_assertion(Value::String(v.to_owned())), loc.key(h)));
                    }
                }
                "__description" => doc.description = Some(v.to_owned()).filter(|s| !s.is_empty()),
                "__id" => doc.id = Some(v.to_owned()).filter(|s| !s.is_empty()),
                "__tags" => {
                    doc.tags = Some(
                        v.split(',')
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                "__threshold" if !v.trim().is_empty() => doc.threshold = Some(number(h, v)?),
                "__weight" if !v.trim().is_empty() => doc.weight = Some(number(h, v)?),
                "__metric" => metric = Some(v.to_owned()).filter(|s| !s.is_empty()),
                "__threshold" | "__weight" => {}
                _ => {
                    vars.insert(h.to_owned(), Value::String(v.to_owned()));
                }
            }
        }
        for (a, _) in &mut extra {
            a.metric = metric.clone();
        }
        doc.vars = Some(vars);
        cases.push(CaseInput { doc, loc, extra });
    }
    Ok(cases)
}

/// Renders every case with every prompt once, so a missing variable is reported at load, with
/// the case, the prompt file and the variable.
fn check_renders(parsed: &[Parsed], cases: &[PlanCase]) -> Result<()> {
    for case in cases {
        for p in parsed {
            for template in &p.templates {
                if let Err(e) = template.render(&case.vars) {
                    return Err(Error::EvalFile {
                        location: case.location.clone(),
                        message: format!(
                            "prompt {:?} cannot be rendered for this case: {e}",
                            p.prompt_id
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::plan::ProviderKind;
    use std::cell::RefCell;

    /// Writes `files` (path, content) under a fresh workspace.
    fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        dir
    }

    /// Builds a spec from an entry the way a real resolver would, enough to check what the
    /// files passed: model = the part after the last `:`; ids starting `bad:` are rejected.
    fn test_provider(entry: &ProviderEntry) -> std::result::Result<ProviderSpec, String> {
        if entry.id.starts_with("bad:") {
            return Err(format!("unknown provider {:?}", entry.id));
        }
        Ok(ProviderSpec {
            id: entry.id.clone(),
            label: entry.label.clone().unwrap_or_else(|| entry.id.clone()),
            kind: ProviderKind::OpenAi,
            model: entry.id.rsplit(':').next().unwrap_or_default().to_owned(),
            base_url: None,
            api_key_env: None,
            inline_api_key: None,
            params: entry.config.clone(),
            stream: false,
            api_version: None,
            headers: Vec::new(),
            prices: None,
        })
    }

    fn load(root: &Path, target: &str) -> Result<EvalPlan> {
        load_plan_with(root, target, &test_provider)
    }

    fn load_err(root: &Path, target: &str) -> String {
        match load(root, target) {
            Ok(_) => panic!("expected {target} to fail to load"),
            Err(e @ Error::EvalFile { .. }) => e.to_string(),
            Err(other) => panic!("expected an EvalFile error, got {other:?}"),
        }
    }

    const CLASSIFY_YAML: &str = "\
description: Classify a ticket
model: openai:gpt-4o-mini
params: {temperature: 0}
messages:
  - role: system
    content: You classify support tickets.
  - role: user
    content: \"Ticket: {{ticket}}\"
";

    const REPLY_MD: &str = "\
---
label: Reply v2
model: anthropic:claude-3-5-haiku-latest
system: You are polite.
---

Write a reply to:
{{ticket}}
{{#urgent}}
Answer within the hour.
{{/urgent}}
";

    const EVALSET: &str = "\
description: Classify support tickets
prompts:
  - classify
  - support/reply
  - {id: inline, text: \"Short: {{ticket}}\"}
providers:
  - openai:gpt-4o-mini
  - {id: anthropic:claude-3-5-haiku-latest, label: haiku, config: {temperature: 0, prices: {input: 0.8, output: 4}}}
judge: openai:gpt-4o
embedder: {id: openai:embedding:text-embedding-3-small}
default_assert:
  - {type: is-json}
gates: {pass_rate: 0.9, metrics: {category: 1.0}}
concurrency: 4
repeat: 2
timeout_ms: 5000
cases:
  - id: refund
    description: A refund request
    vars: {ticket: I want my money back, urgent: true}
    expected: \"contains:refund\"
    tags: [billing]
    weight: 2
    threshold: 0.5
  - description: Password reset
    vars: {ticket: I forgot my password}
    assert:
      - {type: not-contains, value: refund, metric: category}
      - {type: llm-rubric, value: Is polite, provider: {id: openai:gpt-4o, config: {temperature: 0}}}
  - vars: {ticket: hello}
    expected: {category: other}
";

    fn full_workspace() -> tempfile::TempDir {
        workspace(&[
            ("prompts/classify.yaml", CLASSIFY_YAML),
            ("prompts/support/reply.md", REPLY_MD),
            ("evalsets/support/evalset.yaml", EVALSET),
        ])
    }

    #[test]
    fn a_full_eval_set_loads_prompts_providers_cases_and_settings() {
        let ws = full_workspace();
        let seen = RefCell::new(Vec::new());
        let plan = load_plan_with(ws.path(), "support", &|e| {
            seen.borrow_mut().push(e.clone());
            test_provider(e)
        })
        .unwrap();

        assert_eq!(plan.name, "support");
        assert_eq!(
            plan.description.as_deref(),
            Some("Classify support tickets")
        );
        assert_eq!(plan.source, ws.path().join("evalsets/support/evalset.yaml"));

        let ids: Vec<&str> = plan.prompts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["classify", "support/reply", "inline"]);
        let classify = &plan.prompts[0];
        assert_eq!(
            classify.default_provider.as_deref(),
            Some("openai:gpt-4o-mini")
        );
        assert_eq!(classify.params.get("temperature"), Some(&Value::from(0)));
        assert!(
            matches!(&classify.template, PromptTemplate::Chat(m) if m.len() == 2 && m[1].content == "Ticket: {{ticket}}")
        );
        let reply = &plan.prompts[1];
        assert_eq!(reply.label, "Reply v2");
        match &reply.template {
            PromptTemplate::Chat(m) => {
                assert_eq!(
                    (m[0].role.as_str(), m[0].content.as_str()),
                    ("system", "You are polite.")
                );
                // The body is trimmed but otherwise kept as written.
                assert_eq!(m[1].content, "Write a reply to:\n{{ticket}}\n{{#urgent}}\nAnswer within the hour.\n{{/urgent}}");
            }
            other => panic!("expected chat, got {other:?}"),
        }
        assert_eq!(
            plan.prompts[2].template,
            PromptTemplate::Text("Short: {{ticket}}".into())
        );
        assert_eq!(plan.prompts[2].label, "inline");

        let labels: Vec<&str> = plan.providers.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["openai:gpt-4o-mini", "haiku"]);
        // The config goes to the resolver verbatim, with the entry's location.
        let haiku = seen
            .borrow()
            .iter()
            .find(|e| e.label.as_deref() == Some("haiku"))
            .cloned()
            .unwrap();
        assert_eq!(
            Value::Object(haiku.config),
            serde_json::json!({"temperature": 0, "prices": {"input": 0.8, "output": 4}})
        );
        assert_eq!(
            haiku.location,
            "evalsets/support/evalset.yaml: providers[1]"
        );
        assert_eq!(
            plan.judge.as_ref().map(|j| j.model.as_str()),
            Some("gpt-4o")
        );
        assert_eq!(
            plan.embedder.as_ref().map(|j| j.model.as_str()),
            Some("text-embedding-3-small")
        );

        assert_eq!(plan.gates.pass_rate, Some(0.9));
        assert_eq!(plan.gates.metrics.get("category"), Some(&1.0));
        assert_eq!(plan.gates.mean_score, None);
        assert_eq!((plan.concurrency, plan.repeat), (4, 2));
        assert_eq!(plan.timeout, Duration::from_millis(5000));
        assert!(plan.unsupported.is_empty());

        let case_ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(case_ids, ["refund", "Password reset", "case-3"]);
        assert_eq!(
            plan.cases.iter().map(|c| c.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let refund = &plan.cases[0];
        assert_eq!((refund.weight, refund.threshold), (2.0, Some(0.5)));
        assert_eq!(refund.tags, ["billing"]);
        assert_eq!(refund.location, "evalsets/support/evalset.yaml: cases[0]");
        // Defaults first, each copy at the default's location; then `expected`.
        let kinds: Vec<(&str, bool, &str)> = refund
            .assertions
            .iter()
            .map(|a| (a.kind.as_str(), a.negate, a.location.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "is-json",
                    false,
                    "evalsets/support/evalset.yaml: default_assert[0]"
                ),
                (
                    "contains",
                    false,
                    "evalsets/support/evalset.yaml: cases[0].expected"
                ),
            ]
        );
        assert_eq!(refund.assertions[1].value, Some(Value::from("refund")));

        let reset = &plan.cases[1];
        assert_eq!(reset.assertions.len(), 3);
        let not_contains = &reset.assertions[1];
        assert_eq!(
            (not_contains.kind.as_str(), not_contains.negate),
            ("contains", true)
        );
        assert_eq!(not_contains.metric.as_deref(), Some("category"));
        assert_eq!(
            not_contains.location,
            "evalsets/support/evalset.yaml: cases[1].assert[0]"
        );
        assert_eq!(
            reset.assertions[2].provider.as_deref(),
            Some("openai:gpt-4o")
        );
        assert_eq!(reset.weight, 1.0);

        let equals = &plan.cases[2].assertions[1];
        assert_eq!(equals.kind, "equals");
        assert_eq!(equals.value, Some(serde_json::json!({"category": "other"})));
    }

    #[test]
    fn cases_files_are_read_in_order_when_cases_is_absent() {
        let ws = workspace(&[
            ("prompts/p.yaml", "text: \"{{q}}\"\nmodel: openai:gpt-4o-mini\n"),
            ("evalsets/x/evalset.yaml", "prompts: [p]\ndefault_assert: [{type: icontains, value: a}]\n"),
            (
                "evalsets/x/cases.jsonl",
                "{\"vars\": {\"q\": \"one\"}, \"expected\": \"regex:^o\"}\n\n{\"id\": \"two\", \"vars\": {\"q\": 2}, \"tags\": [\"n\"]}\n",
            ),
            ("evalsets/x/cases.yaml", "- description: from yaml\n  vars: {q: three}\n"),
            (
                "evalsets/x/cases.csv",
                "q,__expected,__expected2,__description,__tags,__threshold,__weight,__metric\n\
                 four,not-contains:five,\"contains-any:a, b\",fourth,\"x, y\",0.5,3,acc\n\
                 \"multi\nline\",,,,,,,\n",
            ),
        ]);
        let plan = load(ws.path(), "x").unwrap();
        let summary: Vec<(usize, &str, &str)> = plan
            .cases
            .iter()
            .map(|c| (c.index, c.id.as_str(), c.location.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (0, "case-1", "evalsets/x/cases.jsonl:1"),
                (1, "two", "evalsets/x/cases.jsonl:3"),
                (2, "from yaml", "evalsets/x/cases.yaml: [0]"),
                (3, "fourth", "evalsets/x/cases.csv:2"),
                (4, "case-5", "evalsets/x/cases.csv:3"),
            ]
        );
        // The provider came from the prompt's `model:`.
        assert_eq!(plan.providers.len(), 1);
        assert_eq!(plan.providers[0].id, "openai:gpt-4o-mini");
        assert_eq!(plan.cases[0].assertions[1].kind, "regex");
        assert_eq!(plan.cases[1].vars.get("q"), Some(&Value::from(2)));

        let csv = &plan.cases[3];
        assert_eq!(csv.vars.get("q"), Some(&Value::from("four")));
        assert_eq!(csv.vars.len(), 1, "special columns are not variables");
        assert_eq!(csv.tags, ["x", "y"]);
        assert_eq!((csv.threshold, csv.weight), (Some(0.5), 3.0));
        let a = &csv.assertions[1];
        assert_eq!(
            (a.kind.as_str(), a.negate, a.metric.as_deref()),
            ("contains", true, Some("acc"))
        );
        assert_eq!(a.location, "evalsets/x/cases.csv:2: __expected");
        assert_eq!(csv.assertions[2].value, Some(serde_json::json!(["a", "b"])));
        assert_eq!(
            csv.assertions[0].metric, None,
            "__metric applies to the row's own assertions"
        );
        // A quoted CSV cell may span lines; the next row's line number accounts for it.
        assert_eq!(
            plan.cases[4].vars.get("q"),
            Some(&Value::from("multi\nline"))
        );
        assert_eq!(plan.cases[4].assertions.len(), 1);
    }

    #[test]
    fn cases_may_name_files_relative_to_the_eval_set() {
        let ws = workspace(&[
            ("evalsets/x/evalset.yaml", "prompts: [{id: p, text: \"{{q}}\"}]\nproviders: openai:m\ncases: [more/a.jsonl, {vars: {q: inline}}, file://b.yaml]\n"),
            ("evalsets/x/more/a.jsonl", "{\"vars\": {\"q\": \"a\"}}\n"),
            ("evalsets/x/b.yaml", "- vars: {q: b}\n"),
            ("evalsets/x/cases.jsonl", "{\"vars\": {\"q\": \"ignored\"}}\n"),
        ]);
        let plan = load(ws.path(), "x").unwrap();
        let qs: Vec<&Value> = plan.cases.iter().map(|c| &c.vars["q"]).collect();
        assert_eq!(qs, ["a", "inline", "b"]);
        assert_eq!(plan.cases[1].location, "evalsets/x/evalset.yaml: cases[1]");
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_key_its_path_and_line() {
        let ws = full_workspace();
        let text = EVALSET.replace(
            "  - vars: {ticket: hello}",
            "  - vars: {ticket: hello}\n    asert: []",
        );
        std::fs::write(ws.path().join("evalsets/support/evalset.yaml"), text).unwrap();
        let e = load_err(ws.path(), "support");
        assert!(
            e.starts_with("evalsets/support/evalset.yaml:31: cases[2]: unknown field `asert`, expected one of"),
            "{e}"
        );
        // Nested too: an assertion's key.
        let text = EVALSET.replace("{type: is-json}", "{type: is-json, valeu: 1}");
        std::fs::write(ws.path().join("evalsets/support/evalset.yaml"), text).unwrap();
        let e = load_err(ws.path(), "support");
        assert!(
            e.contains("evalset.yaml:12: default_assert[0]: unknown field `valeu`"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_jsonl_line_names_the_line_and_field() {
        let ws = workspace(&[
            (
                "evalsets/x/evalset.yaml",
                "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\n",
            ),
            (
                "evalsets/x/cases.jsonl",
                "{\"vars\": {}}\n\n{\"vars\": {}, \"weight\": \"heavy\"}\n",
            ),
        ]);
        let e = load_err(ws.path(), "x");
        assert!(
            e.starts_with("evalsets/x/cases.jsonl:3: weight: invalid type: string \"heavy\""),
            "{e}"
        );
        std::fs::write(ws.path().join("evalsets/x/cases.jsonl"), "{\"vars\": {}\n").unwrap();
        let e = load_err(ws.path(), "x");
        assert!(e.starts_with("evalsets/x/cases.jsonl:1:"), "{e}");
    }

    #[test]
    fn a_case_missing_a_variable_is_reported_at_load_with_case_prompt_and_variable() {
        let ws = full_workspace();
        let text = EVALSET.replace(
            "vars: {ticket: I forgot my password}",
            "vars: {tiket: I forgot my password}",
        );
        std::fs::write(ws.path().join("evalsets/support/evalset.yaml"), text).unwrap();
        let e = load_err(ws.path(), "support");
        assert!(
            e.starts_with("evalsets/support/evalset.yaml: cases[1]: "),
            "{e}"
        );
        assert!(e.contains("prompt \"classify\""), "{e}");
        assert!(e.contains("prompts/classify.yaml (messages[1])"), "{e}");
        assert!(e.contains("`ticket` is not set (set: tiket)"), "{e}");
    }

    #[test]
    fn unsupported_assertions_are_kept_and_listed() {
        let ws = workspace(&[(
            "evalsets/x/evalset.yaml",
            "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\ncases:\n  - assert:\n      - {type: javascript, value: output.length > 1}\n      - {type: contains, value: hi}\n    expected: \"fn:output === 'hi'\"\n  - assert: [{type: not-is-refusal}]\n",
        )]);
        let plan = load(ws.path(), "x").unwrap();
        assert_eq!(
            plan.unsupported,
            [
                Unsupported {
                    what: "assertion type javascript".into(),
                    location: "evalsets/x/evalset.yaml: cases[0].assert[0]".into()
                },
                Unsupported {
                    what: "assertion type javascript".into(),
                    location: "evalsets/x/evalset.yaml: cases[0].expected".into()
                },
                Unsupported {
                    what: "assertion type not-is-refusal".into(),
                    location: "evalsets/x/evalset.yaml: cases[1].assert[0]".into()
                },
            ]
        );
        let kept: Vec<&str> = plan.cases[0]
            .assertions
            .iter()
            .map(|a| a.kind.as_str())
            .collect();
        assert_eq!(kept, ["javascript", "contains", "javascript"]);
        assert_eq!(
            plan.cases[0].assertions[2].value,
            Some(Value::from("output === 'hi'"))
        );
        assert!(plan.cases[1].assertions[0].negate);
    }

    #[test]
    fn file_values_are_read_relative_to_the_eval_set() {
        let ws = workspace(&[
            (
                "evalsets/x/evalset.yaml",
                "prompts: [{id: p, text: \"{{doc}}\"}]\nproviders: [openai:m]\ncases:\n  - vars: {doc: file://doc.txt}\n    assert:\n      - {type: is-json, value: file://schema.json}\n      - {type: contains-json, value: file://schema.yaml}\n      - {type: llm-rubric, value: file://rubric.md}\n",
            ),
            ("evalsets/x/doc.txt", "the document"),
            ("evalsets/x/schema.json", "{\"type\": \"object\"}"),
            ("evalsets/x/schema.yaml", "type: array\n"),
            ("evalsets/x/rubric.md", "Be kind."),
        ]);
        let plan = load(ws.path(), "x").unwrap();
        let case = &plan.cases[0];
        assert_eq!(case.vars["doc"], "the document");
        let values: Vec<Value> = case
            .assertions
            .iter()
            .map(|a| a.value.clone().unwrap())
            .collect();
        assert_eq!(
            values,
            [
                serde_json::json!({"type": "object"}),
                serde_json::json!({"type": "array"}),
                Value::from("Be kind.")
            ]
        );

        std::fs::remove_file(ws.path().join("evalsets/x/rubric.md")).unwrap();
        let e = load_err(ws.path(), "x");
        assert!(
            e.starts_with("evalsets/x/evalset.yaml: cases[0].assert[2].value: cannot read"),
            "{e}"
        );
    }

    #[test]
    fn expected_shorthand_maps_promptfoo_prefixes() {
        let cases: &[(Value, &str, Option<Value>, Option<f64>)] = &[
            (
                Value::from("Paris"),
                "equals",
                Some(Value::from("Paris")),
                None,
            ),
            (Value::from(42), "equals", Some(Value::from(42)), None),
            (
                Value::from("contains:Paris"),
                "contains",
                Some(Value::from("Paris")),
                None,
            ),
            (
                Value::from("icontains:paris"),
                "icontains",
                Some(Value::from("paris")),
                None,
            ),
            (
                Value::from("not-contains:x"),
                "not-contains",
                Some(Value::from("x")),
                None,
            ),
            (
                Value::from("regex:^a.*$"),
                "regex",
                Some(Value::from("^a.*$")),
                None,
            ),
            (
                Value::from("starts-with:Hi"),
                "starts-with",
                Some(Value::from("Hi")),
                None,
            ),
            (Value::from("is-json"), "is-json", None, None),
            (
                Value::from("grade:Is polite"),
                "llm-rubric",
                Some(Value::from("Is polite")),
                None,
            ),
            (
                Value::from("llm-rubric: Is polite"),
                "llm-rubric",
                Some(Value::from("Is polite")),
                None,
            ),
            (
                Value::from("similar(0.8):hello"),
                "similar",
                Some(Value::from("hello")),
                Some(0.8),
            ),
            (
                Value::from("python:output == 1"),
                "python",
                Some(Value::from("output == 1")),
                None,
            ),
            (
                Value::from("javascript:1"),
                "javascript",
                Some(Value::from("1")),
                None,
            ),
            (
                Value::from("contains-all:a,b"),
                "contains-all",
                Some(serde_json::json!(["a", "b"])),
                None,
            ),
            // A bare type name that needs a value is a literal answer, not an assertion.
            (
                Value::from("contains"),
                "equals",
                Some(Value::from("contains")),
                None,
            ),
        ];
        for (input, kind, value, threshold) in cases {
            let a = expected_assertion(input.clone());
            assert_eq!(
                (a.kind.as_str(), &a.value, a.threshold),
                (*kind, value, *threshold),
                "{input}"
            );
        }
    }

    #[test]
    fn the_promptfoo_fixture_loads_as_is() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/promptfoo/promptfooconfig.yaml");
        let ws = workspace(&[]);
        let seen = RefCell::new(Vec::new());
        let plan = load_plan_with(ws.path(), fixture.to_str().unwrap(), &|e| {
            seen.borrow_mut().push(e.clone());
            test_provider(e)
        })
        .unwrap();
        assert_eq!(plan.name, "promptfoo");
        assert_eq!(
            plan.description.as_deref(),
            Some("LLMOps workbench import fixture (mock gpt-4o-mini)")
        );
        let prompts: Vec<(&str, &str)> = plan
            .prompts
            .iter()
            .map(|p| (p.id.as_str(), p.label.as_str()))
            .collect();
        assert_eq!(
            prompts,
            [("echo", "echo_prompt"), ("answer", "answer_prompt")]
        );
        assert_eq!(
            plan.prompts[0].template,
            PromptTemplate::Text("ECHO: {{input}}".into())
        );
        assert_eq!(plan.cases.len(), 11);
        assert_eq!(plan.cases[0].id, "exact echo");
        assert_eq!(plan.cases[0].vars["input"], "hello world");

        let entries = seen.borrow();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "openai:chat:gpt-4o-mini");
        assert_eq!(entries[0].label.as_deref(), Some("mock-gpt-4o-mini"));
        assert_eq!(
            Value::Object(entries[0].config.clone()),
            serde_json::json!({"apiBaseUrl": "http://127.0.0.1:18080/v1", "apiKey": "sk-test-dummy", "temperature": 0, "max_tokens": 256})
        );

        let json_case = &plan.cases[8];
        assert_eq!(json_case.threshold, Some(0.5));
        assert_eq!(json_case.assertions[0].weight, 2.0);
        let contains_city = &plan.cases[1].assertions;
        assert_eq!(
            (contains_city[1].kind.as_str(), contains_city[1].negate),
            ("contains", true)
        );
        let budget: Vec<(&str, Option<f64>)> = plan.cases[9]
            .assertions
            .iter()
            .map(|a| (a.kind.as_str(), a.threshold))
            .collect();
        assert_eq!(budget, [("latency", Some(1000.0)), ("cost", Some(0.001))]);

        let unsupported: Vec<(&str, String)> = plan
            .unsupported
            .iter()
            .map(|u| {
                (
                    u.what.as_str(),
                    u.location.rsplit(": ").next().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            unsupported,
            [
                ("assertion type javascript", "tests[5].assert[0]".to_owned()),
                ("assertion type javascript", "tests[6].assert[0]".to_owned()),
                ("assertion type javascript", "tests[8].assert[1]".to_owned()),
            ]
        );
        assert!(plan.unsupported[0]
            .location
            .ends_with("promptfooconfig.yaml: tests[5].assert[0]"));
        assert_eq!((plan.concurrency, plan.repeat), (8, 1));
    }

    #[test]
    fn promptfoo_defaults_files_and_unsupported_keys() {
        let ws = workspace(&[
            (
                "pf/promptfooconfig.yaml",
                "\
prompts: [file://prompts/ask.txt, file://prompts/chat.json, \"Inline {{topic}}\"]
providers: openai:gpt-4o-mini
defaultTest:
  vars: {tone: dry, topic: default}
  assert: [{type: icontains, value: x, transform: output.trim()}]
  options: {provider: openai:gpt-4o}
  threshold: 0.7
tests: [file://tests.csv, {vars: {topic: cats}, options: {provider: openai:judge2, postprocess: x}}]
evaluateOptions: {maxConcurrency: 2, repeat: 3}
scenarios: []
nunjucksFilters: {up: f.js}
sharing: false
outputPath: out.json
",
            ),
            ("pf/prompts/ask.txt", "Tell me about {{topic}} in a {{tone}} tone.\n"),
            ("pf/prompts/chat.json", "[{\"role\": \"system\", \"content\": \"Be {{tone}}\"}, {\"role\": \"user\", \"content\": \"{{topic}}\"}]"),
            ("pf/tests.csv", "topic,__expected\ndogs,contains:dog\n"),
        ]);
        let plan = load(ws.path(), "pf").unwrap();
        assert_eq!(plan.name, "pf");
        let ids: Vec<&str> = plan.prompts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["prompt-1", "prompt-2", "prompt-3"]);
        assert_eq!(
            plan.prompts[0].template,
            PromptTemplate::Text("Tell me about {{topic}} in a {{tone}} tone.".into())
        );
        assert!(
            matches!(&plan.prompts[1].template, PromptTemplate::Chat(m) if m.len() == 2 && m[0].role == "system")
        );
        assert_eq!(
            plan.prompts[1].source,
            ws.path().join("pf/prompts/chat.json")
        );
        assert_eq!(
            plan.judge.as_ref().map(|j| j.id.as_str()),
            Some("openai:gpt-4o")
        );
        assert_eq!((plan.concurrency, plan.repeat), (2, 3));

        assert_eq!(plan.cases.len(), 2);
        let csv = &plan.cases[0];
        assert_eq!(csv.vars["topic"], "dogs", "test vars win over defaults");
        assert_eq!(csv.vars["tone"], "dry", "defaults fill the rest");
        assert_eq!(csv.threshold, Some(0.7));
        assert_eq!(csv.location, "pf/tests.csv:2");
        let kinds: Vec<&str> = csv.assertions.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["icontains", "contains"]);
        // A test's options.provider becomes its assertions' provider.
        assert!(plan.cases[1]
            .assertions
            .iter()
            .all(|a| a.provider.as_deref() == Some("openai:judge2")));

        let what: Vec<(&str, &str)> = plan
            .unsupported
            .iter()
            .map(|u| (u.what.as_str(), u.location.as_str()))
            .collect();
        assert_eq!(
            what,
            [
                ("scenarios", "pf/promptfooconfig.yaml: scenarios"),
                (
                    "nunjucksFilters",
                    "pf/promptfooconfig.yaml: nunjucksFilters"
                ),
                (
                    "assertion transform",
                    "pf/promptfooconfig.yaml: defaultTest.assert[0].transform"
                ),
                (
                    "options.postprocess",
                    "pf/promptfooconfig.yaml: tests[1].options.postprocess"
                ),
            ]
        );

        // An unknown top-level key is an error naming it.
        let path = ws.path().join("pf/promptfooconfig.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}evaluateOption: {{}}\n")).unwrap();
        let e = load_err(ws.path(), "pf");
        assert!(e.contains("unknown field `evaluateOption`"), "{e}");
    }

    #[test]
    fn a_rejected_provider_is_reported_at_its_entry() {
        let ws = workspace(&[(
            "evalsets/x/evalset.yaml",
            "prompts: [{id: p, text: hi}]\nproviders: [openai:m, {id: \"bad:thing\", label: b}]\ncases: [{vars: {}}]\n",
        )]);
        let e = load_err(ws.path(), "x");
        assert_eq!(
            e,
            "evalsets/x/evalset.yaml: providers[1]: unknown provider \"bad:thing\""
        );
        // The real resolver rejects an unknown vendor too, at the same location.
        std::fs::write(
            ws.path().join("evalsets/x/evalset.yaml"),
            "prompts: [{id: p, text: hi}]\nproviders: [\"no-such-vendor:model\"]\ncases: [{vars: {}}]\n",
        )
        .unwrap();
        let e = load_plan(ws.path(), "x").unwrap_err().to_string();
        assert!(
            e.starts_with("evalsets/x/evalset.yaml: providers[0]: "),
            "{e}"
        );
    }

    #[test]
    fn without_providers_prompt_models_are_used_once_or_the_user_is_told() {
        let ws = workspace(&[
            ("prompts/a.yaml", "text: a\nmodel: openai:m1\n"),
            ("prompts/b.md", "---\nmodel: openai:m1\n---\nb\n"),
            ("prompts/c.md", "c"),
            (
                "evalsets/x/evalset.yaml",
                "prompts: [a, b]\ncases: [{vars: {}}]\n",
            ),
            (
                "evalsets/y/evalset.yaml",
                "prompts: [c]\ncases: [{vars: {}}]\n",
            ),
        ]);
        let plan = load(ws.path(), "x").unwrap();
        assert_eq!(
            plan.providers
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["openai:m1"]
        );
        let e = load_err(ws.path(), "y");
        assert!(
            e.starts_with("evalsets/y/evalset.yaml: no providers"),
            "{e}"
        );
        assert!(
            e.contains("add `providers:`") && e.contains("`model:`"),
            "{e}"
        );
    }

    #[test]
    fn targets_resolve_by_name_folder_and_file_and_list_the_eval_sets() {
        let ws = workspace(&[
            (
                "evalsets/b/evalset.yaml",
                "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\ncases: [{vars: {}}]\n",
            ),
            (
                "evalsets/a/evalset.yml",
                "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\ncases: [{vars: {}}]\n",
            ),
            ("evalsets/notes/readme.txt", "not an eval set"),
        ]);
        let root = ws.path();
        assert_eq!(load(root, "b").unwrap().name, "b");
        assert_eq!(load(root, "evalsets/a").unwrap().name, "a");
        assert_eq!(
            load(root, root.join("evalsets/b/evalset.yaml").to_str().unwrap())
                .unwrap()
                .name,
            "b"
        );
        let e = load_err(root, "c");
        assert_eq!(
            e,
            "c: no eval set or promptfoo config found (available eval sets: a, b)"
        );
        let names: Vec<String> = list_evalsets(root).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            list_evalsets(root)[0].1,
            root.join("evalsets/a/evalset.yml")
        );
    }

    #[test]
    fn prompts_are_listed_and_loaded_by_path() {
        let ws = workspace(&[
            ("prompts/a.yaml", "text: a\n"),
            ("prompts/sub/b.md", "b"),
            ("prompts/notes.txt", "not a prompt"),
        ]);
        let ids: Vec<String> = list_prompts(ws.path())
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["a", "sub/b"]);
        let b = load_prompt(&ws.path().join("prompts/sub/b.md")).unwrap();
        assert_eq!((b.id.as_str(), b.label.as_str()), ("sub/b", "sub/b"));
        assert_eq!(b.template, PromptTemplate::Text("b".into()));
    }

    #[test]
    fn duplicate_case_ids_name_both_locations() {
        let ws = workspace(&[(
            "evalsets/x/evalset.yaml",
            "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\ncases:\n  - {id: a, vars: {}}\n  - {id: b, vars: {}}\n  - {id: a, vars: {}}\n",
        )]);
        let e = load_err(ws.path(), "x");
        assert_eq!(
            e,
            "evalsets/x/evalset.yaml: cases[2]: case id \"a\" is already used at evalsets/x/evalset.yaml: cases[0]; ids must be unique"
        );
    }

    #[test]
    fn prompt_file_errors_name_the_file_and_what_is_wrong() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "prompts/p.yaml",
                "messages:\n  - {role: user, content: hi}\n  - {role: tool, content: x}\n",
                "prompts/p.yaml: messages[1].role: role \"tool\" is not one of system, user, assistant",
            ),
            ("prompts/p.yaml", "text: a\nmessages: []\n", "prompts/p.yaml: a prompt has either `text` or `messages`, not both"),
            ("prompts/p.yaml", "txt: a\n", "prompts/p.yaml:1: unknown field `txt`"),
            // The body starts on line 5 of the file; the unclosed section is on line 6.
            ("prompts/p.md", "---\nlabel: x\n---\n\nHello\n{{#items}}\n", "prompts/p.md:6: section `items` is never closed"),
            ("prompts/p.md", "---\nlabel: x\nmodle: y\n---\nHi\n", "prompts/p.md:3: unknown field `modle`"),
            ("prompts/p.md", "Hi {{ name | upper }}", "prompts/p.md:1: filters such as `{{ name | upper }}` are not supported"),
            ("prompts/p.yaml", "text: \"{{#a}}\"\n", "prompts/p.yaml (text):1: section `a` is never closed"),
        ];
        for (path, text, expected) in cases {
            let ws = workspace(&[
                (path, text),
                (
                    "evalsets/x/evalset.yaml",
                    "prompts: [p]\nproviders: [openai:m]\ncases: [{vars: {}}]\n",
                ),
            ]);
            let e = load_err(ws.path(), "x");
            assert!(
                e.starts_with(expected),
                "{path} {text:?}\n got: {e}\nwant: {expected}"
            );
        }
    }

    #[test]
    fn csv_rejects_unknown_special_columns() {
        let ws = workspace(&[
            (
                "evalsets/x/evalset.yaml",
                "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\n",
            ),
            ("evalsets/x/cases.csv", "q,__expectd\na,b\n"),
        ]);
        let e = load_err(ws.path(), "x");
        assert!(
            e.starts_with("evalsets/x/cases.csv:1: unknown column \"__expectd\""),
            "{e}"
        );
        std::fs::write(
            ws.path().join("evalsets/x/cases.csv"),
            "q,__weight\na,heavy\n",
        )
        .unwrap();
        let e = load_err(ws.path(), "x");
        assert_eq!(
            e,
            "evalsets/x/cases.csv:2: __weight: \"heavy\" is not a number"
        );
    }

    #[test]
    fn missing_cases_and_prompts_are_explained() {
        let ws = workspace(&[
            (
                "evalsets/x/evalset.yaml",
                "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\n",
            ),
            (
                "evalsets/y/evalset.yaml",
                "prompts: [nope]\nproviders: [openai:m]\ncases: [{vars: {}}]\n",
            ),
            ("prompts/yes.md", "hi"),
        ]);
        assert!(load_err(ws.path(), "x").contains("no cases"));
        assert_eq!(
            load_err(ws.path(), "y"),
            "evalsets/y/evalset.yaml: prompts[0]: prompt \"nope\" not found: no prompts/nope.yaml, .yml or .md (available: yes)"
        );
    }

    #[test]
    fn yaml_syntax_errors_give_the_line_once() {
        let ws = workspace(&[(
            "evalsets/x/evalset.yaml",
            "prompts: [{id: p, text: hi}]\nproviders: [openai:m]\ncases:\n  - vars: {}\n   bad: 1\n",
        )]);
        let e = load_err(ws.path(), "x");
        assert!(e.starts_with("evalsets/x/evalset.yaml:5: "), "{e}");
        assert!(
            !e.contains("at line"),
            "the line is in the location only: {e}"
        );
    }

    #[test]
    fn inline_chat_prompts_check_their_roles() {
        let ws = workspace(&[(
            "evalsets/x/evalset.yaml",
            "prompts:\n  - id: chat\n    messages: [{role: system, content: S}, {role: user, content: \"{{q}}\"}]\nproviders: [openai:m]\ncases: [{vars: {q: 1}}]\n",
        )]);
        let plan = load(ws.path(), "x").unwrap();
        assert!(matches!(&plan.prompts[0].template, PromptTemplate::Chat(m) if m.len() == 2));
        assert_eq!(
            plan.prompts[0].source,
            ws.path().join("evalsets/x/evalset.yaml")
        );
        let path = ws.path().join("evalsets/x/evalset.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("role: user", "role: human");
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            load_err(ws.path(), "x"),
            "evalsets/x/evalset.yaml: prompts[0].messages[1].role: role \"human\" is not one of system, user, assistant"
        );
    }
}
