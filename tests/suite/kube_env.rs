//! The real Kubernetes control plane the operator tests run against (started by
//! `scripts/kube.sh`, which `scripts/test.sh` runs): kubectl as the cluster admin, the
//! operator's ServiceAccount token, installing `manifests/` through a test overlay (the
//! webhook pointed at a loopback address, the Deployment scaled to zero: the operator runs as a
//! local process instead), starting operator processes, and waiting for conditions.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::repo_path;
use crate::services::env;

/// The operator tests share one control plane (cluster-scoped kinds, one Lease namespace): they
/// run one at a time.
pub fn exclusive_cluster() -> MutexGuard<'static, ()> {
    static CLUSTER: Mutex<()> = Mutex::new(());
    CLUSTER.lock().unwrap_or_else(|p| p.into_inner())
}

/// kubectl against the test control plane, as its admin.
pub struct Kube {
    kubectl: String,
    kubeconfig: String,
}

/// The operator's namespace.
pub const NAMESPACE: &str = "steward-system";

impl Kube {
    pub fn from_env() -> Kube {
        Kube {
            kubectl: env("STEWARD_KUBECTL"),
            kubeconfig: env("KUBECONFIG"),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.kubectl)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .unwrap()
    }

    /// Runs kubectl, which must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `kubectl apply -f -` of `yaml`: the output (exit status, stdout + stderr).
    pub fn apply(&self, yaml: &str) -> (bool, String) {
        self.apply_with(yaml, &[])
    }

    /// `kubectl apply --dry-run=server -f -` of `yaml`: what the API server, its admission
    /// webhooks included, would answer, with nothing stored.
    pub fn apply_dry_run(&self, yaml: &str) -> (bool, String) {
        self.apply_with(yaml, &["--dry-run=server"])
    }

