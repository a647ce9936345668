//! The `validate` pipeline shared by every command that reads manifests: load, per-object checks,
//! declared-set checks, stable ordering of diagnostics.

use crate::diagnostic;
use crate::manifests::{LoadedSet, load_paths};
use crate::model::{Catalog, State};
use crate::plan::desired::resolve;
use crate::policy::{Existing, check_declared_against, report_rules};

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
    let (declared, _) = resolve(set, &Catalog::default(), &State::default());
    let keys = declared.schedules.keys().cloned().collect();
    let found = report_rules::check(
        &declared,
        &keys,
        report_rules::Scope::DeclaredOnly,
        chrono::Utc::now(),
    );
    let violations = report_rules::diagnostics(set, &found);
    set.diagnostics.extend(violations);
    diagnostic::sort(&mut set.diagnostics);
}

/// Like [`finish`], resolving references against `existing` names too.
pub fn finish_against(set: &mut LoadedSet, existing: &Existing) {
    let found = check_declared_against(set, existing);
    set.diagnostics.extend(found);
    diagnostic::sort(&mut set.diagnostics);
}
