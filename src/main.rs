//! The `redis-gen` binary: everything is in `cli`, the impure edge.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
