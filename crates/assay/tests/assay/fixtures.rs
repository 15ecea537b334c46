//! The real SDK exports in `tests/fixtures/otlp/`, imported and checked field by field against
//! what the files say.

use std::path::PathBuf;

use assay::api::json::{SpanView, TraceGet, TraceQuery};
use assay::api::Api;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

fn api_with(files: &[&str]) -> (tempfile::TempDir, Api) {
    let (dir, api) = crate::temp_workspace();
    let paths = files
        .iter()
        .map(|f| fixture(f).display().to_string())
        .collect();
    let outcome = api
        .import_paths(&assay::api::json::ImportArgs { paths })
        .unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    (dir, api)
}

fn spans(api: &Api, trace_id: &str) -> Vec<SpanView> {
    api.trace_get(&TraceGet {
        trace_id: trace_id.into(),
    })
    .unwrap()
    .spans
}

fn span<'a>(spans: &'a [SpanView], id: &str) -> &'a SpanView {
    spans
        .iter()
        .find(|s| s.span_id == id)
        .unwrap_or_else(|| panic!("span {id} is missing"))
}

fn usage(s: &SpanView) -> [Option<i64>; 5] {
    let u = &s.usage;
    [u.input, u.output, u.cache_read, u.cache_write, u.reasoning]
}

