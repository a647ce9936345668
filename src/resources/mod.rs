//! The declared resource model: the seven steward kinds (serde + schemars + kube `CustomResource`
//! types) and their CRDs. Pure: reading manifests from files and git is `crate::manifests`.

pub mod config;
pub mod crd;
pub mod group;
pub mod guest_token_policy;
pub mod identity;
pub mod instance;
pub mod kinds;
pub mod refs;
pub mod rls;
pub mod role;
pub mod schedule;
pub mod status;
pub mod user;

pub use config::{ReportConfiguration, ReportConfigurationSpec, RunAsAllowList};
pub use group::{SupersetGroup, SupersetGroupSpec};
pub use guest_token_policy::{
    GuestAttributeRule, GuestRlsRuleSpec, GuestTokenPolicy, GuestTokenPolicySpec, ServiceAccountRef,
};
pub use identity::ResourceId;
pub use kinds::{Kind, Resource};
pub use rls::{FilterType, RlsTemplating, RowLevelSecurityFilter, RowLevelSecurityFilterSpec};
pub use role::{Action, DataAccess, RawPermission, SupersetRole, SupersetRoleSpec, ViewPermission};
pub use schedule::{
    AlertValidator, ChartRef, DashboardRef, EmailRecipients, Recipients, ReportFormat,
    ReportSchedule, ReportScheduleSpec, ScheduleType, Screenshot, SlackRecipients,
    ValidatorOperator, ValidatorType, WebhookRecipient,
};
pub use status::{ReportScheduleStatus, SyncStatus};
pub use user::{SupersetUser, SupersetUserSpec};

/// The API group of every steward resource.
pub const API_GROUP: &str = "steward.dev";
/// The one served version.
pub const API_VERSION: &str = "v1alpha1";
/// `apiVersion` as written in manifests.
pub const API_GROUP_VERSION: &str = "steward.dev/v1alpha1";
/// The CRD category shared by all kinds, so `kubectl get superset` lists them together.
pub const CATEGORY: &str = "superset";

/// Roles that Superset creates and re-syncs itself (`superset init`).
pub const BUILTIN_ROLES: [&str; 5] = ["Admin", "Alpha", "Gamma", "sql_lab", "Public"];
