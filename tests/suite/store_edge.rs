//! The edges of the store and the command line, as first-time and hostile users hit them:
//! database URL forms (SQLAlchemy's included) and secrets in them, SQLite files that do not
//! exist, usage errors, closed pipes, locks held by other sessions, plan files bound to their
//! database and enough on their own, `apply --output json`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::repo_path;
use crate::services::{Db, env, steward, steward_ok};

/// One role and one group: plannable on any Superset metadata database.
const SMALL_SET: &str = "apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata:
  name: edge-readers
spec:
  name: Edge readers
---
apiVersion: steward.dev/v1alpha1
kind: SupersetGroup
metadata:
  name: edge-team
spec:
  name: Edge team
  roles: [Edge readers]
";

fn small_set() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("set.yaml"), SMALL_SET).unwrap();
    dir
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Runs steward in `cwd` with `envs`.
fn steward_in(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(cwd)
        .env_remove("STEWARD_DATABASE_URL")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rows of a corpus `.tsv` file (comments and blank lines skipped).
fn corpus_rows(rel: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo_path(rel)).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    assert!(rows.len() > 5, "{rel} has too few rows");
    rows
}

/// `host:port` and `user:password@host:port/` of the test PostgreSQL.
fn live_pg() -> (String, String) {
    let admin = env("STEWARD_TEST_PG_URL");
    let rest = admin.split_once("://").unwrap().1;
    let (userinfo, hostpath) = rest.rsplit_once('@').unwrap();
    let host = hostpath.split('/').next().unwrap().to_owned();
    (host.clone(), format!("{userinfo}@{host}"))
}

#[test]
fn secrets_in_database_urls_never_show() {
    let (live, _) = live_pg();
    let work = tempfile::tempdir().unwrap();
    let set = small_set();
    let set = path_str(set.path());
    for row in corpus_rows("tests/corpus/hostile/secret-urls/urls.tsv") {
        let url = row[0].replace("{live}", &live);
        let secret = &row[1];
        let export_dir = path_str(&work.path().join("export"));
        let snapshot = path_str(&work.path().join("snap.json"));
        let commands: [Vec<&str>; 6] = [
            vec!["diff", &set],
            vec!["apply", &set],
            vec!["export", &export_dir],
            vec!["export", "--snapshot", &snapshot],
            vec!["init"],
            vec!["diff", &set, "--lock-timeout", "later"],
        ];
        for command in &commands {
            for via_env in [false, true] {
                let mut args = command.clone();
                let envs: Vec<(&str, &str)> = match via_env {
                    true => vec![("STEWARD_DATABASE_URL", url.as_str())],
                    false => {
                        args.extend(["--database", url.as_str()]);
                        vec![]
                    }
                };
                let out = steward_in(work.path(), &args, &envs);
                let (stdout, stderr) = text(&out);
                assert!(
                    !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
                    "`{secret}` of {} shown by {args:?} (env: {via_env}):\n{stdout}\n{stderr}",
                    row[0]
                );
                assert!(
                    matches!(out.status.code(), Some(3) | Some(64)),
                    "{args:?} {}: {:?}\n{stderr}",
                    row[0],
                    out.status.code()
                );
                assert!(stderr.contains("error"), "{args:?}: {stderr}");
            }
        }
    }
}

#[test]
fn database_url_forms_of_the_first_use_corpus() {
    let dir = tempfile::tempdir().unwrap();
    steward_ok(
        &[
            "init",
            "--database",
            &format!("sqlite://{}", path_str(&dir.path().join("superset.db"))),
        ],
        0,
    );
    let file = path_str(&dir.path().join("superset.db"));
    let pg = Db::pg("urls");
    let pg_tail = pg.url().split_once("://").unwrap().1.to_owned();
    let set = small_set();
    let set = path_str(set.path());
    for row in corpus_rows("tests/corpus/first-use/database-urls/urls.tsv") {
        let url = row[0].replace("{file}", &file).replace("{pg}", &pg_tail);
        let code: i32 = row[1].parse().unwrap();
        let out = steward_in(dir.path(), &["diff", &set, "--database", &url], &[]);
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}:\n{stdout}\n{stderr}",
            row[0]
        );
        if row[2] != "-" {
            assert!(stderr.contains(&row[2]), "{}: {stderr}", row[0]);
        }
        if code == 2 {
            assert!(
                stdout.contains("+ SupersetRole \"Edge readers\""),
                "{stdout}"
            );
        }
    }
    // No typo left a file behind.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["superset.db"]);
}

