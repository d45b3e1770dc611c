//! Workloads: the ServiceAccount, the primary and replica StatefulSets (init
//! container, Redis, exporter sidecar), and the PodDisruptionBudget.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, ExecAction,
    HTTPGetAction, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretVolumeSource,
    SecurityContext, ServiceAccount, Volume, VolumeMount, VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{object_meta, selector};
use crate::plan::{METRICS_PORT, PASSWORD_KEY, Plan, Resources, Role};
use crate::render::paths;

/// UID and GID of every container: non-root, above 10000 (no host user).
pub const RUN_AS: i64 = 10001;
/// Pod annotations whose change rolls the pods.
pub const CONFIG_CHECKSUM: &str = "checksum/config";
pub const SECRET_CHECKSUM: &str = "checksum/secret";
/// Name of the volume claim template (Bitnami's, so its PVCs can be reused).
pub const DATA_VOLUME: &str = "redis-data";

/// sha256 of what the pods read, so that a change rolls them.
pub struct Checksums {
    pub config: String,
    pub secret: String,
}

pub fn service_account(plan: &Plan) -> ServiceAccount {
    ServiceAccount {
        metadata: object_meta(&plan.names.service_account, &plan.namespace, plan.labels()),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

pub(super) fn resources(r: &Resources) -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_string());
    ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".into(), q(&r.cpu_request)), ("memory".into(), q(&r.memory_request))])),
        limits: Some(BTreeMap::from([("cpu".into(), q(&r.cpu_limit)), ("memory".into(), q(&r.memory_limit))])),
        ..Default::default()
    }
}

/// What Pod Security `restricted` asks of every container.
pub(super) fn restricted() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: None }),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), localhost_profile: None }),
        ..Default::default()
    }
}

pub(super) fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

pub(super) fn memory_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(Quantity("1Mi".into())),
        }),
        ..Default::default()
    }
}

pub(super) fn exec_probe(kind: &str, initial_delay: i32, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec!["sh".into(), format!("{}/probe.sh", paths::CONFIG_DIR), kind.into()]),
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        success_threshold: Some(1),
        ..Default::default()
    }
}

/// An HTTP GET probe on a named container port.
pub(super) fn http_probe(path: &str, port: &str, initial_delay: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

/// A tag can move, so it is pulled every time a container starts and all
/// nodes run what it names now; a digest cannot move, so a cached copy is
/// used.
pub(super) fn pull_policy(image: &str) -> Option<String> {
    Some(if image.contains('@') { "IfNotPresent" } else { "Always" }.into())
}

pub(super) fn env(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), ..Default::default() }
}

/// Checks the Secret value and writes the exporter's password file, once
/// per pod; the redis container renders its own config at every start.
fn init_container(plan: &Plan, role: Role) -> Container {
    let mut mounts = vec![mount("config", paths::CONFIG_DIR, true), mount("credentials", paths::SECRET_DIR, true)];
    if plan.metrics.is_some() {
        mounts.push(mount("exporter-run", paths::EXPORTER_DIR, false));
    }
    Container {
        name: "config".into(),
        image: Some(plan.redis_image.clone()),
        image_pull_policy: pull_policy(&plan.redis_image),
        command: Some(vec!["sh".into(), format!("{}/init.sh", paths::CONFIG_DIR), role.component().into()]),
        resources: Some(resources(&Resources {
            cpu_request: "10m".into(),
            cpu_limit: "100m".into(),
            memory_request: "16Mi".into(),
            memory_limit: "32Mi".into(),
        })),
        security_context: Some(restricted()),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
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
        // init.sh renders the password the Secret file holds now and execs
        // redis-server: a container restart after a Secret change uses the new one.
        command: Some(vec![
            "sh".into(),
            format!("{}/init.sh", paths::CONFIG_DIR),
            role.component().into(),
            "start".into(),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("redis".into()),
            container_port: plan.port.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(resources(r)),
        security_context: Some(restricted()),
        liveness_probe: Some(exec_probe("liveness", 20, 10, 6)),
        readiness_probe: Some(exec_probe("readiness", 5, 5, 3)),
        volume_mounts: Some(vec![
            mount("config", paths::CONFIG_DIR, true),
            mount("credentials", paths::SECRET_DIR, true),
            mount("run", paths::RUNTIME_DIR, false),
            mount(DATA_VOLUME, paths::DATA_DIR, false),
            mount("tmp", paths::TMP_DIR, false),
        ]),
        ..Default::default()
    }
}

pub(super) fn exporter_container(plan: &Plan) -> Option<Container> {
    let m = plan.metrics.as_ref()?;
    let mut env_vars = vec![
        env("REDIS_ADDR", &format!("redis://localhost:{}", plan.port)),
        env("REDIS_PASSWORD_FILE", &format!("{}/passwords.json", paths::EXPORTER_DIR)),
        env("REDIS_EXPORTER_WEB_LISTEN_ADDRESS", &format!(":{METRICS_PORT}")),
    ];
    if plan.disabled_commands.iter().any(|c| c == "CONFIG") {
        // CONFIG is renamed away: skip the exporter's CONFIG GET (maxmemory
        // still comes from INFO).
        env_vars.push(env("REDIS_EXPORTER_CONFIG_COMMAND", "-"));
    }
    Some(Container {
        name: "metrics".into(),
        image: Some(m.image.clone()),
        image_pull_policy: pull_policy(&m.image),
        env: Some(env_vars),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".into()),
            container_port: METRICS_PORT.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(resources(&m.resources)),
        security_context: Some(restricted()),
        liveness_probe: Some(http_probe("/health", "metrics", 10)),
        readiness_probe: Some(http_probe("/health", "metrics", 5)),
        volume_mounts: Some(vec![mount("exporter-run", paths::EXPORTER_DIR, true)]),
        ..Default::default()
    })
}

/// The pod-level part of Pod Security `restricted`, and the volumes' group.
pub(super) fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        fs_group: Some(RUN_AS),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), localhost_profile: None }),
        ..Default::default()
    }
}

