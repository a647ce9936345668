//! What the README promises of `steward export`, on both backends: each file's header names the
//! database it came from (its password masked), a file holding a webhook URL is named in a
//! warning, charts and dashboards are written by uuid (the uuids the database holds), and
//! users, roles, groups, RLS filters, schedules and the configuration survive the round trip
//! (exported, applied to a copy of the database taken before they existed, exported again:
//! the same files).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::reconcile::{edited_examples, init_demo, path_str};
use crate::services::{Db, steward, steward_ok};

const WEBHOOK: &str = "https://hooks.corp.example.com/services/T0/B0/export-promise";

/// Every exported file by relative path: (header line, the rest).
fn exported(dir: &Path) -> BTreeMap<String, (String, String)> {
    crate::export_roundtrip::files(dir)
        .into_iter()
        .map(|(path, body)| {
            let text = std::fs::read_to_string(dir.join(&path)).unwrap();
            let header = text.lines().next().unwrap_or_default().to_owned();
            (path, (header, body))
        })
        .collect()
}

/// `uuid` of the item of `references --output json`'s `section` whose `key` is `value`.
pub(crate) fn uuid_of(references: &Value, section: &str, key: &str, value: &str) -> String {
    references[section]
        .as_array()
        .into_iter()
        .flatten()
        .find(|item| item[key] == value)
        .and_then(|item| item["uuid"].as_str())
        .unwrap_or_else(|| panic!("no {section} with {key} {value:?}: {references}"))
        .to_owned()
}

#[test]
fn export_names_its_source_warns_of_webhooks_and_round_trips_every_kind() {
    for db in Db::each_backend("export_promises") {
        let label = db.label();
        init_demo(&db);
        // The database before anything was applied, to apply the export to.
        let fresh = db.copy("export_promises_fresh");
        let url = db.url();
        let org = edited_examples(|name, text| {
            if name != "schedules.yaml" {
                return text;
            }
            text.replacen(
                "      channels: [\"#sales-pipeline\"]\n",
                &format!(
                    "      channels: [\"#sales-pipeline\"]\n    webhook:\n      url: {WEBHOOK}\n"
                ),
                1,
            )
        });
        steward_ok(&["apply", &path_str(org.path()), "--database", &url], 0);

        let first = tempfile::tempdir().unwrap();
        let out = steward(&["export", &path_str(first.path()), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{label}: {stderr}");
        let files = exported(first.path());

        // Every kind, the configuration and groups included.
        let dirs: std::collections::BTreeSet<&str> = files
            .keys()
            .filter_map(|p| p.split_once('/').map(|(d, _)| d))
            .collect();
        assert_eq!(
            dirs.into_iter().collect::<Vec<_>>(),
            ["config", "groups", "rls", "roles", "schedules", "users"],
            "{label}"
        );

        // The header names the database, its password masked, and the object.
        let shown = match &db {
            Db::Pg(pg) => {
                let password = "stw-pg-3c9f";
                assert!(pg.url.contains(password), "{label}: {}", pg.url);
                pg.url.replace(password, "***")
            }
            Db::Sqlite { .. } => url.clone(),
        };
        for (path, (header, _)) in &files {
            assert!(
                header.starts_with("# Exported by steward ")
                    && header.contains(&format!("from \"{shown}\": ")),
                "{label}: {path} header {header:?} does not name {shown:?}"
            );
            assert!(!header.contains("stw-pg-3c9f"), "{label}: {header}");
        }
        let (header, _) = &files["schedules/daily-pipeline-by-stage.yaml"];
        assert!(
            header.ends_with(": ReportSchedule \"Daily pipeline by stage\"."),
            "{label}: {header}"
        );

        // Exactly the one file with a webhook URL is named in a warning.
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("holds a webhook URL"))
            .collect();
        let schedule_file = first.path().join("schedules/daily-pipeline-by-stage.yaml");
        assert_eq!(
            warnings,
            [format!(
                "warning: {} holds a webhook URL, which may carry a token: keep it out of version control or replace it before committing",
                schedule_file.display()
            )],
            "{label}: {stderr}"
        );
        assert!(
            files["schedules/daily-pipeline-by-stage.yaml"]
                .1
                .contains(WEBHOOK)
        );

        // Charts and dashboards by the uuid the database holds.
        let references: Value = serde_json::from_str(&steward_ok(
            &["references", "--database", &url, "--output", "json"],
            0,
        ))
        .unwrap();
        for (file, target, uuid) in [
            (
                "schedules/weekly-finance-overview.yaml",
                "dashboard",
                uuid_of(&references, "dashboards", "slug", "finance-overview"),
            ),
            (
                "schedules/daily-pipeline-by-stage.yaml",
                "chart",
                uuid_of(&references, "charts", "name", "Pipeline by stage"),
            ),
            (
                "schedules/unbalanced-journal-entries.yaml",
                "dashboard",
                uuid_of(&references, "dashboards", "slug", "audit-journal"),
            ),
        ] {
            let body = &files[file].1;
            assert!(
                body.contains(&format!("  {target}:\n    uuid: {uuid}\n")),
                "{label}: {file} names its {target} by uuid {uuid}:\n{body}"
            );
        }

        // Applied to the database as it was before (`--adopt`: on PostgreSQL it already holds
        // Superset's `admin`, exported too), and exported again: the same files.
        steward_ok(
            &[
                "apply",
                &path_str(first.path()),
                "--database",
                &fresh.url(),
                "--adopt",
            ],
            0,
        );
        let second = tempfile::tempdir().unwrap();
        steward_ok(
            &[
                "export",
                &path_str(second.path()),
                "--database",
                &fresh.url(),
            ],
            0,
        );
        let again = exported(second.path());
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            again.keys().collect::<Vec<_>>(),
            "{label}"
        );
        for (path, (_, body)) in &files {
            assert_eq!(body, &again[path].1, "{label}: {path} after the round trip");
        }
        // And that copy holds what the organisation declares (`--no-prune`: the adopted `admin`
        // is not in it).
        steward_ok(
            &[
                "diff",
                &path_str(org.path()),
                "--database",
                &fresh.url(),
                "--no-prune",
            ],
            0,
        );
    }
}
