//! `GET /ui`: the read-only dashboard, one HTML file compiled into the binary
//! (`api/ui/index.html`). The page itself needs no token; its script reads the
//! API with the token the user gives it, so it shows exactly what that
//! token's role may read.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("../../ui/index.html");

pub(super) async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Everything is inline and same-origin; nothing may load from elsewhere.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}
