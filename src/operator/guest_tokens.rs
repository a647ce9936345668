//! The guest-token endpoint: `POST /guest-token` on the webhook's HTTPS server. Applications in
//! the cluster send their ServiceAccount token as `Authorization: Bearer …` and a request under
//! one GuestTokenPolicy; the token is authenticated with a TokenReview against the API server,
//! the ServiceAccount must be one the applied policy lists, each ServiceAccount is
//! rate-limited per instance, and every answer is logged (never a token). What a caller can
//! make the operator do before it is known is bounded: bodies up to [`MAX_BODY_BYTES`], bearer
//! tokens up to [`MAX_BEARER_BYTES`], at most [`MAX_REVIEWS_IN_FLIGHT`] TokenReviews at once.
//! 401: no valid Kubernetes token; 403: no such policy lists the caller (one answer, whether or
//! not the policy exists), or the request is outside the policy (every reason listed); 400: a
//! malformed or oversized request; 413: a body too large; 429: too many; 503: the instance
//! cannot be reached.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::api::{Api, PostParams};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{Mutex, Semaphore};

use super::rate_limit::RateLimits;
use super::reconciler::Reconciler;
use super::targeting::Instances;
use crate::escape::terminal;
use crate::resources::GuestTokenPolicy;
use crate::resources::instance::GuestTokenAlgorithm;
use crate::resources::instance::SupersetInstance;
use crate::secret::Secret;
use crate::token::GuestAlgorithm;
use crate::token::guest_policy::GuestTokenRequest;
use crate::token::issue::{IssueError, Signer, issue};

/// The default number of tokens one ServiceAccount may have minted per minute.
pub const DEFAULT_PER_MINUTE: u32 = 60;

/// The largest request body read, in bytes (a request names a policy, dashboards, a user and
/// attributes: a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest bearer token sent for review, in bytes (a ServiceAccount token is one or two
/// kilobytes).
pub const MAX_BEARER_BYTES: usize = 8 * 1024;

/// TokenReviews the endpoint has in flight at most; further requests get 429 at once rather
/// than queueing reviews against the API server.
pub const MAX_REVIEWS_IN_FLIGHT: usize = 16;

/// The most dashboards and attributes one request may carry, and the longest text field.
const MAX_DASHBOARDS: usize = 100;
const MAX_ATTRIBUTES: usize = 64;
const MAX_TEXT_CHARS: usize = 1024;

/// The endpoint's state: the reconciler (caches, Secrets, connections), the TokenReviews in
/// flight and the rate limits.
pub struct GuestTokenEndpoint {
    reconciler: Arc<Reconciler>,
    /// The audience bearer tokens must be issued for (`--guest-token-review-audience`).
    audience: Option<String>,
    reviews: Semaphore,
    limits: Mutex<RateLimits>,
}

impl GuestTokenEndpoint {
    pub fn new(reconciler: Arc<Reconciler>, audience: Option<String>) -> GuestTokenEndpoint {
        GuestTokenEndpoint {
            reconciler,
            audience,
            reviews: Semaphore::new(MAX_REVIEWS_IN_FLIGHT),
            limits: Mutex::new(RateLimits::default()),
        }
    }
}

/// The body of a request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintBody {
    /// The GuestTokenPolicy, `namespace/name` (or `name` when one namespace has it).
    policy: String,
    dashboards: Vec<String>,
    username: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    lifetime_seconds: Option<u32>,
}

/// What an answer says, as JSON.
fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    answer(status, json!({"error": message.into()}))
}

