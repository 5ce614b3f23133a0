//! `ApiError` to `tonic::Status`, with `google.rpc` details that stock clients
//! decode: every error carries an `ErrorInfo` (reason = the REST error code in
//! upper case, metadata = the REST `details` flattened to strings); an invalid
//! field adds a `BadRequest` naming it; a quota refusal adds a `QuotaFailure`
//! (resource, usage, limit); anything worth retrying adds a `RetryInfo`.
//! A node that is not the leader and cannot reach it names the leader in the
//! `ErrorInfo` metadata (`leader_id`, `leader_grpc`, `leader_http`).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tonic_types::{ErrorDetails, QuotaViolation, StatusExt};

use crate::error::{ApiError, ErrorKind};

/// The `ErrorInfo.domain` of every Hodei error.
pub const ERROR_DOMAIN: &str = "hodei.v1";

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        let details = error_details(&e);
        tonic::Status::with_error_details(e.grpc_code(), e.message, details)
    }
}

fn error_details(e: &ApiError) -> ErrorDetails {
    let mut d = ErrorDetails::new();
    d.set_error_info(e.code().to_uppercase(), ERROR_DOMAIN, flatten(&e.details));
    if let Some(s) = e.retry_after_s {
        d.set_retry_info(Some(Duration::from_secs(s)));
    }
    match e.kind {
        ErrorKind::Invalid => {
            let field = e.details.get("field").and_then(Value::as_str).unwrap_or("");
            d.add_bad_request_violation(field, e.message.clone());
        }
        ErrorKind::QuotaExceeded => {
            d.set_quota_failure(vec![quota_violation(e)]);
        }
        _ => {}
    }
    d
}

fn quota_violation(e: &ApiError) -> QuotaViolation {
    let num = |k: &str| e.details.get(k).and_then(Value::as_u64).unwrap_or(0);
    let resource = e.details.get("resource").and_then(Value::as_str).unwrap_or("").to_string();
    let mut v = QuotaViolation::new(resource.clone(), e.message.clone());
    v.quota_metric = resource;
    v.quota_value = i64::try_from(num("limit")).unwrap_or(i64::MAX);
    v.quota_dimensions = HashMap::from([
        ("used".to_string(), num("used").to_string()),
        ("requested".to_string(), num("requested").to_string()),
        ("limit".to_string(), num("limit").to_string()),
    ]);
    v
}

/// The REST `details` object as `ErrorInfo` metadata: scalars as text, nulls left out.
fn flatten(details: &Value) -> HashMap<String, String> {
    let Value::Object(map) = details else { return HashMap::new() };
    map.iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((k.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hodei_domain::Rejection;

    #[test]
    fn an_invalid_field_carries_a_bad_request_naming_it() {
        let status: tonic::Status = ApiError::invalid_field("quota.cpu_m", "must be positive").into();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let d = status.get_error_details();
        let v = &d.bad_request().expect("bad request").field_violations[0];
        assert_eq!(v.field, "quota.cpu_m");
        assert_eq!(d.error_info().expect("error info").reason, "INVALID_ARGUMENT");
        assert_eq!(d.error_info().unwrap().metadata.get("field").map(String::as_str), Some("quota.cpu_m"));
    }

    #[test]
    fn a_quota_refusal_carries_resource_usage_limit_and_a_retry_delay() {
        let e: ApiError = Rejection::QuotaExceeded { resource: "queued_jobs".into(), used: 5, requested: 1, limit: 5 }.into();
        let status: tonic::Status = e.into();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let d = status.get_error_details();
        let v = &d.quota_failure().expect("quota failure").violations[0];
        assert_eq!((v.subject.as_str(), v.quota_metric.as_str(), v.quota_value), ("queued_jobs", "queued_jobs", 5));
        assert_eq!(v.quota_dimensions.get("used").map(String::as_str), Some("5"));
        assert_eq!(d.retry_info().and_then(|r| r.retry_delay), Some(Duration::from_secs(5)));
        assert_eq!(d.error_info().unwrap().reason, "QUOTA_EXCEEDED");
    }

    #[test]
    fn unavailable_names_the_leader_and_asks_for_a_retry() {
        let e = ApiError {
            details: serde_json::json!({ "leader_id": 2, "leader_grpc": "10.0.0.2:7001", "leader_http": null }),
            retry_after_s: Some(1),
            ..ApiError::new(ErrorKind::Unavailable, "not the leader")
        };
        let status: tonic::Status = e.into();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let d = status.get_error_details();
        let info = d.error_info().expect("error info");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata.get("leader_id").map(String::as_str), Some("2"));
        assert_eq!(info.metadata.get("leader_grpc").map(String::as_str), Some("10.0.0.2:7001"));
        assert!(!info.metadata.contains_key("leader_http"), "nulls are left out");
        assert_eq!(d.retry_info().and_then(|r| r.retry_delay), Some(Duration::from_secs(1)));
        assert!(d.bad_request().is_none() && d.quota_failure().is_none());
    }
}
