//! The command line: the impure edge. One module per command; each reads
//! files, calls the pure compiler, prints, and hands bundles to `disk`.
//! Exit codes: 0 success, 1 invalid profile or input, 2 usage error (clap).

mod build;
mod check;
mod completions;
mod diff;
mod init;
mod man;
mod outputs;
mod schema;
mod seal;
mod source;
mod term;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "redis-gen",
    version,
    about = "Compile a Redis profile (TOML) into a deterministic directory of Kubernetes manifests for GitOps"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Build(build::Args),
    Validate(validate::Args),
    Outputs(outputs::Args),
    Check(check::Args),
    Diff(diff::Args),
    Init(init::Args),
    Schema(schema::Args),
    Completions(completions::Args),
    Man(man::Args),
    Seal(seal::Args),
}

/// A failure already explained on stderr; exit 1.
pub struct Failed;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(a) => build::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Outputs(a) => outputs::run(a),
        Command::Check(a) => check::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Init(a) => init::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
        Command::Seal(a) => seal::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed) => ExitCode::from(1),
    }
}
