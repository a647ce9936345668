//! The access impact checked against its definition, computed the slow way on random small
//! states: every user's effective roles and permissions on each side, and for every dataset
//! every user's access and predicate on each side. The fast paths (role sets shared by many
//! users, datasets passed over when nothing reaching them moved) must agree with it.

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sorted_vec::SortedSet;

use super::access::{Grants, Holders};
use super::rls::predicate;
use super::{AccessImpact, DatasetRows, PredicateChange, UserAccess};
use crate::model::{
    Catalog, Dataset, Entries, Group, PermissionPair, RlsFilter, Role, State, StateView, User,
    merge_by_key,
};

const ROLES: [&str; 6] = ["r0", "r1", "r2", "r3", "r4", "r5"];
const DATASETS: [&str; 3] = ["db.s.a", "db.s.b", "db.t.c"];
/// A dataset no catalogue knows (its access cannot be told: taken as reachable).
const UNKNOWN: &str = "db.s.gone";

fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    catalog.databases.insert("db".into(), 1);
    for (id, name) in DATASETS.iter().enumerate() {
        let parts: Vec<&str> = name.split('.').collect();
        catalog.datasets.insert(
            (*name).into(),
            Dataset {
                id: id as i64 + 10,
                uuid: None,
                database: parts[0].into(),
                schema: Some(parts[1].into()),
                table: parts[2].into(),
                perm: None,
            },
        );
    }
    catalog
}

/// The permission pairs a role may be given: every kind of data access and two others.
fn pairs() -> Vec<PermissionPair> {
    vec![
        PermissionPair::new("schema_access", "[db].[s]"),
        PermissionPair::new("schema_access", "[db].[t]"),
        PermissionPair::new("datasource_access", "[db].[a](id:10)"),
        PermissionPair::new("datasource_access", "[db].[c](id:12)"),
        PermissionPair::new("database_access", "[db].(id:1)"),
        PermissionPair::new("all_datasource_access", "all_datasource_access"),
        PermissionPair::new("can_read", "Chart"),
        PermissionPair::new("can_write", "Dashboard"),
    ]
}

fn some_roles(rng: &mut ChaCha8Rng, most: usize) -> SortedSet<String> {
    let n = rng.random_range(0..=most);
    ROLES
        .choose_multiple(rng, n)
        .map(|r| (*r).to_owned())
        .collect()
}

fn random_filter(rng: &mut ChaCha8Rng, name: &str) -> RlsFilter {
    let clauses = [
        "region = 'EU'",
        "region = 'US'",
        "owner = '{{ current_username() }}'",
        "mail = '{{ current_user_email() }}'",
        "amount < 10",
    ];
    let n = rng.random_range(1..=2);
    let mut datasets: SortedSet<String> = DATASETS
        .choose_multiple(rng, n)
        .map(|d| (*d).to_owned())
        .collect();
    if rng.random_bool(0.1) {
        datasets.find_or_insert(UNKNOWN.into());
    }
    RlsFilter {
        name: name.into(),
        description: None,
        filter_type: if rng.random_bool(0.3) {
            "Base"
        } else {
            "Regular"
        }
        .into(),
        group_key: [None, Some("region"), Some("tenant")]
            .choose(rng)
            .unwrap()
            .map(Into::into),
        roles: some_roles(rng, 2),
        datasets,
        clause: (*clauses.choose(rng).unwrap()).into(),
    }
}

fn random_user(rng: &mut ChaCha8Rng, name: &str) -> User {
    User {
        username: name.into(),
        first_name: "F".into(),
        last_name: "L".into(),
        email: format!("{name}@{}", ["x.io", "y.io"].choose(rng).unwrap()),
        active: rng.random_bool(0.9),
        roles: some_roles(rng, 2),
    }
}

