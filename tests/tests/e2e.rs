//! End-to-end tests of the `assay` binary: real files, a real SQLite store, a real HTTP server.
#![allow(clippy::unwrap_used)] // In a test, a panic is the failure report.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use assay_e2e::{assay_bin, fixture, http, otlp_parents, read_response, TempWorkspace};

const PRODUCERS: &[&str] = &[
    "openinference-python",
    "openinference-js",
    "openllmetry-python",
    "otel-genai-python",
    "langfuse-python",
];

fn import_all(ws: &TempWorkspace) {
    for p in PRODUCERS {
        let path = fixture(&format!("otlp/{p}/traces.json"));
        let out = ws.assay(&["import", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "import {p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Depth of each span id in `traces show` text output: guides are three columns per level.
fn text_depths(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .skip(1)
        .map(|line| {
            let glyph = line.find("─ ").expect("every span line has a branch glyph");
            let depth = line[..glyph].chars().count() / 3;
            let id = line[glyph + "─ ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
            (id, depth)
        })
        .collect()
}

#[test]
fn traces_show_reproduces_each_files_parent_child_structure() {
    let ws = TempWorkspace::new();
    import_all(&ws);
    for p in PRODUCERS {
        let (trace_id, pairs) = otlp_parents(&fixture(&format!("otlp/{p}/traces.json")));
        let parent_of: HashMap<&str, Option<&str>> = pairs
            .iter()
            .map(|(s, parent)| (s.as_str(), parent.as_deref()))
            .collect();

        let shown = ws.assay_json(&["traces", "show", &trace_id, "--json"]);
        let spans = shown["spans"].as_array().unwrap();
        assert_eq!(
            spans.len(),
            pairs.len(),
            "{p}: every span of the file is shown"
        );
        let mut depth_of: HashMap<String, u64> = HashMap::new();
        for s in spans {
            let id = s["span_id"].as_str().unwrap();
            let parent = s["parent_span_id"].as_str();
            assert_eq!(
                parent, parent_of[id],
                "{p}: span {id} keeps the parent the file gives it"
            );
            let depth = s["depth"].as_u64().unwrap();
            match parent.filter(|pid| parent_of.contains_key(pid)) {
                Some(pid) => assert_eq!(
                    Some(&(depth - 1)),
                    depth_of.get(pid),
                    "{p}: {id} comes after its parent {pid}, one level deeper"
                ),
                None => assert_eq!(depth, 0, "{p}: {id} has no stored parent, so it is a root"),
            }
            depth_of.insert(id.to_owned(), depth);
        }

        // The text tree shows the same structure through its indentation.
        let out = ws.assay(&["traces", "show", &trace_id]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let text_depth: HashMap<String, usize> = text_depths(&text).into_iter().collect();
        for (id, depth) in &depth_of {
            assert_eq!(
                text_depth.get(id),
                Some(&(*depth as usize)),
                "{p}: {id} indented at its depth\n{text}"
            );
        }
    }
}

#[test]
fn the_openinference_fixture_keeps_models_tokens_and_attribution() {
    let ws = TempWorkspace::new();
    import_all(&ws);
    let shown = ws.assay_json(&[
        "traces",
        "show",
        "e18dabc1874414570b9a86b06f1ed2dd",
        "--json",
    ]);
    let spans = shown["spans"].as_array().unwrap();
    let chat = spans
        .iter()
        .find(|s| s["span_id"] == "fca2f8b03f5b1d68")
        .expect("first chat span");
    assert_eq!(chat["kind"], "llm");
    assert_eq!(
        chat["model"], "gpt-4o-mini",
        "requested model from llm.invocation_parameters"
    );
    assert_eq!(
        chat["response_model"], "gpt-4o-mini-2024-07-18",
        "dated version from llm.model_name"
    );
    assert_eq!(chat["input_tokens"], 133);
    assert_eq!(chat["output_tokens"], 11);
    let root = &spans[0];
    assert_eq!(root["name"], "answer_question");
    assert_eq!(root["kind"], "chain");
    let failed: Vec<_> = spans.iter().filter(|s| s["status"] == "error").collect();
    assert_eq!(
        failed.len(),
        1,
        "the one HTTP 500 chat is the only failed span"
    );
    assert!(failed[0]["status_message"]
        .as_str()
        .unwrap()
        .contains("500"));
}

#[test]
fn reimporting_the_same_file_counts_nothing_twice() {
    let ws = TempWorkspace::new();
    let path = fixture("otlp/openllmetry-python/traces.json");
    let first = ws.assay_json(&["import", path.to_str().unwrap(), "--json"]);
    assert_eq!(first["imported"][0]["spans_new"], 17);
    let before = ws.assay_json(&["traces", "list", "--json"]);
    let second = ws.assay_json(&["import", path.to_str().unwrap(), "--json"]);
    assert_eq!(
        second["imported"][0]["spans_new"], 0,
        "no span is new the second time"
    );
    assert_eq!(second["imported"][0]["spans_merged"], 17);
    assert_eq!(
        second["imported"][0]["spans_unchanged"], 17,
        "sent again as they were, the spans are left as they are"
    );
    assert_eq!(
        ws.assay_json(&["traces", "list", "--json"]),
        before,
        "the trace list is unchanged"
    );
    let third = ws.assay(&["import", path.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&third.stdout);
    assert!(
        said.contains("(0 new, 17 already stored, 17 of them unchanged)"),
        "{said}"
    );
}

#[test]
fn bad_files_fail_clearly_and_leave_the_store_as_it_was() {
    let ws = TempWorkspace::new();
    import_all(&ws);
    let before = ws.assay_json(&["traces", "list", "--json"]);
    assert_eq!(before["total"], 5);

    let not_json = ws.path().join("not-json.txt");
    std::fs::write(&not_json, "this is not json\n").unwrap();
    let good = std::fs::read_to_string(fixture("otlp/openinference-js/traces.json")).unwrap();
    let truncated = ws.path().join("truncated.json");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let missing = ws.path().join("missing.json");

    for (path, problem) in [
        (&not_json, "not a trace format"),
        (&truncated, "EOF while parsing"),
        (&missing, "no such file"),
    ] {
        let out = ws.assay(&["import", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: exits non-zero",
            path.display()
        );
        assert!(
            stderr.contains(&path.display().to_string()),
            "names the file: {stderr}"
        );
        assert!(
            stderr.contains(problem),
            "says what is wrong ({problem}): {stderr}"
        );
        assert_eq!(
            ws.assay_json(&["traces", "list", "--json"]),
            before,
            "store unchanged after {}",
            path.display()
        );
    }
    let info_spans = before["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["span_count"].as_i64().unwrap())
        .sum::<i64>();
    assert_eq!(info_spans, 49, "all 49 fixture spans are still there");
}

#[test]
fn a_bad_record_is_reported_by_location_and_the_rest_imports() {
    let ws = TempWorkspace::new();
    let jsonl = ws.path().join("mixed.jsonl");
    let mut f = std::fs::File::create(&jsonl).unwrap();
    let span = |trace: &str, span: &str| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"{span}","name":"step","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000"}}]}}]}}]}}"#
        )
    };
    writeln!(
        f,
        "{}",
        span("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    )
    .unwrap();
    writeln!(f, "{{\"resourceSpans\": [ broken").unwrap();
    writeln!(f, "{}", span("0af7651916cd43dd8448eb211c80319c", "nothex")).unwrap();
    writeln!(
        f,
        "{}",
        span("1af7651916cd43dd8448eb211c80319c", "c7ad6b7169203331")
    )
    .unwrap();
    drop(f);
    let out = ws.assay_json(&["import", jsonl.to_str().unwrap(), "--json"]);
    let report = &out["imported"][0];
    assert_eq!(report["format"], "otlp_jsonl");
    assert_eq!(report["spans_new"], 2, "the two good lines import");
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["location"], "line 2");
    assert!(rejected[1]["location"]
        .as_str()
        .unwrap()
        .starts_with("line 3: resourceSpans[0]"));
    assert_eq!(rejected[1]["field"], "spanId");
    assert_eq!(ws.assay_json(&["traces", "list", "--json"])["total"], 2);
}

