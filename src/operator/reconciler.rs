//! One reconcile round over every `SupersetInstance`: the resources each targets (from the
//! caches), its database URL (from its Secret), one whole-set pass through the engine, then the
//! resources' and the instance's status and Events. A database that cannot be reached marks the
//! instance and its resources "database unavailable" and is retried with backoff and jitter.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::Recorder;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::Mutex;

use super::backoff::Backoff;
use super::cluster::Caches;
use super::conditions::{self, READY, ResourceStatus, resource_status, status_patch};
use super::instance_pass::{
    InstancePassOptions, InstanceResult, ResourceResult, reconcile_instance,
};
use super::isolation::{Held, NotReady, without_uid};
use super::lifecycle::{
    CONFIRM_DELETIONS_ANNOTATION, DeletionPolicy, DeletionWindow, FINALIZER, adopts, allowance,
    confirmed_deletions, deletion_policy, paused_deletions_message,
};
use super::metrics::Metrics;
use super::status_writer::{self, FIELD_MANAGER, Notice, StatusWrite, publish, write_statuses};
use super::targeting::Instances;
use crate::plan::Action;
use crate::resources::Resource;
use crate::resources::identity::ResourceId;
use crate::resources::instance::SupersetInstance;
use crate::store::{DatabaseUrl, Store};

/// How the operator runs its passes.
#[derive(Clone, Debug)]
pub struct ReconcilerConfig {
    /// The namespace holding the instances' Secrets (the operator's own).
    pub namespace: String,
    /// How long a statement waits for a lock before the pass gives up (and retries).
    pub lock_timeout: Duration,
}

/// The reconciler: caches in, Superset and statuses out.
pub struct Reconciler {
    pub(super) client: Client,
    pub(super) caches: Caches,
    pub(super) config: ReconcilerConfig,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    connections: Mutex<HashMap<String, Connection>>,
    backoff: Mutex<HashMap<String, Backoff>>,
    deletions: Mutex<HashMap<String, DeletionWindow>>,
    /// The background task adding finalizers, while it runs.
    finalizing: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// An instance's open database connection and the fingerprint of the URL it was opened with.
type Connection = ([u8; 32], Arc<Store>);

/// Why an instance's pass could not run.
pub(super) struct Unavailable(pub(super) String);

impl Reconciler {
    pub fn new(
        client: Client,
        caches: Caches,
        config: ReconcilerConfig,
        recorder: Recorder,
        metrics: Arc<Metrics>,
    ) -> Reconciler {
        Reconciler {
            client,
            caches,
            config,
            recorder,
            metrics,
            connections: Mutex::new(HashMap::new()),
            backoff: Mutex::new(HashMap::new()),
            deletions: Mutex::new(HashMap::new()),
            finalizing: Mutex::new(None),
        }
    }

    /// One round over every instance. Returns when a retry is due (an instance failed), if any.
    pub async fn round(&self) -> Option<Duration> {
        let instances = self.caches.instances.state();
        let known = Instances::new(instances.iter().map(|i| {
            (
                i.metadata.name.as_deref().unwrap_or_default(),
                i.spec.default,
            )
        }));
        let mut by_instance: BTreeMap<String, Vec<Resource>> = BTreeMap::new();
        let mut untargeted: Vec<(Resource, String)> = Vec::new();
        for resource in self.caches.declared() {
            match known.target_of(resource.meta().annotations.as_ref()) {
                Ok(instance) => by_instance
                    .entry(instance.to_owned())
                    .or_default()
                    .push(resource),
                Err(why) => untargeted.push((resource, why)),
            }
        }
        let mut retry: Option<Duration> = None;
        let passes = instances.iter().map(|instance| {
            let name = instance.name_any();
            let resources = by_instance.remove(&name).unwrap_or_default();
            async move { (self.pass_instance(instance, resources).await, name) }
        });
        for (wanted, _) in futures_util::future::join_all(passes).await {
            if let Some(wait) = wanted {
                retry = Some(retry.map_or(wait, |r| r.min(wait)));
            }
        }
        let now = jiff::Timestamp::now();
        // A deleted resource no instance takes: nothing in Superset to clean up.
        let released: Vec<&Resource> = untargeted
            .iter()
            .map(|(r, _)| r)
            .filter(|r| is_deleting(r) && has_finalizer(r))
            .collect();
        self.set_finalizers(&released, false).await;
        let writes = untargeted
            .iter()
            .filter(|(resource, _)| !is_deleting(resource))
            .filter_map(|(resource, why)| {
                let result = ResourceResult::NotReady(Held {
                    reason: NotReady::InvalidSpec,
                    messages: vec![why.clone()],
                });
                status_write(resource, &result, now).map(|(write, _)| write)
            })
            .collect();
        self.write(writes).await;
        retry
    }

