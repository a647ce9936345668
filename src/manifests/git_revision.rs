//! Manifests as they were at a git revision, for `diff --against-ref`. The tree under the given
//! paths (and what symbolic links in it point to) is written to a temporary directory from
//! `git ls-tree` and `git cat-file` (the `git` command CI already has), and read there by the
//! same walk as the working tree: the same `.stewardignore` rules, extensions, hidden entries
//! and link handling, so both sides hold the same file set. Paths are taken relative to the
//! current directory, as for the working tree, and mapped to the repository root, so any
//! directory of the repository works. Nothing is checked out.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use super::SourceFile;
use super::source::read_sources;
use crate::diagnostic::Code;

/// Why the manifests at a revision cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("`{0}` is standard input, which has no git history")]
    StandardInput(String),
    #[error("`{0}` is outside the git repository at {1}")]
    OutsideRepository(String, String),
    #[error("the manifests at {revision} cannot be read: {problems}")]
    Unreadable { revision: String, problems: String },
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output()?;
    if !out.status.success() {
        return Err(GitError::Failed {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

fn git_text(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    Ok(String::from_utf8_lossy(&git(dir, args)?).trim().to_owned())
}

/// The manifests under `paths` (relative to the current directory) as they were at
/// `revision`, read as the working tree would be; a path that did not exist then, or held no
/// manifest, contributes nothing.
pub fn sources_at_revision(revision: &str, paths: &[String]) -> Result<Vec<SourceFile>, GitError> {
    let here = std::env::current_dir()?;
    let commit = git_text(
        &here,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{revision}^{{commit}}"),
        ],
    )
    .map_err(|_| GitError::Failed {
        command: format!("rev-parse {revision}"),
        stderr: format!("`{revision}` is not a commit in this repository"),
    })?;
    let root = PathBuf::from(git_text(&here, &["rev-parse", "--show-toplevel"])?);
    let mut tree = Tree::list(&root, &commit)?;
    let mut wanted = Vec::new();
    for path in paths {
        if path == "-" {
            return Err(GitError::StandardInput(path.clone()));
        }
        let relative = repository_path(&root, &here, path)?;
        tree.want(&relative, 0);
        wanted.push(relative);
    }
    let scratch = tempfile::Builder::new().prefix("steward-rev-").tempdir()?;
    tree.write_to(scratch.path())?;
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let prefix = format!("{}/", scratch.path().display());
    let rename = |text: &str| text.replace(&prefix, &format!("{revision}:"));
    for relative in wanted {
        let at = scratch.path().join(&relative);
        if at.symlink_metadata().is_err() {
            continue; // not there at the revision
        }
        let (found, diagnostics) = read_sources(&[at.display().to_string()]);
        problems.extend(
            diagnostics
                .iter()
                .filter(|d| d.code != Code::NoManifests)
                .map(|d| rename(&d.message)),
        );
        sources.extend(found.into_iter().map(|s| SourceFile {
            name: rename(&s.name),
            text: s.text,
        }));
    }
    if !problems.is_empty() {
        return Err(GitError::Unreadable {
            revision: revision.to_owned(),
            problems: problems.join("; "),
        });
    }
    Ok(sources)
}

/// `path` (as the user gave it, from `here`) relative to the repository root, `""` for the root.
fn repository_path(root: &Path, here: &Path, path: &str) -> Result<String, GitError> {
    let absolute = normalise(&here.join(path));
    let relative = absolute
        .strip_prefix(root)
        .map(Path::to_path_buf)
        .or_else(|_| {
            let real = absolute.canonicalize()?;
            let real_root = root.canonicalize()?;
            real.strip_prefix(&real_root)
                .map(Path::to_path_buf)
                .map_err(|_| {
                    GitError::OutsideRepository(path.to_owned(), root.display().to_string())
                })
        })?;
    Ok(relative.to_string_lossy().into_owned())
}

/// `path` with `.` and `..` taken out, without looking at the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// One entry of the tree: its mode and object id.
struct Entry {
    mode: String,
    object: String,
}

/// The whole tree of a commit, and the part of it to write out.
struct Tree {
    entries: BTreeMap<String, Entry>,
    chosen: BTreeSet<String>,
    visited: BTreeSet<String>,
    followed: BTreeSet<String>,
    commit: String,
    root: PathBuf,
}

const SYMLINK: &str = "120000";
const MAX_LINK_DEPTH: usize = 40;

impl Tree {
    fn list(root: &Path, commit: &str) -> Result<Tree, GitError> {
        let listing = git(root, &["ls-tree", "-r", "-z", "--full-tree", commit])?;
        let mut entries = BTreeMap::new();
        for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let record = String::from_utf8_lossy(record);
            let Some((meta, path)) = record.split_once('\t') else {
                continue;
            };
            let mut fields = meta.split(' ');
            let (Some(mode), Some(kind), Some(object)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if kind == "blob" {
                let entry = Entry {
                    mode: mode.to_owned(),
                    object: object.to_owned(),
                };
                entries.insert(path.to_owned(), entry);
            }
        }
        Ok(Tree {
            entries,
            chosen: BTreeSet::new(),
            visited: BTreeSet::new(),
            followed: BTreeSet::new(),
            commit: commit.to_owned(),
            root: root.to_path_buf(),
        })
    }

    /// Chooses everything at or under `path`, following symbolic links inside the repository
    /// (the links themselves are written as links, so the walk sees them as in a checkout).
    fn want(&mut self, path: &str, depth: usize) {
        if depth > MAX_LINK_DEPTH || !self.visited.insert(path.to_owned()) {
            return;
        }
        let under: Vec<String> = self
            .entries
            .range(path.to_owned()..)
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(path))
            .filter(|p| {
                path.is_empty() || p.len() == path.len() || p[path.len()..].starts_with('/')
            })
            .cloned()
            .collect();
        if under.is_empty() {
            // Perhaps a directory on the way is a link.
            let mut ancestor = Path::new(path);
            while let Some(parent) = ancestor.parent() {
                let text = parent.to_string_lossy();
                if self
                    .entries
                    .get(text.as_ref())
                    .is_some_and(|e| e.mode == SYMLINK)
                {
                    // The link, and everything it points to.
                    self.want(&text.clone(), depth + 1);
                    return;
                }
                ancestor = parent;
            }
            return;
        }
        for file in under {
            if self.entries[&file].mode == SYMLINK
                && self.followed.insert(file.clone())
                && let Some(target) = self.link_target(&file)
            {
                self.want(&target, depth + 1);
            }
            self.chosen.insert(file);
        }
    }

    /// Where the link at `path` points, as a path in the repository, when it stays inside it.
    fn link_target(&self, path: &str) -> Option<String> {
        let target = self.read_link(path)?;
        if Path::new(&target).is_absolute() {
            return None;
        }
        let parent = Path::new(path).parent().unwrap_or(Path::new(""));
        let joined = parent.join(&target);
        let mut depth = 0i32;
        for component in joined.components() {
            match component {
                Component::ParentDir => depth -= 1,
                Component::Normal(_) => depth += 1,
                _ => {}
            }
            if depth < 0 {
                return None;
            }
        }
        Some(normalise(&joined).to_string_lossy().into_owned())
    }

    fn read_link(&self, path: &str) -> Option<String> {
        let blob = git(
            &self.root,
            &["cat-file", "blob", &self.entries.get(path)?.object],
        )
        .ok()?;
        String::from_utf8(blob).ok()
    }

    /// Writes the chosen entries under `dir`: files with their content, links as links (a
    /// relative link that leaves the repository points where it would from `root`).
    fn write_to(&self, dir: &Path) -> Result<(), GitError> {
        let files: Vec<&String> = self
            .chosen
            .iter()
            .filter(|p| self.entries[*p].mode != SYMLINK)
            .collect();
        let contents = self.cat_files(&files)?;
        for (path, content) in files.iter().zip(contents) {
            let at = dir.join(path);
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(at, content)?;
        }
        for path in self
            .chosen
            .iter()
            .filter(|p| self.entries[*p].mode == SYMLINK)
        {
            let Some(target) = self.read_link(path) else {
                continue;
            };
            let at = dir.join(path);
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let stays_inside = self.link_target(path).is_some() || Path::new(&target).is_absolute();
            let target = if stays_inside {
                PathBuf::from(target)
            } else {
                normalise(
                    &self
                        .root
                        .join(Path::new(path).parent().unwrap_or(Path::new("")))
                        .join(target),
                )
            };
            std::os::unix::fs::symlink(target, at)?;
        }
        Ok(())
    }

    /// The contents of `paths`, in order, from one `git cat-file --batch`.
    fn cat_files(&self, paths: &[&String]) -> Result<Vec<Vec<u8>>, GitError> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let request: String = paths
            .iter()
            .map(|p| format!("{}\n", self.entries[*p].object))
            .collect();
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
        let mut reader = BufReader::new(child.stdout.take().expect("piped"));
        let mut contents = Vec::with_capacity(paths.len());
        for path in paths {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let size: usize = header
                .split(' ')
                .nth(2)
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| GitError::Failed {
                    command: format!("cat-file --batch ({}:{path})", self.commit),
                    stderr: header.trim().to_owned(),
                })?;
            let mut content = vec![0; size + 1]; // and the newline after it
            reader.read_exact(&mut content)?;
            content.truncate(size);
            contents.push(content);
        }
        writer.join().expect("the writer does not panic")?;
        child.wait()?;
        Ok(contents)
    }
}
