//! `steward diff --output markdown`: a pull-request comment. What blocks the plan (policy
//! breaches, errors) comes first, then a summary table of counts per kind and action, then one
//! collapsible section per kind; long text values as unified diffs. The comment never exceeds
//! [`MARKDOWN_BUDGET`] characters: past it, items are left out and a note says how many, and
//! that the JSON output holds everything. Every name and value from manifests or Superset is
//! untrusted: it lands in code spans (pipes escaped in table cells), escaped prose or escaped
//! HTML text (`crate::escape`), never raw.

use std::fmt::Write;

use super::long_text::{is_long, unified_diff};
use super::{ACTIONS, DiffReport, action_verb};
use crate::diagnostic::Diagnostic;
use crate::escape::{html_text, md_cell_code, md_code as code, md_fence, md_text, terminal_code};
use crate::impact::{AccessImpact, Rows};
use crate::plan::user_deletion::is_detaches;
use crate::plan::{Action, Change, FieldChange};
use crate::resources::Kind;

/// The largest comment, in characters (GitHub refuses comments over 65,536).
pub const MARKDOWN_BUDGET: usize = 60_000;

/// Kept free for closing tags and the truncation note.
const RESERVE: usize = 1_500;

/// A document that stops taking items at its budget and counts what it left out.
struct Budgeted {
    out: String,
    /// Characters in `out`.
    length: usize,
    limit: usize,
    left_out: usize,
}

impl Budgeted {
    /// Adds structure (headings, closing tags) whatever the budget.
    fn always(&mut self, text: &str) {
        self.out.push_str(text);
        self.length += text.chars().count();
    }

    /// Adds one item if it fits.
    fn item(&mut self, text: &str) {
        let length = text.chars().count();
        if self.left_out == 0 && self.length + length <= self.limit {
            self.out.push_str(text);
            self.length += length;
        } else {
            self.left_out += 1;
        }
    }
}

/// Renders the report as a Markdown PR comment.
pub fn render_markdown(report: &DiffReport) -> String {
    let mut doc = Budgeted {
        out: String::new(),
        length: 0,
        limit: MARKDOWN_BUDGET - RESERVE,
        left_out: 0,
    };
    doc.always(&format!(
        "### steward diff: {}\n\nCompared with the {} {}.\n\n",
        report.summary_line(),
        report.against.kind,
        code(&report.against.name)
    ));
    if let Some(targeting) = &report.plan.targeting {
        let targets: Vec<String> = targeting.targets.iter().map(|t| code(t)).collect();
        doc.always(&format!(
            "> [!NOTE]\n> **Targeted plan** ({}): {} change(s) of the full plan left out; nothing outside the targets is pruned.\n\n",
            targets.join(", "),
            targeting.omitted
        ));
    }
    if report.blocked() {
        doc.always(
            "> [!CAUTION]\n> **Blocked**: nothing will be applied until the problems below are fixed.\n\n",
        );
    }
    // The reasons a plan is refused come before the changes it would make.
    policy_section(&mut doc, report);
    errors_section(&mut doc, report);
    summary_table(&mut doc, report);
    if let Some(impact) = report.impact {
        impact_section(&mut doc, impact);
    }
    for kind in Kind::ALL {
        let changes: Vec<&Change> = report
            .plan
            .changes
            .iter()
            .filter(|c| c.key.kind == kind)
            .collect();
        if changes.is_empty() {
            continue;
        }
        let counts = report.counts_by_kind()[&kind];
        let what: Vec<String> = ACTIONS
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(a, n)| format!("{n} to {}", action_verb(*a)))
            .collect();
        doc.always(&format!(
            "<details><summary><b>{kind}</b>: {}</summary>\n\n",
            what.join(", ")
        ));
        for change in changes {
            doc.item(&change_item(change));
        }
        doc.always("\n</details>\n\n");
    }
    warnings_section(&mut doc, report);
    if doc.left_out > 0 {
        let _ = write!(
            doc.out,
            "> [!NOTE]\n> This comment stops at {MARKDOWN_BUDGET} characters: {} more item{} left out. \
             The full report is in the JSON output (`steward diff --output json`), kept as a CI artifact.\n",
            doc.left_out,
            if doc.left_out == 1 { " is" } else { "s are" }
        );
    }
    doc.out
}

