//! `SupersetUser`: a Superset user (`ab_user`) and its direct roles (`ab_user_role`), typically
//! a service account that reports run as. Passwords are never declared.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::SyncStatus;

/// A Superset user, typically a service account used as a report's `runAs`. steward never
/// declares or stores passwords: such users log in through SSO or not at all.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "SupersetUser",
    status = "SyncStatus",
    shortname = "ssuser",
    category = "superset",
    cel,
    derive = "PartialEq",
    doc = "A Superset user (ab_user), e.g. a service account that reports run as.",
    printcolumn = r#"{"name": "Username", "type": "string", "jsonPath": ".spec.username", "description": "Username in Superset (metadata.name when empty)"}"#,
    printcolumn = r#"{"name": "Email", "type": "string", "jsonPath": ".spec.email"}"#,
    printcolumn = r#"{"name": "Active", "type": "boolean", "jsonPath": ".spec.active"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupersetUserSpec {
    /// Username (`ab_user.username`, at most 128 characters). Defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub username: Option<String>,
    /// First name (`ab_user.first_name`).
    #[schemars(length(min = 1, max = 64))]
    pub first_name: String,
    /// Last name (`ab_user.last_name`).
    #[schemars(length(min = 1, max = 64))]
    pub last_name: String,
    /// E-mail address (`ab_user.email`); recipients limited to users are matched against it.
    #[schemars(length(min = 3, max = 320))]
    pub email: String,
    /// Whether the user may log in and be run as. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Direct roles, by role name (more come through groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}
