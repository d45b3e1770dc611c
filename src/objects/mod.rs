//! Stage 3, the objects: typed Kubernetes and custom resources built from the
//! plan. One module per concern (workloads, services, policy, secrets,
//! config, monitoring, alerts, dashboard), each building its objects for both
//! topologies from the pod kit (`pod`) and the shared metadata (`meta`);
//! `build` lists them in apply order as typed `Object`s, which only the
//! bundle serializes.

mod alerts;
mod config;
pub mod dashboard;
mod meta;
pub mod monitoring;
mod object;
mod pod;
mod policy;
mod promql;
pub mod secrets;
mod services;
mod workloads;

use crate::plan::Plan;
pub use object::{Kind, Object, ObjectId};

/// Every object of the release, in apply order (both topologies).
pub fn build(plan: &Plan) -> Vec<Object> {
    let secrets = secrets::sealed_secrets(plan);
    let config = config::config_map(plan);
    let checksums = pod::Checksums { config: meta::sha256_of(&config.data), secret: secrets::checksum(plan, &secrets) };

    let mut out: Vec<Object> = vec![policy::namespace(plan).into(), workloads::service_account(plan).into()];
    out.extend(secrets.into_iter().map(Object::from));
    out.push(config.into());
    out.extend(services::services(plan).into_iter().map(Object::from));
    out.extend(workloads::workloads(plan, &checksums));
    out.extend(workloads::disruption_budgets(plan).into_iter().map(Object::from));
    out.extend(policy::network_policies(plan).into_iter().map(Object::from));
    // What the profile asks of monitoring, last.
    out.extend(monitoring::service_monitor(plan).map(Object::from));
    out.extend(alerts::prometheus_rule(plan).map(Object::from));
    out.extend(dashboard::config_map(plan).map(Object::from));
    out
}

/// What the unit tests of every object module build from.
#[cfg(test)]
pub(crate) mod fixture {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::PodSpec;

    use super::{Kind, Object, Plan, build};
    use crate::profile::Profile;

    /// The smallest sentinel-mode profile.
    pub const SENTINEL: &str = "mode = \"sentinel\"\nreplica_count = 2\n";

