//! Listing: every list is paginated and bounded. A page holds at most `limit`
//! items (default 100, at most 1000) and names the cursor to continue from; one
//! request never scans more than [`SCAN_BUDGET`] records, so a selective filter
//! over a large queue answers quickly with a cursor instead of walking it all.

use serde::{Deserialize, Serialize};

use hodei_cluster::Consistency;
use hodei_domain::{JobState, PoolId, TenantId};

use crate::app::{App, Read};
use crate::auth::Principal;
use crate::dto::{JobBody, TenantBody};
use crate::error::ApiError;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
pub const SCAN_BUDGET: usize = 100_000;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<u64>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TenantListQuery {
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub cursor: Option<u64>,
    #[serde(default)]
    pub consistency: Option<Consistency>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobListQuery {
    #[serde(default)]
    pub tenant_id: Option<u64>,
    /// Upper case, as jobs show it: `PENDING`, `RUNNING`, ...
    #[serde(default)]
    #[param(pattern = "^(PENDING|ASSIGNED|RUNNING|SUCCEEDED|FAILED|CANCELLED|TIMED_OUT|LOST)$")]
    pub state: Option<String>,
    #[serde(default)]
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub pool: Option<String>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub cursor: Option<u64>,
    #[serde(default)]
    pub consistency: Option<Consistency>,
}

fn limit(l: Option<usize>) -> Result<usize, ApiError> {
    match l.unwrap_or(DEFAULT_LIMIT) {
        0 => Err(ApiError::invalid_field("limit", "must be at least 1")),
        n if n > MAX_LIMIT => Err(ApiError::invalid_field("limit", format!("must be at most {MAX_LIMIT}"))),
        n => Ok(n),
    }
}

pub fn parse_state(s: &str) -> Result<JobState, ApiError> {
    JobState::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| ApiError::invalid_field("state", "one of PENDING, ASSIGNED, RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT, LOST"))
}

/// Takes up to `limit` matching items after `cursor`, scanning at most the budget.
fn page<'a, T: 'a, B>(
    iter: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> u64,
    keep: impl Fn(&T) -> bool,
    map: impl Fn(&T) -> B,
    cursor: Option<u64>,
    limit: usize,
) -> Page<B> {
    let mut items = Vec::new();
    let mut last = None;
    for (scanned, item) in iter.filter(|i| cursor.is_none_or(|c| key(i) > c)).enumerate() {
        if scanned >= SCAN_BUDGET {
            return Page { items, next_cursor: last };
        }
        last = Some(key(item));
        if keep(item) {
            items.push(map(item));
            if items.len() == limit {
                return Page { items, next_cursor: last };
            }
        }
    }
    Page { items, next_cursor: None }
}

impl App {
    pub async fn list_tenants(&self, p: &Principal, q: TenantListQuery) -> Result<Read<Page<TenantBody>>, ApiError> {
        let limit = limit(q.limit)?;
        self.read(q.consistency.unwrap_or_default(), |s| {
            Ok(page(s.tenants(), |t| t.id.0, |t| p.may_see(t.id), |t| TenantBody::from(t), q.cursor, limit))
        })
        .await
    }

    pub async fn list_jobs(&self, p: &Principal, q: JobListQuery) -> Result<Read<Page<JobBody>>, ApiError> {
        let limit = limit(q.limit)?;
        let state = q.state.as_deref().map(parse_state).transpose()?;
        if let Some(pool) = &q.pool {
            crate::dto::check_name("pool", pool)?;
        }
        let pool = q.pool.clone().map(PoolId);
        let asked = q.tenant_id.map(TenantId);
        // A tenant token lists its own jobs only; naming another tenant finds none.
        let tenant = if p.sees_all() { asked } else { p.tenant };
        let foreign = !p.sees_all() && asked.is_some_and(|a| Some(a) != p.tenant);
        self.read(q.consistency.unwrap_or_default(), |s| {
            if foreign || tenant.is_none() && !p.sees_all() {
                return Ok(Page { items: Vec::new(), next_cursor: None });
            }
            let keep = |j: &hodei_domain::Job| {
                tenant.is_none_or(|t| j.tenant_id == t)
                    && state.is_none_or(|st| j.state == st)
                    && pool.as_ref().is_none_or(|pl| j.spec.pool.as_ref() == Some(pl))
            };
            Ok(page(s.jobs(), |j| j.id.0, keep, |j| JobBody::from(j), q.cursor, limit))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_cursor_and_stop_at_the_end() {
        let items: Vec<u64> = (1..=10).collect();
        let first = page(items.iter(), |i| *i, |i| i % 2 == 0, |i| *i, None, 3);
        assert_eq!(first, Page { items: vec![2, 4, 6], next_cursor: Some(6) });
        let second = page(items.iter(), |i| *i, |i| i % 2 == 0, |i| *i, first.next_cursor, 3);
        assert_eq!(second, Page { items: vec![8, 10], next_cursor: None });
    }

    #[test]
    fn limits_and_states_are_validated() {
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(MAX_LIMIT + 1)).is_err());
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_state("TIMED_OUT").unwrap(), JobState::TimedOut);
        assert!(parse_state("pending").is_err());
    }
}
