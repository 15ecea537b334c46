//! The price catalogue: entries indexed for fast lookup by model name, provider and date.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::RwLock;

use chrono::NaiveDate;
use regex::{Regex, RegexBuilder};

use super::entries::{parse_builtin, parse_overrides, OVERRIDES_FILE};
use super::{compute, has_usage, PriceEntry, Priced, NO_MODEL};
use crate::error::{Error, Result};
use crate::model::{Span, Usage};

/// The built-in price list, shipped in the binary.
const BUILTIN_JSON: &str = include_str!("../../data/prices.json");

/// Distinct (model, provider) pairs remembered; past this, lookups are resolved uncached so
/// a stream of junk model names cannot grow memory without bound.
const CACHE_LIMIT: usize = 50_000;

/// How specifically a model name matched an entry; higher wins.
const SPEC_ID: u8 = 4;
const SPEC_MODEL: u8 = 3;
const SPEC_ALIAS: u8 = 2;
const SPEC_REGEX: u8 = 1;

/// Price entries, indexed. Build it once and share it: [`Catalogue::find`] remembers how each
/// (model, provider) pair resolved, so repeated lookups are one hash hit plus a date check.
/// See the [module doc](super) for how an entry is chosen.
pub struct Catalogue {
    entries: Vec<PriceEntry>,
    meta: Vec<Meta>,
    by_id: HashMap<String, Vec<u32>>,
    by_model: HashMap<String, Vec<u32>>,
    by_alias: HashMap<String, Vec<u32>>,
    regexes: Vec<(u32, Regex)>,
    /// model name as given -> (provider as given, candidate entries best first).
    cache: RwLock<HashMap<String, Vec<Slot>, BuildHasherDefault<WordHasher>>>,
}

/// What ranking and date checks need of an entry, precomputed.
struct Meta {
    from_ns: i64,
    until_ns: i64,
    provider: String,
    origin_rank: u8,
}

struct Slot {
    provider: Option<String>,
    candidates: Box<[Candidate]>,
}

/// An entry that could price a name, with its date range at hand.
struct Candidate {
    from_ns: i64,
    until_ns: i64,
    index: usize,
}

/// The first candidate (they are ranked best first) valid at `at_ns`.
fn first_valid(candidates: &[Candidate], at_ns: i64) -> Option<usize> {
    for c in candidates {
        if c.from_ns <= at_ns && at_ns < c.until_ns {
            return Some(c.index);
        }
    }
    None
}

impl Catalogue {
    /// The catalogue shipped with Assay.
    pub fn builtin() -> Result<Catalogue> {
        Ok(Catalogue::from_entries(parse_builtin(BUILTIN_JSON)?))
    }

