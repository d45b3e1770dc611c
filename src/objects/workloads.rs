//! Workloads: the ServiceAccount; in mode replication the primary and replica
//! StatefulSets (init container, Redis, exporter sidecar); in mode sentinel
//! the Redis pods in one StatefulSet `<release>-node` (roles are decided at
//! run time), the Sentinels in their own, and an HAProxy Deployment behind
//! `<release>-master` and `<release>-external` that sends clients to
//! whichever pod answers `role:master`; and the PodDisruptionBudgets.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, StatefulSet};
use k8s_openapi::api::core::v1::{Container, ExecAction, Lifecycle, LifecycleHandler, ServiceAccount};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Object;
use super::meta::{Component, object_meta, selector};
use super::pod::{
    self, Checksums, DATA_VOLUME, Pod, config_volume, container, env, exec_probe, http_probe, memory_dir, mount, port,
    resources, script, secret_volume, small, tmp_dir,
};
use crate::plan::credentials::INTERNAL_KEYS;
use crate::plan::{METRICS_PORT, PROXY_HEALTH_PORT, Plan, Role, SENTINEL_PORT, SentinelPlan};
use crate::render::paths::{self, INTERNAL_DIR, PROXY_DIR, SENTINEL_DIR};
use crate::seal::data::PASSWORD_KEY;

/// HAProxy pods: two, so one can be rescheduled while the other serves.
pub const PROXY_REPLICAS: i32 = 2;

