//! A fake LLM provider: a real HTTP server on 127.0.0.1 speaking the OpenAI, Azure OpenAI,
//! Anthropic and Gemini wire formats, with fault injection, for tests and benchmarks.
//!
//! Answers are deterministic and depend only on the last user message:
//!
//! - `ECHO: text` answers `text`; `REPLY<<text>>` answers exactly `text`;
//! - `JSON` answers `{"answer": "ok", "word_count": 3}`; `EMPTY` answers `""`;
//! - `SLOW` waits 2 s first; `ERROR500` fails with HTTP 500; `RATE429` with HTTP 429;
//! - `<Output>..</Output>` with `<Rubric>..</Rubric>` is graded (llm-rubric): it passes when
//!   the output is non-empty and does not contain `FAIL`;
//! - `<Expert>..</Expert>` with `<Submission>..</Submission>` is a factuality check: choice `C`
//!   when the submission contains the expert text, else `D`;
//! - `CALLTOOL` with tools in the request calls the first tool;
//! - `CACHED` reports half the prompt as read from the prompt cache, `CACHEWRITE` half as
//!   written to it (Anthropic), `REASONING` adds 5 reasoning tokens (OpenAI);
//! - anything else answers `Mock answer: <the text>`.
//!
//! Routes: `POST /v1/chat/completions`, `/v1/embeddings` (bearer key required),
//! `/compat/v1/chat/completions` and `/compat/v1/embeddings` (the same without a key, like a
//! local server), `/openai/deployments/{deployment}/chat/completions` and `.../embeddings`
//! (Azure, `api-key`), `/v1/messages` (Anthropic, `x-api-key` and `anthropic-version`),
//! `/v1beta/models/{model}:generateContent`, `:streamGenerateContent`, `:embedContent`,
//! `:batchEmbedContents` (Gemini, `x-goog-api-key` or `?key=`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};

/// How many request bodies [`FakeProvider::requests`] keeps.
const MAX_RECORDED: usize = 10_000;
/// The response model is the request model with this suffix (a dated snapshot).
const MODEL_SUFFIX: &str = "-2025-01-01";
/// `created` of OpenAI responses: fixed, so answers are deterministic.
const CREATED: i64 = 1_735_689_600;
/// Dimensions of the fake embeddings.
const EMBEDDING_DIMS: usize = 64;

/// Server settings.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Sleep before answering (for streams: before the first chunk).
    pub latency: Duration,
    /// Faults to inject from the start.
    pub faults: Faults,
}

/// Faults to inject. Counters are consumed one per model request, atomically, in the order
/// drop, rate limit, server error, malformed, cut stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// The next N model requests get 429 with `Retry-After`.
    pub rate_limit_next: u32,
    /// Seconds for `Retry-After` (`None`: no header).
    pub retry_after: Option<f64>,
    /// Requests beyond this many in flight get 429, as a real provider's concurrency limit.
    pub max_concurrency: Option<u32>,
    /// The next N get 500 with a JSON error body.
    pub server_error_next: u32,
    /// The next N: the connection is closed without a response.
    pub drop_next: u32,
    /// The next N: 200 with a body that is not valid JSON.
    pub malformed_next: u32,
    /// The next N streamed responses stop mid-way (no final chunk, no `[DONE]`).
    pub cut_stream_next: u32,
}

