//! Test-only failpoints in the apply path. In a debug build (the one `cargo test` runs), setting
//! `STEWARD_TEST_FAILPOINT=<phase>` makes `steward apply` print `failpoint <phase> reached` to
//! stderr when it gets there and then block forever, so a test can SIGKILL it at exactly that
//! point. `STEWARD_TEST_FAILPOINT=<phase>:hold` stops there the same way but goes on when
//! standard input gets a line or closes (printing `failpoint <phase> released`), so a test can
//! keep the write lock held for exactly as long as it needs (the apply must not read its
//! manifests from standard input then). Release builds compile the check out
//! (`cfg(debug_assertions)`): the variable cannot stall a production apply, and the hot path
//! carries no environment lookup. `debug_assertions` rather than `cfg(test)`: the integration
//! tests run the real binary, which is not built with `cfg(test)`.

/// The points inside the write transaction where an apply can be stopped, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Deleted objects and their link rows removed.
    Deletes,
    /// Objects' own rows created and updated.
    Objects,
    /// Link rows (permissions, memberships, recipients, owners) written.
    Links,
    /// Ledger written: the whole plan is in the transaction.
    Ledger,
    /// Just before the commit.
    BeforeCommit,
    /// Just after the commit.
    AfterCommit,
}

impl Phase {
    /// Every phase, in the order an apply reaches them.
    pub const ALL: [Phase; 6] = [
        Phase::Deletes,
        Phase::Objects,
        Phase::Links,
        Phase::Ledger,
        Phase::BeforeCommit,
        Phase::AfterCommit,
    ];

    /// The value of `STEWARD_TEST_FAILPOINT` that selects this phase.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Deletes => "deletes",
            Phase::Objects => "objects",
            Phase::Links => "links",
            Phase::Ledger => "ledger",
            Phase::BeforeCommit => "before-commit",
            Phase::AfterCommit => "after-commit",
        }
    }

    /// The value of `STEWARD_TEST_FAILPOINT` that holds the apply at this phase until released.
    pub fn hold(self) -> String {
        format!("{}{HOLD_SUFFIX}", self.name())
    }

    /// The line printed to stderr when the failpoint is reached.
    pub fn marker(self) -> String {
        format!("failpoint {} reached", self.name())
    }

    /// The line printed to stderr when a held failpoint is released.
    pub fn released(self) -> String {
        format!("failpoint {} released", self.name())
    }
}

/// The environment variable naming the phase to stop at.
pub const FAILPOINT_VAR: &str = "STEWARD_TEST_FAILPOINT";

const HOLD_SUFFIX: &str = ":hold";

/// What a failpoint does when the apply reaches it.
#[cfg(any(debug_assertions, test))]
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// Not selected: go on.
    Pass,
    /// Block forever (for SIGKILL).
    Forever,
    /// Block until standard input gets a line or closes.
    Hold,
}

/// What `STEWARD_TEST_FAILPOINT=<setting>` asks of the failpoint at `phase`.
#[cfg(any(debug_assertions, test))]
fn stop_at(phase: Phase, setting: &str) -> Stop {
    match setting.strip_suffix(HOLD_SUFFIX) {
        Some(name) if name == phase.name() => Stop::Hold,
        None if setting == phase.name() => Stop::Forever,
        _ => Stop::Pass,
    }
}

/// In a debug build, stops at `phase` as `STEWARD_TEST_FAILPOINT` asks (see the module).
#[cfg(debug_assertions)]
pub fn reached(phase: Phase) {
    let Ok(setting) = std::env::var(FAILPOINT_VAR) else {
        return;
    };
    let stop = stop_at(phase, &setting);
    if stop == Stop::Pass {
        return;
    }
    eprintln!("{}", phase.marker());
    if stop == Stop::Hold {
        // A line, end of input or an error: each releases.
        let _ = std::io::stdin().read_line(&mut String::new());
        eprintln!("{}", phase.released());
        return;
    }
    loop {
        std::thread::park();
    }
}

/// Release build: failpoints are compiled out.
#[cfg(not(debug_assertions))]
pub fn reached(_phase: Phase) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_selects_one_phase_and_how_it_stops() {
        for phase in Phase::ALL {
            assert_eq!(stop_at(phase, phase.name()), Stop::Forever);
            assert_eq!(stop_at(phase, &phase.hold()), Stop::Hold);
            for other in Phase::ALL.into_iter().filter(|p| *p != phase) {
                assert_eq!(stop_at(phase, other.name()), Stop::Pass);
                assert_eq!(stop_at(phase, &other.hold()), Stop::Pass);
            }
            for unknown in [
                "",
                "hold",
                ":hold",
                "commit",
                &format!("{}:wait", phase.name()),
            ] {
                assert_eq!(stop_at(phase, unknown), Stop::Pass, "{unknown:?}");
            }
        }
    }
}
