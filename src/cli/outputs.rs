//! `redis-gen outputs PROFILE|DIR [--json]`: the seed module's outputs. For a
//! directory, one block (or one JSON member) per profile, by name.

use std::path::PathBuf;

use redis_gen::outputs::Outputs;

use super::source::{self, Target};
use super::{Failed, term};

/// Print the release's outputs: service names, external IP, Secret name
#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML) or a directory of profiles
    profile: PathBuf,
    /// Print a JSON object (for a directory: profile name -> outputs)
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), Failed> {
    let text = match source::load(&a.profile)? {
        Target::One(c) => {
            let outputs = Outputs::of(&c.plan);
            if a.json {
                format!("{}\n", serde_json::to_string_pretty(&outputs).expect("serializable"))
            } else {
                outputs.text()
            }
        }
        Target::Fleet(f) => {
            let all: Vec<(&str, Outputs)> = f.members.iter().map(|m| (m.stem.as_str(), Outputs::of(&m.plan))).collect();
            if a.json {
                let map: serde_json::Map<String, serde_json::Value> = all
                    .into_iter()
                    .map(|(name, o)| (name.to_string(), serde_json::to_value(o).expect("serializable")))
                    .collect();
                format!("{}\n", serde_json::to_string_pretty(&map).expect("serializable"))
            } else {
                all.iter().map(|(name, o)| format!("[{name}]\n{}", o.text())).collect::<Vec<_>>().join("\n")
            }
        }
    };
    term::print(&text)
}