/// `POST /guest-token`.
pub async fn mint(
    State(endpoint): State<Arc<GuestTokenEndpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        tracing::info!(
            outcome = "unauthenticated",
            "guest token refused: no bearer token"
        );
        return error(
            StatusCode::UNAUTHORIZED,
            "send your ServiceAccount token as `Authorization: Bearer …`",
        );
    };
    if bearer.len() > MAX_BEARER_BYTES {
        tracing::info!(
            outcome = "unauthenticated",
            bytes = bearer.len(),
            "guest token refused: the bearer token is too long to be a ServiceAccount token"
        );
        return error(
            StatusCode::UNAUTHORIZED,
            format!(
                "the bearer token is longer than {MAX_BEARER_BYTES} bytes; no ServiceAccount token is"
            ),
        );
    }
    let caller = {
        let Ok(_review) = endpoint.reviews.try_acquire() else {
            tracing::warn!(
                outcome = "rate-limited",
                "guest token refused: {MAX_REVIEWS_IN_FLIGHT} token reviews already in flight"
            );
            return too_many("too many requests are being authenticated", 1);
        };
        match authenticate(&endpoint.reconciler, bearer, endpoint.audience.as_deref()).await {
            Ok(caller) => caller,
            Err(response) => return response,
        }
    };
    let shown_caller = terminal(&caller).into_owned();
    let request: MintBody = match serde_json::from_slice(&body)
        .map_err(|e| e.to_string())
        .and_then(|request: MintBody| request.bounded().map(|()| request))
    {
        Ok(request) => request,
        Err(e) => {
            let e = terminal(&e).into_owned();
            tracing::info!(caller = %shown_caller, outcome = "bad-request", "guest token refused: {e}");
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not a request: {e}"),
            );
        }
    };
    let (policy, instance) = match locate(&endpoint.reconciler, &caller, &request.policy) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let target = instance.metadata.name.clone().unwrap_or_default();
    let per_minute = instance
        .spec
        .guest_tokens
        .as_ref()
        .and_then(|g| g.per_minute)
        .unwrap_or(DEFAULT_PER_MINUTE);
    let wait = endpoint
        .limits
        .lock()
        .await
        .take(&caller, &target, per_minute, Instant::now());
    if let Some(wait) = wait {
        tracing::info!(caller = %shown_caller, instance = %target, outcome = "rate-limited", "guest token refused: too many requests");
        return too_many(&format!("too many tokens for {shown_caller}"), wait);
    }
    issue_for(&endpoint.reconciler, &caller, &policy, &instance, request).await
}

/// 429 with `Retry-After`.
fn too_many(what: &str, wait: u64) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        format!("{what}; retry in {wait} s"),
    );
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

impl MintBody {
    /// Refuses a request larger than any policy could grant, before anything is looked up.
    fn bounded(&self) -> Result<(), String> {
        let mut over = Vec::new();
        if self.dashboards.len() > MAX_DASHBOARDS {
            over.push(format!(
                "{} dashboards (at most {MAX_DASHBOARDS})",
                self.dashboards.len()
            ));
        }
        if self.attributes.len() > MAX_ATTRIBUTES {
            over.push(format!(
                "{} attributes (at most {MAX_ATTRIBUTES})",
                self.attributes.len()
            ));
        }
        let texts = [
            ("policy", &self.policy),
            ("username", &self.username),
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
        ];
        let long = texts
            .into_iter()
            .chain(self.dashboards.iter().map(|d| ("dashboards[]", d)))
            .chain(
                self.attributes
                    .iter()
                    .flat_map(|(k, v)| [("attributes key", k), ("attributes value", v)]),
            )
            .filter(|(_, text)| text.chars().count() > MAX_TEXT_CHARS)
            .map(|(field, _)| field);
        for field in long {
            over.push(format!("a {field} longer than {MAX_TEXT_CHARS} characters"));
        }
        match over.is_empty() {
            true => Ok(()),
            false => Err(over.join("; ")),
        }
    }
}

/// The ServiceAccount (`namespace/name`) the API server says `bearer` belongs to.
/// With `audience`, the token must have been issued for it.
async fn authenticate(
    reconciler: &Reconciler,
    bearer: &str,
    audience: Option<&str>,
) -> Result<String, Response> {
    let reviews: Api<TokenReview> = Api::all(reconciler.client.clone());
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(bearer.to_owned()),
            audiences: audience.map(|a| vec![a.to_owned()]),
        },
        ..TokenReview::default()
    };
    let reviewed = match reviews.create(&PostParams::default(), &review).await {
        Ok(reviewed) => reviewed,
        Err(e) => {
            tracing::warn!(outcome = "unavailable", error = %e, "guest token refused: the TokenReview failed");
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the API server could not review the token; retry",
            ));
        }
    };
    let status = reviewed.status.unwrap_or_default();
    // The API server answers with the audiences the token is valid for among those asked.
    let for_audience = audience.is_none_or(|wanted| {
        status
            .audiences
            .as_ref()
            .is_some_and(|found| found.iter().any(|a| a == wanted))
    });
    if status.authenticated != Some(true) || !for_audience {
        tracing::info!(
            outcome = "unauthenticated",
            "guest token refused: the API server does not accept the bearer token"
        );
        let message = match audience {
            Some(wanted) => format!(
                "the API server does not accept this token for the audience `{}`; send a ServiceAccount token issued for it",
                terminal(wanted)
            ),
            None => "the API server does not accept this token".to_owned(),
        };
        return Err(error(StatusCode::UNAUTHORIZED, message));
    }
    let username = status.user.and_then(|u| u.username).unwrap_or_default();
    match username
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, name)) => Ok(format!("{namespace}/{name}")),
        None => {
            let shown = terminal(&username).into_owned();
            tracing::info!(caller = %shown, outcome = "forbidden", "guest token refused: not a ServiceAccount");
            Err(error(
                StatusCode::FORBIDDEN,
                format!(
                    "{shown} is not a ServiceAccount; only ServiceAccounts a policy lists may mint"
                ),
            ))
        }
    }
}

