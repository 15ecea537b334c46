//! Cost: what a model call cost, from its token usage and a price catalogue.
//!
//! Prices are USD per 1M tokens, by usage key. They come from the catalogue shipped with Assay
//! (`crates/assay/data/prices.json`, every entry naming its pricing page and the date the price
//! is from), overridden by a workspace's `prices.toml` (see [`parse_overrides`]), and can be
//! imported from LiteLLM's price file ([`litellm::convert`]).
//!
//! # Pricing rules
//!
//! [`Usage::input`] counts every input token, cached ones included; `cache_read` and
//! `cache_write` say how many of them were read from or written to a prompt cache. So:
//!
//! - **Uncached input** = `input - cache_read - cache_write`, never negative; it is charged at
//!   the `input` price. Cache reads are charged at `cache_read` (the input price when the entry
//!   has none: the provider gives no discount), cache writes at `cache_write_5m` (the input price
//!   when the entry has none: OpenAI and Google charge writes as plain input). The usage does not
//!   say which cache lifetime was written, so writes are charged at the 5-minute price, the
//!   default lifetime; `cache_write_1h` is kept for reference and for callers that know better.
//!   When a source reports more cached tokens than input tokens, the cached counts are trusted
//!   and the uncached input is zero.
//! - **Output** is charged at the `output` price. **Reasoning** tokens are part of the output
//!   (OpenAI, Gemini, Anthropic all count them there), so they are never charged twice: the
//!   reasoning share of the output is charged at the entry's `reasoning` price when it sets one
//!   (Gemini 2.5 Flash preview charged thinking higher), else at the output price. The
//!   breakdown shows that share as `reasoning` and the rest as `output`. A source that reports
//!   more reasoning than output tokens evidently counted them apart; then both are charged.
//! - **Long-context tiers**: when the call's input tokens (cached ones included) *exceed* a
//!   tier's `above_input_tokens`, the whole call is charged at that tier's prices (as Anthropic
//!   and Google bill it); the highest exceeded tier applies. A tier's missing cache prices
//!   default to the tier's input price; reasoning keeps the entry's `reasoning` price if set.
//! - **Dates**: an entry is valid on `[effective_from, effective_until)` (either end open when
//!   unset), and a span is priced with the entry valid at its start time (UTC), so a month that
//!   straddles a price change is costed right. A model with entries but none valid at that date
//!   is unpriced rather than priced with another period's price.
//! - **Batch discounts** are recorded (`batch_discount`, the fraction taken off) but not applied:
//!   a span does not say it was batched.
//! - A provider-reported cost ([`Span::reported_cost`](crate::model::Span::reported_cost)) is not used here; callers keep it beside
//!   the computed one.
//!
//! # Which entry prices a model
//!
//! The model name is lowercased and, besides its literal form, tried without provider prefixes
//! (`openai/`, `azure/`, `vertex_ai/`, `models/`, `bedrock/`, Bedrock's `us.anthropic.` and
//! `-v1:0`, Vertex's `@20241022`) and then without version suffixes (`-latest`, `-2024-07-18`,
//! `-20241022`, `-002`, `-2411`). Candidates rank by, in order: the entry's provider matching
//! the span's provider (or the one a prefix names); origin (workspace override > imported >
//! built in); specificity (exact id > exact model > alias or version-stripped name > the entry's
//! `match_regex`); fewer suffixes stripped; newest `effective_from`. The best candidate valid
//! at the span's date wins. Lookups are cached per (model, provider), so pricing millions of
//! spans is a hash hit each.

mod catalogue;
mod entries;
pub mod litellm;

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Serialize, Serializer};

pub use catalogue::Catalogue;
pub use entries::{parse_overrides, render_overrides, OVERRIDES_FILE};

use crate::model::Usage;

