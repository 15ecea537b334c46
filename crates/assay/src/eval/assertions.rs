//! Assertions: check a provider's output against what a case expects.
//!
//! The deterministic checks (`contains`, `regex`, `is-json`, ...) are cheap and allocate little
//! beyond their reason, because the runner evaluates them for every case. Model-graded checks
//! (`llm-rubric`, `factuality`) and `similar` go through [`ModelCalls`]; `command` runs a
//! user's program. Semantics follow promptfoo where it has the type, so configs carry over.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::eval::plan::{AssertionSpec, PlanCase, ProviderError, ProviderResponse};
use crate::model::Message;

/// A boxed future, for the model calls assertions make through [`ModelCalls`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The model calls model-graded (`llm-rubric`, `factuality`) and embedding (`similar`)
/// assertions make. The runner implements it with the same cache, retries and replay as the
/// calls under test, so graded runs are cached and replayable too.
pub trait ModelCalls: Send + Sync {
    /// A chat completion by `provider` (an id from the config; `None` = the plan's judge).
    fn complete<'a>(
        &'a self,
        provider: Option<&'a str>,
        messages: Vec<Message>,
    ) -> BoxFuture<'a, Result<ProviderResponse, ProviderError>>;

    /// Embeddings of `texts` by `provider` (`None` = the plan's embedder), one vector per text.
    fn embed<'a>(
        &'a self,
        provider: Option<&'a str>,
        texts: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ProviderError>>;
}

/// What an assertion sees.
#[derive(Debug, Clone, Copy)]
pub struct AssertionContext<'a> {
    /// The output text under test.
    pub output: &'a str,
    /// The full response (latency, usage, tool calls).
    pub response: &'a ProviderResponse,
    /// The call's cost in USD, when known.
    pub cost: Option<f64>,
    /// The rendered prompt as text (messages joined), for model-graded assertions.
    pub prompt: &'a str,
    /// The case (vars, description, tags).
    pub case: &'a PlanCase,
    /// The case's variables.
    pub vars: &'a Map<String, Value>,
}

/// The outcome of one assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertionResult {
    /// The type as written (`not-contains`).
    pub kind: String,
    /// Whether it passed (after negation).
    pub pass: bool,
    /// Score in 0..1 (after negation).
    pub score: f64,
    /// Why: what was expected and what was found, or the judge's reasoning.
    pub reason: String,
    /// Weight in the case's score.
    pub weight: f64,
    /// The named metric, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// True when the assertion could not be evaluated because Assay does not support its
    /// type (it then counts neither as pass nor as fail, and is reported).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsupported: bool,
    /// True when evaluating it failed (a judge call failed, a command crashed): the result is
    /// an error, not a failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
}

/// Assertion types Assay evaluates (without the `not-` prefix).
pub const SUPPORTED: &[&str] = &[
    "equals",
    "contains",
    "icontains",
    "contains-any",
    "contains-all",
    "icontains-any",
    "icontains-all",
    "starts-with",
    "regex",
    "is-json",
    "contains-json",
    "json-schema",
    "levenshtein",
    "similar",
    "latency",
    "cost",
    "llm-rubric",
    "factuality",
    "command",
];

/// How long a `command` assertion may run before it is killed.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// `levenshtein`'s maximum edit distance when the spec sets no threshold (promptfoo's default).
pub const DEFAULT_LEVENSHTEIN_THRESHOLD: f64 = 5.0;

/// `similar`'s minimum cosine similarity when the spec sets no threshold (promptfoo's default).
pub const DEFAULT_SIMILARITY_THRESHOLD: f64 = 0.75;

/// The system message of an `llm-rubric` judge call. Fake providers in tests recognise it, so
/// it must not change casually.
pub const LLM_RUBRIC_SYSTEM: &str = "You grade an output against a rubric. Reply with only a JSON object {\"reason\": string, \"pass\": boolean, \"score\": number between 0 and 1}.";

/// The system message of a `factuality` judge call. Fake providers in tests recognise it.
pub const FACTUALITY_SYSTEM: &str = "You compare a submitted answer to an expert answer. Reply with only a JSON object {\"choice\": one of \"A\",\"B\",\"C\",\"D\",\"E\", \"reason\": string}.";

/// The messages of an `llm-rubric` judge call.
pub fn llm_rubric_messages(output: &str, rubric: &str) -> Vec<Message> {
    vec![
        text_message("system", LLM_RUBRIC_SYSTEM.to_string()),
        text_message(
            "user",
            format!("<Output>\n{output}\n</Output>\n<Rubric>\n{rubric}\n</Rubric>"),
        ),
    ]
}

/// The messages of a `factuality` judge call.
pub fn factuality_messages(prompt: &str, reference: &str, output: &str) -> Vec<Message> {
    vec![
        text_message("system", FACTUALITY_SYSTEM.to_string()),
        text_message(
            "user",
            format!(
                "<Question>\n{prompt}\n</Question>\n<Expert>\n{reference}\n</Expert>\n<Submission>\n{output}\n</Submission>"
            ),
        ),
    ]
}

fn text_message(role: &str, content: String) -> Message {
    Message {
        role: role.to_string(),
        content: Some(content),
        ..Message::default()
    }
}

/// Checks at load time that a spec can be evaluated: a known type, the value it needs, a regex
/// that compiles, a schema that is valid. The message names what is wrong.
pub fn validate(spec: &AssertionSpec) -> Result<(), String> {
    let kind = spec.kind.as_str();
    if !SUPPORTED.contains(&kind) {
        return Err(format!(
            "unknown assertion type \"{kind}\"; supported types: {}",
            SUPPORTED.join(", ")
        ));
    }
    if !spec.weight.is_finite() || spec.weight < 0.0 {
        return Err(format!(
            "{kind}: weight must be a number >= 0, got {}",
            spec.weight
        ));
    }
    if let Some(t) = spec.threshold {
        if !t.is_finite() {
            return Err(format!("{kind}: threshold must be a finite number"));
        }
    }
    let value = spec.value.as_ref();
    match kind {
        "equals" => match value {
            None | Some(Value::Null) => {
                Err(expects(kind, "a value (text, or a JSON object/array)"))
            }
            Some(_) => Ok(()),
        },
        "contains" | "icontains" | "starts-with" => non_empty_text(kind, value).map(|_| ()),
        "contains-any" | "contains-all" | "icontains-any" | "icontains-all" => {
            text_list(kind, value).map(|_| ())
        }
        "regex" => {
            let pattern = non_empty_text(kind, value)?;
            cached_regex(&pattern).map(|_| ())
        }
        "is-json" | "contains-json" => match value {
            None | Some(Value::Null) => Ok(()),
            Some(v) => schema_value(kind, v).and_then(|s| check_schema(&s)),
        },
        "json-schema" => match value {
            None | Some(Value::Null) => Err(expects(kind, "a JSON Schema (an object)")),
            Some(v) => schema_value(kind, v).and_then(|s| check_schema(&s)),
        },
        "levenshtein" => {
            text_value(kind, value)?;
            threshold_at_least(kind, spec.threshold, 0.0, "a maximum edit distance >= 0")
        }
        "similar" => {
            similar_values(kind, value)?;
            threshold_in_unit(kind, spec.threshold, "a minimum similarity")
        }
        "latency" => required_threshold(kind, spec.threshold, "the maximum latency in ms"),
        "cost" => required_threshold(kind, spec.threshold, "the maximum cost in USD"),
        "llm-rubric" => {
            non_empty_text(kind, value)?;
            threshold_in_unit(kind, spec.threshold, "a minimum judge score")
        }
        "factuality" => non_empty_text(kind, value).map(|_| ()),
        "command" => command_argv(value).map(|_| ()),
        _ => Ok(()),
    }
}

fn expects(kind: &str, what: &str) -> String {
    format!("{kind} expects `value` to be {what}")
}

fn threshold_at_least(kind: &str, t: Option<f64>, min: f64, what: &str) -> Result<(), String> {
    match t {
        Some(t) if t < min => Err(format!("{kind}: threshold must be {what}, got {t}")),
        _ => Ok(()),
    }
}

fn threshold_in_unit(kind: &str, t: Option<f64>, what: &str) -> Result<(), String> {
    match t {
        Some(t) if !(0.0..=1.0).contains(&t) => Err(format!(
            "{kind}: threshold must be {what} between 0 and 1, got {t}"
        )),
        _ => Ok(()),
    }
}

fn required_threshold(kind: &str, t: Option<f64>, what: &str) -> Result<(), String> {
    match t {
        None => Err(format!("{kind} needs `threshold`: {what}")),
        Some(_) => threshold_at_least(kind, t, 0.0, &format!("{what}, >= 0")),
    }
}

/// A scalar value as text, the way promptfoo's `String(value)` would write it.
fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn text_value<'v>(kind: &str, value: Option<&'v Value>) -> Result<Cow<'v, str>, String> {
    value
        .and_then(scalar_text)
        .ok_or_else(|| expects(kind, "a string"))
}

fn non_empty_text<'v>(kind: &str, value: Option<&'v Value>) -> Result<Cow<'v, str>, String> {
    let text = text_value(kind, value).map_err(|_| expects(kind, "a non-empty string"))?;
    if text.is_empty() {
        return Err(expects(kind, "a non-empty string"));
    }
    Ok(text)
}

/// The needles of `contains-any`/`-all`: a list, or a comma-separated string (double quotes
/// protect commas), like promptfoo.
fn text_list<'v>(kind: &str, value: Option<&'v Value>) -> Result<Vec<Cow<'v, str>>, String> {
    let what = "a list of strings or a comma-separated string";
    let list: Vec<Cow<'v, str>> = match value {
        Some(Value::String(s)) => split_comma_separated(s)
            .into_iter()
            .map(Cow::Owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(scalar_text)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| expects(kind, what))?,
        Some(v @ (Value::Number(_) | Value::Bool(_))) => {
            scalar_text(v).into_iter().collect::<Vec<_>>()
        }
        _ => return Err(expects(kind, what)),
    };
    if list.is_empty() {
        return Err(expects(kind, &format!("{what} (got an empty list)")));
    }
    Ok(list)
}

fn split_comma_separated(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(std::mem::take(&mut current).trim().to_string());
            }
            _ => current.push(c),
        }
    }
    out.push(current.trim().to_string());
    out.retain(|s| !s.is_empty());
    out
}

fn similar_values<'v>(kind: &str, value: Option<&'v Value>) -> Result<Vec<&'v str>, String> {
    let what = "a string or a list of strings";
    match value {
        Some(Value::String(s)) => Ok(vec![s.as_str()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| expects(kind, what)),
        _ => Err(expects(kind, what)),
    }
}

