//! The core's error type. Every error carries a stable [`ErrorCode`] that crosses to the UI and to
//! `--json` output; front ends match on the code, never on the message.

use std::path::PathBuf;

use serde::Serialize;

/// A stable, machine-readable error class. Renaming a variant's string is a breaking change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The thing asked for does not exist (a trace id, a workspace).
    NotFound,
    /// The caller's input is malformed: bad arguments, an unreadable or invalid file.
    InvalidInput,
    /// The database was written by a newer Assay, or its schema is not one this build knows.
    IncompatibleStore,
    /// A request to `assay serve` lacked the access token.
    Unauthorized,
    /// Anything else: I/O or SQLite failures that are not the caller's fault.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::IncompatibleStore => "incompatible_store",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Errors of the core library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file in question.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A SQLite operation failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database's schema version is newer than this build understands.
    #[error(
        "{} was written by a newer Assay (schema version {found}, this build knows up to {known}); upgrade Assay to open it",
        path.display()
    )]
    StoreTooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// No workspace could be found or opened.
    #[error("{0}")]
    NoWorkspace(String),
    /// A workspace's `assay.toml` is invalid.
    #[error("{}: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// An input file could not be imported at all (nothing from it was written).
    #[error("cannot import {source_name}: {message}")]
    Import {
        /// The file path, or `-` for standard input.
        source_name: String,
        /// What is wrong, with a location where one is known.
        message: String,
    },
    /// An input in no format Assay reads (nothing from it was written).
    #[error("cannot import {source_name}: {message}")]
    UnknownFormat {
        /// The file path, or `-` for standard input.
        source_name: String,
        /// What was found instead.
        message: String,
    },
    /// A trace id that is not in the store.
    #[error("no trace with id {0}")]
    TraceNotFound(String),
    /// Malformed arguments to an API call.
    #[error("invalid arguments to {command}: {message}")]
    InvalidArguments {
        /// The command called.
        command: String,
        /// What is wrong.
        message: String,
    },
    /// A prompt, eval set or promptfoo config is invalid.
    #[error("{location}: {message}")]
    EvalFile {
        /// The file, with a line or a key path where one is known.
        location: String,
        /// What is wrong, naming the key or variable.
        message: String,
    },
    /// Something asked for by id that does not exist (an eval run).
    #[error("{0}")]
    NotFound(String),
    /// A git revision or repository path that does not name anything usable: an unknown
    /// branch, tag or sha, a path outside the workspace, a file that is not UTF-8 text.
    #[error("{message}")]
    GitInput {
        /// What is wrong, naming the revision or path.
        message: String,
    },
    /// A git repository could not be read or written (a corrupt object, a locked index).
    #[error("git: {message}")]
    Git {
        /// What failed, with libgit2's explanation.
        message: String,
    },
    /// An API command name that does not exist.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
}

impl Error {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Io { .. } | Error::Sqlite(_) | Error::Git { .. } => ErrorCode::Internal,
            Error::StoreTooNew { .. } => ErrorCode::IncompatibleStore,
            Error::NoWorkspace(_)
            | Error::TraceNotFound(_)
            | Error::NotFound(_)
            | Error::UnknownCommand(_) => ErrorCode::NotFound,
            Error::Config { .. }
            | Error::Import { .. }
            | Error::UnknownFormat { .. }
            | Error::EvalFile { .. }
            | Error::GitInput { .. }
            | Error::InvalidArguments { .. } => ErrorCode::InvalidInput,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
