//! A cache of checked manifests: a file whose exact text this very steward binary already loaded
//! without any diagnostic is not parsed and checked again; its objects come back from a JSON copy.
//! The caller chooses it ([`ManifestCache`], off by default): no process-wide switch. The CLI
//! reads `STEWARD_MANIFEST_CACHE` (`off`, or a directory; default
//! `$XDG_CACHE_HOME/steward/manifests`, else `~/.cache/steward/manifests`).
//!
//! Trust: the directory is the user's own, mode 0700 (a group- or world-writable one of theirs is
//! repaired and its key renewed; one owned by someone else is not used), and entries are 0600
//! files. Each entry is authenticated with HMAC-SHA256 under a random per-user key kept 0600 in
//! the directory, over the SHA-256 of the text it was made from and its content; entry names
//! are keyed the same way, so they cannot be predicted. An entry that does not verify, or is not
//! the user's, is ignored and removed. Files declaring a secret (a webhook URL) are never
//! cached, so no entry holds one. Positions of cached objects are recomputed from the text,
//! once per file, only if a later check needs one.
//!
//! Bounded: the first store of a process sweeps the directory in the background when it was not
//! swept in the last ten minutes ([`super::cache_sweep`]), so old builds' entries do not pile up;
//! dropping the cache waits for that sweep.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cache_sweep::{self, CacheLimits};
use crate::resources::{
    GuestTokenPolicy, ReportConfiguration, ReportSchedule, Resource, RowLevelSecurityFilter,
    SupersetGroup, SupersetRole, SupersetUser,
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
    GuestTokenPolicy(GuestTokenPolicy),
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
            Resource::GuestPolicy(r) => Cached::GuestTokenPolicy(r),
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
            Cached::GuestTokenPolicy(r) => Resource::GuestPolicy(r),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CachedFile {
    documents: usize,
    objects: Vec<(Place, Cached)>,
}

/// Whether `resource` holds a secret, which must not be written to the cache.
fn holds_secret(resource: &Resource) -> bool {
    matches!(resource, Resource::Schedule(s) if s.spec.recipients.webhook.is_some())
}

type HmacSha256 = Hmac<Sha256>;

const KEY_FILE: &str = "key";
const KEY_LEN: usize = 32;

/// The cache directory in use, its key and its limits.
struct Store {
    dir: PathBuf,
    key: [u8; KEY_LEN],
    limits: CacheLimits,
    /// Whether this process already considered sweeping the directory.
    sweep_considered: AtomicBool,
    /// The sweep running in the background, waited for when the cache is dropped.
    sweeper: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        let sweeper = self.sweeper.get_mut().map(Option::take);
        if let Ok(Some(sweeper)) = sweeper {
            let _ = sweeper.join();
        }
    }
}

/// The manifest cache a caller uses: a directory of the user's, or none.
#[derive(Clone, Default)]
pub struct ManifestCache(Option<Arc<Store>>);

impl std::fmt::Debug for ManifestCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(store) => write!(f, "ManifestCache({:?})", store.dir),
            None => f.write_str("ManifestCache(off)"),
        }
    }
}

impl ManifestCache {
    /// No cache: every file is parsed and checked.
    pub fn off() -> ManifestCache {
        ManifestCache(None)
    }

    /// The cache in `dir` (created 0700 if missing; see the module comment for what is
    /// trusted), or why it cannot be used.
    pub fn open(dir: &Path) -> Result<ManifestCache, String> {
        ManifestCache::open_with_limits(dir, CacheLimits::default())
    }

    /// The cache in `dir`, kept within `limits`.
    pub fn open_with_limits(dir: &Path, limits: CacheLimits) -> Result<ManifestCache, String> {
        open_store(dir, limits).map(|store| ManifestCache(Some(Arc::new(store))))
    }

    /// The objects of a file loaded cleanly before, with the number of documents it had.
    pub(super) fn lookup(&self, text: &str) -> Option<(usize, Vec<(Resource, Place)>)> {
        lookup(self.0.as_deref()?, text)
    }

    /// Remembers a file that loaded without any diagnostic (see [`store`]).
    pub(super) fn store(&self, text: &str, documents: usize, objects: &[(&Resource, Place)]) {
        if let Some(cache) = &self.0 {
            store(cache, text, documents, objects);
        }
    }
}

