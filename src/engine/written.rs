//! Each object an apply wrote, keyed by its Superset identity ([`ObjectKey`]) and by the
//! declared resource's identity ([`ResourceId`]) where it was declared, with its Superset id.

use serde::Serialize;

use crate::model::ObjectKey;
use crate::plan::{Action, Change};
use crate::resources::Kind;
use crate::resources::identity::ResourceId;
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

/// `changes` as written, with the ids the apply left them with.
pub(super) fn written(changes: &[Change], ids: &Ids) -> Vec<Written> {
    changes
        .iter()
        .map(|c| Written {
            key: c.key.clone(),
            resource: c.resource.clone(),
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
