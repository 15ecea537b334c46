//! The provider clients against a real local server speaking each wire format.
#![allow(clippy::unwrap_used)] // In a test, a panic is the failure report.

use std::time::{Duration, Instant};

use assay::eval::plan::{ProviderError, ProviderRequest, ProviderResponse, ProviderSpec};
use assay::eval::providers::{spec_from_config, ProviderClient};
use assay::model::Message;
use fake_provider::{FakeProvider, Faults, Options};
use serde_json::{json, Map, Value};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn server() -> FakeProvider {
    FakeProvider::start(Options::default()).await.unwrap()
}

/// The config that points a provider id at the fake server, with a key.
fn spec(fp: &FakeProvider, id: &str, stream: bool) -> ProviderSpec {
    let mut config = Map::new();
    let base = if id.starts_with("openai-compatible:") {
        format!("{}/compat/v1", fp.url())
    } else if id.starts_with("openai:") {
        format!("{}/v1", fp.url())
    } else if id.starts_with("google:") || id.starts_with("gemini:") {
        format!("{}/v1beta", fp.url())
    } else {
        // Anthropic and Azure are given the bare host, as users write it.
        fp.url()
    };
    let base_key = if id.starts_with("azure") {
        "apiHost"
    } else {
        "apiBaseUrl"
    };
    config.insert(base_key.into(), json!(base));
    if !id.starts_with("openai-compatible:") {
        config.insert("apiKey".into(), json!("test-key-123456"));
    }
    config.insert("stream".into(), json!(stream));
    spec_from_config(id, None, &config).unwrap()
}

fn user(text: &str) -> Message {
    Message {
        role: "user".into(),
        content: Some(text.into()),
        ..Message::default()
    }
}

fn request(spec: &ProviderSpec, messages: Vec<Message>) -> ProviderRequest {
    ProviderRequest {
        model: spec.model.clone(),
        messages,
        params: Map::new(),
    }
}

async fn ask(fp: &FakeProvider, id: &str, stream: bool, text: &str) -> ProviderResponse {
    let spec = spec(fp, id, stream);
    let req = request(
        &spec,
        vec![
            Message {
                role: "system".into(),
                content: Some("Answer briefly.".into()),
                ..Message::default()
            },
            user(text),
        ],
    );
    ProviderClient::new()
        .complete(&spec, &req, TIMEOUT)
        .await
        .unwrap()
}

async fn ask_err(fp: &FakeProvider, id: &str, stream: bool, text: &str) -> ProviderError {
    let spec = spec(fp, id, stream);
    let req = request(&spec, vec![user(text)]);
    ProviderClient::new()
        .complete(&spec, &req, TIMEOUT)
        .await
        .unwrap_err()
}

const CHAT_IDS: &[&str] = &[
    "openai:gpt-x",
    "anthropic:messages:claude-x",
    "google:gemini-x",
    "azure:chat:dep-x",
    "openai-compatible:local-x",
];

#[tokio::test]
async fn every_provider_answers_streamed_and_not() {
    let fp = server().await;
    for id in CHAT_IDS {
        for stream in [false, true] {
            // "Answer briefly." + "ECHO: hello there world" = 6 prompt words.
            let r = ask(&fp, id, stream, "ECHO: hello there world").await;
            let at = format!("{id} stream={stream}");
            assert_eq!(r.output, "hello there world", "{at}");
            assert_eq!(r.finish_reason.as_deref(), Some("stop"), "{at}");
            let model = id.rsplit(':').next().unwrap();
            assert_eq!(
                r.response_model,
                Some(format!("{model}-2025-01-01")),
                "{at}"
            );
            assert!(r.latency_ms > 0.0, "{at}");
            if stream {
                let ttft = r.time_to_first_token_ms.unwrap();
                assert!(ttft > 0.0 && ttft <= r.latency_ms, "{at}");
            } else {
                assert_eq!(r.time_to_first_token_ms, None, "{at}");
            }
            // OpenAI-compatible streams are not asked for usage.
            if !(stream && id.starts_with("openai-compatible")) {
                assert_eq!(r.usage.input, Some(6), "{at}");
                assert_eq!(r.usage.output, Some(3), "{at}");
            }
        }
    }
}

