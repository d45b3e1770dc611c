//! `redis-gen man`: the man page (roff) from the clap definitions.

use clap::CommandFactory;

use super::{Cli, Failed, term};

/// Print the man page (roff): `redis-gen man | man -l -`
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_: Args) -> Result<(), Failed> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out).expect("writing to memory");
    term::print(&String::from_utf8(out).expect("roff is text"))
}
