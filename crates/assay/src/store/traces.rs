//! The `traces` table: one summary row per trace, derived from its spans.
//!
//! **Invariant:** a trace row is always the aggregate of its stored spans. Every write path that
//! touches spans calls [`refresh`] for the traces it touched, in the same transaction, so the
//! trace list never has to aggregate raw spans.

use rusqlite::{params, Transaction};

use crate::error::Result;
use crate::store::Store;

/// A trace's summary row.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// Lowercase hex trace id.
    pub trace_id: String,
    /// The root span's name (the earliest root, or the earliest orphan when the root is missing).
    pub name: String,
    /// The root span's service.
    pub service: Option<String>,
    /// Earliest span start (ns since epoch).
    pub start_ns: i64,
    /// Latest span end (ns since epoch).
    pub end_ns: i64,
    /// Number of spans.
    pub span_count: i64,
    /// Number of spans with error status.
    pub error_count: i64,
    /// `error` if any span failed, else `ok` if any succeeded, else `unset`.
    pub status: String,
    /// Distinct models asked for, sorted.
    pub models: Vec<String>,
    /// Sum of input tokens over the trace's spans.
    pub input_tokens: i64,
    /// Sum of output tokens over the trace's spans.
    pub output_tokens: i64,
}

const REFRESH: &str = "
WITH trace_spans AS (SELECT * FROM spans WHERE trace_id = ?1),
roots AS (
    SELECT name, service FROM trace_spans r
    WHERE r.parent_span_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM trace_spans p WHERE p.span_id = r.parent_span_id)
    ORDER BY (r.parent_span_id IS NOT NULL), r.start_ns
    LIMIT 1
),
models AS (
    SELECT DISTINCT coalesce(request_model, response_model) AS model FROM trace_spans
    WHERE coalesce(request_model, response_model) IS NOT NULL ORDER BY model
)
INSERT OR REPLACE INTO traces (trace_id, name, service, start_ns, end_ns, span_count, error_count,
    status, models, input_tokens, output_tokens, tenant, endpoint, feature, user_id, session_id,
    environment)
SELECT ?1,
    coalesce((SELECT name FROM roots), ''),
    coalesce((SELECT service FROM roots), max(service)),
    min(start_ns),
    max(coalesce(end_ns, start_ns)),
    count(*),
    sum(status = 'error'),
    CASE WHEN sum(status = 'error') > 0 THEN 'error'
         WHEN sum(status = 'ok') > 0 THEN 'ok' ELSE 'unset' END,
    coalesce((SELECT group_concat(model, char(31)) FROM models), ''),
    coalesce(sum(input_tokens) FILTER (WHERE duplicate_of IS NULL), 0),
    coalesce(sum(output_tokens) FILTER (WHERE duplicate_of IS NULL), 0),
    max(tenant), max(endpoint), max(feature), max(user_id), max(session_id), max(environment)
FROM trace_spans
HAVING count(*) > 0";

/// Marks spans that record the same model call as an earlier sibling (two instrumentations of
/// one request, e.g. a provider SDK's own span beside OpenLLMetry's): same parent, both llm,
/// same provider and input tokens, output tokens within one, overlapping in time. The earliest
/// (by start, then id) stays primary; the others point at it and are not counted again.
const MARK_DUPLICATES: &str = "
UPDATE spans SET duplicate_of = (
    SELECT o.span_id FROM spans o
    WHERE o.trace_id = spans.trace_id
      AND o.span_id <> spans.span_id
      AND o.kind = 'llm'
      AND o.parent_span_id IS spans.parent_span_id
      AND o.provider IS spans.provider
      AND o.input_tokens = spans.input_tokens
      AND abs(coalesce(o.output_tokens, 0) - coalesce(spans.output_tokens, 0)) <= 1
      AND o.start_ns < coalesce(spans.end_ns, spans.start_ns)
      AND spans.start_ns < coalesce(o.end_ns, o.start_ns)
      AND (o.start_ns, o.span_id) < (spans.start_ns, spans.span_id)
    ORDER BY o.start_ns, o.span_id
    LIMIT 1
)
WHERE trace_id = ?1 AND kind = 'llm' AND input_tokens IS NOT NULL";

/// Marks duplicate model calls and recomputes the summary rows of `trace_ids` from their spans.
pub fn refresh<'a>(
    tx: &Transaction<'_>,
    trace_ids: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut duplicates = tx.prepare_cached(MARK_DUPLICATES)?;
    let mut stmt = tx.prepare_cached(REFRESH)?;
    for id in trace_ids {
        duplicates.execute([id])?;
        stmt.execute([id])?;
    }
    Ok(())
}

/// A filter over the trace list.
#[derive(Debug, Clone, Default)]
pub struct TraceFilter {
    /// Case-insensitive substring of the trace id, root name, service or a model.
    pub search: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// One page of traces, newest first, and the number of traces matching the filter.
pub fn list(store: &Store, filter: &TraceFilter) -> Result<(Vec<TraceRow>, i64)> {
    let pattern = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
    const WHERE: &str =
        "WHERE ?1 IS NULL OR trace_id LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\'
        OR service LIKE ?1 ESCAPE '\\' OR models LIKE ?1 ESCAPE '\\'";
    let conn = store.conn();
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM traces {WHERE}"),
        [&pattern],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT trace_id, name, service, start_ns, end_ns, span_count, error_count, status, models,
                input_tokens, output_tokens
         FROM traces {WHERE} ORDER BY start_ns DESC, trace_id LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map(params![pattern, filter.limit, filter.offset], |r| {
            let models: String = r.get(8)?;
            Ok(TraceRow {
                trace_id: r.get(0)?,
                name: r.get(1)?,
                service: r.get(2)?,
                start_ns: r.get(3)?,
                end_ns: r.get(4)?,
                span_count: r.get(5)?,
                error_count: r.get(6)?,
                status: r.get(7)?,
                models: models
                    .split('\u{1f}')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
                input_tokens: r.get(9)?,
                output_tokens: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// How many traces the store holds.
pub fn count(store: &Store) -> Result<i64> {
    Ok(store
        .conn()
        .query_row("SELECT count(*) FROM traces", [], |r| r.get(0))?)
}
