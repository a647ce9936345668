//! `steward export DIR`: what the database holds as manifests, one file per object, with a
//! header saying where it came from; `steward export --snapshot FILE`: the same as one JSON file
//! for `diff --against-snapshot`.

use std::path::Path;

use anyhow::Context;

use super::EXIT_OK;
use super::database::{DatabaseArgs, read_database, read_identified_database};
use crate::export::{export, to_yaml};
use crate::spec::{BUILTIN_ROLES, Kind};
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
    std::fs::write(file, serde_json::to_string_pretty(&snapshot)?)
        .with_context(|| format!("writing the snapshot {}", file.display()))?;
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
    let url = database.url();
    let observed = match read_database(database) {
        Ok(observed) => observed,
        Err(code) => return Ok(code),
    };
    let exported = export(&observed.state, &observed.catalog, &kinds, |name| {
        selector.as_ref().is_none_or(|s| s.is_match(name))
    });
    let mut written = std::collections::BTreeSet::new();
    for object in &exported {
        if object.kind == Kind::SupersetRole
            && !include_builtin_roles
            && BUILTIN_ROLES.contains(&object.name.as_str())
        {
            continue;
        }
        // Two names that make one file name (`Finance Analyst`, `finance-analyst`) get -2 …
        let base = object.file_name();
        let mut file = base.clone();
        let mut n = 2;
        while !written.insert(file.clone()) {
            file = base.replace(".yaml", &format!("-{n}.yaml"));
            n += 1;
        }
        let mut resource = object.resource.clone();
        if file != base {
            let name = file
                .rsplit('/')
                .next()
                .unwrap_or(&file)
                .trim_end_matches(".yaml");
            resource["metadata"]["name"] = serde_json::json!(name);
            if resource["spec"].get("name").is_none() && resource["spec"].get("username").is_none()
            {
                let field = if object.kind == Kind::SupersetUser {
                    "username"
                } else {
                    "name"
                };
                resource["spec"][field] = serde_json::json!(object.name);
            }
        }
        let yaml = to_yaml(object.kind, &resource).map_err(|e| {
            anyhow::anyhow!(
                "{} \"{}\" does not fit its schema: {e}",
                object.kind,
                object.name
            )
        })?;
        let text = format!(
            "# Exported by steward {} from {url}: {} \"{}\".\n# `steward apply --adopt` takes ownership of it.\n{yaml}",
            env!("CARGO_PKG_VERSION"),
            object.kind,
            object.name
        );
        let path = dir.join(&file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        if !resource["spec"]["recipients"]["webhook"].is_null() {
            errln!(
                "warning: {} holds a webhook URL, which may carry a token: keep it out of version control or replace it before committing",
                path.display()
            );
        }
    }
    outln!(
        "Exported {} object(s) from {url} into {}.",
        written.len(),
        dir.display()
    );
    Ok(EXIT_OK)
}
