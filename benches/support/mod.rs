//! Helpers the benchmarks that drive the test services share: their environment, commands,
//! kubectl and the release binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// An environment variable the test services' env files set, or exit 2 saying how to start them.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!(
            "error: {name} is not set: start the services and the control plane first \
             (bash scripts/services.sh start; bash scripts/kube.sh start; source both env files)"
        );
        std::process::exit(2)
    })
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command that must succeed; its standard output.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// kubectl against the test control plane.
pub fn kubectl(args: &[&str]) -> String {
    run(Command::new(var("STEWARD_KUBECTL")).args(args))
}

/// psql against `url`: unaligned, tuples only.
pub fn psql(url: &str, sql: &str) -> String {
    run(Command::new(var("STEWARD_TEST_PSQL")).args([url, "-X", "-q", "-A", "-t", "-c", sql]))
}

/// The release binary (the bench itself is built by `cargo bench`; steward is built here).
pub fn release_binary() -> PathBuf {
    run(Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "--bin", "steward"]));
    repo().join("target/release/steward")
}
