//! The `eval_runs`, `eval_results` and `response_cache` tables.
//!
//! **Invariants:** a result's identity is (run, case, prompt, provider, repeat), so a resumed run
//! writes only what is missing and never a result twice; the cache holds only successful,
//! non-empty responses (the runner decides, this module stores).

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::api::json::EvalResultRow;
use crate::error::Result;
use crate::eval::plan::ProviderResponse;

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// UUID.
    pub id: String,
    /// Eval set name.
    pub evalset: String,
    /// The file it was read from.
    pub source: String,
    /// The eval set's description.
    pub description: Option<String>,
    /// Hash of what was evaluated.
    pub content_hash: String,
    /// Git commit evaluated.
    pub git_commit: Option<String>,
    /// Whether the tree was dirty.
    pub git_dirty: Option<bool>,
    /// `running`, `completed`, `interrupted`.
    pub status: String,
    /// Start (ns since epoch).
    pub started_ns: i64,
    /// End (ns since epoch).
    pub finished_ns: Option<i64>,
    /// Results planned.
    pub planned: i64,
    /// The plan as JSON.
    pub plan: String,
    /// The summary as JSON, once finished.
    pub summary: Option<String>,
}

/// Outcome counts of a run's stored results.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Results stored.
    pub done: i64,
    /// Passed.
    pub pass: i64,
    /// Failed.
    pub fail: i64,
    /// Errored.
    pub error: i64,
    /// Cost of calls made (cached results cost nothing again).
    pub cost: f64,
}

const RUN_COLUMNS: &str = "id, evalset, source, description, content_hash, git_commit, git_dirty,
    status, started_ns, finished_ns, planned, plan, summary";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        evalset: r.get(1)?,
        source: r.get(2)?,
        description: r.get(3)?,
        content_hash: r.get(4)?,
        git_commit: r.get(5)?,
        git_dirty: r.get::<_, Option<i64>>(6)?.map(|d| d != 0),
        status: r.get(7)?,
        started_ns: r.get(8)?,
        finished_ns: r.get(9)?,
        planned: r.get(10)?,
        plan: r.get(11)?,
        summary: r.get(12)?,
    })
}

/// Records a new run.
pub fn insert_run(conn: &Connection, run: &RunRecord) -> Result<()> {
    conn.execute(
        &format!("INSERT INTO eval_runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
        params![
            run.id,
            run.evalset,
            run.source,
            run.description,
            run.content_hash,
            run.git_commit,
            run.git_dirty.map(i64::from),
            run.status,
            run.started_ns,
            run.finished_ns,
            run.planned,
            run.plan,
            run.summary
        ],
    )?;
    Ok(())
}

/// Marks a run as running again (a resume), or finished with its summary.
pub fn set_run_status(
    conn: &Connection,
    id: &str,
    status: &str,
    finished_ns: Option<i64>,
    summary: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE eval_runs SET status = ?2, finished_ns = ?3, summary = ?4 WHERE id = ?1",
        params![id, status, finished_ns, summary],
    )?;
    Ok(())
}

/// One run.
pub fn get_run(conn: &Connection, id: &str) -> Result<Option<RunRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {RUN_COLUMNS} FROM eval_runs WHERE id = ?1"),
            [id],
            run_from_row,
        )
        .optional()?)
}

/// Runs, newest first, optionally of one eval set.
pub fn list_runs(conn: &Connection, evalset: Option<&str>, limit: i64) -> Result<Vec<RunRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM eval_runs WHERE ?1 IS NULL OR evalset = ?1
         ORDER BY started_ns DESC LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![evalset, limit], run_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The newest run that completed every planned result for exactly this content.
pub fn find_completed_run(conn: &Connection, content_hash: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT r.id FROM eval_runs r
             WHERE r.content_hash = ?1 AND r.status = 'completed'
               AND (SELECT count(*) FROM eval_results x WHERE x.run_id = r.id) >= r.planned
             ORDER BY r.started_ns DESC LIMIT 1",
            [content_hash],
            |r| r.get(0),
        )
        .optional()?)
}

/// The newest completed run of an eval set at a commit (clean trees only).
pub fn latest_run_at_commit(
    conn: &Connection,
    evalset: &str,
    commit: &str,
) -> Result<Option<RunRecord>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {RUN_COLUMNS} FROM eval_runs
                 WHERE evalset = ?1 AND git_commit = ?2 AND coalesce(git_dirty, 0) = 0
                   AND status = 'completed'
                 ORDER BY started_ns DESC LIMIT 1"
            ),
            [evalset, commit],
            run_from_row,
        )
        .optional()?)
}

