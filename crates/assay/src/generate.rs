//! A generator of realistic production traces, for demos and benchmarks: a month of traffic from
//! several tenants to several endpoints, 3-8 spans per trace (retrievals, embeddings, model calls,
//! tools, agents), with errors of each class, truncated and empty responses, prompt caching, a
//! cost spike (one tenant's agent traffic jumps on one day) and a latency regression (search gets
//! slower for the last week). Deterministic for a given seed.
//!
//! Output: OTLP/JSON lines (one `TracesData` per line, as the collector's file exporter writes)
//! and/or binary protobuf `TracesData` messages, each preceded by its varint length.

use std::io::Write;

use crate::error::{Error, Result};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// About how many spans (traces are whole, so the count is met or slightly exceeded).
    pub spans: u64,
    /// First day, as nanoseconds since the epoch (midnight UTC).
    pub start_ns: i64,
    /// Number of days.
    pub days: u32,
    /// Random seed.
    pub seed: u64,
    /// Traces per `TracesData` message (per line in JSON lines).
    pub traces_per_message: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            spans: 100_000,
            // 2026-10-01T00:00:00Z
            start_ns: 1_790_812_800_000_000_000,
            days: 30,
            seed: 42,
            traces_per_message: 50,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct GenerateReport {
    /// Traces written.
    pub traces: u64,
    /// Spans written.
    pub spans: u64,
    /// Bytes written to the JSON-lines output.
    pub json_bytes: u64,
    /// Bytes written to the protobuf output.
    pub proto_bytes: u64,
}

/// Writes generated traces to `json` (OTLP/JSON lines) and/or `proto` (length-delimited OTLP
/// protobuf). The two outputs hold the same traces.
pub fn generate(
    options: &GenerateOptions,
    mut json: Option<&mut dyn Write>,
    mut proto: Option<&mut dyn Write>,
) -> Result<GenerateReport> {
    let io = |e: std::io::Error| Error::io("generated output", e);
    let mut rng = Rng(options.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut report = GenerateReport::default();
    let day_ns: i64 = 86_400_000_000_000;
    let span_ns = i64::from(options.days.max(1)) * day_ns;
    // Mean spans per trace is about 4.3 (1,000,002 spans make 232,938 traces), and the spike
    // day (see below) sends five traces at a time a third of the time; spread trace starts
    // evenly over the rest, with jitter.
    let expected_traces = (options.spans as f64 / 4.3).max(1.0);
    let spike_extra = if options.days > 19 {
        0.35 * 4.0 / f64::from(options.days)
    } else {
        0.0
    };
    let step = span_ns as f64 * (1.0 + spike_extra) / expected_traces;
    let mut batch: Vec<GenSpan> = Vec::new();
    let mut traces_in_batch = 0;
    let mut json_line = String::new();
    let mut proto_buf = Vec::new();
    let mut t = 0f64;
    while report.spans < options.spans {
        t += step * (0.5 + rng.f64());
        // Past the end (the mean is an estimate), start again from the first day rather than
        // piling traces up on the last instant.
        let mut start = options.start_ns + (t as i64).rem_euclid(span_ns);
        let day = ((start - options.start_ns) / day_ns) as u32;
        // Diurnal pattern: fewer requests at night (UTC), by thinning rather than shifting.
        let hour = ((start - options.start_ns) % day_ns) / 3_600_000_000_000;
        if !(6..=21).contains(&hour) && rng.f64() < 0.5 {
            start += (rng.f64() * 6.0 * 3_600e9) as i64;
            start = options.start_ns + (start - options.start_ns).rem_euclid(span_ns);
        }
        let mut traces_now = 1;
        // The cost spike: on day 20, globex's agent traffic multiplies.
        let spike = day == 19 && rng.f64() < 0.35;
        if spike {
            traces_now = 5;
        }
        for k in 0..traces_now {
            let trace = trace(&mut rng, start + k * 7_000_000, day, spike);
            report.spans += trace.len() as u64;
            report.traces += 1;
            batch.extend(trace);
            traces_in_batch += 1;
        }
        if traces_in_batch >= options.traces_per_message || report.spans >= options.spans {
            if let Some(out) = json.as_mut() {
                json_line.clear();
                write_json(&batch, &mut json_line);
                json_line.push('\n');
                out.write_all(json_line.as_bytes()).map_err(io)?;
                report.json_bytes += json_line.len() as u64;
            }
            if let Some(out) = proto.as_mut() {
                proto_buf.clear();
                write_proto(&batch, &mut proto_buf);
                let mut prefix = Vec::new();
                varint(proto_buf.len() as u64, &mut prefix);
                out.write_all(&prefix).map_err(io)?;
                out.write_all(&proto_buf).map_err(io)?;
                report.proto_bytes += (prefix.len() + proto_buf.len()) as u64;
            }
            batch.clear();
            traces_in_batch = 0;
        }
    }
    Ok(report)
}

/// splitmix64: small, fast, good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// Picks by weight.
    fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.f64() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.f64() * (hi - lo) as f64) as i64
    }
}