/// A schema given inline (object or boolean) or as JSON/YAML text.
fn schema_value<'v>(kind: &str, v: &'v Value) -> Result<Cow<'v, Value>, String> {
    match v {
        Value::Object(_) | Value::Bool(_) => Ok(Cow::Borrowed(v)),
        Value::String(s) => serde_norway::from_str::<Value>(s)
            .map(Cow::Owned)
            .map_err(|e| format!("{kind}: the schema text is not valid JSON or YAML: {e}")),
        _ => Err(expects(kind, "a JSON Schema (an object)")),
    }
}

fn command_argv(value: Option<&Value>) -> Result<Vec<&str>, String> {
    let what = "a shell command (string) or an argv list of strings";
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(vec![s.as_str()]),
        Some(Value::Array(items)) if !items.is_empty() => {
            let argv = items
                .iter()
                .map(Value::as_str)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| expects("command", what))?;
            if argv[0].is_empty() {
                return Err(expects("command", what));
            }
            Ok(argv)
        }
        _ => Err(expects("command", what)),
    }
}

/// Compiled regexes by pattern: specs are evaluated once per case, so compiling each time
/// would dominate the cost of a `regex` assertion. Shared through an `Arc` because cloning a
/// `Regex` gives it a fresh, empty match cache, which costs as much as the match itself.
fn cached_regex(pattern: &str) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(re) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(Arc::clone(re));
    }
    let re = Arc::new(
        Regex::new(pattern).map_err(|e| format!("invalid regex {}: {e}", quote(pattern)))?,
    );
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    // A bound, so generated patterns cannot grow the cache without limit.
    if map.len() >= 4096 {
        map.clear();
    }
    map.insert(pattern.to_string(), Arc::clone(&re));
    Ok(re)
}

/// A passing or failing check, before negation.
struct Outcome {
    pass: bool,
    score: f64,
    reason: String,
}

impl Outcome {
    fn ignoring_case(mut self) -> Outcome {
        self.reason.push_str(" (ignoring case)");
        self
    }

    fn new(pass: bool, reason: String) -> Outcome {
        Outcome {
            pass,
            score: if pass { 1.0 } else { 0.0 },
            reason,
        }
    }
}

/// Evaluates one assertion.
pub async fn evaluate(
    spec: &AssertionSpec,
    ctx: &AssertionContext<'_>,
    calls: &dyn ModelCalls,
) -> AssertionResult {
    evaluate_with(spec, ctx, calls, COMMAND_TIMEOUT).await
}

async fn evaluate_with(
    spec: &AssertionSpec,
    ctx: &AssertionContext<'_>,
    calls: &dyn ModelCalls,
    command_timeout: Duration,
) -> AssertionResult {
    let kind = spec.kind.as_str();
    let label = if spec.negate {
        format!("not-{kind}")
    } else {
        spec.kind.clone()
    };
    let mut result = AssertionResult {
        kind: label,
        pass: false,
        score: 0.0,
        reason: String::new(),
        weight: spec.weight,
        metric: spec.metric.clone(),
        unsupported: false,
        error: false,
    };
    if !SUPPORTED.contains(&kind) {
        result.unsupported = true;
        result.reason = format!("assertion type {kind} is not supported by Assay");
        return result;
    }
    let checked = match kind {
        "llm-rubric" => check_llm_rubric(spec, ctx, calls).await,
        "factuality" => check_factuality(spec, ctx, calls).await,
        "similar" => check_similar(spec, ctx, calls).await,
        "command" => check_command(spec.value.as_ref(), ctx, command_timeout).await,
        _ => check_local(spec, ctx),
    };
    match checked {
        Ok(o) if spec.negate => {
            result.pass = !o.pass;
            result.score = 1.0 - o.score;
            result.reason = if o.pass {
                format!("expected not-{kind}, but {}", o.reason)
            } else {
                format!("not-{kind} passed: {}", o.reason)
            };
        }
        Ok(o) => {
            result.pass = o.pass;
            result.score = o.score;
            result.reason = o.reason;
        }
        Err(e) => {
            result.error = true;
            result.reason = e;
        }
    }
    result
}

/// The checks that need nothing but the output and the response.
fn check_local(spec: &AssertionSpec, ctx: &AssertionContext<'_>) -> Result<Outcome, String> {
    let kind = spec.kind.as_str();
    let output = ctx.output;
    let value = spec.value.as_ref();
    match kind {
        "equals" => check_equals(value, output),
        "contains" => {
            let needle = non_empty_text(kind, value)?;
            Ok(contains_outcome(
                output.contains(&*needle),
                "contain",
                &needle,
            ))
        }
        "icontains" => {
            let needle = non_empty_text(kind, value)?;
            let found = output.to_lowercase().contains(&needle.to_lowercase());
            Ok(contains_outcome(found, "contain", &needle).ignoring_case())
        }
        "starts-with" => {
            let prefix = non_empty_text(kind, value)?;
            Ok(contains_outcome(
                output.starts_with(&*prefix),
                "start with",
                &prefix,
            ))
        }
        "contains-any" | "contains-all" | "icontains-any" | "icontains-all" => {
            let needles = text_list(kind, value)?;
            let fold = kind.starts_with('i');
            let any = kind.ends_with("-any");
            let lowered;
            let haystack = if fold {
                lowered = output.to_lowercase();
                lowered.as_str()
            } else {
                output
            };
            let found = |n: &str| {
                if fold {
                    haystack.contains(&n.to_lowercase())
                } else {
                    haystack.contains(n)
                }
            };
            let case = if fold { " (ignoring case)" } else { "" };
            if any {
                let hit = needles.iter().find(|n| found(n));
                Ok(match hit {
                    Some(n) => Outcome::new(true, format!("output contains {}", quote(n))),
                    None => Outcome::new(
                        false,
                        format!(
                            "expected output to contain one of {}{case}",
                            quote_list(&needles)
                        ),
                    ),
                })
            } else {
                let missing: Vec<&Cow<str>> = needles.iter().filter(|n| !found(n)).collect();
                Ok(if missing.is_empty() {
                    Outcome::new(
                        true,
                        format!("output contains all of {}", quote_list(&needles)),
                    )
                } else {
                    let missing: Vec<Cow<str>> =
                        missing.into_iter().map(|c| Cow::Borrowed(&**c)).collect();
                    Outcome::new(
                        false,
                        format!(
                            "expected output to contain all of {}{case}; missing {}",
                            quote_list(&needles),
                            quote_list(&missing)
                        ),
                    )
                })
            }
        }
        "regex" => {
            let pattern = non_empty_text(kind, value)?;
            let re = cached_regex(&pattern)?;
            Ok(if re.is_match(output) {
                Outcome::new(true, format!("output matches regex {}", quote(&pattern)))
            } else {
                Outcome::new(
                    false,
                    format!("expected output to match regex {}", quote(&pattern)),
                )
            })
        }
        "is-json" | "json-schema" => {
            let schema = match value {
                None | Some(Value::Null) if kind == "is-json" => None,
                None | Some(Value::Null) => {
                    return Err(expects(kind, "a JSON Schema (an object)"));
                }
                Some(v) => Some(schema_value(kind, v)?),
            };
            let parsed: Value = match serde_json::from_str(output) {
                Ok(v) => v,
                Err(e) => {
                    return Ok(Outcome::new(
                        false,
                        format!("output is not valid JSON: {e}"),
                    ));
                }
            };
            match schema {
                None => Ok(Outcome::new(true, "output is valid JSON".to_string())),
                Some(schema) => schema_outcome(&schema, &parsed, "output"),
            }
        }
        "contains-json" => {
            let schema = match value {
                None | Some(Value::Null) => None,
                Some(v) => Some(schema_value(kind, v)?),
            };
            match find_embedded_json(output, false) {
                None => Ok(Outcome::new(
                    false,
                    "expected output to contain a JSON object or array; found none".to_string(),
                )),
                Some(found) => match schema {
                    None => Ok(Outcome::new(true, "output contains JSON".to_string())),
                    Some(schema) => schema_outcome(&schema, &found, "the JSON in the output"),
                },
            }
        }
        "levenshtein" => {
            let expected = text_value(kind, value)?;
            let max = spec.threshold.unwrap_or(DEFAULT_LEVENSHTEIN_THRESHOLD);
            let distance = levenshtein(output, &expected);
            let pass = distance as f64 <= max;
            let op = if pass { "<=" } else { ">" };
            Ok(Outcome::new(
                pass,
                format!("levenshtein distance {distance} {op} {max}"),
            ))
        }
        "latency" => {
            let max = spec.threshold.ok_or_else(|| {
                "latency needs `threshold`: the maximum latency in ms".to_string()
            })?;
            let ms = ctx.response.latency_ms;
            let pass = ms <= max;
            let op = if pass { "<=" } else { ">" };
            Ok(Outcome::new(
                pass,
                format!("latency {ms:.0} ms {op} {max} ms"),
            ))
        }
        "cost" => {
            let max = spec
                .threshold
                .ok_or_else(|| "cost needs `threshold`: the maximum cost in USD".to_string())?;
            let cost = ctx.cost.ok_or_else(|| {
                "cost is unknown: the provider reported no cost and has no prices configured \
                 (set `prices` on the provider)"
                    .to_string()
            })?;
            let pass = cost <= max;
            let op = if pass { "<=" } else { ">" };
            Ok(Outcome::new(
                pass,
                format!("cost ${} {op} ${}", usd(cost), usd(max)),
            ))
        }
        other => Err(format!("assertion type {other} has no local check")),
    }
}

fn contains_outcome(found: bool, verb: &str, needle: &str) -> Outcome {
    if found {
        Outcome::new(true, format!("output does {verb} {}", quote(needle)))
    } else {
        Outcome::new(
            false,
            format!("expected output to {verb} {}", quote(needle)),
        )
    }
}

