//! Benchmark: `steward operator` with org-10k as resources on the real control plane.
//!
//! Needs the test services and a freshly started control plane:
//!   bash scripts/services.sh start && source /tmp/steward-services/env
//!   bash scripts/kube.sh start && source /tmp/steward-kube/env
//!   cargo bench --bench operator
//! It generates org-10k (`steward generate --scale 1 --seed 1`: 10,301 resources), seeds the
//! Superset content it refers to into a scratch PostgreSQL database cloned from the pristine
//! Superset 6.1 template, installs `manifests/` (the Deployment at zero, no webhook) and a
//! SupersetInstance, creates every resource through the API (server-side apply, 64 at a time),
//! then measures with the release binary run as the operator's ServiceAccount:
//!
//! 1. cold start: from starting the operator to every resource Ready (its status written for
//!    the current generation);
//! 2. change → Ready: 50 changes, one at a time (a user's last name), each from the API's
//!    acceptance of the patch to its status showing Ready for the new generation; p50 and p95;
//! 3. the operator's peak RSS (VmHWM) at the end.
//!
//! Targets, printed with PASS/FAIL (they do not fail the bench; broken invariants do):
//! change → Ready p95 ≤ 1 s; all Ready after a cold start ≤ 60 s; RSS ≤ 400 MB.
//! Knobs: `STEWARD_BENCH_SCALE` (default 1 = org-10k), `STEWARD_BENCH_CHANGES` (default 50).

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{kubectl, psql, release_binary, repo, run, var};

use futures_util::StreamExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use steward::operator::status_writer::api_resource;
use steward::resources::{Kind, Resource};

