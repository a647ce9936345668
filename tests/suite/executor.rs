//! `steward execute` against the real parts: Superset 6.1 (content and alert queries as each
//! run's user, row-level security applied by Superset), the test SMTP server (STARTTLS + AUTH,
//! messages read back), a loopback webhook receiver, and Superset's execution log read back
//! through its REST API.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::services::{env, sql_at};
use crate::superset_api::{Superset, clean_start, exclusive, s};

/// A message the SMTP server accepted.
#[derive(Debug)]
pub struct Mail {
    pub rcpt_tos: BTreeSet<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// (file name, content) of each attachment.
    pub attachments: Vec<(String, String)>,
    /// (file name, bytes) of each attachment.
    pub files: Vec<(String, Vec<u8>)>,
    /// (Content-ID, content type, bytes) of each part shown inline.
    pub inline: Vec<(String, String, Vec<u8>)>,
}

/// The messages the test SMTP server holds, oldest first.
fn mail_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env("STEWARD_TEST_SMTP_MAILDIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        // Not a message still being written (a hidden temporary name).
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// How many messages the server holds now: later reads skip them.
pub fn mail_mark() -> usize {
    mail_files().len()
}

/// Every message after `mark` for any of `addresses`.
pub fn mails_to(mark: usize, addresses: &[&str]) -> Vec<Mail> {
    let mut out = Vec::new();
    for file in mail_files().into_iter().skip(mark) {
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let rcpt: BTreeSet<String> = record["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_lowercase())
            .collect();
        if !addresses.iter().any(|a| rcpt.contains(&a.to_lowercase())) {
            continue;
        }
        let raw = record["data"].as_str().unwrap().to_owned();
        let parsed = mailparse::parse_mail(raw.as_bytes()).unwrap();
        let subject = parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case("subject"))
            .map(|h| h.get_value())
            .unwrap_or_default();
        let mut mail = Mail {
            rcpt_tos: rcpt,
            subject,
            html: String::new(),
            text: String::new(),
            attachments: Vec::new(),
            files: Vec::new(),
            inline: Vec::new(),
        };
        collect_parts(&parsed, &mut mail);
        out.push(mail);
    }
    out
}

fn collect_parts(part: &mailparse::ParsedMail, mail: &mut Mail) {
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            collect_parts(sub, mail);
        }
        return;
    }
    let disposition = part.get_content_disposition();
    let body = part.get_body().unwrap_or_default();
    let content_id = part
        .headers
        .iter()
        .find(|h| h.get_key().eq_ignore_ascii_case("content-id"))
        .map(|h| h.get_value().trim_matches(['<', '>', ' ']).to_owned());
    if disposition.disposition == mailparse::DispositionType::Attachment {
        let name = disposition
            .params
            .get("filename")
            .cloned()
            .unwrap_or_default();
        mail.files
            .push((name.clone(), part.get_body_raw().unwrap_or_default()));
        mail.attachments.push((name, body));
    } else if let Some(id) = content_id {
        mail.inline.push((
            id,
            part.ctype.mimetype.clone(),
            part.get_body_raw().unwrap_or_default(),
        ));
    } else if part.ctype.mimetype == "text/html" {
        mail.html.push_str(&body);
    } else if part.ctype.mimetype == "text/plain" {
        mail.text.push_str(&body);
    }
}

/// A loopback HTTP server that records each request's body (and can be told to hang).
pub struct WebhookReceiver {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<String>>>,
    pub hang: Arc<AtomicBool>,
}

impl WebhookReceiver {
    pub fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook?token=stw-hook-secret-91c2",
            listener.local_addr().unwrap().port()
        );
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let hang = Arc::new(AtomicBool::new(false));
        let (b, h) = (bodies.clone(), hang.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (b, h) = (b.clone(), h.clone());
                std::thread::spawn(move || {
                    let request = read_request(&mut stream);
                    if h.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_secs(600));
                        return;
                    }
                    b.lock().unwrap().push(request);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                });
            }
        });
        WebhookReceiver { url, bodies, hang }
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}

/// The executor's flags and environment for the test services (the PostgreSQL Superset).
pub fn executor_command(args: &[&str]) -> Command {
    executor_command_for(
        &env("STEWARD_TEST_SUPERSET_DB_URL"),
        &env("STEWARD_TEST_SUPERSET_URL"),
        args,
    )
}

