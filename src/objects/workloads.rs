//! Workloads: the ServiceAccount, the primary and replica StatefulSets (init
//! container, Redis, exporter sidecar), and the PodDisruptionBudget.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, ServiceAccount};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{Component, object_meta, selector};
use super::pod::{
    self, Checksums, DATA_VOLUME, Pod, config_volume, env, exec_probe, http_probe, memory_dir, mount, port,
    pull_policy, resources, restricted, script, secret_volume, tmp_dir,
};
use crate::plan::{METRICS_PORT, PASSWORD_KEY, Plan, Role};
use crate::render::paths;

pub fn service_account(plan: &Plan) -> ServiceAccount {
    ServiceAccount {
        metadata: object_meta(&plan.names.service_account, &plan.namespace, plan.labels()),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// Renders the runtime config (with the password) before Redis starts.
fn init_container(plan: &Plan, role: Role) -> Container {
    let mut mounts = vec![
        mount("config", paths::CONFIG_DIR, true),
        mount("credentials", paths::SECRET_DIR, true),
        mount("run", paths::RUNTIME_DIR, false),
    ];
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
    Container {
        name: "redis".into(),
        image: Some(plan.redis_image.clone()),
        image_pull_policy: pull_policy(&plan.redis_image),
        command: Some(vec!["redis-server".into(), format!("{}/redis.conf", paths::RUNTIME_DIR)]),
        ports: Some(vec![port("redis", plan.port)]),
        resources: Some(resources(r)),
        security_context: Some(restricted()),
        liveness_probe: Some(exec_probe("probe.sh", "liveness", 20, 10, 6)),
        readiness_probe: Some(exec_probe("probe.sh", "readiness", 5, 5, 3)),
        volume_mounts: Some(vec![
            mount("config", paths::CONFIG_DIR, true),
            mount("credentials", paths::SECRET_DIR, true),
            mount("run", paths::RUNTIME_DIR, true),
            mount(DATA_VOLUME, paths::DATA_DIR, false),
            mount("tmp", paths::TMP_DIR, false),
        ]),
        ..Default::default()
    }
}

/// The redis_exporter sidecar scraping `target` on localhost, with the
/// password file the init container writes into its memory volume. As the
/// internal user `user` (mode sentinel), which may not run CONFIG (it would
/// show `masterauth`; a Sentinel has no CONFIG): INFO gives maxmemory.
pub(super) fn exporter_container(plan: &Plan, target: u16, user: Option<&str>) -> Option<Container> {
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
        name: "metrics".into(),
        image: Some(m.image.clone()),
        image_pull_policy: pull_policy(&m.image),
        env: Some(env_vars),
        ports: Some(vec![port("metrics", METRICS_PORT)]),
        resources: Some(resources(&m.resources)),
        security_context: Some(restricted()),
        liveness_probe: Some(http_probe("/health", "metrics", 10)),
        readiness_probe: Some(http_probe("/health", "metrics", 5)),
        volume_mounts: Some(vec![mount("exporter-run", paths::EXPORTER_DIR, true)]),
        ..Default::default()
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

/// The primary's StatefulSet, then the replicas' (when there are replicas).
pub fn stateful_sets(plan: &Plan, checksums: &Checksums) -> Vec<StatefulSet> {
    let mut out = vec![stateful_set(plan, Role::Master, checksums)];
    if plan.replica_count > 0 {
        out.push(stateful_set(plan, Role::Replica, checksums));
    }
    out
}

/// A budget over the pods `selector` picks: at most one down at a time by
/// eviction. Unhealthy pods may always be evicted, so a broken pod never
/// blocks a drain.
pub(super) fn one_at_a_time(
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

/// One budget over every Redis pod. With a single pod it would be a no-op
/// (maxUnavailable 1) or block drains forever (minAvailable 1), so none is
/// emitted.
pub fn disruption_budget(plan: &Plan) -> Option<PodDisruptionBudget> {
    (plan.pod_count() >= 2).then(|| one_at_a_time(plan, &plan.release, plan.labels(), plan.selector()))
}
