//! The Redis containers' CPU and memory requests and limits, and
//! `maxmemory`: the defaults that follow other keys, the request/limit
//! pairs, and maxmemory against both memory limits. The primary's memory
//! limit is parsed here once, in bytes, beside the text as written.

use super::check::{At, Checker};
use super::quantity::Quantity;
use super::syntax::{cap_cpu_request, human_bytes};
use crate::diag::Rule;
use crate::profile::Sp;
use crate::profile::keys::{self, Key};

/// CPU and memory requests and limits of one container, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
}

/// The Redis pods' resources and the memory Redis may use.
pub struct Sizing {
    pub master: Resources,
    pub replica: Resources,
    /// `master.memory_limit` in bytes (0 when it is not a quantity).
    pub master_memory_limit_bytes: f64,
    pub maxmemory_bytes: u64,
}

impl Checker<'_> {
    /// One container's requests and limits, for CPU and memory.
    pub fn resources(&mut self, keys: [&Key; 4], values: [Sp<String>; 4]) -> Resources {
        let [cr_key, cl_key, mr_key, ml_key] = keys;
        let [cr, cl, mr, ml] = values;
        let (cpu_request, cpu_limit) = self.pair(cr_key, cr, cl_key, cl, false);
        let (memory_request, memory_limit) = self.pair(mr_key, mr, ml_key, ml, true);
        Resources { cpu_request, cpu_limit, memory_request, memory_limit }
    }
}

impl Sizing {
    pub fn resolve(c: &mut Checker<'_>, replica_count: &Sp<i64>) -> Sizing {
        let master_cpu_limit = c.str(&keys::MASTER_CPU_LIMIT);
        let master_mem_limit = c.str(&keys::MASTER_MEMORY_LIMIT);
        let master_cpu_request =
            cap_cpu_request(c.str(&keys::MASTER_CPU_REQUEST), &master_cpu_limit, c.is_set(&keys::MASTER_CPU_REQUEST));
        let master_mem_request =
            c.str_opt(&keys::MASTER_MEMORY_REQUEST).unwrap_or_else(|| Sp::default(master_mem_limit.value.clone()));
        let master = c.resources(
            [
                &keys::MASTER_CPU_REQUEST,
                &keys::MASTER_CPU_LIMIT,
                &keys::MASTER_MEMORY_REQUEST,
                &keys::MASTER_MEMORY_LIMIT,
            ],
            [master_cpu_request.clone(), master_cpu_limit.clone(), master_mem_request, master_mem_limit],
        );

        let replica_cpu_limit =
            c.str_opt(&keys::REPLICA_CPU_LIMIT).unwrap_or_else(|| Sp::default(master_cpu_limit.value.clone()));
        let replica_mem_limit =
            c.str_opt(&keys::REPLICA_MEMORY_LIMIT).unwrap_or_else(|| Sp::default(master.memory_limit.clone()));
        let replica_mem_limit_span = replica_mem_limit.span.clone();
        let replica_cpu_request = match c.str_opt(&keys::REPLICA_CPU_REQUEST) {
            Some(r) => r,
            None => cap_cpu_request(Sp::default(master_cpu_request.value), &replica_cpu_limit, false),
        };
        let replica_mem_request =
            c.str_opt(&keys::REPLICA_MEMORY_REQUEST).unwrap_or_else(|| Sp::default(replica_mem_limit.value.clone()));
        let replica = c.resources(
            [
                &keys::REPLICA_CPU_REQUEST,
                &keys::REPLICA_CPU_LIMIT,
                &keys::REPLICA_MEMORY_REQUEST,
                &keys::REPLICA_MEMORY_LIMIT,
            ],
            [replica_cpu_request, replica_cpu_limit, replica_mem_request, replica_mem_limit],
        );

        let maxmemory = c.str(&keys::MAXMEMORY);
        let limit_bytes = Quantity::parse(&master.memory_limit).map_or(0.0, |q| q.0);
        let maxmemory_bytes = match maxmemory.value.as_str() {
            // A fork (AOF rewrite, full resync, BGSAVE) under writes can copy the
            // whole dataset: a third for it, a third for its copy, a third for
            // fragmentation, buffers and page cache (README, "Memory budget").
            "auto" => (limit_bytes / 3.0) as u64,
            "0" => 0,
            _ => match c.quantity(&At::key(&keys::MAXMEMORY), &maxmemory, true) {
                Some(b) if b > limit_bytes && limit_bytes > 0.0 && !c.poisoned(&[&keys::MASTER_MEMORY_LIMIT]) => {
                    c.err(&keys::MAXMEMORY, maxmemory.span.clone(), format!("`{}` is above master_memory_limit `{}`: Redis would be killed for running out of memory before it evicts or refuses writes", maxmemory.value, master.memory_limit));
                    0
                }
                Some(b) => b as u64,
                None => 0,
            },
        };
        // One redis.conf serves every pod: maxmemory must fit the replicas too.
        let replica_limit_bytes = Quantity::parse(&replica.memory_limit).map_or(0.0, |q| q.0);
        if replica_count.value > 0
            && maxmemory_bytes > 0
            && replica_limit_bytes > 0.0
            && maxmemory_bytes as f64 > replica_limit_bytes
            && !c.poisoned(&[&keys::MAXMEMORY, &keys::MASTER_MEMORY_LIMIT, &keys::REPLICA_COUNT])
        {
            let (key, span) = match &replica_mem_limit_span {
                Some(s) => (&keys::REPLICA_MEMORY_LIMIT, Some(s.clone())),
                None => (&keys::MAXMEMORY, maxmemory.span.clone()),
            };
            c.err_as(Rule::Maxmemory, &At::key(key), span, format!("the replicas' memory limit `{}` is below maxmemory ({}, {}): a replica holds the whole dataset and would be killed for running out of memory; raise replica_memory_limit or lower maxmemory", replica.memory_limit, human_bytes(maxmemory_bytes), if maxmemory.value == "auto" { "a third of master_memory_limit".to_string() } else { format!("`{}`", maxmemory.value) }));
        }
        Sizing { master, replica, master_memory_limit_bytes: limit_bytes, maxmemory_bytes }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::testing::{errors, plan};

    #[test]
    fn small_cpu_limit_lowers_the_default_request() {
        let p = plan("master_cpu_limit = \"100m\"\n");
        assert_eq!(p.master.cpu_request, "100m");
        assert_eq!(p.replica.cpu_request, "100m");
    }

    #[test]
    fn request_above_limit_names_the_request() {
        let e = errors("master_cpu_limit = \"500m\"\nmaster_cpu_request = \"2\"\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].key, "master_cpu_request");
        assert_eq!(e[0].at, Some((2, 22)));
        assert!(e[0].message.contains("above limit"));
    }
}
