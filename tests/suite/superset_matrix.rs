//! The version matrix: steward against whichever Superset release `scripts/services.sh` runs
//! (`STEWARD_TEST_SUPERSET_VERSION`: 6.1.0 in the main run, then 5.0.0 and 6.0.0, each from its
//! own cached virtualenv; see `scripts/test.sh`), on both of that release's metadata backends:
//! its PostgreSQL database, and a SQLite file a second server of the same release serves.
//! Everything is read back through that release's own REST API.
//!
//! Each backend, in one sequential test: the example organisation as the release can hold it
//! (on 5.0, `examples/org` itself is first refused at plan time, naming each group and the
//! release, with nothing written), applied; an idempotent re-diff; every kind read back; the
//! RLS clauses in chart-data SQL of every declared user; an export of what the release holds
//! that diffs clean; and pruning back to the database as it was.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::services::{dump_rows_at, env, sql_at, steward, steward_ok};
use crate::superset_api::{
    Content, Superset, clean_start, exclusive, mint_token, s, str_set, superset_version,
};
use crate::superset_e2e::{
    DUMP_SKIP, Declared, dump_diff, ensure_api_made, verify_api_made, verify_declared,
};
use crate::{repo_path, yaml_files};

/// A metadata database of the release under test and the server that serves it.
struct Backend {
    label: &'static str,
    db_url: String,
    rest_url: String,
}

