//! Guest tokens for embedded dashboards, as Superset's `create_guest_access_token` mints them
//! and `parse_jwt` checks them: HMAC-signed (HS256 by default, Superset's
//! `GUEST_TOKEN_JWT_ALGO`) with `GUEST_TOKEN_JWT_SECRET`; claims `user`, `resources`,
//! `rls_rules`, `iat`, `exp` (seconds as floats), `aud` and `type` "guest". `user.attributes`
//! is the guest-user-attributes proposal (apache/superset#33924): minted and verified here,
//! dropped by Superset 6.1. Pure: the time is a parameter.

use std::collections::BTreeMap;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::secret::Secret;

/// Superset's default lifetime of a guest token (`GUEST_TOKEN_JWT_EXP_SECONDS`).
pub const DEFAULT_GUEST_TOKEN_LIFETIME_SECONDS: u32 = 300;

/// The guest a token speaks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestUser {
    pub username: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    /// Attributes for `get_guest_user_attribute` (after 6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, Json>>,
}

/// One thing the guest may see: `{"type": "dashboard", "id": …}` (a dashboard's id or its
/// embedded uuid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl GuestResource {
    /// A dashboard, by id or embedded uuid.
    pub fn dashboard(id: impl Into<String>) -> GuestResource {
        GuestResource {
            kind: "dashboard".into(),
            id: id.into(),
        }
    }
}

/// A row-level-security clause added to the guest's queries: on one dataset (by id), or on
/// every dataset when `dataset` is absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestRlsRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<i64>,
    pub clause: String,
}

/// What a guest token grants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestGrant {
    pub user: GuestUser,
    pub resources: Vec<GuestResource>,
    pub rls_rules: Vec<GuestRlsRule>,
}

/// The claims of a guest token, in Superset's order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestClaims {
    #[serde(flatten)]
    pub grant: GuestGrant,
    pub iat: f64,
    pub exp: f64,
    pub aud: Audience,
    #[serde(rename = "type")]
    pub token_type: String,
}

/// The `aud` claim: Superset mints one string; a list is valid JWT, and PyJWT accepts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The HMAC algorithms a guest token may be signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GuestAlgorithm {
    #[value(name = "HS256")]
    Hs256,
    #[value(name = "HS384")]
    Hs384,
    #[value(name = "HS512")]
    Hs512,
}

impl GuestAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            GuestAlgorithm::Hs256 => Algorithm::HS256,
            GuestAlgorithm::Hs384 => Algorithm::HS384,
            GuestAlgorithm::Hs512 => Algorithm::HS512,
        }
    }

    /// The header's `alg` value.
    pub fn name(self) -> &'static str {
        match self {
            GuestAlgorithm::Hs256 => "HS256",
            GuestAlgorithm::Hs384 => "HS384",
            GuestAlgorithm::Hs512 => "HS512",
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuestTokenError {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error(
        "the token is unsigned (`alg: none`); only {expected} is accepted (hint: a token without a signature proves nothing)"
    )]
    AlgorithmNone { expected: &'static str },
    #[error(
        "the token is signed with {found}, not {expected} (hint: Superset's GUEST_TOKEN_JWT_ALGO decides the algorithm; a token naming another one is refused so that a public key cannot be used as an HMAC secret)"
    )]
    AlgorithmNotAccepted {
        found: String,
        expected: &'static str,
    },
    #[error(
        "the signature does not match the secret (hint: a wrong GUEST_TOKEN_JWT_SECRET, or claims changed after signing)"
    )]
    BadSignature,
    #[error("the token expired at {exp} ({ago:.0} s ago)")]
    Expired { exp: String, ago: f64 },
    #[error("the token is not valid before {at} (its `{claim}`; {ahead:.0} s from now)")]
    NotYetValid {
        claim: &'static str,
        at: String,
        ahead: f64,
    },
    #[error(
        "the token is for audience {found}, not {expected} (hint: Superset checks GUEST_TOKEN_JWT_AUDIENCE, else WEBDRIVER_BASEURL)"
    )]
    WrongAudience { found: String, expected: String },
    #[error(
        "the token's type is {found}, not \"guest\" (hint: a login access token is not a guest token)"
    )]
    WrongType { found: String },
    #[error("the claim `{0}` is missing")]
    MissingClaim(&'static str),
    #[error("the claim `{claim}` is not what Superset reads: {problem}")]
    BadClaim {
        claim: &'static str,
        problem: String,
    },
    #[error("cannot sign the token: {0}")]
    Signing(String),
}

/// What a verification expects.
#[derive(Clone, Debug)]
pub struct GuestExpectation {
    pub algorithm: GuestAlgorithm,
    /// The audience Superset checks; `None` accepts any (and says so).
    pub audience: Option<String>,
    /// Seconds of clock skew tolerated on `exp`, `iat` and `nbf` (Superset: 0).
    pub leeway_seconds: f64,
}

