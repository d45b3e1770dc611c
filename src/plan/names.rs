//! Who the release is and what its objects are called: the identity keys
//! (release, namespace, mode, cluster domain, extra labels), every object
//! and DNS name computed once, and the label sets per component. Nothing
//! downstream spells a name again.

use std::collections::BTreeMap;

use super::Plan;
use super::check::{At, Checker, bad_label_key, bad_label_value};
use super::syntax::{dns1123_subdomain, label_key_ok, label_value_ok};
use crate::profile::Sp;
use crate::profile::keys::{self, Mode, StrKey};

/// Label keys redis-gen sets itself; `labels` may not override them.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The labels above: they select the pods, so no profile key may set them.
pub const RESERVED_LABELS: [&str; 4] = [NAME_LABEL, INSTANCE_LABEL, COMPONENT_LABEL, MANAGED_BY_LABEL];

/// Longest release name: `<release>-replicas` is a StatefulSet name, and the
/// controller puts `<statefulset>-<10-char hash>` in a 63-character label.
pub const MAX_RELEASE_LEN: usize = 63 - 11 - "-replicas".len();

/// The two kinds of Redis pod in mode `replication`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

/// Every kind of pod or Service a release has, by its component label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Master,
    Replica,
    /// A Redis pod of mode `sentinel` (its role moves at each failover).
    Node,
    Sentinel,
    Proxy,
    /// The exporters' Service.
    Metrics,
}

impl Component {
    /// Value of the component label.
    pub fn label(self) -> &'static str {
        match self {
            Component::Master => "master",
            Component::Replica => "replica",
            Component::Node => "node",
            Component::Sentinel => "sentinel",
            Component::Proxy => "proxy",
            Component::Metrics => "metrics",
        }
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

impl Role {
    /// Value of the component label, and the config file name stem.
    pub fn component(self) -> &'static str {
        Component::from(self).label()
    }
}

/// The identity keys, checked.
pub struct Identity {
    pub release: Sp<String>,
    pub namespace: Sp<String>,
    pub domain: Sp<String>,
    pub mode: Mode,
    pub labels: BTreeMap<String, String>,
}

impl Identity {
    pub fn resolve(c: &mut Checker<'_>) -> Identity {
        let release = c.str(&keys::RELEASE_NAME);
        let release_ok = c.dns_label(
            &At::key(&keys::RELEASE_NAME),
            &release,
            MAX_RELEASE_LEN,
            "the StatefulSet `<release>-replicas` and its pods' revision label must fit in 63 characters",
        );
        if release_ok && release.value.starts_with(|ch: char| ch.is_ascii_digit()) {
            c.err(
                &keys::RELEASE_NAME,
                release.span.clone(),
                "must start with a letter: Service names are DNS-1035 labels",
            );
        }
        let namespace = c.str(&keys::NAMESPACE);
        c.dns_label(&At::key(&keys::NAMESPACE), &namespace, 63, "");
        let mode = c.choice(&keys::MODE);
        let (domain, domain_ok) = c.text(&keys::CLUSTER_DOMAIN);
        if domain_ok && dns1123_subdomain(&domain.value).is_err() {
            c.err(
                &keys::CLUSTER_DOMAIN,
                domain.span.clone(),
                format!("`{}` is not a DNS domain such as `cluster.local`", domain.value),
            );
        }

        let mut labels = BTreeMap::new();
        for (k, v) in c.map(&keys::LABELS) {
            let at = At::entry(&keys::LABELS, &k);
            if !label_key_ok(&k) {
                c.err_at(&at, v.span.clone(), bad_label_key(&k));
            } else if RESERVED_LABELS.contains(&k.as_str()) {
                c.err_at(
                    &at,
                    v.span.clone(),
                    format!("`{k}` is set by redis-gen and selects the pods; choose another label key"),
                );
            } else if !label_value_ok(&v.value) {
                c.err_at(&at, v.span.clone(), bad_label_value(&v.value));
            }
            labels.insert(k, v.value);
        }
        Identity { release, namespace, domain, mode, labels }
    }
}

