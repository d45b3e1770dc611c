//! The credentials: a SealedSecret `redis-credentials` in the Redis namespace
//! and in each consumer namespace. Without sealed data, clearly marked
//! placeholders (the controller cannot decrypt them, so no Secret appears and
//! the pods wait) and a warning.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::CustomResource;
use super::meta::object_meta;
use crate::diag::{Diagnostic, Rule};
use crate::plan::Plan;
use crate::seal::data::{PASSWORD_KEY, SealedData};

/// Annotation that marks a placeholder SealedSecret.
pub const PLACEHOLDER_ANNOTATION: &str = "redis-gen.io/placeholder";
/// The value a placeholder carries instead of a ciphertext.
pub const PLACEHOLDER_VALUE: &str = "REDIS-GEN-PLACEHOLDER-run-redis-gen-seal";

pub type SealedSecret = CustomResource<SealedSecretSpec>;

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
pub fn sealed_secret(
    plan: &Plan,
    metadata: ObjectMeta,
    name: &str,
    namespace: &str,
    encrypted_data: BTreeMap<String, String>,
) -> SealedSecret {
    SealedSecret {
        api_version: "bitnami.com/v1alpha1",
        kind: "SealedSecret",
        metadata,
        spec: SealedSecretSpec {
            encrypted_data,
            template: SecretTemplate { metadata: object_meta(name, namespace, plan.labels()), type_: "Opaque".into() },
        },
    }
}

/// One SealedSecret per namespace that needs the password, Redis's first.
pub fn sealed_secrets(plan: &Plan, sealed: Option<&SealedData>, warnings: &mut Vec<Diagnostic>) -> Vec<SealedSecret> {
    let mut missing = Vec::new();
    // Strict scope binds each value to the Secret's name: after a rename
    // the controller could not decrypt them, so they are not used.
    let renamed = sealed.filter(|s| s.bound_to_other_name(&plan.names.secret));
    if let Some(s) = renamed {
        warnings.push(Diagnostic::warning(
            Rule::Sealed,
            "secret_name",
            None,
            format!(
                "the sealed data was sealed (strict scope) for the Secret name {}, but the profile names it {}: \
             not used; run `redis-gen seal --cert CERT.pem --password-stdin {}` (or --rotate) to seal it again",
                s.secret_name, plan.names.secret, plan.profile_name
            ),
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
        warnings.push(Diagnostic::warning(Rule::Placeholder, "", None, format!(
            "no sealed password for namespace(s) {}: emitted placeholder SealedSecrets; run `redis-gen seal --cert CERT.pem {}` to seal one",
            missing.join(", "),
            plan.profile_name
        )));
    }
    if let Some(s) = sealed {
        let stale: Vec<_> =
            s.secrets.keys().filter(|ns| !plan.secret_namespaces().contains(&ns.as_str())).cloned().collect();
        if !stale.is_empty() {
            warnings.push(Diagnostic::warning(
                Rule::Sealed,
                "replica_namespaces",
                None,
                format!("the sealed data has namespace(s) the profile no longer lists, ignored: {}", stale.join(", ")),
            ));
        }
    }
    out
}
