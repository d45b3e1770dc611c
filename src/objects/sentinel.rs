//! Mode `sentinel`: every object of the release when Redis Sentinel elects
//! the primary. Redis pods in one StatefulSet `<release>-node` (roles are
//! decided at run time), Sentinels in their own StatefulSet, and an HAProxy
//! Deployment behind `<release>-master` and `<release>-external` that sends
//! clients to whichever pod answers `role:master`. Disabled commands become
//! ACL rules, since Sentinel needs CONFIG on failover (redis/redis#10328).
//! Replication mode never reaches this module.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, EmptyDirVolumeSource, ExecAction, KeyToPath, Lifecycle, LifecycleHandler,
    PersistentVolumeClaim, PodSpec, PodTemplateSpec, Probe, SecretVolumeSource, Service, ServiceSpec, Volume,
    VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{object_meta, selector, sha256_of};
use super::secrets::{self, PLACEHOLDER_ANNOTATION, PLACEHOLDER_VALUE, SealedSecret};
use super::services::{self, port as service_port, service};
use super::workloads::{
    CONFIG_CHECKSUM, DATA_VOLUME, SECRET_CHECKSUM, config_volume, env, exec_probe, exporter_container, memory_dir,
    mount, pod_security_context, pull_policy, resources, restricted, service_account, spread,
};
use super::{Built, Manifest, policy};
use crate::plan::{
    COMPONENT_LABEL, METRICS_PORT, PASSWORD_KEY, PROXY_HEALTH_PORT, Plan, Resources, SENTINEL_PORT, SentinelPlan,
};
use crate::render::{self, paths};
use crate::sealed::SealedData;

/// Keys of the internal Secret `<release>-internal`.
pub const INTERNAL_KEYS: [&str; 3] = ["exporter-password", "replication-password", "sentinel-password"];
/// The internal Secret's volume (Redis namespace only).
pub const INTERNAL_DIR: &str = "/etc/redis-internal";
/// Memory emptyDir of the Sentinel: sentinel.conf, which Sentinel rewrites.
pub const SENTINEL_DIR: &str = "/run/sentinel";
/// Memory emptyDir of HAProxy: haproxy.cfg with the health check's AUTH.
pub const PROXY_DIR: &str = "/run/haproxy";
/// HAProxy pods: two, so one can be rescheduled while the other serves.
pub const PROXY_REPLICAS: i32 = 2;

/// The three kinds of pod in mode sentinel, by their component label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Node,
    Sentinel,
    Proxy,
}

impl Part {
    fn component(self) -> &'static str {
        match self {
            Part::Node => "node",
            Part::Sentinel => "sentinel",
            Part::Proxy => "proxy",
        }
    }
}

fn part_selector(plan: &Plan, part: Part) -> BTreeMap<String, String> {
    let mut s = plan.selector();
    s.insert(COMPONENT_LABEL.into(), part.component().into());
    s
}

fn part_labels(plan: &Plan, part: Part) -> BTreeMap<String, String> {
    let mut l = plan.labels();
    l.insert(COMPONENT_LABEL.into(), part.component().into());
    l
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

/// What Sentinel sends to Redis (the Redis documentation's Sentinel ACL),
/// and CLIENT PAUSE/UNPAUSE for node.sh's handoff before a planned restart.
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

/// The files of the ConfigMap in mode sentinel.
pub fn config_files(plan: &Plan, s: &SentinelPlan) -> BTreeMap<String, String> {
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
        internal_dir => INTERNAL_DIR,
        sentinel_dir => SENTINEL_DIR,
        proxy_dir => PROXY_DIR,
        app_rules => app_rules(plan),
        sentinel_rules => SENTINEL_RULES,
        replication_rules => REPLICATION_RULES,
        exporter_rules => EXPORTER_RULES,
        sentinel_client_rules => SENTINEL_CLIENT_RULES,
        sentinel_exporter_rules => SENTINEL_EXPORTER_RULES,
        ..base
    };
    let mut files = BTreeMap::new();
    files.insert("redis.conf".into(), render::render("redis.conf", ctx.clone()));
    files.insert("probe.sh".into(), render::render("probe.sh", ctx.clone()));
    for name in ["node.conf", "lib.sh", "node.sh", "sentinel.sh", "sentinel-probe.sh", "proxy.sh", "haproxy.cfg"] {
        files.insert(name.into(), render::render(&format!("sentinel/{name}"), ctx.clone()));
    }
    files
}

