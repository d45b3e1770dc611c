//! Stage 2, the plan: the profile validated and resolved once. Everything
//! the object builders need is here in final form (names, DNS names, label
//! sets, resources, byte counts), so they never re-derive or re-check it.
//!
//! `Plan::resolve` is a list of resolvers, one per sub-plan, each in its own
//! file: names.rs (identity, names, labels), network.rs, redis.rs,
//! resources.rs, sentinel.rs, monitoring.rs. They check through one Checker
//! (check.rs), over the pure grammars of syntax.rs, and every error is
//! reported at once, in the order of the profile's text.

mod check;
mod monitoring;
mod names;
mod network;
mod quantity;
mod redis;
mod redis_commands;
mod resources;
mod sentinel;
mod syntax;

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::profile::Profile;
pub use crate::profile::keys::{Appendfsync, Choice, EvictionPolicy, Mode};
pub use monitoring::{Alerts, Dashboard, METRICS_PORT, Metrics, Monitoring, ServiceMonitorPlan};
pub use names::{
    COMPONENT_LABEL, Component, INSTANCE_LABEL, MANAGED_BY_LABEL, MAX_RELEASE_LEN, NAME_LABEL, Names, Role,
};
pub use network::LoadBalancer;
pub use resources::Resources;
pub use sentinel::{PROXY_HEALTH_PORT, SENTINEL_PORT, SentinelPlan};

/// Key of the password inside the credentials Secret (the seed's name).
pub const PASSWORD_KEY: &str = "redis-password";

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
    /// `master.memory_limit` in bytes.
    pub master_memory_limit_bytes: f64,
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: EvictionPolicy,
    pub appendfsync: Appendfsync,
    pub disabled_commands: Vec<String>,
    pub redis_image: String,
    pub storage_size: String,
    pub storage_class: String,
    pub termination_grace_period_seconds: i64,
    pub loadbalancer: Option<LoadBalancer>,
    pub metrics: Option<Metrics>,
    pub monitoring_namespace: String,
    /// Present in mode `sentinel`.
    pub sentinel: Option<SentinelPlan>,
}

impl Plan {
    /// Namespaces that receive the credentials, the Redis namespace first.
    pub fn secret_namespaces(&self) -> Vec<&str> {
        std::iter::once(self.namespace.as_str()).chain(self.replica_namespaces.iter().map(String::as_str)).collect()
    }

    /// Total number of Redis pods.
    pub fn pod_count(&self) -> i32 {
        1 + self.replica_count
    }

    /// Validates and resolves a profile. Returns every problem found, in
    /// text order.
    pub fn resolve(p: &Profile) -> Result<Plan, Vec<Diagnostic>> {
        let mut c = check::Checker::new(p);
        let id = names::Identity::resolve(&mut c);
        let names = names::Names::resolve(&mut c, &id);
        let replica_namespaces = network::replica_namespaces(&mut c, &id.namespace);
        let redis = redis::Redis::resolve(&mut c);
        let sizing = resources::Sizing::resolve(&mut c, &redis.replica_count);
        let loadbalancer = LoadBalancer::resolve(&mut c);
        let sentinel = (id.mode == Mode::Sentinel)
            .then(|| SentinelPlan::resolve(&mut c, &id, &names, &redis.port, &redis.replica_count));
        let monitored = Metrics::resolve(&mut c, &id, &names, sentinel.as_ref());
        c.finish()?;
        Ok(Plan {
            // Shown in YAML comments and redis.conf: one printable line.
            profile_name: crate::diag::escape(&p.name),
            release: id.release.value,
            namespace: id.namespace.value,
            cluster_domain: id.domain.value,
            names,
            extra_labels: id.labels,
            replica_namespaces,
            port: redis.port.value as u16,
            replica_count: redis.replica_count.value as i32,
            master: sizing.master,
            replica: sizing.replica,
            master_memory_limit_bytes: sizing.master_memory_limit_bytes,
            maxmemory_bytes: sizing.maxmemory_bytes,
            maxmemory_policy: redis.maxmemory_policy,
            appendfsync: redis.appendfsync,
            disabled_commands: redis.disabled_commands,
            redis_image: redis.image,
            storage_size: redis.storage_size,
            storage_class: redis.storage_class,
            termination_grace_period_seconds: redis.termination_grace_period_seconds,
            loadbalancer,
            metrics: monitored.metrics,
            monitoring_namespace: monitored.namespace,
            sentinel,
        })
    }
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
        assert_eq!(p.maxmemory_bytes, 1_610_612_736);
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
        assert_eq!(keys, ["namespace", "replica_count", "storage_size", "disabled_commands[0]", "redis_image"]);
        assert!(e[3].2.contains("did you mean `FLUSHALL`"), "{}", e[2].2);
    }

    #[test]
    fn alerts_and_dashboard_come_with_the_service_monitor() {
        let p = plan("").unwrap();
        let m = p.monitoring().expect("on by default");
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

        assert!(plan("enable_metrics = false\nenable_service_monitor = false\n").unwrap().monitoring().is_none());
        assert!(plan("enable_service_monitor = false\n").unwrap().monitoring().is_none());
        let p = plan("enable_alerts = false\nmonitoring_namespace = \"observability\"\n").unwrap();
        let m = p.monitoring().unwrap();
        assert!(m.alerts.is_none());
        assert_eq!(m.dashboard.as_ref().unwrap().namespace, "observability");
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
                ("alert_memory_percent", Some(2)),
                ("alert_replication_lag", Some(3)),
                ("alert_restart_window", Some(4)),
                ("alert_restarts", Some(5)),
                ("alert_memory_for", Some(6)),
            ]
        );
        assert!(e[3].2.contains("at least 5m"), "{}", e[3].2);
    }

    #[test]
    fn dashboard_label_and_rule_labels_are_label_shaped() {
        let e = errors(
            "dashboard_label = \"app.kubernetes.io/name\"\ndashboard_label_value = \"-x\"\ndashboard_namespace = \"Grafana\"\nprometheus_rule_labels = { \"bad key!\" = \"x\" }\n",
        );
        let keys: Vec<_> = e.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            keys,
            ["dashboard_label", "dashboard_label_value", "dashboard_namespace", "prometheus_rule_labels.\"bad key!\""]
        );
    }

    #[test]
    fn rule_labels_default_to_the_service_monitor_labels() {
        let p = plan("service_monitor_labels = { release = \"kps\" }\n").unwrap();
        let labels = &p.monitoring().unwrap().alerts.as_ref().unwrap().labels;
        assert_eq!(labels.get("release").map(String::as_str), Some("kps"));
        let p =
            plan("service_monitor_labels = { release = \"kps\" }\nprometheus_rule_labels = { role = \"alerts\" }\n")
                .unwrap();
        let labels = &p.monitoring().unwrap().alerts.as_ref().unwrap().labels;
        assert_eq!(labels.keys().collect::<Vec<_>>(), ["role"]);
    }
}
