//! Stage 2, the plan: the profile validated and resolved once. Everything
//! the object builders need is here in final form (names, DNS names, label
//! sets, resources, byte counts), so they never re-derive or re-check it.

pub mod quantity;
mod redis_commands;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;

use crate::diag::Diagnostic;
use crate::profile::{Profile, Sp, key_path};
use quantity::Quantity;

/// Port of the redis_exporter sidecar.
pub const METRICS_PORT: u16 = 9121;
/// Label keys redis-gen sets itself; `labels` may not override them.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Key of the password inside the credentials Secret (the seed's name).
pub const PASSWORD_KEY: &str = "redis-password";

/// Port of every Sentinel (mode `sentinel`).
pub const SENTINEL_PORT: u16 = 26379;
/// Port of the HAProxy health page (mode `sentinel`).
pub const PROXY_HEALTH_PORT: u16 = 8404;

/// Mode `sentinel`: Sentinels elect the primary among the Redis pods of one
/// StatefulSet, and an HAProxy Deployment sends clients to it.
#[derive(Debug, Clone)]
pub struct SentinelPlan {
    pub count: i32,
    /// A majority of `count`.
    pub quorum: i32,
    pub down_after_ms: i64,
    pub failover_timeout_ms: i64,
    /// `min-replicas-max-lag` with `min-replicas-to-write 1`; 0: off.
    pub min_replicas_max_lag: i64,
    pub proxy_image: String,
    /// The name the Sentinels monitor the primary under (the release).
    pub master_set: String,
    /// StatefulSet of the Redis pods: `<release>-node`.
    pub nodes: String,
    /// StatefulSet and Service of the Sentinels: `<release>-sentinel`.
    pub sentinel: String,
    /// Headless Service of the Sentinel pods: `<release>-sentinel-headless`.
    pub sentinel_headless: String,
    /// The Sentinels' exporters' Service: `<release>-sentinel-metrics`.
    pub sentinel_metrics: String,
    /// HAProxy Deployment: `<release>-proxy`.
    pub proxy: String,
    /// Secret with the internal users' passwords: `<release>-internal`.
    pub internal_secret: String,
    /// `.<headless>.<ns>.svc.<domain>`: a Redis pod's DNS name is `<nodes>-<i>` + this.
    pub node_dns_suffix: String,
    /// `.<sentinel-headless>.<ns>.svc.<domain>`
    pub sentinel_dns_suffix: String,
}

/// The two kinds of Redis pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

impl Role {
    /// Value of the component label, and the config file name stem.
    pub fn component(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Replica => "replica",
        }
    }
}

/// CPU and memory requests and limits of one container, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
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
}

/// The LoadBalancer for the private network.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub ip: IpAddr,
    pub source_ranges: Vec<String>,
}

/// Monitoring settings, present when `enable_metrics`.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub image: String,
    pub resources: Resources,
    pub service_monitor: Option<ServiceMonitorPlan>,
}

#[derive(Debug, Clone)]
pub struct ServiceMonitorPlan {
    pub interval: String,
    pub labels: BTreeMap<String, String>,
}

/// Alerts and the Grafana dashboard. Present only with the ServiceMonitor:
/// their queries select series by the labels it gives them.
#[derive(Debug, Clone)]
pub struct Monitoring {
    /// PromQL label matchers of every series of the release: `job` (the
    /// ServiceMonitor names it after the metrics Service) and `namespace`.
    pub matchers: String,
    /// The pod label `app.kubernetes.io/component` as Prometheus spells it
    /// once `podTargetLabels` copies it onto the series.
    pub component_label: String,
    /// The scrape interval: the step of the restart subquery.
    pub scrape_interval: String,
    /// Mode `sentinel`: the matchers of the Sentinels' series (`job` = their
    /// metrics Service). Roles then move at every failover, so queries find
    /// the primary by the role its exporter reports, not by a pod label.
    pub sentinel_matchers: Option<String>,
    pub alerts: Option<Alerts>,
    pub dashboard: Option<Dashboard>,
}

/// The PrometheusRule: its name, labels and every threshold.
#[derive(Debug, Clone)]
pub struct Alerts {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub down_for: String,
    pub replication_for: String,
    pub replication_lag_bytes: u64,
    pub replication_lag_for: String,
    pub memory_percent: u8,
    pub memory_for: String,
    pub rejected_connections: u64,
    pub persistence_for: String,
    pub restarts: u32,
    pub restart_window: String,
}

/// The dashboard ConfigMap and the label the Grafana sidecar looks for.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// `<release>-<namespace>-dashboard`: unique among the dashboards of
    /// releases in several namespaces that share one Grafana namespace.
    pub name: String,
    pub namespace: String,
    /// The ConfigMap key, the file name the sidecar writes (unique per release).
    pub file: String,
    pub label: String,
    pub label_value: String,
}

/// A validated, resolved profile.
#[derive(Debug, Clone)]
pub struct Plan {
    /// File name of the profile, for headers.
    pub profile_name: String,
    pub release: String,
    pub namespace: String,
    pub cluster_domain: String,
    pub names: Names,
    pub extra_labels: BTreeMap<String, String>,
    pub replica_namespaces: Vec<String>,
    pub port: u16,
    pub replica_count: i32,
    pub master: Resources,
    pub replica: Resources,
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    pub appendfsync: String,
    pub disabled_commands: Vec<String>,
    pub redis_image: String,
    pub storage_size: String,
    pub storage_class: String,
    pub termination_grace_period_seconds: i64,
    pub loadbalancer: Option<LoadBalancer>,
    pub metrics: Option<Metrics>,
    pub monitoring_namespace: String,
    pub monitoring: Option<Monitoring>,
    /// Present in mode `sentinel`.
    pub sentinel: Option<SentinelPlan>,
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

    /// Labels that select the pods of one role.
    pub fn role_selector(&self, role: Role) -> BTreeMap<String, String> {
        let mut s = self.selector();
        s.insert(COMPONENT_LABEL.into(), role.component().into());
        s
    }

    /// Labels of the pods (and objects) of one role.
    pub fn role_labels(&self, role: Role) -> BTreeMap<String, String> {
        let mut l = self.labels();
        l.insert(COMPONENT_LABEL.into(), role.component().into());
        l
    }

