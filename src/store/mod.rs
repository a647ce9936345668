//! Superset's metadata database: connecting (SQLite or PostgreSQL), steward's own migrations,
//! reading the observed state, and applying a plan in one transaction under a lock. This is
//! the only module that talks SQL.

mod apply;
pub mod bootstrap;

mod connect;
pub mod demo;
pub mod migrate;
mod snapshot;
pub mod snapshot_file;
mod sql;
mod user_refs;

pub use apply::{ApplyReport, apply_plan};
pub use connect::{DatabaseUrl, Store, redact_url};
pub use snapshot::{Ids, Observed, read_observed};
pub use sql::{Dialect, Tx, Ty, Value};
pub use user_refs::count_references;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or opened.
    #[error("cannot reach the database {url}: {source}")]
    Unreachable {
        /// The URL, password removed.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The URL is not a `sqlite:` or `postgres:` URL.
    #[error("unsupported database URL `{0}`: use sqlite://FILE or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database is not a Superset metadata database.
    #[error("{0}")]
    NotSuperset(String),
    /// A statement failed.
    #[error("{statement}: {source}")]
    Query {
        /// The statement's first words.
        statement: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Data in the database that steward cannot use.
    #[error("{0}")]
    Data(String),
}

impl StoreError {
    pub(crate) fn query(statement: String, source: sqlx::Error) -> StoreError {
        StoreError::Query { statement, source }
    }

    /// Whether this error means the database could not be reached (exit code 3).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, StoreError::Unreachable { .. })
    }
}
