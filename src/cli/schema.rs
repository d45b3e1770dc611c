//! `redis-gen schema`: the JSON Schema (draft-07) of a profile, for editors.

use super::{Failed, term};

/// Print the JSON Schema of a profile (for taplo / Even Better TOML)
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_: Args) -> Result<(), Failed> {
    term::print(&format!(
        "{}\n",
        serde_json::to_string_pretty(&redis_gen::profile::schema::schema()).expect("serializable")
    ))
}