/// One price: a model (or a family of names) at a provider, over a date range, in USD per 1M
/// tokens by usage key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceEntry {
    /// The catalogue key, e.g. `openai/gpt-4o-mini`. Entries for one model over different date
    /// ranges share it.
    pub id: String,
    /// The provider that sells at this price (`openai`, `anthropic`, `google`, `mistral`, ...).
    pub provider: String,
    /// The model name matched exactly (lowercase comparison).
    pub model: String,
    /// A regular expression (case-insensitive) for further model names this price covers.
    pub match_regex: Option<String>,
    /// Further exact names this price covers.
    pub aliases: Vec<String>,
    /// First day (UTC) the price applies; `None` for since ever.
    #[serde(serialize_with = "ser_opt_date")]
    pub effective_from: Option<NaiveDate>,
    /// First day (UTC) the price no longer applies (exclusive); `None` for still valid.
    #[serde(serialize_with = "ser_opt_date")]
    pub effective_until: Option<NaiveDate>,
    /// Uncached input, per 1M tokens.
    pub input: f64,
    /// Output, per 1M tokens.
    pub output: f64,
    /// Input read from a prompt cache, per 1M tokens (`None`: the input price).
    pub cache_read: Option<f64>,
    /// Input written to a 5-minute prompt cache, per 1M tokens (`None`: the input price).
    pub cache_write_5m: Option<f64>,
    /// Input written to a 1-hour prompt cache, per 1M tokens, where the provider offers it.
    pub cache_write_1h: Option<f64>,
    /// Reasoning output, per 1M tokens, only where it differs from the output price.
    pub reasoning: Option<f64>,
    /// Long-context prices, applying to the whole call above a number of input tokens.
    pub tiers: Vec<Tier>,
    /// The fraction taken off for batch requests (0.5: half price).
    pub batch_discount: Option<f64>,
    /// Where the price comes from (the provider's pricing page, or a file).
    pub source: String,
    /// The date the price is believed to be from.
    #[serde(serialize_with = "ser_date")]
    pub as_of: NaiveDate,
    /// Caveats, e.g. where a figure is uncertain.
    pub note: Option<String>,
    /// Which price list the entry came from.
    pub origin: Origin,
}

/// Long-context prices: the whole call is charged at these when its input tokens exceed
/// `above_input_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tier {
    /// The threshold: the tier applies when the call has more input tokens than this.
    pub above_input_tokens: u64,
    /// Uncached input, per 1M tokens.
    pub input: f64,
    /// Output, per 1M tokens.
    pub output: f64,
    /// Cache reads, per 1M tokens (`None`: this tier's input price).
    pub cache_read: Option<f64>,
    /// 5-minute cache writes, per 1M tokens (`None`: this tier's input price).
    pub cache_write_5m: Option<f64>,
    /// 1-hour cache writes, per 1M tokens, for reference.
    pub cache_write_1h: Option<f64>,
}

/// Which price list an entry came from; overrides rank above imports above the built-in list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum Origin {
    /// The catalogue shipped with Assay.
    Catalogue,
    /// A workspace's `prices.toml` (its path).
    Override(PathBuf),
    /// Converted from LiteLLM's price file.
    Imported,
}

impl Origin {
    /// Rank for choosing between candidates: higher wins.
    fn rank(&self) -> u8 {
        match self {
            Origin::Override(_) => 2,
            Origin::Imported => 1,
            Origin::Catalogue => 0,
        }
    }
}

/// The outcome of pricing one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Priced {
    /// The computed cost.
    Cost(CostBreakdown),
    /// No price covers this model at the call's date: count and list it, do not cost it at zero.
    Unpriced {
        /// The model name as the span gave it (`(no model)` when it gave none).
        model: String,
    },
    /// The call reported no token counts at all: nothing to price.
    NoUsage,
}

