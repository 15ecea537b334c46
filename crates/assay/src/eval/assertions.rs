//! Assertions: check a provider's output against what a case expects.
//!
//! (Interface fixed here; the checks are filled in below.)

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::eval::plan::{AssertionSpec, PlanCase, ProviderError, ProviderResponse};
use crate::model::Message;

/// A boxed future, for the model calls assertions make through [`ModelCalls`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The model calls model-graded (`llm-rubric`, `factuality`) and embedding (`similar`)
/// assertions make. The runner implements it with the same cache, retries and replay as the
/// calls under test, so graded runs are cached and replayable too.
pub trait ModelCalls: Send + Sync {
    /// A chat completion by `provider` (an id from the config; `None` = the plan's judge).
    fn complete<'a>(
        &'a self,
        provider: Option<&'a str>,
        messages: Vec<Message>,
    ) -> BoxFuture<'a, Result<ProviderResponse, ProviderError>>;

    /// Embeddings of `texts` by `provider` (`None` = the plan's embedder), one vector per text.
    fn embed<'a>(
        &'a self,
        provider: Option<&'a str>,
        texts: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ProviderError>>;
}

/// What an assertion sees.
#[derive(Debug, Clone, Copy)]
pub struct AssertionContext<'a> {
    /// The output text under test.
    pub output: &'a str,
    /// The full response (latency, usage, tool calls).
    pub response: &'a ProviderResponse,
    /// The call's cost in USD, when known.
    pub cost: Option<f64>,
    /// The rendered prompt as text (messages joined), for model-graded assertions.
    pub prompt: &'a str,
    /// The case (vars, description, tags).
    pub case: &'a PlanCase,
    /// The case's variables.
    pub vars: &'a Map<String, Value>,
}

/// The outcome of one assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertionResult {
    /// The type as written (`not-contains`).
    pub kind: String,
    /// Whether it passed (after negation).
    pub pass: bool,
    /// Score in 0..1 (after negation).
    pub score: f64,
    /// Why: what was expected and what was found, or the judge's reasoning.
    pub reason: String,
    /// Weight in the case's score.
    pub weight: f64,
    /// The named metric, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// True when the assertion could not be evaluated because Assay does not support its
    /// type (it then counts neither as pass nor as fail, and is reported).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsupported: bool,
    /// True when evaluating it failed (a judge call failed, a command crashed): the result is
    /// an error, not a failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
}

/// Assertion types Assay evaluates (without the `not-` prefix).
pub const SUPPORTED: &[&str] = &[];

/// Checks at load time that a spec can be evaluated: a known type, the value it needs, a regex
/// that compiles, a schema that is valid. The message names what is wrong.
pub fn validate(_spec: &AssertionSpec) -> Result<(), String> {
    Ok(())
}

/// Evaluates one assertion.
pub async fn evaluate(
    spec: &AssertionSpec,
    _ctx: &AssertionContext<'_>,
    _calls: &dyn ModelCalls,
) -> AssertionResult {
    AssertionResult {
        kind: spec.kind.clone(),
        pass: false,
        score: 0.0,
        reason: String::new(),
        weight: spec.weight,
        metric: spec.metric.clone(),
        unsupported: true,
        error: false,
    }
}

/// A case's verdict from its assertion results: `(pass, weighted score)`. Unsupported results
/// are left out; with a `threshold` the case passes when the score reaches it.
pub fn case_verdict(_results: &[AssertionResult], _threshold: Option<f64>) -> (bool, f64) {
    (false, 0.0)
}
