//! The `traces` table: one summary row per trace, derived from its spans.
//!
//! **Invariant:** a trace row is always the aggregate of its stored spans. Every write path that
//! touches spans calls [`refresh`] for the traces it touched, in the same transaction, so the
//! trace list never has to aggregate raw spans.

use rusqlite::Transaction;

use crate::error::Result;
use crate::model::{Span, SpanKind, SpanStatus};
use crate::store::bindings::Param;
use crate::store::spans::PreparedSpan;
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
    /// Tenant.
    pub tenant: Option<String>,
    /// Endpoint.
    pub endpoint: Option<String>,
    /// Environment.
    pub environment: Option<String>,
}

/// Recomputes the summary rows of every trace listed in the temporary table `touched`, in one
/// statement: one pass over those traces' spans (by primary key), not one query per trace.
const REFRESH: &str = "
INSERT OR REPLACE INTO traces (trace_id, name, service, start_ns, end_ns, span_count, error_count,
    status, models, input_tokens, output_tokens, tenant, endpoint, feature, user_id, session_id,
    environment, search_num)
SELECT g.trace_id,
    coalesce(root.name, ''),
    coalesce(root.service, g.any_service),
    g.start_ns, g.end_ns, g.span_count, g.error_count, g.status,
    coalesce((SELECT group_concat(model, char(31)) FROM (
        SELECT DISTINCT coalesce(m.request_model, m.response_model) AS model FROM spans m
        WHERE m.trace_key = g.trace_key AND coalesce(m.request_model, m.response_model) IS NOT NULL
        ORDER BY model)), ''),
    g.input_tokens, g.output_tokens, g.tenant, g.endpoint, g.feature, g.user_id, g.session_id,
    g.environment,
    g.trace_key
FROM (
    SELECT s.trace_key, min(s.trace_id) AS trace_id,
        max(s.service) AS any_service,
        min(s.start_ns) AS start_ns,
        max(coalesce(s.end_ns, s.start_ns)) AS end_ns,
        count(*) AS span_count,
        sum(s.status = 'error') AS error_count,
        CASE WHEN sum(s.status = 'error') > 0 THEN 'error'
             WHEN sum(s.status = 'ok') > 0 THEN 'ok' ELSE 'unset' END AS status,
        coalesce(sum(s.input_tokens) FILTER (WHERE s.duplicate_of IS NULL), 0) AS input_tokens,
        coalesce(sum(s.output_tokens) FILTER (WHERE s.duplicate_of IS NULL), 0) AS output_tokens,
        max(s.tenant) AS tenant, max(s.endpoint) AS endpoint, max(s.feature) AS feature,
        max(s.user_id) AS user_id, max(s.session_id) AS session_id,
        max(s.environment) AS environment
    -- CROSS JOIN keeps `touched` outside: the planner, knowing nothing of the temporary table,
    -- would otherwise walk the whole `(trace_key, span_id)` index in GROUP BY order and probe
    -- `touched` per span, a cost that grows with the store instead of with the batch.
    FROM touched t CROSS JOIN spans s ON s.trace_key = t.trace_key
    GROUP BY s.trace_key
) AS g
LEFT JOIN spans root ON root.trace_key = g.trace_key AND root.span_id = (
    SELECT r.span_id FROM spans r
    WHERE r.trace_key = g.trace_key
      AND (r.parent_span_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM spans p WHERE p.trace_key = r.trace_key AND p.span_id = r.parent_span_id))
    ORDER BY (r.parent_span_id IS NOT NULL), r.start_ns, r.span_id
    LIMIT 1)";

/// Marks spans that record the same model call as an earlier sibling (two instrumentations of
/// one request, e.g. a provider SDK's own span beside OpenLLMetry's): same parent, both llm,
/// same provider and input tokens, output tokens within one, overlapping in time. The earliest
/// (by start, then id) stays primary; the others point at it and are not counted again.
const MARK_DUPLICATES: &str = "
UPDATE spans SET duplicate_of = (
    SELECT o.span_id FROM spans o
    WHERE o.trace_key = spans.trace_key
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
WHERE trace_key = ?1 AND kind = 'llm' AND input_tokens IS NOT NULL";

/// What [`refresh`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RefreshCounts {
    /// Traces the spans belong to.
    pub traces: usize,
    /// Of those, traces whose row was computed again from their stored spans (the trace was
    /// stored already, or the batch may hold a duplicate call): each rewrites its row.
    pub recomputed: usize,
}

