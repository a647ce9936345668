//! Managers: every pass writes under one manager (`cli` unless `--manager` names another; an
//! operator names one per Superset instance), and the ledger records which manager wrote each
//! object and from which manifest source. A pass changes or prunes only its own manager's
//! objects; another manager's objects are conflicts (see `changes::conflict`). [`check_sources`]
//! refuses a pass that would change or prune objects its own manager wrote from another
//! manifest source: two teams sharing a manager (typically both on the default `cli`) would
//! otherwise prune each other's objects. Pure code: no IO.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::model::ObjectKey;

use super::{Action, Ledger, Plan, PlanOptions};

/// Where a pass's manifests come from: the deepest directory holding every manifest file, as
/// the paths were given (`-` for standard input). `None` when nothing was read.
pub fn manifest_source(set: &LoadedSet) -> Option<String> {
    let mut common: Option<Vec<&str>> = None;
    for source in &set.sources {
        let name = source.name.trim_start_matches("./");
        let parts: Vec<&str> = match name {
            "-" => vec!["-"],
            _ => {
                let mut parts: Vec<&str> = name
                    .split('/')
                    .filter(|p| !p.is_empty() && *p != ".")
                    .collect();
                parts.pop();
                if name.starts_with('/') {
                    parts.insert(0, "");
                }
                parts
            }
        };
        common = Some(match common {
            None => parts,
            Some(c) => c
                .iter()
                .zip(&parts)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    common.map(|parts| match parts.join("/") {
        root if root.is_empty() => ".".to_owned(),
        root => root,
    })
}

/// Refuses changes and deletions of objects this pass's manager wrote from another manifest
/// source (unless `--adopt` takes them over for this source). One refusal per other source.
pub fn check_sources(plan: &mut Plan, ledger: &Ledger, options: &PlanOptions) {
    let Some(ours) = plan.source.as_deref() else {
        return;
    };
    if options.adopt {
        return;
    }
    let mut foreign: BTreeMap<&str, Vec<&ObjectKey>> = BTreeMap::new();
    for change in &plan.changes {
        if !matches!(change.action, Action::Update | Action::Delete) {
            continue;
        }
        let Some(entry) = ledger.get(&change.key) else {
            continue;
        };
        if let Some(theirs) = entry.source.as_deref().filter(|s| *s != ours)
            && entry.manager == options.manager
        {
            foreign.entry(theirs).or_default().push(&change.key);
        }
    }
    for (theirs, keys) in foreign {
        let shown: Vec<String> = keys.iter().take(5).map(|k| k.to_string()).collect();
        let more = match keys.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        plan.refusals.push(
            Diagnostic::error(
                Code::Conflict,
                format!(
                    "manager `{}` wrote {} from manifests in `{theirs}`, but this pass reads `{ours}` and would change or delete {}: {}{more}",
                    options.manager,
                    match keys.len() {
                        1 => "1 object".to_owned(),
                        n => format!("{n} objects"),
                    },
                    match keys.len() {
                        1 => "it",
                        _ => "them",
                    },
                    shown.join(", ")
                ),
            )
            .on(keys[0].to_string())
            .hint(format!(
                "if another team applies `{theirs}` to this Superset, give each manifest set its own --manager (named once per Superset instance); if these manifests replace those, pass --adopt to take the objects over from `{ours}`"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::SourceFile;

    fn set(names: &[&str]) -> LoadedSet {
        LoadedSet {
            sources: names
                .iter()
                .map(|n| SourceFile {
                    name: (*n).to_owned(),
                    text: String::new(),
                })
                .collect(),
            ..LoadedSet::default()
        }
    }

    #[test]
    fn the_source_is_the_deepest_directory_holding_every_manifest() {
        assert_eq!(
            manifest_source(&set(&["./teams/a/roles.yaml", "teams/a/users/u.yaml"])).as_deref(),
            Some("teams/a")
        );
        assert_eq!(manifest_source(&set(&["roles.yaml"])).as_deref(), Some("."));
        assert_eq!(manifest_source(&set(&["-"])).as_deref(), Some("-"));
        assert_eq!(
            manifest_source(&set(&["/srv/a/x.yaml", "/srv/b/y.yaml"])).as_deref(),
            Some("/srv")
        );
        assert_eq!(manifest_source(&set(&[])), None);
    }
}
