//! Provider clients: OpenAI chat completions, Anthropic messages, Gemini generateContent,
//! Azure OpenAI and any OpenAI-compatible server, behind one [`ProviderClient`].
//!
//! (Interface fixed here; the clients are filled in below.)

use std::time::Duration;

use serde_json::{Map, Value};

use crate::eval::plan::{ProviderError, ProviderRequest, ProviderResponse, ProviderSpec};

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
    let _ = (id, label, config);
    Err("providers are not available yet".into())
}

/// An HTTP client for every provider. Cheap to clone; one per run.
#[derive(Debug, Clone, Default)]
pub struct ProviderClient {}

impl ProviderClient {
    /// A client with connection pooling.
    pub fn new() -> ProviderClient {
        ProviderClient {}
    }

    /// One chat completion. Measures latency (and time to first token when streaming).
    pub async fn complete(
        &self,
        spec: &ProviderSpec,
        request: &ProviderRequest,
        timeout: Duration,
    ) -> Result<ProviderResponse, ProviderError> {
        let _ = (spec, request, timeout);
        Err(ProviderError::Config("not available yet".into()))
    }

    /// Embeddings, one vector per text, in order.
    pub async fn embed(
        &self,
        spec: &ProviderSpec,
        texts: &[String],
        timeout: Duration,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let _ = (spec, texts, timeout);
        Err(ProviderError::Config("not available yet".into()))
    }
}
