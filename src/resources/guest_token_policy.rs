//! `GuestTokenPolicy`: what guest tokens for embedded dashboards may grant, and who may have
//! them minted. Not a Superset object: steward keeps it in a table of its own in the metadata
//! database, so it is reviewed, diffed and applied with the roles and filters it complements,
//! and `steward guest-token` and the operator's minting endpoint refuse anything outside it.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::schedule::DashboardRef;
use super::status::SyncStatus;

/// Superset's default guest-token lifetime, the default ceiling of a policy.
pub const DEFAULT_MAX_LIFETIME_SECONDS: u32 = 300;

/// The longest lifetime a policy may allow: a day. A guest token cannot be revoked.
pub const MAX_LIFETIME_CEILING_SECONDS: u32 = 86_400;

/// What guest tokens may grant: dashboards, guest attributes and their value patterns, the
/// row-level-security clauses every token carries, the longest lifetime, and the Kubernetes
/// ServiceAccounts that may ask the operator for one.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "GuestTokenPolicy",
    namespaced,
    status = "SyncStatus",
    shortname = "gtp",
    category = "superset",
    cel,
    derive = "PartialEq",
    doc = "What guest tokens for embedded Superset dashboards may grant, and who may have them minted.",
    printcolumn = r#"{"name": "Max Lifetime", "type": "integer", "jsonPath": ".spec.maxLifetimeSeconds"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuestTokenPolicySpec {
    /// Dashboards a token may grant (by uuid, slug or unique title). Each must be embedded in
    /// Superset (its "Embed dashboard" settings); tokens name its embedded uuid.
    #[schemars(length(min = 1))]
    pub dashboards: Vec<DashboardRef>,
    /// The pattern a guest's username must match, whole (a regular expression). Default: any
    /// username of 1 to 128 characters without control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub username_pattern: Option<String>,
    /// Guest attributes a token may carry (Superset's `get_guest_user_attribute`), each with the
    /// pattern its value must match, whole. A key not listed is refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, GuestAttributeRule>,
    /// Row-level-security clauses every token minted under this policy carries, on one dataset
    /// or on every dataset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rls_rules: Vec<GuestRlsRuleSpec>,
    /// The longest lifetime a token may be minted with, in seconds (default 300, at most 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub max_lifetime_seconds: Option<u32>,
    /// Kubernetes ServiceAccounts that may ask the operator's minting endpoint for tokens under
    /// this policy. The command line (`steward guest-token`) needs none: it holds the secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<ServiceAccountRef>,
}

impl GuestTokenPolicySpec {
    /// The longest lifetime, with the default.
    pub fn max_lifetime(&self) -> u32 {
        self.max_lifetime_seconds
            .unwrap_or(DEFAULT_MAX_LIFETIME_SECONDS)
    }
}

/// The values one guest attribute may take.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuestAttributeRule {
    /// A regular expression the whole value must match, e.g. `[a-z0-9-]{1,32}`.
    #[schemars(length(min = 1, max = 1024))]
    pub pattern: String,
    /// Whether every token must carry this attribute.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

/// A row-level-security clause a policy adds to every token.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuestRlsRuleSpec {
    /// The dataset it applies to (`database.schema.table` or dataset uuid); every dataset when
    /// omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// SQL boolean expression, e.g. `region = 'EU'` (one expression, as RLS filter clauses).
    #[schemars(length(min = 1))]
    pub clause: String,
}

/// A Kubernetes ServiceAccount.
#[derive(
    KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccountRef {
    /// Its namespace.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Its name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

impl ServiceAccountRef {
    /// The username the API server authenticates it as.
    pub fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}
