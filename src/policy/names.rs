//! Names hold no control, bidi or invisible characters: every name an object declares
//! (usernames, people's names, e-mail addresses, role, group, filter and schedule names, group
//! keys, recipients) and every name it refers to. Such characters let a name drive a terminal,
//! reorder or hide text, or look like another name; Superset shows them raw.

use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::escape::{is_hidden, terminal};
use crate::manifests::LoadedSet;
use crate::resources::Resource;

pub(super) fn check(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    for (index, object) in set.objects.iter().enumerate() {
        for (field, name) in names(&object.resource) {
            let Some((position, c)) = name.chars().enumerate().find(|(_, c)| is_hidden(*c)) else {
                continue;
            };
            let message = format!(
                "`{}` holds the control or invisible character U+{:04X} (character {})",
                terminal(name),
                u32::from(c),
                position + 1
            );
            let hint = "names may hold no control characters (C0, C1, DEL), bidirectional \
                        overrides or isolates, or zero-width characters: write the name with \
                        visible characters only";
            found.push(locate(
                set,
                index,
                &field,
                Diagnostic::error(Code::ControlCharacter, message).hint(hint),
            ));
        }
    }
}

/// Every name of `resource` with its field path.
pub(super) fn names<'a>(resource: &'a Resource) -> Vec<(String, &'a str)> {
    let mut out: Vec<(String, &'a str)> = vec![("metadata.name".into(), resource.metadata_name())];
    let mut one = |field: &str, value: Option<&'a String>| {
        if let Some(value) = value {
            out.push((field.to_owned(), value.as_str()));
        }
    };
    let mut lists: Vec<(&str, &'a [String])> = Vec::new();
    match resource {
        Resource::User(u) => {
            one("spec.username", u.spec.username.as_ref());
            one("spec.firstName", Some(&u.spec.first_name));
            one("spec.lastName", Some(&u.spec.last_name));
            one("spec.email", Some(&u.spec.email));
            lists.push(("spec.roles", &u.spec.roles));
        }
        Resource::Role(r) => {
            one("spec.name", r.spec.name.as_ref());
            lists.push(("spec.includes", &r.spec.includes));
        }
        Resource::Group(g) => {
            one("spec.name", g.spec.name.as_ref());
            one("spec.label", g.spec.label.as_ref());
            lists.push(("spec.roles", &g.spec.roles));
            lists.push(("spec.users", &g.spec.users));
        }
        Resource::Rls(f) => {
            one("spec.name", f.spec.name.as_ref());
            one("spec.groupKey", f.spec.group_key.as_ref());
            lists.push(("spec.roles", &f.spec.roles));
        }
        Resource::Schedule(s) => {
            one("spec.name", s.spec.name.as_ref());
            one("spec.runAs", s.spec.run_as.as_ref());
            one("spec.runAlertQueryAs", s.spec.run_alert_query_as.as_ref());
            lists.push(("spec.owners", &s.spec.owners));
            if let Some(email) = &s.spec.recipients.email {
                lists.push(("spec.recipients.email.to", &email.to));
                lists.push(("spec.recipients.email.cc", &email.cc));
                lists.push(("spec.recipients.email.bcc", &email.bcc));
            }
            if let Some(slack) = &s.spec.recipients.slack {
                lists.push(("spec.recipients.slack.channels", &slack.channels));
            }
        }
        Resource::Config(_) | Resource::GuestPolicy(_) => {}
    }
    for (field, items) in lists {
        for (i, item) in items.iter().enumerate() {
            out.push((format!("{field}[{i}]"), item.as_str()));
        }
    }
    out
}
