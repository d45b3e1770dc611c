//! Who reaches Redis from where: the application namespaces that receive
//! the credentials and pass the NetworkPolicy, and the LoadBalancer for the
//! private network with its source ranges.

use std::net::IpAddr;

use super::check::{At, Checker};
use super::syntax::{cidr_contains, parse_cidr};
use crate::profile::Sp;
use crate::profile::keys;

/// The LoadBalancer for the private network.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub ip: IpAddr,
    pub source_ranges: Vec<String>,
}

/// `replica_namespaces`: DNS labels, each once, none the Redis namespace.
pub fn replica_namespaces(c: &mut Checker<'_>, namespace: &Sp<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, ns) in c.list(&keys::REPLICA_NAMESPACES).value.into_iter().enumerate() {
        let at = At::item(&keys::REPLICA_NAMESPACES, i);
        c.dns_label(&at, &ns, 63, "");
        if ns.value == namespace.value && !c.poisoned(&[&keys::NAMESPACE]) {
            c.err_at(
                &at,
                ns.span.clone(),
                format!("`{}` is the Redis namespace itself, which always gets the Secret; remove it", ns.value),
            );
        } else if out.contains(&ns.value) {
            c.err_at(&at, ns.span.clone(), format!("`{}` is listed twice", ns.value));
        }
        out.push(ns.value);
    }
    out
}

impl LoadBalancer {
    /// `None` unless `enable_loadbalancer` (or when the address is not one).
    pub fn resolve(c: &mut Checker<'_>) -> Option<LoadBalancer> {
        if !c.bool(&keys::ENABLE_LOADBALANCER).value {
            return None;
        }
        let ip = c.str(&keys::LOADBALANCER_IP);
        let parsed: Option<IpAddr> = ip.value.parse().ok();
        if parsed.is_none() {
            c.err(
                &keys::LOADBALANCER_IP,
                ip.span.clone(),
                format!("`{}` is not an IP address such as `192.168.4.203`", ip.value),
            );
        }
        let ranges = c.list(&keys::LOADBALANCER_SOURCE_RANGES);
        if ranges.value.is_empty() {
            c.err(
                &keys::LOADBALANCER_SOURCE_RANGES,
                ranges.span.clone(),
                "must list at least one CIDR: an empty list would open the LoadBalancer to every address",
            );
        }
        let mut nets = Vec::new();
        for (i, r) in ranges.value.iter().enumerate() {
            match parse_cidr(&r.value) {
                Ok(n) => nets.push(n),
                Err(e) => c.err_at(
                    &At::item(&keys::LOADBALANCER_SOURCE_RANGES, i),
                    r.span.clone(),
                    format!("`{}`: {e}", r.value),
                ),
            }
        }
        if let Some(addr) = parsed
            && !nets.is_empty()
            && nets.len() == ranges.value.len()
            && !c.poisoned(&[&keys::LOADBALANCER_SOURCE_RANGES, &keys::LOADBALANCER_IP])
            && !nets.iter().any(|n| cidr_contains(*n, addr))
        {
            if ip.span.is_some() {
                c.err(&keys::LOADBALANCER_IP, ip.span.clone(), format!("`{addr}` is outside every loadbalancer_source_ranges entry, so no allowed client could reach it"));
            } else {
                c.err(&keys::LOADBALANCER_SOURCE_RANGES, ranges.span.clone(), format!("the default loadbalancer_ip `{addr}` is outside every range listed here, so no allowed client could reach it; set loadbalancer_ip to an address inside them"));
            }
        }
        parsed.map(|ip| LoadBalancer { ip, source_ranges: ranges.value.into_iter().map(|r| r.value).collect() })
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::testing::errors;

    #[test]
    fn loadbalancer_ip_must_be_inside_its_ranges() {
        let e = errors("loadbalancer_ip = \"10.0.0.5\"\n");
        assert_eq!(e[0].key, "loadbalancer_ip");
        assert!(e[0].message.contains("outside"));
    }
}
