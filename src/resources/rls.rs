//! `RowLevelSecurityFilter`: a Superset RLS filter (`row_level_security_filters`) with its roles
//! (`rls_filter_roles`) and datasets (`rls_filter_tables`).

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::status::SyncStatus;

/// A row-level-security filter. A `Regular` filter applies to users holding one of its roles;
/// a `Base` filter applies to everyone except them. Clauses sharing a non-empty `groupKey` are
/// OR-ed; groups and ungrouped clauses are AND-ed. It applies only to the listed datasets.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "RowLevelSecurityFilter",
    namespaced,
    status = "SyncStatus",
    shortname = "rls",
    category = "superset",
    cel,
    derive = "PartialEq",
    doc = "A Superset row-level-security filter: a SQL clause added for some roles on some datasets.",
    printcolumn = r#"{"name": "Filter", "type": "string", "jsonPath": ".spec.name", "description": "Filter name in Superset (metadata.name when empty)"}"#,
    printcolumn = r#"{"name": "Type", "type": "string", "jsonPath": ".spec.filterType"}"#,
    printcolumn = r#"{"name": "Group Key", "type": "string", "jsonPath": ".spec.groupKey"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RowLevelSecurityFilterSpec {
    /// Filter name in Superset (unique, at most 255 characters). Defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub name: Option<String>,
    /// Description shown in Superset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Regular`: applies to users holding one of `roles`. `Base`: applies to everyone except them.
    #[x_kube(validation = kube::core::Rule::new("self == 'Regular' || self == 'Base'").message("filterType must be Regular or Base"))]
    pub filter_type: FilterType,
    /// Filters with the same non-empty group key are OR-ed together; empty means ungrouped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub group_key: Option<String>,
    /// Roles the filter is about, by role name (see `filterType`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Datasets the filter applies to, as `database.schema.table` or dataset uuid. With none, the
    /// filter applies nowhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<String>,
    /// SQL boolean expression added to the WHERE clause, e.g. `region = 'EU'`. Jinja only as bare
    /// calls of Superset's user macros (`'{{ current_username() }}'`, `{{ current_user_id() }}`,
    /// `'{{ current_user_email() }}'`) and of the macros `templating` allows.
    #[schemars(length(min = 1))]
    pub clause: String,
    /// Jinja the clause may use beyond Superset's user macros. Declared on the filter so that
    /// every widening shows in the review of the clause it widens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templating: Option<RlsTemplating>,
}

/// What Jinja an RLS clause may use beyond Superset's user macros. Every macro is still a bare
/// call: no operators, filters, attribute access or expression arguments.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RlsTemplating {
    /// Names of extra macros the deployment defines (`JINJA_CONTEXT_ADDONS`), e.g. `tenant_id`.
    /// They may take literal arguments (strings, numbers, booleans).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_macros: Vec<String>,
    /// Allow `url_param('name')` and `filter_values('column')`, whose values any viewer
    /// controls (a URL parameter, a dashboard filter), inside single-quoted SQL strings.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_viewer_controlled: bool,
}

/// How an RLS filter selects the users it applies to.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema,
)]
pub enum FilterType {
    /// Applies to users holding one of the filter's roles.
    #[default]
    Regular,
    /// Applies to every user except those holding one of the filter's roles.
    Base,
}

impl FilterType {
    /// The value stored in `row_level_security_filters.filter_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterType::Regular => "Regular",
            FilterType::Base => "Base",
        }
    }
}
