//! Integration tests of the core library, one module per area.
#![allow(clippy::unwrap_used)] // In a test, a panic is the failure report.

mod fixtures;
mod robustness;
mod store;
