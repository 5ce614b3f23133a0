//! Request timing: the axum middleware behind `hodei_http_request_duration_seconds`
//! and `hodei_grpc_request_duration_seconds`, and the bounded label values
//! (methods, gRPC codes) both use.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::Metrics;

/// Axum middleware timing every REST request into
/// `hodei_http_request_duration_seconds{route, method, status}`. Add it with
/// `router.layer(axum::middleware::from_fn_with_state(metrics.clone(), track))`;
/// requests that match no route are labelled `route="unmatched"`.
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let resp = next.run(req).await;
    let route = route.as_deref().unwrap_or("unmatched");
    metrics.observe_http(route, &method, resp.status().as_u16(), start.elapsed());
    resp
}

/// Axum middleware for gRPC routes (see [`Metrics::instrument_grpc`]). The code
/// is the `grpc-status` of a trailers-only response (every error tonic returns
/// from a unary handler), else OK for a 2xx (the status then follows in the
/// trailers, which are not inspected); the time is to the response headers.
pub async fn track_grpc(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let code = resp
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
        .unwrap_or_else(|| code_of_http_status(resp.status()));
    metrics.observe_grpc(&method, code, start.elapsed());
    resp
}

/// The gRPC code of a response without `grpc-status` in its headers: OK for a
/// success (the status follows in the trailers), else the gRPC spec's mapping of
/// HTTP statuses (404, an unknown path, is UNIMPLEMENTED).
fn code_of_http_status(status: http::StatusCode) -> tonic::Code {
    match status.as_u16() {
        200..=299 => tonic::Code::Ok,
        400 => tonic::Code::Internal,
        401 => tonic::Code::Unauthenticated,
        403 => tonic::Code::PermissionDenied,
        404 => tonic::Code::Unimplemented,
        429 | 502 | 503 | 504 => tonic::Code::Unavailable,
        _ => tonic::Code::Unknown,
    }
}

/// Standard methods by name; anything else is `OTHER` (a client-chosen method
/// must not become a label value).
pub(super) fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The gRPC method of a job submission, as `method` labels name it.
pub(super) const SUBMIT_JOB_METHOD: &str = "/hodei.v1.JobService/SubmitJob";

/// gRPC status names as in the gRPC spec (`OK`, `NOT_FOUND`, ...).
pub(super) fn grpc_code_label(c: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match c {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}