fn check_equals(value: Option<&Value>, output: &str) -> Result<Outcome, String> {
    match value {
        None | Some(Value::Null) => {
            Err(expects("equals", "a value (text, or a JSON object/array)"))
        }
        Some(expected @ (Value::Object(_) | Value::Array(_))) => {
            let parsed: Value = match serde_json::from_str(output) {
                Ok(v) => v,
                Err(e) => {
                    return Ok(Outcome::new(
                        false,
                        format!(
                            "expected output to equal JSON {}, but output is not valid JSON: {e}",
                            excerpt_json(expected)
                        ),
                    ));
                }
            };
            Ok(if json_eq(&parsed, expected) {
                Outcome::new(true, "output equals the expected JSON".to_string())
            } else {
                Outcome::new(
                    false,
                    format!(
                        "expected output to equal JSON {}, got {}",
                        excerpt_json(expected),
                        excerpt_json(&parsed)
                    ),
                )
            })
        }
        Some(v) => {
            let expected = scalar_text(v).unwrap_or(Cow::Borrowed(""));
            Ok(if output == expected {
                Outcome::new(true, format!("output equals {}", quote(&expected)))
            } else {
                Outcome::new(
                    false,
                    format!(
                        "expected output to equal {}, got {}",
                        quote(&excerpt(&expected, 200)),
                        quote(&excerpt(output, 200))
                    ),
                )
            })
        }
    }
}

fn schema_outcome(schema: &Value, instance: &Value, what: &str) -> Result<Outcome, String> {
    check_schema(schema)?;
    Ok(match validate_against_schema(schema, instance) {
        Ok(()) => Outcome::new(true, format!("{what} matches the schema")),
        Err(e) => Outcome::new(false, format!("{what} does not match the schema: {e}")),
    })
}

/// The first JSON value embedded in `text`: the body of a fenced code block if one parses,
/// else the first `{` (or `[` unless `objects_only`) where a complete JSON value starts.
pub fn find_embedded_json(text: &str, objects_only: bool) -> Option<Value> {
    let wanted = |v: &Value| v.is_object() || (!objects_only && v.is_array());
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        // Skip the info string (`json`) up to the end of the line.
        let body_start = after.find('\n').map_or(after.len(), |i| i + 1);
        let body = &after[body_start..];
        let Some(end) = body.find("```") else { break };
        if let Ok(v) = serde_json::from_str::<Value>(&body[..end]) {
            if wanted(&v) {
                return Some(v);
            }
        }
        rest = &body[end + 3..];
    }
    // Bounded, so a long text full of brackets cannot make this quadratic in practice.
    let mut attempts = 0;
    for (i, c) in text.char_indices() {
        if c == '{' || (!objects_only && c == '[') {
            attempts += 1;
            if attempts > 1000 {
                break;
            }
            let mut stream = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
            if let Some(Ok(v)) = stream.next() {
                if wanted(&v) {
                    return Some(v);
                }
            }
        }
    }
    None
}

/// Edit distance in characters (insertions, deletions, substitutions).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

async fn check_similar(
    spec: &AssertionSpec,
    ctx: &AssertionContext<'_>,
    calls: &dyn ModelCalls,
) -> Result<Outcome, String> {
    let expected = similar_values("similar", spec.value.as_ref())?;
    let threshold = spec.threshold.unwrap_or(DEFAULT_SIMILARITY_THRESHOLD);
    let mut texts = Vec::with_capacity(expected.len() + 1);
    texts.push(ctx.output.to_string());
    texts.extend(expected.iter().map(|s| s.to_string()));
    let vectors = calls
        .embed(spec.provider.as_deref(), texts)
        .await
        .map_err(|e| format!("embedding call failed: {e}"))?;
    if vectors.len() != expected.len() + 1 {
        return Err(format!(
            "embedding call returned {} vectors for {} texts",
            vectors.len(),
            expected.len() + 1
        ));
    }
    let mut best: Option<(f64, &str)> = None;
    for (v, text) in vectors[1..].iter().zip(&expected) {
        let sim = cosine(&vectors[0], v)?;
        if best.is_none_or(|(b, _)| sim > b) {
            best = Some((sim, text));
        }
    }
    let (sim, text) = best.ok_or_else(|| "similar has no expected text".to_string())?;
    let pass = sim >= threshold;
    let op = if pass { ">=" } else { "<" };
    Ok(Outcome {
        pass,
        score: sim.clamp(0.0, 1.0),
        reason: format!(
            "similarity {sim:.3} {op} {threshold} (closest expected text: {})",
            quote(&excerpt(text, 80))
        ),
    })
}

fn cosine(a: &[f32], b: &[f32]) -> Result<f64, String> {
    if a.len() != b.len() {
        return Err(format!(
            "embedding vectors differ in length ({} and {})",
            a.len(),
            b.len()
        ));
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return Ok(0.0);
    }
    Ok(dot / (na.sqrt() * nb.sqrt()))
}

async fn check_llm_rubric(
    spec: &AssertionSpec,
    ctx: &AssertionContext<'_>,
    calls: &dyn ModelCalls,
) -> Result<Outcome, String> {
    let rubric = non_empty_text("llm-rubric", spec.value.as_ref())?;
    let reply = calls
        .complete(
            spec.provider.as_deref(),
            llm_rubric_messages(ctx.output, &rubric),
        )
        .await
        .map_err(|e| format!("judge call failed: {e}"))?;
    parse_rubric_reply(&reply.output, spec.threshold)
}

fn parse_rubric_reply(reply: &str, threshold: Option<f64>) -> Result<Outcome, String> {
    let json = judge_json(reply)?;
    let reason = json.get("reason").map(value_text).unwrap_or_default();
    let pass = match json.get("pass") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "pass" | "y" => Some(true),
            "false" | "no" | "fail" | "n" => Some(false),
            _ => return Err(format!("the judge's `pass` is not a boolean: {}", quote(s))),
        },
        Some(other) => {
            return Err(format!(
                "the judge's `pass` is not a boolean: {}",
                excerpt_json(other)
            ));
        }
    };
    let score = match json.get("score") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let s = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|s: &f64| s.is_finite())
                .ok_or_else(|| {
                    format!("the judge's `score` is not a number: {}", excerpt_json(v))
                })?;
            if !(0.0..=1.0).contains(&s) {
                return Err(format!("the judge's score {s} is outside 0..1"));
            }
            Some(s)
        }
    };
    let (mut pass, score) = match (pass, score) {
        (Some(p), Some(s)) => (p, s),
        (Some(p), None) => (p, if p { 1.0 } else { 0.0 }),
        (None, Some(s)) => (s >= threshold.unwrap_or(0.5), s),
        (None, None) => {
            return Err(format!(
                "the judge's reply has neither `pass` nor `score`: {}",
                quote(&excerpt(reply, 200))
            ));
        }
    };
    let mut reason = if reason.is_empty() {
        format!("judge says {}", if pass { "pass" } else { "fail" })
    } else {
        reason
    };
    if let Some(t) = threshold {
        if score < t {
            if pass {
                reason = format!("judge score {score} < threshold {t}: {reason}");
            }
            pass = false;
        }
    }
    Ok(Outcome {
        pass,
        score,
        reason,
    })
}

async fn check_factuality(
    spec: &AssertionSpec,
    ctx: &AssertionContext<'_>,
    calls: &dyn ModelCalls,
) -> Result<Outcome, String> {
    let reference = non_empty_text("factuality", spec.value.as_ref())?;
    let reply = calls
        .complete(
            spec.provider.as_deref(),
            factuality_messages(ctx.prompt, &reference, ctx.output),
        )
        .await
        .map_err(|e| format!("judge call failed: {e}"))?;
    parse_factuality_reply(&reply.output)
}

fn parse_factuality_reply(reply: &str) -> Result<Outcome, String> {
    let json = judge_json(reply)?;
    let raw = json.get("choice").and_then(Value::as_str).ok_or_else(|| {
        format!(
            "the judge's reply has no `choice`: {}",
            quote(&excerpt(reply, 200))
        )
    })?;
    let letter = raw
        .trim()
        .trim_matches(|c: char| c == '(' || c == ')' || c == '.')
        .to_ascii_uppercase();
    let (pass, meaning) = match letter.as_str() {
        "A" => (
            true,
            "the submission is a subset of the expert answer and consistent with it",
        ),
        "B" => (
            true,
            "the submission is a superset of the expert answer and consistent with it",
        ),
        "C" => (
            true,
            "the submission contains the same details as the expert answer",
        ),
        "D" => (false, "the submission disagrees with the expert answer"),
        "E" => (
            true,
            "the answers differ, but the differences do not matter for factuality",
        ),
        _ => {
            return Err(format!(
                "the judge's choice {} is not one of A, B, C, D, E",
                quote(raw)
            ));
        }
    };
    let reason = json.get("reason").map(value_text).unwrap_or_default();
    let reason = if reason.is_empty() {
        format!("({letter}) {meaning}")
    } else {
        format!("({letter}) {meaning}: {reason}")
    };
    Ok(Outcome::new(pass, reason))
}

/// The first JSON object in a judge's reply (fenced or surrounded by text).
fn judge_json(reply: &str) -> Result<Map<String, Value>, String> {
    match find_embedded_json(reply, true) {
        Some(Value::Object(m)) => Ok(m),
        _ => Err(format!(
            "could not parse the judge's reply as JSON: {}",
            quote(&excerpt(reply.trim(), 200))
        )),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What a `command` assertion prints on stdout.
#[derive(Deserialize)]
struct CommandVerdict {
    pass: bool,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    reason: Option<String>,
}

async fn check_command(
    value: Option<&Value>,
    ctx: &AssertionContext<'_>,
    timeout: Duration,
) -> Result<Outcome, String> {
    use std::process::Stdio;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let argv = command_argv(value)?;
    let shell = matches!(value, Some(Value::String(_)));
    let mut cmd = if shell {
        let mut c = tokio::process::Command::new("sh");
        c.arg("-c").arg(argv[0]);
        c
    } else {
        let mut c = tokio::process::Command::new(argv[0]);
        c.args(&argv[1..]);
        c
    };
    let shown = excerpt(&argv.join(" "), 120).into_owned();
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so a timeout kills whatever the command started too.
    #[cfg(unix)]
    cmd.process_group(0);
    let input = serde_json::json!({
        "output": ctx.output,
        "vars": ctx.vars,
        "case": {
            "id": ctx.case.id,
            "description": ctx.case.description,
            "tags": ctx.case.tags,
        },
        "prompt": ctx.prompt,
        "latency_ms": ctx.response.latency_ms,
        "cost": ctx.cost,
    });
    let input = serde_json::to_vec(&input).map_err(|e| format!("command input: {e}"))?;
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start command {}: {e}", quote(&shown)))?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut out_buf = Vec::new();
    let mut err_buf = Vec::new();

    async fn drain<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>, buf: &mut Vec<u8>) {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        // Chunked reads keep what arrived so far if the timeout cancels this.
        while let Ok(n) = pipe.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    let run = async {
        let write = async {
            if let Some(mut stdin) = stdin {
                // The command may not read its input; a closed pipe is not an error.
                let _ = stdin.write_all(&input).await;
                let _ = stdin.shutdown().await;
            }
        };
        tokio::join!(
            write,
            drain(stdout, &mut out_buf),
            drain(stderr, &mut err_buf)
        );
        child.wait().await
    };
    let status = match tokio::time::timeout(timeout, run).await {
        Ok(status) => status.map_err(|e| format!("command {}: {e}", quote(&shown)))?,
        Err(_) => {
            #[cfg(unix)]
            if let Some(pid) = child.id() {
                let _ = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("kill -KILL -{pid} 2>/dev/null"))
                    .status()
                    .await;
            }
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(format!(
                "command {} timed out after {} s and was killed{}",
                quote(&shown),
                timeout.as_secs_f64(),
                stderr_note(&err_buf)
            ));
        }
    };
    if !status.success() {
        let code = status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("status {c}"));
        return Err(format!(
            "command {} exited with {code}{}",
            quote(&shown),
            stderr_note(&err_buf)
        ));
    }
    let stdout = String::from_utf8_lossy(&out_buf);
    let verdict = parse_command_verdict(&stdout).map_err(|e| {
        format!(
            "command {} did not print a JSON verdict {{\"pass\": bool, \"score\"?: number, \"reason\"?: string}}: {e}; stdout: {}{}",
            quote(&shown),
            quote(&excerpt(stdout.trim(), 200)),
            stderr_note(&err_buf)
        )
    })?;
    let score = match verdict.score {
        Some(s) if !(0.0..=1.0).contains(&s) => {
            return Err(format!(
                "command {} returned score {s}, outside 0..1",
                quote(&shown)
            ));
        }
        Some(s) => s,
        None if verdict.pass => 1.0,
        None => 0.0,
    };
    let reason = verdict.reason.unwrap_or_else(|| {
        format!(
            "command {} says {}",
            quote(&shown),
            if verdict.pass { "pass" } else { "fail" }
        )
    });
    Ok(Outcome {
        pass: verdict.pass,
        score,
        reason,
    })
}

