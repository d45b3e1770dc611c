//! Stage 3, the objects: typed Kubernetes and custom resources built from the
//! plan. One module per concern; each exposes small functions that return
//! objects, and `build` lists them in apply order.

mod config;
pub mod dashboard;
mod meta;
pub mod monitoring;
mod policy;
pub mod secrets;
pub mod sentinel;
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

/// Every object of the release, in apply order.
pub fn build(plan: &Plan, sealed: Option<&SealedData>) -> Built {
    if let Some(s) = &plan.sentinel {
        return sentinel::build(plan, s, sealed);
    }
    let mut warnings = Vec::new();
    let credentials = secrets::sealed_secrets(plan, sealed, &mut warnings);
    let config = config::config_map(plan);
    let checksums = workloads::Checksums {
        config: meta::sha256_of(&config.data),
        secret: meta::sha256_of(&credentials.first().map(|s| &s.spec.encrypted_data)),
    };

    let mut out = vec![Manifest::typed(&policy::namespace(plan)), Manifest::typed(&workloads::service_account(plan))];
    out.extend(credentials.iter().map(CustomResource::manifest));
    out.push(Manifest::typed(&config));
    out.extend(services::services(plan).iter().map(Manifest::typed));
    out.extend(workloads::stateful_sets(plan, &checksums).iter().map(Manifest::typed));
    out.extend(workloads::disruption_budget(plan).iter().map(Manifest::typed));
    out.push(Manifest::typed(&policy::network_policy(plan)));
    out.extend(monitoring_objects(plan));
    Built { manifests: out, warnings }
}

/// The ServiceMonitor, PrometheusRule and dashboard ConfigMap the profile
/// asks for, last in apply order (both modes).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn objects(text: &str) -> Vec<Manifest> {
        let plan = Plan::resolve(&Profile::parse("t.toml", text).unwrap()).unwrap();
        build(&plan, None).manifests
    }

    fn kinds(text: &str) -> Vec<(String, String)> {
        objects(text).into_iter().map(|m| (m.kind.to_string(), m.name)).collect()
    }

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
            let manifests = objects(text);
            assert!(manifests.iter().any(|m| m.yaml.contains(": |\n")), "a literal block is among them");
        }
    }

    #[test]
    fn without_sealed_data_placeholders_are_marked_and_warned_about() {
        let plan = Plan::resolve(&Profile::parse("t.toml", "").unwrap()).unwrap();
        let built = build(&plan, None);
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
        let plan = Plan::resolve(&Profile::parse("t.toml", "replica_namespaces = []").unwrap()).unwrap();
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
}