/// Marks duplicate model calls and recomputes the summary rows of the traces `spans` belong to.
///
/// Duplicates are looked for only where one can be: traces whose batch holds two model calls
/// with the same parent, provider and input tokens, or traces that were already stored (a
/// duplicate may pair with a span imported earlier).
///
/// `spans` are grouped by their trace's number, so they must have been written by
/// [`upsert`](crate::store::spans::upsert) first (which sets it).
pub fn refresh<'s>(
    tx: &Transaction<'_>,
    spans: impl IntoIterator<Item = &'s PreparedSpan>,
) -> Result<RefreshCounts> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS touched (trace_key INTEGER PRIMARY KEY);
         DELETE FROM touched;",
    )?;
    // Per trace (by its number): its spans in the batch, its id, and whether it is new.
    let mut by_trace: rustc_hash::FxHashMap<i64, (Vec<&Span>, &str, bool)> = Default::default();
    // A span sent again unchanged changes nothing in its trace (a stored span's trace has its
    // row already).
    for p in spans.into_iter().filter(|p| !p.unchanged) {
        debug_assert_ne!(p.trace_key, 0, "refresh before upsert");
        let entry = by_trace
            .entry(p.trace_key)
            .or_insert_with(|| (Vec::new(), p.span.trace_id.as_str(), p.trace_is_new));
        entry.0.push(&p.span);
    }
    let mut touch = tx.prepare_cached("INSERT OR IGNORE INTO touched (trace_key) VALUES (?1)")?;
    let mut duplicates = tx.prepare_cached(MARK_DUPLICATES)?;
    let mut insert = tx.prepare_cached(INSERT_SUMMARY)?;
    let mut counts = RefreshCounts {
        traces: by_trace.len(),
        recomputed: 0,
    };
    // In order of their numbers, so new trace rows append to the table.
    let mut by_trace: Vec<_> = by_trace.into_iter().collect();
    by_trace.sort_unstable_by_key(|(number, _)| *number);
    for (number, (spans, trace, is_new)) in by_trace {
        let mut keys = rustc_hash::FxHashSet::default();
        let mut ids = rustc_hash::FxHashSet::default();
        let mut candidate = false;
        let mut model_calls = false;
        let mut repeated = false;
        for s in &spans {
            repeated |= !ids.insert(s.span_id.as_str());
            if let (SpanKind::Llm, Some(input)) = (s.kind, s.usage.input) {
                model_calls = true;
                candidate |=
                    !keys.insert((s.parent_span_id.as_deref(), s.provider.as_deref(), input));
            }
        }
        if is_new && !candidate && !repeated {
            // A new trace is whole in this batch: when nothing in it can be a duplicate, its
            // summary is computed here, without reading the spans back.
            let t = summarise(&spans, &ids);
            let models = t.models.join("\u{1f}");
            let values: [Param; 18] = [
                trace.into(),
                (&t.name).into(),
                (&t.service).into(),
                t.start_ns.into(),
                t.end_ns.into(),
                t.span_count.into(),
                t.error_count.into(),
                t.status.into(),
                (&models).into(),
                t.input_tokens.into(),
                t.output_tokens.into(),
                (&t.tenant).into(),
                (&t.endpoint).into(),
                (&t.feature).into(),
                (&t.user_id).into(),
                (&t.session_id).into(),
                (&t.environment).into(),
                number.into(),
            ];
            insert.execute(rusqlite::params_from_iter(values))?;
            continue;
        }
        if model_calls {
            duplicates.execute([number])?;
        }
        touch.execute([number])?;
        counts.recomputed += 1;
    }
    if counts.recomputed > 0 {
        tx.execute(REFRESH, [])?;
    }
    Ok(counts)
}

const INSERT_SUMMARY: &str = "
INSERT INTO traces (trace_id, name, service, start_ns, end_ns, span_count, error_count,
    status, models, input_tokens, output_tokens, tenant, endpoint, feature, user_id, session_id,
    environment, search_num)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

/// A trace's summary from all of its spans, with exactly the meaning of [`REFRESH`].
struct Summary {
    name: String,
    service: Option<String>,
    start_ns: i64,
    end_ns: i64,
    span_count: i64,
    error_count: i64,
    status: &'static str,
    models: Vec<String>,
    input_tokens: i64,
    output_tokens: i64,
    tenant: Option<String>,
    endpoint: Option<String>,
    feature: Option<String>,
    user_id: Option<String>,
    session_id: Option<String>,
    environment: Option<String>,
}