#[test]
fn import_reads_standard_input() {
    let ws = TempWorkspace::new();
    let mut child = Command::new(assay_bin())
        .args(["import", "-", "--json"])
        .current_dir(ws.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let doc = std::fs::read(fixture("otlp/otel-genai-python/traces.json")).unwrap();
    child.stdin.take().unwrap().write_all(&doc).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["imported"][0]["source"], "-");
    assert_eq!(v["imported"][0]["spans_new"], 8);
}

#[test]
fn commands_outside_a_workspace_explain_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(assay_bin())
        .args(["traces", "list"])
        .current_dir(dir.path())
        .env_remove("ASSAY_WORKSPACE")
        .env_remove("ASSAY_DB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("assay init"), "{stderr}");
}

#[test]
fn init_twice_changes_nothing() {
    let ws = TempWorkspace::new();
    let config = std::fs::read_to_string(ws.path().join("assay.toml")).unwrap();
    let again = ws.assay_json(&["init", ".", "--json"]);
    assert_eq!(
        again["created"],
        serde_json::json!([]),
        "nothing is created twice"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("assay.toml")).unwrap(),
        config
    );
    let gitignore = std::fs::read_to_string(ws.path().join(".gitignore")).unwrap();
    assert_eq!(
        gitignore.matches(".assay/").count(),
        1,
        "one ignore entry: {gitignore}"
    );
}

