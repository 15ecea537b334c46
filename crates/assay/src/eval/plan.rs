//! What an evaluation run needs, fully resolved from files: prompts, providers, cases with their
//! assertions, gates and run settings. [`crate::eval::files`] builds an [`EvalPlan`] from an eval
//! set or a promptfoo config; the runner executes it. Provider calls use [`ProviderRequest`] and
//! [`ProviderResponse`], whatever the wire format behind them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Message, ToolCall, Usage};

/// A fully resolved evaluation: every prompt x provider x case (x repeat) is one call.
#[derive(Debug, Clone, Serialize)]
pub struct EvalPlan {
    /// The eval set's name (its folder name, or the promptfoo config's file stem).
    pub name: String,
    /// The file the plan was read from (`evalset.yaml` or `promptfooconfig.yaml`).
    pub source: PathBuf,
    /// What the eval set checks.
    pub description: Option<String>,
    /// The prompts under test, compared side by side.
    pub prompts: Vec<PlanPrompt>,
    /// The providers under test, compared side by side.
    pub providers: Vec<ProviderSpec>,
    /// The cases, in file order; default assertions are already merged into each.
    pub cases: Vec<PlanCase>,
    /// Pass/fail thresholds for the whole run.
    pub gates: Gates,
    /// The provider model-graded assertions (llm-rubric, factuality) use when they name none.
    pub judge: Option<ProviderSpec>,
    /// The provider `similar` uses for embeddings when it names none.
    pub embedder: Option<ProviderSpec>,
    /// Calls in flight at once, per provider.
    pub concurrency: usize,
    /// How many times each case runs (for noisy models).
    pub repeat: u32,
    /// Timeout of one provider call.
    pub timeout: Duration,
    /// Things the source asked for that Assay does not support (e.g. a `javascript` assertion),
    /// by name and location. They are reported to the user, never silently dropped.
    pub unsupported: Vec<Unsupported>,
}

/// Something a config asked for that cannot run here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unsupported {
    /// What it is, by name (`assertion type javascript`, `scenarios`).
    pub what: String,
    /// Where (`promptfooconfig.yaml: tests[5].assert[0]`).
    pub location: String,
}

/// A prompt template, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanPrompt {
    /// Stable id (the file stem under `prompts/`, or the config's id).
    pub id: String,
    /// Display label.
    pub label: String,
    /// The template.
    pub template: PromptTemplate,
    /// The file it was read from, for error messages.
    pub source: PathBuf,
    /// Model parameters the prompt sets (temperature, max_tokens, ...); provider config wins.
    pub params: Map<String, Value>,
    /// The provider id the prompt prefers when the eval set names none.
    pub default_provider: Option<String>,
}

/// A prompt's text: one user message, or a list of chat messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptTemplate {
    /// A text prompt, sent as one user message.
    Text(String),
    /// Chat messages whose contents are templates.
    Chat(Vec<MessageTemplate>),
}

/// One chat message of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplate {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The content, a `{{var}}` template.
    pub content: String,
}

/// Which wire format and endpoint a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI chat completions (`https://api.openai.com/v1`).
    OpenAi,
    /// Anthropic messages (`https://api.anthropic.com/v1`).
    Anthropic,
    /// Google Gemini generateContent (`https://generativelanguage.googleapis.com/v1beta`).
    Gemini,
    /// Azure OpenAI (deployment URL, `api-key` header, `api-version` query).
    AzureOpenAi,
    /// Any OpenAI-compatible server at a base URL (Ollama, vLLM, LM Studio, OpenRouter).
    OpenAiCompatible,
}

