//! The export's own proof that its files say what it meant: every file is read back through the
//! manifest loader (the one `validate` and `apply` use), and a file that does not load cleanly
//! as exactly one object of the exported kind and name is refused instead of written. Whatever a
//! name holds, an export can then never declare an object that Superset does not hold.

use super::files::{ExportFile, Refusal, quoted};
use crate::manifests::{SourceFile, load_sources};

/// Keeps the files that read back as their object; the others become refusals.
pub fn read_back(files: Vec<ExportFile>) -> (Vec<ExportFile>, Vec<Refusal>) {
    let sources = files
        .iter()
        .map(|f| SourceFile {
            name: f.path.clone(),
            text: f.text.clone(),
        })
        .collect();
    let set = load_sources(sources);
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for (index, file) in files.into_iter().enumerate() {
        let objects: Vec<_> = set
            .objects
            .iter()
            .filter(|o| o.source == Some(index))
            .collect();
        let problem = set
            .diagnostics
            .iter()
            .find(|d| d.is_error() && d.location.as_ref().is_some_and(|l| l.file == file.path));
        let reason = match (problem, objects.as_slice()) {
            (Some(d), _) => Some(format!(
                "its manifest would not validate ({}{})",
                quoted(&d.message, 300),
                d.field
                    .as_deref()
                    .map(|f| format!(", at {f}"))
                    .unwrap_or_default()
            )),
            (None, [object])
                if object.resource.kind() == file.kind
                    && object.resource.superset_name() == file.name =>
            {
                None
            }
            (None, found) => Some(format!(
                "its manifest reads back as {} object(s), not as itself",
                found.len()
            )),
        };
        match reason {
            None => kept.push(file),
            Some(reason) => refused.push(Refusal {
                kind: file.kind,
                name: file.name,
                reason,
            }),
        }
    }
    (kept, refused)
}
