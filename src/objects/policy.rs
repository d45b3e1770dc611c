//! Isolation: the Namespace at Pod Security `restricted`, and the
//! NetworkPolicy that admits only the namespaces and networks the profile names.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{object_meta, selector};
use crate::plan::{METRICS_PORT, Plan};

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

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort { port: Some(IntOrString::Int(port.into())), protocol: Some("TCP".into()), ..Default::default() }
}

fn in_namespace(ns: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(BTreeMap::from([(NAMESPACE_NAME_LABEL.into(), ns.to_string())]))),
        ..Default::default()
    }
}

pub fn network_policy(plan: &Plan) -> NetworkPolicy {
    // Redis: the release namespace, each consumer namespace, the private network.
    let mut redis_peers: Vec<NetworkPolicyPeer> = plan.secret_namespaces().into_iter().map(in_namespace).collect();
    if let Some(lb) = &plan.loadbalancer {
        redis_peers.extend(lb.source_ranges.iter().map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
            ..Default::default()
        }));
    }
    let mut ingress = vec![NetworkPolicyIngressRule { from: Some(redis_peers), ports: Some(vec![tcp(plan.port)]) }];
    if plan.metrics.is_some() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![in_namespace(&plan.monitoring_namespace)]),
            ports: Some(vec![tcp(METRICS_PORT)]),
        });
    }
    // Egress: replication to the release's own pods, and cluster DNS.
    let dns_port = |protocol: &str| NetworkPolicyPort {
        port: Some(IntOrString::Int(53)),
        protocol: Some(protocol.into()),
        ..Default::default()
    };
    let egress = vec![
        NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer { pod_selector: Some(selector(plan.selector())), ..Default::default() }]),
            ports: Some(vec![tcp(plan.port)]),
        },
        NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(selector(BTreeMap::from([(
                    NAMESPACE_NAME_LABEL.into(),
                    "kube-system".into(),
                )]))),
                pod_selector: Some(selector(BTreeMap::from([("k8s-app".into(), "kube-dns".into())]))),
                ..Default::default()
            }]),
            ports: Some(vec![dns_port("UDP"), dns_port("TCP")]),
        },
    ];
    NetworkPolicy {
        metadata: object_meta(&plan.release, &plan.namespace, plan.labels()),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(plan.selector())),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    }
}
