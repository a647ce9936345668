//! What the real Superset 6.1 lets each user see of each dataset, read through its REST API:
//! `POST /api/v1/chart/data` (`result_type: query`) as that user answers 403 (no access) or the
//! SQL, whose WHERE clause is the row-level security predicate. And the check of a `steward diff`
//! access-impact report against two such readings, before and after the change is applied:
//! every user (listed or not) and every per-role row, predicates compared up to the order of
//! their terms, which Superset leaves to the database.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::superset_api::{Content, Superset, mint_token, names, s};

/// What someone sees of a dataset: `None` when they may not query it, else the predicate
/// (`Some(None)`: every row).
pub type Rows = Option<Option<String>>;

/// A user as Superset holds them.
pub struct Person {
    pub id: i64,
    pub active: bool,
    pub email: String,
    /// Effective roles: their own and their groups'.
    pub roles: BTreeSet<String>,
}

/// One reading of Superset: its users, the roles its RLS filters name on each dataset, and
/// what every user sees of every dataset.
pub struct Snapshot {
    pub users: BTreeMap<String, Person>,
    /// `database.schema.table` → roles named by a filter on it.
    pub named: BTreeMap<String, BTreeSet<String>>,
    /// (username, dataset) → rows.
    pub rows: BTreeMap<(String, String), Rows>,
}

impl Snapshot {
    /// Reads Superset as it is now: every user (the inactive ones too) on every dataset.
    pub fn take(ss: &Superset, content: &Content) -> Snapshot {
        let group_roles: BTreeMap<String, BTreeSet<String>> = ss
            .groups()
            .iter()
            .map(|g| (s(&g["name"]), names(&g["roles"], "name")))
            .collect();
        let users: BTreeMap<String, Person> = ss
            .users()
            .iter()
            .map(|u| {
                let mut roles = names(&u["roles"], "name");
                for group in names(&u["groups"], "name") {
                    roles.extend(group_roles[&group].iter().cloned());
                }
                let person = Person {
                    id: u["id"].as_i64().unwrap(),
                    active: u["active"] == true,
                    email: s(&u["email"]),
                    roles,
                };
                (s(&u["username"]), person)
            })
            .collect();
        let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for filter in ss.rls_filters() {
            for table in filter["tables"].as_array().unwrap() {
                let dataset = &content.dataset_ids[&table["id"].as_i64().unwrap()];
                named
                    .entry(dataset.clone())
                    .or_default()
                    .extend(names(&filter["roles"], "name"));
            }
        }
        let mut rows = BTreeMap::new();
        for (username, person) in &users {
            for (dataset, (id, _)) in &content.datasets {
                let seen = chart_data(ss, person, username, *id);
                rows.insert((username.clone(), dataset.clone()), seen);
            }
        }
        Snapshot { users, named, rows }
    }

    /// What `user` sees of `dataset`: nothing when Superset does not hold the user.
    pub fn rows(&self, user: &str, dataset: &str) -> Rows {
        self.rows
            .get(&(user.to_owned(), dataset.to_owned()))
            .cloned()
            .flatten()
    }
}

/// `POST /api/v1/chart/data` (`result_type: query`) on a dataset as `person`: refused (403, or
/// 401 for an inactive user, whom Superset does not load), or the WHERE clause of the SQL.
fn chart_data(ss: &Superset, person: &Person, username: &str, dataset_id: i64) -> Rows {
    let payload = serde_json::json!({
        "datasource": {"id": dataset_id, "type": "table"},
        "queries": [{"columns": ["id"], "metrics": [], "row_limit": 10}],
        "result_type": "query",
        "result_format": "json",
    });
    let (status, body) = ss.send(
        "POST",
        &mint_token(person.id),
        "/api/v1/chart/data",
        None,
        Some(&payload),
    );
    match (status, body["result"][0]["query"].as_str()) {
        (200, Some(sql)) => Some(where_clause(sql)),
        (403, _) => None,
        (401, _) if !person.active => None,
        _ => panic!("chart data of dataset {dataset_id} as {username}: {status} {body}"),
    }
}

/// The WHERE clause of a query, on one line.
pub fn where_clause(sql: &str) -> Option<String> {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = flat.find(" WHERE ")? + " WHERE ".len();
    let rest = &flat[start..];
    let end = [" GROUP BY ", " ORDER BY ", " LIMIT ", " HAVING "]
        .iter()
        .filter_map(|k| rest.find(k))
        .min()
        .unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned())
}

