//! Superset as one user: its REST API (chart data as CSV or rows from a chart's saved query
//! context, SQL through SQL Lab), each request carrying an access token minted for that user,
//! and its web pages in a headless browser holding a session minted for that user
//! (screenshots), so Superset's own permission checks and row-level security decide what
//! comes back.

mod client;
pub mod render_state;
pub mod screenshot;

pub use client::{SupersetClient, SupersetError, UserSession};
