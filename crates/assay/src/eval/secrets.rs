//! Provider API keys: from the config, an environment variable, or the OS keyring (service
//! `assay`, user = the provider's name). Keys never appear in errors, logs or `Debug` output.
//!
//! Lookup order: a key written inline in the config, the environment variable the config names
//! (`apiKeyEnvar`), the OS keyring, then the provider's standard environment variable
//! (`OPENAI_API_KEY`, ...). When the keyring cannot be reached (no Secret Service running), the
//! lookup goes on to the environment without a word.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use crate::error::Error;
use crate::eval::plan::{ProviderError, ProviderKind, ProviderSpec};

/// The keyring service keys are stored under.
pub const SERVICE: &str = "assay";

/// Providers whose keys `assay keys` manages.
pub const KNOWN_PROVIDERS: &[&str] = &["openai", "anthropic", "gemini", "azure", "openrouter"];

/// Where a provider's key would come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KeyStatus {
    /// The provider's name (`openai`).
    pub provider: String,
    /// `keyring` or `env:NAME`; `None` when no key is set. Never the key itself.
    pub source: Option<String>,
}

/// The standard environment variables of a provider, in order of preference.
pub fn standard_env_vars(provider: &str) -> &'static [&'static str] {
    match provider {
        "openai" => &["OPENAI_API_KEY"],
        "anthropic" => &["ANTHROPIC_API_KEY"],
        "gemini" => &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        "azure" => &["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"],
        "openrouter" => &["OPENROUTER_API_KEY"],
        _ => &[],
    }
}

/// The name a spec's key is stored under, or `None` for servers that need no key (a local
/// OpenAI-compatible server).
pub fn key_provider(spec: &ProviderSpec) -> Option<&'static str> {
    match spec.kind {
        ProviderKind::OpenAi => Some("openai"),
        ProviderKind::Anthropic => Some("anthropic"),
        ProviderKind::Gemini => Some("gemini"),
        ProviderKind::AzureOpenAi => Some("azure"),
        ProviderKind::OpenAiCompatible => {
            let openrouter = spec.id.starts_with("openrouter:")
                || spec
                    .base_url
                    .as_deref()
                    .is_some_and(|u| u.contains("openrouter.ai"));
            openrouter.then_some("openrouter")
        }
    }
}

/// The API key for a provider call: `Ok(None)` when the provider needs none and none is set; a
/// [`ProviderError::Config`] telling how to set one when it is required and missing.
pub fn api_key(spec: &ProviderSpec) -> Result<Option<String>, ProviderError> {
    if let Some(key) = spec
        .inline_api_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(Some(key.trim().to_owned()));
    }
    if let Some(name) = &spec.api_key_env {
        if let Some(key) = env_value(name) {
            return Ok(Some(key));
        }
    }
    let Some(provider) = key_provider(spec) else {
        return Ok(None);
    };
    if let Some(key) = cached_keyring_get(provider) {
        return Ok(Some(key));
    }
    for name in standard_env_vars(provider) {
        if let Some(key) = env_value(name) {
            return Ok(Some(key));
        }
    }
    Err(ProviderError::Config(missing_key_message(
        provider,
        spec.api_key_env.as_deref(),
    )))
}

fn missing_key_message(provider: &str, named_env: Option<&str>) -> String {
    let vars = standard_env_vars(provider).join(" or ");
    match named_env {
        Some(env) => format!(
            "no API key for {provider}: the environment variable {env} (apiKeyEnvar) is not set; \
             set it, run `assay keys set {provider}`, or set {vars}"
        ),
        None => format!("no API key for {provider}: run `assay keys set {provider}` or set {vars}"),
    }
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Stores a key in the OS keyring.
pub fn set_key(provider: &str, key: &str) -> crate::Result<()> {
    check_provider(provider, "keys set")?;
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::InvalidArguments {
            command: "keys set".into(),
            message: format!("the key for {provider} is empty"),
        });
    }
    keyring_set(SERVICE, provider, key).map_err(keyring_error)?;
    forget_cached(provider);
    Ok(())
}

/// Removes a key from the OS keyring; removing a key that is not there succeeds.
pub fn delete_key(provider: &str) -> crate::Result<()> {
    check_provider(provider, "keys delete")?;
    keyring_delete(SERVICE, provider).map_err(keyring_error)?;
    forget_cached(provider);
    Ok(())
}

/// Where the provider's key would be read from (keyring first, then the standard environment
/// variables), without revealing it.
pub fn key_status(provider: &str) -> KeyStatus {
    let source = if keyring_get(SERVICE, provider).ok().flatten().is_some() {
        Some("keyring".to_owned())
    } else {
        standard_env_vars(provider)
            .iter()
            .find(|name| env_value(name).is_some())
            .map(|name| format!("env:{name}"))
    };
    KeyStatus {
        provider: provider.to_owned(),
        source,
    }
}

fn check_provider(provider: &str, command: &str) -> crate::Result<()> {
    if KNOWN_PROVIDERS.contains(&provider) {
        Ok(())
    } else {
        Err(Error::InvalidArguments {
            command: command.into(),
            message: format!(
                "unknown provider {provider:?}; known providers: {}",
                KNOWN_PROVIDERS.join(", ")
            ),
        })
    }
}

/// A keyring failure, described without any secret.
#[derive(Debug)]
struct KeyringError(String);

fn keyring_error(e: KeyringError) -> Error {
    Error::Io {
        path: PathBuf::from("OS keyring"),
        source: std::io::Error::other(e.0),
    }
}

