//! Managers: every pass writes under one manager (`cli` unless `--manager` names another; an
//! operator names one per Superset instance), and the ledger records which manager wrote each
//! object and from which manifest source. A pass changes or prunes only its own manager's
//! objects; another manager's objects are conflicts (see `changes::conflict`). [`check_sources`]
//! refuses a pass whose manifests share nothing with what its manager manages yet would prune
//! it: two teams sharing a manager (typically both on the default `cli`) would otherwise prune
//! each other's objects. Pure code: no IO.

use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::model::ObjectKey;
use crate::reason::Reason;

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

/// Refuses a pass that declares objects, none of which its manager already manages, yet would
/// prune that manager's objects: another manifest set (typically a second team on the default
/// manager `cli`) applied with the same manager. The refusal names the sources the ledger
/// recorded for those objects. A pass that declares nothing is left to the empty-kind guard.
pub fn check_sources(plan: &mut Plan, ledger: &Ledger, options: &PlanOptions) {
    if plan.declared.is_empty() {
        return;
    }
    let ours = |key: &ObjectKey| {
        ledger
            .get(key)
            .is_some_and(|e| e.manager == options.manager)
    };
    if plan.declared.keys().any(ours) {
        return;
    }
    let deleted: Vec<&ObjectKey> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete && ours(&c.key))
        .map(|c| &c.key)
        .collect();
    let Some(first) = deleted.first() else {
        return;
    };
    let managed = ledger
        .values()
        .filter(|e| e.manager == options.manager)
        .count();
    let sources: std::collections::BTreeSet<&str> = deleted
        .iter()
        .filter_map(|k| ledger[*k].source.as_deref())
        .collect();
    let written = match sources.is_empty() {
        true => String::new(),
        false => format!(
            " (written from {})",
            sources
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let these = match &plan.source {
        Some(source) => format!("these manifests (`{source}`)"),
        None => "these manifests".to_owned(),
    };
    let shown: Vec<String> = deleted.iter().take(5).map(|k| k.to_string()).collect();
    let more = match deleted.len() {
        n if n > 5 => format!(" and {} more", n - 5),
        _ => String::new(),
    };
    plan.refusals.push(
        Diagnostic::error(
            Code::Conflict,
            format!(
                "{these} declare none of the {managed} objects manager `{}` manages{written}, yet applying them would delete {} of them: {}{more}",
                options.manager,
                deleted.len(),
                shown.join(", ")
            ),
        )
        .about((*first).clone())
        .hint(format!(
            "another manifest set on this Superset needs a manager of its own; to replace every object of `{}`, first apply an empty set with empty kinds allowed",
            options.manager
        ))
        .because(Reason::SecondManifestSet {
            manager: options.manager.clone(),
        }),
    );
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
    fn a_pass_declaring_none_of_its_managers_objects_may_not_prune_them() {
        use crate::plan::{Change, LedgerEntry};
        use crate::resources::Kind;
        use crate::resources::identity::ResourceId;
        let theirs = ObjectKey::new(Kind::SupersetRole, "A");
        let ledger = Ledger::from([(
            theirs.clone(),
            LedgerEntry {
                source: Some("teams/a".into()),
                ..LedgerEntry::new("cli", "")
            },
        )]);
        let plan_with = |declared: &str| Plan {
            changes: vec![Change {
                key: theirs.clone(),
                action: Action::Delete,
                fields: Vec::new(),
                renamed_from: None,
                resource: None,
            }],
            declared: [(
                ObjectKey::new(Kind::SupersetRole, declared),
                ResourceId::new(Kind::SupersetRole, None, declared),
            )]
            .into(),
            source: Some("teams/b".into()),
            ..Plan::default()
        };
        let mut plan = plan_with("B");
        check_sources(&mut plan, &ledger, &PlanOptions::default());
        assert_eq!(plan.refusals.len(), 1);
        assert_eq!(
            plan.refusals[0].message,
            "these manifests (`teams/b`) declare none of the 1 objects manager `cli` manages (written from `teams/a`), yet applying them would delete 1 of them: SupersetRole \"A\""
        );
        // Another manager's pass, or one that declares some of the manager's objects: no refusal.
        let options = PlanOptions {
            manager: "team-b".into(),
            ..PlanOptions::default()
        };
        let mut other = plan_with("B");
        check_sources(&mut other, &ledger, &options);
        assert!(other.refusals.is_empty());
        let mut overlapping = plan_with("A");
        check_sources(&mut overlapping, &ledger, &PlanOptions::default());
        assert!(overlapping.refusals.is_empty());
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
