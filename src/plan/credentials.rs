//! The credentials: what each SealedSecret of the release holds, decided
//! here from the sealed data beside the profile, checked against the
//! profile. A value is the ciphertext sealed for the Secret's namespace and
//! name, or a clearly marked placeholder (the controller cannot decrypt it,
//! so no Secret appears and the pods wait) with a warning. Sealed data bound
//! to another Secret name (strict scope) is not used; namespaces the profile
//! no longer lists are ignored. The object builders only wrap the result.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Rule};
use crate::profile::Profile;
use crate::seal::data::{PASSWORD_KEY, Scope, SealedData};

/// Keys of the internal Secret `<release>-internal` (mode sentinel).
pub const INTERNAL_KEYS: [&str; 3] = ["exporter-password", "replication-password", "sentinel-password"];
/// The value a placeholder carries instead of a ciphertext.
pub const PLACEHOLDER_VALUE: &str = "REDIS-GEN-PLACEHOLDER-run-redis-gen-seal";

/// What one SealedSecret holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecretPlan {
    pub name: String,
    pub namespace: String,
    /// Secret key -> ciphertext (or `PLACEHOLDER_VALUE`).
    pub data: BTreeMap<String, String>,
    /// The annotation a non-strict scope needs.
    pub scope_annotation: Option<&'static str>,
    /// Why it holds placeholders, when it does (what to run instead).
    pub placeholder: Option<&'static str>,
}

/// Every SealedSecret of the release and what the sealed data left to say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// The password's Secret in each namespace that needs it, Redis's first.
    pub secrets: Vec<SealedSecretPlan>,
    /// Mode sentinel: the internal users' passwords, in the Redis namespace.
    pub internal: Option<SealedSecretPlan>,
    /// Each of severity warning.
    pub warnings: Vec<Diagnostic>,
}

/// Where the Secrets go, as the plan resolved them.
pub struct Targets<'a> {
    /// The profile's file name, for the commands the warnings suggest.
    pub profile_name: &'a str,
    pub secret_name: &'a str,
    /// The Redis namespace first, then the replica namespaces.
    pub namespaces: Vec<&'a str>,
    /// Mode sentinel: the internal Secret's name.
    pub internal_secret: Option<&'a str>,
}

impl Credentials {
    pub fn resolve(p: &Profile, t: &Targets<'_>, sealed: Option<&SealedData>) -> Credentials {
        let mut warnings = Vec::new();
        // Strict scope binds each value to the Secret's name: after a rename
        // the controller could not decrypt them, so they are not used.
        let renamed = sealed.filter(|s| s.bound_to_other_name(t.secret_name));
        if let Some(s) = renamed {
            warnings.push(Diagnostic::warning(
                Rule::Sealed,
                "secret_name",
                p.str("secret_name").span,
                format!(
                    "the sealed data was sealed (strict scope) for the Secret name {}, but the profile names it {}: \
                     not used; run `redis-gen seal --cert CERT.pem --password-stdin {}` (or --rotate) to seal it again",
                    s.secret_name, t.secret_name, t.profile_name
                ),
            ));
        }
        let usable = if renamed.is_some() { None } else { sealed };
        let mut missing = Vec::new();
        let secrets = t
            .namespaces
            .iter()
            .map(|&ns| {
                let ciphertext = usable.and_then(|s| s.secrets.get(ns)).and_then(|m| m.get(PASSWORD_KEY));
                if ciphertext.is_none() {
                    missing.push(ns);
                }
                SealedSecretPlan {
                    name: t.secret_name.to_string(),
                    namespace: ns.to_string(),
                    data: BTreeMap::from([(
                        PASSWORD_KEY.to_string(),
                        ciphertext.cloned().unwrap_or_else(|| PLACEHOLDER_VALUE.to_string()),
                    )]),
                    scope_annotation: usable.and_then(|s| s.scope.annotation()),
                    placeholder: ciphertext
                        .is_none()
                        .then_some("no sealed password yet: run `redis-gen seal --cert CERT.pem PROFILE`"),
                }
            })
            .collect();
        if !missing.is_empty() {
            warnings.push(Diagnostic::warning(
                Rule::Placeholder,
                "",
                None,
                format!(
                    "no sealed password for namespace(s) {}: emitted placeholder SealedSecrets; run `redis-gen seal --cert CERT.pem {}` to seal one",
                    missing.join(", "),
                    t.profile_name
                ),
            ));
        }
        if let Some(s) = usable {
            let stale: Vec<_> = s.secrets.keys().filter(|ns| !t.namespaces.contains(&ns.as_str())).cloned().collect();
            if !stale.is_empty() {
                warnings.push(Diagnostic::warning(
                    Rule::Sealed,
                    "replica_namespaces",
                    p.list("replica_namespaces").span,
                    format!(
                        "the sealed data has namespace(s) the profile no longer lists, ignored: {}",
                        stale.join(", ")
                    ),
                ));
            }
        }
        let internal = t.internal_secret.map(|name| internal(t, name, sealed, &mut warnings));
        Credentials { secrets, internal, warnings }
    }
}

