//! Permissions gained and lost per user: the union of the permission pairs of the user's
//! effective roles (direct and through groups), before and after.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::regrants::Regrant;
use super::{Held, RoleSet};
use crate::model::{PermissionPair, StateView, merge_by_key};

/// One user's change of access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAccess {
    pub username: String,
    /// Roles gained and lost (directly or through groups).
    pub roles_gained: Vec<String>,
    pub roles_lost: Vec<String>,
    /// Permission pairs (`can_read on Chart`) gained and lost.
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

/// The pairs `roles` grant together; written out as text only for the users whose access
/// changes.
fn permissions<'a>(state: &StateView<'a>, roles: &RoleSet) -> BTreeSet<&'a PermissionPair> {
    roles
        .iter()
        .filter_map(|r| state.roles.get(r))
        .flat_map(|r| r.permissions.iter())
        .collect()
}

/// Pairs as text (`can_read on Chart`), in text order.
fn shown<'a>(pairs: impl Iterator<Item = &'a PermissionPair>) -> Vec<String> {
    let mut shown: Vec<String> = pairs.map(|p| p.to_string()).collect();
    shown.sort_unstable();
    shown.dedup();
    shown
}

/// The change of access of a user holding set `b` before and `a` after (`None`: no such
/// active user on that side), without the username.
fn access_change(
    before: &StateView,
    after: &StateView,
    held: &Held,
    regrants: &BTreeMap<&str, Regrant>,
    (b, a): (Option<usize>, Option<usize>),
) -> Option<UserAccess> {
    let nothing = BTreeSet::new();
    let (roles_before, roles_after) = (
        held.set(b).unwrap_or(&nothing),
        held.set(a).unwrap_or(&nothing),
    );
    let owned = |set: std::collections::btree_set::Difference<'_, &str>| {
        set.map(|r| r.to_string()).collect::<Vec<_>>()
    };
    let (gained, lost) = if b == a {
        // The same roles: only the pairs their changed roles stop or start granting can
        // differ, and only where no other role of the set grants them on that side.
        let holds = |state: &StateView, pair: &PermissionPair| {
            roles_before
                .iter()
                .filter_map(|r| state.roles.get(r))
                .any(|r| r.permissions.contains(pair))
        };
        let changed = || roles_before.iter().filter_map(|r| regrants.get(r));
        (
            shown(
                changed()
                    .flat_map(|r| r.added.iter().copied())
                    .filter(|p| !holds(before, p)),
            ),
            shown(
                changed()
                    .flat_map(|r| r.removed.iter().copied())
                    .filter(|p| !holds(after, p)),
            ),
        )
    } else {
        let (pb, pa) = (
            permissions(before, roles_before),
            permissions(after, roles_after),
        );
        (
            shown(pa.difference(&pb).copied()),
            shown(pb.difference(&pa).copied()),
        )
    };
    let access = UserAccess {
        username: String::new(),
        roles_gained: owned(roles_after.difference(roles_before)),
        roles_lost: owned(roles_before.difference(roles_after)),
        gained,
        lost,
    };
    let changed = !(access.gained.is_empty()
        && access.lost.is_empty()
        && access.roles_gained.is_empty()
        && access.roles_lost.is_empty());
    changed.then_some(access)
}

/// Every user whose roles or permissions differ between `before` and `after`. A user who does
/// not exist (or is inactive) on one side holds nothing there. Users sharing their sets of
/// roles on both sides share the work.
pub(super) fn changes(
    before: &StateView,
    after: &StateView,
    held: &Held,
    regrants: &BTreeMap<&str, Regrant>,
) -> Vec<UserAccess> {
    // Sets holding a role whose permissions change: users keeping such a set are passed over.
    let touched: Vec<bool> = held
        .sets
        .iter()
        .map(|set| set.iter().any(|r| regrants.contains_key(r)))
        .collect();
    let mut known: HashMap<(Option<usize>, Option<usize>), Option<UserAccess>> = HashMap::new();
    let mut found = Vec::new();
    for (user, _, _) in merge_by_key(before.users.iter(), after.users.iter()) {
        let sides = (
            held.before.get(user).copied(),
            held.after.get(user).copied(),
        );
        if sides.0 == sides.1 && sides.0.is_none_or(|s| !touched[s]) {
            continue;
        }
        let change = known
            .entry(sides)
            .or_insert_with(|| access_change(before, after, held, regrants, sides));
        if let Some(change) = change {
            found.push(UserAccess {
                username: user.to_owned(),
                ..change.clone()
            });
        }
    }
    found
}
