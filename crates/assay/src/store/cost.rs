//! Cost breakdowns over the rollup tables (`cost_hourly`, `cost_daily`, `cost_hourly_by`,
//! `cost_user_daily`, `cost_user_monthly`; migrations `0003_cost.sql` and
//! `0004_cost_narrow_rollups.sql`), and repricing.
//!
//! **Invariants:** the rollups equal the sums over the stored model calls (llm and embedding
//! spans that are not duplicates) after every transaction. Every new span enters through
//! [`crate::store::spans::upsert`], which adds new calls with a [`RollupBatch`] (one upsert per
//! group and batch, not per span; the users' months once per transaction, [`UserMonths`]);
//! updates and deletes of stored spans (merges, duplicates found, repricing) move them through
//! the triggers of those migrations. No query here reads the `spans` table except
//! [`reprice`]: breakdowns scan rollup rows only.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;

use crate::error::{Error, Result};
use crate::store::bindings::Param;
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

    /// The dimension's code in `cost_hourly_by` (0 is all calls).
    fn code(self) -> i64 {
        match self {
            Dim::Tenant => 1,
            Dim::Endpoint => 2,
            Dim::Model => 3,
            Dim::Prompt => 4,
            Dim::PromptVersion => 5,
            Dim::Feature => 6,
            Dim::Environment => 7,
            Dim::User => -1,
        }
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
    /// The sums in the column order of `cost_hourly`, `cost_daily` and `cost_hourly_by`.
    fn columns(&self) -> [Param<'static>; 11] {
        [
            Param::Integer(self.requests),
            Param::Integer(self.errors),
            Param::Integer(self.unpriced),
            Param::Integer(self.input),
            Param::Integer(self.output),
            Param::Integer(self.cache_read),
            Param::Integer(self.cache_write),
            Param::Integer(self.reasoning),
            Param::Real(self.cost),
            Param::Real(self.reported_cost),
            Param::Real(self.cost_reported),
        ]
    }

    /// Adds the sums to the row of `user` and period `at` through `stmt`, an upsert of
    /// `cost_user_daily` or `cost_user_monthly` ([`upsert_user_sums`]).
    fn add_to_user_row(
        &self,
        stmt: &mut rusqlite::CachedStatement<'_>,
        at: i64,
        user: &str,
    ) -> Result<()> {
        // Requests, errors, unpriced, input and output tokens, and cost.
        let c = self.columns();
        let values = [
            Param::Integer(at),
            Param::Text(user),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[8],
        ];
        stmt.execute(params_from_iter(values))?;
        Ok(())
    }

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
const NS_PER_DAY: i64 = 24 * NS_PER_HOUR;

/// The attribution keys of a rollup group: tenant, endpoint, model, prompt, prompt version,
/// feature, environment ('' = none).
type GroupKeys<'a> = [&'a str; 7];

/// The users' monthly sums of the new model calls of one transaction, written once, before it
/// commits ([`UserMonths::write`]), rather than once per batch: a batch of a month's import
/// meets most of the month's users, so per batch `cost_user_monthly` took about as many upserts
/// as all the other rollups together.
///
/// The triggers that move a merged, duplicate or repriced call's sums update rows in place
/// (`UPDATE ... WHERE month = ... AND user_id = ...`, `0008_spans_by_trace_number.sql`), so a
/// row they look for must exist: a (month, user) the transaction has not written yet is written
/// with the first batch that counts it, and later batches' sums wait here. Sums only add, so
/// their order does not matter.
#[derive(Debug, Default)]
pub struct UserMonths {
    /// month -> user -> sums not written yet; a user is here once the transaction has written
    /// its row.
    pending: FxHashMap<i64, FxHashMap<Box<str>, Sums>>,
}

impl UserMonths {
    /// Writes the sums waiting here, inside the transaction about to commit, and forgets which
    /// rows it wrote (another transaction may change them).
    pub fn write(&mut self, tx: &rusqlite::Transaction<'_>) -> Result<()> {
        let mut stmt = tx.prepare_cached(&upsert_user_sums("cost_user_monthly"))?;
        for (month, users) in self.pending.drain() {
            for (user, s) in users {
                if s != Sums::default() {
                    s.add_to_user_row(&mut stmt, month, &user)?;
                }
            }
        }
        Ok(())
    }

    /// Drops the sums waiting here, with the transaction they belonged to (rolled back).
    pub fn forget(&mut self) {
        self.pending.clear();
    }
}