fn summary_table(doc: &mut Budgeted, report: &DiffReport) {
    let by_kind = report.counts_by_kind();
    if by_kind.is_empty() {
        doc.always(match (report.blocked(), report.planned()) {
            (false, _) => "No changes: Superset matches the declared state.\n\n",
            (true, false) => "Not planned: the manifests have errors.\n\n",
            (true, true) => "Besides what is refused above, the plan changes nothing.\n\n",
        });
        return;
    }
    doc.always("| Kind | Create | Adopt | Update | Delete | Forget |\n|---|--:|--:|--:|--:|--:|\n");
    let mut total = [0; 5];
    for (kind, counts) in &by_kind {
        let cells: Vec<String> = counts.iter().map(usize::to_string).collect();
        doc.always(&format!("| {kind} | {} |\n", cells.join(" | ")));
        for (t, n) in total.iter_mut().zip(counts) {
            *t += n;
        }
    }
    let cells: Vec<String> = total.iter().map(|n| format!("**{n}**")).collect();
    doc.always(&format!("| **Total** | {} |\n\n", cells.join(" | ")));
}

fn policy_section(doc: &mut Budgeted, report: &DiffReport) {
    if report.policy.is_empty() {
        return;
    }
    doc.always(&format!(
        "#### Blocked by the Alerts & Reports configuration\n\n{} breach{} of the global configuration (SIP-209):\n\n\
         | Type | Schedule | Reason | Detail |\n|---|---|---|---|\n",
        report.policy.len(),
        if report.policy.len() == 1 { "" } else { "es" }
    ));
    for v in report.policy {
        let (kind, name) = v.type_and_name();
        doc.item(&format!(
            "| {} | {} | {} | {} |\n",
            md_text(kind),
            md_cell_code(name),
            v.reason.as_str(),
            md_text(&v.detail)
        ));
    }
    doc.always("\n");
}

/// At most this many permissions per table cell.
const LISTED: usize = 8;

fn impact_section(doc: &mut Budgeted, impact: &AccessImpact) {
    if impact.is_empty() {
        return;
    }
    doc.always("#### Access impact\n\n");
    if !impact.users.is_empty() {
        doc.always(&format!(
            "<details open><summary>{} user{} gain or lose access</summary>\n\n\
             | User | Roles | Permissions gained | Permissions lost |\n|---|---|---|---|\n",
            impact.users.len(),
            if impact.users.len() == 1 { "" } else { "s" }
        ));
        for user in &impact.users {
            let roles: Vec<String> = user
                .roles_gained
                .iter()
                .map(|r| format!("+{}", md_cell_code(r)))
                .chain(
                    user.roles_lost
                        .iter()
                        .map(|r| format!("−{}", md_cell_code(r))),
                )
                .collect();
            doc.item(&format!(
                "| {} | {} | {} | {} |\n",
                md_cell_code(&user.username),
                roles.join(" "),
                listed(&user.gained),
                listed(&user.lost)
            ));
        }
        doc.always("\n</details>\n\n");
    }
    // One item per dataset: a section is shown whole or left out.
    for dataset in &impact.datasets {
        let mut section = format!(
            "<details><summary>Row-level security on <code>{}</code></summary>\n\n| Who | Before | After |\n|---|---|---|\n",
            html_text(&dataset.dataset)
        );
        let show = |rows: Rows| match rows {
            Rows::Only(p) => md_cell_code(p),
            Rows::Every => "*(every row)*".to_owned(),
            Rows::NoAccess => "*(no access)*".to_owned(),
        };
        for (who, change) in dataset.changes() {
            let _ = writeln!(
                section,
                "| {} | {} | {} |",
                who.describe(md_cell_code),
                show(change.rows_before()),
                show(change.rows_after())
            );
        }
        if dataset.more_users > 0 {
            let _ = writeln!(section, "| … and {} more users | | |", dataset.more_users);
        }
        section.push_str("\n</details>\n\n");
        doc.item(&section);
    }
}