/// The policy the caller named, among those that list it, and its instance; an unlisted
/// caller gets the same 403 whether or not the policy exists.
fn locate(
    reconciler: &Reconciler,
    caller: &str,
    named: &str,
) -> Result<(Arc<GuestTokenPolicy>, Arc<SupersetInstance>), Box<Response>> {
    let shown_caller = terminal(caller).into_owned();
    let shown_policy = terminal(named).into_owned();
    let policies = reconciler.caches.guest_policies.state();
    // Only policies that list the caller are considered, before any Secret or database is
    // touched: an unlisted caller learns nothing, not even whether the policy exists.
    let listed = |p: &GuestTokenPolicy| {
        p.spec
            .service_accounts
            .iter()
            .any(|a| format!("{}/{}", a.namespace, a.name) == caller)
    };
    let found: Vec<&Arc<GuestTokenPolicy>> = policies
        .iter()
        .filter(|p| match named.split_once('/') {
            Some((namespace, name)) => {
                p.metadata.namespace.as_deref() == Some(namespace)
                    && p.metadata.name.as_deref() == Some(name)
            }
            None => p.metadata.name.as_deref() == Some(named),
        })
        .filter(|p| listed(p))
        .collect();
    let policy = match found.as_slice() {
        [one] => Arc::clone(one),
        [] => {
            tracing::info!(caller = %shown_caller, policy = %shown_policy, outcome = "forbidden", "guest token refused: no such policy lists the caller");
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                format!(
                    "ServiceAccount {shown_caller} may not mint under a GuestTokenPolicy {shown_policy}"
                ),
            )));
        }
        _ => {
            tracing::info!(caller = %shown_caller, policy = %shown_policy, outcome = "bad-request", "guest token refused: the policy name is ambiguous");
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!(
                    "several namespaces have a GuestTokenPolicy {shown_policy}; name it `namespace/name`"
                ),
            )));
        }
    };
    let instances = reconciler.caches.instances.state();
    let known = Instances::new(instances.iter().map(|i| {
        (
            i.metadata.name.as_deref().unwrap_or_default(),
            i.spec.default,
        )
    }));
    let target = match known.target_of(policy.metadata.annotations.as_ref()) {
        Ok(target) => target.to_owned(),
        Err(why) => {
            tracing::info!(caller = %shown_caller, policy = %shown_policy, outcome = "unavailable", "guest token refused: {}", terminal(&why));
            return Err(Box::new(error(StatusCode::SERVICE_UNAVAILABLE, why)));
        }
    };
    match instances
        .iter()
        .find(|i| i.metadata.name.as_deref() == Some(target.as_str()))
    {
        Some(instance) => Ok((policy, Arc::clone(instance))),
        None => {
            let shown_target = terminal(&target);
            tracing::info!(caller = %shown_caller, policy = %shown_policy, instance = %shown_target, outcome = "unavailable", "guest token refused: the instance is gone");
            Err(Box::new(error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("SupersetInstance {shown_target} is gone"),
            )))
        }
    }
}

