//! Row-level security as Superset applies it to a query on one dataset: the filters of a Regular
//! type that name one of the user's roles, and of a Base type that name none of them; clauses
//! sharing a group key are ORed, the rest ANDed, each in parentheses, the way Superset writes the
//! WHERE clause (`(a) AND ((b) OR (c))`). Superset leaves the order of the terms to the database;
//! here they come by group key, then filter name. For a user, `{{ current_username() }}` and
//! `{{ current_user_email() }}` are rendered as Superset would.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Held;
use super::access::{Grants, Holders, is_data_access};
use super::cohorts::{can_query, cohorts};
use crate::model::{Catalog, PermissionPair, RlsFilter, State, User};

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
    fn filtered(who: String, before: Option<String>, after: Option<String>) -> PredicateChange {
        PredicateChange {
            who,
            before,
            after,
            access_before: true,
            access_after: true,
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
    state: &State,
    dataset: &str,
    roles: &BTreeSet<String>,
    user: Option<&User>,
) -> Option<String> {
    let filters: Vec<&RlsFilter> = state
        .rls_filters
        .values()
        .filter(|f| f.datasets.contains(dataset))
        .collect();
    let roles: BTreeSet<&str> = roles.iter().map(String::as_str).collect();
    predicate(&filters, &roles, user)
}

/// The predicate of `filters` (all on one dataset, in name order) for someone holding `roles`.
fn predicate(
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
fn by_dataset(state: &State) -> BTreeMap<&str, Vec<&RlsFilter>> {
    let mut found: BTreeMap<&str, Vec<&RlsFilter>> = BTreeMap::new();
    for filter in state.rls_filters.values() {
        for dataset in &filter.datasets {
            found.entry(dataset).or_default().push(filter);
        }
    }
    found
}

/// Whether every role grants the same data access (the pairs [`Holders`] reads) on both sides.
fn same_data_grants(before: &State, after: &State) -> bool {
    fn data(role: Option<&crate::model::Role>) -> impl Iterator<Item = &PermissionPair> {
        role.into_iter()
            .flat_map(|r| r.permissions.iter())
            .filter(|p| is_data_access(p))
    }
    before
        .roles
        .keys()
        .chain(after.roles.keys())
        .all(|name| data(before.roles.get(name)).eq(data(after.roles.get(name))))
}

/// Whether `user` is on both sides, with another e-mail after.
fn email_changes(before: &State, after: &State, user: &str) -> bool {
    matches!(
        (before.users.get(user), after.users.get(user)),
        (Some(b), Some(a)) if b.email != a.email
    )
}

/// At most this many users are listed per dataset; the rest are counted.
pub const USERS_LISTED: usize = 100;

/// `held` is every user's effective roles before and after.
pub(super) fn changes<'a>(
    before: &'a State,
    after: &'a State,
    held: &'a (Held<'a>, Held<'a>),
    catalog: &Catalog,
) -> Vec<DatasetRows> {
    let (on_before, on_after) = (by_dataset(before), by_dataset(after));
    let datasets: BTreeSet<&str> = on_before.keys().chain(on_after.keys()).copied().collect();
    let (held_before, held_after) = held;
    let cohorts = cohorts(held_before, held_after);
    let moved_cohorts: Vec<usize> = (0..cohorts.len())
        .filter(|i| !cohorts[*i].moved.is_empty())
        .collect();
    let moved_roles: BTreeSet<&str> = moved_cohorts
        .iter()
        .flat_map(|i| cohorts[*i].moved.iter().copied())
        .collect();
    // The cohorts holding each role on either side.
    let mut cohorts_of: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (i, cohort) in cohorts.iter().enumerate() {
        for role in cohort.before.into_iter().chain(cohort.after).flatten() {
            cohorts_of.entry(role).or_default().insert(i);
        }
    }
    // Cohorts with a user whose e-mail changes: under a filter rendering it, their predicate
    // changes though their roles and the filters stay the same.
    let emailed: BTreeSet<usize> = (0..cohorts.len())
        .filter(|i| {
            cohorts[*i]
                .users
                .iter()
                .any(|u| email_changes(before, after, u))
        })
        .collect();
    let grants = Grants::new(catalog);
    let holders = (Holders::new(before), Holders::new(after));
    // With no role moving between users, no e-mail changing and every role granting the data
    // access it granted, only datasets whose filters change (or that the catalogue does not
    // know) can show another predicate: the others are passed over before any per-dataset work.
    let quiet = moved_roles.is_empty() && emailed.is_empty() && same_data_grants(before, after);
    let no_roles = BTreeSet::new();
    let none = Vec::new();
    let mut found = Vec::new();
    for dataset in datasets {
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
        let granting = (
            pairs.as_ref().map(|p| holders.0.granting(p)),
            pairs.as_ref().map(|p| holders.1.granting(p)),
        );
        // Roles that start or stop granting the dataset.
        let regranted: BTreeSet<&str> = match &granting {
            (Some(b), Some(a)) => b.symmetric_difference(a).copied().collect(),
            _ => BTreeSet::new(),
        };
        // A filter rendering macros: users whose e-mail changes may see another predicate.
        let personal = fb.iter().chain(fa.iter()).any(|f| f.clause.contains("{{"));
        // With the filters the same, nobody's predicate or access can change unless a role
        // moved across a named or granting role, a role's grant changed, or an e-mail changed
        // under a filter rendering it.
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
        let holds = |roles: Option<&BTreeSet<&str>>, some: &BTreeSet<&str>| {
            roles.is_some_and(|r| r.iter().any(|x| some.contains(x)))
        };
        // A user's predicate depends only on which of the named roles they hold and whether
        // they may query the dataset. Whose can change: with the filters the same, users whose
        // roles moved across a named role or across their access, and holders of roles that
        // start or stop granting it; with the filters changed, also the holders of the named
        // roles (everyone, for a Base filter, which reaches those without its roles).
        // With the filters the same, only cohorts whose roles moved and holders of roles that
        // start or stop granting the dataset can see another predicate; otherwise only holders
        // of a role granting the dataset, on either side, may query it.
        let of_roles = |roles: &mut dyn Iterator<Item = &&str>| -> BTreeSet<usize> {
            roles
                .filter_map(|r| cohorts_of.get(r))
                .flatten()
                .copied()
                .collect()
        };
        let may_query: BTreeSet<usize> = match (&granting, filters_changed) {
            (_, false) => {
                let mut found = of_roles(&mut regranted.iter());
                found.extend(moved_cohorts.iter().copied());
                if personal {
                    found.extend(emailed.iter().copied());
                }
                found
            }
            ((Some(b), Some(a)), true) => of_roles(&mut b.union(a)),
            _ => (0..cohorts.len()).collect(),
        };
        type Key<'k> = (BTreeSet<&'k str>, BTreeSet<&'k str>, bool, bool);
        let mut groups: BTreeMap<Key, Vec<&str>> = BTreeMap::new();
        for i in may_query {
            let cohort = &cohorts[i];
            let access = (
                can_query(cohort.before, granting.0.as_ref()),
                can_query(cohort.after, granting.1.as_ref()),
            );
            // Nobody sees rows of a dataset they cannot query, before or after.
            if access == (false, false) {
                continue;
            }
            let moved = cohort.moved.iter().any(|r| named.contains(r))
                || access.0 != access.1
                || holds(cohort.before, &regranted)
                || holds(cohort.after, &regranted)
                || (personal && emailed.contains(&i));
            let reached = filters_changed
                && (has_base || holds(cohort.before, &named) || holds(cohort.after, &named));
            if !moved && !reached {
                continue;
            }
            let key = (
                cohort
                    .before
                    .unwrap_or(&no_roles)
                    .intersection(&named)
                    .copied()
                    .collect(),
                cohort
                    .after
                    .unwrap_or(&no_roles)
                    .intersection(&named)
                    .copied()
                    .collect(),
                access.0,
                access.1,
            );
            groups.entry(key).or_default().extend(&cohort.users);
        }
        // Listed by username.
        for users in groups.values_mut() {
            users.sort_unstable();
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
        for ((roles_before, roles_after, ab, aa), users) in groups {
            // `None`: no access; `Some(None)`: every row.
            let side = |access: bool, filters: &[&RlsFilter], roles: &BTreeSet<&str>, user| {
                access.then(|| predicate(filters, roles, user))
            };
            let group = (
                side(ab, fb, &roles_before, None),
                side(aa, fa, &roles_after, None),
            );
            // Same access and clauses for the same roles: only a user whose rendered macros
            // differ (an e-mail that changed) can see another predicate.
            let users: Vec<&str> = match (group.0 == group.1, personal) {
                (true, false) => continue,
                (true, true) => users
                    .into_iter()
                    .filter(|u| email_changes(before, after, u))
                    .collect(),
                (false, _) => users,
            };
            // Without macros every user of the group sees the group's predicates; with them only
            // the listed users' are rendered (the others are counted).
            let room = USERS_LISTED.saturating_sub(rows.users.len());
            rows.more_users += users.len().saturating_sub(room);
            for user in users.into_iter().take(room) {
                let (b, a) = match personal {
                    false => group.clone(),
                    true => (
                        side(ab, fb, &roles_before, before.users.get(user)),
                        side(aa, fa, &roles_after, after.users.get(user)),
                    ),
                };
                if b != a {
                    rows.users.push(PredicateChange {
                        who: user.to_owned(),
                        access_before: b.is_some(),
                        access_after: a.is_some(),
                        before: b.flatten(),
                        after: a.flatten(),
                    });
                }
            }
        }
        rows.users.sort_by(|x, y| x.who.cmp(&y.who));
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
    use crate::model::Group;

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
            datasets: BTreeSet::from(["db.s.t".to_owned()]),
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
                roles: roles(&["eu", "admin"]),
                users: BTreeSet::from(["ana".to_owned()]),
            },
        );
        let ana_roles: BTreeSet<String> = effective_roles(&state)["ana"]
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
        let held = (effective_roles(&state), effective_roles(&after));
        let found = changes(&state, &after, &held, &Catalog::default());
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
        let held = (effective_roles(before), effective_roles(after));
        let found = changes(before, after, &held, catalog);
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
            .insert("eu".into());
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
                roles: BTreeSet::from(["eu".to_owned()]),
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
