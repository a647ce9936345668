//! Declared objects the database's Superset release cannot hold, refused at plan time with the
//! object and the release: groups where Superset ignores group roles (5.0), usernames longer
//! than that release's `ab_user.username`. The facts come from the store
//! (`store::superset_version`), which knows each release.

use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::model::ReleaseFacts;
use crate::policy::locate;
use crate::resources::Resource;

/// An error for each declared object `release` cannot hold.
pub fn check(set: &LoadedSet, release: &ReleaseFacts) -> Vec<Diagnostic> {
    let version = &release.version;
    let mut found = Vec::new();
    for (index, object) in set.objects.iter().enumerate() {
        let resource = &object.resource;
        match resource {
            Resource::Group(_) if !release.group_roles => {
                let d = Diagnostic::error(
                    Code::ReleaseUnsupported,
                    format!(
                        "group `{}` cannot be declared on Superset {version}: that release has the group tables but applies only users' own roles, so the group's roles would grant nothing",
                        resource.superset_name()
                    ),
                )
                .hint("give the roles to the users directly (SupersetUser spec.roles), or upgrade Superset to 6.0 or later");
                found.push(locate(set, index, "", d));
            }
            Resource::User(user) => {
                let length = resource.superset_name().chars().count();
                if length > release.username_length {
                    let field = match user.spec.username {
                        Some(_) => "spec.username",
                        None => "metadata.name",
                    };
                    let d = Diagnostic::error(
                        Code::ReleaseUnsupported,
                        format!(
                            "username is {length} characters long; Superset {version} holds at most {} (`ab_user.username`)",
                            release.username_length
                        ),
                    )
                    .hint("shorten the username, or upgrade Superset to 6.0 or later (128 characters)");
                    found.push(locate(set, index, field, d));
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::{SourceFile, load_sources};

    const MANIFESTS: &str = "\
apiVersion: steward.dev/v1alpha1
kind: SupersetGroup
metadata:
  name: finance-team
spec:
  roles: [Gamma]
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata:
  name: short
spec:
  firstName: A
  lastName: B
  email: short@x.io
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata:
  name: long
spec:
  username: a-service-account-with-a-name-of-sixty-five-characters-xxxxxxxxxx
  firstName: A
  lastName: B
  email: long@x.io
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata:
  name: a-service-account-named-by-its-metadata-name-of-65-characters-xxx
spec:
  firstName: A
  lastName: B
  email: meta@x.io
";

    fn facts(group_roles: bool, username_length: usize) -> ReleaseFacts {
        ReleaseFacts {
            version: "5.0.0".to_owned(),
            group_roles,
            username_length,
        }
    }

    fn found(release: &ReleaseFacts) -> Vec<String> {
        let set = load_sources(vec![SourceFile {
            name: "org.yaml".to_owned(),
            text: MANIFESTS.to_owned(),
        }]);
        assert!(!set.has_errors(), "{:?}", set.diagnostics);
        check(&set, release)
            .iter()
            .map(|d| {
                assert_eq!(d.code, Code::ReleaseUnsupported);
                assert!(d.is_error());
                let at = d.location.as_ref().map(|l| l.line).unwrap_or_default();
                format!("{}:{at}:{}", d.field.as_deref().unwrap_or(""), d.message)
            })
            .collect()
    }

    #[test]
    fn groups_and_long_usernames_are_refused_where_the_release_cannot_hold_them() {
        assert_eq!(
            found(&facts(false, 64)),
            [
                ":1:group `finance-team` cannot be declared on Superset 5.0.0: that release has the group tables but applies only users' own roles, so the group's roles would grant nothing",
                "spec.username:22:username is 65 characters long; Superset 5.0.0 holds at most 64 (`ab_user.username`)",
                "metadata.name:30:username is 65 characters long; Superset 5.0.0 holds at most 64 (`ab_user.username`)",
            ]
        );
    }

    #[test]
    fn a_release_with_group_roles_and_longer_usernames_refuses_nothing() {
        assert_eq!(found(&facts(true, 128)), Vec::<String>::new());
        // Exactly at the limit is allowed.
        assert_eq!(found(&facts(true, 65)), Vec::<String>::new());
    }
}
