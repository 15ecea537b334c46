//! Provider API keys in the OS keyring.

/// Where a provider's key comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyStatus {
    /// Provider name.
    pub provider: String,
    /// `keyring` or `env:NAME`.
    pub source: Option<String>,
}

/// Stores a key.
pub fn set_key(provider: &str, key: &str) -> crate::Result<()> {
    let _ = (provider, key);
    Ok(())
}

/// Removes a key.
pub fn delete_key(provider: &str) -> crate::Result<()> {
    let _ = provider;
    Ok(())
}

/// Where the key comes from.
pub fn key_status(provider: &str) -> KeyStatus {
    KeyStatus {
        provider: provider.to_owned(),
        source: None,
    }
}