    /// Namespaces that receive the credentials, the Redis namespace first.
    pub fn secret_namespaces(&self) -> Vec<&str> {
        std::iter::once(self.namespace.as_str()).chain(self.replica_namespaces.iter().map(String::as_str)).collect()
    }

    /// Total number of Redis pods.
    pub fn pod_count(&self) -> i32 {
        1 + self.replica_count
    }
}

/// Collects every validation error instead of stopping at the first.
struct Checker<'p> {
    p: &'p Profile,
    errors: Vec<Diagnostic>,
}

impl<'p> Checker<'p> {
    fn err(&mut self, key: &str, span: Option<Range<usize>>, msg: impl Into<String>) {
        if !self.poisoned(&[key]) {
            self.errors.push(Diagnostic::new(key, span, msg));
        }
    }

    /// Whether any of these keys (or key paths) had a type error: such a key
    /// reads as its default, and a finding about that default would only
    /// confuse, so checks that involve it keep quiet.
    fn poisoned(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.p.is_poisoned(k.split(['[', '.']).next().unwrap_or(k)))
    }

    /// A string key that must be non-empty and free of control characters;
    /// the flag says whether it is, so that further checks of a value
    /// already refused stay quiet (one mistake, one message).
    fn text(&mut self, key: &'static str) -> (Sp<String>, bool) {
        let v = self.p.str(key);
        let ok = self.check_text(key, &v);
        (v, ok)
    }

    fn check_text(&mut self, key: &str, v: &Sp<String>) -> bool {
        if v.span.is_none() {
            // A default: either a fixed, valid one, or derived from another
            // key, which is checked (and reported) where the user wrote it.
            return !v.value.is_empty() && !v.value.chars().any(crate::diag::is_unsafe);
        }
        if v.value.is_empty() {
            self.err(key, v.span.clone(), "must not be empty");
            false
        } else if let Some(c) = v.value.chars().find(|c| crate::diag::is_unsafe(*c)) {
            self.err(
                key,
                v.span.clone(),
                format!(
                    "contains the {} character {}; only printable text is accepted",
                    if c.is_control() { "control" } else { "invisible" },
                    c.escape_default()
                ),
            );
            false
        } else {
            true
        }
    }

    /// Whether `v` is a DNS-1123 label of at most `max` characters.
    fn dns_label(&mut self, key: &str, v: &Sp<String>, max: usize, why: &str) -> bool {
        if !self.check_text(key, v) {
            return false;
        }
        if v.span.is_none() {
            // A default: valid, or derived from a key checked where it was written.
            return dns1123_label(&v.value, max).is_ok();
        }
        if let Err(problem) = dns1123_label(&v.value, max) {
            let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
            self.err(key, v.span.clone(), format!("{problem}: `{}` is not a valid name; use lower-case letters, digits and '-', starting and ending with a letter or digit, at most {max} characters{why}", v.value));
            return false;
        }
        true
    }

    /// A DNS-1123 subdomain: dot-separated labels, at most 253 characters
    /// (the names of Secrets, StorageClasses, ConfigMaps).
    fn dns_subdomain(&mut self, key: &str, v: &Sp<String>) {
        if !self.check_text(key, v) {
            return;
        }
        if let Err(problem) = dns1123_subdomain(&v.value) {
            self.err(key, v.span.clone(), format!("{problem}: `{}` is not a valid name; use lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit, at most 253 characters", v.value));
        }
    }

    fn quantity(&mut self, key: &'static str, v: &Sp<String>, memory: bool) -> Option<f64> {
        if !self.check_text(key, v) {
            return None;
        }
        if v.span.is_none() {
            // A default derived from another key reports nothing itself.
            return Quantity::parse(&v.value)
                .map(|q| q.0)
                .filter(|q| *q > 0.0 && q.is_finite() && !(memory && v.value.ends_with('m')));
        }
        match Quantity::parse(&v.value) {
            Some(q) if q.0 <= 0.0 => {
                self.err(key, v.span.clone(), format!("`{}` must be greater than zero", v.value));
                None
            }
            Some(q) if !q.0.is_finite() || q.0 > MAX_QUANTITY => {
                self.err(
                    key,
                    v.span.clone(),
                    format!("`{}` is too large; Kubernetes quantities stop at 2^63-1", v.value),
                );
                None
            }
            Some(_) if memory && v.value.ends_with('m') => {
                self.err(key, v.span.clone(), format!("`{}` is in thousandths of a byte; write memory as bytes with a suffix such as `512Mi` or `2Gi`", v.value));
                None
            }
            Some(q) => Some(q.0),
            None => {
                let example = if memory { "`512Mi`, `2Gi`" } else { "`500m`, `1`, `1.5`" };
                self.err(key, v.span.clone(), format!("`{}` is not a Kubernetes quantity; expected a number with an optional suffix, such as {example}", v.value));
                None
            }
        }
    }

    /// Resolves a request/limit pair for CPU or memory of one container.
    fn pair(
        &mut self,
        req_key: &'static str,
        req: Sp<String>,
        lim_key: &'static str,
        lim: Sp<String>,
        memory: bool,
    ) -> (String, String) {
        let r = self.quantity(req_key, &req, memory);
        let l = self.quantity(lim_key, &lim, memory);
        if let (Some(r), Some(l)) = (r, l)
            && r > l
            && !self.poisoned(&[req_key, lim_key])
        {
            let (key, span) =
                if req.span.is_some() { (req_key, req.span.clone()) } else { (lim_key, lim.span.clone()) };
            self.err(
                key,
                span,
                format!(
                    "request `{}` ({req_key}) is above limit `{}` ({lim_key}); a request may not exceed its limit",
                    req.value, lim.value
                ),
            );
        }
        (req.value, lim.value)
    }

    /// A string key restricted to the choices its entry in the key table lists.
    fn one_of(&mut self, key: &'static str) -> String {
        let allowed = crate::profile::keys::find(key).map_or(&[][..], |k| k.choices);
        debug_assert!(!allowed.is_empty(), "{key} lists no choices");
        let v = self.p.str(key);
        if !allowed.contains(&v.value.as_str()) {
            self.err(
                key,
                v.span.clone(),
                format!("`{}` is not accepted; expected one of: {}", v.value, allowed.join(", ")),
            );
        }
        v.value
    }
}

