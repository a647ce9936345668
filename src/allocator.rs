//! Tuning of the binary's memory for short-lived commands that build large states. At org-100k
//! a `diff` spent 2.2 s of its 5.3 s in the kernel zeroing pages: transparent huge pages (2 MiB
//! each, zeroed whole at the first touch of any byte, on a machine whose policy is `madvise`,
//! which mimalloc asks for) and pages mimalloc gave back after a second and faulted in again in
//! the next phase. With huge pages off for the process and freed pages kept, it spends 0.8 s.

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (2.x and 3.x); libmimalloc-sys 0.1.49
/// does not name it. Its default is 1000 (ms) in mimalloc 3; -1 never purges.
const PURGE_DELAY: mi_option_t = 15;

/// Never return freed memory to the system before the process ends, and use small pages only;
/// mimalloc's own environment variables (`MIMALLOC_PURGE_DELAY`, `MIMALLOC_ALLOW_THP`), when
/// set, win.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc's options are plain integers it reads atomically; setting one is
        // allowed at any time.
        unsafe { mi_option_set(PURGE_DELAY, -1) }
    }
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // mimalloc reads its own THP option once, at start-up: the process-wide switch is the
        // kernel's. A kernel without it leaves huge pages as they were, which is only slower.
        // SAFETY: PR_SET_THP_DISABLE takes no pointers.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

/// For a long-running process (the operator): give freed memory back to the system after
/// `delay_ms`, so a peak (a cold start's first pass) does not stay resident for the process's
/// life. `MIMALLOC_PURGE_DELAY`, when set, wins.
pub fn return_freed_memory(delay_ms: std::ffi::c_long) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: as in `keep_freed_memory`.
        unsafe { mi_option_set(PURGE_DELAY, delay_ms) }
    }
}

/// The purge delay now, in milliseconds (-1: never).
#[cfg(test)]
fn purge_delay() -> std::ffi::c_long {
    // SAFETY: reading an option has no precondition.
    unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }
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
