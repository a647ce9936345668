//! Scheduled executions as Jobs on the real control plane (kube-apiserver, etcd and
//! kube-controller-manager's job, garbage-collector and TTL controllers): two operator
//! replicas as the ServiceAccount, one Job per fire time with its deterministic name and owner
//! reference, a run still working holding the next back, a Job's exact command run as a kubelet
//! would (no kubelet runs here) delivering through Superset and SMTP, a failed Job marked Error
//! at once, catch-up and skip after the operators were stopped, history limits, and garbage
//! collection when the schedule is deleted.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::executor::{mail_mark, mails_to};
use crate::kube_env::{Kube, NAMESPACE, Operator, install, service_account_kubeconfig, wait_for};
use crate::operator::{audit_offset, audited, granted};
use crate::services::{env, sql_at};
use crate::superset_api::{clean_start, exclusive};

const NS: &str = "reports";

fn resources() -> String {
    r#"
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: jobs-reader}
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
metadata: {name: jobs-enterprise-rows}
spec: {}
---
apiVersion: steward.dev/v1alpha1
kind: RowLevelSecurityFilter
metadata: {name: jobs-enterprise-only, namespace: reports}
spec:
  filterType: Regular
  roles: [jobs-enterprise-rows]
  datasets: [warehouse.sales.opportunities]
  clause: team = 'enterprise'
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata: {name: jobs-bot}
spec: {firstName: Jobs, lastName: Bot, email: jobs-bot@example.com, roles: [jobs-reader, jobs-enterprise-rows]}
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: minutely, namespace: reports}
spec:
  type: Report
  crontab: "* * * * *"
  chart: {name: Pipeline by stage}
  reportFormat: CSV
  recipients:
    email: {to: [jobs-minutely@example.com]}
  owners: [jobs-bot]
  runAs: jobs-bot
  workingTimeoutSeconds: 600
"#
    .to_owned()
}

fn instance(url: &str) -> String {
    let smtp_port = env("STEWARD_TEST_SMTP_PORT");
    let smtp_ca = env("STEWARD_TEST_SMTP_CA");
    let superset = env("STEWARD_TEST_SUPERSET_URL");
    let smtp_user = env("STEWARD_TEST_SMTP_USER");
    format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: jobs-metadb, namespace: {NAMESPACE}}}
stringData:
  url: "{url}"
---
apiVersion: steward.dev/v1alpha1
kind: SupersetInstance
metadata: {{name: jobs}}
spec:
  default: true
  metadataDatabase:
    urlSecretRef: {{name: jobs-metadb, key: url}}
  executions:
    catchUpSeconds: 120
    successfulJobsHistoryLimit: 1
    failedJobsHistoryLimit: 1
    jobTemplate:
      image: steward:test
      serviceAccountName: default
      nodeSelector: {{steward.dev/pool: reports}}
      envFrom:
        - secretRef: {{name: steward-executor}}
      env:
        - {{name: STEWARD_SUPERSET_URL, value: "{superset}"}}
        - {{name: STEWARD_SMTP_HOST, value: "127.0.0.1"}}
        - {{name: STEWARD_SMTP_PORT, value: "{smtp_port}"}}
        - {{name: STEWARD_SMTP_USER, value: "{smtp_user}"}}
        - {{name: STEWARD_SMTP_CA_FILE, value: "{smtp_ca}"}}
        - {{name: STEWARD_SMTP_FROM, value: "steward@example.com"}}
"#
    )
}

fn executor_secret(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: steward-executor, namespace: {NS}}}\nstringData:\n  STEWARD_DATABASE_URL: \"{url}\"\n  STEWARD_SUPERSET_SECRET_KEY: \"{}\"\n  STEWARD_SMTP_PASSWORD: \"{}\"\n",
        env("STEWARD_TEST_SUPERSET_SECRET_KEY"),
        env("STEWARD_TEST_SMTP_PASSWORD")
    )
}

/// The Jobs steward made in the test namespace.
fn jobs(kube: &Kube) -> Vec<Value> {
    let list = kube.json(&[
        "get",
        "jobs",
        "-n",
        NS,
        "-l",
        "app.kubernetes.io/managed-by=steward",
    ]);
    list["items"].as_array().cloned().unwrap_or_default()
}

