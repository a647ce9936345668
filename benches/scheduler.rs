//! Benchmark: scheduled executions, embedded and as Jobs.
//!
//! Needs the test services and the control plane:
//!   bash scripts/services.sh start && source /tmp/steward-services/env
//!   bash scripts/kube.sh start && source /tmp/steward-kube/env
//!   cargo bench --bench scheduler
//! It applies 100 CSV report schedules firing every minute (`* * * * *`, each run as a user
//! under a row-level-security filter, to one e-mail recipient) into the test Superset's
//! PostgreSQL metadata database, then measures with the release binary:
//!
//! 1. embedded (`steward scheduler`, 8 runs computing at once): five fire minutes, 500 runs, the
//!    scheduler stopped and restarted after the second; for each run the lateness of its start
//!    (its Working row) after the fire time, and of its delivery (its Success row); every
//!    (schedule, fire time) must have run exactly once;
//! 2. as Jobs (`steward operator`, the same schedules as ReportSchedules): five fire minutes,
//!    500 Jobs; the lateness of each Job's creation after its fire time (the operator's log).
//!
//! Targets, printed with PASS/FAIL: start lateness p99 ≤ 2 s (Superset's window is 59 s and it
//! can miss); Job creation lateness p99 ≤ 2 s; each minute's 100 CSV reports all delivered
//! within 2 min. A missed or repeated run fails the bench.
//! Knobs: `STEWARD_BENCH_SCHEDULES` (default 100), `STEWARD_BENCH_MINUTES` (default 5),
//! `STEWARD_BENCH_PARTS` (`embedded`, `jobs` or both, the default).

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{kubectl, psql, release_binary, repo, run, var};

use chrono::{DateTime, Utc};

const TARGET_LATENESS_P99_MS: f64 = 2_000.0;
const TARGET_DELIVERY_S: f64 = 120.0;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The shared objects and `n` schedules, as manifests (`namespace` for the schedules).
fn manifests(n: usize, namespace: &str) -> String {
    let mut out = String::from(
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata: {name: bench-reader}\nspec:\n  permissions:\n    - {view: Chart, actions: [read]}\n  rawPermissions:\n    - {permission: can_csv, view: Superset}\n  dataAccess:\n    datasets: [warehouse.sales.opportunities]\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata: {name: bench-rows}\nspec: {}\n---\napiVersion: steward.dev/v1alpha1\nkind: RowLevelSecurityFilter\nmetadata: {name: bench-enterprise, namespace: NS}\nspec:\n  filterType: Regular\n  roles: [bench-rows]\n  datasets: [warehouse.sales.opportunities]\n  clause: team = 'enterprise'\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata: {name: bench-bot}\nspec: {firstName: Bench, lastName: Bot, email: bench-bot@example.com, roles: [bench-reader, bench-rows]}\n",
    )
    .replace("NS", namespace);
    for i in 0..n {
        out.push_str(&format!(
            "---\napiVersion: steward.dev/v1alpha1\nkind: ReportSchedule\nmetadata: {{name: bench-{i:03}, namespace: {namespace}}}\nspec:\n  type: Report\n  crontab: \"* * * * *\"\n  chart: {{name: Pipeline by stage}}\n  reportFormat: CSV\n  recipients:\n    email: {{to: [bench-{i:03}@example.com]}}\n  owners: [bench-bot]\n  runAs: bench-bot\n  workingTimeoutSeconds: 30\n"
        ));
    }
    out
}

fn executor(binary: &PathBuf, args: &[&str]) -> Command {
    let mut c = Command::new(binary);
    c.args(args)
        .args(["--database", &var("STEWARD_TEST_SUPERSET_DB_URL")])
        .args(["--superset-url", &var("STEWARD_TEST_SUPERSET_URL")])
        .args([
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &var("STEWARD_TEST_SMTP_PORT"),
        ])
        .args(["--smtp-user", &var("STEWARD_TEST_SMTP_USER")])
        .args(["--smtp-ca-file", &var("STEWARD_TEST_SMTP_CA")])
        .args(["--smtp-from", "bench@example.com"])
        .env(
            "STEWARD_SUPERSET_SECRET_KEY",
            var("STEWARD_TEST_SUPERSET_SECRET_KEY"),
        )
        .env("STEWARD_SMTP_PASSWORD", var("STEWARD_TEST_SMTP_PASSWORD"))
        .env_remove("STEWARD_DATABASE_URL");
    c
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .output();
    let _ = child.wait();
}

