//! `steward scheduler`, the embedded default: the schedules steward manages in a SQLite
//! metadata file run in-process at their fire times, through the Superset serving that file and
//! the test SMTP server; fire times missed while it was down follow the catch-up rule, and a
//! restart neither repeats nor loses a run.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::executor::{executor_command_for, mail_mark, mails_to};
use crate::services::{env, sql_at, steward_ok};
use crate::superset_api::clean_start;
use crate::superset_matrix::exclusive_sqlite;

const MANIFESTS: &str = r#"
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: embedded-reader}
spec:
  permissions:
    - {view: Chart, actions: [read]}
  rawPermissions:
    - {permission: can_csv, view: Superset}
  dataAccess:
    datasets: [warehouse.sales.opportunities]
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata: {name: embedded-bot}
spec: {firstName: Embedded, lastName: Bot, email: embedded-bot@example.com, roles: [embedded-reader]}
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: embedded-minutely}
spec:
  type: Report
  crontab: "* * * * *"
  chart: {name: Pipeline by stage}
  reportFormat: CSV
  recipients:
    email: {to: [embedded-minutely@example.com]}
  owners: [embedded-bot]
  runAs: embedded-bot
"#;

struct Scheduler(Child);

impl Scheduler {
    fn start(db: &str, log: &std::path::Path) -> Scheduler {
        let child = executor_command_for(
            db,
            &env("STEWARD_TEST_SUPERSET_SQLITE_LIVE_URL"),
            &[
                "scheduler",
                "--catch-up",
                "2m",
                "--refresh-seconds",
                "1",
                "--concurrency",
                "4",
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
        Scheduler(child)
    }

    /// SIGTERM, and its exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .output();
        let status = self.0.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (scheduled time, state, start - scheduled in ms, message) of each log row.
fn log_rows(db: &str) -> Vec<(String, String, i64, String)> {
    sql_at(
        db,
        "SELECT l.scheduled_dttm, l.state, \
         CAST(ROUND((julianday(l.start_dttm) - julianday(l.scheduled_dttm)) * 86400000) AS INTEGER), \
         COALESCE(l.error_message, '') FROM report_execution_log l \
         JOIN report_schedule s ON s.id = l.report_schedule_id \
         WHERE s.name = 'embedded-minutely' ORDER BY l.id",
    )
    .lines()
    .map(|l| {
        let f: Vec<&str> = l.splitn(4, '|').collect();
        (f[0].to_owned(), f[1].to_owned(), f[2].parse().unwrap_or(0), f[3].to_owned())
    })
    .collect()
}

fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
    log: &std::path::Path,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; scheduler log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_embedded_scheduler_catches_up_once_and_survives_a_restart() {
    let _live = exclusive_sqlite();
    let db = format!("sqlite://{}", env("STEWARD_TEST_SUPERSET_SQLITE_LIVE"));
    clean_start(&db);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all.yaml"), MANIFESTS).unwrap();
    steward_ok(
        &["apply", dir.path().to_str().unwrap(), "--database", &db],
        0,
    );
    sql_at(&db, "DELETE FROM report_execution_log");
    // Down for an hour: the schedule existed two hours, its last run was an hour ago.
    let hour_ago = (Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%d %H:%M:00.000000")
        .to_string();
    sql_at(
        &db,
        "UPDATE report_schedule SET created_on = datetime('now', '-2 hours') WHERE name = 'embedded-minutely'",
    );
    sql_at(
        &db,
        &format!(
            "INSERT INTO report_execution_log (scheduled_dttm, start_dttm, end_dttm, state, report_schedule_id) \
             SELECT '{hour_ago}', '{hour_ago}', '{hour_ago}', 'Success', id FROM report_schedule WHERE name = 'embedded-minutely'"
        ),
    );
    let mark = mail_mark();
    let log = dir.path().join("scheduler.log");
    let scheduler = Scheduler::start(&db, &log);
    let rows = wait_until(
        "the catch-up run",
        Duration::from_secs(60),
        || {
            let rows = log_rows(&db);
            rows.iter()
                .any(|r| r.1 == "Success" && r.0 != hour_ago)
                .then_some(rows)
        },
        &log,
    );
    let skipped: Vec<_> = rows.iter().filter(|r| r.3.starts_with("Skipped")).collect();
    assert_eq!(skipped.len(), 1, "one row for the whole gap: {rows:#?}");
    assert!(
        skipped[0]
            .3
            .contains("older than the catch-up window of 120 s"),
        "{rows:#?}"
    );
    assert_eq!(mails_to(mark, &["embedded-minutely@example.com"]).len(), 1);
    let caught_up = rows
        .iter()
        .rev()
        .find(|r| r.1 == "Success")
        .unwrap()
        .0
        .clone();
    assert!(scheduler.stop().success());

    // A restart: the run already made is not made again.
    let scheduler = Scheduler::start(&db, &log);
    std::thread::sleep(Duration::from_secs(3));
    let runs_of = |rows: &[(String, String, i64, String)], at: &str| {
        rows.iter()
            .filter(|r| r.0 == at && r.1 == "Working")
            .count()
    };
    assert_eq!(
        runs_of(&log_rows(&db), &caught_up),
        1,
        "{:#?}",
        log_rows(&db)
    );

    // The next fire time runs on time.
    let next = wait_until(
        "the next fire time's run",
        Duration::from_secs(75),
        || {
            log_rows(&db)
                .into_iter()
                .find(|r| r.1 == "Success" && r.0 > caught_up && !r.3.starts_with("Skipped"))
        },
        &log,
    );
    let working = log_rows(&db)
        .into_iter()
        .find(|r| r.0 == next.0 && r.1 == "Working")
        .unwrap();
    assert!(
        working.2 < 2_000,
        "ran {} ms after its fire time",
        working.2
    );
    let parsed: DateTime<Utc> = format!("{}Z", next.0.replace(' ', "T")).parse().unwrap();
    assert_eq!(parsed.timestamp() % 60, 0);
    assert!(scheduler.stop().success());
    assert_eq!(mails_to(mark, &["embedded-minutely@example.com"]).len(), 2);
    clean_start(&db);
}
