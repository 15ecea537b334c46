//! Provider clients: OpenAI chat completions, Anthropic messages, Gemini generateContent,
//! Azure OpenAI and any OpenAI-compatible server, behind one [`ProviderClient`].
//!
//! Each call is translated from [`ProviderRequest`] (OpenAI names) to the provider's wire
//! format, and its answer (JSON or a server-sent event stream) back to a [`ProviderResponse`]
//! whose usage counts each token once (see [`crate::model::Usage`]).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::eval::plan::{
    Prices, ProviderError, ProviderKind, ProviderRequest, ProviderResponse, ProviderSpec,
};
use crate::eval::secrets;
use crate::import::normalize::normalize_finish_reason;
use crate::model::{Message, ToolCall, Usage};

const OPENAI_BASE: &str = "https://api.openai.com/v1";
const ANTHROPIC_BASE: &str = "https://api.anthropic.com/v1";
const GEMINI_BASE: &str = "https://generativelanguage.googleapis.com/v1beta";
const OLLAMA_BASE: &str = "http://localhost:11434/v1";
const OPENROUTER_BASE: &str = "https://openrouter.ai/api/v1";
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Azure OpenAI's GA data-plane version, used when the config names none.
const AZURE_API_VERSION: &str = "2024-10-21";
/// Anthropic requires `max_tokens`; this is used when the request sets none.
const ANTHROPIC_DEFAULT_MAX_TOKENS: u64 = 1024;
/// How much of an error body is quoted when it is not JSON.
const MAX_ERROR_TEXT: usize = 300;

/// Id prefixes Assay reads.
const KNOWN_PREFIXES: &[&str] = &[
    "openai",
    "anthropic",
    "google",
    "gemini",
    "azure",
    "azureopenai",
    "ollama",
    "openrouter",
    "openai-compatible",
];

/// promptfoo provider types that run code or services Assay does not.
const UNSUPPORTED_PREFIXES: &[&str] = &[
    "python", "exec", "file", "http", "https", "vertex", "bedrock", "webhook", "golang", "ruby",
];

/// Request parameters passed through to the API, in OpenAI names.
const PARAMS: &[&str] = &[
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "top_k",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "response_format",
    "tools",
    "tool_choice",
    "reasoning_effort",
];

/// Settings other than request parameters, with their accepted spellings.
const SETTINGS: &[&str] = &[
    "apiBaseUrl",
    "api_base_url",
    "baseUrl",
    "base_url",
    "apiHost",
    "api_host",
    "apiKey",
    "api_key",
    "apiKeyEnvar",
    "api_key_env",
    "apiKeyEnv",
    "apiVersion",
    "api_version",
    "headers",
    "stream",
    "prices",
    "generationConfig",
];

/// Reads a provider from a config entry: an id such as `openai:gpt-4o-mini`,
/// `openai:chat:gpt-4o-mini`, `anthropic:messages:claude-3-5-haiku-latest`,
/// `google:gemini-2.0-flash`, `azure:chat:DEPLOYMENT`, `ollama:chat:llama3.2`, or
/// `openai-compatible:MODEL` with `base_url`; `config` holds its settings (promptfoo's names,
/// `apiBaseUrl`, `apiKey`, `apiKeyEnvar`, `temperature`, `max_tokens`, ..., are accepted).
/// The message names the unknown prefix or setting.
pub fn spec_from_config(
    id: &str,
    label: Option<String>,
    config: &Map<String, Value>,
) -> Result<ProviderSpec, String> {
    let parsed = parse_id(id)?;
    let mut spec = ProviderSpec {
        id: id.to_owned(),
        label: label
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| id.to_owned()),
        kind: parsed.kind,
        model: parsed.model,
        base_url: parsed.base_url.map(str::to_owned),
        api_key_env: None,
        inline_api_key: None,
        params: Map::new(),
        stream: !parsed.embedding && parsed.kind != ProviderKind::OpenAiCompatible,
        api_version: None,
        headers: Vec::new(),
        prices: None,
    };
    for (key, value) in config {
        let at = || format!("provider {id}: setting `{key}`");
        let string = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{}: expected a string", at()))
        };
        match key.as_str() {
            "apiBaseUrl" | "api_base_url" | "baseUrl" | "base_url" => {
                spec.base_url = Some(string()?.trim_end_matches('/').to_owned());
            }
            "apiHost" | "api_host" => {
                let host = string()?;
                let host = host.trim_end_matches('/');
                spec.base_url = Some(if host.contains("://") {
                    host.to_owned()
                } else {
                    format!("https://{host}")
                });
            }
            "apiKey" | "api_key" => spec.inline_api_key = Some(string()?),
            "apiKeyEnvar" | "api_key_env" | "apiKeyEnv" => spec.api_key_env = Some(string()?),
            "apiVersion" | "api_version" => spec.api_version = Some(string()?),
            "headers" => {
                let Some(map) = value.as_object() else {
                    return Err(format!(
                        "{}: expected a map of header names to values",
                        at()
                    ));
                };
                for (name, v) in map {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err(format!("{}.{name}: expected a string", at())),
                    };
                    spec.headers.push((name.clone(), v));
                }
            }
            "stream" => {
                spec.stream = value
                    .as_bool()
                    .ok_or_else(|| format!("{}: expected true or false", at()))?;
            }
            "prices" => {
                let prices: Prices = serde_json::from_value(value.clone())
                    .map_err(|e| format!("{}: {e} (expected {{input, output, cache_read?, cache_write?}} in USD per million tokens)", at()))?;
                spec.prices = Some(prices);
            }
            "generationConfig" => {
                let Some(map) = value.as_object() else {
                    return Err(format!("{}: expected a map", at()));
                };
                for (k, v) in map {
                    let name = match k.as_str() {
                        "maxOutputTokens" => "max_tokens",
                        "topP" => "top_p",
                        "topK" => "top_k",
                        "stopSequences" => "stop",
                        "presencePenalty" => "presence_penalty",
                        "frequencyPenalty" => "frequency_penalty",
                        "responseMimeType" if v.as_str() == Some("application/json") => {
                            spec.params
                                .insert("response_format".into(), json!({"type": "json_object"}));
                            continue;
                        }
                        "temperature" | "seed" => k.as_str(),
                        _ => {
                            return Err(format!(
                                "{}.{k}: not supported (supported: temperature, maxOutputTokens, topP, topK, stopSequences, seed, presencePenalty, frequencyPenalty, responseMimeType)",
                                at()
                            ))
                        }
                    };
                    spec.params.insert(name.to_owned(), v.clone());
                }
            }
            other => {
                let Some(name) = param_name(other) else {
                    return Err(format!(
                        "provider {id}: unknown setting `{other}` (known: {}, {})",
                        SETTINGS.join(", "),
                        PARAMS.join(", ")
                    ));
                };
                check_param(name, value).map_err(|m| format!("{}: {m}", at()))?;
                spec.params.insert(name.to_owned(), value.clone());
            }
        }
    }
    if spec.kind == ProviderKind::OpenAiCompatible && spec.base_url.is_none() {
        return Err(format!(
            "provider {id}: an OpenAI-compatible provider needs `base_url` (or `apiBaseUrl`)"
        ));
    }
    if let Some(url) = &spec.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "provider {id}: base URL {url:?} must start with http:// or https://"
            ));
        }
    }
    Ok(spec)
}

