//! The seeds' `resource_pools` section: pools and their scaling policies, typed.
//! Defaults are the seeds' values (one static `pool-default` of 2 to 20 workers
//! that scales up when CPU passes 80 %, with a 5 minute cooldown).

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourcePools {
    pub enabled: bool,
    pub default_pool_type: PoolType,
    pub pools: Vec<PoolConfig>,
    /// What starts the workers of dynamic pools (see `provision`): `none`
    /// (workers are started by the operator), `process` (local `hodei worker`
    /// processes started by the leader) or `docker` (one container per worker).
    pub provisioner: ProvisionerKind,
    /// Settings of the `docker` provisioner.
    pub docker: DockerProvisioner,
}

/// `resource_pools.docker`: how the `docker` provisioner runs a worker.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerProvisioner {
    /// The image whose entrypoint is `hodei` (scripts/build-image builds `hodei:dev`).
    pub image: String,
    /// `docker run --network`: `host` lets workers reach nodes bound to loopback.
    pub network: String,
    /// Bind mounts (`SRC:DST[:ro]`) giving jobs their tools: the image holds
    /// only the static `hodei`, so by default the host's programs and libraries
    /// are mounted read-only.
    pub mounts: Vec<String>,
}

impl Default for DockerProvisioner {
    fn default() -> Self {
        DockerProvisioner {
            image: "hodei:dev".into(),
            network: "host".into(),
            mounts: ["/usr", "/bin", "/lib", "/lib64", "/etc"].iter().map(|d| format!("{d}:{d}:ro")).collect(),
        }
    }
}

