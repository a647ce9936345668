//! All or nothing: `steward apply` killed with SIGKILL at random moments leaves the database
//! exactly as before or exactly as planned (compared as full dumps), and two concurrent applies
//! of different trees end as one of the two, never a mix. `STEWARD_ATOMICITY_TRIALS` sets the
//! trials per backend (20 in the suite; `scripts/atomicity.sh` runs 100).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::services::{Db, dump_difference, generated_org, seed_org_content, steward, steward_ok};

const SCALE: f64 = 0.05;

fn trials() -> usize {
    std::env::var("STEWARD_ATOMICITY_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(20)
}

#[test]
fn sigkill_leaves_the_database_before_or_after() {
    let before_tree = generated_org(1, SCALE);
    let after_tree = generated_org(2, SCALE);
    let (before_path, after_path) = (
        before_tree.path().display().to_string(),
        after_tree.path().display().to_string(),
    );
    let seed: u64 = std::env::var("STEWARD_ATOMICITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261122);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for base in Db::both("kill") {
        seed_org_content(&base.url(), SCALE);
        steward_ok(&["apply", &before_path, "--database", &base.url()], 0);
        let before = base.dump();
        let reference = base.copy("killref");
        let started = Instant::now();
        steward_ok(&["apply", &after_path, "--database", &reference.url()], 0);
        let full = started.elapsed();
        let after = reference.dump();
        assert!(before != after, "the two trees must differ");
        drop(reference);
        let (mut kept, mut landed) = (0, 0);
        // Kills fall uniformly in [0, window]. The window starts at 1.2 × the reference apply;
        // the suite runs tests in parallel, so an apply may take longer than the reference: if
        // half the trials all fell on one side of the commit, the window moves to cover it.
        let mut window = full.as_micros() as u64 * 6 / 5;
        for trial in 0..trials() {
            if trial == trials() / 2 {
                if landed == 0 {
                    window *= 3;
                } else if kept == 0 {
                    window /= 3;
                }
            }
            let db = base.copy("kill");
            let delay = Duration::from_micros(rng.random_range(0..=window));
            let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
                .args(["apply", &after_path, "--database", &db.url()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            let _ = child.kill();
            child.wait().unwrap();
            let now = db.dump();
            if now == before {
                kept += 1;
            } else if now == after {
                landed += 1;
            } else {
                panic!(
                    "{} trial {trial} (seed {seed}, kill after {delay:?}): neither before nor after.\nvs before:\n{}\nvs after:\n{}",
                    base.label(),
                    dump_difference(&before, &now),
                    dump_difference(&after, &now)
                );
            }
        }
        println!(
            "{}: {} trials, full apply {:?}: {kept} left as before, {landed} as planned",
            base.label(),
            trials(),
            full
        );
        if trials() >= 10 {
            assert!(
                kept > 0 && landed > 0,
                "{}: kills should fall both before and after the commit ({kept}/{landed})",
                base.label()
            );
        }
    }
}

#[test]
fn concurrent_applies_end_as_one_tree() {
    let trees = [generated_org(3, SCALE), generated_org(4, SCALE)];
    let paths: Vec<String> = trees
        .iter()
        .map(|t| t.path().display().to_string())
        .collect();
    for db in Db::both("concurrent") {
        seed_org_content(&db.url(), SCALE);
        for round in 0..3 {
            let children: Vec<_> = paths
                .iter()
                .map(|p| {
                    Command::new(env!("CARGO_BIN_EXE_steward"))
                        .args(["apply", p, "--database", &db.url(), "--allow-empty-kinds"])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            // Collect both outputs at once: a full pipe must not stall the apply holding the lock.
            let outputs: Vec<std::process::Output> = children
                .into_iter()
                .map(|child| std::thread::spawn(move || child.wait_with_output().unwrap()))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect();
            let mut waited = 0;
            for out in outputs {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{} round {round}: {stderr}",
                    db.label()
                );
                let unexpected: Vec<&str> = stderr
                    .lines()
                    .filter(|l| !l.starts_with("waiting for lock"))
                    .collect();
                assert!(
                    unexpected.is_empty(),
                    "{} round {round}: unexpected output {unexpected:?}",
                    db.label()
                );
                waited += usize::from(stderr.contains("waiting for lock"));
            }
            let matches: Vec<bool> = paths
                .iter()
                .map(|p| steward(&["diff", p, "--database", &db.url()]).status.code() == Some(0))
                .collect();
            assert_eq!(
                matches.iter().filter(|m| **m).count(),
                1,
                "{} round {round}: the database must match exactly one tree: {matches:?}",
                db.label()
            );
            println!(
                "{} round {round}: {waited} apply waited for the lock; result is tree {}",
                db.label(),
                matches.iter().position(|m| *m).unwrap()
            );
        }
    }
}
