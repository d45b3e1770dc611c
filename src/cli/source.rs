//! The PROFILE argument of build, validate, outputs, check and diff: one
//! profile file, or a directory whose `*.toml` files (sorted by name; hidden
//! files skipped) are a fleet. Reads the files, compiles them, and reports
//! every problem, as text on stderr or as JSON for machines.

use std::path::{Path, PathBuf};

use redis_gen::bundle::Bundle;
use redis_gen::diag::{Diagnostic, escape, line_col, render};
use redis_gen::fleet::{self, Fleet, Source};
use serde::Serialize;

use super::{Failed, common, term};

/// What the argument compiled to.
pub enum Target {
    One(Box<redis_gen::Compiled>),
    Fleet(Fleet),
}

impl Target {
    pub fn bundle(&self) -> &Bundle {
        match self {
            Target::One(c) => &c.bundle,
            Target::Fleet(f) => &f.bundle,
        }
    }

    /// Every object as one YAML stream, in the kustomization's order.
    pub fn stream(&self) -> String {
        match self {
            Target::One(c) => c.bundle.stream(),
            Target::Fleet(f) => f.bundle.stream(),
        }
    }

    /// Warnings, each with the file it is about (none for a single profile,
    /// whose messages have always been shown bare).
    pub fn warnings(&self) -> Vec<(Option<&str>, &str)> {
        match self {
            Target::One(c) => c.warnings.iter().map(|w| (None, w.as_str())).collect(),
            Target::Fleet(f) => {
                f.members.iter().flat_map(|m| m.warnings.iter().map(|w| (Some(m.file.as_str()), w.as_str()))).collect()
            }
        }
    }
}

/// One problem and the text it is about (for its line and column).
pub struct Problem {
    /// The path as the user would type it.
    pub file: String,
    pub text: Option<String>,
    /// Line and column when there is no text to find them in (sealed data).
    pub at: Option<(usize, usize)>,
    pub diag: Diagnostic,
}

impl Problem {
    pub fn in_text(file: &str, text: &str, diag: Diagnostic) -> Problem {
        Problem { file: file.to_string(), text: Some(text.to_string()), at: None, diag }
    }

    pub fn io(file: &Path, message: String) -> Problem {
        Problem { file: file.display().to_string(), text: None, at: None, diag: Diagnostic::new("", None, message) }
    }

    fn sealed(e: common::SealedError) -> Problem {
        Problem { file: e.file, text: None, at: e.at, diag: Diagnostic::new("", None, e.message) }
    }

    fn line_col(&self) -> Option<(usize, usize)> {
        match (&self.diag.span, &self.text) {
            (Some(span), Some(text)) => Some(line_col(text, span.start)),
            _ => self.at,
        }
    }

    fn render(&self) -> String {
        match (&self.text, self.at) {
            (None, Some((line, col))) => {
                format!("error: {}:{line}:{col}: {}\n", escape(&self.file), escape(&self.diag.message))
            }
            _ => render(&self.file, self.text.as_deref().unwrap_or(""), &self.diag, "error"),
        }
    }
}

/// Reads and compiles PROFILE (a file or a directory of them).
pub fn compile(path: &Path) -> Result<Target, Vec<Problem>> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => compile_fleet(path),
        Ok(_) => compile_one(path),
        Err(e) => Err(vec![Problem::io(path, format!("cannot read {}: {e}", path.display()))]),
    }
}

/// `compile`, then every problem or warning printed on stderr.
pub fn load(path: &Path) -> Result<Target, Failed> {
    match compile(path) {
        Ok(t) => {
            print_warnings(&t);
            Ok(t)
        }
        Err(problems) => {
            report(&problems);
            Err(Failed)
        }
    }
}

