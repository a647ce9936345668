//! The operator's guest-token endpoint on the real control plane: ServiceAccount tokens made by
//! the API server (TokenRequest) and reviewed by it (TokenReview), the operator running as its
//! own ServiceAccount with the RBAC of `manifests/`, a GuestTokenPolicy reconciled into the
//! test Superset's database, and the minted token used against Superset 6.1.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::kube_env::{
    Kube, LoopbackWebhook, NAMESPACE, Operator, install, service_account_kubeconfig, wait_for,
};
use crate::operator::{audit_offset, audited, granted};
use crate::services::{env, sql_at};
use crate::superset_api::{Content, Superset, clean_start, exclusive};

const NS: &str = "portal";

/// The audience the ServiceAccount tokens sent to the endpoint are issued for.
const REVIEW_AUDIENCE: &str = "steward-guest-tokens";

fn manifests(url: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: gt-metadb, namespace: {NAMESPACE}}}
stringData:
  url: "{url}"
---
apiVersion: v1
kind: Secret
metadata: {{name: gt-signing, namespace: {NAMESPACE}}}
stringData:
  # As `kubectl create secret --from-file` stores a file: with its trailing newline, which is
  # not part of the key.
  secret: "{secret}\n"
---
apiVersion: steward.dev/v1alpha1
kind: SupersetInstance
metadata: {{name: gt}}
spec:
  default: true
  metadataDatabase:
    urlSecretRef: {{name: gt-metadb, key: url}}
  guestTokens:
    secretRef: {{name: gt-signing, key: secret}}
    audience: "{audience}"
    perMinute: 6
---
apiVersion: steward.dev/v1alpha1
kind: GuestTokenPolicy
metadata: {{name: partners, namespace: {NS}}}
spec:
  dashboards: [{{slug: finance-overview}}]
  usernamePattern: 'partner-[0-9]+'
  attributes:
    tenant: {{pattern: '[a-z]{{2,16}}', required: true}}
  rlsRules:
    - {{dataset: warehouse.finance.invoices, clause: "region = 'EMEA'"}}
  serviceAccounts: [{{namespace: {NS}, name: web}}]
"#,
        secret = env("STEWARD_TEST_GUEST_TOKEN_SECRET"),
        audience = env("STEWARD_TEST_GUEST_TOKEN_AUDIENCE"),
    )
}

/// `POST /guest-token` over HTTPS (the webhook's self-signed certificate trusted) with an
/// optional bearer token: the status and the JSON answer.
fn post(webhook: &LoopbackWebhook, bearer: Option<&str>, body: &Value) -> (u16, Value) {
    let mut curl = Command::new("curl");
    curl.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
        .arg(&webhook.cert)
        .args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ]);
    // The bearer token goes through a config file on standard input's neighbour, never argv.
    let config;
    if let Some(token) = bearer {
        config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            config.path(),
            format!("header = \"Authorization: Bearer {token}\"\n"),
        )
        .unwrap();
        curl.arg("--config").arg(config.path());
    }
    curl.arg(format!("https://127.0.0.1:{}/guest-token", webhook.port));
    let mut child = curl
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}

fn request(username: &str, tenant: &str) -> Value {
    json!({
        "policy": format!("{NS}/partners"),
        "dashboards": ["finance-overview"],
        "username": username,
        "attributes": {"tenant": tenant},
    })
}

