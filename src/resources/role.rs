//! `SupersetRole`: a Superset role (`ab_role`) and the permissions it grants
//! (`ab_permission_view_role`), declared in three forms plus composition.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::SyncStatus;

/// A Superset role and the exact set of permissions it grants.
///
/// The granted set is the union of: the SIP-19 `permissions` (`read` → `can_read`, `write` →
/// `can_write` on a view), the `rawPermissions` pairs, the `dataAccess` grants, and every
/// permission of the roles listed in `includes` (copied, since Superset has no role
/// inheritance).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "SupersetRole",
    status = "SyncStatus",
    shortname = "ssrole",
    category = "superset",
    cel,
    derive = "PartialEq",
    doc = "A Superset role (ab_role) with the exact set of permissions it grants.",
    printcolumn = r#"{"name": "Role", "type": "string", "jsonPath": ".spec.name", "description": "Role name in Superset (metadata.name when empty)"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupersetRoleSpec {
    /// Role name in Superset (`ab_role.name`, at most 64 characters). Defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub name: Option<String>,
    /// Other roles (declared or built-in, e.g. `Gamma`) whose permissions this role also grants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    /// SIP-19 permissions: `read` and/or `write` on a view such as `Dashboard`, `Chart` or
    /// `Row Level Security`; stored as `can_read` / `can_write` on that view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<ViewPermission>,
    /// Raw permission/view pairs from Superset's catalogue, for permissions outside the SIP-19
    /// vocabulary, e.g. `{permission: can_csv, view: Superset}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_permissions: Vec<RawPermission>,
    /// Data access: whole databases, schemas or single datasets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_access: Option<DataAccess>,
}

/// SIP-19 permission on one view.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ViewPermission {
    /// Superset view (`ab_view_menu.name`), e.g. `Dashboard`, `Chart`, `Dataset`, `SavedQuery`.
    #[schemars(length(min = 1, max = 250))]
    pub view: String,
    /// Actions granted on the view: `read` (`can_read`) and/or `write` (`can_write`).
    #[schemars(length(min = 1))]
    pub actions: Vec<Action>,
}

/// A SIP-19 action.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `can_read`: list and view objects of the view.
    Read,
    /// `can_write`: create, change and delete objects of the view.
    Write,
}

impl Action {
    /// The Superset permission name this action stands for.
    pub fn permission_name(self) -> &'static str {
        match self {
            Action::Read => "can_read",
            Action::Write => "can_write",
        }
    }
}

/// One raw permission/view pair of Superset's catalogue (`ab_permission` × `ab_view_menu`).
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawPermission {
    /// Permission name (`ab_permission.name`), e.g. `can_csv`, `menu_access`.
    #[schemars(length(min = 1, max = 100))]
    pub permission: String,
    /// View or menu name (`ab_view_menu.name`), e.g. `Superset`, `SQL Lab`.
    #[schemars(length(min = 1, max = 250))]
    pub view: String,
}

/// Data access grants. Databases, schemas and datasets are named by Superset's names, never ids.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataAccess {
    /// Grant `all_database_access`: every database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_databases: Option<bool>,
    /// Grant `all_datasource_access`: every dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_datasets: Option<bool>,
    /// Databases by name (`dbs.database_name`): `database_access` on each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// Schemas as `database.schema`: `schema_access` on each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Datasets as `database.schema.table` (or a dataset uuid): `datasource_access` on each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<String>,
}
