//! `redis-gen validate PROFILE`: every check of `build`, nothing written.

use std::path::PathBuf;

use super::{Failed, common};

/// Check PROFILE without writing anything
#[derive(clap::Args)]
pub struct Args {
    profile: PathBuf,
}

pub fn run(a: Args) -> Result<(), Failed> {
    common::load(&a.profile)?;
    eprintln!("{}: ok", a.profile.display());
    Ok(())
}
