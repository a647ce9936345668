//! `steward diff --output json`: the report as one JSON object (schema version 2; fields are only
//! ever added within a version). Documented in the README.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use super::{ACTIONS, DiffReport, action_verb};
use crate::cli::reasons::worded;
use crate::diagnostic::{Diagnostic, PolicyBreach};
use crate::impact::AccessImpact;
use crate::model::ObjectKey;
use crate::plan::{Action, FieldChange};
use crate::resources::ResourceId;

/// Version of the JSON diff format.
pub const DIFF_SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonDiff<'a> {
    schema_version: u32,
    against: &'a super::Against,
    /// Whether nothing may be applied.
    blocked: bool,
    /// Whether changes were planned (not when the manifests have errors).
    planned: bool,
    summary: BTreeMap<&'static str, usize>,
    by_kind: BTreeMap<&'static str, BTreeMap<&'static str, usize>>,
    policy: Vec<PolicyBreach>,
    /// Diagnostics, worded for the CLI ([`crate::cli::reasons`]).
    errors: Vec<Cow<'a, Diagnostic>>,
    warnings: Vec<Cow<'a, Diagnostic>>,
    changes: Vec<JsonChange<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impact: Option<&'a AccessImpact>,
    /// The `--target` selectors, when the plan is targeted.
    #[serde(skip_serializing_if = "Option::is_none")]
    targets: Option<&'a [String]>,
    /// Changes of the full plan a targeted plan leaves out.
    #[serde(skip_serializing_if = "Option::is_none")]
    omitted_changes: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonChange<'a> {
    kind: &'static str,
    /// The object's natural key: username, role/group/filter name, `Type:name`, `report_config`.
    name: &'a str,
    /// The Superset object: `{"kind", "key"}`.
    object: &'a ObjectKey,
    /// The declared resource behind it, absent for objects only in Superset.
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a ResourceId>,
    action: Action,
    fields: &'a [FieldChange],
    /// The natural key the object had before this change renamed it in place (same id).
    #[serde(skip_serializing_if = "Option::is_none")]
    renamed_from: Option<&'a str>,
}

/// The report as pretty-printed JSON.
pub fn render_json(report: &DiffReport) -> String {
    let counts = |counts: &[usize; 5]| -> BTreeMap<&'static str, usize> {
        ACTIONS
            .iter()
            .zip(counts)
            .map(|(a, n)| (action_verb(*a), *n))
            .collect()
    };
    let mut total = [0; 5];
    let by_kind = report
        .counts_by_kind()
        .into_iter()
        .map(|(kind, c)| {
            for (t, n) in total.iter_mut().zip(c) {
                *t += n;
            }
            (kind.as_str(), counts(&c))
        })
        .collect();
    let diff = JsonDiff {
        schema_version: DIFF_SCHEMA_VERSION,
        against: report.against,
        blocked: report.blocked(),
        planned: report.planned(),
        summary: counts(&total),
        by_kind,
        policy: report.policy.iter().map(|v| v.breach()).collect(),
        errors: report.blocking_errors().map(worded).collect(),
        warnings: report
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .map(worded)
            .collect(),
        changes: report
            .plan
            .changes
            .iter()
            .map(|c| JsonChange {
                kind: c.key.kind.as_str(),
                name: &c.key.key,
                object: &c.key,
                resource: c.resource.as_ref(),
                action: c.action,
                fields: &c.fields,
                renamed_from: c.renamed_from.as_deref(),
            })
            .collect(),
        impact: report.impact,
        targets: report.plan.targeting.as_ref().map(|t| &t.targets[..]),
        omitted_changes: report.plan.targeting.as_ref().map(|t| t.omitted),
    };
    serde_json::to_string_pretty(&diff).expect("the report serialises")
}
