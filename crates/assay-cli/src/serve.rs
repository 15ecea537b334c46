//! `assay serve`: the HTTP adapter over `assay::api`, plus the embedded web UI.
//!
//! Routes: `POST /api/{command}` with the command's JSON arguments as the body (see
//! `assay::api::COMMANDS`), `GET /api/health`, and the UI's static files for everything else.
//! **Invariant:** on a loopback address only requests whose `Host` is a loopback name are
//! answered (a web page elsewhere cannot reach the API through DNS rebinding); on any other
//! address every API request must carry the access token.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use assay::api::json::{ApiError, ImportUpload, UploadPart};
use assay::api::Api;
use assay::ErrorCode;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use include_dir::{include_dir, Dir};

use crate::args::ServeArgs;

/// The built UI (`ui/dist`), embedded at compile time.
static UI: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../ui/dist");

/// The same policy as the desktop app's: nothing but this server.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

struct ServerState {
    api: Arc<Api>,
    token: Option<String>,
    loopback: bool,
}

/// Binds, prints the URL, and serves until Ctrl-C.
pub fn run(api: Api, args: &ServeArgs) -> Result<()> {
    let ip: IpAddr = match args.host.as_str() {
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        h => h
            .parse()
            .with_context(|| format!("--host {h:?} is not an IP address"))?,
    };
    let loopback = ip.is_loopback();
    let token = match (&args.token, loopback) {
        (Some(t), _) if t.trim().is_empty() => bail!("--token must not be empty"),
        (Some(t), _) => Some(t.clone()),
        (None, true) => None,
        (None, false) => Some(uuid::Uuid::new_v4().simple().to_string()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(ip, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        let host = if local.ip().is_ipv6() {
            format!("[{}]", local.ip())
        } else {
            local.ip().to_string()
        };
        let fragment = token
            .as_ref()
            .map(|t| format!("#token={t}"))
            .unwrap_or_default();
        // Write errors are ignored: whoever started the server may have stopped reading its
        // output, and that must not stop the server.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Serving workspace {} at http://{host}:{}/{fragment}",
            api.workspace().name(),
            local.port()
        );
        let _ = writeln!(out, "Press Ctrl-C to stop.");
        let _ = out.flush();
        drop(out);
        let api = Arc::new(api);
        api.index_in_background();
        let state = Arc::new(ServerState {
            api,
            token,
            loopback,
        });
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("server error")
    })
}

fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route(
            "/api/import_upload",
            // The body streams into the importer as it arrives, so no size bounds its memory.
            post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/import_upload_part",
            post(upload_part).layer(DefaultBodyLimit::max(PART_LIMIT)),
        )
        .route("/api/{command}", post(call))
        .fallback(get(static_file))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Host check, token check and security headers, for every request.
async fn guard(State(state): State<Arc<ServerState>>, request: Request, next: Next) -> Response {
    if state.loopback && !host_is_loopback(request.headers()) {
        return error(
            StatusCode::FORBIDDEN,
            ErrorCode::Unauthorized,
            "requests must address this server by a loopback name",
        );
    }
    let is_api = request.uri().path().starts_with("/api/") && request.uri().path() != "/api/health";
    if is_api {
        if let Some(expected) = &state.token {
            let given = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
                return error(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthorized,
                    "missing or wrong access token",
                );
            }
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn call(
    State(state): State<Arc<ServerState>>,
    Path(command): Path<String>,
    body: Bytes,
) -> Response {
    let args = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidInput,
                    &format!("request body is not JSON: {e}"),
                )
            }
        }
    };
    // SQLite calls block: keep them off the async workers.
    respond(tokio::task::spawn_blocking(move || state.api.dispatch(&command, args)).await)
}

fn respond<T: serde::Serialize>(
    result: Result<assay::Result<T>, tokio::task::JoinError>,
) -> Response {
    match result {
        Ok(Ok(value)) => Json(value).into_response(),
        Ok(Err(e)) => {
            let code = e.code();
            let status = match code {
                ErrorCode::NotFound => StatusCode::NOT_FOUND,
                ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
                ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
                ErrorCode::IncompatibleStore => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, Json(ApiError::from(e))).into_response()
        }
        Err(join) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            &format!("the request failed: {join}"),
        ),
    }
}

/// An upload is imported as its body arrives: the importer reads the chunks on a blocking thread
/// while this task receives them, so a file of any size is never held whole.
async fn upload(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    use futures_util::StreamExt;
    let upload = ImportUpload::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    let (sender, chunks) = tokio::sync::mpsc::channel(16);
    let reader = BodyReader {
        chunks,
        current: Bytes::new(),
    };
    let job = tokio::task::spawn_blocking(move || state.api.import_upload(&upload, reader));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other);
        let failed = chunk.is_err();
        // A closed channel means the importer stopped early (a document that cannot be read).
        if sender.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(sender);
    respond(job.await)
}

/// The largest part of an upload sent in parts (the UI sends 8 MiB).
const PART_LIMIT: usize = 64 << 20;

/// One part of an upload sent in parts; it waits while the import has parts to read.
async fn upload_part(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let part = UploadPart::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    let job =
        tokio::task::spawn_blocking(move || state.api.import_upload_part(&part, Vec::from(body)));
    respond(job.await)
}

/// The request body's chunks as a blocking reader, for the importer's thread.
struct BodyReader {
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

async fn static_file(uri: axum::http::Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let file = UI.get_file(path).or_else(|| {
        // Client-side routes (no extension) get the app shell; missing assets get a 404.
        (!path.rsplit('/').next().unwrap_or("").contains('.'))
            .then(|| UI.get_file("index.html"))
            .flatten()
    });
    match file {
        Some(f) => {
            let mime = content_type(f.path().to_string_lossy().as_ref());
            let cache = if f.path().starts_with("assets") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache)],
                f.contents(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        Json(ApiError {
            code: code.as_str().to_owned(),
            message: message.to_owned(),
        }),
    )
        .into_response()
}

fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        // HTTP/1.0 clients may omit Host; they are not browsers subject to DNS rebinding.
        return true;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_host_names_pass_on_a_loopback_bind() {
        let with_host = |h: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, HeaderValue::from_str(h).unwrap());
            host_is_loopback(&m)
        };
        assert!(with_host("127.0.0.1:7410"));
        assert!(with_host("localhost:7410"));
        assert!(with_host("[::1]:7410"));
        assert!(
            !with_host("evil.example:7410"),
            "DNS-rebinding names are refused"
        );
        assert!(!with_host("192.168.1.5:7410"));
    }

    #[test]
    fn token_comparison_needs_an_exact_match() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
