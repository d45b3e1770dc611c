//! The ServiceMonitor that scrapes the exporter sidecars of both topologies,
//! a prometheus-operator resource as a typed serde struct of our own (the
//! operator's CRDs are not in k8s-openapi). Its series carry `job` (the
//! metrics Service), `namespace`, `pod`, `instance` and the pod's component
//! label, which the alerts and the dashboard select by.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use super::meta::{Component, object_meta, selector};
use super::object::{CustomResource, custom_resource};
use crate::plan::{COMPONENT_LABEL, Plan};

pub type ServiceMonitor = CustomResource<ServiceMonitorSpec>;
custom_resource!(ServiceMonitorSpec, "monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors");

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
        metadata: object_meta(&plan.release, &plan.namespace, labels),
        spec: ServiceMonitorSpec {
            // The metrics Services of both topologies.
            selector: selector(Component::Metrics.selector(plan)),
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