/// A verified token: its claims as read, and as Superset reads them.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedGuestToken {
    pub claims: Json,
    pub parsed: GuestClaims,
}

/// Mints a guest token granting `grant` to `audience`, valid from `now` (Unix seconds) for
/// `lifetime_seconds`.
pub fn mint_guest_token(
    secret: &Secret,
    algorithm: GuestAlgorithm,
    grant: &GuestGrant,
    audience: &str,
    now: f64,
    lifetime_seconds: u32,
) -> Result<String, GuestTokenError> {
    let claims = GuestClaims {
        grant: grant.clone(),
        iat: now,
        exp: now + f64::from(lifetime_seconds),
        aud: Audience::One(audience.to_owned()),
        token_type: "guest".into(),
    };
    encode(
        &Header::new(algorithm.jwt()),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )
    .map_err(|e| GuestTokenError::Signing(e.to_string()))
}

/// Verifies a guest token as Superset would (signature and algorithm, `exp`, `iat`/`nbf`,
/// `aud`, `type`) and reads its claims.
pub fn verify_guest_token(
    token: &str,
    secret: &Secret,
    expect: &GuestExpectation,
    now: f64,
) -> Result<VerifiedGuestToken, GuestTokenError> {
    let token = token.trim();
    let alg = header_algorithm(token)?;
    let expected = expect.algorithm.name();
    if alg.eq_ignore_ascii_case("none") {
        return Err(GuestTokenError::AlgorithmNone { expected });
    }
    if alg != expected {
        return Err(GuestTokenError::AlgorithmNotAccepted {
            found: quoted(&alg),
            expected,
        });
    }
    let mut validation = Validation::new(expect.algorithm.jwt());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = decode::<Json>(
        token,
        &DecodingKey::from_secret(secret.expose()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => GuestTokenError::BadSignature,
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
            GuestTokenError::AlgorithmNotAccepted {
                found: quoted(&alg),
                expected,
            }
        }
        _ => GuestTokenError::Malformed(e.to_string()),
    })?
    .claims;
    check_claims(&claims, expect, now)?;
    let parsed: GuestClaims =
        serde_json::from_value(claims.clone()).map_err(|e| GuestTokenError::BadClaim {
            claim: "user/resources/rls_rules",
            problem: e.to_string(),
        })?;
    Ok(VerifiedGuestToken { claims, parsed })
}

/// The header's `alg`, read without trusting anything else in the token.
fn header_algorithm(token: &str) -> Result<String, GuestTokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(GuestTokenError::Malformed(
            "a JWT is three base64url parts separated by dots".into(),
        ));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|e| GuestTokenError::Malformed(format!("its header is not base64url: {e}")))?;
    let header: Json = serde_json::from_slice(&bytes)
        .map_err(|e| GuestTokenError::Malformed(format!("its header is not JSON: {e}")))?;
    match header.get("alg") {
        Some(Json::String(alg)) => Ok(alg.clone()),
        Some(other) => Err(GuestTokenError::Malformed(format!(
            "its header's `alg` is {other}, not a name"
        ))),
        None => Err(GuestTokenError::Malformed("its header has no `alg`".into())),
    }
}

fn check_claims(claims: &Json, expect: &GuestExpectation, now: f64) -> Result<(), GuestTokenError> {
    let leeway = expect.leeway_seconds;
    match claims.get("type") {
        Some(Json::String(t)) if t == "guest" => {}
        Some(other) => {
            return Err(GuestTokenError::WrongType {
                found: other.to_string(),
            });
        }
        None => return Err(GuestTokenError::MissingClaim("type")),
    }
    let exp = time_claim(claims, "exp")?.ok_or(GuestTokenError::MissingClaim("exp"))?;
    if exp <= now - leeway {
        return Err(GuestTokenError::Expired {
            exp: unix_time_text(exp),
            ago: now - exp,
        });
    }
    for claim in ["iat", "nbf"] {
        if let Some(at) = time_claim(claims, claim)?
            && at > now + leeway
        {
            return Err(GuestTokenError::NotYetValid {
                claim,
                at: unix_time_text(at),
                ahead: at - now,
            });
        }
    }
    if let Some(expected) = &expect.audience {
        let matches = match claims.get("aud") {
            None => return Err(GuestTokenError::MissingClaim("aud")),
            Some(Json::String(aud)) => aud == expected,
            Some(Json::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected)),
            Some(other) => {
                return Err(GuestTokenError::BadClaim {
                    claim: "aud",
                    problem: format!("{other} is neither a string nor a list"),
                });
            }
        };
        if !matches {
            return Err(GuestTokenError::WrongAudience {
                found: claims["aud"].to_string(),
                expected: quoted(expected),
            });
        }
    }
    Ok(())
}

