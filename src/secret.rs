//! A secret (a signing key, an SMTP password) read from the environment, a file or a
//! Kubernetes Secret: held as bytes, never printed (its `Debug` says only where it came from).

use std::fmt;

/// A secret value.
#[derive(Clone)]
pub struct Secret {
    bytes: Vec<u8>,
    origin: String,
}

impl Secret {
    /// A secret and where it came from (`STEWARD_SUPERSET_SECRET_KEY`, a file path, …), the
    /// latter for messages.
    pub fn new(bytes: impl Into<Vec<u8>>, origin: impl Into<String>) -> Result<Secret, String> {
        let bytes = bytes.into();
        let origin = origin.into();
        // A file's trailing newline is not part of the key.
        let trimmed_len = bytes
            .iter()
            .rposition(|b| !matches!(b, b'\n' | b'\r'))
            .map_or(0, |i| i + 1);
        if trimmed_len == 0 {
            return Err(format!("the secret from {origin} is empty"));
        }
        Ok(Secret {
            bytes: bytes[..trimmed_len].to_vec(),
            origin,
        })
    }

    /// The value.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The value as text (`None` when it is not UTF-8).
    pub fn expose_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// Reads the secret from the environment variable `var`, or from the file named by
    /// `{var}_FILE`; `None` when neither is set. Both set is an error (which one wins would be
    /// a guess).
    pub fn from_env(var: &str) -> Result<Option<Secret>, String> {
        let file_var = format!("{var}_FILE");
        match (std::env::var_os(var), std::env::var_os(&file_var)) {
            (Some(_), Some(_)) => Err(format!("both {var} and {file_var} are set; set one")),
            (Some(value), None) => {
                Secret::new(value.into_encoded_bytes(), format!("${var}")).map(Some)
            }
            (None, Some(path)) => Secret::from_file(std::path::Path::new(&path)).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Reads the secret from a file (a mounted Kubernetes Secret, say).
    pub fn from_file(path: &std::path::Path) -> Result<Secret, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
        Secret::new(bytes, path.display().to_string())
    }

    /// Where it came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(from {}, redacted)", self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_a_trailing_newline_and_never_shows_the_key() {
        let s = Secret::new(b"k3y-value\n".to_vec(), "/run/secret").unwrap();
        assert_eq!(s.expose(), b"k3y-value");
        assert!(!format!("{s:?}").contains("k3y"));
        assert!(Secret::new(b"\n".to_vec(), "env").is_err());
    }
}
