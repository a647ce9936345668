//! The manifest cache as an adversary meets it: entries planted or swapped in the cache
//! directory change nothing, the directory and its files are private to the user, and no
//! secret (webhook URL) is ever written to it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::repo_path;

/// Runs steward with the manifest cache at `cache` (or `off`): exit code, stdout, stderr.
fn run(cache: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_MANIFEST_CACHE", cache)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every cache entry (`*.json`) in `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    found.sort();
    found
}

/// Rewrites every entry of `dir`, replacing `from` by `to` in place and keeping every other
/// byte: what someone able to write the directory would do to change a verdict.
fn forge(dir: &Path, from: &str, to: &str) {
    let mut forged = 0;
    for entry in entries(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if let Some(at) = text.find(from) {
            let mut changed = bytes[..at].to_vec();
            changed.extend_from_slice(to.as_bytes());
            changed.extend_from_slice(&bytes[at + from.len()..]);
            std::fs::write(&entry, changed).unwrap();
            forged += 1;
        }
    }
    assert!(forged > 0, "no entry of {} holds {from}", dir.display());
}

/// The cache directory of a test, as a path and as the variable's value.
fn cache_in(work: &Path) -> (PathBuf, String) {
    let cache = work.join("cache");
    let value = cache.display().to_string();
    (cache, value)
}

/// A directory holding the example organisation's configuration and what it refers to.
fn configuration(work: &Path) -> String {
    let org = work.join("org");
    std::fs::create_dir(&org).unwrap();
    for file in ["users.yaml", "groups.yaml", "roles.yaml", "config.yaml"] {
        copy_example(&org, &format!("examples/org/{file}"));
    }
    org.display().to_string()
}

fn copy_example(dir: &Path, example: &str) -> String {
    let path = dir.join(Path::new(example).file_name().unwrap());
    std::fs::copy(repo_path(example), &path).unwrap();
    path.display().to_string()
}

#[test]
fn a_forged_entry_does_not_change_the_configuration() {
    let work = tempfile::tempdir().unwrap();
    let (cache, cache_arg) = cache_in(work.path());
    let config = configuration(work.path());
    let args = ["render-config", config.as_str()];
    let off = run("off", &args);
    assert_eq!(off.0, Some(0), "{off:?}");
    assert!(off.1.contains("ALERT_MINIMUM_INTERVAL = 300"), "{off:?}");
    assert_eq!(run(&cache_arg, &args), off, "cold cache");
    forge(
        &cache,
        "\"alertMinimumIntervalSeconds\":300",
        "\"alertMinimumIntervalSeconds\":1",
    );
    assert_eq!(run(&cache_arg, &args), off, "forged entry");
    // The forged entry was dropped and a good one written: the next run is warm again.
    assert_eq!(run(&cache_arg, &args), off, "after the forged entry");
}

#[test]
fn a_forged_entry_does_not_hide_a_reference_error() {
    // The user's groups refer to roles; the forged entry names a role nobody declared.
    let work = tempfile::tempdir().unwrap();
    let (cache, cache_arg) = cache_in(work.path());
    let org = configuration(work.path());
    let args = ["validate", org.as_str()];
    let off = run("off", &args);
    assert_eq!(off.0, Some(0), "{off:?}");
    assert_eq!(run(&cache_arg, &args), off, "cold cache");
    forge(&cache, "\"roles\":[\"", "\"roles\":[\"ghost-role\",\"");
    assert_eq!(run(&cache_arg, &args), off, "forged entries");
}

#[test]
fn an_entry_moved_to_another_file_s_name_is_refused() {
    // Both entries are genuine; the one for roles.yaml is put where users.yaml's entry was.
    let work = tempfile::tempdir().unwrap();
    let (cache, cache_arg) = cache_in(work.path());
    let users = copy_example(work.path(), "examples/org/users.yaml");
    let roles = copy_example(work.path(), "examples/org/roles.yaml");
    let users_off = run("off", &["validate", &users]);
    run(&cache_arg, &["validate", &users]);
    let users_entry = entries(&cache);
    assert_eq!(users_entry.len(), 1);
    run(&cache_arg, &["validate", &roles]);
    let roles_entry: Vec<_> = entries(&cache)
        .into_iter()
        .filter(|e| !users_entry.contains(e))
        .collect();
    assert_eq!(roles_entry.len(), 1);
    std::fs::copy(&roles_entry[0], &users_entry[0]).unwrap();
    assert_eq!(run(&cache_arg, &["validate", &users]), users_off);
}