/// Splits `text` at `separator` where it is outside parentheses and quotes.
fn split_top(text: &str, separator: &str) -> Vec<String> {
    let (mut parts, mut depth, mut quoted, mut start) = (Vec::new(), 0i32, false, 0);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && text[i..].starts_with(separator) => {
                parts.push(text[start..i].trim().to_owned());
                i += separator.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(text[start..].trim().to_owned());
    parts
}

/// A predicate with its AND terms, and the OR terms inside them, sorted.
pub fn canonical(predicate: &str) -> Vec<Vec<String>> {
    let mut terms: Vec<Vec<String>> = split_top(predicate, " AND ")
        .into_iter()
        .map(|term| {
            let inner = match term.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
                Some(inner) if split_top(&term, " OR ").len() == 1 => inner.to_owned(),
                _ => term.clone(),
            };
            let mut alternatives = split_top(&inner, " OR ");
            if alternatives.len() == 1 {
                alternatives = vec![term];
            }
            alternatives.sort();
            alternatives
        })
        .collect();
    terms.sort();
    terms
}

/// Rows up to the order of the predicate's terms.
fn canon(rows: &Rows) -> Option<Option<Vec<Vec<String>>>> {
    rows.as_ref().map(|p| p.as_deref().map(canonical))
}

/// A role row's predicate as Superset renders it for `user` (the macros steward renders).
fn render(predicate: &Option<String>, user: &str, email: &str) -> Rows {
    Some(predicate.as_ref().map(|p| {
        p.replace("{{ current_username() }}", user)
            .replace("{{ current_user_email() }}", email)
    }))
}

/// What a report was compared on.
#[derive(Debug, Default)]
pub struct Compared {
    /// (user, dataset) → rows before and after, as steward lists them.
    pub listed: BTreeMap<(String, String), (Rows, Rows)>,
    /// (user, dataset) pairs steward does not list where the user may query the dataset on
    /// either side (Superset shows the same rows before and after for each).
    pub unlisted_with_access: usize,
    /// (dataset, role or `*`) → the users Superset showed the row's predicates to.
    pub role_rows: BTreeMap<(String, String), Vec<String>>,
    /// (dataset, role or `*`) without a row whose members Superset shows the same rows.
    pub unchanged_roles: usize,
}

/// Checks the `impact.datasets` of a `steward diff --output json` report against Superset before
/// and after the change: each listed user's access and predicates on both sides are Superset's
/// and differ; every other user (Superset's, before or after) sees the same rows on both sides
/// of every dataset; each per-role row (`*`: roles no filter names) holds for every user whose
/// effective roles among those the dataset's filters name are that role alone (none, for `*`) on
/// both sides and who may query the dataset, with at least one such user; and members of roles
/// without a row see the same rows on both sides (unless their e-mail changes).
pub fn check_report(report: &Value, before: &Snapshot, after: &Snapshot) -> Compared {
    let mut compared = Compared::default();
    let mut role_rows = RoleRows::new();
    for entry in report["impact"]["datasets"].as_array().unwrap() {
        let dataset = s(&entry["dataset"]);
        assert_eq!(entry["moreUsers"], 0, "every user listed: {entry}");
        let predicate = |v: &Value| v.as_str().map(str::to_owned);
        for row in entry["users"].as_array().unwrap() {
            let side = |access: &str, rows: &str| -> Rows {
                (row[access] == true).then(|| predicate(&row[rows]))
            };
            compared.listed.insert(
                (s(&row["who"]), dataset.clone()),
                (side("accessBefore", "before"), side("accessAfter", "after")),
            );
        }
        for row in entry["roles"].as_array().unwrap() {
            role_rows.insert(
                (dataset.clone(), s(&row["who"])),
                (predicate(&row["before"]), predicate(&row["after"])),
            );
        }
    }
    let users: BTreeSet<&String> = before.users.keys().chain(after.users.keys()).collect();
    let datasets: BTreeSet<&String> = before.rows.keys().map(|(_, d)| d).collect();
    for (user, dataset) in compared.listed.keys() {
        assert!(
            datasets.contains(dataset),
            "steward lists {user} on {dataset}, which Superset does not hold"
        );
    }
    for user in &users {
        for dataset in &datasets {
            let (b, a) = (before.rows(user, dataset), after.rows(user, dataset));
            let key = ((*user).clone(), (*dataset).clone());
            match compared.listed.get(&key) {
                Some((listed_b, listed_a)) => {
                    assert_eq!(
                        canon(&b),
                        canon(listed_b),
                        "{user} on {dataset} before the change: Superset {b:?}, steward {listed_b:?}"
                    );
                    assert_eq!(
                        canon(&a),
                        canon(listed_a),
                        "{user} on {dataset} after the change: Superset {a:?}, steward {listed_a:?}"
                    );
                    assert_ne!(
                        canon(&b),
                        canon(&a),
                        "steward lists {user} on {dataset}; Superset shows the same rows: {b:?}"
                    );
                }
                None => {
                    assert_eq!(
                        canon(&b),
                        canon(&a),
                        "{user} on {dataset}: Superset shows {b:?} before and {a:?} after; \
                         steward does not list the user"
                    );
                    if b.is_some() || a.is_some() {
                        compared.unlisted_with_access += 1;
                    }
                }
            }
        }
    }
    // Every listed user was compared above: one Superset holds, before or after.
    for ((user, dataset), (b, a)) in &compared.listed {
        assert!(
            users.contains(user),
            "steward lists {user} on {dataset} ({b:?} → {a:?}); Superset has no such user"
        );
    }
    check_role_rows(&role_rows, before, after, &mut compared);
    compared
}

