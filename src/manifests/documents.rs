//! A multi-document YAML stream cut into its documents, for when the whole stream does not
//! parse: YAML forbids `---` and `...` at the start of a line inside any document's content, so
//! those lines are where one document ends and the next begins, whatever is broken in between.
//! Each piece keeps its line numbers (earlier lines are left blank), so positions stay true.

/// The documents of `text`, each padded with blank lines to start on its own line.
pub fn split(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut start = 0usize; // first line of the current piece
    let mut current = String::new();
    let mut has_content = false;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
        };
        if marker("---") && has_content {
            pieces.push(padded(start, &current));
            (start, current, has_content) = (number, String::new(), false);
        }
        current.push_str(line);
        if marker("...") {
            pieces.push(padded(start, &current));
            (start, current, has_content) = (number + 1, String::new(), false);
            continue;
        }
        // A `---` line starts a document: what follows it on the line is that document's.
        let rest = if marker("---") { &line[3..] } else { line };
        let trimmed = rest.trim_start();
        has_content |= !(trimmed.is_empty() || trimmed.starts_with('#') || rest.starts_with('%'));
    }
    if has_content {
        pieces.push(padded(start, &current));
    }
    pieces
}

fn padded(start: usize, text: &str) -> String {
    let mut out = "\n".repeat(start);
    out.push_str(text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_document_markers_and_keeps_line_numbers() {
        let text = "# head\na: 1\n---\nb: [\n--- x\n...\n%YAML 1.2\n---\nc: 3\n";
        assert_eq!(
            split(text),
            [
                "# head\na: 1\n",
                "\n\n---\nb: [\n",
                "\n\n\n\n--- x\n...\n",
                "\n\n\n\n\n\n%YAML 1.2\n---\nc: 3\n",
            ]
        );
        assert!(split("# only a comment\n---\n").is_empty());
    }
}
