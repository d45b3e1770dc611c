//! Diagnostics: errors and warnings as data. A `Diagnostic` carries its rule
//! (a stable code for machines and tests), its severity, the key path and
//! the byte span it is about; `render` turns it into
//! `severity: file:line:col: key: message` with the offending line and a
//! caret, the way compilers show errors. It is the one renderer: profiles,
//! sealed-data files, fleets and warnings all go through it.

use std::fmt::Write as _;
use std::ops::Range;

/// The family of rule a diagnostic is about. Its `code` is stable: it is
/// what `validate --json` shows, what the bad-profile corpus asserts, and
/// what docs/errors.md lists, so a rewording never breaks a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A file that is not UTF-8 text.
    Utf8,
    /// Not TOML.
    Syntax,
    /// A value of the wrong type.
    Type,
    /// A key redis-gen does not know (or no longer supports).
    Unknown,
    /// Kubernetes and DNS names.
    Name,
    /// Kubernetes quantities as written.
    Quantity,
    /// A request above its limit.
    Resources,
    /// maxmemory against the pods' memory limits.
    Maxmemory,
    /// IP addresses, CIDRs, the LoadBalancer.
    Net,
    /// Ports.
    Port,
    /// Pod counts.
    Replicas,
    /// Image references.
    Image,
    /// Redis and Sentinel settings: commands, choices, timings.
    Redis,
    /// Label keys and values.
    Labels,
    /// Metrics, ServiceMonitor, alerts, dashboard.
    Monitor,
    /// Characters that must never reach a file or a terminal.
    Inject,
    /// A file that cannot be read.
    Read,
    /// A sealed-data file that cannot be used, or that does not fit the profile.
    Sealed,
    /// A Secret emitted with placeholder values (nothing sealed for it yet).
    Placeholder,
    /// Two profiles of a fleet that would create the same object.
    Fleet,
}

impl Rule {
    pub const ALL: [Rule; 20] = [
        Rule::Utf8,
        Rule::Syntax,
        Rule::Type,
        Rule::Unknown,
        Rule::Name,
        Rule::Quantity,
        Rule::Resources,
        Rule::Maxmemory,
        Rule::Net,
        Rule::Port,
        Rule::Replicas,
        Rule::Image,
        Rule::Redis,
        Rule::Labels,
        Rule::Monitor,
        Rule::Inject,
        Rule::Read,
        Rule::Sealed,
        Rule::Placeholder,
        Rule::Fleet,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Rule::Utf8 => "utf8",
            Rule::Syntax => "syntax",
            Rule::Type => "type",
            Rule::Unknown => "unknown",
            Rule::Name => "name",
            Rule::Quantity => "quantity",
            Rule::Resources => "resources",
            Rule::Maxmemory => "maxmemory",
            Rule::Net => "net",
            Rule::Port => "port",
            Rule::Replicas => "replicas",
            Rule::Image => "image",
            Rule::Redis => "redis",
            Rule::Labels => "labels",
            Rule::Monitor => "monitor",
            Rule::Inject => "inject",
            Rule::Read => "read",
            Rule::Sealed => "sealed",
            Rule::Placeholder => "placeholder",
            Rule::Fleet => "fleet",
        }
    }
}

/// Whether a diagnostic stops the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// The word that opens the diagnostic's first line.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a profile, or a warning about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: Rule,
    pub severity: Severity,
    /// Dotted key path (`replica_namespaces[1]`), empty for syntax errors.
    pub key: String,
    /// Byte span in the text; `None` for a default or a missing key.
    pub span: Option<Range<usize>>,
    /// What is wrong, then what would be accepted.
    pub message: String,
    /// An optional hint (`did you mean ...?`).
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(rule: Rule, key: impl Into<String>, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Diagnostic { rule, severity: Severity::Error, key: key.into(), span, message: message.into(), help: None }
    }

    pub fn warning(rule: Rule, key: impl Into<String>, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(rule, key, span, message) }
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

/// Renders one diagnostic against the text it is about. Everything that
/// may come from the input (file name, key, message, help) is escaped, so a
/// hostile profile cannot write control sequences to the terminal or forge
/// extra lines of output.
pub fn render(file: &str, text: &str, d: &Diagnostic) -> String {
    let mut out = String::new();
    let severity = d.severity.name();
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
        let d = Diagnostic::error(Rule::Type, "namespace", Some(12..13), "expected a string, found an integer");
        let s = render("p.toml", text, &d);
        assert!(s.starts_with("error: p.toml:1:13: `namespace`: expected a string"), "{s}");
        assert!(s.contains("^"));
        let w = Diagnostic::warning(Rule::Placeholder, "", None, "no sealed password");
        assert_eq!(render("p.toml", text, &w), "warning: p.toml: no sealed password\n");
    }

    #[test]
    fn codes_are_distinct() {
        let codes: std::collections::BTreeSet<_> = Rule::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Rule::ALL.len());
    }
}