    /// Builds a catalogue from entries, in any order. An entry whose `match_regex` does not
    /// compile (entries parsed from files have been checked) matches by name only.
    pub fn from_entries(entries: Vec<PriceEntry>) -> Catalogue {
        let mut by_id: HashMap<String, Vec<u32>> = HashMap::new();
        let mut by_model: HashMap<String, Vec<u32>> = HashMap::new();
        let mut by_alias: HashMap<String, Vec<u32>> = HashMap::new();
        let mut regexes = Vec::new();
        let mut meta = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let i = i as u32;
            by_id.entry(e.id.to_ascii_lowercase()).or_default().push(i);
            by_model
                .entry(e.model.to_ascii_lowercase())
                .or_default()
                .push(i);
            for a in &e.aliases {
                by_alias.entry(a.to_ascii_lowercase()).or_default().push(i);
            }
            if let Some(re) = &e.match_regex {
                if let Ok(re) = RegexBuilder::new(re).case_insensitive(true).build() {
                    regexes.push((i, re));
                }
            }
            meta.push(Meta {
                from_ns: e
                    .effective_from
                    .map_or(i64::MIN, |d| day_start_ns(d, i64::MIN)),
                until_ns: e
                    .effective_until
                    .map_or(i64::MAX, |d| day_start_ns(d, i64::MAX)),
                provider: canonical_provider(&e.provider),
                origin_rank: e.origin.rank(),
            });
        }
        Catalogue {
            entries,
            meta,
            by_id,
            by_model,
            by_alias,
            regexes,
            cache: RwLock::new(HashMap::default()),
        }
    }

    /// This catalogue with `entries` added; they win over built-in and imported entries that
    /// match the same span equally well for its provider (entries with
    /// [`Origin::Override`](super::Origin::Override) rank first, then
    /// [`Origin::Imported`](super::Origin::Imported)). Outside an override's date range the
    /// other entries still apply.
    pub fn with_overrides(self, entries: Vec<PriceEntry>) -> Catalogue {
        let mut all = self.entries;
        all.extend(entries);
        Catalogue::from_entries(all)
    }

    /// The built-in catalogue plus the workspace's `prices.toml` at `root`, if there is one.
    pub fn load_workspace(root: &Path) -> Result<Catalogue> {
        let builtin = Catalogue::builtin()?;
        let path = root.join(OVERRIDES_FILE);
        if !path.is_file() {
            return Ok(builtin);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let overrides = parse_overrides(&text, &path.display().to_string())?;
        Ok(builtin.with_overrides(overrides))
    }

    /// Every entry, in the order given (built-in first, then overrides).
    pub fn entries(&self) -> &[PriceEntry] {
        &self.entries
    }

    /// The entry that prices `model` (as a span names it, prefixes and versions included) at
    /// `provider` (a span's provider, e.g. `openai`, `gcp.gemini`; `None` when unknown) for a
    /// call starting at `at_ns` (nanoseconds since the Unix epoch); `None` when no entry
    /// covers the model at that date.
    pub fn find(&self, provider: Option<&str>, model: &str, at_ns: i64) -> Option<&PriceEntry> {
        self.find_index(provider, model, at_ns)
            .and_then(|i| self.entries.get(i))
    }

    /// The cost of one call; see the [module doc](super) for the rules.
    pub fn price(&self, provider: Option<&str>, model: &str, at_ns: i64, usage: &Usage) -> Priced {
        if !has_usage(usage) {
            return Priced::NoUsage;
        }
        match self.find(provider, model, at_ns) {
            Some(e) => Priced::Cost(compute(e, usage)),
            None => Priced::Unpriced {
                model: model.to_owned(),
            },
        }
    }

    /// The cost of a span: priced by its response model (the version that answered), else by
    /// its request model; unpriced (naming the response model, else the request model) when
    /// neither has a price at the span's start. [`Priced::NoUsage`] when it has no token counts.
    /// It ignores `duplicate_of` and `reported_cost`: counting and comparing are the caller's.
    pub fn price_span(&self, span: &Span) -> Priced {
        if !has_usage(&span.usage) {
            return Priced::NoUsage;
        }
        let provider = span.provider.as_deref();
        let response = span.response_model.as_deref().filter(|m| !m.is_empty());
        let request = span.request_model.as_deref().filter(|m| !m.is_empty());
        let mut found = response.and_then(|m| self.find(provider, m, span.start_ns));
        if found.is_none() {
            found = request.and_then(|m| self.find(provider, m, span.start_ns));
        }
        match found {
            Some(e) => Priced::Cost(compute(e, &span.usage)),
            None => Priced::Unpriced {
                model: response.or(request).unwrap_or(NO_MODEL).to_owned(),
            },
        }
    }

    fn find_index(&self, provider: Option<&str>, model: &str, at_ns: i64) -> Option<usize> {
        // The hot path is written as plain loops: it runs once per span imported.
        // A poisoned lock only means another thread panicked mid-insert; the map is still a
        // valid cache.
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if let Some(slots) = cache.get(model) {
                for slot in slots {
                    if slot.provider.as_deref() == provider {
                        return first_valid(&slot.candidates, at_ns);
                    }
                }
            }
        }
        let candidates: Box<[Candidate]> = self
            .resolve(provider, model)
            .iter()
            .filter_map(|&i| {
                let m = self.meta.get(i as usize)?;
                Some(Candidate {
                    from_ns: m.from_ns,
                    until_ns: m.until_ns,
                    index: i as usize,
                })
            })
            .collect();
        let found = first_valid(&candidates, at_ns);
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() < CACHE_LIMIT {
            let slots = cache.entry(model.to_owned()).or_default();
            if !slots.iter().any(|s| s.provider.as_deref() == provider) {
                slots.push(Slot {
                    provider: provider.map(str::to_owned),
                    candidates,
                });
            }
        }
        found
    }

    /// Every entry that could price `model`, best first, regardless of date.
    fn resolve(&self, provider: Option<&str>, model: &str) -> Box<[u32]> {
        let names = ModelNames::of(model);
        let mut hints = names.provider_hints.clone();
        if let Some(p) = provider {
            hints.push(canonical_provider(p));
        }
        // entry -> (specificity, position of the name form that matched)
        let mut hits: HashMap<u32, (u8, usize)> = HashMap::new();
        let mut hit = |i: u32, spec: u8, pos: usize| {
            let slot = hits.entry(i).or_insert((spec, pos));
            if (spec, std::cmp::Reverse(pos)) > (slot.0, std::cmp::Reverse(slot.1)) {
                *slot = (spec, pos);
            }
        };
        for (pos, (name, exact)) in names.forms.iter().enumerate() {
            let (id_spec, model_spec) = if *exact {
                (SPEC_ID, SPEC_MODEL)
            } else {
                (SPEC_ALIAS, SPEC_ALIAS)
            };
            for &i in self.by_id.get(name).into_iter().flatten() {
                hit(i, id_spec, pos);
            }
            for &i in self.by_model.get(name).into_iter().flatten() {
                hit(i, model_spec, pos);
            }
            for &i in self.by_alias.get(name).into_iter().flatten() {
                hit(i, SPEC_ALIAS, pos);
            }
        }
        let exact_forms = names.forms.iter().filter(|(_, exact)| *exact);
        for (pos, (name, _)) in exact_forms.enumerate() {
            for (i, re) in &self.regexes {
                if re.is_match(name) {
                    hit(*i, SPEC_REGEX, pos);
                }
            }
        }
        let mut ranked: Vec<(u32, u8, usize)> =
            hits.into_iter().map(|(i, (s, p))| (i, s, p)).collect();
        ranked.sort_by_key(|&(i, spec, pos)| {
            let m = &self.meta[i as usize];
            let provider_match = hints.contains(&m.provider);
            (
                std::cmp::Reverse(provider_match),
                std::cmp::Reverse(m.origin_rank),
                std::cmp::Reverse(spec),
                pos,
                std::cmp::Reverse(m.from_ns),
                i,
            )
        });
        ranked.into_iter().map(|(i, _, _)| i).collect()
    }
}

