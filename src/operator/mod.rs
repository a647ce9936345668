//! `steward operator`: the cluster-resident reconciler. Watches the seven steward kinds and
//! `SupersetInstance`, and runs the engine's library pass once per instance over every resource
//! targeting it (isolating bad resources), triggered by changes (debounced), by a periodic resync
//! and by retries after failures; writes each resource's status and Events; runs the schedules
//! of instances with `spec.executions` as Jobs ([`executions`]). Serves `/metrics`, `/healthz`
//! and `/readyz`.
//!
//! Pure parts: [`isolation`], [`conditions`], [`targeting`], [`backoff`]. IO: [`cluster`]
//! (watches and caches), [`reconciler`] (passes and writes), [`status_writer`], [`http`].

pub mod admission;
pub mod backoff;
pub mod cluster;
pub mod conditions;
pub mod executions;
pub mod guest_tokens;
pub mod http;
pub mod instance_pass;
pub mod isolation;
pub mod leader;
pub mod lifecycle;
pub mod metrics;
pub mod rate_limit;
pub mod reconciler;
pub mod status_writer;
pub mod targeting;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use tokio::sync::Notify;

pub use crate::resources::instance::SupersetInstance;

/// How the operator runs.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// The operator's namespace: the instances' Secrets are read here.
    pub namespace: String,
    /// Time between full passes without any change (`None`: only on changes).
    pub resync: Option<Duration>,
    /// Changes arriving within this time of each other are handled by one pass.
    pub debounce: Duration,
    /// How long a statement waits for a database lock.
    pub lock_timeout: Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub http_addr: SocketAddr,
    /// This replica's name in Events and in the leader Lease (the pod name in a cluster).
    pub identity: String,
    /// How long the leader Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// The validating webhook, when served.
    pub webhook: Option<webhook::WebhookConfig>,
}

/// The leader Lease's name, in the operator's namespace.
pub const LEASE_NAME: &str = "steward-operator-leader";

/// Runs the operator until `shutdown` resolves (SIGTERM or Ctrl-C in the CLI).
pub async fn run(
    client: Client,
    config: OperatorConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let metrics = Arc::new(metrics::Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let server = http::serve(config.http_addr, Arc::clone(&metrics), Arc::clone(&ready)).await?;
    let changed = Arc::new(Notify::new());
    tracing::info!(namespace = %config.namespace, "starting: listing and watching the steward kinds");
    let caches = cluster::watch_all(&client, Arc::clone(&changed)).await?;
    ready.store(true, Ordering::SeqCst);
    tracing::info!(resources = caches.len(), "caches synced");
    let (leading_tx, mut leading) = tokio::sync::watch::channel(false);
    let (stop_election, stopping) = tokio::sync::watch::channel(false);
    let candidate = leader::Candidate::new(
        kube::Api::namespaced(client.clone(), &config.namespace),
        leader::ElectionConfig {
            lease_name: LEASE_NAME.to_owned(),
            identity: config.identity.clone(),
            lease_duration: config.lease_duration,
            retry_period: (config.lease_duration / 7).max(Duration::from_millis(500)),
        },
    );
    let election = tokio::spawn(candidate.run(leading_tx, stopping));
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "steward-operator".into(),
            instance: Some(config.identity.clone()),
        },
    );
    let reconciler = Arc::new(reconciler::Reconciler::new(
        client,
        caches,
        reconciler::ReconcilerConfig {
            namespace: config.namespace.clone(),
            lock_timeout: config.lock_timeout,
        },
        recorder,
        Arc::clone(&metrics),
    ));
    // Scheduled executions as Jobs: a loop of its own, acting while this replica leads.
    let jobs = executions::watch_jobs(&reconciler.client);
    let executions = tokio::spawn(executions::run(
        Arc::clone(&reconciler),
        jobs,
        leading.clone(),
        stop_election.subscribe(),
    ));
    // Every replica serves the webhook, leader or not.
    let webhook = match &config.webhook {
        Some(webhook) => Some(webhook::serve(webhook.clone(), Arc::clone(&reconciler)).await?),
        None => None,
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut retry: Option<Duration> = None;
    loop {
        let wait_resync = async {
            match config.resync {
                Some(every) => tokio::time::sleep(every).await,
                None => std::future::pending().await,
            }
        };
        let wait_retry = async {
            match retry {
                Some(after) => tokio::time::sleep(after).await,
                None => std::future::pending().await,
            }
        };
        let trigger = tokio::select! {
            () = &mut shutdown => break,
            Ok(()) = leading.changed() => "leadership",
            () = changed.notified() => "change",
            () = wait_resync => "resync",
            () = wait_retry => "retry",
        };
        let leader = *leading.borrow_and_update();
        metrics.set_leader(leader);
        if !leader {
            // Followers keep their caches warm and serve probes and metrics; only the leader
            // writes.
            if trigger == "leadership" {
                tracing::info!("not the leader: waiting");
            }
            continue;
        }
        if trigger == "leadership" {
            tracing::info!(identity = %config.identity, "leading: reconciling");
        }
        if trigger == "change" {
            // Debounce: one pass for a burst of changes (a `kubectl apply -f dir/`).
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(config.debounce) => {}
            }
        }
        tracing::debug!(trigger, "pass");
        // A pass in progress finishes before shutdown: its transaction commits or rolls back
        // whole either way, and its statuses are written.
        retry = reconciler.round().await;
    }
    tracing::info!("shutting down");
    ready.store(false, Ordering::SeqCst);
    let _ = stop_election.send(true);
    let _ = election.await;
    let _ = executions.await;
    server.abort();
    if let Some(webhook) = webhook {
        webhook.abort();
    }
    Ok(())
}
