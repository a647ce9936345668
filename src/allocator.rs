//! Tuning of mimalloc, the binary's allocator. A pass builds and drops large states in phases;
//! by default mimalloc returns freed pages to the system after a second and the next phase faults
//! them in again, zeroed: at org-100k that was a third of a `diff`'s system time (0.9 s of
//! 2.2 s). A short-lived command keeps them instead.

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (2.x and 3.x); libmimalloc-sys 0.1.49
/// does not name it. Its default is 1000 (ms) in mimalloc 3; -1 never purges.
const PURGE_DELAY: mi_option_t = 15;

/// Never return freed memory to the system before the process ends.
pub fn keep_freed_memory() {
    // SAFETY: mimalloc's options are plain integers it reads atomically; setting one is allowed
    // at any time.
    unsafe { mi_option_set(PURGE_DELAY, -1) }
}

/// The purge delay now, in milliseconds (-1: never).
pub fn purge_delay() -> i64 {
    // SAFETY: reading an option has no precondition.
    i64::from(unsafe { mi_option_get(PURGE_DELAY) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_index_is_the_purge_delay_whose_default_is_1000_ms() {
        // 14 (eager commit delay) defaults to 1 and 16 (NUMA nodes) to 0: only the purge delay
        // is 1000, so this pins the index to the option it names.
        assert_eq!(purge_delay(), 1000);
        keep_freed_memory();
        assert_eq!(purge_delay(), -1);
    }
}
