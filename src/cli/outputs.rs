//! `redis-gen outputs PROFILE [--json]`: the seed module's outputs.

use std::path::PathBuf;

use redis_gen::outputs::Outputs;

use super::{Failed, common};

/// Print the release's outputs: service names, external IP, Secret name
#[derive(clap::Args)]
pub struct Args {
    profile: PathBuf,
    /// Print a JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let compiled = common::load(&a.profile)?;
    let outputs = Outputs::of(&compiled.plan);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&outputs).expect("serializable"));
    } else {
        print!("{}", outputs.text());
    }
    Ok(())
}
