//! Mode `sentinel`: how many Sentinels, their timing, the HAProxy image,
//! and the names of the objects only this mode has.

use super::check::Checker;
use super::names::{Identity, Names};
use crate::profile::Sp;
use crate::profile::keys;

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

impl SentinelPlan {
    pub fn resolve(
        c: &mut Checker<'_>,
        id: &Identity,
        names: &Names,
        port: &Sp<i64>,
        replica_count: &Sp<i64>,
    ) -> SentinelPlan {
        if replica_count.value < 1 {
            c.err(
                &keys::REPLICA_COUNT,
                replica_count.span.clone(),
                "mode `sentinel` needs at least 1 replica (2 Redis pods) to fail over to; 2 (3 pods) are recommended",
            );
        }
        if [i64::from(SENTINEL_PORT), i64::from(PROXY_HEALTH_PORT)].contains(&port.value) {
            c.err(&keys::PORT, port.span.clone(), format!("{} is used by Sentinel ({SENTINEL_PORT}) or the proxy's health page ({PROXY_HEALTH_PORT}) in mode `sentinel`", port.value));
        }
        let count = c.int_where(
            &keys::SENTINEL_COUNT,
            |v| v % 2 == 1,
            |v, min, max| format!("{v} Sentinels: expected an odd number from {min} to {max}, so that a majority survives the loss of any one"),
        );
        let down = c.int(&keys::SENTINEL_DOWN_AFTER_MS, |v, min, max| {
            format!("{v} ms is out of range; expected {min} to {max}")
        });
        let timeout = c.int(&keys::SENTINEL_FAILOVER_TIMEOUT_MS, |v, min, max| {
            format!("{v} ms is out of range; expected {min} to {max}")
        });
        let lag = c.int(&keys::SENTINEL_MIN_REPLICAS_MAX_LAG, |v, min, max| {
            format!("{v} s is out of range; expected {min} (off) to {max}")
        });
        let proxy_image = c.image(&keys::PROXY_IMAGE);
        let r = &id.release.value;
        let count = count.value as i32;
        let sentinel_headless = format!("{r}-sentinel-headless");
        SentinelPlan {
            count,
            quorum: count / 2 + 1,
            down_after_ms: down.value,
            failover_timeout_ms: timeout.value,
            min_replicas_max_lag: lag.value,
            proxy_image,
            master_set: r.clone(),
            nodes: format!("{r}-node"),
            sentinel: format!("{r}-sentinel"),
            sentinel_metrics: format!("{r}-sentinel-metrics"),
            proxy: format!("{r}-proxy"),
            internal_secret: format!("{r}-internal"),
            node_dns_suffix: format!(".{}", names.service_dns(&names.headless)),
            sentinel_dns_suffix: format!(".{}", names.service_dns(&sentinel_headless)),
            sentinel_headless,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::testing::errors;

    #[test]
    fn sentinel_bounds_are_the_key_tables() {
        let e = errors("mode = \"sentinel\"\nsentinel_failover_timeout_ms = 999\nsentinel_count = 11\n");
        let found: Vec<_> = e.iter().map(|e| (e.key.as_str(), e.message.as_str())).collect();
        assert_eq!(
            found,
            [
                ("sentinel_failover_timeout_ms", "999 ms is out of range; expected 1000 to 3600000"),
                (
                    "sentinel_count",
                    "11 Sentinels: expected an odd number from 3 to 9, so that a majority survives the loss of any one"
                ),
            ]
        );
    }
}
