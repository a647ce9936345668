//! SIP-209 as upstream has it. The global Alerts & Reports configuration: one `key_value` row of
//! the upstream document, written byte for byte as Superset's own codec writes it and read back
//! by Superset's own model and codec (from the 6.1 virtualenv), steward's policy keys in a row
//! of their own, and the move from the `report_config` table earlier steward versions created.
//! `reportFormat: NONE`: an alert without attachment, whose content is optional.

use crate::reconcile::with_content;
use crate::repo_path;
use crate::services::{Db, python, steward, steward_ok, superset_python};

const UPSTREAM_UUID: &str = "d4f7d2f0bbd74d03b1da09c70f5705ec";

/// The stored documents: `(resource, uuid as 32 hex digits, value as text)`.
fn documents(db: &Db) -> Vec<(String, String, String)> {
    let (uuid, value) = match db {
        Db::Sqlite { .. } => ("lower(hex(uuid))", "CAST(value AS TEXT)"),
        Db::Pg(_) => (
            "replace(uuid::text, '-', '')",
            "convert_from(value, 'UTF8')",
        ),
    };
    // One row a line: the document has no newline (JSON escapes them).
    db.sql(&format!(
        "SELECT resource, {uuid}, {value} FROM key_value WHERE resource IN ('alert_report_config', 'steward_report_policy') ORDER BY resource"
    ))
    .lines()
    .map(|line| {
        let mut parts = line.splitn(3, '|');
        let mut next = || parts.next().unwrap_or_default().trim().to_owned();
        (next(), next(), next())
    })
    .collect()
}

fn has_table(db: &Db, table: &str) -> bool {
    let sql = match db {
        Db::Sqlite { .. } => {
            format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        }
        Db::Pg(_) => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
    };
    db.sql(&sql).trim() == "1"
}

/// What Superset's `KeyValueEntry` model and `JsonKeyValueCodec` read from the row with `uuid`,
/// run in Superset 6.1's own virtualenv: `resource <TAB> the decoded document as JSON`.
fn read_by_superset(db: &Db, uuid: &str) -> String {
    let url = match db {
        Db::Sqlite { file, .. } => format!("sqlite:///{}", file.display()),
        Db::Pg(pg) => pg.url.replacen("postgres://", "postgresql://", 1),
    };
    // Superset's models need its app (their column types read its config); the session is
    // bound to the database under test, not to the app's own.
    let script = r#"
import json, sys, uuid
from superset.app import create_app
app = create_app()
with app.app_context():
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from superset.key_value.models import KeyValueEntry
    from superset.key_value.types import JsonKeyValueCodec
    with Session(create_engine(sys.argv[1])) as session:
        entry = session.query(KeyValueEntry).filter_by(uuid=uuid.UUID(sys.argv[2])).one()
        print(entry.resource + "\t" + json.dumps(JsonKeyValueCodec().decode(entry.value), sort_keys=True))
"#;
    // Superset prints which config file it loaded first.
    let stdout = superset_python("Superset reading the key_value row", script, &[&url, uuid]);
    stdout.lines().last().unwrap_or_default().to_owned()
}

/// Python's `json.dumps` of the parsed text: the same bytes when the text is laid out as
/// simplejson (Superset's encoder) writes it.
fn as_python_writes_it(text: &str) -> String {
    python(
        "import json,sys\nprint(json.dumps(json.loads(sys.argv[1])))",
        &[text],
    )
    .trim_end_matches('\n')
    .to_owned()
}

#[test]
fn the_configuration_is_supersets_key_value_document_and_superset_reads_it() {
    for db in with_content("kv_document") {
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let rows = documents(&db);
        assert_eq!(rows.len(), 2, "{}: {rows:?}", db.label());
        let (resource, uuid, value) = &rows[0];
        assert_eq!(
            (resource.as_str(), uuid.as_str()),
            ("alert_report_config", UPSTREAM_UUID)
        );
        // Field by field: the upstream shape, SIP-209's keys only, the manifest's values.
        let document: serde_json::Value = serde_json::from_str(value).unwrap();
        assert_eq!(document["version"], 1);
        let settings = document["settings"].as_object().unwrap();
        let keys: Vec<&str> = settings.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "alert_minimum_interval",
                "alerts_attach_reports",
                "allowed_email_domains",
                "limit_recipients_to_users",
                "report_minimum_interval"
            ],
            "{}",
            db.label()
        );
        assert_eq!(settings["alert_minimum_interval"], 300);
        assert_eq!(settings["report_minimum_interval"], 3600);
        assert_eq!(settings["alerts_attach_reports"], true);
        assert_eq!(settings["limit_recipients_to_users"], true);
        assert_eq!(
            settings["allowed_email_domains"],
            serde_json::json!(["corp.example.com", "*.corp.example.com"])
        );
        assert_eq!(document.as_object().unwrap().len(), 2);
        assert_eq!(*value, as_python_writes_it(value), "{}", db.label());
        // steward's own policy keys sit in their own row, in the same shape.
        let (resource, _, policy) = &rows[1];
        assert_eq!(resource, "steward_report_policy");
        let policy: serde_json::Value = serde_json::from_str(policy).unwrap();
        assert_eq!(
            policy,
            serde_json::json!({"version": 1, "settings": {
                "require_run_as": true,
                "run_as_allowed": {"groups": ["report-service-accounts"], "users": []}
            }})
        );
        assert!(!has_table(&db, "report_config"), "{}", db.label());
        // Superset's own model (uuid type per backend) and codec read the row steward wrote.
        let read = read_by_superset(&db, "d4f7d2f0-bbd7-4d03-b1da-09c70f5705ec");
        let (resource, decoded) = read.split_once('\t').unwrap();
        assert_eq!(resource, "alert_report_config");
        let decoded: serde_json::Value = serde_json::from_str(decoded).unwrap();
        assert_eq!(decoded, document, "{}", db.label());
        steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
    }
}

