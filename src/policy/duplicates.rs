//! Duplicate declarations: the same manifest twice, two objects Superset would see as one
//! (same role/group/filter name, username, user e-mail, schedule name and type), and more than
//! one `ReportConfiguration`. E-mails compare folded (lower case, NFKC); other names that differ
//! only in case or Unicode form are `confusables`' concern.

use std::borrow::Cow;

use crate::fast_hash::FastMap;

use super::confusables::folded;
use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::identity::ResourceIdRef;
use crate::resources::{Kind, Resource};

pub(super) fn check(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    let mut manifests: FastMap<ResourceIdRef<'_>, usize> = FastMap::default();
    let mut superset: FastMap<(Kind, Option<&str>, &str), usize> = FastMap::default();
    let mut emails: FastMap<Cow<str>, usize> = FastMap::default();
    let mut config: Option<usize> = None;
    for (index, object) in set.objects.iter().enumerate() {
        let resource = &object.resource;
        let first_at = |first: usize| match set.location(first, &[]) {
            Some(location) => format!("first declared at {location}"),
            None => format!("{} declares it first", set.objects[first].resource.id()),
        };
        if let Some(&first) = manifests.get(&resource.id_ref()) {
            let id = resource.id();
            found.push(locate(
                set,
                index,
                "metadata.name",
                Diagnostic::error(Code::Duplicate, format!("{id} is declared twice"))
                    .hint(first_at(first)),
            ));
            continue;
        }
        manifests.insert(resource.id_ref(), index);
        if let Resource::Config(_) = resource {
            if let Some(first) = config {
                found.push(locate(
                    set,
                    index,
                    "metadata.name",
                    Diagnostic::error(
                        Code::SingletonViolated,
                        "only one ReportConfiguration may exist; this is a second one",
                    )
                    .hint(first_at(first)),
                ));
            }
            config.get_or_insert(index);
            continue;
        }
        let schedule_type = match resource {
            Resource::Schedule(s) => Some(s.spec.schedule_type.as_str()),
            _ => None,
        };
        let name = resource.superset_name();
        let key = (resource.kind(), schedule_type, name);
        if let Some(&first) = superset.get(&key) {
            let (label, name_field) = match schedule_type {
                Some(kind) => (format!("{kind} `{name}`"), "spec.name"),
                None => (
                    format!("{} `{name}`", resource.kind()),
                    resource.kind().superset_name_field(),
                ),
            };
            found.push(locate(
                set,
                index,
                name_field,
                Diagnostic::error(
                    Code::Duplicate,
                    format!("{label} is declared twice (Superset names must be unique)"),
                )
                .hint(format!("{}; rename one of them", first_at(first))),
            ));
        } else {
            superset.insert(key, index);
        }
        if let Resource::User(user) = resource {
            let email = folded(&user.spec.email);
            if let Some(&first) = emails.get(&email) {
                let spelled = match &set.objects[first].resource {
                    Resource::User(u) if u.spec.email != user.spec.email => format!(
                        " (`{}` there: e-mails are compared lower-cased)",
                        u.spec.email.escape_debug()
                    ),
                    _ => String::new(),
                };
                found.push(locate(
                    set,
                    index,
                    "spec.email",
                    Diagnostic::error(
                        Code::Duplicate,
                        format!(
                            "e-mail `{}` belongs to two users (Superset requires unique e-mails)",
                            user.spec.email.escape_debug()
                        ),
                    )
                    .hint(format!("{}{spelled}", first_at(first))),
                ));
            } else {
                emails.insert(email, index);
            }
        }
    }
}
