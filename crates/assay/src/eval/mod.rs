//! Evaluations: prompts and eval sets as files, providers, assertions, and the runner.
//!
//! The flow is `files` (read `prompts/` and `evalsets/`, or a `promptfooconfig.yaml`) ->
//! [`plan::EvalPlan`] -> `runner` (render each case with `template`, call `providers` through
//! the response cache, check `assertions`, write each result to the store as it finishes).
//! Everything a run needs is in the plan, so a plan can be hashed, stored and compared.

pub mod assertions;
pub mod diff;
pub mod files;
pub mod plan;
pub mod providers;
pub mod report;
pub mod runner;
pub mod secrets;
pub mod template;