fn summarise(spans: &[&Span], ids: &rustc_hash::FxHashSet<&str>) -> Summary {
    let root = spans
        .iter()
        .filter(|s| s.parent_span_id.as_deref().is_none_or(|p| !ids.contains(p)))
        .min_by(|a, b| {
            (a.parent_span_id.is_some(), a.start_ns, &a.span_id).cmp(&(
                b.parent_span_id.is_some(),
                b.start_ns,
                &b.span_id,
            ))
        });
    let max_of = |f: fn(&Span) -> Option<&String>| spans.iter().filter_map(|s| f(s)).max().cloned();
    let errors = spans
        .iter()
        .filter(|s| s.status == SpanStatus::Error)
        .count() as i64;
    let oks = spans.iter().filter(|s| s.status == SpanStatus::Ok).count();
    let mut models: Vec<String> = spans
        .iter()
        .filter_map(|s| {
            s.request_model
                .as_ref()
                .or(s.response_model.as_ref())
                .cloned()
        })
        .collect();
    models.sort();
    models.dedup();
    let counted = spans.iter().filter(|s| s.duplicate_of.is_none());
    Summary {
        name: root.map(|r| r.name.clone()).unwrap_or_default(),
        service: root
            .and_then(|r| r.service.clone())
            .or_else(|| max_of(|s| s.service.as_ref())),
        start_ns: spans.iter().map(|s| s.start_ns).min().unwrap_or(0),
        end_ns: spans
            .iter()
            .map(|s| s.end_ns.unwrap_or(s.start_ns))
            .max()
            .unwrap_or(0),
        span_count: spans.len() as i64,
        error_count: errors,
        status: if errors > 0 {
            "error"
        } else if oks > 0 {
            "ok"
        } else {
            "unset"
        },
        models,
        input_tokens: counted.clone().filter_map(|s| s.usage.input).sum(),
        output_tokens: counted.filter_map(|s| s.usage.output).sum(),
        tenant: max_of(|s| s.attribution.tenant.as_ref()),
        endpoint: max_of(|s| s.attribution.endpoint.as_ref()),
        feature: max_of(|s| s.attribution.feature.as_ref()),
        user_id: max_of(|s| s.attribution.user.as_ref()),
        session_id: max_of(|s| s.attribution.session.as_ref()),
        environment: max_of(|s| s.attribution.environment.as_ref()),
    }
}

/// The trace list's filter and sort indexes. Imports keep them up to date row by row (new traces
/// land at the newest end of each key's range), except a record stream into an empty store
/// whose writer is the slower stage, which drops them and builds them once at its end (see
/// `import::IndexPlan`). Building them again over a store that already holds a month would cost
/// more than keeping them. [`ensure_filter_indexes`] runs at every open too, so an import
/// killed in between, or a new index, is built then.
const FILTER_INDEXES: &[(&str, &str)] = &[
    // In the list's own order (newest first, then `search_num`, the rowid every index ends
    // with), so a filtered page stops after its rows; a text search within a filter is counted
    // from the index, which holds `search_num`.
    ("traces_by_tenant", "traces(tenant, start_ns DESC)"),
    ("traces_by_endpoint", "traces(endpoint, start_ns DESC)"),
    ("traces_by_status", "traces(status, start_ns DESC)"),
    (
        "traces_by_environment",
        "traces(environment, start_ns DESC)",
    ),
    // Covers the filter values (facets: every combination of the four, counted in one pass)
    // and the model filter's count (a check of each model list).
    (
        "traces_facets",
        "traces(tenant, endpoint, environment, models, start_ns)",
    ),
    // The keys of the other sorts beside the document number: a page sorted by one of them is
    // chosen from this index alone (see `list`). Document numbers grow with imports, so rows
    // are appended to it. (A text search's matches are looked up by rowid in the table, which
    // SQLite prefers to this index.)
    (
        "traces_search_sorts",
        "traces(search_num, end_ns, start_ns, input_tokens, output_tokens, span_count)",
    ),
];

/// The trace ids' index, which an import drops with the filter indexes: new traces' ids are
/// random, so each lands on a page of its own, while an import knows which traces are new
/// without it (their numbers are its new rows).
const IDENTITY_INDEX: (&str, &str) = ("traces_id", "traces(trace_id)");

