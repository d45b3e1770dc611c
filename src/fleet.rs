//! Fleets: a directory of profiles compiled into one bundle. Each profile's
//! bundle goes under `<stem>/` (a complete kustomization of its own: it can be
//! applied alone) and a top `kustomization.yaml` lists the subdirectories
//! (`Bundle::nest`).
//!
//! Pure, like `compile`: the CLI reads the files and hands over their text.
//! Every bad profile is reported, not only the first, and two profiles that
//! would create the same object (kind, namespace, name) are an error: the
//! second would silently overwrite the first in the cluster. That includes
//! the Namespace, which each release owns (see docs/gitops.md for why).
//!
//! Profiles compile in parallel (`par::map`); results are gathered in input
//! order, so the output does not depend on the number of threads.

use std::collections::{BTreeMap, HashMap};

use crate::bundle::Bundle;
use crate::diag::{Diagnostic, Rule};
use crate::objects::Kind;
use crate::plan::Plan;
use crate::seal::data::SealedData;
use crate::{Compiled, ObjectId, compile};

/// One profile of the fleet, as read by the CLI.
#[derive(Debug, Clone)]
pub struct Source {
    /// Output subdirectory: the profile's file stem (`homelab` for `homelab.toml`).
    pub stem: String,
    /// File name shown in messages and headers (`homelab.toml`).
    pub file: String,
    pub text: String,
    pub sealed: Option<SealedData>,
}

/// One compiled profile of the fleet: what `Compiled` holds but its
/// bundle, whose files were moved (not copied) into the fleet's.
#[derive(Debug)]
pub struct Member {
    pub stem: String,
    pub file: String,
    /// The plan (its warnings in `plan.credentials.warnings`).
    pub plan: Plan,
    /// Every object the member creates, in apply order.
    pub objects: Vec<ObjectId>,
}

/// A compiled fleet: the members in order and the bundle of them all.
#[derive(Debug)]
pub struct Fleet {
    pub members: Vec<Member>,
    pub bundle: Bundle,
}

/// What is wrong with one profile of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Index of the profile in the sources given to `compile`.
    pub index: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// Compiles every source. Fails with every profile's errors (in input
/// order), including collisions between profiles that compiled.
pub fn compile_all(sources: &[Source]) -> Result<Fleet, Vec<Failure>> {
    let results = crate::par::map(sources, compile_one);
    let mut failures = Vec::new();
    let mut members = Vec::new();
    let mut bundles = Vec::new();
    let mut indexes = Vec::new();
    for (index, (source, result)) in sources.iter().zip(results).enumerate() {
        match result {
            Ok(Compiled { plan, bundle, objects }) => {
                members.push(Member { stem: source.stem.clone(), file: source.file.clone(), plan, objects });
                bundles.push((source.stem.clone(), bundle));
                indexes.push(index);
            }
            Err(diagnostics) => failures.push(Failure { index, diagnostics }),
        }
    }
    for (member, diagnostics) in collisions(&members) {
        failures.push(Failure { index: indexes[member], diagnostics });
    }
    if !failures.is_empty() {
        failures.sort_by_key(|f| f.index);
        // A profile that both failed and collides is reported once, merged.
        failures.dedup_by(|later, earlier| {
            let same = later.index == earlier.index;
            if same {
                earlier.diagnostics.append(&mut later.diagnostics);
            }
            same
        });
        return Err(failures);
    }
    Ok(Fleet { members, bundle: Bundle::nest(bundles) })
}

fn compile_one(s: &Source) -> Result<Compiled, Vec<Diagnostic>> {
    compile(&s.file, &s.text, s.sealed.as_ref())
}

/// For each member that creates an object an earlier member also creates,
/// one diagnostic per earlier member naming every shared object.
fn collisions(members: &[Member]) -> Vec<(usize, Vec<Diagnostic>)> {
    let mut owner: HashMap<&ObjectId, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let mut shared: BTreeMap<usize, Vec<&ObjectId>> = BTreeMap::new();
        for id in &m.objects {
            match owner.get(id) {
                Some(&first) => shared.entry(first).or_default().push(id),
                None => {
                    owner.insert(id, i);
                }
            }
        }
        if shared.is_empty() {
            continue;
        }
        let diagnostics = shared
            .into_iter()
            .map(|(first, ids)| {
                let list: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
                let n = ids.len();
                Diagnostic::error(
                    Rule::Fleet,
                    "",
                    None,
                    format!(
                        "creates {n} object{} that {} also creates: {}",
                        if n == 1 { "" } else { "s" },
                        members[first].file,
                        list.join(", ")
                    ),
                )
                .with_help(collision_help(&ids))
            })
            .collect();
        out.push((i, diagnostics));
    }
    out
}