/// A parameter's OpenAI name, from its snake_case or camelCase spelling.
fn param_name(key: &str) -> Option<&'static str> {
    let snake = match key {
        "maxTokens" => "max_tokens",
        "maxCompletionTokens" => "max_completion_tokens",
        "topP" => "top_p",
        "topK" => "top_k",
        "frequencyPenalty" => "frequency_penalty",
        "presencePenalty" => "presence_penalty",
        "responseFormat" => "response_format",
        "toolChoice" => "tool_choice",
        "reasoningEffort" => "reasoning_effort",
        other => other,
    };
    PARAMS.iter().copied().find(|p| *p == snake)
}

fn check_param(name: &str, value: &Value) -> Result<(), String> {
    let ok = match name {
        "temperature" | "top_p" | "frequency_penalty" | "presence_penalty" => value.is_number(),
        "max_tokens" | "max_completion_tokens" | "top_k" | "seed" => {
            value.is_u64() || value.is_i64()
        }
        "stop" => {
            value.is_string()
                || value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
        }
        "response_format" | "tool_choice" => value.is_object() || value.is_string(),
        "tools" => value.is_array(),
        "reasoning_effort" => value.is_string(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected value {value}"))
    }
}

struct ParsedId {
    kind: ProviderKind,
    model: String,
    base_url: Option<&'static str>,
    embedding: bool,
}

fn parse_id(id: &str) -> Result<ParsedId, String> {
    let Some((prefix, rest)) = id.split_once(':') else {
        return Err(format!(
            "provider id {id:?} has no prefix; known prefixes: {}",
            KNOWN_PREFIXES.join(", ")
        ));
    };
    if UNSUPPORTED_PREFIXES.contains(&prefix) {
        return Err(format!(
            "provider {id}: `{prefix}:` providers are not supported by Assay (supported prefixes: {})",
            KNOWN_PREFIXES.join(", ")
        ));
    }
    // `chat:`, `messages:` and `embedding:` select the endpoint; anything else is the model.
    let (endpoint, model) = match rest.split_once(':') {
        Some((e @ ("chat" | "messages" | "embedding" | "embeddings" | "completion"), m)) => {
            (Some(e), m)
        }
        _ => (None, rest),
    };
    if model.trim().is_empty() {
        return Err(format!("provider {id}: the model name is empty"));
    }
    let embedding = matches!(endpoint, Some("embedding" | "embeddings"));
    let bad_endpoint = |allowed: &str| {
        format!(
            "provider {id}: `{}:` is not supported for {prefix} (use {allowed})",
            endpoint.unwrap_or_default()
        )
    };
    let (kind, base_url) = match prefix {
        "openai" => {
            if endpoint == Some("completion") || endpoint == Some("messages") {
                return Err(bad_endpoint("chat: or embedding:"));
            }
            (ProviderKind::OpenAi, None)
        }
        "anthropic" => {
            if endpoint.is_some() && endpoint != Some("messages") {
                return Err(bad_endpoint("messages:"));
            }
            (ProviderKind::Anthropic, None)
        }
        "google" | "gemini" => {
            if matches!(endpoint, Some("completion" | "messages")) {
                return Err(bad_endpoint("chat: or embedding:"));
            }
            (ProviderKind::Gemini, None)
        }
        "azure" | "azureopenai" => {
            if matches!(endpoint, Some("completion" | "messages")) {
                return Err(bad_endpoint("chat: or embedding:"));
            }
            (ProviderKind::AzureOpenAi, None)
        }
        "ollama" => {
            if matches!(endpoint, Some("completion" | "messages")) {
                return Err(bad_endpoint("chat: or embedding:"));
            }
            (ProviderKind::OpenAiCompatible, Some(OLLAMA_BASE))
        }
        "openrouter" => (ProviderKind::OpenAiCompatible, Some(OPENROUTER_BASE)),
        "openai-compatible" => (ProviderKind::OpenAiCompatible, None),
        other => {
            return Err(format!(
                "provider {id}: unknown prefix `{other}:`; known prefixes: {}",
                KNOWN_PREFIXES.join(", ")
            ))
        }
    };
    // OpenRouter model names may contain `:` (`meta-llama/llama-3-8b:free`), so only the
    // prefix is cut off.
    let model = if prefix == "openrouter" { rest } else { model };
    Ok(ParsedId {
        kind,
        model: model.to_owned(),
        base_url,
        embedding,
    })
}

/// Whether the spec is an embedding model (`openai:embedding:...`, `azure:embedding:...`,
/// `google:embedding:...`, `ollama:embeddings:...`), for `similar`.
pub fn is_embedding(spec: &ProviderSpec) -> bool {
    parse_id(&spec.id).is_ok_and(|p| p.embedding)
}

/// An HTTP client for every provider. Cheap to clone; one per run.
#[derive(Clone, Default)]
pub struct ProviderClient {
    clients: Option<Clients>,
}

#[derive(Clone)]
struct Clients {
    /// For remote hosts: honours the `HTTPS_PROXY`/`NO_PROXY` environment.
    remote: reqwest::Client,
    /// For loopback servers (Ollama, vLLM, test servers): never through a proxy.
    local: reqwest::Client,
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient").finish_non_exhaustive()
    }
}

impl ProviderClient {
    /// A client with connection pooling.
    pub fn new() -> ProviderClient {
        let build = |local: bool| {
            let builder = reqwest::Client::builder()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(256)
                .user_agent(concat!("assay/", env!("CARGO_PKG_VERSION")));
            let builder = if local { builder.no_proxy() } else { builder };
            builder.build()
        };
        // Building only fails when TLS cannot be set up; calls then report it.
        let clients = match (build(false), build(true)) {
            (Ok(remote), Ok(local)) => Some(Clients { remote, local }),
            _ => None,
        };
        ProviderClient { clients }
    }

    fn http(&self, url: &str) -> Result<&reqwest::Client, ProviderError> {
        let clients = self.clients.as_ref().ok_or_else(|| {
            ProviderError::Config(
                "cannot set up the HTTP client (TLS initialisation failed)".into(),
            )
        })?;
        Ok(if is_loopback(url) {
            &clients.local
        } else {
            &clients.remote
        })
    }

    /// One chat completion. Measures latency (and time to first token when streaming).
    pub async fn complete(
        &self,
        spec: &ProviderSpec,
        request: &ProviderRequest,
        timeout: Duration,
    ) -> Result<ProviderResponse, ProviderError> {
        match tokio::time::timeout(timeout, self.complete_inner(spec, request)).await {
            Ok(result) => result,
            Err(_) => Err(ProviderError::Timeout(timeout.as_secs_f64())),
        }
    }

    async fn complete_inner(
        &self,
        spec: &ProviderSpec,
        request: &ProviderRequest,
    ) -> Result<ProviderResponse, ProviderError> {
        if is_embedding(spec) {
            return Err(ProviderError::Config(format!(
                "provider {} is an embedding model; it cannot answer prompts",
                spec.id
            )));
        }
        let key = secrets::api_key(spec)?;
        let start = Instant::now();
        let call = build_chat(spec, request, key.as_deref())?;
        let response = self.send(&call, key.as_deref()).await?;
        let mut out = if spec.stream {
            read_stream(spec.kind, response, start, key.as_deref()).await?
        } else {
            let body = read_json(response, key.as_deref()).await?;
            parse_chat(spec.kind, &body)?
        };
        out.latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        Ok(out)
    }

