//! Who gains or loses access through a change: for every user, the permissions gained and lost
//! (roles held directly or through groups), and for every dataset whose row-level security
//! changes, the predicate Superset adds to queries before and after, per role and per affected
//! user. Pure: compares the state Superset holds with the state it will hold.

mod access;
#[cfg(test)]
mod brute_force_tests;
mod cohorts;
mod permissions;
mod regrants;
mod rls;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::model::{Catalog, StateView};

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
    pub fn between(before: &StateView, after: &StateView, catalog: &Catalog) -> AccessImpact {
        let held = Held::between(before, after);
        let regrants = regrants::regrants(before, after);
        AccessImpact {
            users: permissions::changes(before, after, &held, &regrants),
            datasets: rls::changes(before, after, &held, &regrants, catalog),
        }
    }

    /// Whether nobody's access changes.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.datasets.is_empty()
    }
}

/// A set of roles, held by one or many users.
pub(crate) type RoleSet<'a> = BTreeSet<&'a str>;

/// Every active user's effective roles (held directly or through groups) before and after a
/// change. Each distinct set is stored once and users refer to it by number: 50,000 users
/// share about 18,000 sets, and users are compared and grouped by number, not by set.
pub(crate) struct Held<'a> {
    /// The distinct sets, of both sides.
    pub sets: Vec<RoleSet<'a>>,
    /// Each active user's set before, by username.
    pub before: BTreeMap<&'a str, usize>,
    /// Each active user's set after, by username.
    pub after: BTreeMap<&'a str, usize>,
}

impl<'a> Held<'a> {
    pub(crate) fn between(before: &StateView<'a>, after: &StateView<'a>) -> Held<'a> {
        let mut numbers: HashMap<Vec<&'a str>, usize, foldhash::fast::FixedState> =
            HashMap::default();
        let mut sets = Vec::new();
        // Each set is built once, for its first holder; the others only look its number up.
        let mut number = |roles: Vec<&'a str>| match numbers.get(&roles) {
            Some(n) => *n,
            None => {
                sets.push(roles.iter().copied().collect());
                numbers.insert(roles, sets.len() - 1);
                sets.len() - 1
            }
        };
        let before: BTreeMap<&str, usize> = effective_roles(before)
            .into_iter()
            .map(|(user, roles)| (user, number(roles)))
            .collect();
        let after: BTreeMap<&str, usize> = effective_roles(after)
            .into_iter()
            .map(|(user, roles)| (user, number(roles)))
            .collect();
        Held {
            sets,
            before,
            after,
        }
    }

    /// The set numbered `n`.
    pub(crate) fn set(&self, n: Option<usize>) -> Option<&RoleSet<'a>> {
        n.map(|n| &self.sets[n])
    }
}

/// Every active user's effective roles, held directly or through groups, in name order.
pub(crate) fn effective_roles<'a>(state: &StateView<'a>) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut roles: BTreeMap<&'a str, Vec<&'a str>> = state
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
    for held in roles.values_mut() {
        held.sort_unstable();
        held.dedup();
    }
    roles
}
