//! Names that differ only in letter case or Unicode form: the first-use corpus
//! `tests/corpus/first-use/duplicates/` (within the declared set), and against what Superset
//! already holds, on SQLite and PostgreSQL.

use crate::corpus;
use crate::services::{Db, steward, steward_ok};

#[test]
fn first_use_duplicates_corpus() {
    assert!(corpus::files("first-use/duplicates").len() >= 10);
    let failures = corpus::mismatches("first-use/duplicates");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Adds a row Superset holds and steward does not manage, with the next free id.
fn insert(db: &Db, table: &str, columns: &str, values: &str) {
    db.sql(&format!(
        "INSERT INTO {table} (id, {columns}) SELECT COALESCE(MAX(id), 0) + 1, {values} FROM {table}"
    ));
}

fn user(meta: &str, username: &str, email: &str) -> String {
    format!(
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: {meta}\nspec:\n  username: \"{username}\"\n  firstName: A\n  lastName: B\n  email: \"{email}\"\n---\n"
    )
}

fn role(meta: &str, name: &str) -> String {
    format!(
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: {meta}\nspec:\n  name: \"{name}\"\n  includes: [Gamma]\n---\n"
    )
}

/// Applies `manifests` to `db`, expecting a refusal; returns standard error.
fn refused(db: &Db, manifests: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("set.yaml");
    std::fs::write(&file, manifests).unwrap();
    let out = steward(&[
        "apply",
        &file.display().to_string(),
        "--database",
        &db.url(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}: {stderr}", db.label());
    stderr
}

#[test]
fn a_username_or_email_superset_holds_in_another_case_is_refused() {
    for db in Db::each_backend("casedup") {
        steward_ok(&["init", "--database", &db.url()], 0);
        insert(
            &db,
            "ab_user",
            "first_name, last_name, username, active, email",
            "'Ana', 'Alves', 'ana.alves', true, 'ana.alves@corp.example.com'",
        );
        let stderr = refused(
            &db,
            &(user("ana", "Ana.Alves", "ana@corp.example.com")
                + &user("bob", "bob", "ANA.ALVES@Corp.Example.com")),
        );
        assert!(
            stderr.contains("SupersetUser `Ana.Alves` and `ana.alves`, which Superset already holds, differ only in letter case: Flask-AppBuilder looks usernames up case-insensitively"),
            "{}: {stderr}",
            db.label()
        );
        assert!(
            stderr.contains("e-mail `ANA.ALVES@Corp.Example.com` is Superset's user `ana.alves`'s `ana.alves@corp.example.com`"),
            "{}: {stderr}",
            db.label()
        );
        let same =
            db.sql("SELECT count(*) FROM ab_user WHERE lower(username) IN ('ana.alves', 'bob')");
        assert_eq!(same.trim(), "1", "{}: nothing was written", db.label());
    }
}

#[test]
fn a_role_superset_holds_in_another_unicode_form_is_refused_and_another_case_warned() {
    let nfc = "An\u{e1}lise";
    let nfd = "Ana\u{301}lise";
    for db in Db::each_backend("rolefold") {
        steward_ok(&["init", "--database", &db.url()], 0);
        insert(&db, "ab_role", "name", &format!("'{nfc}'"));
        let stderr = refused(&db, &(role("analise", nfd) + &role("gamma", "gamma")));
        assert!(
            stderr.contains(&format!("SupersetRole `{nfd}` and `{nfc}`, which Superset already holds, are the same text in different Unicode forms")),
            "{}: {stderr}",
            db.label()
        );
        assert!(
            stderr.contains("SupersetRole `gamma` and `Gamma`, which Superset already holds, differ only in letter case: Superset keeps both"),
            "{}: {stderr}",
            db.label()
        );
        let roles = db.sql("SELECT count(*) FROM ab_role WHERE name IN ('gamma')");
        assert_eq!(roles.trim(), "0", "{}: nothing was written", db.label());
    }
}