/// The upsert that adds sums to a row of a users' rollup (`cost_user_daily`,
/// `cost_user_monthly`).
fn upsert_user_sums(table: &str) -> String {
    format!(
        "INSERT INTO {table} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT DO UPDATE SET requests = requests + excluded.requests,
             errors = errors + excluded.errors, unpriced = unpriced + excluded.unpriced,
             input_tokens = input_tokens + excluded.input_tokens,
             output_tokens = output_tokens + excluded.output_tokens,
             cost = cost + excluded.cost"
    )
}

/// The new model calls of one write batch, summed per group, written with one upsert each.
/// Keys borrow from the batch's spans, so summing allocates nothing per span. Each call is
/// summed into three maps only (by hour and every key, by day and user, by month and user);
/// the daily and single-key rollups are summed from the hourly groups when written, which are
/// several times fewer than the calls. The users' monthly sums go on to a [`UserMonths`].
#[derive(Debug, Default)]
pub struct RollupBatch<'a> {
    hourly: FxHashMap<(i64, GroupKeys<'a>), Sums>,
    users: FxHashMap<(i64, &'a str), Sums>,
    /// (month, user) -> sums, for `cost_user_monthly`.
    users_monthly: FxHashMap<(i64, &'a str), Sums>,
    /// The last (day, month) looked up: spans come in runs of the same day.
    last_month: Option<(i64, i64)>,
}

impl<'a> RollupBatch<'a> {
    /// A batch with room for the groups of about `calls` model calls, so that summing them
    /// does not grow its maps again and again.
    pub fn with_capacity(calls: usize) -> Self {
        RollupBatch {
            hourly: FxHashMap::with_capacity_and_hasher(calls / 4, Default::default()),
            users: FxHashMap::with_capacity_and_hasher(calls / 2, Default::default()),
            users_monthly: FxHashMap::with_capacity_and_hasher(calls / 2, Default::default()),
            last_month: None,
        }
    }

    /// Counts a newly inserted span (only model calls that are not duplicates count); true when
    /// it counted.
    pub fn add(&mut self, span: &'a crate::model::Span) -> bool {
        use crate::model::{SpanKind, SpanStatus};
        if !matches!(span.kind, SpanKind::Llm | SpanKind::Embedding) || span.duplicate_of.is_some()
        {
            return false;
        }
        let s = Sums {
            requests: 1,
            errors: i64::from(span.status == SpanStatus::Error),
            unpriced: i64::from(span.unpriced),
            input: span.usage.input.unwrap_or(0),
            output: span.usage.output.unwrap_or(0),
            cache_read: span.usage.cache_read.unwrap_or(0),
            cache_write: span.usage.cache_write.unwrap_or(0),
            reasoning: span.usage.reasoning.unwrap_or(0),
            cost: span.cost.unwrap_or(0.0),
            reported_cost: span.reported_cost.unwrap_or(0.0),
            cost_reported: if span.reported_cost.is_some() {
                span.cost.unwrap_or(0.0)
            } else {
                0.0
            },
        };
        let a = &span.attribution;
        let text = |v: &'a Option<String>| v.as_deref().unwrap_or("");
        let keys: GroupKeys<'a> = [
            text(&a.tenant),
            text(&a.endpoint),
            span.request_model
                .as_deref()
                .or(span.response_model.as_deref())
                .unwrap_or(""),
            text(&span.prompt_name),
            text(&span.prompt_version),
            text(&a.feature),
            text(&a.environment),
        ];
        let hour = span.start_ns.div_euclid(NS_PER_HOUR);
        let day = span.start_ns.div_euclid(NS_PER_DAY);
        self.hourly.entry((hour, keys)).or_default().add(&s);
        let month = match self.last_month {
            Some((d, m)) if d == day => m,
            _ => {
                let m = month_of_day(day);
                self.last_month = Some((day, m));
                m
            }
        };
        let user = text(&a.user);
        self.users_monthly.entry((month, user)).or_default().add(&s);
        self.users.entry((day, user)).or_default().add(&s);
        true
    }

    /// Adds the batch to the rollup tables, and its users' monthly sums to `months` (writing
    /// the rows `months` has not written yet in this transaction).
    pub fn write(self, tx: &rusqlite::Transaction<'_>, months: &mut UserMonths) -> Result<()> {
        const HOURS_PER_DAY: i64 = NS_PER_DAY / NS_PER_HOUR;
        let mut daily: FxHashMap<(i64, GroupKeys<'a>), Sums> = FxHashMap::default();
        // (dimension code, hour, key) -> sums, for `cost_hourly_by`.
        let mut hourly_by: FxHashMap<(i64, i64, &'a str), Sums> = FxHashMap::default();
        for ((hour, keys), s) in &self.hourly {
            daily
                .entry((hour.div_euclid(HOURS_PER_DAY), *keys))
                .or_default()
                .add(s);
            hourly_by.entry((0, *hour, "")).or_default().add(s);
            for (i, key) in keys.iter().enumerate() {
                hourly_by
                    .entry((i as i64 + 1, *hour, key))
                    .or_default()
                    .add(s);
            }
        }
        const SET: &str = "ON CONFLICT DO UPDATE SET requests = requests + excluded.requests,
            errors = errors + excluded.errors, unpriced = unpriced + excluded.unpriced,
            input_tokens = input_tokens + excluded.input_tokens,
            output_tokens = output_tokens + excluded.output_tokens,
            cache_read = cache_read + excluded.cache_read,
            cache_write = cache_write + excluded.cache_write, reasoning = reasoning + excluded.reasoning,
            cost = cost + excluded.cost, reported_cost = reported_cost + excluded.reported_cost,
            cost_reported = cost_reported + excluded.cost_reported";
        for (table, groups) in [("cost_hourly", &self.hourly), ("cost_daily", &daily)] {
            if groups.is_empty() {
                continue;
            }
            let mut stmt = tx.prepare_cached(&format!(
                "INSERT INTO {table} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                 ?13, ?14, ?15, ?16, ?17, ?18, ?19) {SET}"
            ))?;
            for ((at, keys), s) in groups {
                let keys = keys.iter().map(|k| Param::Text(k));
                let values = std::iter::once(Param::Integer(*at)).chain(keys);
                stmt.execute(params_from_iter(values.chain(s.columns())))?;
            }
        }
        if !hourly_by.is_empty() {
            let mut stmt = tx.prepare_cached(&format!(
                "INSERT INTO cost_hourly_by VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                 ?12, ?13, ?14) {SET}"
            ))?;
            for ((dim, hour, key), s) in &hourly_by {
                let keys = [
                    Param::Integer(*dim),
                    Param::Integer(*hour),
                    Param::Text(key),
                ];
                stmt.execute(params_from_iter(keys.into_iter().chain(s.columns())))?;
            }
        }
        if !self.users.is_empty() {
            let mut stmt = tx.prepare_cached(&upsert_user_sums("cost_user_daily"))?;
            for ((day, user), s) in &self.users {
                s.add_to_user_row(&mut stmt, *day, user)?;
            }
        }
        if !self.users_monthly.is_empty() {
            let mut stmt = tx.prepare_cached(&upsert_user_sums("cost_user_monthly"))?;
            for ((month, user), s) in &self.users_monthly {
                let users = months.pending.entry(*month).or_default();
                match users.get_mut(*user) {
                    Some(waiting) => waiting.add(s),
                    None => {
                        s.add_to_user_row(&mut stmt, *month, user)?;
                        users.insert((*user).into(), Sums::default());
                    }
                }
            }
        }
        Ok(())
    }
}

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
    // Whole days read the daily table (24 times fewer rows); hours or a range that cuts a day
    // read an hourly one: `cost_hourly_by` (one key per row) when the breakdown has at most one
    // dimension and no filter, else `cost_hourly` (every combination of keys). Users over
    // whole months read `cost_user_monthly`, and only the days at the edges `cost_user_daily`.
    let day_aligned = since_ns.rem_euclid(NS_PER_DAY) == 0 && until_ns.rem_euclid(NS_PER_DAY) == 0;
    let daily = user || (per != Per::Hour && day_aligned);
    let narrow = !daily && dims.len() <= 1 && filters.is_empty();
    let unit_ns = if daily { NS_PER_DAY } else { NS_PER_HOUR };
    let from = since_ns.div_euclid(unit_ns);
    let to = (until_ns + unit_ns - 1).div_euclid(unit_ns);
    // (month_from, month_to): the whole calendar months inside [from, to) days.
    let whole_months = (user && per != Per::Day)
        .then(|| {
            let first = month_of_day(from - 1) + 1;
            let last = month_of_day(to);
            (first < last).then_some((first, last))
        })
        .flatten();
    // Each source ends in a WHERE clause, which the filters below extend with AND.
    let (source, time_col) = if let Some((m_from, m_to)) = whole_months {
        let (d_from, d_to) = (first_day_of_month(m_from), first_day_of_month(m_to));
        (
            format!(
                "(SELECT user_id, month, requests, errors, unpriced, input_tokens, output_tokens, cost
                  FROM cost_user_monthly WHERE month >= {m_from} AND month < {m_to}
                  UNION ALL
                  SELECT user_id, {MONTH_OF_DAY}, requests, errors, unpriced, input_tokens,
                         output_tokens, cost
                  FROM cost_user_daily
                  WHERE (day >= ?1 AND day < {d_from}) OR (day >= {d_to} AND day < ?2))
                 WHERE true"
            ),
            "month",
        )
    } else if user {
        (
            "cost_user_daily WHERE day >= ?1 AND day < ?2".to_owned(),
            "day",
        )
    } else if daily {
        ("cost_daily WHERE day >= ?1 AND day < ?2".to_owned(), "day")
    } else if narrow {
        let code = dims.first().map_or(0, |d| d.code());
        (
            format!("cost_hourly_by WHERE dim = {code} AND hour >= ?1 AND hour < ?2"),
            "hour",
        )
    } else {
        (
            "cost_hourly WHERE hour >= ?1 AND hour < ?2".to_owned(),
            "hour",
        )
    };
    let period_expr = match (per, time_col) {
        (Per::Total, _) => "NULL".to_owned(),
        (Per::Hour, _) => "hour".to_owned(),
        (Per::Day, "hour") => "hour / 24".to_owned(),
        (Per::Day, _) => "day".to_owned(),
        (Per::Month, "month") => "month".to_owned(),
        (Per::Month, "hour") => "strftime('%Y-%m', hour * 3600, 'unixepoch')".to_owned(),
        (Per::Month, _) => "strftime('%Y-%m', day * 86400, 'unixepoch')".to_owned(),
    };
    let key_cols: Vec<&str> = dims
        .iter()
        .map(|d| if narrow { "key" } else { d.column() })
        .collect();
    let mut select = key_cols.join(", ");
    if !select.is_empty() {
        select.push_str(", ");
    }
    let token_cols = if user {
        "sum(requests), sum(errors), sum(unpriced), sum(input_tokens), sum(output_tokens), 0, 0, 0, sum(cost), 0.0, 0.0"
    } else {
        "sum(requests), sum(errors), sum(unpriced), sum(input_tokens), sum(output_tokens), sum(cache_read), sum(cache_write), sum(reasoning), sum(cost), sum(reported_cost), sum(cost_reported)"
    };
    let mut sql = format!("SELECT {select}{period_expr}, {token_cols} FROM {source}");
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
    // Formatting a date costs more than reading a row: each period's label is made once.
    let mut labels: FxHashMap<i64, String> = FxHashMap::default();
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        let mut keys = Vec::with_capacity(n);
        for i in 0..n {
            keys.push(r.get::<_, String>(i)?);
        }
        let period: Option<SqlValue> = r.get(n)?;
        let period = match (per, period) {
            (Per::Total, _) | (_, None) | (_, Some(SqlValue::Null)) => None,
            (_, Some(SqlValue::Integer(at))) => Some(
                labels
                    .entry(at)
                    .or_insert_with(|| match per {
                        Per::Hour => hour_label(at),
                        Per::Day => day_label(at),
                        _ => month_label(at),
                    })
                    .clone(),
            ),
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

fn month_label(month: i64) -> String {
    format!(
        "{:04}-{:02}",
        1970 + month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// Months since January 1970 of a day (days since the Unix epoch, UTC).
fn month_of_day(day: i64) -> i64 {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|t| (i64::from(t.year()) - 1970) * 12 + i64::from(t.month0()))
        .unwrap_or(0)
}

/// The first day (days since the Unix epoch) of a month (months since January 1970).
fn first_day_of_month(month: i64) -> i64 {
    let year = i32::try_from(1970 + month.div_euclid(12)).unwrap_or(1970);
    chrono::NaiveDate::from_ymd_opt(year, month.rem_euclid(12) as u32 + 1, 1)
        .map(|d| {
            d.signed_duration_since(chrono::NaiveDate::default())
                .num_days()
        })
        .unwrap_or(0)
}

/// SQL for the month of `day` (as [`month_of_day`]).
const MONTH_OF_DAY: &str = "(CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) - 1970) * 12 + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1";

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
    crate::store::spans::set_costs(&tx, &changes)?;
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

/// Sums of the stored model calls per (tenant, day), read from the spans themselves: what the
/// rollups must equal (the tests check it).
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