/// The executor's flags and environment for the Superset at `superset` on `database`.
pub fn executor_command_for(database: &str, superset: &str, args: &[&str]) -> Command {
    executor_command_smtp(
        database,
        superset,
        "starttls",
        &env("STEWARD_TEST_SMTP_PORT"),
        args,
    )
}

/// The same with the SMTP server's security and port.
pub fn executor_command_smtp(
    database: &str,
    superset: &str,
    security: &str,
    port: &str,
    args: &[&str],
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    command
        .args(args)
        .args([
            "--database",
            database,
            "--superset-url",
            superset,
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            port,
            "--smtp-security",
            security,
            "--smtp-user",
            &env("STEWARD_TEST_SMTP_USER"),
            "--smtp-ca-file",
            &env("STEWARD_TEST_SMTP_CA"),
            "--smtp-from",
            "steward@example.com",
        ])
        .env_remove("STEWARD_DATABASE_URL")
        .env(
            "STEWARD_SUPERSET_SECRET_KEY",
            env("STEWARD_TEST_SUPERSET_SECRET_KEY"),
        )
        .env("STEWARD_SMTP_PASSWORD", env("STEWARD_TEST_SMTP_PASSWORD"));
    command
}

/// `steward execute --schedule SCHEDULE --at AT`, its exit code asserted; stdout and stderr.
fn execute(schedule: &str, at: &str, code: i32) -> String {
    execute_with(schedule, at, &[], code)
}

/// [`execute`] with more flags; no secret may show in what it prints.
pub fn execute_with(schedule: &str, at: &str, more: &[&str], code: i32) -> String {
    let mut args = vec!["execute", "--schedule", schedule, "--at", at];
    args.extend_from_slice(more);
    let out: Output = executor_command(&args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "steward execute {schedule} {at}:\n{text}"
    );
    for secret in [
        env("STEWARD_TEST_SMTP_PASSWORD"),
        env("STEWARD_TEST_SUPERSET_SECRET_KEY"),
        "stw-hook-secret-91c2".to_owned(),
    ] {
        assert!(!text.contains(&secret), "a secret was printed:\n{text}");
    }
    text
}

const MANIFESTS: &str = r#"
apiVersion: steward.dev/v1alpha1
kind: ReportConfiguration
metadata: {name: default}
spec:
  alertsAttachReports: true
  dateFormatInEmailSubject: "%Y"
  allowedEmailDomains: [example.com]
---
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: pipeline-reader}
spec:
  permissions:
    - {view: Chart, actions: [read]}
  rawPermissions:
    - {permission: can_csv, view: Superset}
  dataAccess:
    datasets: [warehouse.sales.opportunities]
---
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: enterprise-rows}
spec: {}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: midmarket-rows}
spec: {}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: alert-querier}
spec:
  includes: [sql_lab]
  dataAccess:
    databases: [warehouse]
---
apiVersion: steward.dev/v1alpha1
kind: RowLevelSecurityFilter
metadata: {name: enterprise-only, namespace: sales}
spec:
  filterType: Regular
  roles: [enterprise-rows]
  datasets: [warehouse.sales.opportunities]
  clause: team = 'enterprise'