/// The whole stdout as the verdict, else its last non-empty line (after any logging).
fn parse_command_verdict(stdout: &str) -> Result<CommandVerdict, String> {
    match serde_json::from_str::<CommandVerdict>(stdout) {
        Ok(v) => Ok(v),
        Err(whole) => stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str::<CommandVerdict>(l).ok())
            .ok_or_else(|| whole.to_string()),
    }
}

fn stderr_note(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    // The end of stderr is where errors and tracebacks finish.
    let chars = text.chars().count();
    let tail: String = if chars > 500 {
        let skip = chars - 500;
        format!("…{}", text.chars().skip(skip).collect::<String>())
    } else {
        text.to_string()
    };
    format!("; stderr: {tail}")
}

/// A case's verdict from its assertion results: `(pass, weighted score)`. Unsupported results
/// are left out; with a `threshold` the case passes when the score reaches it.
pub fn case_verdict(results: &[AssertionResult], threshold: Option<f64>) -> (bool, f64) {
    let mut weighted = 0.0;
    let mut total = 0.0;
    let mut all_pass = true;
    let mut errored = false;
    for r in results.iter().filter(|r| !r.unsupported) {
        errored |= r.error;
        all_pass &= r.pass;
        weighted += r.weight * r.score;
        total += r.weight;
    }
    let score = if total > 0.0 { weighted / total } else { 1.0 };
    if errored {
        return (false, score);
    }
    let pass = match threshold {
        // A small tolerance, so 0.1 + 0.2 reaches a threshold of 0.3.
        Some(t) => score + 1e-9 >= t,
        None => all_pass,
    };
    (pass, score)
}

// ---------------------------------------------------------------------------------------------
// JSON Schema: the subset of draft 2020-12 (and draft 4-7 spellings) that output checks use.

/// Keywords that only annotate a schema.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "default",
    "examples",
    "$comment",
    "format",
    "readOnly",
    "writeOnly",
    "deprecated",
];

/// Keywords that constrain or structure a schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "minProperties",
    "maxProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "$ref",
    "$defs",
    "definitions",
];

const TYPES: &[&str] = &[
    "null", "boolean", "object", "array", "number", "string", "integer",
];

/// Checks that `schema` is a JSON Schema this module can enforce completely: known keywords
/// with well-formed values, patterns that compile, `$ref`s that resolve. A keyword it does
/// not know is an error, so no constraint is silently ignored.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    check_schema_at(schema, schema, "#")
}

