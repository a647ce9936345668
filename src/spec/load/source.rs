//! Reading manifest sources: files, directories (recursive `*.yaml`/`*.yml`, honouring
//! `.stewardignore` files), and standard input (`-`).

use std::io::Read;
use std::path::Path;

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
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => sources.push(SourceFile {
                    name: "-".into(),
                    text,
                }),
                Err(e) => diagnostics.push(io_error("-", &e.to_string())),
            }
            continue;
        }
        let p = Path::new(path);
        if p.is_dir() {
            read_directory(p, &mut sources, &mut diagnostics);
        } else {
            match std::fs::read_to_string(p) {
                Ok(text) => sources.push(SourceFile {
                    name: path.clone(),
                    text,
                }),
                Err(e) => diagnostics.push(io_error(path, &e.to_string())),
            }
        }
    }
    (sources, diagnostics)
}

fn read_directory(dir: &Path, sources: &mut Vec<SourceFile>, diagnostics: &mut Vec<Diagnostic>) {
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(true)
        .add_custom_ignore_filename(IGNORE_FILE)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    let mut found_any = false;
    for entry in walker {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                let is_yaml = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e == "yaml" || e == "yml");
                if !is_yaml || !entry.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                found_any = true;
                let name = path.display().to_string();
                match std::fs::read_to_string(path) {
                    Ok(text) => sources.push(SourceFile { name, text }),
                    Err(e) => diagnostics.push(io_error(&name, &e.to_string())),
                }
            }
            Err(e) => diagnostics.push(io_error(&dir.display().to_string(), &e.to_string())),
        }
    }
    if !found_any {
        diagnostics.push(
            Diagnostic::warning(
                Code::Io,
                format!("no *.yaml or *.yml file under {}", dir.display()),
            )
            .hint("point steward at the directory holding your manifests"),
        );
    }
}

fn io_error(path: &str, error: &str) -> Diagnostic {
    Diagnostic::error(Code::Io, format!("cannot read {path}: {error}"))
        .hint("check the path and its permissions")
}
