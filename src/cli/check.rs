//! `redis-gen check PROFILE|DIR [-o DIR] [--json]`: whether DIR is exactly
//! what `build` would write there (for CI, like `cargo fmt --check`). Exit 0
//! when it is; 1 when a file is missing, extra or different (each is named on
//! stdout), or when a profile does not compile.

use std::path::PathBuf;

use redis_gen::diag::escape;
use redis_gen::disk;
use redis_gen::disk::drift::{self, Change};
use serde_json::json;

use super::source::{self, Problem};
use super::{Failed, term};

/// Check that a directory is exactly what `build` would write (exit 0), or
/// name each missing, extra or different file (exit 1)
#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML) or a directory of profiles
    profile: PathBuf,
    /// The directory to check
    #[arg(short, long, default_value = "out")]
    out: PathBuf,
    /// Print the result as a JSON object on stdout: {"ok", "dir", "missing",
    /// "extra", "different", "errors"}
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let target = if a.json {
        source::compile(&a.profile).map_err(|p| json_failure(&a, &p))?.0
    } else {
        source::load(&a.profile)?
    };
    let tree = disk::read::read_tree(&a.out).map_err(|e| {
        let shown = a.out.display().to_string();
        let message = e.to_string();
        let message = message.strip_prefix(&format!("{shown}: ")).unwrap_or(&message).to_string();
        let p = Problem::io(&a.out, message);
        if a.json {
            json_failure(&a, &[p])
        } else {
            source::report(&[p]);
            Failed
        }
    })?;
    let drifts = drift::compare(target.bundle(), &tree);
    let of = |c: Change| drifts.iter().filter(|d| d.change == c).map(|d| d.path.as_str()).collect::<Vec<_>>();
    if a.json {
        let value = json!({
            "ok": drifts.is_empty(),
            "dir": a.out.display().to_string(),
            "missing": of(Change::Missing),
            "extra": of(Change::Extra),
            "different": of(Change::Different),
            "errors": [],
        });
        term::print(&format!("{}\n", serde_json::to_string_pretty(&value).expect("serializable")))?;
    } else if drifts.is_empty() {
        eprintln!("{}: up to date", escape(&a.out.display().to_string()));
    } else {
        let dir = escape(&a.out.display().to_string());
        let mut text = String::new();
        if !tree.exists {
            text.push_str(&format!("missing   {dir}/ (the whole directory)\n"));
        } else {
            for d in &drifts {
                let word = match d.change {
                    Change::Missing => "missing  ",
                    Change::Extra => "extra    ",
                    Change::Different => "different",
                };
                text.push_str(&format!("{word} {}\n", escape(&a.out.join(&d.path).display().to_string())));
            }
        }
        term::print(&text)?;
        eprintln!(
            "error: {dir} is not what `redis-gen build {} -o {dir}` would write ({} path{}); run it to update, or `redis-gen diff` to see the changes",
            escape(&a.profile.display().to_string()),
            drifts.len(),
            if drifts.len() == 1 { "" } else { "s" }
        );
    }
    if drifts.is_empty() { Ok(()) } else { Err(Failed) }
}

fn json_failure(a: &Args, problems: &[Problem]) -> Failed {
    let value = json!({
        "ok": false,
        "dir": a.out.display().to_string(),
        "missing": [],
        "extra": [],
        "different": [],
        "errors": source::json_problems(problems),
    });
    let _ = term::print(&format!("{}\n", serde_json::to_string_pretty(&value).expect("serializable")));
    Failed
}
