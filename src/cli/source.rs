//! The PROFILE argument of build, validate, outputs, check, diff and seal:
//! one profile file, or (not for seal) a directory whose `*.toml` files
//! (sorted by name; hidden files skipped) are a fleet. Reads the files and
//! the sealed data beside each, compiles them, and reports every problem
//! through one renderer (`diag::render`), as text on stderr or as JSON for
//! machines.

use std::path::{Path, PathBuf};

use redis_gen::bundle::Bundle;
use redis_gen::diag::{Diagnostic, Rule, Severity, escape, line_col, render};
use redis_gen::fleet::{self, Fleet, Source};
use redis_gen::seal::data::{self, SealedData};
use serde::Serialize;

use super::{Failed, term};

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
}

/// What compiled, and its warnings (each a `Problem` of severity warning).
pub type Compiled = (Target, Vec<Problem>);

/// One problem and the text it is about (a profile or a sealed-data file),
/// for its line, column and caret.
pub struct Problem {
    /// The path as the user would type it.
    pub file: String,
    /// Empty when the file could not be read.
    pub text: String,
    pub diag: Diagnostic,
}

impl Problem {
    pub fn in_text(file: &str, text: &str, diag: Diagnostic) -> Problem {
        Problem { file: file.to_string(), text: text.to_string(), diag }
    }

    pub fn io(file: &Path, message: String) -> Problem {
        Problem {
            file: file.display().to_string(),
            text: String::new(),
            diag: Diagnostic::error(Rule::Read, "", None, message),
        }
    }

    fn line_col(&self) -> Option<(usize, usize)> {
        self.diag.span.as_ref().map(|span| line_col(&self.text, span.start))
    }

    fn render(&self) -> String {
        render(&self.file, &self.text, &self.diag)
    }

    fn is_error(&self) -> bool {
        self.diag.severity == Severity::Error
    }
}

/// Reads and compiles PROFILE (a file or a directory of them).
pub fn compile(path: &Path) -> Result<Compiled, Vec<Problem>> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => compile_fleet(path),
        Ok(_) => compile_one(path),
        Err(e) => Err(vec![Problem::io(path, format!("cannot read {}: {e}", path.display()))]),
    }
}

/// `compile`, then every problem or warning printed on stderr.
pub fn load(path: &Path) -> Result<Target, Failed> {
    match compile(path) {
        Ok((t, warnings)) => {
            report(&warnings);
            Ok(t)
        }
        Err(problems) => {
            report(&problems);
            Err(Failed)
        }
    }
}

/// A profile's text and sealed data.
fn read(path: &Path) -> Result<(String, Option<SealedData>), Box<Problem>> {
    let io = |m: String| Box::new(Problem::io(path, m));
    let bytes = std::fs::read(path).map_err(|e| io(format!("cannot read {}: {e}", path.display())))?;
    let text = utf8(path, bytes)?;
    let sealed = sealed_for(path)?;
    Ok((text, sealed))
}

/// A file's bytes as text. If they are not UTF-8, the error points at the
/// first byte that is not, on its line as shown with every invalid sequence
/// replaced by U+FFFD (so no raw byte reaches the terminal; `render` blanks
/// control characters): the bytes before it are valid, so its offset is the
/// same in both.
fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, Box<Problem>> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let byte = e.as_bytes()[at];
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let span = at..at + char::REPLACEMENT_CHARACTER.len_utf8();
        let message = format!("not UTF-8 text: the byte 0x{byte:02x} here is not valid UTF-8; save the file as UTF-8");
        Box::new(Problem::in_text(
            &path.display().to_string(),
            &text,
            Diagnostic::error(Rule::Utf8, "", Some(span), message),
        ))
    })
}