#[tokio::test]
async fn requests_are_built_in_each_wire_format() {
    let fp = server().await;
    ask(&fp, "openai:gpt-x", true, "hi").await;
    ask(&fp, "anthropic:claude-x", false, "hi").await;
    ask(&fp, "gemini:gemini-x", false, "hi").await;
    ask(&fp, "azure:chat:dep", true, "hi").await;
    ask(&fp, "openai-compatible:m", true, "hi").await;
    let reqs = fp.requests();
    assert_eq!(reqs[0]["model"], "gpt-x");
    assert_eq!(reqs[0]["stream"], true);
    assert_eq!(reqs[0]["stream_options"]["include_usage"], true);
    assert_eq!(reqs[0]["messages"][0]["role"], "system");
    assert_eq!(reqs[1]["system"], "Answer briefly.");
    assert_eq!(reqs[1]["max_tokens"], 1024);
    assert_eq!(
        reqs[1]["messages"],
        json!([{"role": "user", "content": "hi"}])
    );
    assert_eq!(
        reqs[2]["systemInstruction"],
        json!({"parts": [{"text": "Answer briefly."}]})
    );
    assert_eq!(reqs[2]["contents"][0]["role"], "user");
    assert!(reqs[3].get("model").is_none());
    assert_eq!(reqs[3]["stream_options"]["include_usage"], true);
    assert_eq!(reqs[4]["stream"], true);
    assert!(reqs[4].get("stream_options").is_none());
}

#[tokio::test]
async fn usage_counts_cache_and_reasoning_once() {
    let fp = server().await;
    // 2 + 4 = 6 prompt words, half of them cached.
    for stream in [false, true] {
        let r = ask(&fp, "openai:gpt-x", stream, "CACHED REASONING two three").await;
        assert_eq!(r.usage.input, Some(6));
        assert_eq!(r.usage.cache_read, Some(3));
        assert_eq!(r.usage.reasoning, Some(5));
        // "Mock answer: CACHED REASONING two three" is 6 words, plus 5 reasoning tokens.
        assert_eq!(r.usage.output, Some(11));

        let r = ask(&fp, "anthropic:claude-x", stream, "CACHED CACHEWRITE x y").await;
        // Anthropic reports 0 uncached + 3 read + 3 written; input counts all of them.
        assert_eq!(r.usage.input, Some(6), "stream={stream}");
        assert_eq!(r.usage.cache_read, Some(3));
        assert_eq!(r.usage.cache_write, Some(3));

        let r = ask(&fp, "google:gemini-x", stream, "CACHED a b c").await;
        assert_eq!(r.usage.input, Some(6));
        assert_eq!(r.usage.cache_read, Some(3));
    }
}

#[tokio::test]
async fn tool_calls_are_parsed() {
    let fp = server().await;
    for id in ["openai:gpt-x", "anthropic:claude-x", "google:gemini-x"] {
        for stream in [false, true] {
            let spec = spec(&fp, id, stream);
            let mut req = request(&spec, vec![user("CALLTOOL please")]);
            req.params.insert(
                "tools".into(),
                json!([{"type": "function", "function": {"name": "get_weather",
                    "description": "Weather", "parameters": {"type": "object", "properties": {}}}}]),
            );
            let r = ProviderClient::new()
                .complete(&spec, &req, TIMEOUT)
                .await
                .unwrap();
            let at = format!("{id} stream={stream}");
            assert_eq!(r.tool_calls.len(), 1, "{at}");
            assert_eq!(r.tool_calls[0].name, "get_weather", "{at}");
            let args: Value =
                serde_json::from_str(r.tool_calls[0].arguments.as_deref().unwrap()).unwrap();
            assert_eq!(args, json!({"input": "ok"}), "{at}");
            if !id.starts_with("google") {
                assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"), "{at}");
            }
        }
    }
}