/// Sleeps until `seconds` past the next minute boundary.
fn until_minute_plus(seconds: i64) -> DateTime<Utc> {
    let now = Utc::now();
    let next = DateTime::from_timestamp((now.timestamp() / 60 + 1) * 60, 0).unwrap();
    let wake = next + chrono::Duration::seconds(seconds);
    std::thread::sleep((wake - now).to_std().unwrap_or_default());
    next
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = knob("STEWARD_BENCH_SCHEDULES", 100);
    let minutes = knob("STEWARD_BENCH_MINUTES", 5).max(3);
    let binary = release_binary();
    let db = var("STEWARD_TEST_SUPERSET_DB_URL");
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path();

    let parts = std::env::var("STEWARD_BENCH_PARTS").unwrap_or_default();
    if parts != "jobs" {
        embedded(&binary, &db, dir, n, minutes);
    }
    if parts != "embedded" {
        jobs(&binary, &db, dir, n, minutes);
    }
}

/// The embedded scheduler's runs: lateness, delivery, none missed or repeated across a restart.
fn embedded(binary: &PathBuf, db: &str, dir: &std::path::Path, n: usize, minutes: usize) {
    println!("== embedded scheduler: {n} CSV reports every minute, {minutes} minutes ==");
    run(Command::new(binary).args(["init", "--database", db]));
    std::fs::write(dir.join("bench.yaml"), manifests(n, "bench")).unwrap();
    run(Command::new(binary).args([
        "apply",
        dir.to_str().unwrap(),
        "--database",
        db,
        "--allow-empty-kinds",
        "--max-deletions",
        "100000",
    ]));
    psql(db, "DELETE FROM report_execution_log");
    // Start just after a boundary so that the first measured minute is whole.
    let log = std::fs::File::create(dir.join("scheduler.log")).unwrap();
    until_minute_plus(5);
    let spawn = |log: std::fs::File| {
        executor(
            binary,
            &[
                "scheduler",
                "--concurrency",
                "100",
                "--catch-up",
                "1m",
                "--log-format",
                "json",
            ],
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
    };
    let mut child = spawn(log.try_clone().unwrap());
    let first = until_minute_plus(0);
    for minute in 0..minutes {
        until_minute_plus(1);
        if minute == 1 {
            // A restart between two fire minutes: nothing missed, nothing repeated.
            stop(child);
            child = spawn(log.try_clone().unwrap());
        }
    }
    // Let the last minute's runs deliver.
    std::thread::sleep(Duration::from_secs(60));
    stop(child);
    let last = first + chrono::Duration::minutes(minutes as i64 - 1);
    let rows = psql(
        db,
        &format!(
            "SELECT s.name, to_char(l.scheduled_dttm, 'YYYY-MM-DD HH24:MI:SS'), l.state, \
         EXTRACT(EPOCH FROM (l.start_dttm - l.scheduled_dttm)) * 1000, \
         EXTRACT(EPOCH FROM (l.end_dttm - l.scheduled_dttm)) * 1000 \
         FROM report_execution_log l JOIN report_schedule s ON s.id = l.report_schedule_id \
         WHERE s.name LIKE 'bench-%' AND l.scheduled_dttm >= '{}' AND l.scheduled_dttm <= '{}'",
            first.naive_utc(),
            last.naive_utc()
        ),
    );
    let mut working: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut lateness = Vec::new();
    let mut delivery: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for line in rows.lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() < 5 {
            continue;
        }
        match f[2] {
            "Working" => {
                *working
                    .entry((f[0].to_owned(), f[1].to_owned()))
                    .or_default() += 1;
                lateness.push(f[3].parse::<f64>().unwrap_or(f64::NAN));
            }
            "Success" => {
                let d = f[4].parse::<f64>().unwrap_or(f64::NAN) / 1000.0;
                let e = delivery.entry(f[1].to_owned()).or_insert((0, 0.0));
                e.0 += 1;
                e.1 = e.1.max(d);
            }
            other => *errors.entry(other.to_owned()).or_default() += 1,
        }
    }
    lateness.sort_by(|a, b| a.total_cmp(b));
    let expected = n * minutes;
    let duplicated = working.values().filter(|c| **c > 1).count();
    println!(
        "runs {} of {expected} expected; repeated {duplicated}; rows in other states {errors:?}",
        working.len()
    );
    let p50 = percentile(&lateness, 50.0);
    let p99 = percentile(&lateness, 99.0);
    println!(
        "start lateness: p50 {p50:.0} ms, p99 {p99:.0} ms, max {:.0} ms  [target p99 ≤ {TARGET_LATENESS_P99_MS:.0} ms: {}]",
        lateness.last().copied().unwrap_or(f64::NAN),
        verdict(p99 <= TARGET_LATENESS_P99_MS)
    );
    let worst = delivery.values().map(|d| d.1).fold(0.0, f64::max);
    let all_sent = delivery.len() == minutes && delivery.values().all(|d| d.0 == n);
    for (minute, (sent, seconds)) in &delivery {
        println!("  fire time {minute}: {sent} of {n} delivered, the last {seconds:.1} s after it");
    }
    println!(
        "delivery of a minute's {n} reports: worst {worst:.1} s  [target all within {TARGET_DELIVERY_S:.0} s: {}]",
        verdict(worst <= TARGET_DELIVERY_S && all_sent)
    );
    assert_eq!(working.len(), expected, "a run was missed");
    assert_eq!(duplicated, 0, "a run was repeated");
}

