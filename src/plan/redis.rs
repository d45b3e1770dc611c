//! What every Redis pod runs with: the port, the number of replicas, the
//! eviction and fsync policies, the disabled commands, the image and the
//! storage.

use super::check::{At, Checker};
use super::monitoring::METRICS_PORT;
use super::redis_commands;
use crate::profile::Sp;
use crate::profile::keys::{self, Appendfsync, EvictionPolicy};

/// Commands that authentication, probes, metrics or replication need.
const INDISPENSABLE: [&str; 7] = ["AUTH", "PING", "INFO", "REPLCONF", "PSYNC", "SYNC", "HELLO"];

/// The Redis settings, checked.
pub struct Redis {
    pub port: Sp<i64>,
    pub replica_count: Sp<i64>,
    pub maxmemory_policy: EvictionPolicy,
    pub appendfsync: Appendfsync,
    pub disabled_commands: Vec<String>,
    pub image: String,
    pub storage_size: String,
    pub storage_class: String,
    pub termination_grace_period_seconds: i64,
}

impl Redis {
    pub fn resolve(c: &mut Checker<'_>) -> Redis {
        let port = c.int_where(
            &keys::PORT,
            |v| v != i64::from(METRICS_PORT),
            |v, min, max| {
                format!("{v} is not a usable port; expected {min} to {max}, other than the metrics port {METRICS_PORT}")
            },
        );
        let replica_count =
            c.int(&keys::REPLICA_COUNT, |v, min, max| format!("{v} replicas is out of range; expected {min} to {max}"));
        let maxmemory_policy = c.choice(&keys::MAXMEMORY_POLICY);
        let appendfsync = c.choice(&keys::APPENDFSYNC);
        let disabled_commands = disabled_commands(c);
        let image = c.image(&keys::REDIS_IMAGE);
        let storage_size = c.str(&keys::STORAGE_SIZE);
        c.quantity(&At::key(&keys::STORAGE_SIZE), &storage_size, true);
        let storage_class = c.str(&keys::STORAGE_CLASS);
        c.dns_subdomain(&At::key(&keys::STORAGE_CLASS), &storage_class);
        let grace = c.int(&keys::TERMINATION_GRACE_PERIOD_SECONDS, |v, min, max| {
            format!("{v} is out of range; expected {min} to {max} seconds, enough for Redis to save")
        });
        Redis {
            port,
            replica_count,
            maxmemory_policy,
            appendfsync,
            disabled_commands,
            image,
            storage_size: storage_size.value,
            storage_class: storage_class.value,
            termination_grace_period_seconds: grace.value,
        }
    }
}

/// `disabled_commands`, upper-cased: real commands, each once, none that
/// redis-gen's own pods need.
fn disabled_commands(c: &mut Checker<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, cmd) in c.list(&keys::DISABLED_COMMANDS).value.into_iter().enumerate() {
        let at = At::item(&keys::DISABLED_COMMANDS, i);
        let upper = cmd.value.to_ascii_uppercase();
        if !c.check_text(&at, &cmd) {
            continue;
        }
        if !redis_commands::is_command(&upper) {
            let hint = crate::diag::closest(&upper, redis_commands::COMMANDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            c.err_at(&at, cmd.span.clone(), format!("`{}` is not a Redis command{hint}", cmd.value));
        } else if INDISPENSABLE.contains(&upper.as_str()) {
            c.err_at(
                &at,
                cmd.span.clone(),
                format!("`{upper}` cannot be disabled: authentication, probes, metrics or replication need it"),
            );
        } else if out.contains(&upper) {
            c.err_at(&at, cmd.span.clone(), format!("`{upper}` is listed twice"));
        }
        out.push(upper);
    }
    out
}
