//! What every Redis pod runs with: the port, the number of replicas, the
//! eviction and fsync policies, the disabled commands, the image and the
//! storage.

use super::check::Checker;
use super::monitoring::METRICS_PORT;
use super::redis_commands;
use crate::profile::Sp;

/// Commands that authentication, probes, metrics or replication need.
const INDISPENSABLE: [&str; 7] = ["AUTH", "PING", "INFO", "REPLCONF", "PSYNC", "SYNC", "HELLO"];

/// The Redis settings, checked.
pub struct Redis {
    pub port: Sp<i64>,
    pub replica_count: Sp<i64>,
    pub maxmemory_policy: String,
    pub appendfsync: String,
    pub disabled_commands: Vec<String>,
    pub image: String,
    pub storage_size: String,
    pub storage_class: String,
    pub termination_grace_period_seconds: i64,
}

impl Redis {
    pub fn resolve(c: &mut Checker<'_>) -> Redis {
        let p = c.p;
        let port = p.int("port");
        if !(1..=65535).contains(&port.value) || port.value == i64::from(METRICS_PORT) {
            c.err(
                "port",
                port.span.clone(),
                format!(
                    "{} is not a usable port; expected 1 to 65535, other than the metrics port {METRICS_PORT}",
                    port.value
                ),
            );
        }
        let replica_count = p.int("replica_count");
        if !(0..=20).contains(&replica_count.value) {
            c.err(
                "replica_count",
                replica_count.span.clone(),
                format!("{} replicas is out of range; expected 0 to 20", replica_count.value),
            );
        }
        let maxmemory_policy = c.one_of("maxmemory_policy");
        let appendfsync = c.one_of("appendfsync");
        let disabled_commands = disabled_commands(c);
        let image = c.image("redis_image");
        let storage_size = p.str("storage_size");
        c.quantity("storage_size", &storage_size, true);
        let storage_class = p.str("storage_class");
        c.dns_subdomain("storage_class", &storage_class);
        let grace = p.int("termination_grace_period_seconds");
        if !(10..=3600).contains(&grace.value) {
            c.err(
                "termination_grace_period_seconds",
                grace.span.clone(),
                format!("{} is out of range; expected 10 to 3600 seconds, enough for Redis to save", grace.value),
            );
        }
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
    for (i, cmd) in c.p.list("disabled_commands").value.into_iter().enumerate() {
        let key = format!("disabled_commands[{i}]");
        let upper = cmd.value.to_ascii_uppercase();
        if !c.check_text(&key, &cmd) {
            continue;
        }
        if !redis_commands::is_command(&upper) {
            let hint = crate::diag::closest(&upper, redis_commands::COMMANDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            c.err(&key, cmd.span.clone(), format!("`{}` is not a Redis command{hint}", cmd.value));
        } else if INDISPENSABLE.contains(&upper.as_str()) {
            c.err(
                &key,
                cmd.span.clone(),
                format!("`{upper}` cannot be disabled: authentication, probes, metrics or replication need it"),
            );
        } else if out.contains(&upper) {
            c.err(&key, cmd.span.clone(), format!("`{upper}` is listed twice"));
        }
        out.push(upper);
    }
    out
}
