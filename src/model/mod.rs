//! The normalised Superset state steward compares: one model for what is declared (desired) and
//! what the metadata database holds (observed), keyed by natural keys (names, never ids), with
//! Superset's runtime columns left out so a run never shows up as drift.

mod catalog;
mod objects;
mod release;
mod sorted_merge;
mod state_view;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Chart, Dashboard, Dataset, PermissionPair};
pub use objects::{
    Field, Group, GuestAttribute, GuestPolicy, GuestRls, Recipient, ReportConfig, RlsFilter, Role,
    Schedule, User, Validator, normalise_list, redact_url,
};
pub use release::ReleaseFacts;
pub use sorted_merge::merge_by_key;
pub use state_view::{Entries, StateView};

use crate::resources::{Kind, Resource, ResourceId};

/// Every object of the kinds steward manages, by natural key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Users by username.
    pub users: BTreeMap<String, User>,
    /// Roles by name.
    pub roles: BTreeMap<String, Role>,
    /// Groups by name.
    pub groups: BTreeMap<String, Group>,
    /// Row-level-security filters by name.
    pub rls_filters: BTreeMap<String, RlsFilter>,
    /// Alerts and reports by [`Schedule::key`] (`Type:name`; names are unique per type).
    pub schedules: BTreeMap<String, Schedule>,
    /// The global Alerts & Reports configuration (`report_config` rows), when any key is set.
    pub config: Option<ReportConfig>,
    /// Guest-token policies by name (steward's own table).
    #[serde(default)]
    pub guest_policies: BTreeMap<String, GuestPolicy>,
    /// For a desired state: the declared resource behind each object (empty for a state read
    /// from Superset), so changes and refusals name the resource that declared them.
    #[serde(skip)]
    pub declared_by: BTreeMap<ObjectKey, ResourceId>,
}

/// The ledger key of the one configuration object.
pub const CONFIG_KEY: &str = "report_config";

/// Identity of one managed object: its kind and natural key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The kind.
    pub kind: Kind,
    /// Username, role/group/filter/policy name, `Type:name` for schedules, `report_config`.
    pub key: String,
}

impl ObjectKey {
    /// A key of `kind`.
    pub fn new(kind: Kind, key: impl Into<String>) -> ObjectKey {
        ObjectKey {
            kind,
            key: key.into(),
        }
    }
}

impl ObjectKey {
    /// The Superset object `resource` declares: its kind and natural key. The one rule for
    /// every kind: the username for users, the name for roles, groups and RLS filters
    /// ([`Resource::superset_name`]), `Type:name` for schedules ([`Schedule::key`]) and
    /// [`CONFIG_KEY`] for the configuration.
    pub fn of(resource: &Resource) -> ObjectKey {
        let name = resource.superset_name();
        let key = match resource {
            Resource::Schedule(s) => Schedule::key(s.spec.schedule_type.as_str(), name),
            Resource::Config(_) => CONFIG_KEY.to_owned(),
            Resource::User(_)
            | Resource::Role(_)
            | Resource::Group(_)
            | Resource::Rls(_)
            | Resource::GuestPolicy(_) => name.to_owned(),
        };
        ObjectKey::new(resource.kind(), key)
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::ReportSchedule => match self.key.split_once(':') {
                Some((kind, name)) => write!(f, "{} \"{name}\" ({kind})", self.kind),
                None => write!(f, "{} \"{}\"", self.kind, self.key),
            },
            Kind::ReportConfiguration => f.write_str("ReportConfiguration"),
            _ => write!(f, "{} \"{}\"", self.kind, self.key),
        }
    }
}

