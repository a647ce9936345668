//! Superset's REST API as one user: chart data (CSV, or rows for a table) from a chart's saved
//! query context, and SQL through SQL Lab, each request carrying an access token minted for
//! that user so Superset's own permission checks and row-level security decide what comes
//! back.

mod client;

pub use client::{SupersetClient, SupersetError, UserSession};
