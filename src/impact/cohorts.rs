//! Users grouped by their effective roles before and after a change (50,000 users share about
//! 18,000 pairs of role sets), and whether a role set may query a dataset: the unit the
//! row-level-security impact works on, so its cost follows role sets, not users.

use std::collections::BTreeSet;

use crate::fast_hash::FastMap;

use super::{Held, RoleSet};
use crate::model::merge_by_key;

/// Whether a user holding `held` (`None`: no such active user) may query a dataset that the
/// roles `granting` give access to (`None`: a dataset the catalogue does not know, taken as
/// reachable).
pub(super) fn can_query(held: Option<&RoleSet>, granting: Option<&BTreeSet<&str>>) -> bool {
    held.is_some_and(|held| granting.is_none_or(|g| held.iter().any(|r| g.contains(r))))
}

/// Users with the same effective roles before and after (`None`: no such active user on that
/// side): everything but the rendering of macros is the same for all of them.
pub(super) struct Cohort<'a> {
    pub before: Option<&'a RoleSet<'a>>,
    pub after: Option<&'a RoleSet<'a>>,
    /// Whether the sides differ: roles gained or lost, or the user appears or disappears.
    pub changed: bool,
    /// Roles gained or lost.
    pub moved: BTreeSet<&'a str>,
    /// Its users, as numbers into [`Cohorts::users`], in username order.
    pub users: Vec<u32>,
}

/// Every cohort, and the users they hold.
pub(super) struct Cohorts<'a> {
    pub list: Vec<Cohort<'a>>,
    /// Every user active on either side, in username order.
    pub users: Vec<&'a str>,
    /// Each user's cohort, by user number.
    pub of_user: Vec<usize>,
}

/// The cohorts of `held`'s users.
pub(super) fn cohorts<'a>(held: &'a Held<'a>) -> Cohorts<'a> {
    let mut found = Cohorts {
        list: Vec::new(),
        users: Vec::with_capacity(held.before.len().max(held.after.len())),
        of_user: Vec::new(),
    };
    let mut numbers: FastMap<(Option<usize>, Option<usize>), usize> = FastMap::default();
    let no_roles = BTreeSet::new();
    let users = merge_by_key(
        held.before.iter().map(|(u, s)| (*u, *s)),
        held.after.iter().map(|(u, s)| (*u, *s)),
    );
    for (user, before, after) in users {
        let sides = (before, after);
        let list = &mut found.list;
        let number = *numbers.entry(sides).or_insert_with(|| {
            let (b, a) = (held.set(sides.0), held.set(sides.1));
            list.push(Cohort {
                before: b,
                after: a,
                changed: sides.0 != sides.1,
                moved: b
                    .unwrap_or(&no_roles)
                    .symmetric_difference(a.unwrap_or(&no_roles))
                    .copied()
                    .collect(),
                users: Vec::new(),
            });
            list.len() - 1
        });
        list[number].users.push(found.users.len() as u32);
        found.users.push(user);
        found.of_user.push(number);
    }
    found
}

/// The cohorts holding each role, on one side.
pub(super) fn holding<'a>(
    cohorts: &[Cohort<'a>],
    side: impl Fn(&Cohort<'a>) -> Option<&'a RoleSet<'a>>,
) -> FastMap<&'a str, Vec<usize>> {
    let mut found: FastMap<&str, Vec<usize>> = FastMap::default();
    for (i, cohort) in cohorts.iter().enumerate() {
        for role in side(cohort).into_iter().flatten() {
            found.entry(role).or_default().push(i);
        }
    }
    found
}
