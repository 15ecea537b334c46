//! Converting LiteLLM's `model_prices_and_context_window.json` into price entries.
//!
//! The file is one JSON object keyed by model name (`gpt-4o-mini`, `gemini/gemini-1.5-pro`,
//! `anthropic.claude-3-5-haiku-20241022-v1:0`), each value giving USD **per token**. Read:
//! `input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`,
//! `cache_creation_input_token_cost` (5-minute writes),
//! `cache_creation_input_token_cost_above_1hr` (1-hour writes), `output_cost_per_reasoning_token`,
//! the long-context `*_above_<N>k_tokens` variants of the first four (a tier above N×1000 input
//! tokens), `input_cost_per_token_batches` (as a batch discount) and `litellm_provider`.
//! Everything else is ignored; the `sample_spec` key documents the format and is skipped.
//! Entries priced per character, image or second, with no per-token price, are skipped and
//! counted.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Map, Value};

use super::catalogue::{canonical_provider, strip_prefixes};
use super::{Origin, PriceEntry, Tier};
use crate::error::{Error, Result};

/// Where LiteLLM's price file lives, recorded as the `source` of converted entries.
pub const LITELLM_SOURCE: &str =
    "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json";

/// The result of a conversion, with what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// One entry per priced model key.
    pub entries: Vec<PriceEntry>,
    /// Keys that were skipped, each with the reason (no per-token price, a malformed value).
    pub skipped: Vec<(String, String)>,
}

/// Converts LiteLLM's price file to price entries (per-token prices become per-1M), with
/// [`Origin::Imported`] and today's date as `as_of`. See [`convert_report`] for what is left out.
pub fn convert(json_text: &str) -> Result<Vec<PriceEntry>> {
    convert_report(json_text, "LiteLLM price file").map(|c| c.entries)
}

/// Like [`convert`], also listing the skipped keys; errors name `source_name`. Only a file that
/// is not a JSON object is an error: a malformed entry is skipped with its reason.
pub fn convert_report(json_text: &str, source_name: &str) -> Result<Conversion> {
    let root: Value = serde_json::from_str(json_text).map_err(|e| Error::Import {
        source_name: source_name.to_owned(),
        message: format!("not JSON: {e}"),
    })?;
    let Value::Object(models) = root else {
        return Err(Error::Import {
            source_name: source_name.to_owned(),
            message: "expected a JSON object keyed by model name".into(),
        });
    };
    let as_of = Utc::now().date_naive();
    let mut out = Conversion {
        entries: Vec::new(),
        skipped: Vec::new(),
    };
    for (key, value) in &models {
        if key == "sample_spec" {
            continue;
        }
        match convert_one(key, value, as_of) {
            Ok(Some(e)) => out.entries.push(e),
            Ok(None) => out
                .skipped
                .push((key.clone(), "no per-token input or output price".into())),
            Err(why) => out.skipped.push((key.clone(), why)),
        }
    }
    Ok(out)
}

