//! The `spans` and `span_payloads` tables: the write path used by every importer, and the read
//! path of one trace.
//!
//! **Invariant:** a span's identity is `(trace_id, span_id)`, stored as `(trace_key, span_id)`
//! where `trace_key` is the trace's number (`traces.search_num`): the row id of the trace's first
//! span, taken when the trace is first written. Writing a span that is already
//! stored merges into it (known fields win over missing ones, attributes are merged), so
//! re-importing never double counts and a span that arrives again with more data is completed.
//! Payloads are indexed for full-text search later (see [`crate::store::search`]).

use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{
    Attribution, Document, ErrorClass, Message, PromptTemplate, Span, SpanEvent, SpanKind,
    SpanPayload, SpanStatus, Usage,
};
use crate::store::bindings::{KeptBindings, Param};
use crate::store::mirrored::LeftOut;
use crate::store::Store;

/// What [`upsert`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertCounts {
    /// Spans that were not in the store before.
    pub new: u64,
    /// Spans that were, and were merged into.
    pub merged: u64,
    /// Of the merged spans, those the record changed nothing in (sent again as they were).
    pub unchanged: u64,
}

/// The payload's normalised parts, stored as one JSON object in `span_payloads.detail`.
/// Messages that are exactly the input's (output's) text in the GenAI convention's plain shape
/// are stored as the string `"input"` (`"output"`) and read from that text again.
#[derive(Debug, Default, Deserialize)]
struct Detail {
    #[serde(default)]
    input_messages: StoredMessages,
    #[serde(default)]
    output_messages: StoredMessages,
    #[serde(default)]
    documents: Vec<Document>,
    #[serde(default)]
    prompt_template: Option<PromptTemplate>,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    events: Vec<SpanEvent>,
}

const INSERT_SPAN: &str = "
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status,
    status_message, error_class, service, provider, request_model, response_model, finish_reason,
    ttft_ns, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    reported_cost, prompt_name, prompt_version, tenant, endpoint, feature, user_id, session_id,
    environment, release, tags, import_id, cost, unpriced, trace_key)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
    ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36)";

/// How a record merges into the span stored with its identity: each column and its merged
/// value (known fields win over missing ones).
const SPAN_MERGE: &[(&str, &str)] = &[
    (
        "parent_span_id",
        "coalesce(excluded.parent_span_id, parent_span_id)",
    ),
    (
        "name",
        "CASE WHEN excluded.name = '' THEN name ELSE excluded.name END",
    ),
    (
        "kind",
        "CASE WHEN excluded.kind = 'other' THEN kind ELSE excluded.kind END",
    ),
    // A nameless record is partial (e.g. a log record carrying a call's messages): the span's
    // own start stays.
    (
        "start_ns",
        "CASE WHEN excluded.name = '' THEN start_ns ELSE excluded.start_ns END",
    ),
    ("end_ns", "coalesce(excluded.end_ns, end_ns)"),
    (
        "status",
        "CASE WHEN excluded.status = 'unset' THEN status ELSE excluded.status END",
    ),
    (
        "status_message",
        "coalesce(excluded.status_message, status_message)",
    ),
    ("error_class", "coalesce(excluded.error_class, error_class)"),
    ("service", "coalesce(excluded.service, service)"),
    ("provider", "coalesce(excluded.provider, provider)"),
    (
        "request_model",
        "coalesce(excluded.request_model, request_model)",
    ),
    (
        "response_model",
        "coalesce(excluded.response_model, response_model)",
    ),
    (
        "finish_reason",
        "coalesce(excluded.finish_reason, finish_reason)",
    ),
    ("ttft_ns", "coalesce(excluded.ttft_ns, ttft_ns)"),
    (
        "input_tokens",
        "coalesce(excluded.input_tokens, input_tokens)",
    ),
    (
        "output_tokens",
        "coalesce(excluded.output_tokens, output_tokens)",
    ),
    (
        "cache_read_tokens",
        "coalesce(excluded.cache_read_tokens, cache_read_tokens)",
    ),
    (
        "cache_write_tokens",
        "coalesce(excluded.cache_write_tokens, cache_write_tokens)",
    ),
    (
        "reasoning_tokens",
        "coalesce(excluded.reasoning_tokens, reasoning_tokens)",
    ),
    (
        "reported_cost",
        "coalesce(excluded.reported_cost, reported_cost)",
    ),
    ("prompt_name", "coalesce(excluded.prompt_name, prompt_name)"),
    (
        "prompt_version",
        "coalesce(excluded.prompt_version, prompt_version)",
    ),
    ("tenant", "coalesce(excluded.tenant, tenant)"),
    ("endpoint", "coalesce(excluded.endpoint, endpoint)"),
    ("feature", "coalesce(excluded.feature, feature)"),
    ("user_id", "coalesce(excluded.user_id, user_id)"),
    ("session_id", "coalesce(excluded.session_id, session_id)"),
    ("environment", "coalesce(excluded.environment, environment)"),
    ("release", "coalesce(excluded.release, release)"),
    ("tags", "coalesce(excluded.tags, tags)"),
    // Provisional: the writer prices merged rows again from their merged usage and model.
    ("cost", "coalesce(excluded.cost, cost)"),
    (
        "unpriced",
        "CASE WHEN excluded.cost IS NOT NULL THEN 0 ELSE max(unpriced, excluded.unpriced) END",
    ),
];

const INSERT_PAYLOAD: &str = "
INSERT INTO span_payloads (id, input, output, detail, attributes, resource_id, mirrored)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// How a record's payload merges into the stored one, as [`SPAN_MERGE`].
const PAYLOAD_MERGE: &[(&str, &str)] = &[
    ("input", "coalesce(excluded.input, input)"),
    ("output", "coalesce(excluded.output, output)"),
    ("detail", "json_patch(detail, excluded.detail)"),
    // A span whose resource changed keeps the old one's attributes that the new one lacks, as
    // it keeps its own: inline, under the new resource's.
    (
        "attributes",
        "json_patch(
        CASE WHEN excluded.resource_id IS NOT NULL AND resource_id IS NOT NULL
                  AND excluded.resource_id != resource_id
             THEN json_patch(attributes,
                  (SELECT r.attributes FROM resources r WHERE r.id = span_payloads.resource_id))
             ELSE attributes END,
        excluded.attributes)",
    ),
    ("resource_id", "coalesce(excluded.resource_id, resource_id)"),
    // The stored bits of the keys the new record has (?8) give way to its values; a changed
    // column has written out its bits already (`store::mirrored`).
    (
        "mirrored",
        "nullif((coalesce(mirrored, 0) & ~?8) | coalesce(excluded.mirrored, 0), 0)",
    ),
];

/// `{insert} ON CONFLICT ({key}) DO UPDATE` with each column's merge, and `extra` beside, only
/// when the merge changes something (then returning the row's id).
fn merge_sql(insert: &str, key: &str, merge: &[(&str, &str)], extra: &str) -> String {
    let set: Vec<String> = merge.iter().map(|(c, e)| format!("{c} = {e}")).collect();
    let columns: Vec<&str> = merge.iter().map(|(c, _)| *c).collect();
    let merged: Vec<&str> = merge.iter().map(|(_, e)| *e).collect();
    format!(
        "{insert}\nON CONFLICT ({key}) DO UPDATE SET {}{extra}\nWHERE ({}) IS NOT ({})\nRETURNING id",
        set.join(",\n    "),
        columns.join(", "),
        merged.join(", ")
    )
}

/// The statements that write a span and its payload, built once.
struct WriteSql {
    /// The plain insert of a new span: the fast path, tried first.
    insert_span: String,
    insert_payload: String,
    /// The merge of a record into its stored span. A record that would change nothing (the
    /// same record sent again, as a re-imported file sends every span) leaves the row alone and
    /// returns no id: the update's triggers (cost rollups, mirrored attributes) and their
    /// statement journal cost a merge about ten times what an insert costs. Such a span keeps
    /// the import that last changed it.
    merge_span: String,
    /// The merge of a record's payload into the stored one; likewise, a merge that would change
    /// nothing writes nothing and returns no id.
    merge_payload: String,
}

