//! The ConfigMap: redis.conf and the pod scripts of the release's topology.
//! Mode replication: the role files and init.sh; mode sentinel: every
//! template under `sentinel/`, with the ACL rules that stand in for
//! rename-command (Sentinel needs CONFIG on failover, redis/redis#10328).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use minijinja::Value;

use super::meta::object_meta;
use crate::plan::{PROXY_HEALTH_PORT, Plan, SENTINEL_PORT, SentinelPlan};
use crate::render;

/// Where the templates of mode sentinel are (each is a file of its ConfigMap).
const SENTINEL_TEMPLATES: &str = "sentinel/";

pub fn config_map(plan: &Plan) -> ConfigMap {
    ConfigMap {
        metadata: object_meta(&plan.names.config, &plan.namespace, plan.labels()),
        data: Some(config_files(plan)),
        ..Default::default()
    }
}

/// The files of the ConfigMap, by file name.
pub fn config_files(plan: &Plan) -> BTreeMap<String, String> {
    match &plan.sentinel {
        None => {
            render_all(&["redis.conf", "master.conf", "replica.conf", "init.sh", "probe.sh"], &render::context(plan))
        }
        Some(s) => sentinel_files(plan, s),
    }
}

fn render_all(names: &[&str], ctx: &Value) -> BTreeMap<String, String> {
    names.iter().map(|name| (name.to_string(), render::render(name, ctx.clone()))).collect()
}

/// The files of the ConfigMap in mode sentinel.
fn sentinel_files(plan: &Plan, s: &SentinelPlan) -> BTreeMap<String, String> {
    let base = render::context(plan);
    let ctx = minijinja::context! {
        // The base redis.conf without rename-command: ACLs disable commands here.
        disabled_commands => Vec::<String>::new(),
        nodes => &s.nodes,
        node_count => plan.pod_count(),
        node_dns_suffix => &s.node_dns_suffix,
        sentinel_sts => &s.sentinel,
        sentinel_dns_suffix => &s.sentinel_dns_suffix,
        sentinel_count => s.count,
        sentinel_port => SENTINEL_PORT,
        proxy_health_port => PROXY_HEALTH_PORT,
        quorum => s.quorum,
        master_set => &s.master_set,
        down_after_ms => s.down_after_ms,
        failover_timeout_ms => s.failover_timeout_ms,
        min_replicas_max_lag => s.min_replicas_max_lag,
        // node.sh handoff waits at most half the grace period for the failover.
        handoff_wait_s => plan.termination_grace_period_seconds / 2,
        app_rules => app_rules(plan),
        sentinel_rules => SENTINEL_RULES,
        replication_rules => REPLICATION_RULES,
        exporter_rules => EXPORTER_RULES,
        sentinel_client_rules => SENTINEL_CLIENT_RULES,
        sentinel_exporter_rules => SENTINEL_EXPORTER_RULES,
        ..base
    };
    let mut files = render_all(&["redis.conf", "probe.sh"], &ctx);
    files.extend(render::templates_in(SENTINEL_TEMPLATES).map(|name| {
        let file = &name[SENTINEL_TEMPLATES.len()..];
        (file.to_string(), render::render(name, ctx.clone()))
    }));
    files
}

/// ACL rules of the application user (`default`): everything but the
/// profile's disabled commands, and never ACL (it could lift the rules),
/// REPLICAOF/SLAVEOF/FAILOVER (Sentinel owns the topology).
pub fn app_rules(plan: &Plan) -> String {
    let mut rules = vec!["+@all".to_string()];
    let mut denied: Vec<String> = plan.disabled_commands.iter().map(|c| c.to_ascii_lowercase()).collect();
    for always in ["acl", "replicaof", "slaveof", "failover"] {
        if !denied.iter().any(|d| d == always) {
            denied.push(always.into());
        }
    }
    rules.extend(denied.into_iter().map(|c| format!("-{c}")));
    rules.join(" ")
}

/// What Sentinel sends to Redis (the Redis documentation's Sentinel ACL).
pub const SENTINEL_RULES: &str = "resetchannels &__sentinel__:hello -@all +multi +exec +slaveof +replicaof +ping +info +role +subscribe +publish +config|rewrite +client|setname +client|kill +script|kill +client|pause +client|unpause";
/// What a replica sends to its primary.
pub const REPLICATION_RULES: &str = "-@all +psync +replconf +ping";
/// What redis_exporter and the HAProxy health check send: read-only.
pub const EXPORTER_RULES: &str = "-@all +auth +hello +ping +select +client|setname +info +slowlog|get +slowlog|len +latency|latest +latency|histogram +dbsize";
/// What redis_exporter asks a Sentinel (user `exporter` there too): INFO,
/// and the SENTINEL queries behind the redis_sentinel_* series.
pub const SENTINEL_EXPORTER_RULES: &str = "-@all +auth +hello +ping +client|setname +info +sentinel|masters +sentinel|master +sentinel|sentinels +sentinel|replicas +sentinel|slaves +sentinel|ckquorum";
/// What clients may ask a Sentinel with the application password: where the
/// primary is, and its events; never SENTINEL SET, FAILOVER, RESET...
pub const SENTINEL_CLIENT_RULES: &str = "-@all +auth +hello +ping +role +client|setname +client|getname +subscribe +psubscribe +unsubscribe +punsubscribe +sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|replicas +sentinel|slaves +sentinel|sentinels +sentinel|myid +sentinel|ckquorum";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture::{SENTINEL, plan};

    #[test]
    fn sentinel_accepts_the_exporter_user_with_read_only_rules() {
        let files = config_files(&plan(SENTINEL));
        assert!(
            files["sentinel.sh"]
                .contains(&format!("user exporter on $(acl_hash \"$exporter\") {SENTINEL_EXPORTER_RULES}"))
        );
        assert!(files["sentinel.sh"].contains("exporter_password_file 26379"));
        assert!(files["node.sh"].contains("exporter_password_file 6379"));
        for rule in SENTINEL_EXPORTER_RULES.split(' ').filter(|r| r.starts_with('+')) {
            assert!(
                ["+auth", "+hello", "+ping", "+client|setname", "+info"].contains(&rule)
                    || rule.starts_with("+sentinel|"),
                "{rule}"
            );
        }
        for write in ["set", "failover", "reset", "remove", "monitor", "config"] {
            assert!(!SENTINEL_EXPORTER_RULES.contains(&format!("+sentinel|{write}")), "{write}");
        }
    }

    #[test]
    fn disabled_commands_become_acl_rules_not_renames() {
        let files = config_files(&plan(SENTINEL));
        assert!(!files["redis.conf"].contains("rename-command"));
        assert!(
            files["node.sh"].contains("+@all -flushdb -flushall -config -shutdown -acl -replicaof -slaveof -failover")
        );
        // The passwords come from the Secret files at run time only.
        for (name, text) in &files {
            assert!(!text.contains("requirepass"), "{name}");
        }
        assert!(files["haproxy.cfg"].contains("tcp-check expect string role:master"));
        assert!(files["sentinel.sh"].contains("sentinel resolve-hostnames yes"));
    }
}
