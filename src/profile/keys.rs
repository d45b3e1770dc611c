//! Every profile key, defined once: its name, type, default and meaning.
//! The reader, `redis-gen init`, `redis-gen schema` and the README's profile
//! reference all come from this table, so they cannot disagree.

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
    /// The only values a string key accepts (empty: any the plan accepts).
    /// The plan checks them; a test in `schema` keeps the two in step.
    pub choices: &'static [&'static str],
    /// Inclusive bounds of an integer key.
    pub range: Option<(i64, i64)>,
}

impl Key {
    const fn one_of(mut self, choices: &'static [&'static str]) -> Key {
        self.choices = choices;
        self
    }

    const fn within(mut self, min: i64, max: i64) -> Key {
        self.range = Some((min, max));
        self
    }
}

const fn key(name: &'static str, ty: Ty, default: Dflt, group: &'static str, doc: &'static str) -> Key {
    Key { name, ty, default, doc, seed: None, group, choices: &[], range: None }
}

const fn seed(name: &'static str, ty: Ty, default: Dflt, group: &'static str, doc: &'static str) -> Key {
    Key { name, ty, default, doc, seed: Some(name), group, choices: &[], range: None }
}

pub const DEFAULT_DISABLED: &[&str] = &["FLUSHDB", "FLUSHALL", "CONFIG", "SHUTDOWN"];

