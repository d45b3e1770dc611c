//! Services of both topologies: headless (stable pod DNS), primary, replicas
//! (and the Sentinels in mode sentinel), the MetalLB LoadBalancer for the
//! private network, and metrics.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{Component, object_meta};
use crate::plan::{LoadBalancer, METRICS_PORT, Plan, SENTINEL_PORT, SentinelPlan};

/// MetalLB picks the address from this annotation (`spec.loadBalancerIP` is deprecated).
pub const METALLB_IPS: &str = "metallb.universe.tf/loadBalancerIPs";

fn port(name: &str, number: u16) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: number.into(),
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn service(plan: &Plan, name: &str, labels: BTreeMap<String, String>, spec: ServiceSpec) -> Service {
    Service { metadata: object_meta(name, &plan.namespace, labels), spec: Some(spec), ..Default::default() }
}

pub fn services(plan: &Plan) -> Vec<Service> {
    match &plan.sentinel {
        None => replication(plan),
        Some(s) => sentinel(plan, s),
    }
}

/// Pods resolve each other by name before they are ready.
fn headless(
    plan: &Plan,
    name: &str,
    labels: BTreeMap<String, String>,
    pods: BTreeMap<String, String>,
    port: ServicePort,
) -> Service {
    service(
        plan,
        name,
        labels,
        ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(pods),
            ports: Some(vec![port]),
            ..Default::default()
        },
    )
}

fn cluster_ip(plan: &Plan, name: &str, c: Component, port: ServicePort) -> Service {
    service(
        plan,
        name,
        c.labels(plan),
        ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(c.selector(plan)),
            ports: Some(vec![port]),
            ..Default::default()
        },
    )
}

fn replication(plan: &Plan) -> Vec<Service> {
    let redis = || port("redis", plan.port);
    let mut out = vec![
        headless(plan, &plan.names.headless, plan.labels(), plan.selector(), redis()),
        cluster_ip(plan, &plan.names.master, Component::Master, redis()),
    ];
    if plan.replica_count > 0 {
        out.push(cluster_ip(plan, &plan.names.replicas, Component::Replica, redis()));
    }
    if let Some(lb) = &plan.loadbalancer {
        out.push(external(plan, lb, Component::Master));
    }
    if plan.metrics.is_some() {
        out.push(metrics(plan, &plan.names.metrics, plan.selector()));
    }
    out
}

fn sentinel(plan: &Plan, s: &SentinelPlan) -> Vec<Service> {
    let redis = || port("redis", plan.port);
    let sentinel = || port("sentinel", SENTINEL_PORT);
    let (node, sentinels) = (Component::Node, Component::Sentinel);
    let mut out = vec![
        headless(plan, &plan.names.headless, node.labels(plan), node.selector(plan), redis()),
        headless(plan, &s.sentinel_headless, sentinels.labels(plan), sentinels.selector(plan), sentinel()),
        // The primary, whichever pod it is: through HAProxy.
        cluster_ip(plan, &plan.names.master, Component::Proxy, redis()),
        // Reads: any Redis pod (the primary included).
        cluster_ip(plan, &plan.names.replicas, node, redis()),
        // Sentinel-aware clients.
        cluster_ip(plan, &s.sentinel, sentinels, sentinel()),
    ];
    if let Some(lb) = &plan.loadbalancer {
        out.push(external(plan, lb, Component::Proxy));
    }
    if plan.metrics.is_some() {
        out.push(metrics(plan, &plan.names.metrics, node.selector(plan)));
        // The Sentinels' exporters: a Service of their own, so their series
        // carry their own `job` (the ServiceMonitor selects both Services by
        // their common labels).
        out.push(metrics(plan, &s.sentinel_metrics, sentinels.selector(plan)));
    }
    out
}

/// The MetalLB LoadBalancer for the private network, in front of the pods
/// that take writes.
fn external(plan: &Plan, lb: &LoadBalancer, c: Component) -> Service {
    let mut svc = service(
        plan,
        &plan.names.external,
        c.labels(plan),
        ServiceSpec {
            type_: Some("LoadBalancer".into()),
            // Keeps client addresses, so the source ranges and the
            // NetworkPolicy's ipBlock see the real client.
            external_traffic_policy: Some("Local".into()),
            load_balancer_source_ranges: Some(lb.source_ranges.clone()),
            selector: Some(c.selector(plan)),
            ports: Some(vec![port("redis", plan.port)]),
            ..Default::default()
        },
    );
    svc.metadata.annotations = Some(BTreeMap::from([(METALLB_IPS.into(), lb.ip.to_string())]));
    svc
}

/// An exporters' Service (port 9121) over the pods `pods` selects.
fn metrics(plan: &Plan, name: &str, pods: BTreeMap<String, String>) -> Service {
    service(
        plan,
        name,
        Component::Metrics.labels(plan),
        ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(pods),
            ports: Some(vec![port("metrics", METRICS_PORT)]),
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture::{SENTINEL, get};
    use crate::objects::monitoring::ServiceMonitor;
    use crate::plan::COMPONENT_LABEL;

    #[test]
    fn the_service_monitor_scrapes_the_sentinels_through_a_service_of_their_own() {
        let svc: Service = get(SENTINEL, "redis-shared-sentinel-metrics").unwrap();
        let spec = svc.spec.unwrap();
        assert_eq!(spec.selector.unwrap()[COMPONENT_LABEL], "sentinel");
        assert_eq!(spec.ports.unwrap()[0].port, i32::from(METRICS_PORT));
        let node_svc: Service = get(SENTINEL, "redis-shared-metrics").unwrap();
        assert_eq!(node_svc.spec.unwrap().selector.unwrap()[COMPONENT_LABEL], "node");
        // The ServiceMonitor's selector picks both by their labels; their
        // series keep the pod's component (node or sentinel).
        let sm: ServiceMonitor = get(SENTINEL, "redis-shared").unwrap();
        let wanted = sm.spec.selector.match_labels.unwrap();
        for labels in [svc.metadata.labels.unwrap(), node_svc.metadata.labels.unwrap()] {
            assert!(wanted.iter().all(|(k, v)| labels.get(k) == Some(v)), "{labels:?}");
        }
        assert_eq!(sm.spec.pod_target_labels, [COMPONENT_LABEL]);
    }
}