/// The tests that write to the live SQLite file take this first (those on the PostgreSQL
/// database take [`exclusive`]).
pub(crate) fn exclusive_sqlite() -> MutexGuard<'static, ()> {
    static LIVE_SQLITE: Mutex<()> = Mutex::new(());
    LIVE_SQLITE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether the release under test applies the roles users get through groups (6.0 and later;
/// 5.0 has the tables but reads only users' own roles).
fn release_applies_group_roles() -> bool {
    !superset_version().starts_with("5.")
}

/// The example organisation as the release under test can hold it: `examples/org` itself, or
/// for a release without group roles a copy where each group's roles are given to its members
/// directly and `runAsAllowed` names those members instead of the group.
pub(crate) fn example_org_for_release() -> (Option<tempfile::TempDir>, String) {
    let org = repo_path("examples/org");
    if release_applies_group_roles() {
        return (None, org);
    }
    let mut files: Vec<(String, Vec<Value>)> = Vec::new();
    for file in yaml_files(Path::new(&org)) {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut objects = Vec::new();
        for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            match doc["kind"].as_str() {
                Some("List") => {
                    objects.extend(doc["items"].as_array().cloned().unwrap_or_default())
                }
                Some(_) => objects.push(doc),
                None => {}
            }
        }
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        files.push((name, objects));
    }
    let groups: Vec<Value> = files
        .iter_mut()
        .flat_map(|(_, objects)| {
            let (groups, rest): (Vec<Value>, Vec<Value>) = std::mem::take(objects)
                .into_iter()
                .partition(|o| o["kind"] == "SupersetGroup");
            *objects = rest;
            groups
        })
        .collect();
    assert!(!groups.is_empty(), "examples/org declares no group");
    let group_name = |g: &Value| {
        g["spec"]["name"]
            .as_str()
            .map_or(s(&g["metadata"]["name"]), str::to_owned)
    };
    for (_, objects) in &mut files {
        for object in objects.iter_mut() {
            match object["kind"].as_str() {
                Some("SupersetUser") => {
                    let username = object["spec"]["username"]
                        .as_str()
                        .map_or(s(&object["metadata"]["name"]), str::to_owned);
                    let mut roles: Vec<Value> = object["spec"]["roles"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for group in &groups {
                        if str_set(&group["spec"]["users"]).contains(&username) {
                            for role in group["spec"]["roles"].as_array().into_iter().flatten() {
                                if !roles.contains(role) {
                                    roles.push(role.clone());
                                }
                            }
                        }
                    }
                    object["spec"]["roles"] = Value::from(roles);
                }
                Some("ReportConfiguration") => {
                    let allowed = &mut object["spec"]["runAsAllowed"];
                    if let Some(named) = allowed.get("groups").map(str_set) {
                        let mut users = str_set(&allowed["users"]);
                        for group in groups.iter().filter(|g| named.contains(&group_name(g))) {
                            users.extend(str_set(&group["spec"]["users"]));
                        }
                        allowed.as_object_mut().unwrap().remove("groups");
                        allowed["users"] = Value::from(users.into_iter().collect::<Vec<_>>());
                    }
                }
                _ => {}
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, objects) in files {
        // JSON is YAML: one document per object.
        let docs: Vec<String> = objects.iter().map(Value::to_string).collect();
        if !docs.is_empty() {
            std::fs::write(dir.path().join(name), docs.join("\n---\n")).unwrap();
        }
    }
    let path = dir.path().to_str().unwrap().to_owned();
    (Some(dir), path)
}

/// The rows of every table but those left out of dumps and `ab_user`'s login columns.
fn dump(url: &str) -> Vec<String> {
    let mut rows = dump_rows_at(url, DUMP_SKIP);
    rows.extend(
        sql_at(
            url,
            "SELECT id, first_name, last_name, username, password, active, email, created_by_fk, \
             changed_by_fk FROM ab_user ORDER BY id",
        )
        .lines()
        .map(|r| format!("ab_user: {r}")),
    );
    rows
}

/// Every declared user's chart-data SQL on every dataset an RLS filter names (and the admin's)
/// carries exactly the clauses of the filters that apply to that user in Superset's semantics:
/// Regular ones of a role the user holds (directly or through a group), Base ones of no role
/// the user holds.
pub(crate) fn verify_rls(ss: &Superset, declared: &Declared, content: &Content, label: &str) {
    let user_ids: std::collections::BTreeMap<String, i64> = ss
        .users()
        .iter()
        .map(|u| (s(&u["username"]), u["id"].as_i64().unwrap()))
        .collect();
    let datasets: BTreeSet<String> = declared
        .rls
        .values()
        .flat_map(|spec| str_set(&spec["datasets"]))
        .collect();
    let admin = env("STEWARD_TEST_SUPERSET_ADMIN");
    let mut checked = 0;
    let users = declared.users.keys().chain(std::iter::once(&admin));
    for user in users.filter(|u| *u == &admin || declared.users[*u]["active"] != false) {
        let id = user_ids[user];
        let token = mint_token(id);
        let held = match user == &admin {
            true => BTreeSet::from(["Admin".to_owned()]),
            false => declared.roles_of(user),
        };
        for dataset in &datasets {
            let (dataset_id, _) = content.dataset(dataset);
            // Users without access to the dataset are refused (403): nothing to check.
            let Some(sql) = ss.query_sql_if_allowed(&token, dataset_id, user) else {
                continue;
            };
            for (name, spec) in &declared.rls {
                if !str_set(&spec["datasets"]).contains(dataset) {
                    continue;
                }
                let holds = !str_set(&spec["roles"]).is_disjoint(&held);
                let applies = match spec["filterType"] == "Base" {
                    true => !holds,
                    false => holds,
                };
                // Jinja is rendered (the services enable template processing).
                let clause = s(&spec["clause"]).replace("{{ current_username() }}", user);
                assert_eq!(
                    sql.contains(&format!("({clause})")),
                    applies,
                    "[{label}] {user} on {dataset} (holds {held:?}): RLS filter {name:?} with \
                     clause ({clause}) should {}be in the SQL:\n{sql}",
                    if applies { "" } else { "not " }
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 20,
        "[{label}] only {checked} user/filter pairs checked"
    );
}

/// Removes the exported files of objects `declared` does not name (Superset's own: admin, the
/// REST-made objects); the number of files kept.
fn keep_declared(dir: &Path, declared: &Declared) -> usize {
    let mut kept = 0;
    for sub in std::fs::read_dir(dir).unwrap() {
        let sub = sub.unwrap().path();
        let files = match sub.is_dir() {
            true => yaml_files(&sub),
            false => vec![sub],
        };
        // The export's marker file (`.steward-export.json`) is no manifest.
        for file in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
        {
            let text = std::fs::read_to_string(&file).unwrap();
            let doc: Value = serde_saphyr::from_str(&text).unwrap();
            // The Superset name: `spec.name` (`spec.username`), else `metadata.name`.
            let name = |field: &str| {
                doc["spec"][field]
                    .as_str()
                    .map_or(s(&doc["metadata"]["name"]), str::to_owned)
            };
            let named = match doc["kind"].as_str() {
                Some("SupersetRole") => declared.roles.contains_key(&name("name")),
                Some("SupersetGroup") => declared.groups.contains_key(&name("name")),
                Some("SupersetUser") => declared.users.contains_key(&name("username")),
                Some("RowLevelSecurityFilter") => declared.rls.contains_key(&name("name")),
                Some("ReportSchedule") => declared.schedules.contains_key(&name("name")),
                Some("ReportConfiguration") => true,
                // The examples declare no guest-token policy.
                Some("GuestTokenPolicy") => false,
                other => panic!("{}: an exported document of kind {other:?}", file.display()),
            };
            match named {
                true => kept += 1,
                false => std::fs::remove_file(&file).unwrap(),
            }
        }
    }
    kept
}

fn run(backend: &Backend) {
    let version = superset_version();
    let label = format!("Superset {version} on {}", backend.label);
    let step = |what: &str| eprintln!("[superset_matrix {label}] {what}");
    let url = backend.db_url.as_str();

    step("clean start, REST-made objects");
    clean_start(url);
    let out = steward_ok(&["init", "--database", url], 0);
    assert!(
        out.contains(&format!("Superset {version} schema")),
        "[{label}] init names the release it found: {out}"
    );
    let ss = Superset::connect_to(&backend.rest_url);
    let content = Content::read(&ss);
    let made = ensure_api_made(&ss, &content);
    let before = dump(url);

    let org = repo_path("examples/org");
    if !release_applies_group_roles() {
        step("examples/org refused at plan time");
        let out = steward(&["apply", &org, "--database", url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "[{label}] {stderr}");
        let declared = Declared::load(Path::new(&org));
        assert!(!declared.groups.is_empty());
        for group in declared.groups.keys() {
            let said = format!(
                "error[release-unsupported]: group `{group}` cannot be declared on Superset {version}"
            );
            assert!(
                stderr.contains(&said),
                "[{label}] no `{said}` in:\n{stderr}"
            );
        }
        let after = dump(url);
        assert!(
            before == after,
            "[{label}] a refused apply wrote:{}",
            dump_diff(&before, &after)
        );
    }

    step("apply the example organisation");
    let (_copy, org) = example_org_for_release();
    steward_ok(&["apply", &org, "--database", url], 0);
    let out = steward_ok(&["diff", &org, "--database", url], 0);
    assert!(out.contains("No changes"), "[{label}] re-diff: {out}");

    step("read back through REST");
    let declared = Declared::load(Path::new(&org));
    verify_declared(&ss, url, &declared, &content, &label);
    verify_api_made(&ss, &made, &content, &label);

    step("RLS in chart-data SQL");
    verify_rls(&ss, &declared, &content, &label);

    step("export, and the export of what steward manages diffs clean");
    let exported = tempfile::tempdir().unwrap();
    let exported_dir = exported.path().to_str().unwrap();
    steward_ok(&["export", exported_dir, "--database", url], 0);
    let kept = keep_declared(exported.path(), &declared);
    let objects = declared.roles.len()
        + declared.groups.len()
        + declared.users.len()
        + declared.rls.len()
        + declared.schedules.len()
        + 1;
    assert_eq!(
        kept, objects,
        "[{label}] exported files of declared objects (and the configuration)"
    );
    let out = steward_ok(&["diff", exported_dir, "--database", url], 0);
    assert!(
        out.contains("No changes"),
        "[{label}] diff of the export: {out}"
    );

    step("prune back to the start");
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap();
    steward_ok(
        &["apply", empty, "--database", url, "--allow-empty-kinds"],
        0,
    );
    let after = dump(url);
    assert!(
        before == after,
        "[{label}] after pruning everything the metadata DB differs from before the apply:{}",
        dump_diff(&before, &after)
    );
    verify_api_made(&ss, &made, &content, &label);
}

#[test]
fn the_release_on_postgres() {
    let _superset = exclusive();
    run(&Backend {
        label: "PostgreSQL",
        db_url: env("STEWARD_TEST_SUPERSET_DB_URL"),
        rest_url: env("STEWARD_TEST_SUPERSET_URL"),
    });
}

#[test]
fn the_release_on_sqlite() {
    let _live = exclusive_sqlite();
    run(&Backend {
        label: "SQLite",
        db_url: format!("sqlite://{}", env("STEWARD_TEST_SUPERSET_SQLITE_LIVE")),
        rest_url: env("STEWARD_TEST_SUPERSET_SQLITE_LIVE_URL"),
    });
}
