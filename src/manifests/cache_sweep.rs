//! Keeps the manifest cache bounded: entries older than a maximum age go, and when the
//! directory holds more than its size limit the oldest entries go until it is back under
//! three quarters of it. Every build of steward writes its own entries (a binary's entries never
//! match another's), so without this the directory would only grow.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// How large and how old the cache may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Disk space the entries may take, in bytes.
    pub max_bytes: u64,
    /// Entries written longer ago than this are removed.
    pub max_age: Duration,
}

impl Default for CacheLimits {
    fn default() -> CacheLimits {
        CacheLimits {
            max_bytes: 256 * 1024 * 1024,
            max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// The file whose modification time says when the directory was last swept.
pub(super) const SWEEP_MARK: &str = "swept";

/// How often a directory is swept at most.
pub(super) const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// What one sweep found and removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Swept {
    pub removed: usize,
    pub kept: usize,
    pub kept_bytes: u64,
}

/// Whether the directory is due a sweep: never swept, or not within [`SWEEP_EVERY`].
pub(super) fn due(dir: &Path, now: SystemTime) -> bool {
    std::fs::metadata(dir.join(SWEEP_MARK))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| now.duration_since(at).ok())
        .is_none_or(|since| since >= SWEEP_EVERY)
}

/// Removes what `limits` no longer allow from `dir`: entries (`*.json`) past the age limit,
/// leftover temporary files of writers that died (older than an hour), then the oldest entries
/// while the rest exceed the size limit. Errors are ignored: the cache only saves time.
pub(super) fn sweep(dir: &Path, limits: CacheLimits, now: SystemTime) -> Swept {
    let swept = sweep_entries(dir, limits, now);
    // Marked when done, so a sweep cut short runs again next time.
    mark(&dir.join(SWEEP_MARK), now);
    swept
}

/// Creates the mark private to the user (0600, like every file in the directory) or moves its
/// modification time to `now`.
fn mark(path: &Path, now: SystemTime) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if let Ok(file) = options.open(path) {
        let _ = file.set_modified(now);
    }
}

fn sweep_entries(dir: &Path, limits: CacheLimits, now: SystemTime) -> Swept {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Swept::default();
    };
    let mut entries = Vec::new();
    let mut swept = Swept::default();
    for item in listing.flatten() {
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let Ok(meta) = item.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let age = meta
            .modified()
            .ok()
            .and_then(|at| now.duration_since(at).ok())
            .unwrap_or_default();
        let temporary = name.starts_with('.') && name.ends_with(".tmp");
        let entry = !name.starts_with('.') && name.ends_with(".json");
        if temporary && age > Duration::from_secs(3600) || entry && age > limits.max_age {
            if std::fs::remove_file(item.path()).is_ok() {
                swept.removed += 1;
            }
        } else if entry {
            entries.push((age, disk_bytes(&meta), item.path()));
        }
    }
    let mut total: u64 = entries.iter().map(|(_, bytes, _)| bytes).sum();
    if total > limits.max_bytes {
        // Oldest first.
        entries.sort_by_key(|(age, _, _)| std::cmp::Reverse(*age));
        let target = limits.max_bytes / 4 * 3;
        let mut kept_from = entries.len();
        for (i, (_, bytes, path)) in entries.iter().enumerate() {
            if total <= target {
                kept_from = i;
                break;
            }
            if std::fs::remove_file(path).is_ok() {
                swept.removed += 1;
            }
            total = total.saturating_sub(*bytes);
        }
        entries.drain(..kept_from);
    }
    swept.kept = entries.len();
    swept.kept_bytes = total;
    swept
}

/// The space a file takes on disk (its blocks), not only its length.
fn disk_bytes(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.blocks() * 512
    }
    #[cfg(not(unix))]
    {
        meta.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str, bytes: usize, age_secs: u64, now: SystemTime) {
        let path = dir.join(name);
        std::fs::write(&path, vec![b'x'; bytes]).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(now - Duration::from_secs(age_secs))
            .unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != SWEEP_MARK)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn over_the_size_limit_the_oldest_entries_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        for i in 0..20 {
            // e00 is the newest, e19 the oldest.
            entry(dir.path(), &format!("e{i:02}.json"), 4096, 60 * i, now);
        }
        entry(dir.path(), "key", 32, 99_999, now);
        let one = disk_bytes(&std::fs::metadata(dir.path().join("e00.json")).unwrap());
        let limits = CacheLimits {
            max_bytes: one * 10,
            max_age: Duration::from_secs(365 * 24 * 3600),
        };
        let swept = sweep(dir.path(), limits, now);
        assert!(swept.kept_bytes <= limits.max_bytes / 4 * 3, "{swept:?}");
        assert_eq!(swept.removed + swept.kept, 20);
        let left = names(dir.path());
        assert!(left.contains(&"key".to_string()), "the key is never swept");
        let kept: Vec<&String> = left.iter().filter(|n| n.ends_with(".json")).collect();
        assert_eq!(kept.len(), swept.kept);
        let expected: Vec<String> = (0..swept.kept).map(|i| format!("e{i:02}.json")).collect();
        assert_eq!(kept, expected.iter().collect::<Vec<_>>(), "the newest stay");
    }

    #[test]
    fn entries_past_the_age_limit_and_dead_writers_files_go_under_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        entry(dir.path(), "fresh.json", 10, 60, now);
        entry(dir.path(), "stale.json", 10, 40 * 24 * 3600, now);
        entry(dir.path(), ".123.fresh.json.tmp", 10, 60, now);
        entry(dir.path(), ".456.dead.json.tmp", 10, 2 * 3600, now);
        entry(dir.path(), "notes.txt", 10, 40 * 24 * 3600, now);
        let swept = sweep(dir.path(), CacheLimits::default(), now);
        assert_eq!(swept.removed, 2);
        assert_eq!(
            names(dir.path()),
            [".123.fresh.json.tmp", "fresh.json", "notes.txt"],
            "a writer's file in flight and files that are not entries stay"
        );
    }

    #[test]
    fn a_sweep_is_due_once_per_period() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        assert!(due(dir.path(), now), "never swept");
        sweep(dir.path(), CacheLimits::default(), now);
        assert!(!due(dir.path(), now + Duration::from_secs(60)));
        assert!(due(dir.path(), now + SWEEP_EVERY + Duration::from_secs(1)));
    }
}
