//! The `validate` pipeline shared by every command that reads manifests: load, per-object checks,
//! declared-set checks, stable ordering of diagnostics.

use crate::diagnostic;
use crate::policy::{Existing, check_declared_against};
use crate::spec::load::{LoadedSet, load_paths};

/// Loads `paths` and runs every check that needs no database.
pub fn validate_paths(paths: &[String]) -> LoadedSet {
    let mut set = load_paths(paths);
    finish(&mut set);
    set
}

/// Runs the declared-set checks on an already loaded set and sorts the diagnostics.
pub fn finish(set: &mut LoadedSet) {
    finish_against(set, &Existing::default());
}

/// Like [`finish`], resolving references against `existing` names too.
pub fn finish_against(set: &mut LoadedSet, existing: &Existing) {
    let found = check_declared_against(set, existing);
    set.diagnostics.extend(found);
    diagnostic::sort(&mut set.diagnostics);
}
