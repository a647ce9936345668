//! Who gains or loses access through a change: for every user, the permissions gained and lost
//! (roles held directly or through groups), and for every dataset whose row-level security
//! changes, the predicate Superset adds to queries before and after, per role and per affected
//! user. Pure: compares the state Superset holds with the state it will hold.

mod access;
mod cohorts;
mod permissions;
mod rls;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{Catalog, State};

pub use permissions::UserAccess;
pub use rls::{DatasetRows, PredicateChange, Rows, Who};

/// The access impact of a change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessImpact {
    /// Users whose effective permissions change, by username.
    pub users: Vec<UserAccess>,
    /// Datasets whose row-level security changes for some role or user.
    pub datasets: Vec<DatasetRows>,
}

impl AccessImpact {
    /// The impact of going from `before` to `after`, datasets resolved against `catalog`.
    pub fn between(before: &State, after: &State, catalog: &Catalog) -> AccessImpact {
        let held = (effective_roles(before), effective_roles(after));
        AccessImpact {
            users: permissions::changes(before, after, &held),
            datasets: rls::changes(before, after, &held, catalog),
        }
    }

    /// Whether nobody's access changes.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.datasets.is_empty()
    }
}

/// Each active user's effective roles, by username.
pub(crate) type Held<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

/// Every active user's effective roles: held directly or through groups.
pub(crate) fn effective_roles(state: &State) -> Held<'_> {
    let mut roles: BTreeMap<&str, BTreeSet<&str>> = state
        .users
        .values()
        .filter(|u| u.active)
        .map(|u| {
            (
                u.username.as_str(),
                u.roles.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    for group in state.groups.values() {
        for member in &group.users {
            if let Some(held) = roles.get_mut(member.as_str()) {
                held.extend(group.roles.iter().map(String::as_str));
            }
        }
    }
    roles
}
