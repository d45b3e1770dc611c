//! The PrometheusRule with the release's alerts, a prometheus-operator
//! resource as a typed serde struct of our own: one group of rules per
//! concern (availability, replication, resources, persistence, Sentinel).
//!
//! Every query selects series by the labels the ServiceMonitor gives them
//! (`job` = the metrics Service, `namespace`, `pod`, `instance`, and the pod's
//! component label as `app_kubernetes_io_component`), and names only metrics
//! that redis_exporter exports (tests/py/test_monitoring.py checks them
//! against a real scrape).

use std::collections::BTreeMap;

use serde::Serialize;

use super::meta::object_meta;
use super::object::{CustomResource, custom_resource};
use super::promql::{memory_ratio, primaries, primary_series, promql_series, replication_lag_bytes, sentinels_up};
use crate::plan::{Alerts, Monitoring, Plan, SentinelPlan};

pub type PrometheusRule = CustomResource<PrometheusRuleSpec>;
custom_resource!(PrometheusRuleSpec, "monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules");

#[derive(Debug, Clone, Serialize)]
pub struct PrometheusRuleSpec {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<AlertRule>,
}

/// An alerting rule (redis-gen emits no recording rules).
#[derive(Debug, Clone, Serialize)]
pub struct AlertRule {
    pub alert: &'static str,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

// Alert template fragments (Go templates, expanded by Prometheus).
const POD: &str = "{{ $labels.pod }}";
const INSTANCE: &str = "{{ $labels.instance }}";
const NAMESPACE: &str = "{{ $labels.namespace }}";
const VALUE: &str = "{{ $value }}";

/// `metric{<the release's matchers>,extra}`.
fn series(m: &Monitoring, metric: &str, extra: &str) -> String {
    promql_series(&m.matchers, metric, extra)
}

fn rule(
    alert: &'static str,
    expr: String,
    for_: Option<&str>,
    severity: &str,
    summary: String,
    description: String,
) -> AlertRule {
    AlertRule {
        alert,
        expr,
        for_: for_.map(str::to_string),
        labels: BTreeMap::from([("severity".to_string(), severity.to_string())]),
        annotations: BTreeMap::from([("summary".to_string(), summary), ("description".to_string(), description)]),
    }
}

/// What reaching maxmemory does under the profile's eviction policy.
fn at_maxmemory(policy: &str) -> &'static str {
    if policy == "noeviction" {
        "with maxmemory-policy noeviction, writes fail once it is reached"
    } else {
        "once it is reached, Redis evicts keys to make room for writes"
    }
}

/// The alert groups of the release.
pub fn rule_groups(plan: &Plan, m: &Monitoring, a: &Alerts) -> Vec<RuleGroup> {
    let mut groups = vec![availability(plan, m, a)];
    if plan.replica_count > 0 {
        groups.push(replication(plan, m, a));
    }
    groups.push(resources(plan, m, a));
    groups.push(persistence(plan, m, a));
    if let (Some(s), Some(sm)) = (&plan.sentinel, &m.sentinel_matchers) {
        groups.push(sentinel_group(plan, s, m, sm, a));
    }
    groups
}

/// `{{ $labels.pod }} ({{ $labels.instance }}) in namespace ...`, for descriptions.
fn on_pod() -> String {
    format!("pod {POD} ({INSTANCE}) in namespace {NAMESPACE}")
}

