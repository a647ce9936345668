//! The `superset_config.py` lines equivalent to a `ReportConfiguration`, for Superset 6.1, which
//! reads alert/report settings only from its config file (SIP-209's `key_value` document, which
//! steward writes, is read only by releases with SIP-209). Settings 6.1 has no equivalent for
//! are listed as comments: steward enforces them.

use std::fmt::Write;

use crate::resources::ReportConfigurationSpec;

/// Superset 6.1 ignores minimum intervals below this many seconds.
pub const SUPERSET_MINIMUM_HONOURED: i32 = 120;

/// Renders the lines; `origin` says where the configuration came from.
pub fn render(spec: &ReportConfigurationSpec, origin: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Alerts & Reports settings for Superset 6.1, rendered by steward from {}.",
        // A file name may hold a newline: a comment must stay one line, or the rest of the
        // name would be Python code in superset_config.py.
        crate::escape::terminal(origin)
    );
    let _ = writeln!(
        out,
        "# Superset 6.1 reads these only from superset_config.py; restart Superset after changing them."
    );
    let interval = |out: &mut String, name: &str, value: Option<i32>| {
        if let Some(seconds) = value {
            let _ = writeln!(out, "{name} = {seconds}");
            if seconds > 0 && seconds < SUPERSET_MINIMUM_HONOURED {
                let _ = writeln!(
                    out,
                    "# note: Superset 6.1 ignores values below {SUPERSET_MINIMUM_HONOURED} s; steward still enforces {seconds} s exactly"
                );
            }
        }
    };
    interval(
        &mut out,
        "ALERT_MINIMUM_INTERVAL",
        spec.alert_minimum_interval_seconds,
    );
    interval(
        &mut out,
        "REPORT_MINIMUM_INTERVAL",
        spec.report_minimum_interval_seconds,
    );
    if let Some(attach) = spec.alerts_attach_reports {
        let _ = writeln!(
            out,
            "ALERTS_ATTACH_REPORTS = {}",
            if attach { "True" } else { "False" }
        );
    }
    if let Some(format) = &spec.date_format_in_email_subject {
        // A JSON string literal is a Python string literal (the same escapes), one line.
        let literal = serde_json::to_string(format).expect("a string serialises");
        let _ = writeln!(out, "DATE_FORMAT_IN_EMAIL_SUBJECT = {literal}");
    }
    let mut enforced = Vec::new();
    if let Some(limit) = spec.limit_recipients_to_users {
        enforced.push(format!("limit recipients to users: {limit}"));
    }
    if !spec.allowed_email_domains.is_empty() {
        enforced.push(format!(
            "allowed e-mail domains: {}",
            spec.allowed_email_domains.join(", ")
        ));
    }
    if let Some(required) = spec.require_run_as {
        enforced.push(format!("require runAs: {required}"));
    }
    if let Some(allowed) = &spec.run_as_allowed {
        enforced.push(format!(
            "run as only users [{}] and members of groups [{}]",
            allowed.users.join(", "),
            allowed.groups.join(", ")
        ));
    }
    if !enforced.is_empty() {
        let _ = writeln!(
            out,
            "# No Superset 6.1 setting; `steward apply` writes them to the key_value documents (SIP-209's alert_report_config and steward's policy):"
        );
        for line in enforced {
            // Names are validated, but a comment must stay one line whatever it holds.
            let _ = writeln!(out, "#   {}", crate::escape::terminal(&line));
        }
    }
    let _ = writeln!(
        out,
        "# Each schedule's runAs is written to SIP-209's run_as columns; a Superset release with SIP-209 honours them with"
    );
    let _ = writeln!(
        out,
        "# FEATURE_FLAGS = {{\"ALERT_REPORT_DYNAMIC_EXECUTOR\": True}} (6.1 runs every report as ALERT_REPORTS_EXECUTORS says)."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_cannot_add_python_lines() {
        let spec = ReportConfigurationSpec::default();
        let text = render(
            &spec,
            "ReportConfiguration/x (a\nimport os; os.system('x')\r.yaml)",
        );
        assert!(
            text.lines()
                .all(|l| l.is_empty() || l.starts_with('#') || !l.contains("import"))
        );
        assert!(text.contains("a\\nimport os"));
    }

    #[test]
    fn renders_superset_61_settings() {
        let spec = ReportConfigurationSpec {
            alerts_attach_reports: Some(false),
            alert_minimum_interval_seconds: Some(60),
            report_minimum_interval_seconds: Some(3600),
            allowed_email_domains: vec!["example.com".into(), "*.corp.example.com".into()],
            ..ReportConfigurationSpec::default()
        };
        let text = render(&spec, "ReportConfiguration/global (config.yaml)");
        assert!(text.contains(
            "\nALERT_MINIMUM_INTERVAL = 60\n# note: Superset 6.1 ignores values below 120 s"
        ));
        assert!(text.contains("\nREPORT_MINIMUM_INTERVAL = 3600\n"));
        assert!(text.contains("\nALERTS_ATTACH_REPORTS = False\n"));
        assert!(text.contains("#   allowed e-mail domains: example.com, *.corp.example.com"));
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), 3, "{text}");
    }

    #[test]
    fn the_subject_date_format_is_one_python_string_and_the_run_as_flag_is_named() {
        let spec = ReportConfigurationSpec {
            date_format_in_email_subject: Some("%Y-%m-%d\"\nimport os".into()),
            ..ReportConfigurationSpec::default()
        };
        let text = render(&spec, "ReportConfiguration/global (config.yaml)");
        assert!(
            text.contains("\nDATE_FORMAT_IN_EMAIL_SUBJECT = \"%Y-%m-%d\\\"\\nimport os\"\n"),
            "{text}"
        );
        let code: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(code.len(), 1, "{text}");
        assert!(text.contains("FEATURE_FLAGS = {\"ALERT_REPORT_DYNAMIC_EXECUTOR\": True}"));
    }
}
