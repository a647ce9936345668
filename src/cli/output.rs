//! Writing to standard output and standard error without panicking when the reader went away
//! (`steward apply … | head -1`): a closed pipe drops the rest of the text and the command
//! goes on to its real outcome and exit code; any other write error is reported once on
//! standard error. Colours are stripped when the stream is not a terminal (anstream).

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static REPORTED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output.
pub fn write_out(args: Arguments<'_>) {
    let result = anstream::stdout().write_fmt(args);
    handle(result, "standard output");
}

/// Writes a data format (JSON, Markdown) to standard output as it is: no colour stripping,
/// which would also drop characters (DEL, lone ESC) that the format itself has escaped or
/// carries exactly.
pub fn write_data(args: Arguments<'_>) {
    let result = std::io::stdout().lock().write_fmt(args);
    handle(result, "standard output");
}

/// Writes to standard error.
pub fn write_err(args: Arguments<'_>) {
    let result = anstream::stderr().write_fmt(args);
    handle(result, "standard error");
}

fn handle(result: std::io::Result<()>, stream: &str) {
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {}
        Err(e) => {
            if !REPORTED.swap(true, Ordering::Relaxed) {
                let _ = writeln!(std::io::stderr(), "error: writing to {stream}: {e}");
            }
        }
    }
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::write_out(format_args!($($arg)*)) };
}

/// `println!` that never panics.
macro_rules! outln {
    () => { $crate::cli::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::output::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` of a data format (JSON, Markdown): written exactly, never panics.
macro_rules! data {
    ($($arg:tt)*) => { $crate::cli::output::write_data(format_args!($($arg)*)) };
}

/// `println!` of a data format (JSON, Markdown): written exactly, never panics.
macro_rules! dataln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_data(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => { $crate::cli::output::write_err(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => { $crate::cli::output::write_err(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::output::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}