#[test]
fn a_save_merges_keys_steward_does_not_manage_and_removes_undeclared_ones() {
    let db = with_content("kv_merge").remove(0);
    let url = db.url();
    steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
    // A key a later Superset writes (unknown to steward) and an explicit null.
    let value = r#"{"version": 1, "settings": {"alert_minimum_interval": 300, "alerts_attach_reports": null, "allowed_email_domains": ["corp.example.com", "*.corp.example.com"], "future_setting": "kept", "limit_recipients_to_users": true, "report_minimum_interval": 3600}}"#;
    db.sql(&format!(
        "UPDATE key_value SET value = CAST('{value}' AS BLOB) WHERE resource = 'alert_report_config'"
    ));
    // The stored null differs from the declared `true`: drift, put back on apply.
    let drift = steward_ok(&["diff", &repo_path("examples"), "--database", &url], 2);
    assert!(drift.contains("alertsAttachReports"), "{drift}");
    // Declaring fewer keys removes the others (they fall back to Superset's app config).
    let fewer = crate::reconcile::edited_examples(|name, text| match name {
        "config.yaml" => text.replace("  alertsAttachReports: true\n", ""),
        _ => text,
    });
    steward_ok(
        &[
            "apply",
            &crate::reconcile::path_str(fewer.path()),
            "--database",
            &url,
        ],
        0,
    );
    let document: serde_json::Value = serde_json::from_str(&documents(&db)[0].2).unwrap();
    let settings = document["settings"].as_object().unwrap();
    assert_eq!(
        settings.get("future_setting"),
        Some(&serde_json::json!("kept"))
    );
    assert!(
        !settings.contains_key("alerts_attach_reports"),
        "{document}"
    );
    assert_eq!(settings["alert_minimum_interval"], 300);
    steward_ok(
        &[
            "diff",
            &crate::reconcile::path_str(fewer.path()),
            "--database",
            &url,
        ],
        0,
    );
}

#[test]
fn steward_s_earlier_report_config_table_moves_into_the_documents_on_the_next_apply() {
    for db in with_content("kv_legacy") {
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        // Put the database back as an earlier steward left it: the configuration in its own
        // `report_config` table (migration 3), no documents, migration 6 not run.
        let timestamp = match db {
            Db::Sqlite { .. } => "DATETIME",
            Db::Pg(_) => "TIMESTAMP WITHOUT TIME ZONE",
        };
        db.sql(&format!(
            "CREATE TABLE report_config (id INTEGER PRIMARY KEY, key VARCHAR(255) NOT NULL UNIQUE, value TEXT, created_on {timestamp}, changed_on {timestamp})"
        ));
        db.sql(
            "INSERT INTO report_config (id, key, value) VALUES \
             (1, 'alerts_attach_reports', 'true'), (2, 'alert_minimum_interval', '300'), \
             (3, 'report_minimum_interval', '3600'), (4, 'limit_recipients_to_users', 'true'), \
             (5, 'allowed_email_domains', '[\"corp.example.com\",\"*.corp.example.com\"]'), \
             (6, 'require_run_as', 'true'), \
             (7, 'run_as_allowed', '{\"users\":[],\"groups\":[\"report-service-accounts\"]}')",
        );
        db.sql("DELETE FROM key_value WHERE resource IN ('alert_report_config', 'steward_report_policy')");
        if db.label() == "sqlite" {
            // A file an earlier steward created: its embedded schema had no key_value table.
            db.sql("DROP TABLE key_value");
        }
        db.sql("DELETE FROM steward_migrations WHERE version = 6");
        let before = db.dump();
        // A read-only diff sees the configuration where the migration will put it: no change.
        steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
        assert!(before == db.dump(), "{}: diff wrote", db.label());
        // The next apply migrates: nothing lost, the table gone, nothing else to change.
        let applied = steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        assert!(applied.contains("No changes"), "{}: {applied}", db.label());
        assert!(!has_table(&db, "report_config"), "{}", db.label());
        let rows = documents(&db);
        assert_eq!(rows.len(), 2, "{}", db.label());
        let settings: serde_json::Value = serde_json::from_str(&rows[0].2).unwrap();
        assert_eq!(settings["settings"]["alert_minimum_interval"], 300);
        assert_eq!(
            settings["settings"]["allowed_email_domains"],
            serde_json::json!(["corp.example.com", "*.corp.example.com"])
        );
        let policy: serde_json::Value = serde_json::from_str(&rows[1].2).unwrap();
        assert_eq!(policy["settings"]["require_run_as"], true);
        assert_eq!(
            db.sql("SELECT COUNT(*) FROM steward_migrations WHERE version = 6")
                .trim(),
            "1"
        );
        steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
    }
}