impl Default for ResourcePools {
    fn default() -> Self {
        ResourcePools {
            enabled: true,
            default_pool_type: PoolType::Static,
            pools: vec![PoolConfig::seed_default()],
            provisioner: ProvisionerKind::None,
            docker: DockerProvisioner::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionerKind {
    None,
    Process,
    Docker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolType {
    /// Workers kept warm between `min_size` and `max_size`.
    Static,
    /// Workers started on demand up to `max_size`.
    Dynamic,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub pool_type: PoolType,
    pub min_size: u32,
    pub max_size: u32,
    #[serde(default)]
    pub auto_scaling_enabled: bool,
    #[serde(default)]
    pub scaling_policies: Vec<ScalingPolicy>,
}

impl PoolConfig {
    fn seed_default() -> Self {
        PoolConfig {
            id: "pool-default".into(),
            name: "Default Pool".into(),
            pool_type: PoolType::Static,
            min_size: 2,
            max_size: 20,
            auto_scaling_enabled: true,
            scaling_policies: vec![ScalingPolicy {
                name: "cpu-scaling".into(),
                trigger: ScalingTrigger { metric: "cpu_utilization".into(), op: Comparison::Gt, threshold: 80.0 },
                action: ScalingAction::ScaleUp,
                cooldown: Duration::from_secs(300),
            }],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicy {
    pub name: String,
    /// Written `metric > threshold`, e.g. `cpu_utilization > 80`.
    pub trigger: ScalingTrigger,
    pub action: ScalingAction,
    /// Written `5m`, `90s`, `1h`.
    #[serde(deserialize_with = "super::duration::deserialize")]
    pub cooldown: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingAction {
    ScaleUp,
    ScaleDown,
}

/// `metric op threshold`, parsed from the seeds' string form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct ScalingTrigger {
    pub metric: String,
    pub op: Comparison,
    pub threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Comparison {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        }
    }
}

impl TryFrom<String> for ScalingTrigger {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("trigger {text:?} must look like `cpu_utilization > 80` (>, >=, < or <=)");
        let at = text.find(['>', '<']).ok_or_else(bad)?;
        let (metric, rest) = text.split_at(at);
        let (op, number) = match rest.strip_prefix(">=").or_else(|| rest.strip_prefix("<=")) {
            Some(n) if rest.starts_with('>') => (Comparison::Ge, n),
            Some(n) => (Comparison::Le, n),
            None if rest.starts_with('>') => (Comparison::Gt, &rest[1..]),
            None => (Comparison::Lt, &rest[1..]),
        };
        let metric = metric.trim();
        if metric.is_empty() || !metric.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(bad());
        }
        let threshold: f64 = number.trim().parse().map_err(|_| bad())?;
        if !threshold.is_finite() {
            return Err(bad());
        }
        Ok(ScalingTrigger { metric: metric.to_string(), op, threshold })
    }
}

impl fmt::Display for ScalingTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric, self.op.symbol(), self.threshold)
    }
}

impl ResourcePools {
    /// Holds: pool ids non-empty and unique, `1 <= max_size`, `min_size <= max_size`,
    /// policy names unique within a pool.
    pub fn validate(self) -> Result<Self, ConfigError> {
        let mut ids = BTreeSet::new();
        for p in &self.pools {
            let key = format!("resource_pools.pools[{}]", p.id);
            if p.id.trim().is_empty() {
                return Err(ConfigError::invalid("resource_pools.pools", "a pool has an empty id"));
            }
            if !ids.insert(p.id.as_str()) {
                return Err(ConfigError::invalid(key, "pool id used twice"));
            }
            if p.max_size == 0 {
                return Err(ConfigError::invalid(key, "max_size must be positive"));
            }
            if p.min_size > p.max_size {
                return Err(ConfigError::invalid(key, format!("min_size {} > max_size {}", p.min_size, p.max_size)));
            }
            let mut names = BTreeSet::new();
            for s in &p.scaling_policies {
                if !names.insert(s.name.as_str()) {
                    return Err(ConfigError::invalid(format!("{key}.scaling_policies[{}]", s.name), "policy name used twice"));
                }
            }
        }
        if self.provisioner == ProvisionerKind::Docker {
            let d = &self.docker;
            if d.image.trim().is_empty() || d.network.trim().is_empty() {
                return Err(ConfigError::invalid("resource_pools.docker", "image and network must be named"));
            }
            if let Some(m) = d.mounts.iter().find(|m| !valid_mount(m)) {
                return Err(ConfigError::invalid("resource_pools.docker.mounts", format!("{m:?} must be SRC:DST or SRC:DST:ro with absolute paths")));
            }
        }
        Ok(self)
    }
}

fn valid_mount(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    matches!(parts.as_slice(), [src, dst] | [src, dst, "ro" | "rw"] if src.starts_with('/') && dst.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_and_print() {
        let t = ScalingTrigger::try_from("cpu_utilization > 80".to_string()).unwrap();
        assert_eq!((t.metric.as_str(), t.op, t.threshold), ("cpu_utilization", Comparison::Gt, 80.0));
        let t = ScalingTrigger::try_from("queue_depth<=2.5".to_string()).unwrap();
        assert_eq!((t.op, t.threshold), (Comparison::Le, 2.5));
        assert_eq!(t.to_string(), "queue_depth <= 2.5");
        for bad in ["cpu_utilization", "> 80", "cpu > lots", "CPU > 1", "cpu > inf"] {
            assert!(ScalingTrigger::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn pool_sizes_and_ids_are_checked() {
        assert!(ResourcePools::default().validate().is_ok());
        let mut p = ResourcePools::default();
        p.pools[0].min_size = 30;
        assert!(p.validate().unwrap_err().to_string().contains("min_size 30 > max_size 20"));
        let mut p = ResourcePools::default();
        p.pools.push(p.pools[0].clone());
        assert!(p.validate().unwrap_err().to_string().contains("used twice"));
    }

    #[test]
    fn docker_mounts_must_be_absolute_pairs() {
        let mut p = ResourcePools { provisioner: ProvisionerKind::Docker, ..ResourcePools::default() };
        assert!(p.clone().validate().is_ok(), "the default mounts are valid");
        for bad in ["/usr", "usr:/usr", "/usr:/usr:rx", "/a:/b:ro:x"] {
            p.docker.mounts = vec![bad.into()];
            assert!(p.clone().validate().unwrap_err().to_string().contains("resource_pools.docker.mounts"), "{bad}");
        }
        p.docker.mounts = vec![];
        p.docker.image = " ".into();
        assert!(p.validate().is_err());
    }
}