#[test]
fn openinference_python() {
    let (_dir, api) = api_with(&["otlp/openinference-python/traces.json"]);
    let spans = spans(&api, "e18dabc1874414570b9a86b06f1ed2dd");
    assert_eq!(spans.len(), 8);

    let root = span(&spans, "cb30555fdd7a4d40");
    assert_eq!(
        (root.name.as_str(), root.kind.as_str(), root.depth),
        ("answer_question", "chain", 0)
    );
    assert_eq!(
        root.attribution.tenant.as_deref(),
        Some("acme"),
        "tenant from the metadata JSON"
    );
    assert_eq!(root.attribution.feature.as_deref(), Some("travel-qa"));
    assert_eq!(root.attribution.endpoint.as_deref(), Some("/api/answer"));
    assert_eq!(root.attribution.session.as_deref(), Some("sess-0001"));
    assert_eq!(root.attribution.user.as_deref(), Some("user-42"));
    assert_eq!(root.attribution.environment.as_deref(), Some("test"));
    assert_eq!(root.tags, ["fixture", "openinference"]);

    let retriever = span(&spans, "75a7bf79e0e99d50");
    assert_eq!(retriever.kind, "retriever");
    assert_eq!(retriever.documents.len(), 3, "three retrieved documents");
    assert_eq!(retriever.documents[0].id.as_deref(), Some("doc-1"));
    assert!(retriever.documents[0].score.is_some());

    let embedding = span(&spans, "1c99985f962fd819");
    assert_eq!(embedding.kind, "embedding");
    assert_eq!(
        embedding.parent_span_id.as_deref(),
        Some("75a7bf79e0e99d50")
    );
    assert_eq!(embedding.model.as_deref(), Some("text-embedding-3-small"));
    assert_eq!(embedding.usage.input, Some(10));

    let chat = span(&spans, "fca2f8b03f5b1d68");
    assert_eq!(chat.kind, "llm");
    assert_eq!(chat.provider.as_deref(), Some("openai"));
    assert_eq!(chat.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(
        chat.response_model.as_deref(),
        Some("gpt-4o-mini-2024-07-18")
    );
    assert_eq!(usage(chat), [Some(133), Some(11), Some(0), None, Some(0)]);
    assert_eq!(chat.finish_reason.as_deref(), Some("tool_calls"));
    let roles: Vec<&str> = chat
        .input_messages
        .iter()
        .map(|m| m.role.as_str())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    let call = &chat.output_messages[0].tool_calls[0];
    assert_eq!(call.name, "get_weather");
    assert_eq!(call.id.as_deref(), Some("call_10ab06989808a093615535b6"));
    assert_eq!(call.arguments.as_deref(), Some(r#"{"city": "France"}"#));

    let tool = span(&spans, "e77470b4ea18a8fb");
    assert_eq!(
        (tool.name.as_str(), tool.kind.as_str()),
        ("get_weather", "tool")
    );

    let second = span(&spans, "8c5a46e1652b9d0c");
    assert_eq!(usage(second)[..2], [Some(193), Some(30)]);
    assert_eq!(
        second.input_messages.len(),
        4,
        "system, user, assistant tool call, tool result"
    );

    let streamed = span(&spans, "cb1aa777ca32b13f");
    assert_eq!(usage(streamed)[..2], [Some(41), Some(48)]);
    let ttft = streamed
        .ttft_ms
        .expect("time to first token from the first-token event");
    assert!(
        ttft > 0.0 && ttft < streamed.duration_ms,
        "{ttft} within {}",
        streamed.duration_ms
    );

    let failed = span(&spans, "843e3f1855b86207");
    assert_eq!(failed.status, "error");
    assert_eq!(
        failed.error_class.as_deref(),
        Some("model"),
        "an HTTP 500 from the provider"
    );
    assert!(failed
        .status_message
        .as_deref()
        .unwrap()
        .contains("Error code: 500"));
    assert_eq!(failed.usage.input, None, "a failed call reports no tokens");
}

#[test]
fn a_resource_is_stored_once_and_shown_on_each_of_its_spans() {
    let (dir, api) = api_with(&["otlp/openinference-python/traces.json"]);
    let spans = spans(&api, "e18dabc1874414570b9a86b06f1ed2dd");
    assert_eq!(spans.len(), 8);
    for s in &spans {
        let a = &s.attributes;
        assert_eq!(
            a["resource.service.name"], "fixture-agent-py-openinference",
            "{}",
            s.span_id
        );
        assert_eq!(a["resource.telemetry.sdk.version"], "1.45.2");
        assert_eq!(a["resource.openinference.project.name"], "fixtures");
    }
    let chat = span(&spans, "fca2f8b03f5b1d68");
    assert_eq!(
        chat.attributes["llm.model_name"], "gpt-4o-mini-2024-07-18",
        "the span's own attributes with them"
    );

    // Imported again: still one resource, and no span holds it inline.
    api.import_paths(&assay::api::json::ImportArgs {
        paths: vec![fixture("otlp/openinference-python/traces.json")
            .display()
            .to_string()],
    })
    .unwrap();
    let db = rusqlite::Connection::open(dir.path().join(".assay/assay.db")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM resources"), 1);
    assert_eq!(
        count("SELECT count(*) FROM span_payloads WHERE resource_id IS NOT NULL"),
        8
    );
    assert_eq!(
        count("SELECT count(*) FROM span_payloads WHERE attributes LIKE '%resource.%'"),
        0
    );
    assert_eq!(
        spans.len(),
        self::spans(&api, "e18dabc1874414570b9a86b06f1ed2dd").len()
    );
}

#[test]
fn openinference_js_numbers_and_missing_spans() {
    let (_dir, api) = api_with(&["otlp/openinference-js/traces.json"]);
    let spans = spans(&api, "190661a231d2c08c6fd5268e2b62acea");
    assert_eq!(
        spans.len(),
        7,
        "the JS instrumentation emits no span for the failed call"
    );
    let chat = span(&spans, "51df98a086735600");
    assert_eq!(
        usage(chat)[..2],
        [Some(133), Some(11)],
        "intValue as JSON numbers"
    );
    let streamed = span(&spans, "6ca5e56a17349448");
    assert_eq!(
        streamed.usage.input, None,
        "no tokens on the JS streaming span"
    );
    assert_eq!(streamed.output_messages.len(), 1);
    assert_eq!(
        span(&spans, "a6a8c6a76ee80ea2").tags,
        ["fixture", "openinference", "js"],
        "tag.tags as a JSON string"
    );
}

#[test]
fn openllmetry_with_anthropic_duplicates() {
    let (_dir, api) = api_with(&["otlp/openllmetry-python/traces.json"]);
    let spans = spans(&api, "2dc71af6ab828ddd9c7bfeac5c129851");
    assert_eq!(spans.len(), 17);
    assert_eq!(
        span(&spans, "3c65596cf4329209").kind,
        "chain",
        "traceloop workflow"
    );
    let chat = span(&spans, "bfb513916e3320b0");
    assert_eq!(
        chat.finish_reason.as_deref(),
        Some("tool_calls"),
        "tool_call normalised to tool_calls"
    );
    assert_eq!(chat.output_messages[0].tool_calls[0].name, "get_weather");
    assert_eq!(
        chat.attribution.user.as_deref(),
        Some("user-42"),
        "gen_ai.user"
    );

    // The Anthropic SDK and OpenLLMetry both record each Anthropic call: both are shown, the
    // later one points at the earlier, and its tokens are not counted twice.
    let openllmetry = span(&spans, "4b7cdf773d2b4960");
    let sdk = span(&spans, "8e290fad6ef61dfa");
    assert_eq!(openllmetry.duplicate_of, None);
    assert_eq!(sdk.duplicate_of.as_deref(), Some("4b7cdf773d2b4960"));
    assert_eq!(
        usage(openllmetry)[..4],
        [Some(108), Some(27), Some(0), Some(0)]
    );
    assert_eq!(
        span(&spans, "fd1f8eefa4b95227").duplicate_of.as_deref(),
        Some("8510a962448d5324"),
        "a streamed duplicate whose output tokens differ by one"
    );
    let counted: i64 = spans
        .iter()
        .filter(|s| s.duplicate_of.is_none())
        .filter_map(|s| s.usage.input)
        .sum();
    let list = api.traces_list(&TraceQuery::default()).unwrap();
    assert_eq!(
        list.traces[0].input_tokens, counted,
        "the trace total skips duplicates"
    );
    assert_eq!(counted, 10 + 133 + 193 + 41 + 108 + 147 + 37);
}

#[test]
fn otel_genai_current_conventions() {
    let (_dir, api) = api_with(&["otlp/otel-genai-python/traces.json"]);
    let spans = spans(&api, "e6274613e89b4aa9bd41c31afb742505");
    let agent = span(&spans, "c8cdce103b6a978b");
    assert_eq!(agent.kind, "agent");
    assert_eq!(
        agent.attribution.tenant.as_deref(),
        Some("acme"),
        "flat tenant attribute"
    );
    let retrieval = span(&spans, "1315d686e979ab27");
    assert_eq!(retrieval.kind, "retriever");
    assert_eq!(
        retrieval.documents.len(),
        3,
        "gen_ai.retrieval.documents JSON"
    );
    let tool = span(&spans, "bd1c5102c5368c38");
    assert_eq!(tool.kind, "tool");
    assert_eq!(
        tool.input.as_deref(),
        Some(r#"{"city":"France"}"#),
        "the tool's arguments"
    );
    let chat = span(&spans, "92f8244d89743e94");
    assert_eq!(
        chat.output_messages[0].tool_calls[0].arguments.as_deref(),
        Some(r#"{"city":"France"}"#)
    );
    let failed = span(&spans, "f0c9bf671bc58234");
    assert_eq!(failed.status, "error");
    assert_eq!(failed.error_class.as_deref(), Some("model"));
}

#[test]
fn langfuse_otel_export() {
    let (_dir, api) = api_with(&["otlp/langfuse-python/traces.json"]);
    let spans = spans(&api, "63d3027ce14e6042c704192c088f83e9");
    let root = span(&spans, "0e5d40ae9a0efc1f");
    assert_eq!(
        root.attribution.tenant.as_deref(),
        Some("acme"),
        "JSON-encoded metadata value"
    );
    assert_eq!(root.attribution.environment.as_deref(), Some("test"));
    assert_eq!(root.attribution.release.as_deref(), Some("1.0.0"));
    let rerank = span(&spans, "46ecba03b1aee928");
    assert_eq!(rerank.provider.as_deref(), Some("anthropic"));
    // usage_details {"input": 42, "output": 9, "cache_read_input_tokens": 10}: Langfuse's input
    // excludes the cache, so the total input is 52, of which 10 were cached.
    assert_eq!(usage(rerank)[..3], [Some(52), Some(9), Some(10)]);
    assert_eq!(rerank.reported_cost, Some(6.96e-05), "cost_details total");
    let streamed = span(&spans, "d837e880108bdfa5");
    assert!(
        streamed.ttft_ms.unwrap() > 0.0,
        "completion_start_time gives the time to first token"
    );
    assert_eq!(
        streamed.output_messages[0].role, "assistant",
        "plain-text output as a message"
    );
    let failed = span(&spans, "8641465b8f441c08");
    assert_eq!(failed.status, "error", "level ERROR");
    assert!(failed
        .status_message
        .as_deref()
        .unwrap()
        .contains("Error code: 500"));
}

#[test]
fn binary_and_compressed_fixtures_match_their_json_twins() {
    for (json, binary) in [
        (
            "otlp/openinference-python/traces.json",
            "otlp/openinference-python/traces.pb",
        ),
        (
            "otlp/langfuse-python/traces.json",
            "otlp/langfuse-python/traces.pb.gz",
        ),
    ] {
        let (_a, from_json) = api_with(&[json]);
        let (_b, from_binary) = api_with(&[binary]);
        let a = from_json.traces_list(&TraceQuery::default()).unwrap();
        let b = from_binary.traces_list(&TraceQuery::default()).unwrap();
        assert_eq!(a.total, b.total, "{binary}");
        let id = &a.traces[0].trace_id;
        let sa = serde_json::to_value(spans(&from_json, id)).unwrap();
        let sb = serde_json::to_value(spans(&from_binary, id)).unwrap();
        assert_eq!(sa, sb, "{binary} imports exactly like {json}");
    }
}

#[test]
fn genai_log_records_merge_into_their_spans_in_either_order() {
    let summary = |api: &Api| {
        let mut spans = spans(api, "e6274613e89b4aa9bd41c31afb742505");
        spans.sort_by(|a, b| a.span_id.cmp(&b.span_id));
        spans
            .iter()
            .map(|s| {
                let roles: Vec<String> = s.input_messages.iter().map(|m| m.role.clone()).collect();
                let out: Vec<Option<String>> = s
                    .output_messages
                    .iter()
                    .map(|m| m.content.clone())
                    .collect();
                (
                    s.span_id.clone(),
                    s.name.clone(),
                    s.start_time.clone(),
                    s.depth,
                    roles,
                    out,
                    usage(s),
                )
            })
            .collect::<Vec<_>>()
    };
    let (_a, traces_first) = api_with(&[
        "otlp/otel-genai-python/traces.json",
        "otlp/otel-genai-python/logs.json",
    ]);
    let (_b, logs_first) = api_with(&[
        "otlp/otel-genai-python/logs.json",
        "otlp/otel-genai-python/traces.json",
    ]);
    let a = summary(&traces_first);
    assert_eq!(a.len(), 8, "log records add no spans of their own");
    assert_eq!(
        a,
        summary(&logs_first),
        "the same spans whichever file comes first"
    );
    let chat = a.iter().find(|s| s.0 == "92f8244d89743e94").unwrap();
    assert_eq!(chat.1, "chat gpt-4o-mini", "the span keeps its own name");
    assert_eq!(chat.4, ["system", "user"]);
}

#[test]
fn genai_log_records_in_protobuf_import_exactly_like_their_json() {
    let bytes = std::fs::read(fixture("otlp/otel-genai-python/logs.pb")).unwrap();
    assert_eq!(
        assay::import::detect(&bytes),
        Ok(assay::import::Format::OtlpLogsProto),
        "told apart from traces by its log records"
    );
    let traces = std::fs::read(fixture("otlp/otel-genai-python/traces.pb")).unwrap();
    assert_eq!(
        assay::import::detect(&traces),
        Ok(assay::import::Format::OtlpProto)
    );
    let (_a, from_json) = api_with(&[
        "otlp/otel-genai-python/traces.json",
        "otlp/otel-genai-python/logs.json",
    ]);
    let (_b, from_binary) = api_with(&[
        "otlp/otel-genai-python/logs.pb",
        "otlp/otel-genai-python/traces.pb",
    ]);
    // The two trace files come from separate runs (their error messages differ); what the log
    // records add, each span's messages, must be the same.
    let id = "e6274613e89b4aa9bd41c31afb742505";
    let messages = |api: &Api| {
        let mut spans = spans(api, id);
        spans.sort_by(|a, b| a.span_id.cmp(&b.span_id));
        spans
            .into_iter()
            .map(|s| {
                let json = |m| serde_json::to_value(m).unwrap();
                (s.span_id, json(s.input_messages), json(s.output_messages))
            })
            .collect::<Vec<_>>()
    };
    let a = messages(&from_json);
    assert_eq!(a.len(), 8, "log records add no spans of their own");
    assert_eq!(
        a,
        messages(&from_binary),
        "logs.pb adds what logs.json adds"
    );
    // Alone, each logs file gives partial spans holding the messages of the records.
    let (_c, json_logs) = api_with(&["otlp/otel-genai-python/logs.json"]);
    let (_d, binary_logs) = api_with(&["otlp/otel-genai-python/logs.pb"]);
    let from_logs = messages(&json_logs);
    assert!(
        from_logs
            .iter()
            .any(|(_, input, _)| input.as_array().is_some_and(|m| !m.is_empty())),
        "the records carry messages"
    );
    assert_eq!(from_logs, messages(&binary_logs));
    let chat = spans(&from_binary, id)
        .into_iter()
        .find(|s| s.span_id == "92f8244d89743e94")
        .unwrap();
    let roles: Vec<&str> = chat
        .input_messages
        .iter()
        .map(|m| m.role.as_str())
        .collect();
    assert_eq!(
        roles,
        ["system", "user"],
        "the messages come from the log records"
    );
}

/// Every span attribute of the real SDK exports reads back as the file gives it: those the
/// span's columns hold (stored once, as bits: `store::mirrored`) and the resource's included.
#[test]
fn every_attribute_reads_back_as_the_file_gives_it() {
    use assay::import::{self, Format, Rejection, Sink};
    use assay::model::Span;
    struct Collect(Vec<Span>);
    impl Sink for Collect {
        fn span(&mut self, span: Span) -> assay::Result<()> {
            self.0.push(span);
            Ok(())
        }
        fn reject(&mut self, rejection: Rejection) {
            panic!("{rejection:?}");
        }
    }
    let mut mirrored = 0;
    for file in [
        "otlp/openinference-python/traces.json",
        "otlp/openinference-js/traces.json",
        "otlp/openllmetry-python/traces.json",
        "otlp/otel-genai-python/traces.json",
        "otlp/langfuse-python/traces.json",
    ] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let mut parsed = Collect(Vec::new());
        import::parse_into(Format::OtlpJson, &mut &bytes[..], &mut parsed).unwrap();
        let (dir, api) = api_with(&[file]);
        let mut checked = 0;
        for record in &parsed.0 {
            // A span sent more than once reads as the merge of its records.
            let sent = parsed
                .0
                .iter()
                .filter(|s| s.span_id == record.span_id)
                .count();
            if sent > 1 {
                continue;
            }
            let mut expected = record.payload.attributes.clone();
            for (k, v) in record.payload.resource.iter().flat_map(|r| r.iter()) {
                expected.insert(format!("resource.{k}"), v.clone());
            }
            let read = spans(&api, &record.trace_id);
            assert_eq!(
                span(&read, &record.span_id).attributes,
                expected,
                "{file}: span {}",
                record.span_id
            );
            checked += 1;
        }
        assert!(checked >= 4, "{file}: {checked} spans checked");
        let conn = rusqlite::Connection::open(dir.path().join(".assay/assay.db")).unwrap();
        let bits: u32 = conn
            .prepare("SELECT mirrored FROM span_payloads WHERE mirrored IS NOT NULL")
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|b| b.unwrap().count_ones())
            .sum();
        mirrored += bits;
    }
    // Models, providers, token counts, sessions and users of the five exports.
    assert!(mirrored >= 200, "{mirrored} attributes stored as bits");
}
