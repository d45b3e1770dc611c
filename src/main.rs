//! The command line: the impure edge. Reads files, calls the pure compiler,
//! prints diagnostics, and hands the bundle to `disk`.
//! Exit codes: 0 success, 1 invalid profile or input, 2 usage error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use redis_gen::diag::{Diagnostic, render};
use redis_gen::sealed::{self, SealedData};
use redis_gen::{Compiled, compile, disk};

#[derive(Parser)]
#[command(
    name = "redis-gen",
    version,
    about = "Compile a Redis profile (TOML) into a deterministic directory of Kubernetes manifests for GitOps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile PROFILE into a directory of manifests (replaced atomically)
    Build {
        /// The profile (TOML)
        profile: PathBuf,
        /// Output directory
        #[arg(short, long, default_value = "out")]
        out: PathBuf,
        /// Print every object as one YAML stream on stdout instead of writing files
        #[arg(long)]
        stdout: bool,
    },
    /// Check PROFILE without writing anything
    Validate { profile: PathBuf },
    /// Print the release's outputs: service names, external IP, Secret name
    Outputs {
        profile: PathBuf,
        /// Print a JSON object
        #[arg(long)]
        json: bool,
    },
}

/// A failure already explained to the user; exit 1.
struct Failed;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed) => ExitCode::from(1),
    }
}

fn run(command: Command) -> Result<(), Failed> {
    match command {
        Command::Build { profile, out, stdout } => {
            let compiled = load(&profile)?;
            if stdout {
                print!("{}", compiled.bundle.stream());
                return Ok(());
            }
            disk::write(&compiled.bundle, &out).map_err(|e| {
                eprintln!("error: {e}");
                Failed
            })?;
            eprintln!("wrote {} files to {}", compiled.bundle.files.len(), out.display());
            Ok(())
        }
        Command::Validate { profile } => {
            load(&profile)?;
            eprintln!("{}: ok", profile.display());
            Ok(())
        }
        Command::Outputs { profile, json } => {
            let compiled = load(&profile)?;
            let outputs = redis_gen::outputs::Outputs::of(&compiled.plan);
            if json {
                println!("{}", serde_json::to_string_pretty(&outputs).expect("serializable"));
            } else {
                print!("{}", outputs.text());
            }
            Ok(())
        }
    }
}

/// Reads and compiles a profile and its sealed data, printing diagnostics.
fn load(path: &Path) -> Result<Compiled, Failed> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| {
        eprintln!("error: cannot read {shown}: {e}");
        Failed
    })?;
    let text = String::from_utf8(text).map_err(|_| {
        eprintln!("error: {shown} is not UTF-8 text");
        Failed
    })?;
    let sealed = read_sealed(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(shown.clone());
    match compile(&name, &text, sealed.as_ref()) {
        Ok(c) => {
            for w in &c.warnings {
                eprintln!("warning: {w}");
            }
            Ok(c)
        }
        Err(diags) => {
            report(&shown, &text, &diags);
            Err(Failed)
        }
    }
}

fn report(file: &str, text: &str, diags: &[Diagnostic]) {
    for d in diags {
        eprint!("{}", render(file, text, d, "error"));
    }
    let n = diags.len();
    eprintln!("{file}: {n} error{}", if n == 1 { "" } else { "s" });
}

fn read_sealed(profile: &Path) -> Result<Option<SealedData>, Failed> {
    let path = sealed::path_for(profile);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_yaml::from_str(&text).map(Some).map_err(|e| {
            eprintln!("error: {}: {e}", path.display());
            Failed
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            Err(Failed)
        }
    }
}
