//! What the README promises of the access impact that the other impact tests do not reach, on
//! both backends: at most 100 users listed per dataset and the rest counted (text, Markdown and
//! JSON alike), and `{{ current_user_email() }}` rendered with each listed user's own e-mail.

use std::fmt::Write as _;

use serde_json::Value;

use crate::reconcile::{init_demo, path_str};
use crate::services::{Db, steward_ok};

const USERS: usize = 130;

/// A role reading `warehouse.finance.invoices` and `USERS` users holding it.
fn readers() -> String {
    let mut yaml = String::from(
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: cap-readers\nspec:\n  name: Cap Readers\n  dataAccess:\n    datasets: [warehouse.finance.invoices]\n",
    );
    for i in 0..USERS {
        let _ = write!(
            yaml,
            "---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: cap-{i:03}\nspec:\n  firstName: Cap\n  lastName: \"{i:03}\"\n  email: cap-{i:03}@corp.example.com\n  roles: [Cap Readers]\n"
        );
    }
    yaml
}

const FILTER: &str = "apiVersion: steward.dev/v1alpha1\nkind: RowLevelSecurityFilter\nmetadata:\n  name: own-invoices\n  namespace: cap\nspec:\n  filterType: Regular\n  roles: [Cap Readers]\n  datasets: [warehouse.finance.invoices]\n  clause: \"owner_email = '{{ current_user_email() }}'\"\n";

#[test]
fn impact_lists_100_users_per_dataset_and_renders_their_emails() {
    for db in Db::each_backend("impact_promises") {
        let label = db.label();
        init_demo(&db);
        let url = db.url();
        let before = tempfile::tempdir().unwrap();
        std::fs::write(before.path().join("readers.yaml"), readers()).unwrap();
        steward_ok(&["apply", &path_str(before.path()), "--database", &url], 0);
        let after = tempfile::tempdir().unwrap();
        std::fs::write(after.path().join("readers.yaml"), readers()).unwrap();
        std::fs::write(after.path().join("filter.yaml"), FILTER).unwrap();
        let diff = |output: &str| {
            steward_ok(
                &[
                    "diff",
                    &path_str(after.path()),
                    "--database",
                    &url,
                    "--output",
                    output,
                ],
                2,
            )
        };

        let json: Value = serde_json::from_str(&diff("json")).unwrap();
        let datasets = json["impact"]["datasets"].as_array().unwrap();
        assert_eq!(datasets.len(), 1, "{label}: {datasets:?}");
        let invoices = &datasets[0];
        assert_eq!(invoices["dataset"], "warehouse.finance.invoices");
        let users = invoices["users"].as_array().unwrap();
        assert_eq!(users.len(), 100, "{label}: users listed");
        assert_eq!(invoices["moreUsers"], USERS - 100, "{label}: users counted");
        for user in users {
            let name = user["who"].as_str().unwrap();
            assert!(name.starts_with("cap-"), "{label}: {user}");
            // Each listed user's predicate carries that user's own e-mail, as Superset renders it.
            assert_eq!(user["before"], Value::Null, "{label}: {user}");
            assert_eq!(
                user["after"],
                format!("(owner_email = '{name}@corp.example.com')"),
                "{label}: {user}"
            );
        }
        // The role's row keeps the macro: it is not one user's predicate.
        assert_eq!(
            invoices["roles"][0]["after"], "(owner_email = '{{ current_user_email() }}')",
            "{label}: {invoices}"
        );

        let text = diff("text");
        assert_eq!(text.matches("\n    user cap-").count(), 100, "{label}");
        assert!(
            text.contains(&format!("    … and {} more users\n", USERS - 100)),
            "{label}: {text}"
        );
        assert!(
            text.contains("+ (owner_email = 'cap-000@corp.example.com')"),
            "{label}"
        );
        let markdown = diff("markdown");
        assert!(
            markdown.contains(&format!("| … and {} more users | | |", USERS - 100)),
            "{label}: {markdown}"
        );
    }
}
