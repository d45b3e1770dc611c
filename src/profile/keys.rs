//! Every profile key, defined once: its name, type, default, meaning and
//! what it accepts (bounds, choices). Each key is a typed constant (`PORT:
//! IntKey`, `MODE: ChoiceKey<Mode>`, ...): the plan reads a key through its
//! constant, so it gets the key's type and bounds from here, and a misspelt
//! key is a compile error. The reader, `redis-gen init`, `redis-gen schema`
//! and the README's profile reference all come from `KEYS`, so they cannot
//! disagree with what the plan enforces.

/// The TOML type a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Int,
    Bool,
    StrList,
    StrMap,
}

impl Ty {
    pub fn describe(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Int => "an integer",
            Ty::Bool => "a boolean (true or false)",
            Ty::StrList => "an array of strings",
            Ty::StrMap => "a table of strings",
        }
    }
}

/// A key's default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dflt {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    List(&'static [&'static str]),
    EmptyMap,
    /// No fixed default: derived from another key (described in words).
    Derived(&'static str),
}

/// One profile key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub ty: Ty,
    pub default: Dflt,
    /// What it means, one or two sentences.
    pub doc: &'static str,
    /// The seed module input it replaces, if any.
    pub seed: Option<&'static str>,
    /// Section heading in `init` and the README.
    pub group: &'static str,
    /// The only values a string key accepts (empty: any the plan accepts):
    /// the names of a `ChoiceKey`'s enum.
    pub choices: &'static [&'static str],
    /// Inclusive bounds of an integer key (every `IntKey` has them).
    pub range: Option<(i64, i64)>,
}

const fn key(name: &'static str, ty: Ty, default: Dflt, group: &'static str, doc: &'static str) -> Key {
    Key { name, ty, default, doc, seed: None, group, choices: &[], range: None }
}

/// A string key.
#[derive(Debug, Clone, Copy)]
pub struct StrKey(pub Key);
/// An integer key, always with bounds.
#[derive(Debug, Clone, Copy)]
pub struct IntKey(pub Key);
#[derive(Debug, Clone, Copy)]
pub struct BoolKey(pub Key);
/// An array of strings.
#[derive(Debug, Clone, Copy)]
pub struct ListKey(pub Key);
/// A table of strings.
#[derive(Debug, Clone, Copy)]
pub struct MapKey(pub Key);
/// A string key that takes one of the names of the enum `T`.
#[derive(Debug, Clone, Copy)]
pub struct ChoiceKey<T: 'static>(pub Key, std::marker::PhantomData<T>);

impl StrKey {
    const fn new(name: &'static str, default: &'static str, group: &'static str, doc: &'static str) -> Self {
        StrKey(key(name, Ty::Str, Dflt::Str(default), group, doc))
    }
    /// A string key whose default is the value of another key.
    const fn derived(name: &'static str, from: &'static str, group: &'static str, doc: &'static str) -> Self {
        StrKey(key(name, Ty::Str, Dflt::Derived(from), group, doc))
    }
}

impl IntKey {
    const fn new(name: &'static str, default: i64, range: (i64, i64), group: &'static str, doc: &'static str) -> Self {
        let mut k = key(name, Ty::Int, Dflt::Int(default), group, doc);
        k.range = Some(range);
        IntKey(k)
    }
    /// The inclusive bounds.
    pub fn bounds(&self) -> (i64, i64) {
        self.0.range.expect("every IntKey is built with bounds")
    }
}

impl BoolKey {
    const fn new(name: &'static str, default: bool, group: &'static str, doc: &'static str) -> Self {
        BoolKey(key(name, Ty::Bool, Dflt::Bool(default), group, doc))
    }
}

