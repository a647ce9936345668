//! Test-only failpoints in the apply path. In a debug build (the one `cargo test` runs), setting
//! `STEWARD_TEST_FAILPOINT=<phase>` makes `steward apply` print `failpoint <phase> reached` to
//! stderr when it gets there and then block forever, so a test can SIGKILL it at exactly that
//! point. Release builds compile the check out (`cfg(debug_assertions)`): the variable cannot
//! stall a production apply, and the hot path carries no environment lookup. `debug_assertions`
//! rather than `cfg(test)`: the integration tests run the real binary, which is not built with
//! `cfg(test)`.

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

    /// The line printed to stderr when the failpoint is reached.
    pub fn marker(self) -> String {
        format!("failpoint {} reached", self.name())
    }
}

/// The environment variable naming the phase to stop at.
pub const FAILPOINT_VAR: &str = "STEWARD_TEST_FAILPOINT";

/// Blocks forever if this is a debug build and `STEWARD_TEST_FAILPOINT` names `phase`.
#[cfg(debug_assertions)]
pub fn reached(phase: Phase) {
    if std::env::var(FAILPOINT_VAR).is_ok_and(|v| v == phase.name()) {
        eprintln!("{}", phase.marker());
        loop {
            std::thread::park();
        }
    }
}

/// Release build: failpoints are compiled out.
#[cfg(not(debug_assertions))]
pub fn reached(_phase: Phase) {}