/// Issues the token under `policy` on `instance`: its signing Secret, its database, the
/// applied policy.
async fn issue_for(
    reconciler: &Reconciler,
    caller: &str,
    policy: &GuestTokenPolicy,
    instance: &SupersetInstance,
    body: MintBody,
) -> Response {
    let shown_caller = terminal(caller).into_owned();
    let shown_policy = terminal(&body.policy).into_owned();
    let target = instance.metadata.name.clone().unwrap_or_default();
    let Some(settings) = &instance.spec.guest_tokens else {
        tracing::info!(caller = %shown_caller, policy = %shown_policy, instance = %target, outcome = "disabled", "guest token refused: the instance mints none");
        return error(
            StatusCode::FORBIDDEN,
            format!("SupersetInstance {target} mints no guest tokens (it has no spec.guestTokens)"),
        );
    };
    // The key's bytes as the Secret holds them (only a trailing newline dropped), as
    // Superset reads `GUEST_TOKEN_JWT_SECRET`.
    let secret = match reconciler
        .secret_bytes(&settings.secret_ref, "spec.guestTokens.secretRef")
        .await
        .and_then(|value| {
            Secret::new(value, "spec.guestTokens.secretRef").map_err(super::reconciler::Unavailable)
        }) {
        Ok(secret) => secret,
        Err(why) => {
            tracing::warn!(instance = %target, error = %why.0, "guest token refused: no signing secret");
            return error(StatusCode::SERVICE_UNAVAILABLE, why.0);
        }
    };
    let store = match reconciler.database_url(instance).await {
        Ok(url) => match reconciler.connection(&target, &url).await {
            Ok(store) => store,
            Err(why) => return error(StatusCode::SERVICE_UNAVAILABLE, why.0),
        },
        Err(why) => return error(StatusCode::SERVICE_UNAVAILABLE, why.0),
    };
    let signer = Signer {
        secret,
        algorithm: match settings.algorithm {
            None | Some(GuestTokenAlgorithm::HS256) => GuestAlgorithm::Hs256,
            Some(GuestTokenAlgorithm::HS384) => GuestAlgorithm::Hs384,
            Some(GuestTokenAlgorithm::HS512) => GuestAlgorithm::Hs512,
        },
        audience: settings.audience.clone(),
    };
    let request = GuestTokenRequest {
        dashboards: body.dashboards,
        username: body.username,
        first_name: body.first_name,
        last_name: body.last_name,
        attributes: body.attributes,
        lifetime_seconds: body.lifetime_seconds,
    };
    let name = policy.metadata.name.clone().unwrap_or_default();
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    match issue(&store, &name, &request, &signer, now, Some(caller)).await {
        Ok(issued) => {
            let dashboards = issued.dashboard_ids();
            tracing::info!(
                caller = %shown_caller,
                policy = %shown_policy,
                instance = %target,
                username = %terminal(&issued.grant.user.username),
                dashboards = %dashboards.join(","),
                rls_rules = issued.grant.rls_rules.len(),
                expires_at = issued.expires_at,
                outcome = "minted",
                "guest token minted"
            );
            answer(
                StatusCode::OK,
                json!({
                    "token": issued.token,
                    "expiresAt": issued.expires_at,
                    "dashboards": dashboards,
                }),
            )
        }
        Err(IssueError::Refused { reasons, .. }) => {
            tracing::info!(caller = %shown_caller, policy = %shown_policy, outcome = "refused", reasons = %reasons.join("; "), "guest token refused: outside the policy");
            answer(
                StatusCode::FORBIDDEN,
                json!({"error": format!("the request is outside the policy {shown_policy}"), "reasons": reasons}),
            )
        }
        Err(e @ IssueError::NotAllowed { .. }) => {
            tracing::info!(caller = %shown_caller, policy = %shown_policy, outcome = "forbidden", "guest token refused: {e}");
            error(StatusCode::FORBIDDEN, e.to_string())
        }
        Err(IssueError::UnknownPolicy { .. }) => {
            // Declared but not (yet) applied: said without naming the policies that are.
            tracing::info!(caller = %shown_caller, policy = %shown_policy, outcome = "not-applied", "guest token refused: the policy is not applied yet");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "GuestTokenPolicy {shown_policy} is not applied to its instance yet; retry"
                ),
            )
        }
        Err(IssueError::Store(e)) => {
            let text = terminal(&e.to_string()).into_owned();
            tracing::warn!(instance = %target, error = %text, "guest token refused: the database failed");
            error(StatusCode::SERVICE_UNAVAILABLE, text)
        }
        Err(IssueError::Token(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> MintBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_ordinary_request_is_within_bounds() {
        let request = body(json!({
            "policy": "apps/partners", "dashboards": ["sales"], "username": "partner-1",
            "attributes": {"tenant": "acme"},
        }));
        assert_eq!(request.bounded(), Ok(()));
    }

    #[test]
    fn oversized_requests_are_refused_naming_every_excess() {
        let dashboards: Vec<String> = (0..101).map(|i| format!("d{i}")).collect();
        let attributes: BTreeMap<String, String> =
            (0..65).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let request = body(json!({
            "policy": "p", "dashboards": dashboards, "username": "u".repeat(1025),
            "attributes": attributes,
        }));
        let why = request.bounded().unwrap_err();
        for part in [
            "101 dashboards (at most 100)",
            "65 attributes (at most 64)",
            "a username longer than 1024 characters",
        ] {
            assert!(why.contains(part), "{part:?} missing from {why}");
        }
        let long_value = body(json!({
            "policy": "p", "dashboards": [], "username": "u",
            "attributes": {"tenant": "x".repeat(2000)},
        }));
        assert!(
            long_value
                .bounded()
                .unwrap_err()
                .contains("attributes value longer")
        );
    }
}
