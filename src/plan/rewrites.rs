//! Rewrites Superset makes to objects steward wrote, which must not show up as drift: when a
//! report runs, Superset 6.1 may upgrade a Slack recipient to `SlackV2` (channel names become
//! channel ids). Such an observed recipient counts as the declared Slack recipient while the
//! declaration is the one steward last applied; once the declaration changes, the upgraded
//! recipient is compared as it is, so a changed channel list is a change.

use crate::model::{ObjectKey, ObjectRef, State};
use crate::resources::Kind;

use super::Ledger;

/// Replaces, in `observed`, each schedule's `SlackV2` recipient by the declared `Slack` one
/// when the schedule is declared exactly as the ledger says it was last applied (Superset only
/// upgrades what steward wrote; channel ids cannot be compared with names).
pub fn absorb_superset_rewrites(desired: &State, observed: &mut State, ledger: &Ledger) {
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
        let (Some(declared), Some(upgraded)) = (declared, upgraded) else {
            continue;
        };
        // The content hash (canonical JSON + SHA-256) only for the few schedules it can change.
        let applied = ledger
            .get(&ObjectKey::new(Kind::ReportSchedule, key.clone()))
            .is_some_and(|entry| entry.content_hash == ObjectRef::Schedule(want).content_hash());
        if applied {
            have.recipients.remove_item(&upgraded);
            have.recipients.find_or_insert(declared.clone());
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
                have.recipients.remove_item(&kept);
                have.recipients.find_or_insert(declared.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Schedule;

    use crate::plan::LedgerEntry;

    /// A ledger saying `schedule` was last applied as it is now.
    fn applied(schedule: &Schedule) -> Ledger {
        Ledger::from([(
            ObjectKey::new(Kind::ReportSchedule, "Report:s"),
            LedgerEntry::new("cli", ObjectRef::Schedule(schedule).content_hash()),
        )])
    }

    fn one(schedule: Schedule) -> State {
        let mut state = State::default();
        state.schedules.insert("Report:s".into(), schedule);
        state
    }

    #[test]
    fn slack_v2_upgrades_are_not_drift() {
        let declared = Schedule::for_test("s", "Slack", "#finance", None);
        let desired = one(declared.clone());
        let mut observed = one(Schedule::for_test("s", "SlackV2", "C0123ABC", None));
        absorb_superset_rewrites(&desired, &mut observed, &applied(&declared));
        assert_eq!(observed, desired);
        // An e-mail recipient changed in Superset is drift and stays visible.
        let mut observed = one(Schedule::for_test("s", "Email", "a@example.com", None));
        absorb_superset_rewrites(&desired, &mut observed, &applied(&declared));
        assert_ne!(observed, desired);
    }

    #[test]
    fn an_upgraded_recipient_is_compared_once_the_declaration_changes() {
        let was = Schedule::for_test("s", "Slack", "#finance", None);
        let upgraded = one(Schedule::for_test("s", "SlackV2", "C0123ABC", None));
        // Another channel declared since the last apply: the upgraded row is not absorbed.
        let desired = one(Schedule::for_test("s", "Slack", "#finance-leads", None));
        let mut observed = upgraded.clone();
        absorb_superset_rewrites(&desired, &mut observed, &applied(&was));
        assert_eq!(observed, upgraded);
        // Another field changed: the recipients are compared too (rewritten as declared).
        let mut later = was.clone();
        later.crontab = "0 9 * * *".into();
        let mut observed = upgraded.clone();
        absorb_superset_rewrites(&one(later), &mut observed, &applied(&was));
        assert_eq!(observed, upgraded);
        // Never applied by steward (no ledger row, as before an adopt): compared as it is.
        let mut observed = upgraded.clone();
        absorb_superset_rewrites(&one(was), &mut observed, &Ledger::new());
        assert_eq!(observed, upgraded);
    }
}
