//! All or nothing: `steward apply` killed with SIGKILL leaves the database exactly as before or
//! exactly as planned (compared as full dumps), and two concurrent applies of different trees end
//! as one of the two, never a mix.
//!
//! The kills land deterministically at each failpoint inside the write transaction
//! (`STEWARD_TEST_FAILPOINT`, see `steward::store::failpoint`): before the commit the database
//! must be exactly as before, after it exactly as planned. Random kills add coverage between the
//! failpoints: `STEWARD_ATOMICITY_TRIALS` sets the trials per backend (20 in the suite;
//! `scripts/atomicity.sh` runs 100) and `STEWARD_ATOMICITY_WINDOW_MS` the span the kill times are
//! drawn from.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use steward::store::failpoint::{FAILPOINT_VAR, Phase};

use crate::diff_outputs::changed_examples;
use crate::services::{Db, dump_difference, generated_org, seed_org_content, steward, steward_ok};

const SCALE: f64 = 0.05;

fn trials() -> usize {
    std::env::var("STEWARD_ATOMICITY_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(20)
}

/// The span random kill times are drawn from; the window adapts halfway if every kill so far
/// fell on one side of the commit.
fn window() -> Duration {
    let millis = std::env::var("STEWARD_ATOMICITY_WINDOW_MS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1500);
    Duration::from_millis(millis)
}

/// Runs `steward apply <tree>` stopped at `phase`: waits for the failpoint's marker on stderr,
/// then SIGKILLs the process there.
fn kill_at(phase: Phase, tree: &str, db: &Db) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["apply", tree, "--database", &db.url()])
        .env(FAILPOINT_VAR, phase.name())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == phase.marker() {
            child.kill().unwrap();
            child.wait().unwrap();
            return;
        }
        seen.push(line);
    }
    let status = child.wait().unwrap();
    panic!(
        "{}: apply ended ({status}) without reaching failpoint {}: {seen:?}",
        db.label(),
        phase.name()
    );
}

#[test]
fn sigkill_at_each_failpoint_leaves_the_database_before_or_after() {
    let org = crate::repo_path("examples/org");
    let changed = changed_examples();
    let changed = changed.path().display().to_string();
    for base in Db::each_backend("failpoint") {
        steward_ok(&["init", "--demo", "--database", &base.url()], 0);
        steward_ok(&["apply", &org, "--database", &base.url()], 0);
        let plan: serde_json::Value = serde_json::from_str(&steward_ok(
            &[
                "diff",
                &changed,
                "--database",
                &base.url(),
                "--output",
                "json",
            ],
            2,
        ))
        .unwrap();
        let actions: std::collections::BTreeSet<&str> = plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["action"].as_str().unwrap())
            .collect();
        for action in ["create", "update", "delete"] {
            assert!(
                actions.contains(action),
                "{}: the plan must {action}: {actions:?}",
                base.label()
            );
        }
        let before = base.dump();
        let reference = base.copy("fpref");
        steward_ok(&["apply", &changed, "--database", &reference.url()], 0);
        let after = reference.dump();
        drop(reference);
        assert!(before != after, "the plan must change the database");
        for phase in Phase::ALL {
            let db = base.copy("fp");
            kill_at(phase, &changed, &db);
            let (expected, what) = match phase {
                Phase::AfterCommit => (&after, "as planned"),
                _ => (&before, "as before"),
            };
            let now = db.dump();
            assert!(
                &now == expected,
                "{} killed at failpoint {}: the database must be {what}:\n{}",
                base.label(),
                phase.name(),
                dump_difference(expected, &now)
            );
        }
    }
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
    for base in Db::each_backend("kill") {
        seed_org_content(&base.url(), SCALE);
        steward_ok(&["apply", &before_path, "--database", &base.url()], 0);
        let before = base.dump();
        let reference = base.copy("killref");
        steward_ok(&["apply", &after_path, "--database", &reference.url()], 0);
        let after = reference.dump();
        assert!(before != after, "the two trees must differ");
        drop(reference);
        let (mut kept, mut landed) = (0, 0);
        // Kills fall uniformly in [0, window]. If half the trials all fell on one side of the
        // commit, the window moves to cover it. Which side a kill lands on depends on the
        // machine's load, so the split is reported, not asserted: the failpoint test above
        // proves kills inside the transaction.
        let mut window = window().as_micros() as u64;
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
            "{}: {} trials: {kept} left as before, {landed} as planned",
            base.label(),
            trials()
        );
    }
}

#[test]
fn concurrent_applies_end_as_one_tree() {
    let trees = [generated_org(3, SCALE), generated_org(4, SCALE)];
    let paths: Vec<String> = trees
        .iter()
        .map(|t| t.path().display().to_string())
        .collect();
    for db in Db::each_backend("concurrent") {
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
