//! Who reaches Redis from where: the application namespaces that receive
//! the credentials and pass the NetworkPolicy, and the LoadBalancer for the
//! private network with its source ranges.

use std::net::IpAddr;

use super::check::Checker;
use super::syntax::{cidr_contains, parse_cidr};
use crate::profile::Sp;

/// The LoadBalancer for the private network.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub ip: IpAddr,
    pub source_ranges: Vec<String>,
}

/// `replica_namespaces`: DNS labels, each once, none the Redis namespace.
pub fn replica_namespaces(c: &mut Checker<'_>, namespace: &Sp<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, ns) in c.p.list("replica_namespaces").value.into_iter().enumerate() {
        let key = format!("replica_namespaces[{i}]");
        c.dns_label(&key, &ns, 63, "");
        if ns.value == namespace.value && !c.poisoned(&["namespace"]) {
            c.err(
                &key,
                ns.span.clone(),
                format!("`{}` is the Redis namespace itself, which always gets the Secret; remove it", ns.value),
            );
        } else if out.contains(&ns.value) {
            c.err(&key, ns.span.clone(), format!("`{}` is listed twice", ns.value));
        }
        out.push(ns.value);
    }
    out
}

impl LoadBalancer {
    /// `None` unless `enable_loadbalancer` (or when the address is not one).
    pub fn resolve(c: &mut Checker<'_>) -> Option<LoadBalancer> {
        let p = c.p;
        if !p.bool("enable_loadbalancer").value {
            return None;
        }
        let ip = p.str("loadbalancer_ip");
        let parsed: Option<IpAddr> = ip.value.parse().ok();
        if parsed.is_none() {
            c.err(
                "loadbalancer_ip",
                ip.span.clone(),
                format!("`{}` is not an IP address such as `192.168.4.203`", ip.value),
            );
        }
        let ranges = p.list("loadbalancer_source_ranges");
        if ranges.value.is_empty() {
            c.err(
                "loadbalancer_source_ranges",
                ranges.span.clone(),
                "must list at least one CIDR: an empty list would open the LoadBalancer to every address",
            );
        }
        let mut nets = Vec::new();
        for (i, r) in ranges.value.iter().enumerate() {
            match parse_cidr(&r.value) {
                Ok(n) => nets.push(n),
                Err(e) => {
                    c.err(&format!("loadbalancer_source_ranges[{i}]"), r.span.clone(), format!("`{}`: {e}", r.value))
                }
            }
        }
        if let Some(addr) = parsed
            && !nets.is_empty()
            && nets.len() == ranges.value.len()
            && !c.poisoned(&["loadbalancer_source_ranges", "loadbalancer_ip"])
            && !nets.iter().any(|n| cidr_contains(*n, addr))
        {
            if ip.span.is_some() {
                c.err("loadbalancer_ip", ip.span.clone(), format!("`{addr}` is outside every loadbalancer_source_ranges entry, so no allowed client could reach it"));
            } else {
                c.err("loadbalancer_source_ranges", ranges.span.clone(), format!("the default loadbalancer_ip `{addr}` is outside every range listed here, so no allowed client could reach it; set loadbalancer_ip to an address inside them"));
            }
        }
        parsed.map(|ip| LoadBalancer { ip, source_ranges: ranges.value.into_iter().map(|r| r.value).collect() })
    }
}
