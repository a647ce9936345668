//! `steward export DIR` under attack and under stress, on databases steward made (SQLite and
//! PostgreSQL): hostile object names (the corpus `tests/corpus/hostile/export-names/`) export as
//! exactly themselves or are refused, never as another document; symbolic links in the target
//! directory are refused, never written through; files are written atomically (a full disk,
//! simulated with `RLIMIT_FSIZE`, leaves the previous export intact, and `diff --out-plan` the
//! previous plan file); files an earlier export wrote are removed when no object matches them,
//! and files export did not write are kept, with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use steward::export::files::quoted;
use steward::resources::Kind;

use crate::repo_path;
use crate::services::{Db, steward, steward_ok};

/// One file of the hostile-name corpus.
#[derive(Deserialize)]
struct Variant {
    description: String,
    name: String,
    /// `exported` (read back as exactly itself) or `refused` (named in an error).
    expect: String,
    /// Whether PostgreSQL can hold the name (no NUL, within its columns' lengths).
    #[serde(default = "yes")]
    postgres: bool,
}

fn yes() -> bool {
    true
}

fn corpus() -> Vec<(String, Variant)> {
    let dir = repo().join("tests/corpus/hostile/export-names");
    let mut out: Vec<(String, Variant)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let variant: Variant = serde_json::from_slice(&std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(
                ["exported", "refused"].contains(&variant.expect.as_str()),
                "{}: expect `exported` or `refused`",
                p.display()
            );
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                variant,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 20, "the corpus is gone: {}", dir.display());
    out
}

fn repo() -> PathBuf {
    crate::repo()
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> String {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).unwrap()
}

/// An SQL expression for `text`, whatever it holds.
fn literal(db: &Db, text: &str) -> String {
    match db {
        Db::Sqlite { .. } => format!("CAST(X'{}' AS TEXT)", hex(text)),
        Db::Pg(_) => format!("convert_from(decode('{}', 'hex'), 'UTF8')", hex(text)),
    }
}

/// Every `name` of `table`, exactly as stored.
fn names(db: &Db, table: &str) -> BTreeSet<String> {
    let sql = match db {
        Db::Sqlite { .. } => format!("SELECT hex(name) FROM {table}"),
        Db::Pg(_) => format!("SELECT encode(convert_to(name, 'UTF8'), 'hex') FROM {table}"),
    };
    db.sql(&sql)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| unhex(&l.to_ascii_lowercase()))
        .collect()
}

/// A database steward made: the demo content and `examples/org`, plus `roles` roles and
/// `schedules` report schedules named `hostile-role-N` / `hostile-schedule-N`.
fn org_database(db: &Db, roles: usize, schedules: usize) {
    let url = db.url();
    steward_ok(&["init", "--demo", "--database", &url], 0);
    let extra = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..roles {
        text.push_str(&format!(
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: hostile-role-{i}\nspec:\n  includes: [Gamma]\n---\n"
        ));
    }
    for i in 0..schedules {
        text.push_str(&format!(
            "apiVersion: steward.dev/v1alpha1\nkind: ReportSchedule\nmetadata:\n  name: hostile-schedule-{i}\n  namespace: finance\nspec:\n  type: Report\n  crontab: \"0 7 * * 1\"\n  timezone: Europe/Berlin\n  dashboard:\n    slug: finance-overview\n  reportFormat: PDF\n  recipients:\n    email:\n      to: [ana.alves@finance.corp.example.com]\n  owners: [dmitri.brandt]\n  runAs: svc-finance-reports\n---\n"
        ));
    }
    std::fs::write(extra.path().join("extra.yaml"), text).unwrap();
    steward_ok(
        &[
            "apply",
            &repo_path("examples/org"),
            &path_str(extra.path()),
            "--database",
            &url,
        ],
        0,
    );
}