fn random_state(rng: &mut ChaCha8Rng) -> State {
    let mut state = State::default();
    let pairs = pairs();
    for name in ROLES {
        let n = rng.random_range(0..=3);
        let permissions = pairs.choose_multiple(rng, n).cloned().collect();
        state.roles.insert(
            name.into(),
            Role {
                name: name.into(),
                permissions,
            },
        );
    }
    for i in 0..rng.random_range(1..14) {
        let name = format!("u{i:02}");
        state.users.insert(name.clone(), random_user(rng, &name));
    }
    let usernames: Vec<String> = state.users.keys().cloned().collect();
    for i in 0..rng.random_range(0..3) {
        let name = format!("g{i}");
        let n = rng.random_range(0..=usernames.len().min(4));
        state.groups.insert(
            name.clone(),
            Group {
                name,
                label: None,
                description: None,
                roles: some_roles(rng, 2),
                users: usernames.choose_multiple(rng, n).cloned().collect(),
            },
        );
    }
    for i in 0..rng.random_range(0..5) {
        let name = format!("f{i}");
        state
            .rls_filters
            .insert(name.clone(), random_filter(rng, &name));
    }
    state
}

/// `before` with a few random edits of every kind the impact looks at.
fn mutate(rng: &mut ChaCha8Rng, before: &State) -> State {
    let mut after = before.clone();
    let pairs = pairs();
    for _ in 0..rng.random_range(1..4) {
        let users: Vec<String> = after.users.keys().cloned().collect();
        let filters: Vec<String> = after.rls_filters.keys().cloned().collect();
        let groups: Vec<String> = after.groups.keys().cloned().collect();
        match rng.random_range(0..9) {
            0 if !users.is_empty() => {
                let user = after.users.get_mut(users.choose(rng).unwrap()).unwrap();
                user.roles = some_roles(rng, 2);
            }
            1 if !users.is_empty() => {
                let user = after.users.get_mut(users.choose(rng).unwrap()).unwrap();
                user.email = format!("{}@new.io", user.username);
            }
            2 if !users.is_empty() => {
                let user = after.users.get_mut(users.choose(rng).unwrap()).unwrap();
                user.active = !user.active;
            }
            3 => {
                let name = format!("u{:02}", rng.random_range(0..16));
                match after.users.contains_key(&name) {
                    true => after.users.remove(&name),
                    false => after.users.insert(name.clone(), random_user(rng, &name)),
                };
            }
            4 => {
                let role = after.roles.get_mut(*ROLES.choose(rng).unwrap()).unwrap();
                let pair = pairs.choose(rng).unwrap();
                if !role.permissions.remove(pair) {
                    role.permissions.insert(pair.clone());
                }
            }
            5 if !filters.is_empty() => {
                let name = filters.choose(rng).unwrap();
                let mut fresh = random_filter(rng, name);
                // Often a change of one field only.
                if rng.random_bool(0.5) {
                    let old = &after.rls_filters[name];
                    fresh = RlsFilter {
                        clause: fresh.clause,
                        ..old.clone()
                    };
                }
                after.rls_filters.insert(name.clone(), fresh);
            }
            6 => {
                let name = format!("f{}", rng.random_range(0..6));
                match after.rls_filters.contains_key(&name) {
                    true => after.rls_filters.remove(&name),
                    false => after
                        .rls_filters
                        .insert(name.clone(), random_filter(rng, &name)),
                };
            }
            7 if !groups.is_empty() && !users.is_empty() => {
                let group = after.groups.get_mut(groups.choose(rng).unwrap()).unwrap();
                let user = users.choose(rng).unwrap().clone();
                if !group.users.remove(&user) {
                    group.users.insert(user);
                }
            }
            8 if !groups.is_empty() => {
                let group = after.groups.get_mut(groups.choose(rng).unwrap()).unwrap();
                group.roles = some_roles(rng, 2);
            }
            _ => {}
        }
    }
    after
}

/// A user's effective roles: `None` when the user is missing or inactive.
fn roles_of(state: &State, username: &str) -> Option<BTreeSet<String>> {
    let user = state.users.get(username).filter(|u| u.active)?;
    let mut roles: BTreeSet<String> = user.roles.iter().cloned().collect();
    for group in state.groups.values() {
        if group.users.contains(username) {
            roles.extend(group.roles.iter().cloned());
        }
    }
    Some(roles)
}

