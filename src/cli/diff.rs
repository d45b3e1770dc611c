//! `redis-gen diff PROFILE|DIR [-o DIR]`: a unified diff from what DIR holds
//! to what `build` would write there (`--- a/DIR/file` on disk, `+++
//! b/DIR/file` from the profile; `patch -p1` applies it). Exit 0 when there is
//! no difference, 1 when there is one (like diff(1)) or a profile fails.

use std::path::PathBuf;

use redis_gen::disk::{self, drift};

use super::{Failed, source, term};

/// Show a unified diff between a directory and what `build` would write
/// there; exit 1 when they differ
#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML) or a directory of profiles
    profile: PathBuf,
    /// The directory to compare
    #[arg(short, long, default_value = "out")]
    out: PathBuf,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let target = source::load(&a.profile)?;
    let tree = disk::read::read_tree(&a.out).map_err(|e| {
        eprintln!("error: {e}");
        Failed
    })?;
    let drifts = drift::compare(target.bundle(), &tree);
    if drifts.is_empty() {
        return Ok(());
    }
    let text = drift::unified(target.bundle(), &tree, &drifts, &a.out.to_string_lossy());
    term::print(&if term::stdout() { term::diff(&text) } else { text })?;
    Err(Failed)
}
