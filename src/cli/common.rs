//! What every command does first: read a profile and its sealed data,
//! compile, and print diagnostics and warnings on stderr.

use std::path::Path;

use redis_gen::diag::{Diagnostic, escape, render};
use redis_gen::sealed::{self, SealedData};
use redis_gen::{Compiled, compile};

use super::Failed;

/// Reads and compiles a profile and its sealed data, printing diagnostics.
pub fn load(path: &Path) -> Result<Compiled, Failed> {
    // Escaped: a file name may hold a newline or a terminal escape sequence.
    let shown = escape(&path.display().to_string());
    let text = std::fs::read(path).map_err(|e| {
        eprintln!("error: cannot read {shown}: {e}");
        Failed
    })?;
    let text = String::from_utf8(text).map_err(|_| {
        eprintln!("error: {shown} is not UTF-8 text");
        Failed
    })?;
    let sealed = read_sealed(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(shown.clone());
    match compile(&name, &text, sealed.as_ref()) {
        Ok(c) => {
            for w in &c.warnings {
                eprintln!("warning: {}", escape(w));
            }
            Ok(c)
        }
        Err(diags) => {
            report(&shown, &text, &diags);
            Err(Failed)
        }
    }
}

/// Prints every diagnostic of one file, then a count.
pub fn report(file: &str, text: &str, diags: &[Diagnostic]) {
    for d in diags {
        eprint!("{}", render(file, text, d, "error"));
    }
    let n = diags.len();
    eprintln!("{}: {n} error{}", escape(file), if n == 1 { "" } else { "s" });
}

/// The sealed data beside a profile, if there is any.
pub fn read_sealed(profile: &Path) -> Result<Option<SealedData>, Failed> {
    let path = sealed::path_for(profile);
    match std::fs::read_to_string(&path) {
        Ok(text) => SealedData::parse(&text).map(Some).map_err(|e| {
            let at = e.at.map(|(line, col)| format!(":{line}:{col}")).unwrap_or_default();
            let (file, message) = (escape(&path.display().to_string()), escape(&e.message));
            eprintln!("error: {file}{at}: {message} (this file is written by `redis-gen seal`)");
            Failed
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", escape(&path.display().to_string()));
            Err(Failed)
        }
    }
}
