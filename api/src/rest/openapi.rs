//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations as the router is built (see [`super::router`]): a route cannot
//! be served without being documented. Served at `/api-docs/openapi.json`, with
//! Swagger UI at `/docs` (its files are compiled into the binary).

use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref};
use utoipa::{IntoResponses, Modify, OpenApi};

use hodei_cluster::Consistency;

use crate::error::ErrorBody;

pub const SPEC_PATH: &str = "/api-docs/openapi.json";
pub const UI_PATH: &str = "/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hodei",
        description = "A highly available control plane for multi-tenant batch jobs. Every node answers; \
            writes go to the Raft leader, reads are linearizable unless `consistency=stale`. \
            Replies to reads and writes carry `X-Hodei-Index` (the Raft index they saw); stale \
            reads also carry `X-Hodei-Last-Contact` (ms since the leader was last heard).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&Security, &PrometheusRoutes),
    components(schemas(ErrorBody, Consistency)),
    tags(
        (name = "tenants", description = "Tenants, quotas and burst leases"),
        (name = "jobs", description = "Jobs, the queue and job output"),
        (name = "pools", description = "Resource pools and their autoscaling"),
        (name = "cost", description = "Cost reports and recommendations"),
        (name = "metrics", description = "Metric history, SLA and Prometheus metrics"),
        (name = "workers", description = "Worker agents"),
        (name = "cluster", description = "Raft membership, status and backups"),
        (name = "health", description = "Liveness and readiness, without a token"),
    )
)]
pub struct ApiDoc;

/// JWT bearer tokens on every `/api/` operation; `/health`, `/ready`,
/// `/metrics` and `/docs` are open.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// `/metrics` and `/api/v1/metrics/prometheus` are served by the node next to
/// this router (they render the node's registry); they are documented here.
struct PrometheusRoutes;

impl Modify for PrometheusRoutes {
    fn modify(&self, doc: &mut Document) {
        let text = ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String).build())).build();
        let ok = ResponseBuilder::new()
            .description("Prometheus text exposition format 0.0.4")
            .content("text/plain; version=0.0.4", text)
            .build();
        let open = OperationBuilder::new()
            .tag("metrics")
            .operation_id(Some("prometheus_metrics"))
            .summary(Some("This node's metrics, without a token (for Prometheus)"))
            .security(utoipa::openapi::security::SecurityRequirement::default())
            .response("200", ok.clone())
            .build();
        let with_token = OperationBuilder::new()
            .tag("metrics")
            .operation_id(Some("prometheus_metrics_api"))
            .summary(Some("This node's metrics, with a token"))
            .response("200", ok)
            .response("401", ResponseBuilder::new().description("no valid token").content("application/json", error_content()).build())
            .build();
        doc.paths.add_path_operation("/metrics", vec![HttpMethod::Get], open);
        doc.paths.add_path_operation("/api/v1/metrics/prometheus", vec![HttpMethod::Get], with_token);
    }
}

/// The document as served: [`ApiDoc`] with every sized integer given the
/// bounds of its type. JSON Schema does not read `format: uint64`; without
/// `minimum` and `maximum` a client (or fuzzer) following the document could
/// send 2^70 where the server can only take a `u64`.
pub fn bounded(doc: &Document) -> serde_json::Value {
    let mut v = serde_json::to_value(doc).unwrap_or_default();
    bound_integers(&mut v);
    v
}

fn bound_integers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            // utoipa spells the unsigned formats `u-int64`; the usual name is `uint64`.
            if let Some(f) = o.get("format").and_then(|f| f.as_str()).and_then(|f| f.strip_prefix("u-int")) {
                let f = format!("uint{f}");
                o.insert("format".into(), f.into());
            }
            let range: Option<(i128, i128)> = match o.get("format").and_then(|f| f.as_str()) {
                Some("int8") => Some((i8::MIN.into(), i8::MAX.into())),
                Some("int16") => Some((i16::MIN.into(), i16::MAX.into())),
                Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
                Some("int64") => Some((i64::MIN.into(), i64::MAX.into())),
                Some("uint8") => Some((0, u8::MAX.into())),
                Some("uint16") => Some((0, u16::MAX.into())),
                Some("uint32") => Some((0, u32::MAX.into())),
                Some("uint64") => Some((0, u64::MAX.into())),
                _ => None,
            };
            if let Some((lo, hi)) = range {
                let number = |n: i128| serde_json::Value::Number(if n < 0 { (n as i64).into() } else { (n as u64).into() });
                o.entry("minimum").or_insert_with(|| number(lo));
                o.entry("maximum").or_insert_with(|| number(hi));
            }
            o.values_mut().for_each(bound_integers);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build()
}

/// The errors any operation may answer, each with the `{"error": ...}` body.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description of responses, never constructed
pub enum Errors {
    /// The request is malformed or breaks a bound; `details.field` names the field.
    #[response(status = 400)]
    Invalid(ErrorBody),
    /// No valid bearer token.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// The token's role or tenant may not do this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such object, or one the caller's tenant may not see.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The object's state forbids it (a tenant with running jobs, a finished job).
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body is larger than `api.max_body_bytes`.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// The body is not `application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// Over quota: `details` has the resource, usage and limit; see `Retry-After`.
    #[response(status = 429)]
    QuotaExceeded(ErrorBody),
    /// No leader or no quorum (`details` has the leader hint), or a write whose
    /// outcome did not arrive in time (`maybe_committed`); retry.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}