    /// The pass over one instance and everything it writes back. Returns the retry delay when
    /// the instance's database was unavailable.
    async fn pass_instance(
        &self,
        instance: &SupersetInstance,
        resources: Vec<Resource>,
    ) -> Option<Duration> {
        let name = instance.name_any();
        let started = Instant::now();
        let (deleting, resources): (Vec<Resource>, Vec<Resource>) =
            resources.into_iter().partition(is_deleting);
        let outcome = self.run_pass(instance, &resources, &deleting).await;
        let now = jiff::Timestamp::now();
        let (result, retry) = match outcome {
            Ok(result) => {
                self.backoff
                    .lock()
                    .await
                    .entry(name.clone())
                    .or_default()
                    .succeeded();
                (result, None)
            }
            Err(Unavailable(why)) => {
                self.connections.lock().await.remove(&name);
                let wait = self
                    .backoff
                    .lock()
                    .await
                    .entry(name.clone())
                    .or_default()
                    .failed(jitter());
                tracing::warn!(instance = %name, retry_in = ?wait, reason = %why, "database unavailable");
                let mut result = InstanceResult::default();
                for resource in &resources {
                    result.resources.insert(
                        without_uid(&resource.id()),
                        ResourceResult::NotReady(Held {
                            reason: NotReady::DatabaseUnavailable,
                            messages: vec![why.clone()],
                        }),
                    );
                }
                result.instance_refusals.push(why);
                (result, Some(wait))
            }
        };
        let unavailable = retry.is_some();
        self.metrics
            .pass_done(&name, pass_result(&result, unavailable), started.elapsed());
        let mut writes = Vec::new();
        let mut notices = Vec::new();
        let mut states: BTreeMap<String, u32> = BTreeMap::new();
        for resource in &resources {
            let Some(outcome) = result.resources.get(&without_uid(&resource.id())) else {
                continue;
            };
            *states.entry(state_name(outcome).to_owned()).or_default() += 1;
            let notice = notice_for(resource, outcome);
            if let Some(notice) = notice {
                if notice.reason == "DriftCorrected" {
                    self.metrics.drift_corrected(&name);
                }
                if notice.reason == "PolicyViolation" {
                    self.metrics.policy_rejected(&name);
                }
                notices.push(notice);
            }
            if let Some((write, _)) = status_write(resource, outcome, now) {
                writes.push(write);
            }
        }
        self.metrics.resources(&name, &states);
        let instance_ref = instance_reference(instance);
        for removed in &result.deleted {
            let by = removed
                .declared_by
                .as_ref()
                .map(|r| format!(" (declared by {r})"))
                .unwrap_or_default();
            let key = &removed.key;
            let (reason, note) = match removed.action {
                Action::Delete => ("Deleted", format!("deleted {key} from Superset{by}")),
                _ => (
                    "Released",
                    format!("released {key}{by}: it stays in Superset, no longer managed"),
                ),
            };
            notices.push(Notice {
                regarding: instance_ref.clone(),
                warning: false,
                reason,
                action: "Reconcile",
                note,
            });
        }
        self.write(writes).await;
        // Every live resource carries the finalizer, so its deletion waits for the pass that
        // removes (or releases) its Superset object; those finished lose it.
        // Added in the background (10,000 on a cold start take a while; the next change should
        // not wait for them): a resource deleted before it has one is still cleaned up, as its
        // object leaves the declared set.
        let unfinalized: Vec<Resource> = resources
            .iter()
            .filter(|r| !has_finalizer(r))
            .cloned()
            .collect();
        self.add_finalizers_in_background(unfinalized).await;
        let finished: std::collections::BTreeSet<&ResourceId> = result.finalized.iter().collect();
        if result.paused_deletions > 0 {
            let paused = ResourceResult::NotReady(Held {
                reason: NotReady::DeletionPaused,
                messages: vec![format!(
                    "SupersetInstance {name} paused deletions (mass-deletion guard); its status says how to confirm them"
                )],
            });
            let writes = deleting
                .iter()
                .filter_map(|r| status_write(r, &paused, now).map(|(w, _)| w))
                .collect();
            self.write(writes).await;
        }
        let finalized: Vec<&Resource> = deleting
            .iter()
            .filter(|r| has_finalizer(r) && finished.contains(&without_uid(&r.id())))
            .collect();
        self.set_finalizers(&finalized, false).await;
        self.write_instance_status(instance, &result, states, unavailable, now)
            .await;
        // Events are best effort: published in the background, one summary per reason on the
        // instance when a pass touched many resources (a cold start creates thousands).
        let notices = summarised(notices, &instance_ref);
        let recorder = self.recorder.clone();
        tokio::spawn(async move { publish(&recorder, notices).await });
        retry
    }