enum Val {
    Str(String),
    Int(i64),
    Double(f64),
}

struct GenSpan {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    name: String,
    start: i64,
    end: i64,
    error: Option<String>,
    service: &'static str,
    attrs: Vec<(&'static str, Val)>,
}

const TENANTS: &[(&str, f64)] = &[
    ("acme", 30.0),
    ("globex", 18.0),
    ("initech", 14.0),
    ("umbrella", 10.0),
    ("hooli", 9.0),
    ("stark", 7.0),
    ("wayne", 5.0),
    ("tyrell", 4.0),
    ("cyberdyne", 2.0),
    ("soylent", 1.0),
];

#[derive(Clone, Copy, PartialEq)]
enum Endpoint {
    Chat,
    Search,
    Summarize,
    Classify,
    Agent,
}

const ENDPOINTS: &[(Endpoint, f64)] = &[
    (Endpoint::Chat, 35.0),
    (Endpoint::Search, 25.0),
    (Endpoint::Summarize, 15.0),
    (Endpoint::Classify, 15.0),
    (Endpoint::Agent, 10.0),
];

/// (provider, requested model, responding version, ms per output token)
const MODELS: &[(&str, &str, &str, f64)] = &[
    ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", 9.0),
    ("openai", "gpt-4o", "gpt-4o-2024-08-06", 14.0),
    (
        "anthropic",
        "claude-3-5-haiku-latest",
        "claude-3-5-haiku-20241022",
        10.0,
    ),
    (
        "anthropic",
        "claude-3-5-sonnet-latest",
        "claude-3-5-sonnet-20241022",
        16.0,
    ),
    (
        "gcp.gemini",
        "gemini-1.5-flash",
        "gemini-1.5-flash-002",
        7.0,
    ),
];

const QUESTIONS: &[&str] = &[
    "Where is my invoice for last month?",
    "How do I reset my password?",
    "Can you summarise the attached contract in three bullet points?",
    "What is the refund policy for annual plans?",
    "Classify this ticket: the export button does nothing on Safari.",
    "Which regions does the enterprise plan cover?",
    "Draft a polite reply declining the meeting.",
    "Why was my card charged twice?",
];

fn trace(rng: &mut Rng, start: i64, day: u32, spike: bool) -> Vec<GenSpan> {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&rng.next().to_be_bytes());
    trace_id[8..].copy_from_slice(&rng.next().to_be_bytes());
    let tenant = if spike {
        "globex"
    } else {
        *rng.weighted(TENANTS)
    };
    let endpoint = if spike {
        Endpoint::Agent
    } else {
        *rng.weighted(ENDPOINTS)
    };
    let (route, feature, root_name) = match endpoint {
        Endpoint::Chat => ("/api/chat", "assistant", "chat_turn"),
        Endpoint::Search => ("/api/search", "search", "answer_question"),
        Endpoint::Summarize => ("/api/summarize", "summaries", "summarize_document"),
        Endpoint::Classify => ("/api/classify", "triage", "classify_ticket"),
        Endpoint::Agent => ("/api/agent", "agent", "run_agent"),
    };
    let session = format!("sess-{:06}", rng.below(40_000));
    let user = format!("user-{:05}", rng.below(9_000));
    let question = *rng.pick(QUESTIONS);
    let root_id = span_id(rng);
    let mut spans = Vec::new();
    let mut cursor = start + rng.between(1_000_000, 5_000_000);
    let slow = endpoint == Endpoint::Search && day >= 23;
    let model_for = |rng: &mut Rng| -> &'static (&'static str, &'static str, &'static str, f64) {
        if spike {
            &MODELS[1]
        } else {
            match endpoint {
                Endpoint::Classify => &MODELS[if rng.f64() < 0.7 { 0 } else { 4 }],
                Endpoint::Agent => &MODELS[if rng.f64() < 0.6 { 3 } else { 1 }],
                _ => rng.pick(MODELS),
            }
        }
    };
    let llm = |rng: &mut Rng,
               spans: &mut Vec<GenSpan>,
               cursor: &mut i64,
               prompt: &str,
               parent: [u8; 8]| {
        let (provider, model, version, ms_per_token) = *model_for(rng);
        let input = rng.between(150, 3_500);
        let mut output = rng.between(15, 700);
        let cached = if rng.f64() < 0.3 {
            input * rng.between(20, 90) / 100
        } else {
            0
        };
        let roll = rng.f64();
        let (error, finish) = if roll < 0.012 {
            (
                Some(if rng.f64() < 0.5 {
                    "Error code: 500 - internal server error"
                } else {
                    "Error code: 429 - rate limit exceeded"
                }),
                "",
            )
        } else if roll < 0.015 {
            (Some("APITimeoutError: Request timed out."), "")
        } else if roll < 0.025 {
            (None, "length")
        } else {
            (None, "stop")
        };
        if finish == "length" {
            output = 1_024;
        }
        let empty = error.is_none() && rng.f64() < 0.005;
        let mut duration =
            ((250.0 + output as f64 * ms_per_token) * (0.6 + rng.f64() * 0.8) * 1e6) as i64;
        if slow {
            duration = duration * 22 / 10;
        }
        if error.is_some() {
            duration /= 4;
        }
        let s = *cursor;
        *cursor += duration;
        let mut attrs = vec![
            ("gen_ai.operation.name", Val::Str("chat".into())),
            ("gen_ai.provider.name", Val::Str(provider.into())),
            ("gen_ai.request.model", Val::Str(model.into())),
            (
                "gen_ai.input.messages",
                Val::Str(format!(
                    r#"[{{"role":"system","parts":[{{"type":"text","content":"You are {tenant}'s support assistant."}}]}},{{"role":"user","parts":[{{"type":"text","content":{}}}]}}]"#,
                    json_string(prompt)
                )),
            ),
        ];
        if error.is_some() {
            attrs.push((
                "error.type",
                Val::Str(if provider == "openai" {
                    "openai.InternalServerError".into()
                } else {
                    "APIError".into()
                }),
            ));
        } else {
            attrs.push(("gen_ai.response.model", Val::Str(version.into())));
            attrs.push(("gen_ai.usage.input_tokens", Val::Int(input)));
            attrs.push(("gen_ai.usage.output_tokens", Val::Int(output)));
            if cached > 0 {
                attrs.push(("gen_ai.usage.cache_read.input_tokens", Val::Int(cached)));
            }
            attrs.push((
                "gen_ai.response.finish_reasons",
                Val::Str(format!(r#"["{finish}"]"#)),
            ));
            let text = if empty {
                String::new()
            } else {
                format!("Here is what I found about {}", prompt.to_ascii_lowercase())
            };
            attrs.push((
                "gen_ai.output.messages",
                Val::Str(format!(
                    r#"[{{"role":"assistant","parts":[{{"type":"text","content":{}}}],"finish_reason":"{finish}"}}]"#,
                    json_string(&text)
                )),
            ));
            if rng.f64() < 0.4 {
                attrs.push((
                    "gen_ai.response.time_to_first_chunk",
                    Val::Double((duration as f64 / 1e9) * 0.15),
                ));
            }
        }
        spans.push(GenSpan {
            trace_id,
            span_id: span_id(rng),
            parent: Some(parent),
            name: format!("chat {model}"),
            start: s,
            end: s + duration,
            error: error.map(str::to_owned),
            service: "llm-gateway",
            attrs,
        });
        *cursor += rng.between(500_000, 3_000_000);
        error.is_some()
    };
    let tool = |rng: &mut Rng, spans: &mut Vec<GenSpan>, cursor: &mut i64, parent: [u8; 8]| {
        let name = *rng.pick(&["get_weather", "lookup_order", "search_kb", "create_ticket"]);
        let failed = rng.f64() < 0.006;
        let d = rng.between(5_000_000, 120_000_000);
        let s = *cursor;
        *cursor += d + rng.between(200_000, 1_000_000);
        spans.push(GenSpan {
            trace_id,
            span_id: span_id(rng),
            parent: Some(parent),
            name: format!("execute_tool {name}"),
            start: s,
            end: s + d,
            error: failed.then(|| format!("{name} failed: upstream returned 503")),
            service: "tools",
            attrs: vec![
                ("gen_ai.operation.name", Val::Str("execute_tool".into())),
                ("gen_ai.tool.name", Val::Str(name.into())),
                (
                    "gen_ai.tool.call.arguments",
                    Val::Str(r#"{"id":"A-1042"}"#.into()),
                ),
            ],
        });
    };
    let retrieval = |rng: &mut Rng,
                     spans: &mut Vec<GenSpan>,
                     cursor: &mut i64,
                     parent: [u8; 8],
                     query: &str| {
        let rid = span_id(rng);
        let s = *cursor;
        let embed = rng.between(8_000_000, 40_000_000);
        let mut d = embed + rng.between(5_000_000, 60_000_000);
        if slow {
            d = d * 22 / 10;
        }
        spans.push(GenSpan {
            trace_id,
            span_id: span_id(rng),
            parent: Some(rid),
            name: "embeddings text-embedding-3-small".into(),
            start: s + 200_000,
            end: s + 200_000 + embed,
            error: None,
            service: "retrieval",
            attrs: vec![
                ("gen_ai.operation.name", Val::Str("embeddings".into())),
                ("gen_ai.provider.name", Val::Str("openai".into())),
                (
                    "gen_ai.request.model",
                    Val::Str("text-embedding-3-small".into()),
                ),
                ("gen_ai.usage.input_tokens", Val::Int(rng.between(8, 60))),
            ],
        });
        spans.push(GenSpan {
            trace_id,
            span_id: rid,
            parent: Some(parent),
            name: "retrieval kb".into(),
            start: s,
            end: s + d,
            error: None,
            service: "retrieval",
            attrs: vec![
                ("gen_ai.operation.name", Val::Str("retrieval".into())),
                ("gen_ai.retrieval.query.text", Val::Str(query.into())),
                (
                    "gen_ai.retrieval.documents",
                    Val::Str(r#"[{"id":"kb-12","score":0.91},{"id":"kb-7","score":0.84},{"id":"kb-31","score":0.62}]"#.into()),
                ),
            ],
        });
        *cursor += d + rng.between(200_000, 2_000_000);
    };

    match endpoint {
        Endpoint::Chat => {
            let turns = 1 + rng.below(2);
            for _ in 0..turns {
                if llm(rng, &mut spans, &mut cursor, question, root_id) {
                    break;
                }
                if rng.f64() < 0.5 {
                    tool(rng, &mut spans, &mut cursor, root_id);
                }
            }
            if spans.len() < 2 {
                tool(rng, &mut spans, &mut cursor, root_id);
            }
        }
        Endpoint::Search => {
            retrieval(rng, &mut spans, &mut cursor, root_id, question);
            llm(rng, &mut spans, &mut cursor, question, root_id);
            if rng.f64() < 0.5 {
                llm(rng, &mut spans, &mut cursor, "Rank these passages", root_id);
            }
        }
        Endpoint::Summarize => {
            let chunks = 2 + rng.below(5);
            for i in 0..chunks {
                llm(
                    rng,
                    &mut spans,
                    &mut cursor,
                    &format!("Summarise part {} of the document", i + 1),
                    root_id,
                );
            }
        }
        Endpoint::Classify => {
            llm(rng, &mut spans, &mut cursor, question, root_id);
            let s = cursor;
            let d = rng.between(1_000_000, 10_000_000);
            cursor += d;
            spans.push(GenSpan {
                trace_id,
                span_id: span_id(rng),
                parent: Some(root_id),
                name: "guardrail pii".into(),
                start: s,
                end: s + d,
                error: None,
                service: "guardrails",
                attrs: vec![("openinference.span.kind", Val::Str("GUARDRAIL".into()))],
            });
        }
        Endpoint::Agent => {
            let steps = 2 + rng.below(2);
            for _ in 0..steps {
                if llm(rng, &mut spans, &mut cursor, question, root_id) {
                    break;
                }
                tool(rng, &mut spans, &mut cursor, root_id);
            }
            if spans.len() < 6 {
                llm(
                    rng,
                    &mut spans,
                    &mut cursor,
                    "Write the final answer",
                    root_id,
                );
            }
        }
    }
    spans.truncate(7);
    let end = cursor + rng.between(500_000, 4_000_000);
    let failed = spans
        .iter()
        .any(|s| s.error.is_some() && s.name.starts_with("chat"));
    let root_kind = if endpoint == Endpoint::Agent {
        "invoke_agent"
    } else {
        "workflow"
    };
    spans.insert(
        0,
        GenSpan {
            trace_id,
            span_id: root_id,
            parent: None,
            name: root_name.into(),
            start,
            end,
            error: failed.then(|| "a model call failed".to_owned()),
            service: "api",
            attrs: vec![
                ("gen_ai.operation.name", Val::Str(root_kind.into())),
                ("tenant", Val::Str(tenant.into())),
                ("endpoint", Val::Str(route.into())),
                ("feature", Val::Str(feature.into())),
                ("session.id", Val::Str(session.clone())),
                ("user.id", Val::Str(user.clone())),
                ("input.value", Val::Str(question.into())),
            ],
        },
    );
    // Attribution on every span, as instrumentations that propagate baggage do.
    for s in spans.iter_mut().skip(1) {
        s.attrs.push(("tenant", Val::Str(tenant.into())));
        s.attrs.push(("endpoint", Val::Str(route.into())));
        s.attrs.push(("session.id", Val::Str(session.clone())));
    }
    spans
}

fn span_id(rng: &mut Rng) -> [u8; 8] {
    let mut id = rng.next().to_be_bytes();
    if id == [0; 8] {
        id[7] = 1;
    }
    id
}

fn hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Groups spans by service (one `ResourceSpans` each) and writes one `TracesData` line.
fn write_json(spans: &[GenSpan], out: &mut String) {
    out.push_str(r#"{"resourceSpans":["#);
    let services = services(spans);
    for (i, service) in services.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}},{{"key":"deployment.environment.name","value":{{"stringValue":"production"}}}}]}},"scopeSpans":[{{"scope":{{"name":"assay.generate"}},"spans":["#
        ));
        let mut first = true;
        for s in spans.iter().filter(|s| s.service == *service) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(r#"{"traceId":""#);
            hex(&s.trace_id, out);
            out.push_str(r#"","spanId":""#);
            hex(&s.span_id, out);
            out.push('"');
            if let Some(p) = &s.parent {
                out.push_str(r#","parentSpanId":""#);
                hex(p, out);
                out.push('"');
            }
            out.push_str(&format!(
                r#","name":{},"kind":1,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":["#,
                json_string(&s.name),
                s.start,
                s.end
            ));
            for (j, (k, v)) in s.attrs.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let value = match v {
                    Val::Str(x) => format!(r#"{{"stringValue":{}}}"#, json_string(x)),
                    Val::Int(x) => format!(r#"{{"intValue":"{x}"}}"#),
                    Val::Double(x) => format!(r#"{{"doubleValue":{x}}}"#),
                };
                out.push_str(&format!(r#"{{"key":"{k}","value":{value}}}"#));
            }
            out.push_str("],\"status\":");
            match &s.error {
                Some(m) => out.push_str(&format!(r#"{{"code":2,"message":{}}}"#, json_string(m))),
                None => out.push_str("{}"),
            }
            out.push('}');
        }
        out.push_str("]}]}");
    }
    out.push_str("]}");
}

fn services(spans: &[GenSpan]) -> Vec<&'static str> {
    let mut services: Vec<&'static str> = spans.iter().map(|s| s.service).collect();
    services.sort_unstable();
    services.dedup();
    services
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(field: u32, wire: u8, out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | u32::from(wire)), out);
}

fn bytes_field(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    tag(field, 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Writes a length-delimited sub-message built by `f`.
fn message(field: u32, out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    f(&mut inner);
    bytes_field(field, &inner, out);
}

fn key_value(field: u32, key: &str, value: &Val, out: &mut Vec<u8>) {
    message(field, out, |kv| {
        bytes_field(1, key.as_bytes(), kv);
        message(2, kv, |any| match value {
            Val::Str(s) => bytes_field(1, s.as_bytes(), any),
            Val::Int(i) => {
                tag(3, 0, any);
                varint(*i as u64, any);
            }
            Val::Double(d) => {
                tag(4, 1, any);
                any.extend_from_slice(&d.to_le_bytes());
            }
        });
    });
}

/// The same `TracesData` as [`write_json`], in protobuf.
fn write_proto(spans: &[GenSpan], out: &mut Vec<u8>) {
    for service in services(spans) {
        message(1, out, |rs| {
            message(1, rs, |resource| {
                key_value(1, "service.name", &Val::Str(service.into()), resource);
                key_value(
                    1,
                    "deployment.environment.name",
                    &Val::Str("production".into()),
                    resource,
                );
            });
            message(2, rs, |ss| {
                message(1, ss, |scope| bytes_field(1, b"assay.generate", scope));
                for s in spans.iter().filter(|s| s.service == service) {
                    message(2, ss, |span| {
                        bytes_field(1, &s.trace_id, span);
                        bytes_field(2, &s.span_id, span);
                        if let Some(p) = &s.parent {
                            bytes_field(4, p, span);
                        }
                        bytes_field(5, s.name.as_bytes(), span);
                        tag(6, 0, span);
                        varint(1, span);
                        tag(7, 1, span);
                        span.extend_from_slice(&(s.start as u64).to_le_bytes());
                        tag(8, 1, span);
                        span.extend_from_slice(&(s.end as u64).to_le_bytes());
                        for (k, v) in &s.attrs {
                            key_value(9, k, v, span);
                        }
                        message(15, span, |status| {
                            if let Some(m) = &s.error {
                                bytes_field(2, m.as_bytes(), status);
                                tag(3, 0, status);
                                varint(2, status);
                            }
                        });
                    });
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_meets_the_span_count() {
        let options = GenerateOptions {
            spans: 2_000,
            ..Default::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let ra = generate(&options, Some(&mut a), None).unwrap();
        let rb = generate(&options, Some(&mut b), None).unwrap();
        assert_eq!(a, b, "same seed, same bytes");
        assert!(ra.spans >= 2_000 && ra.spans < 2_100, "{ra:?}");
        assert_eq!(ra.spans, rb.spans);
        let per_trace = ra.spans as f64 / ra.traces as f64;
        assert!(
            (3.0..=8.0).contains(&per_trace),
            "{per_trace} spans per trace"
        );
        for line in a.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let doc: serde_json::Value = serde_json::from_slice(line).expect("each line is JSON");
            assert!(doc["resourceSpans"].is_array());
        }
    }

    #[test]
    fn traces_spread_over_every_day_without_piling_up_at_the_end() {
        let options = GenerateOptions {
            spans: 30_000,
            ..Default::default()
        };
        let mut out = Vec::new();
        generate(&options, Some(&mut out), None).unwrap();
        let mut roots_per_day = vec![0u32; options.days as usize];
        let mut per_instant: std::collections::HashMap<i64, u32> = Default::default();
        for line in out.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let doc: serde_json::Value = serde_json::from_slice(line).unwrap();
            for rs in doc["resourceSpans"].as_array().unwrap() {
                for ss in rs["scopeSpans"].as_array().unwrap() {
                    for span in ss["spans"].as_array().unwrap() {
                        if span.get("parentSpanId").is_some_and(|p| p != "") {
                            continue;
                        }
                        let start: i64 =
                            span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
                        let day = (start - options.start_ns) / 86_400_000_000_000;
                        roots_per_day[day as usize] += 1;
                        *per_instant.entry(start).or_default() += 1;
                    }
                }
            }
        }
        let mean = roots_per_day.iter().sum::<u32>() as f64 / roots_per_day.len() as f64;
        for (day, n) in roots_per_day.iter().enumerate() {
            // Day 20 carries the cost spike; no day is empty or a dumping ground.
            assert!(
                (0.5 * mean..=2.5 * mean).contains(&f64::from(*n)),
                "day {day}: {n} traces, mean {mean}"
            );
        }
        assert!(
            per_instant.values().all(|&n| n <= 2),
            "traces stacked on one instant"
        );
    }
}
