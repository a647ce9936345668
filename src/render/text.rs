//! The plan as text for a terminal or a CI log: a summary line, then one block per change with
//! its field-level detail; long text values as unified diffs. Styled with ANSI colours, which
//! the CLI's output stream strips when it is not a terminal or `NO_COLOR` is set. Webhook URLs
//! are already redacted by the model. Names and values are untrusted: control, bidi and
//! invisible characters in them are shown escaped (`crate::escape::terminal`), so they can
//! neither drive the terminal nor start a line of their own.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::long_text::{is_long, unified_diff};
use crate::escape::{terminal, terminal_code};
use crate::impact::{AccessImpact, Rows};
use crate::plan::target::Targeting;
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

/// `Targeted plan (--target A, --target B): 3 change(s) of the full plan left out …`.
fn describe(targeting: &Targeting) -> String {
    let targets: Vec<String> = targeting
        .targets
        .iter()
        .map(|t| format!("--target {t}"))
        .collect();
    format!(
        "Targeted plan ({}): {} change(s) of the full plan left out; nothing outside the targets is pruned.",
        targets.join(", "),
        targeting.omitted
    )
}

/// Renders `plan`; `verbose` also lists the fields of created and deleted objects.
pub fn render_text(plan: &Plan, verbose: bool) -> String {
    let mut out = String::new();
    if let Some(targeting) = &plan.targeting {
        out.push_str(&describe(targeting));
        out.push('\n');
    }
    if plan.is_empty() {
        out.push_str(match plan.targeting {
            Some(_) => "No changes for the targeted objects.\n",
            None => "No changes: Superset matches the declared state.\n",
        });
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
            terminal(&change.label())
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

/// Renders a plan that is refused: the same blocks under a title that says so (the reasons
/// are printed before it).
pub fn render_refused(plan: &Plan, verbose: bool) -> String {
    match plan.is_empty() {
        true => "Refused: besides what is refused above, the plan changes nothing.\n".into(),
        false => render_text(plan, verbose).replacen("Plan: ", "Refused plan, not applied: ", 1),
    }
}

fn write_field(out: &mut String, action: Action, field: &FieldChange) {
    let (added, removed) = (colour(AnsiColor::Green), colour(AnsiColor::Red));
    match field {
        FieldChange::Value {
            field,
            before,
            after,
            literal,
        } => {
            // Configuration keys come from the database: escaped like values.
            let field = &*terminal(field);
            let (before, after) = (before.as_deref(), after.as_deref());
            // Numbers and booleans unquoted, as the manifest writes them.
            let show = |v: Option<&str>| match v {
                None => "(unset)".to_owned(),
                Some(v) if *literal => terminal(v).into_owned(),
                Some(v) => terminal(&format!("{v:?}")).into_owned(),
            };
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
            let _ = writeln!(out, "    {}:", terminal(field));
            for member in plus {
                let _ = writeln!(out, "      {added}+ {}{added:#}", terminal(member));
            }
            for member in minus {
                let _ = writeln!(out, "      {removed}- {}{removed:#}", terminal(member));
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
        let _ = writeln!(out, "      {style}{}{style:#}", terminal_code(line));
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
            parts.push(format!("{added}+role {}{added:#}", terminal(role)));
        }
        for role in &user.roles_lost {
            parts.push(format!("{removed}-role {}{removed:#}", terminal(role)));
        }
        let _ = writeln!(
            out,
            "  user {}: {}",
            terminal(&user.username),
            parts.join(", ")
        );
        if verbose {
            for p in &user.gained {
                let _ = writeln!(out, "      {added}+ {}{added:#}", terminal(p));
            }
            for p in &user.lost {
                let _ = writeln!(out, "      {removed}- {}{removed:#}", terminal(p));
            }
        }
    }
    let show = |rows: Rows| match rows {
        Rows::NoAccess => "(no access to the dataset)".to_owned(),
        Rows::Every => "(no filter: every row)".to_owned(),
        Rows::Only(p) => terminal(p).into_owned(),
    };
    for dataset in &impact.datasets {
        let _ = writeln!(
            out,
            "  row-level security on {}:",
            terminal(&dataset.dataset)
        );
        for (who, change) in dataset.changes() {
            let _ = writeln!(
                out,
                "    {}:\n      {removed}- {}{removed:#}\n      {added}+ {}{added:#}",
                who.describe(|name| terminal(name).into_owned()),
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
