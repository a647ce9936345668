//! A source's bytes as text: UTF-8 (a leading byte-order mark dropped), or a diagnostic that
//! names the file, the first byte that is not UTF-8 (line and column), and the encoding it looks
//! like (UTF-16 or UTF-32 by their byte-order mark or NUL pattern, Latin-1 by a lone high byte).

use crate::diagnostic::{Code, Diagnostic, SourceLocation};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` as UTF-8 text, or why not.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<String, Box<Diagnostic>> {
    let bytes = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    if let Some(encoding) = wide_encoding(&bytes) {
        return Err(Box::new(
            Diagnostic::error(
                Code::Encoding,
                format!("{name} is {encoding}, not UTF-8"),
            )
            .at(Some(location(name, 1, 1)))
            .hint(format!(
                "steward reads UTF-8 only: save it as UTF-8 (for example `iconv -f {} -t UTF-8`)",
                encoding.split_whitespace().next().unwrap_or("UTF-16")
            )),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid = e.utf8_error().valid_up_to();
        // The prefix is valid UTF-8 by definition.
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let byte = bytes[valid];
        let hint = if looks_like_latin1(bytes) {
            format!(
                "it looks like Latin-1 (ISO-8859-1 or Windows-1252){}: save it as UTF-8 (for example `iconv -f WINDOWS-1252 -t UTF-8`)",
                latin1_char(byte)
                    .map(|c| format!(", where 0x{byte:02X} is `{c}`"))
                    .unwrap_or_default()
            )
        } else {
            "save it as UTF-8".to_owned()
        };
        Box::new(
            Diagnostic::error(
                Code::Encoding,
                format!(
                    "{name} is not UTF-8: byte 0x{byte:02X} at line {line}, column {column} is not valid UTF-8"
                ),
            )
            .at(Some(location(name, line, column)))
            .hint(hint),
        )
    })
}

fn location(name: &str, line: usize, column: usize) -> SourceLocation {
    SourceLocation {
        file: name.to_owned(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}

/// UTF-16 or UTF-32, told by a byte-order mark, or by the NUL bytes ASCII text has in them.
fn wide_encoding(bytes: &[u8]) -> Option<&'static str> {
    let named = match bytes {
        [0x00, 0x00, 0xFE, 0xFF, ..] => "UTF-32BE (with a byte-order mark)",
        [0xFF, 0xFE, 0x00, 0x00, ..] => "UTF-32LE (with a byte-order mark)",
        [0xFE, 0xFF, ..] => "UTF-16BE (with a byte-order mark)",
        [0xFF, 0xFE, ..] => "UTF-16LE (with a byte-order mark)",
        [0x00, 0x00, 0x00, b, ..] if *b != 0 => "UTF-32BE (no byte-order mark)",
        [b, 0x00, 0x00, 0x00, ..] if *b != 0 => "UTF-32LE (no byte-order mark)",
        [0x00, b, ..] if *b != 0 => "UTF-16BE (no byte-order mark)",
        [b, 0x00, ..] if *b != 0 => "UTF-16LE (no byte-order mark)",
        _ => return None,
    };
    Some(named)
}

/// Whether every byte sequence that is not UTF-8 is one lone byte of 0x80..=0xFF: what Latin-1
/// or Windows-1252 text with accents looks like.
fn looks_like_latin1(mut bytes: &[u8]) -> bool {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(_) => return true,
            Err(e) => {
                if e.error_len() != Some(1) {
                    return false;
                }
                bytes = &bytes[e.valid_up_to() + 1..];
            }
        }
    }
}

/// The character of a high byte in Windows-1252 (Latin-1 from 0xA0; the typographic marks
/// word processors put in 0x80..=0x9F).
fn latin1_char(byte: u8) -> Option<char> {
    match byte {
        0x80 => Some('€'),
        0x85 => Some('…'),
        0x91 => Some('‘'),
        0x92 => Some('’'),
        0x93 => Some('“'),
        0x94 => Some('”'),
        0x96 => Some('–'),
        0x97 => Some('—'),
        0xA0.. => Some(char::from(byte)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_bad_byte_and_the_encoding() {
        let e = decode("a.yaml", b"a: 1\nname: Jos\xE9\n".to_vec()).unwrap_err();
        assert_eq!(
            e.message,
            "a.yaml is not UTF-8: byte 0xE9 at line 2, column 10 is not valid UTF-8"
        );
        assert!(e.hint.as_deref().unwrap().contains("Latin-1"), "{e:?}");
        assert!(e.hint.as_deref().unwrap().contains("`\u{e9}`"), "{e:?}");
        let e = decode("b.yaml", b"\xFF\xFEa\x00:\x00".to_vec()).unwrap_err();
        assert_eq!(
            e.message,
            "b.yaml is UTF-16LE (with a byte-order mark), not UTF-8"
        );
        assert_eq!(
            decode("c.yaml", b"\xEF\xBB\xBFa: 1\n".to_vec()).unwrap(),
            "a: 1\n"
        );
        // A truncated multi-byte sequence is not Latin-1-shaped.
        let e = decode("d.yaml", b"a: \xE2\x82".to_vec()).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("save it as UTF-8"));
    }
}