impl Clone for Catalogue {
    fn clone(&self) -> Catalogue {
        Catalogue::from_entries(self.entries.clone())
    }
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// A fast non-cryptographic hasher for the lookup cache (model names are not attacker-chosen
/// keys worth SipHash's cost here: the importer prices millions of spans). It mixes eight
/// bytes at a time, FxHash-style.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn day_start_ns(d: NaiveDate, out_of_range: i64) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .and_then(|dt| dt.and_utc().timestamp_nanos_opt())
        .unwrap_or(out_of_range)
}

/// The forms a model name is looked up under, most literal first, and the providers its
/// prefixes name.
#[derive(Debug, PartialEq)]
pub(super) struct ModelNames {
    /// (lowercase name, whether it still names the exact model rather than a version-less
    /// family name).
    pub forms: Vec<(String, bool)>,
    /// Canonical providers named by prefixes (`azure/`, `anthropic.`).
    pub provider_hints: Vec<String>,
}

impl ModelNames {
    pub(super) fn of(model: &str) -> ModelNames {
        let raw = model.trim().to_ascii_lowercase();
        let mut hints = Vec::new();
        let base = strip_prefixes(&raw, &mut hints);
        let mut forms = vec![(raw.clone(), true)];
        if base != raw && !base.is_empty() {
            forms.push((base.clone(), true));
        }
        let mut name = base.as_str();
        while let Some(shorter) = strip_version_suffix(name) {
            forms.push((shorter.to_owned(), false));
            name = shorter;
        }
        ModelNames {
            forms,
            provider_hints: hints,
        }
    }
}

/// Removes provider and hosting prefixes and suffixes that do not change which model it is:
/// `vertex_ai/`, `models/`, Bedrock's `us.anthropic.` and `-v1:0`, Vertex's `@version`.
pub(super) fn strip_prefixes(raw: &str, hints: &mut Vec<String>) -> String {
    let mut name = raw;
    if let Some((path, last)) = raw.rsplit_once('/') {
        for seg in path.split('/') {
            if let Some(p) = prefix_provider(seg) {
                hints.push(p);
            }
        }
        name = last;
    }
    // Vertex AI names Claude versions `claude-3-5-haiku@20241022`.
    let mut name = name.replacen('@', "-", 1);
    for region in [
        "us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.",
    ] {
        if let Some(rest) = name.strip_prefix(region) {
            name = rest.to_owned();
            break;
        }
    }
    for (vendor, p) in [
        ("anthropic.", "anthropic"),
        ("mistral.", "mistral"),
        ("meta.", "meta"),
        ("amazon.", "amazon"),
        ("cohere.", "cohere"),
        ("ai21.", "ai21"),
        ("openai.", "openai"),
        ("deepseek.", "deepseek"),
    ] {
        if let Some(rest) = name.strip_prefix(vendor) {
            hints.push(p.to_owned());
            name = rest.to_owned();
            break;
        }
    }
    strip_bedrock_version(&name).to_owned()
}

/// `-v1:0`, `-v2`, `:0` at the end of Bedrock model ids.
fn strip_bedrock_version(name: &str) -> &str {
    let mut s = name;
    if let Some((head, tail)) = s.rsplit_once(':') {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            s = head;
        }
    }
    if let Some((head, tail)) = s.rsplit_once("-v") {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) && !head.is_empty() {
            s = head;
        }
    }
    s
}