/// Every object name, computed once.
#[derive(Debug, Clone)]
pub struct Names {
    pub master: String,
    pub replicas: String,
    pub headless: String,
    pub external: String,
    pub metrics: String,
    pub config: String,
    pub service_account: String,
    pub secret: String,
    /// `<release>-master-0.<release>-headless.<ns>.svc.<domain>`: the primary pod.
    pub primary_pod_dns: String,
    /// `<release>-master.<ns>.svc.<domain>`
    pub master_dns: String,
    /// `<release>-replicas.<ns>.svc.<domain>`
    pub replicas_dns: String,
    /// `<ns>.svc.<domain>`: where the release's Services resolve.
    zone: String,
}

impl Names {
    /// Names every object; checks `secret_name` and that the longest DNS
    /// name redis-gen writes (a replica's `replicaof`) fits in 253 characters.
    pub fn resolve(c: &mut Checker<'_>, id: &Identity) -> Names {
        let secret = c.str(&keys::SECRET_NAME);
        c.dns_subdomain(&At::key(&keys::SECRET_NAME), &secret);
        let r = &id.release.value;
        let zone = format!("{}.svc.{}", id.namespace.value, id.domain.value);
        let (master, replicas, headless) = (format!("{r}-master"), format!("{r}-replicas"), format!("{r}-headless"));
        let dns = |service: &str| format!("{service}.{zone}");
        let names = Names {
            primary_pod_dns: format!("{master}-0.{}", dns(&headless)),
            master_dns: dns(&master),
            replicas_dns: dns(&replicas),
            master,
            replicas,
            headless,
            external: format!("{r}-external"),
            metrics: format!("{r}-metrics"),
            config: format!("{r}-config"),
            service_account: r.clone(),
            secret: secret.value,
            zone,
        };
        let dns = &names.primary_pod_dns;
        if dns.len() > 253 {
            let written: [(&StrKey, &Sp<String>); 3] = [
                (&keys::CLUSTER_DOMAIN, &id.domain),
                (&keys::NAMESPACE, &id.namespace),
                (&keys::RELEASE_NAME, &id.release),
            ];
            let (key, span) = written
                .into_iter()
                .find(|(_, v)| v.span.is_some())
                .map_or((&keys::CLUSTER_DOMAIN, None), |(k, v)| (k, v.span.clone()));
            c.err(
                key,
                span,
                format!("the primary's DNS name `{dns}` is {} characters long; DNS names stop at 253: shorten cluster_domain, namespace or release_name", dns.len()),
            );
        }
        names
    }

    /// The cluster DNS name of one of the release's Services.
    pub fn service_dns(&self, service: &str) -> String {
        format!("{service}.{}", self.zone)
    }
}

impl Plan {
    /// Labels on every object of the release.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut l = self.extra_labels.clone();
        l.insert(NAME_LABEL.into(), "redis".into());
        l.insert(INSTANCE_LABEL.into(), self.release.clone());
        l.insert(MANAGED_BY_LABEL.into(), "redis-gen".into());
        l
    }

    /// Labels that select every Redis pod of the release.
    pub fn selector(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(NAME_LABEL.into(), "redis".into()), (INSTANCE_LABEL.into(), self.release.clone())])
    }

    /// Labels that select the pods of one component.
    pub fn component_selector(&self, c: Component) -> BTreeMap<String, String> {
        let mut s = self.selector();
        s.insert(COMPONENT_LABEL.into(), c.label().into());
        s
    }

    /// Labels of the pods (and objects) of one component.
    pub fn component_labels(&self, c: Component) -> BTreeMap<String, String> {
        let mut l = self.labels();
        l.insert(COMPONENT_LABEL.into(), c.label().into());
        l
    }

    /// Labels that select the pods of one role.
    pub fn role_selector(&self, role: Role) -> BTreeMap<String, String> {
        self.component_selector(role.into())
    }

    /// Labels of the pods (and objects) of one role.
    pub fn role_labels(&self, role: Role) -> BTreeMap<String, String> {
        self.component_labels(role.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{errors, plan};

    #[test]
    fn names_that_would_not_fit_are_refused() {
        let long = "a".repeat(MAX_RELEASE_LEN + 1);
        let e = errors(&format!("release_name = \"{long}\"\n"));
        assert_eq!(e[0].key, "release_name");
        assert!(e[0].message.contains("too long"));
        assert_eq!(
            plan(&format!("release_name = \"{}\"\n", "a".repeat(MAX_RELEASE_LEN))).release.len(),
            MAX_RELEASE_LEN
        );
    }
}
