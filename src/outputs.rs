//! The seed module's outputs: where Redis is and where its password lives
//! (never the password itself).

use serde::Serialize;

use crate::plan::Plan;
use crate::seal::data::PASSWORD_KEY;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Outputs {
    pub redis_master_service: String,
    pub redis_replicas_service: Option<String>,
    pub redis_external_ip: Option<String>,
    pub redis_secret_name: String,
    /// How to read the password; replaces the seed's sensitive `redis_password`.
    pub redis_password_command: String,
}

impl Outputs {
    pub fn of(plan: &Plan) -> Outputs {
        Outputs {
            redis_master_service: plan.names.master_dns.clone(),
            redis_replicas_service: (plan.replica_count > 0).then(|| plan.names.replicas_dns.clone()),
            redis_external_ip: plan.loadbalancer.as_ref().map(|lb| lb.ip.to_string()),
            redis_secret_name: plan.names.secret.clone(),
            redis_password_command: format!(
                "kubectl get secret {} -n {} -o jsonpath='{{.data.{}}}' | base64 -d",
                plan.names.secret, plan.namespace, PASSWORD_KEY
            ),
        }
    }

    /// Human-readable form, one `name: value` per line.
    pub fn text(&self) -> String {
        let none = "(none)".to_string();
        format!(
            "redis_master_service:   {}\nredis_replicas_service: {}\nredis_external_ip:      {}\nredis_secret_name:      {}\nredis_password:         {}\n",
            self.redis_master_service,
            self.redis_replicas_service.as_ref().unwrap_or(&none),
            self.redis_external_ip.as_ref().unwrap_or(&none),
            self.redis_secret_name,
            self.redis_password_command,
        )
    }
}
