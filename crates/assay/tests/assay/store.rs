//! Store behaviour across imports: idempotence, completion, orphans, interrupted batches.

use assay::api::json::{TraceGet, TraceQuery};
use assay::api::{self, Api};
use assay::workspace::Locate;

use crate::temp_workspace as open;

fn span_line(
    trace: &str,
    span: &str,
    parent: Option<&str>,
    start: i64,
    end: Option<i64>,
    extra: &str,
) -> String {
    let parent = parent
        .map(|p| format!(r#""parentSpanId":"{p}","#))
        .unwrap_or_default();
    let end = end
        .map(|e| format!(r#""endTimeUnixNano":"{e}","#))
        .unwrap_or_default();
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"{span}",{parent}{end}"name":"s-{span}","startTimeUnixNano":"{start}","attributes":[{extra}]}}]}}]}}]}}"#
    )
}

const T: &str = "0af7651916cd43dd8448eb211c80319c";

/// JSON lines of `n` traces of one span each.
fn one_span_traces(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        let trace = format!("{:032x}", i + 1);
        text.push_str(&span_line(
            &trace,
            "b7ad6b7169203331",
            None,
            1_000,
            Some(2_000),
            "",
        ));
        text.push('\n');
    }
    text
}

/// A generated month of about `spans` spans, imported and indexed.
fn import_generated(api: &Api, spans: u64) {
    let mut data = Vec::new();
    let options = assay::generate::GenerateOptions {
        spans,
        ..Default::default()
    };
    assay::generate::generate(&options, Some(&mut data), None).unwrap();
    api.import_bytes("month", &data).unwrap();
    api.index_search_text(usize::MAX).unwrap();
}

#[test]
fn a_span_that_arrives_again_with_an_end_time_is_completed_not_duplicated() {
    let (_d, api) = open();
    let open_span = span_line(T, "b7ad6b7169203331", None, 1_000, None, "");
    api.import_bytes("first", open_span.as_bytes()).unwrap();
    let before = api.trace_get(&TraceGet { trace_id: T.into() }).unwrap();
    assert_eq!(before.spans[0].duration_ms, 0.0, "still open");
    let closed = span_line(
        T,
        "b7ad6b7169203331",
        None,
        1_000,
        Some(5_000_000),
        r#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"7"}}"#,
    );
    let report = api.import_bytes("second", closed.as_bytes()).unwrap();
    assert_eq!((report.spans_new, report.spans_merged), (0, 1));
    assert_eq!(report.spans_unchanged, 0, "the end time changed it");
    let after = api.trace_get(&TraceGet { trace_id: T.into() }).unwrap();
    assert_eq!(after.spans.len(), 1);
    assert!((after.spans[0].duration_ms - 4.999).abs() < 1e-9);
    assert_eq!(after.spans[0].usage.input, Some(7));
    let list = api.traces_list(&TraceQuery::default()).unwrap();
    assert_eq!((list.total, list.traces[0].input_tokens), (1, 7));
}

#[test]
fn an_orphan_attaches_when_its_parent_arrives() {
    let (_d, api) = open();
    let child = span_line(
        T,
        "c7ad6b7169203331",
        Some("b7ad6b7169203331"),
        2_000,
        Some(3_000),
        "",
    );
    api.import_bytes("child", child.as_bytes()).unwrap();
    let alone = api.trace_get(&TraceGet { trace_id: T.into() }).unwrap();
    assert_eq!(
        alone.spans[0].depth, 0,
        "an orphan is shown as a root until its parent arrives"
    );
    assert_eq!(
        api.traces_list(&TraceQuery::default()).unwrap().traces[0].name,
        "s-c7ad6b7169203331"
    );
    let parent = span_line(T, "b7ad6b7169203331", None, 1_000, Some(9_000), "");
    api.import_bytes("parent", parent.as_bytes()).unwrap();
    let joined = api.trace_get(&TraceGet { trace_id: T.into() }).unwrap();
    let depths: Vec<(String, u32)> = joined
        .spans
        .iter()
        .map(|s| (s.span_id.clone(), s.depth))
        .collect();
    assert_eq!(
        depths,
        [
            ("b7ad6b7169203331".to_owned(), 0),
            ("c7ad6b7169203331".to_owned(), 1)
        ]
    );
    assert_eq!(
        api.traces_list(&TraceQuery::default()).unwrap().traces[0].name,
        "s-b7ad6b7169203331",
        "the root names the trace"
    );
}