/// A running fake provider. Dropping it shuts the server down.
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeProvider")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeProvider {
    /// Starts a server on 127.0.0.1 with a free port, on the current tokio runtime.
    pub async fn start(options: Options) -> std::io::Result<FakeProvider> {
        FakeProvider::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), options).await
    }

    /// Starts a server on the given address, on the current tokio runtime.
    pub async fn start_on(addr: SocketAddr, options: Options) -> std::io::Result<FakeProvider> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(options));
        let (shutdown, rx) = watch::channel(false);
        tokio::spawn(serve(listener, router(shared.clone()), rx));
        Ok(FakeProvider {
            addr,
            shared,
            shutdown,
            thread: None,
        })
    }

    /// Starts a server with its own runtime on a thread of its own, for synchronous tests
    /// and benchmarks.
    pub fn start_blocking(options: Options) -> std::io::Result<FakeProvider> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-provider")
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let shared = Arc::new(Shared::new(options));
        let (shutdown, rx) = watch::channel(false);
        let app = router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("fake-provider".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Converting needs the runtime's reactor, so it happens inside it.
                    if let Ok(listener) = TcpListener::from_std(std_listener) {
                        serve(listener, app, rx).await;
                    }
                });
            })?;
        Ok(FakeProvider {
            addr,
            shared,
            shutdown,
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`; the OpenAI base URL is this plus `/v1`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received by model routes (completed or failed) since the start or the last
    /// [`FakeProvider::reset_counters`].
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// The most model requests in flight at once.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// The request bodies received, in order (the first 10,000). A body that is not JSON is
    /// recorded as a string.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared.requests).clone()
    }

    /// Changes how long the server waits before answering.
    pub fn set_latency(&self, latency: Duration) {
        self.shared
            .latency_ns
            .store(latency.as_nanos() as u64, Ordering::SeqCst);
    }

    /// Replaces the faults to inject.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// Resets calls, max in flight and the recorded requests.
    pub fn reset_counters(&self) {
        self.shared.calls.store(0, Ordering::SeqCst);
        self.shared.max_in_flight.store(
            self.shared.in_flight.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
        lock(&self.shared.requests).clear();
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// State shared by all requests.
struct Shared {
    /// Nanoseconds to wait before answering (changeable while running).
    latency_ns: AtomicU64,
    faults: Mutex<Faults>,
    calls: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    requests: Mutex<Vec<Value>>,
    ids: AtomicU64,
}

impl Shared {
    fn new(options: Options) -> Shared {
        Shared {
            latency_ns: AtomicU64::new(options.latency.as_nanos() as u64),
            faults: Mutex::new(options.faults),
            calls: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            ids: AtomicU64::new(0),
        }
    }

    /// Takes the next fault, if any, in the documented order.
    fn take_fault(&self, streaming: bool) -> Option<Fault> {
        let mut f = lock(&self.faults);
        if f.drop_next > 0 {
            f.drop_next -= 1;
            Some(Fault::Drop)
        } else if f.rate_limit_next > 0 {
            f.rate_limit_next -= 1;
            Some(Fault::RateLimit(f.retry_after))
        } else if f.server_error_next > 0 {
            f.server_error_next -= 1;
            Some(Fault::ServerError)
        } else if f.malformed_next > 0 {
            f.malformed_next -= 1;
            Some(Fault::Malformed)
        } else if streaming && f.cut_stream_next > 0 {
            f.cut_stream_next -= 1;
            Some(Fault::CutStream)
        } else {
            None
        }
    }

    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A poisoned lock only means another request panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Drop,
    RateLimit(Option<f64>),
    ServerError,
    Malformed,
    CutStream,
}

/// Counts a request in flight until dropped (for streams: until the stream ends).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> InFlight {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }

    fn current(&self) -> u64 {
        self.0.in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Closes the request's connection without an answer when notified.
#[derive(Clone)]
struct Kill(Arc<Notify>);

async fn serve(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: back off rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let kill = Kill(Arc::new(Notify::new()));
        let app = app.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let notify = kill.0.clone();
            let service = hyper::service::service_fn(move |mut req| {
                req.extensions_mut().insert(kill.clone());
                let mut app = app.clone();
                async move {
                    let response: Result<Response, Infallible> =
                        tower_service::Service::call(&mut app, req).await;
                    response
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = notify.notified() => {}
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/compat/v1/chat/completions", post(compat_chat))
        .route("/compat/v1/embeddings", post(compat_embeddings))
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(azure_chat),
        )
        .route(
            "/openai/deployments/{deployment}/embeddings",
            post(azure_embeddings),
        )
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1beta/models/{action}", post(gemini))
        .with_state(shared)
}

/// Which wire format a request speaks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Api {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Chat,
    Embed,
    GeminiBatchEmbed,
}

type Shr = State<Arc<Shared>>;
type Q = Query<HashMap<String, String>>;

async fn openai_chat(
    State(s): Shr,
    Extension(k): Extension<Kill>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let auth = bearer(&h);
    handle(s, k, Api::OpenAi, Op::Chat, auth, None, None, b).await
}

async fn openai_embeddings(
    State(s): Shr,
    Extension(k): Extension<Kill>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let auth = bearer(&h);
    handle(s, k, Api::OpenAi, Op::Embed, auth, None, None, b).await
}

async fn compat_chat(State(s): Shr, Extension(k): Extension<Kill>, b: Bytes) -> Response {
    handle(s, k, Api::OpenAi, Op::Chat, Ok(()), None, None, b).await
}

async fn compat_embeddings(State(s): Shr, Extension(k): Extension<Kill>, b: Bytes) -> Response {
    handle(s, k, Api::OpenAi, Op::Embed, Ok(()), None, None, b).await
}

async fn azure_chat(
    State(s): Shr,
    Extension(k): Extension<Kill>,
    Path(deployment): Path<String>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let auth = header_key(&h, "api-key", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
    handle(s, k, Api::Azure, Op::Chat, auth, Some(deployment), None, b).await
}

async fn azure_embeddings(
    State(s): Shr,
    Extension(k): Extension<Kill>,
    Path(deployment): Path<String>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let auth = header_key(
        &h,
        "api-key",
        "Access denied due to invalid subscription key or wrong API endpoint.",
    );
    handle(s, k, Api::Azure, Op::Embed, auth, Some(deployment), None, b).await
}

async fn anthropic_messages(
    State(s): Shr,
    Extension(k): Extension<Kill>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let auth = header_key(&h, "x-api-key", "x-api-key header is required").and_then(|()| {
        if h.get("anthropic-version").is_some() {
            Ok(())
        } else {
            Err((
                StatusCode::BAD_REQUEST,
                "anthropic-version: header is required".to_owned(),
            ))
        }
    });
    handle(s, k, Api::Anthropic, Op::Chat, auth, None, None, b).await
}

async fn gemini(
    State(s): Shr,
    Extension(k): Extension<Kill>,
    Path(action): Path<String>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let Some((model, method)) = action.split_once(':') else {
        return error_response(Api::Gemini, StatusCode::NOT_FOUND, "unknown method", None);
    };
    let (op, stream) = match method {
        "generateContent" => (Op::Chat, Some(false)),
        "streamGenerateContent" => (Op::Chat, Some(true)),
        "embedContent" => (Op::Embed, None),
        "batchEmbedContents" => (Op::GeminiBatchEmbed, None),
        _ => {
            return error_response(
                Api::Gemini,
                StatusCode::NOT_FOUND,
                &format!("method {method} not found"),
                None,
            )
        }
    };
    let key_in_header = h
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    let key_in_query = q.get("key").is_some_and(|v| !v.trim().is_empty());
    let auth = if key_in_header || key_in_query {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.".to_owned(),
        ))
    };
    handle(
        s,
        k,
        Api::Gemini,
        op,
        auth,
        Some(model.to_owned()),
        stream,
        b,
    )
    .await
}

fn bearer(h: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let ok = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| !k.trim().is_empty());
    if ok {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).".to_owned()))
    }
}

fn header_key(h: &HeaderMap, name: &str, message: &str) -> Result<(), (StatusCode, String)> {
    let ok = h
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| !k.trim().is_empty());
    if ok {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, message.to_owned()))
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    shared: Arc<Shared>,
    kill: Kill,
    api: Api,
    op: Op,
    auth: Result<(), (StatusCode, String)>,
    path_model: Option<String>,
    gemini_stream: Option<bool>,
    body: Bytes,
) -> Response {
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let guard = InFlight::new(shared.clone());
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    {
        let mut recorded = lock(&shared.requests);
        if recorded.len() < MAX_RECORDED {
            recorded.push(match &parsed {
                Ok(v) => v.clone(),
                Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
            });
        }
    }
    if let Err((status, message)) = auth {
        return error_response(api, status, &message, None);
    }
    let limit = lock(&shared.faults).max_concurrency;
    if let Some(limit) = limit {
        if guard.current() > u64::from(limit) {
            let retry = lock(&shared.faults).retry_after;
            return error_response(
                api,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many concurrent requests",
                retry,
            );
        }
    }
    let request = match parsed {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error_response(
                api,
                StatusCode::BAD_REQUEST,
                "The request body is not valid JSON",
                None,
            )
        }
    };
    let streaming = op == Op::Chat
        && match gemini_stream {
            Some(s) => s,
            None => request.get("stream").and_then(Value::as_bool) == Some(true),
        };
    let fault = shared.take_fault(streaming);
    match fault {
        Some(Fault::Drop) => {
            kill.0.notify_one();
            // The connection task drops this future; nothing is ever answered.
            std::future::pending::<()>().await;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(Fault::RateLimit(retry)) => {
            return error_response(
                api,
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit reached",
                retry,
            )
        }
        Some(Fault::ServerError) => {
            return error_response(
                api,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server had an error while processing your request",
                None,
            )
        }
        Some(Fault::Malformed) => return malformed(streaming),
        _ => {}
    }
    let latency = Duration::from_nanos(shared.latency_ns.load(Ordering::SeqCst));
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match op {
        Op::Embed | Op::GeminiBatchEmbed => embeddings_response(api, op, &request, path_model),
        Op::Chat => {
            let conv = Conversation::read(api, &request, path_model);
            if conv.last_user.contains("SLOW") {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let grading = is_grading(&conv.last_user);
            if !grading && conv.last_user.contains("ERROR500") {
                return error_response(
                    api,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ERROR500 requested",
                    None,
                );
            }
            if !grading && conv.last_user.contains("RATE429") {
                return error_response(
                    api,
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE429 requested",
                    Some(0.05),
                );
            }
            let answer = Answer::for_conversation(&conv);
            let id = shared.next_id();
            if streaming {
                stream_response(
                    api,
                    conv,
                    answer,
                    id,
                    fault == Some(Fault::CutStream),
                    guard,
                )
            } else {
                json_response(chat_body(api, &conv, &answer, id))
            }
        }
    }
}

fn json_response(v: Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        v.to_string(),
    )
        .into_response()
}

fn malformed(streaming: bool) -> Response {
    if streaming {
        (
            [(header::CONTENT_TYPE, "text/event-stream")],
            "data: {\"choices\": [{\"delta\": \n\n",
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\": \"broken\", \"choices\": [",
        )
            .into_response()
    }
}

/// An error in the provider's own JSON shape.
fn error_response(
    api: Api,
    status: StatusCode,
    message: &str,
    retry_after: Option<f64>,
) -> Response {
    let code = status.as_u16();
    let body = match api {
        Api::OpenAi => {
            let (kind, code_str) = match code {
                401 => (
                    "invalid_request_error",
                    Value::String("invalid_api_key".into()),
                ),
                429 => ("requests", Value::String("rate_limit_exceeded".into())),
                400..=499 => ("invalid_request_error", Value::Null),
                _ => ("server_error", Value::Null),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code_str}})
        }
        Api::Azure => json!({"error": {"code": code.to_string(), "message": message}}),
        Api::Anthropic => {
            let kind = match code {
                400 => "invalid_request_error",
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                _ => "api_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Api::Gemini => {
            let kind = match code {
                400 => "INVALID_ARGUMENT",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                _ => "INTERNAL",
            };
            json!({"error": {"code": code, "message": message, "status": kind}})
        }
    };
    let mut response = (status, json_response(body)).into_response();
    if let Some(secs) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&format_seconds(secs)) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

/// Whole seconds without a decimal point, as most servers send them.
fn format_seconds(secs: f64) -> String {
    if secs.fract() == 0.0 {
        format!("{}", secs as i64)
    } else {
        format!("{secs}")
    }
}

/// The parts of a chat request the answer depends on.
#[derive(Debug, Clone)]
struct Conversation {
    model: String,
    last_user: String,
    all_text: String,
    prompt_words: u64,
    include_usage: bool,
    tool_name: Option<String>,
}

impl Conversation {
    fn read(api: Api, request: &Value, path_model: Option<String>) -> Conversation {
        let model = request
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(path_model)
            .unwrap_or_else(|| "fake-model".to_owned());
        let mut texts: Vec<String> = Vec::new();
        let mut last_user = String::new();
        match api {
            Api::OpenAi | Api::Azure | Api::Anthropic => {
                if let Some(system) = request.get("system") {
                    texts.push(content_text(system));
                }
                for m in request
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let text = m.get("content").map(content_text).unwrap_or_default();
                    if m.get("role").and_then(Value::as_str) == Some("user") {
                        last_user = text.clone();
                    }
                    texts.push(text);
                }
            }
            Api::Gemini => {
                if let Some(parts) = request.pointer("/systemInstruction/parts") {
                    texts.push(content_text(parts));
                }
                for c in request
                    .get("contents")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let text = c.get("parts").map(content_text).unwrap_or_default();
                    let role = c.get("role").and_then(Value::as_str).unwrap_or("user");
                    if role == "user" {
                        last_user = text.clone();
                    }
                    texts.push(text);
                }
            }
        }
        let all_text = texts.join("\n");
        let prompt_words = words(&all_text);
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        let tools = request.get("tools").and_then(Value::as_array);
        let tool_name = tools.and_then(|t| t.first()).and_then(|t| {
            t.pointer("/function/name")
                .or_else(|| t.get("name"))
                .or_else(|| t.pointer("/functionDeclarations/0/name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        Conversation {
            model,
            last_user,
            all_text,
            prompt_words,
            include_usage,
            tool_name,
        }
    }

    fn cached(&self) -> u64 {
        if self.all_text.contains("CACHED") {
            self.prompt_words / 2
        } else {
            0
        }
    }

    fn cache_write(&self) -> u64 {
        if self.all_text.contains("CACHEWRITE") {
            self.prompt_words / 2
        } else {
            0
        }
    }

    fn reasoning(&self) -> u64 {
        if self.all_text.contains("REASONING") {
            5
        } else {
            0
        }
    }
}

/// Text of a string content or of a list of parts (`{type: text, text}` or `{text}`).
fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str).or_else(|| p.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// The model's deterministic answer.
#[derive(Debug, Clone)]
struct Answer {
    text: String,
    tool_call: Option<String>,
}

impl Answer {
    fn for_conversation(conv: &Conversation) -> Answer {
        if let (true, Some(name)) = (conv.last_user.contains("CALLTOOL"), &conv.tool_name) {
            return Answer {
                text: String::new(),
                tool_call: Some(name.clone()),
            };
        }
        Answer {
            text: answer_text(&conv.last_user),
            tool_call: None,
        }
    }

    fn completion_words(&self) -> u64 {
        words(&self.text) + if self.tool_call.is_some() { 3 } else { 0 }
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

fn is_grading(text: &str) -> bool {
    (between(text, "<Output>", "</Output>").is_some()
        && between(text, "<Rubric>", "</Rubric>").is_some())
        || (between(text, "<Expert>", "</Expert>").is_some()
            && between(text, "<Submission>", "</Submission>").is_some())
}

/// The answer to the last user message (see the crate docs).
pub fn answer_text(user: &str) -> String {
    if let (Some(output), Some(_)) = (
        between(user, "<Output>", "</Output>"),
        between(user, "<Rubric>", "</Rubric>"),
    ) {
        let output = output.trim();
        let pass = !output.is_empty() && !output.contains("FAIL");
        let reason = if pass {
            "The output is non-empty and does not contain FAIL"
        } else if output.is_empty() {
            "The output is empty"
        } else {
            "The output contains FAIL"
        };
        return json!({"reason": reason, "pass": pass, "score": if pass { 1 } else { 0 }})
            .to_string();
    }
    if let (Some(expert), Some(submission)) = (
        between(user, "<Expert>", "</Expert>"),
        between(user, "<Submission>", "</Submission>"),
    ) {
        let contains = submission
            .to_lowercase()
            .contains(&expert.trim().to_lowercase());
        let (choice, reason) = if contains {
            (
                "C",
                "The submission contains all the expert answer's content",
            )
        } else {
            ("D", "The submission disagrees with the expert answer")
        };
        return json!({"choice": choice, "reason": reason}).to_string();
    }
    if let Some(pos) = user.find("ECHO:") {
        return user[pos + "ECHO:".len()..].trim().to_owned();
    }
    if let Some(text) = between(user, "REPLY<<", ">>") {
        return text.to_owned();
    }
    if user.contains("JSON") {
        return r#"{"answer": "ok", "word_count": 3}"#.to_owned();
    }
    if user.contains("EMPTY") {
        return String::new();
    }
    format!("Mock answer: {user}")
}

fn response_model(conv: &Conversation) -> String {
    format!("{}{MODEL_SUFFIX}", conv.model)
}

const TOOL_ARGS: &str = r#"{"input": "ok"}"#;

fn tool_call_id(id: u64) -> String {
    format!("call_fake_{id}")
}

/// A non-streamed chat answer in the provider's format.
fn chat_body(api: Api, conv: &Conversation, answer: &Answer, id: u64) -> Value {
    let prompt = conv.prompt_words;
    let completion = answer.completion_words() + conv.reasoning();
    let cached = conv.cached();
    match api {
        Api::OpenAi | Api::Azure => {
            let mut message = json!({"role": "assistant", "content": answer.text, "refusal": null});
            let mut finish = "stop";
            if let Some(name) = &answer.tool_call {
                message["content"] = Value::Null;
                message["tool_calls"] = json!([{
                    "id": tool_call_id(id), "type": "function",
                    "function": {"name": name, "arguments": TOOL_ARGS}
                }]);
                finish = "tool_calls";
            }
            json!({
                "id": format!("chatcmpl-fake{id}"),
                "object": "chat.completion",
                "created": CREATED,
                "model": response_model(conv),
                "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
                "usage": openai_usage(conv, prompt, completion, cached),
                "system_fingerprint": "fp_fake"
            })
        }
        Api::Anthropic => {
            let mut content = Vec::new();
            if !answer.text.is_empty() || answer.tool_call.is_none() {
                content.push(json!({"type": "text", "text": answer.text}));
            }
            let mut stop = "end_turn";
            if let Some(name) = &answer.tool_call {
                content.push(json!({"type": "tool_use", "id": format!("toolu_fake{id}"), "name": name, "input": {"input": "ok"}}));
                stop = "tool_use";
            }
            json!({
                "id": format!("msg_fake{id}"),
                "type": "message",
                "role": "assistant",
                "model": response_model(conv),
                "content": content,
                "stop_reason": stop,
                "stop_sequence": null,
                "usage": anthropic_usage(conv, completion)
            })
        }
        Api::Gemini => {
            let parts = match &answer.tool_call {
                Some(name) => json!([{"functionCall": {"name": name, "args": {"input": "ok"}}}]),
                None => json!([{"text": answer.text}]),
            };
            json!({
                "candidates": [{
                    "content": {"parts": parts, "role": "model"},
                    "finishReason": "STOP",
                    "index": 0
                }],
                "usageMetadata": gemini_usage(conv, completion),
                "modelVersion": response_model(conv),
                "responseId": format!("fake{id}")
            })
        }
    }
}

fn openai_usage(conv: &Conversation, prompt: u64, completion: u64, cached: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": conv.reasoning(), "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

/// Anthropic reports cache reads and writes apart from `input_tokens`.
fn anthropic_usage(conv: &Conversation, completion: u64) -> Value {
    let read = conv.cached();
    let write = conv.cache_write();
    let input = conv.prompt_words.saturating_sub(read + write);
    json!({
        "input_tokens": input,
        "output_tokens": completion,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write
    })
}

/// Gemini's `cachedContentTokenCount` is part of `promptTokenCount`.
fn gemini_usage(conv: &Conversation, completion: u64) -> Value {
    let mut usage = json!({
        "promptTokenCount": conv.prompt_words,
        "candidatesTokenCount": completion,
        "totalTokenCount": conv.prompt_words + completion
    });
    if conv.cached() > 0 {
        usage["cachedContentTokenCount"] = json!(conv.cached());
    }
    usage
}

/// Splits an answer into up to four pieces on word boundaries, so a stream has several deltas.
fn pieces(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let tokens: Vec<&str> = text.split_inclusive(' ').collect();
    let per = tokens.len().div_ceil(4).max(1);
    tokens.chunks(per).map(|c| c.concat()).collect()
}

fn sse_data(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

fn sse_event(event: &str, v: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {v}\n\n"))
}

/// The SSE events of a streamed answer, in order; `cut` stops it half-way.
fn stream_events(api: Api, conv: &Conversation, answer: &Answer, id: u64, cut: bool) -> Vec<Bytes> {
    let parts = pieces(&answer.text);
    let mut out = Vec::new();
    let completion = answer.completion_words() + conv.reasoning();
    // A cut stream sends the first content and stops there.
    let keep = if cut { parts.len().min(1) } else { parts.len() };
    match api {
        Api::OpenAi | Api::Azure => {
            let model = response_model(conv);
            let chunk = |delta: Value, finish: Value| {
                let mut c = json!({
                    "id": format!("chatcmpl-fake{id}"),
                    "object": "chat.completion.chunk",
                    "created": CREATED,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
                });
                if conv.include_usage {
                    c["usage"] = Value::Null;
                }
                c
            };
            out.push(sse_data(&chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            )));
            for p in &parts[..keep] {
                out.push(sse_data(&chunk(json!({"content": p}), Value::Null)));
            }
            if cut {
                return out;
            }
            let mut finish = "stop";
            if let Some(name) = &answer.tool_call {
                out.push(sse_data(&chunk(
                    json!({"tool_calls": [{"index": 0, "id": tool_call_id(id), "type": "function",
                        "function": {"name": name, "arguments": ""}}]}),
                    Value::Null,
                )));
                // Arguments arrive in fragments, as they do from the real API.
                let (a, b) = TOOL_ARGS.split_at(TOOL_ARGS.len() / 2);
                for frag in [a, b] {
                    out.push(sse_data(&chunk(
                        json!({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}),
                        Value::Null,
                    )));
                }
                finish = "tool_calls";
            }
            out.push(sse_data(&chunk(json!({}), json!(finish))));
            if conv.include_usage {
                let mut u = chunk(json!({}), Value::Null);
                u["choices"] = json!([]);
                u["usage"] = openai_usage(conv, conv.prompt_words, completion, conv.cached());
                out.push(sse_data(&u));
            }
            out.push(Bytes::from_static(b"data: [DONE]\n\n"));
        }
        Api::Anthropic => {
            let mut start_usage = anthropic_usage(conv, 1);
            start_usage["output_tokens"] = json!(1);
            out.push(sse_event(
                "message_start",
                &json!({"type": "message_start", "message": {
                    "id": format!("msg_fake{id}"), "type": "message", "role": "assistant",
                    "content": [], "model": response_model(conv), "stop_reason": null,
                    "stop_sequence": null, "usage": start_usage}}),
            ));
            out.push(sse_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            out.push(sse_event("ping", &json!({"type": "ping"})));
            for p in &parts[..keep] {
                out.push(sse_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
                ));
            }
            if cut {
                return out;
            }
            out.push(sse_event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": 0}),
            ));
            let mut stop = "end_turn";
            if let Some(name) = &answer.tool_call {
                out.push(sse_event(
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": 1, "content_block": {
                        "type": "tool_use", "id": format!("toolu_fake{id}"), "name": name, "input": {}}}),
                ));
                let (a, b) = TOOL_ARGS.split_at(TOOL_ARGS.len() / 2);
                for frag in [a, b] {
                    out.push(sse_event(
                        "content_block_delta",
                        &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": frag}}),
                    ));
                }
                out.push(sse_event(
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": 1}),
                ));
                stop = "tool_use";
            }
            out.push(sse_event(
                "message_delta",
                &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                    "usage": {"output_tokens": completion}}),
            ));
            out.push(sse_event("message_stop", &json!({"type": "message_stop"})));
        }
        Api::Gemini => {
            let model = response_model(conv);
            let n = parts.len();
            if n == 0 && answer.tool_call.is_none() {
                if !cut {
                    out.push(sse_data(&json!({
                        "candidates": [{"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": "STOP", "index": 0}],
                        "usageMetadata": gemini_usage(conv, completion), "modelVersion": model})));
                }
                return out;
            }
            for (i, p) in parts[..keep].iter().enumerate() {
                let last = !cut && i + 1 == n && answer.tool_call.is_none();
                let mut c = json!({
                    "candidates": [{"content": {"parts": [{"text": p}], "role": "model"}, "index": 0}],
                    "modelVersion": model
                });
                if last {
                    c["candidates"][0]["finishReason"] = json!("STOP");
                    c["usageMetadata"] = gemini_usage(conv, completion);
                }
                out.push(sse_data(&c));
            }
            if cut {
                return out;
            }
            if let Some(name) = &answer.tool_call {
                out.push(sse_data(&json!({
                    "candidates": [{"content": {"parts": [{"functionCall": {"name": name, "args": {"input": "ok"}}}], "role": "model"},
                        "finishReason": "STOP", "index": 0}],
                    "usageMetadata": gemini_usage(conv, completion), "modelVersion": model})));
            }
        }
    }
    out
}

fn stream_response(
    api: Api,
    conv: Conversation,
    answer: Answer,
    id: u64,
    cut: bool,
    guard: InFlight,
) -> Response {
    let events = stream_events(api, &conv, &answer, id, cut);
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        // The request stays in flight until its stream ends.
        let _guard = guard;
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 {
                // Separate deltas arrive in separate reads, as they do from a real server.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// A deterministic unit vector from the hashed lowercase words of `text`.
pub fn embedding(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; EMBEDDING_DIMS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let h = fnv1a(&word.to_lowercase());
        let idx = (h % EMBEDDING_DIMS as u64) as usize;
        let sign = if (h >> 32) & 1 == 0 { 1.0 } else { -1.0 };
        v[idx] += sign;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn embeddings_response(api: Api, op: Op, request: &Value, path_model: Option<String>) -> Response {
    match api {
        Api::OpenAi | Api::Azure => {
            let inputs: Vec<String> = match request.get("input") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect(),
                _ => {
                    return error_response(
                        api,
                        StatusCode::BAD_REQUEST,
                        "'input' is a required property",
                        None,
                    )
                }
            };
            let model = request
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(path_model)
                .unwrap_or_else(|| "fake-embedding".into());
            let tokens: u64 = inputs.iter().map(|i| words(i)).sum();
            let data: Vec<Value> = inputs
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embedding(t)}))
                .collect();
            json_response(json!({
                "object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
            }))
        }
        Api::Gemini => {
            if op == Op::GeminiBatchEmbed {
                let embeddings: Vec<Value> = request
                    .get("requests")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let text = r
                            .pointer("/content/parts")
                            .map(content_text)
                            .unwrap_or_default();
                        json!({"values": embedding(&text)})
                    })
                    .collect();
                json_response(json!({"embeddings": embeddings}))
            } else {
                let text = request
                    .pointer("/content/parts")
                    .map(content_text)
                    .unwrap_or_default();
                json_response(json!({"embedding": {"values": embedding(&text)}}))
            }
        }
        Api::Anthropic => error_response(api, StatusCode::NOT_FOUND, "Not found", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_documented_rules() {
        assert_eq!(answer_text("please ECHO:  hello there "), "hello there");
        assert_eq!(answer_text("x REPLY<< exact >> y"), " exact ");
        assert_eq!(
            answer_text("give me JSON"),
            r#"{"answer": "ok", "word_count": 3}"#
        );
        assert_eq!(answer_text("EMPTY please"), "");
        assert_eq!(answer_text("hi"), "Mock answer: hi");
        let graded: Value = serde_json::from_str(&answer_text(
            "Respond in JSON. <Output>all good</Output><Rubric>is good</Rubric>",
        ))
        .unwrap();
        assert_eq!(graded["pass"], true);
        assert_eq!(graded["score"], 1);
        let failed: Value =
            serde_json::from_str(&answer_text("<Output>FAIL here</Output><Rubric>r</Rubric>"))
                .unwrap();
        assert_eq!(failed["pass"], false);
        assert_eq!(failed["score"], 0);
        let fact: Value = serde_json::from_str(&answer_text(
            "<Expert>Paris</Expert><Submission>It is paris.</Submission>",
        ))
        .unwrap();
        assert_eq!(fact["choice"], "C");
        let fact: Value = serde_json::from_str(&answer_text(
            "<Expert>Paris</Expert><Submission>Rome</Submission>",
        ))
        .unwrap();
        assert_eq!(fact["choice"], "D");
    }

    #[test]
    fn embeddings_are_unit_vectors_and_deterministic() {
        let a = embedding("The cat sat");
        assert_eq!(a.len(), EMBEDDING_DIMS);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(a, embedding("the CAT sat"));
        assert_ne!(a, embedding("a dog ran"));
    }

    #[test]
    fn pieces_rejoin_to_the_answer() {
        let text = "one two three four five six seven";
        let p = pieces(text);
        assert!(p.len() > 1 && p.len() <= 4);
        assert_eq!(p.concat(), text);
        assert!(pieces("").is_empty());
    }
}
