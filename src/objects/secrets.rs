//! The credentials: a SealedSecret `redis-credentials` in the Redis namespace
//! and in each consumer namespace, holding what `plan::credentials` decided
//! (ciphertexts, or clearly marked placeholders).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::CustomResource;
use super::meta::object_meta;
use crate::plan::Plan;
use crate::plan::credentials::SealedSecretPlan;

/// Annotation that marks a placeholder SealedSecret.
pub const PLACEHOLDER_ANNOTATION: &str = "redis-gen.io/placeholder";

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

/// The SealedSecret the plan decided on: its Secret is Opaque, with the
/// release's labels.
pub fn sealed_secret(plan: &Plan, s: &SealedSecretPlan) -> SealedSecret {
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
        api_version: "bitnami.com/v1alpha1",
        kind: "SealedSecret",
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

/// The password's SealedSecret in each namespace that needs it, Redis's first.
pub fn sealed_secrets(plan: &Plan) -> Vec<SealedSecret> {
    plan.credentials.secrets.iter().map(|s| sealed_secret(plan, s)).collect()
}
