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
pub mod fleet;
pub mod init;
pub mod objects;
pub mod outputs;
pub mod par;
pub mod plan;
pub mod profile;
pub mod render;
pub mod schema;
pub mod seal;
pub mod sealed;

use diag::Diagnostic;

/// The result of compiling one profile.
#[derive(Debug)]
pub struct Compiled {
    pub plan: plan::Plan,
    pub bundle: bundle::Bundle,
    pub warnings: Vec<String>,
    /// Every object the bundle creates, in apply order.
    pub objects: Vec<ObjectId>,
}

pub use objects::ObjectId;

/// Compiles a profile's text into a bundle. `name` is the profile's file name
/// as shown in messages and headers.
pub fn compile(name: &str, text: &str, sealed: Option<&sealed::SealedData>) -> Result<Compiled, Vec<Diagnostic>> {
    // Type errors and the plan's findings are reported together, in text order.
    let (profile, mut errors) = profile::Profile::parse_partial(name, text)?;
    let plan = match plan::Plan::resolve(&profile) {
        Ok(plan) if errors.is_empty() => plan,
        Ok(_) => return Err(errors),
        Err(mut found) => {
            errors.append(&mut found);
            errors.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
            return Err(errors);
        }
    };
    let built = objects::build(&plan, sealed);
    let objects = built.objects.iter().map(objects::Object::id).collect();
    let bundle = bundle::bundle(&plan, built.objects);
    Ok(Compiled { plan, bundle, warnings: built.warnings, objects })
}
