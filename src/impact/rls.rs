//! Row-level security as Superset applies it to a query on one dataset: the filters of a Regular
//! type that name one of the user's roles, and of a Base type that name none of them; clauses
//! sharing a group key are ORed, the rest ANDed, each in parentheses, the way Superset writes the
//! WHERE clause (`(a) AND ((b) OR (c))`). Superset leaves the order of the terms to the database;
//! here they come by group key, then filter name. For a user, `{{ current_username() }}` and
//! `{{ current_user_email() }}` are rendered as Superset would.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use super::access::{Grants, Holders, is_data_access};
use super::cohorts::{can_query, cohorts, holding};
use super::regrants::Regrant;
use super::{Held, RoleSet};
use crate::model::{Catalog, PermissionPair, RlsFilter, StateView, User, merge_by_key};

/// How the predicate on one dataset changes for one role or user (`None`: no filter, every row;
/// for a user who may not query the dataset on that side, `access…` is false).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PredicateChange {
    /// A role name, `*` for roles no filter on the dataset names, or a username.
    pub who: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Whether the user may query the dataset before (always true for roles).
    pub access_before: bool,
    /// Whether the user may query the dataset after (always true for roles).
    pub access_after: bool,
}

/// What someone sees of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows<'a> {
    /// They may not query it.
    NoAccess,
    /// No filter: every row.
    Every,
    /// The rows this predicate selects.
    Only(&'a str),
}

impl PredicateChange {
    /// A change of predicate for someone who may query the dataset on both sides.
    pub(super) fn filtered(
        who: String,
        before: Option<String>,
        after: Option<String>,
    ) -> PredicateChange {
        PredicateChange {
            who,
            before,
            after,
            access_before: true,
            access_after: true,
        }
    }

    /// A user's change: what they see before and after (`None`: no access; `Some(None)`:
    /// every row).
    pub(super) fn seen(
        who: String,
        before: Option<Option<String>>,
        after: Option<Option<String>>,
    ) -> PredicateChange {
        PredicateChange {
            who,
            access_before: before.is_some(),
            access_after: after.is_some(),
            before: before.flatten(),
            after: after.flatten(),
        }
    }

    fn rows(access: bool, predicate: &Option<String>) -> Rows<'_> {
        match (access, predicate) {
            (false, _) => Rows::NoAccess,
            (true, None) => Rows::Every,
            (true, Some(p)) => Rows::Only(p),
        }
    }

    /// What they see before.
    pub fn rows_before(&self) -> Rows<'_> {
        PredicateChange::rows(self.access_before, &self.before)
    }

    /// What they see after.
    pub fn rows_after(&self) -> Rows<'_> {
        PredicateChange::rows(self.access_after, &self.after)
    }
}

/// A dataset whose row-level security changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetRows {
    /// `database.schema.table`.
    pub dataset: String,
    pub roles: Vec<PredicateChange>,
    /// At most [`USERS_LISTED`] users, by username.
    pub users: Vec<PredicateChange>,
    /// Further users whose predicate changes, not listed.
    pub more_users: usize,
}

/// Whose predicate changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who<'a> {
    Role(&'a str),
    /// Roles no filter on the dataset names.
    OtherRoles,
    User(&'a str),
}

impl Who<'_> {
    /// `role X`, `user X` (names shown through `name`), or `roles no filter names`.
    pub fn describe(self, name: impl Fn(&str) -> String) -> String {
        match self {
            Who::Role(r) => format!("role {}", name(r)),
            Who::OtherRoles => "roles no filter names".to_owned(),
            Who::User(u) => format!("user {}", name(u)),
        }
    }
}

impl DatasetRows {
    /// Every change, roles first, with whose it is.
    pub fn changes(&self) -> impl Iterator<Item = (Who<'_>, &PredicateChange)> {
        let roles = self.roles.iter().map(|c| match c.who.as_str() {
            "*" => (Who::OtherRoles, c),
            role => (Who::Role(role), c),
        });
        roles.chain(self.users.iter().map(|c| (Who::User(&c.who), c)))
    }
}