#[test]
fn cache_directory_and_entries_are_private() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("nested").join("cache");
    let (code, _, stderr) = run(
        cache.to_str().unwrap(),
        &["validate", &repo_path("examples")],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(&work.path().join("nested")), 0o700);
    let files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.len() > 1,
        "the key and entries are written: {files:?}"
    );
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn an_open_cache_directory_is_closed_and_its_entries_dropped() {
    let work = tempfile::tempdir().unwrap();
    let (cache, cache_arg) = cache_in(work.path());
    let config = configuration(work.path());
    let args = ["render-config", config.as_str()];
    let off = run("off", &args);
    run(&cache_arg, &args);
    // Someone opened the directory to everyone; while open, anything in it may be theirs.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    forge(
        &cache,
        "\"alertMinimumIntervalSeconds\":300",
        "\"alertMinimumIntervalSeconds\":1",
    );
    std::fs::write(cache.join("planted.json"), b"{}").unwrap();
    assert_eq!(run(&cache_arg, &args), off);
    assert_eq!(mode(&cache), 0o700);
    assert!(
        !cache.join("planted.json").exists(),
        "files from the open period are removed"
    );
    for file in std::fs::read_dir(&cache).unwrap() {
        assert_eq!(mode(&file.unwrap().path()), 0o600);
    }
}

#[test]
fn entries_and_directories_of_another_user_are_not_used() {
    let work = tempfile::tempdir().unwrap();
    let config = configuration(work.path());
    let args = ["render-config", config.as_str()];
    let off = run("off", &args);
    let own_uid = std::fs::metadata(work.path()).unwrap().uid();
    if own_uid != 0 {
        // Only root can give a file away; as another user, the directory check is the same
        // code path as for a directory we cannot chown, so test what can be tested.
        let foreign = Path::new("/");
        let (code, stdout, stderr) = run(foreign.to_str().unwrap(), &args);
        assert_eq!((code, stdout), (off.0, off.1.clone()));
        assert!(stderr.contains("not used"), "{stderr}");
        return;
    }
    // An entry that is not ours (same bytes, another owner) is ignored and removed.
    let (cache, cache_arg) = cache_in(work.path());
    run(&cache_arg, &args);
    forge(
        &cache,
        "\"alertMinimumIntervalSeconds\":300",
        "\"alertMinimumIntervalSeconds\":300",
    );
    let entry = entries(&cache).remove(0);
    std::os::unix::fs::chown(&entry, Some(4242), Some(4242)).unwrap();
    assert_eq!(run(&cache_arg, &args), off);
    assert_ne!(
        std::fs::metadata(&entry).unwrap().uid(),
        4242,
        "replaced by our own"
    );
    // A key that is not ours is replaced, and what was made under it dropped.
    let key = cache.join("key");
    std::os::unix::fs::chown(&key, Some(4242), Some(4242)).unwrap();
    forge(
        &cache,
        "\"alertMinimumIntervalSeconds\":300",
        "\"alertMinimumIntervalSeconds\":1",
    );
    assert_eq!(run(&cache_arg, &args), off);
    assert_ne!(
        std::fs::metadata(&key).unwrap().uid(),
        4242,
        "a key of our own"
    );
    assert_eq!(mode(&key), 0o600);
    // A directory that belongs to someone else is not used at all, and says so.
    let theirs = work.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(4242), Some(4242)).unwrap();
    let (code, stdout, stderr) = run(theirs.to_str().unwrap(), &args);
    assert_eq!((code, stdout), (off.0, off.1));
    assert!(stderr.contains("belongs to another user"), "{stderr}");
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
}

