//! Reading manifest sources: files, directories (recursive `*.yaml`/`*.yml`, honouring
//! `.stewardignore` files, skipping hidden entries, following symbolic links with loop
//! detection), and standard input (`-`). Nothing a user names is skipped without a word: a
//! dangling link, a link loop, a file that is not UTF-8 and a directory without manifests are
//! errors naming the path.

use std::io::Read;
use std::path::Path;

use super::encoding::decode;
use crate::diagnostic::{Code, Diagnostic};

/// Name of the per-directory ignore file (gitignore syntax) the loader honours.
pub const IGNORE_FILE: &str = ".stewardignore";

/// The text of one source and the name it is reported under.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path as given or found (`-` for standard input).
    pub name: String,
    /// Full text.
    pub text: String,
}

impl SourceFile {
    /// The 1-based `line` of the text, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)? as usize)
    }
}

/// Reads every source named by `paths`, in order; directories are walked in sorted order.
/// Unreadable paths become diagnostics; the rest is still read.
pub fn read_sources(paths: &[String]) -> (Vec<SourceFile>, Vec<Diagnostic>) {
    let mut sources = Vec::new();
    let mut diagnostics = Vec::new();
    for path in paths {
        if path == "-" {
            let mut bytes = Vec::new();
            match std::io::stdin().read_to_end(&mut bytes) {
                Ok(_) => push_decoded("-", bytes, &mut sources, &mut diagnostics),
                Err(e) => diagnostics.push(io_error("-", &e.to_string())),
            }
            continue;
        }
        let p = Path::new(path);
        match std::fs::metadata(p) {
            Ok(meta) if meta.is_dir() => read_directory(p, &mut sources, &mut diagnostics),
            Ok(_) => read_file(p, path, &mut sources, &mut diagnostics),
            Err(e) => diagnostics.push(unreadable(p, path, &e)),
        }
    }
    (sources, diagnostics)
}

fn read_file(
    path: &Path,
    name: &str,
    sources: &mut Vec<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match std::fs::read(path) {
        Ok(bytes) => push_decoded(name, bytes, sources, diagnostics),
        Err(e) => diagnostics.push(unreadable(path, name, &e)),
    }
}

fn push_decoded(
    name: &str,
    bytes: Vec<u8>,
    sources: &mut Vec<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match decode(name, bytes) {
        Ok(text) => sources.push(SourceFile {
            name: name.to_owned(),
            text,
        }),
        Err(d) => diagnostics.push(*d),
    }
}

fn is_manifest_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == "yaml" || e == "yml")
}

fn read_directory(dir: &Path, sources: &mut Vec<SourceFile>, diagnostics: &mut Vec<Diagnostic>) {
    // Hidden entries stay out: `.git`, editors' files, and the `..data` / `..<timestamp>`
    // directories of a Kubernetes ConfigMap mount, whose manifests are read once, through the
    // links beside them.
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(true)
        .follow_links(true)
        .add_custom_ignore_filename(IGNORE_FILE)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    let mut found_any = false;
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                diagnostics.push(walk_error(dir, e));
                continue;
            }
        };
        let path = entry.path();
        if !is_manifest_name(path) {
            continue;
        }
        let name = path.display().to_string();
        match entry.file_type() {
            Some(t) if t.is_dir() => {}
            Some(t) if t.is_file() => {
                found_any = true;
                read_file(path, &name, sources, diagnostics);
            }
            _ => {
                found_any = true;
                diagnostics.push(
                    Diagnostic::error(Code::Io, format!("{name} is not a regular file"))
                        .hint(format!(
                            "steward reads files and directories; list it in {IGNORE_FILE} if it is not a manifest"
                        )),
                );
            }
        }
    }
    if !found_any {
        diagnostics.push(no_manifests_in(&dir.display().to_string()));
    }
}

/// The error for a path that holds no manifest.
pub(super) fn no_manifests_in(what: &str) -> Diagnostic {
    Diagnostic::error(Code::NoManifests, format!("no manifests found in {what}")).hint(format!(
        "steward reads *.yaml and *.yml files (hidden ones and those listed in {IGNORE_FILE} are skipped); check the path"
    ))
}

/// A walk error as a diagnostic naming the path: a link loop, a dangling link, or I/O.
fn walk_error(dir: &Path, error: ignore::Error) -> Diagnostic {
    match error {
        ignore::Error::WithPath { path, err } => match *err {
            ignore::Error::Loop { ancestor, child } => link_loop(&child, &ancestor),
            err => match err.io_error() {
                Some(io) => unreadable(&path, &path.display().to_string(), io),
                None => io_error(&path.display().to_string(), &err.to_string()),
            },
        },
        ignore::Error::WithDepth { err, .. } => walk_error(dir, *err),
        ignore::Error::Loop { ancestor, child } => link_loop(&child, &ancestor),
        other => io_error(&dir.display().to_string(), &other.to_string()),
    }
}

fn link_loop(child: &Path, ancestor: &Path) -> Diagnostic {
    Diagnostic::error(
        Code::Io,
        format!(
            "symbolic link loop: {} leads back to {}",
            child.display(),
            ancestor.display()
        ),
    )
    .hint("remove the link or point it elsewhere: it would make the walk go round forever")
}

/// Why `path` cannot be read, telling a dangling symbolic link from a missing path.
fn unreadable(path: &Path, name: &str, error: &std::io::Error) -> Diagnostic {
    // `ErrorKind::FilesystemLoop` is not stable yet; its name is.
    if format!("{:?}", error.kind()) == "FilesystemLoop" {
        return Diagnostic::error(
            Code::Io,
            format!("{name} is a symbolic link loop (its links never reach a file)"),
        )
        .hint("fix or remove the link: steward does not skip what it cannot read");
    }
    if let Ok(target) = std::fs::read_link(path)
        && !path.exists()
    {
        return Diagnostic::error(
            Code::Io,
            format!(
                "{name} is a dangling symbolic link (to {}, which does not exist)",
                target.display()
            ),
        )
        .hint("fix or remove the link: steward does not skip what it cannot read");
    }
    if error.kind() == std::io::ErrorKind::NotFound {
        return Diagnostic::error(Code::Io, format!("cannot read {name}: {error}"))
            .hint("check the path (a shell glob that matched nothing reaches steward as written)");
    }
    io_error(name, &error.to_string())
}

fn io_error(path: &str, error: &str) -> Diagnostic {
    Diagnostic::error(Code::Io, format!("cannot read {path}: {error}"))
        .hint("check the path and its permissions")
}
