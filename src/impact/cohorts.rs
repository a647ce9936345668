//! Users grouped by their effective roles before and after a change (10,000 users share a few
//! thousand role sets at most), and whether a role set may query a dataset: the unit the
//! row-level-security impact works on, so its cost follows role sets, not users.

use std::collections::{BTreeMap, BTreeSet};

use super::Held;

/// Whether a user holding `held` (`None`: no such active user) may query a dataset that the
/// roles `granting` give access to (`None`: a dataset the catalogue does not know, taken as
/// reachable).
pub(super) fn can_query(held: Option<&BTreeSet<&str>>, granting: Option<&BTreeSet<&str>>) -> bool {
    held.is_some_and(|held| granting.is_none_or(|g| held.iter().any(|r| g.contains(r))))
}

/// Users with the same effective roles before and after (`None`: no such active user on that
/// side): everything but the rendering of macros is the same for all of them.
pub(super) struct Cohort<'a> {
    pub before: Option<&'a BTreeSet<&'a str>>,
    pub after: Option<&'a BTreeSet<&'a str>>,
    /// Roles gained or lost.
    pub moved: BTreeSet<&'a str>,
    pub users: Vec<&'a str>,
}

/// Every cohort of users.
pub(super) fn cohorts<'a>(held_before: &'a Held<'a>, held_after: &'a Held<'a>) -> Vec<Cohort<'a>> {
    type Sides<'s> = (Option<&'s BTreeSet<&'s str>>, Option<&'s BTreeSet<&'s str>>);
    let mut by_sides: BTreeMap<Sides<'a>, Vec<&'a str>> = BTreeMap::new();
    for user in held_before.keys().chain(held_after.keys()) {
        let sides = (held_before.get(user), held_after.get(user));
        by_sides.entry(sides).or_default().push(user);
    }
    let no_roles = BTreeSet::new();
    by_sides
        .into_iter()
        .map(|((before, after), mut users)| {
            users.sort_unstable();
            users.dedup();
            let moved = before
                .unwrap_or(&no_roles)
                .symmetric_difference(after.unwrap_or(&no_roles))
                .copied()
                .collect();
            Cohort {
                before,
                after,
                moved,
                users,
            }
        })
        .collect()
}
