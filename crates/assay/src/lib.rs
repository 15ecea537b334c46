//! Assay's core: the span model, the SQLite store, the importers, and the one command surface.
//!
//! Front ends (the `assay` CLI, `assay serve`, the Tauri desktop app) call [`api`] and nothing
//! else; they hold no logic of their own. To add a capability, add a module here, expose it
//! through one documented function in [`api`], then write the adapters (see `ARCHITECTURE.md`).
#![deny(missing_docs)]

pub mod api;
pub mod chart;
pub mod cost;
pub mod error;
pub mod eval;
pub mod generate;
pub mod git;
pub mod import;
pub mod model;
pub mod samples;
pub mod store;
pub mod textdiff;
pub mod workspace;

pub use error::{Error, ErrorCode, Result};
