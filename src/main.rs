//! The `steward` binary: everything happens in the library's `cli` module.

/// mimalloc: a plan of org-10k allocates millions of small objects; the system allocator
/// spent about a quarter of a `diff`'s instructions in malloc/free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    steward::allocator::keep_freed_memory();
    steward::cli::run()
}