fn check_schema_at(root: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let map = match schema {
        Value::Bool(_) => return Ok(()),
        Value::Object(m) => m,
        other => {
            return Err(format!(
                "invalid JSON Schema at {at}: a schema must be an object or a boolean, got {}",
                excerpt_json(other)
            ));
        }
    };
    let bad = |key: &str, what: &str| format!("invalid JSON Schema at {at}/{key}: {what}");
    for (key, v) in map {
        let key = key.as_str();
        match key {
            "type" => {
                let ok = |t: &Value| t.as_str().is_some_and(|t| TYPES.contains(&t));
                let valid = match v {
                    Value::Array(ts) => !ts.is_empty() && ts.iter().all(ok),
                    t => ok(t),
                };
                if !valid {
                    return Err(bad(
                        key,
                        &format!(
                            "{} is not a type (or list of types) among {}",
                            excerpt_json(v),
                            TYPES.join(", ")
                        ),
                    ));
                }
            }
            "enum" => {
                if !v.is_array() {
                    return Err(bad(key, "must be an array"));
                }
            }
            "const" => {}
            "properties" | "$defs" | "definitions" => {
                let Value::Object(props) = v else {
                    return Err(bad(key, "must be an object of schemas"));
                };
                for (name, sub) in props {
                    check_schema_at(root, sub, &format!("{at}/{key}/{}", pointer_escape(name)))?;
                }
            }
            "required" => {
                let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
                if !ok {
                    return Err(bad(key, "must be an array of property names"));
                }
            }
            "additionalProperties" | "not" => check_schema_at(root, v, &format!("{at}/{key}"))?,
            "items" => match v {
                // Draft 4-7 tuple form, the same as `prefixItems`.
                Value::Array(subs) => {
                    for (i, sub) in subs.iter().enumerate() {
                        check_schema_at(root, sub, &format!("{at}/{key}/{i}"))?;
                    }
                }
                sub => check_schema_at(root, sub, &format!("{at}/{key}"))?,
            },
            "prefixItems" | "anyOf" | "oneOf" | "allOf" => {
                let subs = v
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| bad(key, "must be a non-empty array of schemas"))?;
                for (i, sub) in subs.iter().enumerate() {
                    check_schema_at(root, sub, &format!("{at}/{key}/{i}"))?;
                }
            }
            "minItems" | "maxItems" | "minLength" | "maxLength" | "minProperties"
            | "maxProperties" => {
                if !v.as_f64().is_some_and(|n| n >= 0.0 && n.fract() == 0.0) {
                    return Err(bad(key, "must be a non-negative integer"));
                }
            }
            "uniqueItems" => {
                if !v.is_boolean() {
                    return Err(bad(key, "must be true or false"));
                }
            }
            "pattern" => {
                let p = v.as_str().ok_or_else(|| bad(key, "must be a string"))?;
                cached_regex(p).map_err(|e| bad(key, &e))?;
            }
            "minimum" | "maximum" => {
                if !v.is_number() {
                    return Err(bad(key, "must be a number"));
                }
            }
            "exclusiveMinimum" | "exclusiveMaximum" => {
                // A number (draft 6+) or a flag on minimum/maximum (draft 4).
                if !v.is_number() && !v.is_boolean() {
                    return Err(bad(key, "must be a number"));
                }
            }
            "multipleOf" => {
                if !v.as_f64().is_some_and(|n| n > 0.0) {
                    return Err(bad(key, "must be a number > 0"));
                }
            }
            "$ref" => {
                let r = v.as_str().ok_or_else(|| bad(key, "must be a string"))?;
                resolve_ref(root, r).map_err(|e| bad(key, &e))?;
            }
            k if ANNOTATIONS.contains(&k) => {}
            other => {
                return Err(format!(
                    "unsupported JSON Schema keyword \"{other}\" at {at}; supported: {}",
                    SCHEMA_KEYWORDS.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn resolve_ref<'s>(root: &'s Value, reference: &str) -> Result<&'s Value, String> {
    let Some(pointer) = reference.strip_prefix('#') else {
        return Err(format!(
            "$ref {} is not supported: only references within the schema (\"#/$defs/...\") are",
            quote(reference)
        ));
    };
    root.pointer(pointer)
        .ok_or_else(|| format!("$ref {} does not resolve", quote(reference)))
}

fn pointer_escape(s: &str) -> Cow<'_, str> {
    if s.contains(['~', '/']) {
        Cow::Owned(s.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Validates `instance` against `schema` (checked with [`check_schema`] first). The error is
/// the first violation, prefixed with its JSON pointer in the instance (`/items/0/name: ...`).
pub fn validate_against_schema(schema: &Value, instance: &Value) -> Result<(), String> {
    let mut path = String::new();
    validate_node(schema, schema, instance, &mut path, 0)
}

fn at(path: &str) -> &str {
    if path.is_empty() {
        "(root)"
    } else {
        path
    }
}

fn validate_node(
    root: &Value,
    schema: &Value,
    inst: &Value,
    path: &mut String,
    depth: usize,
) -> Result<(), String> {
    if depth > 64 {
        return Err(format!(
            "{}: schema references nest too deeply (a $ref cycle?)",
            at(path)
        ));
    }
    let map = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => {
            return Err(format!("{}: no value is allowed here", at(path)));
        }
        Value::Object(m) => m,
        _ => return Err(format!("{}: the schema is not an object", at(path))),
    };
    let fail = |path: &str, msg: String| Err(format!("{}: {msg}", at(path)));

    if let Some(r) = map.get("$ref").and_then(Value::as_str) {
        let target = resolve_ref(root, r)?;
        validate_node(root, target, inst, path, depth + 1)?;
    }
    if let Some(t) = map.get("type") {
        let matches = match t {
            Value::Array(ts) => ts
                .iter()
                .any(|t| t.as_str().is_some_and(|t| is_type(inst, t))),
            t => t.as_str().is_some_and(|t| is_type(inst, t)),
        };
        if !matches {
            let want = match t {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return fail(
                path,
                format!(
                    "{} is not of type {want} (it is {})",
                    excerpt_json(inst),
                    type_name(inst)
                ),
            );
        }
    }
    if let Some(Value::Array(options)) = map.get("enum") {
        if !options.iter().any(|o| json_eq(o, inst)) {
            return fail(
                path,
                format!(
                    "{} is not one of {}",
                    excerpt_json(inst),
                    excerpt_json(&map["enum"])
                ),
            );
        }
    }
    if let Some(c) = map.get("const") {
        if !json_eq(c, inst) {
            return fail(
                path,
                format!(
                    "{} is not the constant {}",
                    excerpt_json(inst),
                    excerpt_json(c)
                ),
            );
        }
    }
    if let Some(n) = inst.as_f64() {
        let num = |k: &str| map.get(k).and_then(Value::as_f64);
        let flag = |k: &str| map.get(k).and_then(Value::as_bool).unwrap_or(false);
        if let Some(min) = num("minimum") {
            if flag("exclusiveMinimum") && n <= min {
                return fail(
                    path,
                    format!("{n} is not greater than {min} (exclusive minimum)"),
                );
            }
            if n < min {
                return fail(path, format!("{n} is less than the minimum {min}"));
            }
        }
        if let Some(max) = num("maximum") {
            if flag("exclusiveMaximum") && n >= max {
                return fail(
                    path,
                    format!("{n} is not less than {max} (exclusive maximum)"),
                );
            }
            if n > max {
                return fail(path, format!("{n} is greater than the maximum {max}"));
            }
        }
        if let Some(min) = num("exclusiveMinimum") {
            if n <= min {
                return fail(
                    path,
                    format!("{n} is not greater than the exclusive minimum {min}"),
                );
            }
        }
        if let Some(max) = num("exclusiveMaximum") {
            if n >= max {
                return fail(
                    path,
                    format!("{n} is not less than the exclusive maximum {max}"),
                );
            }
        }
        if let Some(m) = num("multipleOf") {
            let q = n / m;
            if (q - q.round()).abs() > 1e-9 * q.abs().max(1.0) {
                return fail(path, format!("{n} is not a multiple of {m}"));
            }
        }
    }
    if let Value::String(s) = inst {
        let limit = |k: &str| map.get(k).and_then(Value::as_u64);
        let len = || s.chars().count() as u64;
        if let Some(min) = limit("minLength") {
            if len() < min {
                return fail(
                    path,
                    format!("{} is shorter than {min} characters", excerpt_json(inst)),
                );
            }
        }
        if let Some(max) = limit("maxLength") {
            if len() > max {
                return fail(
                    path,
                    format!("{} is longer than {max} characters", excerpt_json(inst)),
                );
            }
        }
        if let Some(p) = map.get("pattern").and_then(Value::as_str) {
            let re = cached_regex(p)?;
            if !re.is_match(s) {
                return fail(
                    path,
                    format!(
                        "{} does not match the pattern {}",
                        excerpt_json(inst),
                        quote(p)
                    ),
                );
            }
        }
    }
    if let Value::Array(items) = inst {
        let limit = |k: &str| map.get(k).and_then(Value::as_u64);
        let n = items.len() as u64;
        if let Some(min) = limit("minItems") {
            if n < min {
                return fail(path, format!("has {n} items, fewer than the minimum {min}"));
            }
        }
        if let Some(max) = limit("maxItems") {
            if n > max {
                return fail(path, format!("has {n} items, more than the maximum {max}"));
            }
        }
        if map.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
            for i in 0..items.len() {
                for j in i + 1..items.len() {
                    if json_eq(&items[i], &items[j]) {
                        return fail(
                            path,
                            format!("items {i} and {j} are equal, but items must be unique"),
                        );
                    }
                }
            }
        }
        let (prefix, rest): (&[Value], Option<&Value>) =
            match (map.get("prefixItems"), map.get("items")) {
                (Some(Value::Array(p)), rest) => (p, rest),
                (None, Some(Value::Array(p))) => (p, None),
                (_, rest) => (&[], rest),
            };
        for (i, item) in items.iter().enumerate() {
            let sub = match prefix.get(i) {
                Some(s) => s,
                None => match rest {
                    Some(s) => s,
                    None => continue,
                },
            };
            let len = path.len();
            path.push('/');
            path.push_str(&i.to_string());
            let r = validate_node(root, sub, item, path, depth + 1);
            path.truncate(len);
            r?;
        }
    }
    if let Value::Object(obj) = inst {
        let limit = |k: &str| map.get(k).and_then(Value::as_u64);
        let n = obj.len() as u64;
        if let Some(min) = limit("minProperties") {
            if n < min {
                return fail(
                    path,
                    format!("has {n} properties, fewer than the minimum {min}"),
                );
            }
        }
        if let Some(max) = limit("maxProperties") {
            if n > max {
                return fail(
                    path,
                    format!("has {n} properties, more than the maximum {max}"),
                );
            }
        }
        if let Some(Value::Array(required)) = map.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(name) {
                    return fail(path, format!("missing required property {}", quote(name)));
                }
            }
        }
        let props = map.get("properties").and_then(Value::as_object);
        let additional = map.get("additionalProperties");
        for (name, v) in obj {
            let sub = match props.and_then(|p| p.get(name)) {
                Some(s) => s,
                None => match additional {
                    Some(Value::Bool(false)) => {
                        return fail(
                            path,
                            format!("additional property {} is not allowed", quote(name)),
                        );
                    }
                    Some(s) => s,
                    None => continue,
                },
            };
            let len = path.len();
            path.push('/');
            path.push_str(&pointer_escape(name));
            let r = validate_node(root, sub, v, path, depth + 1);
            path.truncate(len);
            r?;
        }
    }
    if let Some(Value::Array(subs)) = map.get("allOf") {
        for sub in subs {
            validate_node(root, sub, inst, path, depth + 1)?;
        }
    }
    if let Some(Value::Array(subs)) = map.get("anyOf") {
        let mut errors = Vec::new();
        for sub in subs {
            match validate_node(root, sub, inst, path, depth + 1) {
                Ok(()) => {
                    errors.clear();
                    break;
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return fail(
                path,
                format!("matches none of the anyOf schemas ({})", errors.join("; ")),
            );
        }
    }
    if let Some(Value::Array(subs)) = map.get("oneOf") {
        let mut errors = Vec::new();
        let mut matched = Vec::new();
        for (i, sub) in subs.iter().enumerate() {
            match validate_node(root, sub, inst, path, depth + 1) {
                Ok(()) => matched.push(i),
                Err(e) => errors.push(e),
            }
        }
        match matched.len() {
            1 => {}
            0 => {
                return fail(
                    path,
                    format!("matches none of the oneOf schemas ({})", errors.join("; ")),
                );
            }
            _ => {
                return fail(
                    path,
                    format!("matches oneOf schemas {matched:?}, but must match exactly one"),
                );
            }
        }
    }
    if let Some(sub) = map.get("not") {
        if validate_node(root, sub, inst, path, depth + 1).is_ok() {
            return fail(
                path,
                format!("{} matches the `not` schema", excerpt_json(inst)),
            );
        }
    }
    Ok(())
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "integer" => {
            v.is_i64()
                || v.is_u64()
                || v.as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => false,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`), as JSON Schema requires.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------
// Message helpers.

/// `s` as a JSON string literal, so quotes and newlines in reasons stay unambiguous.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

fn excerpt(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

fn excerpt_json(v: &Value) -> String {
    let s = v.to_string();
    excerpt(&s, 200).into_owned()
}

fn usd(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Instant;

    struct Fixture {
        case: PlanCase,
        response: ProviderResponse,
        vars: Map<String, Value>,
    }

    impl Fixture {
        fn new() -> Fixture {
            let mut vars = Map::new();
            vars.insert("city".into(), json!("Paris"));
            Fixture {
                case: PlanCase {
                    index: 0,
                    id: "capital-fr".into(),
                    description: Some("capital of France".into()),
                    vars: vars.clone(),
                    assertions: Vec::new(),
                    tags: vec!["geo".into()],
                    weight: 1.0,
                    threshold: None,
                    location: "cases.jsonl:1".into(),
                },
                response: ProviderResponse {
                    latency_ms: 1203.0,
                    ..ProviderResponse::default()
                },
                vars,
            }
        }

        fn ctx<'a>(&'a self, output: &'a str) -> AssertionContext<'a> {
            AssertionContext {
                output,
                response: &self.response,
                cost: Some(0.002),
                prompt: "What is the capital of France?",
                case: &self.case,
                vars: &self.vars,
            }
        }
    }

    fn spec(kind: &str, value: Value) -> AssertionSpec {
        AssertionSpec {
            kind: kind.into(),
            negate: false,
            value: if value.is_null() { None } else { Some(value) },
            threshold: None,
            weight: 1.0,
            metric: None,
            provider: None,
            location: "test".into(),
        }
    }

    fn with_threshold(mut s: AssertionSpec, t: f64) -> AssertionSpec {
        s.threshold = Some(t);
        s
    }

    fn negated(mut s: AssertionSpec) -> AssertionSpec {
        s.negate = true;
        s
    }

    /// Canned model replies; records what it was asked.
    #[derive(Default)]
    struct Canned {
        reply: Option<Result<String, ProviderError>>,
        vectors: Option<Result<Vec<Vec<f32>>, ProviderError>>,
        asked: Mutex<Vec<Vec<Message>>>,
        embedded: Mutex<Vec<Vec<String>>>,
    }

    impl Canned {
        fn replying(text: &str) -> Canned {
            Canned {
                reply: Some(Ok(text.to_string())),
                ..Canned::default()
            }
        }
    }

    impl ModelCalls for Canned {
        fn complete<'a>(
            &'a self,
            _provider: Option<&'a str>,
            messages: Vec<Message>,
        ) -> BoxFuture<'a, Result<ProviderResponse, ProviderError>> {
            self.asked.lock().unwrap().push(messages);
            let reply = self.reply.clone().expect("no canned reply");
            Box::pin(async move {
                reply.map(|output| ProviderResponse {
                    output,
                    ..ProviderResponse::default()
                })
            })
        }

        fn embed<'a>(
            &'a self,
            _provider: Option<&'a str>,
            texts: Vec<String>,
        ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ProviderError>> {
            self.embedded.lock().unwrap().push(texts);
            let v = self.vectors.clone().expect("no canned vectors");
            Box::pin(async move { v })
        }
    }

    async fn run(s: &AssertionSpec, output: &str) -> AssertionResult {
        let f = Fixture::new();
        evaluate(s, &f.ctx(output), &Canned::default()).await
    }

    async fn run_with(s: &AssertionSpec, output: &str, calls: &Canned) -> AssertionResult {
        let f = Fixture::new();
        evaluate(s, &f.ctx(output), calls).await
    }

    #[test]
    fn validate_rejects_unknown_types_and_bad_values() {
        let e = validate(&spec("javascript", json!("x"))).unwrap_err();
        assert!(e.contains("\"javascript\""), "{e}");
        assert!(
            e.contains("contains-json") && e.contains("llm-rubric"),
            "{e}"
        );

        let e = validate(&spec("contains", Value::Null)).unwrap_err();
        assert!(
            e.contains("contains expects `value` to be a non-empty string"),
            "{e}"
        );
        assert!(validate(&spec("contains", json!({"a": 1}))).is_err());
        assert!(validate(&spec("contains", json!(42))).is_ok());
        assert!(validate(&spec("equals", Value::Null)).is_err());
        assert!(validate(&spec("contains-any", json!([]))).is_err());
        assert!(validate(&spec("contains-all", json!([1, "a"]))).is_ok());
        assert!(validate(&spec("contains-all", json!([{"a": 1}]))).is_err());
        assert!(validate(&spec("similar", json!(["a", 3]))).is_err());
        assert!(validate(&spec("command", json!(""))).is_err());
        assert!(validate(&spec("command", json!(["./check.sh", "--strict"]))).is_ok());
        assert!(validate(&spec("llm-rubric", json!(""))).is_err());

        let e = validate(&spec("regex", json!("a(b"))).unwrap_err();
        assert!(
            e.contains("invalid regex \"a(b\"") && e.contains("unclosed group"),
            "{e}"
        );

        let e = validate(&spec("json-schema", Value::Null)).unwrap_err();
        assert!(e.contains("JSON Schema"), "{e}");
        let e = validate(&spec(
            "json-schema",
            json!({"type": "object", "properties": {"a": {"patternProperties": {}}}}),
        ))
        .unwrap_err();
        assert!(
            e.contains("\"patternProperties\"") && e.contains("#/properties/a"),
            "{e}"
        );
        let e = validate(&spec("is-json", json!({"type": "strin"}))).unwrap_err();
        assert!(e.contains("#/type") && e.contains("\"strin\""), "{e}");
        let e = validate(&spec("json-schema", json!({"$ref": "#/$defs/missing"}))).unwrap_err();
        assert!(e.contains("does not resolve"), "{e}");
        let e = validate(&spec("json-schema", json!({"pattern": "(("}))).unwrap_err();
        assert!(e.contains("#/pattern"), "{e}");
        assert!(validate(&spec("json-schema", json!({"minItems": -1}))).is_err());
        assert!(validate(&spec(
            "contains-json",
            json!("type: object\nrequired: [a]\n")
        ))
        .is_ok());

        let e = validate(&with_threshold(spec("similar", json!("x")), 1.5)).unwrap_err();
        assert!(e.contains("between 0 and 1"), "{e}");
        assert!(validate(&with_threshold(spec("llm-rubric", json!("x")), -0.1)).is_err());
        assert!(validate(&with_threshold(spec("levenshtein", json!("x")), -1.0)).is_err());
        let e = validate(&spec("latency", Value::Null)).unwrap_err();
        assert!(e.contains("threshold"), "{e}");
        assert!(validate(&spec("cost", Value::Null)).is_err());
        assert!(validate(&with_threshold(spec("cost", Value::Null), 0.01)).is_ok());
        let mut w = spec("contains", json!("x"));
        w.weight = -1.0;
        assert!(validate(&w).is_err());
        for kind in SUPPORTED {
            // Every supported type has a value that validates.
            let value = match *kind {
                "contains-any" | "contains-all" | "icontains-any" | "icontains-all" => {
                    json!(["a"])
                }
                "is-json" | "contains-json" | "json-schema" => json!({"type": "object"}),
                _ => json!("a"),
            };
            let s = with_threshold(spec(kind, value), 0.5);
            assert_eq!(validate(&s), Ok(()), "{kind}");
        }
    }

    #[tokio::test]
    async fn equals_compares_text_or_json_structurally() {
        assert!(run(&spec("equals", json!("Paris")), "Paris").await.pass);
        let r = run(&spec("equals", json!("Paris")), "Paris.").await;
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "expected output to equal \"Paris\", got \"Paris.\""
        );
        assert!(run(&spec("equals", json!(42)), "42").await.pass);

        let s = spec("equals", json!({"a": 1, "b": [true, null]}));
        assert!(run(&s, r#"{ "b": [true, null], "a": 1.0 }"#).await.pass);
        let r = run(&s, r#"{"a": 2, "b": [true, null]}"#).await;
        assert!(!r.pass && r.reason.contains("got {\"a\":2"), "{}", r.reason);
        let r = run(&s, "not json").await;
        assert!(
            !r.pass && r.reason.contains("not valid JSON"),
            "{}",
            r.reason
        );
    }

    #[tokio::test]
    async fn contains_family() {
        let out = "The capital of France is Paris.";
        let r = run(&spec("contains", json!("Paris")), out).await;
        assert!(r.pass && r.score == 1.0 && !r.error);
        let r = run(&spec("contains", json!("paris")), out).await;
        assert!(!r.pass && r.score == 0.0);
        assert_eq!(r.reason, "expected output to contain \"paris\"");
        assert!(run(&spec("icontains", json!("PARIS")), out).await.pass);
        let r = run(&spec("icontains", json!("Lyon")), out).await;
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "expected output to contain \"Lyon\" (ignoring case)"
        );
        assert!(
            run(&spec("starts-with", json!("The capital")), out)
                .await
                .pass
        );
        let r = run(&spec("starts-with", json!("Paris")), out).await;
        assert_eq!(r.reason, "expected output to start with \"Paris\"");

        // A comma-separated string, with quotes protecting a comma, like promptfoo.
        let s = spec("contains-any", json!("Lyon, \"Paris, France\", Nice"));
        assert!(run(&s, "It is Paris, France.").await.pass);
        assert!(!run(&s, "It is Paris.").await.pass);
        assert!(
            run(&spec("contains-any", json!(["Lyon", "Paris"])), out)
                .await
                .pass
        );
        let r = run(&spec("contains-any", json!(["Lyon", "Nice"])), out).await;
        assert_eq!(
            r.reason,
            "expected output to contain one of [\"Lyon\", \"Nice\"]"
        );

        assert!(
            run(&spec("contains-all", json!(["capital", "Paris"])), out)
                .await
                .pass
        );
        let r = run(
            &spec("contains-all", json!(["capital", "Lyon", "Nice"])),
            out,
        )
        .await;
        assert!(!r.pass);
        assert!(
            r.reason.ends_with("missing [\"Lyon\", \"Nice\"]"),
            "{}",
            r.reason
        );
        assert!(
            run(&spec("contains-all", json!("capital,Paris")), out)
                .await
                .pass
        );
        assert!(
            run(&spec("icontains-all", json!(["CAPITAL", "paris"])), out)
                .await
                .pass
        );
        assert!(
            !run(&spec("icontains-all", json!(["CAPITAL", "lyon"])), out)
                .await
                .pass
        );
        assert!(
            run(&spec("icontains-any", json!(["LYON", "PARIS"])), out)
                .await
                .pass
        );
        assert!(!run(&spec("icontains-any", json!(["LYON"])), out).await.pass);
    }

    #[tokio::test]
    async fn regex_matches_and_reports() {
        let s = spec("regex", json!(r"^\d{3}-\d{4}$"));
        assert!(run(&s, "555-1234").await.pass);
        let r = run(&s, "call 555-1234").await;
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"expected output to match regex "^\\d{3}-\\d{4}$""#
        );
        // A spec that skipped validation reports the bad regex as an error, not a failure.
        let r = run(&spec("regex", json!("a(b")), "ab").await;
        assert!(r.error && !r.pass, "{r:?}");
    }

    #[tokio::test]
    async fn is_json_and_json_schema() {
        assert!(
            run(&spec("is-json", Value::Null), " {\"a\": 1} ")
                .await
                .pass
        );
        let r = run(&spec("is-json", Value::Null), "Sure! {\"a\": 1}").await;
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "output is not valid JSON: expected value at line 1 column 1"
        );

        let schema = json!({
            "type": "object",
            "properties": {"category": {"enum": ["billing", "bug"]}},
            "required": ["category"]
        });
        assert!(
            run(&spec("is-json", schema.clone()), r#"{"category":"bug"}"#)
                .await
                .pass
        );
        let r = run(
            &spec("json-schema", schema.clone()),
            r#"{"category":"billing2"}"#,
        )
        .await;
        assert!(!r.pass);
        assert!(
            r.reason
                .ends_with(r#"/category: "billing2" is not one of ["billing","bug"]"#),
            "{}",
            r.reason
        );
        let r = run(&spec("json-schema", schema.clone()), "{}").await;
        assert!(
            r.reason
                .ends_with("(root): missing required property \"category\""),
            "{}",
            r.reason
        );
        let r = run(&spec("json-schema", schema), "[1").await;
        assert!(
            !r.pass && r.reason.starts_with("output is not valid JSON"),
            "{}",
            r.reason
        );
    }

    #[tokio::test]
    async fn contains_json_finds_fenced_and_inline_json() {
        let out = "Here you go:\n```json\n{\"name\": \"Ada\", \"age\": 36}\n```\nAnything else?";
        assert!(run(&spec("contains-json", Value::Null), out).await.pass);
        let schema = json!({"type": "object", "required": ["name", "age"],
            "properties": {"age": {"type": "integer", "minimum": 40}}});
        let r = run(&spec("contains-json", schema.clone()), out).await;
        assert!(!r.pass);
        assert!(
            r.reason.ends_with("/age: 36 is less than the minimum 40"),
            "{}",
            r.reason
        );
        let r = run(
            &spec("contains-json", schema),
            "The record {\"name\": \"Bo\", \"age\": 41} is stored.",
        )
        .await;
        assert!(r.pass, "{}", r.reason);
        assert!(
            run(&spec("contains-json", Value::Null), "list: [1, 2]")
                .await
                .pass
        );
        let r = run(&spec("contains-json", Value::Null), "no {json here} at all").await;
        assert!(!r.pass);
        assert!(r.reason.contains("found none"));

        assert_eq!(
            find_embedded_json("a {bad} then ```\n[1,{\"x\":2}]\n``` and {\"y\":1}", false),
            Some(json!([1, {"x": 2}]))
        );
        assert_eq!(
            find_embedded_json("[1] then {\"y\":1}", true),
            Some(json!({"y": 1}))
        );
    }

    fn schema_err(schema: Value, instance: Value) -> String {
        check_schema(&schema).unwrap();
        validate_against_schema(&schema, &instance).unwrap_err()
    }

    fn schema_ok(schema: Value, instance: Value) {
        check_schema(&schema).unwrap();
        if let Err(e) = validate_against_schema(&schema, &instance) {
            panic!("{instance} should match {schema}: {e}");
        }
    }

    #[test]
    fn schema_keywords_and_error_paths() {
        let order = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "order",
            "type": "object",
            "additionalProperties": false,
            "required": ["id", "items"],
            "properties": {
                "id": {"type": "string", "pattern": "^ord-[0-9]+$", "minLength": 5, "maxLength": 12},
                "items": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/$defs/item"}},
                "note": {"type": ["string", "null"], "format": "whatever"},
                "tags": {"type": "array", "uniqueItems": true}
            },
            "$defs": {"item": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {
                    "sku": {"const": "A1"},
                    "qty": {"type": "integer", "exclusiveMinimum": 0, "maximum": 10, "multipleOf": 2}
                }
            }}
        });
        let good = json!({"id": "ord-12", "items": [{"sku": "A1", "qty": 4.0}], "note": null, "tags": ["a", "b"]});
        schema_ok(order.clone(), good.clone());
        let with = |ptr: &str, v: Value| {
            let mut x = good.clone();
            *x.pointer_mut(ptr).unwrap() = v;
            x
        };
        let cases = [
            (
                with("/id", json!("ord-x")),
                "/id: \"ord-x\" does not match the pattern \"^ord-[0-9]+$\"",
            ),
            (
                with("/id", json!("ord-1234567890")),
                "/id: \"ord-1234567890\" is longer than 12 characters",
            ),
            (
                with("/id", json!(7)),
                "/id: 7 is not of type string (it is integer)",
            ),
            (
                with("/items/0/qty", json!(3)),
                "/items/0/qty: 3 is not a multiple of 2",
            ),
            (
                with("/items/0/qty", json!(0)),
                "/items/0/qty: 0 is not greater than the exclusive minimum 0",
            ),
            (
                with("/items/0/qty", json!(12)),
                "/items/0/qty: 12 is greater than the maximum 10",
            ),
            (
                with("/items/0/qty", json!(2.5)),
                "/items/0/qty: 2.5 is not of type integer (it is number)",
            ),
            (
                with("/items/0/sku", json!("B")),
                "/items/0/sku: \"B\" is not the constant \"A1\"",
            ),
            (
                with("/items", json!([])),
                "/items: has 0 items, fewer than the minimum 1",
            ),
            (
                with("/items", json!([{"sku": "A1"}])),
                "/items/0: missing required property \"qty\"",
            ),
            (
                with("/note", json!(1)),
                "/note: 1 is not of type [\"string\",\"null\"] (it is integer)",
            ),
            (
                with("/tags", json!(["a", "a"])),
                "/tags: items 0 and 1 are equal, but items must be unique",
            ),
            (
                with("/id", json!("o")),
                "/id: \"o\" is shorter than 5 characters",
            ),
        ];
        for (instance, want) in cases {
            assert_eq!(schema_err(order.clone(), instance), want);
        }
        let mut extra = good.clone();
        extra["colour"] = json!("red");
        assert_eq!(
            schema_err(order.clone(), extra),
            "(root): additional property \"colour\" is not allowed"
        );

        // prefixItems, additionalProperties as a schema, definitions, combinators.
        schema_ok(
            json!({"prefixItems": [{"type": "string"}, {"type": "number"}], "items": false}),
            json!(["a", 1]),
        );
        assert_eq!(
            schema_err(
                json!({"prefixItems": [{"type": "string"}], "items": false}),
                json!(["a", 1])
            ),
            "/1: no value is allowed here"
        );
        assert_eq!(
            schema_err(
                json!({"additionalProperties": {"type": "number"}}),
                json!({"a": 1, "b": "x"})
            ),
            "/b: \"x\" is not of type number (it is string)"
        );
        let defs = json!({"definitions": {"pos": {"minimum": 0}}, "$ref": "#/definitions/pos"});
        schema_ok(defs.clone(), json!(3));
        assert_eq!(
            schema_err(defs, json!(-1)),
            "(root): -1 is less than the minimum 0"
        );
        let any = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        schema_ok(any.clone(), json!(3));
        assert!(
            schema_err(any, json!(1.5)).starts_with("(root): matches none of the anyOf schemas")
        );
        let one = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        schema_ok(one.clone(), json!(1.5));
        assert!(schema_err(one, json!(2)).contains("must match exactly one"));
        let all = json!({"allOf": [{"minimum": 1}, {"maximum": 2}]});
        assert_eq!(
            schema_err(all, json!(3)),
            "(root): 3 is greater than the maximum 2"
        );
        let not = json!({"not": {"type": "null"}});
        assert_eq!(
            schema_err(not, json!(null)),
            "(root): null matches the `not` schema"
        );
        // Draft 4 boolean exclusiveMinimum.
        assert!(
            schema_err(json!({"minimum": 1, "exclusiveMinimum": true}), json!(1))
                .contains("exclusive")
        );
        // A reference cycle errors instead of overflowing the stack.
        assert!(schema_err(json!({"$ref": "#"}), json!(1)).contains("too deeply"));
        // Property names with `/` are escaped in the path.
        assert_eq!(
            schema_err(
                json!({"properties": {"a/b": {"type": "string"}}}),
                json!({"a/b": 1})
            ),
            "/a~1b: 1 is not of type string (it is integer)"
        );
        // Unknown keywords are refused, never ignored.
        for keyword in [
            "if",
            "patternProperties",
            "dependentRequired",
            "nullable",
            "contains",
        ] {
            let e = check_schema(&json!({ keyword: {} })).unwrap_err();
            assert!(e.contains(&format!("\"{keyword}\"")), "{e}");
        }
        assert!(check_schema(&json!({"$ref": "other.json#/a"})).is_err());
    }

    #[tokio::test]
    async fn levenshtein_latency_cost() {
        let r = run(&spec("levenshtein", json!("kitten")), "sitting").await;
        assert!(r.pass && r.score == 1.0);
        assert_eq!(r.reason, "levenshtein distance 3 <= 5");
        let r = run(&spec("levenshtein", json!("abcdefg")), "1234567").await;
        assert!(!r.pass && r.score == 0.0);
        assert_eq!(r.reason, "levenshtein distance 7 > 5");
        assert!(
            !run(
                &with_threshold(spec("levenshtein", json!("kitten")), 2.0),
                "sitting"
            )
            .await
            .pass
        );
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("héllo", "hello"), 1);

        let r = run(&with_threshold(spec("latency", Value::Null), 1000.0), "x").await;
        assert!(!r.pass);
        assert_eq!(r.reason, "latency 1203 ms > 1000 ms");
        assert!(
            run(&with_threshold(spec("latency", Value::Null), 1500.0), "x")
                .await
                .pass
        );

        let r = run(&with_threshold(spec("cost", Value::Null), 0.01), "x").await;
        assert!(r.pass, "{}", r.reason);
        let r = run(&with_threshold(spec("cost", Value::Null), 0.001), "x").await;
        assert!(!r.pass);
        assert_eq!(r.reason, "cost $0.002 > $0.001");
        let f = Fixture::new();
        let mut ctx = f.ctx("x");
        ctx.cost = None;
        let s = with_threshold(spec("cost", Value::Null), 0.01);
        for s in [s.clone(), negated(s)] {
            let r = evaluate(&s, &ctx, &Canned::default()).await;
            assert!(r.error && !r.pass && r.score == 0.0, "{r:?}");
            assert!(r.reason.contains("cost is unknown") && r.reason.contains("prices"));
        }
    }

    #[tokio::test]
    async fn similar_uses_the_best_embedding_match() {
        let calls = Canned {
            vectors: Some(Ok(vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.8, 0.6]])),
            ..Canned::default()
        };
        let s = spec("similar", json!(["unrelated", "close"]));
        let r = run_with(&s, "the output", &calls).await;
        assert!(r.pass, "{}", r.reason);
        assert!((r.score - 0.8).abs() < 1e-6);
        assert!(
            r.reason.starts_with("similarity 0.800 >= 0.75"),
            "{}",
            r.reason
        );
        assert_eq!(
            calls.embedded.lock().unwrap()[0],
            vec!["the output", "unrelated", "close"]
        );
        let r = run_with(&with_threshold(s.clone(), 0.9), "the output", &calls).await;
        assert!(
            !r.pass && r.reason.starts_with("similarity 0.800 < 0.9"),
            "{}",
            r.reason
        );
        let r = run_with(
            &negated(with_threshold(s.clone(), 0.9)),
            "the output",
            &calls,
        )
        .await;
        assert!(r.pass && (r.score - 0.2).abs() < 1e-6 && r.kind == "not-similar");

        let failing = Canned {
            vectors: Some(Err(ProviderError::Network("connection refused".into()))),
            ..Canned::default()
        };
        let r = run_with(&s, "x", &failing).await;
        assert!(r.error && r.reason.contains("connection refused"), "{r:?}");
        let short = Canned {
            vectors: Some(Ok(vec![vec![1.0]])),
            ..Canned::default()
        };
        assert!(run_with(&s, "x", &short).await.error);
    }

    #[tokio::test]
    async fn llm_rubric_prompt_and_reply_parsing() {
        let calls = Canned::replying(
            "Here is my grade:\n```json\n{\"reason\": \"It is polite.\", \"pass\": true, \"score\": 0.9}\n```",
        );
        let s = spec("llm-rubric", json!("Is polite"));
        let r = run_with(&s, "Thank you!", &calls).await;
        assert!(r.pass && (r.score - 0.9).abs() < 1e-9 && !r.error, "{r:?}");
        assert_eq!(r.reason, "It is polite.");
        let asked = calls.asked.lock().unwrap().clone();
        assert_eq!(asked[0].len(), 2);
        assert_eq!(asked[0][0].role, "system");
        assert_eq!(
            asked[0][0].content.as_deref(),
            Some("You grade an output against a rubric. Reply with only a JSON object {\"reason\": string, \"pass\": boolean, \"score\": number between 0 and 1}.")
        );
        assert_eq!(asked[0][1].role, "user");
        assert_eq!(
            asked[0][1].content.as_deref(),
            Some("<Output>\nThank you!\n</Output>\n<Rubric>\nIs polite\n</Rubric>")
        );

        let r = run_with(&with_threshold(s.clone(), 0.95), "Thank you!", &calls).await;
        assert!(
            !r.pass && r.reason.starts_with("judge score 0.9 < threshold 0.95"),
            "{}",
            r.reason
        );
        let r = run_with(&negated(s.clone()), "Thank you!", &calls).await;
        assert!(!r.pass && (r.score - 0.1).abs() < 1e-9 && r.kind == "not-llm-rubric");

        let fail = Canned::replying("{\"reason\": \"Rude.\", \"pass\": false, \"score\": 0}");
        let r = run_with(&s, "Go away", &fail).await;
        assert!(!r.pass && r.score == 0.0 && r.reason == "Rude." && !r.error);
        let only_pass = Canned::replying("{\"pass\": \"yes\"}");
        let r = run_with(&s, "Hi", &only_pass).await;
        assert!(r.pass && r.score == 1.0);

        let garbage = Canned::replying("I think it passes, mostly.");
        let r = run_with(&s, "Hi", &garbage).await;
        assert!(r.error && !r.pass);
        assert!(
            r.reason.contains("\"I think it passes, mostly.\""),
            "{}",
            r.reason
        );
        let r = run_with(
            &s,
            "Hi",
            &Canned::replying("{\"pass\": true, \"score\": 7}"),
        )
        .await;
        assert!(r.error && r.reason.contains("outside 0..1"), "{}", r.reason);

        let down = Canned {
            reply: Some(Err(ProviderError::Server {
                status: 503,
                message: "overloaded".into(),
            })),
            ..Canned::default()
        };
        let r = run_with(&negated(s), "Hi", &down).await;
        assert!(r.error && !r.pass, "{r:?}");
        assert!(
            r.reason.contains("provider error (HTTP 503): overloaded"),
            "{}",
            r.reason
        );
    }

    #[tokio::test]
    async fn factuality_choices() {
        let s = spec("factuality", json!("Paris is the capital of France."));
        for (choice, pass) in [
            ("A", true),
            ("B", true),
            ("C", true),
            ("D", false),
            ("E", true),
            ("(c)", true),
        ] {
            let calls = Canned::replying(&format!(
                "{{\"choice\": \"{choice}\", \"reason\": \"because\"}}"
            ));
            let r = run_with(&s, "Paris.", &calls).await;
            assert_eq!(r.pass, pass, "{choice}: {r:?}");
            assert_eq!(r.score, if pass { 1.0 } else { 0.0 });
            assert!(r.reason.ends_with(": because"), "{}", r.reason);
            let asked = calls.asked.lock().unwrap();
            assert_eq!(
                asked[0][0].content.as_deref(),
                Some("You compare a submitted answer to an expert answer. Reply with only a JSON object {\"choice\": one of \"A\",\"B\",\"C\",\"D\",\"E\", \"reason\": string}.")
            );
            assert_eq!(
                asked[0][1].content.as_deref(),
                Some("<Question>\nWhat is the capital of France?\n</Question>\n<Expert>\nParis is the capital of France.\n</Expert>\n<Submission>\nParis.\n</Submission>")
            );
        }
        let r = run_with(&s, "Paris.", &Canned::replying("{\"choice\": \"F\"}")).await;
        assert!(
            r.error && r.reason.contains("not one of A, B, C, D, E"),
            "{}",
            r.reason
        );
        let r = run_with(&s, "Paris.", &Canned::replying("The answer is C")).await;
        assert!(r.error, "{r:?}");
    }

    async fn run_command(value: Value, timeout: Duration) -> AssertionResult {
        let f = Fixture::new();
        let s = spec("command", value);
        evaluate_with(
            &s,
            &f.ctx("The capital is Paris."),
            &Canned::default(),
            timeout,
        )
        .await
    }

    #[tokio::test]
    async fn command_reads_the_case_on_stdin() {
        // Key order in the JSON is not part of the contract, so each piece is checked alone.
        let script = r#"input=$(cat)
for want in '"id":"capital-fr"' '"description":"capital of France"' '"tags":["geo"]' \
    '"output":"The capital is Paris."' '"vars":{"city":"Paris"}' '"latency_ms":1203.0' \
    '"cost":0.002' '"prompt":"What is the capital of France?"'; do
  case "$input" in
    *"$want"*) ;;
    *) echo '{"pass": false, "reason": "unexpected input"}'; echo "missing $want in $input" >&2; exit 0 ;;
  esac