fn collision_help(ids: &[&ObjectId]) -> String {
    let mut help = Vec::new();
    if ids.iter().any(|id| id.kind == Kind::Namespace) {
        help.push("each release owns its Namespace (its Pod Security labels, and pruning it deletes everything in it): give each profile its own `namespace`");
    }
    if ids.iter().any(|id| id.kind == Kind::SealedSecret) {
        help.push("two releases would share one credentials Secret and overwrite each other's password: give one of them another `secret_name`");
    }
    if ids.iter().any(|id| !matches!(id.kind, Kind::Namespace | Kind::SealedSecret)) {
        help.push("give one of them another `release_name` or `namespace`");
    }
    help.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::KUSTOMIZATION;

    fn source(stem: &str, text: &str) -> Source {
        Source { stem: stem.into(), file: format!("{stem}.toml"), text: text.into(), sealed: None }
    }

    fn profile(release: &str, namespace: &str) -> String {
        format!(
            "release_name = \"{release}\"\nnamespace = \"{namespace}\"\nreplica_namespaces = [\"{release}-app\"]\nsecret_name = \"{release}-credentials\"\n"
        )
    }

    #[test]
    fn members_go_under_their_stem_and_the_top_kustomization_lists_them() {
        let fleet =
            compile_all(&[source("a", &profile("cache", "cache")), source("b", &profile("queue", "queue"))]).unwrap();
        let single = compile("a.toml", &profile("cache", "cache"), None).unwrap();
        for f in &single.bundle.files {
            assert_eq!(fleet.bundle.get(&format!("a/{}", f.path)).unwrap().contents, f.contents, "{}", f.path);
        }
        let top = String::from_utf8(fleet.bundle.get(KUSTOMIZATION).unwrap().contents.clone()).unwrap();
        assert!(top.ends_with("resources:\n- a\n- b\n"), "{top}");
        let b = compile("b.toml", &profile("queue", "queue"), None).unwrap();
        assert_eq!(fleet.bundle.files.len(), single.bundle.files.len() + b.bundle.files.len() + 1);
        assert_eq!(fleet.bundle.stream(), format!("{}{}", single.bundle.stream(), b.bundle.stream()));
    }

    #[test]
    fn every_bad_profile_is_reported() {
        let e = compile_all(&[
            source("a", "replica_count = \"x\"\n"),
            source("b", &profile("fine", "fine")),
            source("c", "port = 0\nnamespace = \"Bad\"\n"),
        ])
        .unwrap_err();
        assert_eq!(e.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(e[1].diagnostics.len(), 2, "{:?}", e[1].diagnostics);
    }

    #[test]
    fn two_profiles_creating_one_object_collide() {
        let e = compile_all(&[
            source("a", &profile("cache", "shared")),
            source("b", &profile("queue", "shared")),
            source("c", &profile("cache", "shared")),
        ])
        .unwrap_err();
        // b shares only the Namespace with a; c is a copy of a (each object is
        // reported against its first owner).
        assert_eq!(e.iter().map(|f| f.index).collect::<Vec<_>>(), [1, 2]);
        let b = &e[0].diagnostics;
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].message, "creates 1 object that a.toml also creates: Namespace shared");
        assert!(b[0].help.as_deref().unwrap().contains("its own `namespace`"));
        let c = &e[1].diagnostics;
        assert_eq!(c.len(), 1, "{c:?}");
        let n = compile("c.toml", &profile("cache", "shared"), None).unwrap().objects.len();
        assert!(c[0].message.starts_with(&format!("creates {n} objects that a.toml also creates: Namespace shared, ")));
        assert!(c[0].message.contains("StatefulSet shared/cache-master"), "{}", c[0].message);
        assert!(c[0].message.contains("SealedSecret cache-app/cache-credentials"), "{}", c[0].message);
        let help = c[0].help.as_deref().unwrap();
        assert!(help.contains("`namespace`") && help.contains("`secret_name`") && help.contains("`release_name`"));
    }

    #[test]
    fn stems_that_kustomize_would_misread_are_listed_as_paths() {
        let stems = ["homelab", "yes", "On", "2024", "a b"];
        let fleet = compile_all(
            &stems
                .iter()
                .enumerate()
                .map(|(i, s)| source(s, &profile(&format!("r{i}"), &format!("n{i}"))))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let top = String::from_utf8(fleet.bundle.get(KUSTOMIZATION).unwrap().contents.clone()).unwrap();
        assert!(top.ends_with("resources:\n- homelab\n- ./yes\n- ./On\n- '2024'\n- a b\n"), "{top}");
    }
}