/// The operator's Jobs: creation lateness, none missed.
fn jobs(binary: &PathBuf, db: &str, dir: &std::path::Path, n: usize, minutes: usize) {
    let expected = n * minutes;

    println!("== as Jobs: the same {n} schedules as ReportSchedules, {minutes} minutes ==");
    // The operator manages the same objects under its own name: the CLI's go first.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    run(Command::new(binary).args([
        "apply",
        empty.to_str().unwrap(),
        "--database",
        db,
        "--allow-empty-kinds",
        "--max-deletions",
        "100000",
    ]));
    let kube_dir = dir.join("kube");
    std::fs::create_dir_all(&kube_dir).unwrap();
    let _ = Command::new(var("STEWARD_KUBECTL"))
        .args(["create", "namespace", "bench"])
        .output();
    kubectl(&["apply", "-k", &repo().join("crds").display().to_string()]);
    kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
        "--timeout=60s",
    ]);
    let instance = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: steward-system}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: bench-metadb, namespace: steward-system}}\nstringData:\n  url: \"{db}\"\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetInstance\nmetadata: {{name: bench}}\nspec:\n  default: true\n  metadataDatabase:\n    urlSecretRef: {{name: bench-metadb, key: url}}\n  executions:\n    catchUpSeconds: 60\n    jobTemplate: {{image: steward:bench}}\n"
    );
    std::fs::write(kube_dir.join("instance.yaml"), &instance).unwrap();
    std::fs::write(kube_dir.join("resources.yaml"), manifests(n, "bench")).unwrap();
    kubectl(&[
        "apply",
        "-f",
        &kube_dir.join("instance.yaml").display().to_string(),
    ]);
    kubectl(&[
        "apply",
        "-f",
        &kube_dir.join("resources.yaml").display().to_string(),
    ]);
    let log_path = kube_dir.join("operator.log");
    let operator = Command::new(binary)
        .args([
            "operator",
            "--namespace",
            "steward-system",
            "--http-addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("STEWARD_LOG", "info,kube=warn,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    until_minute_plus(5);
    let first = until_minute_plus(0);
    for _ in 0..minutes {
        until_minute_plus(1);
    }
    std::thread::sleep(Duration::from_secs(5));
    stop(operator);
    let last = first + chrono::Duration::minutes(minutes as i64 - 1);
    let mut created: BTreeMap<(String, String), f64> = BTreeMap::new();
    for line in std::fs::read_to_string(&log_path).unwrap().lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event["message"] != "Job created" {
            continue;
        }
        let fire = event["fire_time"].as_str().unwrap_or_default().to_owned();
        let Ok(at) = DateTime::parse_from_rfc3339(&fire) else {
            continue;
        };
        let at = at.with_timezone(&Utc);
        if at < first || at > last {
            continue;
        }
        created.insert(
            (
                event["schedule"].as_str().unwrap_or_default().to_owned(),
                fire,
            ),
            event["lateness_ms"].as_f64().unwrap_or(f64::NAN),
        );
    }
    let mut job_lateness: Vec<f64> = created.values().copied().collect();
    job_lateness.sort_by(|a, b| a.total_cmp(b));
    let p50 = percentile(&job_lateness, 50.0);
    let p99 = percentile(&job_lateness, 99.0);
    println!("Jobs created {} of {expected} expected", created.len());
    println!(
        "Job creation lateness: p50 {p50:.0} ms, p99 {p99:.0} ms, max {:.0} ms  [target p99 ≤ {TARGET_LATENESS_P99_MS:.0} ms: {}]",
        job_lateness.last().copied().unwrap_or(f64::NAN),
        verdict(p99 <= TARGET_LATENESS_P99_MS)
    );
    let _ = Command::new(var("STEWARD_KUBECTL"))
        .args(["delete", "namespace", "bench", "--wait=false"])
        .output();
    let _ = Command::new(var("STEWARD_KUBECTL"))
        .args(["delete", "supersetinstance", "bench", "--wait=false"])
        .output();
    assert_eq!(created.len(), expected, "a Job was missed");
}