/// Drops the filter indexes (see [`FILTER_INDEXES`]) and the trace ids' index.
pub fn drop_filter_indexes(tx: &Transaction<'_>) -> Result<()> {
    for (name, _) in FILTER_INDEXES {
        tx.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    tx.execute_batch(&format!("DROP INDEX IF EXISTS {}", IDENTITY_INDEX.0))?;
    Ok(())
}

/// Creates the trace ids' index if it is missing.
pub fn ensure_identity_index(conn: &rusqlite::Connection) -> Result<()> {
    let (name, on) = IDENTITY_INDEX;
    conn.execute_batch(&format!("CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {on}"))?;
    Ok(())
}

/// Creates any missing filter index, and the trace ids' index.
pub fn ensure_filter_indexes(conn: &rusqlite::Connection) -> Result<()> {
    ensure_identity_index(conn)?;
    for (name, on) in FILTER_INDEXES {
        conn.execute_batch(&format!("CREATE INDEX IF NOT EXISTS {name} ON {on}"))?;
    }
    Ok(())
}

/// How the trace list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TraceSort {
    /// Latest start first.
    #[default]
    Newest,
    /// Earliest start first.
    Oldest,
    /// Longest duration first.
    Slowest,
    /// Most tokens (input + output) first.
    MostTokens,
    /// Most spans first.
    MostSpans,
}

impl TraceSort {
    /// Parses a sort name (`newest`, `oldest`, `slowest`, `most_tokens`, `most_spans`).
    pub fn parse(s: &str) -> Option<TraceSort> {
        Some(match s {
            "newest" => TraceSort::Newest,
            "oldest" => TraceSort::Oldest,
            "slowest" => TraceSort::Slowest,
            "most_tokens" => TraceSort::MostTokens,
            "most_spans" => TraceSort::MostSpans,
            _ => return None,
        })
    }

    /// Every order is total: ties break by start (newest first), then by `search_num` (the
    /// order of import), which every index holds.
    fn order_by(self) -> &'static str {
        match self {
            TraceSort::Newest => "start_ns DESC, search_num",
            // The reverse of Newest, so the same indexes serve both.
            TraceSort::Oldest => "start_ns ASC, search_num DESC",
            TraceSort::Slowest => "end_ns - start_ns DESC, start_ns DESC, search_num",
            TraceSort::MostTokens => "input_tokens + output_tokens DESC, start_ns DESC, search_num",
            TraceSort::MostSpans => "span_count DESC, start_ns DESC, search_num",
        }
    }
}

/// A filter over the trace list. Every field is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct TraceFilter {
    /// Free text: words (case-insensitive) found together in a trace's root name, service,
    /// models and its spans' inputs and outputs (the full-text index), or the start of a trace
    /// id (4 to 32 hex digits).
    pub search: Option<String>,
    /// Start at or after (ns since epoch).
    pub since_ns: Option<i64>,
    /// Start before (ns since epoch).
    pub until_ns: Option<i64>,
    /// Exact tenant.
    pub tenant: Option<String>,
    /// Exact endpoint.
    pub endpoint: Option<String>,
    /// A model in the trace's model list.
    pub model: Option<String>,
    /// `ok`, `error` or `unset`.
    pub status: Option<String>,
    /// Exact environment.
    pub environment: Option<String>,
    /// Order.
    pub sort: TraceSort,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl TraceFilter {
    /// Whether a key with its own list index (tenant, endpoint, status, environment) is set.
    fn has_key_filter(&self) -> bool {
        self.tenant.is_some()
            || self.endpoint.is_some()
            || self.status.is_some()
            || self.environment.is_some()
    }

    /// Whether nothing but the search narrows the list.
    fn is_search_only(&self) -> bool {
        self.since_ns.is_none()
            && self.until_ns.is_none()
            && self.model.is_none()
            && !self.has_key_filter()
    }
}

/// How a WHERE clause checks a trace against the full-text matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchCheck {
    /// `search_num IN (matches)`: each match looked up by its number (the rowid).
    Set,
    /// `+search_num IN (matches)`: the matches as a set, checked along another index (a key
    /// filter's, which holds `search_num`).
    Scan,
    /// One index probe per trace, along the time order: for the first page of a search that
    /// matches many traces (building the set of all matches would cost more).
    PerRow,
}

