//! The checks a run makes again at its fire time (SIP-209: the configuration or the users may
//! have changed since the schedule was applied): recipients inside the allowed domains and,
//! when limited, addresses of active users; an existing, active user to run as; and content
//! and recipient kinds steward's executor can deliver. Any failure ends the run in Error with
//! the reasons, before anything is sent.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::facts::{Executor, ScheduleFacts};
use crate::policy::domains::{address_allowed, split_addresses};
use crate::policy::report_rules::Policy;

/// The addresses of a stored recipient's configuration (`target`, `ccTarget`, `bccTarget`).
pub fn email_addresses(config: &str) -> Vec<String> {
    let Ok(json) = serde_json::from_str::<Json>(config) else {
        return Vec::new();
    };
    ["target", "ccTarget", "bccTarget"]
        .iter()
        .filter_map(|k| json.get(k).and_then(Json::as_str))
        .flat_map(split_addresses)
        .map(str::to_owned)
        .collect()
}

/// Every address the run would e-mail.
pub fn all_email_addresses(facts: &ScheduleFacts) -> Vec<String> {
    facts
        .recipients
        .iter()
        .filter(|r| r.kind == "Email")
        .flat_map(|r| email_addresses(&r.config))
        .collect()
}

/// Every reason the run must not send. `user_emails` holds the lower-cased e-mails of active
/// users among the recipients (consulted when the policy limits recipients to users);
/// `attach_alerts` is the configuration's `alerts_attach_reports`; `screenshots` whether this
/// executor has a browser for PNG and PDF.
pub fn recheck(
    facts: &ScheduleFacts,
    policy: &Policy,
    user_emails: &BTreeSet<String>,
    attach_alerts: bool,
    screenshots: bool,
) -> Vec<String> {
    let mut reasons = Vec::new();
    for address in all_email_addresses(facts) {
        if !policy.allowed_domains.is_empty() && !address_allowed(&address, &policy.allowed_domains)
        {
            reasons.push(format!(
                "recipient {address} is outside the allowed e-mail domains"
            ));
        }
        if policy.limit_recipients_to_users && !user_emails.contains(&address.to_lowercase()) {
            reasons.push(format!(
                "recipient {address} is not the e-mail of an active user, and recipients are limited to users"
            ));
        }
    }
    match facts.content_user() {
        Ok(user) if !user.active => reasons.push(format!(
            "the user it runs as, {}, is inactive",
            user.username
        )),
        Ok(_) => {}
        Err(why) => reasons.push(format!("it cannot run: {why}")),
    }
    if facts.is_alert && !matches!(facts.run_alert_query_as, Executor::Unset) {
        match facts.alert_query_user() {
            Ok(user) if !user.active => reasons.push(format!(
                "the user its alert query runs as, {}, is inactive",
                user.username
            )),
            Ok(_) => {}
            Err(why) => reasons.push(format!("it cannot run: {why}")),
        }
    }
    reasons.extend(unsupported(facts, attach_alerts, screenshots));
    reasons
}

/// What this executor cannot do for this schedule: screenshots without a browser, Slack.
pub fn unsupported(facts: &ScheduleFacts, attach_alerts: bool, screenshots: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !screenshots
        && matches!(facts.report_format.as_str(), "PNG" | "PDF")
        && sends_content(facts, attach_alerts)
    {
        out.push(format!(
            "its format {} needs a screenshot, and this executor has no browser (--chromium); use CSV, TEXT or (alerts) NONE, or give the executor Chromium",
            facts.report_format
        ));
    }
    if facts
        .recipients
        .iter()
        .any(|r| r.kind == "Slack" || r.kind == "SlackV2")
    {
        out.push(
            "it has Slack recipients, which steward's executor does not deliver; use e-mail or a webhook"
                .into(),
        );
    }
    out
}

