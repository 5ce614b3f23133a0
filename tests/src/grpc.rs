//! gRPC clients for one node of a test cluster: a channel, bearer metadata, and
//! the decoded `google.rpc` details of a refusal.

use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::Cluster;

/// A connected channel to node `i`'s `hodei.v1` port.
pub async fn channel(c: &Cluster, i: usize) -> Channel {
    let url = format!("http://{}", c.nodes[i].spec.grpc);
    Channel::from_shared(url.clone()).expect("a gRPC url").connect().await.unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// `msg` with `authorization: Bearer <token>`.
pub fn authed<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {token}")).expect("an ASCII token"));
    r
}

/// Checks that a call was refused with `code`, and returns its error details,
/// whose `ErrorInfo` every Hodei refusal carries.
pub fn must_fail<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, what: &str) -> ErrorDetails {
    let status = match result {
        Ok(v) => panic!("{what}: expected {code:?}, got {v:?}"),
        Err(s) => s,
    };
    assert_eq!(status.code(), code, "{what}: {status:?}");
    let details = status.get_error_details();
    let info = details.error_info().unwrap_or_else(|| panic!("{what}: no ErrorInfo in {status:?}"));
    assert_eq!(info.domain, "hodei.v1", "{what}");
    details
}

/// The field a refusal's `BadRequest` names.
pub fn bad_field(d: &ErrorDetails) -> String {
    d.bad_request().and_then(|b| b.field_violations.first()).map(|v| v.field.clone()).unwrap_or_default()
}
