//! The access impact `diff` reports, against what the real Superset 6.1 does (read as in
//! `superset_rows`): every user Superset holds on every dataset, before and after the apply,
//! whether steward lists them or not, and the per-role rows; for a change made for this test
//! with users of every kind, and for the change the golden files (`tests/golden/diff.*`) show,
//! whose predicates are taken from the golden JSON itself.

use std::path::Path;

use serde_json::Value;

use crate::diff_outputs;
use crate::repo;
use crate::services::{env, steward, steward_ok};
use crate::superset_api::{Content, Superset, clean_start, exclusive, forget_user_activity};
use crate::superset_rows::{Compared, Rows, Snapshot, check_report};

/// The examples, with users who cover the cases the report tells apart: each finance role and
/// the sales manager role held alone (the per-role rows), access through two roles, a second
/// member of a group, a role no filter names that grants every dataset, a role granting none
/// (the Base filter reaches them), no role at all, Superset's built-in Admin, and a finance
/// analyst who leaves.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.ends_with("users.yaml") {
            for (name, roles) in [
                ("fin.analyst", "[Finance Analyst]"),
                ("fin.controller", "[Finance Controller]"),
                ("two.roles", "[Finance Analyst, Audit Reader]"),
                ("audit.reader", "[Audit Reader]"),
                ("no.access", "[Dashboard Viewer]"),
                ("no.roles", "[]"),
                ("admin.like", "[Admin]"),
                ("audit.member", "[]"),
                ("sales.manager", "[Sales Manager]"),
                ("leaver", "[Finance Analyst]"),
            ] {
                text.push_str(&user_yaml(name, roles));
            }
        }
        if path.ends_with("groups.yaml") {
            text = text.replacen("users: [ines.iyer]", "users: [ines.iyer, audit.member]", 1);
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

fn user_yaml(name: &str, roles: &str) -> String {
    format!(
        "---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: {name}\n\
         spec:\n  firstName: Test\n  lastName: User\n  email: {name}@corp.example.com\n  roles: {roles}\n"
    )
}

/// Replaces the first `from` in `dir/file`; panics when it is not there.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    diff_outputs::edit_file(&dir.join(file), from, to);
}

/// The fixture with the EU filter widened, the sales reps' own-accounts filter (Jinja) extended
/// to co-owners, the sales managers' to their e-mail, the Base filter hiding confidential rows
/// loosened (it reaches users with no access to its datasets too), ana.alves out of the finance
/// team (she loses every role that grants the finance datasets), internal audit given the
/// finance controller role through its group, the sales report runner given the audit schema,
/// the leaver deactivated and a new finance analyst.
fn changed_fixture() -> tempfile::TempDir {
    let dir = fixture();
    let path = dir.path();
    edit(
        path,
        "rls.yaml",
        "clause: region = 'EU'",
        "clause: region = 'EU' OR (region = 'UK' AND fiscal_year >= 2020)",
    );
    edit(
        path,
        "rls.yaml",
        "clause: account_owner = '{{ current_username() }}'",
        "clause: \"account_owner = '{{ current_username() }}' OR co_owner = '{{ current_username() }}'\"",
    );
    edit(
        path,
        "rls.yaml",
        "clause: confidential = false",
        "clause: confidential = false OR id < 0",
    );
    edit(
        path,
        "rls.yaml",
        "clause: team_lead = '{{ current_username() }}'",
        "clause: \"team_lead = '{{ current_username() }}' OR team_lead_email = '{{ current_user_email() }}'\"",
    );
    edit(
        path,
        "groups.yaml",
        "users: [ana.alves, dmitri.brandt]",
        "users: [dmitri.brandt]",
    );
    edit(
        path,
        "groups.yaml",
        "roles: [Audit Investigator]",
        "roles: [Audit Investigator, Finance Controller]",
    );
    edit(
        path,
        "roles.yaml",
        "schemas: [warehouse.sales]",
        "schemas: [warehouse.sales, warehouse.audit]",
    );
    edit(
        path,
        "users.yaml",
        "  email: leaver@corp.example.com\n",
        "  email: leaver@corp.example.com\n  active: false\n",
    );
    let users = path.join("users.yaml");
    let mut text = std::fs::read_to_string(&users).unwrap();
    text.push_str(&user_yaml("new.analyst", "[Finance Analyst]"));
    std::fs::write(users, text).unwrap();
    dir
}

