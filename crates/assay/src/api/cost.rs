//! Cost: breakdowns by attribution key and period, charts, and repricing.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration as Days, NaiveDate, NaiveDateTime};

use super::json::*;
use super::{parse_time, Api};
use crate::chart::{self, ChartKind, ChartSpec, Series, Theme, ValueFormat};
use crate::error::{Error, Result};
use crate::store::cost::{self as rollups, Dim, Group, Per, RepriceReport, Sums};

const NS_PER_DAY: i64 = 86_400_000_000_000;
/// How much computed and reported cost may differ before the dashboard says so.
const DISAGREEMENT: f64 = 0.05;

fn invalid(command: &str, message: String) -> Error {
    Error::InvalidArguments {
        command: command.into(),
        message,
    }
}

fn parse_dims(command: &str, names: &[String]) -> Result<Vec<Dim>> {
    names
        .iter()
        .map(|n| {
            Dim::parse(n).ok_or_else(|| {
                invalid(
                    command,
                    format!("{n:?} is not one of {}", COST_DIMENSIONS.join(", ")),
                )
            })
        })
        .collect()
}

fn parse_per(command: &str, per: Option<&str>, default: Per) -> Result<Per> {
    Ok(match per {
        None => default,
        Some("day") => Per::Day,
        Some("hour") => Per::Hour,
        Some("month") => Per::Month,
        Some("total") | Some("") => Per::Total,
        Some(other) => {
            return Err(invalid(
                command,
                format!("per: {other:?} is not one of day, hour, month"),
            ))
        }
    })
}

fn parse_filters(command: &str, filters: &BTreeMap<String, String>) -> Result<Vec<(Dim, String)>> {
    filters
        .iter()
        .map(|(k, v)| {
            let dim = Dim::parse(k).ok_or_else(|| {
                invalid(
                    command,
                    format!("filter {k:?} is not one of {}", COST_DIMENSIONS.join(", ")),
                )
            })?;
            // "(none)" is how an absent key is shown; it filters for the absent key.
            let value = if v == NONE { String::new() } else { v.clone() };
            Ok((dim, value))
        })
        .collect()
}

/// How a missing key is shown.
const NONE: &str = "(none)";
/// The group the rows beyond `top` are summed into.
const OTHER: &str = "other";

fn totals(s: &Sums) -> CostTotals {
    CostTotals {
        requests: s.requests,
        errors: s.errors,
        cost: s.cost,
        reported_cost: s.reported_cost,
        unpriced: s.unpriced,
        input_tokens: s.input,
        output_tokens: s.output,
        cache_read_tokens: s.cache_read,
        cache_write_tokens: s.cache_write,
        reasoning_tokens: s.reasoning,
        cost_per_1k_requests: (s.requests > 0).then(|| s.cost * 1000.0 / s.requests as f64),
    }
}

fn change(current: f64, previous: f64) -> Option<f64> {
    (previous > 0.0).then(|| (current - previous) / previous * 100.0)
}

fn previous_label(per: Per, label: &str) -> Option<String> {
    match per {
        Per::Total => None,
        Per::Day => NaiveDate::parse_from_str(label, "%Y-%m-%d")
            .ok()
            .map(|d| (d - Days::days(1)).format("%Y-%m-%d").to_string()),
        Per::Hour => NaiveDateTime::parse_from_str(&format!("{label}:00"), "%Y-%m-%dT%H:%M")
            .ok()
            .map(|t| (t - Days::hours(1)).format("%Y-%m-%dT%H").to_string()),
        Per::Month => NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| {
                let (y, m) = if d.month() == 1 {
                    (d.year() - 1, 12)
                } else {
                    (d.year(), d.month() - 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1)
            })
            .map(|d| d.format("%Y-%m").to_string()),
    }
}