/// Whether a run sends content: reports always; alerts when the configuration allows
/// attachments (`attach_alerts`) and the alert does not turn them off; never with format NONE.
pub fn sends_content(facts: &ScheduleFacts, attach_alerts: bool) -> bool {
    facts.report_format != "NONE"
        && (!facts.is_alert || (attach_alerts && facts.attach_content.unwrap_or(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::facts::{RecipientRow, Subject, UserFacts};
    use crate::execute::state::History;
    use crate::policy::domains::DomainPattern;

    fn user(name: &str, active: bool) -> UserFacts {
        UserFacts {
            id: 1,
            username: name.into(),
            email: format!("{name}@example.com"),
            active,
        }
    }

    fn facts(format: &str, to: &str) -> ScheduleFacts {
        ScheduleFacts {
            id: 1,
            name: "s".into(),
            is_alert: false,
            active: true,
            crontab: "0 8 * * *".into(),
            timezone: "UTC".into(),
            description: None,
            subject: Subject::Chart {
                id: 1,
                name: "c".into(),
                has_query_context: true,
            },
            report_format: format.into(),
            email_subject: None,
            database_id: None,
            sql: None,
            validator_type: None,
            validator_config: None,
            recipients: vec![RecipientRow {
                kind: "Email".into(),
                config: serde_json::json!({"target": to, "bccTarget": "hidden@example.com"})
                    .to_string(),
            }],
            owners: vec![user("owner", true)],
            run_as: Executor::User(user("bot", true)),
            run_alert_query_as: Executor::Unset,
            working_timeout: 3600,
            grace_period: 14400,
            log_retention_days: 90,
            attach_content: None,
            custom_width: None,
            custom_height: None,
            created_on: None,
            last_scheduled: None,
            history: History::default(),
        }
    }

    fn policy(domains: &[&str], users_only: bool) -> Policy {
        Policy {
            allowed_domains: domains
                .iter()
                .map(|d| DomainPattern::parse(d).unwrap())
                .collect(),
            limit_recipients_to_users: users_only,
            ..Policy::default()
        }
    }

    #[test]
    fn every_recipient_field_is_checked_against_the_domains_and_users() {
        let f = facts("CSV", "a@example.com, b@elsewhere.test");
        let found = recheck(
            &f,
            &policy(&["example.com"], false),
            &BTreeSet::new(),
            true,
            false,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("b@elsewhere.test"));
        let users: BTreeSet<String> = ["a@example.com".to_owned()].into();
        let found = recheck(&f, &policy(&[], true), &users, true, false);
        // b@… and the Bcc address are no users.
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|r| r.contains("hidden@example.com")));
    }

    #[test]
    fn the_user_to_run_as_must_exist_and_be_active() {
        let mut f = facts("CSV", "a@example.com");
        assert!(recheck(&f, &Policy::default(), &BTreeSet::new(), true, false).is_empty());
        f.run_as = Executor::User(user("bot", false));
        assert!(
            recheck(&f, &Policy::default(), &BTreeSet::new(), true, false)[0]
                .contains("bot, is inactive")
        );
        f.run_as = Executor::Deleted;
        assert!(
            recheck(&f, &Policy::default(), &BTreeSet::new(), true, false)[0].contains("deleted")
        );
        f.run_as = Executor::Unset;
        f.owners.push(user("second", true));
        assert!(
            recheck(&f, &Policy::default(), &BTreeSet::new(), true, false)[0].contains("2 owners")
        );
        f.is_alert = true;
        f.run_as = Executor::User(user("bot", true));
        f.run_alert_query_as = Executor::User(user("querier", false));
        assert!(
            recheck(&f, &Policy::default(), &BTreeSet::new(), true, false)[0].contains("querier")
        );
    }

    #[test]
    fn screenshots_and_slack_are_refused_only_when_needed() {
        let png = facts("PNG", "a@example.com");
        assert!(
            recheck(&png, &Policy::default(), &BTreeSet::new(), true, false)[0]
                .contains("screenshot")
        );
        // With a browser, PNG and PDF are taken.
        assert!(recheck(&png, &Policy::default(), &BTreeSet::new(), true, true).is_empty());
        let mut alert = facts("PNG", "a@example.com");
        alert.is_alert = true;
        // Attachments off for alerts: no screenshot is taken, nothing to refuse.
        assert!(recheck(&alert, &Policy::default(), &BTreeSet::new(), false, false).is_empty());
        alert.attach_content = Some(false);
        assert!(recheck(&alert, &Policy::default(), &BTreeSet::new(), true, false).is_empty());
        assert!(!sends_content(&facts("NONE", "a@example.com"), true));
        let mut slack = facts("CSV", "a@example.com");
        slack.recipients.push(RecipientRow {
            kind: "SlackV2".into(),
            config: "{\"target\": \"C1\"}".into(),
        });
        assert!(
            recheck(&slack, &Policy::default(), &BTreeSet::new(), true, false)[0].contains("Slack")
        );
    }
}
