//! The checked-in `crds/` are exactly what `steward crds --out crds` writes, and the CRDs carry
//! what `kubectl` needs: status subresource, printer columns, short names, the `superset`
//! category and the CEL rules.

use steward::cli::crd_files;
use steward::spec::Kind;
use steward::spec::crd::openapi_schema;

use crate::repo;

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
        9,
        "schedule: chart/dashboard, alert, report, 3 durations, chart ref, dashboard ref, validator"
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