const TARGET_CHANGE_P95: f64 = 1.0;
const TARGET_COLD_START: f64 = 60.0;
const TARGET_RSS_MB: f64 = 400.0;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let scale: f64 = std::env::var("STEWARD_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let changes: usize = std::env::var("STEWARD_BENCH_CHANGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let binary = release_binary();
    let work = tempfile::tempdir().expect("a work directory");

    // The organisation and its Superset content.
    let tree = work.path().join("org");
    run(Command::new(&binary)
        .args([
            "generate",
            "--seed",
            "1",
            "--scale",
            &scale.to_string(),
            "--out",
        ])
        .arg(&tree));
    let admin_url = var("STEWARD_TEST_PG_URL");
    let database = format!("bench_operator_{}", std::process::id());
    psql(
        &admin_url,
        &format!(
            "CREATE DATABASE {database} TEMPLATE {}",
            var("STEWARD_TEST_SUPERSET_TEMPLATE")
        ),
    );
    let url = format!("{}/{database}", admin_url.rsplit_once('/').unwrap().0);
    let outcome =
        std::panic::catch_unwind(|| bench(&binary, work.path(), &tree, &url, scale, changes));
    psql(
        &admin_url,
        &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
    );
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn bench(binary: &Path, work: &Path, tree: &Path, url: &str, scale: f64, changes: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(seed(url, scale));
    let set = steward::manifests::load_paths(&[tree.display().to_string()]);
    assert!(!set.has_errors(), "the generated tree loads cleanly");
    let resources: Vec<Resource> = set.objects.into_iter().map(|o| o.resource).collect();
    let count = resources.len();
    println!(
        "org of {count} resources (scale {scale}), database {}",
        steward::store::redact_url(url)
    );

    // The cluster: manifests (no webhook, Deployment at zero), namespaces, the instance.
    install();
    let namespaces: std::collections::BTreeSet<&str> =
        resources.iter().filter_map(|r| r.namespace()).collect();
    for ns in namespaces {
        let _ = Command::new(var("STEWARD_KUBECTL"))
            .args(["create", "namespace", ns])
            .output();
    }
    let instance = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: bench-metadb, namespace: steward-system}}\nstringData: {{url: \"{url}\"}}\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetInstance\nmetadata: {{name: bench}}\nspec:\n  default: true\n  metadataDatabase: {{urlSecretRef: {{name: bench-metadb, key: url}}}}\n  deletionGuard: {{threshold: 100, windowSeconds: 60}}\n"
    );
    let file = work.join("instance.yaml");
    std::fs::write(&file, instance).unwrap();
    kubectl(&["apply", "-f", file.to_str().unwrap()]);
    let started = Instant::now();
    let client = rt
        .block_on(kube::Client::try_default())
        .expect("a kube client");
    rt.block_on(create_all(&client, &resources));
    println!(
        "created {count} resources through the API in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Cold start.
    let token = kubectl(&[
        "create",
        "token",
        "steward",
        "-n",
        "steward-system",
        "--duration=2h",
    ]);
    let kubeconfig = work.join("sa.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{}\", certificate-authority: \"{}\"}}}}]\nusers: [{{name: u, user: {{token: \"{}\"}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n",
            var("STEWARD_KUBE_SERVER"),
            var("STEWARD_KUBE_CA"),
            token.trim()
        ),
    )
    .unwrap();
    let log = work.join("operator.log");
    let started = Instant::now();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut operator = start_operator(binary, &kubeconfig, &log, metrics_port);
    rt.block_on(wait_all_ready(&client, count, Duration::from_secs(600)));
    let cold = started.elapsed().as_secs_f64();
    println!("cold start to {count} Ready: {cold:.1} s");

    // Change → Ready.
    let users: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.kind() == Kind::SupersetUser)
        .collect();
    let mut latencies: Vec<f64> = Vec::new();
    for i in 0..changes {
        let user = users[(i * 97) % users.len()];
        let took = rt.block_on(change_one(&client, user.metadata_name(), i));
        latencies.push(took);
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let (p50, p95, max) = (pct(0.5), pct(0.95), latencies[latencies.len() - 1]);
    println!(
        "change → Ready over {changes} changes: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        p50 * 1e3,
        p95 * 1e3,
        max * 1e3
    );

    let rss = peak_rss_mb(operator.id());
    println!("operator peak RSS: {rss:.0} MB");
    let metrics = fetch_metrics(metrics_port);
    let value = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (sum, passes) = (
        value("steward_pass_duration_seconds_sum"),
        value("steward_pass_duration_seconds_count"),
    );
    if passes > 0.0 {
        println!(
            "passes: {passes:.0}, engine pass (read, plan, apply) mean {:.0} ms; the rest of change → Ready is the debounce, statuses and the API",
            sum / passes * 1e3
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &operator.id().to_string()])
        .output();
    let _ = operator.wait();

    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!();
    println!("| operator, org of {count} | measured | target | |");
    println!("|---|---|---|---|");
    println!(
        "| cold start → all Ready | {cold:.1} s | ≤ {TARGET_COLD_START} s | {} |",
        verdict(cold <= TARGET_COLD_START)
    );
    println!("| change → Ready p50 | {:.0} ms | | |", p50 * 1e3);
    println!(
        "| change → Ready p95 | {:.0} ms | ≤ {:.0} ms | {} |",
        p95 * 1e3,
        TARGET_CHANGE_P95 * 1e3,
        verdict(p95 <= TARGET_CHANGE_P95)
    );
    println!(
        "| peak RSS | {rss:.0} MB | ≤ {TARGET_RSS_MB} MB | {} |",
        verdict(rss <= TARGET_RSS_MB)
    );
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}

async fn seed(url: &str, scale: f64) {
    use steward::store::demo::{DemoContent, seed};
    use steward::store::{DatabaseUrl, Store};
    let size = steward::generate::OrgSize::scaled(scale);
    let store = Store::connect(&DatabaseUrl::new(url), true).await.unwrap();
    let mut tx = store.write(|| {}).await.unwrap();
    steward::store::bootstrap::ensure_superset(&mut tx, true)
        .await
        .unwrap();
    steward::store::migrate::migrate(&mut tx).await.unwrap();
    seed(&mut tx, &DemoContent::organisation(&size.content))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.close().await;
}