#[cfg(unix)]
fn open_store(dir: &Path, limits: CacheLimits) -> Result<Store, String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create it: {e}"))?;
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("it is not a directory (symlinks are not followed)".into());
    }
    if meta.uid() != own_uid() {
        return Err("it belongs to another user".into());
    }
    let mut renew_key = false;
    if meta.mode() & 0o077 != 0 {
        // Others could read or plant files while it was open: close it and renew the key, so
        // no entry made or planted before counts.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make it private (0700): {e}"))?;
        renew_key = true;
    }
    let key = match (renew_key, read_key(dir)) {
        (false, Some(key)) => key,
        _ => new_key(dir)?,
    };
    Ok(Store {
        dir: dir.to_owned(),
        key,
        limits,
        sweep_considered: AtomicBool::new(false),
        sweeper: Mutex::new(None),
    })
}

#[cfg(not(unix))]
fn open_store(_dir: &Path, _limits: CacheLimits) -> Result<Store, String> {
    Err("file modes cannot be enforced on this platform".into())
}

#[cfg(unix)]
fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Opens `path` for reading when it is a regular file of the user's, private to them.
#[cfg(unix)]
fn open_private(path: &Path) -> Option<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    (meta.is_file() && meta.uid() == own_uid() && meta.mode() & 0o077 == 0).then_some(file)
}

#[cfg(not(unix))]
fn open_private(_path: &Path) -> Option<File> {
    None
}