impl ProviderKind {
    /// The name used for keys (`assay keys set openai`) and in traces' `provider` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::AzureOpenAi => "azure",
            ProviderKind::OpenAiCompatible => "openai-compatible",
        }
    }

    /// The kind named by [`ProviderKind::as_str`].
    pub fn parse(name: &str) -> Option<ProviderKind> {
        use ProviderKind::*;
        [OpenAi, Anthropic, Gemini, AzureOpenAi, OpenAiCompatible]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// A provider as configured: which API, which model, with which settings. Never holds a secret
/// that came from the keyring; an inline key from a config file is kept out of serialisation
/// and out of `Debug` output.
#[derive(Clone, PartialEq, Serialize)]
pub struct ProviderSpec {
    /// The id as written (`openai:gpt-4o-mini`, `anthropic:messages:claude-3-5-haiku-latest`).
    pub id: String,
    /// Display label (defaults to the id); results are grouped by it.
    pub label: String,
    /// Wire format.
    pub kind: ProviderKind,
    /// The model (for Azure: the deployment name).
    pub model: String,
    /// Base URL override (`apiBaseUrl`, `base_url`); `None` uses the provider's default.
    pub base_url: Option<String>,
    /// Which environment variable holds the key, overriding the provider's default
    /// (`OPENAI_API_KEY`, ...).
    pub api_key_env: Option<String>,
    /// A key written inline in the config (promptfoo allows it). Never serialised or logged.
    #[serde(skip)]
    pub inline_api_key: Option<String>,
    /// Request parameters passed to the API (temperature, max_tokens, top_p, stop, seed,
    /// response_format, ...), in the OpenAI names; providers translate them.
    pub params: Map<String, Value>,
    /// Whether to stream the response (measures time to first token).
    pub stream: bool,
    /// Azure OpenAI `api-version`.
    pub api_version: Option<String>,
    /// Extra HTTP headers to send. Only their names are serialised (into stored plans): a
    /// header may carry a credential.
    #[serde(serialize_with = "header_names")]
    pub headers: Vec<(String, String)>,
    /// Prices in USD per million tokens, for the cost of each call (until the price catalogue).
    pub prices: Option<Prices>,
}

fn header_names<S: serde::Serializer>(
    headers: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(headers.iter().map(|(name, _)| name))
}

impl std::fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSpec")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .field(
                "inline_api_key",
                &self.inline_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("params", &self.params)
            .field("stream", &self.stream)
            .field("api_version", &self.api_version)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("prices", &self.prices)
            .finish()
    }
}

/// Prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens (reasoning included).
    pub output: f64,
    /// Input tokens read from the prompt cache (defaults to `input`).
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Input tokens written to the prompt cache (defaults to `input`).
    #[serde(default)]
    pub cache_write: Option<f64>,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanCase {
    /// Position in the eval set (0-based); with the prompt, provider and repeat it identifies a
    /// result.
    pub index: usize,
    /// A stable id: the case's `id`, else its description, else `case-N`.
    pub id: String,
    /// Human description.
    pub description: Option<String>,
    /// Template variables.
    pub vars: Map<String, Value>,
    /// Assertions (the eval set's defaults first, then the case's own).
    pub assertions: Vec<AssertionSpec>,
    /// Tags for filtering.
    pub tags: Vec<String>,
    /// Weight of the case in the mean score.
    pub weight: f64,
    /// When set, the case passes when its weighted score reaches this, even if some assertion
    /// failed (promptfoo's `threshold`).
    pub threshold: Option<f64>,
    /// Where the case was defined (`evalsets/x/cases.jsonl:12`).
    pub location: String,
}

/// One assertion as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertionSpec {
    /// The type without its `not-` prefix (`contains`, `llm-rubric`, ...).
    pub kind: String,
    /// Whether the result is negated (`not-contains`).
    pub negate: bool,
    /// The expected value, rubric, schema, command, ... (type-specific).
    #[serde(default)]
    pub value: Option<Value>,
    /// Type-specific threshold (levenshtein distance, similarity, latency ms, cost USD, score).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Weight in the case's score (default 1).
    pub weight: f64,
    /// Named metric this assertion's score is aggregated under.
    #[serde(default)]
    pub metric: Option<String>,
    /// Provider id for model-graded and embedding assertions, overriding the plan's.
    #[serde(default)]
    pub provider: Option<String>,
    /// Where it was defined, for messages.
    pub location: String,
}