impl ListKey {
    const fn new(name: &'static str, default: &'static [&'static str], group: &'static str, doc: &'static str) -> Self {
        ListKey(key(name, Ty::StrList, Dflt::List(default), group, doc))
    }
}

impl MapKey {
    const fn new(name: &'static str, group: &'static str, doc: &'static str) -> Self {
        MapKey(key(name, Ty::StrMap, Dflt::EmptyMap, group, doc))
    }
    /// A table whose default is the value of another key.
    const fn derived(name: &'static str, from: &'static str, group: &'static str, doc: &'static str) -> Self {
        MapKey(key(name, Ty::StrMap, Dflt::Derived(from), group, doc))
    }
}

impl<T: Choice> ChoiceKey<T> {
    const fn new(name: &'static str, default: &'static str, group: &'static str, doc: &'static str) -> Self {
        let mut k = key(name, Ty::Str, Dflt::Str(default), group, doc);
        k.choices = T::NAMES;
        ChoiceKey(k, std::marker::PhantomData)
    }
}

impl<T> std::ops::Deref for ChoiceKey<T> {
    type Target = Key;
    fn deref(&self) -> &Key {
        &self.0
    }
}

/// The table row behind each handle.
macro_rules! deref_to_key {
    ($($handle:ident),*) => {$(
        impl std::ops::Deref for $handle {
            type Target = Key;
            fn deref(&self) -> &Key {
                &self.0
            }
        }
    )*};
}
deref_to_key!(StrKey, IntKey, BoolKey, ListKey, MapKey);

/// `seed()`: the key replaces the seed module's input of the same name.
macro_rules! seed {
    ($($handle:ident),*) => {$(
        impl $handle {
            const fn seed(mut self) -> Self {
                self.0.seed = Some(self.0.name);
                self
            }
        }
    )*};
}
seed!(StrKey, IntKey, BoolKey, ListKey);

/// An enum a `ChoiceKey` resolves to; `NAMES` are the profile's spellings,
/// in the order of `ALL`.
pub trait Choice: Copy + PartialEq + 'static {
    const NAMES: &'static [&'static str];
    const ALL: &'static [Self];
    /// The profile's spelling (also what redis.conf says).
    fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|v| *v == self).expect("ALL lists every variant")]
    }
    fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
    }
}

/// An enum of choices with the profile's spelling of each variant.
macro_rules! choices {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),* }
        impl Choice for $name {
            const NAMES: &'static [&'static str] = &[$($text),*];
            const ALL: &'static [Self] = &[$($name::$variant),*];
        }
    };
}

choices!(
    /// The topology.
    Mode { Replication = "replication", Sentinel = "sentinel" }
);
choices!(
    /// Redis `maxmemory-policy`.
    EvictionPolicy {
        NoEviction = "noeviction",
        AllkeysLru = "allkeys-lru",
        AllkeysLfu = "allkeys-lfu",
        AllkeysRandom = "allkeys-random",
        VolatileLru = "volatile-lru",
        VolatileLfu = "volatile-lfu",
        VolatileRandom = "volatile-random",
        VolatileTtl = "volatile-ttl",
    }
);
choices!(
    /// Redis `appendfsync`.
    Appendfsync { Everysec = "everysec", Always = "always", No = "no" }
);

/// Declares each key as a typed constant and lists them all in `KEYS`.
macro_rules! keys {
    ($($name:ident: $handle:ty = $def:expr;)*) => {
        $(pub const $name: $handle = $def;)*
        /// Every key a profile may set, in the order `init` prints them.
        pub const KEYS: &[Key] = &[$($name.0),*];
    };
}

pub const DEFAULT_DISABLED: &[&str] = &["FLUSHDB", "FLUSHALL", "CONFIG", "SHUTDOWN"];