impl Checker<'_> {
    /// Mode `sentinel`: (sentinel count, down-after, failover timeout, proxy image).
    fn sentinel(&mut self, port: &Sp<i64>, replica_count: &Sp<i64>) -> (i32, i64, i64, i64, String) {
        let p = self.p;
        if replica_count.value < 1 {
            self.err(
                "replica_count",
                replica_count.span.clone(),
                "mode `sentinel` needs at least 1 replica (2 Redis pods) to fail over to; 2 (3 pods) are recommended",
            );
        }
        if [i64::from(SENTINEL_PORT), i64::from(PROXY_HEALTH_PORT)].contains(&port.value) {
            self.err("port", port.span.clone(), format!("{} is used by Sentinel ({SENTINEL_PORT}) or the proxy's health page ({PROXY_HEALTH_PORT}) in mode `sentinel`", port.value));
        }
        let count = p.int("sentinel_count");
        if !(3..=9).contains(&count.value) || count.value % 2 == 0 {
            self.err(
                "sentinel_count",
                count.span.clone(),
                format!(
                    "{} Sentinels: expected an odd number from 3 to 9, so that a majority survives the loss of any one",
                    count.value
                ),
            );
        }
        let down = p.int("sentinel_down_after_ms");
        if !(1000..=600_000).contains(&down.value) {
            self.err(
                "sentinel_down_after_ms",
                down.span.clone(),
                format!("{} ms is out of range; expected 1000 to 600000", down.value),
            );
        }
        let timeout = p.int("sentinel_failover_timeout_ms");
        if !(1000..=3_600_000).contains(&timeout.value) {
            self.err(
                "sentinel_failover_timeout_ms",
                timeout.span.clone(),
                format!("{} ms is out of range; expected 1000 to 3600000", timeout.value),
            );
        }
        let lag = p.int("sentinel_min_replicas_max_lag");
        if !(0..=3600).contains(&lag.value) {
            self.err(
                "sentinel_min_replicas_max_lag",
                lag.span.clone(),
                format!("{} s is out of range; expected 0 (off) to 3600", lag.value),
            );
        }
        let (image, image_ok) = self.text("proxy_image");
        if let (true, Err(e)) = (image_ok, image_reference(&image.value)) {
            self.err("proxy_image", image.span.clone(), format!("`{}`: {e}", image.value));
        }
        (count.value as i32, down.value, timeout.value, lag.value, image.value)
    }
}

/// Checks a DNS-1123 label (RFC 1123): what Kubernetes requires of names.
pub fn dns1123_label(s: &str, max: usize) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.len() > max {
        return Err("too long");
    }
    let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ends_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !ok_chars || !ends_ok(s.as_bytes()[0]) || !ends_ok(s.as_bytes()[s.len() - 1]) {
        return Err("invalid characters");
    }
    Ok(())
}

/// Checks a DNS-1123 subdomain: labels joined by dots, at most 253 characters.
pub fn dns1123_subdomain(s: &str) -> Result<(), &'static str> {
    if s.len() > 253 {
        return Err("too long");
    }
    s.split('.').try_for_each(|label| dns1123_label(label, 63))
}

/// The largest quantity Kubernetes accepts, in base units.
const MAX_QUANTITY: f64 = i64::MAX as f64;

/// Checks an image reference: `[registry/]path[:tag][@sha256:<64 hex>]`.
pub fn image_reference(s: &str) -> Result<(), String> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").ok_or("the digest must start with `sha256:`")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err("a sha256 digest has 64 lower-case hex digits".into());
        }
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err("the image name is empty".into());
    }
    for (i, part) in name.split('/').enumerate() {
        let registry =
            i == 0 && name.contains('/') && (part.contains('.') || part.contains(':') || part == "localhost");
        let ok = !part.is_empty()
            && if registry {
                part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
            } else {
                part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
                    && part.as_bytes()[0].is_ascii_alphanumeric()
            };
        if !ok {
            return Err(format!(
                "`{part}` is not a valid image path component (lower-case letters, digits, '.', '_', '-')"
            ));
        }
    }
    match (tag, digest) {
        (Some(t), _)
            if t.is_empty()
                || t.len() > 128
                || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) =>
        {
            Err(format!("`{t}` is not a valid tag"))
        }
        (Some("latest"), None) | (None, None) => {
            Err("pin a version: give a tag other than `latest` (such as `:8.2`) or a digest (`@sha256:...`)".into())
        }
        _ => Ok(()),
    }
}

