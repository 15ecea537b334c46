//! The full-text index (`trace_text`, FTS5): one document per trace, holding the trace's name,
//! service and models, and the inputs and outputs of all its spans. Its rowid is the trace's
//! `traces.search_num` (the smallest id of its spans, set when the trace row is written), so a
//! search answers with numbers the trace list filters on directly: even a word found in every
//! tenth trace is counted and paged without looking up a single span, and indexing never writes
//! to `traces`.
//!
//! **Invariant:** every payload with an id above `search_state.indexed_up_to`, and every payload
//! listed in `fts_pending` (merged after it was indexed), is not yet searchable; the document of
//! every other payload's trace holds its text. [`index_pending`] rebuilds the documents of the
//! traces those payloads belong to. The index may lag behind an import, never lie for long:
//! search results report how many payloads are still pending.

use rusqlite::{params, OptionalExtension, Transaction};
use rustc_hash::FxHashMap;

use crate::error::Result;
use crate::store::Store;

/// A trace's searchable metadata, from its `traces` row: root name, service and models.
const TRACE_META: &str =
    "name || ' ' || coalesce(service, '') || ' ' || replace(models, char(31), ' ')";

/// Makes up to `max` pending payloads searchable in one transaction (oldest first), by
/// (re)building the documents of their traces. Returns how many payloads it took.
pub fn index_pending(store: &mut Store, max: usize) -> Result<usize> {
    let tx = store.conn_mut().transaction()?;
    // Documents are found by trace id, whose index an import may have dropped until it ends.
    crate::store::traces::ensure_identity_index(&tx)?;
    let watermark: i64 = tx.query_row(
        "SELECT indexed_up_to FROM search_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let mut done = 0;
    // Traces whose document must be rebuilt from all their spans.
    let mut rebuild: Vec<String> = Vec::new();
    // Payloads never indexed: a contiguous id range, read in order.
    let top: Option<i64> = tx.query_row(
        "SELECT max(id) FROM (SELECT id FROM span_payloads WHERE id > ?1 ORDER BY id LIMIT ?2)",
        params![watermark, max as i64],
        |r| r.get(0),
    )?;
    if let Some(top) = top {
        rebuild = index_range(&tx, watermark, top)?;
        tx.execute(
            "UPDATE search_state SET indexed_up_to = ?1 WHERE id = 1",
            [top],
        )?;
        tx.execute(
            "DELETE FROM fts_pending WHERE payload_id > ?1 AND payload_id <= ?2",
            params![watermark, top],
        )?;
        done = (top - watermark) as usize;
    }
    if done < max {
        // Payloads merged after they were indexed: their traces' documents are stale.
        let ids: Vec<i64> = {
            let mut stmt = tx.prepare_cached(
                "SELECT payload_id FROM fts_pending ORDER BY payload_id LIMIT ?1",
            )?;
            let rows = stmt.query_map([(max - done) as i64], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut trace_of = tx.prepare_cached("SELECT trace_id FROM spans WHERE id = ?1")?;
        let mut dequeue = tx.prepare_cached("DELETE FROM fts_pending WHERE payload_id = ?1")?;
        for id in &ids {
            if let Some(trace) = trace_of.query_row([id], |r| r.get(0)).optional()? {
                rebuild.push(trace);
            }
            dequeue.execute([id])?;
        }
        done += ids.len();
    }
    rebuild.sort_unstable();
    rebuild.dedup();
    for trace in &rebuild {
        rebuild_trace(&tx, trace)?;
    }
    tx.commit()?;
    Ok(done)
}

/// Indexes the payloads with ids in `(after, up_to]`, read in one ordered pass. A trace seen
/// for the first time gets its document from these payloads (its other spans, if any, come
/// later and rebuild it then); the traces that already had a document are returned, to be
/// rebuilt from all their spans.
fn index_range(tx: &Transaction<'_>, after: i64, up_to: i64) -> Result<Vec<String>> {
    // trace id -> the text of its payloads here
    let mut docs: FxHashMap<String, String> = FxHashMap::default();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT s.trace_id, p.input, p.output
             FROM span_payloads p JOIN spans s ON s.id = p.id
             WHERE p.id > ?1 AND p.id <= ?2",
        )?;
        let mut rows = stmt.query(params![after, up_to])?;
        while let Some(r) = rows.next()? {
            let doc = docs.entry(r.get(0)?).or_default();
            for i in [1, 2] {
                if let rusqlite::types::ValueRef::Text(text) = r.get_ref(i)? {
                    doc.push_str(&String::from_utf8_lossy(text));
                    doc.push('\n');
                }
            }
        }
    }
    let mut meta = tx.prepare_cached(&format!(
        "SELECT search_num, {TRACE_META} FROM traces WHERE trace_id = ?1"
    ))?;
    let mut insert =
        tx.prepare_cached("INSERT INTO trace_text (rowid, meta, body) VALUES (?1, ?2, ?3)")?;
    // By trace id: the summary rows are read in key order.
    let mut docs: Vec<(String, String)> = docs.into_iter().collect();
    docs.sort_unstable();
    let mut rebuild = Vec::new();
    for (trace, body) in docs {
        let row: Option<(Option<i64>, String)> = meta
            .query_row([&trace], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match row {
            // A trace first seen here: every payload of it so far is in this range.
            Some((Some(num), meta)) if num > after => {
                insert.execute(params![num, meta, body])?;
            }
            Some(_) => rebuild.push(trace),
            None => {}
        }
    }
    Ok(rebuild)
}

/// Rebuilds one trace's document from its summary row and all its spans.
fn rebuild_trace(tx: &Transaction<'_>, trace_id: &str) -> Result<()> {
    let num: Option<i64> = tx
        .prepare_cached("SELECT search_num FROM traces WHERE trace_id = ?1")?
        .query_row([trace_id], |r| r.get(0))
        .optional()?
        .flatten();
    let Some(num) = num else {
        return Ok(());
    };
    tx.prepare_cached("DELETE FROM trace_text WHERE rowid = ?1")?
        .execute([num])?;
    tx.prepare_cached(&format!(
        "INSERT INTO trace_text (rowid, meta, body)
         SELECT ?2, {TRACE_META},
                (SELECT group_concat(coalesce(p.input, '') || char(10) || coalesce(p.output, ''), char(10))
                 FROM spans s JOIN span_payloads p ON p.id = s.id WHERE s.trace_key = ?2)
         FROM traces WHERE trace_id = ?1"
    ))?
    .execute(params![trace_id, num])?;
    Ok(())
}

/// After this many payloads indexed in one go, the index is merged into one segment.
pub const OPTIMIZE_AFTER: usize = 50_000;

/// Merges the index's segments into one (about a second per million spans). Indexing in small
/// transactions leaves many segments, and every lookup visits each: after a large catch-up, a
/// search's probes run several times faster merged.
pub fn optimize(store: &mut Store) -> Result<()> {
    store.conn().execute(
        "INSERT INTO trace_text (trace_text) VALUES ('optimize')",
        [],
    )?;
    Ok(())
}

/// How many payloads wait to be indexed.
pub fn pending(store: &Store) -> Result<i64> {
    Ok(store.conn().query_row(
        "SELECT (SELECT count(*) FROM span_payloads
                 WHERE id > (SELECT indexed_up_to FROM search_state WHERE id = 1))
              + (SELECT count(*) FROM fts_pending)",
        [],
        |r| r.get(0),
    )?)
}
