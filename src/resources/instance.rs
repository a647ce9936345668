//! `SupersetInstance`: one Superset deployment the operator reconciles into, with where its
//! metadata database's URL is kept (a Secret in the operator's namespace, never inline) and the
//! status of the last pass over it. Every steward resource targets one instance: the one its
//! `steward.dev/instance` annotation names, else the single instance marked `default`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The annotation naming the `SupersetInstance` a resource targets.
pub const INSTANCE_ANNOTATION: &str = "steward.dev/instance";

/// A Superset deployment steward reconciles resources into.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "SupersetInstance",
    status = "SupersetInstanceStatus",
    shortname = "ssinstance",
    category = "superset",
    derive = "PartialEq",
    doc = "A Superset deployment steward reconciles resources into: where its metadata database is, and how the last pass over it went.",
    printcolumn = r#"{"name": "Default", "type": "boolean", "jsonPath": ".spec.default"}"#,
    printcolumn = r#"{"name": "Version", "type": "string", "jsonPath": ".status.supersetVersion"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupersetInstanceSpec {
    /// Resources without a `steward.dev/instance` annotation target the instance marked default
    /// (at most one may be).
    #[serde(default)]
    pub default: bool,
    /// Superset's metadata database (PostgreSQL or SQLite).
    pub metadata_database: MetadataDatabase,
    /// The mass-deletion guard: when more than `threshold` resources of this instance are
    /// deleted within `windowSeconds`, deletions pause until the instance is annotated
    /// `steward.dev/confirm-deletions` with the count the status reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_guard: Option<DeletionGuard>,
    /// Run this instance's schedules as Kubernetes Jobs (one per schedule and fire time, in
    /// the schedule's namespace). Absent: the operator runs none (Superset's own workers may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executions: Option<Executions>,
    /// Mint guest tokens for this instance's embedded dashboards at the operator's
    /// `POST /guest-token` (on the webhook's HTTPS port), within its GuestTokenPolicies, for
    /// the ServiceAccounts they name. Absent: the endpoint mints none for this instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_tokens: Option<GuestTokens>,
}

/// The HMAC algorithm of guest tokens.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum GuestTokenAlgorithm {
    HS256,
    HS384,
    HS512,
}

/// How the operator signs guest tokens for one instance.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuestTokens {
    /// Superset's `GUEST_TOKEN_JWT_SECRET`, in a Secret in the operator's namespace.
    pub secret_ref: SecretKeyRef,
    /// Superset's `GUEST_TOKEN_JWT_AUDIENCE` (else its `WEBDRIVER_BASEURL`).
    #[schemars(length(min = 1))]
    pub audience: String,
    /// Superset's `GUEST_TOKEN_JWT_ALGO`: `HS256` (default), `HS384` or `HS512`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<GuestTokenAlgorithm>,
    /// Tokens one ServiceAccount may have minted per minute (default 60; a burst of as many).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub per_minute: Option<u32>,
}

/// How the operator runs schedules as Jobs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Executions {
    /// The pod each Job runs: `steward execute --schedule NAMESPACE/NAME --at TIME`.
    pub job_template: ExecutionJobTemplate,
    /// Fire times missed while no operator ran still run when at most this old (only the
    /// newest); older ones are logged as skipped. Default 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub catch_up_seconds: Option<u32>,
    /// Finished Jobs kept per schedule after success (default 3) and after failure (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub successful_jobs_history_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub failed_jobs_history_limit: Option<u32>,
    /// Seconds a finished Job stays before Kubernetes deletes it (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub ttl_seconds_after_finished: Option<i32>,
    /// Pod retries of one run (default 0: a run that may have sent part of its messages is not
    /// repeated; the next fire time runs as usual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub backoff_limit: Option<i32>,
}

/// The pod of an execution Job. Secrets reach it only through `env` references and `envFrom`
/// (Secrets in the schedule's namespace): `STEWARD_DATABASE_URL`,
/// `STEWARD_SUPERSET_SECRET_KEY`, `STEWARD_SMTP_PASSWORD`; settings such as
/// `STEWARD_SUPERSET_URL` and `STEWARD_SMTP_HOST` likewise.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutionJobTemplate {
    /// The steward image.
    #[schemars(length(min = 1))]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<k8s_openapi::api::core::v1::LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<k8s_openapi::api::core::v1::Toleration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<k8s_openapi::api::core::v1::EnvVar>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<k8s_openapi::api::core::v1::EnvFromSource>,
}

/// Where the metadata database's URL is kept.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataDatabase {
    /// A Secret in the operator's namespace holding the URL
    /// (`postgres://user:password@host:5432/superset` or `sqlite:///path`).
    pub url_secret_ref: SecretKeyRef,
}

/// One key of a Secret in the operator's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key within the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Limits of the mass-deletion guard.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeletionGuard {
    /// More deletions than this within the window pause deletions (default 10).
    #[schemars(range(min = 0))]
    pub threshold: u32,
    /// The window, in seconds (default 300).
    #[schemars(range(min = 1))]
    pub window_seconds: u32,
}

impl Default for DeletionGuard {
    fn default() -> DeletionGuard {
        DeletionGuard {
            threshold: 10,
            window_seconds: 300,
        }
    }
}

/// How the last pass over the instance went.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupersetInstanceStatus {
    /// `Ready`: True when the last pass reached the database and applied every valid resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The Superset release of the metadata database's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superset_version: Option<String>,
    /// Resources targeting the instance, by state (`Ready`, `Invalid`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, u32>,
    /// Objects steward manages in this Superset, by kind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub managed_objects: BTreeMap<String, u32>,
    /// When the last pass ended (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pass_time: Option<String>,
    /// Deletions waiting on confirmation by the mass-deletion guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_deletions: Option<u32>,
}
