//! Unique columns that are not an object's natural key, checked against what Superset holds
//! before a plan is applied: `ab_user.email` is unique, so a user the plan creates or updates
//! must not take an e-mail another user still holds when steward writes it (steward writes
//! users before it deletes or changes others). The database would otherwise refuse the apply
//! halfway with a raw constraint error.

use std::collections::BTreeMap;

use super::{Action, Plan};
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::model::{State, StateView};
use crate::policy::locate;
use crate::reason::Reason;
use crate::resources::{Kind, Resource};

/// A refusal for each user the plan writes with an e-mail another user holds.
pub fn email_conflicts(
    set: &LoadedSet,
    desired: &State,
    observed: &State,
    after: &StateView,
    plan: &Plan,
) -> Vec<Diagnostic> {
    let holders: BTreeMap<&str, &str> = observed
        .users
        .values()
        .map(|u| (u.email.as_str(), u.username.as_str()))
        .collect();
    let declared: BTreeMap<&str, usize> = set
        .objects
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match &o.resource {
            Resource::User(_) => Some((o.resource.superset_name(), i)),
            _ => None,
        })
        .collect();
    let mut found = Vec::new();
    for change in &plan.changes {
        if change.key.kind != Kind::SupersetUser
            || !matches!(
                change.action,
                Action::Create | Action::Update | Action::Adopt
            )
        {
            continue;
        }
        let Some(user) = desired.users.get(&change.key.key) else {
            continue;
        };
        let Some(holder) = holders.get(user.email.as_str()).copied() else {
            continue;
        };
        if holder == user.username {
            continue;
        }
        let kept = after
            .users
            .get(holder)
            .is_some_and(|h| h.email == user.email);
        if kept && desired.users.contains_key(holder) {
            // Two declared users with one e-mail: the declared-set duplicate check says so.
            continue;
        }
        let (message, hint) = match kept {
            true => (
                format!(
                    "the e-mail `{}` already belongs to user `{holder}` in Superset, and Superset's e-mails are unique",
                    user.email
                ),
                format!(
                    "give `{}` another e-mail, or declare `{holder}` (adopting it if steward does not manage it) and change its e-mail",
                    user.username
                ),
            ),
            false => (
                format!(
                    "the e-mail `{}` still belongs to user `{holder}` when steward writes `{}` (this apply deletes or changes `{holder}` later)",
                    user.email, user.username
                ),
                format!(
                    "apply the change to `{holder}` first, then give its old e-mail to `{}`",
                    user.username
                ),
            ),
        };
        let d = Diagnostic::error(Code::Duplicate, message).hint(hint);
        let d = match kept {
            true => d.because(Reason::EmailHeld {
                username: user.username.clone(),
                holder: holder.to_owned(),
            }),
            false => d,
        };
        found.push(match declared.get(user.username.as_str()) {
            Some(index) => locate(set, *index, "spec.email", d),
            None => d
                .about(change.key.clone())
                .maybe_on(change.resource.clone()),
        });
    }
    found
}
