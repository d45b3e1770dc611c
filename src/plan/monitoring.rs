//! Monitoring: the exporter sidecar (Metrics), the ServiceMonitor that
//! scrapes it and, nested inside that, the alerts and the dashboard whose
//! queries rely on the labels it gives the series. The nesting is the rule:
//! no ServiceMonitor, no alerts and no dashboard.

use std::collections::BTreeMap;

use super::check::{At, Checker, bad_label_key, bad_label_value};
use super::names::{COMPONENT_LABEL, Identity, Names, RESERVED_LABELS};
use super::sentinel::SentinelPlan;
use super::syntax::{duration_ms, label_key_ok, label_value_ok, prometheus_duration, prometheus_label_name};
use super::{Plan, Resources};
use crate::profile::Sp;
use crate::profile::keys;

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
        let monitoring_namespace = c.str(&keys::MONITORING_NAMESPACE);
        c.dns_label(&At::key(&keys::MONITORING_NAMESPACE), &monitoring_namespace, 63, "");
        let sm_wanted = c.bool(&keys::ENABLE_SERVICE_MONITOR);
        let alerts_wanted = c.bool(&keys::ENABLE_ALERTS);
        let dashboard_wanted = c.bool(&keys::ENABLE_DASHBOARD);
        let metrics = if c.bool(&keys::ENABLE_METRICS).value {
            let image = c.image(&keys::EXPORTER_IMAGE);
            let resources = c.resources(
                [
                    &keys::EXPORTER_CPU_REQUEST,
                    &keys::EXPORTER_CPU_LIMIT,
                    &keys::EXPORTER_MEMORY_REQUEST,
                    &keys::EXPORTER_MEMORY_LIMIT,
                ],
                [
                    c.str(&keys::EXPORTER_CPU_REQUEST),
                    c.str(&keys::EXPORTER_CPU_LIMIT),
                    c.str(&keys::EXPORTER_MEMORY_REQUEST),
                    c.str(&keys::EXPORTER_MEMORY_LIMIT),
                ],
            );
            let service_monitor = sm_wanted.value.then(|| {
                let interval = c.str(&keys::SERVICE_MONITOR_INTERVAL);
                if !prometheus_duration(&interval.value) {
                    c.err(
                        &keys::SERVICE_MONITOR_INTERVAL,
                        interval.span.clone(),
                        format!("`{}` is not a Prometheus duration such as `30s` or `1m`", interval.value),
                    );
                }
                let labels = c.label_map(&keys::SERVICE_MONITOR_LABELS);
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
                    &keys::ENABLE_SERVICE_MONITOR,
                    sm_wanted.span.clone(),
                    "needs enable_metrics = true: the ServiceMonitor scrapes the exporter sidecar",
                );
            }
            None
        };
        if metrics.as_ref().is_none_or(|m| m.service_monitor.is_none()) {
            let missing = if metrics.is_none() { &keys::ENABLE_METRICS } else { &keys::ENABLE_SERVICE_MONITOR }.name;
            for (key, wanted, what) in [
                (&keys::ENABLE_ALERTS, &alerts_wanted, "the alert rules select series"),
                (&keys::ENABLE_DASHBOARD, &dashboard_wanted, "the dashboard's queries select series"),
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
        let (release, namespace) = (&id.release.value, &id.namespace.value);
        let ns =
            self.str_opt(&keys::DASHBOARD_NAMESPACE).unwrap_or_else(|| Sp::default(monitoring_namespace.to_string()));
        self.dns_label(&At::key(&keys::DASHBOARD_NAMESPACE), &ns, 63, "");
        let label = self.str(&keys::DASHBOARD_LABEL);
        if !label_key_ok(&label.value) {
            self.err(&keys::DASHBOARD_LABEL, label.span.clone(), bad_label_key(&label.value));
        } else if RESERVED_LABELS.contains(&label.value.as_str()) {
            self.err(
                &keys::DASHBOARD_LABEL,
                label.span.clone(),
                format!(
                    "`{}` is set by redis-gen on every object; choose the key the Grafana sidecar watches",
                    label.value
                ),
            );
        }
        let value = self.str(&keys::DASHBOARD_LABEL_VALUE);
        if !label_value_ok(&value.value) {
            self.err(&keys::DASHBOARD_LABEL_VALUE, value.span.clone(), bad_label_value(&value.value));
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
        let down_for = self.duration(&keys::ALERT_DOWN_FOR).value;
        let replication_for = self.duration(&keys::ALERT_REPLICATION_FOR).value;
        let replication_lag_for = self.duration(&keys::ALERT_REPLICATION_LAG_FOR).value;
        let memory_for = self.duration(&keys::ALERT_MEMORY_FOR).value;
        let persistence_for = self.duration(&keys::ALERT_PERSISTENCE_FOR).value;
        let restart_window = self.duration(&keys::ALERT_RESTART_WINDOW);
        if duration_ms(&restart_window.value).is_some_and(|ms| ms < 300_000) {
            self.err(
                &keys::ALERT_RESTART_WINDOW,
                restart_window.span.clone(),
                format!("`{}` is too short to count restarts in; use at least 5m", restart_window.value),
            );
        }
        let lag = self.str(&keys::ALERT_REPLICATION_LAG);
        let replication_lag_bytes =
            self.quantity(&At::key(&keys::ALERT_REPLICATION_LAG), &lag, true).map_or(0, |b| b.round() as u64);
        let out_of_range =
            |what: &'static str| move |v, min, max| format!("{v} is out of range; expected {what} from {min} to {max}");
        // Each value is used only when it is within its bounds (else the plan fails).
        let memory_percent =
            self.int(&keys::ALERT_MEMORY_PERCENT, out_of_range("a percentage of maxmemory")).value as u8;
        let rejected_connections =
            self.int(&keys::ALERT_REJECTED_CONNECTIONS, out_of_range("a number of connections")).value as u64;
        let restarts = self.int(&keys::ALERT_RESTARTS, out_of_range("a number of restarts")).value as u32;
        // service_monitor_labels were checked with the ServiceMonitor.
        let labels = if self.is_set(&keys::PROMETHEUS_RULE_LABELS) {
            self.label_map(&keys::PROMETHEUS_RULE_LABELS)
        } else {
            self.map(&keys::SERVICE_MONITOR_LABELS).into_iter().map(|(k, v)| (k, v.value)).collect()
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

#[cfg(test)]
mod tests {
    use crate::plan::testing::{errors, plan};

    #[test]
    fn alerts_and_dashboard_come_with_the_service_monitor() {
        let p = plan("");
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

        assert!(plan("enable_metrics = false\nenable_service_monitor = false\n").monitoring().is_none());
        assert!(plan("enable_service_monitor = false\n").monitoring().is_none());
        let p = plan("enable_alerts = false\nmonitoring_namespace = \"observability\"\n");
        let m = p.monitoring().unwrap();
        assert!(m.alerts.is_none());
        assert_eq!(m.dashboard.as_ref().unwrap().namespace, "observability");
    }

    #[test]
    fn asking_for_alerts_without_the_service_monitor_is_an_error() {
        let e = errors("enable_service_monitor = false\nenable_alerts = true\nenable_dashboard = true\n");
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!((e[0].key.as_str(), e[0].at), ("enable_alerts", Some((2, 17))));
        assert!(e[0].message.contains("needs enable_service_monitor = true"), "{}", e[0].message);
        assert_eq!(e[1].key, "enable_dashboard");
        let e = errors("enable_metrics = false\nenable_service_monitor = false\nenable_alerts = true\n");
        assert!(e[0].message.contains("needs enable_metrics = true"), "{}", e[0].message);
    }

    #[test]
    fn alert_thresholds_are_checked_with_their_position() {
        let e = errors(
            "alert_down_for = \"2 minutes\"\nalert_memory_percent = 150\nalert_replication_lag = \"lots\"\nalert_restart_window = \"1m\"\nalert_restarts = 0\nalert_memory_for = \"30s5m\"\n",
        );
        let keys: Vec<_> = e.iter().map(|e| (e.key.as_str(), e.at.map(|p| p.0))).collect();
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
        assert!(e[3].message.contains("at least 5m"), "{}", e[3].message);
    }

    #[test]
    fn dashboard_label_and_rule_labels_are_label_shaped() {
        let e = errors(
            "dashboard_label = \"app.kubernetes.io/name\"\ndashboard_label_value = \"-x\"\ndashboard_namespace = \"Grafana\"\nprometheus_rule_labels = { \"bad key!\" = \"x\" }\n",
        );
        let keys: Vec<_> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            ["dashboard_label", "dashboard_label_value", "dashboard_namespace", "prometheus_rule_labels.\"bad key!\""]
        );
    }

    #[test]
    fn rule_labels_default_to_the_service_monitor_labels() {
        let p = plan("service_monitor_labels = { release = \"kps\" }\n");
        let labels = &p.monitoring().unwrap().alerts.as_ref().unwrap().labels;
        assert_eq!(labels.get("release").map(String::as_str), Some("kps"));
        let p =
            plan("service_monitor_labels = { release = \"kps\" }\nprometheus_rule_labels = { role = \"alerts\" }\n");
        let labels = &p.monitoring().unwrap().alerts.as_ref().unwrap().labels;
        assert_eq!(labels.keys().collect::<Vec<_>>(), ["role"]);
    }
}
