//! The full-text index over span inputs and outputs (`span_text`, FTS5).
//!
//! **Invariant:** every payload with an id above `search_state.indexed_up_to`, and every payload
//! listed in `fts_pending` (merged after it was indexed), is not yet in the index; everything
//! else is. [`index_pending`] moves them in. The index may lag behind an import, never lie for
//! long: search results report how many spans are still pending.

use rusqlite::params;

use crate::error::Result;
use crate::store::Store;

/// Indexes up to `max` payloads in one transaction, newest imports first by id order. Returns
/// how many it indexed.
pub fn index_pending(store: &mut Store, max: usize) -> Result<usize> {
    let tx = store.conn_mut().transaction()?;
    let watermark: i64 = tx.query_row(
        "SELECT indexed_up_to FROM search_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let mut done = 0;
    {
        // Payloads never indexed: a contiguous id range, no deletes needed.
        let top: Option<i64> = tx.query_row(
            "SELECT max(id) FROM (SELECT id FROM span_payloads WHERE id > ?1 ORDER BY id LIMIT ?2)",
            params![watermark, max as i64],
            |r| r.get(0),
        )?;
        if let Some(top) = top {
            done += tx.execute(
                "INSERT INTO span_text (rowid, input, output)
                 SELECT id, input, output FROM span_payloads
                 WHERE id > ?1 AND id <= ?2 AND (input IS NOT NULL OR output IS NOT NULL)",
                params![watermark, top],
            )?;
            tx.execute(
                "UPDATE search_state SET indexed_up_to = ?1 WHERE id = 1",
                [top],
            )?;
            tx.execute(
                "DELETE FROM fts_pending WHERE payload_id > ?1 AND payload_id <= ?2",
                params![watermark, top],
            )?;
            done = done.max((top - watermark) as usize);
        }
    }
    if done < max {
        let ids: Vec<i64> = {
            let mut stmt = tx.prepare_cached(
                "SELECT payload_id FROM fts_pending ORDER BY payload_id LIMIT ?1",
            )?;
            let rows = stmt.query_map([(max - done) as i64], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut delete = tx.prepare_cached("DELETE FROM span_text WHERE rowid = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO span_text (rowid, input, output) SELECT id, input, output FROM span_payloads WHERE id = ?1",
        )?;
        let mut dequeue = tx.prepare_cached("DELETE FROM fts_pending WHERE payload_id = ?1")?;
        for id in &ids {
            // A re-imported payload replaces its earlier text.
            delete.execute(params![id])?;
            insert.execute(params![id])?;
            dequeue.execute(params![id])?;
        }
        done += ids.len();
    }
    tx.commit()?;
    Ok(done)
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
