//! `steward export DIR`: what the database holds as manifests, one file per object, with a
//! header saying where it came from (written by [`dir`]: atomically, never through a symbolic
//! link, stale files of an earlier export removed); `steward export --snapshot FILE`: the same
//! as one JSON file for `diff --against-snapshot`, written atomically.

use std::path::Path;

use anyhow::Context;

mod dir;

use super::database::{DatabaseArgs, read_database, read_identified_database};
use super::{EXIT_INVALID, EXIT_OK};
use crate::export::check::read_back;
use crate::export::export;
use crate::export::files::export_files;
use crate::resources::{BUILTIN_ROLES, Kind};
use crate::safe_write::write_atomically;
use crate::store::snapshot_file::SnapshotFile;

pub(super) fn snapshot(database: &DatabaseArgs, file: &Path) -> anyhow::Result<u8> {
    let url = database.url();
    let (observed, identity) = match read_identified_database(database) {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    let snapshot = SnapshotFile {
        database_id: Some(identity),
        ..SnapshotFile::of(&observed, url.to_string())
    };
    write_atomically(file, serde_json::to_string_pretty(&snapshot)?.as_bytes())
        .context("writing the snapshot")?;
    outln!(
        "Wrote a snapshot of {url} to {}: {} users, {} roles, {} groups, {} RLS filters, {} schedules.",
        file.display(),
        snapshot.state.users.len(),
        snapshot.state.roles.len(),
        snapshot.state.groups.len(),
        snapshot.state.rls_filters.len(),
        snapshot.state.schedules.len()
    );
    Ok(EXIT_OK)
}

/// A kind as `--kinds` names it.
fn kind_named(name: &str) -> anyhow::Result<Kind> {
    let name = name.trim().to_ascii_lowercase();
    Kind::ALL
        .into_iter()
        .find(|k| {
            let short = k.short_name();
            name == short || name == k.as_str().to_ascii_lowercase()
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "`{name}` is not a kind; use users, roles, groups, rls, schedules or config"
            )
        })
}

pub(super) fn manifests(
    database: &DatabaseArgs,
    dir: &Path,
    kinds: &[String],
    selector: Option<&str>,
    include_builtin_roles: bool,
) -> anyhow::Result<u8> {
    let kinds: Vec<Kind> = match kinds.is_empty() {
        true => Kind::ALL.to_vec(),
        false => kinds
            .iter()
            .map(|k| kind_named(k))
            .collect::<anyhow::Result<_>>()?,
    };
    let selector = selector
        .map(|glob| {
            globset::Glob::new(glob)
                .map(|g| g.compile_matcher())
                .with_context(|| format!("`{glob}` is not a glob pattern"))
        })
        .transpose()?;
    let in_scope = |kind: Kind, name: &str| {
        kinds.contains(&kind)
            && selector.as_ref().is_none_or(|s| s.is_match(name))
            && (include_builtin_roles
                || kind != Kind::SupersetRole
                || !BUILTIN_ROLES.contains(&name))
    };
    let url = database.url();
    let observed = match read_database(database) {
        Ok(observed) => observed,
        Err(code) => return Ok(code),
    };
    let exported: Vec<_> = export(&observed.state, &observed.catalog, &kinds, |_| true)
        .into_iter()
        .filter(|o| in_scope(o.kind, &o.name))
        .collect();
    let (files, mut refused) = export_files(&exported, &url.to_string());
    let (files, unreadable) = read_back(files);
    refused.extend(unreadable);
    // A refused object still exists: the file an earlier export wrote for it is not stale.
    let refused_names: std::collections::BTreeSet<(Kind, &str)> =
        refused.iter().map(|r| (r.kind, r.name.as_str())).collect();
    let outcome = dir::write(dir, &files, |kind, name| {
        in_scope(kind, name) && !refused_names.contains(&(kind, name))
    })?;
    for file in files.iter().filter(|f| f.has_webhook) {
        errln!(
            "warning: {} holds a webhook URL, which may carry a token: keep it out of version control or replace it before committing",
            dir.join(&file.path).display()
        );
    }
    for warning in &outcome.warnings {
        errln!("warning: {warning}");
    }
    for removed in &outcome.removed {
        outln!(
            "Removed {}: written by an earlier export, no object matches it any more.",
            dir.join(removed).display()
        );
    }
    outln!(
        "Exported {} object(s) from {url} into {}.",
        files.len(),
        dir.display()
    );
    if refused.is_empty() {
        return Ok(EXIT_OK);
    }
    for refusal in &refused {
        errln!("error: {refusal}");
    }
    errln!(
        "error: {} object(s) were not exported; the rest were",
        refused.len()
    );
    Ok(EXIT_INVALID)
}