static WRITE_SQL: std::sync::LazyLock<WriteSql> = std::sync::LazyLock::new(|| WriteSql {
    insert_span: format!("{INSERT_SPAN} ON CONFLICT DO NOTHING"),
    insert_payload: format!("{INSERT_PAYLOAD} ON CONFLICT DO NOTHING"),
    merge_span: merge_sql(
        INSERT_SPAN,
        "trace_key, span_id",
        SPAN_MERGE,
        ", import_id = excluded.import_id",
    ),
    merge_payload: merge_sql(INSERT_PAYLOAD, "id", PAYLOAD_MERGE, ""),
});

/// A span ready to be written: its payload's JSON already serialised (the importer does this on
/// its parser thread, so the writer only writes) and the parsed payload parts dropped.
#[derive(Debug)]
pub struct PreparedSpan {
    /// The span; its payload keeps only the input and output text. Its trace id is read when
    /// the span is prepared (see `trace_hex`) and must not change after.
    pub span: Span,
    /// The span's row id once [`upsert`] has written it (0 before).
    pub row_id: i64,
    /// Its trace's number once [`upsert`] has written it (0 before).
    pub trace_key: i64,
    /// Set by [`upsert`] when the span was stored already and this record changed nothing in
    /// its row: its trace needs no new summary.
    pub(crate) unchanged: bool,
    /// Set by [`upsert`] when its trace had no row before this batch: the trace's number is one
    /// of the batch's new rows (a stored trace keeps the number it has).
    pub(crate) trace_is_new: bool,
    /// The trace id as a number when it is 32 lowercase hex digits (read on the parser thread,
    /// so the writer does not parse it).
    trace_hex: Option<u128>,
    detail: String,
    attributes: String,
    /// The attributes left out of `attributes`, which the span's columns give back.
    left_out: LeftOut,
    resource: Option<Arc<StoredResource>>,
    tags: Option<String>,
}

impl PreparedSpan {
    /// Serialises the payload.
    pub fn new(span: Span) -> PreparedSpan {
        PreparedSpan::sharing(span, &mut Resources::default())
    }

    /// Serialises the payload, the resource's attributes once for the spans of a resource
    /// (which come one after the other).
    pub(crate) fn sharing(mut span: Span, resources: &mut Resources) -> PreparedSpan {
        let p = &mut span.payload;
        let resource = p.resource.take().map(|r| resources.stored(r));
        let detail = DetailRef {
            input_messages: MessagesRef::new(&p.input_messages, p.messages_in_text.input, "input"),
            output_messages: MessagesRef::new(
                &p.output_messages,
                p.messages_in_text.output,
                "output",
            ),
            documents: &p.documents,
            prompt_template: p.prompt_template.as_ref(),
            metadata: &p.metadata,
            events: &p.events,
        };
        // Serialising plain data cannot fail; "{}" keeps the column valid JSON regardless.
        let detail = serde_json::to_string(&detail).unwrap_or_else(|_| "{}".to_owned());
        let mut attributes = std::mem::take(&mut p.attributes);
        let left_out = crate::store::mirrored::leave_out(&span, &mut attributes);
        let attributes = serde_json::to_string(&attributes).unwrap_or_else(|_| "{}".to_owned());
        let tags = (!span.tags.is_empty())
            .then(|| serde_json::to_string(&span.tags).unwrap_or_else(|_| "[]".to_owned()));
        let p = &mut span.payload;
        p.input_messages = Vec::new();
        p.output_messages = Vec::new();
        p.documents = Vec::new();
        p.prompt_template = None;
        p.metadata = serde_json::Map::new();
        p.events = Vec::new();
        p.attributes = serde_json::Map::new();
        PreparedSpan {
            trace_hex: hex_number(&span.trace_id),
            span,
            row_id: 0,
            unchanged: false,
            trace_is_new: false,
            trace_key: 0,
            detail,
            attributes,
            left_out,
            resource,
            tags,
        }
    }
}

/// A resource's attributes as they are stored in `resources`: a JSON object of their names
/// under `resource.` (as a span's attributes show them), and its id, the first 8 bytes of the
/// text's SHA-256 (so the same resource from any import is one row).
#[derive(Debug)]
pub(crate) struct StoredResource {
    id: i64,
    attributes: String,
}

impl StoredResource {
    fn new(resource: &serde_json::Map<String, serde_json::Value>) -> StoredResource {
        use sha2::Digest;
        let named: serde_json::Map<String, serde_json::Value> = resource
            .iter()
            .map(|(k, v)| (format!("resource.{k}"), v.clone()))
            .collect();
        // Serialising plain data cannot fail.
        let attributes = serde_json::to_string(&named).unwrap_or_else(|_| "{}".to_owned());
        let digest = sha2::Sha256::digest(attributes.as_bytes());
        let mut id = [0; 8];
        id.copy_from_slice(&digest[..8]);
        StoredResource {
            id: i64::from_be_bytes(id),
            attributes,
        }
    }

