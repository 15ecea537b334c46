//! The SQLite store: one file per workspace, opened in WAL mode.
//!
//! **Invariant:** migrations are append-only SQL files in `migrations/`, embedded in the binary
//! and applied in one transaction at open; `PRAGMA user_version` records how many have run, and
//! a database with a higher version than this build knows is refused, never modified.
//!
//! To change the schema, add `migrations/NNNN_name.sql` and append it to [`MIGRATIONS`]; never
//! edit a migration that has shipped. Each table has its own module with its read and write paths.

pub(crate) mod bindings;
pub mod cost;
pub mod evals;
pub(crate) mod mirrored;
pub mod search;
pub mod spans;
pub mod traces;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// The embedded migrations, in order. `user_version` = how many of them a database has applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_spans", include_str!("migrations/0001_spans.sql")),
    ("0002_evals", include_str!("migrations/0002_evals.sql")),
    ("0003_cost", include_str!("migrations/0003_cost.sql")),
    (
        "0004_cost_narrow_rollups",
        include_str!("migrations/0004_cost_narrow_rollups.sql"),
    ),
    (
        "0005_trace_search",
        include_str!("migrations/0005_trace_search.sql"),
    ),
    (
        "0006_trace_sort_index",
        include_str!("migrations/0006_trace_sort_index.sql"),
    ),
    (
        "0007_traces_by_number",
        include_str!("migrations/0007_traces_by_number.sql"),
    ),
    (
        "0008_spans_by_trace_number",
        include_str!("migrations/0008_spans_by_trace_number.sql"),
    ),
    (
        "0009_resources",
        include_str!("migrations/0009_resources.sql"),
    ),
    (
        "0010_mirrored_attributes",
        include_str!("migrations/0010_mirrored_attributes.sql"),
    ),
];

/// The page size of a new database: SQLite's largest. Rows carry a kilobyte or two of payload
/// and an import appends them, so bigger pages mean fewer page allocations, balances and WAL
/// frames (two writes each) for the same bytes: a month imports 5-10% faster than with 16 KiB
/// pages (see BENCHMARKS.md), and the explorer's reads take the same time. A database made with
/// smaller pages keeps them.
const PAGE_SIZE: i64 = 65_536;

/// Checkpoint the WAL on commit once it holds 256 MB (SQLite's default is 1,000 pages): fewer
/// copies.
const WAL_AUTOCHECKPOINT_BYTES: i64 = 256 << 20;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// Another process opening or migrating the same file at the same moment (an `assay eval
    /// run` starting while `assay serve` runs) can hold the locks that switching to WAL and
    /// migrating need, and SQLite reports that at once rather than through the busy timeout:
    /// opening is retried for a few seconds.
    pub fn open(path: &Path) -> Result<Store> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Store::open_once(path) {
                Err(Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Refuse a newer database before touching it at all (even the journal mode).
        check_version(&conn, path)?;
        // WAL lets `assay serve` read while an import writes; NORMAL is durable at each
        // checkpoint and safe against corruption, which is what an analytics store needs.
        // Only takes effect on a new database (before the first table exists).
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A bigger page cache keeps imports and the explorer off the read() path. It is a bound,
        // not an allocation, and stays well inside the memory budget (memory-mapped I/O would
        // count the whole file against it).
        conn.pragma_update(None, "cache_size", -131_072)?; // KiB
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        migrate(&mut conn, path)?;
        traces::ensure_filter_indexes(&conn)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        // In pages, of the size the file has (known once its first table exists).
        store.checkpoint_on_commit_at(WAL_AUTOCHECKPOINT_BYTES)?;
        Ok(store)
    }

    /// Moves checkpoints off this connection for a long write (an import) until the returned
    /// guard drops: a thread with its own connection copies the WAL into the database whenever
    /// it holds [`BACKGROUND_CHECKPOINT_BYTES`] (checking every 50 ms), so the writer's commits
    /// only append to the WAL and never wait for the copy and its fsyncs. Should that thread
    /// fall behind, the writer checkpoints itself once the WAL reaches
    /// [`WRITER_CHECKPOINT_BYTES`], so the WAL stays bounded.
    pub(crate) fn checkpoint_in_background(&self) -> Result<BackgroundCheckpoints<'_>> {
        self.checkpoint_in_background_at(BACKGROUND_CHECKPOINT_BYTES)
    }

    fn checkpoint_in_background_at(&self, bytes: u64) -> Result<BackgroundCheckpoints<'_>> {
        self.checkpoint_on_commit_at(WRITER_CHECKPOINT_BYTES)?;
        let stop = Arc::new(AtomicBool::new(false));
        let path = self.path.clone();
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || checkpoint_while_running(&path, bytes, &stopping));
        Ok(BackgroundCheckpoints {
            store: self,
            stop,
            thread: Some(thread),
        })
    }

    /// Makes a commit checkpoint the WAL once it holds `bytes`.
    fn checkpoint_on_commit_at(&self, bytes: i64) -> Result<()> {
        let page_size: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))?;
        self.conn
            .pragma_update(None, "wal_autocheckpoint", bytes / page_size)?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for the table modules' read paths.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for write paths that open a transaction.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// WAL size at which the background checkpointer copies it into the database.
