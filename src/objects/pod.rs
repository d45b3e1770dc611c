//! The pod kit: the parts every pod of both topologies is made of
//! (containers' ports, volumes, probes, security, resources, the init
//! container), the pod template with its checksums, and the StatefulSet.
//! A change to pod security, a probe or a volume is made here, once.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, ExecAction,
    HTTPGetAction, KeyToPath, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecretVolumeSource, SecurityContext, Volume, VolumeMount, VolumeResourceRequirements,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{Component, object_meta, selector};
use crate::plan::canonical_quantity as canonical;
use crate::plan::{Plan, Resources};
use crate::render::paths;

/// UID and GID of every container: non-root, above 10000 (no host user).
pub const RUN_AS: i64 = 10001;
/// Pod annotations whose change rolls the pods.
pub const CONFIG_CHECKSUM: &str = "checksum/config";
pub const SECRET_CHECKSUM: &str = "checksum/secret";
/// Name of the volume claim template (Bitnami's, so its PVCs can be reused).
pub const DATA_VOLUME: &str = "redis-data";

/// sha256 of what the pods read (the ConfigMap, the Secrets), so that a
/// change rolls them.
pub struct Checksums {
    pub config: String,
    pub secret: String,
}

/// Requests and limits of the profile, in the form the API server stores.
pub fn resources(r: &Resources) -> ResourceRequirements {
    small([&r.cpu_request, &r.cpu_limit], [&r.memory_request, &r.memory_limit])
}

/// Requests and limits of a container whose needs redis-gen knows:
/// `[request, limit]` of CPU and of memory.
pub fn small(cpu: [&str; 2], memory: [&str; 2]) -> ResourceRequirements {
    let q = |s: &str| Quantity(canonical(s));
    ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".into(), q(cpu[0])), ("memory".into(), q(memory[0]))])),
        limits: Some(BTreeMap::from([("cpu".into(), q(cpu[1])), ("memory".into(), q(memory[1]))])),
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

/// The pod-level part of Pod Security `restricted`, and the volumes' group.
fn pod_security_context() -> PodSecurityContext {
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

/// A tag can move, so it is pulled every time a container starts and all
/// nodes run what it names now; a digest cannot move, so a cached copy is
/// used.
fn pull_policy(image: &str) -> Option<String> {
    Some(if image.contains('@') { "IfNotPresent" } else { "Always" }.into())
}

pub fn env(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), ..Default::default() }
}

/// A named TCP port of a container.
pub fn port(name: &str, number: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number.into(),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// `sh <script of the ConfigMap> args...`.
pub fn script(name: &str, args: &[&str]) -> Vec<String> {
    let mut command = vec!["sh".to_string(), format!("{}/{name}", paths::CONFIG_DIR)];
    command.extend(args.iter().map(|a| a.to_string()));
    command
}

pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// A small memory-backed emptyDir (files with passwords never touch a disk).
pub fn memory_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(Quantity("1Mi".into())),
        }),
        ..Default::default()
    }
}

/// The volume `tmp`: scratch space of Redis (the root filesystem is read-only).
pub fn tmp_dir() -> Volume {
    Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource { medium: None, size_limit: Some(Quantity("64Mi".into())) }),
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

