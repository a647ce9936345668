//! The checked-in `crds/` are exactly what `steward crds --out crds` writes, the CRDs carry
//! what `kubectl` needs (status subresource, printer columns, short names, the `superset`
//! category, the CEL rules), and the kustomize base renders with a real kustomize: every CRD as
//! `steward crds` prints it, the namespace, and RBAC that covers every kind steward declares.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use steward::cli::crd_files;
use steward::resources::Kind;
use steward::resources::crd::openapi_schema;

use crate::repo;
use crate::services::steward_ok;

#[test]
fn checked_in_crds_are_current() {
    let dir = repo().join("crds");
    for (name, text) in crd_files() {
        let on_disk = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
        assert!(
            on_disk == text,
            "crds/{name} is stale: run `cargo run -- crds --out crds` and commit the result"
        );
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        files,
        crd_files().len(),
        "crds/ holds files steward does not generate"
    );
}

#[test]
fn crds_carry_kubectl_metadata_and_cel_rules() {
    for kind in Kind::ALL {
        let crd = kind.crd();
        let names = &crd.spec.names;
        assert_eq!(
            names.categories.as_deref(),
            Some(&["superset".to_owned()][..]),
            "{kind}"
        );
        assert_eq!(names.short_names.as_ref().map(Vec::len), Some(1), "{kind}");
        let version = &crd.spec.versions[0];
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{kind} status subresource"
        );
        let columns = version
            .additional_printer_columns
            .as_ref()
            .expect("printer columns");
        assert!(
            columns.iter().any(|c| c.name == "Ready"),
            "{kind} Ready column"
        );
        assert_eq!(
            crd.spec.scope,
            if kind.namespaced() {
                "Namespaced"
            } else {
                "Cluster"
            }
        );
    }
    let rules = |kind: Kind| {
        let text = openapi_schema(kind).to_string();
        text.matches("\"rule\":").count()
    };
    assert_eq!(
        rules(Kind::ReportSchedule),
        10,
        "schedule: chart/dashboard, NONE for alerts, alert, report, 3 durations, chart ref, dashboard ref, validator"
    );
    assert_eq!(rules(Kind::RowLevelSecurityFilter), 1, "filter type");
}

#[test]
fn every_field_is_documented() {
    fn walk(kind: Kind, path: &str, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, child) in props {
                let here = format!("{path}.{name}");
                let documented = child
                    .get("description")
                    .and_then(|d| d.as_str())
                    .is_some_and(|d| !d.is_empty());
                if !documented && !["apiVersion", "kind", "metadata"].contains(&name.as_str()) {
                    missing.push(format!("{kind} {here}"));
                }
                walk(kind, &here, child, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(kind, &format!("{path}[]"), items, missing);
        }
    }
    let mut missing = Vec::new();
    for kind in Kind::ALL {
        walk(kind, "", &openapi_schema(kind), &mut missing);
    }
    assert!(
        missing.is_empty(),
        "fields without a description (kubectl explain shows nothing): {missing:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The kustomize base, rendered by a real kustomize

/// The pinned kustomize, built from its Go module by `scripts/kustomize.sh` (once; cached by
/// version). A missing Go or a failed build fails the test: nothing here is skipped.
fn kustomize() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo().join("scripts/kustomize.sh"))
        .output()
        .expect("running scripts/kustomize.sh");
    assert!(
        out.status.success(),
        "scripts/kustomize.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(
        path.lines()
            .last()
            .expect("scripts/kustomize.sh printed no path"),
    )
}

