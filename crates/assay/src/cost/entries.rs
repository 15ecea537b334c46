//! Reading and writing price entries: the built-in JSON catalogue and a workspace's
//! `prices.toml`, which share one set of fields.
//!
//! ```toml
//! [[prices]]
//! id = "openai/gpt-4o"            # optional: defaults to "provider/model"
//! provider = "openai"
//! model = "gpt-4o"
//! aliases = ["gpt-4o-rc"]         # optional
//! match_regex = "^gpt-4o-ft-.*"   # optional, case-insensitive
//! effective_from = 2025-01-01     # optional, inclusive (a TOML date or a string)
//! effective_until = "2026-01-01"  # optional, exclusive
//! input = 2.0                     # USD per 1M tokens
//! cache_read = 1.0                # optional
//! cache_write_5m = 2.5            # optional
//! cache_write_1h = 4.0            # optional
//! output = 8.0
//! reasoning = 8.0                 # optional
//! batch_discount = 0.5            # optional
//! source = "our contract"         # optional: defaults to the file's name
//! as_of = 2025-01-01
//! note = "negotiated rate"        # optional
//!
//! [[prices.tiers]]                # optional, any number
//! above_input_tokens = 200000
//! input = 4.0
//! output = 16.0
//! ```

use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};

use super::{Origin, PriceEntry, Tier};
use crate::error::{Error, Result};

/// The workspace file holding price overrides, at the workspace root.
pub const OVERRIDES_FILE: &str = "prices.toml";

/// The built-in catalogue's name in error messages.
pub(super) const BUILTIN_NAME: &str = "crates/assay/data/prices.json";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile<E> {
    /// A description of the file; ignored.
    #[serde(default)]
    #[allow(dead_code)]
    about: Option<String>,
    #[serde(default = "Vec::new")]
    prices: Vec<E>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    provider: String,
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    match_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effective_from: Option<DateValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effective_until: Option<DateValue>,
    input: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_read: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_5m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_1h: Option<f64>,
    output: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_discount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    as_of: DateValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tiers: Vec<RawTier>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    above_input_tokens: u64,
    input: f64,
    output: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_read: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_5m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_1h: Option<f64>,
}

/// A date written as a TOML date (`2025-01-01`) or a string (`"2025-01-01"`). Parsing it
/// during deserialisation lets TOML and JSON errors point at the offending line.
struct DateValue(NaiveDate);

impl<'de> Deserialize<'de> for DateValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let text = match toml::Value::deserialize(d)? {
            toml::Value::String(s) => s,
            toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt.to_string(),
            other => {
                return Err(D::Error::custom(format!(
                    "expected a date like 2025-01-31, found {other}"
                )))
            }
        };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(DateValue)
            .map_err(|_| {
                D::Error::custom(format!("expected a date like 2025-01-31, found {text:?}"))
            })
    }
}

impl Serialize for DateValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%Y-%m-%d"))
    }
}

/// Parses the built-in catalogue (JSON).
pub(super) fn parse_builtin(json_text: &str) -> Result<Vec<PriceEntry>> {
    let raw: RawFile<RawEntry> = serde_json::from_str(json_text).map_err(|e| Error::Config {
        path: PathBuf::from(BUILTIN_NAME),
        message: e.to_string(),
    })?;
    raw.prices
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let place = format!("prices[{i}]");
            let e = build(r, BUILTIN_NAME, Origin::Catalogue)
                .map_err(|m| config_error(BUILTIN_NAME, &place, m))?;
            // The shipped list must say where each price comes from.
            if e.source.trim().is_empty() || e.source == BUILTIN_NAME {
                return Err(config_error(BUILTIN_NAME, &place, "source: missing".into()));
            }
            Ok(e)
        })
        .collect()
}

