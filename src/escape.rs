//! Untrusted text (names and values from manifests or from Superset's database) made safe for
//! where it lands: a terminal (control, bidi and invisible characters shown as `\u{…}`), a
//! Markdown code span or GFM table cell, Markdown prose (every character Markdown or GitHub acts
//! on escaped, @mentions and bare URLs broken with a zero-width space), and HTML text. Pure.

use std::borrow::Cow;
use std::fmt::Write as _;

/// What steward inserts after `@` and inside `://` and `www.` in Markdown prose, so GitHub makes
/// no mention or link of them.
pub const LINK_BREAK: char = '\u{200B}';

/// Characters that drive a terminal or reorder or hide text: C0 and C1 controls and DEL, the
/// Arabic letter mark, zero-width characters and directional marks, line and paragraph
/// separators, bidi embeddings, overrides and isolates, word joiners and the byte-order mark.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Whether `text` holds a character [`is_hidden`] names.
pub fn has_hidden(text: &str) -> bool {
    text.chars().any(is_hidden)
}

/// `text` for a terminal, on one line: hidden characters as Rust-style escapes (`\n`, `\t`,
/// `\u{1b}`).
pub fn terminal(text: &str) -> Cow<'_, str> {
    escape_hidden(text, false)
}

/// One line of code (SQL, a clause) for a terminal: like [`terminal`], tabs kept.
pub fn terminal_code(text: &str) -> Cow<'_, str> {
    escape_hidden(text, true)
}

fn escape_hidden(text: &str, keep_tab: bool) -> Cow<'_, str> {
    let escaped = |c: char| is_hidden(c) && !(keep_tab && c == '\t');
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !escaped(c) => out.push(c),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// JSON text (as serde_json writes it) for a terminal: every hidden character left in its
/// strings (DEL, C1 controls, bidi and zero-width characters; serde_json escapes only C0) as a
/// JSON `\uXXXX` escape, so the output is the same JSON and shows what it holds.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    let layout = |c: char| matches!(c, '\n' | '\t' | '\r');
    if !json.chars().any(|c| is_hidden(c) && !layout(c)) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            c if layout(c) => out.push(c),
            c if is_hidden(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A Markdown code span showing `text` exactly (hidden characters escaped as for a terminal): a
/// backtick fence longer than any run inside, padded with a space when the text starts or ends
/// with a backtick or a space (the renderer strips one space from each side).
pub fn md_code(text: &str) -> String {
    let text = terminal(text);
    if text.is_empty() {
        return "` `".to_owned();
    }
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let edge = |c: Option<char>| matches!(c, Some('`' | ' '));
    let pad = if edge(text.chars().next()) || edge(text.chars().last()) {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A code span inside a GFM table cell: [`md_code`] with every `|` escaped, because tables split
/// rows on unescaped pipes before anything else, code spans included (GFM replaces `\|` with
/// `|` in the cell, and nothing else, so backslashes stay as they are).
pub fn md_cell_code(text: &str) -> String {
    md_code(text).replace('|', "\\|")
}

/// Markdown prose on one line, safe in a paragraph, a list item or a table cell: hidden
/// characters escaped as for a terminal, every character Markdown, GFM or GitHub acts on
/// backslash-escaped (emphasis, code, links, images, HTML, entities, tables, strikethrough,
/// headings, math), and a zero-width space after `@` and inside `://` and `www.`, so no
/// mention, e-mail link or bare-URL link comes of it. Spaces at either end are written as
/// character references, which table cells and paragraphs do not trim.
pub fn md_text(text: &str) -> String {
    let text = terminal(text);
    let body = text.trim_matches(' ');
    let lead = text.len() - text.trim_start_matches(' ').len();
    let trail = if body.is_empty() {
        0
    } else {
        text.len() - text.trim_end_matches(' ').len()
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&"&#32;".repeat(lead));
    for (i, c) in body.char_indices() {
        let rest = &body[i + c.len_utf8()..];
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '@' => {
                out.push(c);
                out.push(LINK_BREAK);
            }
            ':' if rest.starts_with("//") => {
                out.push(c);
                out.push(LINK_BREAK);
            }
            'w' | 'W' if rest.get(..3).is_some_and(|r| r.eq_ignore_ascii_case("ww.")) => {
                out.push(c);
                out.push(LINK_BREAK);
            }
            c => out.push(c),
        }
    }
    out.push_str(&"&#32;".repeat(trail));
    out
}

/// Text inside HTML (an element's content or a quoted attribute value): `&`, `<`, `>` and quotes
/// as entities, hidden characters escaped as for a terminal.
pub fn html_text(text: &str) -> String {
    let text = terminal(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A code-block fence longer than any run of backticks in `text` (at least three).
pub fn md_fence(text: &str) -> String {
    "`".repeat(longest_run(text, '`').max(2) + 1)
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_for_terminal_escapes_what_serde_json_leaves() {
        let value = serde_json::json!({"name": "a\u{202E}b\u{7f}c\u{85}é\n"});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let shown = json_for_terminal(&text);
        assert!(!has_hidden(&shown.replace('\n', "")), "{shown}");
        assert!(shown.contains("a\\u202eb\\u007fc\\u0085é\\n"), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
        assert!(matches!(json_for_terminal("{\"a\": 1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_shows_controls_bidi_and_invisibles_escaped() {
        assert_eq!(
            terminal("a\u{1b}[2Jb\u{7}\r\n\u{7f}\u{9b}\u{202e}\u{2066}\u{200b}\t"),
            "a\\u{1b}[2Jb\\u{7}\\r\\n\\u{7f}\\u{9b}\\u{202e}\\u{2066}\\u{200b}\\t"
        );
        assert!(matches!(terminal("ana.alves ü"), Cow::Borrowed(_)));
        assert_eq!(terminal_code("\tSELECT\u{1b}"), "\tSELECT\\u{1b}");
    }

    #[test]
    fn code_spans_outlast_backtick_runs() {
        assert_eq!(md_code("plain"), "`plain`");
        assert_eq!(md_code("a``b"), "```a``b```");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code(" x"), "`  x `");
        assert_eq!(md_code(""), "` `");
        assert_eq!(md_cell_code("a|b\\|c"), "`a\\|b\\\\|c`");
    }

    #[test]
    fn prose_escapes_and_breaks_links() {
        assert_eq!(md_text("*x* [a](b)"), "\\*x\\* \\[a\\](b)");
        assert_eq!(md_text("@root"), "@\u{200B}root");
        assert_eq!(
            md_text("https://e.io WWW.e.io"),
            "https:\u{200B}//e.io W\u{200B}WW.e.io"
        );
        assert_eq!(md_text("</details>\n"), "\\</details\\>\\\\n");
        assert_eq!(md_text(" a b  "), "&#32;a b&#32;&#32;");
        assert_eq!(html_text("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
