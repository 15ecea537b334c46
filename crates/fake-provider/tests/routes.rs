//! The fake provider's routes answer in each API's format, and its faults fire as configured.
#![allow(clippy::unwrap_used)] // In a test, a panic is the failure report.

use std::time::{Duration, Instant};

use fake_provider::{FakeProvider, Faults, Options};
use serde_json::{json, Value};

async fn start() -> FakeProvider {
    FakeProvider::start(Options::default()).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post(url: String, headers: &[(&str, &str)], body: Value) -> reqwest::Response {
    let mut req = client().post(url).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

const OPENAI_AUTH: &[(&str, &str)] = &[("authorization", "Bearer sk-test")];
const ANTHROPIC_AUTH: &[(&str, &str)] = &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")];

/// `data:` payloads of an SSE body, in order.
fn sse_data(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn openai_chat_non_stream() {
    let fp = start().await;
    let r = post(
        format!("{}/v1/chat/completions", fp.url()),
        OPENAI_AUTH,
        json!({"model": "gpt-x", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "ECHO: hello world"}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-x-2025-01-01");
    assert_eq!(v["choices"][0]["message"]["content"], "hello world");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 5);
    assert_eq!(v["usage"]["completion_tokens"], 2);
    assert_eq!(v["usage"]["total_tokens"], 7);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(fp.calls(), 1);
    assert_eq!(fp.requests()[0]["model"], "gpt-x");
}

#[tokio::test]
async fn openai_chat_stream_with_usage() {
    let fp = start().await;
    let r = post(
        format!("{}/v1/chat/completions", fp.url()),
        OPENAI_AUTH,
        json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": [{"type": "text", "text": "one two three four"}]}]}),
    )
    .await;
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let body = r.text().await.unwrap();
    let data = sse_data(&body);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Mock answer: one two three four");
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "stop"));
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 4);
    assert_eq!(usage["usage"]["completion_tokens"], 6);
}

#[tokio::test]
async fn missing_keys_get_401_in_each_format() {
    let fp = start().await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = post(
        format!("{}/v1/chat/completions", fp.url()),
        &[],
        body.clone(),
    )
    .await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("API key"));

    let r = post(format!("{}/v1/messages", fp.url()), &[], body.clone()).await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");

    let r = post(
        format!(
            "{}/openai/deployments/d/chat/completions?api-version=2024-10-21",
            fp.url()
        ),
        &[("api-key", "")],
        body.clone(),
    )
    .await;
    assert_eq!(r.status(), 401);

    let r = post(
        format!("{}/v1beta/models/gemini-x:generateContent", fp.url()),
        &[],
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    )
    .await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");

    // The same OpenAI route without a key, as a local server serves it.
    let r = post(
        format!("{}/compat/v1/chat/completions", fp.url()),
        &[],
        body,
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn azure_chat_uses_the_deployment_as_model() {
    let fp = start().await;
    let r = post(
        format!(
            "{}/openai/deployments/my-dep/chat/completions?api-version=2024-10-21",
            fp.url()
        ),
        &[("api-key", "k")],
        json!({"messages": [{"role": "user", "content": "JSON please"}]}),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "my-dep-2025-01-01");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        r#"{"answer": "ok", "word_count": 3}"#
    );
}

#[tokio::test]
async fn anthropic_messages_non_stream_and_stream() {
    let fp = start().await;
    let r = post(
        format!("{}/v1/messages", fp.url()),
        ANTHROPIC_AUTH,
        json!({"model": "claude-x", "max_tokens": 100, "system": "sys CACHED text here",
            "messages": [{"role": "user", "content": "REPLY<<fine thanks>>"}]}),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "fine thanks");
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["model"], "claude-x-2025-01-01");
    // 6 prompt words, 3 of them reported as cache reads, apart from input_tokens.
    assert_eq!(v["usage"]["cache_read_input_tokens"], 3);
    assert_eq!(v["usage"]["input_tokens"], 3);
    assert_eq!(v["usage"]["output_tokens"], 2);

    let r = post(
        format!("{}/v1/messages", fp.url()),
        ANTHROPIC_AUTH,
        json!({"model": "claude-x", "max_tokens": 100, "stream": true,
            "messages": [{"role": "user", "content": "hello"}]}),
    )
    .await;
    let body = r.text().await.unwrap();
    let events: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.last(), Some(&"message_stop"));
    assert!(events.contains(&"content_block_delta"));
    assert!(events.contains(&"message_delta"));
    let text: String = sse_data(&body)
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "Mock answer: hello");
}

#[tokio::test]
async fn gemini_generate_stream_and_embed() {
    let fp = start().await;
    let body = json!({"systemInstruction": {"parts": [{"text": "sys"}]},
        "contents": [{"role": "user", "parts": [{"text": "ECHO: a b c"}]}],
        "generationConfig": {"temperature": 0}});
    let r = post(
        format!("{}/v1beta/models/gemini-x:generateContent?key=k", fp.url()),
        &[],
        body.clone(),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["candidates"][0]["content"]["parts"][0]["text"], "a b c");
    assert_eq!(v["candidates"][0]["content"]["role"], "model");
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    assert_eq!(v["usageMetadata"]["promptTokenCount"], 5);
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 3);
    assert_eq!(v["modelVersion"], "gemini-x-2025-01-01");

    let r = post(
        format!(
            "{}/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
            fp.url()
        ),
        &[("x-goog-api-key", "k")],
        body,
    )
    .await;
    let body = r.text().await.unwrap();
    let chunks: Vec<Value> = sse_data(&body)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks.len() > 1);
    assert_eq!(
        chunks.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );

    let r = post(
        format!("{}/v1beta/models/emb:batchEmbedContents", fp.url()),
        &[("x-goog-api-key", "k")],
        json!({"requests": [
            {"model": "models/emb", "content": {"parts": [{"text": "cat"}]}},
            {"model": "models/emb", "content": {"parts": [{"text": "dog"}]}}]}),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(v["embeddings"][0]["values"].as_array().unwrap().len(), 64);
}