/// Builds the WHERE clause and its parameters for a filter.
fn where_clause(
    filter: &TraceFilter,
    search: SearchCheck,
) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as V;
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<V> = Vec::new();
    let mut push = |clause: &str, value: V, params: &mut Vec<V>| {
        params.push(value);
        clauses.push(clause.replace('?', &format!("?{}", params.len())));
    };
    if let Some(v) = filter.since_ns {
        push("start_ns >= ?", V::Integer(v), &mut params);
    }
    if let Some(v) = filter.until_ns {
        push("start_ns < ?", V::Integer(v), &mut params);
    }
    for (column, value) in [
        ("tenant", &filter.tenant),
        ("endpoint", &filter.endpoint),
        ("environment", &filter.environment),
        ("status", &filter.status),
    ] {
        if let Some(v) = value {
            push(&format!("{column} = ?"), V::Text(v.clone()), &mut params);
        }
    }
    if let Some(m) = &filter.model {
        // The list is char(31)-separated: match one whole element.
        push(
            "instr(char(31) || models || char(31), char(31) || ? || char(31)) > 0",
            V::Text(m.clone()),
            &mut params,
        );
    }
    if let Some(text) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        // Words through the full-text index (by trace: see `store::search`), and a hex prefix
        // also as the start of a trace id (a range of the primary key).
        let mut alternatives = Vec::new();
        if let Some(fts) = fts_query(text) {
            params.push(V::Text(fts));
            let n = params.len();
            alternatives.push(match search {
                SearchCheck::Set => format!(
                    "search_num IN (SELECT rowid FROM trace_text WHERE trace_text MATCH ?{n})"
                ),
                SearchCheck::Scan => format!(
                    "+search_num IN (SELECT rowid FROM trace_text WHERE trace_text MATCH ?{n})"
                ),
                SearchCheck::PerRow => format!(
                    "EXISTS (SELECT 1 FROM trace_text WHERE trace_text MATCH ?{n} AND rowid = traces.search_num)"
                ),
            });
        }
        if looks_like_trace_id(text) {
            let id = text.to_ascii_lowercase();
            params.push(V::Text(format!("{id}~")));
            params.push(V::Text(id));
            let n = params.len();
            alternatives.push(format!("(trace_id >= ?{n} AND trace_id < ?{})", n - 1));
        }
        clauses.push(if alternatives.is_empty() {
            "0".to_owned()
        } else {
            format!("({})", alternatives.join(" OR "))
        });
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, params)
}