/// Every Redis pod up, scraped and not restarting.
fn availability(plan: &Plan, m: &Monitoring, a: &Alerts) -> RuleGroup {
    let (release, ns, pods, on_pod) = (&plan.release, &plan.namespace, plan.pod_count(), on_pod());
    RuleGroup {
        name: format!("{release}.availability"),
        rules: vec![
            rule(
                "RedisDown",
                format!("{} == 0", series(m, "redis_up", "")),
                Some(&a.down_for),
                "critical",
                format!("Redis is down in pod {POD}"),
                format!(
                    "The redis_exporter sidecar of {on_pod} cannot reach Redis: the server is down, restarting, or refusing the exporter's password."
                ),
            ),
            rule(
                "RedisExporterDown",
                format!("{} == 0", series(m, "up", "")),
                Some(&a.down_for),
                "warning",
                format!("Prometheus cannot scrape the Redis exporter of pod {POD}"),
                format!("The scrape of the redis_exporter sidecar of {on_pod} fails: Redis is unmonitored there."),
            ),
            rule(
                "RedisMetricsAbsent",
                format!("absent({})", series(m, "up", "")),
                Some(&a.down_for),
                "warning",
                format!("No Redis metrics of release {release} reach Prometheus"),
                format!(
                    "Prometheus has no scrape target for the Redis release {release} in namespace {ns}: every pod is gone, or Prometheus does not select the ServiceMonitor {release} (check its serviceMonitorSelector and service_monitor_labels)."
                ),
            ),
            rule(
                "RedisPodsMissing",
                format!("count by (job, namespace) ({}) < {pods}", series(m, "up", "")),
                Some(&a.down_for),
                "warning",
                format!("Only {VALUE} of {pods} Redis pods of release {release} are scraped"),
                format!(
                    "Prometheus scrapes {VALUE} of the {pods} Redis pods of release {release} in namespace {NAMESPACE}: some pods are not running or not ready."
                ),
            ),
            rule(
                "RedisRestartingFrequently",
                // Per pod, not per series: a recreated pod gets a new IP, so a
                // new `instance`, and its restart would be invisible to resets()
                // of a single series.
                format!(
                    "resets((max by (job, namespace, pod) ({}))[{}:{}]) >= {}",
                    series(m, "redis_uptime_in_seconds", ""),
                    a.restart_window,
                    m.scrape_interval,
                    a.restarts
                ),
                None,
                "warning",
                format!("Redis in pod {POD} restarts frequently"),
                format!(
                    "Redis in pod {POD} in namespace {NAMESPACE} restarted {VALUE} times in the last {}: look for OOM kills, failing probes or crashes in its logs.",
                    a.restart_window
                ),
            ),
        ],
    }
}

/// Every replica linked to the primary, and not too far behind.
fn replication(plan: &Plan, m: &Monitoring, a: &Alerts) -> RuleGroup {
    let (release, replicas, on_pod) = (&plan.release, plan.replica_count, on_pod());
    RuleGroup {
        name: format!("{release}.replication"),
        rules: vec![
            rule(
                "RedisReplicaLinkDown",
                format!("{} == 0", series(m, "redis_master_link_up", "")),
                Some(&a.replication_for),
                "critical",
                format!("Redis replica {POD} lost its link to the primary"),
                format!(
                    "The replica in {on_pod} is not connected to its primary {{{{ $labels.master_host }}}}:{{{{ $labels.master_port }}}}: it serves stale data until it resynchronizes."
                ),
            ),
            rule(
                "RedisReplicasMissing",
                format!("{} < {replicas}", primary_series(m, &m.matchers, "redis_connected_slaves")),
                Some(&a.replication_for),
                "warning",
                format!("The Redis primary {POD} has {VALUE} of {replicas} replicas"),
                format!(
                    "The primary in {on_pod} has {VALUE} connected replicas; the profile declares replica_count = {replicas}."
                ),
            ),
            rule(
                "RedisReplicationLagging",
                format!("({}) > {}", replication_lag_bytes(m, &m.matchers), a.replication_lag_bytes),
                Some(&a.replication_lag_for),
                "warning",
                format!("Redis replica {POD} lags behind the primary"),
                format!(
                    "The replica in {on_pod} is {{{{ $value | humanize1024 }}}}B behind the primary's replication offset (threshold {} bytes, alert_replication_lag).",
                    a.replication_lag_bytes
                ),
            ),
        ],
    }
}

/// Memory below maxmemory, connections accepted.
fn resources(plan: &Plan, m: &Monitoring, a: &Alerts) -> RuleGroup {
    let (release, on_pod) = (&plan.release, on_pod());
    RuleGroup {
        name: format!("{release}.resources"),
        rules: vec![
            rule(
                "RedisMemoryNearMax",
                format!("{} > {}", memory_ratio(&m.matchers), f64::from(a.memory_percent) / 100.0),
                Some(&a.memory_for),
                "warning",
                format!("Redis in pod {POD} is close to maxmemory"),
                format!(
                    "Redis in {on_pod} uses {{{{ $value | humanizePercentage }}}} of its maxmemory (threshold {}%); {}.",
                    a.memory_percent,
                    at_maxmemory(&plan.maxmemory_policy)
                ),
            ),
            rule(
                "RedisRejectingConnections",
                format!(
                    "increase({}[5m]) > {}",
                    series(m, "redis_rejected_connections_total", ""),
                    a.rejected_connections
                ),
                None,
                "warning",
                format!("Redis in pod {POD} refuses connections"),
                format!(
                    "Redis in {on_pod} refused {{{{ $value | humanize }}}} connections in the last 5 minutes: maxclients is reached."
                ),
            ),
        ],
    }
}