/// Every period label from `since` to `until`, so charts show empty days as empty.
fn all_periods(per: Per, since_ns: i64, until_ns: i64) -> Vec<String> {
    let to_time = |ns: i64| chrono::DateTime::from_timestamp(ns.div_euclid(1_000_000_000), 0);
    let (Some(start), Some(end)) = (to_time(since_ns), to_time(until_ns - 1)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match per {
        Per::Total => {}
        Per::Day => {
            let mut d = start.date_naive();
            while d <= end.date_naive() && out.len() < 10_000 {
                out.push(d.format("%Y-%m-%d").to_string());
                d += Days::days(1);
            }
        }
        Per::Hour => {
            let mut t = start.naive_utc();
            while t <= end.naive_utc() && out.len() < 10_000 {
                out.push(t.format("%Y-%m-%dT%H").to_string());
                t += Days::hours(1);
            }
        }
        Per::Month => {
            let mut label = start.format("%Y-%m").to_string();
            let last = end.format("%Y-%m").to_string();
            while label <= last && out.len() < 1_000 {
                out.push(label.clone());
                let next = NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d")
                    .ok()
                    .map(|d| (d + Days::days(32)).format("%Y-%m").to_string());
                match next {
                    Some(n) => label = n,
                    None => break,
                }
            }
        }
    }
    out
}

impl Api {
    /// The range a cost query covers: `until` defaults to the end of the last day with model
    /// calls (or now), `since` to 30 days before `until`.
    fn cost_range(
        &self,
        command: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<(i64, i64)> {
        let bad = |m: String| invalid(command, m);
        let until_ns = match parse_time("until", until).map_err(bad)? {
            Some(t) => t,
            None => {
                let last = rollups::data_range(&self.store_for_reading())?.map(|(_, last)| last);
                match last {
                    Some(last) => (last.div_euclid(NS_PER_DAY) + 1) * NS_PER_DAY,
                    None => {
                        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
                        (now.div_euclid(NS_PER_DAY) + 1) * NS_PER_DAY
                    }
                }
            }
        };
        let since_ns = match parse_time("since", since).map_err(|m| invalid(command, m))? {
            Some(t) => t,
            None => until_ns - 30 * NS_PER_DAY,
        };
        if since_ns >= until_ns {
            return Err(invalid(command, "since must be before until".into()));
        }
        Ok((since_ns, until_ns))
    }

    /// Cost and usage of model calls by attribution keys and period, from the rollups: a table
    /// that sums to the total, each row's share and change against the previous period, the
    /// unpriced models and where reported and computed costs disagree.
    pub fn cost_breakdown(&self, query: &CostQuery) -> Result<CostReport> {
        let command = "cost_breakdown";
        let dims = parse_dims(command, &query.by)?;
        let per = parse_per(command, query.per.as_deref(), Per::Total)?;
        let filters = parse_filters(command, &query.filters)?;
        let (since, until) =
            self.cost_range(command, query.since.as_deref(), query.until.as_deref())?;
        let len = until - since;
        let store = self.store_for_reading();
        let mut groups = rollups::breakdown(&store, &dims, per, since, until, &filters)?;
        let previous_groups =
            rollups::breakdown(&store, &dims, Per::Total, since - len, since, &filters)?;
        // The previous period's last bucket, for the first period's change.
        let mut total = Sums::default();
        groups.iter().for_each(|g| total.add(&g.sums));
        let mut previous = Sums::default();
        previous_groups.iter().for_each(|g| previous.add(&g.sums));

        if let Some(top) = query.top.filter(|&t| t > 0 && !dims.is_empty()) {
            groups = keep_top(groups, top as usize, dims.len());
        }
        let mut by_key_period: HashMap<(Vec<String>, Option<String>), f64> = HashMap::new();
        for g in &groups {
            by_key_period.insert((g.keys.clone(), g.period.clone()), g.sums.cost);
        }
        // The bucket before the range, for the first period's change.
        let before: HashMap<(Vec<String>, Option<String>), f64> = if per == Per::Total {
            previous_groups
                .iter()
                .map(|g| ((g.keys.clone(), None), g.sums.cost))
                .collect()
        } else {
            let unit = match per {
                Per::Hour => 3_600_000_000_000,
                Per::Month => 31 * NS_PER_DAY,
                _ => NS_PER_DAY,
            };
            rollups::breakdown(&store, &dims, per, since - unit, since, &filters)?
                .into_iter()
                .map(|g| ((g.keys, g.period), g.sums.cost))
                .collect()
        };
        // A month per hour has 744 periods but thousands of rows: each label is worked out once.
        let mut previous_labels: HashMap<String, Option<String>> = HashMap::new();
        let mut rows: Vec<CostRow> = groups
            .into_iter()
            .map(|g| {
                let prev = match &g.period {
                    None => before.get(&(g.keys.clone(), None)).copied(),
                    Some(p) => previous_labels
                        .entry(p.clone())
                        .or_insert_with(|| previous_label(per, p))
                        .clone()
                        .and_then(|pl| {
                            let key = (g.keys.clone(), Some(pl));
                            by_key_period
                                .get(&key)
                                .or_else(|| before.get(&key))
                                .copied()
                        }),
                };
                CostRow {
                    keys: g
                        .keys
                        .iter()
                        .map(|k| {
                            if k.is_empty() {
                                NONE.to_owned()
                            } else {
                                k.clone()
                            }
                        })
                        .collect(),
                    period: g.period.clone(),
                    share: if total.cost > 0.0 {
                        g.sums.cost / total.cost
                    } else {
                        0.0
                    },
                    change_pct: prev.and_then(|p| change(g.sums.cost, p)),
                    totals: totals(&g.sums),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            a.period
                .cmp(&b.period)
                .then(b.totals.cost.total_cmp(&a.totals.cost))
                .then(a.keys.cmp(&b.keys))
        });

        let model_filters: Vec<(Dim, String)> = filters
            .iter()
            .filter(|(d, _)| *d != Dim::User)
            .cloned()
            .collect();
        let user_only = filters.iter().any(|(d, _)| *d == Dim::User);
        let (unpriced_models, disagreements) = if user_only {
            (Vec::new(), Vec::new())
        } else {
            let by_model = rollups::breakdown(
                &store,
                &[Dim::Model],
                Per::Total,
                since,
                until,
                &model_filters,
            )?;
            let mut unpriced: Vec<UnpricedModel> = by_model
                .iter()
                .filter(|g| g.sums.unpriced > 0)
                .map(|g| UnpricedModel {
                    model: if g.keys[0].is_empty() {
                        NONE.into()
                    } else {
                        g.keys[0].clone()
                    },
                    requests: g.sums.unpriced,
                })
                .collect();
            unpriced.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.model.cmp(&b.model)));
            let disagreements = by_model
                .into_iter()
                .filter(|g| g.sums.reported_cost > 0.0)
                .filter(|g| {
                    let (c, r) = (g.sums.cost_reported, g.sums.reported_cost);
                    (c - r).abs() > DISAGREEMENT * r.max(c)
                })
                .map(|g| CostDisagreement {
                    model: g.keys[0].clone(),
                    computed: g.sums.cost_reported,
                    reported: g.sums.reported_cost,
                })
                .collect();
            (unpriced, disagreements)
        };
        let rfc = |ns: i64| crate::model::format_time_ns(ns);
        Ok(CostReport {
            since: rfc(since),
            until: rfc(until),
            by: query.by.clone(),
            per: (per != Per::Total).then(|| query.per.clone().unwrap_or_default()),
            change_pct: change(total.cost, previous.cost),
            total: totals(&total),
            previous: totals(&previous),
            rows,
            unpriced_models,
            disagreements,
        })
    }

    fn cost_chart_spec(&self, args: &CostChartArgs) -> Result<(ChartSpec, Vec<String>)> {
        let command = "cost_chart";
        let dims = match &args.by {
            Some(by) if !by.is_empty() => parse_dims(command, std::slice::from_ref(by))?,
            _ => Vec::new(),
        };
        let per = parse_per(command, args.per.as_deref(), Per::Day)?;
        let per = if per == Per::Total { Per::Day } else { per };
        let filters = parse_filters(command, &args.filters)?;
        let (since, until) =
            self.cost_range(command, args.since.as_deref(), args.until.as_deref())?;
        let groups = rollups::breakdown(
            &self.store_for_reading(),
            &dims,
            per,
            since,
            until,
            &filters,
        )?;
        let periods = all_periods(per, since, until);
        let index: HashMap<&str, usize> = periods
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let mut series: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
        for g in &groups {
            let name = match g.keys.first() {
                Some(k) if k.is_empty() => NONE.to_owned(),
                Some(k) => k.clone(),
                None => "cost".to_owned(),
            };
            let values = series
                .entry(name)
                .or_insert_with(|| vec![Some(0.0); periods.len()]);
            if let Some(&i) = g.period.as_deref().and_then(|p| index.get(p)) {
                values[i] = Some(values[i].unwrap_or(0.0) + g.sums.cost);
            }
        }
        let series: Vec<Series> = series
            .into_iter()
            .map(|(name, values)| Series { name, values })
            .collect();
        let series = chart::top_n_with_other(&series, 9);
        let by_label = args.by.clone().unwrap_or_default();
        let title = if by_label.is_empty() {
            format!("Cost per {}", per_name(per))
        } else {
            format!("Cost per {} by {by_label}", per_name(per))
        };
        let names = series.iter().map(|s| s.name.clone()).collect();
        Ok((
            ChartSpec {
                title,
                kind: ChartKind::StackedBar,
                x_labels: periods,
                x_is_date: per == Per::Day,
                series,
                y_label: "USD".into(),
                format: ValueFormat::Usd,
                theme: if args.theme.as_deref() == Some("dark") {
                    Theme::Dark
                } else {
                    Theme::Light
                },
                width: args.width.unwrap_or(960),
                height: args.height.unwrap_or(360),
            },
            names,
        ))
    }

    /// Cost per period stacked by a dimension, as an SVG chart (with `<title>` tooltips).
    pub fn cost_chart(&self, args: &CostChartArgs) -> Result<CostChart> {
        let (spec, series) = self.cost_chart_spec(args)?;
        Ok(CostChart {
            svg: chart::render_svg(&spec)?,
            periods: spec.x_labels.clone(),
            series,
        })
    }

    /// The cost chart as PNG bytes (for `assay chart cost --out FILE.png`).
    pub fn cost_chart_png(&self, args: &CostChartArgs) -> Result<Vec<u8>> {
        let (spec, _) = self.cost_chart_spec(args)?;
        chart::render_png(&spec)
    }

    /// Prices every stored model call again with the current catalogue and the workspace's
    /// overrides (after a price change), in place; the rollups follow. Idempotent.
    pub fn cost_reprice(&self, since: Option<&str>) -> Result<RepriceReport> {
        let since = parse_time("since", since).map_err(|m| invalid("cost reprice", m))?;
        let catalogue = self.price_catalogue()?;
        rollups::reprice(&mut self.store(), &catalogue, since)
    }
}

fn per_name(per: Per) -> &'static str {
    match per {
        Per::Hour => "hour",
        Per::Month => "month",
        _ => "day",
    }
}

/// Keeps the `top` groups by cost over the whole range; the rest are summed per period into
/// one `other` group, so the table still sums to the total.
fn keep_top(groups: Vec<Group>, top: usize, dims: usize) -> Vec<Group> {
    let mut cost_by_keys: HashMap<Vec<String>, f64> = HashMap::new();
    for g in &groups {
        *cost_by_keys.entry(g.keys.clone()).or_default() += g.sums.cost;
    }
    let mut ranked: Vec<(Vec<String>, f64)> = cost_by_keys.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if ranked.len() <= top {
        return groups;
    }
    let kept: std::collections::HashSet<Vec<String>> =
        ranked.into_iter().take(top).map(|(k, _)| k).collect();
    let mut out = Vec::new();
    let mut other: BTreeMap<Option<String>, Sums> = BTreeMap::new();
    for g in groups {
        if kept.contains(&g.keys) {
            out.push(g);
        } else {
            other.entry(g.period.clone()).or_default().add(&g.sums);
        }
    }
    for (period, sums) in other {
        out.push(Group {
            keys: vec![OTHER.to_owned(); dims],
            period,
            sums,
        });
    }
    out
}