/// `<release>-internal`: the passwords of the sentinel, replication and
/// exporter users, sealed by `seal` with the same scope and key.
fn internal(
    t: &Targets<'_>,
    name: &str,
    sealed: Option<&SealedData>,
    warnings: &mut Vec<Diagnostic>,
) -> SealedSecretPlan {
    let values = sealed.and_then(|d| {
        d.internal.as_ref().filter(|i| d.scope != Scope::Strict || i.secret_name == name).map(|i| (d, i))
    });
    let mut missing = false;
    let data = INTERNAL_KEYS
        .iter()
        .map(|key| {
            let value = values.and_then(|(_, v)| v.values.get(*key)).cloned().unwrap_or_else(|| {
                missing = true;
                PLACEHOLDER_VALUE.to_string()
            });
            (key.to_string(), value)
        })
        .collect();
    if missing {
        warnings.push(Diagnostic::warning(
            Rule::Placeholder,
            "",
            None,
            format!(
                "no sealed internal passwords (Secret {name}): emitted a placeholder SealedSecret; run `redis-gen seal --cert CERT.pem {}` to generate and seal them",
                t.profile_name
            ),
        ));
    }
    SealedSecretPlan {
        name: name.to_string(),
        namespace: t.namespaces[0].to_string(),
        data,
        scope_annotation: values.and_then(|(d, _)| d.scope.annotation()),
        placeholder: missing
            .then_some("no sealed internal passwords yet: run `redis-gen seal --cert CERT.pem PROFILE`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Severity, line_col};
    use crate::plan::Plan;

    fn sealed(secret_name: &str, namespaces: &[&str]) -> SealedData {
        let mut data = SealedData { secret_name: secret_name.into(), ..SealedData::default() };
        for ns in namespaces {
            data.secrets.insert(ns.to_string(), BTreeMap::from([(PASSWORD_KEY.to_string(), format!("ct-{ns}"))]));
        }
        data
    }

    fn credentials(text: &str, data: Option<&SealedData>) -> Credentials {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap(), data).unwrap().credentials
    }

    /// A warning as its rule, key and line:col.
    type Found = (Rule, String, Option<(usize, usize)>);

    fn warnings(text: &str, c: &Credentials) -> Vec<Found> {
        assert!(c.warnings.iter().all(|w| w.severity == Severity::Warning));
        c.warnings.iter().map(|w| (w.rule, w.key.clone(), w.span.as_ref().map(|s| line_col(text, s.start)))).collect()
    }

    #[test]
    fn sealed_values_are_used_where_they_fit() {
        let text = "namespace = \"redis\"\nreplica_namespaces = [\"app\"]\n";
        let c = credentials(text, Some(&sealed("redis-credentials", &["redis", "app"])));
        assert_eq!(warnings(text, &c), []);
        let held: Vec<_> = c.secrets.iter().map(|s| (s.namespace.as_str(), s.data[PASSWORD_KEY].as_str())).collect();
        assert_eq!(held, [("redis", "ct-redis"), ("app", "ct-app")]);
        assert!(c.secrets.iter().all(|s| s.placeholder.is_none() && s.scope_annotation.is_none()));
        assert_eq!(c.internal, None, "replication mode has no internal Secret");
    }

    #[test]
    fn without_sealed_data_every_secret_holds_placeholders() {
        let text = "mode = \"sentinel\"\nreplica_count = 2\n";
        let c = credentials(text, None);
        let all = c.secrets.iter().chain(&c.internal);
        assert!(all.flat_map(|s| s.data.values()).all(|v| v == PLACEHOLDER_VALUE));
        assert_eq!(
            warnings(text, &c),
            [(Rule::Placeholder, String::new(), None), (Rule::Placeholder, String::new(), None)]
        );
    }

    #[test]
    fn strict_values_for_another_name_are_refused_where_the_name_is_written() {
        let text = "replica_namespaces = []\nsecret_name = \"renamed\"\n";
        let c = credentials(text, Some(&sealed("redis-credentials", &["redis"])));
        assert_eq!(c.secrets[0].data[PASSWORD_KEY], PLACEHOLDER_VALUE);
        assert_eq!(
            warnings(text, &c),
            [(Rule::Sealed, "secret_name".into(), Some((2, 15))), (Rule::Placeholder, String::new(), None)]
        );
    }

    #[test]
    fn namespaces_no_longer_listed_are_named_at_the_list() {
        let text = "namespace = \"redis\"\nreplica_namespaces = [\"app\"]\n";
        let c = credentials(text, Some(&sealed("redis-credentials", &["redis", "app", "gone"])));
        assert_eq!(warnings(text, &c), [(Rule::Sealed, "replica_namespaces".into(), Some((2, 22)))]);
    }
}