    /// Embeddings, one vector per text, in order.
    pub async fn embed(
        &self,
        spec: &ProviderSpec,
        texts: &[String],
        timeout: Duration,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        match tokio::time::timeout(timeout, self.embed_inner(spec, texts)).await {
            Ok(result) => result,
            Err(_) => Err(ProviderError::Timeout(timeout.as_secs_f64())),
        }
    }

    async fn embed_inner(
        &self,
        spec: &ProviderSpec,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        if spec.kind == ProviderKind::Anthropic {
            return Err(ProviderError::Config(format!(
                "provider {}: Anthropic has no embeddings API; use an OpenAI, Gemini or Ollama embedding model",
                spec.id
            )));
        }
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let key = secrets::api_key(spec)?;
        let call = build_embed(spec, texts, key.as_deref())?;
        let response = self.send(&call, key.as_deref()).await?;
        let body = read_json(response, key.as_deref()).await?;
        let vectors: Vec<Vec<f32>> = match spec.kind {
            ProviderKind::Gemini => body
                .get("embeddings")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed("no `embeddings` in the answer"))?
                .iter()
                .map(|e| floats(e.get("values")))
                .collect::<Result<_, _>>()?,
            _ => {
                let data = body
                    .get("data")
                    .and_then(Value::as_array)
                    .ok_or_else(|| malformed("no `data` in the answer"))?;
                let mut indexed: Vec<(u64, Vec<f32>)> = data
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let index = d.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
                        floats(d.get("embedding")).map(|v| (index, v))
                    })
                    .collect::<Result<_, _>>()?;
                indexed.sort_by_key(|(i, _)| *i);
                indexed.into_iter().map(|(_, v)| v).collect()
            }
        };
        if vectors.len() != texts.len() {
            return Err(malformed(&format!(
                "{} embeddings for {} texts",
                vectors.len(),
                texts.len()
            )));
        }
        Ok(vectors)
    }

    async fn send(
        &self,
        call: &HttpCall,
        key: Option<&str>,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut req = self.http(&call.url)?.post(&call.url).json(&call.body);
        for (name, value) in &call.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let response = req.send().await.map_err(|e| network(&e, key))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        Err(status_error(
            status.as_u16(),
            retry_after,
            &error_message(&text),
            key,
        ))
    }
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.rsplit_once('@') {
        Some((_, h)) => h,
        None => host,
    };
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| h.trim_start_matches('['))
    } else {
        host.split(':').next()
    }
    .unwrap_or_default();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An HTTP request ready to send. Its `Debug` leaves out the headers, which hold the key.
struct HttpCall {
    url: String,
    headers: Vec<(String, String)>,
    body: Value,
}

fn malformed(what: &str) -> ProviderError {
    ProviderError::Malformed(what.to_owned())
}

fn floats(v: Option<&Value>) -> Result<Vec<f32>, ProviderError> {
    v.and_then(Value::as_array)
        .ok_or_else(|| malformed("an embedding is not a list of numbers"))?
        .iter()
        .map(|x| {
            x.as_f64()
                .map(|f| f as f32)
                .ok_or_else(|| malformed("an embedding is not a list of numbers"))
        })
        .collect()
}

/// Removes the key from a message, should a server or library echo it.
fn redact(message: &str, key: Option<&str>) -> String {
    match key {
        Some(k) if k.len() >= 4 => message.replace(k, "***"),
        _ => message.to_owned(),
    }
}

fn network(e: &reqwest::Error, key: Option<&str>) -> ProviderError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    if e.is_decode() {
        ProviderError::Malformed(redact(&message, key))
    } else {
        ProviderError::Network(redact(&message, key))
    }
}

/// The server's `Retry-After` (seconds or an HTTP date), or Azure's `retry-after-ms`.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    parse_retry_after(get("retry-after")?)
}

fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The message of an error body: `error.message` (OpenAI, Azure, Anthropic, Gemini), else
/// `message`/`error` as text, else the start of the body.
fn error_message(text: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        // Gemini wraps errors in a one-element list in streams.
        let v = match v {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
            return m.to_owned();
        }
        for key in ["message", "error", "detail"] {
            if let Some(m) = v.get(key).and_then(Value::as_str) {
                return m.to_owned();
            }
        }
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "(no message)".to_owned();
    }
    trimmed.chars().take(MAX_ERROR_TEXT).collect()
}

fn status_error(
    status: u16,
    retry_after: Option<Duration>,
    message: &str,
    key: Option<&str>,
) -> ProviderError {
    let message = redact(message, key);
    match status {
        429 => ProviderError::RateLimited {
            retry_after,
            message,
        },
        401 | 403 => ProviderError::Auth { status, message },
        408 | 409 | 529 | 500..=599 => ProviderError::Server { status, message },
        _ => ProviderError::Rejected { status, message },
    }
}

async fn read_json(response: reqwest::Response, key: Option<&str>) -> Result<Value, ProviderError> {
    let bytes = response.bytes().await.map_err(|e| network(&e, key))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ProviderError::Malformed(format!(
            "the answer is not JSON ({e}): {}",
            redact(
                &String::from_utf8_lossy(&bytes[..bytes.len().min(200)]),
                key
            )
        ))
    })
}

/// The base URL, with the API's version path added when only a host was given.
fn base_url(spec: &ProviderSpec, default: &str, version_path: &str) -> String {
    match &spec.base_url {
        Some(url) => {
            let url = url.trim_end_matches('/');
            let path_empty = url
                .split_once("://")
                .map(|(_, rest)| !rest.contains('/'))
                .unwrap_or(false);
            if path_empty && !version_path.is_empty() {
                format!("{url}{version_path}")
            } else {
                url.to_owned()
            }
        }
        None => default.to_owned(),
    }
}

fn azure_base(spec: &ProviderSpec) -> Result<String, ProviderError> {
    let from_env = || {
        [
            "AZURE_OPENAI_ENDPOINT",
            "AZURE_OPENAI_API_HOST",
            "AZURE_API_HOST",
        ]
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let base = spec.base_url.clone().or_else(from_env).ok_or_else(|| {
        ProviderError::Config(format!(
            "provider {}: Azure OpenAI needs its endpoint: set `apiHost` (e.g. myresource.openai.azure.com) or AZURE_OPENAI_ENDPOINT",
            spec.id
        ))
    })?;
    let base = base.trim().trim_end_matches('/');
    Ok(if base.contains("://") {
        base.to_owned()
    } else {
        format!("https://{base}")
    })
}

/// Request parameters: the request's, with the provider config's on top.
fn merged_params(spec: &ProviderSpec, request: &ProviderRequest) -> Map<String, Value> {
    let mut params = request.params.clone();
    for (k, v) in &spec.params {
        params.insert(k.clone(), v.clone());
    }
    params
}

fn auth_headers(spec: &ProviderSpec, key: Option<&str>) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    if let Some(key) = key {
        match spec.kind {
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => {
                headers.push(("authorization".into(), format!("Bearer {key}")));
            }
            ProviderKind::AzureOpenAi => headers.push(("api-key".into(), key.to_owned())),
            ProviderKind::Anthropic => headers.push(("x-api-key".into(), key.to_owned())),
            ProviderKind::Gemini => headers.push(("x-goog-api-key".into(), key.to_owned())),
        }
    }
    if spec.kind == ProviderKind::Anthropic {
        headers.push(("anthropic-version".into(), ANTHROPIC_VERSION.into()));
    }
    headers
}