#[test]
fn the_operator_mints_guest_tokens_for_the_service_accounts_a_policy_names() {
    let _cluster = crate::kube_env::exclusive_cluster();
    let _superset = exclusive();
    let kube = Kube::from_env();
    let step = |what: &str| eprintln!("[operator guest tokens] {what}");
    kube.reset();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let ss = Superset::connect();
    let content = Content::read(&ss);
    let finance = content.dashboard_ids["finance-overview"];
    ss.embed(finance);

    let work = tempfile::tempdir().unwrap();
    let webhook = LoopbackWebhook::new();
    install(&kube, Some(&webhook));
    let audit_from = audit_offset();
    let sa = service_account_kubeconfig(&kube, work.path());
    let _ = kube.run(&["create", "namespace", NS]);
    for account in ["web", "intruder"] {
        let _ = kube.run(&["create", "serviceaccount", account, "-n", NS]);
    }
    let operator = Operator::start(
        &sa,
        work.path(),
        "gt",
        &[
            "--webhook-addr",
            &format!("127.0.0.1:{}", webhook.port),
            "--webhook-cert",
            webhook.cert.to_str().unwrap(),
            "--webhook-key",
            webhook.key.to_str().unwrap(),
            "--guest-token-review-audience",
            REVIEW_AUDIENCE,
        ],
    );
    let (ok, out) = kube.apply(&manifests(&url));
    assert!(ok, "{out}");
    step("the policy is reconciled into the instance's database");
    wait_for(
        "the GuestTokenPolicy to be Ready",
        Duration::from_secs(90),
        || {
            let p = kube.json(&["get", "guesttokenpolicy", "partners", "-n", NS]);
            p["status"]["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
                .then_some(())
        },
        || operator.log_text(),
    );

    let token_of = |account: &str| {
        kube.ok(&[
            "create",
            "token",
            account,
            "-n",
            NS,
            "--duration=1h",
            "--audience",
            REVIEW_AUDIENCE,
        ])
        .trim()
        .to_owned()
    };
    let web = token_of("web");
    let intruder = token_of("intruder");

    step("a ServiceAccount the policy names gets a token Superset accepts");
    let (status, answer) = post(&webhook, Some(&web), &request("partner-7", "acme"));
    assert_eq!(status, 200, "{answer}");
    let minted = answer["token"].as_str().unwrap().to_owned();
    let claims = {
        let out = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["token", "verify", "--audience"])
            .arg(env("STEWARD_TEST_GUEST_TOKEN_AUDIENCE"))
            .env(
                "STEWARD_GUEST_TOKEN_SECRET",
                env("STEWARD_TEST_GUEST_TOKEN_SECRET"),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(minted.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(claims["user"]["attributes"]["tenant"], "acme");
    assert_eq!(claims["rls_rules"][0]["clause"], "region = 'EMEA'");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .get(&format!(
            "{}/api/v1/dashboard/{finance}",
            env("STEWARD_TEST_SUPERSET_URL")
        ))
        .header("X-GuestToken", &minted)
        .call()
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "Superset refused the minted token"
    );

    step("another ServiceAccount gets 403, a bad or missing token 401");
    let (status, answer) = post(&webhook, Some(&intruder), &request("partner-7", "acme"));
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("portal/intruder"),
        "{answer}"
    );
    let (status, _) = post(
        &webhook,
        Some("not-a-kubernetes-token"),
        &request("partner-7", "acme"),
    );
    assert_eq!(status, 401);
    let (status, _) = post(&webhook, None, &request("partner-7", "acme"));
    assert_eq!(status, 401);
    // The allowed ServiceAccount's token for the API server's own audience: one that could be
    // replayed against the API server is not taken.
    let api_server_token = kube
        .ok(&["create", "token", "web", "-n", NS, "--duration=1h"])
        .trim()
        .to_owned();
    let (status, answer) = post(
        &webhook,
        Some(&api_server_token),
        &request("partner-7", "acme"),
    );
    assert_eq!(status, 401, "{answer}");
    assert!(answer.to_string().contains(REVIEW_AUDIENCE), "{answer}");

    step("outside the policy: 403 with every reason");
    let (status, answer) = post(&webhook, Some(&web), &request("admin", "ACME"));
    assert_eq!(status, 403, "{answer}");
    let reasons = answer["reasons"].to_string();
    assert!(
        reasons.contains("username \\\"admin\\\" does not match"),
        "{reasons}"
    );
    assert!(reasons.contains("tenant"), "{reasons}");

    step("oversized requests are refused before they cost anything");
    let (status, answer) = post(
        &webhook,
        Some(&"x".repeat(12 * 1024)),
        &request("partner-7", "acme"),
    );
    assert_eq!(status, 401, "{answer}");
    assert!(answer.to_string().contains("longer than"), "{answer}");
    let (status, _) = post(
        &webhook,
        Some(&web),
        &request(&"p".repeat(70 * 1024), "acme"),
    );
    assert_eq!(status, 413, "a body over 64 KiB");
    let mut many = request("partner-7", "acme");
    many["dashboards"] = json!((0..101).map(|i| format!("d{i}")).collect::<Vec<_>>());
    let (status, answer) = post(&webhook, Some(&web), &many);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.to_string().contains("101 dashboards (at most 100)"),
        "{answer}"
    );

    step("the rate limit: six a minute per ServiceAccount");
    let limited = (0..8)
        .map(|_| post(&webhook, Some(&web), &request("partner-8", "beta")).0)
        .collect::<Vec<_>>();
    assert!(limited.contains(&429), "{limited:?}");

    step("no token in the operator's logs or in Events");
    let log = operator.log_text();
    assert!(log.contains("guest token minted"), "{log}");
    assert!(log.contains("portal/web"), "{log}");
    let events = kube.ok(&["get", "events", "-A", "-o", "json"]);
    for secret in [minted.as_str(), web.as_str(), intruder.as_str()] {
        let head = &secret[..secret.len().min(40)];
        assert!(!log.contains(head), "a token in the operator's log");
        assert!(!events.contains(head), "a token in an Event");
    }
    step("deleting the policy removes it from the instance's database");
    kube.ok(&[
        "delete",
        "guesttokenpolicy",
        "partners",
        "-n",
        NS,
        "--wait=true",
    ]);
    wait_for(
        "the policy's row to go",
        Duration::from_secs(60),
        || {
            (sql_at(&url, "SELECT COUNT(*) FROM steward_guest_token_policy").trim() == "0")
                .then_some(())
        },
        || operator.log_text(),
    );
    drop(operator);

    step("the TokenReview and GuestTokenPolicy rules were used and nothing was refused");
    let (used, refused) = audited(audit_from);
    assert!(refused.is_empty(), "refused calls: {refused:#?}");
    for call in granted()
        .into_iter()
        .filter(|c| c.0 == "authentication.k8s.io" || c.1.starts_with("guesttokenpolicies"))
    {
        assert!(used.contains_key(&call), "{call:?} never used: {used:#?}");
    }
    ss.unembed(finance);
    kube.reset();
    clean_start(&url);
}
