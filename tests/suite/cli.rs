//! The `steward` binary as users run it: exit codes, JSON report, standard input, `crds`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::repo_path;

fn steward(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn validate_exit_codes() {
    let ok = steward(&["validate", &repo_path("examples")]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("valid"));
    let bad = steward(&[
        "validate",
        &repo_path("examples/invalid/unknown-field.yaml"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("unknown-field.yaml:9:3"), "{stderr}");
    assert!(stderr.contains("did you mean `roles`?"), "{stderr}");
    let missing = steward(&["validate", "/nonexistent/steward"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/steward"));
}

#[test]
fn json_report_is_stable() {
    let out = steward(&[
        "validate",
        "--output",
        "json",
        &repo_path("examples/invalid/unresolved-reference.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schemaVersion"], 2);
    assert_eq!(report["valid"], false);
    assert_eq!(report["summary"]["errors"], 2);
    assert_eq!(report["summary"]["objects"], 2);
    let first = &report["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "unresolved-reference");
    assert_eq!(first["location"]["line"], 6);
    assert_eq!(first["location"]["column"], 11);
    assert_eq!(
        first["resource"],
        serde_json::json!({"kind": "SupersetGroup", "name": "finance-team"})
    );
    assert_eq!(first["field"], "spec.roles[0]");
    assert_eq!(first["hint"], "did you mean `Gamma`?");
}

#[test]
fn validate_reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: r\nspec:\n  includs: [Gamma]\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--> -:6:3"), "{stderr}");
    assert!(stderr.contains("did you mean `includes`?"), "{stderr}");
}

#[test]
fn crds_command_prints_every_crd() {
    let out = steward(&["crds"]);
    assert_eq!(out.status.code(), Some(0));
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(docs.len(), 8, "the seven kinds and SupersetInstance");
    assert!(docs.iter().all(|d| d["kind"] == "CustomResourceDefinition"));
}

#[test]
fn manifest_cache_gives_the_same_results_and_positions() {
    let cache = tempfile::tempdir().unwrap();
    let run = |path: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["validate", path])
            .env("STEWARD_MANIFEST_CACHE", cache.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Errors found after loading (references) point at the same place whether the file was
    // parsed now or came from the cache.
    let file = repo_path("examples/invalid/unresolved-reference.yaml");
    let first = run(&file);
    assert_eq!(first.0, Some(1));
    assert!(
        std::fs::read_dir(cache.path()).unwrap().count() > 0,
        "a file without load errors is cached"
    );
    assert_eq!(run(&file), first);
    assert!(
        first.1.contains("unresolved-reference.yaml")
            || first.2.contains("unresolved-reference.yaml:"),
        "{first:?}"
    );
    let examples = repo_path("examples");
    let (code, stdout, _) = run(&examples);
    assert_eq!(code, Some(0));
    assert_eq!(run(&examples).1, stdout);
    // A file with load errors is never cached: its errors come back every time.
    let broken = repo_path("examples/invalid/unknown-field.yaml");
    let before = std::fs::read_dir(cache.path()).unwrap().count();
    assert_eq!(run(&broken), run(&broken));
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), before);
}

#[test]
fn render_config_prints_superset_settings() {
    let out = steward(&["render-config", &repo_path("examples")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "ALERT_MINIMUM_INTERVAL = 300",
        "REPORT_MINIMUM_INTERVAL = 3600",
        "ALERTS_ATTACH_REPORTS = True",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }
    let none = steward(&["render-config", &repo_path("examples/org/roles.yaml")]);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no ReportConfiguration is declared"));
}

#[test]
fn alert_attachments_turned_off_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("attach.yaml");
    std::fs::write(&file, ATTACHMENTS_OFF).unwrap();
    let out = steward(&["validate", &file.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "warning[ineffective-field]: attachments for alerts are off in the ReportConfiguration"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("attach.yaml:20:3"), "{stderr}");
    // With attachments on, the same alert validates silently.
    std::fs::write(
        &file,
        ATTACHMENTS_OFF.replace("alertsAttachReports: false", "alertsAttachReports: true"),
    )
    .unwrap();
    let on = steward(&["validate", &file.display().to_string()]);
    assert_eq!(on.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&on.stderr).contains("attachments for alerts are off"));
}

const ATTACHMENTS_OFF: &str = r#"apiVersion: steward.dev/v1alpha1
kind: ReportConfiguration
metadata:
  name: default
spec:
  alertsAttachReports: false
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata:
  name: failed-payments
  namespace: finance
spec:
  type: Alert
  crontab: "*/15 * * * *"
  chart: {name: Revenue by region}
  database: warehouse
  sql: SELECT count(*) FROM finance.payments WHERE status = 'failed'
  validator: {type: Operator, operator: ">", threshold: 10}
  attachContent: true
  recipients:
    email: {to: [ana@corp.example.com]}
  owners: [ana]
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata:
  name: ana
spec:
  firstName: Ana
  lastName: Alves
  email: ana@corp.example.com
"#;

#[test]
fn validate_applies_the_report_policy_it_can_check_offline() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_path("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "cc: [ben.chen@sales.corp.example.com]",
            "cc: [ben@gmail.com]",
        );
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let out = steward(&["validate", &dir.path().display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[policy-violation]: ReportSchedule \"Daily pipeline by stage\" (Report): recipient: `ben@gmail.com` is not in an allowed e-mail domain"), "{stderr}");
    assert!(stderr.contains("schedules.yaml:44:12"), "{stderr}");
    // Whether ben@gmail.com is a Superset user needs the database: validate does not guess.
    assert!(
        !stderr.contains("not the e-mail of an active user"),
        "{stderr}"
    );
    // The JSON report carries each breach as SIP-209 lists it.
    let out = steward(&[
        "validate",
        &dir.path().display().to_string(),
        "--output",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let breaches: Vec<&serde_json::Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.get("breach"))
        .collect();
    assert_eq!(
        breaches,
        [&serde_json::json!({
            "name": "Daily pipeline by stage",
            "type": "Report",
            "reason": "recipient",
            "detail": "`ben@gmail.com` is not in an allowed e-mail domain",
        })]
    );
}
