//! The Grafana dashboard of the release: a dashboard model (typed serde
//! structs, serialized as JSON) in a ConfigMap labelled for the Grafana
//! sidecar of kube-prometheus-stack. Panels are data (`PanelSpec`); the
//! layout flows them left to right in rows of 24 grid units. Every query
//! names only redis_exporter metrics, selected by the ServiceMonitor's labels
//! and the dashboard's `pod` variable.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;
use serde_json::{Value, json};

use super::meta::{object_meta, sha256_of};
use super::promql::{memory_ratio, primaries, primary_series, promql_series, replication_lag_bytes, sentinels_up};
use crate::plan::{Monitoring, Plan};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrafanaDashboard {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<&'static str>,
    pub editable: bool,
    pub graph_tooltip: u8,
    pub refresh: &'static str,
    pub schema_version: u32,
    pub time: TimeRange,
    pub timezone: &'static str,
    pub templating: Templating,
    pub annotations: Annotations,
    pub panels: Vec<Panel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeRange {
    pub from: &'static str,
    pub to: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Templating {
    pub list: Vec<Variable>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Annotations {
    pub list: Vec<Value>,
}

/// A template variable: the data source, or the pods to show.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    pub name: &'static str,
    pub label: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSource>,
    pub include_all: bool,
    pub multi: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_value: Option<&'static str>,
    /// 1: on dashboard load, 2: on time range change.
    pub refresh: u8,
    pub sort: u8,
    pub hide: u8,
    pub current: BTreeMap<String, Value>,
    pub options: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataSource {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: &'static str,
}

const PROMETHEUS: DataSource = DataSource { kind: "prometheus", uid: "${datasource}" };

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'static str>,
    pub grid_pos: GridPos,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_config: Option<FieldConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    /// Rows only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panels: Option<Vec<Panel>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct GridPos {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub ref_id: String,
    pub expr: String,
    pub legend_format: String,
    pub datasource: DataSource,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldConfig {
    pub defaults: FieldDefaults,
    pub overrides: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldDefaults {
    pub unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub color: Value,
    pub mappings: Vec<Value>,
    pub thresholds: Thresholds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    pub mode: &'static str,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub color: &'static str,
    /// `None` (JSON null) is the base step.
    pub value: Option<f64>,
}

/// How a panel shows its values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Stat,
    TimeSeries,
    Gauge,
}

/// Value texts of a 0/1 metric.
#[derive(Debug, Clone, Copy)]
enum Mapping {
    None,
    /// 1 up (green), 0 down (red).
    UpDown,
    /// 1 ok (green), 0 failed (red).
    OkFailed,
}

/// One panel, before layout.
struct PanelSpec {
    title: &'static str,
    description: &'static str,
    kind: Kind,
    unit: &'static str,
    width: u32,
    queries: Vec<(String, &'static str)>,
    mapping: Mapping,
    /// Threshold steps above the green base: (value, color).
    thresholds: Vec<(f64, &'static str)>,
    range: (Option<f64>, Option<f64>),
}

fn spec(kind: Kind, title: &'static str, unit: &'static str, width: u32, description: &'static str) -> PanelSpec {
    PanelSpec {
        title,
        description,
        kind,
        unit,
        width,
        queries: Vec::new(),
        mapping: Mapping::None,
        thresholds: Vec::new(),
        range: (None, None),
    }
}

/// A 0/1 metric per pod, shown as text on a coloured background.
fn status(title: &'static str, description: &'static str, expr: String, mapping: Mapping) -> PanelSpec {
    spec(Kind::Stat, title, "none", 6, description).query(expr, "{{pod}}").mapping(mapping)
}

impl PanelSpec {
    fn query(mut self, expr: String, legend: &'static str) -> Self {
        self.queries.push((expr, legend));
        self
    }
    /// Replaces the legend of every query.
    fn legend(mut self, legend: &'static str) -> Self {
        for q in &mut self.queries {
            q.1 = legend;
        }
        self
    }
    fn mapping(mut self, m: Mapping) -> Self {
        self.mapping = m;
        self
    }
    fn threshold(mut self, value: f64, color: &'static str) -> Self {
        self.thresholds.push((value, color));
        self
    }
    fn range(mut self, min: f64, max: f64) -> Self {
        self.range = (Some(min), Some(max));
        self
    }
}

/// The dashboard's sections: a title and its panels.
fn sections(plan: &Plan, m: &Monitoring) -> Vec<(&'static str, Vec<PanelSpec>)> {
    let sel = format!("{},pod=~\"$pod\"", m.matchers);
    let s = |metric: &str| promql_series(&sel, metric, "");
    let rate = |metric: &str| format!("sum by (pod) (rate({}[$__rate_interval]))", s(metric));
    let memory_alert = m.alerts.as_ref().map(|a| f64::from(a.memory_percent) / 100.0);
    let lag_alert = m.alerts.as_ref().map(|a| a.replication_lag_bytes as f64);
    let replicas = f64::from(plan.replica_count);

    let mut out = vec![
        (
            "Overview",
            vec![
                status("Redis", "redis_up: whether the exporter sidecar reaches Redis in each pod.", s("redis_up"), Mapping::UpDown),
                status("Exporter scrape", "up: whether Prometheus scrapes each pod's exporter.", s("up"), Mapping::UpDown),
                spec(Kind::Stat, "Uptime", "s", 6, "redis_uptime_in_seconds: time since each Redis server started.")
                    .query(s("redis_uptime_in_seconds"), "{{pod}}"),
                spec(Kind::Stat, "Connected replicas", "none", 6, "redis_connected_slaves on the primary; red below the profile's replica_count.")
                    .query(primary_series(m, &sel, "redis_connected_slaves"), "{{pod}}")
                    .threshold(0.0, "red")
                    .threshold(replicas, "green"),
            ],
        ),
        (
            "Traffic and latency",
            vec![
                spec(Kind::TimeSeries, "Commands per second", "ops", 12, "rate of redis_commands_processed_total.")
                    .query(rate("redis_commands_processed_total"), "{{pod}}"),
                spec(Kind::TimeSeries, "Average latency by command", "s", 12, "Time spent in each command divided by its calls (redis_commands_duration_seconds_total / redis_commands_total), over the rate interval.")
                    .query(
                        format!(
                            "sum by (pod, cmd) (rate({}[$__rate_interval])) / (sum by (pod, cmd) (rate({}[$__rate_interval])) > 0)",
                            s("redis_commands_duration_seconds_total"),
                            s("redis_commands_total")
                        ),
                        "{{pod}} {{cmd}}",
                    ),
                spec(Kind::TimeSeries, "Calls by command (top 10)", "ops", 12, "rate of redis_commands_total by command.")
                    .query(format!("topk(10, sum by (cmd) (rate({}[$__rate_interval])))", s("redis_commands_total")), "{{cmd}}"),
                spec(Kind::TimeSeries, "Network", "Bps", 12, "rate of redis_net_input_bytes_total and redis_net_output_bytes_total.")
                    .query(rate("redis_net_input_bytes_total"), "{{pod}} in")
                    .query(rate("redis_net_output_bytes_total"), "{{pod}} out"),
            ],
        ),
        (
            "Memory",
            vec![
                spec(Kind::TimeSeries, "Memory used against maxmemory", "bytes", 12, "redis_memory_used_bytes, redis_memory_used_rss_bytes and redis_memory_max_bytes (shown when maxmemory is set).")
                    .query(s("redis_memory_used_bytes"), "{{pod}} used")
                    .query(s("redis_memory_used_rss_bytes"), "{{pod}} RSS")
                    .query(format!("{} > 0", s("redis_memory_max_bytes")), "{{pod}} maxmemory"),
                {
                    let g = spec(Kind::Gauge, "Memory used / maxmemory", "percentunit", 6, "redis_memory_used_bytes / redis_memory_max_bytes; orange from the alert threshold (alert_memory_percent).")
                        .query(memory_ratio(&sel), "{{pod}}")
                        .range(0.0, 1.0);
                    match memory_alert {
                        Some(t) => g.threshold(t, "orange").threshold(1.0, "red"),
                        None => g.threshold(1.0, "red"),
                    }
                },
                spec(Kind::TimeSeries, "Fragmentation ratio", "none", 6, "redis_mem_fragmentation_ratio: RSS over used memory.")
                    .query(s("redis_mem_fragmentation_ratio"), "{{pod}}"),
            ],
        ),
        (
            "Clients",
            vec![
                spec(Kind::TimeSeries, "Clients", "short", 12, "redis_connected_clients and redis_blocked_clients.")
                    .query(s("redis_connected_clients"), "{{pod}} connected")
                    .query(s("redis_blocked_clients"), "{{pod}} blocked"),
                spec(Kind::TimeSeries, "Rejected connections per second", "cps", 12, "rate of redis_rejected_connections_total: connections refused because maxclients was reached.")
                    .query(rate("redis_rejected_connections_total"), "{{pod}}"),
            ],
        ),
        (
            "Keyspace",
            vec![
                spec(Kind::TimeSeries, "Hit ratio", "percentunit", 8, "keyspace hits / (hits + misses), from redis_keyspace_hits_total and redis_keyspace_misses_total.")
                    .query(
                        format!(
                            "{} / ({} + {} > 0)",
                            rate("redis_keyspace_hits_total"),
                            rate("redis_keyspace_hits_total"),
                            rate("redis_keyspace_misses_total")
                        ),
                        "{{pod}}",
                    )
                    .range(0.0, 1.0),
                spec(Kind::TimeSeries, "Keys", "short", 8, "redis_db_keys and redis_db_keys_expiring, summed over databases.")
                    .query(format!("sum by (pod) ({})", s("redis_db_keys")), "{{pod}} keys")
                    .query(format!("sum by (pod) ({})", s("redis_db_keys_expiring")), "{{pod}} with a TTL"),
                spec(Kind::TimeSeries, "Expired and evicted keys per second", "cps", 8, "rate of redis_expired_keys_total and redis_evicted_keys_total.")
                    .query(rate("redis_expired_keys_total"), "{{pod}} expired")
                    .query(rate("redis_evicted_keys_total"), "{{pod}} evicted"),
            ],
        ),
    ];
    if plan.replica_count > 0 {
        let lag = spec(Kind::TimeSeries, "Replication lag", "bytes", 6, "The primary's redis_master_repl_offset minus each replica's redis_slave_repl_offset; the dashed line is the alert threshold (alert_replication_lag).")
            .query(replication_lag_bytes(m, &sel), "{{pod}}");
        out.push((
            "Replication",
            vec![
                spec(
                    Kind::TimeSeries,
                    "Replication offsets",
                    "bytes",
                    6,
                    "redis_master_repl_offset of the primary and redis_slave_repl_offset of each replica.",
                )
                .query(primary_series(m, &sel, "redis_master_repl_offset"), "primary {{pod}}")
                .query(s("redis_slave_repl_offset"), "replica {{pod}}"),
                match lag_alert {
                    Some(t) => lag.threshold(t, "red"),
                    None => lag,
                },
                spec(
                    Kind::TimeSeries,
                    "Seconds since each replica's last ack",
                    "s",
                    6,
                    "redis_connected_slave_lag_seconds, reported by the primary for each replica address.",
                )
                .query(s("redis_connected_slave_lag_seconds"), "{{slave_ip}}:{{slave_port}}"),
                status(
                    "Replica link",
                    "redis_master_link_up of each replica.",
                    s("redis_master_link_up"),
                    Mapping::UpDown,
                ),
            ],
        ));
    }
    out.push((
        "Persistence",
        vec![
            status(
                "Last RDB save",
                "redis_rdb_last_bgsave_status.",
                s("redis_rdb_last_bgsave_status"),
                Mapping::OkFailed,
            ),
            status(
                "Last AOF write",
                "redis_aof_last_write_status.",
                s("redis_aof_last_write_status"),
                Mapping::OkFailed,
            ),
            status(
                "Last AOF rewrite",
                "redis_aof_last_bgrewrite_status.",
                s("redis_aof_last_bgrewrite_status"),
                Mapping::OkFailed,
            ),
            spec(Kind::Stat, "Time since the last RDB save", "s", 6, "time() - redis_rdb_last_save_timestamp_seconds.")
                .query(format!("time() - {}", s("redis_rdb_last_save_timestamp_seconds")), "{{pod}}"),
            spec(Kind::TimeSeries, "Changes since the last save", "short", 12, "redis_rdb_changes_since_last_save.")
                .query(s("redis_rdb_changes_since_last_save"), "{{pod}}"),
            spec(Kind::TimeSeries, "Append-only file size", "bytes", 12, "redis_aof_current_size_bytes.")
                .query(s("redis_aof_current_size_bytes"), "{{pod}}"),
        ],
    ));
    if let (Some(s), Some(sm)) = (&plan.sentinel, &m.sentinel_matchers) {
        out.push(("Sentinel", sentinel_panels(m, &sel, sm, f64::from(s.quorum), f64::from(s.count))));
    }
    out
}

/// Mode sentinel: which pod is primary, and the Sentinels' view of it. The
/// Sentinels' series are selected by their own job, not the pod variable
/// (which lists the Redis pods).
fn sentinel_panels(m: &Monitoring, sel: &str, sm: &str, quorum: f64, count: f64) -> Vec<PanelSpec> {
    let s = |metric: &str| promql_series(sm, metric, "");
    vec![
        spec(Kind::Stat, "Primaries", "none", 6, "How many Redis pods report role:master (redis_instance_info{role=\"master\"}): exactly 1, else red.")
            .query(primaries(&m.matchers), "primaries")
            .threshold(0.0, "red")
            .threshold(1.0, "green")
            .threshold(2.0, "red"),
        spec(Kind::Stat, "Sentinels answering", "none", 6, "How many Sentinels answer their exporter (redis_up); orange below sentinel_count, red below the quorum.")
            .query(sentinels_up(sm), "Sentinels")
            .threshold(0.0, "red")
            .threshold(quorum, "orange")
            .threshold(count, "green"),
        status("Primary as each Sentinel sees it", "redis_sentinel_master_status: ok, or s_down/o_down (label master_status); the address is the primary's DNS name.", s("redis_sentinel_master_status"), Mapping::OkFailed)
            .legend("{{pod}}: {{master_address}} {{master_status}}"),
        status("Sentinel", "redis_up of each Sentinel's exporter sidecar.", s("redis_up"), Mapping::UpDown),
        spec(Kind::TimeSeries, "Primary pod", "none", 12, "redis_instance_info{role=\"master\"}: 1 while a pod is primary; a failover moves the line to another pod.")
            .query(format!("max by (pod) ({})", promql_series(sel, "redis_instance_info", "role=\"master\"")), "{{pod}}"),
        spec(Kind::TimeSeries, "Healthy Sentinels and replicas as each Sentinel sees them", "short", 12, "redis_sentinel_master_ok_sentinels (itself included) and redis_sentinel_master_ok_slaves: those not seen as down.")
            .query(s("redis_sentinel_master_ok_sentinels"), "{{pod}} Sentinels")
            .query(s("redis_sentinel_master_ok_slaves"), "{{pod}} replicas"),
    ]
}

fn mappings(m: Mapping) -> Vec<Value> {
    let pair = |zero: &str, one: &str| {
        vec![json!({
            "type": "value",
            "options": {
                "0": { "text": zero, "color": "red", "index": 0 },
                "1": { "text": one, "color": "green", "index": 1 },
            },
        })]
    };
    match m {
        Mapping::None => Vec::new(),
        Mapping::UpDown => pair("down", "up"),
        Mapping::OkFailed => pair("failed", "ok"),
    }
}

fn options(kind: Kind) -> Value {
    let reduce = json!({ "calcs": ["lastNotNull"], "fields": "", "values": false });
    match kind {
        Kind::Stat => json!({
            "reduceOptions": reduce,
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "value_and_name",
        }),
        Kind::Gauge => json!({
            "reduceOptions": reduce,
            "showThresholdLabels": false,
            "showThresholdMarkers": true,
        }),
        Kind::TimeSeries => json!({
            "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
            "tooltip": { "mode": "multi", "sort": "desc" },
        }),
    }
}

fn panel(id: u32, p: PanelSpec, grid_pos: GridPos) -> Panel {
    let refs = ["A", "B", "C", "D", "E", "F"];
    let targets = p
        .queries
        .into_iter()
        .zip(refs)
        .map(|((expr, legend), r)| Target {
            ref_id: r.into(),
            expr,
            legend_format: legend.into(),
            datasource: PROMETHEUS,
        })
        .collect();
    let mut steps = vec![Step { color: "green", value: None }];
    steps.extend(p.thresholds.iter().map(|(v, c)| Step { color: c, value: Some(*v) }));
    // A threshold below every value recolours the base (red below the count).
    if steps.len() > 1 && steps[1].value == Some(0.0) {
        steps.remove(0);
        steps[0].value = None;
    }
    let color = match (p.kind, p.mapping) {
        (Kind::TimeSeries, _) => json!({ "mode": "palette-classic" }),
        _ => json!({ "mode": "thresholds" }),
    };
    let custom = (p.kind == Kind::TimeSeries).then(|| {
        let style = if p.thresholds.is_empty() { "off" } else { "dashed" };
        json!({ "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "thresholdsStyle": { "mode": style } })
    });
    Panel {
        id,
        kind: match p.kind {
            Kind::Stat => "stat",
            Kind::TimeSeries => "timeseries",
            Kind::Gauge => "gauge",
        },
        title: p.title.into(),
        description: Some(p.description),
        grid_pos,
        datasource: Some(PROMETHEUS),
        targets,
        field_config: Some(FieldConfig {
            defaults: FieldDefaults {
                unit: p.unit,
                min: p.range.0,
                max: p.range.1,
                color,
                mappings: mappings(p.mapping),
                thresholds: Thresholds { mode: "absolute", steps },
                custom,
            },
            overrides: Vec::new(),
        }),
        options: Some(options(p.kind)),
        collapsed: None,
        panels: None,
    }
}

fn row(id: u32, title: &str, y: u32) -> Panel {
    Panel {
        id,
        kind: "row",
        title: title.into(),
        description: None,
        grid_pos: GridPos { x: 0, y, w: 24, h: 1 },
        datasource: None,
        targets: Vec::new(),
        field_config: None,
        options: None,
        collapsed: Some(false),
        panels: Some(Vec::new()),
    }
}

/// Lays the sections out: a row header, then panels left to right, wrapping
/// at 24 units; stats are 4 high, graphs 8.
fn layout(sections: Vec<(&'static str, Vec<PanelSpec>)>) -> Vec<Panel> {
    let mut panels = Vec::new();
    let (mut id, mut y) = (1, 0);
    for (title, specs) in sections {
        panels.push(row(id, title, y));
        id += 1;
        y += 1;
        let (mut x, mut line_h) = (0, 0);
        for p in specs {
            let h = if p.kind == Kind::Stat { 4 } else { 8 };
            if x + p.width > 24 {
                y += line_h;
                x = 0;
                line_h = 0;
            }
            let pos = GridPos { x, y, w: p.width, h };
            x += p.width;
            line_h = line_h.max(h);
            panels.push(panel(id, p, pos));
            id += 1;
        }
        y += line_h;
    }
    panels
}

pub fn dashboard(plan: &Plan, m: &Monitoring) -> GrafanaDashboard {
    let uid_hash = sha256_of(&(&plan.namespace, &plan.release));
    let pod_query = format!("label_values({}, pod)", promql_series(&m.matchers, "redis_up", ""));
    GrafanaDashboard {
        uid: format!("redis-{}", &uid_hash[..24]),
        title: format!("Redis {} ({})", plan.release, plan.namespace),
        description: format!(
            "Redis release {} in namespace {}: generated by redis-gen from {}.",
            plan.release, plan.namespace, plan.profile_name
        ),
        tags: vec!["redis", "redis-gen"],
        editable: false,
        graph_tooltip: 1,
        refresh: "30s",
        schema_version: 39,
        time: TimeRange { from: "now-6h", to: "now" },
        timezone: "browser",
        templating: Templating {
            list: vec![
                Variable {
                    name: "datasource",
                    label: "Data source",
                    kind: "datasource",
                    query: "prometheus".into(),
                    definition: None,
                    datasource: None,
                    include_all: false,
                    multi: false,
                    all_value: None,
                    refresh: 1,
                    sort: 0,
                    hide: 0,
                    current: BTreeMap::new(),
                    options: Vec::new(),
                },
                Variable {
                    name: "pod",
                    label: "Pod",
                    kind: "query",
                    query: pod_query.clone(),
                    definition: Some(pod_query),
                    datasource: Some(PROMETHEUS),
                    include_all: true,
                    multi: true,
                    all_value: Some(".*"),
                    refresh: 2,
                    sort: 1,
                    hide: 0,
                    current: BTreeMap::new(),
                    options: Vec::new(),
                },
            ],
        },
        annotations: Annotations { list: Vec::new() },
        panels: layout(sections(plan, m)),
    }
}

pub fn config_map(plan: &Plan) -> Option<ConfigMap> {
    let m = plan.monitoring.as_ref()?;
    let d = m.dashboard.as_ref()?;
    let json = serde_json::to_string_pretty(&dashboard(plan, m)).expect("dashboard serializes");
    let mut labels = plan.labels();
    labels.insert(d.label.clone(), d.label_value.clone());
    Some(ConfigMap {
        metadata: object_meta(&d.name, &d.namespace, labels),
        data: Some(BTreeMap::from([(d.file.clone(), json + "\n")])),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture::plan;

    #[test]
    fn panels_do_not_overlap_and_fit_the_grid() {
        let p = plan("");
        let d = dashboard(&p, p.monitoring.as_ref().unwrap());
        let mut cells = std::collections::HashSet::new();
        for panel in &d.panels {
            let g = panel.grid_pos;
            assert!(g.x + g.w <= 24, "{} overflows", panel.title);
            for x in g.x..g.x + g.w {
                for y in g.y..g.y + g.h {
                    assert!(cells.insert((x, y)), "{} overlaps at {x},{y}", panel.title);
                }
            }
        }
        let ids: std::collections::HashSet<_> = d.panels.iter().map(|p| p.id).collect();
        assert_eq!(ids.len(), d.panels.len());
    }

    #[test]
    fn every_query_is_scoped_to_the_release_and_the_pod_variable() {
        let p = plan("release_name = \"cache\"\nnamespace = \"apps\"\n");
        let d = dashboard(&p, p.monitoring.as_ref().unwrap());
        for panel in d.panels.iter().filter(|p| p.kind != "row") {
            assert!(!panel.targets.is_empty(), "{} has no query", panel.title);
            for t in &panel.targets {
                assert!(t.expr.contains("job=\"cache-metrics\",namespace=\"apps\",pod=~\"$pod\""), "{}", t.expr);
            }
        }
    }

    #[test]
    fn sentinel_mode_has_a_sentinel_row_and_no_role_label() {
        let p = plan("mode = \"sentinel\"\nreplica_count = 2\n");
        let d = dashboard(&p, p.monitoring.as_ref().unwrap());
        let row = d.panels.iter().position(|p| p.kind == "row" && p.title == "Sentinel").expect("a Sentinel row");
        let sentinel_panels: Vec<_> = d.panels[row + 1..].iter().take_while(|p| p.kind != "row").collect();
        assert!(sentinel_panels.len() >= 5);
        for panel in d.panels.iter().filter(|p| p.kind != "row") {
            for t in &panel.targets {
                assert!(!t.expr.contains("app_kubernetes_io_component"), "{}: {}", panel.title, t.expr);
                assert!(
                    t.expr.contains("job=\"redis-shared-metrics\",namespace=\"redis\"")
                        || t.expr.contains("job=\"redis-shared-sentinel-metrics\",namespace=\"redis\""),
                    "{}: {}",
                    panel.title,
                    t.expr
                );
            }
        }
        let find = |title: &str| d.panels.iter().find(|p| p.title == title).unwrap_or_else(|| panic!("no {title}"));
        assert!(find("Connected replicas").targets[0].expr.contains("redis_instance_info"));
        // Exactly one primary is green, 0 and 2 are red.
        let steps = &find("Primaries").field_config.as_ref().unwrap().defaults.thresholds.steps;
        let steps: Vec<_> = steps.iter().map(|s| (s.color, s.value)).collect();
        assert_eq!(steps, [("red", None), ("green", Some(1.0)), ("red", Some(2.0))]);
        let p = plan("");
        let d = dashboard(&p, p.monitoring.as_ref().unwrap());
        assert!(d.panels.iter().all(|p| p.title != "Sentinel"));
    }

    #[test]
    fn no_replication_row_without_replicas() {
        let p = plan("replica_count = 0\n");
        let d = dashboard(&p, p.monitoring.as_ref().unwrap());
        assert!(d.panels.iter().all(|p| p.title != "Replication"));
        let p = plan("");
        let d = dashboard(&p, p.monitoring.as_ref().unwrap());
        assert!(d.panels.iter().any(|p| p.title == "Replication"));
    }
}
