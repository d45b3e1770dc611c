//! Small builders shared by every object: metadata, selectors, checksums.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Metadata of a namespaced object.
pub fn object_meta(name: &str, namespace: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: Some(labels),
        ..Default::default()
    }
}

pub fn selector(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector { match_labels: Some(labels), ..Default::default() }
}

/// Hex sha256 of a value's canonical JSON form (maps are ordered), for the
/// pod annotations that roll the pods when config or credentials change.
pub fn sha256_of<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).expect("serializable");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}
