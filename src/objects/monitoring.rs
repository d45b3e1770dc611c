//! prometheus-operator resources, as typed serde structs of our own (the
//! operator's CRDs are not in k8s-openapi).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;

use super::Manifest;
use super::meta::{object_meta, selector};
use super::services::metrics_selector;
use crate::plan::{COMPONENT_LABEL, Plan};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitor {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ServiceMonitorSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    pub selector: LabelSelector,
    pub namespace_selector: NamespaceSelector,
    pub endpoints: Vec<Endpoint>,
    /// Pod labels copied onto every series (the role: master or replica).
    pub pod_target_labels: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    pub match_names: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub port: String,
    pub path: String,
    pub interval: String,
    pub scheme: String,
}

pub fn service_monitor(plan: &Plan) -> Option<ServiceMonitor> {
    let sm = plan.metrics.as_ref()?.service_monitor.as_ref()?;
    let mut labels = plan.labels();
    labels.extend(sm.labels.clone().into_iter().collect::<BTreeMap<_, _>>());
    Some(ServiceMonitor {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: object_meta(&plan.release, &plan.namespace, labels),
        spec: ServiceMonitorSpec {
            selector: selector(metrics_selector(plan)),
            namespace_selector: NamespaceSelector { match_names: vec![plan.namespace.clone()] },
            endpoints: vec![Endpoint {
                port: "metrics".into(),
                path: "/metrics".into(),
                interval: sm.interval.clone(),
                scheme: "http".into(),
            }],
            pod_target_labels: vec![COMPONENT_LABEL.into()],
        },
    })
}

pub fn manifest(sm: &ServiceMonitor) -> Manifest {
    Manifest::new(sm.kind, sm.metadata.name.as_deref().unwrap_or_default(), sm.metadata.namespace.as_deref(), sm)
}