/// A time claim as seconds; `None` when absent.
fn time_claim(claims: &Json, claim: &'static str) -> Result<Option<f64>, GuestTokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| GuestTokenError::BadClaim {
                claim,
                problem: format!("{value} is not a number of seconds"),
            }),
    }
}

fn unix_time_text(seconds: f64) -> String {
    chrono::DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{seconds}"))
}

fn quoted(text: &str) -> String {
    Json::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_790_000_000.25;

    fn secret(text: &str) -> Secret {
        Secret::new(text.as_bytes().to_vec(), "test").unwrap()
    }

    fn grant() -> GuestGrant {
        GuestGrant {
            user: GuestUser {
                username: "partner-7".into(),
                first_name: "Partner".into(),
                last_name: "Seven".into(),
                attributes: Some(BTreeMap::from([("tenant".into(), Json::from("acme"))])),
            },
            resources: vec![GuestResource::dashboard("7c2a")],
            rls_rules: vec![GuestRlsRule {
                dataset: Some(3),
                clause: "tenant = 'acme'".into(),
            }],
        }
    }

    fn expectation() -> GuestExpectation {
        GuestExpectation {
            algorithm: GuestAlgorithm::Hs256,
            audience: Some("superset".into()),
            leeway_seconds: 0.0,
        }
    }

    fn mint(now: f64) -> String {
        mint_guest_token(
            &secret("k"),
            GuestAlgorithm::Hs256,
            &grant(),
            "superset",
            now,
            300,
        )
        .unwrap()
    }

    /// A token signed with `key` under `header` over `claims`, whatever they say.
    fn forge(header: &Json, claims: &Json, key: &[u8], alg: Algorithm) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let signing_input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(key),
            alg,
        )
        .unwrap();
        format!("{signing_input}.{signature}")
    }

    fn claims_of(token: &str) -> Json {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn minted_claims_are_supersets_and_round_trip() {
        let token = mint(NOW);
        let verified = verify_guest_token(&token, &secret("k"), &expectation(), NOW + 1.0).unwrap();
        assert_eq!(verified.parsed.grant, grant());
        assert_eq!(verified.parsed.token_type, "guest");
        assert_eq!(verified.parsed.exp - verified.parsed.iat, 300.0);
        let keys: Vec<&str> = verified
            .claims
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "aud",
                "exp",
                "iat",
                "resources",
                "rls_rules",
                "type",
                "user"
            ]
        );
        assert_eq!(verified.claims["user"]["attributes"]["tenant"], "acme");
        assert_eq!(verified.claims["resources"][0]["type"], "dashboard");
        // Superset's times are floats.
        assert_eq!(verified.claims["iat"].as_f64(), Some(NOW));
    }

    #[test]
    fn unsigned_tokens_are_refused_in_every_spelling() {
        let claims = claims_of(&mint(NOW));
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for alg in ["none", "None", "NONE"] {
            let token = format!(
                "{}.{}.",
                b64.encode(serde_json::json!({"alg": alg, "typ": "JWT"}).to_string()),
                b64.encode(claims.to_string())
            );
            assert_eq!(
                verify_guest_token(&token, &secret("k"), &expectation(), NOW),
                Err(GuestTokenError::AlgorithmNone { expected: "HS256" }),
                "{alg}"
            );
        }
    }

    #[test]
    fn another_algorithm_is_refused_even_when_its_signature_is_an_hmac_of_the_key() {
        let claims = claims_of(&mint(NOW));
        // HS/RS confusion: an "RS256" header over an HMAC made with the very secret (as an
        // attacker does with a public key) must not pass.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let hs = forge(
            &serde_json::json!({"alg": "HS256"}),
            &claims,
            b"k",
            Algorithm::HS256,
        );
        let signature = hs.rsplit('.').next().unwrap();
        let confused = format!(
            "{}.{}.{signature}",
            b64.encode(serde_json::json!({"alg": "RS256", "typ": "JWT"}).to_string()),
            b64.encode(claims.to_string())
        );
        let err = verify_guest_token(&confused, &secret("k"), &expectation(), NOW).unwrap_err();
        assert!(
            matches!(err, GuestTokenError::AlgorithmNotAccepted { ref found, .. } if found == "\"RS256\""),
            "{err}"
        );
        // A valid HS512 token where HS256 is expected.
        let hs512 = forge(
            &serde_json::json!({"alg": "HS512"}),
            &claims,
            b"k",
            Algorithm::HS512,
        );
        assert!(matches!(
            verify_guest_token(&hs512, &secret("k"), &expectation(), NOW),
            Err(GuestTokenError::AlgorithmNotAccepted { .. })
        ));
    }

    #[test]
    fn a_wrong_key_or_changed_claims_break_the_signature() {
        let token = mint(NOW);
        assert_eq!(
            verify_guest_token(&token, &secret("other"), &expectation(), NOW),
            Err(GuestTokenError::BadSignature)
        );
        // Tampered: the same signature over claims granting another dashboard.
        let mut claims = claims_of(&token);
        claims["resources"][0]["id"] = Json::from("1");
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        );
        assert_eq!(
            verify_guest_token(&tampered, &secret("k"), &expectation(), NOW),
            Err(GuestTokenError::BadSignature)
        );
    }

    #[test]
    fn times_are_checked_as_pyjwt_does() {
        let token = mint(NOW);
        let expired = verify_guest_token(&token, &secret("k"), &expectation(), NOW + 300.0);
        assert!(
            matches!(expired, Err(GuestTokenError::Expired { .. })),
            "{expired:?}"
        );
        let early = verify_guest_token(&token, &secret("k"), &expectation(), NOW - 10.0);
        assert!(
            matches!(
                early,
                Err(GuestTokenError::NotYetValid { claim: "iat", .. })
            ),
            "{early:?}"
        );
        let lenient = GuestExpectation {
            leeway_seconds: 30.0,
            ..expectation()
        };
        assert!(verify_guest_token(&token, &secret("k"), &lenient, NOW - 10.0).is_ok());
        // nbf in the future, and exp missing or not a number.
        let mut claims = claims_of(&token);
        claims["nbf"] = Json::from(NOW + 60.0);
        let nbf = forge(
            &serde_json::json!({"alg": "HS256"}),
            &claims,
            b"k",
            Algorithm::HS256,
        );
        assert!(matches!(
            verify_guest_token(&nbf, &secret("k"), &expectation(), NOW),
            Err(GuestTokenError::NotYetValid { claim: "nbf", .. })
        ));
        claims.as_object_mut().unwrap().remove("nbf");
        claims["exp"] = Json::from("tomorrow");
        let text_exp = forge(
            &serde_json::json!({"alg": "HS256"}),
            &claims,
            b"k",
            Algorithm::HS256,
        );
        assert!(matches!(
            verify_guest_token(&text_exp, &secret("k"), &expectation(), NOW),
            Err(GuestTokenError::BadClaim { claim: "exp", .. })
        ));
        claims.as_object_mut().unwrap().remove("exp");
        let no_exp = forge(
            &serde_json::json!({"alg": "HS256"}),
            &claims,
            b"k",
            Algorithm::HS256,
        );
        assert_eq!(
            verify_guest_token(&no_exp, &secret("k"), &expectation(), NOW),
            Err(GuestTokenError::MissingClaim("exp"))
        );
    }

    #[test]
    fn audience_and_type_must_match() {
        let token = mint(NOW);
        let other = GuestExpectation {
            audience: Some("http://other/".into()),
            ..expectation()
        };
        assert!(matches!(
            verify_guest_token(&token, &secret("k"), &other, NOW),
            Err(GuestTokenError::WrongAudience { .. })
        ));
        let mut claims = claims_of(&token);
        claims["aud"] = serde_json::json!(["x", "superset"]);
        let listed = forge(
            &serde_json::json!({"alg": "HS256"}),
            &claims,
            b"k",
            Algorithm::HS256,
        );
        assert!(verify_guest_token(&listed, &secret("k"), &expectation(), NOW).is_ok());
        claims["type"] = Json::from("access");
        let access = forge(
            &serde_json::json!({"alg": "HS256"}),
            &claims,
            b"k",
            Algorithm::HS256,
        );
        assert!(matches!(
            verify_guest_token(&access, &secret("k"), &expectation(), NOW),
            Err(GuestTokenError::WrongType { .. })
        ));
        claims.as_object_mut().unwrap().remove("type");
        let untyped = forge(
            &serde_json::json!({"alg": "HS256"}),
            &claims,
            b"k",
            Algorithm::HS256,
        );
        assert_eq!(
            verify_guest_token(&untyped, &secret("k"), &expectation(), NOW),
            Err(GuestTokenError::MissingClaim("type"))
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for token in [
            "",
            "a.b",
            "a.b.c.d",
            "!!!.e30.x",
            "e30.e30.x",
            "bnVsbA.e30.x",
        ] {
            let err = verify_guest_token(token, &secret("k"), &expectation(), NOW).unwrap_err();
            assert!(
                matches!(err, GuestTokenError::Malformed(_)),
                "{token}: {err}"
            );
        }
    }
}
