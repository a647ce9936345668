//! The `validate` pipeline shared by every command that reads manifests: load, per-object checks,
//! declared-set checks, stable ordering of diagnostics.

use crate::diagnostic;
use crate::manifests::{LoadedSet, load_paths};
use crate::model::{Catalog, State};
use crate::plan::desired::resolve;
use crate::policy::{Existing, check_declared_against, report_rules};
use crate::resources::Resource;

/// Loads `paths` and runs every check that needs no database.
pub fn validate_paths(paths: &[String]) -> LoadedSet {
    let mut set = load_paths(paths);
    finish(&mut set);
    set
}

/// Runs the declared-set checks on an already loaded set, then the Alerts & Reports policy
/// rules that need no database, and sorts the diagnostics.
pub fn finish(set: &mut LoadedSet) {
    finish_against(set, &Existing::default());
    if set.has_errors() {
        return;
    }
    let declared = resolve_for_report_rules(set);
    let keys = declared.schedules.keys().cloned().collect();
    let found = report_rules::check(
        &declared.view(),
        &keys,
        report_rules::Scope::DeclaredOnly,
        chrono::Utc::now(),
    );
    let violations = report_rules::diagnostics(set, &found);
    set.diagnostics.extend(violations);
    diagnostic::sort(&mut set.diagnostics);
}

/// The declared state the Alerts & Reports rules read (schedules, users, groups, the
/// configuration). Roles and RLS filters are left out: they resolve against a catalogue that
/// validate does not have, so every grant and dataset would be a located error to throw away
/// (366,000 of them for org-100k: 440 MB and a second parse of every role file).
fn resolve_for_report_rules(set: &mut LoadedSet) -> State {
    let objects = std::mem::take(&mut set.objects);
    let (others, wanted): (Vec<_>, Vec<_>) = objects
        .into_iter()
        .enumerate()
        .partition(|(_, o)| matches!(o.resource, Resource::Role(_) | Resource::Rls(_)));
    let (places, wanted): (Vec<usize>, Vec<_>) = wanted.into_iter().unzip();
    set.objects = wanted;
    let (declared, _) = resolve(set, &Catalog::default(), &State::default());
    // Back in source order: both halves kept it.
    let mut wanted = places.into_iter().zip(std::mem::take(&mut set.objects));
    let mut others = others.into_iter();
    let (mut next_wanted, mut next_other) = (wanted.next(), others.next());
    loop {
        let take_wanted = match (&next_wanted, &next_other) {
            (Some((a, _)), Some((b, _))) => a < b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let object = if take_wanted {
            std::mem::replace(&mut next_wanted, wanted.next())
        } else {
            std::mem::replace(&mut next_other, others.next())
        };
        set.objects.extend(object.map(|(_, o)| o));
    }
    declared
}

/// Like [`finish`], resolving references against `existing` names too.
pub fn finish_against(set: &mut LoadedSet, existing: &Existing) {
    let found = check_declared_against(set, existing);
    set.diagnostics.extend(found);
    diagnostic::sort(&mut set.diagnostics);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_rules_state_leaves_roles_and_filters_out_and_the_objects_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/org");
        let mut set = load_paths(&[dir.to_owned()]);
        assert!(!set.has_errors(), "{:?}", set.diagnostics);
        let order = |set: &LoadedSet| -> Vec<String> {
            set.objects
                .iter()
                .map(|o| o.resource.id().to_string())
                .collect()
        };
        let before = order(&set);
        let kinds = |role_or_filter: bool| {
            set.objects
                .iter()
                .filter(|o| {
                    matches!(o.resource, Resource::Role(_) | Resource::Rls(_)) == role_or_filter
                })
                .count()
        };
        assert!(
            kinds(true) > 0 && kinds(false) > 0,
            "the example mixes kinds"
        );
        let declared = resolve_for_report_rules(&mut set);
        assert_eq!(order(&set), before, "every object back, in source order");
        assert!(declared.roles.is_empty() && declared.rls_filters.is_empty());
        assert!(!declared.users.is_empty() && !declared.schedules.is_empty());
        assert!(declared.config.is_some());
    }
}
