//! The access impact `diff` reports, against what the real Superset 6.1 does: for a changed RLS
//! filter, the predicate steward reports for each affected user, before and after, is the WHERE
//! clause Superset puts in that user's `POST /api/v1/chart/data` SQL (up to the order of the
//! terms, which Superset leaves to the database).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::repo;
use crate::services::{env, steward, steward_ok};
use crate::superset_api::{Content, Superset, clean_start, exclusive, mint_token};

/// The examples with the EU filter widened and the sales reps' own-accounts filter (Jinja)
/// extended to co-owners.
fn changed_examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if name == "rls.yaml" {
            text = text.replacen(
                "clause: region = 'EU'",
                "clause: region = 'EU' OR (region = 'UK' AND fiscal_year >= 2020)",
                1,
            );
            text = text.replacen(
                "clause: account_owner = '{{ current_username() }}'",
                "clause: \"account_owner = '{{ current_username() }}' OR co_owner = '{{ current_username() }}'\"",
                1,
            );
        }
        std::fs::write(dir.path().join(&name), text).unwrap();
    }
    dir
}

/// The WHERE clause of a query, on one line.
fn where_clause(sql: &str) -> Option<String> {
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
fn canonical(predicate: &str) -> Vec<Vec<String>> {
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

#[test]
fn reported_rls_predicates_are_the_ones_superset_applies() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let org = repo().join("examples/org");
    steward_ok(&["apply", org.to_str().unwrap(), "--database", &url], 0);
    let changed = changed_examples();
    let out = steward(&[
        "diff",
        changed.path().to_str().unwrap(),
        "--database",
        &url,
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let datasets = report["impact"]["datasets"].as_array().unwrap();
    assert!(!datasets.is_empty(), "{report:#}");

    let ss = Superset::connect();
    let content = Content::read(&ss);
    let user_ids: BTreeMap<String, i64> = ss
        .users()
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap().to_owned(),
                u["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let superset_where = |user: &str, dataset: &str| -> Option<String> {
        let (id, _) = content.dataset(dataset);
        let sql = ss.query_sql(&mint_token(user_ids[user]), id, user);
        where_clause(&sql)
    };
    // (user, dataset, what steward predicts) for before and after.
    let mut compared = 0;
    let mut predicted = Vec::new();
    for dataset in datasets {
        let name = dataset["dataset"].as_str().unwrap();
        for change in dataset["users"].as_array().unwrap() {
            let user = change["who"].as_str().unwrap().to_owned();
            let before = change["before"].as_str().map(str::to_owned);
            let after = change["after"].as_str().map(str::to_owned);
            let now = superset_where(&user, name);
            assert_eq!(
                now.as_deref().map(canonical),
                before.as_deref().map(canonical),
                "{user} on {name} before the change: Superset {now:?}, steward {before:?}"
            );
            predicted.push((user, name.to_owned(), after));
        }
    }
    steward_ok(
        &[
            "apply",
            changed.path().to_str().unwrap(),
            "--database",
            &url,
        ],
        0,
    );
    for (user, dataset, after) in &predicted {
        let now = superset_where(user, dataset);
        assert_eq!(
            now.as_deref().map(canonical),
            after.as_deref().map(canonical),
            "{user} on {dataset} after the change: Superset {now:?}, steward {after:?}"
        );
        compared += 1;
    }
    assert!(compared >= 4, "users compared: {predicted:?}");
    assert!(
        predicted.iter().any(|(user, _, after)| after
            .as_deref()
            .is_some_and(|a| a.contains(&format!("co_owner = '{user}'")))),
        "a Jinja clause rendered for its user: {predicted:?}"
    );
    clean_start(&url);
}
