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
pub mod drift;
pub mod fleet;
pub mod init;
pub mod objects;
pub mod outputs;
pub mod plan;
pub mod profile;
pub mod render;
pub mod schema;
pub mod seal;
pub mod sealed;
pub mod yaml;

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

/// What names an object in a cluster: two releases may not both create one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub kind: &'static str,
    /// `None` for cluster-scoped objects (the Namespace).
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

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
    let objects = built
        .manifests
        .iter()
        .map(|m| ObjectId { kind: m.kind, namespace: m.namespace.clone(), name: m.name.clone() })
        .collect();
    let bundle = bundle::bundle(&plan, built.manifests);
    Ok(Compiled { plan, bundle, warnings: built.warnings, objects })
}