/// A computed cost in USD, by usage key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostBreakdown {
    /// The sum of the parts.
    pub total: f64,
    /// Uncached input.
    pub input: f64,
    /// Cache reads.
    pub cache_read: f64,
    /// Cache writes.
    pub cache_write: f64,
    /// Output other than reasoning.
    pub output: f64,
    /// The reasoning share of the output.
    pub reasoning: f64,
    /// The id of the price entry used.
    pub entry_id: String,
    /// The long-context tier applied (its `above_input_tokens`), if any.
    pub tier: Option<u64>,
}

/// The name reported for a span that names no model at all.
pub const NO_MODEL: &str = "(no model)";

/// Whether the usage carries any token count.
fn has_usage(usage: &Usage) -> bool {
    usage.input.is_some()
        || usage.output.is_some()
        || usage.cache_read.is_some()
        || usage.cache_write.is_some()
        || usage.reasoning.is_some()
}

/// Applies the pricing rules of the module doc to one call.
fn compute(entry: &PriceEntry, usage: &Usage) -> CostBreakdown {
    let count = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
    let cache_read = count(usage.cache_read);
    let cache_write = count(usage.cache_write);
    let cached = cache_read.saturating_add(cache_write);
    let input_all = count(usage.input).max(cached);
    let uncached = input_all - cached;
    let output_all = count(usage.output);
    let reasoning = count(usage.reasoning);
    let output_plain = if reasoning <= output_all {
        output_all - reasoning
    } else {
        output_all
    };

    let tier = entry
        .tiers
        .iter()
        .filter(|t| input_all > t.above_input_tokens)
        .max_by_key(|t| t.above_input_tokens);
    let (p_in, p_out, p_read, p_write) = match tier {
        Some(t) => (
            t.input,
            t.output,
            t.cache_read.unwrap_or(t.input),
            t.cache_write_5m.unwrap_or(t.input),
        ),
        None => (
            entry.input,
            entry.output,
            entry.cache_read.unwrap_or(entry.input),
            entry.cache_write_5m.unwrap_or(entry.input),
        ),
    };
    let p_reason = entry.reasoning.unwrap_or(p_out);

    let usd = |tokens: u64, per_m: f64| tokens as f64 * per_m / 1_000_000.0;
    let input = usd(uncached, p_in);
    let cache_read = usd(cache_read, p_read);
    let cache_write = usd(cache_write, p_write);
    let output = usd(output_plain, p_out);
    let reasoning = usd(reasoning, p_reason);
    CostBreakdown {
        total: input + cache_read + cache_write + output + reasoning,
        input,
        cache_read,
        cache_write,
        output,
        reasoning,
        entry_id: entry.id.clone(),
        tier: tier.map(|t| t.above_input_tokens),
    }
}

fn ser_date<S: Serializer>(d: &NaiveDate, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&d.format("%Y-%m-%d"))
}

fn ser_opt_date<S: Serializer>(
    d: &Option<NaiveDate>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_date(d, s),
        None => s.serialize_none(),
    }
}

/// Sets a span's computed cost (or marks it unpriced) from the catalogue. Only model calls
/// (llm and embedding spans) are priced: token counts on other spans are aggregates of their
/// children and would be counted twice.
pub fn apply_price(span: &mut crate::model::Span, catalogue: &Catalogue) {
    use crate::model::SpanKind;
    span.cost = None;
    span.unpriced = false;
    if !matches!(span.kind, SpanKind::Llm | SpanKind::Embedding) {
        return;
    }
    match catalogue.price_span(span) {
        Priced::Cost(c) => span.cost = Some(c.total),
        Priced::Unpriced { .. } => span.unpriced = true,
        Priced::NoUsage => {}
    }
}