    /// Writes the resource if the store does not hold it; returns its id, or `None` when the id
    /// holds another resource (two texts with the same hash), whose spans then keep their
    /// resource's attributes inline.
    fn write(&self, tx: &Transaction<'_>) -> Result<Option<i64>> {
        let written = tx
            .prepare_cached(
                "INSERT INTO resources (id, attributes) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?
            .execute(params![self.id, self.attributes])?;
        if written == 1 {
            return Ok(Some(self.id));
        }
        let stored: String = tx
            .prepare_cached("SELECT attributes FROM resources WHERE id = ?1")?
            .query_row([self.id], |r| r.get(0))?;
        Ok((stored == self.attributes).then_some(self.id))
    }

    /// `attributes` (a span's, as JSON) with the resource's added, for a span whose resource
    /// cannot be stored apart.
    fn inline_into(&self, attributes: &str) -> String {
        let mut all: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(attributes).unwrap_or_default();
        let own: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.attributes).unwrap_or_default();
        all.extend(own);
        serde_json::to_string(&all).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// The parser's last stored resource, so the spans of one resource share its stored form
/// instead of serialising and hashing its attributes each.
#[derive(Default)]
pub(crate) struct Resources {
    last: Option<(ResourceAttributes, Arc<StoredResource>)>,
}

type ResourceAttributes = Arc<serde_json::Map<String, serde_json::Value>>;

impl Resources {
    fn stored(&mut self, resource: ResourceAttributes) -> Arc<StoredResource> {
        match &self.last {
            Some((last, stored)) if Arc::ptr_eq(last, &resource) => Arc::clone(stored),
            _ => {
                let stored = Arc::new(StoredResource::new(&resource));
                self.last = Some((resource, Arc::clone(&stored)));
                stored
            }
        }
    }
}

/// The traces an import met, each with its number once the writer knows it, so each batch
/// looks up in the store only the traces it meets for the first time. The usual id (32 hex
/// digits) is kept as its 16-byte number, not as a string: every id stays for the whole import.
///
/// The numbers hold while this connection alone writes: `PRAGMA data_version` changes when
/// another connection commits, and the numbers are then looked up again.
#[derive(Default)]
pub(crate) struct TraceNumbers {
    hex: rustc_hash::FxHashMap<u128, i64>,
    other: rustc_hash::FxHashMap<String, i64>,
    /// Every trace in the store is among those met (the import began on a store without
    /// traces), so one not met is new.
    complete: bool,
    /// The store's `data_version` when the numbers were last right.
    data_version: Option<i64>,
}

/// A number that is not known yet (numbers start at 1).
const UNKNOWN: i64 = 0;

impl TraceNumbers {
    /// How many distinct traces were met.
    pub(crate) fn len(&self) -> u64 {
        (self.hex.len() + self.other.len()) as u64
    }

    /// Says whether the store held no trace when the import began (read in the transaction of
    /// its first batch, before [`upsert_chunks`] runs in it).
    pub(crate) fn holds_every_stored_trace(&mut self, store_was_empty: bool) {
        self.complete = store_was_empty;
    }

    /// The number of the trace of `span` (whose `trace_hex` is its id's number, if any).
    fn get(&self, span: &PreparedSpan) -> Option<i64> {
        debug_assert_eq!(span.trace_hex, hex_number(&span.span.trace_id));
        let number = match span.trace_hex {
            Some(n) => self.hex.get(&n),
            None => self.other.get(&span.span.trace_id),
        };
        number.copied().filter(|&n| n != UNKNOWN)
    }

    fn set(&mut self, span: &PreparedSpan, number: i64) {
        match span.trace_hex {
            Some(n) => {
                self.hex.insert(n, number);
            }
            None => {
                self.other.insert(span.span.trace_id.clone(), number);
            }
        }
    }

    /// Forgets every number if another connection wrote since the last batch.
    fn check(&mut self, data_version: i64) {
        if self.data_version.is_some_and(|v| v != data_version) {
            self.complete = false;
            self.hex.values_mut().for_each(|n| *n = UNKNOWN);
            self.other.values_mut().for_each(|n| *n = UNKNOWN);
        }
        self.data_version = Some(data_version);
    }
}

/// The number of a trace id of 32 lowercase hex digits (only those, so that a number stands for
/// exactly one string).
fn hex_number(trace_id: &str) -> Option<u128> {
    let canonical = trace_id.len() == 32
        && trace_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    canonical
        .then(|| u128::from_str_radix(trace_id, 16).ok())
        .flatten()
}

/// Writes `spans` inside `tx`, merging into any already stored, and sets each one's `row_id`.
/// Returns what was new and what merged.
///
/// New spans take one plain insert each; only a span that is already stored pays for the merge.
pub fn upsert(
    tx: &Transaction<'_>,
    spans: &mut Vec<PreparedSpan>,
    import_id: i64,
) -> Result<UpsertCounts> {
    let mut months = crate::store::cost::UserMonths::default();
    let counts = upsert_chunks(
        tx,
        std::slice::from_mut(spans),
        import_id,
        &mut Vec::new(),
        &mut TraceNumbers::default(),
        &mut months,
    )?;
    months.write(tx)?;
    Ok(counts)
}

/// [`upsert`] of spans held in chunks (as the importer receives them, so they are never moved
/// one by one), also collecting the row ids of the spans that merged into stored ones (their
/// cost must be computed again from the merged row: see [`reprice_rows`]), and keeping the
/// numbers of the traces met in `numbers` for the next batch. The users' monthly cost sums
/// wait in `months`, which the caller writes before `tx` commits.
pub(crate) fn upsert_chunks(
    tx: &Transaction<'_>,
    chunks: &mut [Vec<PreparedSpan>],
    import_id: i64,
    merged_ids: &mut Vec<i64>,
    numbers: &mut TraceNumbers,
    months: &mut crate::store::cost::UserMonths,
) -> Result<UpsertCounts> {
    let mut insert_span = tx.prepare_cached(&WRITE_SQL.insert_span)?;
    let mut insert_payload = tx.prepare_cached(&WRITE_SQL.insert_payload)?;
    let mut span_stmt = tx.prepare_cached(&WRITE_SQL.merge_span)?;
    let mut stored_id =
        tx.prepare_cached("SELECT id FROM spans WHERE trace_key = ?1 AND span_id = ?2")?;
    let mut payload_stmt = tx.prepare_cached(&WRITE_SQL.merge_payload)?;
    let mut pending =
        tx.prepare_cached("INSERT OR IGNORE INTO fts_pending (payload_id) VALUES (?1)")?;
    let (mut span_bindings, mut payload_bindings) =
        (KeptBindings::default(), KeptBindings::default());
    let mut counts = UpsertCounts::default();
    let spans_in_batch = chunks.iter().map(Vec::len).sum();
    let mut rollup = crate::store::cost::RollupBatch::with_capacity(spans_in_batch);
    // The model calls in `rollup`, not written yet. Should one arrive again in the batch (a
    // partial record, then the complete one), the sums are written before it merges, so that
    // the triggers that move a merged call's sums find its own.
    let mut in_rollup: rustc_hash::FxHashSet<(i64, &str)> = Default::default();
    let mut row_ids = Vec::with_capacity(spans_in_batch);
    // Each trace's number: a stored trace's, looked up the first time the import meets it
    // (never, into a store that was empty), or for a new trace the row id its first span is
    // about to take (rows are only appended, at the largest id + 1).
    numbers.check(tx.query_row("PRAGMA data_version", [], |r| r.get(0))?);
    if !numbers.complete {
        // Traces are looked up by id below: an import that dropped their index (see
        // `traces::drop_filter_indexes`) builds it again once it needs it.
        crate::store::traces::ensure_identity_index(tx)?;
    }
    let mut number_of = tx.prepare_cached("SELECT search_num FROM traces WHERE trace_id = ?1")?;
    let mut next_row: i64 =
        tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM spans", [], |r| {
            r.get(0)
        })?;
    let first_row = next_row;
    // The resources of this batch, each written (or found) once: by id, whether it is stored
    // apart.
    let mut resources: rustc_hash::FxHashMap<i64, bool> = Default::default();
    for prepared in chunks.iter().flatten() {
        let s = &prepared.span;
        let a = &s.attribution;
        let tags = &prepared.tags;
        let trace_key = match numbers.get(prepared) {
            Some(key) => key,
            None => {
                let stored = if numbers.complete {
                    None
                } else {
                    number_of
                        .query_row([&s.trace_id], |r| r.get::<_, i64>(0))
                        .optional()?
                };
                let key = stored.unwrap_or(next_row);
                numbers.set(prepared, key);
                key
            }
        };
        let values: [Param; 36] = [
            (&s.trace_id).into(),
            (&s.span_id).into(),
            (&s.parent_span_id).into(),
            (&s.name).into(),
            s.kind.as_str().into(),
            s.start_ns.into(),
            s.end_ns.into(),
            s.status.as_str().into(),
            (&s.status_message).into(),
            s.error_class.map(ErrorClass::as_str).into(),
            (&s.service).into(),
            (&s.provider).into(),
            (&s.request_model).into(),
            (&s.response_model).into(),
            (&s.finish_reason).into(),
            s.time_to_first_token_ns.into(),
            s.usage.input.into(),
            s.usage.output.into(),
            s.usage.cache_read.into(),
            s.usage.cache_write.into(),
            s.usage.reasoning.into(),
            s.reported_cost.into(),
            (&s.prompt_name).into(),
            (&s.prompt_version).into(),
            (&a.tenant).into(),
            (&a.endpoint).into(),
            (&a.feature).into(),
            (&a.user).into(),
            (&a.session).into(),
            (&a.environment).into(),
            (&a.release).into(),
            tags.into(),
            import_id.into(),
            s.cost.into(),
            s.unpriced.into(),
            trace_key.into(),
        ];
        let known = span_bindings.execute(&mut insert_span, &values)? == 0;
        if !known {
            if rollup.add(s) {
                in_rollup.insert((trace_key, s.span_id.as_str()));
            }
        } else if in_rollup.contains(&(trace_key, s.span_id.as_str())) {
            std::mem::take(&mut rollup).write(tx, months)?;
            in_rollup.clear();
        }
        let mut unchanged = false;
        let id: i64 = if known {
            counts.merged += 1;
            let merged = span_stmt.query_row(rusqlite::params_from_iter(&values), |r| r.get(0));
            match merged.optional()? {
                Some(id) => {
                    merged_ids.push(id);
                    id
                }
                None => {
                    unchanged = true;
                    counts.unchanged += 1;
                    stored_id.query_row(params![trace_key, s.span_id], |r| r.get(0))?
                }
            }
        } else {
            counts.new += 1;
            let id = tx.last_insert_rowid();
            next_row = id + 1;
            id
        };
        let p = &s.payload;
        let (mut resource_id, mut inlined) = (None, None);
        if let Some(resource) = &prepared.resource {
            let apart = match resources.get(&resource.id) {
                Some(&apart) => apart,
                None => {
                    let apart = resource.write(tx)?.is_some();
                    resources.insert(resource.id, apart);
                    apart
                }
            };
            if apart {
                resource_id = Some(resource.id);
            } else {
                inlined = Some(resource.inline_into(&prepared.attributes));
            }
        }
        let detail = &prepared.detail;
        let attributes = inlined.as_ref().unwrap_or(&prepared.attributes);
        let left_out = &prepared.left_out;
        let mirrored = (left_out.mirrored != 0).then_some(left_out.mirrored);
        // The last value, the bits the record shadows, is the merge's only.
        let values: [Param; 8] = [
            id.into(),
            (&p.input).into(),
            (&p.output).into(),
            detail.into(),
            attributes.into(),
            resource_id.into(),
            mirrored.into(),
            left_out.shadowed.into(),
        ];
        let payload_changed = if known {
            let changed =
                payload_stmt.query_row(rusqlite::params_from_iter(&values), |r| r.get::<_, i64>(0));
            changed.optional()?.is_some()
        } else {
            payload_bindings.execute(&mut insert_payload, &values[..7])?;
            true
        };
        row_ids.push((id, trace_key, unchanged));
        let payload_id = id;
        // New payloads are above the index's watermark already; a merged one may have been
        // indexed with its old text (or its trace with its old summary).
        if known && (!unchanged || payload_changed) && (p.input.is_some() || p.output.is_some()) {
            pending.execute([payload_id])?;
        }
    }
    // New model calls enter the cost rollups here, one upsert per group; merges, duplicates
    // and repricing are moved by the triggers on `spans` (`0004_cost_narrow_rollups.sql`).
    rollup.write(tx, months)?;
    for (prepared, (id, trace_key, unchanged)) in chunks.iter_mut().flatten().zip(row_ids) {
        prepared.row_id = id;
        prepared.trace_key = trace_key;
        prepared.trace_is_new = trace_key >= first_row;
        prepared.unchanged = unchanged;
    }
    Ok(counts)
}