/// Up to [`LISTED`] items as code spans in a table cell, then how many more.
fn listed(items: &[String]) -> String {
    let mut shown: Vec<String> = items.iter().take(LISTED).map(|i| md_cell_code(i)).collect();
    if items.len() > LISTED {
        shown.push(format!("… and {} more", items.len() - LISTED));
    }
    shown.join("<br>")
}

fn errors_section(doc: &mut Budgeted, report: &DiffReport) {
    let errors: Vec<&Diagnostic> = report.blocking_errors().collect();
    if errors.is_empty() {
        return;
    }
    doc.always(&format!("#### Errors ({})\n\n", errors.len()));
    for d in errors {
        doc.item(&diagnostic_item(d));
    }
    doc.always("\n");
}

fn warnings_section(doc: &mut Budgeted, report: &DiffReport) {
    let warnings: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .collect();
    if warnings.is_empty() {
        return;
    }
    doc.always(&format!(
        "<details><summary>{} warning{}</summary>\n\n",
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" }
    ));
    for d in warnings {
        doc.item(&diagnostic_item(d));
    }
    doc.always("\n</details>\n\n");
}

fn diagnostic_item(d: &Diagnostic) -> String {
    let d = &*crate::cli::reasons::worded(d);
    let mut item = format!("- {} {}", code(d.code.as_str()), md_text(&d.message));
    let place: Vec<String> = [
        d.location.as_ref().map(|l| l.to_string()),
        d.subject(),
        d.field.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|p| code(&p))
    .collect();
    if !place.is_empty() {
        let _ = write!(item, " ({})", place.join(", "));
    }
    if let Some(hint) = &d.hint {
        let _ = write!(item, ". Hint: {}", md_text(hint));
    }
    item.push('\n');
    item
}

fn change_item(change: &Change) -> String {
    let named = |key: &str| match change.key.kind {
        Kind::ReportConfiguration => code("ReportConfiguration"),
        Kind::ReportSchedule => match key.split_once(':') {
            Some((kind, name)) => format!("{} ({})", code(name), md_text(kind)),
            None => code(key),
        },
        _ => code(key),
    };
    let name = match &change.renamed_from {
        Some(old) => format!("{} → {}", named(old), named(&change.key.key)),
        None => named(&change.key.key),
    };
    let mut item = format!(
        "- **{}** {name}: {}\n",
        change.action.sign(),
        action_verb(change.action)
    );
    match change.action {
        Action::Delete => {
            for field in change.fields.iter().filter(|f| is_detaches(f)) {
                field_item(&mut item, change.action, field);
            }
        }
        Action::Forget => item.push_str("  - gone from Superset; its ledger entry is removed\n"),
        _ => {
            for field in &change.fields {
                field_item(&mut item, change.action, field);
            }
        }
    }
    item
}

fn field_item(out: &mut String, action: Action, field: &FieldChange) {
    match field {
        FieldChange::Value {
            field,
            before,
            after,
            ..
        } => {
            let (before, after) = (before.as_deref(), after.as_deref());
            if is_long(before) || is_long(after) {
                let before = if action == Action::Create {
                    None
                } else {
                    before
                };
                let diff = unified_diff(before, after);
                let fence = md_fence(&diff);
                let _ = write!(out, "  - {}:\n\n    {fence}diff\n", code(field));
                for line in diff.lines() {
                    let _ = writeln!(out, "    {}", terminal_code(line));
                }
                let _ = write!(out, "    {fence}\n\n");
                return;
            }
            let show = |v: Option<&str>| v.map_or("*(unset)*".to_owned(), code);
            let _ = match action {
                Action::Create => writeln!(out, "  - {}: {}", code(field), show(after)),
                Action::Delete => writeln!(out, "  - {}: {}", code(field), show(before)),
                _ => writeln!(
                    out,
                    "  - {}: {} → {}",
                    code(field),
                    show(before),
                    show(after)
                ),
            };
        }
        FieldChange::Members {
            field,
            added,
            removed,
        } => {
            let list = |items: &[String]| -> String {
                items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
            };
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("added {}", list(added)));
            }
            if !removed.is_empty() {
                parts.push(format!("removed {}", list(removed)));
            }
            let _ = writeln!(out, "  - {}: {}", code(field), parts.join("; "));
        }
    }
}