/// RDB snapshots and the append-only file written.
fn persistence(plan: &Plan, m: &Monitoring, a: &Alerts) -> RuleGroup {
    let (release, on_pod) = (&plan.release, on_pod());
    RuleGroup {
        name: format!("{release}.persistence"),
        rules: vec![
            rule(
                "RedisRdbSaveFailing",
                format!("{} == 0", series(m, "redis_rdb_last_bgsave_status", "")),
                Some(&a.persistence_for),
                "critical",
                format!("Redis in pod {POD} cannot write its RDB snapshot"),
                format!(
                    "The last RDB snapshot of Redis in {on_pod} failed, and Redis refuses writes while snapshots fail (stop-writes-on-bgsave-error). Check the volume /data: free space, permissions."
                ),
            ),
            rule(
                "RedisAofWriteFailing",
                format!("{} == 0", series(m, "redis_aof_last_write_status", "")),
                Some(&a.persistence_for),
                "critical",
                format!("Redis in pod {POD} cannot write its append-only file"),
                format!(
                    "The last write to the append-only file of Redis in {on_pod} failed; Redis refuses writes until it succeeds. Check the volume /data: free space, permissions."
                ),
            ),
            rule(
                "RedisAofRewriteFailing",
                format!("{} == 0", series(m, "redis_aof_last_bgrewrite_status", "")),
                Some(&a.persistence_for),
                "warning",
                format!("Redis in pod {POD} cannot rewrite its append-only file"),
                format!(
                    "The last rewrite of the append-only file of Redis in {on_pod} failed, so the file keeps growing. Check the volume /data: free space, permissions."
                ),
            ),
        ],
    }
}

/// Mode sentinel: one primary, Sentinels that answer and agree it is ok,
/// and a primary that does not change too often.
fn sentinel_group(plan: &Plan, s: &SentinelPlan, m: &Monitoring, sm: &str, a: &Alerts) -> RuleGroup {
    let release = &plan.release;
    let (count, quorum, replicas) = (s.count, s.quorum, plan.replica_count);
    let on_pod = on_pod();
    let sentinel = |metric: &str| promql_series(sm, metric, "");
    RuleGroup {
        name: format!("{release}.sentinel"),
        rules: vec![
            rule(
                "RedisNotOnePrimary",
                format!("{} != 1", primaries(&m.matchers)),
                Some(&a.down_for),
                "critical",
                format!("{VALUE} Redis pods of release {release} report role master"),
                format!(
                    "{VALUE} Redis pods of release {release} in namespace {NAMESPACE} report role:master; there must be exactly one. 0: writes fail and the Sentinels did not promote a replica; 2 or more: a split brain, where writes to the wrong primary are lost."
                ),
            ),
            rule(
                "RedisPrimaryChangingFrequently",
                // Every episode of a Redis process as primary is a series of its
                // own (run_id and role are labels): a promotion or a restart of
                // the primary starts a new one. Series within the window, minus
                // the one that was primary at its start.
                format!(
                    "count by (job, namespace) (count_over_time({}[{}])) - 1 >= {}",
                    series(m, "redis_instance_info", "role=\"master\""),
                    a.restart_window,
                    a.restarts
                ),
                None,
                "warning",
                format!("The primary of release {release} changed {VALUE} times in {}", a.restart_window),
                format!(
                    "The primary of the Redis release {release} in namespace {NAMESPACE} changed (a failover, or a restart of the primary) {VALUE} times in the last {}: look for a primary that crashes, is OOM-killed or stalls longer than sentinel_down_after_ms.",
                    a.restart_window
                ),
            ),
            rule(
                "RedisSentinelDown",
                format!("{} == 0", sentinel("redis_up")),
                Some(&a.down_for),
                "warning",
                format!("Sentinel is down in pod {POD}"),
                format!(
                    "The redis_exporter sidecar of {on_pod} cannot reach its Sentinel: the Sentinel is down, restarting, or refusing the exporter's password."
                ),
            ),
            rule(
                "RedisSentinelsMissing",
                format!("{} < {count}", sentinels_up(sm)),
                Some(&a.down_for),
                "warning",
                format!("{VALUE} of {count} Sentinels of release {release} answer"),
                format!(
                    "Only {VALUE} of the {count} Sentinels of release {release} in namespace {NAMESPACE} answer their exporter: a failover needs {quorum}."
                ),
            ),
            rule(
                "RedisSentinelQuorumLost",
                format!("{} < {quorum}", sentinels_up(sm)),
                Some(&a.down_for),
                "critical",
                format!("Fewer Sentinels of release {release} answer than the quorum ({quorum})"),
                format!(
                    "Only {VALUE} of the {count} Sentinels of release {release} in namespace {NAMESPACE} answer, fewer than the {quorum} a failover needs: if the primary dies now, no replica is promoted."
                ),
            ),
            rule(
                "RedisSentinelPeersMissing",
                format!("{} < {quorum}", sentinel("redis_sentinel_master_ok_sentinels")),
                Some(&a.down_for),
                "warning",
                format!("The Sentinel in pod {POD} sees fewer Sentinels than the quorum"),
                format!(
                    "The Sentinel in {on_pod} sees {VALUE} Sentinels in good health, itself included, fewer than the quorum of {quorum}: it is cut off from its peers and cannot take part in a failover."
                ),
            ),
            rule(
                "RedisSentinelPrimaryNotOk",
                format!("{} == 0", sentinel("redis_sentinel_master_status")),
                Some(&a.down_for),
                "critical",
                format!("The Sentinel in pod {POD} sees the primary as {{{{ $labels.master_status }}}}"),
                format!(
                    "The Sentinel in {on_pod} sees the primary {{{{ $labels.master_address }}}} as {{{{ $labels.master_status }}}} (not ok) and the Sentinels have not replaced it: clients of {release}-master cannot write."
                ),
            ),
            rule(
                "RedisSentinelReplicasMissing",
                format!("{} < {replicas}", sentinel("redis_sentinel_master_ok_slaves")),
                Some(&a.replication_for),
                "warning",
                format!("The Sentinel in pod {POD} sees {VALUE} of {replicas} replicas in good health"),
                format!(
                    "The Sentinel in {on_pod} sees {VALUE} replicas of the primary {{{{ $labels.master_address }}}} in good health; the profile declares replica_count = {replicas}, so fewer replicas can be promoted."
                ),
            ),
        ],
    }
}

