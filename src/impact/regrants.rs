//! Roles whose permissions change between two states: the pairs each starts and stops
//! granting. Users keeping their roles gain or lose access only through these.

use std::collections::{BTreeMap, BTreeSet};

use super::sorted_union;
use crate::model::{PermissionPair, State};

/// A role whose permissions change: the pairs it stops and starts granting.
pub(super) struct Regrant<'a> {
    pub removed: Vec<&'a PermissionPair>,
    pub added: Vec<&'a PermissionPair>,
}

/// Every role whose permissions differ between the two sides (a role on one side only grants
/// nothing on the other).
pub(super) fn regrants<'a>(before: &'a State, after: &'a State) -> BTreeMap<&'a str, Regrant<'a>> {
    static NONE: BTreeSet<PermissionPair> = BTreeSet::new();
    let pairs =
        |state: &'a State, role: &str| state.roles.get(role).map_or(&NONE, |r| &r.permissions);
    let names = sorted_union(
        before.roles.keys().map(String::as_str),
        after.roles.keys().map(String::as_str),
    );
    let mut found = BTreeMap::new();
    for name in names {
        let (b, a) = (pairs(before, name), pairs(after, name));
        if b != a {
            let regrant = Regrant {
                removed: b.difference(a).collect(),
                added: a.difference(b).collect(),
            };
            found.insert(name, regrant);
        }
    }
    found
}
