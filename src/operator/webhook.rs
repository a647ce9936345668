//! The validating admission webhook (HTTPS): `POST /validate` takes an `AdmissionReview` of a
//! steward resource and answers with the [`super::admission`] check: refused with every finding
//! listed, or allowed with its warnings. Its certificate and key come from files (a mounted
//! Secret, cert-manager friendly) and are reloaded when they change on disk. The same server
//! answers `POST /guest-token` ([`super::guest_tokens`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum_server::tls_rustls::RustlsConfig;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};

use super::guest_tokens::GuestTokenEndpoint;
use super::reconciler::Reconciler;
use crate::resources::{Kind, Resource};

/// Where the webhook listens and its certificate.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub addr: SocketAddr,
    /// PEM certificate chain (`tls.crt` of a kubernetes.io/tls Secret).
    pub cert: PathBuf,
    /// PEM private key (`tls.key`).
    pub key: PathBuf,
    /// The audience a bearer token at `/guest-token` must be issued for; `None`: the API
    /// server's own.
    pub guest_token_audience: Option<String>,
}

/// How often the certificate files are looked at for a renewal.
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// Serves the webhook on a task until the handle is aborted.
pub async fn serve(
    config: WebhookConfig,
    reconciler: Arc<Reconciler>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let tls = RustlsConfig::from_pem_file(&config.cert, &config.key)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "the webhook's certificate {:?} or key {:?} cannot be used: {e}",
                config.cert,
                config.key
            )
        })?;
    let guest_tokens = Arc::new(GuestTokenEndpoint::new(
        Arc::clone(&reconciler),
        config.guest_token_audience.clone(),
    ));
    let app = Router::new()
        .route("/validate", post(validate))
        .with_state(reconciler)
        .merge(
            Router::new()
                .route("/guest-token", post(super::guest_tokens::mint))
                .layer(DefaultBodyLimit::max(super::guest_tokens::MAX_BODY_BYTES))
                .with_state(guest_tokens),
        );
    let reload = tls.clone();
    let (cert, key) = (config.cert.clone(), config.key.clone());
    tokio::spawn(async move {
        let mut seen = modified(&cert, &key);
        loop {
            tokio::time::sleep(RELOAD_EVERY).await;
            let now = modified(&cert, &key);
            if now != seen {
                match reload.reload_from_pem_file(&cert, &key).await {
                    Ok(()) => tracing::info!("webhook certificate reloaded"),
                    Err(error) => tracing::warn!(%error, "webhook certificate not reloaded"),
                }
                seen = now;
            }
        }
    });
    tracing::info!(addr = %config.addr, "serving the validating webhook on /validate and guest tokens on /guest-token");
    let server = axum_server::bind_rustls(config.addr, tls);
    Ok(tokio::spawn(async move {
        if let Err(error) = server.serve(app.into_make_service()).await {
            tracing::error!(%error, "the webhook server stopped");
        }
    }))
}

fn modified(cert: &PathBuf, key: &PathBuf) -> (Option<SystemTime>, Option<SystemTime>) {
    let at = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (at(cert), at(key))
}

async fn validate(
    State(reconciler): State<Arc<Reconciler>>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(request) => request,
        Err(error) => {
            return Json(AdmissionResponse::invalid(error.to_string()).into_review());
        }
    };
    let response = AdmissionResponse::from(&request);
    Json(decide(&reconciler, request, response).await.into_review())
}

async fn decide(
    reconciler: &Reconciler,
    request: AdmissionRequest<DynamicObject>,
    response: AdmissionResponse,
) -> AdmissionResponse {
    if !matches!(request.operation, Operation::Create | Operation::Update) {
        return response;
    }
    let Some(kind) = Kind::parse(&request.kind.kind) else {
        return response;
    };
    let Some(object) = request.object else {
        return response.deny("the request carries no object");
    };
    // Only the spec is checked: an update of metadata or status alone (a finalizer removed, a
    // label added) and anything on a resource being deleted goes through, so a resource whose
    // spec went bad can still be labelled, deleted and finalized.
    if object.metadata.deletion_timestamp.is_some() {
        return response;
    }
    if let Some(old) = &request.old_object
        && old.data.get("spec") == object.data.get("spec")
    {
        return response;
    }
    let value = match serde_json::to_value(&object) {
        Ok(value) => value,
        Err(error) => return response.deny(format!("the object cannot be read: {error}")),
    };
    let resource = match Resource::from_json(kind, value) {
        Ok(resource) => resource,
        Err(error) => return response.deny(format!("the object is not a valid {kind}: {error}")),
    };
    let name = resource.id().to_string();
    let found = reconciler.admission_check(resource).await;
    let mut response = response;
    if !found.warnings.is_empty() {
        response.warnings = Some(found.warnings);
    }
    if found.errors.is_empty() {
        return response;
    }
    tracing::info!(resource = %name, findings = found.errors.len(), "admission refused");
    let mut message = format!("steward refuses {name}:");
    for error in &found.errors {
        message.push_str("\n- ");
        message.push_str(error);
    }
    response.deny(message)
}
