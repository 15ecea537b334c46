//! Cost breakdowns over the rollup tables `cost_hourly` and `cost_user_daily` (kept exact by
//! the triggers of migration `0003_cost.sql`), and repricing.
//!
//! **Invariant:** no query here reads the `spans` table except [`reprice`]: breakdowns scan
//! rollup rows only, so they stay fast however many spans are stored.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;

use crate::error::{Error, Result};
use crate::store::Store;

/// A dimension of the rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// Tenant.
    Tenant,
    /// Endpoint.
    Endpoint,
    /// Requested model.
    Model,
    /// Prompt name.
    Prompt,
    /// Prompt version.
    PromptVersion,
    /// Feature.
    Feature,
    /// Environment.
    Environment,
    /// End user (its own rollup, by day).
    User,
}

impl Dim {
    /// Parses a dimension name (see `api::json::COST_DIMENSIONS`).
    pub fn parse(s: &str) -> Option<Dim> {
        Some(match s {
            "tenant" => Dim::Tenant,
            "endpoint" => Dim::Endpoint,
            "model" => Dim::Model,
            "prompt" => Dim::Prompt,
            "prompt_version" => Dim::PromptVersion,
            "feature" => Dim::Feature,
            "environment" => Dim::Environment,
            "user" => Dim::User,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            Dim::Tenant => "tenant",
            Dim::Endpoint => "endpoint",
            Dim::Model => "model",
            Dim::Prompt => "prompt",
            Dim::PromptVersion => "prompt_version",
            Dim::Feature => "feature",
            Dim::Environment => "environment",
            Dim::User => "user_id",
        }
    }
}

/// Period size of a breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// One row per group over the whole range.
    Total,
    /// Per UTC hour.
    Hour,
    /// Per UTC day.
    Day,
    /// Per calendar month (UTC).
    Month,
}

/// Sums of one group (and period).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    /// Model calls.
    pub requests: i64,
    /// Failed calls.
    pub errors: i64,
    /// Calls without a price.
    pub unpriced: i64,
    /// Input tokens.
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Cache reads.
    pub cache_read: i64,
    /// Cache writes.
    pub cache_write: i64,
    /// Reasoning tokens.
    pub reasoning: i64,
    /// Computed cost.
    pub cost: f64,
    /// Reported cost.
    pub reported_cost: f64,
    /// Computed cost of the calls that reported one.
    pub cost_reported: f64,
}

impl Sums {
    /// Adds another group's sums.
    pub fn add(&mut self, o: &Sums) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.unpriced += o.unpriced;
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.reasoning += o.reasoning;
        self.cost += o.cost;
        self.reported_cost += o.reported_cost;
        self.cost_reported += o.cost_reported;
    }
}

/// One result row: the group's keys (one per dimension, '' = none), its period, its sums.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Keys, in the order of the dimensions asked for.
    pub keys: Vec<String>,
    /// The period's label (`2026-10-03`, `2026-10-03T14`, `2026-10`); None for [`Per::Total`].
    pub period: Option<String>,
    /// Sums.
    pub sums: Sums,
}

const NS_PER_HOUR: i64 = 3_600_000_000_000;

