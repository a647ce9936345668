//! Exported objects as the files of an export directory: `kind-dir/metadata-name.yaml`, two
//! names that make one file name told apart by `-2` …, and each file's text: a header comment
//! then the resource, all of it through the YAML serializer or escaped (a name never reaches the
//! file raw, so it cannot end the comment and start a document of its own). Names that no
//! manifest can hold (control characters) are refused. Pure.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Exported, to_yaml};
use crate::escape::is_hidden;
use crate::resources::Kind;

/// The first words of every file an export writes: how a file export wrote is recognised.
pub const HEADER_START: &str = "# Exported by steward ";

/// One file of the export.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportFile {
    /// `roles/finance-analyst.yaml`.
    pub path: String,
    /// The object's kind.
    pub kind: Kind,
    /// Its Superset name.
    pub name: String,
    /// The file's text.
    pub text: String,
    /// Whether it holds a webhook URL (which may carry a token).
    pub has_webhook: bool,
}

/// An object left out of the export, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The object's kind.
    pub kind: Kind,
    /// Its Superset name.
    pub name: String,
    /// Why it cannot be exported.
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} was not exported: {}",
            self.kind,
            quoted(&self.name, 120),
            self.reason
        )
    }
}

/// The files for `objects`, exported from `source` (a redacted database URL), and the objects
/// refused.
pub fn export_files(objects: &[Exported], source: &str) -> (Vec<ExportFile>, Vec<Refusal>) {
    let mut files = Vec::new();
    let mut refused = Vec::new();
    let mut taken = BTreeSet::new();
    for object in objects {
        if let Some((at, c)) = object.name.char_indices().find(|(_, c)| is_hidden(*c)) {
            refused.push(Refusal {
                kind: object.kind,
                name: object.name.clone(),
                reason: format!(
                    "its name holds the control or invisible character U+{:04X} at byte {at}, which manifests may not hold (validation refuses them); rename it in Superset",
                    c as u32
                ),
            });
            continue;
        }
        let mut resource = object.resource.clone();
        let dir = object.kind.short_name();
        let base = resource["metadata"]["name"]
            .as_str()
            .unwrap_or("object")
            .to_owned();
        // Two names that make one file name (`Finance Analyst`, `finance-analyst`) get -2 …
        let mut stem = base.clone();
        let mut n = 2;
        while !taken.insert(format!("{dir}/{stem}")) {
            stem = format!("{base}-{n}");
            n += 1;
        }
        if stem != base {
            resource["metadata"]["name"] = json!(stem);
            let field = if object.kind == Kind::SupersetUser {
                "username"
            } else {
                "name"
            };
            if resource["spec"].get(field).is_none() {
                resource["spec"][field] = json!(object.name);
            }
        }
        let yaml = match to_yaml(object.kind, &resource) {
            Ok(yaml) => yaml,
            Err(e) => {
                refused.push(Refusal {
                    kind: object.kind,
                    name: object.name.clone(),
                    reason: format!("it does not fit its schema: {e}"),
                });
                continue;
            }
        };
        let text = format!(
            "{HEADER_START}{} from {}: {} {}.\n# `steward apply --adopt` takes ownership of it.\n{yaml}",
            env!("CARGO_PKG_VERSION"),
            quoted(source, usize::MAX),
            object.kind,
            quoted(&object.name, usize::MAX),
        );
        files.push(ExportFile {
            path: format!("{dir}/{stem}.yaml"),
            kind: object.kind,
            name: object.name.clone(),
            text,
            has_webhook: !resource["spec"]["recipients"]["webhook"].is_null(),
        });
    }
    (files, refused)
}

/// `text` as a one-line YAML double-quoted string, safe in a comment and on a terminal: ASCII
/// printable characters and non-ASCII letters and digits as they are, `"` and `\` escaped,
/// everything else (control characters, line and paragraph separators, byte-order marks,
/// invisible formatting) as `\xNN`, `\uNNNN` or `\UNNNNNNNN`. Longer than `max` characters, it
/// is cut with `…` after the quote.
pub fn quoted(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push_str("\"…");
            return out;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if !c.is_ascii() && c.is_alphanumeric() => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_names_stay_on_one_line_and_read_back_as_yaml() {
        for name in [
            "q\n---\nkind: SupersetGroup",
            "a\"b\\c",
            "tab\there",
            "cr\rhere",
            "ls\u{2028}ps\u{2029}nel\u{85}",
            "\u{FEFF}bom",
            "Análise 数据",
            "emoji 🙂",
            "nul\0",
        ] {
            let q = quoted(name, usize::MAX);
            assert!(
                !q.chars()
                    .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')),
                "{q}"
            );
            let back: String = serde_saphyr::from_str(&q).unwrap();
            assert_eq!(back, name);
        }
        assert_eq!(quoted("abcdef", 3), "\"abc\"…");
    }
}
