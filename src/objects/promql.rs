//! PromQL shared by the alerts and the dashboard: series selectors of the
//! release (by the labels the ServiceMonitor gives them) and the few
//! expressions both use.

use crate::plan::Monitoring;

/// `metric{matchers,extra}`: a selector of the release's series.
pub fn promql_series(matchers: &str, metric: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!("{metric}{{{matchers}{sep}{extra}}}")
}

/// Matcher of the primary's series (by its pod's component label).
fn primary(m: &Monitoring) -> String {
    format!("{}=\"master\"", m.component_label)
}

/// The primary's series of `metric` among those `matchers` select. By its
/// pod's role label in mode replication; in mode sentinel, where the primary
/// moves at every failover, by the role its own exporter reports
/// (`redis_instance_info{role="master"}` of the same target).
pub fn primary_series(m: &Monitoring, matchers: &str, metric: &str) -> String {
    if m.sentinel_matchers.is_none() {
        return promql_series(matchers, metric, &primary(m));
    }
    format!(
        "({} and on (job, namespace, instance) {})",
        promql_series(matchers, metric, ""),
        promql_series(matchers, "redis_instance_info", "role=\"master\"")
    )
}

/// How many Redis pods report `role:master`, 0 included (while at least one
/// exporter of a Redis pod answers).
pub fn primaries(matchers: &str) -> String {
    format!(
        "(count by (job, namespace) ({}) or count by (job, namespace) ({}) * 0)",
        promql_series(matchers, "redis_instance_info", "role=\"master\""),
        promql_series(matchers, "redis_up", "")
    )
}

/// How many Sentinels answer their exporter, 0 included (also when none is
/// scraped at all).
pub fn sentinels_up(matchers: &str) -> String {
    let up = promql_series(matchers, "redis_up", "");
    format!("(sum by (job, namespace) ({up}) or absent({up}) - 1)")
}

/// Bytes each replica is behind: the primary's replication offset minus the
/// replica's. They come from different pods, so they are matched on the
/// labels both share (`job`, `namespace`); the result keeps the replica's
/// labels (`pod`, `instance`, `master_host`...). `max` keeps the left side
/// one series while an old primary series is still fresh after a restart.
/// `matchers` may narrow the replicas (the dashboard's pod variable).
pub fn replication_lag_bytes(m: &Monitoring, replica_matchers: &str) -> String {
    format!(
        "max by (job, namespace) ({}) - on (job, namespace) group_right {}",
        primary_series(m, &m.matchers, "redis_master_repl_offset"),
        promql_series(replica_matchers, "redis_slave_repl_offset", "")
    )
}

/// Memory used as a fraction of `maxmemory`; no series when maxmemory is 0.
pub fn memory_ratio(matchers: &str) -> String {
    format!(
        "{} / ({} > 0)",
        promql_series(matchers, "redis_memory_used_bytes", ""),
        promql_series(matchers, "redis_memory_max_bytes", "")
    )
}