/// Writes `bytes` to a new 0600 file beside `path` and renames it to `path`, or hard-links it
/// there when `replace` is false (so a concurrent writer's file wins).
fn write_private(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let temporary = dir.join(format!(".{}.{}.tmp", std::process::id(), name));
    let _ = std::fs::remove_file(&temporary);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temporary)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| {
            if replace {
                std::fs::rename(&temporary, path)
            } else {
                std::fs::hard_link(&temporary, path)
            }
        });
    if written.is_err() || !replace {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn read_key(dir: &Path) -> Option<[u8; KEY_LEN]> {
    let mut key = [0; KEY_LEN];
    let mut file = open_private(&dir.join(KEY_FILE))?;
    file.read_exact(&mut key).ok()?;
    (file.read(&mut [0]).ok()? == 0).then_some(key)
}

/// Makes a new random key, removing every entry (and anything else) the directory holds: none
/// was made under this key.
fn new_key(dir: &Path) -> Result<[u8; KEY_LEN], String> {
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
    let mut key = [0; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| format!("no randomness for its key: {e}"))?;
    let path = dir.join(KEY_FILE);
    match write_private(&path, &key, false) {
        Ok(()) => Ok(key),
        // Another steward made one at the same moment: use it.
        Err(e) => read_key(dir).ok_or_else(|| format!("cannot write its key: {e}")),
    }
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

/// An entry's file and the tag its content must carry.
struct Entry {
    path: PathBuf,
    /// HMAC over the text's digest, ready to take the content.
    tag: HmacSha256,
}

fn entry(store: &Store, text: &str) -> Entry {
    let digest = Sha256::new()
        .chain_update(binary_identity().as_bytes())
        .chain_update([0])
        .chain_update(text.as_bytes())
        .finalize();
    let keyed = |purpose: &[u8]| {
        HmacSha256::new_from_slice(&store.key)
            .expect("HMAC takes any key length")
            .chain_update(purpose)
            .chain_update(digest)
    };
    let name: String = keyed(b"name")
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Entry {
        path: store.dir.join(format!("{name}.json")),
        tag: keyed(b"entry"),
    }
}

fn lookup(cache: &Store, text: &str) -> Option<(usize, Vec<(Resource, Place)>)> {
    let Entry { path, tag } = entry(cache, text);
    let mut bytes = Vec::new();
    let Some(mut file) = open_private(&path) else {
        if std::fs::symlink_metadata(&path).is_ok() {
            let _ = std::fs::remove_file(&path);
        }
        return None;
    };
    file.read_to_end(&mut bytes).ok()?;
    let verified = bytes
        .split_at_checked(TAG_LEN)
        .filter(|(mac, content)| tag.chain_update(content).verify_slice(mac).is_ok());
    let Some(file) =
        verified.and_then(|(_, content)| serde_json::from_slice::<CachedFile>(content).ok())
    else {
        let _ = std::fs::remove_file(&path);
        return None;
    };
    let objects = file
        .objects
        .into_iter()
        .map(|(place, cached)| (cached.into_resource(), place))
        .collect();
    Some((file.documents, objects))
}

const TAG_LEN: usize = 32;

/// Remembers a file that loaded without any diagnostic, unless one of its objects holds a
/// secret. Failures are ignored: the cache only saves time.
fn store(cache: &Store, text: &str, documents: usize, objects: &[(&Resource, Place)]) {
    if objects.iter().any(|(resource, _)| holds_secret(resource)) {
        return;
    }
    let Entry { path, tag } = entry(cache, text);
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
    let mut bytes = tag.chain_update(&json).finalize().into_bytes().to_vec();
    bytes.extend_from_slice(&json);
    let _ = write_private(&path, &bytes, true);
    sweep_if_due(cache);
}

/// On the first store of this process, sweeps the directory on a background thread when it is
/// due: the load does not wait for it; dropping the cache does.
fn sweep_if_due(cache: &Store) {
    if cache.sweep_considered.swap(true, Ordering::Relaxed) {
        return;
    }
    let now = std::time::SystemTime::now();
    if !cache_sweep::due(&cache.dir, now) {
        return;
    }
    let dir = cache.dir.clone();
    let limits = cache.limits;
    let sweeper = std::thread::Builder::new()
        .name("manifest-cache-sweep".into())
        .spawn(move || {
            cache_sweep::sweep(&dir, limits, now);
        });
    if let (Ok(sweeper), Ok(mut slot)) = (sweeper, cache.sweeper.lock()) {
        *slot = Some(sweeper);
    }
}

#[cfg(test)]
thread_local! {
    /// How often this thread parsed a cached file's text again for positions (tests only).
    static REPARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Notes that a source was parsed again for positions.
pub fn note_reparse() {
    #[cfg(test)]
    REPARSES.set(REPARSES.get() + 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::{PathStep, SourceFile, load_sources_with};

    fn role(name: &str) -> String {
        format!(
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: {name}\nspec:\n  includes: [Gamma]\n"
        )
    }

    #[test]
    fn positions_of_cached_objects_parse_their_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ManifestCache::open(dir.path()).expect("the manifest cache opens");
        let text: String = (0..40)
            .map(|i| role(&format!("r{i}")))
            .collect::<Vec<_>>()
            .join("---\n");
        let other = role("alone");
        let sources = || {
            vec![
                SourceFile {
                    name: "many.yaml".into(),
                    text: text.clone(),
                },
                SourceFile {
                    name: "one.yaml".into(),
                    text: other.clone(),
                },
            ]
        };
        let first = load_sources_with(sources(), &cache);
        assert!(first.diagnostics.is_empty(), "{:?}", first.diagnostics);
        assert!(
            first.objects.iter().all(|o| o.node.get().is_none()),
            "a clean source keeps no YAML tree once loaded"
        );
        let second = load_sources_with(sources(), &cache);
        assert_eq!(second.objects.len(), 41);
        assert!(
            second.objects.iter().all(|o| o.source_tree.is_some()),
            "the second load comes from the cache"
        );
        let before = REPARSES.get();
        let path = [
            PathStep::Key("spec".into()),
            PathStep::Key("includes".into()),
        ];
        let located: Vec<_> = (0..second.objects.len())
            .map(|i| second.location(i, &path))
            .collect();
        let parsed = REPARSES.get() - before;
        assert_eq!(parsed, 2, "each file is parsed once, not once per object");
        let expected: Vec<_> = (0..first.objects.len())
            .map(|i| first.location(i, &path))
            .collect();
        assert_eq!(
            located, expected,
            "cached objects point where parsed ones do"
        );
        // Each role is 6 lines and a `---`: `includes` is line 6 of the first, 13 of the second.
        let lines: Vec<(u32, u32)> = located[..2]
            .iter()
            .map(|l| l.as_ref().map(|l| (l.line, l.column)).unwrap())
            .collect();
        assert_eq!(lines, [(6, 3), (13, 3)]);
        assert_eq!(located[40].as_ref().unwrap().file, "one.yaml");
    }
}