#[test]
fn a_document_steward_cannot_read_is_refused_and_nothing_is_written() {
    let db = with_content("kv_bad").remove(0);
    let url = db.url();
    steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
    db.sql("UPDATE key_value SET value = CAST('{\"version\": 7}' AS BLOB) WHERE resource = 'alert_report_config'");
    let before = db.dump();
    let out = steward(&["apply", &repo_path("examples"), "--database", &url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`alert_report_config` does not hold a configuration document (a document version steward does not know)"),
        "{stderr}"
    );
    assert!(before == db.dump(), "a refused apply wrote");
}

/// `examples/org` with the payments alert edited by `edit` (its spec's text from `crontab`
/// to `database`).
fn payments_alert(edit: &str) -> tempfile::TempDir {
    crate::reconcile::edited_examples(|name, text| match name {
        "schedules.yaml" => text.replace(
            "  crontab: \"*/15 * * * *\"\n  timezone: UTC\n  chart:\n    name: Revenue by region\n",
            edit,
        ),
        _ => text,
    })
}

#[test]
fn report_format_none_is_an_alert_without_attachment_and_content_is_optional() {
    // Validation: NONE is for alerts, with one content or none, and 6.1's scheduler is named.
    let cases = [
        (
            "  crontab: \"*/15 * * * *\"\n  timezone: UTC\n  reportFormat: NONE\n",
            0,
            "warning[bad-value]: an alert with reportFormat NONE and neither chart nor dashboard: Superset 6.1's own scheduler fails every run of it",
        ),
        (
            "  crontab: \"*/15 * * * *\"\n  timezone: UTC\n  reportFormat: NONE\n  chart:\n    name: Revenue by region\n  dashboard:\n    slug: finance-overview\n",
            1,
            "exactly one of chart or dashboard must be set (an alert with reportFormat NONE may have one or none)",
        ),
        (
            "  crontab: \"*/15 * * * *\"\n  timezone: UTC\n  chart:\n    name: Revenue by region\n  reportFormat: NONE\n",
            0,
            "valid",
        ),
    ];
    for (edit, code, expected) in cases {
        let dir = payments_alert(edit);
        let out = steward(&["validate", &crate::reconcile::path_str(dir.path())]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{text}");
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    let report = crate::reconcile::edited_examples(|name, text| match name {
        "schedules.yaml" => text.replace("  reportFormat: PDF\n", "  reportFormat: NONE\n"),
        _ => text,
    });
    let text = String::from_utf8_lossy(
        &steward(&["validate", &crate::reconcile::path_str(report.path())]).stderr,
    )
    .into_owned();
    assert!(
        text.contains(
            "reportFormat NONE (no attachment) is for alerts; a Report sends its content"
        ),
        "{text}"
    );

    // Stored as SIP-209 stores it, on every backend, and read back as no change.
    let none =
        payments_alert("  crontab: \"*/15 * * * *\"\n  timezone: UTC\n  reportFormat: NONE\n");
    for db in with_content("report_format_none") {
        let url = db.url();
        let dir = crate::reconcile::path_str(none.path());
        steward_ok(&["apply", &dir, "--database", &url], 0);
        assert_eq!(
            db.sql(
                "SELECT report_format || ' ' || COALESCE(chart_id, 0) || ' ' || COALESCE(dashboard_id, 0) FROM report_schedule WHERE name = 'Failed payments above threshold'"
            )
            .trim(),
            "NONE 0 0",
            "{}",
            db.label()
        );
        steward_ok(&["diff", &dir, "--database", &url], 0);
    }
}
