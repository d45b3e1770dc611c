//! Diagnostics: errors as data. A `Diagnostic` carries the key path and the
//! byte span it is about; `render` turns it into `file:line:col: key: message`
//! with the offending line and a caret, the way compilers show errors.

use std::fmt::Write as _;
use std::ops::Range;

/// One problem found in a profile (or a warning about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Dotted key path (`replica_namespaces[1]`), empty for syntax errors.
    pub key: String,
    /// Byte span in the profile text; `None` for a default or a missing key.
    pub span: Option<Range<usize>>,
    /// What is wrong, then what would be accepted.
    pub message: String,
    /// An optional hint (`did you mean ...?`).
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(key: impl Into<String>, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Diagnostic { key: key.into(), span, message: message.into(), help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut start = offset;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The byte offset of a 1-based line and column (in characters), the inverse
/// of `line_col`, for parsers that report only those; clamped to the text.
pub fn offset(text: &str, line: usize, col: usize) -> usize {
    let start = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>();
    let line = text[start..].split('\n').next().unwrap_or("");
    start + line.char_indices().nth(col.saturating_sub(1)).map_or(line.len(), |(i, _)| i)
}

/// Characters that must never reach a configuration file, a script, a YAML
/// comment or a terminal unescaped: control characters (C0, DEL, C1), the
/// Unicode line and paragraph separators (line breaks to YAML 1.1 readers),
/// and the invisible direction overrides that make text read differently
/// from what it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// `s` with every unsafe character written as a Rust-style escape (`\n`,
/// `\u{1b}`), so that it shows what it is and stays on one line.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Renders one diagnostic against the profile it is about. Everything that
/// may come from the input (file name, key, message, help) is escaped, so a
/// hostile profile cannot write control sequences to the terminal or forge
/// extra lines of output.
pub fn render(file: &str, text: &str, d: &Diagnostic, severity: &str) -> String {
    let mut out = String::new();
    let file = escape(file);
    let key = if d.key.is_empty() { String::new() } else { format!("`{}`: ", escape(&d.key)) };
    let message = escape(&d.message);
    match &d.span {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            let _ = writeln!(out, "{severity}: {file}:{line}:{col}: {key}{message}");
            let src = text.split('\n').nth(line - 1).unwrap_or("");
            // One column per character, so the caret stays under its spot.
            let shown: String = src.chars().map(|c| if is_unsafe(c) { ' ' } else { c }).collect();
            let span = span.start.min(text.len())..span.end.min(text.len()).max(span.start.min(text.len()));
            let width = text.get(span).unwrap_or("").chars().take_while(|c| *c != '\n').count().max(1);
            let _ = writeln!(out, "{:>5} | {shown}", line);
            let _ = writeln!(out, "      | {}{}", " ".repeat(col - 1), "^".repeat(width.min(80)));
        }
        None => {
            let _ = writeln!(out, "{severity}: {file}: {key}{message}");
        }
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "      = help: {}", escape(help));
    }
    out
}

/// Closest candidate by edit distance, for `did you mean` hints.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.len() / 3).max(2);
    candidates.into_iter().map(|c| (levenshtein(word, c), c)).filter(|(d, _)| *d <= limit).min().map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 11), (2, 6));
        for at in 0..text.len() {
            let (line, col) = line_col(text, at);
            assert_eq!(offset(text, line, col), at);
        }
    }

    #[test]
    fn suggests_the_closest_key() {
        let keys = ["replica_count", "release_name", "namespace"];
        assert_eq!(closest("replica_cuont", keys), Some("replica_count"));
        assert_eq!(closest("namespce", keys), Some("namespace"));
        assert_eq!(closest("zzzzzz", keys), None);
    }

    #[test]
    fn renders_position_and_caret() {
        let text = "namespace = 5\n";
        let d = Diagnostic::new("namespace", Some(12..13), "expected a string, found an integer");
        let s = render("p.toml", text, &d, "error");
        assert!(s.starts_with("error: p.toml:1:13: `namespace`: expected a string"), "{s}");
        assert!(s.contains("^"));
    }
}