#[test]
fn only_init_creates_a_sqlite_file_and_nothing_leaves_debris() {
    let dir = tempfile::tempdir().unwrap();
    let set = small_set();
    let set = path_str(set.path());
    let missing = dir.path().join("hsop.db");
    let url = format!("sqlite://{}", path_str(&missing));
    let hint = format!("create it with `steward init --database {url}`");
    for args in [
        vec!["diff", &set],
        vec!["apply", &set],
        vec!["export", "out"],
        vec!["export", "--snapshot", "snap.json"],
    ] {
        let mut args = args.clone();
        args.extend(["--database", &url]);
        let out = steward_in(dir.path(), &args, &[]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("no such database file {}", path_str(&missing))),
            "{stderr}"
        );
        assert!(stderr.contains(&hint), "{stderr}");
        assert!(!stdout.contains("created"), "{stdout}");
        assert!(!missing.exists(), "{args:?} left {}", missing.display());
    }
    // An empty file (touched by hand): refused with the same advice, left as it was.
    std::fs::write(&missing, b"").unwrap();
    let out = steward_in(dir.path(), &["apply", &set, "--database", &url], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("steward init --database"), "{stderr}");
    assert!(!stdout.contains("created Superset"), "{stdout}");
    assert_eq!(std::fs::metadata(&missing).unwrap().len(), 0);
    // init into a directory that does not exist: a clear error, nothing created.
    let nowhere = dir.path().join("no/such/dir/s.db");
    let out = steward(&[
        "init",
        "--database",
        &format!("sqlite://{}", path_str(&nowhere)),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!dir.path().join("no").exists());
    // What --help promises is what happens.
    let help = steward_ok(&["diff", "--help"], 0);
    assert!(
        help.contains("Only `steward init` creates a SQLite file"),
        "{help}"
    );
}