/// The keys `keys` of the Secret `secret` as files of the volume `volume`.
pub fn secret_volume(volume: &str, secret: &str, keys: &[&str]) -> Volume {
    Volume {
        name: volume.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            default_mode: Some(0o440),
            items: Some(keys.iter().map(|k| KeyToPath { key: (*k).into(), path: (*k).into(), mode: None }).collect()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A probe that runs `sh <script> <kind>` (liveness or readiness).
pub fn exec_probe(script_name: &str, kind: &str, initial_delay: i32, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction { command: Some(script(script_name, &[kind])) }),
        initial_delay_seconds: delay(initial_delay),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        success_threshold: Some(1),
        ..Default::default()
    }
}

/// A probe's initial delay; 0, the default, is left out as the API server
/// leaves it out.
fn delay(seconds: i32) -> Option<i32> {
    (seconds != 0).then_some(seconds)
}

/// An HTTP GET probe on a named container port.
pub fn http_probe(path: &str, port: &str, initial_delay: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        initial_delay_seconds: delay(initial_delay),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

/// The init container `config`: runs a script of the ConfigMap (which
/// writes the files with passwords into memory volumes) before the pod's
/// containers start.
pub fn init_container(image: &str, command: Vec<String>, memory_request: &str, mounts: Vec<VolumeMount>) -> Container {
    Container {
        command: Some(command),
        ..container("config", image, small(["10m", "100m"], [memory_request, "32Mi"]), mounts)
    }
}

/// A container of `image` under Pod Security `restricted`; the caller adds
/// what it runs, its ports and probes.
pub fn container(name: &str, image: &str, resources: ResourceRequirements, mounts: Vec<VolumeMount>) -> Container {
    Container {
        name: name.into(),
        image: Some(image.to_string()),
        image_pull_policy: pull_policy(image),
        resources: Some(resources),
        security_context: Some(restricted()),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

/// Soft anti-affinity: the selected pods on different nodes when possible.
fn spread(labels: BTreeMap<String, String>) -> Affinity {
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

/// What one kind of pod runs.
pub struct Pod {
    pub init: Vec<Container>,
    pub containers: Vec<Container>,
    pub volumes: Vec<Volume>,
    pub grace_seconds: i64,
    /// The pods kept apart from each other (soft), by their labels.
    pub spread: BTreeMap<String, String>,
}

/// The pod template of `component`: its labels, the checksums that roll it,
/// the release's ServiceAccount (no token) and Pod Security `restricted`.
pub fn template(plan: &Plan, component: Component, checksums: &Checksums, pod: Pod) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(component.labels(plan)),
            annotations: Some(BTreeMap::from([
                (CONFIG_CHECKSUM.into(), checksums.config.clone()),
                (SECRET_CHECKSUM.into(), checksums.secret.clone()),
            ])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(plan.names.service_account.clone()),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            termination_grace_period_seconds: Some(pod.grace_seconds),
            security_context: Some(pod_security_context()),
            affinity: Some(spread(pod.spread)),
            init_containers: (!pod.init.is_empty()).then_some(pod.init),
            containers: pod.containers,
            volumes: Some(pod.volumes),
            ..Default::default()
        }),
    }
}

/// The volume claim template of every Redis pod: `storage_size` of
/// `storage_class`, named as the Bitnami chart names it.
pub fn data_claim(plan: &Plan, component: Component) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.into()),
            labels: Some(component.labels(plan)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: Some(plan.storage_class.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".into(), Quantity(canonical(&plan.storage_size)))])),
                ..Default::default()
            }),
            // What the API server fills in: written out, so that a client-side
            // diff of the StatefulSet (whose claim templates are compared
            // whole) finds nothing to change.
            volume_mode: Some("Filesystem".into()),
            ..Default::default()
        }),
        status: Some(PersistentVolumeClaimStatus { phase: Some("Pending".into()), ..Default::default() }),
    }
}

/// A StatefulSet of `replicas` pods of `component`, started in parallel,
/// behind the headless Service `service`. Pods with a data claim keep it
/// when the set is deleted or scaled down.
pub fn stateful_set(
    plan: &Plan,
    name: &str,
    component: Component,
    service: &str,
    replicas: i32,
    template: PodTemplateSpec,
    data: bool,
) -> StatefulSet {
    StatefulSet {
        metadata: object_meta(name, &plan.namespace, component.labels(plan)),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(service.into()),
            selector: selector(component.selector(plan)),
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            persistent_volume_claim_retention_policy: data.then(|| StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some("Retain".into()),
                when_scaled: Some("Retain".into()),
            }),
            revision_history_limit: Some(10),
            template,
            volume_claim_templates: data.then(|| vec![data_claim(plan, component)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