    pub fn plan(text: &str) -> Plan {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap(), None).unwrap()
    }

    /// Every object of the profile `text`, without sealed data.
    pub fn built(text: &str) -> Vec<Object> {
        build(&plan(text))
    }

    /// (kind, name) of every object, in apply order.
    pub fn kinds(text: &str) -> Vec<(Kind, String)> {
        built(text).iter().map(|o| (o.kind(), o.id().name)).collect()
    }

    /// Every object of type `T`, in apply order.
    pub fn all<T: TryFrom<Object>>(objects: Vec<Object>) -> Vec<T> {
        objects.into_iter().filter_map(|o| T::try_from(o).ok()).collect()
    }

    /// The object of type `T` named `name`.
    pub fn get<
        T: TryFrom<Object> + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    >(
        text: &str,
        name: &str,
    ) -> Option<T> {
        all::<T>(built(text)).into_iter().find(|o| o.metadata().name.as_deref() == Some(name))
    }

    /// The pod spec of the StatefulSet `name`.
    pub fn pod(text: &str, name: &str) -> PodSpec {
        get::<StatefulSet>(text, name).unwrap().spec.unwrap().template.spec.unwrap()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::Service;
    use k8s_openapi::api::networking::v1::NetworkPolicy;

    use super::fixture::{SENTINEL, all, built, get, kinds, plan, pod};
    use super::secrets::{PLACEHOLDER_ANNOTATION, SealedSecret};
    use super::*;
    use crate::plan::credentials::PLACEHOLDER_VALUE;
    use crate::profile::Profile;
    use crate::seal::data::SealedData;

    fn has(text: &str, kind: Kind, name: &str) -> bool {
        kinds(text).contains(&(kind, name.to_string()))
    }

    #[test]
    fn apply_order_starts_with_the_namespace_and_ends_with_policy_and_monitoring() {
        let k = kinds("");
        assert_eq!(k[0], (Kind::Namespace, "redis".into()));
        let tail: Vec<_> = k[k.len() - 3..].iter().map(|(kind, _)| *kind).collect();
        assert_eq!(tail, [Kind::ServiceMonitor, Kind::PrometheusRule, Kind::ConfigMap]);
    }

    #[test]
    fn optional_objects_follow_the_profile() {
        assert!(has("", Kind::Service, "redis-shared-replicas"));
        assert!(!has("replica_count = 0", Kind::Service, "redis-shared-replicas"));
        assert!(!has("replica_count = 0", Kind::StatefulSet, "redis-shared-replicas"));
        assert!(!has("replica_count = 0", Kind::PodDisruptionBudget, "redis-shared"));
        assert!(!has("enable_loadbalancer = false", Kind::Service, "redis-shared-external"));
        assert!(!has("enable_metrics = false\nenable_service_monitor = false", Kind::Service, "redis-shared-metrics"));
        assert!(!has("enable_service_monitor = false", Kind::ServiceMonitor, "redis-shared"));
        assert!(has("", Kind::PrometheusRule, "redis-shared"));
        assert!(!has("enable_alerts = false", Kind::PrometheusRule, "redis-shared"));
        assert!(has("", Kind::ConfigMap, "redis-shared-redis-dashboard"));
        assert!(!has("enable_dashboard = false", Kind::ConfigMap, "redis-shared-redis-dashboard"));
        assert!(!has("enable_service_monitor = false", Kind::ConfigMap, "redis-shared-redis-dashboard"));
    }

    #[test]
    fn every_object_of_the_shipped_profiles_is_written_as_serde_norway_writes_it() {
        // The bundle writes with bundle::yaml; serde_norway is its oracle.
        let profiles = [
            include_str!("../../profiles/homelab.toml"),
            include_str!("../../tests/profiles/sentinel.toml"),
            include_str!("../../tests/profiles/two-replicas.toml"),
            "labels = { team = \"007\", enabled = \"true\", n = \"1e3\" }\nreplica_count = 0",
        ];
        for text in profiles {
            let texts: Vec<_> = built(text)
                .iter()
                .map(|o| {
                    let yaml = crate::bundle::yaml::to_string(o);
                    assert_eq!(yaml, serde_norway::to_string(o).unwrap(), "{}", o.id());
                    yaml
                })
                .collect();
            assert!(texts.iter().any(|t| t.contains(": |\n")), "a literal block is among them");
        }
    }

    #[test]
    fn custom_resources_take_their_api_version_and_kind_from_their_type() {
        for o in built(SENTINEL) {
            let value = serde_norway::to_value(&o).unwrap();
            let (api_version, kind) = match &o {
                Object::SealedSecret(_) => ("bitnami.com/v1alpha1", "SealedSecret"),
                Object::ServiceMonitor(_) => ("monitoring.coreos.com/v1", "ServiceMonitor"),
                Object::PrometheusRule(_) => ("monitoring.coreos.com/v1", "PrometheusRule"),
                _ => continue,
            };
            assert_eq!((value["apiVersion"].as_str(), value["kind"].as_str()), (Some(api_version), Some(kind)));
            assert_eq!(o.kind().as_str(), kind);
        }
    }

    #[test]
    fn without_sealed_data_placeholders_are_marked_and_warned_about() {
        assert_eq!(plan("").credentials.warnings.len(), 1);
        let sealed: Vec<SealedSecret> = all(built(""));
        assert_eq!(sealed.len(), 2);
        for s in sealed {
            assert!(s.metadata.annotations.unwrap().contains_key(PLACEHOLDER_ANNOTATION));
            assert!(s.spec.encrypted_data.values().all(|v| v == PLACEHOLDER_VALUE));
        }
    }

    #[test]
    fn sealed_data_replaces_placeholders_and_changes_the_secret_checksum() {
        let profile = Profile::parse("t.toml", "replica_namespaces = []").unwrap();
        let checksum = |sealed: Option<&SealedData>| {
            let plan = Plan::resolve(&profile, sealed).unwrap();
            let sts = all::<StatefulSet>(build(&plan)).remove(0);
            let annotations = sts.spec.unwrap().template.metadata.unwrap().annotations.unwrap();
            (plan.credentials.warnings, annotations[pod::SECRET_CHECKSUM].clone())
        };
        // Sealed for this Secret's name (strict scope binds values to it).
        let mut data = SealedData { secret_name: "redis-credentials".into(), ..SealedData::default() };
        data.secrets.insert("redis".into(), [("redis-password".to_string(), "AgAAAA==".to_string())].into());
        let (warnings, sealed_sum) = checksum(Some(&data));
        assert!(warnings.is_empty(), "{warnings:?}");
        data.secrets.get_mut("redis").unwrap().insert("redis-password".into(), "AgBBBB==".into());
        assert_ne!(sealed_sum, checksum(Some(&data)).1);
        assert_ne!(sealed_sum, checksum(None).1);
    }

    fn errors(text: &str) -> Vec<(String, String)> {
        Plan::resolve(&Profile::parse("t.toml", text).unwrap(), None)
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
        assert_eq!(keys, ["replica_count", "sentinel_count", "port", "proxy_image", "sentinel_down_after_ms"], "{e:?}");
        assert!(errors("mode = \"cluster\"\n")[0].1.contains("replication, sentinel"));
    }

    #[test]
    fn objects_of_sentinel_mode() {
        let k = kinds(SENTINEL);
        for (kind, name) in [
            (Kind::StatefulSet, "redis-shared-node"),
            (Kind::StatefulSet, "redis-shared-sentinel"),
            (Kind::Deployment, "redis-shared-proxy"),
            (Kind::Service, "redis-shared-master"),
            (Kind::Service, "redis-shared-sentinel"),
            (Kind::Service, "redis-shared-sentinel-headless"),
            (Kind::SealedSecret, "redis-shared-internal"),
            (Kind::PodDisruptionBudget, "redis-shared-sentinel"),
            (Kind::PodDisruptionBudget, "redis-shared-proxy"),
            (Kind::NetworkPolicy, "redis-shared-sentinel"),
            (Kind::NetworkPolicy, "redis-shared-proxy"),
        ] {
            assert!(k.contains(&(kind, name.to_string())), "{kind} {name}: {k:?}");
        }
        // No fixed primary: one StatefulSet for every Redis pod.
        assert!(!k.contains(&(Kind::StatefulSet, "redis-shared-master".to_string())));
        assert_eq!(k[0].0, Kind::Namespace);
        let tail: Vec<_> = k[k.len() - 3..].iter().map(|(kind, name)| (*kind, name.as_str())).collect();
        assert_eq!(
            tail,
            [
                (Kind::ServiceMonitor, "redis-shared"),
                (Kind::PrometheusRule, "redis-shared"),
                (Kind::ConfigMap, "redis-shared-redis-dashboard")
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
        assert!(k.iter().all(|(kind, _)| !matches!(kind, Kind::PrometheusRule | Kind::ServiceMonitor)), "{k:?}");
    }
}
