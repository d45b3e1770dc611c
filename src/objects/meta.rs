//! Small builders shared by every object: metadata, the components' labels
//! and selectors, checksums.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plan::{COMPONENT_LABEL, Plan, Role};

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

/// What the component label says of a pod (and of the objects around it):
/// the two roles of replication, the three kinds of pod of Sentinel, and the
/// metrics Service that the ServiceMonitor selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Master,
    Replica,
    Node,
    Sentinel,
    Proxy,
    Metrics,
}

impl Component {
    fn value(self) -> &'static str {
        match self {
            Component::Master => Role::Master.component(),
            Component::Replica => Role::Replica.component(),
            Component::Node => "node",
            Component::Sentinel => "sentinel",
            Component::Proxy => "proxy",
            Component::Metrics => "metrics",
        }
    }

    /// The release's labels and this component.
    pub fn labels(self, plan: &Plan) -> BTreeMap<String, String> {
        let mut l = plan.labels();
        l.insert(COMPONENT_LABEL.into(), self.value().into());
        l
    }

    /// The release's selector narrowed to this component.
    pub fn selector(self, plan: &Plan) -> BTreeMap<String, String> {
        let mut s = plan.selector();
        s.insert(COMPONENT_LABEL.into(), self.value().into());
        s
    }
}

impl From<Role> for Component {
    fn from(role: Role) -> Component {
        match role {
            Role::Master => Component::Master,
            Role::Replica => Component::Replica,
        }
    }
}

/// Hex sha256 of a value's canonical JSON form (maps are ordered), for the
/// pod annotations that roll the pods when config or credentials change.
pub fn sha256_of<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).expect("serializable");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}