/// Messages as `detail` holds them: listed, or the name of the column whose text they are.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StoredMessages {
    Listed(Vec<Message>),
    InText(String),
}

impl Default for StoredMessages {
    fn default() -> Self {
        StoredMessages::Listed(Vec::new())
    }
}

impl StoredMessages {
    /// The messages, read from the text of the column named when they are stored as it.
    fn read(self, input: Option<&str>, output: Option<&str>) -> Vec<Message> {
        let text = match self {
            StoredMessages::Listed(messages) => return messages,
            StoredMessages::InText(column) if column == "input" => input,
            StoredMessages::InText(column) if column == "output" => output,
            StoredMessages::InText(_) => None,
        };
        text.and_then(crate::import::normalize::plain_genai_messages)
            .unwrap_or_default()
    }
}

/// Messages to store: listed, or as the name of the column whose text they are.
#[derive(Serialize)]
#[serde(untagged)]
enum MessagesRef<'a> {
    Listed(&'a [Message]),
    InText(&'static str),
}

impl<'a> MessagesRef<'a> {
    /// `listed`, or `column` when they are that column's text.
    fn new(listed: &'a [Message], in_text: bool, column: &'static str) -> Self {
        if in_text {
            MessagesRef::InText(column)
        } else {
            MessagesRef::Listed(listed)
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, MessagesRef::Listed(m) if m.is_empty())
    }
}

/// Borrowing twin of [`Detail`], so writing needs no clones.
#[derive(Serialize)]
struct DetailRef<'a> {
    #[serde(skip_serializing_if = "MessagesRef::is_empty")]
    input_messages: MessagesRef<'a>,
    #[serde(skip_serializing_if = "MessagesRef::is_empty")]
    output_messages: MessagesRef<'a>,
    #[serde(skip_serializing_if = "<[Document]>::is_empty")]
    documents: &'a [Document],
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_template: Option<&'a PromptTemplate>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    metadata: &'a serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "<[SpanEvent]>::is_empty")]
    events: &'a [SpanEvent],
}

