//! What Superset's metadata database would refuse, caught before a plan reaches it: NUL
//! characters (PostgreSQL cannot store U+0000 in text) anywhere in a manifest, and names taken
//! from `metadata.name` that are longer than their column (the schema's own `maxLength` covers
//! the `spec` fields). Uniqueness against what Superset already holds needs the database and is
//! checked when planning ([`crate::plan::unique`]).

use serde_json::Value;

use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::Kind;

/// Superset 6.1's column for each kind's name, and its length in characters.
fn name_column(kind: Kind) -> Option<(&'static str, usize)> {
    match kind {
        Kind::SupersetUser => Some(("ab_user.username", 128)),
        Kind::SupersetRole => Some(("ab_role.name", 64)),
        Kind::SupersetGroup => Some(("ab_group.name", 100)),
        Kind::RowLevelSecurityFilter => Some(("row_level_security_filters.name", 255)),
        Kind::ReportSchedule => Some(("report_schedule.name", 150)),
        Kind::GuestTokenPolicy => Some(("steward_guest_token_policy.name", 255)),
        Kind::ReportConfiguration => None,
    }
}

pub(super) fn check(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    // YAML writes a NUL only as itself or as an escape in a double-quoted scalar (`\0`, `\x00`,
    // `\u0000`, `\U00000000`): a file with neither a NUL nor a backslash holds none.
    let plain: Vec<bool> = set
        .sources
        .iter()
        .map(|source| !source.text.contains(['\0', '\\']))
        .collect();
    for (index, object) in set.objects.iter().enumerate() {
        let resource = &object.resource;
        let from_plain_text = object.source.is_some_and(|s| plain[s]);
        if from_plain_text || !may_hold_nul(resource) {
            // No string of it holds a NUL: nothing to locate.
        } else if let Ok(value) = serde_json::to_value(resource) {
            let mut paths = Vec::new();
            nul_paths(String::new(), &value, &mut paths);
            // A NUL in a name is a control character, reported once by the names check.
            let name_fields: Vec<String> = super::names::names(resource)
                .into_iter()
                .map(|(field, _)| field)
                .collect();
            paths.retain(|path| !name_fields.contains(path));
            for path in paths {
                let d = Diagnostic::error(
                    Code::OutOfRange,
                    format!("`{path}` contains a NUL character (U+0000), which Superset's database cannot store"),
                )
                .hint("remove it: in a double-quoted YAML string, `\\0` writes a NUL");
                found.push(locate(set, index, &path, d));
            }
        }
        let Some((column, limit)) = name_column(resource.kind()) else {
            continue;
        };
        let name = resource.superset_name();
        let length = name.chars().count();
        if length > limit && name == resource.metadata_name() {
            let field = resource.kind().superset_name_field();
            let d = Diagnostic::error(
                Code::OutOfRange,
                format!(
                    "the name `{}…` has {length} characters; Superset's {column} holds at most {limit}",
                    name.chars().take(24).collect::<String>()
                ),
            )
            .hint(format!(
                "set a shorter {field} (metadata.name may stay as it is)"
            ));
            found.push(locate(set, index, "metadata.name", d));
        }
    }
}

/// Whether any string of `resource` (keys included) may hold a NUL: serialised as JSON into a
/// sink that only looks for `\u0000`, the escape serde_json writes for it, with no allocation.
/// A backslash-`u0000` the user wrote shows as `\\u0000` and also matches: the precise walk
/// of [`nul_paths`] then finds nothing, so a false hit costs time, never a wrong report.
fn may_hold_nul(resource: &impl serde::Serialize) -> bool {
    struct Scan {
        found: bool,
        /// The tail of the previous write, so an escape split across writes is seen.
        tail: Vec<u8>,
    }
    impl std::io::Write for Scan {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            const NEEDLE: &[u8] = b"\\u0000";
            if !self.found {
                self.tail.extend_from_slice(buf);
                self.found = self.tail.windows(NEEDLE.len()).any(|w| w == NEEDLE);
                let keep = self.tail.len().saturating_sub(NEEDLE.len() - 1);
                self.tail.drain(..keep);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut scan = Scan {
        found: false,
        tail: Vec::new(),
    };
    // A value that does not serialise is checked the precise way.
    serde_json::to_writer(&mut scan, resource).is_err() || scan.found
}

/// Paths (`spec.firstName`, `spec.recipients.email.to[0]`) of the strings in `value` that hold
/// a NUL, keys included.
fn nul_paths(path: String, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('\0') => out.push(path),
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = match path.is_empty() {
                    true => key.clone(),
                    false => format!("{path}.{key}"),
                };
                if key.contains('\0') {
                    out.push(child_path);
                } else {
                    nul_paths(child_path, child, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_paths(format!("{path}[{i}]"), item, out);
            }
        }
        _ => {}
    }
}