/// One version suffix removed: `-latest`, `-2024-07-18`, `-20241022`, `-2411`/`-0613`,
/// `-002`.
fn strip_version_suffix(name: &str) -> Option<&str> {
    if let Some(head) = name.strip_suffix("-latest") {
        return (!head.is_empty()).then_some(head);
    }
    let b = name.as_bytes();
    let digits = |from: usize, to: usize| b[from..to].iter().all(u8::is_ascii_digit);
    let n = b.len();
    // -YYYY-MM-DD
    if n > 11
        && b[n - 11] == b'-'
        && b[n - 6] == b'-'
        && b[n - 3] == b'-'
        && digits(n - 10, n - 6)
        && digits(n - 5, n - 3)
        && digits(n - 2, n)
    {
        return Some(&name[..n - 11]);
    }
    for len in [8, 4, 3] {
        if n > len + 1 && b[n - len - 1] == b'-' && digits(n - len, n) {
            return Some(&name[..n - len - 1]);
        }
    }
    None
}

/// A provider named by a path segment of a model name (`azure/gpt-4o`, `models/gemini-...`).
fn prefix_provider(seg: &str) -> Option<String> {
    match seg {
        "openai" | "anthropic" | "azure" | "azure_ai" | "bedrock" | "bedrock_converse"
        | "vertex_ai" | "vertex_ai_beta" | "gemini" | "google" | "models" | "mistral"
        | "mistralai" | "groq" | "together_ai" | "fireworks_ai" | "deepseek" | "cohere" => {
            Some(canonical_provider(seg))
        }
        _ => None,
    }
}

/// One name per provider, whatever vocabulary named it (OpenTelemetry's `gen_ai.system`,
/// LiteLLM's `litellm_provider`, prefixes).
pub(super) fn canonical_provider(p: &str) -> String {
    let p = p.trim().to_ascii_lowercase();
    let canonical = match p.as_str() {
        "gcp.gemini"
        | "gcp.vertex_ai"
        | "gcp.gen_ai"
        | "vertex_ai"
        | "vertex_ai_beta"
        | "vertex_ai-language-models"
        | "vertex_ai-anthropic_models"
        | "gemini"
        | "google"
        | "google_genai"
        | "google_ai_studio"
        | "models"
        | "vertexai" => "google",
        "azure.openai" | "az.ai.openai" | "az.ai.inference" | "azure" | "azure_ai"
        | "azure_openai" => "azure",
        "aws.bedrock" | "bedrock" | "bedrock_converse" | "amazon_bedrock" => "bedrock",
        "mistral_ai" | "mistralai" | "mistral" | "codestral" => "mistral",
        "openai" | "text-completion-openai" | "openai_chat" => "openai",
        "anthropic" | "anthropic_text" => "anthropic",
        _ => return p,
    };
    canonical.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(m: &str) -> Vec<String> {
        ModelNames::of(m)
            .forms
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    #[test]
    fn names_lose_prefixes_then_versions() {
        assert_eq!(
            forms("gpt-4o-mini-2024-07-18"),
            ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"]
        );
        assert_eq!(
            forms("bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            [
                "bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0",
                "claude-3-5-haiku-20241022",
                "claude-3-5-haiku"
            ]
        );
        assert_eq!(
            forms("Models/Gemini-1.5-Flash-002"),
            [
                "models/gemini-1.5-flash-002",
                "gemini-1.5-flash-002",
                "gemini-1.5-flash"
            ]
        );
        assert_eq!(
            forms("claude-3-5-haiku@20241022"),
            [
                "claude-3-5-haiku@20241022",
                "claude-3-5-haiku-20241022",
                "claude-3-5-haiku"
            ]
        );
        assert_eq!(
            forms("mistral-large-latest"),
            ["mistral-large-latest", "mistral-large"]
        );
        assert_eq!(forms("gpt-4-0613"), ["gpt-4-0613", "gpt-4"]);
        assert_eq!(forms("o1-2024-12-17"), ["o1-2024-12-17", "o1"]);
        // Nothing to strip from names that merely end in a number.
        assert_eq!(forms("claude-sonnet-4-5"), ["claude-sonnet-4-5"]);
        assert_eq!(forms("text-embedding-3-small"), ["text-embedding-3-small"]);
        let n = ModelNames::of("azure/gpt-4o");
        assert_eq!(n.provider_hints, ["azure"]);
    }

    #[test]
    fn providers_are_canonical() {
        assert_eq!(canonical_provider("gcp.gemini"), "google");
        assert_eq!(canonical_provider("az.ai.openai"), "azure");
        assert_eq!(canonical_provider("AWS.Bedrock"), "bedrock");
        assert_eq!(canonical_provider("openai"), "openai");
        assert_eq!(canonical_provider("groq"), "groq");
    }
}