done
echo "checking"
echo '{"pass": true, "score": 0.75, "reason": "mentions Paris"}'"#;
        let r = run_command(json!(script), COMMAND_TIMEOUT).await;
        assert!(r.pass && !r.error, "{r:?}");
        assert_eq!(r.score, 0.75);
        assert_eq!(r.reason, "mentions Paris");

        let r = run_command(
            json!(["sh", "-c", "cat >/dev/null; echo '{\"pass\": false}'"]),
            COMMAND_TIMEOUT,
        )
        .await;
        assert!(!r.pass && !r.error && r.score == 0.0, "{r:?}");

        // A command that ignores its input still works.
        let r = run_command(json!("echo '{\"pass\": true}'"), COMMAND_TIMEOUT).await;
        assert!(r.pass && r.score == 1.0, "{r:?}");
    }

    #[tokio::test]
    async fn command_failures_are_errors() {
        let r = run_command(
            json!("echo 'not json'; echo 'details here' >&2"),
            COMMAND_TIMEOUT,
        )
        .await;
        assert!(r.error && !r.pass, "{r:?}");
        assert!(
            r.reason.contains("did not print a JSON verdict"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("stderr: details here"), "{}", r.reason);

        let r = run_command(
            json!("echo 'boom: no such table' >&2; exit 3"),
            COMMAND_TIMEOUT,
        )
        .await;
        assert!(r.error && !r.pass);
        assert!(r.reason.contains("exited with status 3"), "{}", r.reason);
        assert!(r.reason.contains("boom: no such table"), "{}", r.reason);

        let start = Instant::now();
        let r = run_command(
            json!("echo 'starting' >&2; sleep 5; echo '{\"pass\": true}'"),
            Duration::from_millis(300),
        )
        .await;
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert!(r.error && !r.pass, "{r:?}");
        assert!(r.reason.contains("timed out after 0.3 s"), "{}", r.reason);
        assert!(r.reason.contains("stderr: starting"), "{}", r.reason);

        // What the command started in the background is killed with it.
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("still-running");
        let script = format!("(sleep 1; touch '{}') & sleep 5", marker.display());
        let r = run_command(json!(script), Duration::from_millis(200)).await;
        assert!(r.error && r.reason.contains("timed out"), "{r:?}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !marker.exists(),
            "a background process outlived the timeout"
        );

        let r = run_command(json!(["/nonexistent/check"]), COMMAND_TIMEOUT).await;
        assert!(
            r.error && r.reason.contains("could not start command"),
            "{}",
            r.reason
        );
        let r = run_command(
            json!("echo '{\"pass\": true, \"score\": 3}'"),
            COMMAND_TIMEOUT,
        )
        .await;
        assert!(r.error && r.reason.contains("outside 0..1"), "{}", r.reason);
    }

    #[tokio::test]
    async fn negation_and_unsupported() {
        let mut s = negated(spec("contains", json!("Paris")));
        s.weight = 2.0;
        s.metric = Some("accuracy".into());
        let r = run(&s, "It is Paris").await;
        assert_eq!(r.kind, "not-contains");
        assert!(!r.pass && r.score == 0.0);
        assert_eq!(
            r.reason,
            "expected not-contains, but output does contain \"Paris\""
        );
        assert_eq!((r.weight, r.metric.as_deref()), (2.0, Some("accuracy")));
        let r = run(&s, "It is Lyon").await;
        assert!(r.pass && r.score == 1.0);
        assert!(r.reason.starts_with("not-contains passed"), "{}", r.reason);

        let r = run(
            &negated(spec("javascript", json!("output.length > 3"))),
            "x",
        )
        .await;
        assert!(r.unsupported && !r.pass && !r.error);
        assert_eq!(
            r.reason,
            "assertion type javascript is not supported by Assay"
        );
        assert_eq!(r.kind, "not-javascript");
    }

    fn result(pass: bool, score: f64, weight: f64) -> AssertionResult {
        AssertionResult {
            kind: "contains".into(),
            pass,
            score,
            reason: String::new(),
            weight,
            metric: None,
            unsupported: false,
            error: false,
        }
    }

    #[test]
    fn case_verdict_weights_thresholds_errors() {
        assert_eq!(case_verdict(&[], None), (true, 1.0));
        assert_eq!(
            case_verdict(&[result(true, 1.0, 1.0), result(true, 1.0, 3.0)], None),
            (true, 1.0)
        );
        let mixed = [result(true, 1.0, 3.0), result(false, 0.0, 1.0)];
        assert_eq!(case_verdict(&mixed, None), (false, 0.75));
        assert_eq!(case_verdict(&mixed, Some(0.7)), (true, 0.75));
        assert_eq!(case_verdict(&mixed, Some(0.8)), (false, 0.75));
        let fractional = [
            result(true, 0.1, 1.0),
            result(true, 0.2, 1.0),
            result(true, 0.6, 1.0),
        ];
        assert!(case_verdict(&fractional, Some(0.3)).0);

        let mut unsupported = result(false, 0.0, 5.0);
        unsupported.unsupported = true;
        assert_eq!(
            case_verdict(&[result(true, 1.0, 1.0), unsupported.clone()], None),
            (true, 1.0)
        );
        assert_eq!(case_verdict(&[unsupported], None), (true, 1.0));

        let mut errored = result(false, 0.0, 1.0);
        errored.error = true;
        let (pass, score) = case_verdict(&[result(true, 1.0, 1.0), errored], Some(0.1));
        assert!(!pass);
        assert_eq!(score, 0.5);
        // Weight 0 counts for pass/fail but not the score.
        assert_eq!(
            case_verdict(&[result(false, 0.0, 0.0), result(true, 1.0, 1.0)], None),
            (false, 1.0)
        );
    }

    #[tokio::test]
    async fn cheap_assertions_are_cheap() {
        let f = Fixture::new();
        let calls = Canned::default();
        let specs = [
            spec("contains", json!("Paris")),
            spec("regex", json!(r"(?i)capital\s+of\s+\w+")),
        ];
        let outputs: Vec<String> = (0..1000)
            .map(|i| format!("Answer {i}: the capital of France is Paris."))
            .collect();
        let start = Instant::now();
        let mut passed = 0;
        for out in &outputs {
            let ctx = f.ctx(out);
            for s in &specs {
                passed += usize::from(evaluate(s, &ctx, &calls).await.pass);
            }
        }
        let elapsed = start.elapsed();
        assert_eq!(passed, 2000);
        assert!(
            elapsed < Duration::from_millis(200),
            "1000 cases took {elapsed:?}"
        );
    }
}
