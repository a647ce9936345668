//! `steward operator` on a real control plane (kube-apiserver, etcd, kube-controller-manager
//! from `scripts/kube.sh`) with a real Superset 6.1 on PostgreSQL: `manifests/` installed with
//! kubectl, the operator run as a process with its ServiceAccount's token under the manifests'
//! RBAC (checked against the API server's audit log), the example organisation applied as
//! resources and read back through Superset's REST API, the webhook, isolation, deletion
//! policies, the mass-deletion guard, adoption, drift, leader failover and a database outage.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Seek};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::kube_env::{
    Kube, LoopbackWebhook, NAMESPACE, Operator, example_namespaces, free_port, install,
    instance_yaml, last_lines, service_account_kubeconfig, wait_for,
};
use crate::repo_path;
use crate::services::{ScratchPg, copy_database, dump_rows_at, env, psql, steward_ok};
use crate::superset_api::{Content, Superset, clean_start, exclusive};
use crate::superset_e2e::{Declared, dump_diff, ensure_api_made, verify_api_made, verify_declared};
use crate::superset_matrix::verify_rls;

const READY_WITHIN: Duration = Duration::from_secs(60);

/// Waits until every steward resource is Ready (and there are `count` of them).
fn all_ready(kube: &Kube, count: usize) {
    wait_for(
        &format!("{count} resources Ready"),
        READY_WITHIN,
        || {
            let states = kube.readiness();
            (states.len() == count && states.values().all(|(s, _, _)| s == "True")).then_some(())
        },
        || format!("{:#?}", not_ready(kube)),
    );
}

fn not_ready(kube: &Kube) -> BTreeMap<String, (String, String, String)> {
    kube.readiness()
        .into_iter()
        .filter(|(_, (s, _, _))| s != "True")
        .collect()
}

/// The Ready condition of one resource once `status` (`True`/`False`) with `reason`.
fn condition_becomes(kube: &Kube, id: &str, status: &str, reason: &str) -> String {
    wait_for(
        &format!("{id}: Ready={status} ({reason})"),
        READY_WITHIN,
        || {
            kube.readiness()
                .get(id)
                .filter(|(s, r, _)| s == status && r == reason)
                .map(|(_, _, m)| m.clone())
        },
        || format!("{:#?}", kube.readiness().get(id)),
    )
}

