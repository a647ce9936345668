//! Writes what the operator owns on resources: their status, by server-side apply under the
//! operator's field manager (only when it changed), and Kubernetes Events for what a pass did
//! (created, updated, adopted, drift corrected, refused). Events never carry a secret: their
//! notes are the conditions' messages, which name resources and fields, not values of secrets.

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use serde_json::Value;

use crate::resources::{Kind, Resource};

/// The field manager of the operator's status writes.
pub const FIELD_MANAGER: &str = "steward-operator";

/// The field manager of the operator's finalizer on resources (only `metadata.finalizers`).
pub const FINALIZER_MANAGER: &str = "steward-operator-finalizer";

/// Status writes in flight at once.
const CONCURRENT_WRITES: usize = 32;

/// The API resource of a steward kind (for dynamic calls).
pub fn api_resource(kind: Kind) -> ApiResource {
    use crate::resources::*;
    match kind {
        Kind::SupersetUser => ApiResource::erase::<SupersetUser>(&()),
        Kind::SupersetRole => ApiResource::erase::<SupersetRole>(&()),
        Kind::SupersetGroup => ApiResource::erase::<SupersetGroup>(&()),
        Kind::RowLevelSecurityFilter => ApiResource::erase::<RowLevelSecurityFilter>(&()),
        Kind::ReportSchedule => ApiResource::erase::<ReportSchedule>(&()),
        Kind::ReportConfiguration => ApiResource::erase::<ReportConfiguration>(&()),
        Kind::GuestTokenPolicy => ApiResource::erase::<GuestTokenPolicy>(&()),
    }
}

/// One status to write: the resource it belongs to and the apply body (see
/// [`super::conditions::status_patch`]).
pub struct StatusWrite {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
    pub body: Value,
}

/// Writes every status, a bounded number at a time. Returns the writes that failed (a resource
/// deleted meanwhile is not a failure).
pub async fn write_statuses(
    client: &Client,
    writes: Vec<StatusWrite>,
) -> Vec<(String, kube::Error)> {
    apply_all(client, writes, FIELD_MANAGER, true).await
}

/// Applies metadata (the finalizer) to the resources themselves, under [`FINALIZER_MANAGER`].
pub async fn write_metadata(
    client: &Client,
    writes: Vec<StatusWrite>,
) -> Vec<(String, kube::Error)> {
    apply_all(client, writes, FINALIZER_MANAGER, false).await
}

async fn apply_all(
    client: &Client,
    writes: Vec<StatusWrite>,
    manager: &str,
    status: bool,
) -> Vec<(String, kube::Error)> {
    let params = PatchParams::apply(manager).force();
    let results = futures_util::stream::iter(writes.into_iter().map(|write| {
        let params = params.clone();
        let client = client.clone();
        async move {
            let resource = api_resource(write.kind);
            let api: Api<DynamicObject> = match &write.namespace {
                Some(ns) => Api::namespaced_with(client, ns, &resource),
                None => Api::all_with(client, &resource),
            };
            let patch = Patch::Apply(&write.body);
            let outcome = match status {
                true => api.patch_status(&write.name, &params, &patch).await,
                false => api.patch(&write.name, &params, &patch).await,
            };
            (format!("{}/{}", write.kind, write.name), outcome)
        }
    }))
    .buffer_unordered(CONCURRENT_WRITES)
    .collect::<Vec<_>>()
    .await;
    results
        .into_iter()
        .filter_map(|(what, outcome)| match outcome {
            Err(kube::Error::Api(status)) if status.code == 404 => None,
            Err(e) => Some((what, e)),
            Ok(_) => None,
        })
        .collect()
}

/// The object reference Events about `resource` point at.
pub fn reference(resource: &Resource) -> ObjectReference {
    let meta = resource.meta();
    let (api_version, kind) = match resource {
        Resource::User(r) => (api_version_of(r), "SupersetUser"),
        Resource::Role(r) => (api_version_of(r), "SupersetRole"),
        Resource::Group(r) => (api_version_of(r), "SupersetGroup"),
        Resource::Rls(r) => (api_version_of(r), "RowLevelSecurityFilter"),
        Resource::Schedule(r) => (api_version_of(r.as_ref()), "ReportSchedule"),
        Resource::Config(r) => (api_version_of(r), "ReportConfiguration"),
        Resource::GuestPolicy(r) => (api_version_of(r), "GuestTokenPolicy"),
    };
    ObjectReference {
        api_version: Some(api_version),
        kind: Some(kind.to_owned()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

fn api_version_of<K: kube::Resource<DynamicType = ()>>(_: &K) -> String {
    K::api_version(&()).into_owned()
}

/// One Event to publish.
pub struct Notice {
    pub regarding: ObjectReference,
    pub warning: bool,
    /// `Created`, `Updated`, `DriftCorrected`, `Refused`… (PascalCase, stable).
    pub reason: &'static str,
    /// What was done, e.g. `Reconcile`.
    pub action: &'static str,
    pub note: String,
}

/// Publishes `notices`; failures are logged, never fatal (Events are best effort).
pub async fn publish(recorder: &Recorder, notices: Vec<Notice>) {
    let results = futures_util::stream::iter(notices.into_iter().map(|notice| async move {
        let event = Event {
            type_: match notice.warning {
                true => EventType::Warning,
                false => EventType::Normal,
            },
            reason: notice.reason.to_owned(),
            note: Some(cut(notice.note, 1000)),
            action: notice.action.to_owned(),
            secondary: None,
        };
        recorder.publish(&event, &notice.regarding).await
    }))
    .buffer_unordered(CONCURRENT_WRITES)
    .collect::<Vec<_>>()
    .await;
    for failed in results.into_iter().filter_map(Result::err) {
        tracing::warn!(error = %failed, "an Event could not be published");
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The name a resource has in messages (`Kind/ns/name`).
pub fn named(resource: &Resource) -> String {
    resource.id().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn notes_are_cut_on_a_character_boundary() {
        let cut = super::cut("ä".repeat(700), 1000);
        assert!(cut.len() <= 1000);
        assert!(cut.ends_with('…'));
        assert_eq!(super::cut("short".into(), 1000), "short");
    }
}
