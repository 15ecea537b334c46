//! The price catalogue: listing, resolving a model, importing LiteLLM's price file.

use std::path::Path;

use serde::Serialize;

use super::Api;
use crate::cost::{self, PriceEntry};
use crate::error::{Error, Result};

/// `prices show`: which entry prices a model, and when.
#[derive(Debug, Clone, Serialize)]
pub struct PriceMatch {
    /// The model asked about.
    pub model: String,
    /// The provider asked about, if any.
    pub provider: Option<String>,
    /// The date it was resolved for (YYYY-MM-DD).
    pub at: String,
    /// The entry that applies; None when the model is unpriced at that date.
    pub entry: Option<PriceEntry>,
}

/// `prices import`: what a LiteLLM price file added to `prices.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct PricesImport {
    /// The overrides file written.
    pub file: String,
    /// Entries imported (replacing any of the same id).
    pub imported: usize,
    /// Entries now in the file.
    pub total: usize,
    /// Keys left out, with the reason.
    pub skipped: Vec<(String, String)>,
}

impl Api {
    /// Price entries (the catalogue with the workspace's overrides), optionally of one provider
    /// or matching a text in their id or model.
    pub fn prices_list(
        &self,
        provider: Option<&str>,
        search: Option<&str>,
    ) -> Result<Vec<PriceEntry>> {
        let catalogue = self.price_catalogue()?;
        let needle = search.map(str::to_lowercase);
        Ok(catalogue
            .entries()
            .iter()
            .filter(|e| provider.is_none_or(|p| e.provider == p))
            .filter(|e| {
                needle.as_deref().is_none_or(|n| {
                    e.id.to_lowercase().contains(n) || e.model.to_lowercase().contains(n)
                })
            })
            .cloned()
            .collect())
    }

    /// The entry that prices `model` (from `provider`) on `at` (YYYY-MM-DD; default today).
    pub fn prices_show(
        &self,
        model: &str,
        provider: Option<&str>,
        at: Option<&str>,
    ) -> Result<PriceMatch> {
        let date = match at {
            Some(a) => chrono::NaiveDate::parse_from_str(a, "%Y-%m-%d").map_err(|e| {
                Error::InvalidArguments {
                    command: "prices show".into(),
                    message: format!("--at {a:?}: {e} (expected YYYY-MM-DD)"),
                }
            })?,
            None => chrono::Utc::now().date_naive(),
        };
        let at_ns = date
            .and_hms_opt(12, 0, 0)
            .map(|t| t.and_utc().timestamp_nanos_opt().unwrap_or(0))
            .unwrap_or(0);
        let catalogue = self.price_catalogue()?;
        Ok(PriceMatch {
            model: model.to_owned(),
            provider: provider.map(str::to_owned),
            at: date.to_string(),
            entry: catalogue.find(provider, model, at_ns).cloned(),
        })
    }

    /// Converts LiteLLM's `model_prices_and_context_window.json` into the workspace's
    /// `prices.toml` (entries of the same id are replaced; the others kept).
    pub fn prices_import(&self, file: &Path) -> Result<PricesImport> {
        let root = self.workspace_root("prices import")?;
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let conversion = cost::litellm::convert_report(&text, &file.display().to_string())?;
        let target = root.join(cost::OVERRIDES_FILE);
        let mut entries = match std::fs::read_to_string(&target) {
            Ok(existing) => cost::parse_overrides(&existing, &target.display().to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(&target, e)),
        };
        let imported = conversion.entries.len();
        let new_ids: std::collections::HashSet<&str> =
            conversion.entries.iter().map(|e| e.id.as_str()).collect();
        entries.retain(|e| !new_ids.contains(e.id.as_str()));
        entries.extend(conversion.entries.iter().cloned());
        let rendered = cost::render_overrides(&entries)?;
        let tmp = target.with_extension("toml.tmp");
        std::fs::write(&tmp, rendered).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        Ok(PricesImport {
            file: target.display().to_string(),
            imported,
            total: entries.len(),
            skipped: conversion.skipped,
        })
    }
}
