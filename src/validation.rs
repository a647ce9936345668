//! The `validate` pipeline shared by every command that reads manifests: load, per-object checks,
//! declared-set checks, stable ordering of diagnostics.

use crate::diagnostic;
use crate::policy::check_declared;
use crate::spec::load::{LoadedSet, load_paths};

/// Loads `paths` and runs every check that needs no database.
pub fn validate_paths(paths: &[String]) -> LoadedSet {
    let mut set = load_paths(paths);
    finish(&mut set);
    set
}

/// Runs the declared-set checks on an already loaded set and sorts the diagnostics.
pub fn finish(set: &mut LoadedSet) {
    let found = check_declared(set);
    set.diagnostics.extend(found);
    diagnostic::sort(&mut set.diagnostics);
}