pub fn service_account(plan: &Plan) -> ServiceAccount {
    ServiceAccount {
        metadata: object_meta(&plan.names.service_account, &plan.namespace, plan.labels()),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// Checks the Secret value and writes the exporter's password file, once
/// per pod; the redis container renders its own config at every start.
fn init_container(plan: &Plan, role: Role) -> Container {
    let mut mounts = vec![mount("config", paths::CONFIG_DIR, true), mount("credentials", paths::SECRET_DIR, true)];
    if plan.metrics.is_some() {
        mounts.push(mount("exporter-run", paths::EXPORTER_DIR, false));
    }
    pod::init_container(&plan.redis_image, script("init.sh", &[role.component()]), "16Mi", mounts)
}

fn redis_container(plan: &Plan, role: Role) -> Container {
    let r = match role {
        Role::Master => &plan.master,
        Role::Replica => &plan.replica,
    };
    let mounts = vec![
        mount("config", paths::CONFIG_DIR, true),
        mount("credentials", paths::SECRET_DIR, true),
        mount("run", paths::RUNTIME_DIR, false),
        mount(DATA_VOLUME, paths::DATA_DIR, false),
        mount("tmp", paths::TMP_DIR, false),
    ];
    Container {
        // init.sh renders the password the Secret file holds now and execs
        // redis-server: a container restart after a Secret change uses the new one.
        command: Some(script("init.sh", &[role.component(), "start"])),
        ports: Some(vec![port("redis", plan.port)]),
        liveness_probe: Some(exec_probe("probe.sh", "liveness", 20, 10, 6)),
        readiness_probe: Some(exec_probe("probe.sh", "readiness", 5, 5, 3)),
        ..container("redis", &plan.redis_image, resources(r), mounts)
    }
}

/// The redis_exporter sidecar scraping `target` on localhost, with the
/// password file the init container writes into its memory volume. As the
/// internal user `user` (mode sentinel), which may not run CONFIG (it would
/// show `masterauth`; a Sentinel has no CONFIG): INFO gives maxmemory.
fn exporter_container(plan: &Plan, target: u16, user: Option<&str>) -> Option<Container> {
    let m = plan.metrics.as_ref()?;
    let mut env_vars = vec![
        env("REDIS_ADDR", &format!("redis://localhost:{target}")),
        env("REDIS_PASSWORD_FILE", &format!("{}/passwords.json", paths::EXPORTER_DIR)),
        env("REDIS_EXPORTER_WEB_LISTEN_ADDRESS", &format!(":{METRICS_PORT}")),
    ];
    if let Some(user) = user {
        env_vars.push(env("REDIS_USER", user));
    }
    if user.is_some() || plan.disabled_commands.iter().any(|c| c == "CONFIG") {
        // No CONFIG: skip the exporter's CONFIG GET.
        env_vars.push(env("REDIS_EXPORTER_CONFIG_COMMAND", "-"));
    }
    Some(Container {
        env: Some(env_vars),
        ports: Some(vec![port("metrics", METRICS_PORT)]),
        liveness_probe: Some(http_probe("/health", "metrics", 10)),
        readiness_probe: Some(http_probe("/health", "metrics", 5)),
        ..container(
            "metrics",
            &m.image,
            resources(&m.resources),
            vec![mount("exporter-run", paths::EXPORTER_DIR, true)],
        )
    })
}

fn stateful_set(plan: &Plan, role: Role, checksums: &Checksums) -> StatefulSet {
    let (name, replicas) = match role {
        Role::Master => (&plan.names.master, 1),
        Role::Replica => (&plan.names.replicas, plan.replica_count),
    };
    let mut volumes = vec![
        config_volume(plan),
        secret_volume("credentials", &plan.names.secret, &[PASSWORD_KEY]),
        memory_dir("run"),
        tmp_dir(),
    ];
    let mut containers = vec![redis_container(plan, role)];
    if let Some(exporter) = exporter_container(plan, plan.port, None) {
        containers.push(exporter);
        volumes.push(memory_dir("exporter-run"));
    }
    let pod = Pod {
        init: vec![init_container(plan, role)],
        containers,
        volumes,
        grace_seconds: plan.termination_grace_period_seconds,
        // Every Redis pod apart from the others, primary and replicas alike.
        spread: plan.selector(),
    };
    let component = Component::from(role);
    let template = pod::template(plan, component, checksums, pod);
    pod::stateful_set(plan, name, component, &plan.names.headless, replicas, template, true)
}

/// The pods of the release, in apply order: the primary's StatefulSet, then
/// the replicas' (when there are replicas); or the Redis pods, the Sentinels
/// and HAProxy.
pub fn workloads(plan: &Plan, checksums: &Checksums) -> Vec<Object> {
    let Some(s) = &plan.sentinel else {
        let mut out = vec![stateful_set(plan, Role::Master, checksums).into()];
        if plan.replica_count > 0 {
            out.push(stateful_set(plan, Role::Replica, checksums).into());
        }
        return out;
    };
    vec![
        node_stateful_set(plan, s, checksums).into(),
        sentinel_stateful_set(plan, s, checksums).into(),
        proxy_deployment(plan, s, checksums).into(),
    ]
}

/// A budget over the pods `selector` picks: at most one down at a time by
/// eviction. Unhealthy pods may always be evicted, so a broken pod never
/// blocks a drain.
fn one_at_a_time(
    plan: &Plan,
    name: &str,
    labels: BTreeMap<String, String>,
    pods: BTreeMap<String, String>,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: object_meta(name, &plan.namespace, labels),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(pods)),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Mode replication: one budget over every Redis pod. With a single pod it
/// would be a no-op (maxUnavailable 1) or block drains forever (minAvailable
/// 1), so none is emitted. Mode sentinel: one per kind of pod; the Redis pods
/// keep a primary or a replica to promote, the Sentinels keep their majority
/// (3 or more), HAProxy keeps one of its two pods.
pub fn disruption_budgets(plan: &Plan) -> Vec<PodDisruptionBudget> {
    let Some(s) = &plan.sentinel else {
        return (plan.pod_count() >= 2)
            .then(|| one_at_a_time(plan, &plan.release, plan.labels(), plan.selector()))
            .into_iter()
            .collect();
    };
    [(&plan.release, Component::Node), (&s.sentinel, Component::Sentinel), (&s.proxy, Component::Proxy)]
        .into_iter()
        .map(|(name, c)| one_at_a_time(plan, name, c.labels(plan), c.selector(plan)))
        .collect()
}

/// The Redis pods of mode sentinel: one StatefulSet, roles decided at run time.
fn node_stateful_set(plan: &Plan, s: &SentinelPlan, checksums: &Checksums) -> StatefulSet {
    let mut init_mounts = vec![mount("config", paths::CONFIG_DIR, true), mount("internal", INTERNAL_DIR, true)];
    let mut volumes = vec![
        config_volume(plan),
        secret_volume("credentials", &plan.names.secret, &[PASSWORD_KEY]),
        secret_volume("internal", &s.internal_secret, &INTERNAL_KEYS),
        memory_dir("run"),
        tmp_dir(),
    ];
    let mut containers = vec![Container {
        command: Some(script("node.sh", &["start"])),
        ports: Some(vec![port("redis", plan.port)]),
        // node.sh may wait for the Sentinels (a failover in progress) before
        // Redis starts: liveness counts only once Redis answered.
        startup_probe: Some(exec_probe("probe.sh", "liveness", 5, 5, 60)),
        liveness_probe: Some(exec_probe("probe.sh", "liveness", 0, 10, 6)),
        readiness_probe: Some(exec_probe("probe.sh", "readiness", 5, 5, 3)),
        // A primary hands over to a replica before SIGTERM (planned restarts).
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction { command: Some(script("node.sh", &["handoff"])) }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..container(
            "redis",
            &plan.redis_image,
            resources(&plan.master),
            vec![
                mount("config", paths::CONFIG_DIR, true),
                mount("credentials", paths::SECRET_DIR, true),
                mount("internal", INTERNAL_DIR, true),
                // Written at every start by node.sh (and by CONFIG REWRITE).
                mount("run", paths::RUNTIME_DIR, false),
                mount(DATA_VOLUME, paths::DATA_DIR, false),
                mount("tmp", paths::TMP_DIR, false),
            ],
        )
    }];
    if let Some(exporter) = exporter_container(plan, plan.port, Some("exporter")) {
        containers.push(exporter);
        volumes.push(memory_dir("exporter-run"));
        init_mounts.push(mount("exporter-run", paths::EXPORTER_DIR, false));
    }
    let pod = Pod {
        init: vec![pod::init_container(&plan.redis_image, script("node.sh", &["init"]), "32Mi", init_mounts)],
        containers,
        volumes,
        grace_seconds: plan.termination_grace_period_seconds,
        spread: Component::Node.selector(plan),
    };
    let template = pod::template(plan, Component::Node, checksums, pod);
    pod::stateful_set(plan, &s.nodes, Component::Node, &plan.names.headless, plan.pod_count(), template, true)
}

fn sentinel_stateful_set(plan: &Plan, s: &SentinelPlan, checksums: &Checksums) -> StatefulSet {
    let container = Container {
        command: Some(script("sentinel.sh", &["start"])),
        ports: Some(vec![port("sentinel", SENTINEL_PORT)]),
        liveness_probe: Some(exec_probe("sentinel-probe.sh", "liveness", 30, 10, 6)),
        readiness_probe: Some(exec_probe("sentinel-probe.sh", "readiness", 5, 5, 3)),
        ..container(
            "sentinel",
            &plan.redis_image,
            small(["50m", "250m"], ["64Mi", "128Mi"]),
            vec![
                mount("config", paths::CONFIG_DIR, true),
                mount("credentials", paths::SECRET_DIR, true),
                mount("internal", INTERNAL_DIR, true),
                mount("run", SENTINEL_DIR, false),
            ],
        )
    };
    let mut containers = vec![container];
    let mut init = vec![];
    let mut internal_keys = vec!["sentinel-password"];
    let mut volumes = vec![config_volume(plan), secret_volume("credentials", &plan.names.secret, &[PASSWORD_KEY])];
    if let Some(exporter) = exporter_container(plan, SENTINEL_PORT, Some("exporter")) {
        containers.push(exporter);
        internal_keys.push("exporter-password");
        init.push(pod::init_container(
            &plan.redis_image,
            script("sentinel.sh", &["init"]),
            "32Mi",
            vec![
                mount("config", paths::CONFIG_DIR, true),
                mount("internal", INTERNAL_DIR, true),
                mount("exporter-run", paths::EXPORTER_DIR, false),
            ],
        ));
    }
    volumes.push(secret_volume("internal", &s.internal_secret, &internal_keys));
    volumes.push(memory_dir("run"));
    if plan.metrics.is_some() {
        volumes.push(memory_dir("exporter-run"));
    }
    let pod = Pod { init, containers, volumes, grace_seconds: 10, spread: Component::Sentinel.selector(plan) };
    let template = pod::template(plan, Component::Sentinel, checksums, pod);
    pod::stateful_set(plan, &s.sentinel, Component::Sentinel, &s.sentinel_headless, s.count, template, false)
}

fn proxy_deployment(plan: &Plan, s: &SentinelPlan, checksums: &Checksums) -> Deployment {
    let health = |delay| http_probe("/healthz", "health", delay);
    let init = pod::init_container(
        &s.proxy_image,
        script("proxy.sh", &[]),
        "32Mi",
        vec![
            mount("config", paths::CONFIG_DIR, true),
            mount("internal", INTERNAL_DIR, true),
            mount("run", PROXY_DIR, false),
        ],
    );
    let container = Container {
        command: Some(vec!["haproxy".into(), "-db".into(), "-f".into(), format!("{PROXY_DIR}/haproxy.cfg")]),
        ports: Some(vec![port("redis", plan.port), port("health", PROXY_HEALTH_PORT)]),
        liveness_probe: Some(health(10)),
        readiness_probe: Some(health(2)),
        ..container(
            "haproxy",
            &s.proxy_image,
            small(["50m", "500m"], ["64Mi", "128Mi"]),
            vec![mount("run", PROXY_DIR, true)],
        )
    };
    let volumes = vec![
        config_volume(plan),
        secret_volume("internal", &s.internal_secret, &["exporter-password"]),
        memory_dir("run"),
    ];
    let pod = Pod {
        init: vec![init],
        containers: vec![container],
        volumes,
        grace_seconds: 30,
        spread: Component::Proxy.selector(plan),
    };
    Deployment {
        metadata: object_meta(&s.proxy, &plan.namespace, Component::Proxy.labels(plan)),
        spec: Some(DeploymentSpec {
            replicas: Some(PROXY_REPLICAS),
            selector: selector(Component::Proxy.selector(plan)),
            revision_history_limit: Some(10),
            template: pod::template(plan, Component::Proxy, checksums, pod),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::objects::fixture::{SENTINEL, pod};
    use crate::objects::pod::restricted;

    fn container<'a>(containers: &'a [Container], name: &str) -> Option<&'a Container> {
        containers.iter().find(|c| c.name == name)
    }

    fn env_of(c: &Container) -> BTreeMap<String, String> {
        c.env
            .iter()
            .flatten()
            .map(|e| (e.name.clone(), e.value.clone().expect("a literal value, never a secret ref")))
            .collect()
    }

    #[test]
    fn every_sentinel_pod_has_the_exporter_sidecar_of_the_redis_pods() {
        let sentinel = pod(SENTINEL, "redis-shared-sentinel");
        let node = pod(SENTINEL, "redis-shared-node");
        let exporter = container(&sentinel.containers, "metrics").expect("a metrics sidecar");
        let env = env_of(exporter);
        assert_eq!(env["REDIS_ADDR"], "redis://localhost:26379");
        assert_eq!(env["REDIS_USER"], "exporter");
        assert_eq!(env["REDIS_PASSWORD_FILE"], "/run/redis-exporter/passwords.json");
        assert_eq!(env["REDIS_EXPORTER_CONFIG_COMMAND"], "-");
        // The same sidecar as on the Redis pods but for the address it scrapes.
        let node_exporter = container(&node.containers, "metrics").unwrap();
        assert_eq!(env_of(node_exporter)["REDIS_ADDR"], "redis://localhost:6379");
        let same = |c: &Container| Container { env: None, ..c.clone() };
        assert_eq!(same(exporter), same(node_exporter));
        assert_eq!(exporter.security_context, Some(restricted()));
        // The init container writes the password file into the sidecar's memory volume.
        let init = &sentinel.init_containers.as_ref().unwrap()[0];
        assert_eq!(init.command.as_ref().unwrap()[1..], ["/etc/redis-gen/sentinel.sh".to_string(), "init".into()]);
        assert!(init.volume_mounts.iter().flatten().any(|m| m.name == "exporter-run" && m.read_only.is_none()));
        let exporter_run = sentinel.volumes.iter().flatten().find(|v| v.name == "exporter-run").unwrap();
        assert_eq!(exporter_run.empty_dir.as_ref().unwrap().medium.as_deref(), Some("Memory"));
        let internal = sentinel.volumes.iter().flatten().find(|v| v.name == "internal").unwrap();
        let keys: Vec<_> = internal.secret.as_ref().unwrap().items.iter().flatten().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["sentinel-password", "exporter-password"]);
    }

    #[test]
    fn every_script_a_pod_runs_is_a_file_of_its_config_map() {
        use crate::objects::Object;
        use crate::objects::fixture::{built, plan};
        for text in ["", SENTINEL] {
            let files = crate::objects::config::config_files(&plan(text));
            let mut scripts = Vec::new();
            for o in built(text) {
                let spec = match o {
                    Object::StatefulSet(s) => s.spec.unwrap().template.spec.unwrap(),
                    Object::Deployment(d) => d.spec.unwrap().template.spec.unwrap(),
                    _ => continue,
                };
                for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
                    let probes = [&c.startup_probe, &c.liveness_probe, &c.readiness_probe];
                    let commands = probes.into_iter().flatten().filter_map(|p| p.exec.as_ref()?.command.as_ref());
                    for command in c.command.iter().chain(commands) {
                        if let Some(file) = command[1].strip_prefix(&format!("{}/", paths::CONFIG_DIR)) {
                            assert_eq!(command[0], "sh", "{command:?}");
                            scripts.push(file.to_string());
                        }
                    }
                }
            }
            assert!(scripts.len() >= 3, "{scripts:?}");
            for file in scripts {
                assert!(files.contains_key(&file), "{file} is not in the ConfigMap of {text:?}");
            }
        }
    }
}