keys! {
    RELEASE_NAME: StrKey = StrKey::new("release_name", "redis-shared", "Identity", "Prefix of every object name: StatefulSets <release>-master and <release>-replicas, Services <release>-master, -replicas, -headless, -external, -metrics.").seed();
    NAMESPACE: StrKey = StrKey::new("namespace", "redis", "Identity", "Namespace that holds Redis. redis-gen creates it with Pod Security `restricted` labels.").seed();
    MODE: ChoiceKey<Mode> = ChoiceKey::new("mode", "replication", "Identity", "Topology: `replication` (one primary, `replica_count` read-only replicas; no automatic failover) or `sentinel` (1 + `replica_count` Redis pods whose primary Redis Sentinel elects and replaces automatically; see docs/sentinel.md).");
    LABELS: MapKey = MapKey::new("labels", "Identity", "Extra labels added to every object (never to selectors).");
    CLUSTER_DOMAIN: StrKey = StrKey::new("cluster_domain", "cluster.local", "Identity", "The cluster's DNS domain, used in the stable pod and Service names that replicas and clients resolve.");
    REPLICA_NAMESPACES: ListKey = ListKey::new("replica_namespaces", &["beersystem"], "Access", "Namespaces whose applications use Redis: each gets a copy of the credentials (as a SealedSecret) and is allowed through the NetworkPolicy.").seed();
    LOADBALANCER_IP: StrKey = StrKey::new("loadbalancer_ip", "192.168.4.203", "Access", "MetalLB address of the <release>-external LoadBalancer Service (set through the `metallb.universe.tf/loadBalancerIPs` annotation).").seed();
    ENABLE_LOADBALANCER: BoolKey = BoolKey::new("enable_loadbalancer", true, "Access", "Emit the <release>-external LoadBalancer Service for the private network.");
    LOADBALANCER_SOURCE_RANGES: ListKey = ListKey::new("loadbalancer_source_ranges", &["192.168.4.0/24"], "Access", "CIDRs allowed to reach Redis through the LoadBalancer; enforced by the Service and by the NetworkPolicy. Must contain `loadbalancer_ip`.");
    PORT: IntKey = IntKey::new("port", 6379, (1, 65535), "Access", "TCP port of Redis in the pods and on every Service.");
    SECRET_NAME: StrKey = StrKey::new("secret_name", "redis-credentials", "Access", "Name of the Secret (key `redis-password`) that holds the password, in the Redis namespace and in each replica namespace.");
    REPLICA_COUNT: IntKey = IntKey::new("replica_count", 1, (0, 20), "Topology and resources", "Number of read-only replicas (0 to 20).").seed();
    MASTER_CPU_LIMIT: StrKey = StrKey::new("master_cpu_limit", "1000m", "Topology and resources", "CPU limit of the primary's Redis container.").seed();
    MASTER_MEMORY_LIMIT: StrKey = StrKey::new("master_memory_limit", "2Gi", "Topology and resources", "Memory limit of the primary's Redis container.").seed();
    MASTER_CPU_REQUEST: StrKey = StrKey::new("master_cpu_request", "250m", "Topology and resources", "CPU request of the primary (lowered to the limit if the limit is smaller).");
    MASTER_MEMORY_REQUEST: StrKey = StrKey::derived("master_memory_request", "master_memory_limit", "Topology and resources", "Memory request of the primary; defaults to the limit, so Redis is never the first to be evicted under memory pressure.");
    REPLICA_CPU_LIMIT: StrKey = StrKey::derived("replica_cpu_limit", "master_cpu_limit", "Topology and resources", "CPU limit of each replica; defaults to the primary's, since a replica holds the whole dataset.");
    REPLICA_MEMORY_LIMIT: StrKey = StrKey::derived("replica_memory_limit", "master_memory_limit", "Topology and resources", "Memory limit of each replica; defaults to the primary's.");
    REPLICA_CPU_REQUEST: StrKey = StrKey::derived("replica_cpu_request", "master_cpu_request", "Topology and resources", "CPU request of each replica; defaults to the primary's (capped at the replica limit).");
    REPLICA_MEMORY_REQUEST: StrKey = StrKey::derived("replica_memory_request", "replica_memory_limit", "Topology and resources", "Memory request of each replica; defaults to the replica memory limit.");
    MAXMEMORY: StrKey = StrKey::new("maxmemory", "auto", "Redis", "Redis `maxmemory`: `auto` (a third of the container's memory limit: a fork under writes can copy the whole dataset, see README, Memory budget), a quantity such as `1536Mi`, or `0` for no limit.");
    MAXMEMORY_POLICY: ChoiceKey<EvictionPolicy> = ChoiceKey::new("maxmemory_policy", "noeviction", "Redis", "Redis `maxmemory-policy`: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random or volatile-ttl. Use allkeys-lru for a pure cache.");
    APPENDFSYNC: ChoiceKey<Appendfsync> = ChoiceKey::new("appendfsync", "everysec", "Redis", "AOF fsync policy: `everysec` (at most one second of writes lost on a crash), `always` or `no`.");
    DISABLED_COMMANDS: ListKey = ListKey::new("disabled_commands", DEFAULT_DISABLED, "Redis", "Commands renamed to nothing (`rename-command X \"\"`) on every Redis pod.");
    REDIS_IMAGE: StrKey = StrKey::new("redis_image", "redis:8.2", "Images", "Official Redis image. Pin a digest (`redis:8.2@sha256:...`) for reproducible pulls.");
    EXPORTER_IMAGE: StrKey = StrKey::new("exporter_image", "oliver006/redis_exporter:v1.88.0", "Images", "redis_exporter image for the metrics sidecar.");
    STORAGE_SIZE: StrKey = StrKey::new("storage_size", "10Gi", "Persistence", "Size of the PersistentVolumeClaim of each Redis pod.").seed();
    STORAGE_CLASS: StrKey = StrKey::new("storage_class", "local-path", "Persistence", "StorageClass of the claims (K3s local-path-provisioner by default).");
    TERMINATION_GRACE_PERIOD_SECONDS: IntKey = IntKey::new("termination_grace_period_seconds", 60, (10, 3600), "Persistence", "Time Redis gets after SIGTERM to write its final save before it is killed.");
    ENABLE_METRICS: BoolKey = BoolKey::new("enable_metrics", true, "Monitoring", "Run the redis_exporter sidecar (port 9121) in every Redis pod and emit the <release>-metrics Service.").seed();
    ENABLE_SERVICE_MONITOR: BoolKey = BoolKey::new("enable_service_monitor", true, "Monitoring", "Emit a prometheus-operator ServiceMonitor for the metrics Service (needs enable_metrics).").seed();
    SERVICE_MONITOR_INTERVAL: StrKey = StrKey::new("service_monitor_interval", "30s", "Monitoring", "Scrape interval of the ServiceMonitor (a Prometheus duration such as 30s or 1m).");
    SERVICE_MONITOR_LABELS: MapKey = MapKey::new("service_monitor_labels", "Monitoring", "Extra labels on the ServiceMonitor, for a Prometheus whose serviceMonitorSelector wants them (kube-prometheus-stack: `release = \"<its release>\"`).");
    MONITORING_NAMESPACE: StrKey = StrKey::new("monitoring_namespace", "monitoring", "Monitoring", "Namespace of Prometheus: the only one the NetworkPolicy lets reach the metrics port.");
    EXPORTER_CPU_REQUEST: StrKey = StrKey::new("exporter_cpu_request", "10m", "Monitoring", "CPU request of the exporter sidecar.");
    EXPORTER_CPU_LIMIT: StrKey = StrKey::new("exporter_cpu_limit", "100m", "Monitoring", "CPU limit of the exporter sidecar.");
    EXPORTER_MEMORY_REQUEST: StrKey = StrKey::new("exporter_memory_request", "32Mi", "Monitoring", "Memory request of the exporter sidecar.");
    EXPORTER_MEMORY_LIMIT: StrKey = StrKey::new("exporter_memory_limit", "64Mi", "Monitoring", "Memory limit of the exporter sidecar.");
    ENABLE_ALERTS: BoolKey = BoolKey::new("enable_alerts", true, "Alerts and dashboard", "Emit a PrometheusRule with alerts for this release (Redis down or unscraped, replication, memory, rejected connections, persistence failures, restarts). Needs enable_metrics and enable_service_monitor: the rules select the series by the labels the ServiceMonitor gives them.");
    PROMETHEUS_RULE_LABELS: MapKey = MapKey::derived("prometheus_rule_labels", "service_monitor_labels", "Alerts and dashboard", "Extra labels on the PrometheusRule, for a Prometheus whose ruleSelector wants them; defaults to service_monitor_labels (kube-prometheus-stack selects both by `release`).");
    ALERT_DOWN_FOR: StrKey = StrKey::new("alert_down_for", "2m", "Alerts and dashboard", "How long Redis must be down, its exporter unscraped, or its pods missing from Prometheus before an alert fires (a Prometheus duration).");
    ALERT_REPLICATION_FOR: StrKey = StrKey::new("alert_replication_for", "5m", "Alerts and dashboard", "How long a replica's link to the primary may be down, or the primary may have fewer replicas than replica_count, before an alert fires.");
    ALERT_REPLICATION_LAG: StrKey = StrKey::new("alert_replication_lag", "10Mi", "Alerts and dashboard", "Replication lag in bytes (the primary's replication offset minus the replica's) above which a replica is lagging, as a quantity such as `10Mi`.");
    ALERT_REPLICATION_LAG_FOR: StrKey = StrKey::new("alert_replication_lag_for", "5m", "Alerts and dashboard", "How long a replica must lag by more than alert_replication_lag before an alert fires.");
    ALERT_MEMORY_PERCENT: IntKey = IntKey::new("alert_memory_percent", 90, (1, 100), "Alerts and dashboard", "Memory used as a percentage of `maxmemory` above which an alert fires (1 to 100); silent when maxmemory is 0.");
    ALERT_MEMORY_FOR: StrKey = StrKey::new("alert_memory_for", "5m", "Alerts and dashboard", "How long memory must stay above alert_memory_percent before an alert fires.");
    ALERT_REJECTED_CONNECTIONS: IntKey = IntKey::new("alert_rejected_connections", 0, (0, 1_000_000), "Alerts and dashboard", "Connections Redis may refuse (maxclients reached) within 5 minutes before an alert fires; 0 alerts on the first one.");
    ALERT_PERSISTENCE_FOR: StrKey = StrKey::new("alert_persistence_for", "2m", "Alerts and dashboard", "How long the last RDB save, AOF write or AOF rewrite may stay failed before an alert fires.");
    ALERT_RESTARTS: IntKey = IntKey::new("alert_restarts", 3, (1, 100), "Alerts and dashboard", "Restarts of one Redis pod within alert_restart_window that raise an alert (1 to 100).");
    ALERT_RESTART_WINDOW: StrKey = StrKey::new("alert_restart_window", "1h", "Alerts and dashboard", "Window over which restarts are counted (a Prometheus duration, at least 5m).");
    ENABLE_DASHBOARD: BoolKey = BoolKey::new("enable_dashboard", true, "Alerts and dashboard", "Emit a Grafana dashboard for this release as a ConfigMap that the Grafana sidecar of kube-prometheus-stack loads. Needs enable_metrics and enable_service_monitor.");
    DASHBOARD_NAMESPACE: StrKey = StrKey::derived("dashboard_namespace", "monitoring_namespace", "Alerts and dashboard", "Namespace of the dashboard ConfigMap: the one the Grafana sidecar watches; defaults to monitoring_namespace.");
    DASHBOARD_LABEL: StrKey = StrKey::new("dashboard_label", "grafana_dashboard", "Alerts and dashboard", "Label key the Grafana sidecar looks for on dashboard ConfigMaps (kube-prometheus-stack: `grafana.sidecar.dashboards.label`).");
    DASHBOARD_LABEL_VALUE: StrKey = StrKey::new("dashboard_label_value", "1", "Alerts and dashboard", "Value of dashboard_label (kube-prometheus-stack: `grafana.sidecar.dashboards.labelValue`).");
    SENTINEL_COUNT: IntKey = IntKey::new("sentinel_count", 3, (3, 9), "Sentinel", "Sentinel mode: number of Sentinel pods (StatefulSet <release>-sentinel), odd, 3 to 9; the quorum is a majority.");
    SENTINEL_DOWN_AFTER_MS: IntKey = IntKey::new("sentinel_down_after_ms", 5000, (1_000, 600_000), "Sentinel", "Sentinel mode: milliseconds without a valid reply before a Sentinel considers an instance down (`down-after-milliseconds`); most of the failover time.");
    SENTINEL_FAILOVER_TIMEOUT_MS: IntKey = IntKey::new("sentinel_failover_timeout_ms", 10000, (1_000, 3_600_000), "Sentinel", "Sentinel mode: `failover-timeout`; a failed failover is retried after twice this time, which is also the shortest time between two failovers.");
    SENTINEL_MIN_REPLICAS_MAX_LAG: IntKey = IntKey::new("sentinel_min_replicas_max_lag", 10, (0, 3_600), "Sentinel", "Sentinel mode: seconds after which a primary that no replica has acknowledged stops accepting writes (`min-replicas-to-write 1`, `min-replicas-max-lag`), so a primary cut off from the others does not acknowledge writes that the failover on the other side discards; 0 to 3600, 0 turns it off.");
    PROXY_IMAGE: StrKey = StrKey::new("proxy_image", "haproxy:3.2", "Sentinel", "Sentinel mode: official HAProxy image of the <release>-proxy Deployment behind <release>-master and <release>-external, which sends clients to whichever pod reports `role:master`.");
}