fn install() {
    let overlay = tempfile::tempdir().unwrap();
    let depth = overlay.path().components().count() - 1;
    let base = format!(
        "{}{}",
        "../".repeat(depth),
        repo()
            .join("manifests")
            .display()
            .to_string()
            .trim_start_matches('/')
    );
    std::fs::write(
        overlay.path().join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {base}\nreplicas:\n  - name: steward-operator\n    count: 0\npatches:\n  - target: {{kind: ValidatingWebhookConfiguration, name: steward}}\n    patch: |-\n      $patch: delete\n      apiVersion: admissionregistration.k8s.io/v1\n      kind: ValidatingWebhookConfiguration\n      metadata:\n        name: steward\n"
        ),
    )
    .unwrap();
    kubectl(&["apply", "-k", overlay.path().to_str().unwrap()]);
    kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
        "--timeout=60s",
    ]);
}

fn api_for(client: &kube::Client, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = api_resource(kind);
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

async fn create_all(client: &kube::Client, resources: &[Resource]) {
    let params = PatchParams::apply("steward-bench").force();
    let results = futures_util::stream::iter(resources.iter().map(|r| {
        let params = params.clone();
        async move {
            let mut body = serde_json::to_value(r).unwrap();
            body["metadata"] = json!({"name": r.metadata_name(), "namespace": r.meta().namespace});
            let api = api_for(client, r.kind(), r.meta().namespace.as_deref());
            api.patch(r.metadata_name(), &params, &Patch::Apply(&body))
                .await
        }
    }))
    .buffer_unordered(64)
    .collect::<Vec<_>>()
    .await;
    let failed: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failed.is_empty(),
        "creating resources: {:?}",
        &failed[..failed.len().min(3)]
    );
}

fn start_operator(binary: &Path, kubeconfig: &Path, log: &Path, port: u16) -> Child {
    Command::new(binary)
        .args(["operator", "--log-format", "json", "--resync-seconds", "0"])
        .args(["--http-addr", &format!("127.0.0.1:{port}")])
        .args([
            "--debounce-ms",
            &std::env::var("STEWARD_BENCH_DEBOUNCE_MS").unwrap_or_else(|_| "50".into()),
        ])
        .env("KUBECONFIG", kubeconfig)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start the operator")
}

/// Whether an object's Ready condition is True for its current generation.
fn ready_now(object: &Value) -> bool {
    let generation = &object["metadata"]["generation"];
    object["status"]["observedGeneration"] == *generation
        && object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["type"] == "Ready"
                    && c["status"] == "True"
                    && c["observedGeneration"] == *generation
            })
}

async fn wait_all_ready(client: &kube::Client, count: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let mut ready = 0;
        for kind in Kind::ALL {
            let api = api_for(client, kind, None);
            let mut params = ListParams::default().limit(2000);
            loop {
                let page = api.list(&params).await.expect("list resources");
                ready += page
                    .items
                    .iter()
                    .filter(|o| ready_now(&serde_json::to_value(o).unwrap()))
                    .count();
                match page.metadata.continue_ {
                    Some(token) if !token.is_empty() => params = params.continue_token(&token),
                    _ => break,
                }
            }
        }
        if ready == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {ready} of {count} Ready after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Changes one user's last name; seconds until its status is Ready for the new generation.
async fn change_one(client: &kube::Client, name: &str, i: usize) -> f64 {
    let api = api_for(client, Kind::SupersetUser, None);
    let patch = json!({"spec": {"lastName": format!("Changed {i}")}});
    let started = Instant::now();
    let patched = api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch a user");
    let generation = patched.metadata.generation;
    loop {
        let object = api.get(name).await.expect("get the user");
        let value = serde_json::to_value(&object).unwrap();
        if object.metadata.generation == generation && ready_now(&value) {
            return started.elapsed().as_secs_f64();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} not Ready 30 s after a change"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The operator's `/metrics` text, read with a plain HTTP/1.0 request.
fn fetch_metrics(port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