#[tokio::test]
async fn rate_limits_carry_retry_after() {
    let fp = server().await;
    for id in CHAT_IDS {
        fp.set_faults(Faults {
            rate_limit_next: 1,
            retry_after: Some(1.5),
            ..Faults::default()
        });
        match ask_err(&fp, id, true, "hi").await {
            ProviderError::RateLimited {
                retry_after,
                message,
            } => {
                assert_eq!(retry_after, Some(Duration::from_millis(1500)), "{id}");
                assert_eq!(message, "Rate limit reached", "{id}");
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    match ask_err(&fp, "openai:gpt-x", false, "RATE429").await {
        ProviderError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_millis(50)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_errors_drops_and_malformed_answers() {
    let fp = server().await;
    for id in CHAT_IDS {
        fp.set_faults(Faults {
            server_error_next: 1,
            ..Faults::default()
        });
        let e = ask_err(&fp, id, false, "hi").await;
        assert!(
            matches!(&e, ProviderError::Server { status: 500, message } if message.contains("server had an error")),
            "{id}: {e:?}"
        );
        assert!(e.is_retryable());

        fp.set_faults(Faults {
            drop_next: 1,
            ..Faults::default()
        });
        let e = ask_err(&fp, id, false, "hi").await;
        assert!(matches!(e, ProviderError::Network(_)), "{id}: {e:?}");

        for stream in [false, true] {
            fp.set_faults(Faults {
                malformed_next: 1,
                ..Faults::default()
            });
            let e = ask_err(&fp, id, stream, "hi").await;
            assert!(
                matches!(e, ProviderError::Malformed(_)),
                "{id} stream={stream}: {e:?}"
            );
        }
    }
}

#[tokio::test]
async fn cut_streams_are_malformed() {
    let fp = server().await;
    for id in CHAT_IDS {
        fp.set_faults(Faults {
            cut_stream_next: 1,
            ..Faults::default()
        });
        let e = ask_err(&fp, id, true, "one two three four five six seven").await;
        assert!(
            matches!(&e, ProviderError::Malformed(m) if m.contains("stream ended")),
            "{id}: {e:?}"
        );
    }
}

#[tokio::test]
async fn timeouts_cover_the_whole_call() {
    let fp = FakeProvider::start(Options {
        latency: Duration::from_millis(800),
        faults: Faults::default(),
    })
    .await
    .unwrap();
    for stream in [false, true] {
        let spec = spec(&fp, "openai:gpt-x", stream);
        let req = request(&spec, vec![user("hi")]);
        let t = Instant::now();
        let e = ProviderClient::new()
            .complete(&spec, &req, Duration::from_millis(150))
            .await
            .unwrap_err();
        assert!(matches!(e, ProviderError::Timeout(_)), "{e:?}");
        assert!(t.elapsed() < Duration::from_millis(700));
    }
}

#[tokio::test]
async fn missing_key_is_an_auth_error() {
    let fp = server().await;
    // A keyless OpenAI-compatible provider pointed at the route that needs a key.
    let mut config = Map::new();
    config.insert("base_url".into(), json!(format!("{}/v1", fp.url())));
    let spec = spec_from_config("openai-compatible:m", None, &config).unwrap();
    let e = ProviderClient::new()
        .complete(&spec, &request(&spec, vec![user("hi")]), TIMEOUT)
        .await
        .unwrap_err();
    match &e {
        ProviderError::Auth { status, message } => {
            assert_eq!(*status, 401);
            assert!(message.contains("API key"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn unreachable_servers_are_network_errors() {
    // A port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = Map::new();
    config.insert(
        "base_url".into(),
        json!(format!("http://127.0.0.1:{port}/v1")),
    );
    let spec = spec_from_config("openai-compatible:m", None, &config).unwrap();
    let e = ProviderClient::new()
        .complete(&spec, &request(&spec, vec![user("hi")]), TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Network(_)), "{e:?}");
}

#[tokio::test]
async fn embeddings_from_each_api() {
    let fp = server().await;
    let texts: Vec<String> = ["the cat sat", "a dog ran", "The CAT sat"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for id in [
        "openai:embedding:emb-x",
        "azure:embedding:emb-dep",
        "google:embedding:text-embedding-004",
        "openai-compatible:emb",
    ] {
        let spec = spec(&fp, id, false);
        let v = ProviderClient::new()
            .embed(&spec, &texts, TIMEOUT)
            .await
            .unwrap();
        assert_eq!(v.len(), 3, "{id}");
        assert_eq!(v[0].len(), 64, "{id}");
        assert_eq!(v[0], v[2], "{id}: the same words embed the same");
        assert_ne!(v[0], v[1], "{id}");
        assert_eq!(v[0], fake_provider::embedding("the cat sat"), "{id}");
    }
    let spec = spec(&fp, "anthropic:claude-x", false);
    let e = ProviderClient::new()
        .embed(&spec, &texts, TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Config(_)), "{e:?}");
}

#[tokio::test]
async fn fifty_calls_run_side_by_side() {
    let fp = FakeProvider::start(Options {
        latency: Duration::from_millis(100),
        faults: Faults::default(),
    })
    .await
    .unwrap();
    let client = ProviderClient::new();
    let spec = spec(&fp, "openai:gpt-x", true);
    let t = Instant::now();
    let calls = (0..50).map(|i| {
        let client = client.clone();
        let spec = spec.clone();
        async move {
            let req = request(&spec, vec![user(&format!("ECHO: {i}"))]);
            client.complete(&spec, &req, TIMEOUT).await
        }
    });
    let results = futures_util::future::join_all(calls).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap().output, i.to_string());
    }
    assert_eq!(fp.max_in_flight(), 50);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}
