//! Stage 3, the objects: typed Kubernetes and custom resources built from the
//! plan. One module per concern; each exposes small functions that return
//! objects, and `build` lists them in apply order.

mod config;
pub mod dashboard;
mod meta;
pub mod monitoring;
mod pod;
mod policy;
mod promql;
pub mod secrets;
mod services;
mod workloads;

use serde::Serialize;

use crate::plan::Plan;
use crate::sealed::SealedData;

/// One object, ready to be written as one file.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub kind: &'static str,
    pub name: String,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The object as a YAML document.
    pub yaml: String,
}

impl Manifest {
    fn new<T: Serialize>(kind: &'static str, name: &str, namespace: Option<&str>, object: &T) -> Manifest {
        let yaml = crate::yaml::to_string(object);
        // Every object built by a unit test is also checked against serde_norway.
        #[cfg(test)]
        assert_eq!(yaml, serde_norway::to_string(object).unwrap(), "{kind} {name}");
        Manifest { kind, name: name.to_string(), namespace: namespace.map(str::to_string), yaml }
    }

    /// The object as a YAML value, to look into it.
    pub fn value(&self) -> serde_norway::Value {
        serde_norway::from_str(&self.yaml).expect("generated YAML parses")
    }

    /// Manifest of a typed k8s-openapi object (kind from its type).
    fn typed<T>(object: &T) -> Manifest
    where
        T: Serialize
            + k8s_openapi::Resource
            + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    {
        let m = object.metadata();
        Manifest::new(T::KIND, m.name.as_deref().unwrap_or_default(), m.namespace.as_deref(), object)
    }
}

/// A custom resource of a CRD that k8s-openapi does not know (SealedSecret,
/// ServiceMonitor, PrometheusRule): the same envelope around a typed spec.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResource<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    pub spec: S,
}

impl<S: Serialize> CustomResource<S> {
    pub fn manifest(&self) -> Manifest {
        Manifest::new(
            self.kind,
            self.metadata.name.as_deref().unwrap_or_default(),
            self.metadata.namespace.as_deref(),
            self,
        )
    }
}

/// What building produced besides the objects.
#[derive(Debug, Default)]
pub struct Built {
    pub manifests: Vec<Manifest>,
    pub warnings: Vec<String>,
}

/// Every object of the release, in apply order (both topologies).
pub fn build(plan: &Plan, sealed: Option<&SealedData>) -> Built {
    let mut warnings = Vec::new();
    let secrets = secrets::sealed_secrets(plan, sealed, &mut warnings);
    let config = config::config_map(plan);
    let checksums = pod::Checksums { config: meta::sha256_of(&config.data), secret: secrets::checksum(plan, &secrets) };

    let mut out = vec![Manifest::typed(&policy::namespace(plan)), Manifest::typed(&workloads::service_account(plan))];
    out.extend(secrets.iter().map(CustomResource::manifest));
    out.push(Manifest::typed(&config));
    out.extend(services::services(plan).iter().map(Manifest::typed));
    out.extend(workloads::workloads(plan, &checksums));
    out.extend(workloads::disruption_budgets(plan).iter().map(Manifest::typed));
    out.extend(policy::network_policies(plan).iter().map(Manifest::typed));
    out.extend(monitoring_objects(plan));
    Built { manifests: out, warnings }
}

/// The ServiceMonitor, PrometheusRule and dashboard ConfigMap the profile
/// asks for, last in apply order.
fn monitoring_objects(plan: &Plan) -> Vec<Manifest> {
    let mut out = Vec::new();
    if let Some(sm) = monitoring::service_monitor(plan) {
        out.push(sm.manifest());
    }
    if let Some(rule) = monitoring::prometheus_rule(plan) {
        out.push(rule.manifest());
    }
    out.extend(dashboard::config_map(plan).iter().map(Manifest::typed));
    out
}

/// What the unit tests of every object module build from.
#[cfg(test)]
pub(crate) mod fixture {
    use super::{Built, Plan, build};
    use crate::profile::Profile;

    /// The smallest sentinel-mode profile.
    pub const SENTINEL: &str = "mode = \"sentinel\"\nreplica_count = 2\n";

