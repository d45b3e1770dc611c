//! The ConfigMap with redis.conf, the role files and the pod scripts.

use k8s_openapi::api::core::v1::ConfigMap;

use super::meta::object_meta;
use crate::plan::Plan;
use crate::render::config_files;

pub fn config_map(plan: &Plan) -> ConfigMap {
    ConfigMap {
        metadata: object_meta(&plan.names.config, &plan.namespace, plan.labels()),
        data: Some(config_files(plan)),
        ..Default::default()
    }
}
