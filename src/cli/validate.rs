//! `redis-gen validate PROFILE|DIR [--json]`: every check of `build`, nothing
//! written. `--json` prints `{"ok", "errors": [...], "warnings": [...]}` on
//! stdout, each item `{file, rule, key, line, column, message, help}` (`rule`
//! is a stable code, listed in docs/errors.md).

use std::path::PathBuf;

use serde_json::json;

use super::source::{self, Target};
use super::{Failed, term};

/// Check PROFILE (or every *.toml in a directory) without writing anything
#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML) or a directory of profiles
    profile: PathBuf,
    /// Print the result as a JSON object on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), Failed> {
    if a.json {
        let (ok, value) = match source::compile(&a.profile) {
            Ok((_, w)) => (true, json!({ "ok": true, "errors": [], "warnings": source::json_problems(&w) })),
            Err(p) => (false, json!({ "ok": false, "errors": source::json_problems(&p), "warnings": [] })),
        };
        term::print(&format!("{}\n", serde_json::to_string_pretty(&value).expect("serializable")))?;
        return if ok { Ok(()) } else { Err(Failed) };
    }
    match source::load(&a.profile)? {
        Target::One(_) => eprintln!("{}: ok", redis_gen::diag::escape(&a.profile.display().to_string())),
        Target::Fleet(f) => {
            eprintln!("{}: {} profiles ok", redis_gen::diag::escape(&a.profile.display().to_string()), f.members.len())
        }
    }
    Ok(())
}