const BACKGROUND_CHECKPOINT_BYTES: u64 = 128 << 20;

/// WAL size at which a writer whose checkpoints run in the background checkpoints anyway.
const WRITER_CHECKPOINT_BYTES: i64 = 512 << 20;

/// Checkpoints run by another thread while it lives (see [`Store::checkpoint_in_background`]).
pub(crate) struct BackgroundCheckpoints<'s> {
    store: &'s Store,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for BackgroundCheckpoints<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // Woken from its wait, so a short import does not wait for the next round.
            thread.thread().unpark();
            let _ = thread.join();
        }
        // Back to checkpointing on commit; a failure here leaves the larger bound, still safe.
        let _ = self.store.checkpoint_on_commit_at(WAL_AUTOCHECKPOINT_BYTES);
    }
}

/// The background checkpointer's loop. A failed checkpoint only skips a round: the writer's
/// bound still holds. Once the WAL file has grown past `bytes` it stays that size (SQLite
/// reuses it from the start), so from then on each commit is copied within 50 ms; a check that
/// finds nothing new to copy costs no write.
fn checkpoint_while_running(path: &Path, bytes: u64, stop: &AtomicBool) {
    let wal = {
        let mut name = path.as_os_str().to_owned();
        name.push("-wal");
        PathBuf::from(name)
    };
    let Ok(conn) = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return;
    };
    loop {
        std::thread::park_timeout(std::time::Duration::from_millis(50));
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() >= bytes) {
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
    }
}

