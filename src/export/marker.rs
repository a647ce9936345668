//! The record an export keeps in its directory (`.steward-export.json`, hidden, so the loader
//! never reads it): every file it wrote, with the object's kind and name and the SHA-256 of the
//! text. The next export into the directory removes a recorded file that no object matches any
//! more, but only while its text is still the one recorded; files it did not write, or that were
//! edited since, are never removed. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::resources::Kind;

/// The record's file name in the export directory.
pub const MARKER_FILE: &str = ".steward-export.json";

const FORMAT: u32 = 1;

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// The record's format.
    pub format: u32,
    /// By path in the directory (`roles/finance-analyst.yaml`).
    pub files: BTreeMap<String, Written>,
}

/// One file written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Written {
    /// The object's kind.
    pub kind: Kind,
    /// The object's Superset name.
    pub name: String,
    /// SHA-256 of the text written, lower-case hex.
    pub sha256: String,
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn digest(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(kind directory, file name)` of `path` when it is a path an export writes
/// (`roles/x.yaml`): anything else in a record is ignored, so a tampered record cannot point an
/// export at another file.
pub fn split_path(path: &str) -> Option<(&'static str, &str)> {
    let (dir, file) = path.split_once('/')?;
    let dir = Kind::ALL
        .into_iter()
        .map(Kind::short_name)
        .find(|d| *d == dir)?;
    let stem = file.strip_suffix(".yaml")?;
    let plain = !stem.is_empty()
        && !file.starts_with('.')
        && !file.contains(['/', '\\', '\0'])
        && file.len() <= 255;
    plain.then_some((dir, file))
}

impl Marker {
    /// Reads a record; entries that are not export paths are dropped.
    pub fn parse(bytes: &[u8]) -> Result<Marker, String> {
        let mut marker: Marker = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if marker.format != FORMAT {
            return Err(format!(
                "it has format {}; this steward writes format {FORMAT}",
                marker.format
            ));
        }
        marker.files.retain(|path, _| split_path(path).is_some());
        Ok(marker)
    }

    /// The record as JSON.
    pub fn to_json(&self) -> String {
        let marker = Marker {
            format: FORMAT,
            files: self.files.clone(),
        };
        serde_json::to_string_pretty(&marker).expect("a record serialises") + "\n"
    }
}

/// The next record and the files to look at for removal: the previous record's files that this
/// export did not write again, split by `in_scope` (the kinds and names this export covers).
/// Files out of scope are kept in the record untouched; files in scope are stale (the caller
/// removes each whose text is still the recorded one, and keeps the others in the record).
pub fn next(
    previous: &Marker,
    written: BTreeMap<String, Written>,
    in_scope: impl Fn(Kind, &str) -> bool,
) -> (Marker, Vec<(String, Written)>) {
    let mut files = written;
    let mut stale = Vec::new();
    for (path, entry) in &previous.files {
        if files.contains_key(path) {
            continue;
        }
        if in_scope(entry.kind, &entry.name) {
            stale.push((path.clone(), entry.clone()));
        } else {
            files.insert(path.clone(), entry.clone());
        }
    }
    (
        Marker {
            format: FORMAT,
            files,
        },
        stale,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_export_paths_are_recorded_paths() {
        assert_eq!(split_path("roles/a.yaml"), Some(("roles", "a.yaml")));
        for bad in [
            "../etc/passwd",
            "roles/../../x.yaml",
            "roles/.hidden.yaml",
            "elsewhere/a.yaml",
            "/roles/a.yaml",
            "roles/a.yml",
            "roles/.yaml",
            "roles",
        ] {
            assert_eq!(split_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn files_out_of_scope_stay_recorded_and_the_rest_are_stale() {
        let entry = |kind, name: &str| Written {
            kind,
            name: name.into(),
            sha256: "x".into(),
        };
        let mut previous = Marker::default();
        previous
            .files
            .insert("users/ana.yaml".into(), entry(Kind::SupersetUser, "ana"));
        previous
            .files
            .insert("roles/old.yaml".into(), entry(Kind::SupersetRole, "Old"));
        previous
            .files
            .insert("roles/kept.yaml".into(), entry(Kind::SupersetRole, "Kept"));
        let mut written = BTreeMap::new();
        written.insert("roles/kept.yaml".into(), entry(Kind::SupersetRole, "Kept"));
        let (marker, stale) = next(&previous, written, |kind, _| kind == Kind::SupersetRole);
        assert_eq!(
            marker.files.keys().collect::<Vec<_>>(),
            ["roles/kept.yaml", "users/ana.yaml"]
        );
        assert_eq!(
            stale,
            [(
                "roles/old.yaml".to_owned(),
                entry(Kind::SupersetRole, "Old")
            )]
        );
    }
}
