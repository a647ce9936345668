//! Benchmark: reconcile org-1k, org-10k and org-100k into Superset's metadata database, on SQLite
//! and PostgreSQL: the curve of cost against size, and each size's targets with PASS/FAIL.
//!
//! `cargo bench --bench reconcile` needs the test services (PostgreSQL with a pristine Superset
//! 6.1 template database): `bash scripts/services.sh start && source /tmp/steward-services/env`.
//! For each size (`steward generate --scale 0.1 / 1 / 10`: org-10k × the scale, seed 1) it
//! times `steward validate` on the tree, then, for each backend, seeds the Superset
//! content org-10k refers to (databases, datasets, charts, dashboards) into a fresh database
//! (SQLite: a new file, steward creates Superset's schema in it; PostgreSQL: scratch databases
//! cloned from the template, dropped at the end), then measures with the release binary:
//!
//! 1. the initial `steward apply` (wall time, and the "in X s" it prints; median of 3 fresh
//!    databases),
//! 2. the no-op re-plan: `steward diff` right after (exit 0 asserted; median of 5), plus one
//!    no-op `steward apply`, both checked to write nothing (SQLite: the file is byte-identical;
//!    PostgreSQL: `pg_stat_user_tables` insert/update/delete counters unchanged),
//! 3. the plan after ~1 % changes (103 of 10,301 objects edited as text: raw permissions of roles,
//!    user last names, group labels, RLS clauses, crontabs; exit 2 asserted; median of 5),
//! 4. peak RSS (`/usr/bin/time -v`, "Maximum resident set size") and CPU time (user + system)
//!    of the apply and the diffs, and of the apply of the ~1 % change (once, last: it changes
//!    the database),
//! 5. in the library: `read_observed` alone in a read transaction (median of 5), plus the other
//!    phases of a pass (`load_paths`, the library pass `engine::run` as a dry run) and of an
//!    apply (the same pass, its phase spans and apply steps timed by `PhaseClock`), to show
//!    where time goes,
//! 6. PostgreSQL floors, in the same run:
//!    - READ floor: one psql session running `COPY <table> TO STDOUT` for every table steward
//!      reads, output to /dev/null (median of 5);
//!    - WRITE floor: the rows steward's apply wrote, as one transaction of 1,000-row INSERTs
//!      (`pg_dump --data-only --column-inserts --rows-per-insert=1000`), loaded with
//!      `psql -1 -f` into a fresh clone holding the same seeded content and steward's migrations
//!      but none of steward's objects (median of 3 fresh clones).
//!
//!      Rows the template already holds (the admin user, the five built-in roles, their 468
//!      `ab_permission_view_role` rows, the admin's `ab_user_role` row) are in the applied
//!      database too but steward did not write them, and the target clone already has them:
//!      loading them again would fail on their primary keys, and deleting them from the target
//!      first would make the floor write 475 rows steward never wrote. So the dump holds exactly
//!      the rows whose ids the seeded base database does not have: for each table, the applied
//!      rows are copied with `CREATE TABLE bench_floor.t AS SELECT * FROM public.t WHERE id NOT IN
//!      (ids of the base)` and dumped from there, in foreign-key order, renamed back to `public.t`.
//!      After loading, each table's row count is checked against the applied database's.
//!
//! Each size prints its table; the end prints the curve (validate, initial apply, no-op diff,
//! ~1 % diff, ~1 % apply, peak RSS per size and backend, with the growth from the previous size)
//! and every size's verdict. Targets, printed with PASS/FAIL:
//! - org-10k: reading the DB ≤ 3× the read floor; whole plan (diff wall time: YAML + DB + diff,
//!   access impact on) ≤ 0.5 s; initial apply ≤ 2× the write floor; no-op re-plan ≤ 0.3 s with
//!   zero writes; peak RSS ≤ 200 MB;
//! - org-100k: no-op re-plan ≤ 1.5 s; ~1 % plan ≤ 2 s; initial apply ≤ 4 s on SQLite and ≤ 2×
//!   the write floor on PostgreSQL; peak RSS ≤ 600 MB;
//! - org-1k (and any other scale): measured, not judged.
//!
//! Targets do not fail the bench; broken invariants (wrong exit codes, writes during a no-op) do.
//! Timings are wall time on a machine that may be shared: the curve prints the load average.
//! Knobs: `STEWARD_BENCH_SCALE=10` measures one size only; `STEWARD_BENCH_SCALES=0.1,1`
//! a list (default `0.1,1,10`; sizes above 2 repeat 3 times instead of 5, fresh databases 2
//! instead of 3); `STEWARD_BENCH_KEEP=1` keeps the generated trees and SQLite files (for
//! profiling) and prints where they are (PostgreSQL scratch databases are always dropped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use steward::engine::phases::PhaseClock;
use steward::engine::{self, Declared, Mode, Observe, PassInput, PassOptions, Verdict};
use steward::generate::{OrgSize, write_organisation};
use steward::manifests::{LoadedSet, load_paths};
use steward::plan::PlanOptions;
use steward::store::bootstrap::ensure_superset;
use steward::store::demo::{DemoContent, seed};
use steward::store::migrate::migrate;
use steward::store::{DatabaseUrl, Store, read_observed};

const STEWARD: &str = env!("CARGO_BIN_EXE_steward");
const TIME: &str = "/usr/bin/time";

const READ_TABLES: [&str; 22] = [
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_role",
    "ab_permission_view_role",
    "ab_user",
    "ab_user_role",
    "ab_group",
    "ab_group_role",
    "ab_user_group",
    "row_level_security_filters",
    "rls_filter_roles",
    "rls_filter_tables",
    "dbs",
    "tables",
    "slices",
    "dashboards",
    "report_schedule",
    "report_recipient",
    "report_schedule_user",
    "report_config",
    "steward_ledger",
];

/// The tables steward writes, in foreign-key order (referenced tables first).
const WRITE_TABLES: [&str; 15] = [
    "ab_user",
    "ab_role",
    "ab_group",
    "ab_user_role",
    "ab_permission_view_role",
    "ab_group_role",
    "ab_user_group",
    "row_level_security_filters",
    "rls_filter_roles",
    "rls_filter_tables",
    "report_schedule",
    "report_recipient",
    "report_schedule_user",
    "report_config",
    "steward_ledger",
];

