//! Which declared resource an object, a change or a diagnostic belongs to: kind, namespace
//! (namespaced kinds only, `default` when omitted), `metadata.name`, and the Kubernetes uid when
//! the resource came from the API server. The Superset side's identity is `model::ObjectKey`.

use serde::Serialize;

use super::kinds::{Kind, Resource, object_id};

/// A declared resource's identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceId {
    /// The kind.
    pub kind: Kind,
    /// The namespace, for namespaced kinds (`default` when the manifest omits it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`, for resources read from the Kubernetes API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl ResourceId {
    /// The identity of a resource of `kind` named `name` in `namespace`.
    pub fn new(kind: Kind, namespace: Option<&str>, name: impl Into<String>) -> ResourceId {
        ResourceId {
            kind,
            namespace: kind
                .namespaced()
                .then(|| namespace.unwrap_or("default").to_owned()),
            name: name.into(),
            uid: None,
        }
    }
}

impl std::fmt::Display for ResourceId {
    /// `Kind/name` or `Kind/namespace/name`, as messages name objects.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&object_id(self.kind, self.namespace.as_deref(), &self.name))
    }
}

/// A declared resource's identity borrowed from it ([`Resource::id_ref`]): equal exactly when
/// the owned [`ResourceId`]s are, for checks that compare every resource of a set without
/// copying their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceIdRef<'a> {
    kind: Kind,
    namespace: Option<&'a str>,
    name: &'a str,
    uid: Option<&'a str>,
}

impl Resource {
    /// This resource's identity, borrowed.
    pub fn id_ref(&self) -> ResourceIdRef<'_> {
        let meta = self.meta();
        let kind = self.kind();
        ResourceIdRef {
            kind,
            namespace: kind
                .namespaced()
                .then(|| meta.namespace.as_deref().unwrap_or("default")),
            name: self.metadata_name(),
            uid: meta.uid.as_deref(),
        }
    }

    /// This resource's identity.
    pub fn id(&self) -> ResourceId {
        let meta = self.meta();
        ResourceId {
            uid: meta.uid.clone(),
            ..ResourceId::new(self.kind(), meta.namespace.as_deref(), self.metadata_name())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_kinds_carry_their_namespace_and_others_none() {
        let schedule = ResourceId::new(Kind::ReportSchedule, None, "weekly");
        assert_eq!(schedule.namespace.as_deref(), Some("default"));
        assert_eq!(schedule.to_string(), "ReportSchedule/default/weekly");
        let role = ResourceId::new(Kind::SupersetRole, Some("team-a"), "analyst");
        assert_eq!(role.namespace, None);
        assert_eq!(role.to_string(), "SupersetRole/analyst");
        assert_eq!(
            serde_json::to_value(&role).unwrap(),
            serde_json::json!({"kind": "SupersetRole", "name": "analyst"})
        );
    }

    #[test]
    fn borrowed_identities_are_equal_exactly_when_owned_ones_are() {
        let text = "\
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: weekly}
spec: {name: Weekly, type: Report, crontab: '0 9 * * 1', dashboard: {slug: sales}, owners: [admin]}
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: weekly, namespace: default}
spec: {name: Weekly 2, type: Report, crontab: '0 9 * * 1', dashboard: {slug: sales}, owners: [admin]}
---
apiVersion: steward.dev/v1alpha1
kind: ReportSchedule
metadata: {name: weekly, namespace: team-a}
spec: {name: Weekly 3, type: Report, crontab: '0 9 * * 1', dashboard: {slug: sales}, owners: [admin]}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: weekly, namespace: team-a}
spec: {name: Weekly}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: weekly}
spec: {name: Weekly}
---
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata: {name: weekly, uid: 5f0c}
spec: {name: Weekly}
";
        let set = crate::manifests::load_sources(vec![crate::manifests::SourceFile {
            name: "ids.yaml".into(),
            text: text.into(),
        }]);
        let resources: Vec<&Resource> = set.objects.iter().map(|o| &o.resource).collect();
        assert_eq!(resources.len(), 6, "{:?}", set.diagnostics);
        for a in &resources {
            for b in &resources {
                assert_eq!(
                    a.id() == b.id(),
                    a.id_ref() == b.id_ref(),
                    "{} / {}",
                    a.id(),
                    b.id()
                );
            }
        }
        // The omitted namespace is `default`; a cluster-scoped kind ignores the one given.
        assert_eq!(resources[0].id_ref(), resources[1].id_ref());
        assert_eq!(resources[3].id_ref(), resources[4].id_ref());
        assert_ne!(resources[4].id_ref(), resources[5].id_ref());
    }
}