/// [`org_database`] without extra objects, exported into a new directory.
fn exported_org(db: &Db) -> tempfile::TempDir {
    org_database(db, 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let out = export(dir.path(), &db.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    dir
}

/// Every entry under `dir` (hidden ones too) by relative path: a file's bytes, a symbolic link's
/// target, `<dir>` for a directory.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path_str(path.strip_prefix(root).unwrap());
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else if meta.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Asserts `dir` is as `before`, naming the entries that differ.
fn assert_unchanged(dir: &Path, before: &BTreeMap<String, Vec<u8>>, context: &str) {
    let after = tree(dir);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{context}: changed {changed:?}");
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn export(dir: &Path, url: &str, extra: &[&str]) -> Output {
    let dir = path_str(dir);
    let mut args = vec!["export", dir.as_str(), "--database", url];
    args.extend_from_slice(extra);
    steward(&args)
}

#[test]
fn hostile_names_export_as_themselves_or_are_refused_never_as_other_documents() {
    let corpus = corpus();
    for db in Db::each_backend("export_names") {
        let variants: Vec<&(String, Variant)> = corpus
            .iter()
            .filter(|(_, v)| v.postgres || matches!(db, Db::Sqlite { .. }))
            .collect();
        // Every name goes to a report schedule (Superset's UI names them freely), and to a role
        // when Superset's role column takes it (64 characters).
        let fits_role = |v: &Variant| v.name.chars().count() <= 64;
        let roles: Vec<&(String, Variant)> = variants
            .iter()
            .copied()
            .filter(|(_, v)| fits_role(v))
            .collect();
        org_database(&db, roles.len(), variants.len());
        for (i, (_, v)) in roles.iter().enumerate() {
            db.sql(&format!(
                "UPDATE ab_role SET name = {} WHERE name = 'hostile-role-{i}'",
                literal(&db, &v.name)
            ));
        }
        for (i, (_, v)) in variants.iter().enumerate() {
            db.sql(&format!(
                "UPDATE report_schedule SET name = {} WHERE name = 'hostile-schedule-{i}'",
                literal(&db, &v.name)
            ));
        }
        let groups_before = names(&db, "ab_group");
        let dir = tempfile::tempdir().unwrap();
        let out = export(dir.path(), &db.url(), &[]);
        let err = stderr(&out);
        let refused = variants.iter().any(|(_, v)| v.expect == "refused");
        assert_eq!(
            out.status.code(),
            Some(if refused { 1 } else { 0 }),
            "{}: {err}",
            db.label()
        );

        // The directory holds exactly the objects exported: one document per file, each
        // hostile name once per kind it was given to (or not at all when refused).
        let set = steward::validation::validate_paths(&[path_str(dir.path())]);
        let errors: Vec<_> = set.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", db.label());
        let files = tree(dir.path())
            .keys()
            .filter(|k| k.ends_with(".yaml"))
            .count();
        assert_eq!(set.objects.len(), files, "{}", db.label());
        assert_eq!(set.documents, files, "{}", db.label());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("Exported {files} object(s)")),
            "{stdout}"
        );
        let mut loaded: BTreeMap<(Kind, String), usize> = BTreeMap::new();
        for object in &set.objects {
            *loaded
                .entry((
                    object.resource.kind(),
                    object.resource.superset_name().to_owned(),
                ))
                .or_default() += 1;
        }
        for (slug, v) in &variants {
            let expected = usize::from(v.expect == "exported");
            let count = |kind| loaded.get(&(kind, v.name.clone())).copied().unwrap_or(0);
            assert_eq!(
                count(Kind::ReportSchedule),
                expected,
                "{} {slug} ({}): schedule",
                db.label(),
                v.description
            );
            if fits_role(v) {
                assert_eq!(
                    count(Kind::SupersetRole),
                    expected,
                    "{} {slug}: role",
                    db.label()
                );
            }
            if v.expect == "refused" {
                let named = format!("error: ReportSchedule {}", quoted(&v.name, 120));
                assert!(err.contains(&named), "{} {slug}: {err}", db.label());
            }
        }
        // No group (or anything else) appears that the database does not hold.
        let groups: BTreeSet<String> = set
            .objects
            .iter()
            .filter(|o| o.resource.kind() == Kind::SupersetGroup)
            .map(|o| o.resource.superset_name().to_owned())
            .collect();
        assert!(
            groups.is_subset(&groups_before),
            "{}: {groups:?}",
            db.label()
        );
        assert!(!groups.contains("pwned"));
        steward_ok(&["validate", &path_str(dir.path())], 0);

        // Applied with --adopt, the export changes no name, and then the database holds exactly
        // what the export says.
        let url = db.url();
        steward_ok(
            &[
                "apply",
                &path_str(dir.path()),
                "--adopt",
                "--database",
                &url,
            ],
            0,
        );
        steward_ok(&["diff", &path_str(dir.path()), "--database", &url], 0);
        let schedules = names(&db, "report_schedule");
        let roles_after = names(&db, "ab_role");
        for (slug, v) in variants.iter().filter(|(_, v)| v.expect == "exported") {
            assert!(schedules.contains(&v.name), "{} {slug}", db.label());
            if fits_role(v) {
                assert!(roles_after.contains(&v.name), "{} {slug}", db.label());
            }
        }
        assert_eq!(names(&db, "ab_group"), groups_before, "{}", db.label());
    }
}

#[test]
fn export_refuses_symbolic_links_in_the_target_directory_and_changes_nothing() {
    let db = Db::sqlite();
    org_database(&db, 0, 0);
    let url = db.url();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "outside, not steward's\n").unwrap();
    let elsewhere = outside.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let outside_before = tree(outside.path());

    // A file the export writes is a link to a file outside; a kind directory is a link to a
    // directory outside; the export's record is a link.
    let link = |dir: &Path, rel: &str, target: &Path| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, &path).unwrap();
        path
    };
    for (rel, target) in [
        ("roles/finance-analyst.yaml", secret.as_path()),
        ("roles", elsewhere.as_path()),
        (".steward-export.json", secret.as_path()),
        ("config/default.yaml", secret.as_path()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = link(dir.path(), rel, target);
        let before = tree(dir.path());
        let out = export(dir.path(), &url, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{rel}: {err}");
        assert!(
            err.contains(&format!("{} is a symbolic link", path.display())),
            "{rel}: {err}"
        );
        assert!(err.contains("nothing was changed"), "{rel}: {err}");
        assert_unchanged(dir.path(), &before, rel);
        assert_unchanged(outside.path(), &outside_before, rel);
    }

    // A linked kind directory the export does not write into is left alone, with a warning.
    let dir = tempfile::tempdir().unwrap();
    link(dir.path(), "schedules", &elsewhere);
    let out = export(dir.path(), &url, &["--kinds", "roles"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("schedules\" is a symbolic link, which export never writes through"),
        "{}",
        stderr(&out)
    );
    assert!(dir.path().join("roles/finance-analyst.yaml").is_file());
    assert_unchanged(outside.path(), &outside_before, "outside");

    // `diff --out-plan` and `export --snapshot` onto a link are refused too.
    let dir = tempfile::tempdir().unwrap();
    let plan = link(dir.path(), "plan.json", &secret);
    let out = steward(&[
        "diff",
        &repo_path("examples/org"),
        "--database",
        &url,
        "--out-plan",
        &path_str(&plan),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );
    let snapshot = link(dir.path(), "snap.json", &secret);
    let out = steward(&[
        "export",
        "--snapshot",
        &path_str(&snapshot),
        "--database",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );
    assert_unchanged(outside.path(), &outside_before, "outside");
}

#[test]
fn a_second_export_removes_the_files_no_object_matches_and_keeps_everything_else() {
    for db in Db::each_backend("export_stale") {
        let dir = exported_org(&db);
        let url = db.url();
        let path = |rel: &str| dir.path().join(rel);
        assert!(path("roles/finance-controller.yaml").is_file());

        // The user's own files next to the export; an exported file edited by hand.
        let mine = "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: mine\nspec:\n  includes: [Gamma]\n";
        std::fs::write(path("roles/mine.yaml"), mine).unwrap();
        std::fs::write(path("NOTES.md"), "my notes\n").unwrap();
        let schedule = path("schedules/daily-pipeline-by-stage.yaml");
        let edited = std::fs::read_to_string(&schedule).unwrap() + "# reviewed by ana\n";
        std::fs::write(&schedule, &edited).unwrap();

        // In Superset, one role is renamed and one schedule deleted.
        db.sql("UPDATE ab_role SET name = 'Finance Controllers' WHERE name = 'Finance Controller'");
        db.sql("DELETE FROM report_recipient WHERE report_schedule_id IN (SELECT id FROM report_schedule WHERE name = 'Daily pipeline by stage')");
        db.sql("DELETE FROM report_schedule_user WHERE report_schedule_id IN (SELECT id FROM report_schedule WHERE name = 'Daily pipeline by stage')");
        db.sql("DELETE FROM report_schedule WHERE name = 'Daily pipeline by stage'");

        // An export of other kinds removes nothing.
        let out = export(dir.path(), &url, &["--kinds", "users"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(path("roles/finance-controller.yaml").is_file());

        let out = export(dir.path(), &url, &[]);
        let (stdout, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(!path("roles/finance-controller.yaml").exists(), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "Removed {}: written by an earlier export",
                path("roles/finance-controller.yaml").display()
            )),
            "{stdout}"
        );
        assert!(path("roles/finance-controllers.yaml").is_file());
        // Kept: the user's files and the edited one, each with a warning.
        assert_eq!(
            std::fs::read_to_string(path("roles/mine.yaml")).unwrap(),
            mine
        );
        assert_eq!(
            std::fs::read_to_string(path("NOTES.md")).unwrap(),
            "my notes\n"
        );
        assert_eq!(std::fs::read_to_string(&schedule).unwrap(), edited);
        for warned in [
            "roles/mine.yaml\" was not written by steward export (validate and apply read it",
            "NOTES.md\" was not written by steward export: kept",
        ] {
            assert!(err.contains(warned), "{warned}: {err}");
        }
        assert!(
            err.contains(&format!(
                "{} was exported for ReportSchedule \"Daily pipeline by stage\", which the database no longer holds, but it was edited since: kept",
                schedule.display()
            )),
            "{err}"
        );

        // Without the user's files, the export is exactly the database: adopting it takes over
        // the renamed role and creates nothing (the old name does not come back).
        std::fs::remove_file(path("roles/mine.yaml")).unwrap();
        std::fs::remove_file(&schedule).unwrap();
        let plan = steward_ok(
            &["diff", &path_str(dir.path()), "--adopt", "--database", &url],
            2,
        );
        assert!(
            plan.contains("& SupersetRole \"Finance Controllers\""),
            "{plan}"
        );
        assert!(!plan.lines().any(|l| l.starts_with("+ ")), "{plan}");

        // A file the export would write that the user wrote is not overwritten.
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("roles/finance-analyst.yaml");
        std::fs::create_dir(dir.path().join("roles")).unwrap();
        std::fs::write(&own, mine).unwrap();
        let before = tree(dir.path());
        let out = export(dir.path(), &url, &[]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains(&format!(
                "{} exists and was not written by steward export",
                own.display()
            )),
            "{}",
            stderr(&out)
        );
        assert_unchanged(dir.path(), &before, "a file the user wrote");
    }
}

#[test]
fn an_object_export_refuses_keeps_the_file_an_earlier_export_wrote_for_it() {
    for db in Db::each_backend("export_refused") {
        let dir = exported_org(&db);
        let file = dir
            .path()
            .join("schedules/failed-payments-above-threshold.yaml");
        let before = tree(dir.path());
        // An empty crontab (Superset's column allows it) fits no manifest.
        db.sql("UPDATE report_schedule SET crontab = '' WHERE name = 'Failed payments above threshold'");
        let out = export(dir.path(), &db.url(), &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", db.label());
        assert!(
            err.contains("error: ReportSchedule \"Failed payments above threshold\" was not exported: its manifest would not validate"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before[&path_str(file.strip_prefix(dir.path()).unwrap())]
        );
        let record = std::fs::read_to_string(dir.path().join(".steward-export.json")).unwrap();
        assert!(
            record.contains("schedules/failed-payments-above-threshold.yaml"),
            "{record}"
        );
    }
}

/// Runs `steward` with files limited to `max_bytes` (writing past it fails with EFBIG, as on a
/// full disk; SIGXFSZ ignored so the process sees the error).
fn steward_with_file_limit(args: &[&str], max_bytes: u64) -> Output {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    command.args(args).env_remove("STEWARD_DATABASE_URL");
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal).
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: max_bytes,
                rlim_max: max_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    command.output().unwrap()
}

#[test]
fn a_full_disk_leaves_the_previous_export_and_plan_file_intact() {
    for db in Db::each_backend("export_full") {
        let dir = exported_org(&db);
        let url = db.url();
        let before = tree(dir.path());
        let largest = before.values().map(Vec::len).max().unwrap() as u64;

        // One object now needs a file larger than the limit; every other file fits.
        let limit = largest + 4096;
        let description = "x".repeat(limit as usize);
        db.sql(&format!(
            "UPDATE report_schedule SET description = '{description}' WHERE name = 'Daily pipeline by stage'"
        ));
        db.sql("UPDATE ab_role SET name = 'Finance Controllers' WHERE name = 'Finance Controller'");
        let out = steward_with_file_limit(
            &["export", &path_str(dir.path()), "--database", &url],
            limit,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", db.label());
        assert!(
            err.contains(&format!(
                "writing {}",
                dir.path()
                    .join("schedules/daily-pipeline-by-stage.yaml")
                    .display()
            )),
            "{err}"
        );
        assert_unchanged(dir.path(), &before, &format!("{}: {err}", db.label()));

        // `diff --out-plan` onto an earlier plan file.
        let plans = tempfile::tempdir().unwrap();
        let plan = plans.path().join("plan.json");
        std::fs::write(&plan, "the plan reviewed yesterday\n").unwrap();
        let before = tree(plans.path());
        let fresh = Db::sqlite();
        steward_ok(&["init", "--demo", "--database", &fresh.url()], 0);
        let out = steward_with_file_limit(
            &[
                "diff",
                &repo_path("examples/org"),
                "--database",
                &fresh.url(),
                "--out-plan",
                &path_str(&plan),
            ],
            2048,
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("writing {}", plan.display())),
            "{}",
            stderr(&out)
        );
        assert_unchanged(plans.path(), &before, "the plan file");
    }
}