/// Every span of a trace, ordered by start time, with payloads. Empty when the trace is unknown.
pub fn for_trace(store: &Store, trace_id: &str) -> Result<Vec<Span>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_ns, s.end_ns,
                s.status, s.status_message, s.error_class, s.service, s.provider, s.request_model,
                s.response_model, s.finish_reason, s.ttft_ns, s.input_tokens, s.output_tokens,
                s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens, s.reported_cost,
                s.prompt_name, s.prompt_version, s.tenant, s.endpoint, s.feature, s.user_id,
                s.session_id, s.environment, s.release, s.tags, s.duplicate_of,
                p.input, p.output, p.detail, p.attributes, s.cost, s.unpriced, r.attributes,
                p.mirrored
         FROM spans s LEFT JOIN span_payloads p ON p.id = s.id
              LEFT JOIN resources r ON r.id = p.resource_id
         WHERE s.trace_key = (SELECT search_num FROM traces WHERE trace_id = ?1)
         ORDER BY s.start_ns, s.span_id",
    )?;
    let rows = stmt.query_map([trace_id], |r| {
        let kind: String = r.get(4)?;
        let status: String = r.get(7)?;
        let error_class: Option<String> = r.get(9)?;
        let tags: Option<String> = r.get(31)?;
        let detail: Option<String> = r.get(35)?;
        let attributes: Option<String> = r.get(36)?;
        let resource: Option<String> = r.get(39)?;
        let object = |text: Option<String>| -> serde_json::Map<String, serde_json::Value> {
            text.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default()
        };
        let mirrored: Option<i64> = r.get(40)?;
        let detail: Detail = detail
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default();
        let (input, output): (Option<String>, Option<String>) = (r.get(33)?, r.get(34)?);
        let mut span = Span {
            trace_id: r.get(0)?,
            span_id: r.get(1)?,
            parent_span_id: r.get(2)?,
            name: r.get(3)?,
            kind: SpanKind::parse(&kind),
            start_ns: r.get(5)?,
            end_ns: r.get(6)?,
            status: SpanStatus::parse(&status),
            status_message: r.get(8)?,
            error_class: error_class.as_deref().and_then(ErrorClass::parse),
            service: r.get(10)?,
            provider: r.get(11)?,
            request_model: r.get(12)?,
            response_model: r.get(13)?,
            finish_reason: r.get(14)?,
            time_to_first_token_ns: r.get(15)?,
            usage: Usage {
                input: r.get(16)?,
                output: r.get(17)?,
                cache_read: r.get(18)?,
                cache_write: r.get(19)?,
                reasoning: r.get(20)?,
            },
            reported_cost: r.get(21)?,
            cost: r.get(37)?,
            unpriced: r.get(38)?,
            prompt_name: r.get(22)?,
            prompt_version: r.get(23)?,
            attribution: Attribution {
                tenant: r.get(24)?,
                endpoint: r.get(25)?,
                feature: r.get(26)?,
                user: r.get(27)?,
                session: r.get(28)?,
                environment: r.get(29)?,
                release: r.get(30)?,
            },
            tags: tags
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            duplicate_of: r.get(32)?,
            payload: SpanPayload {
                input_messages: detail
                    .input_messages
                    .read(input.as_deref(), output.as_deref()),
                output_messages: detail
                    .output_messages
                    .read(input.as_deref(), output.as_deref()),
                input,
                output,
                documents: detail.documents,
                prompt_template: detail.prompt_template,
                metadata: detail.metadata,
                events: detail.events,
                attributes: Default::default(),
                resource: None,
                messages_in_text: Default::default(),
            },
        };
        // The span's own attributes, those its columns hold, then its resource's.
        let mut attributes = object(attributes);
        crate::store::mirrored::put_back(&span, mirrored.unwrap_or(0), &mut attributes);
        attributes.extend(object(resource));
        span.payload.attributes = attributes;
        Ok(span)
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Prices stored rows again from what they hold now (after a merge). The rollup triggers
/// adjust the cost tables in the same transaction.
pub fn reprice_rows(
    tx: &Transaction<'_>,
    ids: &[i64],
    catalogue: &crate::cost::Catalogue,
) -> Result<()> {
    let mut read = tx.prepare_cached(
        "SELECT id, kind, provider, request_model, response_model, start_ns, input_tokens,
                output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens
         FROM spans WHERE id = ?1",
    )?;
    let mut changes = Vec::with_capacity(ids.len());
    for &id in ids {
        let mut rows = read.query([id])?;
        let Some(row) = rows.next()? else { continue };
        let mut span = pricing_span(row, 1)?;
        drop(rows);
        crate::cost::apply_price(&mut span, catalogue);
        changes.push((id, span.cost, span.unpriced));
    }
    set_costs(tx, &changes)
}

/// Sets `(row id, cost, unpriced)` on stored spans in one statement: per statement, SQLite sets
/// up the rollup triggers and a statement journal, which costs more than the rows themselves.
/// The staged ids drive the update (each looked up by primary key), so its cost follows the
/// changes, not the size of the store.
pub(crate) fn set_costs(tx: &Transaction<'_>, changes: &[(i64, Option<f64>, bool)]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS repriced (id INTEGER PRIMARY KEY, cost REAL, unpriced INTEGER);
         DELETE FROM temp.repriced;",
    )?;
    // A span listed twice (it arrived twice in one batch) takes its last price.
    let mut stage =
        tx.prepare_cached("INSERT OR REPLACE INTO temp.repriced VALUES (?1, ?2, ?3)")?;
    for (id, cost, unpriced) in changes {
        stage.execute(params![id, cost, unpriced])?;
    }
    tx.execute(SET_COSTS, [])?;
    tx.execute("DELETE FROM temp.repriced", [])?;
    Ok(())
}

/// `UPDATE ... FROM temp.repriced` would walk every span and probe the staged rows; `IN` makes
/// the staged ids the outer loop.
const SET_COSTS: &str = "
UPDATE spans SET (cost, unpriced) =
    (SELECT r.cost, r.unpriced FROM temp.repriced r WHERE r.id = spans.id)
WHERE id IN (SELECT id FROM temp.repriced)";

/// The parts of a stored span that pricing reads, from `kind, provider, request_model,
/// response_model, start_ns, input_tokens, output_tokens, cache_read_tokens,
/// cache_write_tokens, reasoning_tokens` starting at column `at`.
pub(crate) fn pricing_span(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Span> {
    let mut span = Span::new(String::new(), String::new(), String::new(), r.get(at + 4)?);
    let kind: String = r.get(at)?;
    span.kind = SpanKind::parse(&kind);
    span.provider = r.get(at + 1)?;
    span.request_model = r.get(at + 2)?;
    span.response_model = r.get(at + 3)?;
    span.usage = Usage {
        input: r.get(at + 5)?,
        output: r.get(at + 6)?,
        cache_read: r.get(at + 7)?,
        cache_write: r.get(at + 8)?,
        reasoning: r.get(at + 9)?,
    };
    Ok(span)
}

/// How many spans the store holds.
pub fn count(store: &Store) -> Result<i64> {
    Ok(store
        .conn()
        .query_row("SELECT count(*) FROM spans", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_are_counted_once_each_whatever_their_ids() {
        let mut set = TraceNumbers::default();
        let of = |id: &str| span(id, "00f067aa0ba902b7", 1);
        let a = "0af7651916cd43dd8448eb211c80319c";
        for (number, id) in [
            a,
            a,
            "0AF7651916CD43DD8448EB211C80319C",
            "trace-1",
            "trace-1",
            "",
            "+af7651916cd43dd8448eb211c80319",
            "00000000000000000000000000000001",
            "00000000000000000000000000000000",
        ]
        .into_iter()
        .enumerate()
        {
            if set.get(&of(id)).is_none() {
                set.set(&of(id), number as i64 + 1);
            }
        }
        // `a`, its uppercase spelling (another string), `trace-1`, the empty id, a 32-character
        // id that parses as a number but is not hex digits only, and two numbers.
        assert_eq!(set.len(), 7);
        // Each spelling keeps its own number, the one it got first.
        assert_eq!(set.get(&of(a)), Some(1));
        assert_eq!(set.get(&of("0AF7651916CD43DD8448EB211C80319C")), Some(3));
        assert_eq!(set.get(&of("trace-1")), Some(4));
        assert_eq!(set.get(&of("00000000000000000000000000000000")), Some(9));
        // Another connection's write makes every number unknown again, and still counted.
        set.check(1);
        assert_eq!(set.get(&of(a)), Some(1));
        set.check(2);
        assert_eq!(set.get(&of(a)), None);
        assert_eq!(set.get(&of("trace-1")), None);
        assert_eq!(set.len(), 7);
    }

    /// A value bound for one row is not kept for the next: a column set in one span and
    /// missing in the next is stored NULL in the next, whatever the binder skipped.
    #[test]
    fn a_missing_value_is_stored_null_after_a_row_that_had_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("assay.db")).unwrap();
        let mut full = span("0af7651916cd43dd8448eb211c80319c", "00f067aa0ba902b7", 1);
        let s = &mut full.span;
        s.parent_span_id = Some("53995c3f42cd8ad8".into());
        s.status_message = Some("rate limited".into());
        s.provider = Some("openai".into());
        s.request_model = Some("gpt-4o".into());
        s.usage.input = Some(12);
        s.usage.cache_read = Some(4);
        s.attribution.tenant = Some("acme".into());
        s.attribution.release = Some("1.2.0".into());
        s.payload.input = Some("hello".into());
        let bare = |id: &str| span("4bf92f3577b34da6a3ce929d0e0e4736", id, 2);
        let tx = store.conn_mut().transaction().unwrap();
        let mut spans = vec![bare("b7ad6b7169203331"), full, bare("00000000000000aa")];
        let counts = upsert(&tx, &mut spans, import_row(&tx)).unwrap();
        assert_eq!(counts.new, 3);
        tx.commit().unwrap();
        /// Span id, parent, model, cached tokens, and release, tenant or input text.
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Row> = store
            .conn()
            .prepare(
                "SELECT s.span_id, s.parent_span_id, s.request_model, s.cache_read_tokens,
                            coalesce(s.release, s.tenant, p.input)
                     FROM spans s JOIN span_payloads p ON p.id = s.id ORDER BY s.id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let set = |id: &str| {
            (
                id.to_owned(),
                Some("53995c3f42cd8ad8".to_owned()),
                Some("gpt-4o".to_owned()),
                Some(4),
                Some("1.2.0".to_owned()),
            )
        };
        let bare_row = |id: &str| (id.to_owned(), None, None, None, None);
        assert_eq!(
            rows,
            vec![
                bare_row("b7ad6b7169203331"),
                set("00f067aa0ba902b7"),
                bare_row("00000000000000aa"),
            ]
        );
    }

    /// Spans of one resource share one stored row; a resource whose id (a hash) holds another
    /// resource's attributes keeps its own inline, so no span shows another's resource; a span
    /// whose resource changes keeps what only the old one said, as it did when each span held
    /// its resource's attributes.
    #[test]
    fn a_resource_is_stored_once_unless_its_id_holds_another() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("assay.db")).unwrap();
        let resource = |service: &str| {
            let mut r = serde_json::Map::new();
            r.insert("service.name".into(), service.into());
            r.insert("telemetry.sdk.language".into(), "python".into());
            Arc::new(r)
        };
        let (api, worker) = (resource("api"), resource("worker"));
        let colliding = StoredResource::new(&worker).id;
        store
            .conn()
            .execute(
                "INSERT INTO resources (id, attributes) VALUES (?1, '{\"resource.x\": 1}')",
                [colliding],
            )
            .unwrap();
        let trace = "0af7651916cd43dd8448eb211c80319c";
        let mut resources = Resources::default();
        let mut spans: Vec<PreparedSpan> = [("a1", &api), ("a2", &api), ("w1", &worker)]
            .into_iter()
            .map(|(id, r)| {
                let mut s = Span::new(
                    trace.into(),
                    format!("00000000000000{id}"),
                    "step".into(),
                    1,
                );
                s.payload.attributes.insert("own".into(), id.into());
                s.payload.resource = Some(Arc::clone(r));
                PreparedSpan::sharing(s, &mut resources)
            })
            .collect();
        let tx = store.conn_mut().transaction().unwrap();
        upsert(&tx, &mut spans, import_row(&tx)).unwrap();
        crate::store::traces::refresh(&tx, &spans).unwrap();
        tx.commit().unwrap();

        let read = for_trace(&store, trace).unwrap();
        assert_eq!(read.len(), 3);
        let attributes = |id: &str| {
            read.iter()
                .find(|s| s.span_id.ends_with(id))
                .unwrap()
                .payload
                .attributes
                .clone()
        };
        for (id, service) in [("a1", "api"), ("a2", "api"), ("w1", "worker")] {
            let a = attributes(id);
            assert_eq!(a["own"], id);
            assert_eq!(a["resource.service.name"], service, "{id}");
            assert_eq!(a["resource.telemetry.sdk.language"], "python");
            assert!(!a.contains_key("resource.x"), "{id}: {a:?}");
        }
        let stored: Vec<(Option<i64>, bool)> = store
            .conn()
            .prepare(
                "SELECT resource_id, attributes LIKE '%resource.%' FROM span_payloads ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let api_id = StoredResource::new(&api).id;
        assert_eq!(
            stored,
            [(Some(api_id), false), (Some(api_id), false), (None, true)]
        );
        let rows: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2, "the api resource, and the row that was there");

        // The first span again, from a process whose resource changed: the new resource's
        // values win, and what only the old one said stays.
        let mut moved = serde_json::Map::new();
        moved.insert("service.name".into(), "api-v2".into());
        let mut again = Span::new(trace.into(), "00000000000000a1".into(), "step".into(), 1);
        again.payload.resource = Some(Arc::new(moved));
        let mut again = vec![PreparedSpan::sharing(again, &mut Resources::default())];
        let tx = store.conn_mut().transaction().unwrap();
        upsert(&tx, &mut again, import_row(&tx)).unwrap();
        tx.commit().unwrap();
        let read = for_trace(&store, trace).unwrap();
        let a = &read
            .iter()
            .find(|s| s.span_id.ends_with("a1"))
            .unwrap()
            .payload
            .attributes;
        assert_eq!(a["resource.service.name"], "api-v2");
        assert_eq!(a["resource.telemetry.sdk.language"], "python");
        assert_eq!(a["own"], "a1");
    }

    /// Attributes that the span's columns hold are stored as bits and read back from the
    /// columns (`store::mirrored`), exactly, through merges that change those columns, bring the
    /// same key with another value, or send a record again.
    #[test]
    fn attributes_the_columns_hold_read_back_the_same_through_merges() {
        let trace = "0af7651916cd43dd8448eb211c80319c";
        let record = |model: Option<&str>, tenant: Option<&str>, attributes: serde_json::Value| {
            let mut span = Span::new(trace.into(), "00000000000000a1".into(), "chat".into(), 1);
            span.kind = SpanKind::Llm;
            span.request_model = model.map(str::to_owned);
            span.attribution.tenant = tenant.map(str::to_owned);
            span.payload.attributes = attributes.as_object().unwrap().clone();
            span
        };
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("assay.db")).unwrap();
        let mut write = |span: Span| {
            let mut spans = vec![PreparedSpan::new(span)];
            let tx = store.conn_mut().transaction().unwrap();
            upsert(&tx, &mut spans, import_row(&tx)).unwrap();
            crate::store::traces::refresh(&tx, &spans).unwrap();
            tx.commit().unwrap();
            let conn = store.conn();
            let stored: (String, Option<i64>) = conn
                .query_row("SELECT attributes, mirrored FROM span_payloads", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            let read = for_trace(&store, trace).unwrap().remove(0);
            (stored, serde_json::Value::Object(read.payload.attributes))
        };
        let first = record(
            Some("m1"),
            Some("acme"),
            serde_json::json!({"gen_ai.request.model": "m1", "tenant": "acme", "n": 1}),
        );
        let ((text, bits), read) = write(first.clone());
        assert_eq!(text, r#"{"n":1}"#, "the columns hold the rest");
        assert_eq!(bits.map(i64::count_ones), Some(2));
        assert_eq!(
            read,
            serde_json::json!({"gen_ai.request.model": "m1", "tenant": "acme", "n": 1})
        );
        // Another key sets the model: the first key keeps its value, now written out.
        let (_, read) = write(record(
            Some("m2"),
            None,
            serde_json::json!({"ai.model.id": "m2"}),
        ));
        assert_eq!(
            read,
            serde_json::json!({"gen_ai.request.model": "m1", "ai.model.id": "m2",
                "tenant": "acme", "n": 1})
        );
        // The same key with a value no column holds: it wins, as in any merge.
        let (_, read) = write(record(
            None,
            None,
            serde_json::json!({"tenant": ["globex"]}),
        ));
        assert_eq!(
            read,
            serde_json::json!({"gen_ai.request.model": "m1", "ai.model.id": "m2",
                "tenant": ["globex"], "n": 1})
        );
        // The first record again: its values win again, and the others stay.
        let ((_, bits), read) = write(first);
        assert_eq!(
            read,
            serde_json::json!({"gen_ai.request.model": "m1", "ai.model.id": "m2",
                "tenant": "acme", "n": 1})
        );
        assert_eq!(bits.map(i64::count_ones), Some(2));
    }

    /// Messages that are exactly the input's (output's) text in the GenAI convention's plain
    /// shape are stored as that text alone and read from it again; merged with a record that
    /// lists its messages, the newer record's messages win, as they do when both list them.
    #[test]
    fn messages_stored_as_their_text_read_back_the_same() {
        use crate::import::{normalize::normalize, RawSpan};
        let trace = "0af7651916cd43dd8448eb211c80319c";
        let input =
            r#"[{"role":"user","parts":[{"type":"text","content":"Where is my parcel?"}]}]"#;
        let output = r#"[{"role":"assistant","parts":[{"type":"text","content":"On its way."}],"finish_reason":"stop"}]"#;
        let call = |id: &str, attributes: serde_json::Value| {
            normalize(RawSpan {
                trace_id: trace.into(),
                span_id: id.into(),
                name: "chat gpt-4o".into(),
                start_ns: 1,
                end_ns: Some(2),
                attributes: attributes.as_object().unwrap().clone(),
                ..RawSpan::default()
            })
        };
        let plain = call(
            "00000000000000a1",
            serde_json::json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                "gen_ai.input.messages": input, "gen_ai.output.messages": output}),
        );
        assert_eq!(
            plain.payload.messages_in_text,
            crate::model::MessagesInText {
                input: true,
                output: true
            }
        );
        // With system instructions, the input messages are more than the input's text.
        let instructed = call(
            "00000000000000a2",
            serde_json::json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": input,
                "gen_ai.system_instructions": r#"[{"type":"text","content":"Be brief."}]"#}),
        );
        assert!(!instructed.payload.messages_in_text.input);

        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("assay.db")).unwrap();
        let write = |store: &mut Store, spans: Vec<Span>| {
            let mut spans: Vec<PreparedSpan> = spans.into_iter().map(PreparedSpan::new).collect();
            let tx = store.conn_mut().transaction().unwrap();
            upsert(&tx, &mut spans, import_row(&tx)).unwrap();
            crate::store::traces::refresh(&tx, &spans).unwrap();
            tx.commit().unwrap();
        };
        write(&mut store, vec![plain.clone(), instructed.clone()]);
        let details: Vec<String> = store
            .conn()
            .prepare("SELECT detail FROM span_payloads ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            details[0],
            r#"{"input_messages":"input","output_messages":"output"}"#
        );
        assert!(details[1].contains("Be brief."), "{}", details[1]);
        let read = for_trace(&store, trace).unwrap();
        for (stored, sent) in read.iter().zip([&plain, &instructed]) {
            assert_eq!(stored.payload.input_messages, sent.payload.input_messages);
            assert_eq!(stored.payload.output_messages, sent.payload.output_messages);
            assert_eq!(stored.payload.input.as_deref(), Some(input));
        }
        assert_eq!(
            read[0].payload.input_messages[0].content.as_deref(),
            Some("Where is my parcel?")
        );
        assert_eq!(read[1].payload.input_messages.len(), 2);

        // The first span again, its messages listed (as a log record carries them): they win;
        // then once more as text: the text's win again.
        let mut listed = plain.clone();
        listed.payload.input = None;
        listed.payload.output = None;
        listed.payload.messages_in_text = Default::default();
        listed.payload.input_messages[0].content = Some("Listed.".into());
        write(&mut store, vec![listed]);
        let read = for_trace(&store, trace).unwrap();
        assert_eq!(
            read[0].payload.input_messages[0].content.as_deref(),
            Some("Listed.")
        );
        assert_eq!(
            read[0].payload.input.as_deref(),
            Some(input),
            "the input stays"
        );
        write(&mut store, vec![plain.clone()]);
        let read = for_trace(&store, trace).unwrap();
        assert_eq!(read[0].payload.input_messages, plain.payload.input_messages);
    }

    /// A record sent again that would change nothing leaves its span's row alone: no update, so
    /// no trigger moves a rollup, the span is not priced again and its trace keeps its summary.
    /// A record that changes any one column merges as before.
    #[test]
    fn a_record_sent_again_merges_only_when_it_changes_the_span() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("assay.db")).unwrap();
        // Each column's span in a trace of its own.
        let stored = |span_id: &str| {
            let mut s = Span::new(
                format!("{span_id:0>32}"),
                span_id.into(),
                "chat gpt-4o".into(),
                1_000,
            );
            s.kind = SpanKind::Llm;
            s.end_ns = Some(5_000);
            s.status = SpanStatus::Ok;
            s.provider = Some("openai".into());
            s.request_model = Some("gpt-4o".into());
            s.usage.input = Some(100);
            s.usage.output = Some(20);
            s.cost = Some(0.5);
            s.attribution.tenant = Some("acme".into());
            s.payload.input = Some("hello".into());
            s
        };
        // Each changes one column of the stored span (every column a merge sets).
        type Change = fn(&mut Span);
        let changes: &[(&str, Change)] = &[
            ("parent_span_id", |s| {
                s.parent_span_id = Some("53995c3f42cd8ad8".into())
            }),
            ("name", |s| s.name = "chat gpt-4o-mini".into()),
            ("kind", |s| s.kind = SpanKind::Embedding),
            ("start_ns", |s| s.start_ns = 900),
            ("end_ns", |s| s.end_ns = Some(6_000)),
            ("status", |s| s.status = SpanStatus::Error),
            ("status_message", |s| {
                s.status_message = Some("rate limited".into())
            }),
            ("error_class", |s| s.error_class = Some(ErrorClass::Model)),
            ("service", |s| s.service = Some("api".into())),
            ("provider", |s| s.provider = Some("azure".into())),
            ("request_model", |s| {
                s.request_model = Some("gpt-4o-mini".into())
            }),
            ("response_model", |s| {
                s.response_model = Some("gpt-4o-2024-08-06".into())
            }),
            ("finish_reason", |s| s.finish_reason = Some("stop".into())),
            ("ttft_ns", |s| s.time_to_first_token_ns = Some(300)),
            ("input_tokens", |s| s.usage.input = Some(101)),
            ("output_tokens", |s| s.usage.output = Some(21)),
            ("cache_read_tokens", |s| s.usage.cache_read = Some(10)),
            ("cache_write_tokens", |s| s.usage.cache_write = Some(11)),
            ("reasoning_tokens", |s| s.usage.reasoning = Some(12)),
            ("reported_cost", |s| s.reported_cost = Some(0.25)),
            ("prompt_name", |s| s.prompt_name = Some("support".into())),
            ("prompt_version", |s| s.prompt_version = Some("3".into())),
            ("tenant", |s| s.attribution.tenant = Some("globex".into())),
            ("endpoint", |s| {
                s.attribution.endpoint = Some("/chat".into())
            }),
            ("feature", |s| s.attribution.feature = Some("search".into())),
            ("user_id", |s| s.attribution.user = Some("u-1".into())),
            ("session_id", |s| s.attribution.session = Some("s-1".into())),
            ("environment", |s| {
                s.attribution.environment = Some("prod".into())
            }),
            ("release", |s| s.attribution.release = Some("1.2.0".into())),
            ("tags", |s| s.tags = vec!["beta".into()]),
            ("cost", |s| s.cost = Some(0.75)),
            ("unpriced", |s| {
                s.cost = None;
                s.unpriced = true;
            }),
        ];
        let names: Vec<&str> = changes.iter().map(|(c, _)| *c).collect();
        let merged: Vec<&str> = SPAN_MERGE.iter().map(|(c, _)| *c).collect();
        assert_eq!(names, merged, "one change per merged column");
        let columns = format!("quote({})", merged.join(") || '|' || quote("));
        // Writes one record in an import of its own: whether it was unchanged, how many spans
        // are to be priced again, the import, and the span's row (its import and columns).
        let mut write = |span: Span| {
            let tx = store.conn_mut().transaction().unwrap();
            let import = import_row(&tx);
            let span_id = span.span_id.clone();
            let mut chunks = vec![vec![PreparedSpan::new(span)]];
            let mut merged_ids = Vec::new();
            let mut months = crate::store::cost::UserMonths::default();
            let counts = upsert_chunks(
                &tx,
                &mut chunks,
                import,
                &mut merged_ids,
                &mut TraceNumbers::default(),
                &mut months,
            )
            .unwrap();
            crate::store::traces::refresh(&tx, chunks.iter().flatten()).unwrap();
            months.write(&tx).unwrap();
            let row: (i64, String) = tx
                .query_row(
                    &format!("SELECT import_id, {columns} FROM spans WHERE span_id = ?1"),
                    [&span_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            tx.commit().unwrap();
            assert_eq!(counts.new + counts.merged, 1);
            (chunks[0][0].unchanged, merged_ids.len(), import, row)
        };
        for (i, (column, change)) in changes.iter().enumerate() {
            let id = format!("{:016x}", i + 1);
            let (unchanged, _, first, stored_row) = write(stored(&id));
            assert!(!unchanged && first == stored_row.0, "{column}: new");
            // The same record again: nothing written; the row keeps the import that stored it.
            let (unchanged, repriced, _, row) = write(stored(&id));
            assert!(unchanged, "{column}: the same record again");
            assert_eq!(
                repriced, 0,
                "{column}: an unchanged span is not priced again"
            );
            assert_eq!(row, stored_row, "{column}: the same record again");
            // A record that changes this one column merges.
            let mut span = stored(&id);
            change(&mut span);
            let (unchanged, repriced, import, row) = write(span);
            assert!(!unchanged, "{column}: a change is merged");
            assert_eq!(repriced, 1, "{column}: a merged span is priced again");
            assert_eq!(
                row.0, import,
                "{column}: the row names the import that changed it"
            );
            assert_ne!(row.1, stored_row.1, "{column}: the row changed");
        }
        // The rollups and the traces' summaries count each span once, as its row now says.
        let sums: [f64; 4] = store
            .conn()
            .query_row(
                "SELECT (SELECT sum(requests) FROM cost_daily),
                    (SELECT count(*) FROM spans WHERE kind IN ('llm', 'embedding')),
                    (SELECT sum(cost) FROM cost_daily) - (SELECT sum(coalesce(cost, 0)) FROM spans),
                    (SELECT sum(input_tokens) FROM traces) - (SELECT sum(input_tokens) FROM spans)",
                [],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
            )
            .unwrap();
        assert_eq!(sums[0], sums[1]);
        assert_eq!(sums[0], changes.len() as f64);
        assert!(sums[2].abs() < 1e-9, "{sums:?}");
        assert_eq!(sums[3], 0.0);
    }

    /// A payload sent again unchanged is neither written nor queued for the full-text index;
    /// one whose text or attributes change merges and is queued, and so is one whose span
    /// changed (its trace's document holds the summary).
    #[test]
    fn a_payload_sent_again_is_indexed_again_only_when_something_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("assay.db")).unwrap();
        let record = |output: Option<&str>, tenant: &str, attribute: &str| {
            let mut s = Span::new(
                "0af7651916cd43dd8448eb211c80319c".into(),
                "00f067aa0ba902b7".into(),
                "chat".into(),
                1_000,
            );
            s.payload.input = Some("where is my order?".into());
            s.payload.output = output.map(str::to_owned);
            s.attribution.tenant = Some(tenant.into());
            s.payload
                .attributes
                .insert("http.route".into(), attribute.into());
            s
        };
        // Writes a record; returns the payloads queued for the index, and the stored payload.
        let mut write = |span: Span| {
            let tx = store.conn_mut().transaction().unwrap();
            tx.execute("DELETE FROM fts_pending", []).unwrap();
            let import = import_row(&tx);
            let mut spans = vec![PreparedSpan::new(span)];
            upsert(&tx, &mut spans, import).unwrap();
            crate::store::traces::refresh(&tx, spans.iter()).unwrap();
            let queued: i64 = tx
                .query_row("SELECT count(*) FROM fts_pending", [], |r| r.get(0))
                .unwrap();
            let stored: (Option<String>, String) = tx
                .query_row("SELECT output, attributes FROM span_payloads", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            tx.commit().unwrap();
            (queued, stored)
        };
        write(record(None, "acme", "/chat"));
        let (queued, first) = write(record(None, "acme", "/chat"));
        assert_eq!(queued, 0, "the same record again");
        let (queued, stored) = write(record(Some("on its way"), "acme", "/chat"));
        assert_eq!(queued, 1, "a new output");
        assert_eq!(stored.0.as_deref(), Some("on its way"));
        let (queued, stored) = write(record(None, "acme", "/v2/chat"));
        assert_eq!(queued, 1, "another attribute value");
        assert!(stored.1.contains("/v2/chat") && stored.1 != first.1);
        assert_eq!(
            stored.0.as_deref(),
            Some("on its way"),
            "a known output stays"
        );
        let (queued, _) = write(record(None, "globex", "/v2/chat"));
        assert_eq!(queued, 1, "another tenant: the trace's document changes");
        let (queued, _) = write(record(None, "globex", "/v2/chat"));
        assert_eq!(queued, 0, "the same record again");
    }

    /// A running import's row, for spans to belong to.
    fn import_row(conn: &rusqlite::Connection) -> i64 {
        conn.execute(
            "INSERT INTO imports (source, format, content_hash, status, spans_read, spans_new,
                 spans_merged, rejected, started_at)
             VALUES ('a.jsonl', 'otlp_jsonl', '', 'running', 0, 0, 0, 0, '')",
            [],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    fn span(trace: &str, id: &str, start_ns: i64) -> PreparedSpan {
        PreparedSpan::new(Span::new(trace.into(), id.into(), "step".into(), start_ns))
    }

    /// Writes `spans` as one batch of import `import`, in a transaction of its own, as the
    /// importer does.
    fn write_batch(
        store: &mut Store,
        import: i64,
        spans: Vec<PreparedSpan>,
        numbers: &mut TraceNumbers,
    ) -> UpsertCounts {
        let tx = store.conn_mut().transaction().unwrap();
        let mut chunks = vec![spans];
        let mut months = crate::store::cost::UserMonths::default();
        let counts = upsert_chunks(
            &tx,
            &mut chunks,
            import,
            &mut Vec::new(),
            numbers,
            &mut months,
        )
        .unwrap();
        crate::store::traces::refresh(&tx, chunks.iter().flatten()).unwrap();
        months.write(&tx).unwrap();
        tx.commit().unwrap();
        counts
    }

    /// An import that began on an empty store takes a trace it has not met for new, without a
    /// lookup; once another connection has written, it looks traces up again, so a trace that
    /// connection stored keeps one number and its spans merge rather than repeat.
    #[test]
    fn a_trace_another_connection_stored_during_an_import_keeps_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.db");
        let mut importing = Store::open(&path).unwrap();
        let mut other = Store::open(&path).unwrap();
        let first = "0af7651916cd43dd8448eb211c80319c";
        let theirs = "4bf92f3577b34da6a3ce929d0e0e4736";
        let import = import_row(importing.conn());
        let mut numbers = TraceNumbers::default();
        numbers.holds_every_stored_trace(true);
        let counts = write_batch(
            &mut importing,
            import,
            vec![span(first, "00f067aa0ba902b7", 1)],
            &mut numbers,
        );
        assert_eq!(counts.new, 1);
        // Another connection (an eval run, a second import) stores a trace in between.
        write_batch(
            &mut other,
            import,
            vec![span(theirs, "53995c3f42cd8ad8", 2)],
            &mut TraceNumbers::default(),
        );
        let counts = write_batch(
            &mut importing,
            import,
            vec![
                span(theirs, "53995c3f42cd8ad8", 2),
                span(theirs, "a2fb4a1d1a96d312", 3),
                span(first, "00f067aa0ba902b8", 4),
            ],
            &mut numbers,
        );
        assert_eq!((counts.new, counts.merged), (2, 1));
        let conn = importing.conn();
        let keys = |trace: &str| -> Vec<i64> {
            let mut stmt = conn
                .prepare("SELECT DISTINCT trace_key FROM spans WHERE trace_id = ?1")
                .unwrap();
            let rows = stmt.query_map([trace], |r| r.get(0)).unwrap();
            rows.map(Result::unwrap).collect()
        };
        let stored: i64 = conn
            .query_row(
                "SELECT search_num FROM traces WHERE trace_id = ?1",
                [theirs],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(keys(theirs), vec![stored]);
        assert_eq!(keys(first), vec![1]);
        assert_eq!(for_trace(&importing, theirs).unwrap().len(), 2);
        let traces: i64 = conn
            .query_row("SELECT count(*) FROM traces", [], |r| r.get(0))
            .unwrap();
        assert_eq!(traces, 2);
    }

    /// An import into an empty store may drop the trace ids' index until it ends: it writes a
    /// new trace's row with a plain insert and summarises a stored one again, and a connection
    /// that looks traces up by id builds the index again first.
    #[test]
    fn without_the_trace_ids_index_each_trace_still_has_one_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.db");
        let mut importing = Store::open(&path).unwrap();
        let mut other = Store::open(&path).unwrap();
        let import = import_row(importing.conn());
        let mut numbers = TraceNumbers::default();
        numbers.holds_every_stored_trace(true);
        let trace = |n: u8| format!("{n:032x}");
        let has_index = |store: &Store| -> bool {
            store
                .conn()
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'traces_id'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                == 1
        };
        {
            let tx = importing.conn_mut().transaction().unwrap();
            crate::store::traces::drop_filter_indexes(&tx).unwrap();
            tx.commit().unwrap();
        }
        assert!(!has_index(&importing));
        // Trace 2 is in both batches; trace 1 gets a span from another connection later.
        let batch = vec![
            span(&trace(1), "a000000000000001", 1),
            span(&trace(2), "a000000000000002", 2),
        ];
        write_batch(&mut importing, import, batch, &mut numbers);
        let batch = vec![
            span(&trace(2), "a000000000000003", 3),
            span(&trace(3), "a000000000000004", 4),
        ];
        write_batch(&mut importing, import, batch, &mut numbers);
        assert!(
            !has_index(&importing),
            "an import that met every trace looks none up"
        );
        let batch = vec![
            span(&trace(4), "b000000000000001", 5),
            span(&trace(1), "b000000000000002", 6),
        ];
        write_batch(&mut other, import, batch, &mut TraceNumbers::default());
        assert!(
            has_index(&other),
            "built again by the connection that looks traces up"
        );
        let batch = vec![
            span(&trace(4), "a000000000000005", 7),
            span(&trace(5), "a000000000000006", 8),
            span(&trace(1), "a000000000000007", 9),
        ];
        write_batch(&mut importing, import, batch, &mut numbers);
        crate::store::traces::ensure_filter_indexes(importing.conn()).unwrap();
        // Each trace has one row, numbered as its spans are, that counts all of them.
        let conn = importing.conn();
        let mut stmt = conn
            .prepare(
                "SELECT t.trace_id, t.span_count, (SELECT count(*) FROM spans s
                     WHERE s.trace_key = t.search_num AND s.trace_id = t.trace_id)
                 FROM traces t ORDER BY t.trace_id",
            )
            .unwrap();
        let rows: Vec<(String, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected: Vec<(String, i64, i64)> = [(1, 3), (2, 2), (3, 1), (4, 2), (5, 1)]
            .into_iter()
            .map(|(n, spans)| (trace(n), spans, spans))
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn setting_costs_looks_up_only_the_changed_spans() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("assay.db")).unwrap();
        let conn = store.conn();
        conn.execute_batch(
            "CREATE TEMP TABLE repriced (id INTEGER PRIMARY KEY, cost REAL, unpriced INTEGER)",
        )
        .unwrap();
        let steps = crate::store::query_plan(conn, SET_COSTS);
        assert!(
            steps
                .iter()
                .any(|s| s.starts_with("SEARCH spans USING INTEGER PRIMARY KEY")),
            "{steps:#?}"
        );
        assert!(
            !steps.iter().any(|s| s.starts_with("SCAN spans")),
            "{steps:#?}"
        );
    }
}