---
apiVersion: steward.dev/v1alpha1
kind: RowLevelSecurityFilter
metadata: {name: midmarket-only, namespace: sales}
spec:
  filterType: Regular
  roles: [midmarket-rows]
  datasets: [warehouse.sales.opportunities]
  clause: team = 'midmarket'
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata: {name: enterprise-bot}
spec: {firstName: Enterprise, lastName: Bot, email: enterprise-bot@example.com, roles: [pipeline-reader, enterprise-rows]}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata: {name: midmarket-bot}
spec: {firstName: Midmarket, lastName: Bot, email: midmarket-bot@example.com, roles: [pipeline-reader, midmarket-rows]}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata: {name: alert-bot}
spec: {firstName: Alert, lastName: Bot, email: alert-bot@example.com, roles: [alert-querier]}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata: {name: report-owner}
spec: {firstName: Report, lastName: Owner, email: exec-owner@example.com, roles: [Gamma]}
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: pipeline-enterprise, namespace: sales}
spec:
  type: Report
  crontab: "0 8 * * *"
  chart: {name: Pipeline by stage}
  reportFormat: CSV
  recipients:
    email: {to: [exec-enterprise@example.com], cc: [exec-enterprise-cc@example.com], bcc: [exec-enterprise-bcc@example.com]}
  owners: [report-owner]
  runAs: enterprise-bot
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: pipeline-midmarket, namespace: sales}
spec:
  type: Report
  crontab: "0 8 * * *"
  chart: {name: Pipeline by stage}
  reportFormat: CSV
  recipients:
    email: {to: [exec-midmarket@example.com]}
    webhook: {url: "WEBHOOK_URL"}
  owners: [report-owner]
  runAs: midmarket-bot
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: pipeline-text, namespace: sales}
spec:
  type: Report
  crontab: "0 8 * * *"
  chart: {name: Pipeline by stage}
  reportFormat: TEXT
  emailSubject: "Pipeline"
  logRetentionDays: 1
  description: "<b>Pipeline</b> & friends"
  recipients:
    email: {to: [exec-text@example.com]}
  owners: [report-owner]
  runAs: enterprise-bot
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: big-deal, namespace: sales}
spec:
  type: Alert
  crontab: "*/5 * * * *"
  chart: {name: Pipeline by stage}
  reportFormat: CSV
  database: warehouse
  sql: SELECT MAX(amount) FROM sales.opportunities
  validator: {type: Operator, operator: ">", threshold: 100000}
  recipients:
    email: {to: [exec-alert@example.com]}
  owners: [report-owner]
  runAs: enterprise-bot
  runAlertQueryAs: alert-bot
  gracePeriodSeconds: 3600
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: no-deal, namespace: sales}
spec:
  type: Alert
  crontab: "*/5 * * * *"
  reportFormat: NONE
  database: warehouse
  sql: SELECT MAX(amount) FROM sales.opportunities WHERE amount > 1000000
  validator: {type: NotNull}
  recipients:
    email: {to: [exec-nodeal@example.com]}
  owners: [report-owner]
  runAs: alert-bot
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: slow-hook, namespace: sales}
spec:
  type: Report
  crontab: "0 8 * * *"
  chart: {name: Pipeline by stage}
  reportFormat: CSV
  recipients:
    webhook: {url: "SLOW_WEBHOOK_URL"}
  owners: [report-owner]
  runAs: enterprise-bot
  workingTimeoutSeconds: 2
"#;

/// The CSV's data lines (header excluded), sorted.
fn csv_rows(csv: &str) -> Vec<String> {
    let mut rows: Vec<String> = csv.lines().skip(1).map(str::to_owned).collect();
    rows.sort();
    rows
}

/// The states Superset's REST API lists for a report, oldest first.
fn logged_states(ss: &Superset, name: &str) -> Vec<(String, String)> {
    let id = ss
        .reports()
        .into_iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("report {name} in Superset"))["id"]
        .as_i64()
        .unwrap();
    let log = ss.get(
        &format!("/api/v1/report/{id}/log/"),
        Some("(order_column:start_dttm,order_direction:asc,page_size:100)"),
    );
    let mut rows: Vec<(String, String, String)> = log["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(&r["end_dttm"]), s(&r["state"]), s(&r["error_message"])))
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, st, m)| (st, m)).collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_manifests(dir: &Path, hook: &str, slow: &str) {
    let text = MANIFESTS
        .replace("SLOW_WEBHOOK_URL", slow)
        .replace("WEBHOOK_URL", hook);
    std::fs::write(dir.join("all.yaml"), text).unwrap();
}

