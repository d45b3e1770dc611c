//! What one `redis-gen seal` run changes in the sealed data, without churn:
//! ciphertexts are random, so sealing an unchanged password again would make
//! every GitOps tool report a change. A value is sealed again only when it
//! must be:
//!
//! - `--rotate`: a new password, every namespace sealed again;
//! - no sealed data yet: every namespace sealed (a generated password, or
//!   the one given);
//! - scope, controller key or (strict scope) Secret name changed: every
//!   value is stale; needs the password (`--password-stdin`) or `--rotate`;
//! - otherwise only namespaces without a value are sealed, which needs the
//!   password (`--password-stdin`) or `--rotate`; the rest stay as they are.
//!
//! Namespaces the profile no longer lists are dropped from the file.

use std::collections::BTreeMap;

use base64::Engine as _;
use rand::TryCryptoRng;

use super::cert::SealingKey;
use super::hybrid::{self, Randomness};
use super::{SealError, label};
use crate::seal::data::{PASSWORD_KEY, Scope, SealedData};

/// Where the password must go, from the plan.
#[derive(Debug, Clone)]
pub struct Target {
    /// Namespaces that need the Secret, the Redis namespace first.
    pub namespaces: Vec<String>,
    pub secret_name: String,
}

/// The command line's choices.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--scope`; `None` keeps the file's (strict for a new file).
    pub scope: Option<Scope>,
    pub rotate: bool,
    /// `--password-stdin`.
    pub password_given: bool,
}

/// Where this run's password comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordUse {
    /// Nothing to seal: no password needed.
    None,
    /// The one given on stdin.
    Given,
    /// A new one, generated.
    Generate,
}

/// What a run will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub scope: Scope,
    /// Namespaces sealed (again) by this run.
    pub seal: Vec<String>,
    /// Namespaces whose ciphertexts stay byte-identical.
    pub keep: Vec<String>,
    /// Namespaces in the file that the profile no longer lists.
    pub drop: Vec<String>,
    pub password: PasswordUse,
    /// Why every value is sealed again (empty when not).
    pub stale: Vec<String>,
}

/// Decides what to seal. `key_sha256` names the certificate's key.
pub fn decide(
    existing: Option<&SealedData>,
    target: &Target,
    key_sha256: &str,
    opts: &Options,
) -> Result<Update, SealError> {
    let scope = opts.scope.or(existing.map(|e| e.scope)).unwrap_or_default();
    let drop: Vec<String> = existing
        .map(|e| e.secrets.keys().filter(|ns| !target.namespaces.contains(ns)).cloned().collect())
        .unwrap_or_default();
    let fresh = |stale: Vec<String>| Update {
        scope,
        seal: target.namespaces.clone(),
        keep: Vec::new(),
        drop: drop.clone(),
        password: if opts.password_given { PasswordUse::Given } else { PasswordUse::Generate },
        stale,
    };
    let Some(existing) = existing else { return Ok(fresh(Vec::new())) };
    if opts.rotate {
        return Ok(fresh(Vec::new()));
    }

    let mut stale = Vec::new();
    if existing.scope != scope {
        stale.push(format!("the scope changes from {} to {}", existing.scope.name(), scope.name()));
    }
    if existing.public_key_sha256 != key_sha256 {
        stale.push(format!(
            "they were sealed for another key (public key sha256 {}, this certificate's is {key_sha256}): \
             a renewed controller key or another cluster",
            existing.public_key_sha256
        ));
    }
    if scope == Scope::Strict && existing.secret_name != target.secret_name {
        stale.push(format!(
            "strict scope binds them to the Secret name {}, and the profile now names it {}",
            existing.secret_name, target.secret_name
        ));
    }
    if !stale.is_empty() {
        if !opts.password_given {
            return Err(SealError::StaleNeedsPassword { reasons: stale });
        }
        let mut u = fresh(stale);
        u.password = PasswordUse::Given;
        return Ok(u);
    }

    let has = |ns: &String| existing.secrets.get(ns).is_some_and(|m| m.contains_key(PASSWORD_KEY));
    let (keep, seal): (Vec<String>, Vec<String>) = target.namespaces.iter().cloned().partition(has);
    if !seal.is_empty() && !opts.password_given {
        return Err(SealError::MissingNeedsPassword { namespaces: seal });
    }
    let password = if seal.is_empty() { PasswordUse::None } else { PasswordUse::Given };
    Ok(Update { scope, seal, keep, drop, password, stale })
}

