//! The CLI's view of a pass's `tracing` output: a spinner on standard error naming the phase
//! (shown only on a terminal), and warnings (waiting for a lock) printed as they happen.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressStyle};

use crate::engine::phases::message_of;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Runs `work` with a pass's spans and events shown: the spinner, then cleared.
pub fn showing_progress<T>(work: impl FnOnce() -> T) -> T {
    let progress = Progress::new();
    let bar = progress.bar.clone();
    let result = tracing::subscriber::with_default(progress, work);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// What a phase's span says on the spinner (phases not listed leave it as it is).
fn wording(phase: &str) -> Option<&'static str> {
    Some(match phase {
        "lock" => "waiting for the database lock",
        "observe" => "reading Superset's state",
        "plan" => "planning",
        "apply" => "writing",
        "commit" => "committing",
        _ => return None,
    })
}

struct Progress {
    bar: Option<ProgressBar>,
    /// The name of every span, by id.
    spans: Mutex<Vec<&'static str>>,
    next: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            spans: Mutex::new(Vec::new()),
            next: AtomicU64::new(1),
        }
    }

    fn say(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
        }
    }
}

impl Subscriber for Progress {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("steward") && *metadata.level() <= Level::INFO
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
        spans.push(span.metadata().name());
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let message = message_of(event);
        match *event.metadata().level() {
            Level::ERROR | Level::WARN => {
                let print = || errln!("{}", crate::escape::terminal(&message));
                match &self.bar {
                    Some(bar) => bar.suspend(print),
                    None => print(),
                }
            }
            _ => self.say(&message),
        }
    }

    fn enter(&self, id: &Id) {
        let spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
        let index = usize::try_from(id.into_u64() - 1).expect("span ids fit");
        if let Some(words) = spans.get(index).copied().and_then(wording) {
            self.say(words);
        }
    }

    fn exit(&self, _: &Id) {}
}
