//! Jinja in RLS clauses: every file of the hostile corpus `tests/corpus/hostile/rls-jinja/` ends
//! as its `# expect:` line says ([`corpus`]); the `ok-*` files are the accepted forms.

use steward::diagnostic::Severity;
use steward::validation::validate_paths;

use crate::corpus;
use crate::repo;
use crate::services::{env, psql, steward_ok};
use crate::superset_api::{Content, Superset, clean_start, exclusive, mint_token};

#[test]
fn hostile_rls_jinja_corpus() {
    let files = corpus::files("hostile/rls-jinja");
    let accepted = files
        .iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("ok-"))
        .count();
    assert!(files.len() - accepted >= 25, "hostile variants");
    assert!(accepted >= 10, "accepted forms");
    let failures = corpus::mismatches("hostile/rls-jinja");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The example: `~` concatenation inside a macro expression renders `1=1`.
#[test]
fn concatenation_through_a_user_macro_is_refused() {
    let file = repo().join("tests/corpus/hostile/rls-jinja/concat-tilde.yaml");
    let set = validate_paths(&[file.display().to_string()]);
    let error = set
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("the clause is refused");
    assert_eq!(error.code.as_str(), "invalid-rls-clause");
    assert_eq!(error.field.as_deref(), Some("spec.clause"));
    assert!(
        error.message.contains("not a bare macro call"),
        "{}",
        error.message
    );
}

/// Against the real Superset 6.1: the accepted forms render to the user's own values, and the
/// refused `~` form (written around steward, straight into the database) renders to a
/// predicate every row meets.
#[test]
fn accepted_forms_render_to_the_users_values_and_the_refused_form_opens_every_row() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text = text.replacen(
            "clause: account_owner = '{{ current_username() }}'",
            "clause: \"account_owner = '{{ current_username() }}' OR (owner_id = {{ current_user_id() }} AND owner_email = '{{ current_user_email() }}')\"",
            1,
        );
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    steward_ok(
        &["apply", dir.path().to_str().unwrap(), "--database", &url],
        0,
    );
    let ss = Superset::connect();
    let (dataset, _) = Content::read(&ss).dataset("warehouse.sales.accounts");
    let mut checked = 0;
    for user in ss.users() {
        let name = user["username"].as_str().unwrap();
        if !["ben.chen", "greta.dubois"].contains(&name) {
            continue;
        }
        let id = user["id"].as_i64().unwrap();
        let email = user["email"].as_str().unwrap();
        let sql = ss.query_sql(&mint_token(id), dataset, name);
        let expected =
            format!("account_owner = '{name}' OR (owner_id = {id} AND owner_email = '{email}')");
        assert!(
            sql.contains(&expected),
            "{name}: expected `{expected}` in {sql}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "the two sales analysts");

    let hostile = "id = {{ current_user_id() ~ '') OR (1=1 OR '' ~ current_user_id() }}";
    psql(
        &url,
        &format!(
            "UPDATE row_level_security_filters SET clause = '{hostile}' WHERE name = 'Sales reps see their own accounts'"
        ),
    );
    let ben = ss
        .users()
        .into_iter()
        .find(|u| u["username"] == "ben.chen")
        .unwrap();
    let id = ben["id"].as_i64().unwrap();
    let sql = ss.query_sql(&mint_token(id), dataset, "ben.chen");
    assert!(
        sql.contains(&format!("id = {id}) OR (1=1 OR {id}")),
        "Superset renders the refused form to a predicate every row meets: {sql}"
    );
    clean_start(&url);
}