/// Parses `a.b.c.d/n` or an IPv6 CIDR; the host bits must be zero.
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = s.split_once('/').ok_or("expected a CIDR such as `192.168.4.0/24`")?;
    let ip: IpAddr = addr.parse().map_err(|_| format!("`{addr}` is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| format!("prefix length `{len}` is not between 0 and {max}"))?;
    if network(ip, len) != ip {
        return Err(format!("host bits are set; the network is `{}/{len}`", network(ip, len)));
    }
    Ok((ip, len))
}

fn network(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

fn cidr_contains((net, len): (IpAddr, u8), ip: IpAddr) -> bool {
    net.is_ipv4() == ip.is_ipv4() && network(ip, len) == net
}

/// A label key: optional DNS prefix, then a name of at most 63 characters.
fn label_key_ok(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(|l| dns1123_label(l, 63).is_ok()));
    prefix_ok && label_value_ok(name) && !name.is_empty()
}

/// A label value: at most 63 alphanumerics, '-', '_', '.', alphanumeric at both ends.
fn label_value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

/// Longest release name: `<release>-replicas` is a StatefulSet name, and the
/// controller puts `<statefulset>-<10-char hash>` in a 63-character label.
pub const MAX_RELEASE_LEN: usize = 63 - 11 - "-replicas".len();

impl Plan {
    /// Validates and resolves a profile. Returns every problem found.
    pub fn resolve(p: &Profile) -> Result<Plan, Vec<Diagnostic>> {
        let mut c = Checker { p, errors: Vec::new() };

        let release = p.str("release_name");
        let release_ok = c.dns_label(
            "release_name",
            &release,
            MAX_RELEASE_LEN,
            "the StatefulSet `<release>-replicas` and its pods' revision label must fit in 63 characters",
        );
        if release_ok && release.value.starts_with(|ch: char| ch.is_ascii_digit()) {
            c.err("release_name", release.span.clone(), "must start with a letter: Service names are DNS-1035 labels");
        }
        let namespace = p.str("namespace");
        c.dns_label("namespace", &namespace, 63, "");
        let mode = c.one_of("mode");
        let (domain, domain_ok) = c.text("cluster_domain");
        if domain_ok && dns1123_subdomain(&domain.value).is_err() {
            c.err(
                "cluster_domain",
                domain.span.clone(),
                format!("`{}` is not a DNS domain such as `cluster.local`", domain.value),
            );
        }

        let mut extra_labels = BTreeMap::new();
        for (k, v) in p.map("labels") {
            let key = key_path("labels", &k);
            if !label_key_ok(&k) {
                c.err(&key, v.span.clone(), format!("`{k}` is not a valid label key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_', '.')"));
            } else if [NAME_LABEL, INSTANCE_LABEL, COMPONENT_LABEL, MANAGED_BY_LABEL].contains(&k.as_str()) {
                c.err(
                    &key,
                    v.span.clone(),
                    format!("`{k}` is set by redis-gen and selects the pods; choose another label key"),
                );
            } else if !label_value_ok(&v.value) {
                c.err(&key, v.span.clone(), format!("`{}` is not a valid label value (at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit)", v.value));
            }
            extra_labels.insert(k, v.value);
        }

        let mut replica_namespaces: Vec<String> = Vec::new();
        for (i, ns) in p.list("replica_namespaces").value.into_iter().enumerate() {
            let key = format!("replica_namespaces[{i}]");
            c.dns_label(&key, &ns, 63, "");
            if ns.value == namespace.value && !c.poisoned(&["namespace"]) {
                c.err(
                    &key,
                    ns.span.clone(),
                    format!("`{}` is the Redis namespace itself, which always gets the Secret; remove it", ns.value),
                );
            } else if replica_namespaces.contains(&ns.value) {
                c.err(&key, ns.span.clone(), format!("`{}` is listed twice", ns.value));
            }
            replica_namespaces.push(ns.value);
        }

        let port = p.int("port");
        if !(1..=65535).contains(&port.value) || port.value == i64::from(METRICS_PORT) {
            c.err(
                "port",
                port.span.clone(),
                format!(
                    "{} is not a usable port; expected 1 to 65535, other than the metrics port {METRICS_PORT}",
                    port.value
                ),
            );
        }
        let replica_count = p.int("replica_count");
        if !(0..=20).contains(&replica_count.value) {
            c.err(
                "replica_count",
                replica_count.span.clone(),
                format!("{} replicas is out of range; expected 0 to 20", replica_count.value),
            );
        }

        let master_cpu_limit = p.str("master_cpu_limit");
        let master_mem_limit = p.str("master_memory_limit");
        let master_cpu_request =
            cap_cpu_request(p.str("master_cpu_request"), &master_cpu_limit, p.is_set("master_cpu_request"));
        let master_mem_request =
            p.str_opt("master_memory_request").unwrap_or_else(|| Sp::default(master_mem_limit.value.clone()));
        let (mcr, mcl) = c.pair(
            "master_cpu_request",
            master_cpu_request.clone(),
            "master_cpu_limit",
            master_cpu_limit.clone(),
            false,
        );
        let (mmr, mml) = c.pair(
            "master_memory_request",
            master_mem_request.clone(),
            "master_memory_limit",
            master_mem_limit.clone(),
            true,
        );
        let master = Resources { cpu_request: mcr, cpu_limit: mcl, memory_request: mmr, memory_limit: mml };

        let replica_cpu_limit =
            p.str_opt("replica_cpu_limit").unwrap_or_else(|| Sp::default(master_cpu_limit.value.clone()));
        let replica_mem_limit =
            p.str_opt("replica_memory_limit").unwrap_or_else(|| Sp::default(master_mem_limit.value.clone()));
        let replica_mem_limit_span = replica_mem_limit.span.clone();
        let replica_cpu_request = match p.str_opt("replica_cpu_request") {
            Some(r) => r,
            None => cap_cpu_request(Sp::default(master_cpu_request.value.clone()), &replica_cpu_limit, false),
        };
        let replica_mem_request =
            p.str_opt("replica_memory_request").unwrap_or_else(|| Sp::default(replica_mem_limit.value.clone()));
        let (rcr, rcl) =
            c.pair("replica_cpu_request", replica_cpu_request, "replica_cpu_limit", replica_cpu_limit, false);
        let (rmr, rml) =
            c.pair("replica_memory_request", replica_mem_request, "replica_memory_limit", replica_mem_limit, true);
        let replica = Resources { cpu_request: rcr, cpu_limit: rcl, memory_request: rmr, memory_limit: rml };

        let maxmemory = p.str("maxmemory");
        let limit_bytes = Quantity::parse(&master.memory_limit).map_or(0.0, |q| q.0);
        let maxmemory_bytes = match maxmemory.value.as_str() {
            // A fork (AOF rewrite, full resync, BGSAVE) under writes can copy the
            // whole dataset: a third for it, a third for its copy, a third for
            // fragmentation, buffers and page cache (README, "Memory budget").
            "auto" => (limit_bytes / 3.0) as u64,
            "0" => 0,
            _ => match c.quantity("maxmemory", &maxmemory, true) {
                Some(b) if b > limit_bytes && limit_bytes > 0.0 && !c.poisoned(&["master_memory_limit"]) => {
                    c.err("maxmemory", maxmemory.span.clone(), format!("`{}` is above master_memory_limit `{}`: Redis would be killed for running out of memory before it evicts or refuses writes", maxmemory.value, master.memory_limit));
                    0
                }
                Some(b) => b as u64,
                None => 0,
            },
        };
        // One redis.conf serves every pod: maxmemory must fit the replicas too.
        let replica_limit_bytes = Quantity::parse(&replica.memory_limit).map_or(0.0, |q| q.0);
        if replica_count.value > 0
            && maxmemory_bytes > 0
            && replica_limit_bytes > 0.0
            && maxmemory_bytes as f64 > replica_limit_bytes
            && !c.poisoned(&["maxmemory", "master_memory_limit", "replica_count"])
        {
            let (key, span) = match &replica_mem_limit_span {
                Some(s) => ("replica_memory_limit", Some(s.clone())),
                None => ("maxmemory", maxmemory.span.clone()),
            };
            c.err(key, span, format!("the replicas' memory limit `{}` is below maxmemory ({}, {}): a replica holds the whole dataset and would be killed for running out of memory; raise replica_memory_limit or lower maxmemory", replica.memory_limit, human_bytes(maxmemory_bytes), if maxmemory.value == "auto" { "a third of master_memory_limit".to_string() } else { format!("`{}`", maxmemory.value) }));
        }
        let maxmemory_policy = c.one_of("maxmemory_policy");
        let appendfsync = c.one_of("appendfsync");

        let mut disabled_commands: Vec<String> = Vec::new();
        for (i, cmd) in p.list("disabled_commands").value.into_iter().enumerate() {
            let key = format!("disabled_commands[{i}]");
            let upper = cmd.value.to_ascii_uppercase();
            if !c.check_text(&key, &cmd) {
                continue;
            }
            if !redis_commands::is_command(&upper) {
                let hint = crate::diag::closest(&upper, redis_commands::COMMANDS.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                c.err(&key, cmd.span.clone(), format!("`{}` is not a Redis command{hint}", cmd.value));
            } else if ["AUTH", "PING", "INFO", "REPLCONF", "PSYNC", "SYNC", "HELLO"].contains(&upper.as_str()) {
                c.err(
                    &key,
                    cmd.span.clone(),
                    format!("`{upper}` cannot be disabled: authentication, probes, metrics or replication need it"),
                );
            } else if disabled_commands.contains(&upper) {
                c.err(&key, cmd.span.clone(), format!("`{upper}` is listed twice"));
            }
            disabled_commands.push(upper);
        }

        let (redis_image, redis_image_ok) = c.text("redis_image");
        if let (true, Err(e)) = (redis_image_ok, image_reference(&redis_image.value)) {
            c.err("redis_image", redis_image.span.clone(), format!("`{}`: {e}", redis_image.value));
        }

        let storage_size = p.str("storage_size");
        c.quantity("storage_size", &storage_size, true);
        let storage_class = p.str("storage_class");
        c.dns_subdomain("storage_class", &storage_class);
        let grace = p.int("termination_grace_period_seconds");
        if !(10..=3600).contains(&grace.value) {
            c.err(
                "termination_grace_period_seconds",
                grace.span.clone(),
                format!("{} is out of range; expected 10 to 3600 seconds, enough for Redis to save", grace.value),
            );
        }

        let loadbalancer = if p.bool("enable_loadbalancer").value {
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
                    Err(e) => c.err(
                        &format!("loadbalancer_source_ranges[{i}]"),
                        r.span.clone(),
                        format!("`{}`: {e}", r.value),
                    ),
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
        } else {
            None
        };

        let monitoring_namespace = p.str("monitoring_namespace");
        c.dns_label("monitoring_namespace", &monitoring_namespace, 63, "");
        let sm_wanted = p.bool("enable_service_monitor");
        let metrics = if p.bool("enable_metrics").value {
            let (image, image_ok) = c.text("exporter_image");
            if let (true, Err(e)) = (image_ok, image_reference(&image.value)) {
                c.err("exporter_image", image.span.clone(), format!("`{}`: {e}", image.value));
            }
            let (cr, cl) = c.pair(
                "exporter_cpu_request",
                p.str("exporter_cpu_request"),
                "exporter_cpu_limit",
                p.str("exporter_cpu_limit"),
                false,
            );
            let (mr, ml) = c.pair(
                "exporter_memory_request",
                p.str("exporter_memory_request"),
                "exporter_memory_limit",
                p.str("exporter_memory_limit"),
                true,
            );
            let service_monitor = sm_wanted.value.then(|| {
                let interval = p.str("service_monitor_interval");
                if !prometheus_duration(&interval.value) {
                    c.err(
                        "service_monitor_interval",
                        interval.span.clone(),
                        format!("`{}` is not a Prometheus duration such as `30s` or `1m`", interval.value),
                    );
                }
                let mut labels = BTreeMap::new();
                for (k, v) in p.map("service_monitor_labels") {
                    if !label_key_ok(&k) || !label_value_ok(&v.value) {
                        c.err(
                            &key_path("service_monitor_labels", &k),
                            v.span.clone(),
                            format!("`{k} = \"{}\"` is not a valid label", v.value),
                        );
                    }
                    labels.insert(k, v.value);
                }
                ServiceMonitorPlan { interval: interval.value, labels }
            });
            Some(Metrics {
                image: image.value,
                resources: Resources { cpu_request: cr, cpu_limit: cl, memory_request: mr, memory_limit: ml },
                service_monitor,
            })
        } else {
            if sm_wanted.value && sm_wanted.span.is_some() {
                c.err(
                    "enable_service_monitor",
                    sm_wanted.span.clone(),
                    "needs enable_metrics = true: the ServiceMonitor scrapes the exporter sidecar",
                );
            }
            None
        };

        let sentinel_metrics = format!("{}-sentinel-metrics", release.value);
        let monitoring = c.monitoring(
            &metrics,
            &release.value,
            &namespace.value,
            &monitoring_namespace.value,
            (mode == "sentinel").then_some(sentinel_metrics.as_str()),
        );

        let secret = p.str("secret_name");
        c.dns_subdomain("secret_name", &secret);
        let sentinel_settings = (mode == "sentinel").then(|| c.sentinel(&port, &replica_count));

        // The longest DNS name redis-gen writes (a replica's `replicaof`).
        let pod_dns =
            format!("{}-master-0.{}-headless.{}.svc.{}", release.value, release.value, namespace.value, domain.value);
        if pod_dns.len() > 253 {
            let (key, span) =
                [("cluster_domain", &domain.span), ("namespace", &namespace.span), ("release_name", &release.span)]
                    .into_iter()
                    .find(|(_, s)| s.is_some())
                    .map_or(("cluster_domain", None), |(k, s)| (k, s.clone()));
            c.err(
                key,
                span,
                format!("the primary's DNS name `{pod_dns}` is {} characters long; DNS names stop at 253: shorten cluster_domain, namespace or release_name", pod_dns.len()),
            );
        }

        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        let r = &release.value;
        let ns = &namespace.value;
        let d = &domain.value;
        let names = Names {
            master: format!("{r}-master"),
            replicas: format!("{r}-replicas"),
            headless: format!("{r}-headless"),
            external: format!("{r}-external"),
            metrics: format!("{r}-metrics"),
            config: format!("{r}-config"),
            service_account: r.clone(),
            secret: secret.value,
            primary_pod_dns: format!("{r}-master-0.{r}-headless.{ns}.svc.{d}"),
            master_dns: format!("{r}-master.{ns}.svc.{d}"),
            replicas_dns: format!("{r}-replicas.{ns}.svc.{d}"),
        };
        let sentinel =
            sentinel_settings.map(|(count, down_after_ms, failover_timeout_ms, lag, proxy_image)| SentinelPlan {
                count,
                quorum: count / 2 + 1,
                down_after_ms,
                failover_timeout_ms,
                min_replicas_max_lag: lag,
                proxy_image,
                master_set: r.clone(),
                nodes: format!("{r}-node"),
                sentinel: format!("{r}-sentinel"),
                sentinel_headless: format!("{r}-sentinel-headless"),
                sentinel_metrics,
                proxy: format!("{r}-proxy"),
                internal_secret: format!("{r}-internal"),
                node_dns_suffix: format!(".{r}-headless.{ns}.svc.{d}"),
                sentinel_dns_suffix: format!(".{r}-sentinel-headless.{ns}.svc.{d}"),
            });
        Ok(Plan {
            // Shown in YAML comments and redis.conf: one printable line.
            profile_name: crate::diag::escape(&p.name),
            release: release.value,
            namespace: namespace.value,
            cluster_domain: domain.value,
            names,
            extra_labels,
            replica_namespaces,
            port: port.value as u16,
            replica_count: replica_count.value as i32,
            master,
            replica,
            maxmemory_bytes,
            maxmemory_policy,
            appendfsync,
            disabled_commands,
            redis_image: redis_image.value,
            storage_size: storage_size.value,
            storage_class: storage_class.value,
            termination_grace_period_seconds: grace.value,
            loadbalancer,
            metrics,
            monitoring_namespace: monitoring_namespace.value,
            monitoring,
            sentinel,
        })
    }
}

impl Checker<'_> {
    /// Resolves the alerts and the dashboard (`None` without the ServiceMonitor,
    /// whose labels their queries rely on).
    fn monitoring(
        &mut self,
        metrics: &Option<Metrics>,
        release: &str,
        namespace: &str,
        monitoring_namespace: &str,
        sentinel_metrics: Option<&str>,
    ) -> Option<Monitoring> {
        let p = self.p;
        let alerts_wanted = p.bool("enable_alerts");
        let dashboard_wanted = p.bool("enable_dashboard");
        let Some(sm) = metrics.as_ref().and_then(|m| m.service_monitor.as_ref()) else {
            let missing = if metrics.is_none() { "enable_metrics" } else { "enable_service_monitor" };
            for (key, wanted, what) in [
                ("enable_alerts", &alerts_wanted, "the alert rules select series"),
                ("enable_dashboard", &dashboard_wanted, "the dashboard's queries select series"),
            ] {
                if wanted.value && wanted.span.is_some() {
                    self.err(key, wanted.span.clone(), format!("needs {missing} = true: {what} by the labels the ServiceMonitor gives the exporter's metrics"));
                }
            }
            return None;
        };
        let alerts = alerts_wanted.value.then(|| self.alerts(release));
        let dashboard = dashboard_wanted.value.then(|| {
            let ns = p.str_opt("dashboard_namespace").unwrap_or_else(|| Sp::default(monitoring_namespace.to_string()));
            self.dns_label("dashboard_namespace", &ns, 63, "");
            let label = p.str("dashboard_label");
            if !label_key_ok(&label.value) {
                self.err("dashboard_label", label.span.clone(), format!("`{}` is not a valid label key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_', '.')", label.value));
            } else if [NAME_LABEL, INSTANCE_LABEL, COMPONENT_LABEL, MANAGED_BY_LABEL].contains(&label.value.as_str()) {
                self.err("dashboard_label", label.span.clone(), format!("`{}` is set by redis-gen on every object; choose the key the Grafana sidecar watches", label.value));
            }
            let value = p.str("dashboard_label_value");
            if !label_value_ok(&value.value) {
                self.err("dashboard_label_value", value.span.clone(), format!("`{}` is not a valid label value (at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit)", value.value));
            }
            Dashboard {
                name: format!("{release}-{namespace}-dashboard"),
                namespace: ns.value,
                file: format!("redis-gen-{namespace}-{release}.json"),
                label: label.value,
                label_value: value.value,
            }
        });
        Some(Monitoring {
            matchers: format!("job=\"{release}-metrics\",namespace=\"{namespace}\""),
            component_label: prometheus_label_name(COMPONENT_LABEL),
            scrape_interval: sm.interval.clone(),
            sentinel_matchers: sentinel_metrics.map(|job| format!("job=\"{job}\",namespace=\"{namespace}\"")),
            alerts,
            dashboard,
        })
    }

    fn alerts(&mut self, release: &str) -> Alerts {
        let p = self.p;
        let duration = |c: &mut Self, key: &'static str| {
            let v = p.str(key);
            if duration_ms(&v.value).is_none() {
                c.err(key, v.span.clone(), format!("`{}` is not a Prometheus duration such as `30s`, `5m` or `1h30m` (units y, w, d, h, m, s, ms, largest first, each once)", v.value));
            }
            v.value
        };
        let down_for = duration(self, "alert_down_for");
        let replication_for = duration(self, "alert_replication_for");
        let replication_lag_for = duration(self, "alert_replication_lag_for");
        let memory_for = duration(self, "alert_memory_for");
        let persistence_for = duration(self, "alert_persistence_for");
        let restart_window = duration(self, "alert_restart_window");
        if duration_ms(&restart_window).is_some_and(|ms| ms < 300_000) {
            let v = p.str("alert_restart_window");
            self.err(
                "alert_restart_window",
                v.span,
                format!("`{restart_window}` is too short to count restarts in; use at least 5m"),
            );
        }
        let lag = p.str("alert_replication_lag");
        let replication_lag_bytes = self.quantity("alert_replication_lag", &lag, true).map_or(0, |b| b.round() as u64);
        let int = |c: &mut Self, key: &'static str, range: std::ops::RangeInclusive<i64>, what: &str| {
            let v = p.int(key);
            if !range.contains(&v.value) {
                c.err(
                    key,
                    v.span.clone(),
                    format!("{} is out of range; expected {what} from {} to {}", v.value, range.start(), range.end()),
                );
            }
            v.value.clamp(*range.start(), *range.end())
        };
        let memory_percent = int(self, "alert_memory_percent", 1..=100, "a percentage of maxmemory") as u8;
        let rejected_connections =
            int(self, "alert_rejected_connections", 0..=1_000_000, "a number of connections") as u64;
        let restarts = int(self, "alert_restarts", 1..=100, "a number of restarts") as u32;

        let labels_set = p.is_set("prometheus_rule_labels");
        let key = if labels_set { "prometheus_rule_labels" } else { "service_monitor_labels" };
        let mut labels = BTreeMap::new();
        for (k, v) in p.map(key) {
            // service_monitor_labels were checked with the ServiceMonitor.
            if labels_set && (!label_key_ok(&k) || !label_value_ok(&v.value)) {
                self.err(&key_path(key, &k), v.span.clone(), format!("`{k} = \"{}\"` is not a valid label", v.value));
            }
            labels.insert(k, v.value);
        }
        Alerts {
            name: release.to_string(),
            labels,
            down_for,
            replication_for,
            replication_lag_bytes,
            replication_lag_for,
            memory_percent,
            memory_for,
            rejected_connections,
            persistence_for,
            restarts,
            restart_window,
        }
    }
}