#[tokio::test]
async fn openai_embeddings_are_normalised() {
    let fp = start().await;
    let r = post(
        format!("{}/v1/embeddings", fp.url()),
        OPENAI_AUTH,
        json!({"model": "e", "input": ["the cat", "the cat", "a dog"]}),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    let vecs: Vec<Vec<f64>> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d["embedding"].clone()).unwrap())
        .collect();
    assert_eq!(vecs.len(), 3);
    assert_eq!(vecs[0], vecs[1]);
    assert_ne!(vecs[0], vecs[2]);
    let norm: f64 = vecs[2].iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
}

#[tokio::test]
async fn faults_fire_the_stated_number_of_times_in_order() {
    let fp = start().await;
    fp.set_faults(Faults {
        drop_next: 1,
        rate_limit_next: 2,
        retry_after: Some(1.5),
        server_error_next: 1,
        malformed_next: 1,
        ..Faults::default()
    });
    let url = format!("{}/v1/chat/completions", fp.url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let dropped = client()
        .post(&url)
        .header("authorization", "Bearer k")
        .json(&body)
        .send()
        .await;
    assert!(dropped.is_err(), "the first request is dropped");
    for _ in 0..2 {
        let r = post(url.clone(), OPENAI_AUTH, body.clone()).await;
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "1.5");
    }
    let r = post(url.clone(), OPENAI_AUTH, body.clone()).await;
    assert_eq!(r.status(), 500);
    let r = post(url.clone(), OPENAI_AUTH, body.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    let r = post(url.clone(), OPENAI_AUTH, body.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.is_ok());
    assert_eq!(fp.calls(), 6);
}

#[tokio::test]
async fn cut_stream_ends_without_done() {
    let fp = start().await;
    fp.set_faults(Faults {
        cut_stream_next: 1,
        ..Faults::default()
    });
    let url = format!("{}/v1/chat/completions", fp.url());
    let body = json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": "one two three four five six"}]});
    // A non-streamed request does not consume the fault.
    let mut plain = body.clone();
    plain["stream"] = json!(false);
    assert_eq!(post(url.clone(), OPENAI_AUTH, plain).await.status(), 200);
    let cut = post(url.clone(), OPENAI_AUTH, body.clone())
        .await
        .text()
        .await
        .unwrap();
    assert!(!cut.contains("[DONE]"));
    assert!(!cut.contains("finish_reason\":\"stop"));
    let whole = post(url, OPENAI_AUTH, body).await.text().await.unwrap();
    assert!(whole.contains("[DONE]"));
}

#[tokio::test]
async fn trigger_words_fail_and_slow_down() {
    let fp = start().await;
    let url = format!("{}/v1/chat/completions", fp.url());
    let r = post(
        url.clone(),
        OPENAI_AUTH,
        json!({"model": "m", "messages": [{"role": "user", "content": "ERROR500"}]}),
    )
    .await;
    assert_eq!(r.status(), 500);
    let r = post(
        url.clone(),
        OPENAI_AUTH,
        json!({"model": "m", "messages": [{"role": "user", "content": "RATE429"}]}),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "0.05");
    let t = Instant::now();
    post(
        url,
        OPENAI_AUTH,
        json!({"model": "m", "messages": [{"role": "user", "content": "SLOW"}]}),
    )
    .await;
    assert!(t.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn concurrency_is_counted_and_limited() {
    let fp = FakeProvider::start(Options {
        latency: Duration::from_millis(200),
        faults: Faults::default(),
    })
    .await
    .unwrap();
    let url = format!("{}/v1/chat/completions", fp.url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let client = client();
    let send_all = |n: usize| {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                client
                    .post(&url)
                    .header("authorization", "Bearer k")
                    .json(&body)
                    .send()
            })
            .collect();
        futures_util::future::join_all(tasks)
    };
    let t = Instant::now();
    let results = send_all(60).await;
    assert!(results.iter().all(|r| r.as_ref().unwrap().status() == 200));
    assert_eq!(fp.max_in_flight(), 60);
    // Sixty requests of 200 ms each ran side by side.
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );

    fp.reset_counters();
    assert_eq!(fp.calls(), 0);
    fp.set_faults(Faults {
        max_concurrency: Some(10),
        ..Faults::default()
    });
    let results = send_all(30).await;
    let limited = results
        .iter()
        .filter(|r| r.as_ref().unwrap().status() == 429)
        .count();
    assert_eq!(limited, 20);
    assert_eq!(fp.calls(), 30);
}

#[test]
fn blocking_server_answers_and_shuts_down() {
    let fp = FakeProvider::start_blocking(Options::default()).unwrap();
    let addr = fp.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        post(
            format!("{}/v1/chat/completions", fp.url()),
            OPENAI_AUTH,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await
        .status()
    });
    assert_eq!(status, 200);
    drop(fp);
    assert!(std::net::TcpStream::connect(addr).is_err());
}
