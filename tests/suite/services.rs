//! The real components the suite runs against, started by `scripts/services.sh` (which
//! `scripts/test.sh` runs first): PostgreSQL and Superset 6.1 on 127.0.0.1. Helpers to make
//! scratch databases (clones of a pristine Superset metadata DB), run the `steward` binary,
//! and dump tables for before/after comparisons.

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
        .args([url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql failed on `{sql}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
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
        let n = SCRATCH.fetch_add(1, Ordering::SeqCst);
        let name = format!("t_{label}_{}_{n}", std::process::id());
        psql(
            &env("STEWARD_TEST_PG_URL"),
            &format!(
                "CREATE DATABASE {name} TEMPLATE {}",
                env("STEWARD_TEST_SUPERSET_TEMPLATE")
            ),
        );
        let url = pg_url_for(&name);
        ScratchPg { name, url }
    }
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
    for table in tables.lines().filter(|t| !t.is_empty() && !skip.contains(t)) {
        let rows = psql(url, &format!("SELECT t::text FROM \"{table}\" t ORDER BY 1"));
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
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}
