//! `steward validate`: load, check, report.

use serde::Serialize;

use super::{EXIT_INVALID, EXIT_OK, Output};
use crate::diagnostic::{Diagnostic, render_text};
use crate::manifests::LoadedSet;
use crate::manifests::ManifestCache;

/// Version of the JSON report format (`steward validate --output json`).
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// The JSON report of `steward validate --output json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    schema_version: u32,
    valid: bool,
    summary: Summary,
    /// Worded for the CLI ([`super::reasons`]).
    diagnostics: Vec<std::borrow::Cow<'a, Diagnostic>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    files: usize,
    documents: usize,
    objects: usize,
    errors: usize,
    warnings: usize,
}

pub(super) fn run(paths: &[String], output: Output, cache: &ManifestCache) -> anyhow::Result<u8> {
    let set = super::validated(paths, cache);
    let errors = set.diagnostics.iter().filter(|d| d.is_error()).count();
    let summary = Summary {
        files: set.sources.len(),
        documents: set.documents,
        objects: set.objects.len(),
        errors,
        warnings: set.diagnostics.len() - errors,
    };
    match output {
        Output::Json => {
            let report = Report {
                schema_version: REPORT_SCHEMA_VERSION,
                valid: errors == 0,
                summary,
                diagnostics: set.diagnostics.iter().map(super::reasons::worded).collect(),
            };
            dataln!("{}", serde_json::to_string_pretty(&report)?);
        }
        Output::Text => print_text(&set, &summary),
    }
    Ok(if errors == 0 { EXIT_OK } else { EXIT_INVALID })
}

fn print_text(set: &LoadedSet, summary: &Summary) {
    for d in &set.diagnostics {
        let line = d.location.as_ref().and_then(|l| set.source_line(l));
        errln!("{}", render_text(d, line));
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let verdict = if summary.errors == 0 {
        "valid".to_owned()
    } else {
        format!("invalid: {}", plural(summary.errors, "error"))
    };
    let warnings = if summary.warnings > 0 {
        format!(", {}", plural(summary.warnings, "warning"))
    } else {
        String::new()
    };
    outln!(
        "{} in {}: {verdict}{warnings}",
        plural(summary.objects, "object"),
        plural(summary.files, "file"),
    );
}
