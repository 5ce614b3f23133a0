//! `X-Request-Id`: every REST and gRPC request gets an id, the client's own
//! when it sends a valid one (see [`hodei_cluster::request_id::is_valid`]) or a
//! new one. The id goes on the request's tracing span, back to the client in
//! the response header, and, through [`hodei_cluster::request_id::scope`], to
//! the leader when this node forwards the request's write, so the leader's log
//! lines carry the same id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use hodei_cluster::request_id::{is_valid, scope, HEADER};
use tracing::Instrument;

/// Axum middleware; add it as the outermost layer of a router.
pub async fn track(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid(v))
        .map(str::to_owned)
        .unwrap_or_else(generate);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = scope(id.clone(), next.run(req).instrument(span)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(HEADER, v);
    }
    resp
}

/// The gRPC routes with [`track`] around every call.
pub fn instrument_grpc(routes: tonic::service::Routes) -> tonic::service::Routes {
    tonic::service::Routes::from(routes.into_axum_router().layer(axum::middleware::from_fn(track)))
}

/// `<process start, hex>-<pid, hex>-<counter>`: unique per process run, and
/// distinct across the nodes of a cluster.
fn generate() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| {
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros());
        format!("{started:x}-{:x}", std::process::id())
    });
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> axum::Router {
        let echo = get(|| async { hodei_cluster::request_id::current().unwrap_or_default() });
        axum::Router::new().route("/", echo).layer(axum::middleware::from_fn(track))
    }

    async fn call(header: Option<&str>) -> (String, String) {
        let mut req = Request::builder().uri("/");
        if let Some(h) = header {
            req = req.header(HEADER, h);
        }
        let resp = app().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let returned = resp.headers().get(HEADER).unwrap().to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        (returned, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_valid_client_id_is_kept_and_visible_to_the_handler() {
        assert_eq!(call(Some("client-42")).await, ("client-42".to_owned(), "client-42".to_owned()));
    }

    #[tokio::test]
    async fn a_missing_or_invalid_id_is_replaced_by_a_fresh_one() {
        let (a, seen) = call(None).await;
        let (b, _) = call(Some("bad id with spaces")).await;
        assert!(is_valid(&a) && is_valid(&b), "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(a, seen);
    }
}
