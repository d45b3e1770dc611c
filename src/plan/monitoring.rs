//! Monitoring: the exporter sidecar (Metrics), the ServiceMonitor that
//! scrapes it and, nested inside that, the alerts and the dashboard whose
//! queries rely on the labels it gives the series. The nesting is the rule:
//! no ServiceMonitor, no alerts and no dashboard.

use std::collections::BTreeMap;

use super::check::{Checker, bad_label_key, bad_label_value};
use super::names::{COMPONENT_LABEL, Identity, Names, RESERVED_LABELS};
use super::sentinel::SentinelPlan;
use super::syntax::{duration_ms, label_key_ok, label_value_ok, prometheus_duration, prometheus_label_name};
use super::{Plan, Resources};
use crate::profile::Sp;

/// Port of the redis_exporter sidecar.
pub const METRICS_PORT: u16 = 9121;

/// Monitoring settings, present when `enable_metrics`.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub image: String,
    pub resources: Resources,
    pub service_monitor: Option<ServiceMonitorPlan>,
}

/// The ServiceMonitor, present only with the exporter it scrapes; the
/// alerts and the dashboard exist only inside it.
#[derive(Debug, Clone)]
pub struct ServiceMonitorPlan {
    pub interval: String,
    pub labels: BTreeMap<String, String>,
    pub monitoring: Monitoring,
}

/// Alerts and the Grafana dashboard. Part of the ServiceMonitor: their
/// queries select series by the labels it gives them.
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

impl Plan {
    /// The alerts' and the dashboard's settings (with the ServiceMonitor only).
    pub fn monitoring(&self) -> Option<&Monitoring> {
        self.metrics.as_ref()?.service_monitor.as_ref().map(|sm| &sm.monitoring)
    }
}

/// Where each monitoring object goes, and what it is.
pub struct Monitored {
    pub metrics: Option<Metrics>,
    /// Namespace of Prometheus (the NetworkPolicy lets it scrape).
    pub namespace: String,
}

impl Metrics {
    pub fn resolve(c: &mut Checker<'_>, id: &Identity, names: &Names, sentinel: Option<&SentinelPlan>) -> Monitored {
        let p = c.p;
        let monitoring_namespace = p.str("monitoring_namespace");
        c.dns_label("monitoring_namespace", &monitoring_namespace, 63, "");
        let sm_wanted = p.bool("enable_service_monitor");
        let alerts_wanted = p.bool("enable_alerts");
        let dashboard_wanted = p.bool("enable_dashboard");
        let metrics = if p.bool("enable_metrics").value {
            let image = c.image("exporter_image");
            let resources = c.resources(
                ["exporter_cpu_request", "exporter_cpu_limit", "exporter_memory_request", "exporter_memory_limit"],
                [
                    p.str("exporter_cpu_request"),
                    p.str("exporter_cpu_limit"),
                    p.str("exporter_memory_request"),
                    p.str("exporter_memory_limit"),
                ],
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
                let labels = c.label_map("service_monitor_labels");
                let ns = &id.namespace.value;
                let monitoring = Monitoring {
                    matchers: format!("job=\"{}\",namespace=\"{ns}\"", names.metrics),
                    component_label: prometheus_label_name(COMPONENT_LABEL),
                    scrape_interval: interval.value.clone(),
                    sentinel_matchers: sentinel.map(|s| format!("job=\"{}\",namespace=\"{ns}\"", s.sentinel_metrics)),
                    alerts: alerts_wanted.value.then(|| c.alerts(id)),
                    dashboard: dashboard_wanted.value.then(|| c.dashboard(id, &monitoring_namespace.value)),
                };
                ServiceMonitorPlan { interval: interval.value, labels, monitoring }
            });
            Some(Metrics { image, resources, service_monitor })
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
        if metrics.as_ref().is_none_or(|m| m.service_monitor.is_none()) {
            let missing = if metrics.is_none() { "enable_metrics" } else { "enable_service_monitor" };
            for (key, wanted, what) in [
                ("enable_alerts", &alerts_wanted, "the alert rules select series"),
                ("enable_dashboard", &dashboard_wanted, "the dashboard's queries select series"),
            ] {
                if wanted.value && wanted.span.is_some() {
                    c.err(key, wanted.span.clone(), format!("needs {missing} = true: {what} by the labels the ServiceMonitor gives the exporter's metrics"));
                }
            }
        }
        Monitored { metrics, namespace: monitoring_namespace.value }
    }
}

impl Checker<'_> {
    fn dashboard(&mut self, id: &Identity, monitoring_namespace: &str) -> Dashboard {
        let p = self.p;
        let (release, namespace) = (&id.release.value, &id.namespace.value);
        let ns = p.str_opt("dashboard_namespace").unwrap_or_else(|| Sp::default(monitoring_namespace.to_string()));
        self.dns_label("dashboard_namespace", &ns, 63, "");
        let label = p.str("dashboard_label");
        if !label_key_ok(&label.value) {
            self.err("dashboard_label", label.span.clone(), bad_label_key(&label.value));
        } else if RESERVED_LABELS.contains(&label.value.as_str()) {
            self.err(
                "dashboard_label",
                label.span.clone(),
                format!(
                    "`{}` is set by redis-gen on every object; choose the key the Grafana sidecar watches",
                    label.value
                ),
            );
        }
        let value = p.str("dashboard_label_value");
        if !label_value_ok(&value.value) {
            self.err("dashboard_label_value", value.span.clone(), bad_label_value(&value.value));
        }
        Dashboard {
            name: format!("{release}-{namespace}-dashboard"),
            namespace: ns.value,
            file: format!("redis-gen-{namespace}-{release}.json"),
            label: label.value,
            label_value: value.value,
        }
    }

    fn alerts(&mut self, id: &Identity) -> Alerts {
        let p = self.p;
        let down_for = self.duration("alert_down_for").value;
        let replication_for = self.duration("alert_replication_for").value;
        let replication_lag_for = self.duration("alert_replication_lag_for").value;
        let memory_for = self.duration("alert_memory_for").value;
        let persistence_for = self.duration("alert_persistence_for").value;
        let restart_window = self.duration("alert_restart_window");
        if duration_ms(&restart_window.value).is_some_and(|ms| ms < 300_000) {
            self.err(
                "alert_restart_window",
                restart_window.span.clone(),
                format!("`{}` is too short to count restarts in; use at least 5m", restart_window.value),
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
        // service_monitor_labels were checked with the ServiceMonitor.
        let labels = if p.is_set("prometheus_rule_labels") {
            self.label_map("prometheus_rule_labels")
        } else {
            p.map("service_monitor_labels").into_iter().map(|(k, v)| (k, v.value)).collect()
        };
        Alerts {
            name: id.release.value.clone(),
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
            restart_window: restart_window.value,
        }
    }
}
