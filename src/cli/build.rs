//! `redis-gen build PROFILE|DIR [-o DIR] [--stdout]`

use std::path::PathBuf;

use redis_gen::disk;

use super::source::{self, Target};
use super::{Failed, term};

/// Compile PROFILE (or every *.toml in a directory) into a directory of
/// manifests, replaced atomically; nothing is written if any profile fails
#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML), or a directory of profiles: each becomes OUT/<name>/
    /// and OUT/kustomization.yaml includes them all
    profile: PathBuf,
    /// Output directory
    #[arg(short, long, default_value = "out")]
    out: PathBuf,
    /// Print every object as one YAML stream on stdout instead of writing
    /// files (the kustomization's order; errors on stderr only)
    #[arg(long)]
    stdout: bool,
    /// Wait until the new directory is on stable storage before and after
    /// swapping it in, so that even a power cut leaves the old or the new
    /// build (without it a build is atomic against being killed, not
    /// against a power cut)
    #[arg(long, env = "REDIS_GEN_FSYNC", conflicts_with = "stdout")]
    fsync: bool,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let target = source::load(&a.profile)?;
    if a.stdout {
        return term::print(&target.stream());
    }
    let sync = if a.fsync { disk::Sync::Flush } else { disk::Sync::Lazy };
    let written = disk::write(target.bundle(), &a.out, sync).map_err(|e| {
        eprintln!("error: {e}");
        Failed
    })?;
    let files = target.bundle().files.len();
    let out = redis_gen::diag::escape(&a.out.display().to_string());
    let what = match &target {
        Target::One(_) => format!("{files} files"),
        Target::Fleet(f) if f.members.len() == 1 => format!("1 profile ({files} files)"),
        Target::Fleet(f) => format!("{} profiles ({files} files)", f.members.len()),
    };
    match written {
        disk::Written::Replaced => eprintln!("wrote {what} to {out}"),
        disk::Written::UpToDate => eprintln!("{out} is up to date ({what}): nothing written"),
    }
    Ok(())
}
