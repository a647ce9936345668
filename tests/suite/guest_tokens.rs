//! Guest tokens against Superset 6.1 with embedding on (`EMBEDDED_SUPERSET`, its
//! `GUEST_TOKEN_JWT_SECRET` and audience, set by `scripts/services.sh`): a GuestTokenPolicy
//! diffed and applied like any other resource; `steward guest-token` minting only within it;
//! the token accepted by Superset for the policy's dashboard, with the policy's RLS clause in
//! the guest's SQL, and refused for another dashboard; `steward token verify` round-tripping
//! the claims (attributes included, which 6.1 itself drops).

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::services::{env, sql_at, steward_ok};
use crate::superset_api::{Content, Superset, clean_start, exclusive};

const POLICY: &str = "apiVersion: steward.dev/v1alpha1
kind: GuestTokenPolicy
metadata: {name: partners, namespace: portal}
spec:
  dashboards: [{slug: finance-overview}]
  usernamePattern: 'partner-[0-9]+'
  attributes:
    tenant: {pattern: '[a-z]{2,16}', required: true}
    tier: {pattern: 'gold|silver'}
  rlsRules:
    - {dataset: warehouse.finance.invoices, clause: \"region = 'EMEA'\"}
  maxLifetimeSeconds: 600
---
apiVersion: steward.dev/v1alpha1
kind: GuestTokenPolicy
metadata: {name: auditors, namespace: portal}
spec:
  dashboards: [{slug: audit-journal}]
";

/// `steward` with the guest-token secret in its environment (never on its command line).
fn steward_guest(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env_remove("STEWARD_DATABASE_URL")
        .env("STEWARD_GUEST_TOKEN_SECRET", guest_secret())
        .env("STEWARD_GUEST_TOKEN_AUDIENCE", audience())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn guest_secret() -> String {
    env("STEWARD_TEST_GUEST_TOKEN_SECRET")
}

fn audience() -> String {
    env("STEWARD_TEST_GUEST_TOKEN_AUDIENCE")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Mints through the command line; the token, or the exit code and standard error.
fn mint(url: &str, policy: &str, extra: &[&str]) -> Result<String, (i32, String)> {
    let mut args = vec!["guest-token", "--database", url, "--policy", policy];
    args.extend_from_slice(extra);
    let out = steward_guest(&args, None);
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains(&guest_secret()) && !text(&out.stdout).contains(&guest_secret()),
        "the secret was printed"
    );
    match out.status.code() {
        Some(0) => {
            assert!(stderr.contains("minted a guest token"), "{stderr}");
            Ok(text(&out.stdout).trim().to_owned())
        }
        code => {
            assert!(out.stdout.is_empty(), "a refusal printed a token");
            Err((code.unwrap_or(-1), stderr))
        }
    }
}

/// A request to Superset as the guest of `token`.
fn as_guest(method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let url = format!("{}{path}", env("STEWARD_TEST_SUPERSET_URL"));
    let result = match method {
        "GET" => agent.get(&url).header("X-GuestToken", token).call(),
        _ => agent
            .post(&url)
            .header("X-GuestToken", token)
            .send_json(body.unwrap_or(&Value::Null)),
    };
    let mut resp = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// The chart-data request an embedded dashboard's chart makes, as SQL (`result_type: query`).
fn chart_query(chart: i64, dataset: i64, dashboard: i64, result_type: &str) -> Value {
    json!({
        "datasource": {"id": dataset, "type": "table"},
        "form_data": {"dashboardId": dashboard, "slice_id": chart},
        "queries": [{"columns": ["region"], "metrics": [], "row_limit": 50}],
        "result_type": result_type,
        "result_format": "json",
    })
}

#[test]
fn guest_tokens_are_minted_only_within_the_applied_policy_and_superset_honours_them() {
    let _lock = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let ss = Superset::connect();
    let content = Content::read(&ss);
    let finance = content.dashboard_ids["finance-overview"];
    let audit = content.dashboard_ids["audit-journal"];
    let chart = content.chart_ids["Revenue by region"];
    let dataset = content.chart_datasets["Revenue by region"];
    for id in [finance, audit] {
        ss.unembed(id);
    }

    // The policy is reviewed and applied like the other kinds.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    let manifests = dir.path().to_str().unwrap();
    let diff = steward_ok(&["diff", manifests, "--database", &url], 2);
    assert!(
        diff.contains("GuestTokenPolicy") && diff.contains("partners"),
        "{diff}"
    );
    steward_ok(&["apply", manifests, "--database", &url], 0);
    steward_ok(&["diff", manifests, "--database", &url], 0);
    // A changed policy shows field by field.
    std::fs::write(
        dir.path().join("policy.yaml"),
        POLICY
            .replace("maxLifetimeSeconds: 600", "maxLifetimeSeconds: 900")
            .replace("region = 'EMEA'", "region IN ('EMEA')"),
    )
    .unwrap();
    let changed = steward_ok(&["diff", manifests, "--database", &url], 2);
    for field in [
        "maxLifetimeSeconds",
        "600",
        "900",
        "rlsRules",
        "region IN ('EMEA')",
    ] {
        assert!(changed.contains(field), "{field} not in\n{changed}");
    }
    std::fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    steward_ok(&["diff", manifests, "--database", &url], 0);

    let fitting = [
        "--dashboard",
        "finance-overview",
        "--username",
        "partner-7",
        "--first-name",
        "Partner",
        "--last-name",
        "Seven",
        "--algorithm",
        "HS256",
        "--attribute",
        "tenant=acme",
    ];
    // Not embedded in Superset yet: refused, saying so.
    let (code, stderr) = mint(&url, "partners", &fitting).unwrap_err();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is not embedded in Superset"), "{stderr}");

    let finance_embedded = ss.embed(finance);
    let audit_embedded = ss.embed(audit);

    let token = mint(&url, "partners", &fitting).expect("a fitting request is minted");
    // The claims round-trip through verify, attributes included.
    let out = steward_guest(&["token", "verify"], Some(&token));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims["type"], "guest");
    assert_eq!(claims["aud"], audience().as_str());
    assert_eq!(claims["user"]["username"], "partner-7");
    assert_eq!(claims["user"]["attributes"], json!({"tenant": "acme"}));
    assert_eq!(
        claims["resources"],
        json!([{"type": "dashboard", "id": finance_embedded}])
    );
    assert_eq!(
        claims["rls_rules"],
        json!([{"dataset": dataset, "clause": "region = 'EMEA'"}])
    );
    let lifetime = claims["exp"].as_f64().unwrap() - claims["iat"].as_f64().unwrap();
    assert!((lifetime - 600.0).abs() < 0.01, "{claims}");
    // Another audience is refused by verify.
    let out = steward_guest(
        &["token", "verify", "--audience", "http://elsewhere/"],
        Some(&token),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("audience"),
        "{}",
        text(&out.stderr)
    );

    // Superset accepts it for the policy's dashboard: the dashboard, and its chart's data with
    // the policy's clause in the guest's SQL.
    let (status, body) = as_guest("GET", &format!("/api/v1/dashboard/{finance}"), &token, None);
    assert_eq!(status, 200, "the guest reads its dashboard: {body}");
    // Superset keeps a guest's SQL from the guest (`result_type: query` answers without it):
    // the warehouse's own statement log shows what ran.
    let log = env("STEWARD_TEST_PG_LOG");
    let logged_from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let pg = env("STEWARD_TEST_PG_URL");
    sql_at(&pg, "ALTER DATABASE warehouse SET log_statement = 'all'");
    let (status, body) = as_guest(
        "POST",
        "/api/v1/chart/data",
        &token,
        Some(&chart_query(chart, dataset, finance, "full")),
    );
    sql_at(&pg, "ALTER DATABASE warehouse RESET log_statement");
    assert_eq!(status, 200, "the guest's chart data: {body}");
    let rows = body["result"][0]["data"].as_array().unwrap();
    assert!(!rows.is_empty(), "{body}");
    assert!(
        rows.iter().all(|r| r["region"] == "EMEA"),
        "rows outside the policy's clause: {body}"
    );
    let logged = std::fs::read(&log).unwrap();
    let logged = String::from_utf8_lossy(&logged[logged_from as usize..]);
    // One record per log line that starts with its timestamp; a statement's own lines follow.
    let mut records: Vec<String> = Vec::new();
    for line in logged.lines() {
        if line.starts_with("20") || records.is_empty() {
            records.push(line.to_owned());
        } else if let Some(last) = records.last_mut() {
            last.push('\n');
            last.push_str(line);
        }
    }
    let statement = records
        .iter()
        .find(|r| r.contains("statement:") && r.contains("invoices"))
        .unwrap_or_else(|| panic!("no warehouse statement logged:\n{logged}"));
    assert!(
        statement.contains("region = 'EMEA'"),
        "the policy's clause is not in the guest's SQL: {statement}"
    );

    // A token for another dashboard (another policy) gets nothing of this one.
    let other = mint(
        &url,
        "auditors",
        &["--dashboard", "audit-journal", "--username", "auditor"],
    )
    .expect("minted under the auditors policy");
    let (status, _) = as_guest("GET", &format!("/api/v1/dashboard/{audit}"), &other, None);
    assert_eq!(status, 200);
    let (status, body) = as_guest("GET", &format!("/api/v1/dashboard/{finance}"), &other, None);
    // Superset hides a dashboard the guest may not see (404), or refuses it (403).
    assert!(
        matches!(status, 403 | 404),
        "another dashboard's token read this one: {status} {body}"
    );
    let (status, body) = as_guest(
        "POST",
        "/api/v1/chart/data",
        &other,
        Some(&chart_query(chart, dataset, finance, "query")),
    );
    assert_eq!(
        status, 403,
        "another dashboard's token got its data: {body}"
    );
    assert_ne!(audit_embedded, finance_embedded);

    // Outside the policy: every reason listed, nothing minted.
    let (code, stderr) = mint(
        &url,
        "partners",
        &[
            "--dashboard",
            "audit-journal",
            "--username",
            "admin",
            "--attribute",
            "tenant=ACME",
            "--attribute",
            "role=Admin",
            "--lifetime-seconds",
            "3600",
        ],
    )
    .unwrap_err();
    assert_eq!(code, 1, "{stderr}");
    for reason in [
        "dashboard \"audit-journal\" is not one the policy partners allows",
        "username \"admin\" does not match",
        "attribute \"tenant\" = \"ACME\" does not match its pattern",
        "attribute \"role\" is not one the policy allows",
        "a lifetime of 3600 s is longer than the policy's maximum of 600 s",
    ] {
        assert!(stderr.contains(reason), "missing {reason:?} in\n{stderr}");
    }
    let (code, stderr) = mint(&url, "nobody", &fitting).unwrap_err();
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no guest-token policy named `nobody`")
            && stderr.contains("auditors, partners"),
        "{stderr}"
    );
    // A token signed with another key is refused by verify, and by Superset.
    let forged = {
        let claims = json!({
            "user": {"username": "partner-7", "first_name": "", "last_name": ""},
            "resources": [{"type": "dashboard", "id": finance_embedded}],
            "rls_rules": [], "iat": claims["iat"], "exp": claims["exp"],
            "aud": audience(), "type": "guest",
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"not-the-secret"),
        )
        .unwrap()
    };
    let out = steward_guest(&["token", "verify"], Some(&forged));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("signature"),
        "{}",
        text(&out.stderr)
    );
    let (status, _) = as_guest(
        "GET",
        &format!("/api/v1/dashboard/{finance}"),
        &forged,
        None,
    );
    assert!(
        matches!(status, 401 | 403),
        "Superset accepted a forged token: {status}"
    );

    // The policies leave with the manifests.
    let empty = tempfile::tempdir().unwrap();
    steward_ok(
        &[
            "apply",
            empty.path().to_str().unwrap(),
            "--database",
            &url,
            "--allow-empty-kinds",
        ],
        0,
    );
    let (code, stderr) = mint(&url, "partners", &fitting).unwrap_err();
    assert_eq!(code, 1);
    assert!(stderr.contains("none is"), "{stderr}");
    for id in [finance, audit] {
        ss.unembed(id);
    }
}
