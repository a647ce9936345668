//! Logging for the long-running commands (`operator`, `scheduler`): `tracing` to standard
//! error, JSON (one object per line) or text. Text lines escape every field for the terminal:
//! names from manifests and Superset's database may hold control characters or bidi overrides
//! that would forge or hide log lines.

use std::fmt::Write as _;

use tracing_subscriber::field::MakeExt;

/// Installs the process's subscriber (`STEWARD_LOG` filters, default `info`).
pub fn init(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STEWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        "text" => builder.fmt_fields(escaped_fields()).try_init(),
        _ => builder.json().flatten_event(true).try_init(),
    };
}

/// Field formatting for text logs: `name=value`, the message bare, every value escaped.
pub fn escaped_fields()
-> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        let text = crate::escape::terminal(&text);
        match field.name() {
            "message" => write!(writer, "{text}"),
            name => write!(writer, "{name}={text}"),
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn text_logs_escape_untrusted_names() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(escaped_fields())
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let name = "ops\nINFO forged line\u{202e}gpj.exe\x1b[31m";
            tracing::info!(resource = %name, "applied {}", name);
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(!out.contains('\u{202e}'));
        assert!(!out.contains('\x1b'));
        assert!(out.contains("resource=ops"));
    }
}