fn with_spec_headers(
    spec: &ProviderSpec,
    mut headers: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, ProviderError> {
    for (name, value) in &spec.headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(ProviderError::Config(format!(
                "provider {}: header name {name:?} is not valid",
                spec.id
            )));
        }
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(ProviderError::Config(format!(
                "provider {}: the value of header {name} is not valid",
                spec.id
            )));
        }
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    Ok(headers)
}

fn model_of<'a>(spec: &'a ProviderSpec, request: &'a ProviderRequest) -> &'a str {
    if request.model.trim().is_empty() {
        &spec.model
    } else {
        &request.model
    }
}

fn build_chat(
    spec: &ProviderSpec,
    request: &ProviderRequest,
    key: Option<&str>,
) -> Result<HttpCall, ProviderError> {
    let params = merged_params(spec, request);
    let model = model_of(spec, request);
    let (url, body) = match spec.kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::AzureOpenAi => {
            let mut body = Map::new();
            let url = match spec.kind {
                ProviderKind::AzureOpenAi => format!(
                    "{}/openai/deployments/{}/chat/completions?api-version={}",
                    azure_base(spec)?,
                    spec.model,
                    spec.api_version.as_deref().unwrap_or(AZURE_API_VERSION)
                ),
                ProviderKind::OpenAi => {
                    format!("{}/chat/completions", base_url(spec, OPENAI_BASE, "/v1"))
                }
                _ => format!("{}/chat/completions", base_url(spec, "", "")),
            };
            if spec.kind != ProviderKind::AzureOpenAi {
                body.insert("model".into(), json!(model));
            }
            body.insert(
                "messages".into(),
                Value::Array(request.messages.iter().map(openai_message).collect()),
            );
            for (k, v) in params {
                if k != "stream" && k != "stream_options" {
                    body.insert(k, v);
                }
            }
            if spec.stream {
                body.insert("stream".into(), json!(true));
                // Usage arrives in a last chunk only when asked for; some compatible servers
                // reject the option, so it is only sent to OpenAI and Azure.
                if spec.kind != ProviderKind::OpenAiCompatible {
                    body.insert("stream_options".into(), json!({"include_usage": true}));
                }
            }
            (url, Value::Object(body))
        }
        ProviderKind::Anthropic => {
            let url = format!("{}/messages", base_url(spec, ANTHROPIC_BASE, "/v1"));
            (
                url,
                anthropic_body(model, &request.messages, params, spec.stream),
            )
        }
        ProviderKind::Gemini => {
            let base = base_url(spec, GEMINI_BASE, "/v1beta");
            let url = if spec.stream {
                format!("{base}/models/{model}:streamGenerateContent?alt=sse")
            } else {
                format!("{base}/models/{model}:generateContent")
            };
            (url, gemini_body(&request.messages, params))
        }
    };
    let headers = with_spec_headers(spec, auth_headers(spec, key))?;
    Ok(HttpCall { url, headers, body })
}

fn build_embed(
    spec: &ProviderSpec,
    texts: &[String],
    key: Option<&str>,
) -> Result<HttpCall, ProviderError> {
    let model = &spec.model;
    let (url, body) = match spec.kind {
        ProviderKind::Gemini => {
            let base = base_url(spec, GEMINI_BASE, "/v1beta");
            let requests: Vec<Value> = texts
                .iter()
                .map(|t| json!({"model": format!("models/{model}"), "content": {"parts": [{"text": t}]}}))
                .collect();
            (
                format!("{base}/models/{model}:batchEmbedContents"),
                json!({"requests": requests}),
            )
        }
        ProviderKind::AzureOpenAi => (
            format!(
                "{}/openai/deployments/{model}/embeddings?api-version={}",
                azure_base(spec)?,
                spec.api_version.as_deref().unwrap_or(AZURE_API_VERSION)
            ),
            json!({"input": texts}),
        ),
        ProviderKind::OpenAi => (
            format!("{}/embeddings", base_url(spec, OPENAI_BASE, "/v1")),
            json!({"model": model, "input": texts}),
        ),
        ProviderKind::OpenAiCompatible => (
            format!("{}/embeddings", base_url(spec, "", "")),
            json!({"model": model, "input": texts}),
        ),
        ProviderKind::Anthropic => {
            return Err(ProviderError::Config(
                "Anthropic has no embeddings API".into(),
            ))
        }
    };
    let headers = with_spec_headers(spec, auth_headers(spec, key))?;
    Ok(HttpCall { url, headers, body })
}

fn openai_message(m: &Message) -> Value {
    let mut out = Map::new();
    out.insert("role".into(), json!(m.role));
    out.insert(
        "content".into(),
        m.content.as_ref().map_or(Value::Null, |c| json!(c)),
    );
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "id": c.id.clone().unwrap_or_else(|| format!("call_{i}")),
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments.clone().unwrap_or_else(|| "{}".into())}
                })
            })
            .collect();
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(id) = &m.tool_call_id {
        out.insert("tool_call_id".into(), json!(id));
    }
    Value::Object(out)
}