/// Parses a workspace's price overrides (`prices.toml`), the same fields as the built-in
/// catalogue's entries under `[[prices]]` (see the module source for an example). Unknown keys,
/// missing required keys (`provider`, `model`, `input`, `output`, `as_of`), malformed dates,
/// negative prices, an empty date range and invalid regular expressions are errors naming
/// `source_name`, the line and the key. Entries get [`Origin::Override`] with `source_name` as
/// the path, and `source_name` as their `source` when they give none.
pub fn parse_overrides(toml_text: &str, source_name: &str) -> Result<Vec<PriceEntry>> {
    let raw: RawFile<toml::Spanned<RawEntry>> =
        toml::from_str(toml_text).map_err(|e| Error::Config {
            path: PathBuf::from(source_name),
            message: e.to_string().trim_end().to_owned(),
        })?;
    raw.prices
        .into_iter()
        .enumerate()
        .map(|(i, spanned)| {
            let line = toml_text
                .get(..spanned.span().start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            let place = format!("line {line}: prices[{i}]");
            build(
                spanned.into_inner(),
                source_name,
                Origin::Override(PathBuf::from(source_name)),
            )
            .map_err(|m| config_error(source_name, &place, m))
        })
        .collect()
}

/// Writes entries as `prices.toml` text that [`parse_overrides`] reads back to the same
/// prices (e.g. to save prices converted from LiteLLM into a workspace).
pub fn render_overrides(entries: &[PriceEntry]) -> Result<String> {
    #[derive(Serialize)]
    struct Out {
        prices: Vec<RawEntry>,
    }
    let prices = entries
        .iter()
        .map(|e| RawEntry {
            id: Some(e.id.clone()),
            provider: e.provider.clone(),
            model: e.model.clone(),
            match_regex: e.match_regex.clone(),
            aliases: e.aliases.clone(),
            effective_from: e.effective_from.map(DateValue),
            effective_until: e.effective_until.map(DateValue),
            input: e.input,
            cache_read: e.cache_read,
            cache_write_5m: e.cache_write_5m,
            cache_write_1h: e.cache_write_1h,
            output: e.output,
            reasoning: e.reasoning,
            batch_discount: e.batch_discount,
            source: Some(e.source.clone()),
            as_of: DateValue(e.as_of),
            note: e.note.clone(),
            tiers: e
                .tiers
                .iter()
                .map(|t| RawTier {
                    above_input_tokens: t.above_input_tokens,
                    input: t.input,
                    output: t.output,
                    cache_read: t.cache_read,
                    cache_write_5m: t.cache_write_5m,
                    cache_write_1h: t.cache_write_1h,
                })
                .collect(),
        })
        .collect();
    toml::to_string(&Out { prices }).map_err(|e| Error::InvalidArguments {
        command: "prices".into(),
        message: format!("cannot write prices as TOML: {e}"),
    })
}

fn config_error(source_name: &str, place: &str, message: String) -> Error {
    Error::Config {
        path: PathBuf::from(source_name),
        message: format!("{place}: {message}"),
    }
}

/// Checks one raw entry and turns it into a [`PriceEntry`]; the error names the key.
fn build(
    r: RawEntry,
    source_name: &str,
    origin: Origin,
) -> std::result::Result<PriceEntry, String> {
    let id_label =
        r.id.clone()
            .unwrap_or_else(|| format!("{}/{}", r.provider, r.model));
    let fail = |key: &str, what: String| format!("(id {id_label:?}) {key}: {what}");
    if r.provider.trim().is_empty() {
        return Err(fail("provider", "must not be empty".into()));
    }
    if r.model.trim().is_empty() {
        return Err(fail("model", "must not be empty".into()));
    }
    check_price(r.input).map_err(|m| fail("input", m))?;
    check_price(r.output).map_err(|m| fail("output", m))?;
    for (key, v) in [
        ("cache_read", r.cache_read),
        ("cache_write_5m", r.cache_write_5m),
        ("cache_write_1h", r.cache_write_1h),
        ("reasoning", r.reasoning),
    ] {
        if let Some(v) = v {
            check_price(v).map_err(|m| fail(key, m))?;
        }
    }
    if let Some(b) = r.batch_discount {
        if !(0.0..1.0).contains(&b) {
            return Err(fail(
                "batch_discount",
                format!("{b} is not a fraction in [0, 1) (0.5 means half price)"),
            ));
        }
    }
    if let (Some(from), Some(until)) = (&r.effective_from, &r.effective_until) {
        if from.0 >= until.0 {
            return Err(fail(
                "effective_until",
                format!(
                    "{} is not after effective_from {} (the range is [from, until))",
                    until.0, from.0
                ),
            ));
        }
    }
    if let Some(re) = &r.match_regex {
        if let Err(e) = regex::RegexBuilder::new(re).case_insensitive(true).build() {
            return Err(fail(
                "match_regex",
                format!("invalid regular expression: {e}"),
            ));
        }
    }
    if r.as_of.0.year() < 2000 {
        return Err(fail(
            "as_of",
            format!("{} is not a plausible date", r.as_of.0),
        ));
    }
    let mut tiers = Vec::with_capacity(r.tiers.len());
    for (i, t) in r.tiers.into_iter().enumerate() {
        let key = |k: &str| format!("tiers[{i}].{k}");
        check_price(t.input).map_err(|m| fail(&key("input"), m))?;
        check_price(t.output).map_err(|m| fail(&key("output"), m))?;
        for (k, v) in [
            ("cache_read", t.cache_read),
            ("cache_write_5m", t.cache_write_5m),
            ("cache_write_1h", t.cache_write_1h),
        ] {
            if let Some(v) = v {
                check_price(v).map_err(|m| fail(&key(k), m))?;
            }
        }
        if tiers
            .iter()
            .any(|x: &Tier| x.above_input_tokens == t.above_input_tokens)
        {
            return Err(fail(
                &key("above_input_tokens"),
                format!("two tiers above {} input tokens", t.above_input_tokens),
            ));
        }
        tiers.push(Tier {
            above_input_tokens: t.above_input_tokens,
            input: t.input,
            output: t.output,
            cache_read: t.cache_read,
            cache_write_5m: t.cache_write_5m,
            cache_write_1h: t.cache_write_1h,
        });
    }
    tiers.sort_by_key(|t| t.above_input_tokens);
    Ok(PriceEntry {
        id: id_label,
        provider: r.provider,
        model: r.model,
        match_regex: r.match_regex,
        aliases: r.aliases,
        effective_from: r.effective_from.map(|d| d.0),
        effective_until: r.effective_until.map(|d| d.0),
        input: r.input,
        output: r.output,
        cache_read: r.cache_read,
        cache_write_5m: r.cache_write_5m,
        cache_write_1h: r.cache_write_1h,
        reasoning: r.reasoning,
        tiers,
        batch_discount: r.batch_discount,
        source: r.source.unwrap_or_else(|| source_name.to_owned()),
        as_of: r.as_of.0,
        note: r.note,
        origin,
    })
}

fn check_price(v: f64) -> std::result::Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{v} is not a price (USD per 1M tokens, 0 or more)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# Our negotiated Azure rate.
[[prices]]
provider = "azure"
model = "gpt-4o"
effective_from = 2025-01-01
input = 2.0
cache_read = 1.0
output = 8.0
as_of = "2025-01-01"

[[prices.tiers]]
above_input_tokens = 100000
input = 4
output = 16
"#;

    #[test]
    fn overrides_parse_with_defaults_and_toml_dates() {
        let e = parse_overrides(SAMPLE, "/ws/prices.toml").unwrap();
        assert_eq!(e.len(), 1);
        let e = &e[0];
        assert_eq!(e.id, "azure/gpt-4o");
        assert_eq!(e.source, "/ws/prices.toml");
        assert_eq!(e.effective_from, NaiveDate::from_ymd_opt(2025, 1, 1));
        assert_eq!(e.origin, Origin::Override(PathBuf::from("/ws/prices.toml")));
        assert_eq!(e.tiers[0].above_input_tokens, 100_000);
        assert_eq!(e.tiers[0].input, 4.0);
    }

    #[test]
    fn unknown_key_is_an_error_naming_key_file_and_line() {
        let text = "[[prices]]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\ninput = 1\noutput = 2\nas_of = 2025-01-01\ninput_price = 3\n";
        let err = parse_overrides(text, "prices.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("prices.toml"), "{err}");
        assert!(err.contains("input_price"), "{err}");
        assert!(err.contains("line 7"), "{err}");

        let text = "[[prices]]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\ninput = 1\noutput = 2\nas_of = 2025-01-01\n[[prices.tiers]]\nabove = 5\ninput = 1\noutput = 1\n";
        let err = parse_overrides(text, "prices.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("above") && err.contains("line 8"), "{err}");

        let err = parse_overrides("[[price]]\n", "prices.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("price") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn semantic_errors_name_line_and_key() {
        let text = "[[prices]]\nprovider = \"a\"\nmodel = \"m\"\ninput = 1\noutput = 1\nas_of = 2025-01-01\n\n[[prices]]\nprovider = \"a\"\nmodel = \"n\"\ninput = -1\noutput = 1\nas_of = 2025-01-01\n";
        let err = parse_overrides(text, "p.toml").unwrap_err().to_string();
        assert!(err.contains("line 8") && err.contains("prices[1]"), "{err}");
        assert!(err.contains("input: -1"), "{err}");

        let bad_range = "[[prices]]\nprovider = \"a\"\nmodel = \"m\"\ninput = 1\noutput = 1\nas_of = 2025-01-01\neffective_from = 2025-02-01\neffective_until = 2025-02-01\n";
        let err = parse_overrides(bad_range, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("effective_until"), "{err}");

        let bad_date = "[[prices]]\nprovider = \"a\"\nmodel = \"m\"\ninput = 1\noutput = 1\nas_of = \"2025-13-01\"\n";
        let err = parse_overrides(bad_date, "p.toml").unwrap_err().to_string();
        assert!(
            err.contains("line 6") && err.contains("2025-13-01"),
            "{err}"
        );

        let bad_re = "[[prices]]\nprovider = \"a\"\nmodel = \"m\"\nmatch_regex = \"(\"\ninput = 1\noutput = 1\nas_of = 2025-01-01\n";
        let err = parse_overrides(bad_re, "p.toml").unwrap_err().to_string();
        assert!(err.contains("match_regex"), "{err}");

        let missing =
            "[[prices]]\nprovider = \"a\"\nmodel = \"m\"\ninput = 1\nas_of = 2025-01-01\n";
        let err = parse_overrides(missing, "p.toml").unwrap_err().to_string();
        assert!(err.contains("output"), "{err}");
    }

    #[test]
    fn render_then_parse_round_trips() {
        let mut entries = parse_overrides(SAMPLE, "x.toml").unwrap();
        entries[0].note = Some("a \"quoted\" note".into());
        entries[0].aliases = vec!["gpt-4o-rc".into()];
        let text = render_overrides(&entries).unwrap();
        let back = parse_overrides(&text, "x.toml").unwrap();
        assert_eq!(back, entries);
    }

    #[test]
    fn builtin_catalogue_parses_and_every_entry_names_its_source() {
        let entries = parse_builtin(include_str!("../../data/prices.json")).unwrap();
        assert!(entries.len() > 40);
        for e in &entries {
            assert!(e.source.starts_with("https://"), "{}", e.id);
            assert_eq!(e.origin, Origin::Catalogue);
        }
    }
}