/// The shipped catalogue, built once per process (for imports that bring no catalogue of their
/// own). None when the shipped data does not load, which a test rules out.
pub fn builtin_shared() -> Option<std::sync::Arc<Catalogue>> {
    static BUILTIN: std::sync::OnceLock<Option<std::sync::Arc<Catalogue>>> =
        std::sync::OnceLock::new();
    BUILTIN
        .get_or_init(|| Catalogue::builtin().ok().map(std::sync::Arc::new))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Span;

    fn ns(y: i32, m: u32, d: u32, h: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .map(|t| t.and_utc().timestamp_nanos_opt().unwrap())
            .unwrap()
    }

    const NOW: fn() -> i64 = || ns(2025, 7, 1, 12);

    fn usage(input: i64, output: i64) -> Usage {
        Usage {
            input: Some(input),
            output: Some(output),
            ..Usage::default()
        }
    }

    fn span(provider: &str, request: &str, response: Option<&str>, at: i64, u: Usage) -> Span {
        let mut s = Span::new("t".into(), "s".into(), "chat".into(), at);
        s.provider = Some(provider.into());
        s.request_model = Some(request.into());
        s.response_model = response.map(Into::into);
        s.usage = u;
        s
    }

    fn cost(p: Priced) -> CostBreakdown {
        match p {
            Priced::Cost(c) => c,
            other => panic!("expected a cost, got {other:?}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn openai_cached_tokens_are_inside_input() {
        let cat = Catalogue::builtin().unwrap();
        // prompt_tokens 10,000 of which prompt_tokens_details.cached_tokens 4,000; 500 out.
        let mut u = usage(10_000, 500);
        u.cache_read = Some(4_000);
        let s = span(
            "openai",
            "gpt-4o-mini",
            Some("gpt-4o-mini-2024-07-18"),
            NOW(),
            u,
        );
        let c = cost(cat.price_span(&s));
        // gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out per 1M.
        // uncached 6,000 * 0.15 / 1e6 = 0.0009
        // cached   4,000 * 0.075 / 1e6 = 0.0003
        // output     500 * 0.60 / 1e6 = 0.0003
        assert!(close(c.input, 0.0009), "{c:?}");
        assert!(close(c.cache_read, 0.0003), "{c:?}");
        assert!(close(c.output, 0.0003), "{c:?}");
        assert!(close(c.total, 0.0015), "{c:?}");
        assert_eq!(c.entry_id, "openai/gpt-4o-mini");
        assert_eq!(c.tier, None);
    }

    #[test]
    fn anthropic_cache_reads_and_writes() {
        let cat = Catalogue::builtin().unwrap();
        // input_tokens 1,000 + cache_read_input_tokens 20,000 + cache_creation_input_tokens
        // 5,000, normalised to input 26,000 with the cached parts named.
        let u = Usage {
            input: Some(26_000),
            output: Some(800),
            cache_read: Some(20_000),
            cache_write: Some(5_000),
            reasoning: None,
        };
        let s = span(
            "anthropic",
            "claude-3-5-haiku-latest",
            Some("claude-3-5-haiku-20241022"),
            NOW(),
            u,
        );
        let c = cost(cat.price_span(&s));
        // claude-3-5-haiku: $0.80 in, $0.08 cache read, $1.00 5-minute cache write, $4 out.
        // uncached  1,000 * 0.80 / 1e6 = 0.0008
        // read     20,000 * 0.08 / 1e6 = 0.0016
        // write     5,000 * 1.00 / 1e6 = 0.005
        // output      800 * 4.00 / 1e6 = 0.0032
        // total                         = 0.0106
        assert!(close(c.input, 0.0008), "{c:?}");
        assert!(close(c.cache_read, 0.0016), "{c:?}");
        assert!(close(c.cache_write, 0.005), "{c:?}");
        assert!(close(c.output, 0.0032), "{c:?}");
        assert!(close(c.total, 0.0106), "{c:?}");
    }

    #[test]
    fn reasoning_tokens_are_not_charged_twice() {
        let cat = Catalogue::builtin().unwrap();
        let mut u = usage(2_000, 5_000);
        u.reasoning = Some(4_000);
        let c = cost(cat.price(Some("openai"), "o3-mini-2025-01-31", NOW(), &u));
        // o3-mini: $1.10 in, $4.40 out, no separate reasoning price.
        // input      2,000 * 1.10 / 1e6 = 0.0022
        // output     1,000 * 4.40 / 1e6 = 0.0044  (5,000 - 4,000 reasoning)
        // reasoning  4,000 * 4.40 / 1e6 = 0.0176
        // total = (2,200 + 5,000 * 4.40 * 1e6/1e6) / 1e6 = 0.0242
        assert!(close(c.output, 0.0044), "{c:?}");
        assert!(close(c.reasoning, 0.0176), "{c:?}");
        assert!(close(c.total, 0.0242), "{c:?}");

        // A distinct thinking price replaces that share of the output.
        let mut u = usage(1_000, 3_000);
        u.reasoning = Some(2_000);
        let c = cost(cat.price(
            Some("gcp.gemini"),
            "gemini-2.5-flash-preview-04-17",
            NOW(),
            &u,
        ));
        // input      1,000 * 0.15 / 1e6 = 0.00015
        // output     1,000 * 0.60 / 1e6 = 0.0006
        // reasoning  2,000 * 3.50 / 1e6 = 0.007
        assert!(close(c.total, 0.00775), "{c:?}");

        // A source counting reasoning apart from output (more reasoning than output).
        let mut u = usage(0, 100);
        u.reasoning = Some(400);
        let c = cost(cat.price(Some("openai"), "o3-mini", NOW(), &u));
        // (100 + 400) * 4.40 / 1e6 = 0.0022
        assert!(close(c.total, 0.0022), "{c:?}");
    }

    #[test]
    fn long_context_tier_prices_the_whole_call() {
        let cat = Catalogue::builtin().unwrap();
        let mut u = usage(250_000, 2_000);
        u.cache_read = Some(100_000);
        let c = cost(cat.price(Some("anthropic"), "claude-sonnet-4-20250514", NOW(), &u));
        // 250,000 input > 200,000: everything at the long-context prices.
        // uncached 150,000 * 6.00 / 1e6 = 0.9
        // read     100,000 * 0.60 / 1e6 = 0.06
        // output     2,000 * 22.5 / 1e6 = 0.045
        assert_eq!(c.tier, Some(200_000));
        assert!(close(c.total, 1.005), "{c:?}");

        // Exactly at the threshold is not above it.
        let mut u = usage(200_000, 2_000);
        u.cache_read = Some(100_000);
        let c = cost(cat.price(Some("anthropic"), "claude-sonnet-4-20250514", NOW(), &u));
        // 100,000 * 3 / 1e6 + 100,000 * 0.30 / 1e6 + 2,000 * 15 / 1e6 = 0.3 + 0.03 + 0.03
        assert_eq!(c.tier, None);
        assert!(close(c.total, 0.36), "{c:?}");

        // Gemini 1.5 Pro above 128k (after the 2024-10-01 price cut).
        let c = cost(cat.price(
            Some("gcp.gemini"),
            "gemini-1.5-pro-002",
            NOW(),
            &usage(150_000, 1_000),
        ));
        // 150,000 * 2.50 / 1e6 + 1,000 * 10 / 1e6 = 0.375 + 0.01
        assert_eq!(c.tier, Some(128_000));
        assert!(close(c.total, 0.385), "{c:?}");
    }

    #[test]
    fn price_changes_mid_month_use_the_price_at_the_span_start() {
        let cat = Catalogue::builtin().unwrap();
        let u = usage(1_000, 1_000);
        // o3 was cut from $10/$40 to $2/$8 on 2025-06-10.
        let before = span(
            "openai",
            "o3",
            Some("o3-2025-04-16"),
            ns(2025, 6, 9, 23),
            u.clone(),
        );
        let after = span(
            "openai",
            "o3",
            Some("o3-2025-04-16"),
            ns(2025, 6, 10, 0),
            u.clone(),
        );
        // 1,000 * 10 / 1e6 + 1,000 * 40 / 1e6 = 0.05
        assert!(close(cost(cat.price_span(&before)).total, 0.05));
        // 1,000 * 2 / 1e6 + 1,000 * 8 / 1e6 = 0.01
        assert!(close(cost(cat.price_span(&after)).total, 0.01));

        // Gemini 1.5 Flash: $0.35/$1.05 until 2024-08-12, then $0.075/$0.30.
        let at = |d| {
            cost(cat.price(
                Some("gcp.gemini"),
                "gemini-1.5-flash-001",
                ns(2024, 8, d, 12),
                &u,
            ))
        };
        assert!(close(at(11).total, 0.0014)); // 0.00035 + 0.00105
        assert!(close(at(12).total, 0.000375)); // 0.000075 + 0.0003

        // gpt-4o in August 2024: the new dated version is $2.50/$10, the old one and the
        // undated alias still $5/$15.
        let aug = ns(2024, 8, 20, 12);
        let price = |m| cat.find(Some("openai"), m, aug).unwrap().input;
        assert_eq!(price("gpt-4o-2024-08-06"), 2.5);
        assert_eq!(price("gpt-4o-2024-05-13"), 5.0);
        assert_eq!(price("gpt-4o"), 5.0);
        assert_eq!(
            cat.find(Some("openai"), "gpt-4o", NOW()).unwrap().input,
            2.5
        );
        assert_eq!(
            cat.find(Some("openai"), "gpt-4o-2024-05-13", NOW())
                .unwrap()
                .input,
            5.0
        );
    }

    #[test]
    fn unknown_models_are_unpriced_by_name() {
        let cat = Catalogue::builtin().unwrap();
        let s = span("meta", "llama-3.1-70b", None, NOW(), usage(10, 10));
        assert_eq!(
            cat.price_span(&s),
            Priced::Unpriced {
                model: "llama-3.1-70b".into()
            }
        );
        // No token counts: nothing to price, whatever the model.
        let s = span("meta", "llama-3.1-70b", None, NOW(), Usage::default());
        assert_eq!(cat.price_span(&s), Priced::NoUsage);
        // An unknown response model falls back to the request model.
        let s = span(
            "openai",
            "gpt-4o-mini",
            Some("gpt-4o-mini-custom-ft"),
            NOW(),
            usage(1_000_000, 0),
        );
        assert!(close(cost(cat.price_span(&s)).total, 0.15));
        // No model at all.
        let mut s = span("openai", "", None, NOW(), usage(1, 1));
        s.request_model = None;
        assert_eq!(
            cat.price_span(&s),
            Priced::Unpriced {
                model: NO_MODEL.into()
            }
        );
        // Known model, but before any of its prices: unpriced, not priced at another date.
        let cat = cat.with_overrides(vec![PriceEntry {
            effective_from: NaiveDate::from_ymd_opt(2025, 1, 1),
            ..entry("acme", "acme-1", 1.0)
        }]);
        assert!(matches!(
            cat.price(None, "acme-1", ns(2024, 12, 31, 23), &usage(1, 1)),
            Priced::Unpriced { .. }
        ));
    }

    fn entry(provider: &str, model: &str, input: f64) -> PriceEntry {
        PriceEntry {
            id: format!("{provider}/{model}"),
            provider: provider.into(),
            model: model.into(),
            match_regex: None,
            aliases: vec![],
            effective_from: None,
            effective_until: None,
            input,
            output: input,
            cache_read: None,
            cache_write_5m: None,
            cache_write_1h: None,
            reasoning: None,
            tiers: vec![],
            batch_discount: None,
            source: "test".into(),
            as_of: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            note: None,
            origin: Origin::Override("prices.toml".into()),
        }
    }

    #[test]
    fn workspace_prices_toml_wins_from_its_date() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("prices.toml"),
            "[[prices]]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\neffective_from = 2025-01-01\n\
             input = 0.10\noutput = 0.40\nas_of = 2025-01-01\nsource = \"enterprise agreement\"\n",
        )
        .unwrap();
        let cat = Catalogue::load_workspace(dir.path()).unwrap();
        let u = usage(1_000_000, 1_000_000);
        let jan = cat.price(
            Some("openai"),
            "gpt-4o-mini-2024-07-18",
            ns(2025, 1, 15, 0),
            &u,
        );
        // 1M * 0.10 / 1M + 1M * 0.40 / 1M = 0.50
        assert!(close(cost(jan).total, 0.5));
        let e = cat
            .find(Some("openai"), "gpt-4o-mini", ns(2025, 1, 15, 0))
            .unwrap();
        assert_eq!(e.source, "enterprise agreement");
        assert!(matches!(e.origin, Origin::Override(_)));
        // Before the override's range the catalogue price applies: 0.15 + 0.60.
        let dec = cat.price(Some("openai"), "gpt-4o-mini", ns(2024, 12, 31, 0), &u);
        assert!(close(cost(dec).total, 0.75));

        // Without prices.toml: the built-in list.
        let empty = tempfile::tempdir().unwrap();
        let cat = Catalogue::load_workspace(empty.path()).unwrap();
        assert_eq!(
            cat.entries().len(),
            Catalogue::builtin().unwrap().entries().len()
        );

        // A bad prices.toml is an error naming the file, line and key.
        std::fs::write(
            empty.path().join("prices.toml"),
            "[[prices]]\nmodle = \"x\"\n",
        )
        .unwrap();
        let err = Catalogue::load_workspace(empty.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("prices.toml") && err.contains("modle") && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn override_for_another_provider_does_not_take_over() {
        let azure = PriceEntry {
            id: "azure/gpt-4o".into(),
            ..entry("azure", "gpt-4o", 9.0)
        };
        let cat = Catalogue::builtin().unwrap().with_overrides(vec![azure]);
        let at = NOW();
        assert_eq!(
            cat.find(Some("az.ai.openai"), "gpt-4o-2024-08-06", at)
                .unwrap()
                .input,
            9.0
        );
        assert_eq!(cat.find(None, "azure/gpt-4o", at).unwrap().input, 9.0);
        assert_eq!(
            cat.find(Some("openai"), "gpt-4o-2024-08-06", at)
                .unwrap()
                .input,
            2.5
        );
    }

    #[test]
    fn prefixed_dated_and_aliased_names_resolve() {
        let cat = Catalogue::builtin().unwrap();
        let cases = [
            (None, "openai/gpt-4o-mini", "openai/gpt-4o-mini"),
            (
                Some("az.ai.openai"),
                "azure/gpt-4o-mini-2024-07-18",
                "openai/gpt-4o-mini",
            ),
            (
                Some("aws.bedrock"),
                "bedrock/anthropic.claude-3-5-haiku-20241022-v1:0",
                "anthropic/claude-3-5-haiku",
            ),
            (
                Some("aws.bedrock"),
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
                "anthropic/claude-sonnet-4",
            ),
            (
                Some("gcp.vertex_ai"),
                "vertex_ai/claude-3-5-haiku@20241022",
                "anthropic/claude-3-5-haiku",
            ),
            (
                Some("gcp.gemini"),
                "models/gemini-1.5-flash-002",
                "google/gemini-1.5-flash",
            ),
            (
                Some("gcp.gemini"),
                "gemini-1.5-flash-latest",
                "google/gemini-1.5-flash",
            ),
            (
                Some("anthropic"),
                "claude-3-5-sonnet-latest",
                "anthropic/claude-3-5-sonnet",
            ),
            (
                None,
                "openrouter/anthropic/claude-3.5-haiku",
                "anthropic/claude-3-5-haiku",
            ),
            (
                Some("mistral_ai"),
                "mistral-large-2411",
                "mistral/mistral-large",
            ),
            (
                None,
                "mistral/mistral-small-latest",
                "mistral/mistral-small",
            ),
            (
                None,
                "gemini-2.5-pro-preview-05-06",
                "google/gemini-2.5-pro",
            ),
            (
                Some("openai"),
                "text-embedding-3-small",
                "openai/text-embedding-3-small",
            ),
            (
                Some("openai"),
                "gpt-4o-2024-05-13",
                "openai/gpt-4o-2024-05-13",
            ),
            (
                Some("anthropic"),
                "claude-sonnet-4-5-20250929",
                "anthropic/claude-sonnet-4-5",
            ),
        ];
        for (provider, model, id) in cases {
            let found = cat.find(provider, model, NOW()).map(|e| e.id.as_str());
            assert_eq!(found, Some(id), "{model}");
            // The second lookup is served from the cache and agrees.
            assert_eq!(
                cat.find(provider, model, NOW()).map(|e| e.id.as_str()),
                Some(id)
            );
        }
        // Versions of different models do not collapse into each other.
        assert!(cat.find(None, "o1-mini", NOW()).is_none());
        assert!(cat.find(None, "gpt-4o-mini-tts", NOW()).is_none());
    }

    #[test]
    fn every_demo_model_is_priced() {
        let cat = Catalogue::builtin().unwrap();
        for (provider, model) in [
            ("openai", "gpt-4o-mini"),
            ("openai", "gpt-4o-mini-2024-07-18"),
            ("openai", "gpt-4o"),
            ("openai", "gpt-4o-2024-08-06"),
            ("anthropic", "claude-3-5-haiku-latest"),
            ("anthropic", "claude-3-5-haiku-20241022"),
            ("anthropic", "claude-3-5-sonnet-latest"),
            ("anthropic", "claude-3-5-sonnet-20241022"),
            ("gcp.gemini", "gemini-1.5-flash"),
            ("gcp.gemini", "gemini-1.5-flash-002"),
            ("openai", "text-embedding-3-small"),
        ] {
            assert!(cat.find(Some(provider), model, NOW()).is_some(), "{model}");
        }
    }

    #[test]
    fn a_million_spans_price_in_under_a_second() {
        let cat = Catalogue::builtin().unwrap();
        let mut cached = usage(3_000, 400);
        cached.cache_read = Some(1_200);
        let mix = [
            span(
                "openai",
                "gpt-4o-mini",
                Some("gpt-4o-mini-2024-07-18"),
                NOW(),
                cached.clone(),
            ),
            span(
                "openai",
                "gpt-4o",
                Some("gpt-4o-2024-08-06"),
                NOW(),
                usage(2_000, 300),
            ),
            span(
                "anthropic",
                "claude-3-5-haiku-latest",
                Some("claude-3-5-haiku-20241022"),
                NOW(),
                cached,
            ),
            span(
                "anthropic",
                "claude-3-5-sonnet-latest",
                Some("claude-3-5-sonnet-20241022"),
                NOW(),
                usage(900, 700),
            ),
            span(
                "gcp.gemini",
                "gemini-1.5-flash",
                Some("gemini-1.5-flash-002"),
                NOW(),
                usage(1_500, 200),
            ),
            span(
                "openai",
                "text-embedding-3-small",
                None,
                NOW(),
                Usage {
                    input: Some(40),
                    ..Usage::default()
                },
            ),
        ];
        // Best of three, so a busy machine does not fail the test by accident.
        let mut best = std::time::Duration::MAX;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let mut total = 0.0;
            for i in 0..1_000_000usize {
                if let Priced::Cost(c) = cat.price_span(&mix[i % mix.len()]) {
                    total += c.total;
                }
            }
            best = best.min(start.elapsed());
            assert!(total > 0.0);
            if best < std::time::Duration::from_secs(1) {
                break;
            }
        }
        eprintln!("1,000,000 price_span calls: {best:?}");
        assert!(best < std::time::Duration::from_secs(1), "{best:?}");
    }
}