/// Tool arguments as a JSON object (an empty one when they are missing or not JSON).
fn arguments_object(arguments: Option<&str>) -> Value {
    arguments
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// The `stop` parameter as a list.
fn stop_list(v: &Value) -> Value {
    match v {
        Value::String(s) => json!([s]),
        other => other.clone(),
    }
}

/// OpenAI `tools` entries (`{type: function, function: {name, description, parameters}}`),
/// as (name, description, parameters); other entries are kept as they are.
fn openai_function(tool: &Value) -> Option<(Value, Value, Value)> {
    let f = tool.get("function")?;
    Some((
        f.get("name")?.clone(),
        f.get("description").cloned().unwrap_or(Value::Null),
        f.get("parameters")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    ))
}

fn anthropic_body(
    model: &str,
    messages: &[Message],
    params: Map<String, Value>,
    stream: bool,
) -> Value {
    let mut system = Vec::new();
    let mut out = Vec::new();
    for m in messages {
        let text = m.content.clone().unwrap_or_default();
        match m.role.as_str() {
            "system" | "developer" => system.push(text),
            "assistant" => {
                if m.tool_calls.is_empty() {
                    out.push(json!({"role": "assistant", "content": text}));
                } else {
                    let mut blocks = Vec::new();
                    if !text.is_empty() {
                        blocks.push(json!({"type": "text", "text": text}));
                    }
                    for (i, c) in m.tool_calls.iter().enumerate() {
                        blocks.push(json!({
                            "type": "tool_use",
                            "id": c.id.clone().unwrap_or_else(|| format!("toolu_{i}")),
                            "name": c.name,
                            "input": arguments_object(c.arguments.as_deref()),
                        }));
                    }
                    out.push(json!({"role": "assistant", "content": blocks}));
                }
            }
            "tool" => out.push(json!({"role": "user", "content": [{
                "type": "tool_result",
                "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                "content": text,
            }]})),
            _ => out.push(json!({"role": "user", "content": text})),
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let max_tokens = params
        .get("max_tokens")
        .or_else(|| params.get("max_completion_tokens"))
        .cloned()
        .unwrap_or_else(|| json!(ANTHROPIC_DEFAULT_MAX_TOKENS));
    body.insert("max_tokens".into(), max_tokens);
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(out));
    for (k, v) in params {
        match k.as_str() {
            "max_tokens" | "max_completion_tokens" | "stream" | "stream_options" => {}
            // No Anthropic counterpart.
            "seed" | "frequency_penalty" | "presence_penalty" | "response_format"
            | "reasoning_effort" | "n" => {}
            "stop" => {
                body.insert("stop_sequences".into(), stop_list(&v));
            }
            "tools" => {
                let tools: Vec<Value> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| match openai_function(t) {
                        Some((name, description, parameters)) => {
                            let mut o = json!({"name": name, "input_schema": parameters});
                            if !description.is_null() {
                                o["description"] = description;
                            }
                            o
                        }
                        None => t.clone(),
                    })
                    .collect();
                body.insert("tools".into(), Value::Array(tools));
            }
            "tool_choice" => {
                let choice = match &v {
                    Value::String(s) if s == "auto" => json!({"type": "auto"}),
                    Value::String(s) if s == "required" => json!({"type": "any"}),
                    Value::String(s) if s == "none" => json!({"type": "none"}),
                    Value::Object(o) if o.get("type") == Some(&json!("function")) => {
                        json!({"type": "tool", "name": v.pointer("/function/name").cloned().unwrap_or(Value::Null)})
                    }
                    other => other.clone(),
                };
                body.insert("tool_choice".into(), choice);
            }
            _ => {
                body.insert(k, v);
            }
        }
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

fn gemini_body(messages: &[Message], params: Map<String, Value>) -> Value {
    let mut system = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    for m in messages {
        let text = m.content.clone().unwrap_or_default();
        match m.role.as_str() {
            "system" | "developer" => system.push(text),
            "assistant" => {
                let mut parts = Vec::new();
                if !text.is_empty() || m.tool_calls.is_empty() {
                    parts.push(json!({"text": text}));
                }
                for c in &m.tool_calls {
                    parts.push(json!({"functionCall": {"name": c.name, "args": arguments_object(c.arguments.as_deref())}}));
                }
                contents.push(json!({"role": "model", "parts": parts}));
            }
            "tool" => {
                // Gemini answers a call by the function's name; find it from the call's id.
                let name = m
                    .tool_call_id
                    .as_ref()
                    .and_then(|id| {
                        messages
                            .iter()
                            .flat_map(|m| &m.tool_calls)
                            .find(|c| c.id.as_ref() == Some(id))
                            .map(|c| c.name.clone())
                    })
                    .or_else(|| m.tool_call_id.clone())
                    .unwrap_or_default();
                contents.push(json!({"role": "user", "parts": [{"functionResponse": {"name": name, "response": {"content": text}}}]}));
            }
            _ => contents.push(json!({"role": "user", "parts": [{"text": text}]})),
        }
    }
    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system.join("\n\n")}]}),
        );
    }
    let mut config = Map::new();
    for (k, v) in params {
        match k.as_str() {
            "temperature" | "seed" => {
                config.insert(k, v);
            }
            "max_tokens" | "max_completion_tokens" => {
                config.insert("maxOutputTokens".into(), v);
            }
            "top_p" => {
                config.insert("topP".into(), v);
            }
            "top_k" => {
                config.insert("topK".into(), v);
            }
            "stop" => {
                config.insert("stopSequences".into(), stop_list(&v));
            }
            "presence_penalty" => {
                config.insert("presencePenalty".into(), v);
            }
            "frequency_penalty" => {
                config.insert("frequencyPenalty".into(), v);
            }
            "response_format" => {
                let kind = v.get("type").and_then(Value::as_str).or_else(|| v.as_str());
                if matches!(kind, Some("json_object" | "json_schema")) {
                    config.insert("responseMimeType".into(), json!("application/json"));
                }
            }
            "tools" => {
                let declarations: Vec<Value> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(openai_function)
                    .map(|(name, description, parameters)| {
                        let mut d = json!({"name": name, "parameters": parameters});
                        if !description.is_null() {
                            d["description"] = description;
                        }
                        d
                    })
                    .collect();
                if !declarations.is_empty() {
                    body.insert(
                        "tools".into(),
                        json!([{"functionDeclarations": declarations}]),
                    );
                }
            }
            "tool_choice" => {
                let mode = match v.as_str() {
                    Some("none") => "NONE",
                    Some("required") => "ANY",
                    _ => "AUTO",
                };
                body.insert(
                    "toolConfig".into(),
                    json!({"functionCallingConfig": {"mode": mode}}),
                );
            }
            "stream" | "stream_options" | "reasoning_effort" | "n" => {}
            // Gemini's own generationConfig names (thinkingConfig, responseSchema, ...).
            _ => {
                config.insert(k, v);
            }
        }
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Value::Object(body)
}

fn int(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn openai_usage(u: &Value) -> Usage {
    Usage {
        input: int(u, "/prompt_tokens"),
        output: int(u, "/completion_tokens"),
        cache_read: int(u, "/prompt_tokens_details/cached_tokens"),
        cache_write: None,
        reasoning: int(u, "/completion_tokens_details/reasoning_tokens"),
    }
}

/// Anthropic counts cache reads and writes apart from `input_tokens`; `input` includes them.
fn anthropic_usage(u: &Value, into: &mut Usage) {
    if let Some(read) = int(u, "/cache_read_input_tokens") {
        into.cache_read = Some(read);
    }
    if let Some(write) = int(u, "/cache_creation_input_tokens") {
        into.cache_write = Some(write);
    }
    if let Some(input) = int(u, "/input_tokens") {
        into.input = Some(input + into.cache_read.unwrap_or(0) + into.cache_write.unwrap_or(0));
    }
    if let Some(output) = int(u, "/output_tokens") {
        into.output = Some(output);
    }
}

/// Gemini's cached tokens are part of `promptTokenCount`; thinking tokens are output too.
fn gemini_usage(u: &Value) -> Usage {
    let thoughts = int(u, "/thoughtsTokenCount");
    let candidates = int(u, "/candidatesTokenCount");
    Usage {
        input: int(u, "/promptTokenCount"),
        output: match (candidates, thoughts) {
            (None, None) => None,
            (c, t) => Some(c.unwrap_or(0) + t.unwrap_or(0)),
        },
        cache_read: int(u, "/cachedContentTokenCount"),
        cache_write: None,
        reasoning: thoughts,
    }
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn parse_chat(kind: ProviderKind, body: &Value) -> Result<ProviderResponse, ProviderError> {
    let mut out = ProviderResponse::default();
    match kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::AzureOpenAi => {
            let choice = body
                .pointer("/choices/0")
                .ok_or_else(|| malformed("no `choices` in the answer"))?;
            let message = choice
                .get("message")
                .ok_or_else(|| malformed("no `message` in the first choice"))?;
            out.output = text_of(message.get("content"));
            out.tool_calls = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| ToolCall {
                    id: c.get("id").and_then(Value::as_str).map(str::to_owned),
                    name: c
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: c
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
                .collect();
            out.finish_reason = choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(normalize_finish_reason);
            out.response_model = body.get("model").and_then(Value::as_str).map(str::to_owned);
            if let Some(u) = body.get("usage").filter(|u| u.is_object()) {
                out.usage = openai_usage(u);
                out.reported_cost = u.get("cost").and_then(Value::as_f64);
            }
        }
        ProviderKind::Anthropic => {
            let content = body
                .get("content")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed("no `content` in the answer"))?;
            for block in content {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        out.output.push_str(
                            block
                                .get("text")
                                .and_then(Value::as_str)
                                .unwrap_or_default(),
                        );
                    }
                    Some("tool_use") => out.tool_calls.push(ToolCall {
                        id: block.get("id").and_then(Value::as_str).map(str::to_owned),
                        name: block
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        arguments: block.get("input").map(Value::to_string),
                    }),
                    _ => {}
                }
            }
            out.finish_reason = body
                .get("stop_reason")
                .and_then(Value::as_str)
                .map(normalize_finish_reason);
            out.response_model = body.get("model").and_then(Value::as_str).map(str::to_owned);
            if let Some(u) = body.get("usage") {
                anthropic_usage(u, &mut out.usage);
            }
        }
        ProviderKind::Gemini => {
            let mut state = GeminiState::default();
            state.absorb(body)?;
            if !state.seen_candidate {
                return Err(malformed("no `candidates` in the answer"));
            }
            state.into_response(&mut out);
        }
    }
    Ok(out)
}