/// Carries out `update`: kept values are copied byte for byte, the others
/// sealed with `password` under `key`, one fresh session key each.
pub fn apply<R: TryCryptoRng + ?Sized>(
    existing: Option<&SealedData>,
    update: &Update,
    target: &Target,
    key: &SealingKey,
    password: Option<&str>,
    rng: &mut R,
) -> Result<SealedData, SealError> {
    let mut secrets = BTreeMap::new();
    for ns in &update.keep {
        let values = existing.and_then(|e| e.secrets.get(ns)).expect("kept namespaces exist");
        secrets.insert(ns.clone(), values.clone());
    }
    if !update.seal.is_empty() {
        let password = password.expect("a password when there is something to seal");
        for ns in &update.seal {
            let random = Randomness::draw(rng)?;
            let label = label(update.scope, ns, &target.secret_name);
            let sealed = hybrid::encrypt(&key.public_key, &label, password.as_bytes(), &random)?;
            let value = base64::engine::general_purpose::STANDARD.encode(sealed);
            secrets.insert(ns.clone(), BTreeMap::from([(PASSWORD_KEY.to_string(), value)]));
        }
    }
    Ok(SealedData {
        scope: update.scope,
        secret_name: target.secret_name.clone(),
        public_key_sha256: key.key_sha256.clone(),
        secrets,
        // Mode sentinel: set by the caller (seal::internal).
        internal: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(ns: &[&str]) -> Target {
        Target { namespaces: ns.iter().map(|s| s.to_string()).collect(), secret_name: "redis-credentials".into() }
    }

    fn existing(ns: &[&str]) -> SealedData {
        SealedData {
            scope: Scope::Strict,
            secret_name: "redis-credentials".into(),
            public_key_sha256: "k1".into(),
            secrets: ns
                .iter()
                .map(|n| (n.to_string(), BTreeMap::from([(PASSWORD_KEY.to_string(), format!("ct-{n}"))])))
                .collect(),
            internal: None,
        }
    }

    fn opts(rotate: bool, given: bool) -> Options {
        Options { scope: None, rotate, password_given: given }
    }

    #[test]
    fn first_seal_generates_unless_given() {
        let u = decide(None, &target(&["redis", "app"]), "k1", &opts(false, false)).unwrap();
        assert_eq!(
            (u.seal, u.password, u.scope),
            (vec!["redis".into(), "app".into()], PasswordUse::Generate, Scope::Strict)
        );
        let u = decide(None, &target(&["redis"]), "k1", &opts(false, true)).unwrap();
        assert_eq!(u.password, PasswordUse::Given);
    }

    #[test]
    fn an_unchanged_file_is_left_alone() {
        let e = existing(&["redis", "app"]);
        let u = decide(Some(&e), &target(&["redis", "app"]), "k1", &opts(false, false)).unwrap();
        assert!(u.seal.is_empty() && u.drop.is_empty());
        assert_eq!(u.keep, ["redis", "app"]);
        assert_eq!(u.password, PasswordUse::None);
    }

    #[test]
    fn a_new_namespace_needs_the_password() {
        let e = existing(&["redis"]);
        let err = decide(Some(&e), &target(&["redis", "app"]), "k1", &opts(false, false)).unwrap_err();
        assert_eq!(err, SealError::MissingNeedsPassword { namespaces: vec!["app".into()] });
        let msg = err.to_string();
        assert!(msg.contains("--password-stdin") && msg.contains("--rotate") && msg.contains("app"), "{msg}");
        let u = decide(Some(&e), &target(&["redis", "app"]), "k1", &opts(false, true)).unwrap();
        assert_eq!((u.keep, u.seal), (vec!["redis".to_string()], vec!["app".to_string()]));
    }

    #[test]
    fn rotation_seals_everything_again() {
        let e = existing(&["redis", "gone"]);
        let u = decide(Some(&e), &target(&["redis"]), "k1", &opts(true, false)).unwrap();
        assert_eq!((u.seal, u.keep, u.drop), (vec!["redis".into()], vec![], vec!["gone".into()]));
        assert_eq!(u.password, PasswordUse::Generate);
    }

    #[test]
    fn scope_key_or_name_changes_make_every_value_stale() {
        let e = existing(&["redis"]);
        let scope = Options { scope: Some(Scope::ClusterWide), ..opts(false, false) };
        let err = decide(Some(&e), &target(&["redis"]), "k1", &scope).unwrap_err();
        assert!(err.to_string().contains("from strict to cluster-wide"), "{err}");
        let err = decide(Some(&e), &target(&["redis"]), "k2", &opts(false, false)).unwrap_err();
        assert!(err.to_string().contains("another key"), "{err}");
        let renamed = Target { secret_name: "other".into(), ..target(&["redis"]) };
        let err = decide(Some(&e), &renamed, "k1", &opts(false, false)).unwrap_err();
        assert!(err.to_string().contains("Secret name redis-credentials"), "{err}");
        // With the password, everything is sealed again.
        let u = decide(Some(&e), &renamed, "k2", &opts(false, true)).unwrap();
        assert_eq!((u.seal.len(), u.keep.len(), u.stale.len()), (1, 0, 2));
    }

    #[test]
    fn renaming_does_not_matter_outside_strict_scope() {
        let e = SealedData { scope: Scope::NamespaceWide, ..existing(&["redis"]) };
        let renamed = Target { secret_name: "other".into(), ..target(&["redis"]) };
        let u = decide(Some(&e), &renamed, "k1", &opts(false, false)).unwrap();
        assert_eq!(u.keep, ["redis"]);
    }

    #[test]
    fn the_same_scope_given_again_is_no_change() {
        let e = existing(&["redis"]);
        let same = Options { scope: Some(Scope::Strict), ..opts(false, false) };
        assert!(decide(Some(&e), &target(&["redis"]), "k1", &same).unwrap().seal.is_empty());
    }
}
