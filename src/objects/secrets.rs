//! The credentials: a SealedSecret `redis-credentials` in the Redis namespace
//! and in each consumer namespace, and in mode sentinel `<release>-internal`
//! with the internal users' passwords. Without sealed data, clearly marked
//! placeholders (the controller cannot decrypt them, so no Secret appears and
//! the pods wait) and a warning.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::meta::{object_meta, sha256_of};
use super::object::{CustomResource, custom_resource};
use crate::plan::{PASSWORD_KEY, Plan, SentinelPlan};
use crate::sealed::SealedData;

/// Annotation that marks a placeholder SealedSecret.
pub const PLACEHOLDER_ANNOTATION: &str = "redis-gen.io/placeholder";
/// The value a placeholder carries instead of a ciphertext.
pub const PLACEHOLDER_VALUE: &str = "REDIS-GEN-PLACEHOLDER-run-redis-gen-seal";
/// Keys of the internal Secret `<release>-internal` (mode sentinel).
pub const INTERNAL_KEYS: [&str; 3] = ["exporter-password", "replication-password", "sentinel-password"];

pub type SealedSecret = CustomResource<SealedSecretSpec>;
custom_resource!(SealedSecretSpec, "bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    pub encrypted_data: BTreeMap<String, String>,
    pub template: SecretTemplate,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretTemplate {
    pub metadata: ObjectMeta,
    #[serde(rename = "type")]
    pub type_: String,
}

/// A SealedSecret whose Secret is `name` of type Opaque with the release's labels.
fn sealed_secret(
    plan: &Plan,
    metadata: ObjectMeta,
    name: &str,
    namespace: &str,
    encrypted_data: BTreeMap<String, String>,
) -> SealedSecret {
    SealedSecret {
        metadata,
        spec: SealedSecretSpec {
            encrypted_data,
            template: SecretTemplate { metadata: object_meta(name, namespace, plan.labels()), type_: "Opaque".into() },
        },
    }
}

/// Every SealedSecret of the release: the credentials, Redis's namespace
/// first, then (mode sentinel) the internal one.
pub fn sealed_secrets(plan: &Plan, sealed: Option<&SealedData>, warnings: &mut Vec<String>) -> Vec<SealedSecret> {
    let mut out = credentials(plan, sealed, warnings);
    if let Some(s) = &plan.sentinel {
        out.push(internal_secret(plan, s, sealed, warnings));
    }
    out
}

/// sha256 of the ciphertexts the pods mount (`sealed_secrets`' output), so
/// that a new password rolls them.
pub fn checksum(plan: &Plan, secrets: &[SealedSecret]) -> String {
    let credentials = secrets.first().map(|c| &c.spec.encrypted_data);
    match &plan.sentinel {
        None => sha256_of(&credentials),
        Some(_) => sha256_of(&(credentials, &secrets.last().expect("the internal Secret").spec.encrypted_data)),
    }
}

/// One SealedSecret per namespace that needs the password, Redis's first.
fn credentials(plan: &Plan, sealed: Option<&SealedData>, warnings: &mut Vec<String>) -> Vec<SealedSecret> {
    let mut missing = Vec::new();
    // Strict scope binds each value to the Secret's name: after a rename
    // the controller could not decrypt them, so they are not used.
    let renamed = sealed.filter(|s| s.bound_to_other_name(&plan.names.secret));
    if let Some(s) = renamed {
        warnings.push(format!(
            "the sealed data was sealed (strict scope) for the Secret name {}, but the profile names it {}: \
             not used; run `redis-gen seal --cert CERT.pem --password-stdin {}` (or --rotate) to seal it again",
            s.secret_name, plan.names.secret, plan.profile_name
        ));
    }
    let sealed = if renamed.is_some() { None } else { sealed };
    let out = plan
        .secret_namespaces()
        .into_iter()
        .map(|ns| {
            let ciphertext = sealed.and_then(|s| s.secrets.get(ns)).and_then(|m| m.get(PASSWORD_KEY));
            let mut meta = object_meta(&plan.names.secret, ns, plan.labels());
            let mut annotations = BTreeMap::new();
            if let Some(a) = sealed.and_then(|s| s.scope.annotation()) {
                annotations.insert(a.to_string(), "true".to_string());
            }
            if ciphertext.is_none() {
                missing.push(ns.to_string());
                annotations.insert(
                    PLACEHOLDER_ANNOTATION.into(),
                    "no sealed password yet: run `redis-gen seal --cert CERT.pem PROFILE`".into(),
                );
            }
            meta.annotations = (!annotations.is_empty()).then_some(annotations);
            sealed_secret(
                plan,
                meta,
                &plan.names.secret,
                ns,
                BTreeMap::from([(
                    PASSWORD_KEY.to_string(),
                    ciphertext.cloned().unwrap_or_else(|| PLACEHOLDER_VALUE.to_string()),
                )]),
            )
        })
        .collect();
    if !missing.is_empty() {
        warnings.push(format!(
            "no sealed password for namespace(s) {}: emitted placeholder SealedSecrets; run `redis-gen seal --cert CERT.pem {}` to seal one",
            missing.join(", "),
            plan.profile_name
        ));
    }
    if let Some(s) = sealed {
        let stale: Vec<_> =
            s.secrets.keys().filter(|ns| !plan.secret_namespaces().contains(&ns.as_str())).cloned().collect();
        if !stale.is_empty() {
            warnings.push(format!(
                "the sealed data has namespace(s) the profile no longer lists, ignored: {}",
                stale.join(", ")
            ));
        }
    }
    out
}

/// `<release>-internal` in the Redis namespace: the passwords of the
/// sentinel, replication and exporter users. Placeholders until sealed.
fn internal_secret(
    plan: &Plan,
    s: &SentinelPlan,
    sealed: Option<&SealedData>,
    warnings: &mut Vec<String>,
) -> SealedSecret {
    let values = sealed.and_then(|d| {
        d.internal.as_ref().filter(|i| d.scope != crate::sealed::Scope::Strict || i.secret_name == s.internal_secret)
    });
    let mut data = BTreeMap::new();
    let mut missing = false;
    for key in INTERNAL_KEYS {
        match values.and_then(|v| v.values.get(key)) {
            Some(c) => {
                data.insert(key.to_string(), c.clone());
            }
            None => {
                missing = true;
                data.insert(key.to_string(), PLACEHOLDER_VALUE.to_string());
            }
        }
    }
    let mut meta = object_meta(&s.internal_secret, &plan.namespace, plan.labels());
    let mut annotations = BTreeMap::new();
    if let Some(a) = values.and(sealed).and_then(|d| d.scope.annotation()) {
        annotations.insert(a.to_string(), "true".to_string());
    }
    if missing {
        annotations.insert(
            PLACEHOLDER_ANNOTATION.into(),
            "no sealed internal passwords yet: run `redis-gen seal --cert CERT.pem PROFILE`".into(),
        );
        warnings.push(format!(
            "no sealed internal passwords (Secret {}): emitted a placeholder SealedSecret; run `redis-gen seal --cert CERT.pem {}` to generate and seal them",
            s.internal_secret, plan.profile_name
        ));
    }
    meta.annotations = (!annotations.is_empty()).then_some(annotations);
    sealed_secret(plan, meta, &s.internal_secret, &plan.namespace, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture::{SENTINEL, built, get};

    #[test]
    fn internal_passwords_are_placeholders_until_sealed() {
        let built = built(SENTINEL);
        assert!(built.warnings.iter().any(|w| w.contains("redis-shared-internal")), "{:?}", built.warnings);
        let internal: SealedSecret = get(SENTINEL, "redis-shared-internal").unwrap();
        let data = internal.spec.encrypted_data;
        assert_eq!(data.keys().map(String::as_str).collect::<Vec<_>>(), INTERNAL_KEYS);
        assert!(data.values().all(|v| v == PLACEHOLDER_VALUE), "{data:?}");
        assert!(internal.metadata.annotations.unwrap().contains_key(PLACEHOLDER_ANNOTATION));
    }
}
