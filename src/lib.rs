//! redis-gen: compiles a Redis profile (TOML) into a deterministic directory
//! of Kubernetes manifests.
//!
//! The pipeline, each stage a module: `profile` (TOML as written, with spans)
//! -> `plan` (validated, resolved) -> `objects` (typed Kubernetes objects) ->
//! `bundle` (ordered files) -> `disk` (atomic write, the only filesystem
//! access). Everything up to the bundle is pure: `compile` has no I/O, no
//! clock, no randomness.

pub mod bundle;
pub mod diag;
pub mod disk;
pub mod objects;
pub mod outputs;
pub mod plan;
pub mod profile;
pub mod quantity;
pub mod redis_commands;
pub mod render;
pub mod seal;
pub mod sealed;

use diag::Diagnostic;

/// The result of compiling one profile.
#[derive(Debug)]
pub struct Compiled {
    pub plan: plan::Plan,
    pub bundle: bundle::Bundle,
    pub warnings: Vec<String>,
}

/// Compiles a profile's text into a bundle. `name` is the profile's file name
/// as shown in messages and headers.
pub fn compile(name: &str, text: &str, sealed: Option<&sealed::SealedData>) -> Result<Compiled, Vec<Diagnostic>> {
    let profile = profile::Profile::parse(name, text)?;
    let plan = plan::Plan::resolve(&profile)?;
    let built = objects::build(&plan, sealed);
    let bundle = bundle::bundle(&plan, &built.manifests);
    Ok(Compiled { plan, bundle, warnings: built.warnings })
}
