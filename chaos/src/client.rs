//! REST calls to one node, and the rule that turns a reply into an outcome.
//!
//! The rule is where "maybe" comes from: only a reply the server meant as "nothing
//! was applied" (a 4xx, a 503 `unavailable`) or a request that never left (the
//! connection was refused) is a definite failure. A timeout, a broken connection,
//! a 503 `maybe_committed` or any other 5xx leaves the write possibly applied.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::history::{JobSeen, Outcome};

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub json: Value,
    /// `X-Hodei-Index`, when the reply carried it.
    pub index: Option<u64>,
}

impl Reply {
    /// The `error.code` of an error body, or "".
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A call that got no HTTP reply.
#[derive(Clone, Debug)]
pub enum CallError {
    /// The connection was never made: the request certainly did not arrive.
    NotSent(String),
    /// The request may have arrived (timed out, connection reset, bad body).
    Unknown(String),
}

#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    token: String,
}

impl Rest {
    /// A client whose every call gives up after `timeout`.
    pub fn new(token: String, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_millis(500))
            .pool_max_idle_per_host(4)
            .build()?;
        Ok(Rest { http, token })
    }

    pub async fn call(&self, method: Method, url: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Result<Reply, CallError> {
        let mut req = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() {
                CallError::NotSent(e.to_string())
            } else {
                CallError::Unknown(e.to_string())
            }
        })?;
        let status = resp.status().as_u16();
        let index = resp.headers().get("x-hodei-index").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = resp.bytes().await.map_err(|e| CallError::Unknown(e.to_string()))?;
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Ok(Reply { status, json, index })
    }

    pub async fn get(&self, url: &str) -> Result<Reply, CallError> {
        self.call(Method::GET, url, None, &[]).await
    }
}

/// A job as the API shows it.
pub fn job_seen(json: &Value) -> Option<JobSeen> {
    Some(JobSeen {
        id: json["id"].as_u64()?,
        key: json["idempotency_key"].as_str().map(str::to_string),
        state: json["state"].as_str()?.to_string(),
    })
}

/// Turns a job call's result into an outcome. `read`: a 404 is an observation
/// (the job is absent), not a failure.
pub fn classify(result: &Result<Reply, CallError>, read: bool) -> Outcome {
    match result {
        Ok(r) if (200..300).contains(&r.status) => match job_seen(&r.json) {
            Some(job) => Outcome::Ok { job: Some(job) },
            None => Outcome::Maybe { reason: format!("{} with an unreadable body", r.status) },
        },
        Ok(r) if read && r.status == 404 => Outcome::Ok { job: None },
        _ => classify_other(result),
    }
}

/// Turns the result of a call whose reply is not a job (a quota or burst
/// call) into an outcome: any 2xx is `Ok` with no job; the rest as for jobs.
pub fn classify_other(result: &Result<Reply, CallError>) -> Outcome {
    match result {
        Err(CallError::NotSent(e)) => Outcome::Fail { reason: format!("not sent: {e}") },
        Err(CallError::Unknown(e)) => Outcome::Maybe { reason: format!("no reply: {e}") },
        Ok(r) if (200..300).contains(&r.status) => Outcome::Ok { job: None },
        Ok(r) if r.status == 503 && r.code() == "unavailable" => Outcome::Fail { reason: "503 unavailable".into() },
        Ok(r) if (400..500).contains(&r.status) => Outcome::Fail { reason: format!("{} {}", r.status, r.code()) },
        Ok(r) => Outcome::Maybe { reason: format!("{} {}", r.status, r.code()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(status: u16, json: Value) -> Result<Reply, CallError> {
        Ok(Reply { status, json, index: None })
    }

    #[test]
    fn timeouts_and_maybe_committed_are_maybe_never_failed() {
        assert_eq!(classify(&Err(CallError::Unknown("timed out".into())), false).label(), "maybe");
        let mc = reply(503, json!({"error": {"code": "maybe_committed"}}));
        assert_eq!(classify(&mc, false).label(), "maybe");
        assert_eq!(classify(&reply(500, json!("boom")), false).label(), "maybe");
    }

    #[test]
    fn refusals_are_definite_failures() {
        let un = reply(503, json!({"error": {"code": "unavailable"}}));
        assert_eq!(classify(&un, false).label(), "fail");
        assert_eq!(classify(&reply(409, json!({"error": {"code": "conflict"}})), false).label(), "fail");
        assert_eq!(classify(&Err(CallError::NotSent("refused".into())), false).label(), "fail");
    }

    #[test]
    fn quota_and_burst_replies_are_ok_without_a_job_and_fail_like_the_rest() {
        assert_eq!(classify_other(&reply(200, json!({"quota": {}}))), Outcome::Ok { job: None });
        assert_eq!(classify_other(&reply(409, json!({"error": {"code": "conflict"}}))).label(), "fail");
        assert_eq!(classify_other(&reply(503, json!({"error": {"code": "maybe_committed"}}))).label(), "maybe");
        assert_eq!(classify_other(&Err(CallError::Unknown("reset".into()))).label(), "maybe");
    }

    #[test]
    fn a_404_read_observes_absence() {
        assert_eq!(classify(&reply(404, json!({})), true), Outcome::Ok { job: None });
        let ok = reply(200, json!({"id": 3, "idempotency_key": "k", "state": "PENDING"}));
        assert_eq!(
            classify(&ok, true),
            Outcome::Ok { job: Some(JobSeen { id: 3, key: Some("k".into()), state: "PENDING".into() }) }
        );
    }
}
