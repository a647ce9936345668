//! Benchmark: load + validate the generated org-10k tree (targets: ≤ 1 s, ≤ 150 MB peak RSS).
//!
//! `cargo bench --bench load_validate` generates org-10k (seed 1) into a temporary directory,
//! times `validate_paths` in-process (median of 7 runs), then runs the release binary
//! `steward validate` on the tree and reports its wall time and peak RSS
//! (getrusage of the finished child). `STEWARD_BENCH_SCALE` changes the size (default 1).
//!
//! The binary is then timed with the manifest cache off, cold (an empty cache directory each
//! run) and warm (a directory filled by a previous run), median of 5 runs each: a warm cache
//! must never be slower than none (the generated org has warnings, so positions are needed).

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

    let caches = tempfile::tempdir().expect("temporary directory");
    let off = median_wall(|_| "off".to_owned(), &paths[0]);
    let cold = median_wall(
        |run| {
            caches
                .path()
                .join(format!("cold-{run}"))
                .display()
                .to_string()
        },
        &paths[0],
    );
    let warm_dir = caches.path().join("warm").display().to_string();
    assert!(validate_binary(&paths[0], &warm_dir).success());
    let warm = median_wall(|_| warm_dir.clone(), &paths[0]);
    println!(
        "manifest cache (binary, median of 5): off {:.3} s, cold {:.3} s, warm {:.3} s; warm <= off: {}",
        off.as_secs_f64(),
        cold.as_secs_f64(),
        warm.as_secs_f64(),
        if warm <= off { "yes" } else { "NO" }
    );
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
