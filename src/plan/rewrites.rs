//! Rewrites Superset makes to objects steward wrote, which must not show up as drift: when a
//! report runs, Superset 6.1 may upgrade a Slack recipient to `SlackV2` (channel names become
//! channel ids). Such an observed recipient counts as the declared Slack recipient.

use crate::model::State;

/// Replaces, in `observed`, each schedule's `SlackV2` recipient by the declared `Slack` one.
pub fn absorb_superset_rewrites(desired: &State, observed: &mut State) {
    for (key, have) in observed.schedules.iter_mut() {
        let Some(want) = desired.schedules.get(key) else {
            continue;
        };
        let declared = want.recipients.iter().find(|r| r.recipient_type == "Slack");
        let upgraded = have
            .recipients
            .iter()
            .find(|r| r.recipient_type == "SlackV2")
            .cloned();
        if let (Some(declared), Some(upgraded)) = (declared, upgraded) {
            have.recipients.remove(&upgraded);
            have.recipients.insert(declared.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Recipient, Schedule};

    fn schedule(recipient_type: &str, target: &str) -> Schedule {
        Schedule {
            name: "s".into(),
            schedule_type: "Report".into(),
            description: None,
            message: None,
            active: true,
            crontab: "0 8 * * *".into(),
            timezone: "UTC".into(),
            chart: None,
            dashboard: None,
            database: None,
            sql: None,
            validator: None,
            recipients: [Recipient {
                recipient_type: recipient_type.into(),
                config: BTreeMap::from([("target".to_owned(), target.to_owned())]),
            }]
            .into(),
            owners: Default::default(),
            run_as: None,
            run_alert_query_as: None,
            report_format: "PNG".into(),
            working_timeout: 3600,
            grace_period: 14400,
            log_retention: 90,
            email_subject: None,
            force_screenshot: false,
            custom_width: None,
            custom_height: None,
            extra: "{}".into(),
        }
    }

    #[test]
    fn slack_v2_upgrades_are_not_drift() {
        let mut desired = State::default();
        desired
            .schedules
            .insert("Report:s".into(), schedule("Slack", "#finance"));
        let mut observed = State::default();
        observed
            .schedules
            .insert("Report:s".into(), schedule("SlackV2", "C0123ABC"));
        absorb_superset_rewrites(&desired, &mut observed);
        assert_eq!(observed, desired);
        // An e-mail recipient changed in Superset is drift and stays visible.
        observed
            .schedules
            .insert("Report:s".into(), schedule("Email", "a@example.com"));
        absorb_superset_rewrites(&desired, &mut observed);
        assert_ne!(observed, desired);
    }
}
