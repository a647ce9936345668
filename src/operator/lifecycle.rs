//! A resource's life cycle in the operator, pure: the finalizer that lets a deletion remove the
//! Superset object first, the deletion policy (`Delete` or `Orphan`), explicit adoption, and the
//! mass-deletion guard's window (deletions made recently, against the instance's threshold,
//! unless an operator confirmed the pending ones).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::resources::instance::DeletionGuard;

/// The finalizer steward puts on every resource it reconciles.
pub const FINALIZER: &str = "steward.dev/cleanup";

/// `Delete` (default) or `Orphan`: what a deleted resource's Superset object becomes.
pub const DELETION_POLICY_ANNOTATION: &str = "steward.dev/deletion-policy";

/// `"true"`: the resource may take over the existing Superset object it declares.
pub const ADOPT_ANNOTATION: &str = "steward.dev/adopt";

/// On a `SupersetInstance`: the number of paused deletions an operator confirms.
pub const CONFIRM_DELETIONS_ANNOTATION: &str = "steward.dev/confirm-deletions";

/// What a deleted resource's Superset object becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionPolicy {
    /// Deleted from Superset.
    Delete,
    /// Left in Superset, no longer managed.
    Orphan,
}

/// The deletion policy the annotations ask for, or why it cannot be read.
pub fn deletion_policy(
    annotations: Option<&BTreeMap<String, String>>,
) -> Result<DeletionPolicy, String> {
    match annotations
        .and_then(|a| a.get(DELETION_POLICY_ANNOTATION))
        .map(String::as_str)
    {
        None | Some("Delete") => Ok(DeletionPolicy::Delete),
        Some("Orphan") => Ok(DeletionPolicy::Orphan),
        Some(other) => Err(format!(
            "annotation {DELETION_POLICY_ANNOTATION}: {other:?} is not a deletion policy; use Delete or Orphan"
        )),
    }
}

/// Whether the annotations ask to adopt the existing object.
pub fn adopts(annotations: Option<&BTreeMap<String, String>>) -> bool {
    annotations
        .and_then(|a| a.get(ADOPT_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// The deletions an operator confirmed on the instance, if any.
pub fn confirmed_deletions(annotations: Option<&BTreeMap<String, String>>) -> Option<usize> {
    annotations?
        .get(CONFIRM_DELETIONS_ANNOTATION)?
        .trim()
        .parse()
        .ok()
}

/// Deletions made recently for one instance, to hold them to the guard's threshold within its
/// window.
#[derive(Debug, Default)]
pub struct DeletionWindow {
    made: VecDeque<(Instant, usize)>,
}

impl DeletionWindow {
    /// How many deletions were made within the window before `now` (the next pass may make
    /// the threshold less these).
    pub fn made_within(&mut self, window: Duration, now: Instant) -> usize {
        while self
            .made
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > window)
        {
            self.made.pop_front();
        }
        self.made.iter().map(|(_, n)| n).sum()
    }

    /// Records `count` deletions made at `now`.
    pub fn record(&mut self, count: usize, now: Instant) {
        if count > 0 {
            self.made.push_back((now, count));
        }
    }
}

/// How many deletions a pass may make when `made` were made within the window already.
pub fn allowance(threshold: u32, made: usize) -> usize {
    (threshold as usize).saturating_sub(made)
}

/// The instance's condition while the guard holds `pending` deletions back, `recent` having
/// been made within the window already: how many, why, and the command that lets them through.
pub fn paused_deletions_message(
    instance: &str,
    guard: DeletionGuard,
    pending: usize,
    recent: usize,
) -> String {
    let used = match recent {
        0 => String::new(),
        made => format!(", {made} made in that time already"),
    };
    format!(
        "{pending} deletions from Superset are pending, more than the mass-deletion guard allows ({} within {} s{used}): none was made, every other change was applied. If they are intended: kubectl annotate supersetinstance {instance} {CONFIRM_DELETIONS_ANNOTATION}={pending}",
        guard.threshold, guard.window_seconds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_message_counts_what_the_window_already_saw() {
        let guard = DeletionGuard {
            threshold: 3,
            window_seconds: 120,
        };
        assert_eq!(
            paused_deletions_message("e2e", guard, 5, 0),
            "5 deletions from Superset are pending, more than the mass-deletion guard allows (3 within 120 s): none was made, every other change was applied. If they are intended: kubectl annotate supersetinstance e2e steward.dev/confirm-deletions=5"
        );
        let message = paused_deletions_message("e2e", guard, 2, 2);
        assert!(
            message.starts_with("2 deletions from Superset are pending, more than the mass-deletion guard allows (3 within 120 s, 2 made in that time already)"),
            "{message}"
        );
        assert!(
            message.ends_with("steward.dev/confirm-deletions=2"),
            "{message}"
        );
    }

    fn annotated(key: &str, value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(key.to_owned(), value.to_owned())])
    }

    #[test]
    fn annotations_are_read_strictly() {
        assert_eq!(deletion_policy(None), Ok(DeletionPolicy::Delete));
        assert_eq!(
            deletion_policy(Some(&annotated(DELETION_POLICY_ANNOTATION, "Orphan"))),
            Ok(DeletionPolicy::Orphan)
        );
        let wrong = deletion_policy(Some(&annotated(DELETION_POLICY_ANNOTATION, "orphan")));
        assert!(wrong.unwrap_err().contains("use Delete or Orphan"));
        assert!(adopts(Some(&annotated(ADOPT_ANNOTATION, "true"))));
        assert!(!adopts(Some(&annotated(ADOPT_ANNOTATION, "yes"))));
        assert_eq!(
            confirmed_deletions(Some(&annotated(CONFIRM_DELETIONS_ANNOTATION, " 12 "))),
            Some(12)
        );
        assert_eq!(
            confirmed_deletions(Some(&annotated(CONFIRM_DELETIONS_ANNOTATION, "all"))),
            None
        );
    }

    #[test]
    fn the_window_counts_recent_deletions_only() {
        let start = Instant::now();
        let window = Duration::from_secs(300);
        let mut made = DeletionWindow::default();
        assert_eq!(made.made_within(window, start), 0);
        made.record(4, start);
        made.record(3, start + Duration::from_secs(100));
        assert_eq!(
            made.made_within(window, start + Duration::from_secs(200)),
            7
        );
        assert_eq!(
            made.made_within(window, start + Duration::from_secs(301)),
            3
        );
        assert_eq!(
            made.made_within(window, start + Duration::from_secs(401)),
            0
        );
        made.record(12, start + Duration::from_secs(402));
        assert_eq!(
            made.made_within(window, start + Duration::from_secs(403)),
            12
        );
        // What the next pass may make: the threshold less those, never below none.
        assert_eq!(allowance(10, 7), 3);
        assert_eq!(allowance(10, 12), 0);
    }
}
