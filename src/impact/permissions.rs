//! Permissions gained and lost per user: the union of the permission pairs of the user's
//! effective roles (direct and through groups), before and after.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Held;
use crate::model::{PermissionPair, State};

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
fn permissions<'a>(state: &'a State, roles: &BTreeSet<&str>) -> BTreeSet<&'a PermissionPair> {
    roles
        .iter()
        .filter_map(|r| state.roles.get(*r))
        .flat_map(|r| r.permissions.iter())
        .collect()
}

/// Pairs as text (`can_read on Chart`), in text order.
fn shown<'a>(pairs: impl Iterator<Item = &'a &'a PermissionPair>) -> Vec<String> {
    let mut shown: Vec<String> = pairs.map(|p| p.to_string()).collect();
    shown.sort_unstable();
    shown.dedup();
    shown
}

/// Every user whose roles or permissions differ between `before` and `after`. A user who does
/// not exist (or is inactive) on one side holds nothing there.
/// `held` is every user's effective roles before and after.
pub(super) fn changes(before: &State, after: &State, held: &(Held, Held)) -> Vec<UserAccess> {
    let (held_before, held_after) = held;
    let usernames: BTreeSet<&str> = before
        .users
        .keys()
        .chain(after.users.keys())
        .map(String::as_str)
        .collect();
    // Roles whose permissions change: users keeping the same roles, none of these, are left
    // out without computing their permissions.
    let changed_roles: BTreeSet<&str> = before
        .roles
        .keys()
        .chain(after.roles.keys())
        .filter(|r| before.roles.get(*r) != after.roles.get(*r))
        .map(String::as_str)
        .collect();
    let nothing = BTreeSet::new();
    let mut cache_before: BTreeMap<BTreeSet<&str>, BTreeSet<&PermissionPair>> = BTreeMap::new();
    let mut cache_after: BTreeMap<BTreeSet<&str>, BTreeSet<&PermissionPair>> = BTreeMap::new();
    usernames
        .into_iter()
        .filter_map(|user| {
            let b = held_before.get(user).unwrap_or(&nothing);
            let a = held_after.get(user).unwrap_or(&nothing);
            let same = held_before.contains_key(user) == held_after.contains_key(user)
                && a == b
                && !b.iter().any(|r| changed_roles.contains(r));
            if same {
                return None;
            }
            // Users share role sets: each set's permissions are listed once per side.
            let perms_before = cache_before
                .entry(b.clone())
                .or_insert_with(|| permissions(before, b));
            let perms_after = cache_after
                .entry(a.clone())
                .or_insert_with(|| permissions(after, a));
            let owned = |set: std::collections::btree_set::Difference<'_, &str>| {
                set.map(|r| r.to_string()).collect::<Vec<_>>()
            };
            let access = UserAccess {
                username: user.to_owned(),
                roles_gained: owned(a.difference(b)),
                roles_lost: owned(b.difference(a)),
                gained: shown(perms_after.difference(perms_before)),
                lost: shown(perms_before.difference(perms_after)),
            };
            let changed = !(access.gained.is_empty()
                && access.lost.is_empty()
                && access.roles_gained.is_empty()
                && access.roles_lost.is_empty());
            changed.then_some(access)
        })
        .collect()
}
