//! Span attributes that the span's own columns hold exactly (`gen_ai.request.model` and
//! `request_model`, `tenant` and `tenant`, ...): stored as a bit of `span_payloads.mirrored`
//! instead of in `span_payloads.attributes`, and read back from their column. In a month of
//! generated production traces they were about 180 of the 250 bytes of attributes a span stored.
//!
//! **Invariants:**
//! - An attribute is left out only when its value is exactly what its column gives back: the
//!   same string, or the same integer (`1065`, never `1065.0`). Reading puts it back equal.
//! - A set bit always reads the column as it is now. A merge that changes a column first writes
//!   the attributes its bits stood for explicitly, with the old value, and clears those bits (the
//!   trigger of `0010_mirrored_attributes.sql`); a record that brings one of these keys itself
//!   clears its bit (`shadowed`), since its value wins, as in any merge.
//! - [`MIRRORED`] is append-only: a bit's meaning is stored in databases and in the trigger.

use serde_json::{Map, Value};

use crate::model::Span;

/// A span column that an attribute may repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    RequestModel,
    ResponseModel,
    Provider,
    PromptName,
    PromptVersion,
    Tenant,
    Endpoint,
    Feature,
    User,
    Session,
    Environment,
    Release,
    InputTokens,
    OutputTokens,
    CacheReadTokens,
    ReasoningTokens,
}

/// The value a column holds, as an attribute gives it.
enum Held<'s> {
    Text(Option<&'s str>),
    Int(Option<i64>),
}

impl Column {
    /// Its name in `spans` (the migration's trigger names it).
    #[cfg(test)]
    fn sql(self) -> &'static str {
        match self {
            Column::RequestModel => "request_model",
            Column::ResponseModel => "response_model",
            Column::Provider => "provider",
            Column::PromptName => "prompt_name",
            Column::PromptVersion => "prompt_version",
            Column::Tenant => "tenant",
            Column::Endpoint => "endpoint",
            Column::Feature => "feature",
            Column::User => "user_id",
            Column::Session => "session_id",
            Column::Environment => "environment",
            Column::Release => "release",
            Column::InputTokens => "input_tokens",
            Column::OutputTokens => "output_tokens",
            Column::CacheReadTokens => "cache_read_tokens",
            Column::ReasoningTokens => "reasoning_tokens",
        }
    }

    fn held(self, span: &Span) -> Held<'_> {
        let a = &span.attribution;
        match self {
            Column::RequestModel => Held::Text(span.request_model.as_deref()),
            Column::ResponseModel => Held::Text(span.response_model.as_deref()),
            Column::Provider => Held::Text(span.provider.as_deref()),
            Column::PromptName => Held::Text(span.prompt_name.as_deref()),
            Column::PromptVersion => Held::Text(span.prompt_version.as_deref()),
            Column::Tenant => Held::Text(a.tenant.as_deref()),
            Column::Endpoint => Held::Text(a.endpoint.as_deref()),
            Column::Feature => Held::Text(a.feature.as_deref()),
            Column::User => Held::Text(a.user.as_deref()),
            Column::Session => Held::Text(a.session.as_deref()),
            Column::Environment => Held::Text(a.environment.as_deref()),
            Column::Release => Held::Text(a.release.as_deref()),
            Column::InputTokens => Held::Int(span.usage.input),
            Column::OutputTokens => Held::Int(span.usage.output),
            Column::CacheReadTokens => Held::Int(span.usage.cache_read),
            Column::ReasoningTokens => Held::Int(span.usage.reasoning),
        }
    }

    /// Whether `value` is exactly what the column gives back for `span`.
    fn holds(self, span: &Span, value: &Value) -> bool {
        match (self.held(span), value) {
            (Held::Text(Some(held)), Value::String(s)) => held == s,
            // `as_i64` is None for a float, so `1065.0` stays an attribute.
            (Held::Int(Some(held)), Value::Number(n)) => n.as_i64() == Some(held),
            _ => false,
        }
    }

    /// The attribute the column gives back for `span`.
    fn value(self, span: &Span) -> Option<Value> {
        match self.held(span) {
            Held::Text(text) => text.map(Value::from),
            Held::Int(int) => int.map(Value::from),
        }
    }
}

/// The attributes a column may repeat, by bit (the index). Append-only (see the module).
pub(crate) const MIRRORED: &[(&str, Column)] = &[
    ("gen_ai.request.model", Column::RequestModel),
    ("gen_ai.response.model", Column::ResponseModel),
    ("gen_ai.provider.name", Column::Provider),
    ("gen_ai.system", Column::Provider),
    ("gen_ai.usage.input_tokens", Column::InputTokens),
    ("gen_ai.usage.output_tokens", Column::OutputTokens),
    ("gen_ai.usage.prompt_tokens", Column::InputTokens),
    ("gen_ai.usage.completion_tokens", Column::OutputTokens),
    (
        "gen_ai.usage.cache_read.input_tokens",
        Column::CacheReadTokens,
    ),
    (
        "gen_ai.usage.reasoning.output_tokens",
        Column::ReasoningTokens,
    ),
    ("gen_ai.prompt.name", Column::PromptName),
    ("gen_ai.prompt.version", Column::PromptVersion),
    ("gen_ai.conversation.id", Column::Session),
    ("llm.model_name", Column::ResponseModel),
    ("llm.provider", Column::Provider),
    ("llm.system", Column::Provider),
    ("llm.token_count.prompt", Column::InputTokens),
    ("llm.token_count.completion", Column::OutputTokens),
    (
        "llm.token_count.prompt_details.cache_read",
        Column::CacheReadTokens,
    ),
    (
        "llm.token_count.completion_details.reasoning",
        Column::ReasoningTokens,
    ),
    ("ai.model.id", Column::RequestModel),
    ("ai.response.model", Column::ResponseModel),
    ("ai.model.provider", Column::Provider),
    ("ai.usage.promptTokens", Column::InputTokens),
    ("ai.usage.completionTokens", Column::OutputTokens),
    ("session.id", Column::Session),
    ("user.id", Column::User),
    ("tenant", Column::Tenant),
    ("tenant.id", Column::Tenant),
    ("tenant_id", Column::Tenant),
    ("endpoint", Column::Endpoint),
    ("feature", Column::Feature),
    ("deployment.environment.name", Column::Environment),
    ("deployment.environment", Column::Environment),
    ("service.version", Column::Release),
    ("langfuse.user.id", Column::User),
    ("langfuse.session.id", Column::Session),
    ("langfuse.environment", Column::Environment),
    ("langfuse.release", Column::Release),
    ("langfuse.observation.model.name", Column::ResponseModel),
];