/// Whether a search could be the start of a trace id (4 to 32 hex digits).
fn looks_like_trace_id(text: &str) -> bool {
    (4..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Turns free text into an FTS5 query that matches documents holding every word (each word
/// quoted, so no character of the input is FTS syntax). `None` when there is no word.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// One page of traces and the number of traces matching the filter.
pub fn list(store: &Store, filter: &TraceFilter) -> Result<(Vec<TraceRow>, i64)> {
    let conn = store.conn();
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let words = search.and_then(fts_query);
    let only_words =
        filter.is_search_only() && words.is_some() && !search.is_some_and(looks_like_trace_id);
    let total: i64 = if let (true, Some(words)) = (only_words, &words) {
        // Every document is one trace's: the index counts them alone.
        conn.prepare_cached("SELECT count(*) FROM trace_text WHERE trace_text MATCH ?1")?
            .query_row([words], |r| r.get(0))?
    } else {
        // With a key filter, its covering index (which holds `search_num`) counts the matches.
        let (where_sql, params) = where_clause(
            filter,
            if filter.has_key_filter() {
                SearchCheck::Scan
            } else {
                SearchCheck::Set
            },
        );
        conn.query_row(
            &format!("SELECT count(*) FROM traces {where_sql}"),
            rusqlite::params_from_iter(params.iter()),
            |r| r.get(0),
        )?
    };
    // Many matches and a time order: walk the time index and check each trace (50 hits come
    // within a few hundred rows). Few matches, or another order: look the matches up.
    let time_ordered = matches!(filter.sort, TraceSort::Newest | TraceSort::Oldest);
    let by_scan = words.is_some()
        && time_ordered
        && total > 2_000 * (filter.offset + filter.limit).max(50) / 50;
    let (where_sql, mut params) = where_clause(
        filter,
        if by_scan {
            SearchCheck::PerRow
        } else {
            SearchCheck::Set
        },
    );
    params.push(rusqlite::types::Value::Integer(filter.limit));
    params.push(rusqlite::types::Value::Integer(filter.offset));
    let n = params.len();
    let order = filter.sort.order_by();
    // Sorted by another key than time, the page's trace numbers are chosen first (from
    // `traces_search_sorts`, which holds the sort keys, unless a key filter needs the rows),
    // then only the page's rows are read: reading every candidate row to sort it costs several
    // times more.
    let source = if time_ordered {
        format!("traces {where_sql}")
    } else {
        format!(
            "traces WHERE search_num IN (SELECT search_num FROM traces {where_sql}
                 ORDER BY {order} LIMIT ?{} OFFSET ?{n})",
            n - 1
        )
    };
    let page = if time_ordered {
        format!("LIMIT ?{} OFFSET ?{n}", n - 1)
    } else {
        String::new()
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT trace_id, name, service, start_ns, end_ns, span_count, error_count, status, models,
                input_tokens, output_tokens, tenant, endpoint, environment
         FROM {source} ORDER BY {order} {page}"
    ))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
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
                models: split_models(&models),
                input_tokens: r.get(9)?,
                output_tokens: r.get(10)?,
                tenant: r.get(11)?,
                endpoint: r.get(12)?,
                environment: r.get(13)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

fn split_models(models: &str) -> Vec<String> {
    models
        .split('\u{1f}')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Values of one filterable column with their trace counts, most frequent first.
pub type FacetValues = Vec<(String, i64)>;

/// The distinct values of each filterable column.
#[derive(Debug, Default)]
pub struct Facets {
    /// Tenants.
    pub tenants: FacetValues,
    /// Endpoints.
    pub endpoints: FacetValues,
    /// Environments.
    pub environments: FacetValues,
    /// Models.
    pub models: FacetValues,
}

/// Distinct values of the filterable columns, with trace counts, most frequent first.
pub fn facets(store: &Store, since_ns: Option<i64>, until_ns: Option<i64>) -> Result<Facets> {
    let filter = TraceFilter {
        since_ns,
        until_ns,
        ..TraceFilter::default()
    };
    let (where_sql, params) = where_clause(&filter, SearchCheck::Set);
    // One pass over `traces_facets` for the four facets: each combination of the four values
    // once with its count, summed per value here. `+start_ns` keeps the planner off the time
    // index, so a time range is checked along the same pass.
    let where_sql = where_sql.replace("start_ns", "+start_ns");
    let mut stmt = store.conn().prepare_cached(&format!(
        "SELECT tenant, endpoint, environment, models, count(*) FROM traces {where_sql}
         GROUP BY tenant, endpoint, environment, models"
    ))?;
    let mut counts: [std::collections::HashMap<String, i64>; 4] = Default::default();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    while let Some(row) = rows.next()? {
        let n: i64 = row.get(4)?;
        for (column, values) in counts.iter_mut().take(3).enumerate() {
            if let Some(value) = row.get::<_, Option<String>>(column)? {
                *values.entry(value).or_default() += n;
            }
        }
        // Model lists are few distinct combinations: split and sum them here.
        for model in split_models(&row.get::<_, String>(3)?) {
            *counts[3].entry(model).or_default() += n;
        }
    }
    let [tenants, endpoints, environments, models] = counts.map(|values| {
        let mut values: Vec<(String, i64)> = values.into_iter().collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        values.truncate(200);
        values
    });
    Ok(Facets {
        tenants,
        endpoints,
        environments,
        models,
    })
}

/// How many traces the store holds.
pub fn count(store: &Store) -> Result<i64> {
    Ok(store
        .conn()
        .query_row("SELECT count(*) FROM traces", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshing_touched_traces_reads_only_their_spans() {
        // Walking the spans in GROUP BY order and probing `touched` costs a pass over every
        // stored span per batch, so importing into a large store slowed down with its size.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("assay.db")).unwrap();
        store
            .conn()
            .execute_batch("CREATE TEMP TABLE touched (trace_key INTEGER PRIMARY KEY)")
            .unwrap();
        let steps = crate::store::query_plan(store.conn(), REFRESH);
        let spans = steps
            .iter()
            .position(|s| s.starts_with("SEARCH s USING INDEX"))
            .unwrap_or_else(|| panic!("spans are not searched by trace: {steps:#?}"));
        let touched = steps
            .iter()
            .position(|s| s == "SCAN t")
            .unwrap_or_else(|| panic!("touched is not the outer loop: {steps:#?}"));
        assert!(touched < spans, "{steps:#?}");
        assert!(!steps.iter().any(|s| s.starts_with("SCAN s")), "{steps:#?}");
    }
}