fn permissions_of(state: &State, roles: &BTreeSet<String>) -> BTreeSet<String> {
    roles
        .iter()
        .filter_map(|r| state.roles.get(r))
        .flat_map(|r| r.permissions.iter().map(|p| p.to_string()))
        .collect()
}

fn usernames(before: &State, after: &State) -> BTreeSet<String> {
    before
        .users
        .keys()
        .chain(after.users.keys())
        .cloned()
        .collect()
}

fn brute_users(before: &State, after: &State) -> Vec<UserAccess> {
    let mut found = Vec::new();
    for username in usernames(before, after) {
        let b = roles_of(before, &username).unwrap_or_default();
        let a = roles_of(after, &username).unwrap_or_default();
        let (pb, pa) = (permissions_of(before, &b), permissions_of(after, &a));
        let access = UserAccess {
            username,
            roles_gained: a.difference(&b).cloned().collect(),
            roles_lost: b.difference(&a).cloned().collect(),
            gained: pa.difference(&pb).cloned().collect(),
            lost: pb.difference(&pa).cloned().collect(),
        };
        if !(access.roles_gained.is_empty()
            && access.roles_lost.is_empty()
            && access.gained.is_empty()
            && access.lost.is_empty())
        {
            found.push(access);
        }
    }
    found
}

fn filters_on<'s>(state: &'s State, dataset: &str) -> Vec<&'s RlsFilter> {
    state
        .rls_filters
        .values()
        .filter(|f| f.datasets.iter().any(|d| d == dataset))
        .collect()
}

/// What one user sees of `dataset` on one side: `None` without access.
fn rows_of(state: &State, catalog: &Catalog, dataset: &str, user: &str) -> Option<Option<String>> {
    let roles = roles_of(state, user)?;
    let grants = Grants::new(catalog).of(catalog, dataset);
    let holders = Holders::new(&state.view());
    let may_query = match &grants {
        None => true,
        Some(pairs) => {
            let granting = holders.granting(pairs);
            roles.iter().any(|r| granting.contains(r.as_str()))
        }
    };
    if !may_query {
        return None;
    }
    let held: BTreeSet<&str> = roles.iter().map(String::as_str).collect();
    Some(predicate(
        &filters_on(state, dataset),
        &held,
        state.users.get(user),
    ))
}

fn brute_datasets(before: &State, after: &State, catalog: &Catalog) -> Vec<DatasetRows> {
    let datasets: BTreeSet<&str> = before
        .rls_filters
        .values()
        .chain(after.rls_filters.values())
        .flat_map(|f| f.datasets.iter().map(String::as_str))
        .collect();
    let mut found = Vec::new();
    for dataset in datasets {
        let (fb, fa) = (filters_on(before, dataset), filters_on(after, dataset));
        let mut rows = DatasetRows {
            dataset: dataset.into(),
            roles: Vec::new(),
            users: Vec::new(),
            more_users: 0,
        };
        if fb != fa {
            let named: BTreeSet<&str> = fb
                .iter()
                .chain(&fa)
                .flat_map(|f| f.roles.iter().map(String::as_str))
                .collect();
            let cases = named
                .iter()
                .map(|r| (r.to_string(), BTreeSet::from([*r])))
                .chain([("*".to_owned(), BTreeSet::new())]);
            for (who, roles) in cases {
                let (b, a) = (predicate(&fb, &roles, None), predicate(&fa, &roles, None));
                if b != a {
                    rows.roles.push(PredicateChange::filtered(who, b, a));
                }
            }
        }
        for user in usernames(before, after) {
            let b = rows_of(before, catalog, dataset, &user);
            let a = rows_of(after, catalog, dataset, &user);
            if b != a {
                rows.users.push(PredicateChange::seen(user, b, a));
            }
        }
        if !rows.roles.is_empty() || !rows.users.is_empty() {
            found.push(rows);
        }
    }
    found
}

