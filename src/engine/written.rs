//! Each object an apply wrote, keyed by its Superset identity ([`ObjectKey`]) and by the
//! declared resource's identity ([`ResourceId`]) where it was declared, with its Superset id.

use std::collections::HashMap;

use serde::Serialize;

use crate::manifests::LoadedSet;
use crate::model::{CONFIG_KEY, ObjectKey, Schedule};
use crate::plan::{Action, Change};
use crate::resources::identity::ResourceId;
use crate::resources::{Kind, Resource};
use crate::store::Ids;

/// One object an apply wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Written {
    /// The object in Superset.
    pub key: ObjectKey,
    /// The resource that declares it (none for a deletion of an object no longer declared).
    pub resource: Option<ResourceId>,
    /// What the apply did.
    pub action: Action,
    /// Its Superset id after the apply (none for deletions and the configuration).
    pub id: Option<i64>,
}

/// The Superset object a declared resource describes: its kind and natural key.
pub fn object_key(resource: &Resource) -> ObjectKey {
    let name = resource.superset_name();
    let key = match resource {
        Resource::Schedule(s) => Schedule::key(s.spec.schedule_type.as_str(), name),
        Resource::Config(_) => CONFIG_KEY.to_owned(),
        _ => name.to_owned(),
    };
    ObjectKey::new(resource.kind(), key)
}

/// Which declared resource each Superset object belongs to.
pub fn declared_keys(set: &LoadedSet) -> HashMap<ObjectKey, ResourceId> {
    set.objects
        .iter()
        .map(|o| (object_key(&o.resource), o.resource.id()))
        .collect()
}

/// `changes` as written, with the ids the apply left them with.
pub(super) fn written(changes: &[Change], set: &LoadedSet, ids: &Ids) -> Vec<Written> {
    let declared = declared_keys(set);
    changes
        .iter()
        .map(|c| Written {
            key: c.key.clone(),
            resource: declared.get(&c.key).cloned(),
            action: c.action,
            id: match c.action {
                Action::Delete | Action::Forget => None,
                _ => id_of(ids, &c.key),
            },
        })
        .collect()
}

fn id_of(ids: &Ids, key: &ObjectKey) -> Option<i64> {
    let map = match key.kind {
        Kind::SupersetUser => &ids.users,
        Kind::SupersetRole => &ids.roles,
        Kind::SupersetGroup => &ids.groups,
        Kind::RowLevelSecurityFilter => &ids.rls_filters,
        Kind::ReportSchedule => &ids.schedules,
        Kind::ReportConfiguration => return None,
    };
    map.get(&key.key).copied()
}
