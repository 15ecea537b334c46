//! `fake-provider [--port N] [--latency-ms N]`: runs the fake provider until interrupted and
//! prints its URL, for trying Assay against it by hand.

use std::net::SocketAddr;
use std::time::Duration;

use fake_provider::{FakeProvider, Options};

fn usage() -> String {
    "usage: fake-provider [--port N] [--latency-ms N]".to_owned()
}

fn parse_args() -> Result<(u16, u64), String> {
    let mut port = 0u16;
    let mut latency = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{}", usage()))
        };
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                port = v.parse().map_err(|_| format!("--port: not a port: {v}"))?;
            }
            "--latency-ms" => {
                let v = value("--latency-ms")?;
                latency = v
                    .parse()
                    .map_err(|_| format!("--latency-ms: not a number: {v}"))?;
            }
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other}\n{}", usage())),
        }
    }
    Ok((port, latency))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let (port, latency) = match parse_args() {
        Ok(v) => v,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let options = Options {
        latency: Duration::from_millis(latency),
        ..Options::default()
    };
    let server =
        match FakeProvider::start_on(SocketAddr::from(([127, 0, 0, 1], port)), options).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    println!("{}", server.url());
    println!("OpenAI base URL: {}/v1", server.url());
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
