//! Whether a guest-token request fits a `GuestTokenPolicy`, and the grant it gets: the
//! requested dashboards as their embedded uuids, the user and attributes checked against the
//! policy's patterns, the policy's RLS clauses added, the lifetime capped. Every reason for a
//! refusal is listed, not the first. Pure: the policy arrives resolved against Superset.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value as Json;

use super::guest::{GuestGrant, GuestResource, GuestRlsRule, GuestUser};
use crate::escape::terminal;
use crate::model::GuestPolicy;

/// The default username pattern: 1 to 128 characters, none of them control characters.
pub const DEFAULT_USERNAME_PATTERN: &str = r"[^\p{Cc}]{1,128}";

/// A dashboard a policy allows, as Superset holds it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedDashboard {
    /// How the policy names it (`slug sales`, `uuid …`, `title "…"`), for messages.
    pub declared_as: String,
    pub id: i64,
    pub uuid: String,
    pub slug: Option<String>,
    pub title: String,
    /// Its embedded uuid; `None` when it is not embedded in Superset.
    pub embedded_uuid: Option<String>,
}

impl AllowedDashboard {
    /// Whether a request's `name` (id, uuid, embedded uuid, slug or title) names it.
    fn is_named(&self, name: &str) -> bool {
        name == self.id.to_string()
            || name.eq_ignore_ascii_case(&self.uuid)
            || self
                .embedded_uuid
                .as_deref()
                .is_some_and(|u| name.eq_ignore_ascii_case(u))
            || self.slug.as_deref() == Some(name)
            || name == self.title
    }
}

/// One attribute rule, compiled.
#[derive(Clone, Debug)]
pub struct AttributeRule {
    pub pattern: Regex,
    pub required: bool,
}

/// A policy ready to decide requests.
#[derive(Clone, Debug)]
pub struct ResolvedGuestPolicy {
    /// The policy's name.
    pub id: String,
    pub dashboards: Vec<AllowedDashboard>,
    pub username_pattern: Regex,
    pub attributes: BTreeMap<String, AttributeRule>,
    pub rls_rules: Vec<GuestRlsRule>,
    pub max_lifetime_seconds: u32,
}

/// A pattern that must match a whole value.
pub fn whole_match(pattern: &str) -> Result<Regex, regex::Error> {
    // The pattern must stand alone first: `a)|(?:.*` would otherwise close the wrapping group
    // and match anything.
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()?;
    regex::RegexBuilder::new(&format!(r"\A(?:{pattern})\z"))
        .size_limit(1 << 20)
        .build()
}

/// `policy` as applied, made ready against what Superset holds now: its dashboards (by uuid)
/// with their ids and embedded uuids, its RLS datasets as ids, its patterns compiled. A
/// dashboard or dataset gone since the apply is a reason to refuse every request.
pub fn resolve(
    policy: &GuestPolicy,
    dashboards: &[AllowedDashboard],
    dataset_ids: &BTreeMap<String, i64>,
) -> Result<ResolvedGuestPolicy, Vec<String>> {
    let mut problems = Vec::new();
    let mut allowed = Vec::new();
    for uuid in &policy.dashboards {
        match dashboards.iter().find(|d| d.uuid.eq_ignore_ascii_case(uuid)) {
            Some(d) => allowed.push(AllowedDashboard {
                declared_as: match &d.slug {
                    Some(slug) => format!("slug {}", shown(slug)),
                    None => format!("title {}", shown(&d.title)),
                },
                ..d.clone()
            }),
            None => problems.push(format!(
                "the policy's dashboard {uuid} no longer exists in Superset (apply the policy again once it is fixed)"
            )),
        }
    }
    let mut rls_rules = Vec::new();
    for rule in &policy.rls_rules {
        let dataset = match &rule.dataset {
            None => None,
            Some(key) => match dataset_ids.get(key) {
                Some(id) => Some(*id),
                None => {
                    problems.push(format!(
                        "the dataset {} of the policy's RLS rule no longer exists in Superset",
                        shown(key)
                    ));
                    continue;
                }
            },
        };
        rls_rules.push(GuestRlsRule {
            dataset,
            clause: rule.clause.clone(),
        });
    }
    let mut compile = |what: String, pattern: &str| match whole_match(pattern) {
        Ok(regex) => Some(regex),
        Err(e) => {
            problems.push(format!("{what} {} does not compile: {e}", shown(pattern)));
            None
        }
    };
    let username_pattern = compile(
        "the username pattern".into(),
        policy
            .username_pattern
            .as_deref()
            .unwrap_or(DEFAULT_USERNAME_PATTERN),
    );
    let attributes: BTreeMap<String, AttributeRule> = policy
        .attributes
        .iter()
        .filter_map(|(key, rule)| {
            let pattern = compile(
                format!("the pattern of attribute {}", shown(key)),
                &rule.pattern,
            )?;
            Some((
                key.clone(),
                AttributeRule {
                    pattern,
                    required: rule.required,
                },
            ))
        })
        .collect();
    match (problems.is_empty(), username_pattern) {
        (true, Some(username_pattern)) => Ok(ResolvedGuestPolicy {
            id: terminal(&policy.name).into_owned(),
            dashboards: allowed,
            username_pattern,
            attributes,
            rls_rules,
            max_lifetime_seconds: policy.max_lifetime_seconds,
        }),
        _ => Err(problems),
    }
}

