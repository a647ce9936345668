//! Hash maps and sets for the hot paths that index hundreds of thousands of names and ids while
//! a pass runs (validation, resolution, planning, reading the database): foldhash, seeded per
//! process, instead of the standard library's SipHash, which cost several percent of a no-op
//! `diff` of org-100k. Nothing here is exposed to a remote peer that could choose colliding keys
//! at will; the per-process seed still varies the layout between runs.

/// A `HashMap` with foldhash.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash.
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