fn main() {
    let services = Services::from_env();
    assert!(
        Path::new(TIME).exists(),
        "{TIME} is missing (needed for peak RSS): apt-get install time"
    );
    let scales = scales_from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let work = tempfile::Builder::new()
        .prefix("steward-bench-reconcile-")
        .tempdir()
        .expect("temporary directory");
    let pg = Pg::new(&services);
    let mut curve = Vec::new();
    for scale in scales {
        curve.push(bench_size(
            &rt,
            &pg,
            &work.path().join(format!("x{scale}")),
            scale,
        ));
    }
    drop(pg);
    report_curve(&curve);
    if std::env::var_os("STEWARD_BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// The sizes to measure: `STEWARD_BENCH_SCALE` (one size) or `STEWARD_BENCH_SCALES` (a
/// comma-separated list), by default org-1k, org-10k and org-100k.
fn scales_from_env() -> Vec<f64> {
    let list = match (
        std::env::var("STEWARD_BENCH_SCALE"),
        std::env::var("STEWARD_BENCH_SCALES"),
    ) {
        (Ok(one), _) => one,
        (_, Ok(many)) => many,
        _ => "0.1,1,10".to_owned(),
    };
    list.split(',')
        .map(|s| {
            s.trim().parse().unwrap_or_else(|_| {
                eprintln!(
                    "error: `{s}` is not a scale (STEWARD_BENCH_SCALE[S]: numbers such as 0.1,1,10)"
                );
                std::process::exit(2)
            })
        })
        .collect()
}

/// Repetitions of the cheap measurements (diffs, reads, read floor) at the current size.
static RUNS: AtomicUsize = AtomicUsize::new(5);
/// Repetitions of the measurements that need a fresh database (apply, write floor).
static FRESH_RUNS: AtomicUsize = AtomicUsize::new(3);

fn runs() -> usize {
    RUNS.load(Ordering::Relaxed)
}

fn fresh_runs() -> usize {
    FRESH_RUNS.load(Ordering::Relaxed)
}

/// One point of the curve: org-10k × `scale` on both backends.
fn bench_size(rt: &tokio::runtime::Runtime, pg: &Pg, dir: &Path, scale: f64) -> Point {
    // Fewer repetitions for the big sizes: each run is seconds, the median of 3 is enough.
    let big = scale > 2.0;
    RUNS.store(if big { 3 } else { 5 }, Ordering::Relaxed);
    FRESH_RUNS.store(if big { 2 } else { 3 }, Ordering::Relaxed);
    let size = OrgSize::scaled(scale);
    std::fs::create_dir_all(dir).expect("create the size's directory");
    let tree = dir.join("org");
    let summary = write_organisation(&tree, 1, &size).expect("generate the organisation");
    let label = org_label(summary.objects);
    println!("\n=== {label} (org-10k x{scale}): {summary}");
    let changed = dir.join("org-changed");
    copy_tree(&tree, &changed);
    let edited = perturb(&changed);
    println!(
        "~1 % change: {edited} of {} objects edited in {}",
        summary.objects,
        changed.display()
    );

    let yaml = Yaml::measure(&tree, &changed);
    println!(
        "library load_paths: org {} | changed {}",
        fmt_stats(&yaml.load),
        fmt_stats(&yaml.load_changed)
    );
    let tree_s = tree.display().to_string();
    let mut validate = Stats::default();
    let mut validate_cpu = Stats::default();
    let mut validate_rss_kb = 0;
    for _ in 0..runs() {
        let run = steward(&["validate", &tree_s]);
        expect_code(&run, 0, "steward validate");
        validate.push(run.wall);
        validate_cpu.push(run.cpu);
        validate_rss_kb = validate_rss_kb.max(run.rss_kb);
    }
    println!(
        "steward validate {} | peak RSS {:.1} MB",
        fmt_stats(&validate),
        validate_rss_kb as f64 / 1024.0
    );

    let sqlite = bench_sqlite(rt, dir, &size, &tree, &changed, edited);
    let postgres = bench_postgres(rt, pg, &size, &tree, &changed, edited);
    let targets = Targets::for_scale(scale);
    let failures = report(&yaml, &sqlite, &postgres, &targets);
    Point {
        label,
        objects: summary.objects,
        validate,
        validate_cpu,
        validate_rss_kb,
        backends: [sqlite, postgres],
        targets,
        failures,
    }
}

/// `org-10k` for 10,301 objects: the name of the size, by its object count rounded.
fn org_label(objects: usize) -> String {
    match objects {
        n if n >= 50_000 => format!("org-{}k", (n + 500) / 1000 / 10 * 10),
        n if n >= 5_000 => format!("org-{}k", (n + 500) / 1000),
        n => format!("org-{}k", ((n as f64) / 1000.0).round().max(1.0)),
    }
}

// ---------------------------------------------------------------------------------------------
// Environment

struct Services {
    admin_url: String,
    psql: PathBuf,
    template: String,
}

impl Services {
    fn from_env() -> Services {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) if !v.is_empty() => v,
            _ => {
                eprintln!(
                    "error: {name} is not set. This benchmark needs the test services (PostgreSQL \
                     with a Superset 6.1 template database). Run\n\n    \
                     bash scripts/services.sh start && source /tmp/steward-services/env\n\n\
                     then `cargo bench --bench reconcile` again."
                );
                std::process::exit(2);
            }
        };
        let services = Services {
            admin_url: var("STEWARD_TEST_PG_URL"),
            psql: PathBuf::from(var("STEWARD_TEST_PSQL")),
            template: var("STEWARD_TEST_SUPERSET_TEMPLATE"),
        };
        if !services.psql.exists() {
            eprintln!(
                "error: STEWARD_TEST_PSQL={} does not exist; run `bash scripts/services.sh start && source /tmp/steward-services/env`",
                services.psql.display()
            );
            std::process::exit(2);
        }
        services
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements

#[derive(Default)]
struct Stats(Vec<Duration>);

impl Stats {
    fn push(&mut self, d: Duration) {
        self.0.push(d);
    }
    fn sorted(&self) -> Vec<Duration> {
        let mut v = self.0.clone();
        v.sort();
        v
    }
    fn median(&self) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        v[v.len() / 2].as_secs_f64()
    }
    fn min(&self) -> f64 {
        self.sorted()
            .first()
            .map_or(f64::NAN, Duration::as_secs_f64)
    }
    fn max(&self) -> f64 {
        self.sorted().last().map_or(f64::NAN, Duration::as_secs_f64)
    }
}

fn fmt_stats(s: &Stats) -> String {
    format!(
        "median {:.3} s (min {:.3}, max {:.3}, n={})",
        s.median(),
        s.min(),
        s.max(),
        s.0.len()
    )
}

struct Yaml {
    load: Stats,
    load_changed: Stats,
}

impl Yaml {
    fn measure(tree: &Path, changed: &Path) -> Yaml {
        let time = |dir: &Path| {
            let paths = vec![dir.display().to_string()];
            let mut stats = Stats::default();
            for _ in 0..runs() {
                let start = Instant::now();
                let set = load_paths(&paths);
                stats.push(start.elapsed());
                assert!(!set.has_errors(), "{} must load cleanly", dir.display());
            }
            stats
        };
        Yaml {
            load: time(tree),
            load_changed: time(changed),
        }
    }
}

/// Everything measured on one backend.
#[derive(Default)]
struct Backend {
    name: &'static str,
    apply_wall: Stats,
    apply_cpu: Stats,
    apply_reported: Stats,
    apply_changes: usize,
    apply_links: usize,
    apply_rss_kb: u64,
    noop_diff: Stats,
    noop_diff_cpu: Stats,
    cold_noop_diff: Stats,
    cold_change_diff: Stats,
    noop_diff_rss_kb: u64,
    noop_apply_wall: f64,
    noop_writes: String,
    zero_writes: bool,
    change_diff: Stats,
    change_diff_cpu: Stats,
    change_diff_rss_kb: u64,
    change_plan_line: String,
    change_apply_wall: f64,
    change_apply_cpu: f64,
    change_apply_rss_kb: u64,
    read: Stats,
    plan_pass_noop: Stats,
    plan_pass_changed: Stats,
    apply_phases: Vec<(String, f64)>,
    observed_rows: String,
    read_floor: Option<Stats>,
    write_floor: Option<Stats>,
    write_floor_rows: usize,
    write_floor_bytes: usize,
}

/// A finished `/usr/bin/time -v steward …`.
struct Run {
    wall: Duration,
    /// User + system CPU time: on a shared machine, what the run cost apart from waiting.
    cpu: Duration,
    code: i32,
    stdout: String,
    stderr: String,
    rss_kb: u64,
}

/// Runs with the manifest cache disabled while set (to show cold parses next to warm ones).
static CACHE_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn steward(args: &[&str]) -> Run {
    let start = Instant::now();
    let mut command = Command::new(TIME);
    if CACHE_OFF.load(std::sync::atomic::Ordering::Relaxed) {
        command.env("STEWARD_MANIFEST_CACHE", "off");
    }
    let out = command
        .arg("-v")
        .arg(STEWARD)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/time -v steward");
    let wall = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss_kb = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in /usr/bin/time output:\n{stderr}"));
    let seconds = |label: &str| -> f64 {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{label}` in /usr/bin/time output:\n{stderr}"))
    };
    let cpu = seconds("User time (seconds):") + seconds("System time (seconds):");
    Run {
        wall,
        cpu: Duration::from_secs_f64(cpu),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        rss_kb,
    }
}

fn expect_code(run: &Run, code: i32, what: &str) {
    if run.code != code {
        let tail: String = run.stdout.lines().take(40).collect::<Vec<_>>().join("\n");
        panic!(
            "{what}: exit {} (expected {code})\n--- stdout (first lines)\n{tail}\n--- stderr\n{}",
            run.code, run.stderr
        );
    }
}

/// `Applied N change(s) (M … rows) to URL in X s.` → (N, M, X).
fn parse_applied(stdout: &str) -> (usize, usize, f64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Applied "))
        .unwrap_or_else(|| panic!("no `Applied …` line in the apply output"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let changes = words[1].parse().expect("change count");
    let links = words[3]
        .trim_start_matches('(')
        .parse()
        .expect("link count");
    let at = words
        .iter()
        .rposition(|w| *w == "in")
        .expect("`in X s` in the Applied line");
    let secs = words[at + 1].parse().expect("seconds");
    (changes, links, secs)
}

fn plan_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("Plan:") || l.starts_with("No changes"))
        .unwrap_or("(no plan line)")
        .to_owned()
}

/// One fresh database per backend: how to make it and how to check it was not written.
trait Db {
    fn url(&self) -> String;
    /// Something that changes when the database is written.
    fn write_mark(&self) -> String;
}

/// The apply, no-op and 1 % measurements through the binary, common to both backends.
fn bench_binary<D: Db>(
    b: &mut Backend,
    fresh: &mut dyn FnMut(usize) -> D,
    tree: &Path,
    changed: &Path,
    edited: usize,
) -> D {
    let tree_s = tree.display().to_string();
    let changed_s = changed.display().to_string();
    let mut kept = None;
    for i in 0..fresh_runs() {
        let db = fresh(i);
        let url = db.url();
        let run = steward(&["apply", &tree_s, "--database", &url]);
        expect_code(&run, 0, "initial steward apply");
        let (changes, links, secs) = parse_applied(&run.stdout);
        b.apply_wall.push(run.wall);
        b.apply_cpu.push(run.cpu);
        b.apply_reported.push(Duration::from_secs_f64(secs));
        b.apply_changes = changes;
        b.apply_links = links;
        b.apply_rss_kb = b.apply_rss_kb.max(run.rss_kb);
        println!(
            "  [{}] apply #{}: {:.3} s wall (steward says {secs:.2} s), {changes} changes, {links} link rows, peak RSS {:.1} MB",
            b.name,
            i + 1,
            run.wall.as_secs_f64(),
            run.rss_kb as f64 / 1024.0
        );
        kept = Some(db);
    }
    let db = kept.expect("at least one apply");
    let url = db.url();

    let before = db.write_mark();
    for _ in 0..runs() {
        let run = steward(&["diff", &tree_s, "--database", &url]);
        expect_code(&run, 0, "no-op steward diff (must find zero changes)");
        assert!(
            run.stdout.starts_with("No changes"),
            "no-op diff printed a plan"
        );
        b.noop_diff.push(run.wall);
        b.noop_diff_cpu.push(run.cpu);
        b.noop_diff_rss_kb = b.noop_diff_rss_kb.max(run.rss_kb);
    }
    let run = steward(&["apply", &tree_s, "--database", &url]);
    expect_code(&run, 0, "no-op steward apply");
    assert!(
        run.stdout.starts_with("No changes") && !run.stdout.contains("Applied"),
        "the no-op apply planned changes:\n{}",
        plan_line(&run.stdout)
    );
    b.noop_apply_wall = run.wall.as_secs_f64();
    let after = db.write_mark();
    b.zero_writes = before == after;
    b.noop_writes = if b.zero_writes {
        "none".into()
    } else {
        format!("{before} -> {after}")
    };
    assert!(
        b.zero_writes,
        "[{}] the no-op diffs/apply wrote to the database: {}",
        b.name, b.noop_writes
    );
    println!(
        "  [{}] no-op diff {} | no-op apply {:.3} s | writes: {}",
        b.name,
        fmt_stats(&b.noop_diff),
        b.noop_apply_wall,
        b.noop_writes
    );

    // The same two plans with the manifest cache off: every file parsed and checked again.
    CACHE_OFF.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut cold_noop = Stats(Vec::new());
    let mut cold_change = Stats(Vec::new());
    for _ in 0..3 {
        let run = steward(&["diff", &tree_s, "--database", &url]);
        expect_code(&run, 0, "no-op steward diff, cache off");
        cold_noop.push(run.wall);
        let run = steward(&["diff", &changed_s, "--database", &url]);
        expect_code(&run, 2, "steward diff after ~1 % changes, cache off");
        cold_change.push(run.wall);
    }
    CACHE_OFF.store(false, std::sync::atomic::Ordering::Relaxed);
    println!(
        "  [{}] manifest cache off: no-op diff {} | ~1 % diff {}",
        b.name,
        fmt_stats(&cold_noop),
        fmt_stats(&cold_change)
    );
    b.cold_noop_diff = cold_noop;
    b.cold_change_diff = cold_change;

    for i in 0..runs() {
        let run = steward(&["diff", &changed_s, "--database", &url]);
        if i == 0 {
            println!(
                "  [{}] first ~1 % diff (changed files not yet cached): {:.3} s",
                b.name,
                run.wall.as_secs_f64()
            );
        }
        expect_code(
            &run,
            2,
            "steward diff after ~1 % changes (must find changes)",
        );
        b.change_diff.push(run.wall);
        b.change_diff_cpu.push(run.cpu);
        b.change_diff_rss_kb = b.change_diff_rss_kb.max(run.rss_kb);
        b.change_plan_line = plan_line(&run.stdout);
    }
    let updates: usize = b
        .change_plan_line
        .strip_prefix("Plan: ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if b.change_plan_line != format!("Plan: {edited} to update.") {
        println!(
            "  WARNING [{}]: {edited} objects were edited but the plan says `{}` ({updates})",
            b.name, b.change_plan_line
        );
    }
    println!(
        "  [{}] ~1 % diff {} | {}",
        b.name,
        fmt_stats(&b.change_diff),
        b.change_plan_line
    );
    db
}

/// The library pass over `set` against `store`, with the default plan options.
fn pass_input(set: LoadedSet, store: &Store, mode: Mode) -> PassInput<'_> {
    PassInput {
        declared: Declared::Loaded(set),
        observe: Observe::Database(store),
        options: PassOptions {
            plan: PlanOptions::default(),
            mode,
            expected: None,
        },
    }
}

/// The apply of the ~1 % change (once: it changes the database), after every other measurement
/// of `url`.
fn bench_change_apply(b: &mut Backend, url: &str, changed: &Path, edited: usize) {
    let run = steward(&["apply", &changed.display().to_string(), "--database", url]);
    expect_code(&run, 0, "steward apply of the ~1 % change");
    let (changes, _, _) = parse_applied(&run.stdout);
    assert_eq!(
        changes, edited,
        "the ~1 % apply wrote {changes} objects, not {edited}"
    );
    b.change_apply_wall = run.wall.as_secs_f64();
    b.change_apply_cpu = run.cpu.as_secs_f64();
    b.change_apply_rss_kb = run.rss_kb;
    println!(
        "  [{}] ~1 % apply: {:.3} s wall, {changes} changes, peak RSS {:.1} MB",
        b.name,
        b.change_apply_wall,
        run.rss_kb as f64 / 1024.0
    );
}

/// In-process phases: `read_observed` alone, the pass as a dry run (read + validate + resolve +
/// plan).
fn bench_library(
    rt: &tokio::runtime::Runtime,
    b: &mut Backend,
    url: &str,
    tree: &Path,
    changed: &Path,
) {
    let url = DatabaseUrl::new(url);
    let store = rt
        .block_on(Store::connect(&url, false))
        .expect("connect for the library measurements");
    for _ in 0..runs() {
        let observed = rt.block_on(async {
            let mut tx = store.read().await.expect("read transaction");
            let start = Instant::now();
            let observed = read_observed(&mut tx).await.expect("read_observed");
            b.read.push(start.elapsed());
            tx.rollback().await.expect("rollback");
            observed
        });
        let s = &observed.state;
        b.observed_rows = format!(
            "{} users, {} roles ({} grants), {} groups, {} RLS filters, {} schedules, {} ledger rows, {} datasets, {} permission pairs",
            s.users.len(),
            s.roles.len(),
            s.roles.values().map(|r| r.permissions.len()).sum::<usize>(),
            s.groups.len(),
            s.rls_filters.len(),
            s.schedules.len(),
            observed.ledger.len(),
            observed.catalog.datasets.len(),
            observed.catalog.permissions.len(),
        );
    }
    for (dir, stats, empty) in [
        (tree, &mut b.plan_pass_noop, true),
        (changed, &mut b.plan_pass_changed, false),
    ] {
        for _ in 0..runs() {
            let set = load_paths(&[dir.display().to_string()]);
            let input = pass_input(set, &store, Mode::DryRun);
            let start = Instant::now();
            let outcome = rt.block_on(engine::run(input)).expect("the pass");
            stats.push(start.elapsed());
            assert_eq!(
                outcome.planned.plan.is_empty(),
                empty,
                "library plan emptiness"
            );
        }
    }
    rt.block_on(store.close());
    println!(
        "  [{}] library read_observed {} | plan_pass no-op {} | plan_pass ~1 % {}",
        b.name,
        fmt_stats(&b.read),
        fmt_stats(&b.plan_pass_noop),
        fmt_stats(&b.plan_pass_changed)
    );
    println!("  [{}] observed: {}", b.name, b.observed_rows);
}

/// An initial apply in-process through the library pass, timing its phases and apply steps (for
/// the where-does-time-go report).
fn bench_apply_phases(rt: &tokio::runtime::Runtime, b: &mut Backend, url: &str, tree: &Path) {
    fn lap(t: &mut Instant) -> f64 {
        let s = t.elapsed().as_secs_f64();
        *t = Instant::now();
        s
    }
    let mut t = Instant::now();
    let set = load_paths(&[tree.display().to_string()]);
    b.apply_phases.push(("load YAML".into(), lap(&mut t)));
    let clock = PhaseClock::default();
    let outcome = tracing::subscriber::with_default(clock.clone(), || {
        rt.block_on(async {
            let store = Store::connect(&DatabaseUrl::new(url), true)
                .await
                .expect("connect");
            let input = pass_input(set, &store, Mode::Apply);
            let outcome = engine::run(input).await.expect("the pass");
            store.close().await;
            outcome
        })
    });
    let ended = Instant::now();
    let Verdict::Applied(applied) = &outcome.verdict else {
        panic!("the in-process apply was refused: {:?}", outcome.verdict);
    };
    assert!(
        !applied.objects.is_empty(),
        "the in-process apply wrote nothing"
    );
    let times = clock.times();
    let mut phases: Vec<(String, f64)> = Vec::new();
    for (name, spent) in &times.phases {
        phases.push(((*name).to_owned(), spent.as_secs_f64()));
    }
    for (i, (m, at)) in times.steps.iter().enumerate() {
        let next = times.steps.get(i + 1).map_or(ended, |s| s.1);
        phases.push((format!("apply: {m}"), (next - *at).as_secs_f64()));
    }
    b.apply_phases.extend(phases);
    let line: Vec<String> = b
        .apply_phases
        .iter()
        .map(|(n, s)| format!("{n} {s:.3}"))
        .collect();
    println!(
        "  [{}] in-process apply phases (s): {}",
        b.name,
        line.join(" | ")
    );
}

/// Seeds org-10k's Superset content (and runs steward's migrations) into `url`.
fn seed_content(rt: &tokio::runtime::Runtime, url: &str, size: &OrgSize) {
    rt.block_on(async {
        let store = Store::connect(&DatabaseUrl::new(url), true)
            .await
            .expect("connect to seed");
        let mut tx = store.write(|| {}).await.expect("write transaction");
        ensure_superset(&mut tx, true)
            .await
            .expect("a Superset database");
        migrate(&mut tx).await.expect("steward migrations");
        seed(&mut tx, &DemoContent::organisation(&size.content))
            .await
            .expect("seed org-10k content");
        tx.commit().await.expect("commit the seed");
        store.close().await;
    });
}

// ---------------------------------------------------------------------------------------------
// SQLite

struct SqliteDb(PathBuf);

impl Db for SqliteDb {
    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
    fn write_mark(&self) -> String {
        let bytes = std::fs::read(&self.0).expect("read the SQLite file");
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in &bytes {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        let journal = self.0.with_extension("db-journal").exists()
            || self.0.with_extension("db-wal").exists();
        format!("{} bytes, fnv {hash:016x}, journal {journal}", bytes.len())
    }
}

fn bench_sqlite(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    size: &OrgSize,
    tree: &Path,
    changed: &Path,
    edited: usize,
) -> Backend {
    println!("SQLite:");
    let mut b = Backend {
        name: "sqlite",
        ..Backend::default()
    };
    let mut fresh = |i: usize| {
        let db = SqliteDb(dir.join(format!("org-{i}.db")));
        let start = Instant::now();
        seed_content(rt, &db.url(), size);
        println!(
            "  [sqlite] fresh database {} (schema + content seeded in {:.2} s)",
            db.0.display(),
            start.elapsed().as_secs_f64()
        );
        db
    };
    let db = bench_binary(&mut b, &mut fresh, tree, changed, edited);
    bench_library(rt, &mut b, &db.url(), tree, changed);
    bench_change_apply(&mut b, &db.url(), changed, edited);
    let phases = fresh(fresh_runs());
    bench_apply_phases(rt, &mut b, &phases.url(), tree);
    b
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

struct Pg {
    psql: PathBuf,
    pg_dump: PathBuf,
    admin_url: String,
    template: String,
    prefix: String,
    created: std::cell::RefCell<Vec<String>>,
}

struct PgDb<'a> {
    pg: &'a Pg,
    name: String,
}

impl Db for PgDb<'_> {
    fn url(&self) -> String {
        self.pg.url(&self.name)
    }
    fn write_mark(&self) -> String {
        // A backend's counters reach the statistics system when it exits; give it time.
        std::thread::sleep(Duration::from_millis(1500));
        self.pg.query(
            &self.url(),
            "SELECT COALESCE(SUM(n_tup_ins), 0) || ' ins/' || COALESCE(SUM(n_tup_upd), 0) || ' upd/' || COALESCE(SUM(n_tup_del), 0) || ' del' FROM pg_stat_user_tables",
        )
    }
}

impl Pg {
    fn new(services: &Services) -> Pg {
        let pg_dump = services.psql.with_file_name("pg_dump");
        assert!(
            pg_dump.exists(),
            "pg_dump not found next to psql ({})",
            pg_dump.display()
        );
        Pg {
            psql: services.psql.clone(),
            pg_dump,
            admin_url: services.admin_url.clone(),
            template: services.template.clone(),
            prefix: format!("steward_bench_{}", std::process::id()),
            created: Default::default(),
        }
    }

    fn url(&self, database: &str) -> String {
        with_database(&self.admin_url, database)
    }

    fn psql_cmd(&self, url: &str) -> Command {
        let mut c = Command::new(&self.psql);
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url])
            .stdin(Stdio::null());
        c
    }

    /// Runs SQL and returns its unaligned, tuples-only output.
    fn query(&self, url: &str, sql: &str) -> String {
        let out = self
            .psql_cmd(url)
            .args(["-At", "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed on {}: {sql}\n{}",
            redact(url),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn try_admin(&self, sql: &str) -> Result<(), String> {
        let out = self
            .psql_cmd(&self.admin_url)
            .args(["-c", sql])
            .output()
            .expect("run psql");
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A new database cloned from `template` (retried while the template has connections).
    fn clone_db(&self, suffix: &str, template: &str) -> PgDb<'_> {
        let name = format!("{}_{suffix}", self.prefix);
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        let mut attempt = 0;
        loop {
            match self.try_admin(&sql) {
                Ok(()) => break,
                Err(e) if attempt < 30 && e.contains("being accessed by other users") => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => panic!("{sql}: {e}"),
            }
        }
        self.created.borrow_mut().push(name.clone());
        PgDb { pg: self, name }
    }

    fn drop_db(&self, name: &str) {
        if let Err(e) = self.try_admin(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        {
            eprintln!("warning: could not drop scratch database {name}: {e}");
        }
        self.created.borrow_mut().retain(|n| n != name);
    }

    /// Runs a psql script with output to /dev/null and returns its wall time.
    fn time_script(&self, url: &str, script: &Path, single_transaction: bool) -> Duration {
        let mut cmd = self.psql_cmd(url);
        if single_transaction {
            cmd.arg("-1");
        }
        cmd.arg("-f").arg(script).stdout(Stdio::null());
        let start = Instant::now();
        let out = cmd.output().expect("run psql");
        let wall = start.elapsed();
        assert!(
            out.status.success(),
            "psql -f {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        wall
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let names: Vec<String> = self.created.borrow().clone();
        for name in names {
            self.drop_db(&name);
        }
    }
}

fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .expect("STEWARD_TEST_PG_URL is a postgres:// URL");
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let authority = main.split('/').next().unwrap_or(main);
    let mut out = format!("{scheme}://{authority}/{database}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn redact(url: &str) -> String {
    steward::store::redact_url(url)
}

fn bench_postgres(
    rt: &tokio::runtime::Runtime,
    pg: &Pg,
    size: &OrgSize,
    tree: &Path,
    changed: &Path,
    edited: usize,
) -> Backend {
    println!("PostgreSQL:");
    let mut b = Backend {
        name: "postgres",
        ..Backend::default()
    };
    // The base: a template clone with org-10k's content and steward's migrations, no steward
    // objects. Every apply and every write-floor load starts from a clone of it.
    let base = pg.clone_db("base", &pg.template);
    let start = Instant::now();
    seed_content(rt, &base.url(), size);
    println!(
        "  [postgres] base {} = {} + content + migrations (seeded in {:.2} s)",
        base.name,
        pg.template,
        start.elapsed().as_secs_f64()
    );
    let mut fresh = |i: usize| pg.clone_db(&format!("apply{i}"), &base.name);
    let db = bench_binary(&mut b, &mut fresh, tree, changed, edited);
    for i in 0..fresh_runs() - 1 {
        pg.drop_db(&format!("{}_apply{i}", pg.prefix));
    }
    bench_library(rt, &mut b, &db.url(), tree, changed);

    // READ floor: COPY every table steward reads, in one session.
    let dir = tempfile::tempdir().expect("temporary directory");
    let read_sql = dir.path().join("read-floor.sql");
    let script: String = READ_TABLES
        .iter()
        .map(|t| format!("COPY public.{t} TO STDOUT;\n"))
        .collect();
    std::fs::write(&read_sql, script).expect("write the read script");
    let mut read_floor = Stats::default();
    for _ in 0..runs() {
        read_floor.push(pg.time_script(&db.url(), &read_sql, false));
    }
    println!(
        "  [postgres] READ floor (psql COPY x22) {}",
        fmt_stats(&read_floor)
    );

    // WRITE floor: the rows steward wrote, as one transaction of multi-row INSERTs.
    let (dump, rows, expected) = write_floor_dump(pg, &db, &base);
    let dump_sql = dir.path().join("write-floor.sql");
    std::fs::write(&dump_sql, &dump).expect("write the dump");
    b.write_floor_rows = rows;
    b.write_floor_bytes = dump.len();
    let mut write_floor = Stats::default();
    for i in 0..fresh_runs() {
        let target = pg.clone_db(&format!("floor{i}"), &base.name);
        write_floor.push(pg.time_script(&target.url(), &dump_sql, true));
        if i == 0 {
            for (table, (applied, base_rows)) in &expected {
                let now: usize = pg
                    .query(
                        &target.url(),
                        &format!("SELECT COUNT(*) FROM public.{table}"),
                    )
                    .parse()
                    .expect("count");
                assert_eq!(
                    now, *applied,
                    "write floor: {table} holds {now} rows after the load, the applied database {applied} (base {base_rows})"
                );
            }
        }
        pg.drop_db(&target.name);
    }
    println!(
        "  [postgres] WRITE floor (psql -1, {rows} rows, {:.1} MB of INSERTs) {}",
        dump.len() as f64 / 1e6,
        fmt_stats(&write_floor)
    );
    b.read_floor = Some(read_floor);
    b.write_floor = Some(write_floor);

    bench_change_apply(&mut b, &db.url(), changed, edited);
    let phases = pg.clone_db("phases", &base.name);
    bench_apply_phases(rt, &mut b, &phases.url(), tree);
    pg.drop_db(&phases.name);
    pg.drop_db(&db.name);
    pg.drop_db(&base.name);
    b
}

/// The rows of `applied` that `base` does not hold, as a data-only dump (1,000-row INSERTs,
/// foreign-key order). Returns the script, its row count, and per table the applied row count
/// and the base's row count.
fn write_floor_dump(
    pg: &Pg,
    applied: &PgDb<'_>,
    base: &PgDb<'_>,
) -> (String, usize, BTreeMap<&'static str, (usize, usize)>) {
    let url = applied.url();
    pg.query(
        &url,
        "DROP SCHEMA IF EXISTS bench_floor CASCADE; CREATE SCHEMA bench_floor",
    );
    let mut script = String::new();
    let mut rows = 0;
    let mut expected = BTreeMap::new();
    for table in WRITE_TABLES {
        let base_rows: usize = pg
            .query(&base.url(), &format!("SELECT COUNT(*) FROM public.{table}"))
            .parse()
            .expect("count");
        let filter = if base_rows == 0 {
            String::new()
        } else {
            let ids = pg.query(
                &base.url(),
                &format!("SELECT string_agg(id::text, ',' ORDER BY id) FROM public.{table}"),
            );
            format!(" WHERE id NOT IN ({ids})")
        };
        pg.query(
            &url,
            &format!("CREATE TABLE bench_floor.{table} AS SELECT * FROM public.{table}{filter}"),
        );
        let copied: usize = pg
            .query(&url, &format!("SELECT COUNT(*) FROM bench_floor.{table}"))
            .parse()
            .expect("count");
        let total: usize = pg
            .query(&url, &format!("SELECT COUNT(*) FROM public.{table}"))
            .parse()
            .expect("count");
        assert_eq!(
            copied + base_rows,
            total,
            "{table}: steward's rows + the base's rows must be the applied rows"
        );
        rows += copied;
        expected.insert(table, (total, base_rows));
        let out = Command::new(&pg.pg_dump)
            .args([
                "--data-only",
                "--column-inserts",
                "--rows-per-insert=1000",
                "--no-owner",
                "--no-privileges",
                "-t",
            ])
            .arg(format!("bench_floor.{table}"))
            .arg("-d")
            .arg(&url)
            .stdin(Stdio::null())
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "pg_dump -t bench_floor.{table} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("pg_dump writes UTF-8");
        let from = format!("INSERT INTO bench_floor.{table} ");
        let to = format!("INSERT INTO public.{table} ");
        for line in text.lines() {
            match line.strip_prefix(&from) {
                Some(rest) => {
                    script.push_str(&to);
                    script.push_str(rest);
                }
                None => script.push_str(line),
            }
            script.push('\n');
        }
    }
    pg.query(&url, "DROP SCHEMA bench_floor CASCADE");
    println!(
        "  [postgres] write-floor dump: {rows} rows steward wrote ({} pre-existing template rows excluded)",
        expected.values().map(|(_, b)| b).sum::<usize>()
    );
    (script, rows, expected)
}

// ---------------------------------------------------------------------------------------------
// The ~1 % change

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// Edits about 1 % of the generated objects, deterministically, as text; returns how many.
fn perturb(dir: &Path) -> usize {
    let mut edited = 0;
    // Roles: drop the first raw permission pair (a grant removed).
    edited += edit_kind(&dir.join("roles"), 40, |doc| {
        let Some(at) = doc.iter().position(|l| l == "  rawPermissions:") else {
            return false;
        };
        if !(doc[at + 1].starts_with("  - permission: ") && doc[at + 2].starts_with("    view: ")) {
            return false;
        }
        doc.drain(at + 1..at + 3);
        true
    });
    // Users: a new last name.
    edited += edit_kind(&dir.join("users"), 200, |doc| {
        edit_line(doc, "  lastName: ", |v| format!("{v} Jr"))
    });
    // Groups: a new label.
    edited += edit_kind(&dir.join("groups"), 100, |doc| {
        edit_line(doc, "  label: ", |_| "Relabelled group".to_owned())
    });
    // RLS filters: a new clause (the clause is the spec's last field; drop any folded lines).
    edited += edit_kind(&dir.join("rls"), 80, |doc| {
        let Some(at) = doc.iter().position(|l| l.starts_with("  clause: ")) else {
            return false;
        };
        doc[at] = "  clause: bench_revision = 2".to_owned();
        while doc.len() > at + 1 && doc[at + 1].starts_with("    ") {
            doc.remove(at + 1);
        }
        true
    });
    // Schedules: a new crontab that still respects the configured minimum intervals.
    edited += edit_kind(&dir.join("schedules"), 80, |doc| {
        let alert = doc.iter().any(|l| l == "  type: Alert");
        let crontab = if alert {
            "  crontab: \"*/20 * * * *\""
        } else {
            "  crontab: 0 11 * * *"
        };
        let Some(at) = doc.iter().position(|l| l.starts_with("  crontab: ")) else {
            return false;
        };
        doc[at] = crontab.to_owned();
        true
    });
    edited
}

fn edit_line(doc: &mut [String], prefix: &str, new: impl Fn(&str) -> String) -> bool {
    let Some(line) = doc.iter_mut().find(|l| l.starts_with(prefix)) else {
        return false;
    };
    let value = &line[prefix.len()..];
    if value.starts_with(['"', '\'', '>', '|']) {
        return false;
    }
    *line = format!("{prefix}{}", new(value));
    true
}

/// Applies `edit` to every `every`-th document of the kind's files (in file order).
fn edit_kind(dir: &Path, every: usize, edit: impl Fn(&mut Vec<String>) -> bool) -> usize {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read directory")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut index = 0;
    let mut edited = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read manifest");
        let mut docs: Vec<Vec<String>> = vec![Vec::new()];
        for line in text.lines() {
            if line == "---" {
                docs.push(Vec::new());
            } else {
                docs.last_mut().expect("a document").push(line.to_owned());
            }
        }
        for doc in &mut docs {
            if index % every == 0 {
                assert!(
                    edit(doc),
                    "cannot edit document {index} of {}",
                    file.display()
                );
                edited += 1;
            }
            index += 1;
        }
        let mut out = String::with_capacity(text.len() + 64);
        for (i, doc) in docs.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            for line in doc {
                out.push_str(line);
                out.push('\n');
            }
        }
        std::fs::write(&file, out).expect("write manifest");
    }
    edited
}

// ---------------------------------------------------------------------------------------------
// Report

/// The targets of one size (`None`: measured and printed, not judged).
#[derive(Clone, Copy, Default)]
struct Targets {
    /// No-op `steward diff` wall time, s.
    noop_diff: Option<f64>,
    /// `steward diff` after the ~1 % change, s (the whole plan, access impact on).
    change_diff: Option<f64>,
    /// Initial `steward apply` on SQLite, s.
    sqlite_apply: Option<f64>,
    /// Initial `steward apply` on PostgreSQL / the WRITE floor.
    write_floor_ratio: Option<f64>,
    /// `read_observed` on PostgreSQL / the READ floor.
    read_floor_ratio: Option<f64>,
    /// Peak RSS of every steward process, MB.
    rss_mb: Option<f64>,
}

impl Targets {
    /// org-10k (scale 1) and org-100k (scale 10) have targets; other sizes are measured only.
    fn for_scale(scale: f64) -> Targets {
        if scale == 1.0 {
            Targets {
                noop_diff: Some(0.3),
                change_diff: Some(0.5),
                sqlite_apply: None,
                write_floor_ratio: Some(2.0),
                read_floor_ratio: Some(3.0),
                rss_mb: Some(200.0),
            }
        } else if scale == 10.0 {
            Targets {
                noop_diff: Some(1.5),
                change_diff: Some(2.0),
                sqlite_apply: Some(4.0),
                write_floor_ratio: Some(2.0),
                read_floor_ratio: None,
                rss_mb: Some(600.0),
            }
        } else {
            Targets::default()
        }
    }
}

/// One size of the curve.
struct Point {
    label: String,
    objects: usize,
    validate: Stats,
    validate_cpu: Stats,
    validate_rss_kb: u64,
    backends: [Backend; 2],
    targets: Targets,
    failures: usize,
}

impl Backend {
    /// The highest peak RSS of the steward processes measured on this backend, MB.
    fn peak_rss_mb(&self) -> f64 {
        [
            self.apply_rss_kb,
            self.noop_diff_rss_kb,
            self.change_diff_rss_kb,
            self.change_apply_rss_kb,
        ]
        .into_iter()
        .max()
        .unwrap_or(0) as f64
            / 1024.0
    }

    fn write_floor_ratio(&self) -> Option<f64> {
        Some(self.apply_wall.median() / self.write_floor.as_ref()?.median())
    }
}

/// The size's table: what was measured, and the size's targets with PASS/FAIL. Returns the
/// number of failed checks.
fn report(yaml: &Yaml, sqlite: &Backend, postgres: &Backend, targets: &Targets) -> usize {
    const MB: f64 = 1024.0;
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut failures = 0;
    // One verdict per backend a target applies to; no target: info.
    let mut verdict = |target: Option<f64>, checks: &[(&str, f64)]| -> String {
        let Some(target) = target else {
            return "(info)".into();
        };
        checks
            .iter()
            .map(|(backend, value)| {
                let ok = *value <= target;
                if !ok {
                    failures += 1;
                }
                format!("{backend} {}", if ok { "PASS" } else { "FAIL" })
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let secs = |v: f64| format!("{v:.3} s");
    let limit = |t: Option<f64>, unit: &str| t.map_or("-".into(), |t| format!("<= {t}{unit}"));
    let mut info = |label: &str, f: &dyn Fn(&Backend) -> String| {
        rows.push([
            label.to_owned(),
            f(sqlite),
            f(postgres),
            String::new(),
            String::new(),
        ]);
    };

    info("initial apply: changes + links", &|b| {
        format!("{} + {} rows", b.apply_changes, b.apply_links)
    });
    info("WRITE floor (psql -1 INSERTs)", &|b| match &b.write_floor {
        Some(f) => format!("{} ({} rows)", secs(f.median()), b.write_floor_rows),
        None => "n/a".into(),
    });
    info("no-op apply (info)", &|b| secs(b.noop_apply_wall));
    info("~1 % apply (info, 1 run)", &|b| secs(b.change_apply_wall));
    info("read_observed (library)", &|b| secs(b.read.median()));
    info("READ floor (psql COPY x22)", &|b| match &b.read_floor {
        Some(f) => secs(f.median()),
        None => "n/a".into(),
    });
    info("1 % diff = load_paths (YAML)", &|_| {
        secs(yaml.load_changed.median())
    });
    info("  + plan_pass (DB read+plan)", &|b| {
        secs(b.plan_pass_changed.median())
    });
    info("  + process, connect, output", &|b| {
        secs(b.change_diff.median() - yaml.load_changed.median() - b.plan_pass_changed.median())
    });

    rows.push([
        "initial apply: wall (median)".into(),
        secs(sqlite.apply_wall.median()),
        secs(postgres.apply_wall.median()),
        limit(targets.sqlite_apply, " s (SQLite)"),
        verdict(
            targets.sqlite_apply,
            &[("sqlite", sqlite.apply_wall.median())],
        ),
    ]);
    let ratio = postgres.write_floor_ratio().unwrap_or(f64::NAN);
    rows.push([
        "initial apply / WRITE floor".into(),
        "n/a".into(),
        format!("{ratio:.2}x"),
        limit(targets.write_floor_ratio, "x"),
        verdict(targets.write_floor_ratio, &[("pg", ratio)]),
    ]);
    let rf = postgres.read_floor.as_ref().map_or(f64::NAN, Stats::median);
    let ratio = postgres.read.median() / rf;
    rows.push([
        "read_observed / READ floor".into(),
        "n/a".into(),
        format!("{ratio:.2}x"),
        limit(targets.read_floor_ratio, "x"),
        verdict(targets.read_floor_ratio, &[("pg", ratio)]),
    ]);
    // Writes during the no-op are asserted (the bench stops), so the verdict is on time.
    rows.push([
        "no-op re-plan (diff), writes".into(),
        format!(
            "{} ({})",
            secs(sqlite.noop_diff.median()),
            sqlite.noop_writes
        ),
        format!(
            "{} ({})",
            secs(postgres.noop_diff.median()),
            postgres.noop_writes
        ),
        limit(targets.noop_diff, " s, 0 writes"),
        verdict(
            targets.noop_diff,
            &[
                ("sqlite", sqlite.noop_diff.median()),
                ("pg", postgres.noop_diff.median()),
            ],
        ),
    ]);
    rows.push([
        "whole plan, ~1 % changed (diff)".into(),
        secs(sqlite.change_diff.median()),
        secs(postgres.change_diff.median()),
        limit(targets.change_diff, " s"),
        verdict(
            targets.change_diff,
            &[
                ("sqlite", sqlite.change_diff.median()),
                ("pg", postgres.change_diff.median()),
            ],
        ),
    ]);
    type Peak = fn(&Backend) -> u64;
    let peaks: [(&str, Peak); 4] = [
        ("peak RSS apply", |b| b.apply_rss_kb),
        ("peak RSS no-op diff", |b| b.noop_diff_rss_kb),
        ("peak RSS ~1 % diff", |b| b.change_diff_rss_kb),
        ("peak RSS ~1 % apply", |b| b.change_apply_rss_kb),
    ];
    for (label, rss) in peaks {
        let mb = |b: &Backend| rss(b) as f64 / MB;
        rows.push([
            label.into(),
            format!("{:.1} MB", mb(sqlite)),
            format!("{:.1} MB", mb(postgres)),
            limit(targets.rss_mb, " MB"),
            verdict(
                targets.rss_mb,
                &[("sqlite", mb(sqlite)), ("pg", mb(postgres))],
            ),
        ]);
    }

    println!();
    let header = ["measure", "SQLite", "PostgreSQL", "target", "verdict"];
    let line = |r: &[&str; 5]| {
        println!(
            "{:<32} {:<26} {:<26} {:<22} {}",
            r[0], r[1], r[2], r[3], r[4]
        )
    };
    line(&header);
    println!("{}", "-".repeat(127));
    for r in &rows {
        line(&[&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    println!();
    if failures == 0 {
        println!("all targets of this size PASS");
    } else {
        println!(
            "{failures} target check(s) of this size FAIL (the phase timings above show where time goes)"
        );
    }
    failures
}

/// The curve: per size and backend, the six measures, how each grew from the previous size
/// against the growth of the object count, then every size's verdict.
fn report_curve(curve: &[Point]) {
    println!();
    println!(
        "Curve: median wall time / median CPU time (user + system), growth of the wall time from \
         the previous size in brackets; load average now {}",
        load_average()
    );
    println!(
        "{:<10} {:<9} {:<21} {:<21} {:<21} {:<21} {:<21} {:<8}",
        "size",
        "backend",
        "validate",
        "initial apply",
        "no-op diff",
        "~1 % diff",
        "~1 % apply",
        "peak RSS"
    );
    println!("{}", "-".repeat(140));
    let cell = |wall: f64, cpu: f64, before: Option<f64>| match before {
        Some(b) if b > 0.0 => format!("{wall:.2}/{cpu:.2} s ({:.1}x)", wall / b),
        _ => format!("{wall:.2}/{cpu:.2} s"),
    };
    for (i, point) in curve.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| &curve[p]);
        for (j, b) in point.backends.iter().enumerate() {
            let before = previous.map(|p| &p.backends[j]);
            let validate = match j {
                0 => cell(
                    point.validate.median(),
                    point.validate_cpu.median(),
                    previous.map(|p| p.validate.median()),
                ),
                _ => "(same)".into(),
            };
            let rss = b.peak_rss_mb().max(point.validate_rss_kb as f64 / 1024.0);
            println!(
                "{:<10} {:<9} {:<21} {:<21} {:<21} {:<21} {:<21} {:.0} MB",
                point.label,
                b.name,
                validate,
                cell(
                    b.apply_wall.median(),
                    b.apply_cpu.median(),
                    before.map(|b| b.apply_wall.median())
                ),
                cell(
                    b.noop_diff.median(),
                    b.noop_diff_cpu.median(),
                    before.map(|b| b.noop_diff.median())
                ),
                cell(
                    b.change_diff.median(),
                    b.change_diff_cpu.median(),
                    before.map(|b| b.change_diff.median())
                ),
                cell(
                    b.change_apply_wall,
                    b.change_apply_cpu,
                    before.map(|b| b.change_apply_wall)
                ),
                rss
            );
        }
        if let Some(p) = previous {
            println!(
                "{:<10} objects {} ({:.1}x)",
                "",
                point.objects,
                point.objects as f64 / p.objects as f64
            );
        }
    }
    println!();
    let mut failures = 0;
    for point in curve {
        let judged = point.targets.noop_diff.is_some();
        let verdict = match (judged, point.failures) {
            (false, _) => "no targets (measured only)".to_owned(),
            (true, 0) => "all targets PASS".to_owned(),
            (true, n) => format!("{n} target check(s) FAIL"),
        };
        failures += point.failures;
        println!("{:<10} {verdict}", point.label);
    }
    println!();
    if failures == 0 {
        println!("all targets PASS");
    } else {
        println!("{failures} target check(s) FAIL");
    }
}

/// The machine's load average (the bench shares its cores; say how busy they were).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