/// What a caller asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuestTokenRequest {
    /// Dashboards by id, uuid, embedded uuid, slug or title.
    pub dashboards: Vec<String>,
    pub username: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Seconds; the policy's maximum when absent.
    #[serde(default)]
    pub lifetime_seconds: Option<u32>,
}

/// A request that fits: what to mint.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub grant: GuestGrant,
    pub lifetime_seconds: u32,
}

/// Decides `request` under `policy`: the grant, or every reason it is refused.
pub fn decide(
    policy: &ResolvedGuestPolicy,
    request: &GuestTokenRequest,
) -> Result<Decision, Vec<String>> {
    let mut refusals = Vec::new();
    let mut resources = Vec::new();
    if request.dashboards.is_empty() {
        refusals.push("no dashboard requested".to_owned());
    }
    for name in &request.dashboards {
        match policy.dashboards.iter().find(|d| d.is_named(name)) {
            None => refusals.push(format!(
                "dashboard {} is not one the policy {} allows (it allows {})",
                shown(name),
                policy.id,
                policy
                    .dashboards
                    .iter()
                    .map(|d| d.declared_as.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(dashboard) => match &dashboard.embedded_uuid {
                None => refusals.push(format!(
                    "dashboard {} is not embedded in Superset (enable it under the dashboard's \"Embed dashboard\" settings)",
                    shown(&dashboard.title)
                )),
                Some(uuid) => {
                    let resource = GuestResource::dashboard(uuid.clone());
                    if !resources.contains(&resource) {
                        resources.push(resource);
                    }
                }
            },
        }
    }
    if !policy.username_pattern.is_match(&request.username) {
        refusals.push(format!(
            "username {} does not match the policy's pattern {}",
            shown(&request.username),
            shown(pattern_text(&policy.username_pattern))
        ));
    }
    for (field, value) in [
        ("firstName", &request.first_name),
        ("lastName", &request.last_name),
    ] {
        if value.chars().count() > 64 || value.chars().any(char::is_control) {
            refusals.push(format!(
                "{field} must be at most 64 characters without control characters"
            ));
        }
    }
    for (key, value) in &request.attributes {
        match policy.attributes.get(key) {
            None => refusals.push(format!(
                "attribute {} is not one the policy allows{}",
                shown(key),
                match policy.attributes.is_empty() {
                    true => " (it allows none)".to_owned(),
                    false => format!(
                        " (it allows {})",
                        policy
                            .attributes
                            .keys()
                            .map(|k| shown(k))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            )),
            Some(rule) if !rule.pattern.is_match(value) => refusals.push(format!(
                "attribute {} = {} does not match its pattern {}",
                shown(key),
                shown(value),
                shown(pattern_text(&rule.pattern))
            )),
            Some(_) => {}
        }
    }
    for (key, rule) in &policy.attributes {
        if rule.required && !request.attributes.contains_key(key) {
            refusals.push(format!("attribute {} is required", shown(key)));
        }
    }
    let lifetime = request
        .lifetime_seconds
        .unwrap_or(policy.max_lifetime_seconds);
    if lifetime == 0 {
        refusals.push("a lifetime of 0 seconds grants nothing".to_owned());
    } else if lifetime > policy.max_lifetime_seconds {
        refusals.push(format!(
            "a lifetime of {lifetime} s is longer than the policy's maximum of {} s",
            policy.max_lifetime_seconds
        ));
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let attributes = (!request.attributes.is_empty()).then(|| {
        request
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), Json::from(v.as_str())))
            .collect()
    });
    Ok(Decision {
        grant: GuestGrant {
            user: GuestUser {
                username: request.username.clone(),
                first_name: request.first_name.clone(),
                last_name: request.last_name.clone(),
                attributes,
            },
            resources,
            rls_rules: policy.rls_rules.clone(),
        },
        lifetime_seconds: lifetime,
    })
}

/// The pattern as declared (without the whole-match wrapper).
fn pattern_text(pattern: &Regex) -> &str {
    pattern
        .as_str()
        .strip_prefix(r"\A(?:")
        .and_then(|p| p.strip_suffix(r")\z"))
        .unwrap_or(pattern.as_str())
}

/// A request's text in a message: quoted, hidden characters escaped, long values cut.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(120).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("\"{}{more}\"", terminal(&cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ResolvedGuestPolicy {
        ResolvedGuestPolicy {
            id: "analytics/partners".into(),
            dashboards: vec![
                AllowedDashboard {
                    declared_as: "slug sales".into(),
                    id: 4,
                    uuid: "d-uuid".into(),
                    slug: Some("sales".into()),
                    title: "Sales".into(),
                    embedded_uuid: Some("e-uuid".into()),
                },
                AllowedDashboard {
                    declared_as: "title \"Audit\"".into(),
                    id: 5,
                    uuid: "a-uuid".into(),
                    slug: None,
                    title: "Audit".into(),
                    embedded_uuid: None,
                },
            ],
            username_pattern: whole_match("partner-[0-9]+").unwrap(),
            attributes: BTreeMap::from([
                (
                    "tenant".into(),
                    AttributeRule {
                        pattern: whole_match("[a-z]{2,16}").unwrap(),
                        required: true,
                    },
                ),
                (
                    "tier".into(),
                    AttributeRule {
                        pattern: whole_match("gold|silver").unwrap(),
                        required: false,
                    },
                ),
            ]),
            rls_rules: vec![GuestRlsRule {
                dataset: Some(7),
                clause: "tenant = 'x'".into(),
            }],
            max_lifetime_seconds: 600,
        }
    }

    fn request() -> GuestTokenRequest {
        GuestTokenRequest {
            dashboards: vec!["sales".into(), "e-uuid".into(), "4".into()],
            username: "partner-7".into(),
            first_name: "P".into(),
            last_name: "Seven".into(),
            attributes: BTreeMap::from([("tenant".into(), "acme".into())]),
            lifetime_seconds: None,
        }
    }

    #[test]
    fn a_fitting_request_gets_embedded_uuids_the_policys_rls_and_its_lifetime() {
        let decision = decide(&policy(), &request()).unwrap();
        assert_eq!(
            decision.grant.resources,
            [GuestResource::dashboard("e-uuid")]
        );
        assert_eq!(decision.grant.rls_rules, policy().rls_rules);
        assert_eq!(decision.lifetime_seconds, 600);
        assert_eq!(
            decision.grant.user.attributes.unwrap()["tenant"],
            Json::from("acme")
        );
    }

    #[test]
    fn every_violation_is_listed() {
        let mut bad = request();
        bad.dashboards = vec!["finance".into(), "Audit".into()];
        bad.username = "admin".into();
        bad.attributes = BTreeMap::from([
            ("role".into(), "Admin".into()),
            ("tier".into(), "platinum".into()),
        ]);
        bad.lifetime_seconds = Some(3600);
        let refusals = decide(&policy(), &bad).unwrap_err();
        let text = refusals.join("\n");
        for expected in [
            "dashboard \"finance\" is not one the policy analytics/partners allows (it allows slug sales, title \"Audit\")",
            "dashboard \"Audit\" is not embedded",
            "username \"admin\" does not match the policy's pattern \"partner-[0-9]+\"",
            "attribute \"role\" is not one the policy allows (it allows \"tenant\", \"tier\")",
            "attribute \"tier\" = \"platinum\" does not match its pattern \"gold|silver\"",
            "attribute \"tenant\" is required",
            "a lifetime of 3600 s is longer than the policy's maximum of 600 s",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert_eq!(refusals.len(), 7, "{text}");
    }

    #[test]
    fn patterns_match_whole_values_only() {
        let mut partial = request();
        partial.username = "partner-7; drop".into();
        partial.attributes = BTreeMap::from([("tenant".into(), "acme\n' OR 1=1".into())]);
        let refusals = decide(&policy(), &partial).unwrap_err();
        assert_eq!(refusals.len(), 2, "{refusals:?}");
        // Hidden characters in a refused value are shown escaped.
        assert!(
            refusals.iter().any(|r| r.contains("acme\\n' OR 1=1")),
            "{refusals:?}"
        );
        // A pattern that closes the wrapping group itself is refused, not widened.
        assert!(whole_match("a)|(?:.*").is_err());
        assert!(whole_match("gold|silver").unwrap().is_match("silver"));
        assert!(!whole_match("gold|silver").unwrap().is_match("goldsilver"));
        let default = whole_match(DEFAULT_USERNAME_PATTERN).unwrap();
        assert!(default.is_match("jane.doe@example.com"));
        assert!(!default.is_match("a\u{1b}[31m"));
        assert!(!default.is_match(""));
    }

    fn applied() -> GuestPolicy {
        GuestPolicy {
            name: "partners".into(),
            dashboards: ["d-uuid".to_owned()].into(),
            username_pattern: None,
            attributes: BTreeMap::from([(
                "tenant".into(),
                crate::model::GuestAttribute {
                    pattern: "[a-z]+".into(),
                    required: true,
                },
            )]),
            rls_rules: [crate::model::GuestRls {
                dataset: Some("warehouse.sales.orders".into()),
                clause: "tenant = 'x'".into(),
            }]
            .into(),
            max_lifetime_seconds: 300,
            service_accounts: Default::default(),
        }
    }

    #[test]
    fn an_applied_policy_resolves_against_superset_as_it_is_now() {
        let dashboards = policy().dashboards;
        let datasets = BTreeMap::from([("warehouse.sales.orders".to_owned(), 7)]);
        let resolved = resolve(&applied(), &dashboards, &datasets).unwrap();
        assert_eq!(resolved.dashboards.len(), 1);
        assert_eq!(resolved.dashboards[0].declared_as, "slug \"sales\"");
        assert_eq!(resolved.rls_rules[0].dataset, Some(7));
        // The default username pattern applies.
        assert!(resolved.username_pattern.is_match("anyone@example.com"));
        // Gone since the apply: every missing piece named.
        let problems = resolve(&applied(), &[], &BTreeMap::new()).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("d-uuid no longer exists"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("warehouse.sales.orders"),
            "{problems:?}"
        );
        // A pattern stored by hand that does not compile is a problem, not a panic.
        let mut broken = applied();
        broken.username_pattern = Some("(".into());
        let problems = resolve(&broken, &dashboards, &datasets).unwrap_err();
        assert!(problems[0].contains("does not compile"), "{problems:?}");
    }

    #[test]
    fn a_zero_lifetime_or_no_dashboard_is_refused() {
        let mut empty = request();
        empty.dashboards.clear();
        empty.lifetime_seconds = Some(0);
        let refusals = decide(&policy(), &empty).unwrap_err();
        assert_eq!(refusals.len(), 2, "{refusals:?}");
    }
}