/// Outcome counts of a run.
pub fn counts(conn: &Connection, run_id: &str) -> Result<Counts> {
    Ok(conn.query_row(
        "SELECT count(*), coalesce(sum(outcome = 'pass'), 0), coalesce(sum(outcome = 'fail'), 0),
                coalesce(sum(outcome = 'error'), 0), coalesce(sum(CASE WHEN cached THEN 0 ELSE cost END), 0.0)
         FROM eval_results WHERE run_id = ?1",
        [run_id],
        |r| {
            Ok(Counts {
                done: r.get(0)?,
                pass: r.get(1)?,
                fail: r.get(2)?,
                error: r.get(3)?,
                cost: r.get(4)?,
            })
        },
    )?)
}

/// Writes one result; a result already stored under the same identity is left as it is.
pub fn insert_result(
    conn: &Connection,
    run_id: &str,
    row: &EvalResultRow,
    finished_ns: i64,
) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO eval_results (run_id, case_index, prompt_id, provider, repeat_index,
             case_id, outcome, score, output, error, latency_ms, ttft_ms, input_tokens,
             output_tokens, cost, cached, assertions, rendered, trace_id, finished_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, ?20)",
    )?;
    let assertions = serde_json::to_string(&row.assertions).unwrap_or_else(|_| "[]".into());
    let rendered = serde_json::to_string(&row.rendered).unwrap_or_else(|_| "[]".into());
    let n = stmt.execute(params![
        run_id,
        row.case_index as i64,
        row.prompt_id,
        row.provider,
        row.repeat_index,
        row.case_id,
        row.outcome,
        row.score,
        row.output,
        row.error,
        row.latency_ms,
        row.ttft_ms,
        row.input_tokens,
        row.output_tokens,
        row.cost,
        row.cached,
        assertions,
        rendered,
        row.trace_id,
        finished_ns
    ])?;
    Ok(n == 1)
}

/// A run's results, in case, prompt, provider, repeat order.
pub fn results(conn: &Connection, run_id: &str) -> Result<Vec<EvalResultRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT case_index, case_id, prompt_id, provider, repeat_index, outcome, score, output,
                error, latency_ms, ttft_ms, input_tokens, output_tokens, cost, cached, assertions,
                rendered, trace_id
         FROM eval_results WHERE run_id = ?1
         ORDER BY case_index, prompt_id, provider, repeat_index",
    )?;
    let rows = stmt
        .query_map([run_id], |r| {
            let assertions: String = r.get(15)?;
            let rendered: String = r.get(16)?;
            Ok(EvalResultRow {
                case_index: r.get::<_, i64>(0)? as usize,
                case_id: r.get(1)?,
                prompt_id: r.get(2)?,
                provider: r.get(3)?,
                repeat_index: r.get(4)?,
                outcome: r.get(5)?,
                score: r.get(6)?,
                output: r.get(7)?,
                error: r.get(8)?,
                latency_ms: r.get(9)?,
                ttft_ms: r.get(10)?,
                input_tokens: r.get(11)?,
                output_tokens: r.get(12)?,
                cost: r.get(13)?,
                cached: r.get(14)?,
                // Written by `insert_result` from the same types; unreadable means hand-edited.
                assertions: serde_json::from_str(&assertions).unwrap_or_default(),
                rendered: serde_json::from_str(&rendered).unwrap_or_default(),
                trace_id: r.get(17)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The identities of a run's stored results: (case, prompt, provider, repeat).
pub fn result_keys(
    conn: &Connection,
    run_id: &str,
) -> Result<HashSet<(usize, String, String, u32)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT case_index, prompt_id, provider, repeat_index FROM eval_results WHERE run_id = ?1",
    )?;
    let keys = stmt
        .query_map([run_id], |r| {
            Ok((
                r.get::<_, i64>(0)? as usize,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })?
        .collect::<rusqlite::Result<HashSet<_>>>()?;
    Ok(keys)
}

/// A cached response and the trace of the call that produced it.
pub fn cache_get(
    conn: &Connection,
    key: &str,
) -> Result<Option<(ProviderResponse, Option<String>)>> {
    let mut stmt =
        conn.prepare_cached("SELECT response, trace_id FROM response_cache WHERE key = ?1")?;
    let row: Option<(String, Option<String>)> = stmt
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    // An entry that no longer parses (written by another version) is a miss, not an error.
    Ok(row.and_then(|(json, trace)| serde_json::from_str(&json).ok().map(|r| (r, trace))))
}

/// Stores a response under its request key (replacing an older one).
pub fn cache_put(
    conn: &Connection,
    key: &str,
    response: &ProviderResponse,
    trace_id: Option<&str>,
    now_ns: i64,
) -> Result<()> {
    let json = serde_json::to_string(response).unwrap_or_default();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO response_cache (key, response, trace_id, created_ns)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![key, json, trace_id, now_ns])?;
    Ok(())
}