#[test]
fn demo_sets_up_a_workspace_with_the_bundled_samples_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("demo");
    let total = |filter: &[&str]| -> i64 {
        let out = Command::new(assay_bin())
            .args(["traces", "list", "--json", "-n", "1"])
            .args(filter)
            .current_dir(&target)
            .output()
            .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        list["total"].as_i64().unwrap()
    };
    let mut totals = Vec::new();
    for _ in 0..2 {
        let out = Command::new(assay_bin())
            .args(["demo", "--no-open"])
            .arg(&target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        totals.push(total(&[]));
    }
    assert_eq!(totals[0], totals[1], "nothing imported twice");
    // The five real SDK exports and a generated month of production traffic.
    assert!(
        total(&["--environment", "production"]) > 1000,
        "the generated month"
    );
    let cost: serde_json::Value = serde_json::from_slice(
        &Command::new(assay_bin())
            .args(["cost", "--json"])
            .current_dir(&target)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        cost["total"]["cost"].as_f64().unwrap() > 1.0,
        "the month is priced"
    );
}

#[test]
fn serve_answers_the_api_and_serves_the_ui() {
    let ws = TempWorkspace::new();
    import_all(&ws);
    let server = ws.serve(&[]);
    assert!(server.token().is_none(), "loopback needs no token");
    let addr = server.addr();

    let page = http(&addr, "GET", "/", &[], "");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains("<script"),
        "the UI shell loads its script: {html}"
    );

    let list = http(
        &addr,
        "POST",
        "/api/traces_list",
        &[("content-type", "application/json")],
        r#"{"limit": 2}"#,
    );
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(list["total"], 5);
    assert_eq!(
        list["traces"].as_array().unwrap().len(),
        2,
        "limit is honoured"
    );

    let trace = http(
        &addr,
        "POST",
        "/api/trace_get",
        &[],
        r#"{"trace_id": "e18dabc1874414570b9a86b06f1ed2dd"}"#,
    );
    assert_eq!(trace.status, 200);
    assert_eq!(trace.json()["spans"].as_array().unwrap().len(), 8);

    let missing = http(
        &addr,
        "POST",
        "/api/trace_get",
        &[],
        r#"{"trace_id": "00000000000000000000000000000001"}"#,
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "not_found");

    let bad = http(
        &addr,
        "POST",
        "/api/traces_list",
        &[],
        r#"{"limit": "many"}"#,
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["code"], "invalid_input");

    let unknown = http(&addr, "POST", "/api/drop_everything", &[], "{}");
    assert_eq!(unknown.status, 404);

    let rebinding = http(
        &addr,
        "POST",
        "/api/traces_list",
        &[("Host", "attacker.example:80")],
        "{}",
    );
    assert_eq!(
        rebinding.status, 403,
        "a foreign Host name is refused on a loopback bind"
    );
}

/// OTLP/JSON lines, one single-span trace each.
fn one_span_traces(lines: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..lines {
        writeln!(
            body,
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{:032x}","spanId":"b7ad6b7169203331","name":"call","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000"}}]}}]}}]}}"#,
            i + 1
        )
        .unwrap();
    }
    body
}

