//! The guest-token endpoint: `POST /guest-token` on the webhook's HTTPS server. Applications in
//! the cluster send their ServiceAccount token as `Authorization: Bearer …` and a request under
//! one GuestTokenPolicy; the token is authenticated with a TokenReview against the API server,
//! the ServiceAccount must be one the applied policy lists, each ServiceAccount is
//! rate-limited, and every answer is logged (never a token). 401: no valid Kubernetes token;
//! 403: no such policy lists the caller (one answer, whether or not the policy exists), or the
//! request is outside the policy (every reason listed); 429: too many; 503: the instance cannot
//! be reached.

use std::collections::{BTreeMap, HashMap};
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
use tokio::sync::Mutex;

use super::reconciler::Reconciler;
use super::targeting::Instances;
use crate::escape::terminal;
use crate::resources::GuestTokenPolicy;
use crate::resources::instance::GuestTokenAlgorithm;
use crate::secret::Secret;
use crate::token::GuestAlgorithm;
use crate::token::guest_policy::GuestTokenRequest;
use crate::token::issue::{IssueError, Signer, issue};

/// The default number of tokens one ServiceAccount may have minted per minute.
pub const DEFAULT_PER_MINUTE: u32 = 60;

/// The endpoint's state: the reconciler (caches, Secrets, connections) and the rate limits.
pub struct GuestTokenEndpoint {
    reconciler: Arc<Reconciler>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl GuestTokenEndpoint {
    pub fn new(reconciler: Arc<Reconciler>) -> GuestTokenEndpoint {
        GuestTokenEndpoint {
            reconciler,
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

/// A token bucket: `per_minute` tokens a minute, as many at once.
struct Bucket {
    tokens: f64,
    at: Instant,
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
    let caller = match authenticate(&endpoint.reconciler, bearer).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let shown_caller = terminal(&caller).into_owned();
    let request: MintBody = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let e = terminal(&e.to_string()).into_owned();
            tracing::info!(caller = %shown_caller, outcome = "bad-request", "guest token refused: {e}");
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not a request: {e}"),
            );
        }
    };
    if let Some(wait) = endpoint
        .take(&caller, per_minute(&endpoint.reconciler))
        .await
    {
        tracing::info!(caller = %shown_caller, outcome = "rate-limited", "guest token refused: too many requests");
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many tokens for {shown_caller}; retry in {wait} s"),
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    mint_for(&endpoint.reconciler, &caller, request).await
}

/// The rate the instances allow: the lowest `perMinute` any of them sets.
fn per_minute(reconciler: &Reconciler) -> u32 {
    reconciler
        .caches
        .instances
        .state()
        .iter()
        .filter_map(|i| i.spec.guest_tokens.as_ref().and_then(|g| g.per_minute))
        .min()
        .unwrap_or(DEFAULT_PER_MINUTE)
}

impl GuestTokenEndpoint {
    /// Takes one token from `caller`'s bucket; the seconds to wait when it is empty.
    async fn take(&self, caller: &str, per_minute: u32) -> Option<u64> {
        let rate = f64::from(per_minute.max(1)) / 60.0;
        let capacity = f64::from(per_minute.max(1));
        let mut buckets = self.buckets.lock().await;
        let now = Instant::now();
        let bucket = buckets.entry(caller.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(((1.0 - bucket.tokens) / rate).ceil() as u64)
        }
    }
}

/// The ServiceAccount (`namespace/name`) the API server says `bearer` belongs to.
async fn authenticate(reconciler: &Reconciler, bearer: &str) -> Result<String, Response> {
    let reviews: Api<TokenReview> = Api::all(reconciler.client.clone());
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(bearer.to_owned()),
            ..TokenReviewSpec::default()
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
    if status.authenticated != Some(true) {
        tracing::info!(
            outcome = "unauthenticated",
            "guest token refused: the API server does not accept the bearer token"
        );
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "the API server does not accept this token",
        ));
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

/// Finds the policy and its instance, and issues the token.
async fn mint_for(reconciler: &Reconciler, caller: &str, body: MintBody) -> Response {
    let shown_caller = terminal(caller).into_owned();
    let shown_policy = terminal(&body.policy).into_owned();
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
        .filter(|p| match body.policy.split_once('/') {
            Some((namespace, name)) => {
                p.metadata.namespace.as_deref() == Some(namespace)
                    && p.metadata.name.as_deref() == Some(name)
            }
            None => p.metadata.name.as_deref() == Some(body.policy.as_str()),
        })
        .filter(|p| listed(p))
        .collect();
    let policy = match found.as_slice() {
        [one] => *one,
        [] => {
            tracing::info!(caller = %shown_caller, policy = %shown_policy, outcome = "forbidden", "guest token refused: no such policy lists the caller");
            return error(
                StatusCode::FORBIDDEN,
                format!(
                    "ServiceAccount {shown_caller} may not mint under a GuestTokenPolicy {shown_policy}"
                ),
            );
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "several namespaces have a GuestTokenPolicy {shown_policy}; name it `namespace/name`"
                ),
            );
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
        Err(why) => return error(StatusCode::SERVICE_UNAVAILABLE, why),
    };
    let Some(instance) = instances
        .iter()
        .find(|i| i.metadata.name.as_deref() == Some(target.as_str()))
    else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("SupersetInstance {target} is gone"),
        );
    };
    let Some(settings) = &instance.spec.guest_tokens else {
        tracing::info!(caller = %shown_caller, policy = %shown_policy, instance = %target, outcome = "disabled", "guest token refused: the instance mints none");
        return error(
            StatusCode::FORBIDDEN,
            format!("SupersetInstance {target} mints no guest tokens (it has no spec.guestTokens)"),
        );
    };
    let secret = match reconciler
        .secret_value(&settings.secret_ref, "spec.guestTokens.secretRef")
        .await
        .and_then(|value| {
            Secret::new(value.into_bytes(), "spec.guestTokens.secretRef")
                .map_err(super::reconciler::Unavailable)
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
            let dashboards: Vec<&str> = issued
                .grant
                .resources
                .iter()
                .map(|r| r.id.as_str())
                .collect();
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
