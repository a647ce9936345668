//! The status the operator writes on each resource, pure: a kstatus-style `Ready` condition
//! (stable reasons, `observedGeneration`), the Superset id and when it was last applied. The
//! transition time moves only when the condition's status does, so an unchanged result writes
//! nothing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde_json::{Value, json};

use super::instance_pass::ResourceResult;
use super::isolation::NotReady;

/// The `Ready` condition's type.
pub const READY: &str = "Ready";

/// The reason of a Ready resource.
pub const APPLIED: &str = "Applied";

/// Longest condition message written (the API server allows 32768 bytes).
const MAX_MESSAGE: usize = 8192;

/// A resource's status after a pass, as far as the operator owns it.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceStatus {
    pub ready: Condition,
    pub superset_id: Option<i64>,
    /// When Superset was last written for it (RFC 3339); kept from before when not written now.
    pub last_applied_time: Option<String>,
}

/// The status of a resource at `generation` after a pass that ended `now`, given what it had
/// before (`previous_ready`, `previous_applied`).
pub fn resource_status(
    result: &ResourceResult,
    generation: Option<i64>,
    previous_ready: Option<&Condition>,
    previous_applied: Option<&str>,
    now: jiff::Timestamp,
) -> ResourceStatus {
    let (status, reason, message, superset_id, written) = match result {
        ResourceResult::Ready {
            superset_id,
            action,
        } => (
            "True",
            APPLIED.to_owned(),
            // Stable across passes (what a pass wrote goes to Events), so an unchanged result
            // writes no status.
            "Superset matches the spec".to_owned(),
            *superset_id,
            action.is_some(),
        ),
        ResourceResult::NotReady(held) => (
            "False",
            held.reason.as_str().to_owned(),
            not_ready_message(held.reason, &held.messages),
            None,
            false,
        ),
    };
    ResourceStatus {
        ready: condition(
            READY,
            status,
            reason,
            message,
            generation,
            previous_ready,
            now,
        ),
        superset_id,
        last_applied_time: if written || previous_applied.is_none() && status == "True" {
            Some(now.to_string())
        } else {
            previous_applied.map(str::to_owned)
        },
    }
}

/// A condition, keeping the previous transition time when its status is unchanged.
pub fn condition(
    type_: &str,
    status: &str,
    reason: String,
    message: String,
    generation: Option<i64>,
    previous: Option<&Condition>,
    now: jiff::Timestamp,
) -> Condition {
    let since = previous
        .filter(|p| p.status == status)
        .map(|p| p.last_transition_time.clone())
        .unwrap_or(Time(now));
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason,
        message: truncate(message),
        observed_generation: generation,
        last_transition_time: since,
    }
}

fn not_ready_message(reason: NotReady, messages: &[String]) -> String {
    let lead = match reason {
        NotReady::InvalidSpec => "the spec is invalid; Superset keeps what was last applied",
        NotReady::PolicyViolation => {
            "the spec breaks the Alerts & Reports policy; nothing is written for it"
        }
        NotReady::Conflict => "another declaration or manager holds this Superset object",
        NotReady::WaitingOnDependency => "waiting on a resource it refers to",
        NotReady::RefusedByGuardrail => "a guardrail refused the pass",
        NotReady::DatabaseUnavailable => "Superset's metadata database is unavailable",
        NotReady::DeletionPaused => "deleted; the deletion of its Superset object is paused",
    };
    let mut out = lead.to_owned();
    for m in messages {
        out.push_str("\n- ");
        out.push_str(m);
    }
    out
}

fn truncate(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("\n…");
    }
    message
}

/// Whether two conditions say the same (everything but the transition time).
pub fn same(a: &Condition, b: &Condition) -> bool {
    a.type_ == b.type_
        && a.status == b.status
        && a.reason == b.reason
        && a.message == b.message
        && a.observed_generation == b.observed_generation
}

/// The server-side-apply body of a resource's status: only the fields the operator owns.
pub fn status_patch(api_version: &str, kind: &str, name: &str, status: &ResourceStatus) -> Value {
    let mut body = json!({
        "conditions": [status.ready],
        "observedGeneration": status.ready.observed_generation,
    });
    if let Some(id) = status.superset_id {
        body["supersetId"] = json!(id);
    }
    if let Some(at) = &status.last_applied_time {
        body["lastAppliedTime"] = json!(at);
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "status": body})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::isolation::Held;
    use crate::plan::Action;

    fn at(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_does() {
        let ready = ResourceResult::Ready {
            superset_id: Some(7),
            action: Some(Action::Create),
        };
        let first = resource_status(&ready, Some(1), None, None, at(100));
        assert_eq!(first.ready.status, "True");
        assert_eq!(first.ready.reason, "Applied");
        assert_eq!(first.superset_id, Some(7));
        assert_eq!(
            first.last_applied_time.as_deref(),
            Some("1970-01-01T00:01:40Z")
        );
        let unchanged = ResourceResult::Ready {
            superset_id: Some(7),
            action: None,
        };
        let again = resource_status(
            &unchanged,
            Some(2),
            Some(&first.ready),
            first.last_applied_time.as_deref(),
            at(200),
        );
        assert_eq!(
            again.ready.last_transition_time,
            first.ready.last_transition_time
        );
        assert_eq!(
            again.last_applied_time, first.last_applied_time,
            "nothing written"
        );
        assert_eq!(again.ready.observed_generation, Some(2));
        let broken = ResourceResult::NotReady(Held {
            reason: NotReady::PolicyViolation,
            messages: vec![
                "spec.recipients.email.to[0]: x@evil.test is outside the allowed domains".into(),
            ],
        });
        let failed = resource_status(&broken, Some(3), Some(&again.ready), None, at(300));
        assert_eq!(failed.ready.status, "False");
        assert_eq!(failed.ready.reason, "PolicyViolation");
        assert_eq!(failed.ready.last_transition_time, Time(at(300)));
        assert!(failed.ready.message.ends_with(
            "\n- spec.recipients.email.to[0]: x@evil.test is outside the allowed domains"
        ));
        assert_eq!(failed.superset_id, None);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let message = "é".repeat(MAX_MESSAGE);
        let cut = truncate(message);
        assert!(cut.len() <= MAX_MESSAGE + "\n…".len());
        assert!(cut.ends_with("\n…"));
    }
}