/// What [`leave_out`] took from a span's attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LeftOut {
    /// The bits of the attributes left out: their columns give them back.
    pub mirrored: i64,
    /// The bits of all of [`MIRRORED`]'s keys the span has, left out or not: in a merge, the
    /// stored bits of these keys give way to the new record's values.
    pub shadowed: i64,
}

/// Each key of [`MIRRORED`] and its bit.
fn bits() -> &'static rustc_hash::FxHashMap<&'static str, usize> {
    static BITS: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, usize>> =
        std::sync::LazyLock::new(|| {
            MIRRORED
                .iter()
                .enumerate()
                .map(|(bit, (key, _))| (*key, bit))
                .collect()
        });
    &BITS
}

/// Removes from `attributes` those that `span`'s columns give back exactly. Each attribute is
/// looked up among the keys (a span has a dozen attributes; the list has forty keys).
pub(crate) fn leave_out(span: &Span, attributes: &mut Map<String, Value>) -> LeftOut {
    let mut left = LeftOut::default();
    let bits = bits();
    attributes.retain(|key, value| {
        let Some(&bit) = bits.get(key.as_str()) else {
            return true;
        };
        left.shadowed |= 1 << bit;
        let (_, column) = MIRRORED[bit];
        if column.holds(span, value) {
            left.mirrored |= 1 << bit;
            return false;
        }
        true
    });
    left
}

/// Puts back the attributes whose bits `mirrored` sets, from `span`'s columns (a key also
/// stored explicitly takes the column's value: see the module).
pub(crate) fn put_back(span: &Span, mirrored: i64, attributes: &mut Map<String, Value>) {
    // As unsigned: the sign bit is just another bit.
    let mut bits = mirrored as u64;
    while bits != 0 {
        let bit = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        // A bit the list does not have (a damaged row) reads back nothing.
        let Some((key, column)) = MIRRORED.get(bit) else {
            continue;
        };
        if let Some(value) = column.value(span) {
            attributes.insert((*key).to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bit_per_key_in_a_signed_64_bit_column() {
        assert!(MIRRORED.len() < 63, "{} keys", MIRRORED.len());
        let mut keys: Vec<_> = MIRRORED.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), MIRRORED.len(), "each key once");
    }

    /// The trigger that writes out a merged span's attributes before its columns change lists
    /// every key with its column and bit, as [`MIRRORED`] does.
    #[test]
    fn the_migration_trigger_knows_every_mirrored_key() {
        let sql = include_str!("migrations/0010_mirrored_attributes.sql");
        let mut by_column: std::collections::BTreeMap<&str, i64> = Default::default();
        for (bit, (key, column)) in MIRRORED.iter().enumerate() {
            let c = column.sql();
            let row = format!(
                "UNION ALL SELECT '{key}', OLD.{c}, {}, NEW.{c} IS NOT OLD.{c}\n",
                1_i64 << bit
            );
            assert!(sql.contains(&row), "missing {row}");
            *by_column.entry(c).or_default() |= 1 << bit;
        }
        for (c, mask) in by_column {
            let clear = format!("WHEN NEW.{c} IS NOT OLD.{c} THEN {mask}");
            assert!(sql.contains(&clear), "missing {clear}");
            let listed = |end: &str| sql.contains(&format!("\n    {c}{end}"));
            assert!(
                listed(",\n") || listed("\nON spans"),
                "{c} not in UPDATE OF"
            );
        }
    }

    #[test]
    fn only_exact_values_are_left_out_and_they_come_back_equal() {
        let mut span = Span::new("t".into(), "s".into(), "chat".into(), 1);
        span.request_model = Some("gpt-4o".into());
        span.provider = Some("openai".into());
        span.usage.input = Some(1065);
        span.usage.output = Some(7);
        span.attribution.tenant = Some("acme".into());
        let original: Map<String, Value> = serde_json::from_str(
            r#"{"gen_ai.request.model": "gpt-4o", "gen_ai.system": "OpenAI",
                "gen_ai.usage.input_tokens": 1065, "gen_ai.usage.output_tokens": 7.0,
                "tenant": "acme", "tenant.id": ["acme"], "other": 1}"#,
        )
        .unwrap();
        let mut attributes = original.clone();
        let left = leave_out(&span, &mut attributes);
        let kept: Vec<&str> = attributes.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            [
                "gen_ai.system",
                "gen_ai.usage.output_tokens",
                "other",
                "tenant.id"
            ],
            "a different case, a float and a list stay"
        );
        assert_eq!(left.mirrored.count_ones(), 3);
        assert_eq!(left.shadowed.count_ones(), 6);
        put_back(&span, left.mirrored, &mut attributes);
        assert_eq!(attributes, original);
    }
}
