//! Timing a pass by its `tracing` spans, for benchmarks and tools: a subscriber that records how
//! long each phase span (load, validate, lock, observe, plan, apply, commit) was entered, and
//! when each apply step (an info event inside `apply`) began.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// What a [`PhaseClock`] recorded.
#[derive(Clone, Debug, Default)]
pub struct PhaseTimes {
    /// Each phase as it ended, with the time it was entered (a phase entered again, as an
    /// async span is at each poll, adds up).
    pub phases: Vec<(&'static str, Duration)>,
    /// Each progress message (the apply's steps) with the instant it was emitted.
    pub steps: Vec<(String, Instant)>,
}

/// A subscriber that times phases; install it with `tracing::subscriber::with_default`.
#[derive(Clone, Default)]
pub struct PhaseClock(Arc<Mutex<Clock>>);

#[derive(Default)]
struct Clock {
    /// Per span id - 1: name, time entered so far, entered at.
    spans: Vec<(&'static str, Duration, Option<Instant>)>,
    times: PhaseTimes,
}

impl PhaseClock {
    /// What was recorded so far.
    pub fn times(&self) -> PhaseTimes {
        self.lock().times.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Clock> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn index(id: &Id) -> usize {
    usize::try_from(id.into_u64() - 1).expect("span ids fit")
}

/// The `message` field of an event (its formatted text).
pub fn message_of(event: &Event<'_>) -> String {
    let mut message = Message::default();
    event.record(&mut message);
    message.0
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
}

impl Subscriber for PhaseClock {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("steward")
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut clock = self.lock();
        clock
            .spans
            .push((span.metadata().name(), Duration::ZERO, None));
        Id::from_u64(clock.spans.len() as u64)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let message = message_of(event);
        self.lock().times.steps.push((message, Instant::now()));
    }

    fn enter(&self, id: &Id) {
        if let Some(span) = self.lock().spans.get_mut(index(id)) {
            span.2 = Some(Instant::now());
        }
    }

    fn exit(&self, id: &Id) {
        if let Some(span) = self.lock().spans.get_mut(index(id))
            && let Some(at) = span.2.take()
        {
            span.1 += at.elapsed();
        }
    }

    fn try_close(&self, id: Id) -> bool {
        let mut clock = self.lock();
        if let Some(&(name, spent, _)) = clock.spans.get(index(&id)) {
            clock.times.phases.push((name, spent));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_timed_when_they_end_and_steps_in_order() {
        let clock = PhaseClock::default();
        tracing::subscriber::with_default(clock.clone(), || {
            let _plan = tracing::info_span!("plan").entered();
            tracing::info!("writing objects");
            tracing::info!("committing {}", 1);
        });
        let times = clock.times();
        let names: Vec<&str> = times.phases.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["plan"]);
        let steps: Vec<&str> = times.steps.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(steps, ["writing objects", "committing 1"]);
    }
}