    /// Adds the finalizer to `resources` on a task of its own, unless the previous batch is
    /// still being written (the next pass sends what is still missing).
    async fn add_finalizers_in_background(self: &Reconciler, resources: Vec<Resource>) {
        if resources.is_empty() {
            return;
        }
        let mut running = self.finalizing.lock().await;
        if running.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        let client = self.client.clone();
        *running = Some(tokio::spawn(async move {
            let writes = resources.iter().map(|r| finalizer_write(r, true)).collect();
            for (what, error) in status_writer::write_metadata(&client, writes).await {
                tracing::warn!(resource = %what, error = %error, "finalizer not written");
            }
        }));
    }

    /// Adds (`present`) or removes the operator's finalizer on `resources`, by server-side
    /// apply under a field manager of its own: other finalizers are left alone.
    async fn set_finalizers(&self, resources: &[&Resource], present: bool) {
        let writes = resources
            .iter()
            .map(|resource| finalizer_write(resource, present))
            .collect();
        for (what, error) in status_writer::write_metadata(&self.client, writes).await {
            tracing::warn!(resource = %what, error = %error, "finalizer not written");
        }
    }

    /// Connects (or reuses the connection) and runs the isolated pass.
    async fn run_pass(
        &self,
        instance: &SupersetInstance,
        resources: &[Resource],
        deleting: &[Resource],
    ) -> Result<InstanceResult, Unavailable> {
        let name = instance.name_any();
        let url = self.database_url(instance).await?;
        let store = self.connection(&name, &url).await?;
        let guard = instance.spec.deletion_guard.unwrap_or_default();
        let confirmed = confirmed_deletions(instance.metadata.annotations.as_ref());
        let started = Instant::now();
        let recent = self
            .deletions
            .lock()
            .await
            .entry(name.clone())
            .or_default()
            .made_within(
                Duration::from_secs(u64::from(guard.window_seconds)),
                started,
            );
        let remaining = allowance(guard.threshold, recent);
        let mut options = InstancePassOptions {
            manager: format!("operator/{name}"),
            // A confirmation of N lets N deletions through however many were made lately.
            max_deletions: Some(confirmed.map_or(remaining, |n| remaining.max(n))),
            deleting: deleting.iter().map(|r| without_uid(&r.id())).collect(),
            orphaned: std::collections::BTreeSet::new(),
            adopting: resources
                .iter()
                .filter(|r| adopts(r.meta().annotations.as_ref()))
                .map(|r| without_uid(&r.id()))
                .collect(),
            prejudged: BTreeMap::new(),
        };
        for resource in deleting {
            if deletion_policy(resource.meta().annotations.as_ref()) == Ok(DeletionPolicy::Orphan) {
                options.orphaned.insert(without_uid(&resource.id()));
            }
        }
        for resource in resources {
            if let Err(why) = deletion_policy(resource.meta().annotations.as_ref()) {
                options.prejudged.insert(
                    without_uid(&resource.id()),
                    Held {
                        reason: NotReady::InvalidSpec,
                        messages: vec![why],
                    },
                );
            }
        }
        let mut result = reconcile_instance(&store, resources, &options)
            .await
            .map_err(|e| Unavailable(url.scrub(&e.to_string())))?;
        result.recent_deletions = recent;
        self.deletions
            .lock()
            .await
            .entry(name.clone())
            .or_default()
            .record(result.deletions, Instant::now());
        if confirmed.is_some() && result.paused_deletions == 0 {
            self.clear_confirmation(&name).await;
        }
        Ok(result)
    }

