//! JSON Web Tokens steward mints for Superset: short-lived access tokens that let a run act as
//! one user through Superset's REST API (Flask-JWT-Extended's claims, HS256 with Superset's
//! `JWT_SECRET_KEY`).

mod access;

pub use access::{ACCESS_TOKEN_LIFETIME_SECONDS, AccessClaims, mint_access_token};