    pub fn plan(text: &str) -> Plan {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap()).unwrap()
    }

    /// Every object of the profile `text`, without sealed data.
    pub fn built(text: &str) -> Built {
        build(&plan(text), None)
    }

    /// (kind, name) of every object, in apply order.
    pub fn kinds(text: &str) -> Vec<(String, String)> {
        built(text).manifests.into_iter().map(|m| (m.kind.to_string(), m.name)).collect()
    }

    /// The object of type `T` named `name`.
    pub fn get<T: serde::de::DeserializeOwned + k8s_openapi::Resource>(text: &str, name: &str) -> Option<T> {
        let m = built(text).manifests.into_iter().find(|m| m.kind == T::KIND && m.name == name)?;
        Some(serde_norway::from_value(m.value()).unwrap())
    }

    /// The object `kind` `name` as a YAML value (for the custom resources).
    pub fn yaml(text: &str, kind: &str, name: &str) -> serde_norway::Value {
        built(text).manifests.into_iter().find(|m| m.kind == kind && m.name == name).unwrap().value()
    }

    /// The pod spec of the StatefulSet `name`.
    pub fn pod(text: &str, name: &str) -> k8s_openapi::api::core::v1::PodSpec {
        get::<k8s_openapi::api::apps::v1::StatefulSet>(text, name).unwrap().spec.unwrap().template.spec.unwrap()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Service;
    use k8s_openapi::api::networking::v1::NetworkPolicy;

    use super::fixture::{SENTINEL, built, get, kinds, plan, pod};
    use super::*;
    use crate::profile::Profile;

    fn has(text: &str, kind: &str, name: &str) -> bool {
        kinds(text).contains(&(kind.to_string(), name.to_string()))
    }

    #[test]
    fn apply_order_starts_with_the_namespace_and_ends_with_policy_and_monitoring() {
        let k = kinds("");
        assert_eq!(k[0], ("Namespace".into(), "redis".into()));
        let tail: Vec<_> = k[k.len() - 3..].iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(tail, ["ServiceMonitor", "PrometheusRule", "ConfigMap"]);
    }

    #[test]
    fn optional_objects_follow_the_profile() {
        assert!(has("", "Service", "redis-shared-replicas"));
        assert!(!has("replica_count = 0", "Service", "redis-shared-replicas"));
        assert!(!has("replica_count = 0", "StatefulSet", "redis-shared-replicas"));
        assert!(!has("replica_count = 0", "PodDisruptionBudget", "redis-shared"));
        assert!(!has("enable_loadbalancer = false", "Service", "redis-shared-external"));
        assert!(!has("enable_metrics = false\nenable_service_monitor = false", "Service", "redis-shared-metrics"));
        assert!(!has("enable_service_monitor = false", "ServiceMonitor", "redis-shared"));
        assert!(has("", "PrometheusRule", "redis-shared"));
        assert!(!has("enable_alerts = false", "PrometheusRule", "redis-shared"));
        assert!(has("", "ConfigMap", "redis-shared-redis-dashboard"));
        assert!(!has("enable_dashboard = false", "ConfigMap", "redis-shared-redis-dashboard"));
        assert!(!has("enable_service_monitor = false", "ConfigMap", "redis-shared-redis-dashboard"));
    }

    #[test]
    fn objects_of_every_test_profile_are_written_as_serde_norway_writes_them() {
        // Manifest::new compares with serde_norway under test; this runs it
        // over the profiles the project ships and tests with.
        let profiles = [
            include_str!("../../profiles/homelab.toml"),
            include_str!("../../tests/profiles/sentinel.toml"),
            include_str!("../../tests/profiles/two-replicas.toml"),
            "labels = { team = \"007\", enabled = \"true\", n = \"1e3\" }\nreplica_count = 0",
        ];
        for text in profiles {
            let manifests = built(text).manifests;
            assert!(manifests.iter().any(|m| m.yaml.contains(": |\n")), "a literal block is among them");
        }
    }

    #[test]
    fn without_sealed_data_placeholders_are_marked_and_warned_about() {
        let built = built("");
        assert_eq!(built.warnings.len(), 1);
        let sealed: Vec<_> = built.manifests.iter().filter(|m| m.kind == "SealedSecret").collect();
        assert_eq!(sealed.len(), 2);
        for m in sealed {
            let text = &m.yaml;
            assert!(text.contains(secrets::PLACEHOLDER_ANNOTATION) && text.contains(secrets::PLACEHOLDER_VALUE));
        }
    }

    #[test]
    fn sealed_data_replaces_placeholders_and_changes_the_secret_checksum() {
        let plan = plan("replica_namespaces = []");
        let checksum = |sealed: Option<&SealedData>| {
            let built = build(&plan, sealed);
            let sts = built.manifests.iter().find(|m| m.kind == "StatefulSet").unwrap();
            (built.warnings, sts.value()["spec"]["template"]["metadata"]["annotations"]["checksum/secret"].clone())
        };
        // Sealed for this Secret's name (strict scope binds values to it).
        let mut data = SealedData { secret_name: plan.names.secret.clone(), ..SealedData::default() };
        data.secrets.insert("redis".into(), [("redis-password".to_string(), "AgAAAA==".to_string())].into());
        let (warnings, sealed_sum) = checksum(Some(&data));
        assert!(warnings.is_empty(), "{warnings:?}");
        data.secrets.get_mut("redis").unwrap().insert("redis-password".into(), "AgBBBB==".into());
        assert_ne!(sealed_sum, checksum(Some(&data)).1);
        assert_ne!(sealed_sum, checksum(None).1);
    }

    fn errors(text: &str) -> Vec<(String, String)> {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap())
            .expect_err("should be refused")
            .into_iter()
            .map(|d| (d.key, d.message))
            .collect()
    }

    // Plan tests of mode sentinel: they move to src/plan/ with the ACL rules.
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

    #[test]
    fn without_metrics_the_sentinels_have_no_exporter() {
        let text = format!("{SENTINEL}enable_metrics = false\nenable_service_monitor = false\n");
        let sentinel = pod(&text, "redis-shared-sentinel");
        assert!(sentinel.containers.iter().all(|c| c.name != "metrics"));
        assert!(sentinel.init_containers.is_none());
        assert!(sentinel.volumes.iter().flatten().all(|v| v.name != "exporter-run"));
        let internal = sentinel.volumes.iter().flatten().find(|v| v.name == "internal").unwrap();
        assert_eq!(internal.secret.as_ref().unwrap().items.as_ref().unwrap().len(), 1);
        assert!(get::<Service>(&text, "redis-shared-sentinel-metrics").is_none());
        let policy: NetworkPolicy = get(&text, "redis-shared-sentinel").unwrap();
        assert_eq!(policy.spec.unwrap().ingress.unwrap().len(), 1);
        assert!(!config::config_files(&plan(&text))["sentinel.sh"].contains("user exporter"));
        let k = kinds(&text);
        assert!(k.iter().all(|(kind, _)| kind != "PrometheusRule" && kind != "ServiceMonitor"), "{k:?}");
    }
}