#[test]
fn no_webhook_url_is_written_to_the_cache() {
    let work = tempfile::tempdir().unwrap();
    let (cache, cache_arg) = cache_in(work.path());
    let org = PathBuf::from(configuration(work.path()));
    let token = "T0SECRET/B0SECRET/xoxbSECRETTOKEN";
    let schedule = std::fs::read_to_string(repo_path("examples/org/schedules.yaml"))
        .unwrap()
        .replacen(
            "  recipients:\n",
            &format!("  recipients:\n    webhook:\n      url: https://hooks.example.com/services/{token}\n"),
            1,
        );
    assert!(schedule.contains(token));
    std::fs::write(org.join("schedules.yaml"), schedule).unwrap();
    // A webhook in a list, in its own file: a second shape of the same secret.
    std::fs::write(
        org.join("hooks.yaml"),
        format!(
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: steward.dev/v1alpha1\n    kind: ReportSchedule\n    metadata: {{name: hooked, namespace: finance}}\n    spec:\n      name: Hooked\n      type: Report\n      crontab: \"0 7 * * 1\"\n      timezone: UTC\n      dashboard: {{slug: finance-overview}}\n      reportFormat: PNG\n      recipients:\n        webhook: {{url: \"https://user:pa55word@hooks.example.org/{token}?sig=abc\"}}\n      owners: [dmitri.brandt]\n      runAs: svc-finance-reports\n"
        ),
    )
    .unwrap();
    let args = ["validate", org.to_str().unwrap()];
    let off = run("off", &args);
    assert_eq!(run(&cache_arg, &args), off, "cold cache");
    assert_eq!(run(&cache_arg, &args), off, "warm cache");
    assert!(
        entries(&cache).len() >= 4,
        "the files without secrets are cached"
    );
    for file in std::fs::read_dir(&cache).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [token, "hooks.example", "pa55word", "SECRET"] {
            assert!(!text.contains(secret), "{secret} written to the cache");
        }
    }
}

/// Disk space the `*.json` entries of `dir` take.
fn entry_bytes(dir: &Path) -> u64 {
    entries(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().blocks() * 512)
        .sum()
}

#[test]
fn the_cache_stays_within_its_limit_and_keeps_the_newest_entries() {
    let work = tempfile::tempdir().unwrap();
    let (cache, cache_arg) = cache_in(work.path());
    let config = configuration(work.path());
    let args = ["validate", config.as_str()];
    let with_limit = |limit: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .env("STEWARD_MANIFEST_CACHE", &cache_arg)
            .env("STEWARD_MANIFEST_CACHE_MAX_MB", limit)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let off = run("off", &args);
    assert_eq!(off.0, Some(0), "{off:?}");
    assert_eq!(with_limit("1"), off, "cold cache");
    let fresh = entries(&cache);
    assert!(!fresh.is_empty());
    // What older builds of steward left: 3 MB of entries written an hour ago and one 40 days ago.
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for i in 0..48 {
        let path = cache.join(format!("{i:064x}.json"));
        std::fs::write(&path, vec![b'x'; 64 * 1024]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }
    let ancient = cache.join(format!("{:064x}.json", 999));
    std::fs::write(&ancient, b"old").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&ancient)
        .unwrap()
        .set_modified(an_hour_ago - std::time::Duration::from_secs(40 * 24 * 3600))
        .unwrap();
    // The directory was swept by the first run: nothing is due yet.
    assert_eq!(with_limit("1"), off, "warm cache");
    assert!(
        entry_bytes(&cache) > 3 * 1024 * 1024,
        "not swept twice in ten minutes"
    );
    // Ten minutes later (the mark aged), a run that stores an entry sweeps.
    std::fs::File::options()
        .write(true)
        .open(cache.join("swept"))
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    copy_example(Path::new(&config), "examples/org/rls.yaml");
    let with_rls = with_limit("1");
    assert_eq!(with_rls.0, Some(0), "{with_rls:?}");
    let bytes = entry_bytes(&cache);
    assert!(bytes <= 768 * 1024, "{bytes} bytes left over a 1 MB limit");
    assert!(!ancient.exists(), "an entry past 30 days goes");
    let left = entries(&cache);
    for entry in &fresh {
        assert!(left.contains(entry), "the newest entries stay: {entry:?}");
    }
    assert!(left.len() > fresh.len(), "the new file's entry stays");
    assert_eq!(with_limit("1"), with_rls, "still warm after the sweep");

    let bad = with_limit("lots");
    assert_eq!(bad.0, Some(0));
    assert!(
        bad.2
            .contains("STEWARD_MANIFEST_CACHE_MAX_MB=\"lots\" is not a positive whole number"),
        "{bad:?}"
    );
}
