//! `redis-gen completions SHELL`: shell completions from the clap definitions.

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, Failed, term};

/// Print shell completions (bash, zsh, fish, elvish, powershell)
#[derive(clap::Args)]
pub struct Args {
    shell: Shell,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "redis-gen", &mut out);
    term::print(&String::from_utf8(out).expect("completions are text"))
}
