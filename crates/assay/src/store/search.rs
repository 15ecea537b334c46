//! The full-text index over span inputs and outputs (`span_text`, FTS5).
//!
//! **Invariant:** every payload written since it was last indexed is listed in `fts_pending`;
//! [`index_pending`] (re)indexes them. The index may lag behind an import, never lie for long:
//! search results report how many spans are still pending.

use rusqlite::params;

use crate::error::Result;
use crate::store::Store;

/// Indexes up to `max` pending payloads in one transaction. Returns how many it indexed.
pub fn index_pending(store: &mut Store, max: usize) -> Result<usize> {
    let tx = store.conn_mut().transaction()?;
    let ids: Vec<i64> = {
        let mut stmt =
            tx.prepare_cached("SELECT payload_id FROM fts_pending ORDER BY payload_id LIMIT ?1")?;
        let rows = stmt.query_map([max as i64], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    {
        let mut delete = tx.prepare_cached("DELETE FROM span_text WHERE rowid = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO span_text (rowid, input, output) SELECT id, input, output FROM span_payloads WHERE id = ?1",
        )?;
        let mut done = tx.prepare_cached("DELETE FROM fts_pending WHERE payload_id = ?1")?;
        for id in &ids {
            // A re-imported payload replaces its earlier text.
            delete.execute(params![id])?;
            insert.execute(params![id])?;
            done.execute(params![id])?;
        }
    }
    tx.commit()?;
    Ok(ids.len())
}

/// How many payloads wait to be indexed.
pub fn pending(store: &Store) -> Result<i64> {
    Ok(store
        .conn()
        .query_row("SELECT count(*) FROM fts_pending", [], |r| r.get(0))?)
}