    fn apply_with(&self, yaml: &str, flags: &[&str]) -> (bool, String) {
        let mut child = Command::new(&self.kubectl)
            .args(["apply", "-f", "-"])
            .args(flags)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// `kubectl get … -o json`.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Every steward resource's Ready condition: `Kind/[ns/]name` → (status, reason, message).
    pub fn readiness(&self) -> BTreeMap<String, (String, String, String)> {
        let list = self.json(&["get", STEWARD_KINDS, "-A"]);
        let mut out = BTreeMap::new();
        for item in list["items"].as_array().into_iter().flatten() {
            let kind = item["kind"].as_str().unwrap_or_default();
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            let id = match item["metadata"]["namespace"].as_str() {
                Some(ns) => format!("{kind}/{ns}/{name}"),
                None => format!("{kind}/{name}"),
            };
            let ready = item["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Ready");
            let field = |k: &str| {
                ready
                    .and_then(|c| c[k].as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            out.insert(id, (field("status"), field("reason"), field("message")));
        }
        out
    }

    /// Deletes every steward resource, instance and the test's webhook configuration, removing
    /// finalizers first (no operator may be running), and the operator's Lease.
    pub fn reset(&self) {
        // The webhook first: a leftover one with no server behind it refuses every update.
        let _ = self.run(&[
            "delete",
            "validatingwebhookconfiguration",
            "steward",
            "--ignore-not-found",
        ]);
        // Every CRD (a test may have removed one).
        self.ok(&["apply", "-k", &repo_path("crds")]);
        self.ok(&[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=60s",
        ]);
        let list = self.json(&["get", &format!("{STEWARD_KINDS},supersetinstances"), "-A"]);
        for item in list["items"].as_array().into_iter().flatten() {
            let kind = item["kind"].as_str().unwrap().to_lowercase();
            let name = item["metadata"]["name"].as_str().unwrap();
            let mut args = vec![
                "patch",
                kind.as_str(),
                name,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ];
            if let Some(ns) = item["metadata"]["namespace"].as_str() {
                args.extend(["-n", ns]);
            }
            let _ = self.run(&args);
        }
        let _ = self.run(&[
            "delete",
            &format!("{STEWARD_KINDS},supersetinstances"),
            "--all",
            "-A",
            "--wait=true",
        ]);
        let _ = self.run(&[
            "delete",
            "validatingwebhookconfiguration",
            "steward",
            "--ignore-not-found",
        ]);
        let _ = self.run(&[
            "delete",
            "lease",
            "steward-operator-leader",
            "-n",
            NAMESPACE,
            "--ignore-not-found",
        ]);
    }
}

/// The seven steward kinds, as `kubectl get` takes them.
pub const STEWARD_KINDS: &str = "supersetusers,supersetroles,supersetgroups,rowlevelsecurityfilters,reportschedules,reportconfigurations,guesttokenpolicies";

/// A webhook the operator serves on loopback: its port and certificate files.
pub struct LoopbackWebhook {
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopbackWebhook {
    /// A self-signed certificate for 127.0.0.1 and a free port.
    pub fn new() -> LoopbackWebhook {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("tls.crt");
        let key = dir.path().join("tls.key");
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=steward-webhook",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        LoopbackWebhook {
            port: free_port(),
            cert,
            key,
            _dir: dir,
        }
    }

    /// The certificate, base64-encoded, for `caBundle`.
    fn ca_bundle(&self) -> String {
        let out = Command::new("openssl")
            .args(["base64", "-A", "-in"])
            .arg(&self.cert)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Installs `manifests/` through an overlay of the test: the Deployment scaled to zero (the
/// operator runs as a process of the test), and the webhook pointed at `webhook` on loopback,
/// or removed when there is none. Returns `kubectl apply -k`'s output.
pub fn install(kube: &Kube, webhook: Option<&LoopbackWebhook>) -> String {
    let overlay = tempfile::tempdir().unwrap();
    // Kustomize takes bases by relative path only: up to the root, then down to the repository.
    let depth = overlay.path().components().count() - 1;
    let base = format!(
        "{}{}",
        "../".repeat(depth),
        repo_path("manifests").trim_start_matches('/')
    );
    let webhook_patch = match webhook {
        Some(w) => format!(
            r#"  - target: {{kind: ValidatingWebhookConfiguration, name: steward}}
    patch: |-
      - op: replace
        path: /webhooks/0/clientConfig
        value:
          url: https://127.0.0.1:{}/validate
          caBundle: {}
"#,
            w.port,
            w.ca_bundle()
        ),
        None => "  - target: {kind: ValidatingWebhookConfiguration, name: steward}\n    patch: |-\n      $patch: delete\n      apiVersion: admissionregistration.k8s.io/v1\n      kind: ValidatingWebhookConfiguration\n      metadata:\n        name: steward\n".to_owned(),
    };
    let kustomization = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {base}\nreplicas:\n  - name: steward-operator\n    count: 0\npatches:\n{webhook_patch}"
    );
    std::fs::write(overlay.path().join("kustomization.yaml"), kustomization).unwrap();
    kube.ok(&["apply", "-k", overlay.path().to_str().unwrap()])
}

/// A kubeconfig that authenticates as the operator's ServiceAccount (a TokenRequest token), so
/// every call goes through the RBAC of `manifests/`.
pub fn service_account_kubeconfig(kube: &Kube, dir: &Path) -> PathBuf {
    let token = kube.ok(&[
        "create",
        "token",
        "steward",
        "-n",
        NAMESPACE,
        "--duration=2h",
    ]);
    let path = dir.join("steward-sa.kubeconfig");
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n  - name: test\n    cluster: {{server: \"{}\", certificate-authority: \"{}\"}}\nusers:\n  - name: steward\n    user: {{token: \"{}\"}}\ncontexts:\n  - name: test\n    context: {{cluster: test, user: steward}}\ncurrent-context: test\n",
        env("STEWARD_KUBE_SERVER"),
        env("STEWARD_KUBE_CA"),
        token.trim()
    );
    std::fs::write(&path, config).unwrap();
    path
}

/// An operator process, killed when dropped.
pub struct Operator {
    pub child: Child,
    pub http_port: u16,
    pub log: PathBuf,
}

impl Operator {
    /// Starts `steward operator` with `kubeconfig` (text logs to a file in `dir`).
    pub fn start(kubeconfig: &Path, dir: &Path, identity: &str, extra: &[&str]) -> Operator {
        let http_port = free_port();
        let log = dir.join(format!("operator-{identity}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_steward"))
            .arg("operator")
            .args(["--identity", identity, "--log-format", "text"])
            .args(["--http-addr", &format!("127.0.0.1:{http_port}")])
            .args(["--namespace", NAMESPACE])
            .args(["--debounce-ms", "100", "--lock-timeout-seconds", "10"])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("STEWARD_LOG", "info,kube=warn,sqlx=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Operator {
            child,
            http_port,
            log,
        }
    }

    /// The operator's `/metrics` text (empty while it does not answer).
    pub fn metrics(&self) -> String {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        agent
            .get(format!("http://127.0.0.1:{}/metrics", self.http_port))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to release anything.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        // SIGTERM first (a graceful stop releases the Lease), then SIGKILL.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .output();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it gives a value or `timeout` passes (then panics with `what` and the
/// last state `describe` gives).
/// The last `n` lines of `text` (an operator's log, for a failure message).
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[track_caller]
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}; last state:\n{}",
                describe()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The YAML of a Secret holding a metadata-database URL and an instance using it.
pub fn instance_yaml(name: &str, url: &str, threshold: u32) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}-metadb, namespace: {NAMESPACE}}}\nstringData:\n  url: \"{url}\"\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetInstance\nmetadata: {{name: {name}}}\nspec:\n  default: true\n  metadataDatabase:\n    urlSecretRef: {{name: {name}-metadb, key: url}}\n  deletionGuard: {{threshold: {threshold}, windowSeconds: 120}}\n"
    )
}

/// The example organisation's namespaces exist.
pub fn example_namespaces(kube: &Kube) {
    for ns in ["finance", "sales", "audit"] {
        let _ = kube.run(&["create", "namespace", ns]);
    }
}
