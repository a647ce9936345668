//! Each object an apply wrote, keyed by its Superset identity ([`ObjectKey`]) and by the
//! declared resource's identity ([`ResourceId`]) where it was declared, with its Superset id.

use serde::Serialize;

use crate::model::ObjectKey;
use crate::plan::{Action, Change};
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
    /// The natural key it had before this apply renamed it in place (same id).
    pub renamed_from: Option<String>,
}

/// `changes` as written, with the ids the apply left them with.
pub(super) fn written(changes: &[Change], ids: &Ids) -> Vec<Written> {
    changes
        .iter()
        .map(|c| Written {
            key: c.key.clone(),
            resource: c.resource.clone(),
            renamed_from: c.renamed_from.clone(),
            action: c.action,
            id: match c.action {
                Action::Delete | Action::Forget => None,
                _ => ids.id_of(&c.key),
            },
        })
        .collect()
}
