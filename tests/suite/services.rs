//! The real components the suite runs against, started by `scripts/services.sh` (which
//! `scripts/test.sh` runs first): PostgreSQL and Superset 6.1 on 127.0.0.1, and the SQLite
//! metadata files that Superset made. Helpers to make scratch databases (clones of a metadata DB
//! Superset made, pristine or with content, on either backend), run the `steward` binary, and
//! dump tables for before/after comparisons.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// An environment variable `scripts/services.sh` exports.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the suite with `bash scripts/test.sh`, which starts \
             PostgreSQL and Superset on 127.0.0.1 (or `source /tmp/steward-services/env` after \
             `bash scripts/services.sh start`)"
        )
    })
}

/// Runs `psql` on `url` with `sql`, returning standard output; panics on failure.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new(env("STEWARD_TEST_PSQL"))
        .args([
            url,
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql failed on `{sql}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs one SQL statement on a metadata database of either backend: `psql` for PostgreSQL URLs,
/// Python's sqlite3 for `sqlite://FILE`. Rows are lines of `|`-separated values, NULL as empty
/// text, as `psql -At` prints them.
pub fn sql_at(url: &str, sql: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(file) => python(
            "import sqlite3,sys\n\
             c=sqlite3.connect(sys.argv[1])\n\
             for r in c.execute(sys.argv[2]): print('|'.join('' if v is None else str(v) for v in r))\n\
             c.commit()\n",
            &[file, sql],
        ),
        None => psql(url, sql),
    }
}

/// Every row of every table of a metadata database of either backend but `skip`, timestamps
/// blanked ([`pg_dump_rows`], [`sqlite_dump_rows`]).
pub fn dump_rows_at(url: &str, skip: &[&str]) -> Vec<String> {
    let rows = match url.strip_prefix("sqlite://") {
        Some(file) => sqlite_dump_rows(Path::new(file), skip),
        None => pg_dump_rows(url, skip),
    };
    rows.into_iter().map(|r| blank_timestamps(&r)).collect()
}

fn pg_url_for(database: &str) -> String {
    let admin = env("STEWARD_TEST_PG_URL");
    let base = admin.rsplit_once('/').unwrap().0;
    format!("{base}/{database}")
}

static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// A PostgreSQL database cloned from a pristine Superset 6.1 metadata DB (schema, seeded roles
/// and permissions, `admin`; no content), dropped when this value is dropped.
pub struct ScratchPg {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl ScratchPg {
    /// Creates one.
    pub fn new(label: &str) -> ScratchPg {
        ScratchPg::from_template(label, &env("STEWARD_TEST_SUPERSET_TEMPLATE"))
    }

    /// A copy of the database at `source`, which may have open connections (Superset's own):
    /// `pg_dump` into a new, empty database.
    pub fn dumped_from(label: &str, source: &str) -> ScratchPg {
        let n = SCRATCH.fetch_add(1, Ordering::SeqCst);
        let name = format!("t_{label}_{}_{n}", std::process::id());
        psql(
            &env("STEWARD_TEST_PG_URL"),
            &format!("CREATE DATABASE {name}"),
        );
        let url = pg_url_for(&name);
        copy_database(source, &url);
        ScratchPg { name, url }
    }

    /// A copy of database `template` (which must have no open connection).
    pub fn from_template(label: &str, template: &str) -> ScratchPg {
        let n = SCRATCH.fetch_add(1, Ordering::SeqCst);
        let name = format!("t_{label}_{}_{n}", std::process::id());
        psql(
            &env("STEWARD_TEST_PG_URL"),
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        );
        let url = pg_url_for(&name);
        ScratchPg { name, url }
    }
}

/// Copies the PostgreSQL database at `source` into the empty one at `target` (`pg_dump`, then
/// `psql`); `source` may have open connections.
pub fn copy_database(source: &str, target: &str) {
    let pg_dump = std::path::Path::new(&env("STEWARD_TEST_PSQL")).with_file_name("pg_dump");
    let dump = Command::new(pg_dump)
        .args(["--no-owner", "--no-privileges", source])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let mut restore = Command::new(env("STEWARD_TEST_PSQL"))
        .args([target, "-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    restore
        .stdin
        .take()
        .unwrap()
        .write_all(&dump.stdout)
        .unwrap();
    assert!(restore.wait().unwrap().success(), "restoring into {target}");
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        let _ = Command::new(env("STEWARD_TEST_PSQL"))
            .args([
                &env("STEWARD_TEST_PG_URL"),
                "-X",
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// Runs a Python script with `args`, returning its standard output; panics on failure.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a Python script in the Superset release's own virtualenv, with the services' Superset
/// config (`what` names it in the failure message); returns its standard output.
pub fn superset_python(what: &str, script: &str, args: &[&str]) -> String {
    let python = Path::new(&env("STEWARD_TEST_SUPERSET_BIN")).with_file_name("python");
    let out = Command::new(python)
        .env("SUPERSET_CONFIG_PATH", env("STEWARD_TEST_SUPERSET_CONFIG"))
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the `steward` binary.
pub fn steward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .unwrap()
}

/// Runs `steward` and asserts its exit code, returning standard output.
pub fn steward_ok(args: &[&str], code: i32) -> String {
    let out = steward(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "steward {args:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every row of every table in the public schema of a PostgreSQL database (tables sorted by
/// name, rows sorted as text), except `skip`: a dump to compare before and after.
pub fn pg_dump_rows(url: &str, skip: &[&str]) -> Vec<String> {
    let tables = psql(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    );
    let mut out = Vec::new();
    for table in tables
        .lines()
        .filter(|t| !t.is_empty() && !skip.contains(t))
    {
        let rows = psql(
            url,
            &format!("SELECT t::text FROM \"{table}\" t ORDER BY 1"),
        );
        out.extend(rows.lines().map(|r| format!("{table}: {r}")));
    }
    out
}

/// Every row of every table of a SQLite database file, like [`pg_dump_rows`].
pub fn sqlite_dump_rows(file: &Path, skip: &[&str]) -> Vec<String> {
    let script = "import sqlite3,sys\n\
        c=sqlite3.connect(sys.argv[1]); skip=set(sys.argv[2:])\n\
        for (t,) in c.execute(\"select name from sqlite_master where type='table' order by name\"):\n\
        \x20   if t in skip: continue\n\
        \x20   for r in sorted(repr(r) for r in c.execute(f'select * from \"{t}\"')): print(f'{t}: {r}')\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .args(skip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A scratch metadata database on either backend.
pub enum Db {
    /// A SQLite file in a temporary directory (removed with it).
    Sqlite {
        _dir: tempfile::TempDir,
        file: std::path::PathBuf,
        /// Made by Superset (a copy of a file `scripts/services.sh` made with Superset's own
        /// `db upgrade` + `init`), not by steward.
        superset_made: bool,
    },
    /// A PostgreSQL clone of the Superset template.
    Pg(ScratchPg),
}

impl Db {
    /// A new SQLite file (not yet created: steward creates Superset's schema in it).
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("superset.db");
        Db::Sqlite {
            _dir: dir,
            file,
            superset_made: false,
        }
    }

    /// A writable copy of the SQLite file at `source` (which may be read-only).
    fn sqlite_copy_of(source: &Path, superset_made: bool) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("superset.db");
        std::fs::write(&file, std::fs::read(source).unwrap()).unwrap();
        Db::Sqlite {
            _dir: dir,
            file,
            superset_made,
        }
    }

    /// A copy of the SQLite metadata DB Superset 6.1 made itself (`db upgrade`,
    /// `fab create-admin`, `init`; no content).
    pub fn sqlite_superset() -> Db {
        Db::sqlite_copy_of(Path::new(&env("STEWARD_TEST_SUPERSET_SQLITE")), true)
    }

    /// A copy of that SQLite file with content Superset made through its REST API (see
    /// [`Db::superset_content`]).
    pub fn sqlite_superset_content() -> Db {
        Db::sqlite_copy_of(
            Path::new(&env("STEWARD_TEST_SUPERSET_SQLITE_CONTENT")),
            true,
        )
    }

    /// A PostgreSQL clone of the pristine Superset metadata DB.
    pub fn pg(label: &str) -> Db {
        Db::Pg(ScratchPg::new(label))
    }

    /// Every kind of metadata database steward runs on: a new SQLite file (steward creates
    /// Superset's schema), a copy of the SQLite file Superset made, and a PostgreSQL clone.
    pub fn each_backend(label: &str) -> Vec<Db> {
        vec![Db::sqlite(), Db::sqlite_superset(), Db::pg(label)]
    }

    /// The metadata databases with content Superset made through its REST API
    /// (`scripts/superset_seed.py`: the warehouse database, datasets, charts, dashboards): a copy
    /// of the SQLite file and a PostgreSQL clone.
    pub fn superset_content(label: &str) -> Vec<Db> {
        vec![
            Db::sqlite_superset_content(),
            Db::Pg(ScratchPg::from_template(
                label,
                &env("STEWARD_TEST_SUPERSET_CONTENT_TEMPLATE"),
            )),
        ]
    }

    /// A copy of this database as it is now (file copy / `CREATE DATABASE … TEMPLATE`).
    pub fn copy(&self, label: &str) -> Db {
        match self {
            Db::Sqlite {
                file,
                superset_made,
                ..
            } => Db::sqlite_copy_of(file, *superset_made),
            Db::Pg(source) => Db::Pg(ScratchPg::from_template(label, &source.name)),
        }
    }

    /// Its URL for `--database`.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite { file, .. } => format!("sqlite://{}", file.display()),
            Db::Pg(pg) => pg.url.clone(),
        }
    }

    /// `sqlite`, `sqlite-superset` (made by Superset) or `postgres`, for messages.
    pub fn label(&self) -> &'static str {
        match self {
            Db::Sqlite {
                superset_made: false,
                ..
            } => "sqlite",
            Db::Sqlite {
                superset_made: true,
                ..
            } => "sqlite-superset",
            Db::Pg(_) => "postgres",
        }
    }

    /// Runs one SQL statement (psql / python's sqlite3); returns the rows as text.
    pub fn sql(&self, sql: &str) -> String {
        match self {
            Db::Sqlite { file, .. } => {
                let script = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nfor r in c.execute(sys.argv[2]): print('|'.join(map(str, r)))\nc.commit()\n";
                python(script, &[&file.display().to_string(), sql])
            }
            Db::Pg(pg) => psql(&pg.url, sql),
        }
    }

    /// Every row of every table, timestamps blanked (they differ between otherwise equal runs).
    pub fn dump(&self) -> Vec<String> {
        let rows = match self {
            Db::Sqlite { file, .. } => sqlite_dump_rows(file, &[]),
            Db::Pg(pg) => pg_dump_rows(&pg.url, &[]),
        };
        rows.into_iter().map(|r| blank_timestamps(&r)).collect()
    }
}

/// Replaces `YYYY-MM-DD HH:MM:SS[.ffffff]` (space or `T`) with `<ts>`.
pub fn blank_timestamps(row: &str) -> String {
    let bytes = row.as_bytes();
    let mut out = String::with_capacity(row.len());
    let mut i = 0;
    let digit = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
    let is_stamp = |i: usize| {
        (0..4).all(|k| digit(i + k))
            && bytes.get(i + 4) == Some(&b'-')
            && digit(i + 5)
            && digit(i + 6)
            && bytes.get(i + 7) == Some(&b'-')
            && digit(i + 8)
            && digit(i + 9)
            && matches!(bytes.get(i + 10), Some(b' ' | b'T'))
            && digit(i + 11)
            && bytes.get(i + 13) == Some(&b':')
    };
    while i < bytes.len() {
        if is_stamp(i) {
            let mut j = i + 19;
            if bytes.get(j) == Some(&b'.') {
                j += 1;
                while digit(j) {
                    j += 1;
                }
            }
            out.push_str("<ts>");
            i = j;
        } else {
            let c = row[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The first lines where two dumps differ, for assertion messages.
pub fn dump_difference(before: &[String], after: &[String]) -> String {
    let b: std::collections::BTreeSet<&String> = before.iter().collect();
    let a: std::collections::BTreeSet<&String> = after.iter().collect();
    let mut lines: Vec<String> = b
        .difference(&a)
        .take(10)
        .map(|l| format!("- {l}"))
        .collect();
    lines.extend(a.difference(&b).take(10).map(|l| format!("+ {l}")));
    lines.join("\n")
}

/// Writes the synthetic organisation (`steward generate`) into a new temporary directory.
pub fn generated_org(seed: u64, scale: f64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    steward_ok(
        &[
            "generate",
            "--out",
            &out,
            "--seed",
            &seed.to_string(),
            "--scale",
            &scale.to_string(),
        ],
        0,
    );
    dir
}

/// Prepares `url` for a generated organisation of `scale`: Superset's tables (SQLite), steward's
/// migrations, and the content the organisation refers to.
pub fn seed_org_content(url: &str, scale: f64) {
    use steward::store::demo::{DemoContent, seed};
    use steward::store::{DatabaseUrl, Store};
    let size = steward::generate::OrgSize::scaled(scale);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
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
        });
}