#[test]
fn the_impact_is_what_every_user_sees_before_and_after() {
    let catalog = catalog();
    for seed in 0..3_000 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let before = random_state(&mut rng);
        let after = mutate(&mut rng, &before);
        let impact = AccessImpact::between(&before.view(), &after.view(), &catalog);
        assert_eq!(
            impact.users,
            brute_users(&before, &after),
            "users, seed {seed}"
        );
        assert_eq!(
            impact.datasets,
            brute_datasets(&before, &after, &catalog),
            "datasets, seed {seed}\nbefore {before:#?}\nafter {after:#?}"
        );
        // The planner reads `after` as `before` with the changed objects laid over it.
        let laid_over = AccessImpact::between(&before.view(), &overlay(&before, &after), &catalog);
        assert_eq!(laid_over, impact, "overlay, seed {seed}");
    }
}

/// `before` with every object that differs in `after` replaced, added or removed, as the
/// planner builds Superset after a plan.
fn overlay<'a>(before: &'a State, after: &'a State) -> StateView<'a> {
    fn lay<'a, T: PartialEq>(
        to: &mut Entries<'a, T>,
        before: &'a BTreeMap<String, T>,
        after: &'a BTreeMap<String, T>,
    ) {
        for (key, b, a) in merge_by_key(before, after) {
            if b != a {
                to.set(key, a);
            }
        }
    }
    let mut view = before.view();
    lay(&mut view.users, &before.users, &after.users);
    lay(&mut view.roles, &before.roles, &after.roles);
    lay(&mut view.groups, &before.groups, &after.groups);
    lay(
        &mut view.rls_filters,
        &before.rls_filters,
        &after.rls_filters,
    );
    view
}

#[test]
fn past_the_listed_users_the_rest_are_counted() {
    let catalog = catalog();
    let mut before = State::default();
    before.roles.insert(
        "r0".into(),
        Role {
            name: "r0".into(),
            permissions: BTreeSet::from([PermissionPair::new("schema_access", "[db].[s]")]),
        },
    );
    for i in 0..250 {
        let name = format!("u{i:03}");
        let roles = SortedSet::from(vec!["r0".to_owned()]);
        // Several role sets: the users fall in more than one cohort.
        let mut user = random_user(&mut ChaCha8Rng::seed_from_u64(i), &name);
        user.active = true;
        user.roles = match i % 3 {
            0 => roles,
            _ => roles.into_iter().chain([format!("x{}", i % 3)]).collect(),
        };
        before.users.insert(name, user);
    }
    let mut filter = random_filter(&mut ChaCha8Rng::seed_from_u64(0), "f0");
    filter.filter_type = "Base".into();
    filter.roles = SortedSet::from(vec!["r9".to_owned()]);
    filter.datasets = SortedSet::from(vec!["db.s.a".to_owned()]);
    filter.clause = "region = 'EU'".into();
    before.rls_filters.insert("f0".into(), filter.clone());
    // A second filter for the holders of one role: two groups of users, interleaved by name.
    filter.filter_type = "Regular".into();
    filter.roles = SortedSet::from(vec!["x1".to_owned()]);
    before.rls_filters.insert("f1".into(), filter);
    let mut after = before.clone();
    for name in ["f0", "f1"] {
        after.rls_filters.get_mut(name).unwrap().clause = "region = 'US'".into();
    }
    let impact = AccessImpact::between(&before.view(), &after.view(), &catalog);
    let brute = brute_datasets(&before, &after, &catalog);
    assert_eq!(impact.datasets.len(), 1);
    let (fast, slow) = (&impact.datasets[0], &brute[0]);
    assert_eq!(fast.users.len(), super::rls::USERS_LISTED);
    assert_eq!(fast.users.len() + fast.more_users, slow.users.len());
    // The listed users are the first by username, whichever group they are in.
    assert_eq!(fast.users[..], slow.users[..super::rls::USERS_LISTED]);
    assert_eq!(fast.roles, slow.roles);
}