/// The sealed data beside a profile, if there is any.
fn sealed_for(profile: &Path) -> Result<Option<SealedData>, Box<Problem>> {
    let path = data::path_for(profile);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Box::new(Problem::io(&path, format!("cannot read it: {e}")))),
    };
    let text = utf8(&path, bytes)?;
    SealedData::parse(&text).map(Some).map_err(|mut diag| {
        diag.message.push_str(" (this file is written by `redis-gen seal`)");
        Box::new(Problem::in_text(&path.display().to_string(), &text, diag))
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Each diagnostic about one file's text as a problem of that file.
fn in_text(path: &Path, text: &str, diags: &[Diagnostic]) -> Vec<Problem> {
    let file = path.display().to_string();
    diags.iter().map(|diag| Problem::in_text(&file, text, diag.clone())).collect()
}

fn compile_one(path: &Path) -> Result<Compiled, Vec<Problem>> {
    let (c, text, _) = compile_file(path)?;
    let warnings = in_text(path, &text, c.warnings());
    Ok((Target::One(Box::new(c)), warnings))
}

/// One profile file, compiled; its text and the sealed data beside it.
fn compile_file(path: &Path) -> Result<(redis_gen::Compiled, String, Option<SealedData>), Vec<Problem>> {
    let (text, sealed) = read(path).map_err(|p| vec![*p])?;
    match redis_gen::compile(&file_name(path), &text, sealed.as_ref()) {
        Ok(c) => Ok((c, text, sealed)),
        Err(diags) => Err(in_text(path, &text, &diags)),
    }
}

/// `compile_file` for `seal`, problems printed; warnings are not its concern
/// (it is what answers them).
pub fn load_file(path: &Path) -> Result<(redis_gen::Compiled, Option<SealedData>), Failed> {
    match compile_file(path) {
        Ok((c, _, sealed)) => Ok((c, sealed)),
        Err(problems) => {
            report(&problems);
            Err(Failed)
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

fn compile_fleet(dir: &Path) -> Result<Compiled, Vec<Problem>> {
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
        Ok(f) if problems.is_empty() => {
            // Every profile compiled: the members are the sources, in order.
            let warnings = f
                .members
                .iter()
                .zip(&sources)
                .zip(&source_paths)
                .flat_map(|((m, s), path)| in_text(path, &s.text, &m.plan.credentials.warnings))
                .collect();
            Ok((Target::Fleet(f), warnings))
        }
        Ok(_) => Err(problems),
        Err(failures) => {
            for f in failures {
                problems.extend(in_text(source_paths[f.index], &sources[f.index].text, &f.diagnostics));
            }
            // Unreadable files first, then by file, each file's in order.
            problems.sort_by(|a, b| a.file.cmp(&b.file));
            Err(problems)
        }
    }
}

/// Prints errors and warnings on stderr, grouped by file, each file's count
/// of errors (if it has any) after it.
pub fn report(problems: &[Problem]) {
    let colour = term::stderr();
    let mut i = 0;
    let mut failed = 0;
    while i < problems.len() {
        let file = &problems[i].file;
        let group = &problems[i..][..problems[i..].iter().take_while(|p| &p.file == file).count()];
        let mut shown: String = group.iter().map(Problem::render).collect();
        let n = group.iter().filter(|p| p.is_error()).count();
        if n > 0 {
            shown.push_str(&format!("{}: {n} error{}\n", escape(file), if n == 1 { "" } else { "s" }));
            failed += 1;
        }
        eprint!("{}", if colour { term::diagnostics(&shown) } else { shown });
        i += group.len();
    }
    if failed > 1 {
        eprintln!("{failed} files have errors");
    }
}

/// An error or a warning for machines: its stable rule code, where (1-based
/// line and column, in characters) and what. Absent facts are `null`.
#[derive(Serialize)]
pub struct JsonProblem {
    pub file: String,
    pub rule: &'static str,
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
                rule: p.diag.rule.code(),
                key: (!p.diag.key.is_empty()).then(|| p.diag.key.clone()),
                line: pos.map(|(l, _)| l),
                column: pos.map(|(_, c)| c),
                message: p.diag.message.clone(),
                help: p.diag.help.clone(),
            }
        })
        .collect()
}
