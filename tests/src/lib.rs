//! Helpers for the end-to-end tests: locate the built binaries and fixtures, make throwaway
//! workspaces, run `assay`, and talk HTTP to `assay serve` over a plain TCP socket.
//!
//! The binaries are the ones `cargo build --workspace` left in the target folder (the README's
//! test command builds them first); `ASSAY_BIN` overrides the `assay` path.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

/// A file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

/// The built `assay` binary.
pub fn assay_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("ASSAY_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/assay
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir.join("assay");
    assert!(
        bin.is_file(),
        "{} is missing: build the workspace first (`cargo build --workspace`)",
        bin.display()
    );
    bin
}

/// A throwaway workspace folder, initialised with `assay init`.
pub struct TempWorkspace {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

impl TempWorkspace {
    /// Creates and initialises a workspace.
    pub fn new() -> TempWorkspace {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(assay_bin())
            .arg("init")
            .arg(dir.path())
            .output()
            .expect("run assay init");
        assert!(
            out.status.success(),
            "assay init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TempWorkspace { dir }
    }

    /// The workspace folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `assay ARGS` inside the workspace.
    pub fn assay(&self, args: &[&str]) -> Output {
        Command::new(assay_bin())
            .args(args)
            .current_dir(self.path())
            .env_remove("ASSAY_WORKSPACE")
            .env_remove("ASSAY_DB")
            .output()
            .expect("run assay")
    }

    /// Runs `assay ARGS`, asserts success, and parses stdout as JSON.
    pub fn assay_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.assay(args);
        assert!(
            out.status.success(),
            "assay {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "assay {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Starts `assay serve` on a free port with extra arguments; returns the server and its URL.
    pub fn serve(&self, extra: &[&str]) -> Server {
        let mut child = Command::new(assay_bin())
            .args(["serve", "--port", "0"])
            .args(extra)
            .current_dir(self.path())
            .env_remove("ASSAY_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start assay serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the serve banner");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the serve banner: {line:?}"))
            .to_owned();
        Server {
            child,
            url,
            _stdout: stdout,
        }
    }
}

impl Default for TempWorkspace {
    fn default() -> Self {
        Self::new()
    }
}

/// A running `assay serve`, stopped on drop.
pub struct Server {
    child: Child,
    // Held open so the server's later output never meets a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
    /// The URL it printed (with `#token=...` when one is required).
    pub url: String,
}

impl Server {
    /// `host:port` to connect to (always over loopback).
    pub fn addr(&self) -> String {
        let rest = self.url.trim_start_matches("http://");
        let hostport = rest.split('/').next().unwrap_or(rest);
        let port = hostport.rsplit(':').next().unwrap_or("0");
        format!("127.0.0.1:{port}")
    }

    /// The token in the printed URL, if any.
    pub fn token(&self) -> Option<String> {
        self.url.split("#token=").nth(1).map(str::to_owned)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response, as read off the socket.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`, body read to EOF).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect to assay serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !has_host {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).expect("send request");
    read_response(&mut stream)
}

/// Reads a whole response from a `Connection: close` request's stream.
pub fn read_response(stream: &mut TcpStream) -> HttpResponse {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// Every `(span id, parent span id)` pair in an OTLP/JSON file, and its trace id.
pub fn otlp_parents(path: &Path) -> (String, Vec<(String, Option<String>)>) {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("read fixture"))
            .expect("fixture is JSON");
    let mut trace_id = String::new();
    let mut pairs = Vec::new();
    for rs in doc["resourceSpans"].as_array().expect("resourceSpans") {
        for ss in rs["scopeSpans"].as_array().expect("scopeSpans") {
            for span in ss["spans"].as_array().expect("spans") {
                trace_id = span["traceId"].as_str().expect("traceId").to_owned();
                let parent = span["parentSpanId"]
                    .as_str()
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned);
                pairs.push((span["spanId"].as_str().expect("spanId").to_owned(), parent));
            }
        }
    }
    (trace_id, pairs)
}