#[test]
fn reports_and_alerts_run_as_their_users_through_superset_and_smtp() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    // Schedules other suites make through Superset's API (recipients in other domains) would
    // break this suite's allowed domains.
    let ss = Superset::connect();
    crate::policy_change::remove_every_report(&ss);
    let hook = WebhookReceiver::start();
    let slow = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &hook.url, &slow.url);
    crate::services::steward_ok(
        &["apply", dir.path().to_str().unwrap(), "--database", &url],
        0,
    );
    // Runs left by an earlier run of this test.
    sql_at(&url, "DELETE FROM report_execution_log");
    let day1 = "2026-11-30T08:00:00Z";
    let mark = mail_mark();

    // Row-level security as each run-as user: the same chart, different rows.
    let out = execute("sales/pipeline-enterprise", day1, 0);
    assert!(out.contains("Success"), "{out}");
    let mails = mails_to(mark, &["exec-enterprise@example.com"]);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(
        mail.rcpt_tos.contains("exec-enterprise-bcc@example.com"),
        "Bcc in the envelope"
    );
    // The configuration's date format is appended to the subject.
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(
        mail.subject,
        format!("[Report]  pipeline-enterprise: Pipeline by stage {year}")
    );
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(
        csv_rows(&mail.attachments[0].1),
        vec![
            "closed_won,120000",
            "negotiation,90000",
            "prospecting,25000"
        ],
        "{}",
        mail.attachments[0].1
    );
    execute("sales/pipeline-midmarket", day1, 0);
    let mails = mails_to(mark, &["exec-midmarket@example.com"]);
    assert_eq!(mails.len(), 1);
    assert_eq!(
        csv_rows(&mails[0].attachments[0].1),
        vec!["closed_lost,8000", "qualification,15000"]
    );
    let hooks = hook.bodies.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    assert!(
        hooks[0].contains("multipart/form-data") && hooks[0].contains("qualification"),
        "{}",
        hooks[0]
    );
    assert!(!hooks[0].contains("negotiation"));

    // Idempotent per schedule and fire time.
    let out = execute("sales/pipeline-enterprise", day1, 0);
    assert!(out.contains("already ran"), "{out}");
    assert_eq!(mails_to(mark, &["exec-enterprise@example.com"]).len(), 1);
    assert_eq!(
        logged_states(&ss, "pipeline-enterprise"),
        vec![("Working".into(), "".into()), ("Success".into(), "".into())]
    );

    // TEXT: the rows as a table in the message, escaped.
    execute("sales/pipeline-text", day1, 0);
    let text = &mails_to(mark, &["exec-text@example.com"])[0];
    assert!(
        text.html.contains("<td>negotiation</td>") && !text.html.contains("qualification"),
        "{}",
        text.html
    );
    assert!(
        text.html
            .contains("&lt;b&gt;Pipeline&lt;/b&gt; &amp; friends"),
        "{}",
        text.html
    );
    assert!(text.attachments.is_empty());

    // An alert that fires sends; inside its grace period it logs On Grace and sends nothing.
    let out = execute("sales/big-deal", day1, 0);
    assert!(out.contains("Success"), "{out}");
    assert_eq!(mails_to(mark, &["exec-alert@example.com"]).len(), 1);
    let out = execute("sales/big-deal", "2026-11-30T08:05:00Z", 0);
    assert!(out.contains("On Grace"), "{out}");
    assert_eq!(mails_to(mark, &["exec-alert@example.com"]).len(), 1);
    let states: Vec<String> = logged_states(&ss, "big-deal")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(states, ["Working", "Success", "On Grace"]);
    let value = sql_at(
        &url,
        "SELECT last_value FROM report_schedule WHERE name = 'big-deal'",
    );
    assert_eq!(value.trim(), "120000");
    // An alert that does not fire.
    let out = execute("sales/no-deal", day1, 0);
    assert!(out.contains("Not triggered"), "{out}");
    assert!(mails_to(mark, &["exec-nodeal@example.com"]).is_empty());

    // A recipient outside the allowed domains (edited in Superset after the apply): Error
    // logged with the reason, nothing to the recipients, the owner told.
    sql_at(
        &url,
        "UPDATE report_recipient SET recipient_config_json = \
         '{\"target\": \"exec-enterprise@example.com, intruder@elsewhere.test\"}' \
         WHERE report_schedule_id = (SELECT id FROM report_schedule WHERE name = 'pipeline-enterprise')",
    );
    let day2 = "2026-12-01T08:00:00Z";
    let out = execute("sales/pipeline-enterprise", day2, 1);
    assert!(
        out.contains("intruder@elsewhere.test is outside the allowed e-mail domains"),
        "{out}"
    );
    assert_eq!(
        mails_to(
            mark,
            &["exec-enterprise@example.com", "intruder@elsewhere.test"]
        )
        .len(),
        1
    );
    let notices = mails_to(mark, &["exec-owner@example.com"]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]
            .subject
            .contains("Error occurred for Report: pipeline-enterprise")
    );
    let states = logged_states(&ss, "pipeline-enterprise");
    assert_eq!(states[2].0, "Working");
    assert_eq!(states[3].0, "Error");
    assert!(states[3].1.contains("outside the allowed"), "{states:?}");
    assert_eq!(
        states[4],
        ("Error".into(), "Notification sent with error".into())
    );

    // An inactive run-as user: Error, nothing delivered; the owner notice is throttled by the
    // grace period (one went out a moment ago for another schedule, but per schedule: this
    // one's first notice goes out).
    sql_at(
        &url,
        "UPDATE ab_user SET active = false WHERE username = 'midmarket-bot'",
    );
    let out = execute("sales/pipeline-midmarket", day2, 1);
    assert!(out.contains("midmarket-bot, is inactive"), "{out}");
    assert_eq!(mails_to(mark, &["exec-midmarket@example.com"]).len(), 1);
    assert_eq!(hook.bodies.lock().unwrap().len(), 1);
    assert_eq!(mails_to(mark, &["exec-owner@example.com"]).len(), 2);
    sql_at(
        &url,
        "UPDATE ab_user SET active = true WHERE username = 'midmarket-bot'",
    );

    // A run killed mid-delivery stays Working; the next run after the working timeout logs
    // the timeout and proceeds.
    slow.hang.store(true, Ordering::SeqCst);
    let mut child = executor_command(&["execute", "--schedule", "sales/slow-hook", "--at", day1])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the slow run to enter Working", || {
        sql_at(
            &url,
            "SELECT last_state FROM report_schedule WHERE name = 'slow-hook'",
        )
        .trim()
            == "Working"
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    slow.hang.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(2100));
    let out = execute("sales/slow-hook", day2, 0);
    assert!(out.contains("Success"), "{out}");
    let states = logged_states(&ss, "slow-hook");
    let names: Vec<&str> = states.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        ["Working", "Error", "Working", "Success"],
        "{states:?}"
    );
    assert_eq!(states[1].1, "Report Schedule reached a working timeout.");

    // Implicit TLS (SMTPS), a dated subject, and log rows past the retention pruned.
    sql_at(
        &url,
        "INSERT INTO report_execution_log (scheduled_dttm, start_dttm, end_dttm, state, report_schedule_id) \
         SELECT '2026-01-01 08:00:00', '2026-01-01 08:00:00', '2026-01-01 08:00:05', 'Success', id \
         FROM report_schedule WHERE name = 'pipeline-text'",
    );
    let out = executor_command_smtp(
        &url,
        &env("STEWARD_TEST_SUPERSET_URL"),
        "tls",
        &env("STEWARD_TEST_SMTPS_PORT"),
        &["execute", "--schedule", "sales/pipeline-text", "--at", day2],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts = mails_to(mark, &["exec-text@example.com"]);
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[1].subject, format!("[Report]  Pipeline {year}"));
    let old = sql_at(
        &url,
        "SELECT count(*) FROM report_execution_log l JOIN report_schedule s ON s.id = l.report_schedule_id \
         WHERE s.name = 'pipeline-text' AND l.end_dttm < '2026-02-01'",
    );
    assert_eq!(old.trim(), "0", "log rows past the retention are pruned");

    // A time that is not a fire time is refused, naming the next one.
    let out = execute("sales/pipeline-text", "2026-11-30T08:01:00Z", 1);
    assert!(
        out.contains("not a fire time") && out.contains("2026-12-01T08:00:00"),
        "{out}"
    );
    // A manual run at that time, with Superset's subject prefix and call to action changed.
    let out = executor_command(&[
        "execute",
        "--schedule",
        "sales/pipeline-text",
        "--at",
        "2026-11-30T08:01:00Z",
        "--off-schedule",
        "--subject-prefix",
        "[Steward]",
        "--call-to-action",
        "Open <it> in Superset",
        "--request-timeout-seconds",
        "30",
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts = mails_to(mark, &["exec-text@example.com"]);
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[2].subject, format!("[Steward] Pipeline {year}"));
    assert!(
        texts[2].html.contains("Open &lt;it&gt; in Superset"),
        "{}",
        texts[2].html
    );

    // Plain-HTTP webhooks refused when only HTTPS is allowed: Error, the webhook not called.
    let out = executor_command(&[
        "execute",
        "--schedule",
        "sales/pipeline-midmarket",
        "--at",
        "2026-12-02T08:00:00Z",
        "--webhook-https-only",
    ])
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the webhook URL is plain HTTP and only HTTPS is allowed"),
        "{text}"
    );
    assert!(!text.contains("stw-hook-secret-91c2"), "{text}");
    assert_eq!(hook.bodies.lock().unwrap().len(), 1);
}
