//! Leader election with a `coordination.k8s.io/v1` Lease in the operator's namespace, so two or
//! more replicas are safe: only the holder writes Superset, statuses and Events; every replica
//! watches and serves probes and metrics. The holder renews the Lease every retry period; a
//! replica takes an expired Lease over (optimistic concurrency: the API server refuses an
//! update based on a stale version, so two cannot take it at once). On shutdown the holder
//! releases it, so another takes over at once instead of after the lease duration.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;

/// How the election runs.
#[derive(Clone, Debug)]
pub struct ElectionConfig {
    /// The Lease's name (in the operator's namespace).
    pub lease_name: String,
    /// This replica's identity in the Lease.
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews and the others try.
    pub retry_period: Duration,
}

/// One replica's candidacy.
pub struct Candidate {
    api: Api<Lease>,
    config: ElectionConfig,
}

/// What a round of the election found.
#[derive(Debug, PartialEq, Eq)]
enum Round {
    Leading,
    Following,
}

impl Candidate {
    pub fn new(api: Api<Lease>, config: ElectionConfig) -> Candidate {
        Candidate { api, config }
    }

    /// Runs the election until `stop` turns true, publishing whether this replica leads; then
    /// releases the Lease if it holds it.
    pub async fn run(self, leading: watch::Sender<bool>, mut stop: watch::Receiver<bool>) {
        let mut last_renewal: Option<tokio::time::Instant> = None;
        loop {
            match self.round().await {
                Ok(Round::Leading) => {
                    last_renewal = Some(tokio::time::Instant::now());
                    leading.send_if_modified(|l| !std::mem::replace(l, true));
                }
                Ok(Round::Following) => {
                    last_renewal = None;
                    leading.send_if_modified(|l| std::mem::replace(l, false));
                }
                Err(error) => {
                    // The API server is unreachable: a leader keeps leading only while its
                    // Lease is surely still valid.
                    let valid = last_renewal
                        .is_some_and(|at| at.elapsed() < self.config.lease_duration * 2 / 3);
                    if !valid {
                        leading.send_if_modified(|l| std::mem::replace(l, false));
                    }
                    tracing::warn!(%error, "leader election: the Lease could not be read or written");
                }
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
        if *leading.borrow() {
            leading.send_replace(false);
            if let Err(error) = self.release().await {
                tracing::warn!(%error, "leader election: the Lease could not be released");
            }
        }
    }

    async fn round(&self) -> Result<Round, kube::Error> {
        let now = jiff::Timestamp::now();
        let name = &self.config.lease_name;
        let me = &self.config.identity;
        let Some(mut lease) = self.api.get_opt(name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.held_spec(now, 0, now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    tracing::info!(identity = %me, "leader election: took the new Lease");
                    Ok(Round::Leading)
                }
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::Following),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let transitions = spec.lease_transitions.unwrap_or(0);
        let new_spec = if holder == Some(me.as_str()) {
            let acquired = spec.acquire_time.map_or(now, |t| t.0);
            self.held_spec(acquired, transitions, now)
        } else {
            let duration = spec
                .lease_duration_seconds
                .map_or(self.config.lease_duration, |s| {
                    Duration::from_secs(u64::try_from(s).unwrap_or(0))
                });
            let renewed = spec.renew_time.map(|t| t.0);
            let expired = holder.is_none()
                || renewed
                    .is_none_or(|at| now.duration_since(at).unsigned_abs() >= duration || at > now);
            if !expired {
                return Ok(Round::Following);
            }
            self.held_spec(now, transitions + 1, now)
        };
        let taking_over = holder != Some(me.as_str());
        lease.spec = Some(new_spec);
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(_) => {
                if taking_over {
                    tracing::info!(identity = %me, previous = ?holder, "leader election: took the Lease over");
                }
                Ok(Round::Leading)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::Following),
            Err(e) => Err(e),
        }
    }

    fn held_spec(
        &self,
        acquired: jiff::Timestamp,
        transitions: i32,
        now: jiff::Timestamp,
    ) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Gives the Lease up (no holder), so another replica takes it at its next try.
    async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.config.lease_name).await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        spec.acquire_time = None;
        self.api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await?;
        tracing::info!("leader election: released the Lease");
        Ok(())
    }
}