/// Keys that are refused with a dedicated message rather than as unknown.
pub const RETIRED: &[(&str, &str)] = &[(
    "chart_version",
    "`chart_version` selected a Bitnami Helm chart; redis-gen uses no Helm chart. Set `redis_image` (for example `redis_image = \"redis:8.2\"`) to choose the Redis version",
)];

pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_derived_defaults_name_real_keys() {
        let mut names: Vec<_> = KEYS.iter().map(|k| k.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KEYS.len());
        for k in KEYS {
            if let Dflt::Derived(from) = k.default {
                assert!(find(from).is_some(), "{} derives from unknown {from}", k.name);
            }
        }
    }

    #[test]
    fn choices_name_their_enums_and_defaults_are_choices() {
        for k in KEYS.iter().filter(|k| !k.choices.is_empty()) {
            assert!(matches!(k.default, Dflt::Str(d) if k.choices.contains(&d)), "{}", k.name);
        }
        assert_eq!(MODE.choices, Mode::NAMES);
        for p in EvictionPolicy::ALL {
            assert_eq!(EvictionPolicy::from_name(p.name()), Some(*p));
        }
        assert_eq!(Appendfsync::Everysec.name(), "everysec");
        assert_eq!(Mode::from_name("cluster"), None);
    }

    #[test]
    fn every_seed_input_but_chart_version_is_a_key() {
        for name in [
            "release_name",
            "namespace",
            "replica_namespaces",
            "storage_size",
            "replica_count",
            "master_cpu_limit",
            "master_memory_limit",
            "loadbalancer_ip",
            "enable_metrics",
            "enable_service_monitor",
        ] {
            assert_eq!(find(name).and_then(|k| k.seed), Some(name));
        }
    }
}
