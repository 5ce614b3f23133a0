//! Wait targets per priority: the body that replaces one scope's targets and
//! the view of a scope with the target each priority resolves to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use hodei_domain::command::SetSlaTargets;
use hodei_domain::sla::{check_targets, target_for, MAX_SLA_TARGETS};
use hodei_domain::{State, TenantId};

use crate::error::ApiError;

/// A priority as a JSON object key: a decimal integer from -1000 to 1000.
pub const PRIORITY_KEY: &str = "^(0|-?([1-9][0-9]{0,2}|1000))$";

/// `PUT /api/v1/sla/targets` and `PUT /api/v1/tenants/{id}/sla/targets`: the
/// scope's wait targets per priority, replacing what it held (`{}` clears it).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTargetsBody {
    /// Priority -> wait target (enqueue to first start) in milliseconds.
    #[schema(schema_with = super::schema::priority_targets)]
    pub by_priority: BTreeMap<String, u64>,
}

impl SlaTargetsBody {
    pub fn validate(self, tenant_id: Option<TenantId>) -> Result<SetSlaTargets, ApiError> {
        if self.by_priority.len() > MAX_SLA_TARGETS {
            return Err(ApiError::invalid_field("by_priority", format!("at most {MAX_SLA_TARGETS} targets")));
        }
        let mut by_priority = BTreeMap::new();
        for (key, ms) in self.by_priority {
            let priority = parse_priority(&key)
                .ok_or_else(|| ApiError::invalid_field("by_priority", format!("{key:?} is not a priority (an integer from -1000 to 1000)")))?;
            by_priority.insert(priority, ms);
        }
        check_targets(&by_priority).map_err(|m| ApiError::invalid_field("by_priority", m))?;
        Ok(SetSlaTargets { tenant_id, by_priority })
    }
}

/// A key matching [`PRIORITY_KEY`], as its priority.
fn parse_priority(key: &str) -> Option<i32> {
    let digits = key.strip_prefix('-').unwrap_or(key);
    let canonical = !digits.is_empty() && digits.len() <= 4 && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0')) && key != "-0";
    let p: i32 = key.parse().ok().filter(|_| canonical)?;
    hodei_domain::sla::PRIORITY_RANGE.contains(&p).then_some(p)
}

/// One scope's wait targets, and what they resolve to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SlaTargetsView {
    /// The tenant whose targets these are; `null` for the cluster-wide scope.
    pub tenant_id: Option<u64>,
    /// This scope's targets per priority (ms): what a `PUT` to the same path replaces.
    #[schema(schema_with = super::schema::priority_targets)]
    pub by_priority: BTreeMap<i32, u64>,
    /// For every priority any applicable scope names: the target a job of
    /// that priority gets (from this tenant, or from a tenant with no targets
    /// of its own). Other priorities get `tenant_wait_ms`, else `default_wait_ms`.
    #[schema(schema_with = super::schema::effective_priority_targets)]
    pub effective_by_priority: BTreeMap<i32, u64>,
    /// The tenant's own target for every priority it does not name (tenant scope).
    pub tenant_wait_ms: Option<u64>,
    /// The cluster default, `scheduling.default_sla_wait_ms`.
    pub default_wait_ms: u64,
}

impl SlaTargetsView {
    /// `None` if `tenant` does not exist.
    pub fn of(s: &State, tenant: Option<TenantId>) -> Option<SlaTargetsView> {
        let targets = s.sla_targets();
        let tenant_wait_ms = match tenant {
            Some(t) => s.tenant(t)?.sla_wait_ms,
            None => None,
        };
        let own = tenant.and_then(|t| targets.tenants.get(&t)).cloned().unwrap_or_default();
        let by_priority = if tenant.is_some() { own.clone() } else { targets.cluster.clone() };
        let effective_by_priority = targets.cluster.keys().chain(own.keys()).map(|&p| (p, target_for(s, tenant, p))).collect();
        Some(SlaTargetsView {
            tenant_id: tenant.map(|t| t.0),
            by_priority,
            effective_by_priority,
            tenant_wait_ms,
            default_wait_ms: s.settings().scheduling.default_sla_wait_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys [`PRIORITY_KEY`] matches, and only those, parse.
    #[test]
    fn priority_keys_follow_the_documented_pattern() {
        for key in ["0", "5", "-5", "999", "1000", "-1000"] {
            assert!(parse_priority(key).is_some(), "{key:?}");
        }
        for key in ["01", "-0", "+5", "1001", "-1001", "", "-", "5 ", "x", "10000"] {
            assert_eq!(parse_priority(key), None, "{key:?}");
        }
        assert_eq!(parse_priority("-1000"), Some(-1000));
    }

    #[test]
    fn a_body_with_a_bad_key_or_target_is_refused_with_the_field() {
        let body = |pairs: &[(&str, u64)]| SlaTargetsBody { by_priority: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect() };
        assert_eq!(body(&[("5", 1_000), ("-3", 2_000)]).validate(None).unwrap().by_priority, BTreeMap::from([(5, 1_000), (-3, 2_000)]));
        for bad in [body(&[("x", 1_000)]), body(&[("5", 0)]), body(&[("5", 8 * 86_400_000)]), body(&[("2000", 1)])] {
            let e = bad.validate(None).unwrap_err();
            assert_eq!(e.details["field"], "by_priority", "{e:?}");
        }
    }
}
