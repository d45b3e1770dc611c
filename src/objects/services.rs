//! Services: headless (stable pod DNS), primary, replicas, the MetalLB
//! LoadBalancer for the private network, and metrics.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{Component, object_meta};
use crate::plan::{LoadBalancer, METRICS_PORT, Plan, Role};

/// MetalLB picks the address from this annotation (`spec.loadBalancerIP` is deprecated).
pub const METALLB_IPS: &str = "metallb.universe.tf/loadBalancerIPs";

pub(super) fn port(name: &str, number: u16) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: number.into(),
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

pub(super) fn service(plan: &Plan, name: &str, labels: BTreeMap<String, String>, spec: ServiceSpec) -> Service {
    Service { metadata: object_meta(name, &plan.namespace, labels), spec: Some(spec), ..Default::default() }
}

pub fn services(plan: &Plan) -> Vec<Service> {
    let redis_port = || vec![port("redis", plan.port)];
    let mut out = vec![
        service(
            plan,
            &plan.names.headless,
            plan.labels(),
            ServiceSpec {
                cluster_ip: Some("None".into()),
                // Replicas resolve the primary's pod name before it is ready.
                publish_not_ready_addresses: Some(true),
                selector: Some(plan.selector()),
                ports: Some(redis_port()),
                ..Default::default()
            },
        ),
        service(
            plan,
            &plan.names.master,
            plan.role_labels(Role::Master),
            ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(plan.role_selector(Role::Master)),
                ports: Some(redis_port()),
                ..Default::default()
            },
        ),
    ];
    if plan.replica_count > 0 {
        out.push(service(
            plan,
            &plan.names.replicas,
            plan.role_labels(Role::Replica),
            ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(plan.role_selector(Role::Replica)),
                ports: Some(redis_port()),
                ..Default::default()
            },
        ));
    }
    if let Some(lb) = &plan.loadbalancer {
        out.push(external(plan, lb, plan.role_labels(Role::Master), plan.role_selector(Role::Master)));
    }
    if plan.metrics.is_some() {
        out.push(metrics(plan, plan.selector()));
    }
    out
}

/// The MetalLB LoadBalancer for the private network, in front of `selector`.
pub fn external(
    plan: &Plan,
    lb: &LoadBalancer,
    labels: BTreeMap<String, String>,
    selector: BTreeMap<String, String>,
) -> Service {
    let mut svc = service(
        plan,
        &plan.names.external,
        labels,
        ServiceSpec {
            type_: Some("LoadBalancer".into()),
            // Keeps client addresses, so the source ranges and the
            // NetworkPolicy's ipBlock see the real client.
            external_traffic_policy: Some("Local".into()),
            load_balancer_source_ranges: Some(lb.source_ranges.clone()),
            selector: Some(selector),
            ports: Some(vec![port("redis", plan.port)]),
            ..Default::default()
        },
    );
    svc.metadata.annotations = Some(BTreeMap::from([(METALLB_IPS.into(), lb.ip.to_string())]));
    svc
}

/// The exporters' Service (port 9121) over the pods `selector` picks.
pub fn metrics(plan: &Plan, selector: BTreeMap<String, String>) -> Service {
    service(
        plan,
        &plan.names.metrics,
        Component::Metrics.labels(plan),
        ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            ports: Some(vec![port("metrics", METRICS_PORT)]),
            ..Default::default()
        },
    )
}
