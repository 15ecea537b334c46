//! Sample data bundled in the binary, so the demo and a first run need no files and no network.
//!
//! The traces are real OTLP/JSON exports captured from real SDKs (OpenInference, OpenTelemetry
//! GenAI, OpenLLMetry, Langfuse) running the same small agent; the test suite reads the same
//! files from `tests/fixtures/`.

/// `(name, OTLP/JSON document)` pairs.
pub const TRACES: &[(&str, &str)] = &[
    (
        "openinference-python",
        include_str!("../../../tests/fixtures/otlp/openinference-python/traces.json"),
    ),
    (
        "openinference-js",
        include_str!("../../../tests/fixtures/otlp/openinference-js/traces.json"),
    ),
    (
        "openllmetry-python",
        include_str!("../../../tests/fixtures/otlp/openllmetry-python/traces.json"),
    ),
    (
        "otel-genai-python",
        include_str!("../../../tests/fixtures/otlp/otel-genai-python/traces.json"),
    ),
    (
        "langfuse-python",
        include_str!("../../../tests/fixtures/otlp/langfuse-python/traces.json"),
    ),
];

/// The example prompts and eval sets, `(path in the workspace, content)`, with the cassettes of
/// sample responses they replay offline. They are the repository's own `prompts/` and
/// `evalsets/`.
pub const EVAL_FILES: &[(&str, &str)] = &[
    (
        "prompts/triage.yaml",
        include_str!("../../../prompts/triage.yaml"),
    ),
    (
        "prompts/rag-answer.yaml",
        include_str!("../../../prompts/rag-answer.yaml"),
    ),
    (
        "prompts/release-notes.md",
        include_str!("../../../prompts/release-notes.md"),
    ),
    (
        "evalsets/support-triage/evalset.yaml",
        include_str!("../../../evalsets/support-triage/evalset.yaml"),
    ),
    (
        "evalsets/support-triage/cases.jsonl",
        include_str!("../../../evalsets/support-triage/cases.jsonl"),
    ),
    (
        "evalsets/support-triage/cassette.jsonl",
        include_str!("../../../evalsets/support-triage/cassette.jsonl"),
    ),
    (
        "evalsets/rag-answers/evalset.yaml",
        include_str!("../../../evalsets/rag-answers/evalset.yaml"),
    ),
    (
        "evalsets/rag-answers/cassette.jsonl",
        include_str!("../../../evalsets/rag-answers/cassette.jsonl"),
    ),
    (
        "evalsets/release-notes/evalset.yaml",
        include_str!("../../../evalsets/release-notes/evalset.yaml"),
    ),
    (
        "evalsets/release-notes/cases.csv",
        include_str!("../../../evalsets/release-notes/cases.csv"),
    ),
    (
        "evalsets/release-notes/cassette.jsonl",
        include_str!("../../../evalsets/release-notes/cassette.jsonl"),
    ),
];

/// The demo's git history of the triage prompt: the first version (no rule for when a human
/// must step in) and a later "shorter" version that regresses, with the sample responses
/// recorded for both.
pub mod demo_history {
    /// The first version of `prompts/triage.yaml`.
    pub const TRIAGE_V1: &str = include_str!("../demo/triage-v1.yaml");
    /// The regressing version.
    pub const TRIAGE_V3: &str = include_str!("../demo/triage-v3.yaml");
    /// Responses to both versions, to append to the eval set's cassette.
    pub const TRIAGE_CASSETTE: &str = include_str!("../demo/history.cassette.jsonl");
}
