//! Cost: calls priced at import, rollups that stay exact under re-import, repricing and late
//! data, and breakdowns that sum to the total.

use std::collections::BTreeMap;

use assay::api::json::{CostQuery, ImportArgs, TraceGet};
use assay::api::Api;
use assay::generate::{generate, GenerateOptions};

use crate::temp_workspace;

fn import(api: &Api, path: &std::path::Path) {
    let outcome = api
        .import_paths(&ImportArgs {
            paths: vec![path.display().to_string()],
        })
        .unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

fn month(dir: &std::path::Path, spans: u64) -> std::path::PathBuf {
    let path = dir.join("month.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    generate(
        &GenerateOptions {
            spans,
            ..Default::default()
        },
        Some(&mut file),
        None,
    )
    .unwrap();
    drop(file);
    path
}

fn by_tenant_day(api: &Api) -> BTreeMap<(String, String), (i64, f64)> {
    let report = api
        .cost_breakdown(&CostQuery {
            by: vec!["tenant".into()],
            per: Some("day".into()),
            since: Some("2026-09-01".into()),
            until: Some("2026-12-01".into()),
            ..Default::default()
        })
        .unwrap();
    let sum: f64 = report.rows.iter().map(|r| r.totals.cost).sum();
    assert!(
        (sum - report.total.cost).abs() < 1e-6,
        "rows sum to the total"
    );
    report
        .rows
        .into_iter()
        .map(|r| {
            let tenant = if r.keys[0] == "(none)" {
                String::new()
            } else {
                r.keys[0].clone()
            };
            (
                (tenant, r.period.unwrap()),
                (r.totals.requests, r.totals.cost),
            )
        })
        .collect()
}

/// Per tenant and day, straight from the stored spans (what the rollups must equal).
fn raw(dir: &std::path::Path) -> BTreeMap<(String, String), (i64, f64)> {
    let store = assay::store::Store::open(&dir.join(".assay/assay.db")).unwrap();
    assay::store::cost::raw_sums_by_tenant_day(&store)
        .unwrap()
        .into_iter()
        .filter(|(_, (n, _))| *n > 0)
        .collect()
}

fn assert_same(
    rollup: &BTreeMap<(String, String), (i64, f64)>,
    raw: &BTreeMap<(String, String), (i64, f64)>,
) {
    assert_eq!(rollup.len(), raw.len(), "the same tenant-days");
    for (key, (n, cost)) in raw {
        let (rn, rcost) = rollup.get(key).unwrap_or_else(|| panic!("{key:?} missing"));
        assert_eq!(rn, n, "{key:?} calls");
        assert!(
            (rcost - cost).abs() < 0.005,
            "{key:?}: {rcost} vs {cost} (to the cent)"
        );
    }
}

#[test]
fn a_known_call_costs_what_the_price_list_says() {
    let (dir, api) = temp_workspace();
    import(
        &api,
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/otlp/openinference-python/traces.json"),
    );
    drop(dir);
    let spans = api
        .trace_get(&TraceGet {
            trace_id: "e18dabc1874414570b9a86b06f1ed2dd".into(),
        })
        .unwrap()
        .spans;
    let chat = spans
        .iter()
        .find(|s| s.span_id == "fca2f8b03f5b1d68")
        .unwrap();
    // gpt-4o-mini-2024-07-18 -> gpt-4o-mini at $0.15 in / $0.60 out per million:
    // 133 x 0.15 + 11 x 0.60 = 19.95 + 6.60 = 26.55 micro-dollars.
    assert!(
        (chat.cost.unwrap() - 26.55e-6).abs() < 1e-12,
        "{:?}",
        chat.cost
    );
    assert!(!chat.unpriced);
    let chain = spans.iter().find(|s| s.kind == "chain").unwrap();
    assert_eq!(chain.cost, None, "only model calls are priced");
}

#[test]
fn rollups_equal_the_raw_spans_and_stay_exact_under_reimport_and_repricing() {
    let (dir, api) = temp_workspace();
    let file = month(dir.path(), 20_000);
    import(&api, &file);
    let first = by_tenant_day(&api);
    assert!(first.len() > 30, "tenants x days: {}", first.len());
    assert_same(&first, &raw(dir.path()));
    // The hourly rollup holds the same as the daily one.
    let hourly = api
        .cost_breakdown(&CostQuery {
            by: vec!["tenant".into()],
            per: Some("hour".into()),
            since: Some("2026-09-01".into()),
            until: Some("2026-12-01".into()),
            ..Default::default()
        })
        .unwrap();
    let daily_total: f64 = first.values().map(|v| v.1).sum();
    assert!((hourly.total.cost - daily_total).abs() < 1e-6);
    assert_eq!(
        hourly.total.requests,
        first.values().map(|v| v.0).sum::<i64>()
    );

    // The same file again: nothing counted twice.
    import(&api, &file);
    assert_same(&by_tenant_day(&api), &first);

    // A price change: gpt-4o doubled from 2026-10-15 (an override in prices.toml).
    std::fs::write(
        dir.path().join("prices.toml"),
        r#"
[[prices]]
id = "team/gpt-4o"
provider = "openai"
model = "gpt-4o"
effective_from = "2026-10-15"
input = 5.0
output = 20.0
cache_read = 2.5
source = "our contract"
as_of = "2026-10-15"
"#,
    )
    .unwrap();
    let report = api.cost_reprice(None).unwrap();
    assert!(report.changed > 0);
    let repriced = by_tenant_day(&api);
    assert_same(&repriced, &raw(dir.path()));
    let before: f64 = first.values().map(|v| v.1).sum();
    let after: f64 = repriced.values().map(|v| v.1).sum();
    assert!(after > before, "{after} > {before}");
    // Days before the change cost the same as before.
    for ((tenant, day), (_, cost)) in &repriced {
        if day.as_str() < "2026-10-15" {
            let old = first[&(tenant.clone(), day.clone())].1;
            assert!((cost - old).abs() < 1e-9, "{tenant} {day}");
        }
    }
    // Idempotent.
    assert_eq!(api.cost_reprice(None).unwrap().changed, 0);
    assert_same(&by_tenant_day(&api), &repriced);
}

/// Rows of a breakdown as (keys, period) -> (calls, cost).
type Table = BTreeMap<(Vec<String>, Option<String>), (i64, f64)>;

fn breakdown(api: &Api, by: &str, per: Option<&str>, since: &str, until: &str) -> Table {
    let report = api
        .cost_breakdown(&CostQuery {
            by: vec![by.into()],
            per: per.map(str::to_owned),
            since: Some(since.into()),
            until: Some(until.into()),
            ..Default::default()
        })
        .unwrap();
    report
        .rows
        .into_iter()
        .map(|r| {
            let keys = r
                .keys
                .into_iter()
                .map(|k| if k == "(none)" { String::new() } else { k })
                .collect();
            ((keys, r.period), (r.totals.requests, r.totals.cost))
        })
        .collect()
}

/// The same straight from the stored spans: `key` and `period` are SQL over a span row.
fn raw_table(dir: &std::path::Path, key: &str, period: &str, since: &str, until: &str) -> Table {
    let conn = rusqlite::Connection::open(dir.join(".assay/assay.db")).unwrap();
    let sql = format!(
        "SELECT {key}, {period}, count(*), sum(coalesce(cost, 0)) FROM spans
         WHERE kind IN ('llm', 'embedding') AND duplicate_of IS NULL
           AND start_ns >= unixepoch(?1) * 1000000000 AND start_ns < unixepoch(?2) * 1000000000
         GROUP BY 1, 2"
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt
        .query_map([since, until], |r| {
            Ok((
                (vec![r.get::<_, String>(0)?], r.get::<_, Option<String>>(1)?),
                (r.get::<_, i64>(2)?, r.get::<_, f64>(3)?),
            ))
        })
        .unwrap();
    rows.collect::<rusqlite::Result<Table>>().unwrap()
}

fn assert_tables(what: &str, rollup: &Table, raw: &Table) {
    assert_eq!(
        rollup.keys().collect::<Vec<_>>(),
        raw.keys().collect::<Vec<_>>(),
        "{what}: the same groups"
    );
    for (key, (n, cost)) in raw {
        let (rn, rcost) = rollup[key];
        assert_eq!(rn, *n, "{what} {key:?}: calls");
        // Sums of many costs, added in another order, differ in their last digits.
        assert!(
            (rcost - cost).abs() < 1e-9 * cost.abs().max(1.0),
            "{what} {key:?}: {rcost} vs {cost}"
        );
    }
}

/// Every breakdown the narrower rollups answer (one key per hour; users per whole month plus
/// the days at the edges) equals the raw spans, after import, re-import and repricing.
fn assert_narrow_rollups_exact(dir: &std::path::Path, api: &Api) {
    let hour = "strftime('%Y-%m-%dT%H', start_ns / 1000000000, 'unixepoch')";
    let month = "strftime('%Y-%m', start_ns / 1000000000, 'unixepoch')";
    let user = "coalesce(user_id, '')";
    let model = "coalesce(request_model, response_model, '')";
    let (since, until) = ("2026-10-20", "2026-12-01");
    assert_tables(
        "model per hour",
        &breakdown(api, "model", Some("hour"), since, until),
        &raw_table(dir, model, hour, since, until),
    );
    // A whole month (November) and twelve days of October.
    let users = breakdown(api, "user", None, since, until);
    assert!(users.len() > 1000, "{} users", users.len());
    assert_tables("users", &users, &raw_table(dir, user, "NULL", since, until));
    assert_tables(
        "users per month",
        &breakdown(api, "user", Some("month"), since, until),
        &raw_table(dir, user, month, since, until),
    );
    // Within one month: no whole month, only days.
    assert_tables(
        "users within a month",
        &breakdown(api, "user", None, "2026-11-03", "2026-11-09"),
        &raw_table(dir, user, "NULL", "2026-11-03", "2026-11-09"),
    );
}

#[test]
fn narrower_rollups_stay_exact_across_months_reimport_and_repricing() {
    let (dir, api) = temp_workspace();
    let path = dir.path().join("straddle.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    generate(
        &GenerateOptions {
            spans: 12_000,
            // 2026-10-15 for 30 days: half in October, half in November.
            start_ns: 1_792_022_400_000_000_000,
            ..Default::default()
        },
        Some(&mut file),
        None,
    )
    .unwrap();
    drop(file);
    import(&api, &path);
    assert_narrow_rollups_exact(dir.path(), &api);
    import(&api, &path);
    assert_narrow_rollups_exact(dir.path(), &api);
    std::fs::write(
        dir.path().join("prices.toml"),
        "[[prices]]\nid = \"team/gpt-4o\"\nprovider = \"openai\"\nmodel = \"gpt-4o\"\neffective_from = \"2026-11-02\"\ninput = 5.0\noutput = 20.0\nsource = \"our contract\"\nas_of = \"2026-11-02\"\n",
    )
    .unwrap();
    assert!(api.cost_reprice(None).unwrap().changed > 0);
    assert_narrow_rollups_exact(dir.path(), &api);
}

/// One OTLP/JSON document of one gpt-4o-mini call of tenant acme on 2026-10-02, span `span_id`,
/// with `more` attributes (OTLP/JSON key-values, each after a comma).
fn model_call(span_id: &str, more: &str) -> String {
    format!(
        r#"{{"resourceSpans": [{{"resource": {{"attributes": []}}, "scopeSpans": [{{"spans": [{{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "{span_id}",
            "name": "chat gpt-4o-mini", "startTimeUnixNano": "1790900000000000000",
            "endTimeUnixNano": "1790900001000000000",
            "attributes": [{{"key": "gen_ai.operation.name", "value": {{"stringValue": "chat"}}}},
                           {{"key": "gen_ai.request.model", "value": {{"stringValue": "gpt-4o-mini"}}}},
                           {{"key": "tenant.id", "value": {{"stringValue": "acme"}}}}{more}]}}]}}]}}]}}"#
    )
}