fn config_map(plan: &Plan, s: &SentinelPlan) -> ConfigMap {
    ConfigMap {
        metadata: object_meta(&plan.names.config, &plan.namespace, plan.labels()),
        data: Some(config_files(plan, s)),
        ..Default::default()
    }
}

/// `<release>-internal` in the Redis namespace: the passwords of the
/// sentinel, replication and exporter users. Placeholders until sealed.
fn internal_secret(
    plan: &Plan,
    s: &SentinelPlan,
    sealed: Option<&SealedData>,
    warnings: &mut Vec<String>,
) -> SealedSecret {
    let values = sealed.and_then(|d| {
        d.internal.as_ref().filter(|i| d.scope != crate::sealed::Scope::Strict || i.secret_name == s.internal_secret)
    });
    let mut data = BTreeMap::new();
    let mut missing = false;
    for key in INTERNAL_KEYS {
        match values.and_then(|v| v.values.get(key)) {
            Some(c) => {
                data.insert(key.to_string(), c.clone());
            }
            None => {
                missing = true;
                data.insert(key.to_string(), PLACEHOLDER_VALUE.to_string());
            }
        }
    }
    let mut meta = object_meta(&s.internal_secret, &plan.namespace, plan.labels());
    let mut annotations = BTreeMap::new();
    if let Some(a) = values.and(sealed).and_then(|d| d.scope.annotation()) {
        annotations.insert(a.to_string(), "true".to_string());
    }
    if missing {
        annotations.insert(
            PLACEHOLDER_ANNOTATION.into(),
            "no sealed internal passwords yet: run `redis-gen seal --cert CERT.pem PROFILE`".into(),
        );
        warnings.push(format!(
            "no sealed internal passwords (Secret {}): emitted a placeholder SealedSecret; run `redis-gen seal --cert CERT.pem {}` to generate and seal them",
            s.internal_secret, plan.profile_name
        ));
    }
    meta.annotations = (!annotations.is_empty()).then_some(annotations);
    secrets::sealed_secret(plan, meta, &s.internal_secret, &plan.namespace, data)
}

fn services(plan: &Plan, s: &SentinelPlan) -> Vec<Service> {
    let redis = || Some(vec![service_port("redis", plan.port)]);
    let sentinel = || Some(vec![service_port("sentinel", SENTINEL_PORT)]);
    let headless = |name: &str, part: Part, ports| {
        service(
            plan,
            name,
            part_labels(plan, part),
            ServiceSpec {
                cluster_ip: Some("None".into()),
                // Pods resolve each other by name before they are ready.
                publish_not_ready_addresses: Some(true),
                selector: Some(part_selector(plan, part)),
                ports,
                ..Default::default()
            },
        )
    };
    let cluster_ip = |name: &str, part: Part, ports| {
        service(
            plan,
            name,
            part_labels(plan, part),
            ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(part_selector(plan, part)),
                ports,
                ..Default::default()
            },
        )
    };
    let mut out = vec![
        headless(&plan.names.headless, Part::Node, redis()),
        headless(&s.sentinel_headless, Part::Sentinel, sentinel()),
        // The primary, whichever pod it is: through HAProxy.
        cluster_ip(&plan.names.master, Part::Proxy, redis()),
        // Reads: any Redis pod (the primary included).
        cluster_ip(&plan.names.replicas, Part::Node, redis()),
        // Sentinel-aware clients.
        cluster_ip(&s.sentinel, Part::Sentinel, sentinel()),
    ];
    if let Some(lb) = &plan.loadbalancer {
        out.push(services::external(plan, lb, part_labels(plan, Part::Proxy), part_selector(plan, Part::Proxy)));
    }
    if plan.metrics.is_some() {
        out.push(services::metrics(plan, part_selector(plan, Part::Node)));
        // The Sentinels' exporters: a Service of their own, so their series
        // carry their own `job` (the ServiceMonitor selects both Services by
        // their common labels).
        let mut sentinels = services::metrics(plan, part_selector(plan, Part::Sentinel));
        sentinels.metadata.name = Some(s.sentinel_metrics.clone());
        out.push(sentinels);
    }
    out
}