/// A profile's text and sealed data.
fn read(path: &Path) -> Result<(String, Option<redis_gen::sealed::SealedData>), Box<Problem>> {
    let io = |m: String| Box::new(Problem::io(path, m));
    let bytes = std::fs::read(path).map_err(|e| io(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|_| io(format!("{} is not UTF-8 text", path.display())))?;
    let sealed = common::sealed_for(path).map_err(|e| Box::new(Problem::sealed(e)))?;
    Ok((text, sealed))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn compile_one(path: &Path) -> Result<Target, Vec<Problem>> {
    let (text, sealed) = read(path).map_err(|p| vec![*p])?;
    match redis_gen::compile(&file_name(path), &text, sealed.as_ref()) {
        Ok(c) => Ok(Target::One(Box::new(c))),
        Err(diags) => {
            let file = path.display().to_string();
            Err(diags.into_iter().map(|diag| Problem::in_text(&file, &text, diag)).collect())
        }
    }
}

/// The profiles of a fleet directory: `*.toml`, not hidden, sorted.
pub fn profiles_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", dir.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.ends_with(".toml") && !name.starts_with('.') && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(format!("cannot read profiles from {}: it holds no *.toml file", dir.display()));
    }
    Ok(found)
}

fn compile_fleet(dir: &Path) -> Result<Target, Vec<Problem>> {
    let paths = profiles_in(dir).map_err(|e| vec![Problem::io(dir, e)])?;
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    let mut source_paths = Vec::new();
    for path in &paths {
        match read(path) {
            Ok((text, sealed)) => {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                sources.push(Source { stem, file: file_name(path), text, sealed });
                source_paths.push(path);
            }
            Err(p) => problems.push(*p),
        }
    }
    match fleet::compile_all(&sources) {
        Ok(f) if problems.is_empty() => Ok(Target::Fleet(f)),
        Ok(_) => Err(problems),
        Err(failures) => {
            for f in failures {
                let file = source_paths[f.index].display().to_string();
                let text = &sources[f.index].text;
                problems.extend(f.diagnostics.into_iter().map(|diag| Problem::in_text(&file, text, diag)));
            }
            // Unreadable files first, then by file, each file's in order.
            problems.sort_by(|a, b| a.file.cmp(&b.file));
            Err(problems)
        }
    }
}

/// Prints problems on stderr, grouped by file, each file's count after it.
pub fn report(problems: &[Problem]) {
    let colour = term::stderr();
    let mut i = 0;
    let mut files = 0;
    while i < problems.len() {
        let file = &problems[i].file;
        let n = problems[i..].iter().take_while(|p| &p.file == file).count();
        let mut shown = String::new();
        for p in &problems[i..i + n] {
            shown.push_str(&p.render());
        }
        shown.push_str(&format!("{}: {n} error{}\n", escape(file), if n == 1 { "" } else { "s" }));
        eprint!("{}", if colour { term::diagnostics(&shown) } else { shown });
        i += n;
        files += 1;
    }
    if files > 1 {
        eprintln!("{files} files have errors");
    }
}

pub fn print_warnings(t: &Target) {
    let colour = term::stderr();
    for (file, w) in t.warnings() {
        let line = match file {
            Some(f) => format!("warning: {}: {}\n", escape(f), escape(w)),
            None => format!("warning: {}\n", escape(w)),
        };
        eprint!("{}", if colour { term::diagnostics(&line) } else { line });
    }
}

/// A problem for machines: where (1-based line and column, in characters)
/// and what. Absent facts are `null`.
#[derive(Serialize)]
pub struct JsonProblem {
    pub file: String,
    pub key: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub help: Option<String>,
}

pub fn json_problems(problems: &[Problem]) -> Vec<JsonProblem> {
    problems
        .iter()
        .map(|p| {
            let pos = p.line_col();
            JsonProblem {
                file: p.file.clone(),
                key: (!p.diag.key.is_empty()).then(|| p.diag.key.clone()),
                line: pos.map(|(l, _)| l),
                column: pos.map(|(_, c)| c),
                message: p.diag.message.clone(),
                help: p.diag.help.clone(),
            }
        })
        .collect()
}

/// A warning for machines.
#[derive(Serialize)]
pub struct JsonWarning {
    pub file: Option<String>,
    pub message: String,
}

/// Warnings for machines; `path` names the file of a single profile.
pub fn json_warnings(t: &Target, path: &Path) -> Vec<JsonWarning> {
    t.warnings()
        .into_iter()
        .map(|(f, w)| JsonWarning {
            file: Some(f.map_or_else(|| path.display().to_string(), str::to_string)),
            message: w.to_string(),
        })
        .collect()
}
