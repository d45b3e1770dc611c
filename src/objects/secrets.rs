//! The credentials: a SealedSecret `redis-credentials` in the Redis namespace
//! and in each consumer namespace, and in mode sentinel `<release>-internal`
//! with the internal users' passwords: each holds what `plan::credentials`
//! decided (ciphertexts, or clearly marked placeholders).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::meta::{object_meta, sha256_of};
use super::object::{CustomResource, custom_resource};
use crate::plan::Plan;
use crate::plan::credentials::SealedSecretPlan;

/// Annotation that marks a placeholder SealedSecret.
pub const PLACEHOLDER_ANNOTATION: &str = "redis-gen.io/placeholder";

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

/// The SealedSecret the plan decided on: its Secret is Opaque, with the
/// release's labels.
fn sealed_secret(plan: &Plan, s: &SealedSecretPlan) -> SealedSecret {
    let mut metadata = object_meta(&s.name, &s.namespace, plan.labels());
    let mut annotations = BTreeMap::new();
    if let Some(a) = s.scope_annotation {
        annotations.insert(a.to_string(), "true".to_string());
    }
    if let Some(why) = s.placeholder {
        annotations.insert(PLACEHOLDER_ANNOTATION.into(), why.into());
    }
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    SealedSecret {
        metadata,
        spec: SealedSecretSpec {
            encrypted_data: s.data.clone(),
            template: SecretTemplate {
                metadata: object_meta(&s.name, &s.namespace, plan.labels()),
                type_: "Opaque".into(),
            },
        },
    }
}

/// Every SealedSecret of the release: the credentials, Redis's namespace
/// first, then (mode sentinel) the internal one.
pub fn sealed_secrets(plan: &Plan) -> Vec<SealedSecret> {
    let c = &plan.credentials;
    c.secrets.iter().chain(&c.internal).map(|s| sealed_secret(plan, s)).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture::{SENTINEL, get, plan};
    use crate::plan::credentials::{INTERNAL_KEYS, PLACEHOLDER_VALUE};

    #[test]
    fn internal_passwords_are_placeholders_until_sealed() {
        let warnings = plan(SENTINEL).credentials.warnings;
        assert!(warnings.iter().any(|w| w.message.contains("redis-shared-internal")), "{warnings:?}");
        let internal: SealedSecret = get(SENTINEL, "redis-shared-internal").unwrap();
        let data = internal.spec.encrypted_data;
        assert_eq!(data.keys().map(String::as_str).collect::<Vec<_>>(), INTERNAL_KEYS);
        assert!(data.values().all(|v| v == PLACEHOLDER_VALUE), "{data:?}");
        assert!(internal.metadata.annotations.unwrap().contains_key(PLACEHOLDER_ANNOTATION));
    }
}
