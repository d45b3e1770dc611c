//! What several commands share: printing a profile's diagnostics, and the
//! sealed data beside a profile. Reading and compiling the PROFILE argument
//! (a file or a directory of them) is `source`.

use std::path::Path;

use redis_gen::diag::{Diagnostic, escape, render};
use redis_gen::sealed::{self, SealedData};

use super::{Failed, term};

/// Prints every diagnostic of one file, then a count (coloured on a terminal).
pub fn report(file: &str, text: &str, diags: &[Diagnostic]) {
    let colour = term::stderr();
    for d in diags {
        let shown = render(file, text, d, "error");
        eprint!("{}", if colour { term::diagnostics(&shown) } else { shown });
    }
    let n = diags.len();
    eprintln!("{}: {n} error{}", escape(file), if n == 1 { "" } else { "s" });
}

/// The sealed data beside a profile, if there is any; errors are printed.
pub fn read_sealed(profile: &Path) -> Result<Option<SealedData>, Failed> {
    sealed_for(profile).map_err(|e| {
        eprint!("{}", e.render());
        Failed
    })
}

/// Why the sealed data beside a profile cannot be used.
pub struct SealedError {
    /// The sealed-data file, as shown.
    pub file: String,
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl SealedError {
    /// `error: FILE[:LINE:COL]: MESSAGE`, escaped (a file name may hold a
    /// newline or a terminal escape sequence).
    pub fn render(&self) -> String {
        let at = self.at.map(|(line, col)| format!(":{line}:{col}")).unwrap_or_default();
        format!("error: {}{at}: {}\n", escape(&self.file), escape(&self.message))
    }
}

/// The sealed data beside a profile, if there is any.
pub fn sealed_for(profile: &Path) -> Result<Option<SealedData>, SealedError> {
    let path = sealed::path_for(profile);
    let file = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => SealedData::parse(&text).map(Some).map_err(|e| SealedError {
            file,
            at: e.at,
            message: format!("{} (this file is written by `redis-gen seal`)", e.message),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SealedError { file, at: None, message: format!("cannot read it: {e}") }),
    }
}
