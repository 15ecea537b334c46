//! Provider API keys in the OS keyring.