pub fn prometheus_rule(plan: &Plan) -> Option<PrometheusRule> {
    let m = plan.monitoring.as_ref()?;
    let a = m.alerts.as_ref()?;
    let mut labels = plan.labels();
    labels.extend(a.labels.clone());
    Some(PrometheusRule {
        metadata: object_meta(&a.name, &plan.namespace, labels),
        spec: PrometheusRuleSpec { groups: rule_groups(plan, m, a) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture::plan;

    fn alerts(p: &Plan) -> Vec<AlertRule> {
        prometheus_rule(p).unwrap().spec.groups.into_iter().flat_map(|g| g.rules).collect()
    }

    fn expr<'a>(rules: &'a [AlertRule], name: &str) -> &'a str {
        &rules.iter().find(|r| r.alert == name).unwrap_or_else(|| panic!("no {name}")).expr
    }

    #[test]
    fn thresholds_from_the_profile_reach_the_expressions() {
        let p = plan(
            "replica_count = 3\nalert_replication_lag = \"1Mi\"\nalert_memory_percent = 75\nalert_restarts = 5\nalert_restart_window = \"2h\"\nalert_rejected_connections = 10\nalert_down_for = \"30s\"\nservice_monitor_interval = \"15s\"\n",
        );
        let r = alerts(&p);
        assert!(expr(&r, "RedisReplicationLagging").ends_with(") > 1048576"));
        assert!(expr(&r, "RedisMemoryNearMax").ends_with(" > 0.75"));
        assert!(expr(&r, "RedisRestartingFrequently").ends_with("[2h:15s]) >= 5"));
        assert!(expr(&r, "RedisRejectingConnections").ends_with("[5m]) > 10"));
        assert!(expr(&r, "RedisReplicasMissing").ends_with(" < 3"));
        assert!(expr(&r, "RedisPodsMissing").ends_with(" < 4"));
        let down = r.iter().find(|r| r.alert == "RedisDown").unwrap();
        assert_eq!(down.for_.as_deref(), Some("30s"));
    }

    #[test]
    fn every_alert_has_a_severity_a_summary_and_a_description() {
        for r in alerts(&plan("")) {
            assert!(["critical", "warning"].contains(&r.labels["severity"].as_str()), "{}", r.alert);
            assert!(!r.annotations["summary"].is_empty(), "{}", r.alert);
            assert!(r.annotations["description"].contains("namespace"), "{}", r.alert);
        }
    }

    #[test]
    fn without_replicas_there_are_no_replication_alerts() {
        let p = plan("replica_count = 0\n");
        let groups = prometheus_rule(&p).unwrap().spec.groups;
        assert!(groups.iter().all(|g| !g.name.ends_with(".replication")));
        assert!(expr(&alerts(&p), "RedisPodsMissing").ends_with(" < 1"));
    }

    const SENTINEL: &str = "mode = \"sentinel\"\nreplica_count = 2\nsentinel_count = 5\n";

    #[test]
    fn sentinel_mode_finds_the_primary_by_its_reported_role_not_a_pod_label() {
        let r = alerts(&plan(SENTINEL));
        for rule in &r {
            assert!(!rule.expr.contains("app_kubernetes_io_component"), "{}: {}", rule.alert, rule.expr);
        }
        let by_role = "and on (job, namespace, instance) redis_instance_info{job=\"redis-shared-metrics\",namespace=\"redis\",role=\"master\"})";
        assert!(expr(&r, "RedisReplicasMissing").contains(by_role), "{}", expr(&r, "RedisReplicasMissing"));
        assert!(expr(&r, "RedisReplicasMissing").ends_with(") < 2"));
        assert!(expr(&r, "RedisReplicationLagging").contains(by_role));
        // Replication mode keeps the pod label.
        let r = alerts(&plan("replica_count = 2\n"));
        assert!(expr(&r, "RedisReplicasMissing").contains("app_kubernetes_io_component=\"master\""));
        assert!(r.iter().all(|r| !r.expr.contains("redis_instance_info")));
    }

    #[test]
    fn sentinel_alerts_take_their_thresholds_from_the_sentinel_settings() {
        let p = plan(&format!("{SENTINEL}alert_restarts = 4\nalert_restart_window = \"3h\"\n"));
        let groups = prometheus_rule(&p).unwrap().spec.groups;
        let sentinel = groups.iter().find(|g| g.name == "redis-shared.sentinel").expect("a sentinel group");
        let names: Vec<_> = sentinel.rules.iter().map(|r| r.alert).collect();
        assert_eq!(
            names,
            [
                "RedisNotOnePrimary",
                "RedisPrimaryChangingFrequently",
                "RedisSentinelDown",
                "RedisSentinelsMissing",
                "RedisSentinelQuorumLost",
                "RedisSentinelPeersMissing",
                "RedisSentinelPrimaryNotOk",
                "RedisSentinelReplicasMissing",
            ]
        );
        let r = &sentinel.rules;
        let sentinels = "{job=\"redis-shared-sentinel-metrics\",namespace=\"redis\"}";
        assert!(expr(r, "RedisNotOnePrimary").ends_with(" != 1"));
        assert!(expr(r, "RedisPrimaryChangingFrequently").ends_with("[3h])) - 1 >= 4"));
        assert!(
            expr(r, "RedisSentinelsMissing").ends_with(" < 5") && expr(r, "RedisSentinelsMissing").contains(sentinels)
        );
        assert!(expr(r, "RedisSentinelQuorumLost").ends_with(" < 3"));
        assert!(
            expr(r, "RedisSentinelPeersMissing")
                .ends_with(&format!("redis_sentinel_master_ok_sentinels{sentinels} < 3"))
        );
        assert!(
            expr(r, "RedisSentinelReplicasMissing")
                .ends_with(&format!("redis_sentinel_master_ok_slaves{sentinels} < 2"))
        );
        assert_eq!(expr(r, "RedisSentinelPrimaryNotOk"), format!("redis_sentinel_master_status{sentinels} == 0"));
        assert_eq!(expr(r, "RedisSentinelDown"), format!("redis_up{sentinels} == 0"));
        // The Redis pods' own alerts count the Redis pods only.
        assert!(expr(&alerts(&p), "RedisPodsMissing").contains("job=\"redis-shared-metrics\""));
        assert!(prometheus_rule(&plan("")).unwrap().spec.groups.iter().all(|g| !g.name.ends_with(".sentinel")));
    }

    #[test]
    fn the_rule_is_switched_off_by_its_key() {
        assert!(prometheus_rule(&plan("enable_alerts = false\n")).is_none());
        assert!(prometheus_rule(&plan("enable_service_monitor = false\n")).is_none());
        assert!(prometheus_rule(&plan(&format!("{SENTINEL}enable_alerts = false\n"))).is_none());
    }
}
