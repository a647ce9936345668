//! Access tokens for one Superset user, as Flask-JWT-Extended 4.7 issues them at login: HS256,
//! `sub` the user id as text, `type` "access". Superset loads the user from `sub` and accepts
//! the token only while that user is active, so a run acts with exactly that user's roles,
//! permissions and row-level security.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// How long a minted token is valid: long enough for one run's requests, short enough that a
/// leaked token is soon useless.
pub const ACCESS_TOKEN_LIFETIME_SECONDS: i64 = 300;

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    #[serde(rename = "type")]
    pub token_type: String,
    pub fresh: bool,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub exp: i64,
}

/// Mints an access token for the user with id `user_id`, valid from `now` for
/// [`ACCESS_TOKEN_LIFETIME_SECONDS`].
pub fn mint_access_token(
    secret: &Secret,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<String, String> {
    let iat = now.timestamp();
    let claims = AccessClaims {
        sub: user_id.to_string(),
        token_type: "access".into(),
        fresh: false,
        iat,
        nbf: iat,
        jti: uuid::Uuid::new_v4().to_string(),
        exp: iat + ACCESS_TOKEN_LIFETIME_SECONDS,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )
    .map_err(|e| format!("cannot sign an access token: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    #[test]
    fn claims_round_trip_with_the_key_only() {
        let secret = Secret::new(b"test-key".to_vec(), "test").unwrap();
        let now = Utc::now();
        let token = mint_access_token(&secret, 42, now).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_nbf = true;
        let data =
            decode::<AccessClaims>(&token, &DecodingKey::from_secret(b"test-key"), &validation)
                .unwrap();
        assert_eq!(data.claims.sub, "42");
        assert_eq!(data.claims.token_type, "access");
        assert_eq!(
            data.claims.exp - data.claims.iat,
            ACCESS_TOKEN_LIFETIME_SECONDS
        );
        assert!(
            decode::<AccessClaims>(&token, &DecodingKey::from_secret(b"other"), &validation)
                .is_err()
        );
    }
}
