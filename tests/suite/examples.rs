//! The example organisation validates (through the loader and against the generated CRD
//! schemas), and every file of the error catalogue fails with exactly its expected diagnostics.

use std::collections::BTreeSet;

use steward::diagnostic::Severity;
use steward::resources::{FilterType, Kind, Resource, ScheduleType, ValidatorType};
use steward::validation::validate_paths;

use crate::{repo, repo_path, yaml_files};

#[test]
fn example_organisation_is_valid_and_complete() {
    let set = validate_paths(&[repo_path("examples")]);
    assert!(
        set.diagnostics.is_empty(),
        "unexpected diagnostics: {:#?}",
        set.diagnostics
    );
    let count = |kind: Kind| {
        set.objects
            .iter()
            .filter(|o| o.resource.kind() == kind)
            .count()
    };
    assert!(count(Kind::SupersetRole) >= 8);
    assert!(count(Kind::SupersetGroup) >= 3);
    assert!(count(Kind::SupersetUser) >= 3);
    assert!(count(Kind::RowLevelSecurityFilter) >= 6);
    assert!(count(Kind::ReportSchedule) >= 4);
    assert_eq!(count(Kind::ReportConfiguration), 1);

    let mut gamma_with_data = false;
    let mut base_filter = false;
    let mut group_keys: Vec<String> = Vec::new();
    let mut validators = BTreeSet::new();
    let mut service_accounts = 0;
    for object in &set.objects {
        match &object.resource {
            Resource::Role(r) => {
                gamma_with_data |=
                    r.spec.includes.iter().any(|i| i == "Gamma") && r.spec.data_access.is_some()
            }
            Resource::Rls(f) => {
                base_filter |= f.spec.filter_type == FilterType::Base;
                group_keys.extend(f.spec.group_key.clone());
            }
            Resource::Schedule(s) if s.spec.schedule_type == ScheduleType::Alert => {
                validators.insert(format!(
                    "{:?}",
                    s.spec.validator.as_ref().unwrap().validator_type
                ));
            }
            Resource::User(u) if u.metadata.name.as_deref().unwrap().starts_with("svc-") => {
                service_accounts += 1
            }
            Resource::Config(c) => assert!(!c.spec.allowed_email_domains.is_empty()),
            _ => {}
        }
    }
    assert!(gamma_with_data, "a role composes Gamma with data access");
    assert!(base_filter, "a Base RLS filter");
    group_keys.sort();
    assert!(
        group_keys.windows(2).any(|w| w[0] == w[1]),
        "two filters OR-ed by one group key"
    );
    let all_validators: BTreeSet<String> = [ValidatorType::Operator, ValidatorType::NotNull]
        .iter()
        .map(|v| format!("{v:?}"))
        .collect();
    assert_eq!(
        validators, all_validators,
        "alerts with each validator type"
    );
    assert!(service_accounts >= 2, "service-account users");
}

#[test]
fn examples_match_the_generated_crd_schemas() {
    // The checked-in CRDs, read as a cluster would get them.
    let mut schemas = std::collections::HashMap::new();
    for file in yaml_files(&repo().join("crds")) {
        let crd: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if crd["kind"] != "CustomResourceDefinition" {
            continue;
        }
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
        let schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
        schemas.insert(kind, jsonschema::validator_for(&schema).unwrap());
    }
    assert_eq!(schemas.len(), 8, "the seven kinds and SupersetInstance");
    let mut checked = 0;
    // The example organisation, and the example overlay's SupersetInstance.
    let files = yaml_files(&repo().join("examples/org"))
        .into_iter()
        .chain([repo().join("manifests/overlays/example/instance.yaml")]);
    for file in files {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let objects = docs.into_iter().flat_map(|d| match d["kind"].as_str() {
            Some("List") => d["items"].as_array().unwrap().clone(),
            _ => vec![d],
        });
        for object in objects {
            let validator = &schemas[object["kind"].as_str().unwrap()];
            let errors: Vec<String> = validator
                .iter_errors(&object)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{} {}: {errors:?}",
                file.display(),
                object["metadata"]["name"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 31, "checked {checked} objects");
}

#[test]
fn every_invalid_example_fails_with_its_expected_diagnostics() {
    let files = yaml_files(&repo().join("examples/invalid"));
    assert!(files.len() >= 15, "one file per error class");
    let mut codes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(str::to_owned)
            .collect();
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let set = validate_paths(&[file.display().to_string()]);
        let actual: Vec<String> = set
            .diagnostics
            .iter()
            .map(|d| {
                let loc = d
                    .location
                    .as_ref()
                    .expect("every diagnostic has a location");
                assert_eq!(loc.file, file.display().to_string());
                let severity = if d.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                format!(
                    "{severity} {} {}:{} {}",
                    d.code.as_str(),
                    loc.line,
                    loc.column,
                    d.message
                )
            })
            .collect();
        assert_eq!(actual, expected, "{}", file.display());
        assert!(set.has_errors(), "{} must be rejected", file.display());
        codes.extend(set.diagnostics.iter().map(|d| d.code.as_str()));
    }
    for code in [
        "yaml-syntax",
        "unknown-field",
        "wrong-type",
        "missing-field",
        "bad-value",
        "out-of-range",
        "rule-violated",
        "duplicate",
        "unresolved-reference",
        "include-cycle",
        "invalid-cron",
        "invalid-timezone",
        "invalid-email",
        "malformed-reference",
        "unknown-kind",
        "unknown-api-version",
        "singleton-violated",
        "not-a-resource",
    ] {
        assert!(codes.contains(code), "no invalid example covers `{code}`");
    }
}

#[test]
fn errors_of_several_files_are_all_reported() {
    let set = validate_paths(&[
        repo_path("examples/invalid/unknown-field.yaml"),
        repo_path("examples/invalid/wrong-type.yaml"),
    ]);
    let files: BTreeSet<&str> = set
        .diagnostics
        .iter()
        .map(|d| d.location.as_ref().unwrap().file.as_str())
        .collect();
    assert_eq!(files.len(), 2);
    assert_eq!(set.diagnostics.len(), 3);
}

#[test]
fn the_ci_example_uses_commands_and_flags_steward_has() {
    let text = std::fs::read_to_string(crate::repo().join("examples/ci/steward.yml")).unwrap();
    let workflow: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert!(workflow["on"]["pull_request"].is_object(), "{workflow:#}");
    let mut runs = Vec::new();
    for job in workflow["jobs"].as_object().unwrap().values() {
        for step in job["steps"].as_array().unwrap() {
            if let Some(run) = step["run"].as_str() {
                runs.extend(run.lines().map(str::trim).map(str::to_owned));
            }
        }
    }
    let commands: Vec<&String> = runs.iter().filter(|l| l.starts_with("steward ")).collect();
    for needed in [
        "steward validate",
        "--output markdown",
        "--out-plan",
        "--plan-file",
        "--against-ref",
    ] {
        assert!(
            commands.iter().any(|c| c.contains(needed)),
            "the workflow should use {needed}: {commands:#?}"
        );
    }
    for command in commands {
        let subcommand = command.split_whitespace().nth(1).unwrap();
        let help = crate::services::steward_ok(&[subcommand, "--help"], 0);
        for flag in command.split_whitespace().filter(|w| w.starts_with("--")) {
            assert!(
                help.contains(flag),
                "`{command}`: `steward {subcommand}` has no {flag}"
            );
        }
    }
}
