//! Manifests as they were at a git revision, for `diff --against-ref`: the same paths, listed
//! with `git ls-tree` and read with `git show` (the `git` command CI already has), as in-memory
//! sources for the loader. Nothing is checked out.

use std::path::Path;
use std::process::Command;

use super::SourceFile;

/// Why the manifests at a revision cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("`{0}` is standard input, which has no git history")]
    StandardInput(String),
}

fn git(args: &[&str]) -> Result<String, GitError> {
    let out = Command::new("git").args(args).output()?;
    if !out.status.success() {
        return Err(GitError::Failed {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `*.yaml` / `*.yml` files under `paths` (relative to the current directory) as they were
/// at `revision`; a path that did not exist then contributes nothing.
pub fn sources_at_revision(revision: &str, paths: &[String]) -> Result<Vec<SourceFile>, GitError> {
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{revision}^{{commit}}"),
    ])
    .map_err(|_| GitError::Failed {
        command: format!("rev-parse {revision}"),
        stderr: format!("`{revision}` is not a commit in this repository"),
    })?;
    let commit = commit.trim();
    let root = git(&["rev-parse", "--show-toplevel"])?;
    let root = Path::new(root.trim());
    let here = std::env::current_dir()?;
    let mut sources = Vec::new();
    for path in paths {
        if path == "-" {
            return Err(GitError::StandardInput(path.clone()));
        }
        let absolute = here.join(path);
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        let relative = absolute
            .strip_prefix(root.canonicalize().unwrap_or(root.to_path_buf()))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.clone());
        let listing = git(&[
            "ls-tree",
            "-r",
            "-z",
            "--name-only",
            commit,
            "--",
            &relative,
        ])?;
        for file in listing.split('\0').filter(|f| !f.is_empty()) {
            if !(file.ends_with(".yaml") || file.ends_with(".yml")) {
                continue;
            }
            let text = git(&["show", &format!("{commit}:{file}")])?;
            sources.push(SourceFile {
                name: format!("{revision}:{file}"),
                text,
            });
        }
    }
    Ok(sources)
}