fn fire_of(job: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        job["metadata"]["annotations"]["steward.dev/fire-time"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .with_timezone(&Utc)
}

fn name_of(job: &Value) -> String {
    job["metadata"]["name"].as_str().unwrap().to_owned()
}

/// Runs the Job's container command with its environment resolved (values, Secret keys, whole
/// Secrets), as a kubelet would; `steward` is this build's binary.
fn run_as_kubelet(kube: &Kube, job: &Value) -> std::process::Output {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let command: Vec<String> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(command[0], "steward");
    let secret = |name: &str| -> BTreeMap<String, String> {
        let s = kube.json(&["get", "secret", name, "-n", NS]);
        s["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let bytes = Command::new("base64")
                    .arg("-d")
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .and_then(|mut c| {
                        use std::io::Write;
                        c.stdin
                            .take()
                            .unwrap()
                            .write_all(v.as_str().unwrap().as_bytes())?;
                        c.wait_with_output()
                    })
                    .unwrap()
                    .stdout;
                (k.clone(), String::from_utf8(bytes).unwrap())
            })
            .collect()
    };
    let mut run = Command::new(env!("CARGO_BIN_EXE_steward"));
    run.args(&command[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for from in container["envFrom"].as_array().into_iter().flatten() {
        for (k, v) in secret(from["secretRef"]["name"].as_str().unwrap()) {
            run.env(k, v);
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        run.env(
            var["name"].as_str().unwrap(),
            var["value"].as_str().unwrap(),
        );
    }
    run.output().unwrap()
}

/// Sets the phase of the Job's pod, as a kubelet reports a container's end.
fn finish_pod(kube: &Kube, job: &str, phase: &str) {
    let pod = wait_for(
        "the Job's pod",
        Duration::from_secs(60),
        || {
            let pods = kube.json(&["get", "pods", "-n", NS, "-l", &format!("job-name={job}")]);
            pods["items"].as_array()?.first()?["metadata"]["name"]
                .as_str()
                .map(str::to_owned)
        },
        || kube.ok(&["get", "pods", "-n", NS]),
    );
    let status = format!(
        r#"{{"status":{{"phase":"{phase}","conditions":[{{"type":"Ready","status":"False"}}],"containerStatuses":[{{"name":"execute","image":"steward:test","imageID":"","ready":false,"restartCount":0,"state":{{"terminated":{{"exitCode":{},"reason":"{}"}}}}}}]}}}}"#,
        if phase == "Succeeded" { 0 } else { 1 },
        if phase == "Succeeded" {
            "Completed"
        } else {
            "Error"
        }
    );
    kube.ok(&[
        "patch",
        "pod",
        &pod,
        "-n",
        NS,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ]);
}

fn job_condition(kube: &Kube, job: &str) -> Option<String> {
    let j = kube.json(&["get", "job", job, "-n", NS]);
    j["status"]["conditions"].as_array()?.iter().find_map(|c| {
        (c["status"] == "True" && matches!(c["type"].as_str(), Some("Complete" | "Failed")))
            .then(|| c["type"].as_str().unwrap().to_owned())
    })
}

fn schedule_id(url: &str) -> String {
    sql_at(
        url,
        "SELECT id FROM report_schedule WHERE name = 'minutely'",
    )
    .trim()
    .to_owned()
}

fn log_messages(url: &str) -> String {
    sql_at(
        url,
        &format!(
            "SELECT state || ': ' || COALESCE(error_message, '') FROM report_execution_log WHERE report_schedule_id = {} ORDER BY id",
            schedule_id(url)
        ),
    )
}

#[test]
fn schedules_run_as_jobs_on_a_real_control_plane() {
    let _cluster = crate::kube_env::exclusive_cluster();
    let _superset = exclusive();
    let kube = Kube::from_env();
    let step = |what: &str| eprintln!("[operator jobs] {what}");
    kube.reset();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let _ = kube.run(&["create", "namespace", NS]);
    let _ = kube.run(&["delete", "jobs", "-n", NS, "--all", "--wait=true"]);
    let work = tempfile::tempdir().unwrap();
    install(&kube, None);
    let audit_from = audit_offset();
    let sa = service_account_kubeconfig(&kube, work.path());
    for yaml in [executor_secret(&url), instance(&url), resources()] {
        let (ok, out) = kube.apply(&yaml);
        assert!(ok, "{out}");
    }
    let mark = mail_mark();

    step("two replicas; the first fire time gets one Job");
    let a = Operator::start(&sa, work.path(), "jobs-a", &["--resync-seconds", "5"]);
    let b = Operator::start(&sa, work.path(), "jobs-b", &["--resync-seconds", "5"]);
    let logs = || {
        format!(
            "{}\n{}\n{}",
            a.log_text(),
            b.log_text(),
            kube.ok(&["get", "jobs", "-A"])
        )
    };
    let first = wait_for(
        "the first Job",
        Duration::from_secs(90),
        || jobs(&kube).into_iter().next(),
        logs,
    );
    let schedule = kube.json(&["get", "reportschedule", "minutely", "-n", NS]);
    let fire = fire_of(&first);
    assert_eq!(
        name_of(&first),
        steward::schedule::job::job_name("minutely", fire)
    );
    let owner = &first["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "ReportSchedule");
    assert_eq!(owner["uid"], schedule["metadata"]["uid"]);
    assert_eq!(first["spec"]["activeDeadlineSeconds"], 600);
    assert_eq!(first["spec"]["backoffLimit"], 0);
    assert_eq!(
        first["spec"]["template"]["spec"]["nodeSelector"]["steward.dev/pool"],
        "reports"
    );
    let text = first.to_string();
    assert!(
        !text.contains(&env("STEWARD_TEST_SMTP_PASSWORD")),
        "a secret inlined in the Job"
    );
    wait_for(
        "the schedule's status to show its runs",
        Duration::from_secs(30),
        || {
            let s = kube.json(&["get", "reportschedule", "minutely", "-n", NS]);
            (s["status"]["lastRunTime"] == fire.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                && s["status"]["nextRunTime"].is_string())
            .then_some(())
        },
        || kube.ok(&["get", "reportschedule", "minutely", "-n", NS, "-o", "yaml"]),
    );

    step("the next fire time passes while the first run works: held back, logged as skipped");
    let wait_past = |t: DateTime<Utc>| {
        while Utc::now() < t + chrono::Duration::seconds(4) {
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_past(fire + chrono::Duration::minutes(1));
    let now_jobs = jobs(&kube);
    assert_eq!(now_jobs.len(), 1, "{now_jobs:#?}");
    wait_for(
        "the held-back run in the execution log",
        Duration::from_secs(20),
        || log_messages(&url).contains("still working").then_some(()),
        || log_messages(&url),
    );

    step("the Job's command, run as a kubelet would, delivers as the run-as user");
    let out = run_as_kubelet(&kube, &first);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mails = mails_to(mark, &["jobs-minutely@example.com"]);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].attachments[0].1.contains("negotiation")
            && !mails[0].attachments[0].1.contains("qualification")
    );
    finish_pod(&kube, &name_of(&first), "Succeeded");
    wait_for(
        "the first Job to complete",
        Duration::from_secs(60),
        || (job_condition(&kube, &name_of(&first)).as_deref() == Some("Complete")).then_some(()),
        logs,
    );

    step("a run whose Job fails without a result is Error at once");
    let second = wait_for(
        "the next Job",
        Duration::from_secs(90),
        || jobs(&kube).into_iter().find(|j| fire_of(j) > fire),
        logs,
    );
    finish_pod(&kube, &name_of(&second), "Failed");
    wait_for(
        "Error recorded for the dead Job",
        Duration::from_secs(60),
        || {
            log_messages(&url)
                .contains("stopped before it recorded a result")
                .then_some(())
        },
        || format!("{}\n{}", log_messages(&url), logs()),
    );
    let state = sql_at(
        &url,
        "SELECT last_state FROM report_schedule WHERE name = 'minutely'",
    );
    assert_eq!(state.trim(), "Error");
    drop(a);
    drop(b);

    step("operators down for an hour: the newest missed fire time runs, the rest are skipped");
    let an_hour_ago = (Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    kube.ok(&[
        "patch",
        "reportschedule",
        "minutely",
        "-n",
        NS,
        "--subresource=status",
        "--type=merge",
        "-p",
        &format!(r#"{{"status":{{"lastRunTime":"{an_hour_ago}"}}}}"#),
    ]);
    let before: Vec<String> = jobs(&kube).iter().map(name_of).collect();
    let a = Operator::start(&sa, work.path(), "jobs-a2", &["--resync-seconds", "5"]);
    let third = wait_for(
        "the catch-up Job",
        Duration::from_secs(60),
        || {
            jobs(&kube)
                .into_iter()
                .find(|j| !before.contains(&name_of(j)))
        },
        || a.log_text(),
    );
    assert!(Utc::now() - fire_of(&third) < chrono::Duration::seconds(120));
    std::thread::sleep(Duration::from_secs(2));
    let new: Vec<String> = jobs(&kube)
        .iter()
        .map(name_of)
        .filter(|n| !before.contains(n))
        .collect();
    assert_eq!(new.len(), 1, "no burst: {new:?}");
    let log = log_messages(&url);
    assert!(
        log.contains("older than the catch-up window of 120 s"),
        "{log}"
    );

    step("history limits: the older of two completed Jobs goes");
    finish_pod(&kube, &name_of(&third), "Succeeded");
    wait_for(
        "the first Job deleted past the history limit",
        Duration::from_secs(60),
        || (!jobs(&kube).iter().any(|j| name_of(j) == name_of(&first))).then_some(()),
        || format!("{}\n{}", a.log_text(), kube.ok(&["get", "jobs", "-n", NS])),
    );

    step("deleting the schedule garbage-collects its Jobs");
    kube.ok(&[
        "delete",
        "reportschedule",
        "minutely",
        "-n",
        NS,
        "--wait=true",
    ]);
    wait_for(
        "the Jobs garbage-collected",
        Duration::from_secs(90),
        || jobs(&kube).is_empty().then_some(()),
        || kube.ok(&["get", "jobs", "-n", NS, "-o", "wide"]),
    );
    drop(a);

    step("the ServiceAccount used every Job rule it has, and nothing was refused");
    let (used, refused) = audited(audit_from);
    assert!(refused.is_empty(), "refused calls: {refused:#?}");
    for call in granted().into_iter().filter(|c| c.0 == "batch") {
        assert!(used.contains_key(&call), "{call:?} never used: {used:#?}");
    }
    kube.reset();
    clean_start(&url);
}
