//! The terminal: colour, only on a terminal and never when `NO_COLOR` is set
//! to a non-empty value (no-color.org), and printing to stdout that survives
//! a closed pipe (`redis-gen diff | head`). Text is produced plain by the
//! core and painted here, line by line, so what is piped never has escapes.

use std::io::{IsTerminal, Write};

use super::Failed;

/// Writes `text` to stdout. A reader that went away (EPIPE) is not an error.
pub fn print(text: &str) -> Result<(), Failed> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            Err(Failed)
        }
    }
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const BOLD_RED: &str = "\x1b[1;31m";
const BOLD_YELLOW: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

fn allowed(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether to colour what goes to stderr.
pub fn stderr() -> bool {
    allowed(std::io::stderr().is_terminal())
}

/// Whether to colour what goes to stdout.
pub fn stdout() -> bool {
    allowed(std::io::stdout().is_terminal())
}

fn paint(colour: &str, text: &str) -> String {
    format!("{colour}{text}{RESET}")
}

/// Paints rendered diagnostics (`diag::render`): the severity, the carets
/// and the help line.
pub fn diagnostics(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let painted = if let Some(rest) = body.strip_prefix("error:") {
            format!("{}{rest}", paint(BOLD_RED, "error:"))
        } else if let Some(rest) = body.strip_prefix("warning:") {
            format!("{}{rest}", paint(BOLD_YELLOW, "warning:"))
        } else if let Some(rest) = body.strip_prefix("      = help:") {
            format!("      = {}{rest}", paint(CYAN, "help:"))
        } else if body.starts_with("      | ") && body.trim_start_matches([' ', '|']).chars().all(|c| c == '^') {
            let at = body.find('^').unwrap_or(body.len());
            format!("{}{}", &body[..at], paint(RED, &body[at..]))
        } else {
            body.to_string()
        };
        out.push_str(&painted);
        out.push_str(nl);
    }
    out
}

/// Paints a unified diff: headers bold, hunk headers cyan, removed lines
/// red, added lines green.
pub fn diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let colour = if body.starts_with("--- ") || body.starts_with("+++ ") {
            Some(BOLD)
        } else if body.starts_with("@@") {
            Some(CYAN)
        } else if body.starts_with('-') {
            Some(RED)
        } else if body.starts_with('+') {
            Some(GREEN)
        } else if body.starts_with("Only in ") || body.starts_with("Binary files ") {
            Some(YELLOW)
        } else {
            None
        };
        match colour {
            Some(c) => out.push_str(&paint(c, body)),
            None => out.push_str(body),
        }
        out.push_str(nl);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_are_painted_without_changing_the_text() {
        let plain = "error: p.toml:1:13: `namespace`: bad\n    1 | namespace = 5\n      |             ^\n      = help: fix it\n";
        let painted = diagnostics(plain);
        assert!(painted.starts_with("\x1b[1;31merror:\x1b[0m p.toml"));
        assert!(painted.contains("\x1b[31m^\x1b[0m\n"));
        assert!(painted.contains("= \x1b[36mhelp:\x1b[0m fix it"));
        let stripped = painted.replace(RESET, "").replace(BOLD_RED, "").replace(RED, "").replace(CYAN, "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn diff_lines_are_painted_by_their_first_character() {
        let painted = diff("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n");
        assert_eq!(
            painted,
            "\x1b[1m--- a/x\x1b[0m\n\x1b[1m+++ b/x\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n\x1b[31m-old\x1b[0m\n\x1b[32m+new\x1b[0m\n same\n"
        );
    }
}
