//! E-mail address syntax for users and e-mail recipients: one address per entry, `local@domain`;
//! Slack channel entries that Superset would split into several channels.

use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::Resource;

/// Why `address` is not one plain e-mail address, if it is not.
pub fn address_problem(address: &str) -> Option<String> {
    if address.contains([',', ';']) || address.split_whitespace().count() > 1 {
        return Some(format!("`{address}` holds more than one address"));
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Some(format!("`{address}` has no `@`"));
    };
    let domain_ok = !domain.is_empty()
        && !domain.contains('@')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local.is_empty() || address.trim() != address || !domain_ok {
        return Some(format!("`{address}` is not a valid e-mail address"));
    }
    None
}

pub(super) fn check(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    for (index, object) in set.objects.iter().enumerate() {
        let mut report = |field: String, address: &str| {
            if let Some(problem) = address_problem(address) {
                let hint = if problem.contains("more than one") {
                    "put one address per list entry"
                } else {
                    "write it as name@example.com"
                };
                found.push(locate(
                    set,
                    index,
                    &field,
                    Diagnostic::error(Code::InvalidEmail, problem).hint(hint),
                ));
            }
        };
        match &object.resource {
            Resource::User(user) => report("spec.email".to_owned(), &user.spec.email),
            Resource::Schedule(schedule) => {
                if let Some(email) = &schedule.spec.recipients.email {
                    for (list, i, address) in email.addresses() {
                        report(format!("spec.recipients.email.{list}[{i}]"), address);
                    }
                }
                if let Some(slack) = &schedule.spec.recipients.slack {
                    split_channels(set, index, &slack.channels, found);
                }
            }
            _ => {}
        }
    }
}

/// Superset splits a Slack channel list at commas, semicolons and white space: an entry that
/// holds one of them is sent to several channels (and stored that way).
fn split_channels(set: &LoadedSet, index: usize, channels: &[String], found: &mut Vec<Diagnostic>) {
    for (i, channel) in channels.iter().enumerate() {
        let parts = crate::model::normalise_list(channel);
        if parts.contains(',') || parts.is_empty() {
            let shown: Vec<String> = parts.split(',').map(|p| format!("`{p}`")).collect();
            found.push(locate(
                set,
                index,
                &format!("spec.recipients.slack.channels[{i}]"),
                Diagnostic::warning(
                    Code::BadValue,
                    format!(
                        "Superset splits Slack channel lists at commas, semicolons and spaces: `{channel}` is sent to {}",
                        shown.join(" and ")
                    ),
                )
                .hint("write one channel per entry (Slack channel names have no spaces)"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::address_problem;

    #[test]
    fn one_plain_address_per_entry() {
        assert_eq!(address_problem("ana@finance.example.com"), None);
        assert!(
            address_problem("ana@x.com, bo@x.com")
                .unwrap()
                .contains("more than one")
        );
        assert!(
            address_problem("ana.example.com")
                .unwrap()
                .contains("no `@`")
        );
        assert!(address_problem("ana@").is_some());
        assert!(address_problem("ana@exa mple.com").is_some());
        assert!(address_problem("ana@-x.com").is_some());
    }
}
