//! A stricter Alerts & Reports configuration against schedules made through the real Superset
//! 6.1's own REST API (so steward neither declares nor manages them): `diff` and `apply` refuse
//! and list exactly the schedules it would break, with their type, name, reason and detail, and
//! nothing is written. A configuration they all satisfy applies.

use std::collections::BTreeSet;

use serde_json::json;

use crate::services::{env, pg_dump_rows, psql, steward, steward_ok};
use crate::superset_api::{Content, Superset, clean_start, exclusive};

const PREFIX: &str = "policy-change: ";

/// The schedules made through REST: (name, type, crontab, timezone, recipients).
const SCHEDULES: [(&str, &str, &str, &str, &str); 6] = [
    ("weekly summary", "Report", "0 9 * * 1", "UTC", "a@x.io"),
    (
        "half-hourly",
        "Report",
        "*/30 8-18 * * 1-5",
        "Europe/Berlin",
        "a@x.io",
    ),
    // Wednesdays in February and 29 February: a week apart, except 2052-02-28/29.
    (
        "february",
        "Alert",
        "0 12 29 2 3",
        "Europe/Berlin",
        "a@x.io",
    ),
    (
        "weekly alert",
        "Alert",
        "0 6 * * 1",
        "America/New_York",
        "a@x.io",
    ),
    (
        "outside",
        "Report",
        "0 7 * * *",
        "UTC",
        "a@x.io, partner@gmail.com",
    ),
    (
        "not a user",
        "Report",
        "0 7 * * 1",
        "UTC",
        "ghost@corp.example.com",
    ),
];

const STRICT: &str = r#"
apiVersion: steward.dev/v1alpha1
kind: ReportConfiguration
metadata:
  name: policy
spec:
  alertMinimumIntervalSeconds: 172800
  reportMinimumIntervalSeconds: 3600
  limitRecipientsToUsers: true
  allowedEmailDomains: ["x.io", "*.x.io", "corp.example.com"]
"#;

const LOOSE: &str = r#"
apiVersion: steward.dev/v1alpha1
kind: ReportConfiguration
metadata:
  name: policy
spec:
  alertMinimumIntervalSeconds: 86400
  reportMinimumIntervalSeconds: 1800
  allowedEmailDomains: ["x.io", "gmail.com", "corp.example.com"]
"#;