/// One object of any kind, borrowed from a [`State`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ObjectRef<'a> {
    /// A user.
    User(&'a User),
    /// A role.
    Role(&'a Role),
    /// A group.
    Group(&'a Group),
    /// An RLS filter.
    Rls(&'a RlsFilter),
    /// A schedule.
    Schedule(&'a Schedule),
    /// The configuration.
    Config(&'a ReportConfig),
    /// A guest-token policy.
    GuestPolicy(&'a GuestPolicy),
}

impl State {
    /// Every object of `kind` with its natural key, in key order.
    pub fn objects(&self, kind: Kind) -> Box<dyn Iterator<Item = (&str, ObjectRef<'_>)> + '_> {
        fn of<'a, T>(
            map: &'a BTreeMap<String, T>,
            wrap: fn(&'a T) -> ObjectRef<'a>,
        ) -> Box<dyn Iterator<Item = (&'a str, ObjectRef<'a>)> + 'a> {
            Box::new(map.iter().map(move |(k, v)| (k.as_str(), wrap(v))))
        }
        match kind {
            Kind::SupersetUser => of(&self.users, ObjectRef::User),
            Kind::SupersetRole => of(&self.roles, ObjectRef::Role),
            Kind::SupersetGroup => of(&self.groups, ObjectRef::Group),
            Kind::RowLevelSecurityFilter => of(&self.rls_filters, ObjectRef::Rls),
            Kind::ReportSchedule => of(&self.schedules, ObjectRef::Schedule),
            Kind::ReportConfiguration => Box::new(
                self.config
                    .iter()
                    .map(|c| (CONFIG_KEY, ObjectRef::Config(c))),
            ),
            Kind::GuestTokenPolicy => of(&self.guest_policies, ObjectRef::GuestPolicy),
        }
    }

    /// The natural keys of every object of `kind`.
    pub fn keys(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::SupersetUser => self.users.keys().cloned().collect(),
            Kind::SupersetRole => self.roles.keys().cloned().collect(),
            Kind::SupersetGroup => self.groups.keys().cloned().collect(),
            Kind::RowLevelSecurityFilter => self.rls_filters.keys().cloned().collect(),
            Kind::ReportSchedule => self.schedules.keys().cloned().collect(),
            Kind::ReportConfiguration => {
                self.config.iter().map(|_| CONFIG_KEY.to_owned()).collect()
            }
            Kind::GuestTokenPolicy => self.guest_policies.keys().cloned().collect(),
        }
    }

    /// The object with `key`, if present.
    pub fn get(&self, key: &ObjectKey) -> Option<ObjectRef<'_>> {
        let k = key.key.as_str();
        Some(match key.kind {
            Kind::SupersetUser => ObjectRef::User(self.users.get(k)?),
            Kind::SupersetRole => ObjectRef::Role(self.roles.get(k)?),
            Kind::SupersetGroup => ObjectRef::Group(self.groups.get(k)?),
            Kind::RowLevelSecurityFilter => ObjectRef::Rls(self.rls_filters.get(k)?),
            Kind::ReportSchedule => ObjectRef::Schedule(self.schedules.get(k)?),
            Kind::ReportConfiguration => ObjectRef::Config(self.config.as_ref()?),
            Kind::GuestTokenPolicy => ObjectRef::GuestPolicy(self.guest_policies.get(k)?),
        })
    }

    /// Number of objects over all kinds.
    pub fn len(&self) -> usize {
        self.users.len()
            + self.roles.len()
            + self.groups.len()
            + self.rls_filters.len()
            + self.schedules.len()
            + usize::from(self.config.is_some())
            + self.guest_policies.len()
    }

    /// Whether the state holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ObjectRef<'_> {
    /// A stable content hash (SHA-256 of the canonical JSON), recorded in the ledger.
    pub fn content_hash(&self) -> String {
        use sha2::Digest;
        let json = serde_json::to_vec(self).expect("model objects serialise");
        hex(&sha2::Sha256::digest(&json))
    }
}

/// Bytes as lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lower_case_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }

    fn resource(kind: &str, metadata: &str, spec: &str) -> Resource {
        let text = format!(
            "apiVersion: steward.dev/v1alpha1\nkind: {kind}\nmetadata: {metadata}\nspec: {spec}\n"
        );
        let set = crate::manifests::load_sources(vec![crate::manifests::SourceFile {
            name: "k.yaml".into(),
            text,
        }]);
        assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
        set.objects.into_iter().next().expect("one object").resource
    }

    fn key_of(kind: &str, metadata: &str, spec: &str) -> (Kind, String) {
        let key = ObjectKey::of(&resource(kind, metadata, spec));
        (key.kind, key.key)
    }

    #[test]
    fn users_are_keyed_by_username_defaulting_to_metadata_name() {
        let spec = "{firstName: Ana, lastName: A, email: ana@x.io}";
        assert_eq!(
            key_of("SupersetUser", "{name: ana}", spec),
            (Kind::SupersetUser, "ana".into())
        );
        let named = "{username: ana.a, firstName: Ana, lastName: A, email: ana@x.io}";
        assert_eq!(
            key_of("SupersetUser", "{name: ana}", named),
            (Kind::SupersetUser, "ana.a".into())
        );
    }

    #[test]
    fn roles_groups_and_filters_are_keyed_by_their_superset_name() {
        assert_eq!(
            key_of("SupersetRole", "{name: analyst}", "{name: Finance Analyst}"),
            (Kind::SupersetRole, "Finance Analyst".into())
        );
        assert_eq!(
            key_of("SupersetRole", "{name: analyst}", "{}"),
            (Kind::SupersetRole, "analyst".into())
        );
        assert_eq!(
            key_of("SupersetGroup", "{name: team}", "{name: Finance Team}"),
            (Kind::SupersetGroup, "Finance Team".into())
        );
        assert_eq!(
            key_of(
                "RowLevelSecurityFilter",
                "{name: eu}",
                "{name: EU rows, filterType: Regular, roles: [Gamma], datasets: [db.public.t], clause: \"region = 'EU'\"}"
            ),
            (Kind::RowLevelSecurityFilter, "EU rows".into())
        );
    }

    #[test]
    fn schedules_are_keyed_by_type_and_name_and_the_configuration_by_its_row() {
        let spec = "{type: Report, name: Weekly, crontab: '0 8 * * 1', dashboard: {slug: sales}, recipients: {email: {to: [a@x.io]}}, owners: [ana]}";
        assert_eq!(
            key_of("ReportSchedule", "{name: weekly, namespace: t}", spec),
            (Kind::ReportSchedule, "Report:Weekly".into())
        );
        assert_eq!(
            key_of(
                "ReportConfiguration",
                "{name: global}",
                "{requireRunAs: false}"
            ),
            (Kind::ReportConfiguration, CONFIG_KEY.into())
        );
    }
}
