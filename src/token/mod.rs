//! JSON Web Tokens steward mints for Superset: short-lived access tokens that let a run act as
//! one user through Superset's REST API (Flask-JWT-Extended's claims, HS256 with Superset's
//! `JWT_SECRET_KEY`), and guest tokens for embedded dashboards (Superset's guest-token claims,
//! HMAC with `GUEST_TOKEN_JWT_SECRET`), minted and verified.

mod access;
mod guest;
pub mod guest_policy;
pub mod issue;
pub mod session;

pub use access::{ACCESS_TOKEN_LIFETIME_SECONDS, AccessClaims, mint_access_token};
pub use guest::{
    Audience, DEFAULT_GUEST_TOKEN_LIFETIME_SECONDS, GuestAlgorithm, GuestClaims, GuestExpectation,
    GuestGrant, GuestResource, GuestRlsRule, GuestTokenError, GuestUser, VerifiedGuestToken,
    mint_guest_token, verify_guest_token,
};
