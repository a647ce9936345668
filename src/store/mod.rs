//! Superset's metadata database: connecting (SQLite or PostgreSQL), steward's own migrations,
//! reading the observed state, and applying a plan in one transaction under a lock. This is
//! the only module that talks SQL.

mod apply;
pub mod bootstrap;
pub mod config_document;

mod connect;
pub mod database_url;
pub mod demo;
pub mod execution;
pub mod failpoint;
pub mod guest_policy;
mod identity;
pub mod migrate;
mod snapshot;
pub mod snapshot_file;
mod sql;
mod sqlite_direct;
pub mod superset_version;
mod user_refs;

pub use apply::{ApplyReport, apply_plan, record_identities};
pub use connect::{DEFAULT_LOCK_TIMEOUT, DatabaseUrl, Store, redact_url};
pub use identity::database_identity;
pub use snapshot::{Ids, Observed, read_observed, read_user_references, user_references_of};
pub use sql::{Dialect, Tx, Ty, Value};
pub use user_refs::count_references;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or opened.
    #[error("cannot reach the database {url}: {reason}")]
    Unreachable {
        /// The URL, password removed.
        url: String,
        /// The driver's error, scrubbed of the URL's secrets.
        reason: String,
    },
    /// The URL cannot be used.
    #[error("the database URL `{url}` {problem}")]
    InvalidUrl {
        /// The URL, secrets removed.
        url: String,
        /// What is wrong with it.
        problem: database_url::UrlError,
    },
    /// A SQLite URL names a file that does not exist (only `steward init` creates one).
    #[error("no such database file {file}; create it with `steward init --database {url}`")]
    NoDatabaseFile {
        /// The file.
        file: String,
        /// The URL, secrets removed.
        url: String,
    },
    /// A lock another session holds was not released within the lock timeout.
    #[error(
        "gave up after waiting {seconds} s for {what}; nothing was written (wait longer with --lock-timeout, or end that session)"
    )]
    LockTimeout {
        /// The lock timeout.
        seconds: f64,
        /// What was waited for, and who holds it.
        what: String,
    },
    /// The database is not a Superset metadata database.
    #[error("{0}")]
    NotSuperset(String),
    /// A statement failed.
    #[error("{statement}: {}", database_refusal(source))]
    Query {
        /// The statement's first words.
        statement: String,
        /// The driver's error.
        source: DriverError,
    },
    /// Data in the database that steward cannot use.
    #[error("{0}")]
    Data(String),
    /// A Superset schema steward does not support (`superset_version`).
    #[error("{0}")]
    UnsupportedSuperset(String),
}

/// What failed under a statement: sqlx (PostgreSQL, SQLite's writes and transaction control,
/// lending a SQLite handle) or a query run on a lent SQLite handle.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// sqlx's error.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// SQLite refused a query on a lent handle, or a value is not of the type asked for.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The driver's error as the database states it (message and constraint), without where in the
/// server's own source it was raised (sqlx adds PostgreSQL's "at line N" of its C code).
fn database_refusal(error: &DriverError) -> String {
    let error = match error {
        DriverError::Sqlx(e) => e,
        DriverError::Sqlite(e) => {
            return match sqlite_direct::refusal(e) {
                Some(message) => format!("the database refused it: {message}"),
                None => e.to_string(),
            };
        }
    };
    match error {
        sqlx::Error::Database(db) => match db.constraint() {
            Some(constraint) => format!(
                "the database refused it: {} (constraint `{constraint}`)",
                db.message()
            ),
            None => format!("the database refused it: {}", db.message()),
        },
        other => other.to_string(),
    }
}

impl StoreError {
    pub(crate) fn query(statement: String, source: impl Into<DriverError>) -> StoreError {
        StoreError::Query {
            statement,
            source: source.into(),
        }
    }

    /// Whether this error means the database could not be reached (exit code 3).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            StoreError::Unreachable { .. }
                | StoreError::InvalidUrl { .. }
                | StoreError::NoDatabaseFile { .. }
                | StoreError::NotSuperset(_)
                | StoreError::LockTimeout { .. }
        )
    }

    /// Whether a statement gave up waiting for a lock (see [`Store::explain`]).
    pub fn is_lock_timeout(&self) -> bool {
        match self {
            StoreError::Query {
                source: DriverError::Sqlx(source),
                ..
            } => connect::is_lock_timeout(source),
            StoreError::Query {
                source: DriverError::Sqlite(source),
                ..
            } => sqlite_direct::is_busy(source),
            StoreError::LockTimeout { .. } => true,
            _ => false,
        }
    }
}
