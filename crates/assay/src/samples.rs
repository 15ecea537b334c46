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
