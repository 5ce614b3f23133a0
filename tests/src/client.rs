//! REST calls that return the status and JSON body, never panicking on 4xx/5xx.

use std::time::Duration;

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub json: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
}

impl Default for Client {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(8)
            .build()
            .expect("http client");
        Client { http }
    }
}

impl Client {
    /// Sends a request; `Err` only for transport failures (refused, timed out).
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req).await
    }

    /// Sends raw bytes as the body with the given content type.
    pub async fn raw(&self, method: reqwest::Method, url: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Result<Reply, reqwest::Error> {
        let mut req = self.http.request(method, url).header("content-type", content_type).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        reply(req).await
    }
}

/// Sends `req`; the body is JSON when it parses, else a JSON string of the text.
async fn reply(req: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await?;
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(Reply { status, json, headers })
}
