//! Stage 2, the plan: the profile validated and resolved once. Everything
//! the object builders need is here in final form (names, DNS names, label
//! sets, resources, byte counts, what each SealedSecret holds), so they
//! never re-derive or re-check it.
//!
//! `Plan::resolve` is a list of resolvers, one per sub-plan, each in its own
//! file: names.rs (identity, names, labels), network.rs, redis.rs,
//! resources.rs, sentinel.rs, monitoring.rs, credentials.rs (the sealed
//! data checked against the rest). They check through one Checker
//! (check.rs), over the pure grammars of syntax.rs, and every error is
//! reported at once, in the order of the profile's text.

mod check;
pub mod credentials;
mod monitoring;
mod names;
mod network;
mod quantity;
mod redis;
mod redis_commands;
mod resources;
mod sentinel;
mod syntax;
#[cfg(test)]
pub mod testing;

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::profile::Profile;
pub use crate::profile::keys::{Appendfsync, Choice, EvictionPolicy, Mode};
use crate::seal::data::SealedData;
use credentials::{Credentials, Targets};
pub use monitoring::{Alerts, Dashboard, METRICS_PORT, Metrics, Monitoring, ServiceMonitorPlan};
pub use names::{
    COMPONENT_LABEL, Component, INSTANCE_LABEL, MANAGED_BY_LABEL, MAX_RELEASE_LEN, NAME_LABEL, Names, Role,
};
pub use network::LoadBalancer;
/// Quantities in the form the API server stores them (objects write that form).
pub use quantity::canonical as canonical_quantity;
pub use resources::Resources;
pub use sentinel::{PROXY_HEALTH_PORT, SENTINEL_PORT, SentinelPlan};

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
    /// What each SealedSecret holds, from the sealed data.
    pub credentials: Credentials,
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
    pub fn resolve(p: &Profile, sealed: Option<&SealedData>) -> Result<Plan, Vec<Diagnostic>> {
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
        // Shown in YAML comments and redis.conf: one printable line.
        let profile_name = crate::diag::escape(&p.name);
        let credentials = Credentials::resolve(
            p,
            &Targets {
                profile_name: &profile_name,
                secret_name: &names.secret,
                namespaces: std::iter::once(id.namespace.value.as_str())
                    .chain(replica_namespaces.iter().map(String::as_str))
                    .collect(),
                internal_secret: sentinel.as_ref().map(|s| s.internal_secret.as_str()),
            },
            sealed,
        );
        Ok(Plan {
            profile_name,
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
            credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::testing::{errors, plan};

    #[test]
    fn defaults_resolve_to_the_seed_deployment() {
        let p = plan("");
        assert_eq!(p.names.master, "redis-shared-master");
        assert_eq!(p.names.primary_pod_dns, "redis-shared-master-0.redis-shared-headless.redis.svc.cluster.local");
        assert_eq!(p.replica.memory_limit, "2Gi");
        assert_eq!(p.master.memory_request, "2Gi");
        assert_eq!(p.maxmemory_bytes, 715_827_882);
        assert_eq!(p.disabled_commands, ["FLUSHDB", "FLUSHALL", "CONFIG", "SHUTDOWN"]);
        assert_eq!(p.loadbalancer.unwrap().ip.to_string(), "192.168.4.203");
    }

    #[test]
    fn several_mistakes_are_reported_together() {
        let e = errors(
            "namespace = \"Redis\"\nreplica_count = 99\nstorage_size = \"10GB\"\ndisabled_commands = [\"FLUSHALLL\"]\nredis_image = \"redis\"\n",
        );
        let keys: Vec<_> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["namespace", "replica_count", "storage_size", "disabled_commands[0]", "redis_image"]);
        assert!(e[3].message.contains("did you mean `FLUSHALL`"), "{}", e[3].message);
    }
}