/// A Kubernetes label key as a Prometheus label name: every character other
/// than a letter, digit or '_' becomes '_' (what prometheus-operator does to
/// `podTargetLabels`).
pub fn prometheus_label_name(k8s: &str) -> String {
    k8s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// Milliseconds of a Prometheus duration (`0`, or `1h30m`: units y, w, d, h,
/// m, s, ms, largest first, each at most once); the grammar of the
/// prometheus-operator CRDs' duration pattern.
pub fn duration_ms(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    const UNITS: &[(&str, u64)] = &[
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    // Rank of each unit in the required order (ms after s).
    let rank = |u: &str| ["y", "w", "d", "h", "m", "s", "ms"].iter().position(|x| *x == u);
    let (mut rest, mut total, mut last) = (s, 0u64, None::<usize>);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, mult) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        let r = rank(unit)?;
        if last.is_some_and(|l| r <= l) {
            return None;
        }
        last = Some(r);
        rest = &rest[unit.len()..];
        total = total.checked_add(n.checked_mul(*mult)?)?;
    }
    Some(total)
}

/// The default CPU request is lowered to the limit when the limit is smaller,
/// so that setting only a small limit still gives a valid pair.
fn cap_cpu_request(req: Sp<String>, limit: &Sp<String>, explicit: bool) -> Sp<String> {
    if explicit {
        return req;
    }
    match (Quantity::parse(&req.value), Quantity::parse(&limit.value)) {
        (Some(r), Some(l)) if r > l => Sp::default(limit.value.clone()),
        _ => req,
    }
}