fn secret_volume(volume: &str, secret: &str, keys: &[&str]) -> Volume {
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

fn port(name: &str, number: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number.into(),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn script_probe(script: &str, kind: &str, initial_delay: i32, period: i32, failures: i32) -> Probe {
    let mut p = exec_probe(kind, initial_delay, period, failures);
    if let Some(exec) = p.exec.as_mut() {
        exec.command = Some(vec!["sh".into(), format!("{}/{script}", paths::CONFIG_DIR), kind.into()]);
    }
    p
}

fn small(cpu_limit: &str, memory: &str) -> Resources {
    Resources {
        cpu_request: "10m".into(),
        cpu_limit: cpu_limit.into(),
        memory_request: memory.into(),
        memory_limit: memory.into(),
    }
}

fn pod_spec(
    plan: &Plan,
    part: Part,
    init: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    grace: i64,
) -> PodSpec {
    PodSpec {
        service_account_name: Some(plan.names.service_account.clone()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(grace),
        security_context: Some(pod_security_context()),
        // Soft: spread the pods of each part over nodes when there are nodes.
        affinity: Some(spread(part_selector(plan, part))),
        init_containers: (!init.is_empty()).then_some(init),
        containers,
        volumes: Some(volumes),
        ..Default::default()
    }
}

fn template(plan: &Plan, part: Part, checksums: &[(String, String)], spec: PodSpec) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(part_labels(plan, part)),
            annotations: Some(checksums.iter().cloned().collect()),
            ..Default::default()
        }),
        spec: Some(spec),
    }
}

fn stateful_set(
    plan: &Plan,
    name: &str,
    service: &str,
    replicas: i32,
    template: PodTemplateSpec,
    claims: Option<Vec<PersistentVolumeClaim>>,
) -> StatefulSet {
    let part = template.metadata.as_ref().and_then(|m| m.labels.as_ref()).and_then(|l| l.get(COMPONENT_LABEL)).cloned();
    let mut labels = plan.labels();
    labels.extend(part.map(|p| (COMPONENT_LABEL.to_string(), p)));
    let selector_labels: BTreeMap<String, String> = labels
        .iter()
        .filter(|(k, _)| plan.selector().contains_key(*k) || *k == COMPONENT_LABEL)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    StatefulSet {
        metadata: object_meta(name, &plan.namespace, labels),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(service.into()),
            selector: selector(selector_labels),
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            persistent_volume_claim_retention_policy: claims.as_ref().map(|_| {
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                }
            }),
            revision_history_limit: Some(10),
            template,
            volume_claim_templates: claims,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The exporter sidecar (workloads' own) scraping `port` on localhost as the
/// internal user `exporter`, whose password the init container writes into
/// the sidecar's memory volume. That user may not run CONFIG (it would show
/// `masterauth`), and a Sentinel has no CONFIG: INFO gives maxmemory.
fn internal_exporter(plan: &Plan, port: u16) -> Option<Container> {
    let mut exporter = exporter_container(plan)?;
    let mut vars: Vec<_> = exporter
        .env
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.name != "REDIS_EXPORTER_CONFIG_COMMAND")
        .map(|e| if e.name == "REDIS_ADDR" { env("REDIS_ADDR", &format!("redis://localhost:{port}")) } else { e })
        .collect();
    vars.push(env("REDIS_USER", "exporter"));
    vars.push(env("REDIS_EXPORTER_CONFIG_COMMAND", "-"));
    exporter.env = Some(vars);
    Some(exporter)
}

/// The init container `config` of a pod: runs a script of the ConfigMap
/// before the pod's containers start.
fn init_container(image: &str, command: Option<Vec<String>>, mounts: Vec<VolumeMount>) -> Container {
    Container {
        name: "config".into(),
        image: Some(image.to_string()),
        image_pull_policy: pull_policy(image),
        command,
        resources: Some(resources(&small("100m", "32Mi"))),
        security_context: Some(restricted()),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

fn node_stateful_set(plan: &Plan, s: &SentinelPlan, checksums: &[(String, String)]) -> StatefulSet {
    let script = |arg: &str| Some(vec!["sh".into(), format!("{}/node.sh", paths::CONFIG_DIR), arg.into()]);
    let mut init_mounts = vec![mount("config", paths::CONFIG_DIR, true), mount("internal", INTERNAL_DIR, true)];
    let mut volumes = vec![
        config_volume(plan),
        secret_volume("credentials", &plan.names.secret, &[PASSWORD_KEY]),
        secret_volume("internal", &s.internal_secret, &INTERNAL_KEYS),
        memory_dir("run"),
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource { medium: None, size_limit: Some(Quantity("64Mi".into())) }),
            ..Default::default()
        },
    ];
    let mut containers = vec![Container {
        name: "redis".into(),
        image: Some(plan.redis_image.clone()),
        image_pull_policy: pull_policy(&plan.redis_image),
        command: script("start"),
        ports: Some(vec![port("redis", plan.port)]),
        resources: Some(resources(&plan.master)),
        security_context: Some(restricted()),
        // node.sh may wait for the Sentinels (a failover in progress) before
        // Redis starts: liveness counts only once Redis answered.
        startup_probe: Some(exec_probe("liveness", 5, 5, 60)),
        liveness_probe: Some(exec_probe("liveness", 0, 10, 6)),
        readiness_probe: Some(exec_probe("readiness", 5, 5, 3)),
        // A primary hands over to a replica before SIGTERM (planned restarts).
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction { command: script("handoff") }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            mount("config", paths::CONFIG_DIR, true),
            mount("credentials", paths::SECRET_DIR, true),
            mount("internal", INTERNAL_DIR, true),
            // Written at every start by node.sh (and by CONFIG REWRITE).
            mount("run", paths::RUNTIME_DIR, false),
            mount(DATA_VOLUME, paths::DATA_DIR, false),
            mount("tmp", paths::TMP_DIR, false),
        ]),
        ..Default::default()
    }];
    if let Some(exporter) = internal_exporter(plan, plan.port) {
        containers.push(exporter);
        volumes.push(memory_dir("exporter-run"));
        init_mounts.push(mount("exporter-run", paths::EXPORTER_DIR, false));
    }
    let init = init_container(&plan.redis_image, script("init"), init_mounts);
    let claim = super::workloads::data_claim(plan, part_labels(plan, Part::Node));
    let spec = pod_spec(plan, Part::Node, vec![init], containers, volumes, plan.termination_grace_period_seconds);
    stateful_set(
        plan,
        &s.nodes,
        &plan.names.headless,
        plan.pod_count(),
        template(plan, Part::Node, checksums, spec),
        Some(vec![claim]),
    )
}