/// Applies `before`, reads Superset, runs `diff` to `after` (the JSON report), applies `after`,
/// reads Superset again; the report and the two readings.
fn apply_both(url: &str, before: &Path, after: &Path) -> (Value, Snapshot, Snapshot) {
    clean_start(url);
    steward_ok(&["apply", before.to_str().unwrap(), "--database", url], 0);
    let ss = Superset::connect();
    let content = Content::read(&ss);
    let read_before = Snapshot::take(&ss, &content);
    // The requests leave log rows that would keep steward from deleting their users.
    forget_user_activity(url);
    let out = steward(&[
        "diff",
        after.to_str().unwrap(),
        "--database",
        url,
        "--output",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    steward_ok(&["apply", after.to_str().unwrap(), "--database", url], 0);
    let read_after = Snapshot::take(&ss, &content);
    forget_user_activity(url);
    (report, read_before, read_after)
}

fn listed(compared: &Compared, user: &str, dataset: &str) -> Option<(Rows, Rows)> {
    compared
        .listed
        .get(&(user.to_owned(), dataset.to_owned()))
        .cloned()
}

#[test]
fn every_user_and_role_row_is_what_superset_applies() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    let (before, after) = (fixture(), changed_fixture());
    let (report, read_before, read_after) = apply_both(&url, before.path(), after.path());
    let compared = check_report(&report, &read_before, &read_after);
    clean_start(&url);

    // She loses access rather than gaining every row; he gains it; nobody without access on
    // either side is listed (a sales rep, and users with no data access at all, under the
    // filters the Base filter's change reaches).
    let invoices = "warehouse.finance.invoices";
    assert!(
        matches!(
            listed(&compared, "ana.alves", invoices),
            Some((Some(_), None))
        ),
        "{compared:#?}"
    );
    assert!(
        matches!(
            listed(&compared, "new.analyst", invoices),
            Some((None, Some(_)))
        ),
        "{compared:#?}"
    );
    // Deactivated: no access (Superset does not load the user), not every row.
    assert!(
        matches!(listed(&compared, "leaver", invoices), Some((Some(_), None))),
        "{compared:#?}"
    );
    // A role gained through a group adds its filter to what she saw unfiltered; a role that
    // starts granting a schema gives its holder the Base filter's rows.
    assert!(
        matches!(
            listed(&compared, "ines.iyer", invoices),
            Some((Some(None), Some(Some(_))))
        ),
        "{compared:#?}"
    );
    assert!(
        matches!(
            listed(
                &compared,
                "svc-sales-reports",
                "warehouse.audit.journal_entries"
            ),
            Some((None, Some(Some(_))))
        ),
        "{compared:#?}"
    );
    for user in ["no.access", "no.roles"] {
        assert!(
            compared.listed.keys().all(|(u, _)| u != user),
            "{user}: {compared:#?}"
        );
    }
    assert_eq!(
        listed(&compared, "ben.chen", "warehouse.finance.payments"),
        None
    );
    assert!(
        compared
            .listed
            .values()
            .all(|(b, a)| b.is_some() || a.is_some()),
        "{compared:#?}"
    );
    // Admin is no exception: the Base filter reaches it.
    assert!(
        listed(&compared, "admin.like", "warehouse.audit.journal_entries").is_some(),
        "{compared:#?}"
    );
    assert!(
        compared.listed.iter().any(|((user, _), (_, after))| after
            .clone()
            .flatten()
            .is_some_and(|a| a.contains(&format!("co_owner = '{user}'")))),
        "a Jinja clause rendered for its user: {compared:#?}"
    );
    // What was compared: users of every kind listed, many left out, and every per-role row
    // the change makes (a finance role alone, a sales role with Jinja, roles no filter names).
    assert!(compared.listed.len() >= 15, "{compared:#?}");
    assert!(compared.unlisted_with_access >= 20, "{compared:#?}");
    for (dataset, who) in [
        (invoices, "Finance Analyst"),
        ("warehouse.finance.payments", "Finance Analyst"),
        ("warehouse.finance.payments", "Finance Controller"),
        ("warehouse.finance.payments", "*"),
        ("warehouse.audit.journal_entries", "*"),
        ("warehouse.sales.accounts", "Sales Analyst"),
        ("warehouse.sales.opportunities", "Sales Manager"),
    ] {
        assert!(
            compared
                .role_rows
                .contains_key(&(dataset.to_owned(), who.to_owned())),
            "{dataset} {who}: {compared:#?}"
        );
    }
    assert!(compared.unchanged_roles >= 3, "{compared:#?}");
}

/// A filter rendering `{{ current_user_email() }}` on the audit journal, for the audit roles.
const EMAIL_FILTER: &str = "---
apiVersion: steward.dev/v1alpha1
kind: RowLevelSecurityFilter
metadata:
  name: audit-reviewer
spec:
  name: Reviewers see the entries they review
  filterType: Regular
  roles: [Audit Reader, Audit Investigator]
  datasets: [warehouse.audit.journal_entries]
  clause: reviewer = '{{ current_user_email() }}'
";

/// The fixture with [`EMAIL_FILTER`].
fn fixture_with_email_filter() -> tempfile::TempDir {
    let dir = fixture();
    let rls = dir.path().join("rls.yaml");
    let mut text = std::fs::read_to_string(&rls).unwrap();
    text.push_str(EMAIL_FILTER);
    std::fs::write(rls, text).unwrap();
    dir
}

/// Only e-mails change, under a filter rendering them that stays the same: Superset's predicate
/// changes for those users (one holding the role directly, one through a group) and nobody else.
#[test]
fn an_email_change_under_an_email_filter_is_listed() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    let (before, after) = (fixture_with_email_filter(), fixture_with_email_filter());
    let changed = [
        (
            "audit.reader@corp.example.com",
            "audit.reader@audit.corp.example.com",
        ),
        (
            "audit.member@corp.example.com",
            "audit.member@audit.corp.example.com",
        ),
    ];
    for (from, to) in changed {
        edit(after.path(), "users.yaml", from, to);
    }
    let (report, read_before, read_after) = apply_both(&url, before.path(), after.path());
    let compared = check_report(&report, &read_before, &read_after);
    clean_start(&url);
    // Superset's predicates, checked above, hold the new addresses.
    for (user, (_, email)) in ["audit.reader", "audit.member"].into_iter().zip(changed) {
        let found = listed(&compared, user, "warehouse.audit.journal_entries");
        assert!(
            found
                .as_ref()
                .and_then(|(_, after)| after.clone().flatten())
                .is_some_and(|p| p.contains(&format!("reviewer = '{email}'"))),
            "{user}: {compared:#?}"
        );
    }
    assert_eq!(compared.listed.len(), 2, "{compared:#?}");
}