/// Gemini's answer, built from one response or from every chunk of a stream.
#[derive(Default)]
struct GeminiState {
    output: String,
    tool_calls: Vec<ToolCall>,
    finish: Option<String>,
    usage: Option<Usage>,
    model: Option<String>,
    seen_candidate: bool,
}

impl GeminiState {
    /// Adds one response (chunk); returns whether it carried content.
    fn absorb(&mut self, v: &Value) -> Result<bool, ProviderError> {
        if let Some(e) = v.get("error") {
            let status = e.get("code").and_then(Value::as_u64).unwrap_or(500) as u16;
            let message = e.get("message").and_then(Value::as_str).unwrap_or("error");
            return Err(status_error(status, None, message, None));
        }
        let mut content = false;
        if let Some(candidate) = v.pointer("/candidates/0") {
            self.seen_candidate = true;
            for part in candidate
                .pointer("/content/parts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                // Thought summaries are not the answer.
                if part.get("thought").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let Some(t) = part.get("text").and_then(Value::as_str) {
                    content |= !t.is_empty();
                    self.output.push_str(t);
                }
                if let Some(call) = part.get("functionCall") {
                    content = true;
                    self.tool_calls.push(ToolCall {
                        id: call.get("id").and_then(Value::as_str).map(str::to_owned),
                        name: call
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        arguments: Some(
                            call.get("args")
                                .cloned()
                                .unwrap_or_else(|| json!({}))
                                .to_string(),
                        ),
                    });
                }
            }
            if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
                self.finish = Some(normalize_finish_reason(reason));
            }
        } else if v.pointer("/promptFeedback/blockReason").is_some() {
            // The prompt itself was blocked: no candidates, and nothing more will come.
            self.seen_candidate = true;
            self.finish = Some("content_filter".into());
        }
        if let Some(u) = v.get("usageMetadata") {
            self.usage = Some(gemini_usage(u));
        }
        if let Some(m) = v.get("modelVersion").and_then(Value::as_str) {
            self.model = Some(m.to_owned());
        }
        Ok(content)
    }

    fn into_response(self, out: &mut ProviderResponse) {
        out.output = self.output;
        out.tool_calls = self.tool_calls;
        out.finish_reason = self.finish;
        out.usage = self.usage.unwrap_or_default();
        out.response_model = self.model;
    }
}

/// An incremental parser of server-sent events: feed it chunks as they arrive; events split
/// across chunks (even inside a `\r\n`) come out whole.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    event: Option<String>,
    data: Vec<String>,
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when there was one.
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

impl SseParser {
    /// A parser with nothing buffered.
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &b in chunk {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                _ => self.line.push(b),
            }
        }
        events
    }

    /// Ends the input: an event whose blank line never came is still returned.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.line.is_empty() {
            let mut events = Vec::new();
            self.end_line(&mut events);
        }
        self.dispatch()
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
        if line.is_empty() {
            events.extend(self.dispatch());
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => self.data.push(value.to_owned()),
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if self.data.is_empty() {
            return None;
        }
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data).join("\n"),
        })
    }
}

/// A streamed answer as it accumulates.
struct StreamState {
    kind: ProviderKind,
    start: Instant,
    out: ProviderResponse,
    done: bool,
    /// OpenAI tool calls by their `index`.
    openai_tools: Vec<(u64, ToolCall)>,
    /// Anthropic content blocks that are tool calls, by block index, with their JSON so far.
    anthropic_tools: Vec<(u64, ToolCall, String)>,
    gemini: GeminiState,
}

impl StreamState {
    fn new(kind: ProviderKind, start: Instant) -> StreamState {
        StreamState {
            kind,
            start,
            out: ProviderResponse::default(),
            done: false,
            openai_tools: Vec::new(),
            anthropic_tools: Vec::new(),
            gemini: GeminiState::default(),
        }
    }

    fn first_token(&mut self) {
        if self.out.time_to_first_token_ms.is_none() {
            self.out.time_to_first_token_ms = Some(self.start.elapsed().as_secs_f64() * 1000.0);
        }
    }

