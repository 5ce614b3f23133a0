//! The client side of the REST API: tries each endpoint in turn until one
//! answers (a refused or timed-out connection moves on to the next), and turns
//! error bodies into readable messages with exit codes scripts can use.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::cli::ClientArgs;

/// Exit codes: 0 ok, 1 the server refused (4xx), 3 unavailable (5xx or no
/// endpoint answered), 2 bad usage (clap's own).
#[derive(Debug)]
pub struct ClientError {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub struct Client {
    http: reqwest::Client,
    endpoints: Vec<String>,
    token: Option<String>,
}

impl Client {
    pub fn new(args: &ClientArgs) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ClientError { code: 3, message: format!("http client: {e}") })?;
        let endpoints = args
            .endpoints
            .iter()
            .map(|e| if e.starts_with("http://") || e.starts_with("https://") { e.clone() } else { format!("http://{e}") })
            .map(|e| e.trim_end_matches('/').to_string())
            .collect();
        Ok(Client { http, endpoints, token: args.token.clone() })
    }

    /// Sends the request to the first endpoint that answers; returns the status
    /// and the raw body.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Result<(u16, Vec<u8>), ClientError> {
        let mut last = String::from("no endpoints given");
        for ep in &self.endpoints {
            let mut req = self.http.request(method.clone(), format!("{ep}{path}"));
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes().await.map_err(|e| ClientError { code: 3, message: format!("{ep}: {e}") })?;
                    return Ok((status, bytes.to_vec()));
                }
                // Only connection failures move on: a request that reached a node
                // may have been applied, and retrying it elsewhere could apply it twice.
                Err(e) if e.is_connect() => last = format!("{ep}: {e}"),
                Err(e) => return Err(ClientError { code: 3, message: format!("{ep}: {e}") }),
            }
        }
        Err(ClientError { code: 3, message: format!("no endpoint answered (last: {last})") })
    }

    /// Sends and decodes a JSON answer; a non-2xx answer becomes a `ClientError`.
    pub async fn json(&self, method: Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Result<Value, ClientError> {
        let (status, bytes) = self.send(method, path, body, headers).await?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let message = value["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
        let code = value["error"]["code"].as_str().unwrap_or("error");
        Err(ClientError { code: if status >= 500 { 3 } else { 1 }, message: format!("{status} {code}: {message}") })
    }
}
