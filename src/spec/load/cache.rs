//! A cache of checked manifests: a file whose exact text this very steward binary already loaded
//! without any diagnostic is not parsed and checked again; its objects come back from a JSON copy.
//! Keys are the SHA-256 of the text plus an identity of the binary (version, size, modification
//! time), so a new build never trusts an old verdict. Positions are recomputed from the text
//! only if a later check needs one. Set `STEWARD_MANIFEST_CACHE=off` to disable, or a directory
//! to move it (default `$XDG_CACHE_HOME/steward/manifests`, else `~/.cache/steward/manifests`).

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::spec::{
    ReportConfiguration, ReportSchedule, Resource, RowLevelSecurityFilter, SupersetGroup,
    SupersetRole, SupersetUser,
};

/// Where one object stood in its file, to find its YAML again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Index of the YAML document in the file.
    pub document: usize,
    /// Index in the document's `items` when it is a `kind: List`.
    pub item: Option<usize>,
}

/// One object as stored: the kind first, so it deserializes straight into its type.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "object")]
enum Cached {
    SupersetUser(SupersetUser),
    SupersetRole(SupersetRole),
    SupersetGroup(SupersetGroup),
    RowLevelSecurityFilter(RowLevelSecurityFilter),
    ReportSchedule(Box<ReportSchedule>),
    ReportConfiguration(ReportConfiguration),
}

impl Cached {
    fn of(resource: &Resource) -> Cached {
        match resource.clone() {
            Resource::User(r) => Cached::SupersetUser(r),
            Resource::Role(r) => Cached::SupersetRole(r),
            Resource::Group(r) => Cached::SupersetGroup(r),
            Resource::Rls(r) => Cached::RowLevelSecurityFilter(r),
            Resource::Schedule(r) => Cached::ReportSchedule(r),
            Resource::Config(r) => Cached::ReportConfiguration(r),
        }
    }

    fn into_resource(self) -> Resource {
        match self {
            Cached::SupersetUser(r) => Resource::User(r),
            Cached::SupersetRole(r) => Resource::Role(r),
            Cached::SupersetGroup(r) => Resource::Group(r),
            Cached::RowLevelSecurityFilter(r) => Resource::Rls(r),
            Cached::ReportSchedule(r) => Resource::Schedule(r),
            Cached::ReportConfiguration(r) => Resource::Config(r),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CachedFile {
    documents: usize,
    objects: Vec<(Place, Cached)>,
}

fn directory() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = match std::env::var("STEWARD_MANIFEST_CACHE") {
            Ok(v) if v == "off" => return None,
            Ok(v) if !v.is_empty() => PathBuf::from(v),
            _ => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?
                .join("steward")
                .join("manifests"),
        };
        Some(base)
    })
    .as_ref()
}

fn binary_identity() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok());
        let stamp = exe
            .map(|m| {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{}-{mtime}", m.len())
            })
            .unwrap_or_default();
        format!("{}-{stamp}", env!("CARGO_PKG_VERSION"))
    })
}

fn entry(text: &str) -> Option<PathBuf> {
    let dir = directory()?;
    let mut hash = sha2::Sha256::new();
    hash.update(binary_identity().as_bytes());
    hash.update([0]);
    hash.update(text.as_bytes());
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(dir.join(format!("{digest}.json")))
}

/// The objects of a file loaded cleanly before, with the number of documents it had.
pub fn lookup(text: &str) -> Option<(usize, Vec<(Resource, Place)>)> {
    let bytes = std::fs::read(entry(text)?).ok()?;
    let file: CachedFile = serde_json::from_slice(&bytes).ok()?;
    let objects = file
        .objects
        .into_iter()
        .map(|(place, cached)| (cached.into_resource(), place))
        .collect();
    Some((file.documents, objects))
}

/// Remembers a file that loaded without any diagnostic. Failures are ignored: the cache only
/// saves time.
pub fn store(text: &str, documents: usize, objects: &[(&Resource, Place)]) {
    let Some(path) = entry(text) else { return };
    let file = CachedFile {
        documents,
        objects: objects
            .iter()
            .map(|(resource, place)| (*place, Cached::of(resource)))
            .collect(),
    };
    let Ok(json) = serde_json::to_vec(&file) else {
        return;
    };
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let temporary = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    if std::fs::write(&temporary, json).is_ok() && std::fs::rename(&temporary, &path).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}
