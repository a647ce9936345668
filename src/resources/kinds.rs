//! The closed set of steward kinds: a `Kind` tag and a `Resource` holding one typed object,
//! with the names Superset knows it by.

use kube::{CustomResourceExt, Resource as _};
use serde::Serialize;

use super::{
    GuestTokenPolicy, ReportConfiguration, ReportSchedule, RowLevelSecurityFilter, SupersetGroup,
    SupersetRole, SupersetUser,
};

/// One of the seven steward kinds, in plan order (users first, Superset's configuration after
/// its objects, steward's own guest-token policies last).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub enum Kind {
    /// `SupersetUser`
    SupersetUser,
    /// `SupersetRole`
    SupersetRole,
    /// `SupersetGroup`
    SupersetGroup,
    /// `RowLevelSecurityFilter`
    RowLevelSecurityFilter,
    /// `ReportSchedule`
    ReportSchedule,
    /// `ReportConfiguration`
    ReportConfiguration,
    /// `GuestTokenPolicy`
    GuestTokenPolicy,
}

impl Kind {
    /// Every kind, in plan order.
    pub const ALL: [Kind; 7] = [
        Kind::SupersetUser,
        Kind::SupersetRole,
        Kind::SupersetGroup,
        Kind::RowLevelSecurityFilter,
        Kind::ReportSchedule,
        Kind::ReportConfiguration,
        Kind::GuestTokenPolicy,
    ];

    /// The `kind` string of manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SupersetUser => "SupersetUser",
            Kind::SupersetRole => "SupersetRole",
            Kind::SupersetGroup => "SupersetGroup",
            Kind::RowLevelSecurityFilter => "RowLevelSecurityFilter",
            Kind::ReportSchedule => "ReportSchedule",
            Kind::ReportConfiguration => "ReportConfiguration",
            Kind::GuestTokenPolicy => "GuestTokenPolicy",
        }
    }

    /// Parses a manifest `kind`.
    pub fn parse(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        matches!(
            self,
            Kind::RowLevelSecurityFilter | Kind::ReportSchedule | Kind::GuestTokenPolicy
        )
    }

    /// The generated CustomResourceDefinition of this kind.
    pub fn crd(
        self,
    ) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition
    {
        match self {
            Kind::SupersetUser => SupersetUser::crd(),
            Kind::SupersetRole => SupersetRole::crd(),
            Kind::SupersetGroup => SupersetGroup::crd(),
            Kind::RowLevelSecurityFilter => RowLevelSecurityFilter::crd(),
            Kind::ReportSchedule => ReportSchedule::crd(),
            Kind::ReportConfiguration => ReportConfiguration::crd(),
            Kind::GuestTokenPolicy => GuestTokenPolicy::crd(),
        }
    }

    /// What the Superset name of this kind is called in messages.
    /// The short plural name of exports and `--kinds`: `users`, `roles`, `groups`, `rls`,
    /// `schedules`, `config`, `guest-policies`.
    pub fn short_name(self) -> &'static str {
        match self {
            Kind::SupersetUser => "users",
            Kind::SupersetRole => "roles",
            Kind::SupersetGroup => "groups",
            Kind::RowLevelSecurityFilter => "rls",
            Kind::ReportSchedule => "schedules",
            Kind::ReportConfiguration => "config",
            Kind::GuestTokenPolicy => "guest-policies",
        }
    }

    pub fn superset_name_field(self) -> &'static str {
        match self {
            Kind::SupersetUser => "spec.username",
            Kind::ReportConfiguration | Kind::GuestTokenPolicy => "metadata.name",
            _ => "spec.name",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared object of any kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Resource {
    /// A role.
    Role(SupersetRole),
    /// A group.
    Group(SupersetGroup),
    /// A user.
    User(SupersetUser),
    /// A row-level-security filter.
    Rls(RowLevelSecurityFilter),
    /// An alert or report schedule (boxed: by far the largest kind).
    Schedule(Box<ReportSchedule>),
    /// The global Alerts & Reports configuration.
    Config(ReportConfiguration),
    /// A guest-token policy.
    GuestPolicy(GuestTokenPolicy),
}

impl Resource {
    /// Deserialises a checked JSON object of the given kind.
    pub fn from_json(kind: Kind, value: serde_json::Value) -> Result<Resource, serde_json::Error> {
        Ok(match kind {
            Kind::SupersetRole => Resource::Role(serde_json::from_value(value)?),
            Kind::SupersetGroup => Resource::Group(serde_json::from_value(value)?),
            Kind::SupersetUser => Resource::User(serde_json::from_value(value)?),
            Kind::RowLevelSecurityFilter => Resource::Rls(serde_json::from_value(value)?),
            Kind::ReportSchedule => Resource::Schedule(Box::new(serde_json::from_value(value)?)),
            Kind::ReportConfiguration => Resource::Config(serde_json::from_value(value)?),
            Kind::GuestTokenPolicy => Resource::GuestPolicy(serde_json::from_value(value)?),
        })
    }

    /// The kind of this object.
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Role(_) => Kind::SupersetRole,
            Resource::Group(_) => Kind::SupersetGroup,
            Resource::User(_) => Kind::SupersetUser,
            Resource::Rls(_) => Kind::RowLevelSecurityFilter,
            Resource::Schedule(_) => Kind::ReportSchedule,
            Resource::Config(_) => Kind::ReportConfiguration,
            Resource::GuestPolicy(_) => Kind::GuestTokenPolicy,
        }
    }

    /// The object's metadata.
    pub fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Resource::Role(r) => r.meta(),
            Resource::Group(r) => r.meta(),
            Resource::User(r) => r.meta(),
            Resource::Rls(r) => r.meta(),
            Resource::Schedule(r) => r.meta(),
            Resource::Config(r) => r.meta(),
            Resource::GuestPolicy(r) => r.meta(),
        }
    }

    /// `metadata.name`.
    pub fn metadata_name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace` for namespaced kinds (`default` when omitted).
    pub fn namespace(&self) -> Option<&str> {
        self.kind()
            .namespaced()
            .then(|| self.meta().namespace.as_deref().unwrap_or("default"))
    }

    /// The name Superset knows the object by: `spec.name` (`spec.username` for users),
    /// defaulting to `metadata.name`.
    pub fn superset_name(&self) -> &str {
        let declared = match self {
            Resource::Role(r) => r.spec.name.as_deref(),
            Resource::Group(r) => r.spec.name.as_deref(),
            Resource::User(r) => r.spec.username.as_deref(),
            Resource::Rls(r) => r.spec.name.as_deref(),
            Resource::Schedule(r) => r.spec.name.as_deref(),
            Resource::Config(_) | Resource::GuestPolicy(_) => None,
        };
        declared.unwrap_or_else(|| self.metadata_name())
    }
}

/// How an object is named in messages, from its kind and metadata: `Kind/name` for
/// cluster-scoped kinds, `Kind/namespace/name` (namespace `default` when omitted) otherwise.
pub fn object_id(kind: Kind, namespace: Option<&str>, name: &str) -> String {
    if kind.namespaced() {
        format!("{kind}/{}/{name}", namespace.unwrap_or("default"))
    } else {
        format!("{kind}/{name}")
    }
}
