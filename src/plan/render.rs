//! The plan as text for a terminal or a CI log: a summary line, then one block per change with
//! its field-level detail. Long values are shown in full; webhook URLs are already redacted by
//! the model.

use std::fmt::Write;

use super::{Action, FieldChange, Plan};

/// Renders `plan`; `verbose` also lists the fields of created and deleted objects.
pub fn render_text(plan: &Plan, verbose: bool) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str("No changes: Superset matches the declared state.\n");
        return out;
    }
    let counts: Vec<String> = [
        (Action::Create, "to create"),
        (Action::Adopt, "to adopt"),
        (Action::Update, "to update"),
        (Action::Delete, "to delete"),
        (Action::Forget, "to forget"),
    ]
    .iter()
    .filter_map(|(action, label)| {
        let n = plan.count(*action);
        (n > 0).then(|| format!("{n} {label}"))
    })
    .collect();
    let _ = writeln!(out, "Plan: {}.", counts.join(", "));
    for change in &plan.changes {
        let _ = writeln!(out, "{} {}", change.action.sign(), change.key);
        let detail = verbose || matches!(change.action, Action::Update | Action::Adopt);
        if change.action == Action::Forget {
            let _ = writeln!(out, "    (gone from Superset; its ledger entry is removed)");
        }
        if !detail {
            continue;
        }
        for field in &change.fields {
            match field {
                FieldChange::Value {
                    field,
                    before,
                    after,
                } => {
                    let show =
                        |v: &Option<String>| v.as_deref().map_or("(unset)".to_owned(), quote);
                    let _ = match change.action {
                        Action::Create => writeln!(out, "    {field}: {}", show(after)),
                        Action::Delete => writeln!(out, "    {field}: {}", show(before)),
                        _ => writeln!(out, "    {field}: {} → {}", show(before), show(after)),
                    };
                }
                FieldChange::Members {
                    field,
                    added,
                    removed,
                } => {
                    let _ = writeln!(out, "    {field}:");
                    for member in added {
                        let _ = writeln!(out, "      + {member}");
                    }
                    for member in removed {
                        let _ = writeln!(out, "      - {member}");
                    }
                }
            }
        }
    }
    out
}

fn quote(value: &str) -> String {
    if value.contains('\n') {
        let indented: Vec<String> = value.lines().map(|l| format!("      | {l}")).collect();
        format!("\n{}", indented.join("\n"))
    } else {
        format!("{value:?}")
    }
}
