//! What `diff` shows, in three forms: text for terminals and CI logs (coloured when the terminal
//! allows), Markdown for a pull-request comment (within a size budget), and JSON for machines
//! (a documented, versioned schema). Pure: builds strings, prints nothing.

pub mod json;
mod long_text;
mod markdown;
mod text;

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::impact::AccessImpact;
use crate::plan::{Action, Plan};
use crate::policy::report_rules::Violation;
use crate::resources::Kind;

pub use markdown::{MARKDOWN_BUDGET, render_markdown};
pub use text::{render_impact, render_refused, render_text};

/// What the manifests were compared with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Against {
    /// `database`, `snapshot` or `git revision`.
    pub kind: &'static str,
    /// The database URL (password removed), the snapshot file, or the revision.
    pub name: String,
}

/// Everything one `diff` found.
#[derive(Clone, Copy, Debug)]
pub struct DiffReport<'a> {
    /// What the manifests were compared with.
    pub against: &'a Against,
    /// The changes.
    pub plan: &'a Plan,
    /// Schedules that break the Alerts & Reports configuration.
    pub policy: &'a [Violation],
    /// Every finding about the input (errors block the plan; warnings do not).
    pub diagnostics: &'a [Diagnostic],
    /// Who gains or loses access (absent when hidden with `--impact off`).
    pub impact: Option<&'a AccessImpact>,
}

/// The actions in display order.
pub const ACTIONS: [Action; 5] = [
    Action::Create,
    Action::Adopt,
    Action::Update,
    Action::Delete,
    Action::Forget,
];

impl DiffReport<'_> {
    /// Whether nothing may be applied: input errors, policy breaches or refusals.
    pub fn blocked(&self) -> bool {
        crate::engine::is_blocked(self.diagnostics, &self.plan.refusals, self.policy)
    }

    /// Errors and refusals; policy breaches are left out when they have their own section.
    pub fn blocking_errors(&self) -> impl Iterator<Item = &Diagnostic> {
        let own_section = !self.policy.is_empty();
        self.diagnostics
            .iter()
            .filter(move |d| d.is_error() && !(own_section && d.breach.is_some()))
            .chain(self.plan.refusals.iter())
    }

    /// Change counts per kind, in [`ACTIONS`] order.
    pub fn counts_by_kind(&self) -> BTreeMap<Kind, [usize; 5]> {
        let mut counts: BTreeMap<Kind, [usize; 5]> = BTreeMap::new();
        for change in &self.plan.changes {
            let slot = ACTIONS
                .iter()
                .position(|a| *a == change.action)
                .expect("every action is listed");
            counts.entry(change.key.kind).or_default()[slot] += 1;
        }
        counts
    }

    /// Whether a plan was made (not when the manifests have errors of their own).
    pub fn planned(&self) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.breach.is_none())
    }

    /// What blocks the plan: errors, refusals and policy breaches, each counted once.
    pub fn problems(&self) -> usize {
        self.blocking_errors().count() + self.policy.len()
    }

    /// `3 to create, 1 to update`, or `no changes`; a blocked plan says it is refused first.
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = ACTIONS
            .iter()
            .filter_map(|action| {
                let n = self.plan.count(*action);
                (n > 0).then(|| format!("{n} to {}", action_verb(*action)))
            })
            .collect();
        let changes = match parts.is_empty() {
            true => "no changes".into(),
            false => parts.join(", "),
        };
        if !self.blocked() {
            return changes;
        }
        let n = self.problems();
        let problems = format!("refused, {n} problem{}", if n == 1 { "" } else { "s" });
        match (self.planned(), parts.is_empty()) {
            (false, _) => format!("{problems}; not planned"),
            (true, true) => format!("{problems}; no other changes"),
            (true, false) => format!("{problems}; would {changes}"),
        }
    }
}

/// `create`, `adopt` …
pub fn action_verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Adopt => "adopt",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Forget => "forget",
    }
}
