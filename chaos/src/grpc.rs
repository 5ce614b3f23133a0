//! Submits and reads through the public gRPC API (`hodei.v1.JobService`), and
//! the rule that turns a gRPC answer into an outcome.
//!
//! The rule is [`crate::client`]'s, with one thing more to tell apart: a gRPC
//! status is either the server's (it carries an `ErrorInfo` of domain
//! `hodei.v1`, the same error table as REST) or made up by the client's
//! transport (connection refused or reset, a deadline, a frame that did not
//! decode), which says nothing about whether the request arrived. So only a
//! server's refusal is a definite failure; every transport status, whatever its
//! code (`UNAVAILABLE` and `DEADLINE_EXCEEDED` included), is "maybe".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use tonic_types::StatusExt;

use hodei_proto::v1 as pb;
use hodei_proto::v1::job_service_client::JobServiceClient;

use crate::history::{JobSeen, Outcome};

/// The `ErrorInfo.domain` of every error the server makes (`api::grpc::status`).
const SERVER_DOMAIN: &str = "hodei.v1";

/// A node's gRPC endpoint (`http://host:port`), or `None` when it serves none.
pub type Endpoints = Arc<dyn Fn(u64) -> Option<String> + Send + Sync>;

/// One lazily connected channel per node, shared by every client.
pub struct Grpc {
    endpoints: Endpoints,
    auth: MetadataValue<Ascii>,
    timeout: Duration,
    channels: Mutex<BTreeMap<u64, Channel>>,
}

/// A node's job service client.
pub type JobsClient = JobServiceClient<Channel>;

/// A gRPC job call's answer: the reply, or the status it failed with.
pub type Answer = Result<pb::JobReply, tonic::Status>;

impl Grpc {
    pub fn new(endpoints: Endpoints, token: &str, timeout: Duration) -> anyhow::Result<Self> {
        let auth = format!("Bearer {token}").parse().context("the admin token is not a valid gRPC metadata value")?;
        Ok(Grpc { endpoints, auth, timeout, channels: Mutex::new(BTreeMap::new()) })
    }

    /// Node `id`'s job service, or `None` when the node serves no gRPC API.
    pub fn jobs(&self, id: u64) -> Option<JobsClient> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = channels.get(&id) {
            return Some(JobServiceClient::new(c.clone()));
        }
        let url = (self.endpoints)(id)?;
        // Connects on first use, so a node that is down fails its calls, not this.
        let channel = Endpoint::from_shared(url).ok()?.timeout(self.timeout).connect_timeout(Duration::from_millis(500)).connect_lazy();
        channels.insert(id, channel.clone());
        Some(JobServiceClient::new(channel))
    }

    /// Wraps `msg` with the admin token.
    pub fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        req.metadata_mut().insert("authorization", self.auth.clone());
        req
    }
}

/// A job as a gRPC reply shows it (the REST shape: upper-case state).
fn job_seen(job: &pb::Job) -> JobSeen {
    let state = pb::JobState::try_from(job.state).map_or_else(|_| format!("UNKNOWN_{}", job.state), |s| s.as_str_name().to_string());
    JobSeen { id: job.id, key: job.idempotency_key.clone(), state }
}

/// The server's error code (`ErrorInfo.reason`), when the status is the server's.
fn server_reason(status: &tonic::Status) -> Option<String> {
    let info = status.get_details_error_info()?;
    (info.domain == SERVER_DOMAIN).then_some(info.reason)
}

/// Turns a gRPC job call's answer into an outcome. `read`: `NOT_FOUND` from the
/// server is an observation (the job is absent), not a failure.
pub fn classify(answer: &Answer, read: bool) -> Outcome {
    let status = match answer {
        Ok(reply) => {
            return match &reply.job {
                Some(job) => Outcome::Ok { job: Some(job_seen(job)) },
                None => Outcome::Maybe { reason: "grpc OK with no job".into() },
            }
        }
        Err(s) => s,
    };
    let Some(reason) = server_reason(status) else {
        return Outcome::Maybe { reason: format!("grpc {:?} from the transport: {}", status.code(), status.message()) };
    };
    let label = format!("grpc {} {}", reason.to_lowercase(), status.message());
    match status.code() {
        Code::NotFound if read => Outcome::Ok { job: None },
        // The server's own "nothing was applied" (`unavailable`), and its refusals.
        Code::Unavailable
        | Code::InvalidArgument
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::ResourceExhausted => Outcome::Fail { reason: label },
        // `maybe_committed` (DEADLINE_EXCEEDED), `internal`, anything else.
        _ => Outcome::Maybe { reason: label },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    fn server(code: Code, reason: &str) -> Answer {
        let mut d = ErrorDetails::new();
        d.set_error_info(reason, SERVER_DOMAIN, std::collections::HashMap::new());
        Err(tonic::Status::with_error_details(code, "said the server", d))
    }

    #[test]
    fn transport_statuses_are_maybe_whatever_their_code() {
        for code in [Code::Unavailable, Code::DeadlineExceeded, Code::Unknown, Code::Internal, Code::NotFound] {
            assert_eq!(classify(&Err(tonic::Status::new(code, "transport")), false).label(), "maybe", "{code:?}");
        }
    }

    #[test]
    fn the_servers_refusals_fail_and_its_unclear_answers_are_maybe() {
        assert_eq!(classify(&server(Code::Unavailable, "UNAVAILABLE"), false).label(), "fail");
        assert_eq!(classify(&server(Code::ResourceExhausted, "QUOTA_EXCEEDED"), false).label(), "fail");
        assert_eq!(classify(&server(Code::DeadlineExceeded, "MAYBE_COMMITTED"), false).label(), "maybe");
        assert_eq!(classify(&server(Code::Internal, "INTERNAL"), false).label(), "maybe");
        assert_eq!(classify(&server(Code::NotFound, "NOT_FOUND"), true), Outcome::Ok { job: None });
    }

    #[test]
    fn a_reply_shows_the_job_as_rest_would() {
        let job = pb::Job { id: 7, idempotency_key: Some("k".into()), state: pb::JobState::Cancelled as i32, ..Default::default() };
        let reply = pb::JobReply { job: Some(job), index: 3 };
        assert_eq!(
            classify(&Ok(reply), true),
            Outcome::Ok { job: Some(JobSeen { id: 7, key: Some("k".into()), state: "CANCELLED".into() }) }
        );
    }
}
