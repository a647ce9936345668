//! The plan as text for a terminal or a CI log: a summary line, then one block per change with
//! its field-level detail; long text values as unified diffs. Styled with ANSI colours, which
//! the CLI's output stream strips when it is not a terminal or `NO_COLOR` is set. Webhook URLs
//! are already redacted by the model.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::long_text::{is_long, unified_diff};
use crate::impact::{AccessImpact, Rows};
use crate::plan::user_deletion::is_detaches;
use crate::plan::{Action, FieldChange, Plan};

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn colour(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

fn action_style(action: Action) -> Style {
    match action {
        Action::Create => colour(AnsiColor::Green),
        Action::Adopt => colour(AnsiColor::Cyan),
        Action::Update => colour(AnsiColor::Yellow),
        Action::Delete => colour(AnsiColor::Red),
        Action::Forget => DIM,
    }
}

/// Renders `plan`; `verbose` also lists the fields of created and deleted objects.
pub fn render_text(plan: &Plan, verbose: bool) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str("No changes: Superset matches the declared state.\n");
        return out;
    }
    let counts: Vec<String> = super::ACTIONS
        .iter()
        .filter_map(|action| {
            let n = plan.count(*action);
            (n > 0).then(|| format!("{n} to {}", super::action_verb(*action)))
        })
        .collect();
    let _ = writeln!(out, "{BOLD}Plan: {}.{BOLD:#}", counts.join(", "));
    for change in &plan.changes {
        let style = action_style(change.action);
        let _ = writeln!(
            out,
            "{style}{}{style:#} {}",
            change.action.sign(),
            change.key
        );
        let detail = verbose || matches!(change.action, Action::Update | Action::Adopt);
        if change.action == Action::Forget {
            let _ = writeln!(
                out,
                "    {DIM}(gone from Superset; its ledger entry is removed){DIM:#}"
            );
        }
        if !detail {
            // What a deletion detaches is shown without --verbose too.
            for field in change.fields.iter().filter(|f| is_detaches(f)) {
                write_field(&mut out, change.action, field);
            }
            continue;
        }
        for field in &change.fields {
            write_field(&mut out, change.action, field);
        }
    }
    out
}

fn write_field(out: &mut String, action: Action, field: &FieldChange) {
    let (added, removed) = (colour(AnsiColor::Green), colour(AnsiColor::Red));
    match field {
        FieldChange::Value {
            field,
            before,
            after,
        } => {
            let (before, after) = (before.as_deref(), after.as_deref());
            let show = |v: Option<&str>| v.map_or("(unset)".to_owned(), |v| format!("{v:?}"));
            match action {
                Action::Create if is_long(after) => long(out, field, None, after),
                Action::Delete if is_long(before) => long(out, field, before, None),
                Action::Create => {
                    let _ = writeln!(out, "    {field}: {}", show(after));
                }
                Action::Delete => {
                    let _ = writeln!(out, "    {field}: {}", show(before));
                }
                _ if is_long(before) || is_long(after) => long(out, field, before, after),
                _ => {
                    let _ = writeln!(
                        out,
                        "    {field}: {removed}{}{removed:#} → {added}{}{added:#}",
                        show(before),
                        show(after)
                    );
                }
            }
        }
        FieldChange::Members {
            field,
            added: plus,
            removed: minus,
        } => {
            let _ = writeln!(out, "    {field}:");
            for member in plus {
                let _ = writeln!(out, "      {added}+ {member}{added:#}");
            }
            for member in minus {
                let _ = writeln!(out, "      {removed}- {member}{removed:#}");
            }
        }
    }
}

/// A long value: its unified diff, indented, with coloured `+`/`-` lines.
fn long(out: &mut String, field: &str, before: Option<&str>, after: Option<&str>) {
    let (added, removed) = (colour(AnsiColor::Green), colour(AnsiColor::Red));
    let _ = writeln!(out, "    {field}:");
    for line in unified_diff(before, after).lines() {
        let style = match line.chars().next() {
            Some('+') => added,
            Some('-') => removed,
            Some('@') => DIM,
            _ => Style::new(),
        };
        let _ = writeln!(out, "      {style}{line}{style:#}");
    }
}

/// Who gains or loses access: per user the counts (and with `verbose` every permission), per
/// dataset the row-level-security predicate before and after for each role and user.
pub fn render_impact(impact: &AccessImpact, verbose: bool) -> String {
    let mut out = String::new();
    if impact.is_empty() {
        return out;
    }
    let (added, removed) = (colour(AnsiColor::Green), colour(AnsiColor::Red));
    let _ = writeln!(out, "{BOLD}Access impact:{BOLD:#}");
    for user in &impact.users {
        let mut parts = Vec::new();
        if !user.gained.is_empty() {
            parts.push(format!(
                "{added}+{} permission(s){added:#}",
                user.gained.len()
            ));
        }
        if !user.lost.is_empty() {
            parts.push(format!(
                "{removed}-{} permission(s){removed:#}",
                user.lost.len()
            ));
        }
        for role in &user.roles_gained {
            parts.push(format!("{added}+role {role}{added:#}"));
        }
        for role in &user.roles_lost {
            parts.push(format!("{removed}-role {role}{removed:#}"));
        }
        let _ = writeln!(out, "  user {}: {}", user.username, parts.join(", "));
        if verbose {
            for p in &user.gained {
                let _ = writeln!(out, "      {added}+ {p}{added:#}");
            }
            for p in &user.lost {
                let _ = writeln!(out, "      {removed}- {p}{removed:#}");
            }
        }
    }
    let show = |rows: Rows| match rows {
        Rows::NoAccess => "(no access to the dataset)".to_owned(),
        Rows::Every => "(no filter: every row)".to_owned(),
        Rows::Only(p) => p.to_owned(),
    };
    for dataset in &impact.datasets {
        let _ = writeln!(out, "  row-level security on {}:", dataset.dataset);
        for (who, change) in dataset.changes() {
            let _ = writeln!(
                out,
                "    {}:\n      {removed}- {}{removed:#}\n      {added}+ {}{added:#}",
                who.describe(str::to_owned),
                show(change.rows_before()),
                show(change.rows_after())
            );
        }
        if dataset.more_users > 0 {
            let _ = writeln!(out, "    … and {} more users", dataset.more_users);
        }
    }
    out
}
