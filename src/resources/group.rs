//! `SupersetGroup`: a Superset group (`ab_group`) with its roles (`ab_group_role`) and members
//! (`ab_user_group`).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::SyncStatus;

/// A Superset group: its members get every role of the group (effective roles of a user are
/// its direct roles plus the roles of its groups, for permissions and RLS alike).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "SupersetGroup",
    status = "SyncStatus",
    shortname = "ssgroup",
    category = "superset",
    cel,
    derive = "PartialEq",
    doc = "A Superset group (ab_group): members and the roles they get through it.",
    printcolumn = r#"{"name": "Group", "type": "string", "jsonPath": ".spec.name", "description": "Group name in Superset (metadata.name when empty)"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupersetGroupSpec {
    /// Group name in Superset (`ab_group.name`, at most 100 characters). Defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    /// Display label (`ab_group.label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 150))]
    pub label: Option<String>,
    /// Description (`ab_group.description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub description: Option<String>,
    /// Roles every member gets, by role name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Members, by username.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}