#[test]
fn filters_and_full_text_search_find_the_right_traces() {
    let (_d, api) = open();
    let lines = [
        span_line(T, "b7ad6b7169203331", None, 1_000, Some(2_000), r#"{"key":"tenant","value":{"stringValue":"acme"}},{"key":"input.value","value":{"stringValue":"where is the invoice"}}"#),
        span_line("1af7651916cd43dd8448eb211c80319c", "c7ad6b7169203331", None, 5_000, Some(9_000), r#"{"key":"tenant","value":{"stringValue":"globex"}},{"key":"input.value","value":{"stringValue":"reset my password"}}"#),
    ]
    .join("\n");
    api.import_bytes("two", lines.as_bytes()).unwrap();
    let q = |f: fn(&mut TraceQuery)| {
        let mut query = TraceQuery::default();
        f(&mut query);
        api.traces_list(&query).unwrap()
    };
    assert_eq!(q(|_| {}).total, 2);
    let acme = q(|q| q.tenant = Some("acme".into()));
    assert_eq!((acme.total, acme.traces[0].trace_id.as_str()), (1, T));
    // Not yet indexed: search says so, then finds the words once the index has caught up.
    let pending = q(|q| q.search = Some("password".into()));
    assert_eq!(pending.search_pending, 2);
    api.index_search_text(usize::MAX).unwrap();
    let found = q(|q| q.search = Some("PASSWORD reset".into()));
    assert_eq!((found.total, found.search_pending), (1, 0));
    assert_eq!(found.traces[0].tenant.as_deref(), Some("globex"));
    assert_eq!(
        q(|q| q.search = Some("\"unbalanced".into())).total,
        0,
        "FTS syntax in the input is not an error"
    );
    assert_eq!(
        q(|q| q.sort = Some("slowest".into())).traces[0]
            .tenant
            .as_deref(),
        Some("globex")
    );
    let err = api
        .traces_list(&TraceQuery {
            since: Some("last tuesday".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("since"), "{err}");
    let facets = api.trace_facets(&Default::default()).unwrap();
    let tenants: Vec<&str> = facets.tenants.iter().map(|f| f.value.as_str()).collect();
    assert_eq!(tenants, ["acme", "globex"]);
}

#[test]
fn a_record_stream_keeps_its_committed_batches_and_a_rerun_completes_it() {
    let (_d, api) = open();
    // More lines than one batch, the last one broken: the good ones stay, and importing the
    // whole file again adds nothing twice.
    let n = assay::import::BATCH + 10;
    let mut text = one_span_traces(n);
    text.push_str("{\"resourceSpans\": [\n");
    let first = api.import_bytes("stream", text.as_bytes()).unwrap();
    assert_eq!((first.spans_new as usize, first.rejected_count), (n, 1));
    let again = api.import_bytes("stream", text.as_bytes()).unwrap();
    assert_eq!((again.spans_new, again.spans_merged as usize), (0, n));
    assert_eq!(
        again.spans_unchanged as usize, n,
        "each sent again as it was"
    );
    assert_eq!(
        api.traces_list(&TraceQuery::default()).unwrap().total as usize,
        n
    );
}

/// Reads `good`, then fails as a broken disk or a cut network stream would.
struct FailsAfter<'a> {
    good: &'a [u8],
}

impl std::io::Read for FailsAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.good.is_empty() {
            return Err(std::io::Error::other("the device went away"));
        }
        let n = buf.len().min(self.good.len());
        buf[..n].copy_from_slice(&self.good[..n]);
        self.good = &self.good[n..];
        Ok(n)
    }
}

#[test]
fn a_stream_that_fails_to_read_keeps_its_whole_batches_with_their_traces() {
    let (_d, api) = open();
    // Two whole batches and a few lines, then the reader fails: several batches share one
    // transaction, and what was written of them stays, with every trace summarised.
    let n = 2 * assay::import::BATCH + 7;
    let text = one_span_traces(n);
    let failed = api.import_reader(
        "stream",
        FailsAfter {
            good: text.as_bytes(),
        },
        Default::default(),
    );
    let message = failed
        .expect_err("a read error fails the import")
        .to_string();
    assert!(message.contains("the device went away"), "{message}");
    let kept = api.traces_list(&TraceQuery::default()).unwrap().total as usize;
    assert_eq!(kept, 2 * assay::import::BATCH, "the whole batches stay");
    let again = api.import_bytes("stream", text.as_bytes()).unwrap();
    assert_eq!(
        (again.spans_new as usize, again.spans_merged as usize),
        (7, 2 * assay::import::BATCH)
    );
    assert_eq!(again.spans_unchanged as usize, 2 * assay::import::BATCH);
    assert_eq!(
        api.traces_list(&TraceQuery::default()).unwrap().total as usize,
        n
    );
}

#[test]
fn a_reimported_payload_is_searched_by_its_new_text() {
    let (_d, api) = open();
    let with_input = |text: &str| {
        span_line(
            T,
            "b7ad6b7169203331",
            None,
            1_000,
            Some(2_000),
            &format!(r#"{{"key":"input.value","value":{{"stringValue":"{text}"}}}}"#),
        )
    };
    api.import_bytes("first", with_input("alpha").as_bytes())
        .unwrap();
    api.index_search_text(usize::MAX).unwrap();
    let search = |word: &str| {
        api.traces_list(&TraceQuery {
            search: Some(word.into()),
            ..Default::default()
        })
        .unwrap()
    };
    assert_eq!(search("alpha").total, 1);
    api.import_bytes("second", with_input("bravo").as_bytes())
        .unwrap();
    assert_eq!(
        search("bravo").search_pending,
        1,
        "the merged payload waits to be re-indexed"
    );
    api.index_search_text(usize::MAX).unwrap();
    assert_eq!(
        (search("bravo").total, search("alpha").total),
        (1, 0),
        "the old text is gone from the index"
    );
}

#[test]
fn search_finds_a_trace_by_words_across_its_spans_its_name_model_and_id_prefix() {
    let (_d, api) = open();
    let other = "1af7651916cd43dd8448eb211c80319c";
    let input =
        |text: &str| format!(r#"{{"key":"input.value","value":{{"stringValue":"{text}"}}}}"#);
    let lines = [
        span_line(
            T,
            "b7ad6b7169203331",
            None,
            1_000,
            Some(9_000),
            &input("where is the invoice"),
        ),
        span_line(
            T,
            "c7ad6b7169203331",
            Some("b7ad6b7169203331"),
            2_000,
            Some(3_000),
            concat!(
                r#"{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},"#,
                r#"{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},"#,
                r#"{"key":"output.value","value":{"stringValue":"it was emailed yesterday"}}"#
            ),
        ),
        span_line(
            other,
            "d7ad6b7169203331",
            None,
            5_000,
            Some(6_000),
            &input("emailed receipts"),
        ),
    ]
    .join("\n");
    api.import_bytes("two traces", lines.as_bytes()).unwrap();
    api.index_search_text(usize::MAX).unwrap();
    let search = |text: &str| {
        let list = api
            .traces_list(&TraceQuery {
                search: Some(text.into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(list.total as usize, list.traces.len(), "{text}: one page");
        let mut ids: Vec<String> = list.traces.into_iter().map(|t| t.trace_id).collect();
        ids.sort();
        ids
    };
    // Words from two spans of one trace: the trace matches.
    assert_eq!(search("invoice emailed"), [T]);
    assert_eq!(search("emailed"), [T, other]);
    // The root's name and a model of the trace.
    assert_eq!(search("s-b7ad6b7169203331"), [T]);
    assert_eq!(search("gpt-4o-mini"), [T]);
    // The start of a trace id.
    assert_eq!(search("1AF76519"), [other]);
    assert!(search("nowhere").is_empty());

    // The same spans again, now without text: the traces are refreshed and stay searchable.
    let bare = [
        span_line(T, "b7ad6b7169203331", None, 1_000, Some(9_000), ""),
        span_line(other, "d7ad6b7169203331", None, 5_000, Some(6_000), ""),
    ]
    .join("\n");
    api.import_bytes("again", bare.as_bytes()).unwrap();
    api.index_search_text(usize::MAX).unwrap();
    assert_eq!(search("invoice"), [T]);
    assert_eq!(search("receipts"), [other]);
}

#[test]
fn a_trace_whose_spans_arrive_in_two_imports_is_found_by_words_of_both() {
    let (_d, api) = open();
    let input =
        |text: &str| format!(r#"{{"key":"input.value","value":{{"stringValue":"{text}"}}}}"#);
    let search = |text: &str| {
        api.traces_list(&TraceQuery {
            search: Some(text.into()),
            ..Default::default()
        })
        .unwrap()
        .total
    };
    api.import_bytes(
        "root",
        span_line(
            T,
            "b7ad6b7169203331",
            None,
            1_000,
            Some(9_000),
            &input("alpha"),
        )
        .as_bytes(),
    )
    .unwrap();
    api.index_search_text(usize::MAX).unwrap();
    assert_eq!((search("alpha"), search("bravo")), (1, 0));
    let child = span_line(
        T,
        "c7ad6b7169203331",
        Some("b7ad6b7169203331"),
        2_000,
        Some(3_000),
        &input("bravo"),
    );
    api.import_bytes("child", child.as_bytes()).unwrap();
    assert_eq!(search("bravo"), 0, "not indexed yet");
    api.index_search_text(usize::MAX).unwrap();
    assert_eq!(
        (search("alpha bravo"), search("alpha"), search("bravo")),
        (1, 1, 1)
    );
}

#[test]
fn a_search_matching_thousands_of_traces_pages_like_the_full_list_of_matches() {
    let (_d, api) = open();
    import_generated(&api, 30_000);
    let list = |search: &str, tenant: Option<&str>, limit: u32, offset: u32| {
        api.traces_list(&TraceQuery {
            search: Some(search.into()),
            tenant: tenant.map(str::to_owned),
            limit: Some(limit),
            offset: Some(offset),
            ..Default::default()
        })
        .unwrap()
    };
    let ids = |l: &assay::api::json::TraceList| {
        l.traces
            .iter()
            .map(|t| t.trace_id.clone())
            .collect::<Vec<_>>()
    };
    for (word, tenant) in [
        ("gpt", None),
        ("support", None),
        ("support", Some("globex")),
    ] {
        // All matches in one page (each looked up), then pages of 50 (checked along the time
        // order when the matches are many): the same traces in the same order.
        let all = list(word, tenant, 1_000, 0);
        assert!(
            all.total > 2_000 || tenant.is_some(),
            "{word}: {}",
            all.total
        );
        assert!(
            all.traces.len() >= 500,
            "{word} {tenant:?}: {}",
            all.traces.len()
        );
        for offset in [0, 50, 400] {
            let page = list(word, tenant, 50, offset);
            assert_eq!(page.total, all.total, "{word} {tenant:?}");
            assert_eq!(
                ids(&page),
                ids(&all)[offset as usize..offset as usize + 50],
                "{word} {tenant:?} at {offset}"
            );
        }
    }
}

#[test]
fn pages_sorted_by_duration_tokens_or_spans_follow_the_sort_over_all_matches() {
    let (_d, api) = open();
    import_generated(&api, 30_000);
    let query = |search: Option<&str>, tenant: Option<&str>, sort: Option<&str>| TraceQuery {
        search: search.map(str::to_owned),
        tenant: tenant.map(str::to_owned),
        sort: sort.map(str::to_owned),
        ..Default::default()
    };
    for (search, tenant) in [
        (None, None),
        (Some("support"), None),
        (Some("support"), Some("globex")),
    ] {
        // Every match, in pages of the default order.
        let mut all = Vec::new();
        loop {
            let page = api
                .traces_list(&TraceQuery {
                    limit: Some(1_000),
                    offset: Some(all.len() as u32),
                    ..query(search, tenant, None)
                })
                .unwrap();
            if page.traces.is_empty() {
                break;
            }
            all.extend(page.traces);
        }
        assert!(all.len() > 1_000, "{search:?} {tenant:?}: {}", all.len());
        type Key = fn(&assay::api::json::TraceSummary) -> f64;
        let keys: [(&str, Key); 3] = [
            ("slowest", |t| t.duration_ms),
            ("most_tokens", |t| (t.input_tokens + t.output_tokens) as f64),
            ("most_spans", |t| t.span_count as f64),
        ];
        for (sort, key) in keys {
            // Ties keep the default order (newest first, then import order): a stable sort.
            let mut expected = all.clone();
            expected.sort_by(|a, b| key(b).total_cmp(&key(a)));
            let expected: Vec<&str> = expected.iter().map(|t| t.trace_id.as_str()).collect();
            for offset in [0, 50, 400] {
                let page = api
                    .traces_list(&TraceQuery {
                        limit: Some(50),
                        offset: Some(offset),
                        ..query(search, tenant, Some(sort))
                    })
                    .unwrap();
                assert_eq!(
                    page.total as usize,
                    all.len(),
                    "{sort} {search:?} {tenant:?}"
                );
                let ids: Vec<&str> = page.traces.iter().map(|t| t.trace_id.as_str()).collect();
                assert_eq!(
                    ids,
                    expected[offset as usize..offset as usize + 50],
                    "{sort} {search:?} {tenant:?} at {offset}"
                );
            }
        }
    }
}

#[test]
fn each_filter_value_counts_the_traces_its_filter_lists() {
    let (_d, api) = open();
    import_generated(&api, 20_000);
    for (since, until) in [(None, None), (Some("2026-10-05"), Some("2026-10-15"))] {
        let range = assay::api::json::FacetQuery {
            since: since.map(str::to_owned),
            until: until.map(str::to_owned),
        };
        let facets = api.trace_facets(&range).unwrap();
        let listed = |query: TraceQuery| {
            api.traces_list(&TraceQuery {
                since: range.since.clone(),
                until: range.until.clone(),
                ..query
            })
            .unwrap()
            .total
        };
        let all = listed(TraceQuery::default());
        for (facet, values) in [
            ("tenant", &facets.tenants),
            ("endpoint", &facets.endpoints),
            ("environment", &facets.environments),
            ("model", &facets.models),
        ] {
            assert!(!values.is_empty(), "{facet} {since:?}");
            let mut sum = 0;
            for f in values.iter() {
                let value = Some(f.value.clone());
                let query = match facet {
                    "tenant" => TraceQuery {
                        tenant: value,
                        ..Default::default()
                    },
                    "endpoint" => TraceQuery {
                        endpoint: value,
                        ..Default::default()
                    },
                    "environment" => TraceQuery {
                        environment: value,
                        ..Default::default()
                    },
                    _ => TraceQuery {
                        model: value,
                        ..Default::default()
                    },
                };
                assert_eq!(f.count, listed(query), "{facet} = {} {since:?}", f.value);
                sum += f.count;
            }
            if facet != "model" {
                // Every generated trace has one of each key.
                assert_eq!(sum, all, "{facet} {since:?}");
            }
        }
    }
}

/// A workspace whose `assay.toml` is `toml`.
fn mapped_workspace(toml: &str) -> (tempfile::TempDir, Api) {
    let dir = tempfile::tempdir().unwrap();
    api::init(dir.path()).unwrap();
    std::fs::write(dir.path().join("assay.toml"), toml).unwrap();
    let api = Api::open(&Locate {
        workspace: Some(dir.path().to_path_buf()),
        cwd: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    (dir, api)
}

#[test]
fn the_workspace_attribution_map_wins_over_well_known_attributes() {
    let (_dir, api) = mapped_workspace("[attribution]\ntenant = [\"metadata.customer_id\", \"app.org\"]\nendpoint = \"app.route\"\n");
    let line = span_line(
        T,
        "b7ad6b7169203331",
        None,
        1_000,
        Some(2_000),
        r#"{"key":"tenant","value":{"stringValue":"from-well-known"}},
           {"key":"metadata","value":{"stringValue":"{\"customer_id\": \"cust-9\"}"}},
           {"key":"app.route","value":{"stringValue":"/v2/answer"}}"#,
    );
    api.import_bytes("mapped", line.as_bytes()).unwrap();
    let t = &api.traces_list(&TraceQuery::default()).unwrap().traces[0];
    assert_eq!(
        t.tenant.as_deref(),
        Some("cust-9"),
        "the mapping's first path that is present wins"
    );
    assert_eq!(t.endpoint.as_deref(), Some("/v2/answer"));
}

#[test]
fn the_attribution_map_finds_a_resource_attribute_by_its_name_or_under_resource() {
    let (_dir, api) = mapped_workspace(
        "[attribution]\ntenant = \"k8s.namespace.name\"\nendpoint = \"resource.app.route\"\n",
    );
    let line = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"k8s.namespace.name","value":{{"stringValue":"acme-prod"}}}},{{"key":"app.route","value":{{"stringValue":"/search"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{T}","spanId":"b7ad6b7169203331","name":"call","startTimeUnixNano":"1000","endTimeUnixNano":"2000"}}]}}]}}]}}"#
    );
    api.import_bytes("mapped", line.as_bytes()).unwrap();
    let t = &api.traces_list(&TraceQuery::default()).unwrap().traces[0];
    assert_eq!(t.tenant.as_deref(), Some("acme-prod"), "by its own name");
    assert_eq!(t.endpoint.as_deref(), Some("/search"), "under resource.");
}

#[test]
fn summaries_computed_at_import_equal_the_ones_recomputed_from_stored_spans() {
    // A first import computes each new trace's summary from the batch; importing the same data
    // again recomputes every summary from the stored spans. The two must agree exactly.
    let (_d, api) = open();
    let mut data = Vec::new();
    let options = assay::generate::GenerateOptions {
        spans: 3_000,
        ..Default::default()
    };
    assay::generate::generate(&options, Some(&mut data), None).unwrap();
    let all = |api: &Api| {
        let q = TraceQuery {
            limit: Some(1000),
            ..Default::default()
        };
        let mut traces = Vec::new();
        loop {
            let page = api
                .traces_list(&TraceQuery {
                    offset: Some(traces.len() as u32),
                    ..q.clone()
                })
                .unwrap();
            if page.traces.is_empty() {
                break;
            }
            traces.extend(
                page.traces
                    .into_iter()
                    .map(|t| serde_json::to_value(t).unwrap()),
            );
        }
        traces
    };
    api.import_bytes("generated", &data).unwrap();
    let first = all(&api);
    assert!(first.len() > 400, "{} traces", first.len());
    api.import_bytes("generated again", &data).unwrap();
    assert_eq!(all(&api), first);
}

fn filter_indexes(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traces' AND name LIKE 'traces_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_large_import_leaves_every_filter_index_in_place() {
    let (dir, api) = open();
    let mut data = Vec::new();
    let options = assay::generate::GenerateOptions {
        spans: 45_000,
        ..Default::default()
    };
    assay::generate::generate(&options, Some(&mut data), None).unwrap();
    let db = dir.path().join(".assay/assay.db");
    let before = filter_indexes(&db);
    assert_eq!(before.len(), 8, "{before:?}");
    api.import_bytes("large", &data).unwrap();
    assert_eq!(
        filter_indexes(&db),
        before,
        "dropped during the import, rebuilt at its end"
    );
    // An import killed while they were dropped: the next open builds them again.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("DROP INDEX traces_by_tenant; DROP INDEX traces_by_status;")
            .unwrap();
    }
    drop(api);
    let _reopened = Api::open(&Locate {
        workspace: Some(dir.path().to_path_buf()),
        cwd: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(filter_indexes(&db), before);
}

/// One OTLP/JSON line holding one span.
const ONE_SPAN_LINE: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"call","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000"}]}]}]}"#;

/// Opens the upload `id` of a file called `name`, to be sent in parts: the call that imports it,
/// and a part of it (not the last).
fn open_upload(
    api: &assay::api::Api,
    id: &str,
    name: &str,
) -> (assay::api::json::ImportUpload, assay::api::json::UploadPart) {
    api.import_upload_begin(&assay::api::json::ImportProgressArgs { id: id.into() })
        .unwrap();
    let upload = assay::api::json::ImportUpload {
        name: name.into(),
        format: None,
        id: Some(id.into()),
    };
    let part = assay::api::json::UploadPart {
        id: id.into(),
        last: false,
        abandon: None,
    };
    (upload, part)
}

#[test]
fn an_upload_in_parts_that_is_not_traces_fails_and_refuses_its_further_parts() {
    let (_dir, api) = crate::temp_workspace();
    let (upload, part) = open_upload(&api, "not-traces", "notes.txt");
    let outcome = std::thread::scope(|scope| {
        let import = scope.spawn(|| api.import_upload_parts(&upload));
        assert!(api
            .import_upload_part(&part, b"plain text, not a trace format\n".repeat(100))
            .unwrap());
        // Once the import has stopped, parts are refused rather than left waiting.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while api
            .import_upload_part(&part, b"more text\n".to_vec())
            .unwrap()
        {
            assert!(std::time::Instant::now() < deadline, "parts still accepted");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        import.join().unwrap().unwrap()
    });
    assert!(outcome.imported.is_empty());
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].source, "notes.txt");
    assert_eq!(outcome.failed[0].error.code, "invalid_input");
    assert!(
        outcome.failed[0]
            .error
            .message
            .contains("not a trace format"),
        "{:?}",
        outcome.failed[0].error
    );
    // The id is free again, and an import without an opened upload is refused.
    assert!(api.import_upload_parts(&upload).is_err());
    open_upload(&api, "not-traces", "notes.txt");
}

#[test]
fn an_upload_in_parts_abandoned_by_its_client_fails_at_once_with_the_reason() {
    let (_dir, api) = crate::temp_workspace();
    let (upload, part) = open_upload(&api, "abandoned", "month.jsonl");
    let started = std::time::Instant::now();
    let outcome = std::thread::scope(|scope| {
        let import = scope.spawn(|| api.import_upload_parts(&upload));
        let two_lines = format!("{ONE_SPAN_LINE}\n{ONE_SPAN_LINE}\n");
        assert!(api
            .import_upload_part(&part, two_lines.into_bytes())
            .unwrap());
        let abandon = assay::api::json::UploadPart {
            abandon: Some("Cannot read month.jsonl: the file was removed".into()),
            ..part.clone()
        };
        assert!(
            !api.import_upload_part(&abandon, Vec::new()).unwrap(),
            "an abandoned upload wants no more parts"
        );
        assert!(!api.import_upload_part(&part, b"more".to_vec()).unwrap());
        import.join().unwrap().unwrap()
    });
    // At once, not after the two minutes an importer waits for a part.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(outcome.imported.is_empty(), "{outcome:?}");
    let message = &outcome.failed[0].error.message;
    assert!(
        message.contains("the upload was abandoned: Cannot read month.jsonl: the file was removed"),
        "{message}"
    );
    // The lines read before were not a whole batch: nothing was written.
    let listed = api
        .traces_list(&assay::api::json::TraceQuery::default())
        .unwrap();
    assert_eq!(listed.total, 0);
    open_upload(&api, "abandoned", "month.jsonl");
}

#[test]
fn parts_sent_before_their_import_starts_are_imported() {
    // The desktop app's calls run concurrently: a small file's only part may arrive before the
    // call that imports it.
    let (_dir, api) = crate::temp_workspace();
    let (upload, part) = open_upload(&api, "early", "one.jsonl");
    let last = assay::api::json::UploadPart { last: true, ..part };
    assert!(api
        .import_upload_part(&last, format!("{ONE_SPAN_LINE}\n").into_bytes())
        .unwrap());
    assert!(
        !api.import_upload_part(&last, b"again".to_vec()).unwrap(),
        "nothing is taken after the last part"
    );
    let outcome = api.import_upload_parts(&upload).unwrap();
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(outcome.imported[0].spans_new, 1);
}
