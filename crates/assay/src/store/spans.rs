//! The `spans` and `span_payloads` tables: the write path used by every importer, and the read
//! path of one trace.
//!
//! **Invariant:** a span's identity is `(trace_id, span_id)`. Writing a span that is already
//! stored merges into it (known fields win over missing ones, attributes are merged), so
//! re-importing never double counts and a span that arrives again with more data is completed.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::Result;
use crate::model::{Attribution, Span, SpanKind, SpanPayload, SpanStatus, Usage};
use crate::store::Store;

/// What [`upsert`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertCounts {
    /// Spans that were not in the store before.
    pub new: u64,
    /// Spans that were, and were merged into.
    pub merged: u64,
}

const UPSERT_SPAN: &str = "
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status,
    status_message, service, provider, request_model, response_model, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, tenant, endpoint, feature, user_id,
    session_id, environment, release, import_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
    ?21, ?22, ?23, ?24, ?25, ?26)
ON CONFLICT (trace_id, span_id) DO UPDATE SET
    parent_span_id = coalesce(excluded.parent_span_id, parent_span_id),
    name = excluded.name,
    kind = CASE WHEN excluded.kind = 'other' THEN kind ELSE excluded.kind END,
    start_ns = excluded.start_ns,
    end_ns = coalesce(excluded.end_ns, end_ns),
    status = CASE WHEN excluded.status = 'unset' THEN status ELSE excluded.status END,
    status_message = coalesce(excluded.status_message, status_message),
    service = coalesce(excluded.service, service),
    provider = coalesce(excluded.provider, provider),
    request_model = coalesce(excluded.request_model, request_model),
    response_model = coalesce(excluded.response_model, response_model),
    input_tokens = coalesce(excluded.input_tokens, input_tokens),
    output_tokens = coalesce(excluded.output_tokens, output_tokens),
    cache_read_tokens = coalesce(excluded.cache_read_tokens, cache_read_tokens),
    cache_write_tokens = coalesce(excluded.cache_write_tokens, cache_write_tokens),
    reasoning_tokens = coalesce(excluded.reasoning_tokens, reasoning_tokens),
    tenant = coalesce(excluded.tenant, tenant),
    endpoint = coalesce(excluded.endpoint, endpoint),
    feature = coalesce(excluded.feature, feature),
    user_id = coalesce(excluded.user_id, user_id),
    session_id = coalesce(excluded.session_id, session_id),
    environment = coalesce(excluded.environment, environment),
    release = coalesce(excluded.release, release),
    import_id = excluded.import_id";

const UPSERT_PAYLOAD: &str = "
INSERT INTO span_payloads (trace_id, span_id, input, output, attributes)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (trace_id, span_id) DO UPDATE SET
    input = coalesce(excluded.input, input),
    output = coalesce(excluded.output, output),
    attributes = json_patch(attributes, excluded.attributes)";

/// Writes `spans` inside `tx`, merging into any already stored. Returns what was new and what merged.
pub fn upsert(tx: &Transaction<'_>, spans: &[Span], import_id: i64) -> Result<UpsertCounts> {
    let mut exists =
        tx.prepare_cached("SELECT 1 FROM spans WHERE trace_id = ?1 AND span_id = ?2")?;
    let mut span_stmt = tx.prepare_cached(UPSERT_SPAN)?;
    let mut payload_stmt = tx.prepare_cached(UPSERT_PAYLOAD)?;
    let mut counts = UpsertCounts::default();
    for s in spans {
        let known = exists
            .query_row(params![s.trace_id, s.span_id], |_| Ok(()))
            .optional()?
            .is_some();
        if known {
            counts.merged += 1;
        } else {
            counts.new += 1;
        }
        let a = &s.attribution;
        span_stmt.execute(params![
            s.trace_id,
            s.span_id,
            s.parent_span_id,
            s.name,
            s.kind.as_str(),
            s.start_ns,
            s.end_ns,
            s.status.as_str(),
            s.status_message,
            s.service,
            s.provider,
            s.request_model,
            s.response_model,
            s.usage.input,
            s.usage.output,
            s.usage.cache_read,
            s.usage.cache_write,
            s.usage.reasoning,
            a.tenant,
            a.endpoint,
            a.feature,
            a.user,
            a.session,
            a.environment,
            a.release,
            import_id,
        ])?;
        let attributes = serde_json::Value::Object(s.payload.attributes.clone()).to_string();
        payload_stmt.execute(params![
            s.trace_id,
            s.span_id,
            s.payload.input,
            s.payload.output,
            attributes
        ])?;
    }
    Ok(counts)
}

/// Every span of a trace, ordered by start time, with payloads. Empty when the trace is unknown.
pub fn for_trace(store: &Store, trace_id: &str) -> Result<Vec<Span>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_ns, s.end_ns,
                s.status, s.status_message, s.service, s.provider, s.request_model,
                s.response_model, s.input_tokens, s.output_tokens, s.cache_read_tokens,
                s.cache_write_tokens, s.reasoning_tokens, s.tenant, s.endpoint, s.feature,
                s.user_id, s.session_id, s.environment, s.release,
                p.input, p.output, p.attributes
         FROM spans s LEFT JOIN span_payloads p USING (trace_id, span_id)
         WHERE s.trace_id = ?1
         ORDER BY s.start_ns, s.span_id",
    )?;
    let rows = stmt.query_map([trace_id], |r| {
        let kind: String = r.get(4)?;
        let status: String = r.get(7)?;
        let attributes: Option<String> = r.get(27)?;
        Ok(Span {
            trace_id: r.get(0)?,
            span_id: r.get(1)?,
            parent_span_id: r.get(2)?,
            name: r.get(3)?,
            kind: SpanKind::parse(&kind),
            start_ns: r.get(5)?,
            end_ns: r.get(6)?,
            status: SpanStatus::parse(&status),
            status_message: r.get(8)?,
            service: r.get(9)?,
            provider: r.get(10)?,
            request_model: r.get(11)?,
            response_model: r.get(12)?,
            usage: Usage {
                input: r.get(13)?,
                output: r.get(14)?,
                cache_read: r.get(15)?,
                cache_write: r.get(16)?,
                reasoning: r.get(17)?,
            },
            attribution: Attribution {
                tenant: r.get(18)?,
                endpoint: r.get(19)?,
                feature: r.get(20)?,
                user: r.get(21)?,
                session: r.get(22)?,
                environment: r.get(23)?,
                release: r.get(24)?,
            },
            payload: SpanPayload {
                input: r.get(25)?,
                output: r.get(26)?,
                attributes: attributes
                    .and_then(|a| serde_json::from_str(&a).ok())
                    .unwrap_or_default(),
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many spans the store holds.
pub fn count(store: &Store) -> Result<i64> {
    Ok(store
        .conn()
        .query_row("SELECT count(*) FROM spans", [], |r| r.get(0))?)
}
