//! `redis-gen init [--name NAME] [--namespace NS]`: prints a complete,
//! commented profile (every key, its default and meaning) that builds as is.

use redis_gen::profile::init::{Overrides, profile};

use super::source::{self, Problem};
use super::{Failed, term};

/// Print a complete, commented profile with every key at its default
#[derive(clap::Args)]
pub struct Args {
    /// release_name of the profile
    #[arg(long)]
    name: Option<String>,
    /// namespace of the profile
    #[arg(long)]
    namespace: Option<String>,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let text = profile(&Overrides { release_name: a.name.as_deref(), namespace: a.namespace.as_deref() });
    // What init prints must build: a bad --name or --namespace is reported now.
    if let Err(diags) = redis_gen::compile("init", &text, None) {
        let problems: Vec<Problem> =
            diags.into_iter().map(|diag| Problem::in_text("redis-gen init", &text, diag)).collect();
        source::report(&problems);
        return Err(Failed);
    }
    term::print(&text)
}
