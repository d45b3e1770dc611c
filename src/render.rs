//! Text that really is text (redis.conf, shell scripts, the out/ README) comes
//! from minijinja templates under templates/, embedded in the binary. Every
//! value reaching a template was validated by the plan; templates auto-escape
//! nothing, so the plan's rules are what keep profile strings inert.

use std::collections::BTreeMap;

use minijinja::{Environment, Value};

use crate::plan::{Plan, Role};

/// Paths inside the pods, shared by the templates and the object builders.
pub mod paths {
    /// The ConfigMap (redis.conf, role files, scripts).
    pub const CONFIG_DIR: &str = "/etc/redis-gen";
    /// The Secret volume.
    pub const SECRET_DIR: &str = "/etc/redis-secret";
    /// Memory-backed emptyDir for the runtime redis.conf (holds the password).
    pub const RUNTIME_DIR: &str = "/run/redis";
    /// Memory-backed emptyDir for the exporter's password file.
    pub const EXPORTER_DIR: &str = "/run/redis-exporter";
    pub const DATA_DIR: &str = "/data";
    pub const TMP_DIR: &str = "/tmp";
}

const TEMPLATES: &[(&str, &str)] = &[
    ("redis.conf", include_str!("../templates/redis.conf.j2")),
    ("master.conf", include_str!("../templates/master.conf.j2")),
    ("replica.conf", include_str!("../templates/replica.conf.j2")),
    ("init.sh", include_str!("../templates/init.sh.j2")),
    ("probe.sh", include_str!("../templates/probe.sh.j2")),
    ("README.md", include_str!("../templates/README.md.j2")),
    // Mode sentinel (src/objects/sentinel.rs).
    ("sentinel/node.conf", include_str!("../templates/sentinel/node.conf.j2")),
    ("sentinel/lib.sh", include_str!("../templates/sentinel/lib.sh.j2")),
    ("sentinel/node.sh", include_str!("../templates/sentinel/node.sh.j2")),
    ("sentinel/sentinel.sh", include_str!("../templates/sentinel/sentinel.sh.j2")),
    ("sentinel/sentinel-probe.sh", include_str!("../templates/sentinel/sentinel-probe.sh.j2")),
    ("sentinel/proxy.sh", include_str!("../templates/sentinel/proxy.sh.j2")),
    ("sentinel/haproxy.cfg", include_str!("../templates/sentinel/haproxy.cfg.j2")),
];

/// The template environment, built once per process. Each template is
/// parsed the first time it is used (parsing is most of the cost of
/// rendering, and a replication build needs half of them).
fn environment() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(build_environment)
}

fn build_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters"),
    );
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_loader(|name| Ok(TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, src)| src.to_string())));
    env
}

/// Renders one embedded template.
pub fn render(name: &str, ctx: Value) -> String {
    environment()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| panic!("template {name} failed: {e:#}"))
}

/// The values every template may use.
pub fn context(plan: &Plan) -> Value {
    let maxmemory_note = if plan.maxmemory_bytes == 0 {
        "no maxmemory; the container memory limit is the only bound.".to_string()
    } else {
        format!(
            "{} bytes ({:.0}% of the primary's memory limit {}).",
            plan.maxmemory_bytes,
            percent(plan),
            plan.master.memory_limit
        )
    };
    minijinja::context! {
        release => &plan.release,
        profile => &plan.profile_name,
        port => plan.port,
        appendfsync => &plan.appendfsync,
        maxmemory => plan.maxmemory_bytes,
        maxmemory_note => maxmemory_note,
        maxmemory_policy => &plan.maxmemory_policy,
        disabled_commands => &plan.disabled_commands,
        primary_host => &plan.names.primary_pod_dns,
        metrics => plan.metrics.is_some(),
        config_dir => paths::CONFIG_DIR,
        runtime_dir => paths::RUNTIME_DIR,
        exporter_dir => paths::EXPORTER_DIR,
        secret_file => format!("{}/{}", paths::SECRET_DIR, crate::plan::PASSWORD_KEY),
    }
}

fn percent(plan: &Plan) -> f64 {
    let limit = crate::plan::quantity::Quantity::parse(&plan.master.memory_limit).map_or(1.0, |q| q.0);
    plan.maxmemory_bytes as f64 * 100.0 / limit
}

/// The files of the Redis ConfigMap, by file name.
pub fn config_files(plan: &Plan) -> BTreeMap<String, String> {
    let ctx = context(plan);
    let mut files = BTreeMap::new();
    for name in ["redis.conf", Role::Master.conf_file(), Role::Replica.conf_file(), "init.sh", "probe.sh"] {
        files.insert(name.to_string(), render(name, ctx.clone()));
    }
    files
}

impl Role {
    /// The role's config file in the ConfigMap.
    pub fn conf_file(self) -> &'static str {
        match self {
            Role::Master => "master.conf",
            Role::Replica => "replica.conf",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        // They are parsed when first used: check them all here.
        for (name, _) in TEMPLATES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
        assert!(environment().get_template("missing").is_err());
    }
}
