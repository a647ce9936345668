//! The operator's view of the cluster: one reflector cache per watched kind (the seven steward
//! kinds and `SupersetInstance`), fed by watches, and a change signal raised when something a
//! pass reads changed (spec, annotations, deletion, appearance or removal), not when only a
//! status did: the operator's own status writes do not trigger passes.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures_util::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::resources::instance::SupersetInstance;
use crate::resources::{
    GuestTokenPolicy, ReportConfiguration, ReportSchedule, Resource as Declared,
    RowLevelSecurityFilter, SupersetGroup, SupersetRole, SupersetUser,
};

/// kubectl's client-side-apply annotation, a copy of the whole object.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The caches of every watched kind.
#[derive(Clone)]
pub struct Caches {
    pub users: Store<SupersetUser>,
    pub roles: Store<SupersetRole>,
    pub groups: Store<SupersetGroup>,
    pub rls: Store<RowLevelSecurityFilter>,
    pub schedules: Store<ReportSchedule>,
    pub configs: Store<ReportConfiguration>,
    pub guest_policies: Store<GuestTokenPolicy>,
    pub instances: Store<SupersetInstance>,
}

impl Caches {
    /// Every declared resource in the caches, oldest first (creation time, then name), so that
    /// of two declaring one Superset object, the older is the one the pass keeps.
    pub fn declared(&self) -> Vec<Declared> {
        let mut out: Vec<Declared> = Vec::new();
        out.extend(
            self.users
                .state()
                .iter()
                .map(|r| Declared::User((**r).clone())),
        );
        out.extend(
            self.roles
                .state()
                .iter()
                .map(|r| Declared::Role((**r).clone())),
        );
        out.extend(
            self.groups
                .state()
                .iter()
                .map(|r| Declared::Group((**r).clone())),
        );
        out.extend(
            self.rls
                .state()
                .iter()
                .map(|r| Declared::Rls((**r).clone())),
        );
        out.extend(
            self.schedules
                .state()
                .iter()
                .map(|r| Declared::Schedule(Box::new((**r).clone()))),
        );
        out.extend(
            self.configs
                .state()
                .iter()
                .map(|r| Declared::Config((**r).clone())),
        );
        out.extend(
            self.guest_policies
                .state()
                .iter()
                .map(|r| Declared::GuestPolicy((**r).clone())),
        );
        out.sort_by(|a, b| {
            let created = |r: &Declared| r.meta().creation_timestamp.as_ref().map(|t| t.0);
            created(a)
                .cmp(&created(b))
                .then_with(|| a.namespace().cmp(&b.namespace()))
                .then_with(|| a.metadata_name().cmp(b.metadata_name()))
        });
        out
    }

    /// Objects in the caches, all kinds.
    pub fn len(&self) -> usize {
        self.users.len()
            + self.roles.len()
            + self.groups.len()
            + self.rls.len()
            + self.schedules.len()
            + self.configs.len()
            + self.guest_policies.len()
    }

    /// Whether no declared resource is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Starts a watch per kind feeding `Caches`; `changed` is notified on every change a pass
/// reads. Returns once every cache holds its first full list.
pub async fn watch_all(client: &Client, changed: Arc<Notify>) -> anyhow::Result<Caches> {
    let caches = Caches {
        users: watch::<SupersetUser>(client, &changed),
        roles: watch::<SupersetRole>(client, &changed),
        groups: watch::<SupersetGroup>(client, &changed),
        rls: watch::<RowLevelSecurityFilter>(client, &changed),
        schedules: watch::<ReportSchedule>(client, &changed),
        configs: watch::<ReportConfiguration>(client, &changed),
        guest_policies: watch::<GuestTokenPolicy>(client, &changed),
        instances: watch::<SupersetInstance>(client, &changed),
    };
    for ready in [
        caches.users.wait_until_ready().await,
        caches.roles.wait_until_ready().await,
        caches.groups.wait_until_ready().await,
        caches.rls.wait_until_ready().await,
        caches.schedules.wait_until_ready().await,
        caches.configs.wait_until_ready().await,
        caches.guest_policies.wait_until_ready().await,
        caches.instances.wait_until_ready().await,
    ] {
        ready.map_err(|_| anyhow::anyhow!("a watch ended before its first list"))?;
    }
    Ok(caches)
}

/// One kind's cache, kept by a watch on every namespace.
fn watch<K>(client: &Client, changed: &Arc<Notify>) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    let api: Api<K> = Api::all(client.clone());
    let changed = Arc::clone(changed);
    let kind = K::kind(&()).into_owned();
    // The cache keeps what a pass reads: managed fields and kubectl's copy of the last applied
    // object (together often larger than the object) are dropped before it.
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object: &mut K| {
            let meta = object.meta_mut();
            meta.managed_fields = None;
            if let Some(annotations) = meta.annotations.as_mut() {
                annotations.remove(LAST_APPLIED);
            }
        })
        .reflect(writer);
    tokio::spawn(async move {
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(object)) | Ok(watcher::Event::InitApply(object)) => {
                    let key = read_key(&object);
                    if seen.insert(object.uid().unwrap_or_default(), key) != Some(key) {
                        changed.notify_one();
                    }
                }
                Ok(watcher::Event::Delete(object)) => {
                    seen.remove(&object.uid().unwrap_or_default());
                    changed.notify_one();
                }
                Ok(watcher::Event::Init) => {}
                Ok(watcher::Event::InitDone) => changed.notify_one(),
                Err(error) => {
                    tracing::warn!(kind = %kind, error = %error, "watch failed; retrying with backoff");
                }
            }
        }
    });
    reader
}

/// What a pass reads of an object, hashed: generation (the spec), annotations, labels and
/// deletion. A change of status or finalizers only (the operator's own writes) keeps it.
fn read_key<K: Resource>(object: &K) -> u64 {
    let meta = object.meta();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.annotations.hash(&mut hasher);
    meta.labels.hash(&mut hasher);
    meta.deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .hash(&mut hasher);
    hasher.finish()
}