/// The WHERE predicate Superset adds for someone holding `roles` on `dataset`, with Jinja
/// rendered for `user` when given.
#[cfg(test)]
fn predicate_for_roles(
    state: &crate::model::State,
    dataset: &str,
    roles: &BTreeSet<String>,
    user: Option<&User>,
) -> Option<String> {
    let filters: Vec<&RlsFilter> = state
        .rls_filters
        .values()
        .filter(|f| f.datasets.iter().any(|d| d == dataset))
        .collect();
    let roles: BTreeSet<&str> = roles.iter().map(String::as_str).collect();
    predicate(&filters, &roles, user)
}

/// The predicate of `filters` (all on one dataset, in name order) for someone holding `roles`.
pub(super) fn predicate(
    filters: &[&RlsFilter],
    roles: &BTreeSet<&str>,
    user: Option<&User>,
) -> Option<String> {
    let mut ungrouped: Vec<String> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for filter in filters.iter().filter(|f| reaches(f, roles)) {
        let clause = format!("({})", render(&filter.clause, user));
        match filter.group_key.as_deref().filter(|k| !k.is_empty()) {
            Some(key) => groups.entry(key).or_default().push(clause),
            None => ungrouped.push(clause),
        }
    }
    let mut terms = ungrouped;
    let several = terms.len() + groups.len() > 1;
    for clauses in groups.into_values() {
        let joined = clauses.join(" OR ");
        terms.push(if several && clauses.len() > 1 {
            format!("({joined})")
        } else {
            joined
        });
    }
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

fn reaches(filter: &RlsFilter, roles: &BTreeSet<&str>) -> bool {
    let holds = filter.roles.iter().any(|r| roles.contains(r.as_str()));
    match filter.filter_type.as_str() {
        "Base" => !holds,
        _ => holds,
    }
}

/// Superset's user macros with a known value for `user`; anything else is left as written.
fn render(clause: &str, user: Option<&User>) -> String {
    let Some(user) = user else {
        return clause.to_owned();
    };
    let mut out = String::with_capacity(clause.len());
    let mut rest = clause;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + end].trim();
        out.push_str(&rest[..start]);
        match inner {
            "current_username()" => out.push_str(&user.username),
            "current_user_email()" => out.push_str(&user.email),
            _ => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// The filters on each dataset, in name order.
fn by_dataset<'a>(state: &StateView<'a>) -> BTreeMap<&'a str, Vec<&'a RlsFilter>> {
    let mut found: BTreeMap<&str, Vec<&RlsFilter>> = BTreeMap::new();
    for filter in state.rls_filters.values() {
        for dataset in &filter.datasets {
            found.entry(dataset).or_default().push(filter);
        }
    }
    found
}

/// The data-access pairs (those [`Holders`] reads) some role starts or stops holding.
fn regranted_pairs<'a>(regrants: &BTreeMap<&str, Regrant<'a>>) -> HashSet<&'a PermissionPair> {
    regrants
        .values()
        .flat_map(|r| r.removed.iter().chain(&r.added))
        .copied()
        .filter(|p| is_data_access(p))
        .collect()
}

/// Users on both sides whose e-mail differs, as marks by user number (`users` in name order).
fn emails_changed(before: &StateView, after: &StateView, users: &[&str]) -> Vec<bool> {
    let mut marks = vec![false; users.len()];
    for (name, was, now) in merge_by_key(before.users.iter(), after.users.iter()) {
        if let (Some(was), Some(now)) = (was, now)
            && now.email != was.email
            && let Ok(i) = users.binary_search(&name)
        {
            marks[i] = true;
        }
    }
    marks
}

/// Marks, one per cohort, set for one dataset at a time: a mark counts when it holds the
/// dataset's number, so nothing is cleared between datasets.
struct Marks(Vec<usize>);

impl Marks {
    fn new(n: usize) -> Marks {
        Marks(vec![usize::MAX; n])
    }

    /// Marks `i` for `dataset`; whether it was unmarked.
    fn set(&mut self, i: usize, dataset: usize) -> bool {
        std::mem::replace(&mut self.0[i], dataset) != dataset
    }

