//! Isolation: the Namespace at Pod Security `restricted`, and the
//! NetworkPolicies that admit only the namespaces and networks the profile
//! names: one over every Redis pod in mode replication, one per kind of pod
//! in mode sentinel.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{Component, object_meta, selector};
use crate::plan::{METRICS_PORT, Plan, SENTINEL_PORT, SentinelPlan};

const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub fn namespace(plan: &Plan) -> Namespace {
    let mut labels = plan.labels();
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(format!("pod-security.kubernetes.io/{mode}"), "restricted".into());
        labels.insert(format!("pod-security.kubernetes.io/{mode}-version"), "latest".into());
    }
    Namespace {
        metadata: ObjectMeta { name: Some(plan.namespace.clone()), labels: Some(labels), ..Default::default() },
        ..Default::default()
    }
}

fn port(number: u16, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(number.into())),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

fn tcp(number: u16) -> NetworkPolicyPort {
    port(number, "TCP")
}

/// Every pod of the namespace `ns`.
fn namespace_peer(ns: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(BTreeMap::from([(NAMESPACE_NAME_LABEL.into(), ns.to_string())]))),
        ..Default::default()
    }
}

/// The release's pods that `pods` selects.
fn pods_peer(pods: BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer { pod_selector: Some(selector(pods)), ..Default::default() }
}

/// The release namespace and each consumer namespace.
fn client_namespaces(plan: &Plan) -> Vec<NetworkPolicyPeer> {
    plan.secret_namespaces().into_iter().map(namespace_peer).collect()
}

/// The client namespaces and the private network of the LoadBalancer.
fn clients(plan: &Plan) -> Vec<NetworkPolicyPeer> {
    let mut peers = client_namespaces(plan);
    if let Some(lb) = &plan.loadbalancer {
        peers.extend(lb.source_ranges.iter().map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
            ..Default::default()
        }));
    }
    peers
}

/// Prometheus scrapes the exporter sidecars.
fn scrape(plan: &Plan) -> Option<NetworkPolicyIngressRule> {
    plan.metrics.as_ref().map(|_| NetworkPolicyIngressRule {
        from: Some(vec![namespace_peer(&plan.monitoring_namespace)]),
        ports: Some(vec![tcp(METRICS_PORT)]),
    })
}

fn ingress(from: Vec<NetworkPolicyPeer>, port: u16) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule { from: Some(from), ports: Some(vec![tcp(port)]) }
}

/// To the release's pods that `pods` selects, on `port`.
fn egress(pods: BTreeMap<String, String>, port: u16) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule { to: Some(vec![pods_peer(pods)]), ports: Some(vec![tcp(port)]) }
}

/// To the cluster DNS.
fn dns_egress() -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(selector(BTreeMap::from([(NAMESPACE_NAME_LABEL.into(), "kube-system".into())]))),
            pod_selector: Some(selector(BTreeMap::from([("k8s-app".into(), "kube-dns".into())]))),
            ..Default::default()
        }]),
        ports: Some(vec![port(53, "UDP"), port(53, "TCP")]),
    }
}

fn policy(
    plan: &Plan,
    name: &str,
    labels: BTreeMap<String, String>,
    pods: BTreeMap<String, String>,
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Vec<NetworkPolicyEgressRule>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: object_meta(name, &plan.namespace, labels),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(pods)),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    }
}

pub fn network_policies(plan: &Plan) -> Vec<NetworkPolicy> {
    match &plan.sentinel {
        None => vec![replication(plan)],
        Some(s) => sentinel(plan, s),
    }
}

/// Redis: the clients, Prometheus; replication to the release's own pods.
fn replication(plan: &Plan) -> NetworkPolicy {
    let ingress = [ingress(clients(plan), plan.port)].into_iter().chain(scrape(plan)).collect();
    let egress = vec![egress(plan.selector(), plan.port), dns_egress()];
    policy(plan, &plan.release, plan.labels(), plan.selector(), ingress, egress)
}

/// One policy per kind of pod. Redis pods: clients of the release's
/// namespaces (through `<release>-replicas` directly, through HAProxy for the
/// primary), Sentinels and each other; Sentinels: each other, the Redis pods
/// and sentinel-aware clients; HAProxy: the namespaces and the private network.
fn sentinel(plan: &Plan, s: &SentinelPlan) -> Vec<NetworkPolicy> {
    let of = |name: &str, c: Component, ingress, egress| {
        policy(plan, name, c.labels(plan), c.selector(plan), ingress, egress)
    };
    let to = |c: Component, port: u16| egress(c.selector(plan), port);
    let to_redis_and_sentinels =
        || vec![to(Component::Node, plan.port), to(Component::Sentinel, SENTINEL_PORT), dns_egress()];
    vec![
        of(
            &plan.release,
            Component::Node,
            [ingress(client_namespaces(plan), plan.port)].into_iter().chain(scrape(plan)).collect(),
            to_redis_and_sentinels(),
        ),
        of(
            &s.sentinel,
            Component::Sentinel,
            [ingress(client_namespaces(plan), SENTINEL_PORT)].into_iter().chain(scrape(plan)).collect(),
            to_redis_and_sentinels(),
        ),
        of(
            &s.proxy,
            Component::Proxy,
            vec![ingress(clients(plan), plan.port)],
            vec![to(Component::Node, plan.port), dns_egress()],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture::{SENTINEL, get};

    #[test]
    fn only_the_monitoring_namespace_reaches_the_sentinels_exporters() {
        let policy: NetworkPolicy = get(SENTINEL, "redis-shared-sentinel").unwrap();
        let ingress = policy.spec.unwrap().ingress.unwrap();
        let metrics: Vec<_> = ingress
            .iter()
            .filter(|r| r.ports.iter().flatten().any(|p| p.port == Some(IntOrString::Int(METRICS_PORT.into()))))
            .collect();
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].ports.as_ref().unwrap().len(), 1);
        let from = metrics[0].from.as_ref().unwrap();
        assert_eq!(from.len(), 1);
        let ns = from[0].namespace_selector.as_ref().unwrap().match_labels.as_ref().unwrap();
        assert_eq!(ns[NAMESPACE_NAME_LABEL], "monitoring");
        assert!(from[0].pod_selector.is_none() && from[0].ip_block.is_none());
    }
}