#[test]
fn an_upload_sent_in_parts_imports_as_the_parts_arrive() {
    let ws = TempWorkspace::new();
    let server = ws.serve(&[]);
    let addr = server.addr();
    let call =
        |command: &str, body: &str| http(&addr, "POST", &format!("/api/{command}"), &[], body);
    // Parts are refused for an upload that was not opened, and its import cannot start.
    let part = |id: &str, bytes: &[u8], last: bool| {
        let mut headers = vec![("x-assay-import-id", id)];
        if last {
            headers.push(("x-assay-last-part", "1"));
        }
        let text = std::str::from_utf8(bytes).unwrap();
        let response = http(&addr, "POST", "/api/import_upload_part", &headers, text);
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    };
    assert_eq!(part("never-opened", b"{}", true), false);
    let refused = call(
        "import_upload_parts",
        r#"{"name": "x.jsonl", "id": "never-opened"}"#,
    );
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["code"], "invalid_input");

    let lines = 3 * 20_000;
    let body = one_span_traces(lines);
    assert_eq!(
        call("import_upload_begin", r#"{"id": "parts-1"}"#).status,
        200
    );
    let again = call("import_upload_begin", r#"{"id": "parts-1"}"#);
    assert_eq!(again.status, 400, "an open id cannot be opened twice");
    let import = std::thread::scope(|scope| {
        let import = scope.spawn(|| {
            call(
                "import_upload_parts",
                r#"{"name": "month.jsonl", "id": "parts-1"}"#,
            )
        });
        // Parts cut across lines; all but the last sent, the import must have written batches.
        let cuts = [0, body.len() / 3 + 7, body.len() * 3 / 4, body.len()];
        for w in cuts[..3].windows(2) {
            assert_eq!(part("parts-1", &body[w[0]..w[1]], false), true);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let now = call("import_progress", r#"{"id": "parts-1"}"#).json();
            if now["spans"].as_u64().unwrap_or(0) >= 20_000 {
                assert!(now["bytes"].as_u64().unwrap() <= cuts[2] as u64, "{now}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no progress before the last part: {now}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(part("parts-1", &body[cuts[2]..], true), true);
        import.join().unwrap()
    });
    assert_eq!(
        import.status,
        200,
        "{}",
        String::from_utf8_lossy(&import.body)
    );
    let outcome = import.json();
    assert_eq!(outcome["imported"][0]["spans_new"], lines);
    assert_eq!(outcome["imported"][0]["source"], "month.jsonl");
    assert_eq!(part("parts-1", b"{}", true), false, "the upload has ended");
    let listed = call("traces_list", r#"{"limit": 1}"#).json();
    assert_eq!(listed["total"], lines);

    // A client that cannot read the rest of its file abandons the upload, giving why.
    assert_eq!(
        call("import_upload_begin", r#"{"id": "parts-2"}"#).status,
        200
    );
    let import = std::thread::scope(|scope| {
        let import = scope.spawn(|| {
            call(
                "import_upload_parts",
                r#"{"name": "gone.jsonl", "id": "parts-2"}"#,
            )
        });
        let headers = [
            ("x-assay-import-id", "parts-2"),
            ("x-assay-abandon-upload", "Cannot%20read%20gone.jsonl"),
        ];
        let abandoned = http(&addr, "POST", "/api/import_upload_part", &headers, "");
        assert_eq!(abandoned.json(), false, "an abandoned upload wants no more");
        import.join().unwrap()
    });
    let outcome = import.json();
    assert_eq!(outcome["imported"], serde_json::json!([]));
    let message = outcome["failed"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the upload was abandoned: Cannot read gone.jsonl"),
        "{message}"
    );
}

#[test]
fn an_upload_imports_as_it_arrives_and_reports_its_progress() {
    let ws = TempWorkspace::new();
    let server = ws.serve(&[]);
    let addr = server.addr();
    // Three write batches of spans, sent in two parts: the first part must be imported, and
    // its progress reported, while the rest has not been sent.
    let lines = 3 * 20_000;
    let body = one_span_traces(lines);
    let split = body.len() * 3 / 4;
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "POST /api/import_upload HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Length: {}\r\nx-assay-file-name: month.jsonl\r\n\
         x-assay-import-id: upload-1\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..split]).unwrap();
    let progress = |id: &str| {
        http(
            &addr,
            "POST",
            "/api/import_progress",
            &[],
            &format!(r#"{{"id": "{id}"}}"#),
        )
        .json()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let seen = loop {
        let now = progress("upload-1");
        if now["spans"].as_u64().unwrap_or(0) >= 20_000 {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no progress while the upload is in flight: {now}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let bytes = seen["bytes"].as_u64().unwrap();
    assert!(
        bytes > 0 && bytes <= split as u64,
        "progress counts bytes received so far: {seen}"
    );
    assert_eq!(progress("another"), serde_json::Value::Null, "unknown ids");
    stream.write_all(&body[split..]).unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 200);
    let outcome = response.json();
    assert_eq!(outcome["imported"][0]["spans_new"], lines);
    assert_eq!(outcome["imported"][0]["source"], "month.jsonl");
    assert_eq!(
        progress("upload-1"),
        serde_json::Value::Null,
        "a finished upload has no progress"
    );
}

#[test]
fn serve_on_a_non_loopback_address_requires_its_token() {
    let ws = TempWorkspace::new();
    import_all(&ws);
    let server = ws.serve(&["--host", "0.0.0.0"]);
    let token = server.token().expect("a token is generated and printed");
    assert!(
        token.len() >= 32,
        "the token is long enough to guess: {token}"
    );
    let addr = server.addr();
    let without = http(&addr, "POST", "/api/workspace_info", &[], "{}");
    assert_eq!(without.status, 401);
    assert_eq!(without.json()["code"], "unauthorized");
    let wrong = http(
        &addr,
        "POST",
        "/api/workspace_info",
        &[("Authorization", "Bearer nope")],
        "{}",
    );
    assert_eq!(wrong.status, 401);
    let auth = format!("Bearer {token}");
    let with = http(
        &addr,
        "POST",
        "/api/workspace_info",
        &[("Authorization", &auth)],
        "{}",
    );
    assert_eq!(with.status, 200);
    assert_eq!(with.json()["trace_count"], 5);
}

#[test]
fn a_folder_import_passes_over_files_that_are_not_traces() {
    let ws = TempWorkspace::new();
    let folder = fixture("langsmith/runs-batch");
    let out = ws.assay(&["import", folder.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["imported"].as_array().unwrap().len(),
        3,
        "three run batches"
    );
    assert_eq!(v["failed"], serde_json::json!([]));
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]["source"]
        .as_str()
        .unwrap()
        .ends_with("feedback.json"));
    // Named on its own, the same file is an error.
    let alone = ws.assay(&["import", folder.join("feedback.json").to_str().unwrap()]);
    assert_eq!(alone.status.code(), Some(1));
}

#[test]
fn an_import_killed_mid_way_leaves_a_consistent_store_that_a_rerun_completes() {
    let ws = TempWorkspace::new();
    let generated = ws.path().join("generated");
    let out = Command::new(assay_bin())
        .args(["demo", "generate", "--spans", "60000", "--out"])
        .arg(&generated)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "Wrote N spans in T traces to ..."
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    let traces: i64 = words[4].parse().unwrap();
    let file = generated.join("traces.jsonl");

    let mut child = Command::new(assay_bin())
        .args(["import", "--defer-index"])
        .arg(&file)
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let it commit some batches, then kill it without warning (SIGKILL).
    let db = ws.path().join(".assay/assay.db-wal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) < 4 << 20
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let partial = ws.assay_json(&["traces", "list", "--json", "-n", "1"]);
    let partial_total = partial["total"].as_i64().unwrap();
    assert!(
        partial_total < traces,
        "the import was interrupted ({partial_total} of {traces})"
    );

    let rerun = ws.assay_json(&["import", file.to_str().unwrap(), "--json"]);
    let report = &rerun["imported"][0];
    assert_eq!(report["rejected_count"], 0);
    let all = ws.assay_json(&["traces", "list", "--json", "-n", "1"]);
    assert_eq!(
        all["total"].as_i64().unwrap(),
        traces,
        "every trace once, none twice"
    );
    let merged = report["spans_merged"].as_i64().unwrap();
    assert!(
        merged > 0 || partial_total == 0,
        "the rerun met the spans the first run had written"
    );
}

#[test]
fn serve_indexes_text_an_import_left_for_later() {
    let ws = TempWorkspace::new();
    let path = fixture("otlp/openinference-python/traces.json");
    ws.assay_json(&["import", "--defer-index", path.to_str().unwrap(), "--json"]);
    let before = ws.assay_json(&["traces", "list", "--search", "Eiffel", "--json"]);
    assert!(
        before["search_pending"].as_i64().unwrap() > 0,
        "the text waits to be indexed"
    );
    let server = ws.serve(&[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = http(
            &server.addr(),
            "POST",
            "/api/traces_list",
            &[],
            r#"{"search": "Eiffel"}"#,
        )
        .json();
        if found["search_pending"] == 0 {
            assert_eq!(
                found["total"], 1,
                "the system prompt mentions the Eiffel Tower"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve never indexed the text"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
