//! The `steward` binary: everything happens in the library's `cli` module.

fn main() -> std::process::ExitCode {
    steward::cli::run()
}