/// The objects of a multi-document YAML stream, every number as a float: the CRD schema's
/// `minimum` is a float (`0.0` from `steward crds`), which kustomize writes as `0`.
fn documents(yaml: &str) -> Vec<Value> {
    fn floats(v: Value) -> Value {
        match v {
            Value::Number(n) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Number(n), Value::Number),
            Value::Array(items) => Value::Array(items.into_iter().map(floats).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, floats(v))).collect())
            }
            other => other,
        }
    }
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap_or_else(|e| panic!("not YAML: {e}\n{yaml}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .map(floats)
        .collect()
}

/// `kustomize build dir`, as objects.
fn kustomize_build(kustomize: &Path, dir: &Path) -> Vec<Value> {
    let out = Command::new(kustomize)
        .arg("build")
        .arg(dir)
        .output()
        .expect("running kustomize");
    assert!(
        out.status.success(),
        "kustomize build {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    documents(&String::from_utf8(out.stdout).unwrap())
}

/// An object's identity: API group/version, kind, namespace, name.
fn id(obj: &Value) -> String {
    format!(
        "{} {} {}/{}",
        obj["apiVersion"].as_str().unwrap_or_default(),
        obj["kind"].as_str().unwrap_or_default(),
        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
        obj["metadata"]["name"].as_str().unwrap_or_default()
    )
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// What is wrong with a rendered base, against the CRDs `steward crds` prints: each CRD present
/// and equal, no object twice, the namespace, the service account bound to the operator's
/// cluster role, and that role granting every CRD's resource and status subresource (and naming
/// no resource of steward's group that is not a CRD).
fn base_problems(rendered: &[Value], crds: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
    for obj in rendered {
        if by_id.insert(id(obj), obj).is_some() {
            problems.push(format!("{} rendered twice", id(obj)));
        }
    }
    for crd in crds {
        match by_id.get(&id(crd)) {
            None => problems.push(format!("{} missing", id(crd))),
            Some(found) if *found != crd => {
                problems.push(format!("{} differs from `steward crds`", id(crd)))
            }
            Some(_) => {}
        }
    }
    let of_kind =
        |kind: &str| -> Vec<&Value> { rendered.iter().filter(|o| o["kind"] == kind).collect() };
    let namespaces: BTreeSet<String> = of_kind("Namespace")
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    if !namespaces.contains("steward-system") {
        problems.push(format!("namespace steward-system missing: {namespaces:?}"));
    }
    for obj in rendered {
        if let Some(ns) = obj["metadata"]["namespace"].as_str()
            && !namespaces.contains(ns)
        {
            problems.push(format!(
                "{} is in a namespace the base does not make",
                id(obj)
            ));
        }
    }
    let accounts: BTreeSet<(String, String)> = of_kind("ServiceAccount")
        .iter()
        .map(|a| {
            (
                a["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                a["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let roles: BTreeMap<String, &Value> = of_kind("ClusterRole")
        .into_iter()
        .map(|r| {
            (
                r["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                r,
            )
        })
        .collect();
    let bindings = of_kind("ClusterRoleBinding");
    if bindings.is_empty() {
        problems.push("no ClusterRoleBinding".to_owned());
    }
    let mut bound = Vec::new();
    for binding in bindings {
        let role = binding["roleRef"]["name"].as_str().unwrap_or_default();
        match roles.get(role) {
            Some(r) if binding["roleRef"]["kind"] == "ClusterRole" => bound.push(*r),
            _ => problems.push(format!(
                "{} binds a missing cluster role {role:?}",
                id(binding)
            )),
        }
        for subject in binding["subjects"].as_array().into_iter().flatten() {
            let who = (
                subject["namespace"].as_str().unwrap_or_default().to_owned(),
                subject["name"].as_str().unwrap_or_default().to_owned(),
            );
            if subject["kind"] != "ServiceAccount" || !accounts.contains(&who) {
                problems.push(format!("{} binds a missing subject {subject}", id(binding)));
            }
        }
    }
    // What the bound roles grant: (group, resource) → verbs.
    let mut grants: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for role in bound {
        for rule in role["rules"].as_array().into_iter().flatten() {
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    grants
                        .entry((group.clone(), resource))
                        .or_default()
                        .extend(strings(&rule["verbs"]));
                }
            }
        }
    }
    let mut crd_resources = BTreeSet::new();
    for crd in crds {
        let group = crd["spec"]["group"].as_str().unwrap_or_default().to_owned();
        let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
        // The operator watches every kind, patches its finalizer on the declared kinds (and a
        // used deletion confirmation away on instances), and writes every status by
        // server-side apply.
        let main_verbs: &[&str] = &["list", "watch", "patch"];
        for (resource, verbs) in [
            (plural.to_owned(), main_verbs),
            (format!("{plural}/status"), &["patch"][..]),
        ] {
            let granted = grants.get(&(group.clone(), resource.clone()));
            let missing: Vec<&str> = verbs
                .iter()
                .copied()
                .filter(|v| !granted.is_some_and(|g| g.contains(*v)))
                .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "the operator may not {missing:?} {group}/{resource}"
                ));
            }
            crd_resources.insert((group.clone(), resource));
        }
    }
    let crd_groups: BTreeSet<&String> = crd_resources.iter().map(|(g, _)| g).collect();
    for (group, resource) in grants.keys() {
        if crd_groups.contains(group) && !crd_resources.contains(&(group.clone(), resource.clone()))
        {
            problems.push(format!(
                "RBAC names {group}/{resource}, which no CRD defines"
            ));
        }
    }
    problems
}

/// Copies `manifests/` and `crds/` into a scratch directory, for edited variants.
fn scratch_base() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for dir in ["manifests", "crds"] {
        std::fs::create_dir(root.path().join(dir)).unwrap();
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            // The files of the base; overlays are not part of it.
            if path.is_file() {
                std::fs::copy(&path, root.path().join(dir).join(path.file_name().unwrap()))
                    .unwrap();
            }
        }
    }
    root
}

#[test]
fn kustomize_base_renders_every_crd_namespace_and_rbac() {
    let kustomize = kustomize();
    let printed = documents(&steward_ok(&["crds"], 0));
    // Every kind steward declares has its CRD in `steward crds`.
    let kinds: BTreeSet<String> = printed
        .iter()
        .map(|c| {
            c["spec"]["names"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let declared: BTreeSet<String> = Kind::ALL
        .iter()
        .map(|k| k.to_string())
        .chain(["SupersetInstance".to_owned()])
        .collect();
    assert_eq!(kinds, declared, "kinds in `steward crds`");
    assert!(
        printed
            .iter()
            .all(|c| c["kind"] == "CustomResourceDefinition")
    );

    // crds/ alone: exactly the CRDs, nothing else.
    let crds_only = kustomize_build(&kustomize, &repo().join("crds"));
    let (mut a, mut b): (Vec<String>, Vec<String>) = (
        crds_only.iter().map(id).collect(),
        printed.iter().map(id).collect(),
    );
    a.sort();
    b.sort();
    assert_eq!(a, b, "objects of `kustomize build crds/`");
    for crd in &crds_only {
        let want = printed.iter().find(|c| id(c) == id(crd)).unwrap();
        assert_eq!(crd, want, "{} from `kustomize build crds/`", id(crd));
    }

    // manifests/: the CRDs, the namespace, the RBAC.
    let base = kustomize_build(&kustomize, &repo().join("manifests"));
    let problems = base_problems(&base, &printed);
    assert!(
        problems.is_empty(),
        "kustomize build manifests/: {problems:#?}"
    );
    assert_eq!(
        base.len(),
        printed.len() + 9,
        "CRDs + Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding, Deployment, Service, ValidatingWebhookConfiguration: {:#?}",
        base.iter().map(id).collect::<Vec<_>>()
    );
}

/// The checks above see a broken base: a kind dropped from the RBAC, a status subresource
/// misspelt, a binding to a role that is not there, a CRD edited by hand.
#[test]
fn kustomize_base_checks_catch_broken_bases() {
    let kustomize = kustomize();
    let printed = documents(&steward_ok(&["crds"], 0));
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "manifests/rbac.yaml",
            "      - reportschedules\n      - reportconfigurations\n      - guesttokenpolicies\n    verbs: [list",
            "      - reportconfigurations\n      - guesttokenpolicies\n    verbs: [list",
            "the operator may not [\"list\", \"watch\", \"patch\"] steward.dev/reportschedules",
        ),
        (
            "manifests/rbac.yaml",
            "      - supersetusers/status\n",
            "      - supersetuser/status\n",
            "RBAC names steward.dev/supersetuser/status, which no CRD defines",
        ),
        (
            "manifests/rbac.yaml",
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: steward-operator",
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: steward-reader",
            "binds a missing cluster role \"steward-reader\"",
        ),
        (
            "crds/supersetgroups.steward.dev.yaml",
            "    - ssgroup\n",
            "    - ssgrp\n",
            "CustomResourceDefinition /supersetgroups.steward.dev differs from `steward crds`",
        ),
    ];
    for (file, from, to, expect) in cases {
        let root = scratch_base();
        let path = root.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches(from).count(), 1, "{from:?} in {file}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let base = kustomize_build(&kustomize, &root.path().join("manifests"));
        let problems = base_problems(&base, &printed);
        assert!(
            problems.iter().any(|p| p.contains(expect)),
            "{file} edited ({from:?} → {to:?}): expected a problem with {expect:?}, found {problems:#?}"
        );
    }
}

/// The README's table of kinds (scope, short name) is what the CRDs say.
#[test]
fn the_readme_table_of_kinds_matches_the_crds() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let rows: BTreeMap<String, (String, String)> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let kind = cells.get(1)?.trim_matches('`').to_owned();
            let scope = cells.get(2)?.split(',').next()?.trim().to_owned();
            let short = cells.get(3)?.trim_matches('`').to_owned();
            Kind::ALL
                .iter()
                .any(|k| k.to_string() == kind)
                .then_some((kind, (scope, short)))
        })
        .collect();
    assert_eq!(rows.len(), Kind::ALL.len(), "README rows: {rows:?}");
    for kind in Kind::ALL {
        let crd = kind.crd();
        let scope = crd.spec.scope.to_lowercase();
        let short = crd
            .spec
            .names
            .short_names
            .clone()
            .unwrap_or_default()
            .join(",");
        assert_eq!(
            rows[&kind.to_string()],
            (
                if scope == "namespaced" {
                    "namespaced".to_owned()
                } else {
                    "cluster".to_owned()
                },
                short
            ),
            "{kind} in the README's table of kinds"
        );
    }
}
