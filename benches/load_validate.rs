//! Benchmark: load + validate the generated org-10k tree (targets: ≤ 1 s, ≤ 150 MB peak RSS).
//!
//! `cargo bench --bench load_validate` generates org-10k (seed 1) into a temporary directory,
//! times `validate_paths` in-process (median of 7 runs), then runs the release binary
//! `steward validate` on the tree and reports its wall time and peak RSS
//! (getrusage of the finished child). `STEWARD_BENCH_SCALE` changes the size (default 1).
//!
//! The binary is then timed with the manifest cache off, cold (an empty cache directory each
//! run) and warm (a directory filled by a previous run), median of 5 runs each, on org-10k and
//! on a copy where every report has a warning (so positions of cached objects are needed): a
//! warm cache must never be slower than none.

use std::time::{Duration, Instant};

use steward::generate::{OrgSize, write_organisation};
use steward::validation::validate_paths;

fn main() {
    // Every in-process run parses and checks every file; the manifest cache is measured on the
    // binary below (cold, warm, off).
    // SAFETY: set before any other thread starts.
    unsafe { std::env::set_var("STEWARD_MANIFEST_CACHE", "off") };
    let scale: f64 = std::env::var("STEWARD_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let dir = tempfile::tempdir().expect("temporary directory");
    let summary = write_organisation(dir.path(), 1, &OrgSize::scaled(scale)).expect("generate");
    let bytes: u64 = walk_size(dir.path());
    println!(
        "org-10k x{scale}: {summary} ({:.1} MB of YAML)",
        bytes as f64 / 1e6
    );
    let paths = vec![dir.path().display().to_string()];

    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let set = validate_paths(&paths);
            let elapsed = start.elapsed();
            assert!(!set.has_errors(), "the generated tree must be valid");
            elapsed
        })
        .collect();
    times.sort();
    println!(
        "in-process load+validate: median {:.3} s (min {:.3} s, max {:.3} s)",
        times[3].as_secs_f64(),
        times[0].as_secs_f64(),
        times[6].as_secs_f64()
    );

    let start = Instant::now();
    let status = validate_binary(&paths[0], "off");
    let wall = start.elapsed();
    assert!(status.success(), "steward validate failed");
    println!(
        "steward validate (binary): {:.3} s wall, peak RSS {:.1} MB",
        wall.as_secs_f64(),
        peak_child_rss_kb() as f64 / 1024.0
    );

    // The manifest cache, on the generated org (no diagnostics) and on a copy where every
    // report sets an alert-only field (1,400 warnings, each needing its position).
    let warned = tempfile::tempdir().expect("temporary directory");
    let warnings = copy_with_warnings(dir.path(), warned.path());
    let caches = tempfile::tempdir().expect("temporary directory");
    for (label, tree) in [
        ("org-10k".to_owned(), &paths[0]),
        (
            format!("org-10k + {warnings} warnings"),
            &warned.path().display().to_string(),
        ),
    ] {
        let off = median_wall(|_| "off".to_owned(), tree);
        let cold = median_wall(
            |run| {
                caches
                    .path()
                    .join(format!("cold-{label}-{run}"))
                    .display()
                    .to_string()
            },
            tree,
        );
        let warm_dir = caches
            .path()
            .join(format!("warm-{label}"))
            .display()
            .to_string();
        assert!(validate_binary(tree, &warm_dir).success());
        let warm = median_wall(|_| warm_dir.clone(), tree);
        println!(
            "manifest cache, {label} (binary, median of 5): off {:.3} s, cold {:.3} s, warm {:.3} s; warm <= off: {}",
            off.as_secs_f64(),
            cold.as_secs_f64(),
            warm.as_secs_f64(),
            if warm <= off { "yes" } else { "NO" }
        );
    }
}

/// Copies the tree at `from` into `to`, giving every Report an alert-only field (a warning
/// located at that field); returns the number of warnings made.
fn copy_with_warnings(from: &std::path::Path, to: &std::path::Path) -> usize {
    let mut made = 0;
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            made += copy_with_warnings(&path, &target);
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            made += text.matches("\n  type: Report\n").count();
            let text = text.replace(
                "\n  type: Report\n",
                "\n  type: Report\n  gracePeriodSeconds: 60\n",
            );
            std::fs::write(target, text).unwrap();
        }
    }
    made
}

/// `steward validate path` with `STEWARD_MANIFEST_CACHE=cache`, output discarded.
fn validate_binary(path: &str, cache: &str) -> std::process::ExitStatus {
    std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .arg("validate")
        .arg(path)
        .env("STEWARD_MANIFEST_CACHE", cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run steward")
}

/// Median wall time of 5 validate runs, run `i` using the cache `cache(i)`.
fn median_wall(cache: impl Fn(usize) -> String, path: &str) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|run| {
            let cache = cache(run);
            let start = Instant::now();
            let status = validate_binary(path, &cache);
            let elapsed = start.elapsed();
            assert!(status.success(), "steward validate failed");
            elapsed
        })
        .collect();
    times.sort();
    times[2]
}

fn walk_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk_size(&p)
            } else {
                p.metadata().unwrap().len()
            }
        })
        .sum()
}

fn peak_child_rss_kb() -> i64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}