#[test]
fn a_configuration_change_lists_exactly_the_schedules_it_breaks() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let ss = Superset::connect();
    // Only this test's schedules: whatever an earlier run (of any test) left goes first.
    remove_every_report(&ss);
    let content = Content::read(&ss);
    let admin = ss
        .users()
        .into_iter()
        .find(|u| u["username"] == env("STEWARD_TEST_SUPERSET_ADMIN").as_str())
        .expect("the admin user");
    let admin_id = admin["id"].as_i64().unwrap();
    let database = *content
        .database_ids
        .values()
        .next()
        .expect("a seeded database");
    let chart = content.chart_ids["Revenue by region"];
    let mut made = Vec::new();
    for (name, kind, crontab, timezone, to) in SCHEDULES {
        let mut payload = json!({
            "type": kind,
            "name": format!("{PREFIX}{name}"),
            "crontab": crontab,
            "timezone": timezone,
            "chart": chart,
            "owners": [admin_id],
            "recipients": [{"type": "Email", "recipient_config_json": {"target": to}}],
            "report_format": "PNG",
            "active": true,
            "creation_method": "alerts_reports",
        });
        if kind == "Alert" {
            payload["database"] = json!(database);
            payload["sql"] = json!("SELECT 1");
            payload["validator_type"] = json!("not null");
            payload["validator_config_json"] = json!({});
        }
        made.push(ss.create("/api/v1/report/", &payload));
    }

    let strict = manifest_dir(STRICT);
    let dump_before = pg_dump_rows(&url, &["logs", "key_value"]);
    let listed = |command: &str| -> Vec<(String, String, String, String)> {
        let out = steward(&[command, strict.path().to_str().unwrap(), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        blocking_section(&stderr)
    };
    for command in ["diff", "apply"] {
        let listed = listed(command);
        let found: BTreeSet<(String, String, String)> = listed
            .iter()
            .map(|(t, n, r, _)| (t.clone(), n.clone(), r.clone()))
            .collect();
        let expected: BTreeSet<(String, String, String)> = [
            ("Report", "half-hourly", "frequency"),
            ("Alert", "february", "frequency"),
            ("Report", "outside", "recipient"),
            ("Report", "not a user", "recipient"),
        ]
        .iter()
        .map(|(t, n, r)| (t.to_string(), format!("{PREFIX}{n}"), r.to_string()))
        .collect();
        assert_eq!(found, expected, "{command}: {listed:#?}");
        let detail = |name: &str, reason: &str| -> Vec<&str> {
            listed
                .iter()
                .filter(|(_, n, r, _)| n == &format!("{PREFIX}{name}") && r == reason)
                .map(|(_, _, _, d)| d.as_str())
                .collect()
        };
        assert_eq!(
            detail("february", "frequency"),
            [
                "`0 12 29 2 3` in Europe/Berlin fires 1 day apart at its closest, first at 2052-02-28 12:00 CET and 2052-02-29 12:00 CET; alerts must be at least 2 days apart (alertMinimumIntervalSeconds: 172800)"
            ]
        );
        assert!(
            detail("half-hourly", "frequency")[0]
                .starts_with("`*/30 8-18 * * 1-5` in Europe/Berlin fires 30 min apart"),
            "{listed:#?}"
        );
        assert_eq!(
            detail("outside", "recipient"),
            [
                "`partner@gmail.com` is not in an allowed e-mail domain",
                "`partner@gmail.com` is not the e-mail of an active user (recipients are limited to users)"
            ]
        );
        assert_eq!(
            detail("not a user", "recipient"),
            [
                "`ghost@corp.example.com` is not the e-mail of an active user (recipients are limited to users)"
            ]
        );
    }
    assert!(
        dump_before == pg_dump_rows(&url, &["logs", "key_value"]),
        "a refused apply wrote"
    );

    // A configuration every schedule satisfies lands, and the stricter one is still refused.
    let loose = manifest_dir(LOOSE);
    steward_ok(
        &["apply", loose.path().to_str().unwrap(), "--database", &url],
        0,
    );
    assert_eq!(
        psql(
            &url,
            "SELECT convert_from(value, 'UTF8') FROM key_value WHERE resource = 'alert_report_config'"
        )
        .trim(),
        r#"{"version": 1, "settings": {"alert_minimum_interval": 86400, "allowed_email_domains": ["x.io", "gmail.com", "corp.example.com"], "report_minimum_interval": 1800}}"#
    );
    assert_eq!(listed("diff").len(), 5);

    // Leave Superset as this test found it.
    clean_start(&url);
    for id in made {
        ss.delete(&format!("/api/v1/report/{id}"));
    }
}

/// Deletes every alert and report Superset holds, through its REST API.
pub(crate) fn remove_every_report(ss: &Superset) {
    for report in ss.list("/api/v1/report/", "name") {
        ss.delete(&format!("/api/v1/report/{}", report["id"]));
    }
}

/// A directory holding one manifest.
fn manifest_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), text).unwrap();
    dir
}

/// The rows of `diff`/`apply`'s blocking section: (type, name, reason, detail).
fn blocking_section(stderr: &str) -> Vec<(String, String, String, String)> {
    let mut lines = stderr
        .lines()
        .skip_while(|l| !l.starts_with("blocked by the Alerts & Reports configuration"));
    assert!(lines.next().is_some(), "no blocking section in:\n{stderr}");
    let header = lines.next().unwrap_or_default();
    assert!(header.trim_start().starts_with("TYPE"), "{stderr}");
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let columns: Vec<&str> = l
                .trim()
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            assert!(columns.len() >= 4, "{l}");
            (
                columns[0].to_owned(),
                columns[1].to_owned(),
                columns[2].to_owned(),
                columns[3..].join("  "),
            )
        })
        .collect()
}