    fn on_event(&mut self, event: SseEvent) -> Result<(), ProviderError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ProviderError::Malformed(format!(
                "a streamed event is not JSON ({e}): {}",
                data.chars().take(200).collect::<String>()
            ))
        })?;
        match self.kind {
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::AzureOpenAi => {
                self.on_openai(&v)
            }
            ProviderKind::Anthropic => self.on_anthropic(event.event.as_deref(), &v),
            ProviderKind::Gemini => {
                if self.gemini.absorb(&v)? {
                    self.first_token();
                }
                if self.gemini.finish.is_some() {
                    self.done = true;
                }
                Ok(())
            }
        }
    }

    fn on_openai(&mut self, v: &Value) -> Result<(), ProviderError> {
        if let Some(e) = v.get("error") {
            let status = e.get("code").and_then(Value::as_u64).unwrap_or(500) as u16;
            let message = e.get("message").and_then(Value::as_str).unwrap_or("error");
            return Err(status_error(status, None, message, None));
        }
        if self.out.response_model.is_none() {
            if let Some(m) = v
                .get("model")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
            {
                self.out.response_model = Some(m.to_owned());
            }
        }
        if let Some(choice) = v.pointer("/choices/0") {
            if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
                if !text.is_empty() {
                    self.first_token();
                    self.out.output.push_str(text);
                }
            }
            for call in choice
                .pointer("/delta/tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.first_token();
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                let pos = match self.openai_tools.iter().position(|(i, _)| *i == index) {
                    Some(p) => p,
                    None => {
                        self.openai_tools.push((index, ToolCall::default()));
                        self.openai_tools.len() - 1
                    }
                };
                let tool = &mut self.openai_tools[pos].1;
                if let Some(id) = call.get("id").and_then(Value::as_str) {
                    tool.id = Some(id.to_owned());
                }
                if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                    tool.name.push_str(name);
                }
                if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str) {
                    tool.arguments
                        .get_or_insert_with(String::new)
                        .push_str(args);
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.out.finish_reason = Some(normalize_finish_reason(reason));
            }
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.out.usage = openai_usage(u);
            if let Some(cost) = u.get("cost").and_then(Value::as_f64) {
                self.out.reported_cost = Some(cost);
            }
        }
        Ok(())
    }

    fn on_anthropic(&mut self, event: Option<&str>, v: &Value) -> Result<(), ProviderError> {
        let kind = event
            .or_else(|| v.get("type").and_then(Value::as_str))
            .unwrap_or_default();
        match kind {
            "message_start" => {
                if let Some(m) = v.pointer("/message/model").and_then(Value::as_str) {
                    self.out.response_model = Some(m.to_owned());
                }
                if let Some(u) = v.pointer("/message/usage") {
                    anthropic_usage(u, &mut self.out.usage);
                }
            }
            "content_block_start" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let block = v.get("content_block").cloned().unwrap_or(Value::Null);
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        self.first_token();
                        let call = ToolCall {
                            id: block.get("id").and_then(Value::as_str).map(str::to_owned),
                            name: block
                                .get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            arguments: None,
                        };
                        let initial = block
                            .get("input")
                            .filter(|i| i.as_object().is_some_and(|o| !o.is_empty()))
                            .map(Value::to_string)
                            .unwrap_or_default();
                        self.anthropic_tools.push((index, call, initial));
                    }
                    Some("text") => {
                        let text = block
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if !text.is_empty() {
                            self.first_token();
                            self.out.output.push_str(text);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                match v.pointer("/delta/type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let text = v
                            .pointer("/delta/text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if !text.is_empty() {
                            self.first_token();
                            self.out.output.push_str(text);
                        }
                    }
                    Some("input_json_delta") => {
                        let part = v
                            .pointer("/delta/partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if let Some(tool) = self.anthropic_tools.iter_mut().find(|t| t.0 == index) {
                            tool.2.push_str(part);
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.out.finish_reason = Some(normalize_finish_reason(reason));
                }
                if let Some(u) = v.get("usage") {
                    // Cumulative counts; input counts appear here only on some models.
                    if let Some(output) = int(u, "/output_tokens") {
                        self.out.usage.output = Some(output);
                    }
                    if u.get("input_tokens").is_some() {
                        anthropic_usage(u, &mut self.out.usage);
                    }
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                let kind = v
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let message = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("error in the stream");
                let status = match kind {
                    "overloaded_error" => 529,
                    "rate_limit_error" => 429,
                    _ => 500,
                };
                return Err(status_error(status, None, message, None));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ProviderResponse, ProviderError> {
        let complete = match self.kind {
            // `[DONE]`, or at least the chunk with the finish reason.
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::AzureOpenAi => {
                self.done || self.out.finish_reason.is_some()
            }
            ProviderKind::Anthropic | ProviderKind::Gemini => self.done,
        };
        if !complete {
            return Err(malformed("the stream ended before its final event"));
        }
        match self.kind {
            ProviderKind::Gemini => {
                let ttft = self.out.time_to_first_token_ms;
                self.gemini.into_response(&mut self.out);
                self.out.time_to_first_token_ms = ttft;
            }
            ProviderKind::Anthropic => {
                self.out.tool_calls = self
                    .anthropic_tools
                    .into_iter()
                    .map(|(_, mut call, json)| {
                        call.arguments = Some(if json.trim().is_empty() {
                            "{}".to_owned()
                        } else {
                            json
                        });
                        call
                    })
                    .collect();
            }
            _ => {
                self.out.tool_calls = self.openai_tools.into_iter().map(|(_, c)| c).collect();
            }
        }
        Ok(self.out)
    }
}

async fn read_stream(
    kind: ProviderKind,
    response: reqwest::Response,
    start: Instant,
    key: Option<&str>,
) -> Result<ProviderResponse, ProviderError> {
    let mut state = StreamState::new(kind, start);
    let mut parser = SseParser::new();
    let is_sse = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        // Some servers ignore `stream` and answer with one JSON body.
        let body = read_json(response, key).await?;
        let mut out = parse_chat(kind, &body)?;
        out.time_to_first_token_ms = None;
        return Ok(out);
    }
    let mut bytes = response.bytes_stream();
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(|e| network(&e, key))?;
        for event in parser.push(&chunk) {
            state.on_event(event)?;
        }
    }
    if let Some(event) = parser.finish() {
        state.on_event(event)?;
    }
    state.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, config: Value) -> Result<ProviderSpec, String> {
        spec_from_config(id, None, config.as_object().unwrap())
    }

    #[test]
    fn ids_map_to_kinds_models_and_defaults() {
        let s = spec("openai:gpt-4o-mini", json!({})).unwrap();
        assert_eq!(
            (s.kind, s.model.as_str(), s.stream),
            (ProviderKind::OpenAi, "gpt-4o-mini", true)
        );
        assert_eq!(s.label, "openai:gpt-4o-mini");
        let s = spec("openai:chat:ft:gpt-4o-mini:org::abc", json!({})).unwrap();
        assert_eq!(s.model, "ft:gpt-4o-mini:org::abc");
        let s = spec("openai:embedding:text-embedding-3-small", json!({})).unwrap();
        assert!(is_embedding(&s) && !s.stream);
        assert!(is_embedding(
            &spec("openai:embeddings:e", json!({})).unwrap()
        ));
        assert!(!is_embedding(&spec("openai:chat:e", json!({})).unwrap()));
        let s = spec("anthropic:messages:claude-3-5-haiku-latest", json!({})).unwrap();
        assert_eq!(
            (s.kind, s.model.as_str()),
            (ProviderKind::Anthropic, "claude-3-5-haiku-latest")
        );
        assert_eq!(
            spec("google:gemini-2.0-flash", json!({})).unwrap().kind,
            ProviderKind::Gemini
        );
        assert_eq!(
            spec("gemini:gemini-2.0-flash", json!({})).unwrap().kind,
            ProviderKind::Gemini
        );
        let s = spec(
            "azureopenai:chat:my-deployment",
            json!({"apiHost": "x.openai.azure.com"}),
        )
        .unwrap();
        assert_eq!(
            (s.kind, s.model.as_str()),
            (ProviderKind::AzureOpenAi, "my-deployment")
        );
        assert_eq!(s.base_url.as_deref(), Some("https://x.openai.azure.com"));
        assert!(is_embedding(
            &spec("azure:embedding:emb", json!({})).unwrap()
        ));
        let s = spec("ollama:chat:llama3.2", json!({})).unwrap();
        assert_eq!(s.kind, ProviderKind::OpenAiCompatible);
        assert_eq!(s.base_url.as_deref(), Some("http://localhost:11434/v1"));
        assert!(!s.stream);
        let s = spec("openrouter:meta-llama/llama-3-8b:free", json!({})).unwrap();
        assert_eq!(s.model, "meta-llama/llama-3-8b:free");
        assert_eq!(s.base_url.as_deref(), Some("https://openrouter.ai/api/v1"));
        let s = spec(
            "openai-compatible:qwen",
            json!({"base_url": "http://h:8000/v1/"}),
        )
        .unwrap();
        assert_eq!(s.base_url.as_deref(), Some("http://h:8000/v1"));
    }

    #[test]
    fn bad_ids_name_the_problem() {
        let e = spec("mistral:x", json!({})).unwrap_err();
        assert!(
            e.contains("unknown prefix `mistral:`") && e.contains("openai, anthropic"),
            "{e}"
        );
        for id in [
            "python:foo.py",
            "exec:./run.sh",
            "file://p.js",
            "http:x",
            "vertex:gemini",
            "bedrock:x",
        ] {
            let e = spec(id, json!({})).unwrap_err();
            assert!(e.contains("not supported by Assay"), "{id}: {e}");
        }
        assert!(spec("openai:", json!({}))
            .unwrap_err()
            .contains("model name is empty"));
        assert!(spec("openai-compatible:m", json!({}))
            .unwrap_err()
            .contains("base_url"));
        assert!(spec("gpt-4o", json!({})).unwrap_err().contains("no prefix"));
    }

    #[test]
    fn config_keys_in_both_spellings() {
        let s = spec(
            "openai:gpt-4o",
            json!({"apiBaseUrl": "http://x/v1", "apiKey": "sk-1", "apiKeyEnvar": "MY_KEY",
                "temperature": 0.2, "maxTokens": 50, "top_p": 1, "stop": ["x"], "seed": 3,
                "response_format": {"type": "json_object"}, "stream": false,
                "headers": {"x-a": "b"}, "prices": {"input": 1.0, "output": 2.0}}),
        )
        .unwrap();
        assert_eq!(s.base_url.as_deref(), Some("http://x/v1"));
        assert_eq!(s.inline_api_key.as_deref(), Some("sk-1"));
        assert_eq!(s.api_key_env.as_deref(), Some("MY_KEY"));
        assert_eq!(s.params["temperature"], json!(0.2));
        assert_eq!(s.params["max_tokens"], json!(50));
        assert_eq!(s.params.len(), 6);
        assert!(!s.stream);
        assert_eq!(s.headers, vec![("x-a".to_owned(), "b".to_owned())]);
        assert_eq!(s.prices.unwrap().output, 2.0);
        // The inline key never shows in Debug output of errors built from the spec.
        let e = spec("openai:gpt-4o", json!({"temprature": 1})).unwrap_err();
        assert!(e.contains("unknown setting `temprature`"), "{e}");
        let e = spec("openai:gpt-4o", json!({"stream": "yes"})).unwrap_err();
        assert!(e.contains("`stream`") && e.contains("true or false"), "{e}");
        let e = spec("openai:gpt-4o", json!({"prices": {"input": 1}})).unwrap_err();
        assert!(e.contains("`prices`"), "{e}");
        let e = spec("openai:gpt-4o", json!({"max_tokens": "ten"})).unwrap_err();
        assert!(e.contains("`max_tokens`"), "{e}");
    }

    #[test]
    fn sse_events_split_anywhere_come_out_whole() {
        let stream = b"event: a\r\ndata: {\"x\": 1}\r\n\r\n: comment\n\ndata: line1\ndata: line2\n\ndata:[DONE]\n\n";
        let whole = SseParser::new().push(stream);
        assert_eq!(whole.len(), 3);
        assert_eq!(
            whole[0],
            SseEvent {
                event: Some("a".into()),
                data: "{\"x\": 1}".into()
            }
        );
        assert_eq!(whole[1].data, "line1\nline2");
        assert_eq!(whole[2].data, "[DONE]");
        for split in 1..stream.len() {
            let mut p = SseParser::new();
            let mut events = p.push(&stream[..split]);
            events.extend(p.push(&stream[split..]));
            assert_eq!(events, whole, "split at {split}");
        }
        let mut byte_by_byte = SseParser::new();
        let events: Vec<SseEvent> = stream
            .iter()
            .flat_map(|b| byte_by_byte.push(&[*b]))
            .collect();
        assert_eq!(events, whole);
        let mut p = SseParser::new();
        assert!(p.push(b"data: tail").is_empty());
        assert_eq!(p.finish().unwrap().data, "tail");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.05"), Some(Duration::from_millis(50)));
        assert_eq!(parse_retry_after("-1"), None);
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn statuses_map_to_error_classes() {
        assert!(matches!(
            status_error(429, None, "m", None),
            ProviderError::RateLimited { .. }
        ));
        for s in [500, 502, 503, 408, 409, 529] {
            assert!(
                matches!(
                    status_error(s, None, "m", None),
                    ProviderError::Server { .. }
                ),
                "{s}"
            );
        }
        assert!(matches!(
            status_error(401, None, "m", None),
            ProviderError::Auth { .. }
        ));
        assert!(matches!(
            status_error(403, None, "m", None),
            ProviderError::Auth { .. }
        ));
        assert!(matches!(
            status_error(400, None, "m", None),
            ProviderError::Rejected { .. }
        ));
        let e = status_error(
            401,
            None,
            "Incorrect API key provided: sk-secret-123",
            Some("sk-secret-123"),
        );
        assert!(!e.to_string().contains("sk-secret-123"), "{e}");
        assert_eq!(error_message(r#"{"error": {"message": "bad"}}"#), "bad");
        assert_eq!(
            error_message(r#"[{"error": {"code": 400, "message": "g"}}]"#),
            "g"
        );
        assert_eq!(error_message("plain"), "plain");
    }

    #[test]
    fn anthropic_request_moves_system_and_translates_params() {
        let messages = vec![
            Message {
                role: "system".into(),
                content: Some("be brief".into()),
                ..Message::default()
            },
            Message {
                role: "user".into(),
                content: Some("hi".into()),
                ..Message::default()
            },
        ];
        let params = json!({"stop": "END", "temperature": 0, "seed": 1,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": "required"});
        let body = anthropic_body(
            "claude",
            &messages,
            params.as_object().unwrap().clone(),
            true,
        );
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
        assert_eq!(body["max_tokens"], 1024);
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert!(body.get("seed").is_none());
        assert_eq!(
            body["tools"][0],
            json!({"name": "f", "input_schema": {"type": "object"}})
        );
        assert_eq!(body["tool_choice"], json!({"type": "any"}));
        assert_eq!(body["stream"], true);
    }

    #[test]
    fn gemini_request_uses_its_roles_and_generation_config() {
        let messages = vec![
            Message {
                role: "system".into(),
                content: Some("sys".into()),
                ..Message::default()
            },
            Message {
                role: "user".into(),
                content: Some("q".into()),
                ..Message::default()
            },
            Message {
                role: "assistant".into(),
                content: Some("a".into()),
                ..Message::default()
            },
            Message {
                role: "user".into(),
                content: Some("q2".into()),
                ..Message::default()
            },
        ];
        let params = json!({"temperature": 0.5, "max_tokens": 10, "top_p": 0.9, "top_k": 4,
            "stop": ["x"], "response_format": {"type": "json_object"}});
        let body = gemini_body(&messages, params.as_object().unwrap().clone());
        assert_eq!(
            body["systemInstruction"],
            json!({"parts": [{"text": "sys"}]})
        );
        assert_eq!(
            body["contents"][1],
            json!({"role": "model", "parts": [{"text": "a"}]})
        );
        assert_eq!(
            body["generationConfig"],
            json!({"temperature": 0.5, "maxOutputTokens": 10, "topP": 0.9, "topK": 4,
                "stopSequences": ["x"], "responseMimeType": "application/json"})
        );
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8080/v1"));
        assert!(is_loopback("http://localhost:11434/v1"));
        assert!(is_loopback("http://[::1]:80/x"));
        assert!(!is_loopback("https://api.openai.com/v1"));
        assert!(!is_loopback("https://localhost.example.com/v1"));
    }
}
