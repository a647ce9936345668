//! Roles whose permissions change between two states: the pairs each starts and stops
//! granting. Users keeping their roles gain or lose access only through these.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{PermissionPair, StateView, merge_by_key};

/// A role whose permissions change: the pairs it stops and starts granting.
pub(super) struct Regrant<'a> {
    pub removed: Vec<&'a PermissionPair>,
    pub added: Vec<&'a PermissionPair>,
}

/// Every role whose permissions differ between the two sides (a role on one side only grants
/// nothing on the other).
pub(super) fn regrants<'a>(
    before: &StateView<'a>,
    after: &StateView<'a>,
) -> BTreeMap<&'a str, Regrant<'a>> {
    static NONE: BTreeSet<PermissionPair> = BTreeSet::new();
    let mut found = BTreeMap::new();
    for (name, b, a) in merge_by_key(before.roles.iter(), after.roles.iter()) {
        let (b, a) = (
            b.map_or(&NONE, |r| &r.permissions),
            a.map_or(&NONE, |r| &r.permissions),
        );
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