/// Groups of model calls in `[since_ns, until_ns)` (hour-aligned: a partial hour counts whole),
/// by `dims`, per period, with `filters` (dimension = value; '' = without the key).
pub fn breakdown(
    store: &Store,
    dims: &[Dim],
    per: Per,
    since_ns: i64,
    until_ns: i64,
    filters: &[(Dim, String)],
) -> Result<Vec<Group>> {
    let user = dims.contains(&Dim::User) || filters.iter().any(|(d, _)| *d == Dim::User);
    if user {
        if dims.len() > 1 || filters.iter().any(|(d, _)| *d != Dim::User) {
            return Err(Error::InvalidArguments {
                command: "cost".into(),
                message: "`user` is kept by day on its own: it cannot be combined with other dimensions or filters".into(),
            });
        }
        if per == Per::Hour {
            return Err(Error::InvalidArguments {
                command: "cost".into(),
                message: "`user` is kept by day: use --per day or month".into(),
            });
        }
    }
    let (table, unit_ns, time_col) = if user {
        ("cost_user_daily", 24 * NS_PER_HOUR, "day")
    } else {
        ("cost_hourly", NS_PER_HOUR, "hour")
    };
    let from = since_ns.div_euclid(unit_ns);
    let to = (until_ns + unit_ns - 1).div_euclid(unit_ns);
    let period_expr = match (per, user) {
        (Per::Total, _) => "NULL".to_owned(),
        (Per::Hour, _) => "hour".to_owned(),
        (Per::Day, false) => "hour / 24".to_owned(),
        (Per::Day, true) => "day".to_owned(),
        (Per::Month, false) => "strftime('%Y-%m', hour * 3600, 'unixepoch')".to_owned(),
        (Per::Month, true) => "strftime('%Y-%m', day * 86400, 'unixepoch')".to_owned(),
    };
    let key_cols: Vec<&str> = dims.iter().map(|d| d.column()).collect();
    let mut select = key_cols.join(", ");
    if !select.is_empty() {
        select.push_str(", ");
    }
    let token_cols = if user {
        "sum(requests), sum(errors), sum(unpriced), sum(input_tokens), sum(output_tokens), 0, 0, 0, sum(cost), 0.0, 0.0"
    } else {
        "sum(requests), sum(errors), sum(unpriced), sum(input_tokens), sum(output_tokens), sum(cache_read), sum(cache_write), sum(reasoning), sum(cost), sum(reported_cost), sum(cost_reported)"
    };
    let mut sql = format!(
        "SELECT {select}{period_expr}, {token_cols} FROM {table} WHERE {time_col} >= ?1 AND {time_col} < ?2"
    );
    let mut params: Vec<SqlValue> = vec![SqlValue::Integer(from), SqlValue::Integer(to)];
    for (dim, value) in filters {
        params.push(SqlValue::Text(value.clone()));
        sql.push_str(&format!(" AND {} = ?{}", dim.column(), params.len()));
    }
    let mut group_by: Vec<String> = key_cols.iter().map(|c| (*c).to_owned()).collect();
    if per != Per::Total {
        group_by.push(period_expr.clone());
    }
    if !group_by.is_empty() {
        sql.push_str(&format!(" GROUP BY {}", group_by.join(", ")));
    }
    sql.push_str(" HAVING sum(requests) > 0");
    let mut stmt = store.conn().prepare_cached(&sql)?;
    let n = dims.len();
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        let mut keys = Vec::with_capacity(n);
        for i in 0..n {
            keys.push(r.get::<_, String>(i)?);
        }
        let period: Option<SqlValue> = r.get(n)?;
        let period = match (per, period) {
            (Per::Total, _) | (_, None) | (_, Some(SqlValue::Null)) => None,
            (Per::Hour, Some(SqlValue::Integer(h))) => Some(hour_label(h)),
            (Per::Day, Some(SqlValue::Integer(d))) => Some(day_label(d)),
            (_, Some(SqlValue::Text(t))) => Some(t),
            (_, Some(other)) => Some(format!("{other:?}")),
        };
        Ok(Group {
            keys,
            period,
            sums: Sums {
                requests: r.get(n + 1)?,
                errors: r.get(n + 2)?,
                unpriced: r.get(n + 3)?,
                input: r.get(n + 4)?,
                output: r.get(n + 5)?,
                cache_read: r.get(n + 6)?,
                cache_write: r.get(n + 7)?,
                reasoning: r.get(n + 8)?,
                cost: r.get(n + 9)?,
                reported_cost: r.get(n + 10)?,
                cost_reported: r.get(n + 11)?,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn day_label(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| day.to_string())
}

fn hour_label(hour: i64) -> String {
    chrono::DateTime::from_timestamp(hour * 3_600, 0)
        .map(|t| t.format("%Y-%m-%dT%H").to_string())
        .unwrap_or_else(|| hour.to_string())
}

/// The first and last hour with model calls (ns at their starts), if any.
pub fn data_range(store: &Store) -> Result<Option<(i64, i64)>> {
    let row: (Option<i64>, Option<i64>) = store.conn().query_row(
        "SELECT min(hour), max(hour) FROM cost_hourly WHERE requests > 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(match row {
        (Some(a), Some(b)) => Some((a * NS_PER_HOUR, b * NS_PER_HOUR)),
        _ => None,
    })
}

/// Models with unpriced calls in a range (with filters), most calls first.
pub fn unpriced_models(
    store: &Store,
    since_ns: i64,
    until_ns: i64,
    filters: &[(Dim, String)],
) -> Result<Vec<(String, i64)>> {
    let groups = breakdown(
        store,
        &[Dim::Model],
        Per::Total,
        since_ns,
        until_ns,
        &filters
            .iter()
            .filter(|(d, _)| *d != Dim::User)
            .cloned()
            .collect::<Vec<_>>(),
    )?;
    let mut out: Vec<(String, i64)> = groups
        .into_iter()
        .filter(|g| g.sums.unpriced > 0)
        .map(|g| (g.keys[0].clone(), g.sums.unpriced))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// Prices every stored model call again (after a price change) in one transaction, batch by
/// batch; the rollups follow through their triggers. Calls that started before `since_ns` are
/// left as they are. Idempotent: a second run changes nothing. Returns the calls repriced.
pub fn reprice(
    store: &mut Store,
    catalogue: &crate::cost::Catalogue,
    since_ns: Option<i64>,
) -> Result<RepriceReport> {
    let tx = store.conn_mut().transaction()?;
    let mut changes: Vec<(i64, Option<f64>, bool)> = Vec::new();
    let mut seen = 0u64;
    {
        let mut stmt = tx.prepare(
            "SELECT id, kind, provider, request_model, response_model, start_ns, input_tokens,
                    output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost,
                    unpriced
             FROM spans WHERE kind IN ('llm', 'embedding') AND start_ns >= ?1",
        )?;
        let mut rows = stmt.query([since_ns.unwrap_or(i64::MIN)])?;
        while let Some(r) = rows.next()? {
            seen += 1;
            let mut span = crate::store::spans::pricing_span(r, 1)?;
            let (old_cost, old_unpriced): (Option<f64>, bool) = (r.get(11)?, r.get(12)?);
            crate::cost::apply_price(&mut span, catalogue);
            if span.cost != old_cost || span.unpriced != old_unpriced {
                changes.push((r.get(0)?, span.cost, span.unpriced));
            }
        }
    }
    {
        let mut write = tx.prepare("UPDATE spans SET cost = ?2, unpriced = ?3 WHERE id = ?1")?;
        for (id, cost, unpriced) in &changes {
            write.execute(rusqlite::params![id, cost, unpriced])?;
        }
    }
    tx.commit()?;
    Ok(RepriceReport {
        calls: seen,
        changed: changes.len() as u64,
    })
}

/// What [`reprice`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RepriceReport {
    /// Model calls looked at.
    pub calls: u64,
    /// Calls whose cost changed.
    pub changed: u64,
}

/// Sums of raw spans per (tenant, day), for checking the rollups (tests and `assay cost check`).
pub fn raw_sums_by_tenant_day(store: &Store) -> Result<HashMap<(String, String), (i64, f64)>> {
    let mut stmt = store.conn().prepare(
        "SELECT coalesce(tenant, ''), start_ns / 86400000000000, count(*), sum(coalesce(cost, 0))
         FROM spans WHERE kind IN ('llm', 'embedding') AND duplicate_of IS NULL
         GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get::<_, String>(0)?, day_label(r.get(1)?)),
            (r.get::<_, i64>(2)?, r.get::<_, f64>(3)?),
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
}
