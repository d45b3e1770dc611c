//! redis-gen: compiles a Redis profile (TOML) into a deterministic directory
//! of Kubernetes manifests.
//!
//! The pipeline, each stage a module: `profile` (TOML as written, with spans)
//! -> `plan` (validated, resolved; the sealed data beside the profile, read
//! by `seal::data`, is checked against it here) -> `objects` (typed
//! Kubernetes objects) ->
//! `bundle` (ordered files) -> `disk` (atomic write, the only filesystem
//! access). Everything up to the bundle is pure: `compile` has no I/O, no
//! clock, no randomness. Errors and warnings are `diag::Diagnostic`s.

pub mod bundle;
pub mod diag;
pub mod disk;
pub mod fleet;
pub mod objects;
pub mod outputs;
pub mod par;
pub mod plan;
pub mod profile;
pub mod render;
pub mod seal;

use diag::Diagnostic;

/// The version of redis-gen, written into every generated file and the
/// profiles and schema it prints.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The result of compiling one profile.
#[derive(Debug)]
pub struct Compiled {
    pub plan: plan::Plan,
    pub bundle: bundle::Bundle,
    /// Every object the bundle creates, in apply order.
    pub objects: Vec<ObjectId>,
}

pub use objects::ObjectId;

impl Compiled {
    /// What the build would like the user to know (each of severity
    /// warning), in the order found.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.plan.credentials.warnings
    }
}

/// Compiles a profile's text into a bundle. `name` is the profile's file name
/// as shown in messages and headers.
pub fn compile(name: &str, text: &str, sealed: Option<&seal::data::SealedData>) -> Result<Compiled, Vec<Diagnostic>> {
    // Type errors and the plan's findings are reported together, in text order.
    let (profile, mut errors) = profile::Profile::parse_partial(name, text)?;
    let plan = match plan::Plan::resolve(&profile, sealed) {
        Ok(plan) if errors.is_empty() => plan,
        Ok(_) => return Err(errors),
        Err(mut found) => {
            errors.append(&mut found);
            errors.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
            return Err(errors);
        }
    };
    let built = objects::build(&plan);
    let objects = built.iter().map(objects::Object::id).collect();
    let bundle = bundle::bundle(&plan, built);
    Ok(Compiled { plan, bundle, objects })
}
