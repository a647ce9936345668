//! Long text values (alert SQL, RLS clauses, messages) shown as unified diffs (`similar`)
//! rather than as two walls of text.

use similar::TextDiff;

/// Whether a value is long enough to be shown as a diff.
pub(super) fn is_long(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.contains('\n') || v.chars().count() > 60)
}

/// The unified diff of two values (either may be absent), three lines of context.
pub(super) fn unified_diff(before: Option<&str>, after: Option<&str>) -> String {
    let (before, after) = (with_newline(before), with_newline(after));
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .to_string()
}

fn with_newline(value: Option<&str>) -> String {
    match value {
        None => String::new(),
        Some(v) if v.ends_with('\n') => v.to_owned(),
        Some(v) => format!("{v}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_lines_only() {
        let diff = unified_diff(
            Some("SELECT count(*)\nFROM invoices\nWHERE overdue"),
            Some("SELECT count(*)\nFROM invoices\nWHERE overdue AND amount > 0"),
        );
        assert!(
            diff.contains("-WHERE overdue\n+WHERE overdue AND amount > 0\n"),
            "{diff}"
        );
        assert!(unified_diff(None, Some("a")).contains("+a"));
        assert!(is_long(Some("x\ny")) && !is_long(Some("short")) && !is_long(None));
    }
}
