//! `redis-gen build PROFILE [-o DIR] [--stdout]`

use std::path::PathBuf;

use redis_gen::disk;

use super::{Failed, common};

/// Compile PROFILE into a directory of manifests (replaced atomically)
#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML)
    profile: PathBuf,
    /// Output directory
    #[arg(short, long, default_value = "out")]
    out: PathBuf,
    /// Print every object as one YAML stream on stdout instead of writing files
    #[arg(long)]
    stdout: bool,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let compiled = common::load(&a.profile)?;
    if a.stdout {
        print!("{}", compiled.bundle.stream());
        return Ok(());
    }
    disk::write(&compiled.bundle, &a.out).map_err(|e| {
        eprintln!("error: {e}");
        Failed
    })?;
    eprintln!("wrote {} files to {}", compiled.bundle.files.len(), a.out.display());
    Ok(())
}