/// Every key a profile may set, in the order `init` prints them.
pub const KEYS: &[Key] = &[
    seed(
        "release_name",
        Ty::Str,
        Dflt::Str("redis-shared"),
        "Identity",
        "Prefix of every object name: StatefulSets <release>-master and <release>-replicas, Services <release>-master, -replicas, -headless, -external, -metrics.",
    ),
    seed(
        "namespace",
        Ty::Str,
        Dflt::Str("redis"),
        "Identity",
        "Namespace that holds Redis. redis-gen creates it with Pod Security `restricted` labels.",
    ),
    key(
        "mode",
        Ty::Str,
        Dflt::Str("replication"),
        "Identity",
        "Topology: `replication` (one primary, `replica_count` read-only replicas; no automatic failover) or `sentinel` (1 + `replica_count` Redis pods whose primary Redis Sentinel elects and replaces automatically; see docs/sentinel.md).",
    )
    .one_of(&["replication", "sentinel"]),
    key("labels", Ty::StrMap, Dflt::EmptyMap, "Identity", "Extra labels added to every object (never to selectors)."),
    key(
        "cluster_domain",
        Ty::Str,
        Dflt::Str("cluster.local"),
        "Identity",
        "The cluster's DNS domain, used in the stable pod and Service names that replicas and clients resolve.",
    ),
    seed(
        "replica_namespaces",
        Ty::StrList,
        Dflt::List(&["beersystem"]),
        "Access",
        "Namespaces whose applications use Redis: each gets a copy of the credentials (as a SealedSecret) and is allowed through the NetworkPolicy.",
    ),
    seed(
        "loadbalancer_ip",
        Ty::Str,
        Dflt::Str("192.168.4.203"),
        "Access",
        "MetalLB address of the <release>-external LoadBalancer Service (set through the `metallb.universe.tf/loadBalancerIPs` annotation).",
    ),
    key(
        "enable_loadbalancer",
        Ty::Bool,
        Dflt::Bool(true),
        "Access",
        "Emit the <release>-external LoadBalancer Service for the private network.",
    ),
    key(
        "loadbalancer_source_ranges",
        Ty::StrList,
        Dflt::List(&["192.168.4.0/24"]),
        "Access",
        "CIDRs allowed to reach Redis through the LoadBalancer; enforced by the Service and by the NetworkPolicy. Must contain `loadbalancer_ip`.",
    ),
    key("port", Ty::Int, Dflt::Int(6379), "Access", "TCP port of Redis in the pods and on every Service.").within(1, 65535),
    key(
        "secret_name",
        Ty::Str,
        Dflt::Str("redis-credentials"),
        "Access",
        "Name of the Secret (key `redis-password`) that holds the password, in the Redis namespace and in each replica namespace.",
    ),
    seed("replica_count", Ty::Int, Dflt::Int(1), "Topology and resources", "Number of read-only replicas (0 to 20).")
        .within(0, 20),
    seed(
        "master_cpu_limit",
        Ty::Str,
        Dflt::Str("1000m"),
        "Topology and resources",
        "CPU limit of the primary's Redis container.",
    ),
    seed(
        "master_memory_limit",
        Ty::Str,
        Dflt::Str("2Gi"),
        "Topology and resources",
        "Memory limit of the primary's Redis container.",
    ),
    key(
        "master_cpu_request",
        Ty::Str,
        Dflt::Str("250m"),
        "Topology and resources",
        "CPU request of the primary (lowered to the limit if the limit is smaller).",
    ),
    key(
        "master_memory_request",
        Ty::Str,
        Dflt::Derived("master_memory_limit"),
        "Topology and resources",
        "Memory request of the primary; defaults to the limit, so Redis is never the first to be evicted under memory pressure.",
    ),
    key(
        "replica_cpu_limit",
        Ty::Str,
        Dflt::Derived("master_cpu_limit"),
        "Topology and resources",
        "CPU limit of each replica; defaults to the primary's, since a replica holds the whole dataset.",
    ),
    key(
        "replica_memory_limit",
        Ty::Str,
        Dflt::Derived("master_memory_limit"),
        "Topology and resources",
        "Memory limit of each replica; defaults to the primary's.",
    ),
    key(
        "replica_cpu_request",
        Ty::Str,
        Dflt::Derived("master_cpu_request"),
        "Topology and resources",
        "CPU request of each replica; defaults to the primary's (capped at the replica limit).",
    ),
    key(
        "replica_memory_request",
        Ty::Str,
        Dflt::Derived("replica_memory_limit"),
        "Topology and resources",
        "Memory request of each replica; defaults to the replica memory limit.",
    ),
    key(
        "maxmemory",
        Ty::Str,
        Dflt::Str("auto"),
        "Redis",
        "Redis `maxmemory`: `auto` (a third of the container's memory limit: a fork under writes can copy the whole dataset, see README, Memory budget), a quantity such as `1536Mi`, or `0` for no limit.",
    ),
    key(
        "maxmemory_policy",
        Ty::Str,
        Dflt::Str("noeviction"),
        "Redis",
        "Redis `maxmemory-policy`: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random or volatile-ttl. Use allkeys-lru for a pure cache.",
    )
    .one_of(&[
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ]),
    key(
        "appendfsync",
        Ty::Str,
        Dflt::Str("everysec"),
        "Redis",
        "AOF fsync policy: `everysec` (at most one second of writes lost on a crash), `always` or `no`.",
    )
    .one_of(&["everysec", "always", "no"]),
    key(
        "disabled_commands",
        Ty::StrList,
        Dflt::List(DEFAULT_DISABLED),
        "Redis",
        "Commands renamed to nothing (`rename-command X \"\"`) on every Redis pod.",
    ),
    key(
        "redis_image",
        Ty::Str,
        Dflt::Str("redis:8.2"),
        "Images",
        "Official Redis image. Pin a digest (`redis:8.2@sha256:...`) for reproducible pulls.",
    ),
    key(
        "exporter_image",
        Ty::Str,
        Dflt::Str("oliver006/redis_exporter:v1.88.0"),
        "Images",
        "redis_exporter image for the metrics sidecar.",
    ),
    seed(
        "storage_size",
        Ty::Str,
        Dflt::Str("10Gi"),
        "Persistence",
        "Size of the PersistentVolumeClaim of each Redis pod.",
    ),
    key(
        "storage_class",
        Ty::Str,
        Dflt::Str("local-path"),
        "Persistence",
        "StorageClass of the claims (K3s local-path-provisioner by default).",
    ),
    key(
        "termination_grace_period_seconds",
        Ty::Int,
        Dflt::Int(60),
        "Persistence",
        "Time Redis gets after SIGTERM to write its final save before it is killed.",
    )
    .within(10, 3600),
    seed(
        "enable_metrics",
        Ty::Bool,
        Dflt::Bool(true),
        "Monitoring",
        "Run the redis_exporter sidecar (port 9121) in every Redis pod and emit the <release>-metrics Service.",
    ),
    seed(
        "enable_service_monitor",
        Ty::Bool,
        Dflt::Bool(true),
        "Monitoring",
        "Emit a prometheus-operator ServiceMonitor for the metrics Service (needs enable_metrics).",
    ),
    key(
        "service_monitor_interval",
        Ty::Str,
        Dflt::Str("30s"),
        "Monitoring",
        "Scrape interval of the ServiceMonitor (a Prometheus duration such as 30s or 1m).",
    ),
    key(
        "service_monitor_labels",
        Ty::StrMap,
        Dflt::EmptyMap,
        "Monitoring",
        "Extra labels on the ServiceMonitor, for a Prometheus whose serviceMonitorSelector wants them (kube-prometheus-stack: `release = \"<its release>\"`).",
    ),
    key(
        "monitoring_namespace",
        Ty::Str,
        Dflt::Str("monitoring"),
        "Monitoring",
        "Namespace of Prometheus: the only one the NetworkPolicy lets reach the metrics port.",
    ),
    key("exporter_cpu_request", Ty::Str, Dflt::Str("10m"), "Monitoring", "CPU request of the exporter sidecar."),
    key("exporter_cpu_limit", Ty::Str, Dflt::Str("100m"), "Monitoring", "CPU limit of the exporter sidecar."),
    key("exporter_memory_request", Ty::Str, Dflt::Str("32Mi"), "Monitoring", "Memory request of the exporter sidecar."),
    key("exporter_memory_limit", Ty::Str, Dflt::Str("64Mi"), "Monitoring", "Memory limit of the exporter sidecar."),
    key(
        "enable_alerts",
        Ty::Bool,
        Dflt::Bool(true),
        "Alerts and dashboard",
        "Emit a PrometheusRule with alerts for this release (Redis down or unscraped, replication, memory, rejected connections, persistence failures, restarts). Needs enable_metrics and enable_service_monitor: the rules select the series by the labels the ServiceMonitor gives them.",
    ),
    key(
        "prometheus_rule_labels",
        Ty::StrMap,
        Dflt::Derived("service_monitor_labels"),
        "Alerts and dashboard",
        "Extra labels on the PrometheusRule, for a Prometheus whose ruleSelector wants them; defaults to service_monitor_labels (kube-prometheus-stack selects both by `release`).",
    ),
    key(
        "alert_down_for",
        Ty::Str,
        Dflt::Str("2m"),
        "Alerts and dashboard",
        "How long Redis must be down, its exporter unscraped, or its pods missing from Prometheus before an alert fires (a Prometheus duration).",
    ),
    key(
        "alert_replication_for",
        Ty::Str,
        Dflt::Str("5m"),
        "Alerts and dashboard",
        "How long a replica's link to the primary may be down, or the primary may have fewer replicas than replica_count, before an alert fires.",
    ),
    key(
        "alert_replication_lag",
        Ty::Str,
        Dflt::Str("10Mi"),
        "Alerts and dashboard",
        "Replication lag in bytes (the primary's replication offset minus the replica's) above which a replica is lagging, as a quantity such as `10Mi`.",
    ),
    key(
        "alert_replication_lag_for",
        Ty::Str,
        Dflt::Str("5m"),
        "Alerts and dashboard",
        "How long a replica must lag by more than alert_replication_lag before an alert fires.",
    ),
    key(
        "alert_memory_percent",
        Ty::Int,
        Dflt::Int(90),
        "Alerts and dashboard",
        "Memory used as a percentage of `maxmemory` above which an alert fires (1 to 100); silent when maxmemory is 0.",
    )
    .within(1, 100),
    key(
        "alert_memory_for",
        Ty::Str,
        Dflt::Str("5m"),
        "Alerts and dashboard",
        "How long memory must stay above alert_memory_percent before an alert fires.",
    ),
    key(
        "alert_rejected_connections",
        Ty::Int,
        Dflt::Int(0),
        "Alerts and dashboard",
        "Connections Redis may refuse (maxclients reached) within 5 minutes before an alert fires; 0 alerts on the first one.",
    )
    .within(0, 1_000_000),
    key(
        "alert_persistence_for",
        Ty::Str,
        Dflt::Str("2m"),
        "Alerts and dashboard",
        "How long the last RDB save, AOF write or AOF rewrite may stay failed before an alert fires.",
    ),
    key(
        "alert_restarts",
        Ty::Int,
        Dflt::Int(3),
        "Alerts and dashboard",
        "Restarts of one Redis pod within alert_restart_window that raise an alert (1 to 100).",
    )
    .within(1, 100),
    key(
        "alert_restart_window",
        Ty::Str,
        Dflt::Str("1h"),
        "Alerts and dashboard",
        "Window over which restarts are counted (a Prometheus duration, at least 5m).",
    ),
    key(
        "enable_dashboard",
        Ty::Bool,
        Dflt::Bool(true),
        "Alerts and dashboard",
        "Emit a Grafana dashboard for this release as a ConfigMap that the Grafana sidecar of kube-prometheus-stack loads. Needs enable_metrics and enable_service_monitor.",
    ),
    key(
        "dashboard_namespace",
        Ty::Str,
        Dflt::Derived("monitoring_namespace"),
        "Alerts and dashboard",
        "Namespace of the dashboard ConfigMap: the one the Grafana sidecar watches; defaults to monitoring_namespace.",
    ),
    key(
        "dashboard_label",
        Ty::Str,
        Dflt::Str("grafana_dashboard"),
        "Alerts and dashboard",
        "Label key the Grafana sidecar looks for on dashboard ConfigMaps (kube-prometheus-stack: `grafana.sidecar.dashboards.label`).",
    ),
    key(
        "dashboard_label_value",
        Ty::Str,
        Dflt::Str("1"),
        "Alerts and dashboard",
        "Value of dashboard_label (kube-prometheus-stack: `grafana.sidecar.dashboards.labelValue`).",
    ),
    key(
        "sentinel_count",
        Ty::Int,
        Dflt::Int(3),
        "Sentinel",
        "Sentinel mode: number of Sentinel pods (StatefulSet <release>-sentinel), odd, 3 to 9; the quorum is a majority.",
    ),
    key(
        "sentinel_down_after_ms",
        Ty::Int,
        Dflt::Int(5000),
        "Sentinel",
        "Sentinel mode: milliseconds without a valid reply before a Sentinel considers an instance down (`down-after-milliseconds`); most of the failover time.",
    ),
    key(
        "sentinel_failover_timeout_ms",
        Ty::Int,
        Dflt::Int(10000),
        "Sentinel",
        "Sentinel mode: `failover-timeout`; a failed failover is retried after twice this time, which is also the shortest time between two failovers.",
    ),
    key(
        "sentinel_min_replicas_max_lag",
        Ty::Int,
        Dflt::Int(10),
        "Sentinel",
        "Sentinel mode: seconds after which a primary that no replica has acknowledged stops accepting writes (`min-replicas-to-write 1`, `min-replicas-max-lag`), so a primary cut off from the others does not acknowledge writes that the failover on the other side discards; 0 to 3600, 0 turns it off.",
    ),
    key(
        "proxy_image",
        Ty::Str,
        Dflt::Str("haproxy:3.2"),
        "Sentinel",
        "Sentinel mode: official HAProxy image of the <release>-proxy Deployment behind <release>-master and <release>-external, which sends clients to whichever pod reports `role:master`.",
    ),
];

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