#[test]
fn a_call_whose_usage_arrives_later_is_costed_when_it_does() {
    let (dir, api) = temp_workspace();
    let early = dir.path().join("early.json");
    std::fs::write(&early, model_call("eee19b7ec3c1b174", "")).unwrap();
    import(&api, &early);
    let totals = |api: &Api| {
        api.cost_breakdown(&CostQuery {
            since: Some("2026-09-01".into()),
            until: Some("2026-12-01".into()),
            ..Default::default()
        })
        .unwrap()
        .total
    };
    let t = totals(&api);
    assert_eq!((t.requests, t.cost), (1, 0.0));
    let late = dir.path().join("late.json");
    std::fs::write(
        &late,
        model_call(
            "eee19b7ec3c1b174",
            r#", {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000000"}},
               {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "1000000"}}"#,
        ),
    )
    .unwrap();
    import(&api, &late);
    let t = totals(&api);
    assert_eq!(t.requests, 1, "the same call, completed");
    // One million tokens each way: $0.15 + $0.60.
    assert!((t.cost - 0.75).abs() < 1e-9, "{}", t.cost);
    assert_eq!(t.input_tokens, 1_000_000);
}

/// [`model_call`] on one line, with a million input tokens, `output` output tokens and `user`.
fn user_call(span_id: &str, user: &str, output: u32) -> String {
    model_call(
        span_id,
        &format!(
            r#", {{"key": "gen_ai.usage.input_tokens", "value": {{"intValue": "1000000"}}}},
               {{"key": "gen_ai.usage.output_tokens", "value": {{"intValue": "{output}"}}}},
               {{"key": "user.id", "value": {{"stringValue": "{user}"}}}}"#
        ),
    )
    .replace('\n', " ")
}