fn convert_one(
    key: &str,
    value: &Value,
    as_of: chrono::NaiveDate,
) -> std::result::Result<Option<PriceEntry>, String> {
    let Value::Object(fields) = value else {
        return Err("not a JSON object".into());
    };
    let input = per_million(fields, "input_cost_per_token")?;
    let output = per_million(fields, "output_cost_per_token")?;
    if input.is_none() && output.is_none() {
        return Ok(None);
    }
    let input = input.unwrap_or(0.0);
    let output = output.unwrap_or(0.0);

    // Long-context variants: `<base>_above_<N>k_tokens`.
    let mut tiers: BTreeMap<u64, [Option<f64>; 4]> = BTreeMap::new();
    const TIERED: [&str; 4] = [
        "input_cost_per_token",
        "output_cost_per_token",
        "cache_read_input_token_cost",
        "cache_creation_input_token_cost",
    ];
    for field in fields.keys() {
        for (slot, base) in TIERED.iter().enumerate() {
            let Some(k) = field
                .strip_prefix(base)
                .and_then(|r| r.strip_prefix("_above_"))
                .and_then(|r| r.strip_suffix("k_tokens"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            tiers.entry(k * 1000).or_default()[slot] = per_million(fields, field)?;
        }
    }
    let tiers = tiers
        .into_iter()
        .map(|(above, [t_in, t_out, t_read, t_write])| Tier {
            above_input_tokens: above,
            input: t_in.unwrap_or(input),
            output: t_out.unwrap_or(output),
            cache_read: t_read,
            cache_write_5m: t_write,
            cache_write_1h: None,
        })
        .collect();

    let batch_discount = per_million(fields, "input_cost_per_token_batches")?
        .filter(|&b| input > 0.0 && b < input)
        .map(|b| round(1.0 - b / input));
    let litellm_provider = match fields.get("litellm_provider") {
        Some(Value::String(p)) => Some(p.as_str()),
        _ => None,
    };
    let mut hints = Vec::new();
    let model = strip_prefixes(&key.to_ascii_lowercase(), &mut hints);
    let provider = litellm_provider
        .map(canonical_provider)
        .or_else(|| hints.first().cloned())
        .unwrap_or_else(|| "unknown".to_owned());
    let mode = match fields.get("mode") {
        Some(Value::String(m)) => format!(" (mode {m})"),
        _ => String::new(),
    };
    Ok(Some(PriceEntry {
        id: key.to_owned(),
        provider,
        model,
        match_regex: None,
        aliases: Vec::new(),
        effective_from: None,
        effective_until: None,
        input,
        output,
        cache_read: per_million(fields, "cache_read_input_token_cost")?,
        cache_write_5m: per_million(fields, "cache_creation_input_token_cost")?,
        cache_write_1h: per_million(fields, "cache_creation_input_token_cost_above_1hr")?,
        reasoning: per_million(fields, "output_cost_per_reasoning_token")?,
        tiers,
        batch_discount,
        source: LITELLM_SOURCE.to_owned(),
        as_of,
        note: Some(format!("imported from LiteLLM key {key:?}{mode}")),
        origin: Origin::Imported,
    }))
}

/// A per-token price as USD per 1M tokens; absent or null is `None`, anything but a
/// non-negative number is an error naming the field.
fn per_million(fields: &Map<String, Value>, key: &str) -> std::result::Result<Option<f64>, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(round(v * 1_000_000.0))),
            _ => Err(format!("{key}: {n} is not a price")),
        },
        Some(other) => Err(format!("{key}: expected a number, found {other}")),
    }
}

