//! Flask session cookies for one Superset user, as Superset's machine authentication makes
//! them for its screenshot browser (`MachineAuthProvider.get_auth_cookies`): Flask-Login's
//! `_user_id` and `_fresh` in Flask's signed cookie (itsdangerous' URL-safe timed serializer:
//! base64url JSON, a base64url timestamp, and an HMAC-SHA1 under a key derived from
//! `SECRET_KEY` with the salt `cookie-session`). A browser holding it is that user in
//! Superset's web pages, without the user's password. Written with the `hmac` and `sha1`
//! crates: the Rust port of itsdangerous (0.4, 2020) builds on crypto crates three majors old.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::secret::Secret;

/// The name of Flask's session cookie (Superset's `SESSION_COOKIE_NAME`).
pub const SESSION_COOKIE: &str = "session";

/// The session cookie's value logging the browser in as the user with id `user_id`, signed at
/// `now` (Unix seconds); Superset accepts it while the user is active and for
/// `PERMANENT_SESSION_LIFETIME` (31 days by default) after `now`.
pub fn session_cookie(secret_key: &Secret, user_id: i64, now: i64) -> String {
    let payload = format!(r#"{{"_user_id":"{user_id}","_fresh":true}}"#);
    sign(secret_key.expose(), &payload, now)
}

/// `payload` signed as Flask signs a session.
fn sign(key: &[u8], payload: &str, now: i64) -> String {
    let timestamp = now.max(0).to_be_bytes();
    let first = timestamp
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(timestamp.len() - 1);
    let value = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(&timestamp[first..])
    );
    let mut derive = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    derive.update(b"cookie-session");
    let derived = derive.finalize().into_bytes();
    let mut mac = Hmac::<Sha1>::new_from_slice(&derived).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    format!(
        "{value}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_exactly_as_flask_does() {
        // Flask 3 / itsdangerous 2 with secret_key "test-secret-key" and the timestamp fixed
        // at 1790000000: `SecureCookieSessionInterface().get_signing_serializer(app).dumps(…)`.
        assert_eq!(
            sign(
                b"test-secret-key",
                r#"{"_user_id":"5","_fresh":true}"#,
                1_790_000_000
            ),
            "eyJfdXNlcl9pZCI6IjUiLCJfZnJlc2giOnRydWV9.arE7gA.1qI97in-q8sXGF6j6M3DDdoMjMM"
        );
    }

    #[test]
    fn the_cookie_names_the_user_and_only_the_key_makes_it() {
        let key = Secret::new(b"k".to_vec(), "test").unwrap();
        let cookie = session_cookie(&key, 42, 1_790_000_000);
        let payload = URL_SAFE_NO_PAD
            .decode(cookie.split('.').next().unwrap())
            .unwrap();
        assert_eq!(payload, br#"{"_user_id":"42","_fresh":true}"#);
        let other = Secret::new(b"other".to_vec(), "test").unwrap();
        assert_ne!(
            session_cookie(&other, 42, 1_790_000_000).rsplit('.').next(),
            cookie.rsplit('.').next()
        );
    }
}