/// The query plan of `statement`, one line per step, for tests that pin a plan down.
#[cfg(test)]
pub(crate) fn query_plan(conn: &Connection, statement: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
        .unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn check_version(conn: &Connection, path: &Path) -> Result<i64> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::StoreTooNew {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Applies the missing migrations in one transaction, and turns the connection's foreign key
/// checks on. They are off meanwhile, as SQLite prescribes for rebuilding a table (dropping the
/// old one would otherwise orphan the rows that reference it); every reference is checked
/// before the commit instead.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = apply_migrations(conn, path);
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated
}

fn apply_migrations(conn: &mut Connection, path: &Path) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Checked again inside the write lock: another process may have migrated meanwhile.
    let found = check_version(&tx, path)?;
    for (_name, sql) in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    if found < SCHEMA_VERSION {
        let broken: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if broken > 0 {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!(
                    "migrating the schema would leave {broken} broken references; nothing was changed"
                )),
            )
            .into());
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_applies_every_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/assay.db");
        drop(Store::open(&path).unwrap());
        // Opening again must not re-run migrations (CREATE TABLE would fail if it did).
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal", "readers must not block on an import");
    }

    /// Opens a transaction on `conn` with the first `version` migrations applied, as a store of
    /// that version holds them.
    fn at_version(conn: &mut Connection, version: usize) -> rusqlite::Transaction<'_> {
        let tx = conn.transaction().unwrap();
        for (_, sql) in &MIGRATIONS[..version] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", version as i64)
            .unwrap();
        tx
    }

    #[test]
    fn spans_are_keyed_by_their_trace_number_with_data_costs_and_payloads_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.db");
        {
            // A store as the version before `0008_spans_by_trace_number` left it.
            let mut conn = Connection::open(&path).unwrap();
            let tx = at_version(&mut conn, 7);
            tx.execute_batch(
                "INSERT INTO imports (id, source, format, content_hash, status, spans_read,
                     spans_new, spans_merged, rejected, started_at)
                 VALUES (1, 'month.jsonl', 'otlp-jsonl', '', 'done', 3, 3, 0, 0, '2026-11-01');
                 INSERT INTO spans (id, trace_id, span_id, parent_span_id, name, kind, start_ns,
                     end_ns, status, provider, request_model, input_tokens, output_tokens,
                     tenant, import_id, cost)
                 VALUES (7, 'bb', 's1', NULL, 'root', 'chain', 20, 25, 'ok', NULL, NULL, NULL,
                         NULL, 'acme', 1, NULL),
                        (9, 'aa', 's2', NULL, 'root', 'chain', 10, 15, 'ok', NULL, NULL, NULL,
                         NULL, 'globex', 1, NULL),
                        (12, 'aa', 's3', 's2', 'chat', 'llm', 11, 14, 'ok', 'openai',
                         'gpt-4o', 3, 4, 'globex', 1, 0.25);
                 INSERT INTO span_payloads (id, input, output, detail, attributes)
                 VALUES (12, 'hello', 'hi there', '{}', '{\"gen_ai.request.model\":\"gpt-4o\"}');
                 INSERT INTO traces (search_num, trace_id, name, start_ns, end_ns, span_count,
                     error_count, status, models, input_tokens, output_tokens, tenant)
                 VALUES (7, 'bb', 'root', 20, 25, 1, 0, 'ok', '', 0, 0, 'acme'),
                        (9, 'aa', 'root', 10, 15, 2, 0, 'ok', 'gpt-4o', 3, 4, 'globex');",
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let conn = store.conn();
        let rows: Vec<(i64, i64, String, String, Option<f64>)> = conn
            .prepare("SELECT id, trace_key, trace_id, span_id, cost FROM spans ORDER BY id")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rows,
            [
                (7, 7, "bb".into(), "s1".into(), None),
                (9, 9, "aa".into(), "s2".into(), None),
                (12, 9, "aa".into(), "s3".into(), Some(0.25)),
            ]
        );
        let spans = spans::for_trace(&store, "aa").unwrap();
        let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["root", "chat"]);
        assert_eq!(spans[1].payload.input.as_deref(), Some("hello"));
        let triggers: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master
                 WHERE type = 'trigger' AND tbl_name = 'spans' AND name LIKE 'spans_cost_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(triggers, 3, "the cost rollups' triggers are back");
        let same = conn.execute(
            "INSERT INTO spans (trace_key, trace_id, span_id, name, kind, start_ns, status)
             VALUES (9, 'aa', 's3', 'again', 'llm', 11, 'ok')",
            [],
        );
        assert!(same.is_err(), "a span of a trace is stored once");
        let checking: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(
            checking,
            "foreign keys are checked again after the migration"
        );
        let orphan = conn.execute(
            "INSERT INTO span_payloads (id, detail, attributes) VALUES (99, '{}', '{}')",
            [],
        );
        assert!(orphan.is_err(), "a payload still needs its span");
    }

    #[test]
    fn trace_rows_keep_their_data_and_numbers_when_rekeyed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.db");
        {
            // A store as the version before `0007_traces_by_number` left it.
            let mut conn = Connection::open(&path).unwrap();
            let tx = at_version(&mut conn, 6);
            tx.execute_batch(
                "INSERT INTO spans (id, trace_id, span_id, name, kind, start_ns, status)
                 VALUES (7, 'bb', 's1', 'root', 'chain', 20, 'ok'),
                        (9, 'aa', 's2', 'root', 'chain', 10, 'ok'),
                        (12, 'aa', 's3', 'child', 'llm', 11, 'ok');
                 INSERT INTO traces (trace_id, name, start_ns, end_ns, span_count, error_count,
                     status, models, input_tokens, output_tokens, tenant, search_num)
                 VALUES ('bb', 'root', 20, 25, 1, 0, 'ok', '', 0, 0, 'acme', 7),
                        ('aa', 'root', 10, 15, 2, 0, 'ok', 'm', 3, 4, 'globex', NULL);",
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let rows: Vec<(i64, String, String, i64)> = store
            .conn()
            .prepare("SELECT rowid, trace_id, tenant, input_tokens FROM traces ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // The number is the rowid; a missing one is the trace's smallest span id.
        assert_eq!(
            rows,
            [
                (7, "bb".into(), "acme".into(), 0),
                (9, "aa".into(), "globex".into(), 3)
            ]
        );
        let duplicate = store.conn().execute(
            "INSERT INTO traces (search_num, trace_id, name, start_ns, end_ns, span_count,
                 error_count, status, models, input_tokens, output_tokens)
             VALUES (99, 'aa', '', 0, 0, 0, 0, 'ok', '', 0, 0)",
            [],
        );
        assert!(duplicate.is_err(), "trace ids stay unique");
        let (page, total) = traces::list(
            &store,
            &traces::TraceFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(total, 2);
        assert_eq!(page[0].trace_id, "bb", "newest first");
    }

    #[test]
    fn background_checkpoints_copy_the_wal_into_the_database_while_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.db");
        let store = Store::open(&path).unwrap();
        let autocheckpoint = |store: &Store| -> i64 {
            store
                .conn()
                .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
                .unwrap()
        };
        store
            .conn()
            .execute_batch("CREATE TABLE filler (x BLOB)")
            .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        {
            let _checkpoints = store.checkpoint_in_background_at(64 << 10).unwrap();
            assert_eq!(autocheckpoint(&store), WRITER_CHECKPOINT_BYTES / PAGE_SIZE);
            // 2 MB: far below the writer's own bound, so only the other thread checkpoints it.
            store
                .conn()
                .execute_batch(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
                     INSERT INTO filler SELECT randomblob(32768) FROM n",
                )
                .unwrap();
            let copied = (0..200).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(25));
                std::fs::metadata(&path).unwrap().len() >= before + (2 << 20)
            });
            assert!(copied, "the WAL was not copied into the database");
        }
        assert_eq!(autocheckpoint(&store), WAL_AUTOCHECKPOINT_BYTES / PAGE_SIZE);
    }

    #[test]
    fn a_new_database_takes_the_largest_pages_and_an_older_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let pragma = |store: &Store, name: &str| -> i64 {
            store
                .conn()
                .pragma_query_value(None, name, |r| r.get(0))
                .unwrap()
        };
        let new = Store::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(pragma(&new, "page_size"), 65_536);
        assert_eq!(pragma(&new, "wal_autocheckpoint"), 4_096, "256 MB");

        // A database made with 16 KiB pages (as before), opened again.
        let old = dir.path().join("old.db");
        {
            let conn = Connection::open(&old).unwrap();
            conn.pragma_update(None, "page_size", 16_384).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch("CREATE TABLE t (x)").unwrap();
        }
        let old = Store::open(&old).unwrap();
        assert_eq!(pragma(&old, "page_size"), 16_384);
        assert_eq!(pragma(&old, "wal_autocheckpoint"), 16_384, "256 MB");
        assert_eq!(pragma(&old, "user_version"), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_database_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, Error::StoreTooNew { found, .. } if found == SCHEMA_VERSION + 5));
        assert!(err.to_string().contains("newer Assay"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "a refused database must not be migrated");
    }
}
