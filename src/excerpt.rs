//! The source line a diagnostic echoes, made safe to print: secrets redacted (the value of a key
//! that names a URL, webhook, token, password or secret, and any URL's user info, path, query
//! and fragment), cut to [`WIDTH`] characters around the column with ellipses (a 10 MB scalar
//! stays a short line), and control, bidi and invisible characters escaped. Pure.

use crate::escape::terminal_code;

/// The most characters of the source line shown (before escaping).
pub const WIDTH: usize = 160;

/// What stands in for a redacted secret.
pub const REDACTED: &str = "<redacted>";

/// A line ready to print, and where its caret goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excerpt {
    /// The text.
    pub text: String,
    /// Characters of `text` before the caret.
    pub caret: usize,
}

/// The excerpt of `line` around 1-based character `column`.
pub fn excerpt(line: &str, column: usize) -> Excerpt {
    let secrets = secret_spans(line);
    let at = byte_of_char(line, column.saturating_sub(1));
    let start = back_chars(line, at, WIDTH / 2);
    let end = byte_of_char_from(line, start, WIDTH);
    let mut out = Piece::default();
    if start > 0 {
        out.push("…");
    }
    let mut i = start;
    while i < end {
        if let Some(span) = secrets.iter().find(|s| s.0 <= i && i < s.1) {
            if span.0 <= at && at < span.1 {
                out.mark();
            }
            out.push(REDACTED);
            i = span.1;
            continue;
        }
        let next = secrets
            .iter()
            .map(|s| s.0)
            .filter(|s| *s > i)
            .min()
            .unwrap_or(end)
            .min(end);
        if (i..next).contains(&at) {
            out.push(&line[i..at]);
            out.mark();
            out.push(&line[at..next]);
        } else {
            out.push(&line[i..next]);
        }
        i = next;
    }
    if at >= i {
        out.mark();
    }
    if end < line.len() {
        out.push("…");
    }
    Excerpt {
        text: out.text,
        caret: out.caret.unwrap_or(0),
    }
}

/// Text built piece by piece, escaped, with the caret's place in characters.
#[derive(Default)]
struct Piece {
    text: String,
    chars: usize,
    caret: Option<usize>,
}

impl Piece {
    fn push(&mut self, raw: &str) {
        let shown = terminal_code(raw);
        self.chars += shown.chars().count();
        self.text.push_str(&shown);
    }

    fn mark(&mut self) {
        self.caret.get_or_insert(self.chars);
    }
}

/// Byte ranges of `line` that hold secrets, sorted and disjoint.
fn secret_spans(line: &str) -> Vec<(usize, usize)> {
    let mut spans = secret_values(line);
    spans.extend(url_secrets(line));
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Key fragments whose values are secrets.
const SECRET_KEYS: [&str; 7] = [
    "url",
    "webhook",
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
];

/// The value (to the end of the line) after the first `key:` whose key names a secret. One
/// pass, however long the line.
fn secret_values(line: &str) -> Vec<(usize, usize)> {
    let mut key_start = 0;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() || matches!(c, '{' | ',' | '-' | '[') {
            key_start = i + c.len_utf8();
            continue;
        }
        if c != ':' || chars.peek().is_some_and(|(_, next)| !next.is_whitespace()) {
            continue;
        }
        let key = line[key_start..i]
            .trim_matches(|c| c == '"' || c == '\'')
            .to_ascii_lowercase();
        if !key.is_empty() && SECRET_KEYS.iter().any(|k| key.contains(k)) {
            let rest = &line[i + 1..];
            let value = i + 1 + (rest.len() - rest.trim_start().len());
            return if value < line.len() {
                vec![(value, line.len())]
            } else {
                Vec::new()
            };
        }
        key_start = i + 1;
    }
    Vec::new()
}

/// For every `scheme://` URL: its user info, and its path, query and fragment. A separator
/// inside a URL already seen starts none, so the line is read once.
fn url_secrets(line: &str) -> Vec<(usize, usize)> {
    let ends_url = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`');
    let mut spans = Vec::new();
    let mut seen = 0;
    for (sep, _) in line.match_indices("://") {
        if sep < seen {
            continue;
        }
        let authority = sep + 3;
        let end = line[authority..]
            .find(ends_url)
            .map_or(line.len(), |i| authority + i);
        seen = end;
        // A password may hold `/`, `?` or `#`: the user info runs to the last `@`.
        let host = match line[authority..end].rfind('@') {
            Some(at) => {
                spans.push((authority, authority + at));
                authority + at + 1
            }
            None => authority,
        };
        let host_end = line[host..end]
            .find(['/', '?', '#'])
            .map_or(end, |i| host + i);
        if host_end < end {
            spans.push((host_end, end));
        }
    }
    spans
}

/// The byte offset of character `n` (the end when the line is shorter).
fn byte_of_char(line: &str, n: usize) -> usize {
    byte_of_char_from(line, 0, n)
}

fn byte_of_char_from(line: &str, from: usize, n: usize) -> usize {
    line[from..]
        .char_indices()
        .nth(n)
        .map_or(line.len(), |(i, _)| from + i)
}

/// The byte offset `n` characters before `at`.
fn back_chars(line: &str, at: usize, n: usize) -> usize {
    line[..at]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_shown_whole_with_the_caret_in_place() {
        let e = excerpt("  crontb: '0 8 * * 1'", 3);
        assert_eq!(e.text, "  crontb: '0 8 * * 1'");
        assert_eq!(e.caret, 2);
        assert_eq!(excerpt("ab", 9).caret, 2, "past the end");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("name: {}X{}", "a".repeat(10_000), "b".repeat(10_000));
        let e = excerpt(&line, 10_007);
        assert!(
            e.text.starts_with('…') && e.text.ends_with('…'),
            "{}",
            e.text
        );
        assert!(e.text.chars().count() <= WIDTH + 2);
        assert_eq!(e.text.chars().nth(e.caret), Some('X'));
    }

    #[test]
    fn secrets_are_redacted() {
        let e = excerpt("      url: https://hooks.example/T0/B0/s3cr3t?token=x", 7);
        assert_eq!(e.text, "      url: <redacted>");
        let e = excerpt(
            "  webhook: {url: 'https://u:pw@hooks.example/abc', extra: 1}",
            50,
        );
        assert!(
            !e.text.contains("abc") && !e.text.contains("pw"),
            "{}",
            e.text
        );
        let e = excerpt(
            "  note: see postgres://user:s3/cret@db.example/x?sslpassword=q",
            3,
        );
        assert!(
            !e.text.contains("s3") && !e.text.contains("q"),
            "{}",
            e.text
        );
        assert!(e.text.contains("postgres://"), "{}", e.text);
        assert_eq!(e.caret, 2);
    }

    #[test]
    fn lines_full_of_separators_are_read_once() {
        let line = "a: ".repeat(1 << 18) + &"x://".repeat(1 << 18);
        let e = excerpt(&line, 3 << 18);
        assert!(e.text.chars().count() <= WIDTH + 2 + REDACTED.len());
    }

    #[test]
    fn hidden_characters_are_escaped_and_the_caret_follows() {
        let e = excerpt("a\u{1b}[2Jb: x", 6);
        assert_eq!(e.text, "a\\u{1b}[2Jb: x");
        assert_eq!(e.text.chars().nth(e.caret), Some('b'));
    }
}