    /// Removes the confirmation annotation once it was used: the next mass deletion needs a
    /// confirmation of its own.
    async fn clear_confirmation(&self, instance: &str) {
        let api: Api<SupersetInstance> = Api::all(self.client.clone());
        let patch = json!({"metadata": {"annotations": {CONFIRM_DELETIONS_ANNOTATION: null}}});
        if let Err(error) = api
            .patch(instance, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(instance, error = %error, "the deletion confirmation could not be removed");
        }
    }

    /// The instance's metadata-database URL, from its Secret in the operator's namespace.
    pub(super) async fn database_url(
        &self,
        instance: &SupersetInstance,
    ) -> Result<DatabaseUrl, Unavailable> {
        let reference = &instance.spec.metadata_database.url_secret_ref;
        self.secret_value(reference, "spec.metadataDatabase.urlSecretRef")
            .await
            .map(DatabaseUrl::new)
    }

    /// The text under `reference` in the operator's namespace: UTF-8, surrounding whitespace
    /// dropped (a database URL and the like).
    pub(super) async fn secret_value(
        &self,
        reference: &crate::resources::instance::SecretKeyRef,
        field: &str,
    ) -> Result<String, Unavailable> {
        let bytes = self.secret_bytes(reference, field).await?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Unavailable(format!(
                "Secret {}/{} key {:?} ({field}.key) is not UTF-8 text",
                self.config.namespace, reference.name, reference.key
            ))
        })?;
        match text.trim() {
            "" => Err(Unavailable(format!(
                "Secret {}/{} key {:?} ({field}.key) is empty",
                self.config.namespace, reference.name, reference.key
            ))),
            trimmed => Ok(trimmed.to_owned()),
        }
    }

    /// The bytes under `reference` in the operator's namespace, exactly as the Secret holds
    /// them (a signing key is bytes; [`crate::secret::Secret`] drops a trailing newline).
    pub(super) async fn secret_bytes(
        &self,
        reference: &crate::resources::instance::SecretKeyRef,
        field: &str,
    ) -> Result<Vec<u8>, Unavailable> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.config.namespace);
        let secret = secrets.get_opt(&reference.name).await.map_err(|e| {
            Unavailable(format!(
                "cannot read Secret {}/{}: {e}",
                self.config.namespace, reference.name
            ))
        })?;
        let Some(secret) = secret else {
            return Err(Unavailable(format!(
                "Secret {}/{} ({field}) does not exist",
                self.config.namespace, reference.name
            )));
        };
        let value = secret
            .data
            .and_then(|mut d| d.remove(&reference.key))
            .map(|v| v.0)
            .or_else(|| {
                secret
                    .string_data
                    .and_then(|mut d| d.remove(&reference.key))
                    .map(String::into_bytes)
            });
        value.ok_or_else(|| {
            Unavailable(format!(
                "Secret {}/{} has no key {:?} ({field}.key)",
                self.config.namespace, reference.name, reference.key
            ))
        })
    }

    pub(super) async fn connection(
        &self,
        instance: &str,
        url: &DatabaseUrl,
    ) -> Result<Arc<Store>, Unavailable> {
        let mut connections = self.connections.lock().await;
        let fingerprint = url.fingerprint();
        if let Some((known, store)) = connections.get(instance)
            && *known == fingerprint
        {
            return Ok(Arc::clone(store));
        }
        let store = Store::connect_waiting(url, false, self.config.lock_timeout)
            .await
            .map_err(|e| Unavailable(url.scrub(&e.to_string())))?;
        let store = Arc::new(store);
        connections.insert(instance.to_owned(), (fingerprint, Arc::clone(&store)));
        Ok(store)
    }

    async fn write(&self, writes: Vec<StatusWrite>) {
        for (what, error) in write_statuses(&self.client, writes).await {
            tracing::warn!(resource = %what, error = %error, "status not written");
        }
    }

    async fn write_instance_status(
        &self,
        instance: &SupersetInstance,
        result: &InstanceResult,
        resources: BTreeMap<String, u32>,
        unavailable: bool,
        now: jiff::Timestamp,
    ) {
        let previous = instance.status.as_ref();
        let previous_ready = previous.and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
        let (status, reason, message) = if unavailable {
            (
                "False",
                NotReady::DatabaseUnavailable.as_str(),
                result.instance_refusals.join("\n"),
            )
        } else if !result.instance_refusals.is_empty() {
            (
                "False",
                NotReady::RefusedByGuardrail.as_str(),
                result.instance_refusals.join("\n"),
            )
        } else if result.paused_deletions > 0 {
            (
                "False",
                NotReady::DeletionPaused.as_str(),
                paused_deletions_message(
                    &instance.name_any(),
                    instance.spec.deletion_guard.unwrap_or_default(),
                    result.paused_deletions,
                    result.recent_deletions,
                ),
            )
        } else {
            (
                "True",
                "Reconciled",
                "every valid resource is applied".to_owned(),
            )
        };
        let ready = conditions::condition(
            READY,
            status,
            reason.to_owned(),
            message,
            instance.metadata.generation,
            previous_ready,
            now,
        );
        let mut body = json!({
            "conditions": [ready],
            "observedGeneration": instance.metadata.generation,
            "resources": resources,
            "lastPassTime": now.to_string(),
        });
        if let Some(version) = &result.superset_version {
            body["supersetVersion"] = json!(version);
        } else if let Some(version) = previous.and_then(|s| s.superset_version.as_ref()) {
            body["supersetVersion"] = json!(version);
        }
        if !unavailable {
            body["managedObjects"] = json!(result.managed_objects);
        }
        if result.paused_deletions > 0 {
            body["pausedDeletions"] = json!(result.paused_deletions);
        }
        let patch = json!({
            "apiVersion": "steward.dev/v1alpha1",
            "kind": "SupersetInstance",
            "metadata": {"name": instance.name_any()},
            "status": body,
        });
        let api: Api<SupersetInstance> = Api::all(self.client.clone());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        if let Err(error) = api
            .patch_status(&instance.name_any(), &params, &Patch::Apply(&patch))
            .await
        {
            tracing::warn!(instance = %instance.name_any(), error = %error, "instance status not written");
        }
    }
}