/// The golden JSON's impact section, for the change the golden files show applied to the real
/// Superset: each predicate and access it lists is Superset's, and every user and role it
/// leaves out sees the same rows before and after.
#[test]
fn golden_predicates_are_the_ones_superset_applies() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    let after = diff_outputs::changed_examples();
    let (fresh, read_before, read_after) =
        apply_both(&url, &repo().join("examples/org"), after.path());
    clean_start(&url);
    let path = repo().join("tests/golden/diff.json");
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let compared = check_report(&golden, &read_before, &read_after);
    // Every predicate in the golden file was compared: each user row and each role row.
    let datasets = golden["impact"]["datasets"].as_array().unwrap();
    let count = |key: &str| -> usize {
        datasets
            .iter()
            .map(|d| d[key].as_array().unwrap().len())
            .sum()
    };
    assert!(count("users") > 0 && count("roles") > 0, "{golden:#}");
    assert_eq!(compared.listed.len(), count("users"), "{compared:#?}");
    assert_eq!(compared.role_rows.len(), count("roles"), "{compared:#?}");
    // The same change on Superset's own content reports the same rows (the golden file is
    // made on steward's demo content).
    assert_eq!(
        fresh["impact"]["datasets"], golden["impact"]["datasets"],
        "the golden impact differs from the one reported on Superset's content"
    );
}
