//! The operator's Prometheus metrics: passes and their duration by instance and result,
//! resources by state, drift corrections, policy rejections, and whether this replica leads.
//! Rendered in the OpenMetrics text format for `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    instance: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    instance: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    instance: String,
    state: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    passes: Family<PassLabels, Counter>,
    pass_seconds: Family<InstanceLabels, Histogram>,
    resources: Family<StateLabels, Gauge>,
    drift: Family<InstanceLabels, Counter>,
    policy: Family<InstanceLabels, Counter>,
    leader: Gauge,
    /// The states each instance reported last, to zero the ones that emptied.
    last_states: Mutex<BTreeMap<String, Vec<String>>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("steward");
        let passes = Family::<PassLabels, Counter>::default();
        registry.register(
            "passes",
            "Reconcile passes by instance and result (applied, partial, refused, unavailable)",
            passes.clone(),
        );
        let pass_seconds = Family::<InstanceLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        registry.register(
            "pass_duration_seconds",
            "Duration of a reconcile pass over one instance",
            pass_seconds.clone(),
        );
        let resources = Family::<StateLabels, Gauge>::default();
        registry.register(
            "resources",
            "Resources by instance and state (Ready, InvalidSpec, PolicyViolation, …)",
            resources.clone(),
        );
        let drift = Family::<InstanceLabels, Counter>::default();
        registry.register(
            "drift_corrections",
            "Objects changed outside steward and corrected by a pass",
            drift.clone(),
        );
        let policy = Family::<InstanceLabels, Counter>::default();
        registry.register(
            "policy_rejections",
            "Resources newly refused for breaking the Alerts & Reports policy",
            policy.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 when this replica holds the leader lease and writes, else 0",
            leader.clone(),
        );
        Metrics {
            registry,
            passes,
            pass_seconds,
            resources,
            drift,
            policy,
            leader,
            last_states: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records a finished pass.
    pub fn pass_done(&self, instance: &str, result: &str, took: Duration) {
        self.passes
            .get_or_create(&PassLabels {
                instance: instance.to_owned(),
                result: result.to_owned(),
            })
            .inc();
        self.pass_seconds
            .get_or_create(&InstanceLabels {
                instance: instance.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Sets the resources of `instance` by state (states absent now go to zero).
    pub fn resources(&self, instance: &str, states: &BTreeMap<String, u32>) {
        let mut last = self.last_states.lock().unwrap_or_else(|p| p.into_inner());
        for gone in last.get(instance).into_iter().flatten() {
            if !states.contains_key(gone) {
                self.resources
                    .get_or_create(&StateLabels {
                        instance: instance.to_owned(),
                        state: gone.clone(),
                    })
                    .set(0);
            }
        }
        for (state, count) in states {
            self.resources
                .get_or_create(&StateLabels {
                    instance: instance.to_owned(),
                    state: state.clone(),
                })
                .set(i64::from(*count));
        }
        last.insert(instance.to_owned(), states.keys().cloned().collect());
    }

    pub fn drift_corrected(&self, instance: &str) {
        self.drift
            .get_or_create(&InstanceLabels {
                instance: instance.to_owned(),
            })
            .inc();
    }

    pub fn policy_rejected(&self, instance: &str) {
        self.policy
            .get_or_create(&InstanceLabels {
                instance: instance.to_owned(),
            })
            .inc();
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_that_empty_go_to_zero_and_passes_are_counted() {
        let metrics = Metrics::new();
        metrics.pass_done("prod", "applied", Duration::from_millis(20));
        metrics.resources(
            "prod",
            &BTreeMap::from([("Ready".into(), 3), ("InvalidSpec".into(), 1)]),
        );
        metrics.resources("prod", &BTreeMap::from([("Ready".into(), 4)]));
        metrics.set_leader(true);
        let text = metrics.render();
        assert!(
            text.contains("steward_passes_total{instance=\"prod\",result=\"applied\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("steward_resources{instance=\"prod\",state=\"Ready\"} 4"),
            "{text}"
        );
        assert!(
            text.contains("steward_resources{instance=\"prod\",state=\"InvalidSpec\"} 0"),
            "{text}"
        );
        assert!(text.contains("steward_leader 1"), "{text}");
        assert!(
            text.contains("steward_pass_duration_seconds_count{instance=\"prod\"} 1"),
            "{text}"
        );
    }
}
