//! Checks across the declared set that one object cannot make alone: duplicates, references
//! between objects, crontab and timezone syntax, address syntax, content references. Every
//! violation is returned, not the first.

mod addresses;
mod content_refs;
mod duplicates;
mod references;
mod schedules;

use crate::diagnostic::Diagnostic;
use crate::spec::load::{LoadedSet, parse_path};

/// Runs every declared-set check.
pub fn check_declared(set: &LoadedSet) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    duplicates::check(set, &mut found);
    references::check(set, &mut found);
    schedules::check(set, &mut found);
    addresses::check(set, &mut found);
    content_refs::check(set, &mut found);
    found
}

/// Attaches object `index`'s identity, the field path and its source location to `d`.
pub(crate) fn locate(set: &LoadedSet, index: usize, field: &str, d: Diagnostic) -> Diagnostic {
    let location = set.location(index, &parse_path(field));
    d.at(Some(location))
        .on(set.objects[index].resource.display_id())
        .field(field)
}