/// Drops the float noise of scaling (1.5e-07 * 1e6 = 0.15000000000000002).
fn round(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Catalogue;
    use crate::model::Usage;

    /// Entries as LiteLLM's file has them (trimmed of capability flags), plus its
    /// `sample_spec` and an image model priced per image.
    const SAMPLE: &str = r#"{
    "sample_spec": {
        "code_interpreter_cost_per_session": 0.0,
        "computer_use_input_cost_per_1k_tokens": 0.0,
        "input_cost_per_token": 0.0,
        "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
        "max_input_tokens": "max input tokens, if the provider specifies it. if not default to max_tokens",
        "max_output_tokens": "max output tokens, if the provider specifies it. if not default to max_tokens",
        "max_tokens": "LEGACY parameter. set to max_output_tokens if provider specifies it. IF not set to max_input_tokens, if provider specifies it.",
        "mode": "one of: chat, embedding, completion, image_generation, audio_transcription, audio_speech, image_generation, moderation, rerank, search",
        "output_cost_per_reasoning_token": 0.0,
        "output_cost_per_token": 0.0,
        "supports_function_calling": true
    },
    "gpt-4o-mini": {
        "cache_read_input_token_cost": 7.5e-08,
        "input_cost_per_token": 1.5e-07,
        "input_cost_per_token_batches": 7.5e-08,
        "litellm_provider": "openai",
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "max_tokens": 16384,
        "mode": "chat",
        "output_cost_per_token": 6e-07,
        "output_cost_per_token_batches": 3e-07,
        "supports_function_calling": true,
        "supports_prompt_caching": true
    },
    "claude-sonnet-4-20250514": {
        "cache_creation_input_token_cost": 3.75e-06,
        "cache_creation_input_token_cost_above_1hr": 6e-06,
        "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
        "cache_read_input_token_cost": 3e-07,
        "cache_read_input_token_cost_above_200k_tokens": 6e-07,
        "input_cost_per_token": 3e-06,
        "input_cost_per_token_above_200k_tokens": 6e-06,
        "litellm_provider": "anthropic",
        "max_input_tokens": 1000000,
        "max_output_tokens": 64000,
        "max_tokens": 64000,
        "mode": "chat",
        "output_cost_per_token": 1.5e-05,
        "output_cost_per_token_above_200k_tokens": 2.25e-05,
        "supports_reasoning": true
    },
    "gemini/gemini-1.5-pro": {
        "input_cost_per_token": 3.5e-06,
        "input_cost_per_token_above_128k_tokens": 7e-06,
        "litellm_provider": "gemini",
        "max_input_tokens": 2097152,
        "max_output_tokens": 8192,
        "max_tokens": 8192,
        "mode": "chat",
        "output_cost_per_token": 1.05e-05,
        "output_cost_per_token_above_128k_tokens": 2.1e-05
    },
    "o3-mini": {
        "cache_read_input_token_cost": 5.5e-07,
        "input_cost_per_token": 1.1e-06,
        "litellm_provider": "openai",
        "max_input_tokens": 200000,
        "max_output_tokens": 100000,
        "max_tokens": 100000,
        "mode": "chat",
        "output_cost_per_token": 4.4e-06,
        "supports_reasoning": true
    },
    "dall-e-3": {
        "litellm_provider": "openai",
        "mode": "image_generation",
        "output_cost_per_image": 0.04
    }
}"#;

    #[test]
    fn converts_per_token_prices_to_per_million_and_counts_skips() {
        let c = convert_report(SAMPLE, "prices.json").unwrap();
        assert_eq!(c.entries.len(), 4);
        assert_eq!(c.skipped.len(), 1, "{:?}", c.skipped);
        assert_eq!(c.skipped[0].0, "dall-e-3");

        let by_id = |id: &str| c.entries.iter().find(|e| e.id == id).unwrap();
        let mini = by_id("gpt-4o-mini");
        assert_eq!((mini.input, mini.output), (0.15, 0.6));
        assert_eq!(mini.cache_read, Some(0.075));
        assert_eq!(mini.batch_discount, Some(0.5));
        assert_eq!(mini.provider, "openai");
        assert_eq!(mini.origin, Origin::Imported);

        let sonnet = by_id("claude-sonnet-4-20250514");
        assert_eq!(sonnet.cache_write_5m, Some(3.75));
        assert_eq!(sonnet.cache_write_1h, Some(6.0));
        assert_eq!(sonnet.tiers.len(), 1);
        let t = &sonnet.tiers[0];
        assert_eq!(t.above_input_tokens, 200_000);
        assert_eq!((t.input, t.output), (6.0, 22.5));
        assert_eq!((t.cache_read, t.cache_write_5m), (Some(0.6), Some(7.5)));

        let pro = by_id("gemini/gemini-1.5-pro");
        assert_eq!(pro.model, "gemini-1.5-pro");
        assert_eq!(pro.provider, "google");
        assert_eq!(pro.tiers[0].above_input_tokens, 128_000);
        assert_eq!((pro.tiers[0].input, pro.tiers[0].output), (7.0, 21.0));
        assert_eq!(pro.tiers[0].cache_read, None);
    }

    #[test]
    fn imported_entries_price_spans_and_win_over_the_builtin_list() {
        let mut entries = convert(SAMPLE).unwrap();
        // Make the import distinguishable from the built-in price.
        for e in &mut entries {
            if e.id == "gpt-4o-mini" {
                e.input = 0.2;
            }
        }
        let cat = Catalogue::builtin().unwrap().with_overrides(entries);
        let e = cat
            .find(
                Some("openai"),
                "gpt-4o-mini-2024-07-18",
                1_750_000_000_000_000_000,
            )
            .unwrap();
        assert_eq!((e.id.as_str(), e.input), ("gpt-4o-mini", 0.2));
        // models/gemini-1.5-pro resolves to the key gemini/gemini-1.5-pro.
        let usage = Usage {
            input: Some(1_000_000),
            output: Some(0),
            ..Usage::default()
        };
        match cat.price(Some("gcp.gemini"), "models/gemini-1.5-pro", 0, &usage) {
            crate::cost::Priced::Cost(c) => {
                assert_eq!(c.entry_id, "gemini/gemini-1.5-pro");
                // 1,000,000 > 128,000: the tier's $7.00 per 1M applies to all input.
                assert!((c.total - 7.0).abs() < 1e-9, "{c:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_files_and_bad_entries() {
        let err = convert("[1, 2]").unwrap_err().to_string();
        assert!(err.contains("JSON object"), "{err}");
        let err = convert("{").unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
        let c = convert_report(
            r#"{"m": {"input_cost_per_token": "cheap", "output_cost_per_token": 1e-6}, "n": 3}"#,
            "x",
        )
        .unwrap();
        assert!(c.entries.is_empty());
        assert_eq!(c.skipped.len(), 2);
        assert!(
            c.skipped[0].1.contains("input_cost_per_token"),
            "{:?}",
            c.skipped
        );
    }
}
