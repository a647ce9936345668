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
/// users among the recipients (consulted when the policy limits recipients to users).
pub fn recheck(
    facts: &ScheduleFacts,
    policy: &Policy,
    user_emails: &BTreeSet<String>,
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
    reasons.extend(unsupported(facts));
    reasons
}

/// What steward's executor cannot do yet for this schedule (screenshots, Slack).
pub fn unsupported(facts: &ScheduleFacts) -> Vec<String> {
    let mut out = Vec::new();
    if matches!(facts.report_format.as_str(), "PNG" | "PDF") && sends_content(facts) {
        out.push(format!(
            "its format {} needs a screenshot, which steward's executor does not take yet; use CSV, TEXT or (alerts) NONE",
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

/// Whether a run would attach content: reports always; alerts when attachments are on.
pub fn sends_content(facts: &ScheduleFacts) -> bool {
    !facts.is_alert || facts.attach_content.unwrap_or(true)
}
