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

/// How a snapshot file holds a webhook URL (which may carry a token): its SHA-256.
pub fn webhook_digest(url: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        crate::model::hex(&sha2::Sha256::digest(url.as_bytes()))
    )
}

/// Replaces, in `observed` (read from a snapshot), each webhook URL kept as its digest by the
/// declared URL with that digest, so an unchanged webhook is not drift.
pub fn restore_webhook_urls(desired: &State, observed: &mut State) {
    for (key, have) in observed.schedules.iter_mut() {
        let Some(want) = desired.schedules.get(key) else {
            continue;
        };
        for declared in want
            .recipients
            .iter()
            .filter(|r| r.recipient_type == "Webhook")
        {
            let Some(url) = declared.config.get("target") else {
                continue;
            };
            let digest = webhook_digest(url);
            let kept = have
                .recipients
                .iter()
                .find(|r| r.recipient_type == "Webhook" && r.config.get("target") == Some(&digest))
                .cloned();
            if let Some(kept) = kept {
                have.recipients.remove(&kept);
                have.recipients.insert(declared.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Schedule;

    #[test]
    fn slack_v2_upgrades_are_not_drift() {
        let mut desired = State::default();
        desired.schedules.insert(
            "Report:s".into(),
            Schedule::for_test("s", "Slack", "#finance", None),
        );
        let mut observed = State::default();
        observed.schedules.insert(
            "Report:s".into(),
            Schedule::for_test("s", "SlackV2", "C0123ABC", None),
        );
        absorb_superset_rewrites(&desired, &mut observed);
        assert_eq!(observed, desired);
        // An e-mail recipient changed in Superset is drift and stays visible.
        observed.schedules.insert(
            "Report:s".into(),
            Schedule::for_test("s", "Email", "a@example.com", None),
        );
        absorb_superset_rewrites(&desired, &mut observed);
        assert_ne!(observed, desired);
    }
}