/// Soft anti-affinity: the selected pods on different nodes when possible.
pub(super) fn spread(labels: BTreeMap<String, String>) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: PodAffinityTerm {
                    label_selector: Some(selector(labels)),
                    topology_key: "kubernetes.io/hostname".into(),
                    ..Default::default()
                },
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The volume `config`: the release's ConfigMap (config files and scripts),
/// read-only.
pub fn config_volume(plan: &Plan) -> Volume {
    Volume {
        name: "config".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: plan.names.config.clone(),
            default_mode: Some(0o444),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_spec(plan: &Plan, role: Role) -> PodSpec {
    let mut volumes = vec![
        config_volume(plan),
        Volume {
            name: "credentials".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(plan.names.secret.clone()),
                default_mode: Some(0o440),
                items: Some(vec![k8s_openapi::api::core::v1::KeyToPath {
                    key: PASSWORD_KEY.into(),
                    path: PASSWORD_KEY.into(),
                    mode: None,
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
        memory_dir("run"),
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource { medium: None, size_limit: Some(Quantity("64Mi".into())) }),
            ..Default::default()
        },
    ];
    let mut containers = vec![redis_container(plan, role)];
    if let Some(exporter) = exporter_container(plan) {
        containers.push(exporter);
        volumes.push(memory_dir("exporter-run"));
    }
    PodSpec {
        service_account_name: Some(plan.names.service_account.clone()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(plan.termination_grace_period_seconds),
        security_context: Some(pod_security_context()),
        // Soft: spread Redis pods over nodes when there are nodes to spread over.
        affinity: Some(spread(plan.selector())),
        init_containers: Some(vec![init_container(plan, role)]),
        containers,
        volumes: Some(volumes),
        ..Default::default()
    }
}

/// The volume claim template of every Redis pod: `storage_size` of
/// `storage_class`, named as the Bitnami chart names it.
pub(super) fn data_claim(plan: &Plan, labels: BTreeMap<String, String>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some(DATA_VOLUME.into()), labels: Some(labels), ..Default::default() },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: Some(plan.storage_class.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".into(), Quantity(plan.storage_size.clone()))])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn stateful_set(plan: &Plan, role: Role, checksums: &Checksums) -> StatefulSet {
    let (name, replicas) = match role {
        Role::Master => (&plan.names.master, 1),
        Role::Replica => (&plan.names.replicas, plan.replica_count),
    };
    let claim = data_claim(plan, plan.role_labels(role));
    StatefulSet {
        metadata: object_meta(name, &plan.namespace, plan.role_labels(role)),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(plan.names.headless.clone()),
            selector: selector(plan.role_selector(role)),
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            persistent_volume_claim_retention_policy: Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some("Retain".into()),
                when_scaled: Some("Retain".into()),
            }),
            revision_history_limit: Some(10),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(plan.role_labels(role)),
                    annotations: Some(BTreeMap::from([
                        (CONFIG_CHECKSUM.into(), checksums.config.clone()),
                        (SECRET_CHECKSUM.into(), checksums.secret.clone()),
                    ])),
                    ..Default::default()
                }),
                spec: Some(pod_spec(plan, role)),
            },
            volume_claim_templates: Some(vec![claim]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The primary's StatefulSet, then the replicas' (when there are replicas).
pub fn stateful_sets(plan: &Plan, checksums: &Checksums) -> Vec<StatefulSet> {
    let mut out = vec![stateful_set(plan, Role::Master, checksums)];
    if plan.replica_count > 0 {
        out.push(stateful_set(plan, Role::Replica, checksums));
    }
    out
}

/// One budget over every Redis pod: at most one down at a time by eviction.
/// With a single pod it would be a no-op (maxUnavailable 1) or block drains
/// forever (minAvailable 1), so none is emitted. Unhealthy pods may always be
/// evicted, so a broken pod never blocks a drain.
pub fn disruption_budget(plan: &Plan) -> Option<PodDisruptionBudget> {
    (plan.pod_count() >= 2).then(|| PodDisruptionBudget {
        metadata: object_meta(&plan.release, &plan.namespace, plan.labels()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(plan.selector())),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            ..Default::default()
        }),
        ..Default::default()
    })
}