/// Thresholds a run must meet; each one set is checked, and any that fails fails the run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// Minimum share of passing results among those that did not error (0..1).
    #[serde(default)]
    pub pass_rate: Option<f64>,
    /// Minimum weighted mean score (0..1).
    #[serde(default)]
    pub mean_score: Option<f64>,
    /// Minimum mean score per named metric.
    #[serde(default)]
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Most errored results allowed (default 0).
    #[serde(default)]
    pub max_errors: Option<u64>,
}

/// A provider call, independent of the wire format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderRequest {
    /// The model.
    pub model: String,
    /// The rendered messages.
    pub messages: Vec<Message>,
    /// Parameters, in OpenAI names (temperature, max_tokens, ...).
    pub params: Map<String, Value>,
}

/// A provider's answer, normalised.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProviderResponse {
    /// The output text (text parts joined).
    pub output: String,
    /// Tool calls the model asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The model (version) that answered.
    #[serde(default)]
    pub response_model: Option<String>,
    /// Why it stopped (`stop`, `length`, ...), lowercase.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Token usage, each key counted once (see [`Usage`]).
    #[serde(default)]
    pub usage: Usage,
    /// A cost the provider reported (USD).
    #[serde(default)]
    pub reported_cost: Option<f64>,
    /// Wall time of the call in milliseconds, measured by the client.
    #[serde(default)]
    pub latency_ms: f64,
    /// Time to the first streamed token in milliseconds (streaming calls only).
    #[serde(default)]
    pub time_to_first_token_ms: Option<f64>,
}

/// Why a provider call failed. The runner retries the retryable ones.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// 429: slow down. `retry_after` is the server's `Retry-After`, when it sent one.
    #[error("rate limited (HTTP 429){}: {message}", retry_after.map(|d| format!(", retry after {:.1} s", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// The server's requested wait.
        retry_after: Option<Duration>,
        /// The server's message.
        message: String,
    },
    /// 5xx (and 408/409/529): the provider failed; worth retrying.
    #[error("provider error (HTTP {status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// 401/403: the key is missing, wrong or not allowed; not retried.
    #[error("not authorised (HTTP {status}): {message}")]
    Auth {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Any other 4xx: the request is wrong; not retried.
    #[error("request rejected (HTTP {status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The call took longer than the timeout.
    #[error("timed out after {0:.1} s")]
    Timeout(f64),
    /// Connection refused, reset or dropped (also mid-stream).
    #[error("network error: {0}")]
    Network(String),
    /// The answer could not be understood (bad JSON, a stream cut short, missing fields).
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The provider is not usable as configured (no key, bad URL, unknown id).
    #[error("{0}")]
    Config(String),
    /// A replay found no recorded response for this request.
    #[error("no recorded response for this request in {cassette} (record one with --record)")]
    NotRecorded {
        /// The cassette file.
        cassette: String,
    },
}

impl ProviderError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Server { .. }
                | ProviderError::Timeout(_)
                | ProviderError::Network(_)
                | ProviderError::Malformed(_)
        )
    }

    /// A stable short name for the error class (`rate_limited`, `server`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Server { .. } => "server",
            ProviderError::Auth { .. } => "auth",
            ProviderError::Rejected { .. } => "rejected",
            ProviderError::Timeout(_) => "timeout",
            ProviderError::Network(_) => "network",
            ProviderError::Malformed(_) => "malformed",
            ProviderError::Config(_) => "config",
            ProviderError::NotRecorded { .. } => "not_recorded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_an_inline_key_or_header_values() {
        let spec = ProviderSpec {
            id: "openai:gpt-4o-mini".into(),
            label: "gpt".into(),
            kind: ProviderKind::OpenAi,
            model: "gpt-4o-mini".into(),
            base_url: None,
            api_key_env: None,
            inline_api_key: Some("sk-secret-123".into()),
            params: Map::new(),
            stream: true,
            api_version: None,
            headers: vec![("authorization".into(), "Bearer sk-secret-456".into())],
            prices: None,
        };
        let shown = format!("{spec:?}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert!(!serde_json::to_string(&spec)
            .unwrap()
            .contains("sk-secret-123"));
    }
}