fn describe(e: &keyring::Error) -> String {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => format!(
            "no usable Secret Service ({inner}); start and unlock gnome-keyring or KWallet, \
             or set the provider's environment variable instead"
        ),
        keyring::Error::Ambiguous(items) => format!(
            "the keyring holds {} entries for this provider; remove them and set the key again",
            items.len()
        ),
        // The other variants (bad encoding, too long, invalid) describe themselves without
        // the secret.
        other => format!("keyring error: {other}"),
    }
}

fn keyring_entry(service: &str, provider: &str) -> Result<keyring::Entry, KeyringError> {
    keyring::Entry::new(service, provider).map_err(|e| KeyringError(describe(&e)))
}

fn keyring_set(service: &str, provider: &str, key: &str) -> Result<(), KeyringError> {
    keyring_entry(service, provider)?
        .set_password(key)
        .map_err(|e| KeyringError(describe(&e)))
}

fn keyring_get(service: &str, provider: &str) -> Result<Option<String>, KeyringError> {
    match keyring_entry(service, provider)?.get_password() {
        Ok(key) => Ok(Some(key)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(KeyringError(describe(&e))),
    }
}

fn keyring_delete(service: &str, provider: &str) -> Result<(), KeyringError> {
    match keyring_entry(service, provider)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(KeyringError(describe(&e))),
    }
}

/// Keyring lookups by provider: a run makes many calls, and each lookup is a D-Bus round trip.
fn cache() -> &'static Mutex<HashMap<String, Option<String>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<String>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cached_keyring_get(provider: &str) -> Option<String> {
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = cache.get(provider) {
        return found.clone();
    }
    // An unreachable keyring counts as "no key there": the environment is tried next.
    let found = keyring_get(SERVICE, provider).ok().flatten();
    cache.insert(provider.to_owned(), found.clone());
    found
}

fn forget_cached(provider: &str) {
    cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(provider);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn spec(kind: ProviderKind, id: &str) -> ProviderSpec {
        ProviderSpec {
            id: id.into(),
            label: id.into(),
            kind,
            model: "m".into(),
            base_url: None,
            api_key_env: None,
            inline_api_key: None,
            params: Map::new(),
            stream: false,
            api_version: None,
            headers: Vec::new(),
            prices: None,
        }
    }

    #[test]
    fn inline_key_wins_then_the_named_env_var() {
        let mut s = spec(ProviderKind::OpenAi, "openai:m");
        s.inline_api_key = Some(" sk-inline ".into());
        s.api_key_env = Some("ASSAY_TEST_KEY_INLINE_WINS".into());
        std::env::set_var("ASSAY_TEST_KEY_INLINE_WINS", "sk-env");
        assert_eq!(api_key(&s).unwrap().as_deref(), Some("sk-inline"));
        s.inline_api_key = None;
        assert_eq!(api_key(&s).unwrap().as_deref(), Some("sk-env"));
        std::env::remove_var("ASSAY_TEST_KEY_INLINE_WINS");
    }

    #[test]
    fn local_servers_need_no_key() {
        let mut s = spec(ProviderKind::OpenAiCompatible, "ollama:llama3.2");
        s.base_url = Some("http://localhost:11434/v1".into());
        assert_eq!(api_key(&s).unwrap(), None);
        let mut r = spec(ProviderKind::OpenAiCompatible, "openrouter:x");
        r.base_url = Some("https://openrouter.ai/api/v1".into());
        assert_eq!(key_provider(&r), Some("openrouter"));
    }

    #[test]
    fn missing_key_message_tells_how_to_set_one() {
        let m = missing_key_message("openai", None);
        assert!(m.contains("assay keys set openai"), "{m}");
        assert!(m.contains("OPENAI_API_KEY"), "{m}");
        let m = missing_key_message("gemini", Some("MY_GEMINI"));
        assert!(m.contains("MY_GEMINI") && m.contains("GEMINI_API_KEY or GOOGLE_API_KEY"));
    }

    #[test]
    fn unknown_providers_and_empty_keys_are_refused() {
        let e = set_key("nope", "k").unwrap_err();
        assert!(e.to_string().contains("known providers: openai"), "{e}");
        let e = set_key("openai", "  ").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn standard_env_var_is_the_fallback_and_status_hides_the_key() {
        // Without a Secret Service (as in CI) the keyring lookup fails quietly.
        std::env::set_var("OPENROUTER_API_KEY", "sk-or-fallback");
        let mut s = spec(ProviderKind::OpenAiCompatible, "openrouter:x");
        s.base_url = Some("https://openrouter.ai/api/v1".into());
        let key = api_key(&s).unwrap();
        let status = key_status("openrouter");
        std::env::remove_var("OPENROUTER_API_KEY");
        assert!(key.is_some());
        let source = status.source.clone().unwrap();
        assert!(
            source == "keyring" || source == "env:OPENROUTER_API_KEY",
            "{source}"
        );
        assert!(!format!("{status:?}").contains("sk-or-fallback"));
    }

    /// Needs a running, unlocked Secret Service, e.g.
    /// `dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets; cargo test ...'`.
    #[test]
    #[ignore]
    fn keyring_round_trip() {
        let service = "assay-test-round-trip";
        keyring_delete(service, "openai").unwrap();
        assert_eq!(keyring_get(service, "openai").unwrap(), None);
        keyring_set(service, "openai", "sk-round-trip").unwrap();
        assert_eq!(
            keyring_get(service, "openai").unwrap().as_deref(),
            Some("sk-round-trip")
        );
        keyring_delete(service, "openai").unwrap();
        assert_eq!(keyring_get(service, "openai").unwrap(), None);
    }
}