/// The result label of a pass for metrics.
fn pass_result(result: &InstanceResult, unavailable: bool) -> &'static str {
    if unavailable {
        "unavailable"
    } else if !result.instance_refusals.is_empty() {
        "refused"
    } else if result
        .resources
        .values()
        .any(|r| matches!(r, ResourceResult::NotReady(_)))
    {
        "partial"
    } else {
        "applied"
    }
}

fn state_name(result: &ResourceResult) -> &'static str {
    match result {
        ResourceResult::Ready { .. } => "Ready",
        ResourceResult::NotReady(held) => held.reason.as_str(),
    }
}

/// The status fields the operator owns, as they stand on the resource.
fn current(resource: &Resource) -> (Option<&Condition>, Option<i64>, Option<&str>) {
    let (conditions, id, applied) = match resource {
        Resource::Schedule(r) => match &r.status {
            Some(s) => (
                &s.conditions[..],
                s.superset_id,
                s.last_applied_time.as_deref(),
            ),
            None => (&[][..], None, None),
        },
        other => match sync_status(other) {
            Some(s) => (
                &s.conditions[..],
                s.superset_id,
                s.last_applied_time.as_deref(),
            ),
            None => (&[][..], None, None),
        },
    };
    (conditions.iter().find(|c| c.type_ == READY), id, applied)
}

fn sync_status(resource: &Resource) -> Option<&crate::resources::SyncStatus> {
    match resource {
        Resource::User(r) => r.status.as_ref(),
        Resource::Role(r) => r.status.as_ref(),
        Resource::Group(r) => r.status.as_ref(),
        Resource::Rls(r) => r.status.as_ref(),
        Resource::Config(r) => r.status.as_ref(),
        Resource::GuestPolicy(r) => r.status.as_ref(),
        Resource::Schedule(_) => None,
    }
}

/// The status write a resource needs after a pass, if its status changes.
fn status_write(
    resource: &Resource,
    result: &ResourceResult,
    now: jiff::Timestamp,
) -> Option<(StatusWrite, ResourceStatus)> {
    let (ready, id, applied) = current(resource);
    let generation = resource.meta().generation;
    let status = resource_status(result, generation, ready, applied, now);
    let unchanged = ready.is_some_and(|r| conditions::same(r, &status.ready))
        && id == status.superset_id
        && applied == status.last_applied_time.as_deref();
    if unchanged {
        return None;
    }
    let reference = status_writer::reference(resource);
    let body = status_patch(
        reference.api_version.as_deref().unwrap_or_default(),
        reference.kind.as_deref().unwrap_or_default(),
        resource.metadata_name(),
        &status,
    );
    Some((
        StatusWrite {
            kind: resource.kind(),
            namespace: resource.meta().namespace.clone(),
            name: resource.metadata_name().to_owned(),
            body,
        },
        status,
    ))
}