fn sentinel_stateful_set(plan: &Plan, s: &SentinelPlan, checksums: &[(String, String)]) -> StatefulSet {
    let script = |arg: &str| Some(vec!["sh".into(), format!("{}/sentinel.sh", paths::CONFIG_DIR), arg.into()]);
    let container = Container {
        name: "sentinel".into(),
        image: Some(plan.redis_image.clone()),
        image_pull_policy: pull_policy(&plan.redis_image),
        command: script("start"),
        ports: Some(vec![port("sentinel", SENTINEL_PORT)]),
        resources: Some(resources(&Resources {
            cpu_request: "50m".into(),
            cpu_limit: "250m".into(),
            memory_request: "64Mi".into(),
            memory_limit: "128Mi".into(),
        })),
        security_context: Some(restricted()),
        liveness_probe: Some(script_probe("sentinel-probe.sh", "liveness", 30, 10, 6)),
        readiness_probe: Some(script_probe("sentinel-probe.sh", "readiness", 5, 5, 3)),
        volume_mounts: Some(vec![
            mount("config", paths::CONFIG_DIR, true),
            mount("credentials", paths::SECRET_DIR, true),
            mount("internal", INTERNAL_DIR, true),
            mount("run", SENTINEL_DIR, false),
        ]),
        ..Default::default()
    };
    let mut containers = vec![container];
    let mut init = vec![];
    let mut internal_keys = vec!["sentinel-password"];
    let mut volumes = vec![config_volume(plan), secret_volume("credentials", &plan.names.secret, &[PASSWORD_KEY])];
    if let Some(exporter) = internal_exporter(plan, SENTINEL_PORT) {
        containers.push(exporter);
        internal_keys.push("exporter-password");
        init.push(init_container(
            &plan.redis_image,
            script("init"),
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
    let spec = pod_spec(plan, Part::Sentinel, init, containers, volumes, 10);
    stateful_set(
        plan,
        &s.sentinel,
        &s.sentinel_headless,
        s.count,
        template(plan, Part::Sentinel, checksums, spec),
        None,
    )
}

fn proxy_deployment(plan: &Plan, s: &SentinelPlan, checksums: &[(String, String)]) -> Deployment {
    let health = |delay| super::workloads::http_probe("/healthz", "health", delay);
    let init = init_container(
        &s.proxy_image,
        Some(vec!["sh".into(), format!("{}/proxy.sh", paths::CONFIG_DIR)]),
        vec![
            mount("config", paths::CONFIG_DIR, true),
            mount("internal", INTERNAL_DIR, true),
            mount("run", PROXY_DIR, false),
        ],
    );
    let container = Container {
        name: "haproxy".into(),
        image: Some(s.proxy_image.clone()),
        image_pull_policy: pull_policy(&s.proxy_image),
        command: Some(vec!["haproxy".into(), "-db".into(), "-f".into(), format!("{PROXY_DIR}/haproxy.cfg")]),
        ports: Some(vec![port("redis", plan.port), port("health", PROXY_HEALTH_PORT)]),
        resources: Some(resources(&Resources {
            cpu_request: "50m".into(),
            cpu_limit: "500m".into(),
            memory_request: "64Mi".into(),
            memory_limit: "128Mi".into(),
        })),
        security_context: Some(restricted()),
        liveness_probe: Some(health(10)),
        readiness_probe: Some(health(2)),
        volume_mounts: Some(vec![mount("run", PROXY_DIR, true)]),
        ..Default::default()
    };
    let volumes = vec![
        config_volume(plan),
        secret_volume("internal", &s.internal_secret, &["exporter-password"]),
        memory_dir("run"),
    ];
    let spec = pod_spec(plan, Part::Proxy, vec![init], vec![container], volumes, 30);
    Deployment {
        metadata: object_meta(&s.proxy, &plan.namespace, part_labels(plan, Part::Proxy)),
        spec: Some(DeploymentSpec {
            replicas: Some(PROXY_REPLICAS),
            selector: selector(part_selector(plan, Part::Proxy)),
            revision_history_limit: Some(10),
            template: template(plan, Part::Proxy, checksums, spec),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// At most one pod of each part down by eviction: the Redis pods keep a
/// primary or a replica to promote, the Sentinels keep their majority (3 or
/// more), HAProxy keeps one of its two pods. Unhealthy pods may always be
/// evicted, so a broken pod never blocks a drain.
fn disruption_budgets(plan: &Plan, s: &SentinelPlan) -> Vec<PodDisruptionBudget> {
    [(plan.release.clone(), Part::Node), (s.sentinel.clone(), Part::Sentinel), (s.proxy.clone(), Part::Proxy)]
        .into_iter()
        .map(|(name, part)| PodDisruptionBudget {
            metadata: object_meta(&name, &plan.namespace, part_labels(plan, part)),
            spec: Some(PodDisruptionBudgetSpec {
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(selector(part_selector(plan, part))),
                unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort { port: Some(IntOrString::Int(port.into())), protocol: Some("TCP".into()), ..Default::default() }
}

fn namespace_peer(ns: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(BTreeMap::from([("kubernetes.io/metadata.name".into(), ns.to_string())]))),
        ..Default::default()
    }
}

fn pods_peer(plan: &Plan, part: Part) -> NetworkPolicyPeer {
    NetworkPolicyPeer { pod_selector: Some(selector(part_selector(plan, part))), ..Default::default() }
}

fn dns_egress() -> NetworkPolicyEgressRule {
    let dns = |protocol: &str| NetworkPolicyPort {
        port: Some(IntOrString::Int(53)),
        protocol: Some(protocol.into()),
        ..Default::default()
    };
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(selector(BTreeMap::from([(
                "kubernetes.io/metadata.name".into(),
                "kube-system".into(),
            )]))),
            pod_selector: Some(selector(BTreeMap::from([("k8s-app".into(), "kube-dns".into())]))),
            ..Default::default()
        }]),
        ports: Some(vec![dns("UDP"), dns("TCP")]),
    }
}

/// One policy per part. Redis pods: clients of the release's namespaces
/// (through `<release>-replicas` directly, through HAProxy for the primary),
/// Sentinels and each other; Sentinels: each other, the Redis pods and
/// sentinel-aware clients; HAProxy: the namespaces and the private network.
fn network_policies(plan: &Plan, s: &SentinelPlan) -> Vec<NetworkPolicy> {
    let namespaces: Vec<NetworkPolicyPeer> = plan.secret_namespaces().into_iter().map(namespace_peer).collect();
    let policy =
        |name: &str, part: Part, ingress: Vec<NetworkPolicyIngressRule>, egress: Vec<NetworkPolicyEgressRule>| {
            NetworkPolicy {
                metadata: object_meta(name, &plan.namespace, part_labels(plan, part)),
                spec: Some(NetworkPolicySpec {
                    pod_selector: Some(selector(part_selector(plan, part))),
                    policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
                    ingress: Some(ingress),
                    egress: Some(egress),
                }),
            }
        };
    let to = |part: Part, port: u16| NetworkPolicyEgressRule {
        to: Some(vec![pods_peer(plan, part)]),
        ports: Some(vec![tcp(port)]),
    };

    // Prometheus scrapes the exporter sidecars of Redis pods and Sentinels.
    let scrape = plan.metrics.as_ref().map(|_| NetworkPolicyIngressRule {
        from: Some(vec![namespace_peer(&plan.monitoring_namespace)]),
        ports: Some(vec![tcp(METRICS_PORT)]),
    });
    let mut proxy_peers = namespaces.clone();
    if let Some(lb) = &plan.loadbalancer {
        proxy_peers.extend(lb.source_ranges.iter().map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
            ..Default::default()
        }));
    }
    let node_ingress = [NetworkPolicyIngressRule { from: Some(namespaces.clone()), ports: Some(vec![tcp(plan.port)]) }];
    let sentinel_ingress = [NetworkPolicyIngressRule { from: Some(namespaces), ports: Some(vec![tcp(SENTINEL_PORT)]) }];
    vec![
        policy(
            &plan.release,
            Part::Node,
            node_ingress.into_iter().chain(scrape.clone()).collect(),
            vec![to(Part::Node, plan.port), to(Part::Sentinel, SENTINEL_PORT), dns_egress()],
        ),
        policy(
            &s.sentinel,
            Part::Sentinel,
            sentinel_ingress.into_iter().chain(scrape).collect(),
            vec![to(Part::Node, plan.port), to(Part::Sentinel, SENTINEL_PORT), dns_egress()],
        ),
        policy(
            &s.proxy,
            Part::Proxy,
            vec![NetworkPolicyIngressRule { from: Some(proxy_peers), ports: Some(vec![tcp(plan.port)]) }],
            vec![to(Part::Node, plan.port), dns_egress()],
        ),
    ]
}

/// Every object of a sentinel-mode release, in apply order.
pub fn build(plan: &Plan, s: &SentinelPlan, sealed: Option<&SealedData>) -> Built {
    let mut warnings = Vec::new();
    let credentials = secrets::sealed_secrets(plan, sealed, &mut warnings);
    let internal = internal_secret(plan, s, sealed, &mut warnings);
    let config = config_map(plan, s);
    let checksums = vec![
        (CONFIG_CHECKSUM.to_string(), sha256_of(&config.data)),
        (
            SECRET_CHECKSUM.to_string(),
            sha256_of(&(credentials.first().map(|c| &c.spec.encrypted_data), &internal.spec.encrypted_data)),
        ),
    ];

    let mut out = vec![Manifest::typed(&policy::namespace(plan)), Manifest::typed(&service_account(plan))];
    out.extend(credentials.iter().map(SealedSecret::manifest));
    out.push(internal.manifest());
    out.push(Manifest::typed(&config));
    out.extend(services(plan, s).iter().map(Manifest::typed));
    out.push(Manifest::typed(&node_stateful_set(plan, s, &checksums)));
    out.push(Manifest::typed(&sentinel_stateful_set(plan, s, &checksums)));
    out.push(Manifest::typed(&proxy_deployment(plan, s, &checksums)));
    out.extend(disruption_budgets(plan, s).iter().map(Manifest::typed));
    out.extend(network_policies(plan, s).iter().map(Manifest::typed));
    out.extend(super::monitoring_objects(plan));
    Built { manifests: out, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    const SENTINEL: &str = "mode = \"sentinel\"\nreplica_count = 2\n";

    fn plan(text: &str) -> Plan {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap()).unwrap()
    }

    fn errors(text: &str) -> Vec<(String, String)> {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap())
            .expect_err("should be refused")
            .into_iter()
            .map(|d| (d.key, d.message))
            .collect()
    }

    fn kinds(text: &str) -> Vec<(String, String)> {
        crate::objects::build(&plan(text), None).manifests.into_iter().map(|m| (m.kind.to_string(), m.name)).collect()
    }

    #[test]
    fn sentinel_settings_resolve_with_a_majority_quorum() {
        let p = plan(SENTINEL);
        let s = p.sentinel.as_ref().unwrap();
        assert_eq!((s.count, s.quorum, s.down_after_ms, s.failover_timeout_ms), (3, 2, 5000, 10000));
        assert_eq!(plan(&format!("{SENTINEL}sentinel_count = 5\n")).sentinel.unwrap().quorum, 3);
        assert_eq!(s.node_dns_suffix, ".redis-shared-headless.redis.svc.cluster.local");
        assert!(plan("").sentinel.is_none());
    }

    #[test]
    fn sentinel_mode_refuses_what_cannot_fail_over() {
        let e = errors(
            "mode = \"sentinel\"\nreplica_count = 0\nsentinel_count = 4\nport = 26379\nproxy_image = \"haproxy\"\nsentinel_down_after_ms = 10\n",
        );
        let keys: Vec<_> = e.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(keys, ["replica_count", "port", "sentinel_count", "sentinel_down_after_ms", "proxy_image"], "{e:?}");
        assert!(errors("mode = \"cluster\"\n")[0].1.contains("replication, sentinel"));
    }

    #[test]
    fn objects_of_sentinel_mode() {
        let k = kinds(SENTINEL);
        for (kind, name) in [
            ("StatefulSet", "redis-shared-node"),
            ("StatefulSet", "redis-shared-sentinel"),
            ("Deployment", "redis-shared-proxy"),
            ("Service", "redis-shared-master"),
            ("Service", "redis-shared-sentinel"),
            ("Service", "redis-shared-sentinel-headless"),
            ("SealedSecret", "redis-shared-internal"),
            ("PodDisruptionBudget", "redis-shared-sentinel"),
            ("PodDisruptionBudget", "redis-shared-proxy"),
            ("NetworkPolicy", "redis-shared-sentinel"),
            ("NetworkPolicy", "redis-shared-proxy"),
        ] {
            assert!(k.contains(&(kind.to_string(), name.to_string())), "{kind} {name}: {k:?}");
        }
        // No fixed primary: one StatefulSet for every Redis pod.
        assert!(!k.contains(&("StatefulSet".to_string(), "redis-shared-master".to_string())));
        assert_eq!(k[0].0, "Namespace");
        let tail: Vec<_> = k[k.len() - 3..].iter().map(|(kind, name)| (kind.as_str(), name.as_str())).collect();
        assert_eq!(
            tail,
            [
                ("ServiceMonitor", "redis-shared"),
                ("PrometheusRule", "redis-shared"),
                ("ConfigMap", "redis-shared-redis-dashboard")
            ]
        );
    }

    fn object<T: serde::de::DeserializeOwned>(text: &str, kind: &str, name: &str) -> Option<T> {
        let m = crate::objects::build(&plan(text), None)
            .manifests
            .into_iter()
            .find(|m| m.kind == kind && m.name == name)?;
        Some(serde_norway::from_value(m.value()).unwrap())
    }

    fn pod(text: &str, sts: &str) -> PodSpec {
        object::<StatefulSet>(text, "StatefulSet", sts).unwrap().spec.unwrap().template.spec.unwrap()
    }

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
        // Sentinel accepts the exporter user with read-only rules.
        let p = plan(SENTINEL);
        let files = config_files(&p, p.sentinel.as_ref().unwrap());
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
    fn the_service_monitor_scrapes_the_sentinels_through_a_service_of_their_own() {
        let svc: Service = object(SENTINEL, "Service", "redis-shared-sentinel-metrics").unwrap();
        let spec = svc.spec.unwrap();
        assert_eq!(spec.selector.unwrap()[COMPONENT_LABEL], "sentinel");
        assert_eq!(spec.ports.unwrap()[0].port, i32::from(METRICS_PORT));
        let node_svc: Service = object(SENTINEL, "Service", "redis-shared-metrics").unwrap();
        assert_eq!(node_svc.spec.unwrap().selector.unwrap()[COMPONENT_LABEL], "node");
        // The ServiceMonitor's selector picks both by their labels; their
        // series keep the pod's component (node or sentinel).
        let sm: serde_norway::Value = object(SENTINEL, "ServiceMonitor", "redis-shared").unwrap();
        let wanted: BTreeMap<String, String> =
            serde_norway::from_value(sm["spec"]["selector"]["matchLabels"].clone()).unwrap();
        for labels in [svc.metadata.labels.unwrap(), node_svc.metadata.labels.unwrap()] {
            assert!(wanted.iter().all(|(k, v)| labels.get(k) == Some(v)), "{labels:?}");
        }
        assert_eq!(sm["spec"]["podTargetLabels"][0].as_str(), Some(COMPONENT_LABEL));
    }

    #[test]
    fn only_the_monitoring_namespace_reaches_the_sentinels_exporters() {
        let policy: NetworkPolicy = object(SENTINEL, "NetworkPolicy", "redis-shared-sentinel").unwrap();
        let ingress = policy.spec.unwrap().ingress.unwrap();
        let metrics: Vec<_> = ingress
            .iter()
            .filter(|r| r.ports.iter().flatten().any(|p| p.port == Some(IntOrString::Int(METRICS_PORT.into()))))
            .collect();
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].ports.as_ref().unwrap().len(), 1);
        let from = metrics[0].from.as_ref().unwrap();
        assert_eq!(from.len(), 1);
        let ns = from[0].namespace_selector.as_ref().unwrap().match_labels.as_ref().unwrap();
        assert_eq!(ns["kubernetes.io/metadata.name"], "monitoring");
        assert!(from[0].pod_selector.is_none() && from[0].ip_block.is_none());
    }

    #[test]
    fn without_metrics_the_sentinels_have_no_exporter() {
        let text = format!("{SENTINEL}enable_metrics = false\nenable_service_monitor = false\n");
        let sentinel = pod(&text, "redis-shared-sentinel");
        assert!(container(&sentinel.containers, "metrics").is_none());
        assert!(sentinel.init_containers.is_none());
        assert!(sentinel.volumes.iter().flatten().all(|v| v.name != "exporter-run"));
        let internal = sentinel.volumes.iter().flatten().find(|v| v.name == "internal").unwrap();
        assert_eq!(internal.secret.as_ref().unwrap().items.as_ref().unwrap().len(), 1);
        assert!(object::<Service>(&text, "Service", "redis-shared-sentinel-metrics").is_none());
        let policy: NetworkPolicy = object(&text, "NetworkPolicy", "redis-shared-sentinel").unwrap();
        assert_eq!(policy.spec.unwrap().ingress.unwrap().len(), 1);
        let p = plan(&text);
        assert!(!config_files(&p, p.sentinel.as_ref().unwrap())["sentinel.sh"].contains("user exporter"));
        let k = kinds(&text);
        assert!(k.iter().all(|(kind, _)| kind != "PrometheusRule" && kind != "ServiceMonitor"), "{k:?}");
    }

    #[test]
    fn disabled_commands_become_acl_rules_not_renames() {
        let p = plan(SENTINEL);
        let files = config_files(&p, p.sentinel.as_ref().unwrap());
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

    #[test]
    fn internal_passwords_are_placeholders_until_sealed() {
        let built = crate::objects::build(&plan(SENTINEL), None);
        assert!(built.warnings.iter().any(|w| w.contains("redis-shared-internal")), "{:?}", built.warnings);
        let internal = built.manifests.iter().find(|m| m.name == "redis-shared-internal").unwrap();
        let text = &internal.yaml;
        for key in INTERNAL_KEYS {
            assert!(text.contains(&format!("{key}: {PLACEHOLDER_VALUE}")), "{text}");
        }
    }
}
