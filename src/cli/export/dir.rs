//! An export written into its directory, all or nothing: first everything is looked at and
//! nothing changed (symbolic links where a file or kind directory goes, files export did not
//! write, an unreadable record refuse the whole export); then every file is written under a
//! temporary name, and only when all are on disk are they renamed into place; last, the files a
//! previous export wrote that no object matches any more are removed (if unedited). Files export
//! did not write are kept, with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::export::files::{ExportFile, HEADER_START, quoted};
use crate::export::marker::{MARKER_FILE, Marker, Written, digest, next, split_path};
use crate::resources::Kind;
use crate::safe_write::{Entry, SafeDir, Staged};

/// What writing the directory did besides writing the files.
#[derive(Default)]
pub(super) struct Outcome {
    /// Files of a previous export removed (no object matches them any more).
    pub removed: Vec<String>,
    /// Things left as they are that the user should know about.
    pub warnings: Vec<String>,
}

/// A stale file to remove once everything is written.
struct Removal {
    dir: &'static str,
    file: String,
    path: String,
}

/// Writes `files` into `root`; `in_scope` says which objects this export covers (so a file of
/// another kind, or a name outside `--selector`, is not stale).
pub(super) fn write(
    root: &Path,
    files: &[ExportFile],
    in_scope: impl Fn(Kind, &str) -> bool,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut problems = Vec::new();
    let existing = SafeDir::open(root, false)?;
    let previous = match &existing {
        Some(dir) => match dir.read(MARKER_FILE) {
            Ok(Some(bytes)) => Marker::parse(&bytes).unwrap_or_else(|e| {
                problems.push(format!(
                    "{} is not the record of a steward export: {e}; remove it (this export then removes no stale file)",
                    dir.join(MARKER_FILE).display()
                ));
                Marker::default()
            }),
            Ok(None) => Marker::default(),
            Err(e) => {
                problems.push(e.to_string());
                Marker::default()
            }
        },
        None => Marker::default(),
    };
    let written: BTreeMap<String, Written> = files
        .iter()
        .map(|f| {
            let entry = Written {
                kind: f.kind,
                name: f.name.clone(),
                sha256: digest(f.text.as_bytes()),
            };
            (f.path.clone(), entry)
        })
        .collect();
    let (mut marker, stale) = next(&previous, written, in_scope);
    let needed: BTreeSet<&'static str> = files
        .iter()
        .map(|f| f.path.as_str())
        .chain(stale.iter().map(|(path, _)| path.as_str()))
        .filter_map(|path| split_path(path).map(|(dir, _)| dir))
        .collect();
    let mut subdirs: BTreeMap<&'static str, SafeDir> = BTreeMap::new();
    let mut removals = Vec::new();
    if let Some(root_dir) = &existing {
        for name in &needed {
            match root_dir.subdir(name, false) {
                Ok(Some(dir)) => {
                    subdirs.insert(name, dir);
                }
                Ok(None) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        for file in files {
            let (dir, name) = split_path(&file.path).expect("export paths are export paths");
            if let Some(dir) = subdirs.get(dir)
                && let Err(problem) =
                    may_replace(dir, name, previous.files.contains_key(&file.path))
            {
                problems.push(problem);
            }
        }
        for (path, entry) in stale {
            let (dir_name, name) = split_path(&path).expect("recorded paths are export paths");
            let Some(dir) = subdirs.get(dir_name) else {
                continue;
            };
            match dir.read(name) {
                Ok(None) => {}
                Ok(Some(bytes)) if digest(&bytes) == entry.sha256 => removals.push(Removal {
                    dir: dir_name,
                    file: name.to_owned(),
                    path,
                }),
                Ok(Some(_)) => {
                    outcome.warnings.push(format!(
                        "{} was exported for {} {}, which the database no longer holds, but it was edited since: kept; remove it if the object is gone for good",
                        dir.join(name).display(),
                        entry.kind,
                        quoted(&entry.name, 120)
                    ));
                    marker.files.insert(path, entry);
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "cannot export into {}; nothing was changed:\n  - {}",
            root.display(),
            problems.join("\n  - ")
        );
    }

    // Everything on disk under temporary names first: a failure (a full disk) removes them all.
    let root_dir = match existing {
        Some(dir) => dir,
        None => SafeDir::open(root, true)?.expect("created"),
    };
    for name in needed {
        if !subdirs.contains_key(name)
            && let Some(dir) = root_dir.subdir(name, true)?
        {
            subdirs.insert(name, dir);
        }
    }
    let mut staged: Vec<Staged> = Vec::with_capacity(files.len() + 1);
    for file in files {
        let (dir, name) = split_path(&file.path).expect("export paths are export paths");
        staged.push(subdirs[dir].stage(name, file.text.as_bytes())?);
    }
    staged.push(root_dir.stage(MARKER_FILE, marker.to_json().as_bytes())?);
    for file in staged {
        file.commit()?;
    }
    for removal in removals {
        subdirs[removal.dir].remove(&removal.file)?;
        outcome.removed.push(removal.path);
    }
    for dir in subdirs.values() {
        dir.sync()?;
    }
    root_dir.sync()?;
    outcome.warnings.extend(foreign(&root_dir, &marker));
    Ok(outcome)
}

/// Whether the export may replace `dir/name`: a missing file, one a previous export recorded,
/// or one carrying the export header (written by a steward before the record existed).
fn may_replace(dir: &SafeDir, name: &str, recorded: bool) -> Result<(), String> {
    match dir.entry(name).map_err(|e| e.to_string())? {
        Entry::Missing => Ok(()),
        Entry::File if recorded => Ok(()),
        Entry::File => {
            let bytes = dir
                .read(name)
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            if bytes.starts_with(HEADER_START.as_bytes()) {
                Ok(())
            } else {
                Err(format!(
                    "{} exists and was not written by steward export: move it away, or export into another directory",
                    dir.join(name).display()
                ))
            }
        }
        Entry::Symlink => {
            Err(crate::safe_write::SafeWriteError::Symlink(dir.join(name)).to_string())
        }
        Entry::Dir | Entry::Other => Err(format!(
            "{} is not a regular file: move it away, or export into another directory",
            dir.join(name).display()
        )),
    }
}

/// Warnings about what is in the directory and its kind directories that no export wrote.
fn foreign(root: &SafeDir, marker: &Marker) -> Vec<String> {
    let kind_dirs: BTreeSet<&str> = Kind::ALL.into_iter().map(Kind::short_name).collect();
    let mut warnings = Vec::new();
    let mut warn = |path: &Path, what: &str| {
        warnings.push(format!(
            "{} {what}: kept as it is",
            quoted(&path.display().to_string(), 300)
        ));
    };
    for (name, entry) in listing(root.path()) {
        let path = root.join(&name);
        if kind_dirs.contains(name.as_str()) && entry == Entry::Dir {
            for (file, entry) in listing(&path) {
                let recorded = marker.files.contains_key(&format!("{name}/{file}"));
                if !recorded {
                    warn(&path.join(&file), describe(&file, entry));
                }
            }
        } else {
            warn(&path, describe(&name, entry));
        }
    }
    warnings
}

fn describe(name: &str, entry: Entry) -> &'static str {
    let manifest = name.ends_with(".yaml") || name.ends_with(".yml");
    match entry {
        Entry::Symlink => "is a symbolic link, which export never writes through",
        _ if manifest => {
            "was not written by steward export (validate and apply read it along with the exported files)"
        }
        _ => "was not written by steward export",
    }
}

/// The entries of `dir` that are not hidden, sorted, with what they are (links not followed).
fn listing(dir: &Path) -> Vec<(String, Entry)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Entry)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let kind = e.file_type().ok()?;
            let entry = if kind.is_symlink() {
                Entry::Symlink
            } else if kind.is_dir() {
                Entry::Dir
            } else if kind.is_file() {
                Entry::File
            } else {
                Entry::Other
            };
            (!name.starts_with('.')).then_some((name, entry))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
