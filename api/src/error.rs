//! One error type for both front ends, mapped once to HTTP and once to gRPC
//! (the gRPC side, with its `google.rpc` details, is `grpc::status`).
//! Body: `{"error": {"code", "message", "details"}}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use hodei_cluster::{ClusterError, LeaderHint};
use hodei_domain::Rejection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    QuotaExceeded,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unavailable,
    /// The write was proposed but its result did not arrive in time.
    MaybeCommitted,
    Internal,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    pub details: Value,
    /// Seconds after which a retry may succeed (429, 503).
    pub retry_after_s: Option<u64>,
    /// The log index of the entry the state machine refused, when the refusal
    /// was decided there (sent as `X-Hodei-Index`).
    pub index: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into(), details: Value::Null, retry_after_s: None, index: None }
    }
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, m)
    }
    /// A field-level validation error.
    pub fn invalid_field(field: &str, m: impl Into<String>) -> Self {
        let m = m.into();
        ApiError { details: json!({ "field": field }), ..Self::new(ErrorKind::Invalid, format!("{field}: {m}")) }
    }
    pub fn unauthenticated(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, m)
    }

    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::Invalid => "invalid_argument",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::MaybeCommitted => "maybe_committed",
            ErrorKind::Internal => "internal",
        }
    }

    pub fn http_status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Unavailable | ErrorKind::MaybeCommitted => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn grpc_code(&self) -> tonic::Code {
        match self.kind {
            ErrorKind::Invalid | ErrorKind::PayloadTooLarge | ErrorKind::UnsupportedMediaType => {
                tonic::Code::InvalidArgument
            }
            ErrorKind::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorKind::Forbidden => tonic::Code::PermissionDenied,
            ErrorKind::NotFound => tonic::Code::NotFound,
            ErrorKind::Conflict => tonic::Code::FailedPrecondition,
            ErrorKind::QuotaExceeded => tonic::Code::ResourceExhausted,
            ErrorKind::Unavailable => tonic::Code::Unavailable,
            ErrorKind::MaybeCommitted => tonic::Code::DeadlineExceeded,
            ErrorKind::Internal => tonic::Code::Internal,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: self.code(), message: self.message.clone(), details: self.details.clone() } }
    }
}

/// Every error's JSON body: `{"error": {"code", "message", "details"}}`.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `invalid_argument`, `unauthenticated`, `permission_denied`, `not_found`,
    /// `conflict`, `quota_exceeded`, `payload_too_large`, `unsupported_media_type`,
    /// `unavailable`, `maybe_committed` or `internal`.
    pub code: &'static str,
    pub message: String,
    /// The field at fault (`{"field"}`), the quota numbers, or the leader hint.
    pub details: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.http_status(), axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after_s {
            resp.headers_mut().insert("retry-after", HeaderValue::from(s));
        }
        if let Some(i) = self.index {
            resp.headers_mut().insert("x-hodei-index", HeaderValue::from(i));
        }
        resp
    }
}

fn leader_details(leader: &Option<LeaderHint>) -> Value {
    match leader {
        Some(h) => json!({
            "leader_id": h.id,
            "leader_http": h.node.as_ref().map(|n| n.http_addr.clone()).filter(|a| !a.is_empty()),
            "leader_grpc": h.node.as_ref().map(|n| n.grpc_addr.clone()).filter(|a| !a.is_empty()),
        }),
        None => json!({ "leader_id": null }),
    }
}

impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        match &e {
            ClusterError::Unavailable { leader, .. } => ApiError {
                details: leader_details(leader),
                retry_after_s: Some(1),
                ..ApiError::new(ErrorKind::Unavailable, e.to_string())
            },
            ClusterError::MaybeCommitted => ApiError {
                retry_after_s: Some(1),
                ..ApiError::new(ErrorKind::MaybeCommitted, e.to_string())
            },
            ClusterError::Invalid(m) => ApiError::invalid(m.clone()),
            ClusterError::Stopped(_) => ApiError::new(ErrorKind::Unavailable, e.to_string()),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            Rejection::Conflict { message } => ApiError::new(ErrorKind::Conflict, message),
            Rejection::Invalid { message } => ApiError::invalid(message),
            Rejection::QuotaExceeded { resource, used, requested, limit } => ApiError {
                details: json!({ "resource": resource, "used": used, "requested": requested, "limit": limit }),
                retry_after_s: Some(5),
                ..ApiError::new(
                    ErrorKind::QuotaExceeded,
                    format!("quota exceeded for {resource}: {used} used + {requested} requested > {limit} limit"),
                )
            },
            #[allow(unreachable_patterns)]
            other => ApiError::invalid(format!("{other:?}")),
        }
    }
}