    fn get(&self, i: usize, dataset: usize) -> bool {
        self.0[i] == dataset
    }
}

/// At most this many users are listed per dataset; the rest are counted.
pub const USERS_LISTED: usize = 100;

/// `held` is every user's effective roles before and after.
pub(super) fn changes<'a>(
    before: &StateView<'a>,
    after: &StateView<'a>,
    held: &'a Held<'a>,
    regrants: &BTreeMap<&'a str, Regrant<'a>>,
    catalog: &Catalog,
) -> Vec<DatasetRows> {
    let (on_before, on_after) = (by_dataset(before), by_dataset(after));
    let datasets: BTreeSet<&str> = on_before.keys().chain(on_after.keys()).copied().collect();
    let cohorts = cohorts(held);
    let list = &cohorts.list;
    let moved_cohorts: Vec<usize> = (0..list.len()).filter(|i| list[*i].changed).collect();
    let moved_roles: BTreeSet<&str> = moved_cohorts
        .iter()
        .flat_map(|i| list[*i].moved.iter().copied())
        .collect();
    // Cohorts with a user whose e-mail changes: under a filter rendering it, their predicate
    // changes though their roles and the filters stay the same.
    let email_changed = emails_changed(before, after, &cohorts.users);
    let mut emailed: Vec<usize> = (0..cohorts.users.len())
        .filter(|u| email_changed[*u])
        .map(|u| cohorts.of_user[u])
        .collect();
    emailed.sort_unstable();
    emailed.dedup();
    // The cohorts holding each role, before and after; built when a dataset needs them.
    let holding_roles = std::cell::OnceCell::new();
    let holding_roles =
        || holding_roles.get_or_init(|| (holding(list, |c| c.before), holding(list, |c| c.after)));
    let grants = Grants::new(catalog);
    let holders = Holders::new(before);
    let holders_after = holders.after(regrants);
    let holders = (holders, holders_after);
    // With no user's roles moving, no e-mail changing and every role granting the data access
    // it granted, only datasets whose filters change (or that the catalogue does not know) can
    // show another predicate: the others are passed over before any per-dataset work.
    let regranted_pairs = regranted_pairs(regrants);
    let quiet = moved_cohorts.is_empty() && emailed.is_empty() && regranted_pairs.is_empty();
    let mut seen = Marks::new(list.len());
    let mut named_by = (Marks::new(list.len()), Marks::new(list.len()));
    let mut access_by = (Marks::new(list.len()), Marks::new(list.len()));
    let none = Vec::new();
    let mut found = Vec::new();
    for (number, dataset) in datasets.into_iter().enumerate() {
        let (fb, fa) = (
            on_before.get(dataset).unwrap_or(&none),
            on_after.get(dataset).unwrap_or(&none),
        );
        let filters_changed = fb != fa;
        if quiet && !filters_changed && catalog.datasets.contains_key(dataset) {
            continue;
        }
        let named: BTreeSet<&str> = fb
            .iter()
            .chain(fa.iter())
            .flat_map(|f| f.roles.iter().map(String::as_str))
            .collect();
        let pairs = grants.of(catalog, dataset);
        // A personal filter: users whose e-mail changes may see another predicate.
        let personal = fb.iter().chain(fa.iter()).any(|f| f.clause.contains("{{"));
        // Nobody's roles moved and the filters are the same: only a role starting or
        // stopping to grant the dataset, or a changed e-mail under a personal filter, can
        // change what someone sees.
        if moved_roles.is_empty()
            && !filters_changed
            && pairs
                .as_ref()
                .is_some_and(|p| !p.iter().any(|pair| regranted_pairs.contains(pair)))
            && (!personal || emailed.is_empty())
        {
            continue;
        }
        let granting = (
            pairs.as_ref().map(|p| holders.0.granting(p)),
            pairs.as_ref().map(|p| holders.1.granting(p)),
        );
        // Roles that start or stop granting the dataset.
        let regranted: BTreeSet<&str> = match &granting {
            (Some(b), Some(a)) => b.symmetric_difference(a).copied().collect(),
            _ => BTreeSet::new(),
        };
        // With the filters the same, nobody's predicate or access can change unless a role
        // moved across a named or granting role, a role's grant changed, a user appeared or
        // disappeared, or an e-mail changed under a filter rendering it.
        let touches = |roles: Option<&BTreeSet<&str>>| {
            roles.is_some_and(|r| r.iter().any(|x| moved_roles.contains(x)))
        };
        if !filters_changed
            && regranted.is_empty()
            && !named.iter().any(|r| moved_roles.contains(r))
            && !touches(granting.0.as_ref())
            && !touches(granting.1.as_ref())
            && granting.0.is_some()
            && (!personal || emailed.is_empty())
        {
            continue;
        }
        let has_base = fb.iter().chain(fa.iter()).any(|f| f.filter_type == "Base");
        let (of_before, of_after) = holding_roles();
        let either = |role: &&'a str| {
            let lists = [of_before.get(*role), of_after.get(*role)];
            lists.into_iter().flatten().flatten().copied()
        };
        // Whose predicate can change. A user's predicate depends only on which of the named
        // roles they hold and whether they may query the dataset. With the filters the same:
        // cohorts whose roles moved, holders of roles that start or stop granting it, and
        // (under a filter rendering macros) cohorts with an e-mail changing. With the filters
        // changed, also the holders of the named roles, and with a Base filter, which reaches
        // those without its roles, everyone who may query it on either side.
        let mut candidates: Vec<usize> = Vec::new();
        let mut add = |i: usize| {
            if seen.set(i, number) {
                candidates.push(i);
            }
        };
        let may_query_by_marks = filters_changed && has_base && granting.0.is_some();
        match (&granting, filters_changed) {
            ((Some(b), Some(a)), true) if has_base => {
                for (roles, of, access) in [
                    (b, of_before, &mut access_by.0),
                    (a, of_after, &mut access_by.1),
                ] {
                    for i in roles.iter().filter_map(|r| of.get(r)).flatten() {
                        access.set(*i, number);
                        add(*i);
                    }
                }
            }
            ((Some(_), Some(_)), _) => {
                if filters_changed {
                    named.iter().flat_map(either).for_each(&mut add);
                }
                regranted.iter().flat_map(either).for_each(&mut add);
                moved_cohorts.iter().copied().for_each(&mut add);
                if personal {
                    emailed.iter().copied().for_each(&mut add);
                }
            }
            _ => (0..list.len()).for_each(add),
        }
        for (of, marks) in [(of_before, &mut named_by.0), (of_after, &mut named_by.1)] {
            for i in named.iter().filter_map(|r| of.get(r)).flatten() {
                marks.set(*i, number);
            }
        }
        let holds = |roles: Option<&RoleSet>, some: &BTreeSet<&str>| {
            roles.is_some_and(|r| r.iter().any(|x| some.contains(x)))
        };
        let intersection = |roles: Option<&RoleSet<'a>>, holds_named: bool| -> BTreeSet<&'a str> {
            match (roles, holds_named) {
                (Some(roles), true) => roles.intersection(&named).copied().collect(),
                _ => BTreeSet::new(),
            }
        };
        type Key<'k> = (BTreeSet<&'k str>, BTreeSet<&'k str>, bool, bool);
        let mut groups: BTreeMap<Key, Vec<u32>> = BTreeMap::new();
        for i in candidates {
            let cohort = &list[i];
            let access = match may_query_by_marks {
                true => (access_by.0.get(i, number), access_by.1.get(i, number)),
                false => (
                    can_query(cohort.before, granting.0.as_ref()),
                    can_query(cohort.after, granting.1.as_ref()),
                ),
            };
            // Nobody sees rows of a dataset they cannot query, before or after.
            if access == (false, false) {
                continue;
            }
            let holds_named = (named_by.0.get(i, number), named_by.1.get(i, number));
            let moved = cohort.moved.iter().any(|r| named.contains(r))
                || access.0 != access.1
                || (!regranted.is_empty()
                    && (holds(cohort.before, &regranted) || holds(cohort.after, &regranted)))
                || (personal && emailed.binary_search(&i).is_ok());
            let reached = filters_changed && (has_base || holds_named.0 || holds_named.1);
            if !moved && !reached {
                continue;
            }
            let key = (
                intersection(cohort.before, holds_named.0),
                intersection(cohort.after, holds_named.1),
                access.0,
                access.1,
            );
            groups.entry(key).or_default().extend(&cohort.users);
        }
        if !filters_changed && groups.is_empty() {
            continue;
        }
        let mut rows = DatasetRows {
            dataset: dataset.to_owned(),
            roles: Vec::new(),
            users: Vec::new(),
            more_users: 0,
        };
        if filters_changed {
            let cases = named
                .iter()
                .map(|r| (r.to_string(), BTreeSet::from([*r])))
                .chain([("*".to_owned(), BTreeSet::new())]);
            for (who, roles) in cases {
                let (b, a) = (predicate(fb, &roles, None), predicate(fa, &roles, None));
                if b != a {
                    rows.roles.push(PredicateChange::filtered(who, b, a));
                }
            }
        }
        // `None`: no access; `Some(None)`: every row.
        let side = |access: bool, filters: &[&RlsFilter], roles: &BTreeSet<&str>, user| {
            access.then(|| predicate(filters, roles, user))
        };
        // Users whose predicate may change, with their group; the first by username are
        // rendered and listed, the rest counted.
        let mut changing: Vec<(u32, usize)> = Vec::new();
        let groups: Vec<(Key, Vec<u32>)> = groups.into_iter().collect();
        for (g, ((roles_before, roles_after, ab, aa), users)) in groups.iter().enumerate() {
            let same = side(*ab, fb, roles_before, None) == side(*aa, fa, roles_after, None);
            match (same, personal) {
                (true, false) => {}
                (true, true) => changing.extend(
                    users
                        .iter()
                        .filter(|u| email_changed[**u as usize])
                        .map(|u| (*u, g)),
                ),
                (false, _) => changing.extend(users.iter().map(|u| (*u, g))),
            }
        }
        if changing.len() > USERS_LISTED {
            changing.select_nth_unstable(USERS_LISTED);
            rows.more_users = changing.len() - USERS_LISTED;
            changing.truncate(USERS_LISTED);
        }
        changing.sort_unstable();
        for (user, g) in changing {
            let ((roles_before, roles_after, ab, aa), _) = &groups[g];
            let name = cohorts.users[user as usize];
            let (b, a) = match personal {
                false => (None, None),
                true => (before.users.get(name), after.users.get(name)),
            };
            let (b, a) = (
                side(*ab, fb, roles_before, b),
                side(*aa, fa, roles_after, a),
            );
            if b != a {
                rows.users
                    .push(PredicateChange::seen(name.to_owned(), b, a));
            }
        }
        if !rows.roles.is_empty() || !rows.users.is_empty() {
            found.push(rows);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::effective_roles;
    use crate::model::{Group, State};
    use sorted_vec::SortedSet;

    fn filter(
        name: &str,
        kind: &str,
        key: Option<&str>,
        roles: &[&str],
        clause: &str,
    ) -> RlsFilter {
        RlsFilter {
            name: name.into(),
            description: None,
            filter_type: kind.into(),
            group_key: key.map(Into::into),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            datasets: SortedSet::from(vec!["db.s.t".to_owned()]),
            clause: clause.into(),
        }
    }

    fn user(name: &str, roles: &[&str]) -> User {
        User {
            username: name.into(),
            first_name: "F".into(),
            last_name: "L".into(),
            email: format!("{name}@x.io"),
            active: true,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn superset_semantics() {
        let mut state = State::default();
        for f in [
            filter("a-eu", "Regular", Some("region"), &["eu"], "region = 'EU'"),
            filter("b-uk", "Regular", Some("region"), &["uk"], "region = 'UK'"),
            filter(
                "c-own",
                "Regular",
                None,
                &["eu"],
                "owner = '{{ current_username() }}'",
            ),
            filter("d-base", "Base", None, &["admin"], "public"),
        ] {
            state.rls_filters.insert(f.name.clone(), f);
        }
        let roles = |r: &[&str]| r.iter().map(|x| (*x).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(
            predicate_for_roles(&state, "db.s.t", &roles(&["eu", "uk"]), None).as_deref(),
            Some(
                "(owner = '{{ current_username() }}') AND (public) AND ((region = 'EU') OR (region = 'UK'))"
            )
        );
        assert_eq!(
            predicate_for_roles(&state, "db.s.t", &roles(&["uk"]), None).as_deref(),
            Some("(public) AND (region = 'UK')")
        );
        assert_eq!(
            predicate_for_roles(&state, "db.s.t", &roles(&["admin"]), None),
            None
        );
        // Roles through groups count, and Jinja renders for the user.
        state.users.insert("ana".into(), user("ana", &[]));
        state.groups.insert(
            "g".into(),
            Group {
                name: "g".into(),
                label: None,
                description: None,
                roles: SortedSet::from(vec!["eu".to_owned(), "admin".to_owned()]),
                users: BTreeSet::from(["ana".to_owned()]),
            },
        );
        let ana_roles: BTreeSet<String> = effective_roles(&state.view())["ana"]
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            predicate_for_roles(&state, "db.s.t", &ana_roles, state.users.get("ana")).as_deref(),
            Some("(owner = 'ana') AND (region = 'EU')")
        );
        // Moving ana out of the group changes her predicate and nothing else.
        let mut after = state.clone();
        after.groups.get_mut("g").unwrap().users.clear();
        let (before, after) = (state.view(), after.view());
        let held = crate::impact::Held::between(&before, &after);
        let regrants = crate::impact::regrants::regrants(&before, &after);
        let found = changes(&before, &after, &held, &regrants, &Catalog::default());
        assert_eq!(found.len(), 1);
        assert!(found[0].roles.is_empty());
        assert_eq!(
            found[0].users,
            [PredicateChange::filtered(
                "ana".into(),
                Some("(owner = 'ana') AND (region = 'EU')".into()),
                Some("(public)".into()),
            )]
        );
    }

    /// A state where role `eu` grants dataset `db.s.t` (schema access) and is named by a
    /// Regular filter with a macro, `viewer` grants nothing, and a Base filter exempts `eu`.
    fn with_access() -> (State, Catalog) {
        use crate::model::{Dataset, PermissionPair, Role};
        let mut catalog = Catalog::default();
        catalog.databases.insert("db".into(), 1);
        catalog.datasets.insert(
            "db.s.t".into(),
            Dataset {
                id: 3,
                uuid: None,
                database: "db".into(),
                schema: Some("s".into()),
                table: "t".into(),
                perm: None,
            },
        );
        let mut state = State::default();
        for (name, pairs) in [
            ("eu", vec![PermissionPair::new("schema_access", "[db].[s]")]),
            ("viewer", vec![PermissionPair::new("can_read", "Chart")]),
        ] {
            state.roles.insert(
                name.into(),
                Role {
                    name: name.into(),
                    permissions: pairs.into_iter().collect(),
                },
            );
        }
        for f in [
            filter(
                "a-own",
                "Regular",
                None,
                &["eu"],
                "owner = '{{ current_username() }}'",
            ),
            filter("b-base", "Base", None, &["eu"], "public"),
        ] {
            state.rls_filters.insert(f.name.clone(), f);
        }
        state.users.insert("ana".into(), user("ana", &["eu"]));
        state.users.insert("bob".into(), user("bob", &["viewer"]));
        (state, catalog)
    }

    fn impact(before: &State, after: &State, catalog: &Catalog) -> Vec<PredicateChange> {
        let (before, after) = (before.view(), after.view());
        let held = crate::impact::Held::between(&before, &after);
        let regrants = crate::impact::regrants::regrants(&before, &after);
        let found = changes(&before, &after, &held, &regrants, catalog);
        found.into_iter().flat_map(|d| d.users).collect()
    }

    #[test]
    fn losing_every_granting_role_is_losing_access_not_gaining_every_row() {
        let (before, catalog) = with_access();
        let mut after = before.clone();
        after.users.get_mut("ana").unwrap().roles.clear();
        let found = impact(&before, &after, &catalog);
        assert_eq!(
            found,
            [PredicateChange {
                who: "ana".into(),
                before: Some("(owner = 'ana')".into()),
                after: None,
                access_before: true,
                access_after: false,
            }]
        );
        assert_eq!(found[0].rows_after(), Rows::NoAccess);
        // A variant: the role stays but stops granting the dataset.
        let mut after = before.clone();
        after.roles.get_mut("eu").unwrap().permissions.clear();
        assert_eq!(
            impact(&before, &after, &catalog)[0].rows_after(),
            Rows::NoAccess
        );
    }

    #[test]
    fn users_who_cannot_query_the_dataset_are_not_listed() {
        let (before, catalog) = with_access();
        // The Base filter reaches bob, who has no access to the dataset either way.
        let mut after = before.clone();
        after.rls_filters.get_mut("b-base").unwrap().clause = "public AND open".into();
        let found = impact(&before, &after, &catalog);
        assert!(found.is_empty(), "{found:?}");
        // Gaining a role that grants the dataset: from no access to the Base filter's rows.
        let mut after = before.clone();
        after
            .users
            .get_mut("bob")
            .unwrap()
            .roles
            .find_or_insert("eu".into());
        let found = impact(&before, &after, &catalog);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rows_before(), Rows::NoAccess);
        assert_eq!(found[0].rows_after(), Rows::Only("(owner = 'bob')"));
    }

    #[test]
    fn an_email_change_under_a_filter_rendering_it_changes_the_predicate() {
        let (mut before, catalog) = with_access();
        let mail = filter(
            "c-mail",
            "Regular",
            None,
            &["eu"],
            "reviewer = '{{ current_user_email() }}'",
        );
        before.rls_filters.insert(mail.name.clone(), mail);
        before.users.insert("cy".into(), user("cy", &[]));
        before.groups.insert(
            "g".into(),
            Group {
                name: "g".into(),
                label: None,
                description: None,
                roles: SortedSet::from(vec!["eu".to_owned()]),
                users: BTreeSet::from(["cy".to_owned()]),
            },
        );
        // Only e-mails change: ana's (a role held directly), cy's (through a group), and bob's
        // (who may not query the dataset).
        let mut after = before.clone();
        for name in ["ana", "bob", "cy"] {
            after.users.get_mut(name).unwrap().email = format!("{name}@new.io");
        }
        let found = impact(&before, &after, &catalog);
        let by_user: BTreeMap<&str, (Rows, Rows)> = found
            .iter()
            .map(|c| (c.who.as_str(), (c.rows_before(), c.rows_after())))
            .collect();
        let rows = |user: &str, domain: &str| {
            format!("(owner = '{user}') AND (reviewer = '{user}@{domain}')")
        };
        let (ana, cy) = (
            (rows("ana", "x.io"), rows("ana", "new.io")),
            (rows("cy", "x.io"), rows("cy", "new.io")),
        );
        assert_eq!(
            by_user,
            BTreeMap::from([
                ("ana", (Rows::Only(&ana.0), Rows::Only(&ana.1))),
                ("cy", (Rows::Only(&cy.0), Rows::Only(&cy.1))),
            ])
        );
        // Without a filter rendering e-mails, nobody's predicate changes.
        before.rls_filters.remove("c-mail");
        after.rls_filters.remove("c-mail");
        assert!(impact(&before, &after, &catalog).is_empty());
    }

    #[test]
    fn users_created_or_deleted_get_their_own_predicates() {
        let (before, catalog) = with_access();
        let mut after = before.clone();
        after.users.insert("cy".into(), user("cy", &["eu"]));
        after.users.insert("dee".into(), user("dee", &["viewer"]));
        after.users.remove("ana");
        let found = impact(&before, &after, &catalog);
        let by_user: BTreeMap<&str, (Rows, Rows)> = found
            .iter()
            .map(|c| (c.who.as_str(), (c.rows_before(), c.rows_after())))
            .collect();
        assert_eq!(
            by_user,
            BTreeMap::from([
                ("ana", (Rows::Only("(owner = 'ana')"), Rows::NoAccess)),
                ("cy", (Rows::NoAccess, Rows::Only("(owner = 'cy')"))),
            ])
        );
    }
}