/// (dataset, role or `*`) → the predicates before and after, as steward lists them.
type RoleRows = BTreeMap<(String, String), (Option<String>, Option<String>)>;

/// The per-role rows, against the users holding each role alone among the named ones.
fn check_role_rows(rows: &RoleRows, before: &Snapshot, after: &Snapshot, compared: &mut Compared) {
    let datasets: BTreeSet<&String> = before.rows.keys().map(|(_, d)| d).collect();
    for dataset in datasets {
        let no_roles = BTreeSet::new();
        let named: BTreeSet<&String> = before
            .named
            .get(dataset)
            .unwrap_or(&no_roles)
            .iter()
            .chain(after.named.get(dataset).unwrap_or(&no_roles))
            .collect();
        let star = "*".to_owned();
        let keys: BTreeSet<&String> = named
            .iter()
            .copied()
            .chain([&star])
            .chain(rows.keys().filter(|(d, _)| d == dataset).map(|(_, w)| w))
            .collect();
        for key in keys {
            let alone: BTreeSet<&String> = [key].into_iter().filter(|k| **k != "*").collect();
            let holds_alone = |person: &Person| {
                person
                    .roles
                    .iter()
                    .filter(|r| named.contains(r))
                    .collect::<BTreeSet<_>>()
                    == alone
            };
            let members: Vec<&String> = before
                .users
                .iter()
                .filter(|(user, person)| {
                    holds_alone(person)
                        && after.users.get(*user).is_some_and(holds_alone)
                        && before.rows(user, dataset).is_some()
                        && after.rows(user, dataset).is_some()
                })
                .map(|(user, _)| user)
                .collect();
            let row = rows.get(&(dataset.clone(), key.clone()));
            let Some((row_before, row_after)) = row else {
                // Members whose e-mail changes may see another rendering of the same predicate
                // (their own rows say so).
                let same_email =
                    |user: &&&String| before.users[**user].email == after.users[**user].email;
                for user in members.iter().filter(same_email) {
                    let (b, a) = (before.rows(user, dataset), after.rows(user, dataset));
                    assert_eq!(
                        canon(&b),
                        canon(&a),
                        "no row for role {key} on {dataset}; Superset shows its member {user} \
                         {b:?} before and {a:?} after"
                    );
                }
                if !members.is_empty() {
                    compared.unchanged_roles += 1;
                }
                continue;
            };
            assert!(
                !members.is_empty(),
                "row for role {key} on {dataset}: Superset holds no user with that role alone \
                 among {named:?} who may query {dataset} before and after"
            );
            for user in &members {
                for (snapshot, predicate, when) in [
                    (before, row_before, "before the change"),
                    (after, row_after, "after the change"),
                ] {
                    let superset = snapshot.rows(user, dataset);
                    let steward = render(predicate, user, &snapshot.users[*user].email);
                    assert_eq!(
                        canon(&superset),
                        canon(&steward),
                        "role {key} on {dataset} {when}, for its member {user}: Superset \
                         {superset:?}, steward {steward:?}"
                    );
                }
            }
            compared.role_rows.insert(
                (dataset.clone(), key.clone()),
                members.into_iter().cloned().collect(),
            );
        }
    }
}