/// A call exported twice in one file (a partial record, then the complete one) is written in
/// one batch: the rollups count it once, with what its last record says, as the stored span
/// does.
#[test]
fn a_call_that_arrives_twice_in_one_file_is_counted_once_as_completed() {
    let (dir, api) = temp_workspace();
    let record = |span: &str, user: &str, output: u32| user_call(span, user, output);
    let path = dir.path().join("twice.jsonl");
    let lines = [
        record("eee19b7ec3c1b174", "ann", 0),
        record("aaa19b7ec3c1b175", "bob", 1_000_000),
        record("eee19b7ec3c1b174", "ann", 2_000_000),
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    import(&api, &path);
    let (since, until) = ("2026-09-01", "2026-12-01");
    let hour = "strftime('%Y-%m-%dT%H', start_ns / 1000000000, 'unixepoch')";
    let day = "strftime('%Y-%m-%d', start_ns / 1000000000, 'unixepoch')";
    let month = "strftime('%Y-%m', start_ns / 1000000000, 'unixepoch')";
    let user = "coalesce(user_id, '')";
    // Two calls: $0.15 + $1.20 for ann's, completed; $0.15 + $0.60 for bob's.
    let raw = raw_table(dir.path(), "coalesce(tenant, '')", day, since, until);
    assert_eq!(raw.values().map(|v| v.0).sum::<i64>(), 2);
    assert!((raw.values().map(|v| v.1).sum::<f64>() - 2.1).abs() < 1e-9);
    for (what, by, per, key, period) in [
        (
            "tenant per day",
            "tenant",
            Some("day"),
            "coalesce(tenant, '')",
            day,
        ),
        (
            "tenant per hour",
            "tenant",
            Some("hour"),
            "coalesce(tenant, '')",
            hour,
        ),
        ("users per day", "user", Some("day"), user, day),
        ("users per month", "user", Some("month"), user, month),
    ] {
        assert_tables(
            what,
            &breakdown(&api, by, per, since, until),
            &raw_table(dir.path(), key, period, since, until),
        );
    }
    let totals = api
        .cost_breakdown(&CostQuery {
            since: Some(since.into()),
            until: Some(until.into()),
            ..Default::default()
        })
        .unwrap()
        .total;
    assert_eq!(totals.requests, 2);
    assert_eq!(totals.output_tokens, 3_000_000);
}

/// The users' monthly sums are written once per transaction, while the triggers move a merged
/// call's sums when it merges. A call counted in the first batch of a transaction and
/// completed in the next one must move its user's month too.
#[test]
fn a_call_completed_a_batch_later_in_the_same_transaction_moves_its_users_month() {
    let (dir, api) = temp_workspace();
    // Each in a trace of its own.
    let record = |trace: usize, span: &str, user: &str, output: u32| {
        user_call(span, user, output)
            .replace("5b8efff798038103d269b633813fc60c", &format!("{trace:032x}"))
    };
    // Ann's call, a whole batch of bob's calls (each its own trace), then ann's call completed:
    // the completed record is written in the second batch of the import's first transaction.
    let mut lines = vec![record(1, "eee19b7ec3c1b174", "ann", 0)];
    lines.extend(
        (0..assay::import::BATCH).map(|i| record(i + 2, &format!("{:016x}", i + 2), "bob", 1)),
    );
    lines.push(record(1, "eee19b7ec3c1b174", "ann", 2_000_000));
    let path = dir.path().join("later.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    import(&api, &path);
    let (since, until) = ("2026-09-01", "2026-12-01");
    let month = "strftime('%Y-%m', start_ns / 1000000000, 'unixepoch')";
    let user = "coalesce(user_id, '')";
    let rollup = breakdown(&api, "user", Some("month"), since, until);
    assert_tables(
        "users per month",
        &rollup,
        &raw_table(dir.path(), user, month, since, until),
    );
    // $0.15 for the input and $1.20 for the output of ann's completed call.
    let ann = rollup[&(vec!["ann".to_owned()], Some("2026-10".to_owned()))];
    assert_eq!(ann.0, 1);
    assert!((ann.1 - 1.35).abs() < 1e-9, "{}", ann.1);
}

#[test]
fn unpriced_models_are_listed_not_costed_at_zero_and_top_sums_the_rest() {
    let (dir, api) = temp_workspace();
    let file = month(dir.path(), 5_000);
    import(&api, &file);
    let report = api
        .cost_breakdown(&CostQuery {
            by: vec!["tenant".into()],
            top: Some(3),
            since: Some("2026-09-01".into()),
            until: Some("2026-12-01".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(report.rows.len(), 4, "three tenants and other");
    assert!(report.rows.iter().any(|r| r.keys == ["other"]));
    let shares: f64 = report.rows.iter().map(|r| r.share).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    assert!(
        report.unpriced_models.is_empty(),
        "{:?}",
        report.unpriced_models
    );
    assert!(report.total.cost_per_1k_requests.unwrap() > 0.0);
    let chart = api
        .cost_chart(&assay::api::json::CostChartArgs {
            by: Some("model".into()),
            since: Some("2026-10-01".into()),
            until: Some("2026-10-31".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(chart.periods.len(), 30);
    assert!(chart.svg.contains("<title>"));
}