/// `1536Mi`, `3Gi` or `1000 bytes`: a byte count as a user would write it.
fn human_bytes(b: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "Gi"), (1 << 20, "Mi"), (1 << 10, "Ki")];
    match UNITS.iter().find(|(u, _)| b >= *u && b.is_multiple_of(*u)) {
        Some((u, name)) => format!("{}{name}", b / u),
        None => format!("{b} bytes"),
    }
}

/// A scrape interval: a Prometheus duration other than zero. (The restart
/// alert uses it as a subquery step, so it must be valid PromQL too.)
fn prometheus_duration(s: &str) -> bool {
    duration_ms(s).is_some_and(|ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::line_col;

    fn plan(text: &str) -> Result<Plan, Vec<Diagnostic>> {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap())
    }

    /// (key, line:column, message) of each error.
    type Found = (String, Option<(usize, usize)>, String);

    fn errors(text: &str) -> Vec<Found> {
        plan(text)
            .expect_err("should be refused")
            .into_iter()
            .map(|d| (d.key, d.span.map(|s| line_col(text, s.start)), d.message))
            .collect()
    }

    #[test]
    fn defaults_resolve_to_the_seed_deployment() {
        let p = plan("").unwrap();
        assert_eq!(p.names.master, "redis-shared-master");
        assert_eq!(p.names.primary_pod_dns, "redis-shared-master-0.redis-shared-headless.redis.svc.cluster.local");
        assert_eq!(p.replica.memory_limit, "2Gi");
        assert_eq!(p.master.memory_request, "2Gi");
        assert_eq!(p.maxmemory_bytes, 715_827_882);
        assert_eq!(p.disabled_commands, ["FLUSHDB", "FLUSHALL", "CONFIG", "SHUTDOWN"]);
        assert_eq!(p.loadbalancer.unwrap().ip.to_string(), "192.168.4.203");
    }

    #[test]
    fn small_cpu_limit_lowers_the_default_request() {
        let p = plan("master_cpu_limit = \"100m\"\n").unwrap();
        assert_eq!(p.master.cpu_request, "100m");
        assert_eq!(p.replica.cpu_request, "100m");
    }

    #[test]
    fn request_above_limit_names_the_request() {
        let e = errors("master_cpu_limit = \"500m\"\nmaster_cpu_request = \"2\"\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "master_cpu_request");
        assert_eq!(e[0].1, Some((2, 22)));
        assert!(e[0].2.contains("above limit"));
    }

    #[test]
    fn loadbalancer_ip_must_be_inside_its_ranges() {
        let e = errors("loadbalancer_ip = \"10.0.0.5\"\n");
        assert_eq!(e[0].0, "loadbalancer_ip");
        assert!(e[0].2.contains("outside"));
    }

    #[test]
    fn names_that_would_not_fit_are_refused() {
        let long = "a".repeat(MAX_RELEASE_LEN + 1);
        let e = errors(&format!("release_name = \"{long}\"\n"));
        assert_eq!(e[0].0, "release_name");
        assert!(e[0].2.contains("too long"));
        assert!(plan(&format!("release_name = \"{}\"\n", "a".repeat(MAX_RELEASE_LEN))).is_ok());
    }

    #[test]
    fn several_mistakes_are_reported_together() {
        let e = errors(
            "namespace = \"Redis\"\nreplica_count = 99\nstorage_size = \"10GB\"\ndisabled_commands = [\"FLUSHALLL\"]\nredis_image = \"redis\"\n",
        );
        let keys: Vec<_> = e.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(keys, ["namespace", "replica_count", "disabled_commands[0]", "redis_image", "storage_size"]);
        assert!(e[2].2.contains("did you mean `FLUSHALL`"), "{}", e[2].2);
    }

    #[test]
    fn image_references() {
        for ok in [
            "redis:8.2",
            "docker.io/library/redis:8.2",
            "localhost:5000/redis:8.2",
            &format!("redis:8.2@sha256:{}", "a".repeat(64)),
            &format!("redis@sha256:{}", "0".repeat(64)),
        ] {
            assert_eq!(image_reference(ok), Ok(()), "{ok}");
        }
        for bad in
            ["redis", "redis:latest", "Redis:8.2", "redis:8.2@sha256:abc", "redis:", "redis:8.2 --x", "redis:8\n2"]
        {
            assert!(image_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("192.168.4.0/24").is_ok());
        assert!(parse_cidr("fd00::/8").is_ok());
        assert!(parse_cidr("192.168.4.1/24").unwrap_err().contains("192.168.4.0/24"));
        assert!(parse_cidr("192.168.4.0/33").is_err());
        assert!(parse_cidr("192.168.4.0").is_err());
    }

    #[test]
    fn subdomains_and_byte_counts() {
        assert!(dns1123_subdomain("fast.ssd").is_ok());
        assert!(dns1123_subdomain("fast..ssd").is_err());
        assert!(dns1123_subdomain(&"a.".repeat(127)).is_err());
        assert_eq!(human_bytes(3 << 30), "3Gi");
        assert_eq!(human_bytes(1536 << 20), "1536Mi");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }

    #[test]
    fn alerts_and_dashboard_come_with_the_service_monitor() {
        let p = plan("").unwrap();
        let m = p.monitoring.as_ref().expect("on by default");
        assert_eq!(m.matchers, "job=\"redis-shared-metrics\",namespace=\"redis\"");
        assert_eq!(m.component_label, "app_kubernetes_io_component");
        let a = m.alerts.as_ref().unwrap();
        assert_eq!((a.replication_lag_bytes, a.memory_percent, a.restarts), (10 * 1024 * 1024, 90, 3));
        let d = m.dashboard.as_ref().unwrap();
        assert_eq!(
            (d.namespace.as_str(), d.label.as_str(), d.label_value.as_str()),
            ("monitoring", "grafana_dashboard", "1")
        );
        assert_eq!(d.name, "redis-shared-redis-dashboard");

        assert!(plan("enable_metrics = false\nenable_service_monitor = false\n").unwrap().monitoring.is_none());
        assert!(plan("enable_service_monitor = false\n").unwrap().monitoring.is_none());
        let p = plan("enable_alerts = false\nmonitoring_namespace = \"observability\"\n").unwrap();
        let m = p.monitoring.unwrap();
        assert!(m.alerts.is_none());
        assert_eq!(m.dashboard.unwrap().namespace, "observability");
    }

    #[test]
    fn asking_for_alerts_without_the_service_monitor_is_an_error() {
        let e = errors("enable_service_monitor = false\nenable_alerts = true\nenable_dashboard = true\n");
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!((e[0].0.as_str(), e[0].1), ("enable_alerts", Some((2, 17))));
        assert!(e[0].2.contains("needs enable_service_monitor = true"), "{}", e[0].2);
        assert_eq!(e[1].0, "enable_dashboard");
        let e = errors("enable_metrics = false\nenable_service_monitor = false\nenable_alerts = true\n");
        assert!(e[0].2.contains("needs enable_metrics = true"), "{}", e[0].2);
    }

    #[test]
    fn alert_thresholds_are_checked_with_their_position() {
        let e = errors(
            "alert_down_for = \"2 minutes\"\nalert_memory_percent = 150\nalert_replication_lag = \"lots\"\nalert_restart_window = \"1m\"\nalert_restarts = 0\nalert_memory_for = \"30s5m\"\n",
        );
        let keys: Vec<_> = e.iter().map(|e| (e.0.as_str(), e.1.map(|p| p.0))).collect();
        assert_eq!(
            keys,
            [
                ("alert_down_for", Some(1)),
                ("alert_memory_for", Some(6)),
                ("alert_restart_window", Some(4)),
                ("alert_replication_lag", Some(3)),
                ("alert_memory_percent", Some(2)),
                ("alert_restarts", Some(5)),
            ]
        );
        assert!(e[2].2.contains("at least 5m"), "{}", e[2].2);
    }

    #[test]
    fn dashboard_label_and_rule_labels_are_label_shaped() {
        let e = errors(
            "dashboard_label = \"app.kubernetes.io/name\"\ndashboard_label_value = \"-x\"\ndashboard_namespace = \"Grafana\"\nprometheus_rule_labels = { \"bad key!\" = \"x\" }\n",
        );
        let keys: Vec<_> = e.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            keys,
            ["prometheus_rule_labels.\"bad key!\"", "dashboard_namespace", "dashboard_label", "dashboard_label_value"]
        );
    }

    #[test]
    fn rule_labels_default_to_the_service_monitor_labels() {
        let p = plan("service_monitor_labels = { release = \"kps\" }\n").unwrap();
        let labels = &p.monitoring.unwrap().alerts.unwrap().labels;
        assert_eq!(labels.get("release").map(String::as_str), Some("kps"));
        let p =
            plan("service_monitor_labels = { release = \"kps\" }\nprometheus_rule_labels = { role = \"alerts\" }\n")
                .unwrap();
        let labels = &p.monitoring.unwrap().alerts.unwrap().labels;
        assert_eq!(labels.keys().collect::<Vec<_>>(), ["role"]);
    }

    #[test]
    fn prometheus_durations_follow_the_crd_grammar() {
        assert_eq!(duration_ms("0"), Some(0));
        assert_eq!(duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(duration_ms("1m30s500ms"), Some(90_500));
        assert_eq!(duration_ms("2w"), Some(1_209_600_000));
        for bad in ["", "5", "m", "30s1m", "1m1m", "1.5h", "-1m", "1 m", "1ms5s"] {
            assert_eq!(duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert!(prometheus_duration("30s"));
        assert!(prometheus_duration("1m30s"));
        assert!(!prometheus_duration("30"));
        assert!(!prometheus_duration("s"));
        assert!(!prometheus_duration("30s1m"), "units largest first");
        assert!(!prometheus_duration("0s"));
    }
}