fn instance_ready(kube: &Kube, name: &str) -> Value {
    let instance = kube.json(&["get", "supersetinstance", name]);
    instance["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .cloned()
        .unwrap_or(Value::Null)
}

fn example_files() -> Vec<String> {
    [
        "users.yaml",
        "roles.yaml",
        "groups.yaml",
        "rls.yaml",
        "schedules.yaml",
        "config.yaml",
    ]
    .iter()
    .map(|f| repo_path(&format!("examples/org/{f}")))
    .collect()
}

fn apply_examples(kube: &Kube) {
    for file in example_files() {
        kube.ok(&["apply", "-f", &file]);
    }
}

/// Resources in examples/org.
fn example_count() -> usize {
    let declared = Declared::load(Path::new(&repo_path("examples/org")));
    declared.users.len()
        + declared.roles.len()
        + declared.groups.len()
        + declared.rls.len()
        + declared.schedules.len()
        + 1
}

/// Events about an object (`kind/name` as kubectl prints them) in `namespace`: (reason, note).
fn events(kube: &Kube, namespace: &str) -> Vec<(String, String, String)> {
    let list = kube.json(&["get", "events.events.k8s.io", "-n", namespace]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                format!(
                    "{}/{}",
                    e["regarding"]["kind"].as_str().unwrap_or_default(),
                    e["regarding"]["name"].as_str().unwrap_or_default()
                ),
                e["reason"].as_str().unwrap_or_default().to_owned(),
                e["note"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The ServiceAccount's requests in the audit log from `offset` on: (group, resource, verb)
/// → how often, and every refused one.
/// An API call as RBAC sees it: (API group, resource[/subresource], verb).
pub(crate) type Call = (String, String, String);

pub(crate) fn audited(offset: u64) -> (BTreeMap<Call, usize>, Vec<String>) {
    let mut file = std::fs::File::open(env("STEWARD_KUBE_AUDIT_LOG")).unwrap();
    file.seek(std::io::SeekFrom::Start(offset)).unwrap();
    let user = format!("system:serviceaccount:{NAMESPACE}:steward");
    let mut used = BTreeMap::new();
    let mut refused = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let Ok(event) = serde_json::from_str::<Value>(&line.unwrap()) else {
            continue;
        };
        // Watches are long-running: they show as started until they end.
        let stage = event["stage"].as_str().unwrap_or_default();
        if event["user"]["username"] != user.as_str()
            || !matches!(stage, "ResponseStarted" | "ResponseComplete")
        {
            continue;
        }
        let object = &event["objectRef"];
        let mut resource = object["resource"].as_str().unwrap_or_default().to_owned();
        if let Some(sub) = object["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        let group = object["apiGroup"].as_str().unwrap_or_default().to_owned();
        let verb = event["verb"].as_str().unwrap_or_default().to_owned();
        if event["responseStatus"]["code"] == 403 {
            refused.push(format!(
                "{verb} {group}/{resource}: {}",
                event["requestURI"]
            ));
        }
        *used.entry((group, resource, verb)).or_insert(0) += 1;
    }
    (used, refused)
}

pub(crate) fn audit_offset() -> u64 {
    std::fs::metadata(env("STEWARD_KUBE_AUDIT_LOG"))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// What `manifests/rbac.yaml` grants the operator: (group, resource, verb).
pub(crate) fn granted() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(repo_path("manifests/rbac.yaml")).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let mut out = BTreeSet::new();
    for doc in docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
    {
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for group in rule["apiGroups"].as_array().into_iter().flatten() {
                for resource in rule["resources"].as_array().into_iter().flatten() {
                    for verb in rule["verbs"].as_array().into_iter().flatten() {
                        out.insert((
                            group.as_str().unwrap().to_owned(),
                            resource.as_str().unwrap().to_owned(),
                            verb.as_str().unwrap().to_owned(),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn tcp_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn the_operator_end_to_end_as_its_service_account() {
    let _cluster = crate::kube_env::exclusive_cluster();
    let _superset = exclusive();
    let kube = Kube::from_env();
    let step = |what: &str| eprintln!("[operator e2e] {what}");
    kube.reset();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    forget_operator_objects(&url);
    clean_start(&url);
    let _released = ReleasedFilterOnFailure(url.clone());
    let work = tempfile::tempdir().unwrap();
    // Objects made through Superset's own API, which the operator must leave alone.
    let ss = Superset::connect();
    let content = Content::read(&ss);
    let made = ensure_api_made(&ss, &content);

    step("kubectl apply -k manifests/ (the webhook on loopback, the Deployment at zero)");
    let webhook = LoopbackWebhook::new();
    let installed = install(&kube, Some(&webhook));
    for object in [
        "customresourcedefinition.apiextensions.k8s.io/supersetinstances.steward.dev",
        "customresourcedefinition.apiextensions.k8s.io/reportschedules.steward.dev",
        "deployment.apps/steward-operator",
        "service/steward-operator",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/steward",
        "clusterrole.rbac.authorization.k8s.io/steward-operator",
        "role.rbac.authorization.k8s.io/steward-operator",
    ] {
        assert!(installed.contains(object), "{object} not in:\n{installed}");
    }
    example_namespaces(&kube);
    let audit_from = audit_offset();
    let sa = service_account_kubeconfig(&kube, work.path());
    let (ok, out) = kube.apply(&instance_yaml("e2e", &url, 3));
    assert!(ok, "{out}");
    let cert = webhook.cert.to_str().unwrap().to_owned();
    let key = webhook.key.to_str().unwrap().to_owned();
    let webhook_addr = format!("127.0.0.1:{}", webhook.port);
    let operator = Operator::start(
        &sa,
        work.path(),
        "e2e",
        &[
            "--webhook-addr",
            &webhook_addr,
            "--webhook-cert",
            &cert,
            "--webhook-key",
            &key,
            "--resync-seconds",
            "3",
        ],
    );
    wait_for(
        "the webhook to listen",
        Duration::from_secs(30),
        || tcp_open(webhook.port).then_some(()),
        || operator.log_text(),
    );

    step("the example organisation as resources: all Ready");
    apply_examples(&kube);
    let count = example_count();
    all_ready(&kube, count);
    let table = kube.ok(&["get", "supersetroles"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("READY") && header.contains("REASON"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .skip(1)
            .all(|l| l.contains("True") && l.contains("Applied")),
        "{table}"
    );
    let instance = kube.json(&["get", "supersetinstance", "e2e"]);
    assert_eq!(instance["status"]["supersetVersion"], "6.1.0", "{instance}");
    assert_eq!(
        instance["status"]["resources"]["Ready"], count,
        "{instance}"
    );
    let role = kube.json(&["get", "supersetrole", "finance-analyst"]);
    assert!(role["status"]["supersetId"].as_i64().is_some(), "{role}");
    assert_eq!(
        role["status"]["observedGeneration"],
        role["metadata"]["generation"]
    );
    assert!(role["status"]["lastAppliedTime"].is_string(), "{role}");
    assert_eq!(role["metadata"]["finalizers"][0], "steward.dev/cleanup");
    let created = events(&kube, "finance");
    assert!(
        created.iter().any(
            |(on, reason, _)| on == "ReportSchedule/weekly-finance-overview" && reason == "Created"
        ),
        "{created:#?}"
    );

    step("Superset's REST API shows every object; RLS in chart-data SQL");
    let declared = Declared::load(Path::new(&repo_path("examples/org")));
    verify_declared(&ss, &url, &declared, &content, "operator");
    verify_api_made(&ss, &made, &content, "operator");
    verify_rls(&ss, &declared, &content, "operator");

    step("the webhook refuses a policy-breaking schedule with every offender");
    let schedules = std::fs::read_to_string(repo_path("examples/org/schedules.yaml")).unwrap();
    let breaking = schedules
        .replacen(
            "to: [ana.alves@finance.corp.example.com, dmitri.brandt@finance.corp.example.com]",
            "to: [ana.alves@finance.corp.example.com, leak@evil.example.net, x@other.example.org]",
            1,
        )
        .replacen("crontab: \"0 7 * * 1\"", "crontab: \"*/5 * * * *\"", 1);
    assert_ne!(breaking, schedules);
    let (ok, refused) = kube.apply(&breaking);
    assert!(!ok, "{refused}");
    for offender in [
        "admission webhook \"validate.steward.dev\" denied the request",
        "spec.crontab",
        "`leak@evil.example.net` is not in an allowed e-mail domain",
        "`x@other.example.org` is not in an allowed e-mail domain",
    ] {
        assert!(
            refused.contains(offender),
            "{offender:?} not in:\n{refused}"
        );
    }
    let stored = kube.json(&[
        "get",
        "reportschedule",
        "weekly-finance-overview",
        "-n",
        "finance",
    ]);
    assert_eq!(
        stored["spec"]["crontab"], "0 7 * * 1",
        "the refused spec is not stored"
    );

    step("with the webhook off: the policy condition, nothing written, the rest Ready, then fixed");
    kube.ok(&["delete", "validatingwebhookconfiguration", "steward"]);
    // The API server learns of the deletion through its own watch: until then it still calls
    // the webhook (a loaded machine shows the lag), so the test waits for a server-side dry
    // run, which passes admission, to be let through.
    wait_for(
        "the API server to stop calling the deleted webhook",
        Duration::from_secs(30),
        || kube.apply_dry_run(&breaking).0.then_some(()),
        || kube.apply_dry_run(&breaking).1,
    );
    let before = dump_rows_at(&url, &["logs", "key_value"]);
    let (ok, out) = kube.apply(&breaking);
    assert!(ok, "{out}");
    let message = condition_becomes(
        &kube,
        "ReportSchedule/finance/weekly-finance-overview",
        "False",
        "PolicyViolation",
    );
    for offender in [
        "spec.crontab",
        "leak@evil.example.net",
        "x@other.example.org",
    ] {
        assert!(message.contains(offender), "{offender} not in {message}");
    }
    let others = not_ready(&kube);
    assert_eq!(
        others.len(),
        1,
        "only the breaking schedule is not Ready: {others:#?}"
    );
    let after = dump_rows_at(&url, &["logs", "key_value"]);
    assert!(
        before == after,
        "nothing is written for it:{}",
        dump_diff(&before, &after)
    );
    kube.ok(&["apply", "-f", &repo_path("examples/org/schedules.yaml")]);
    all_ready(&kube, count);

    step("drift: a row changed behind steward's back is corrected by the resync");
    psql(
        &url,
        "UPDATE ab_user SET email = 'drifted@corp.example.com' WHERE username = 'ana.alves'",
    );
    wait_for(
        "the drift to be corrected",
        Duration::from_secs(30),
        || {
            let email = psql(
                &url,
                "SELECT email FROM ab_user WHERE username = 'ana.alves'",
            );
            (email.trim() == "ana.alves@finance.corp.example.com").then_some(())
        },
        || operator.log_text(),
    );
    let drift = wait_for(
        "the DriftCorrected event",
        Duration::from_secs(10),
        || {
            events(&kube, "default")
                .into_iter()
                .find(|(on, reason, _)| {
                    on == "SupersetUser/ana.alves" && reason == "DriftCorrected"
                })
        },
        || format!("{:#?}", events(&kube, "default")),
    );
    assert!(drift.2.contains("changed outside steward"), "{drift:?}");
    assert!(
        operator
            .metrics()
            .contains("steward_drift_corrections_total{instance=\"e2e\"} 1"),
        "{}",
        operator.metrics()
    );

    step("deletion with each policy");
    let rls_names = || {
        psql(
            &url,
            "SELECT name FROM row_level_security_filters ORDER BY name",
        )
    };
    kube.ok(&[
        "annotate",
        "rowlevelsecurityfilter",
        "finance-region-us",
        "-n",
        "finance",
        "steward.dev/deletion-policy=Orphan",
    ]);
    kube.ok(&[
        "delete",
        "rowlevelsecurityfilter",
        "finance-region-eu",
        "finance-region-us",
        "-n",
        "finance",
    ]);
    let names = rls_names();
    assert!(
        !names.contains("Finance EU rows"),
        "Delete: gone from Superset: {names}"
    );
    assert!(
        names.contains("Finance US rows"),
        "Orphan: kept in Superset: {names}"
    );
    let ledger = psql(
        &url,
        "SELECT object_key FROM steward_ledger WHERE kind = 'RowLevelSecurityFilter'",
    );
    assert!(
        !ledger.contains("Finance US rows"),
        "Orphan: no longer managed: {ledger}"
    );

    step("adoption is explicit");
    let rls = std::fs::read_to_string(repo_path("examples/org/rls.yaml")).unwrap();
    let us_only: String = rls
        .split("\n---\n")
        .find(|doc| doc.contains("name: finance-region-us"))
        .unwrap()
        .to_owned();
    let (ok, out) = kube.apply(&us_only);
    assert!(ok, "{out}");
    let conflict = condition_becomes(
        &kube,
        "RowLevelSecurityFilter/finance/finance-region-us",
        "False",
        "Conflict",
    );
    assert!(conflict.contains("adopt"), "{conflict}");
    kube.ok(&[
        "annotate",
        "rowlevelsecurityfilter",
        "finance-region-us",
        "-n",
        "finance",
        "steward.dev/adopt=true",
    ]);
    condition_becomes(
        &kube,
        "RowLevelSecurityFilter/finance/finance-region-us",
        "True",
        "Applied",
    );
    assert!(events(&kube, "finance").iter().any(|(on, reason, _)| on
        == "RowLevelSecurityFilter/finance-region-us"
        && reason == "Adopted"));

    step("two resources declaring one Superset object: the older wins");
    let runner = rls
        .split("\n---\n")
        .find(|doc| doc.contains("name: finance-report-runner"))
        .unwrap()
        .replacen("name: finance-report-runner", "name: runner-copy", 1)
        .replacen("namespace: finance", "namespace: sales", 1);
    let (ok, out) = kube.apply(&runner);
    assert!(ok, "{out}");
    let conflict = condition_becomes(
        &kube,
        "RowLevelSecurityFilter/sales/runner-copy",
        "False",
        "Conflict",
    );
    assert!(
        conflict.contains("declared twice")
            && conflict
                .contains("RowLevelSecurityFilter/finance/finance-report-runner declares it first"),
        "{conflict}"
    );
    assert_eq!(not_ready(&kube).len(), 1, "{:#?}", not_ready(&kube));
    kube.ok(&[
        "delete",
        "rowlevelsecurityfilter",
        "runner-copy",
        "-n",
        "sales",
    ]);

    step("the mass-deletion guard when a CRD is removed");
    let rls_before = rls_names();
    let filters_left = psql(
        &url,
        "SELECT count(*) FROM steward_ledger WHERE kind = 'RowLevelSecurityFilter'",
    );
    assert_eq!(filters_left.trim(), "5", "five managed filters before");
    kube.ok(&[
        "delete",
        "crd",
        "rowlevelsecurityfilters.steward.dev",
        "--wait=false",
    ]);
    // The API server deletes the CRD's resources namespace by namespace (audit: 1, finance: 2,
    // sales: 2). The guard (3 within 120 s, the EU filter's deletion above one of them) lets a
    // pass make the deletions its allowance still covers and pauses the rest: how many go
    // first depends on how the passes fall between the namespaces, never more than two.
    // Settled: every resource left is being deleted and the instance pauses exactly those.
    let deleting_filters = || {
        let list = kube.json(&["get", "rowlevelsecurityfilters", "-A"]);
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let all_deleting = items
            .iter()
            .all(|i| i["metadata"]["deletionTimestamp"].is_string());
        all_deleting.then_some(items.len())
    };
    let (paused, pending) = wait_for(
        "deletions to pause with every resource left pending",
        READY_WITHIN,
        || {
            let ready = instance_ready(&kube, "e2e");
            let pending = ready["message"]
                .as_str()
                .and_then(|m| m.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())?;
            (ready["reason"] == "DeletionPaused" && deleting_filters() == Some(pending))
                .then_some((ready, pending))
        },
        || {
            let filters = kube.run(&[
                "get",
                "rowlevelsecurityfilters",
                "-A",
                "-o",
                "custom-columns=NS:.metadata.namespace,NAME:.metadata.name,DELETING:.metadata.deletionTimestamp,FINALIZERS:.metadata.finalizers",
            ]);
            let ledger = psql(
                &url,
                "SELECT object_key, manager, resource_namespace, resource_name FROM steward_ledger WHERE kind = 'RowLevelSecurityFilter' ORDER BY 1",
            );
            format!(
                "{}\nthe filters' resources:\n{}{}\nthe ledger's filters:\n{ledger}\nthe operator's log ends:\n{}",
                instance_ready(&kube, "e2e"),
                String::from_utf8_lossy(&filters.stdout),
                String::from_utf8_lossy(&filters.stderr),
                last_lines(&operator.log_text(), 40),
            )
        },
    );
    let made_first = 5 - pending;
    eprintln!("[operator e2e] {made_first} deletions went ahead, {pending} paused");
    assert!(
        made_first <= 2,
        "at most the allowance went ahead: {paused}"
    );
    let message = paused["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{pending} deletions from Superset are pending"))
            && message.contains("more than the mass-deletion guard allows (3 within 120 s"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "kubectl annotate supersetinstance e2e steward.dev/confirm-deletions={pending}"
        )),
        "{message}"
    );
    let kept = psql(
        &url,
        "SELECT object_key FROM steward_ledger WHERE kind = 'RowLevelSecurityFilter' ORDER BY 1",
    );
    assert_eq!(
        kept.lines().count(),
        pending,
        "the paused filters are still managed: {kept}"
    );
    let names_now = rls_names();
    for name in kept.lines() {
        assert!(
            names_now.contains(name),
            "{name} is not deleted while paused: {names_now}"
        );
    }
    assert_eq!(
        rls_before.lines().count() - names_now.lines().count(),
        made_first,
        "only those that went ahead are gone: {rls_before} → {names_now}"
    );
    let confirmation = format!("steward.dev/confirm-deletions={pending}");
    kube.ok(&["annotate", "supersetinstance", "e2e", &confirmation]);
    wait_for(
        "the CRD to go once the deletions are confirmed",
        READY_WITHIN,
        || {
            let out = kube.run(&["get", "crd", "rowlevelsecurityfilters.steward.dev"]);
            (!out.status.success()).then_some(())
        },
        || format!("{} {}", instance_ready(&kube, "e2e"), rls_names()),
    );
    let left = rls_names();
    let declared_rls = Declared::load(Path::new(&repo_path("examples/org"))).rls;
    for filter in declared_rls.values() {
        let name = filter["name"].as_str().unwrap();
        assert!(
            !left.contains(name),
            "{name} deleted once confirmed: {left}"
        );
    }
    verify_api_made(&ss, &made, &content, "operator, after the deletions");
    let annotations =
        kube.json(&["get", "supersetinstance", "e2e"])["metadata"]["annotations"].clone();
    assert!(
        annotations.get("steward.dev/confirm-deletions").is_none(),
        "a used confirmation is cleared: {annotations}"
    );

    step("the ServiceAccount made every call it needed, and used every rule it has");
    let (used, refused) = audited(audit_from);
    assert!(refused.is_empty(), "refused calls: {refused:#?}");
    let used: BTreeSet<(String, String, String)> = used.into_keys().collect();
    let unused: Vec<_> = granted()
        .into_iter()
        // Events are patched only when one repeats (a series), which a short run need not do;
        // the Jobs of scheduled executions are checked by the operator_jobs suite, the
        // TokenReviews of the guest-token endpoint and the GuestTokenPolicy rules by the
        // operator_guest_tokens suite.
        .filter(|call| {
            let series_only = call.2 == "patch" && call.0 == "events.k8s.io";
            let elsewhere = call.0 == "batch"
                || call.0 == "authentication.k8s.io"
                || call.1.starts_with("guesttokenpolicies");
            !series_only && !elsewhere && !used.contains(call)
        })
        .collect();
    assert!(
        unused.is_empty(),
        "rules the operator never used: {unused:#?}\nused: {used:#?}"
    );
    drop(operator);

    step("clean up: resources, the CRD back, the operator's objects pruned");
    kube.reset();
    kube.ok(&[
        "apply",
        "-f",
        &repo_path("crds/rowlevelsecurityfilters.steward.dev.yaml"),
    ]);
    forget_operator_objects(&url);
    clean_start(&url);
}

/// Removes from the shared Superset what this test's operator left (its managed objects, and
/// the example objects an Orphan deletion released), so every run starts alike.
/// The filter an Orphan deletion releases is unmanaged: when the test fails after releasing
/// it, it is deleted here, or every later test declaring it would meet an unmanaged object of
/// that name (`clean_start` prunes what any manager left; this is no manager's). Nothing here
/// may panic while unwinding.
struct ReleasedFilterOnFailure(String);

impl Drop for ReleasedFilterOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let Ok(psql) = std::env::var("STEWARD_TEST_PSQL") else {
            return;
        };
        let _ = Command::new(psql)
            .args([self.0.as_str(), "-X", "-q", "-c", RELEASED_FILTER_DELETE])
            .output();
    }
}

/// Deletes the filter the Orphan deletion released, with its links.
const RELEASED_FILTER_DELETE: &str = "DELETE FROM rls_filter_roles WHERE rls_filter_id IN \
       (SELECT id FROM row_level_security_filters WHERE name = 'Finance US rows'); \
     DELETE FROM rls_filter_tables WHERE rls_filter_id IN \
       (SELECT id FROM row_level_security_filters WHERE name = 'Finance US rows'); \
     DELETE FROM row_level_security_filters WHERE name = 'Finance US rows'";

fn forget_operator_objects(url: &str) {
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap();
    steward_ok(
        &[
            "apply",
            empty,
            "--database",
            url,
            "--manager",
            "operator/e2e",
            "--allow-empty-kinds",
        ],
        0,
    );
    // The filter an Orphan deletion released is unmanaged: nothing prunes it.
    psql(url, RELEASED_FILTER_DELETE);
}

/// A PostgreSQL server of the test's own (so it can be stopped), with a copy of the seeded
/// Superset metadata database.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
    bin: std::path::PathBuf,
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let bin = Path::new(&env("STEWARD_TEST_PSQL"))
            .parent()
            .unwrap()
            .to_owned();
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let out = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success());
        }
        let pg = PrivatePostgres {
            dir,
            port: free_port(),
            bin,
        };
        let data = pg.dir.path().join("data");
        let out = pg
            .command("initdb")
            .args(["-A", "trust", "-U", "steward", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start_server();
        pg
    }

    /// A PostgreSQL program, run as the `postgres` account when the tests run as root (initdb
    /// and postgres refuse root).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = match is_root() {
            true => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(path);
                c
            }
            false => Command::new(path),
        };
        command.env_remove("PGDATA");
        command
    }

    fn ctl(&self, args: &[&str]) -> std::process::Output {
        let data = self.dir.path().join("data");
        self.command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(args)
            .output()
            .unwrap()
    }

    fn start_server(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let out = self.ctl(&["-w", "-o", &options, "-l", log.to_str().unwrap(), "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop_server(&self) {
        let out = self.ctl(&["-w", "-m", "fast", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://steward@127.0.0.1:{}/{database}", self.port)
    }

    /// A copy of the shared server's seeded Superset metadata database, as `superset`.
    fn with_superset(&self) -> String {
        psql(&self.url("postgres"), "CREATE DATABASE superset");
        let source =
            ScratchPg::from_template("opsrc", &env("STEWARD_TEST_SUPERSET_CONTENT_TEMPLATE"));
        copy_database(&source.url, &self.url("superset"));
        self.url("superset")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.ctl(&["-m", "immediate", "stop"]);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn metric(operator: &Operator, name: &str) -> Option<f64> {
    operator
        .metrics()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn two_replicas_fail_over_and_a_database_outage_heals() {
    let _cluster = crate::kube_env::exclusive_cluster();
    let kube = Kube::from_env();
    let step = |what: &str| eprintln!("[operator ha] {what}");
    kube.reset();
    let work = tempfile::tempdir().unwrap();
    install(&kube, None);
    example_namespaces(&kube);
    let pg = PrivatePostgres::start();
    let url = pg.with_superset();
    let sa = service_account_kubeconfig(&kube, work.path());
    let (ok, out) = kube.apply(&instance_yaml("ha", &url, 100));
    assert!(ok, "{out}");
    apply_examples(&kube);
    let count = example_count();

    step("two replicas: one leads");
    let lease_args = ["--lease-duration-seconds", "6", "--resync-seconds", "2"];
    let mut a = Operator::start(&sa, work.path(), "replica-a", &lease_args);
    wait_for(
        "replica-a to lead",
        Duration::from_secs(30),
        || (metric(&a, "steward_leader") == Some(1.0)).then_some(()),
        || a.log_text(),
    );
    let b = Operator::start(&sa, work.path(), "replica-b", &lease_args);
    all_ready(&kube, count);
    wait_for(
        "replica-b to serve metrics",
        Duration::from_secs(30),
        || (metric(&b, "steward_leader") == Some(0.0)).then_some(()),
        || b.log_text(),
    );
    assert_eq!(
        metric(&b, "steward_passes_total"),
        None,
        "a follower writes nothing"
    );
    let before = dump_rows_at(&url, &["logs"]);

    step("kill -9 the leader: the other takes over within the lease");
    a.kill_hard();
    let killed = Instant::now();
    wait_for(
        "replica-b to lead",
        Duration::from_secs(20),
        || (metric(&b, "steward_leader") == Some(1.0)).then_some(()),
        || b.log_text(),
    );
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs(8),
        "takeover took {took:?} with a 6 s lease"
    );
    eprintln!("[operator ha] takeover after {took:?}");
    wait_for(
        "replica-b's first pass",
        Duration::from_secs(20),
        || {
            metric(
                &b,
                "steward_passes_total{instance=\"ha\",result=\"applied\"}",
            )
            .filter(|n| *n >= 1.0)
        },
        || b.log_text(),
    );
    let after = dump_rows_at(&url, &["logs"]);
    assert!(
        before == after,
        "the new leader wrote nothing twice:{}",
        dump_diff(&before, &after)
    );
    let duplicates = psql(
        &url,
        "SELECT kind, object_key, count(*) FROM steward_ledger GROUP BY 1, 2 HAVING count(*) > 1",
    );
    assert!(
        duplicates.trim().is_empty(),
        "duplicate ledger rows: {duplicates}"
    );

    step("the database stops: database unavailable, then Ready again, nothing lost");
    pg.stop_server();
    let down = wait_for(
        "the instance to report the database unavailable",
        Duration::from_secs(30),
        || {
            let ready = instance_ready(&kube, "ha");
            (ready["reason"] == "DatabaseUnavailable").then_some(ready)
        },
        || format!("{}", instance_ready(&kube, "ha")),
    );
    assert!(
        !down["message"].as_str().unwrap().contains("password"),
        "{down}"
    );
    condition_becomes(
        &kube,
        "SupersetRole/finance-analyst",
        "False",
        "DatabaseUnavailable",
    );
    assert!(
        b.child.id() > 0 && metric(&b, "steward_leader") == Some(1.0),
        "the operator did not crash"
    );
    pg.start_server();
    all_ready(&kube, count);
    wait_for(
        "the instance to recover",
        Duration::from_secs(30),
        || (instance_ready(&kube, "ha")["status"] == "True").then_some(()),
        || format!("{}", instance_ready(&kube, "ha")),
    );
    let healed = dump_rows_at(&url, &["logs"]);
    assert!(
        before == healed,
        "nothing lost:{}",
        dump_diff(&before, &healed)
    );
    drop(b);
    kube.reset();
}