#[test]
fn usage_errors_exit_64_never_0_or_2() {
    let set = small_set();
    let set = path_str(set.path());
    for args in [
        vec!["diff", &set, "--no-such-flag"],
        vec!["diff"],
        vec!["apply"],
        vec!["diff", &set, "--output", "yaml"],
        vec!["apply", &set, "--lock-timeout", "soon"],
        vec!["no-such-command"],
    ] {
        let out = steward(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }
    assert_eq!(steward(&["--help"]).status.code(), Some(0));
    assert_eq!(steward(&["--version"]).status.code(), Some(0));
    assert!(steward_ok(&["--help"], 0).contains("64 usage error"));
}

/// Runs steward with its standard output a pipe whose reading end is already closed.
fn steward_into_closed_pipe(args: &[&str]) -> Output {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    let write_end =
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env_remove("STEWARD_DATABASE_URL")
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_standard_output_never_panics() {
    for db in Db::each_backend("pipe") {
        steward_ok(&["init", "--demo", "--database", &db.url()], 0);
        let url = db.url();
        let examples = repo_path("examples");
        for (args, code) in [
            (vec!["diff", examples.as_str(), "--database", &url], 2),
            (vec!["apply", examples.as_str(), "--database", &url], 0),
            (vec!["diff", examples.as_str(), "--database", &url], 0),
            (vec!["validate", examples.as_str()], 0),
            (vec!["crds"], 0),
        ] {
            let out = steward_into_closed_pipe(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert_eq!(
                out.status.code(),
                Some(code),
                "{} {args:?}: {stderr}",
                db.label()
            );
        }
        // The apply committed though nobody read its output.
        steward_ok(&["diff", &examples, "--database", &url], 0);
    }
}

/// A psql session holding `sql` (a lock) open until dropped.
pub(crate) struct Holder(Child);

impl Holder {
    pub(crate) fn new(url: &str, sql: &str) -> Holder {
        let mut child = Command::new(env("STEWARD_TEST_PSQL"))
            .args([url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, "BEGIN; {sql}; SELECT 'held';").unwrap();
        stdin.flush().unwrap();
        // Statements before the marker may print empty lines (a void result).
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while line.trim() != "held" {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "psql ended");
        }
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_table_lock_held_elsewhere_is_named_and_given_up_on() {
    let db = Db::pg("lock");
    let url = db.url();
    let set = small_set();
    let set = path_str(set.path());
    steward_ok(&["diff", &set, "--database", &url], 2);
    let before = db.dump();
    let holder = Holder::new(&url, "LOCK TABLE ab_role IN ACCESS EXCLUSIVE MODE");
    for command in ["diff", "apply", "export"] {
        let target = match command {
            "export" => "--snapshot=/dev/null",
            _ => set.as_str(),
        };
        let out = steward(&[command, target, "--database", &url, "--lock-timeout", "2s"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{command}: {stderr}");
        assert!(stderr.contains("gave up after waiting 2 s for"), "{stderr}");
        assert!(stderr.contains("table ab_role"), "{command}: {stderr}");
        assert!(stderr.contains("held by another session (pid"), "{stderr}");
        assert!(stderr.contains("--lock-timeout"), "{stderr}");
    }
    drop(holder);
    assert!(before == db.dump(), "a timed-out apply wrote");
    // steward's own apply lock, held by another session: named too.
    let holder = Holder::new(&url, "SELECT pg_advisory_xact_lock(8319385975070548992)");
    let out = steward(&["apply", &set, "--database", &url, "--lock-timeout", "1s"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("another steward apply"), "{stderr}");
    drop(holder);
    steward_ok(&["apply", &set, "--database", &url], 0);
}

#[test]
fn a_sqlite_file_locked_elsewhere_is_given_up_on() {
    let db = Db::sqlite();
    let url = db.url();
    steward_ok(&["init", "--database", &url], 0);
    let Db::Sqlite { file, .. } = &db else {
        unreachable!()
    };
    let script = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('held',flush=True)\nsys.stdin.read()\n";
    let mut child = Command::new("python3")
        .args(["-c", script, &path_str(file)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    let set = small_set();
    let set = path_str(set.path());
    for command in ["diff", "apply"] {
        let out = steward(&[command, &set, "--database", &url, "--lock-timeout", "1s"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{command}: {stderr}");
        assert!(stderr.contains("gave up after waiting 1 s for"), "{stderr}");
        assert!(stderr.contains("SQLite file"), "{stderr}");
    }
    drop(child.stdin.take());
    child.wait().unwrap();
    steward_ok(&["apply", &set, "--database", &url], 0);
}

#[test]
fn plan_files_are_bound_to_their_database_and_enough_on_their_own() {
    for db in Db::each_backend("bound") {
        steward_ok(&["init", "--demo", "--database", &db.url()], 0);
        // An identical copy: same content, same fingerprint, another database.
        let twin = db.copy("boundtwin");
        let work = tempfile::tempdir().unwrap();
        let examples = repo_path("examples");
        let plan = path_str(&work.path().join("plan.json"));
        steward_ok(
            &[
                "diff",
                &examples,
                "--database",
                &db.url(),
                "--out-plan",
                &plan,
            ],
            2,
        );
        let text_of_plan = std::fs::read_to_string(&plan).unwrap();
        if let Some(password) = url::Url::parse(&db.url())
            .ok()
            .and_then(|u| u.password().map(str::to_owned))
        {
            assert!(!text_of_plan.contains(&password), "{text_of_plan}");
        }
        let reviewed: serde_json::Value = serde_json::from_str(&text_of_plan).unwrap();
        assert!(
            reviewed["databaseId"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        assert_eq!(reviewed["manifests"]["paths"][0], examples.as_str());
        let before = twin.dump();
        let out = steward(&["apply", "--plan-file", &plan, "--database", &twin.url()]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", db.label());
        assert!(
            stderr.contains("the plan was made against another database"),
            "{stderr}"
        );
        assert!(
            before == twin.dump(),
            "{}: a refused apply wrote",
            db.label()
        );
        // The plan file alone is enough: the paths (and, for a URL without a password, the
        // database) come from it.
        let mut args = vec!["apply", "--plan-file", plan.as_str()];
        let url = db.url();
        if matches!(db, Db::Pg(_)) {
            let out = steward(&args);
            assert_eq!(out.status.code(), Some(64), "{}", text(&out).1);
            assert!(text(&out).1.contains("give its URL with --database"));
            args.extend(["--database", url.as_str()]);
        }
        let out = steward_ok(&args, 0);
        assert!(out.contains("Applied 34 change(s)"), "{out}");
        steward_ok(&["diff", &examples, "--database", &url], 0);
    }
}

#[test]
fn edited_manifests_refuse_a_plan_file() {
    let db = Db::sqlite();
    steward_ok(&["init", "--database", &db.url()], 0);
    let set = small_set();
    let dir = path_str(set.path());
    let plan = path_str(&set.path().join("plan.json.out"));
    steward_ok(
        &["diff", &dir, "--database", &db.url(), "--out-plan", &plan],
        2,
    );
    // A comment changes no change, but the reviewed text is not the text applied.
    let file = set.path().join("set.yaml");
    let edited = format!("# reviewed? no\n{SMALL_SET}");
    std::fs::write(&file, edited).unwrap();
    let out = steward(&["apply", "--plan-file", &plan]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the manifests changed since the plan was made"),
        "{stderr}"
    );
    // Plan flags that disagree with the plan's: refused before anything is read.
    std::fs::write(&file, SMALL_SET).unwrap();
    let out = steward(&["apply", "--plan-file", &plan, "--adopt"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out).1);
    steward_ok(&["apply", "--plan-file", &plan], 0);
}

#[test]
fn apply_reports_json_with_superset_ids() {
    for db in Db::each_backend("applyjson") {
        steward_ok(&["init", "--demo", "--database", &db.url()], 0);
        let set = small_set();
        let dir = path_str(set.path());
        let out = steward_ok(
            &["apply", &dir, "--database", &db.url(), "--output", "json"],
            0,
        );
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["schemaVersion"], 1);
        assert_eq!(report["applied"], true);
        let objects = report["objects"].as_array().unwrap();
        assert_eq!(objects.len(), 2, "{out}");
        let role_id = db.sql("SELECT id FROM ab_role WHERE name = 'Edge readers'");
        let role = objects
            .iter()
            .find(|o| o["kind"] == "SupersetRole")
            .unwrap();
        assert_eq!(role["name"], "Edge readers");
        assert_eq!(role["action"], "create");
        assert_eq!(role["id"].to_string(), role_id.trim());
        assert_eq!(
            role["resource"],
            serde_json::json!({"kind": "SupersetRole", "name": "edge-readers"}),
            "the resource that declared it: {out}"
        );
        let group = objects
            .iter()
            .find(|o| o["kind"] == "SupersetGroup")
            .unwrap();
        assert!(group["id"].as_i64().unwrap() > 0, "{out}");
        // Nothing to do: applied false, no objects, still exit 0.
        let out = steward_ok(
            &["apply", &dir, "--database", &db.url(), "--output", "json"],
            0,
        );
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["applied"], false);
        assert_eq!(report["objects"].as_array().unwrap().len(), 0);
        // A deletion has no id any more.
        std::fs::write(
            set.path().join("set.yaml"),
            SMALL_SET.split("---").next().unwrap(),
        )
        .unwrap();
        let out = steward_ok(
            &[
                "apply",
                &dir,
                "--database",
                &db.url(),
                "-o",
                "json",
                "--allow-empty-kinds",
            ],
            0,
        );
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let group = &report["objects"][0];
        assert_eq!(group["action"], "delete", "{out}");
        assert!(group["id"].is_null(), "{out}");
        assert!(
            group["resource"].is_null(),
            "no resource declares a deleted object: {out}"
        );
    }
}

/// A copy of `examples/org` with a webhook (whose URL a snapshot keeps only as a digest) and
/// `edit` applied to each file's text.
fn org_with_webhook(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_path("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.ends_with("schedules.yaml") {
            text = text.replacen(
                "      bcc: [svc-finance-reports@corp.example.com]\n",
                "      bcc: [svc-finance-reports@corp.example.com]\n    webhook:\n      url: https://hooks.example.com/services/T0/B0/T0KEN\n",
                1,
            );
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), edit(text)).unwrap();
    }
    dir
}

#[test]
fn a_snapshot_diff_writes_a_plan_file_for_its_database() {
    for db in Db::each_backend("snapplan") {
        steward_ok(&["init", "--demo", "--database", &db.url()], 0);
        let base = org_with_webhook(|text| text);
        steward_ok(
            &["apply", &path_str(base.path()), "--database", &db.url()],
            0,
        );
        let work = tempfile::tempdir().unwrap();
        let snapshot = path_str(&work.path().join("snap.json"));
        let plan = path_str(&work.path().join("plan.json"));
        steward_ok(
            &["export", "--snapshot", &snapshot, "--database", &db.url()],
            0,
        );
        let changed = org_with_webhook(|text| text.replace("lastName: Chen", "lastName: Chen-Wu"));
        let changed = path_str(changed.path());
        steward_ok(
            &[
                "diff",
                &changed,
                "--against-snapshot",
                &snapshot,
                "--out-plan",
                &plan,
            ],
            2,
        );
        assert!(!std::fs::read_to_string(&plan).unwrap().contains("T0KEN"));
        let twin = db.copy("snaptwin");
        let out = steward(&["apply", "--plan-file", &plan, "--database", &twin.url()]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
        assert!(
            text(&out).1.contains("another database"),
            "{}",
            text(&out).1
        );
        let out = steward_ok(&["apply", "--plan-file", &plan, "--database", &db.url()], 0);
        assert!(out.contains("Applied 1 change(s)"), "{}: {out}", db.label());
    }
}

/// Reads many small queries back to back on one SQLite transaction, mixed with writes, on
/// both runtime kinds, and reads back every value type as it was written. SQLite queries
/// borrow the connection's handle from sqlx's worker; a request made before the worker had
/// taken the handle back left both waiting for good (two concurrent applies hung in most
/// runs): this must finish well inside its timeout.
#[test]
fn sqlite_queries_back_to_back_never_hang_and_read_what_was_written() {
    use steward::store::{Ty, Value};
    let db = Db::sqlite_superset();
    for flavour in ["multi-thread", "current-thread"] {
        let runtime = match flavour {
            "multi-thread" => tokio::runtime::Builder::new_multi_thread(),
            _ => tokio::runtime::Builder::new_current_thread(),
        }
        .enable_all()
        .build()
        .unwrap();
        runtime.block_on(async {
            let store =
                steward::store::Store::connect(&steward::store::DatabaseUrl::new(db.url()), false)
                    .await
                    .unwrap();
            let work = async {
                let mut tx = store.write(|| {}).await.unwrap();
                tx.execute(
                    "CREATE TABLE IF NOT EXISTS edge_values (i INTEGER, t TEXT, b BOOLEAN)",
                    &[],
                )
                .await
                .unwrap();
                for i in 0..4_000_i64 {
                    let rows = tx
                        .fetch(
                            "SELECT $1, $2",
                            &[Value::int(i), Value::text("é")],
                            &[Ty::Int, Ty::Text],
                        )
                        .await
                        .unwrap();
                    assert_eq!(rows, vec![vec![Value::int(i), Value::text("é")]]);
                    if i % 100 == 0 {
                        let params = [
                            Value::int(i),
                            Value::Text((i % 200 == 0).then(|| format!("ünï'\"{i}"))),
                            Value::Bool(Some(i % 300 == 0)),
                        ];
                        tx.execute("INSERT INTO edge_values VALUES ($1, $2, $3)", &params)
                            .await
                            .unwrap();
                    }
                }
                let rows = tx
                    .fetch(
                        "SELECT i, t, b FROM edge_values WHERE i IN (0, 100, 300) ORDER BY i",
                        &[],
                        &[Ty::Int, Ty::Text, Ty::Bool],
                    )
                    .await
                    .unwrap();
                assert_eq!(
                    rows,
                    vec![
                        vec![
                            Value::int(0),
                            Value::text("ünï'\"0"),
                            Value::Bool(Some(true))
                        ],
                        vec![Value::int(100), Value::Text(None), Value::Bool(Some(false))],
                        vec![Value::int(300), Value::Text(None), Value::Bool(Some(true))],
                    ]
                );
                let refused = tx
                    .fetch("SELECT nope FROM edge_values", &[], &[Ty::Int])
                    .await
                    .unwrap_err()
                    .to_string();
                assert!(
                    refused.contains("the database refused it: no such column: nope"),
                    "{refused}"
                );
                let mistyped = tx
                    .fetch("SELECT t FROM edge_values WHERE i = 0", &[], &[Ty::Int])
                    .await
                    .unwrap_err()
                    .to_string();
                assert!(mistyped.contains("SELECT t FROM edge_values"), "{mistyped}");
                tx.rollback().await.unwrap();
            };
            tokio::time::timeout(std::time::Duration::from_secs(30), work)
                .await
                .unwrap_or_else(|_| panic!("{flavour}: SQLite queries hung"));
            store.close().await;
        });
    }
}
