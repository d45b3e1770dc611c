//! Stage 3, the objects: typed Kubernetes and custom resources built from the
//! plan. One module per concern; each exposes small functions that return
//! objects, and `build` lists them in apply order.

mod config;
pub mod dashboard;
mod meta;
pub mod monitoring;
mod policy;
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
    pub body: serde_yaml::Value,
}

impl Manifest {
    fn new<T: Serialize>(kind: &'static str, name: &str, namespace: Option<&str>, object: &T) -> Manifest {
        let body = serde_yaml::to_value(object).expect("objects serialize to YAML");
        Manifest { kind, name: name.to_string(), namespace: namespace.map(str::to_string), body }
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

/// What building produced besides the objects.
#[derive(Debug, Default)]
pub struct Built {
    pub manifests: Vec<Manifest>,
    pub warnings: Vec<String>,
}

/// Every object of the release, in apply order.
pub fn build(plan: &Plan, sealed: Option<&SealedData>) -> Built {
    let mut warnings = Vec::new();
    let credentials = secrets::sealed_secrets(plan, sealed, &mut warnings);
    let config = config::config_map(plan);
    let checksums = workloads::Checksums {
        config: meta::sha256_of(&config.data),
        secret: meta::sha256_of(&credentials.first().map(|s| &s.spec.encrypted_data)),
    };

    let mut out = vec![Manifest::typed(&policy::namespace(plan)), Manifest::typed(&workloads::service_account(plan))];
    out.extend(credentials.iter().map(secrets::manifest));
    out.push(Manifest::typed(&config));
    out.extend(services::services(plan).iter().map(Manifest::typed));
    out.extend(workloads::stateful_sets(plan, &checksums).iter().map(Manifest::typed));
    out.extend(workloads::disruption_budget(plan).iter().map(Manifest::typed));
    out.push(Manifest::typed(&policy::network_policy(plan)));
    if let Some(sm) = monitoring::service_monitor(plan) {
        out.push(monitoring::manifest(&sm));
    }
    if let Some(rule) = monitoring::prometheus_rule(plan) {
        out.push(monitoring::rule_manifest(&rule));
    }
    out.extend(dashboard::config_map(plan).iter().map(Manifest::typed));
    Built { manifests: out, warnings }
}