/// The Event a pass's result for a resource deserves: what it wrote, or a refusal that is new
/// (the condition changed), never a repeat of the same refusal every pass.
fn notice_for(resource: &Resource, result: &ResourceResult) -> Option<Notice> {
    let (ready, _, _) = current(resource);
    let regarding = status_writer::reference(resource);
    match result {
        ResourceResult::Ready {
            action: Some(action),
            ..
        } => {
            let steady = ready.is_some_and(|r| {
                r.status == "True" && r.observed_generation == resource.meta().generation
            });
            let (reason, note) = match action {
                Action::Update if steady => (
                    "DriftCorrected",
                    "Superset differed from the last applied spec (changed outside steward); corrected",
                ),
                Action::Create => ("Created", "created in Superset"),
                Action::Adopt => ("Adopted", "adopted the existing Superset object"),
                _ => ("Updated", "updated in Superset"),
            };
            Some(Notice {
                regarding,
                warning: false,
                reason,
                action: "Reconcile",
                note: note.to_owned(),
            })
        }
        ResourceResult::Ready { action: None, .. } => None,
        ResourceResult::NotReady(held) => {
            let reason = held.reason.as_str();
            let repeated = ready.is_some_and(|r| {
                r.reason == reason && r.observed_generation == resource.meta().generation
            });
            (!repeated).then(|| Notice {
                regarding,
                warning: true,
                reason,
                action: "Reconcile",
                note: held.messages.join("; "),
            })
        }
    }
}

fn instance_reference(instance: &SupersetInstance) -> ObjectReference {
    ObjectReference {
        api_version: Some("steward.dev/v1alpha1".into()),
        kind: Some("SupersetInstance".into()),
        name: instance.metadata.name.clone(),
        uid: instance.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// A number in [0, 1) for the backoff's jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// The apply that adds (`present`) or removes the operator's finalizer on `resource`.
fn finalizer_write(resource: &Resource, present: bool) -> StatusWrite {
    let reference = status_writer::reference(resource);
    let mut metadata = json!({"name": resource.metadata_name()});
    if present {
        metadata["finalizers"] = json!([FINALIZER]);
    }
    StatusWrite {
        kind: resource.kind(),
        namespace: resource.meta().namespace.clone(),
        name: resource.metadata_name().to_owned(),
        body: json!({
            "apiVersion": reference.api_version,
            "kind": reference.kind,
            "metadata": metadata,
        }),
    }
}

/// Events beyond this many in one pass are summarised on the instance, one per reason.
const EVENTS_PER_PASS: usize = 100;

/// `notices`, or when there are more than [`EVENTS_PER_PASS`], one per reason on the instance
/// counting them (naming the first few).
fn summarised(notices: Vec<Notice>, instance: &ObjectReference) -> Vec<Notice> {
    if notices.len() <= EVENTS_PER_PASS {
        return notices;
    }
    let mut by_reason: BTreeMap<(&'static str, bool), Vec<String>> = BTreeMap::new();
    for notice in &notices {
        let name = match (&notice.regarding.namespace, &notice.regarding.name) {
            (Some(ns), Some(name)) => format!(
                "{}/{ns}/{name}",
                notice.regarding.kind.as_deref().unwrap_or_default()
            ),
            (None, Some(name)) => format!(
                "{}/{name}",
                notice.regarding.kind.as_deref().unwrap_or_default()
            ),
            _ => notice.note.clone(),
        };
        by_reason
            .entry((notice.reason, notice.warning))
            .or_default()
            .push(name);
    }
    by_reason
        .into_iter()
        .map(|((reason, warning), names)| {
            let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
            let more = names.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            Notice {
                regarding: instance.clone(),
                warning,
                reason,
                action: "Reconcile",
                note: format!(
                    "{reason}: {} resources in one pass ({}{tail})",
                    names.len(),
                    shown.join(", ")
                ),
            }
        })
        .collect()
}

/// Whether the resource is being deleted (it has a deletion timestamp).
fn is_deleting(resource: &Resource) -> bool {
    resource.meta().deletion_timestamp.is_some()
}

/// Whether the operator's finalizer is on the resource.
fn has_finalizer(resource: &Resource) -> bool {
    resource
        .meta()
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}
