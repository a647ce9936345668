//! Placeholder replaced by the reconcile benchmark.
fn main() {}
