//! Checks across the declared set that one object cannot make alone: duplicates, references
//! between objects, crontab and timezone syntax, address syntax, content references, RLS
//! clauses alone and combined. Every
//! violation is returned, not the first.

mod addresses;
mod confusables;
mod content_refs;
mod db_limits;
pub mod domains;
mod duplicates;
mod guest_policies;
mod names;
mod references;
pub mod report_rules;
pub mod rls_clauses;
mod rls_combined;
pub mod rls_jinja;
mod schedules;

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::manifests::{LoadedSet, parse_path};

/// Names that already exist in Superset and may be referenced without being declared.
#[derive(Clone, Debug, Default)]
pub struct Existing {
    /// Whether these names were read from a database (changes the wording of errors).
    pub from_database: bool,
    /// Role names (besides the built-in ones).
    pub roles: BTreeSet<String>,
    /// Usernames.
    pub users: BTreeSet<String>,
    /// Group names.
    pub groups: BTreeSet<String>,
    /// Username → e-mail of the users in `users`.
    pub user_emails: BTreeMap<String, String>,
    /// Roles, users and groups Superset holds that this run's manager manages: not declared,
    /// they would be pruned, so a reference to one names that danger.
    pub managed: Managed,
    /// Database name → SQLAlchemy backend: RLS clauses are parsed in their datasets' dialect.
    pub database_backends: BTreeMap<String, String>,
}

/// Names of objects the run's manager manages in Superset, by kind.
#[derive(Clone, Debug, Default)]
pub struct Managed {
    /// The manager of the pass (`cli` unless `--manager` names another; one per Superset
    /// instance for an operator).
    pub manager: String,
    /// Role names.
    pub roles: BTreeSet<String>,
    /// Usernames.
    pub users: BTreeSet<String>,
    /// Group names.
    pub groups: BTreeSet<String>,
}

/// Runs every declared-set check, resolving references against the declared set and the
/// built-in roles only.
pub fn check_declared(set: &LoadedSet) -> Vec<Diagnostic> {
    check_declared_against(set, &Existing::default())
}

/// Runs the checks that read the declared set alone (duplicates, names, schedules, addresses,
/// database limits, content references) into the set's diagnostics, once: a pass runs them
/// while it reads Superset, and [`check_declared_against`] then leaves them out.
pub fn check_set_alone(set: &mut LoadedSet) {
    if set.checked_alone {
        return;
    }
    let mut found = Vec::new();
    set_alone(set, &mut found);
    set.diagnostics.extend(found);
    set.checked_alone = true;
}

fn set_alone(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    duplicates::check(set, found);
    names::check(set, found);
    schedules::check(set, found);
    addresses::check(set, found);
    db_limits::check(set, found);
    content_refs::check(set, found);
}

/// Runs every declared-set check not yet run; references may also name objects in `existing`.
pub fn check_declared_against(set: &LoadedSet, existing: &Existing) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    if !set.checked_alone {
        set_alone(set, &mut found);
    }
    confusables::check(set, existing, &mut found);
    references::check(set, existing, &mut found);
    // Each parsed clause is kept only as the rows it lets through (a syntax tree per filter
    // would hold tens of megabytes at org-100k until the combined check ran).
    let backends = &existing.database_backends;
    let rows = rls_clauses::check(set, backends, &mut found, rls_combined::rows_of);
    rls_combined::check(set, rows, &mut found);
    guest_policies::check(set, backends, &mut found);
    found
}

/// Attaches object `index`'s identity, the field path and its source location to `d`.
pub(crate) fn locate(set: &LoadedSet, index: usize, field: &str, d: Diagnostic) -> Diagnostic {
    d.at(set.location(index, &parse_path(field)))
        .on(set.objects[index].resource.id())
        .field(field)
}
