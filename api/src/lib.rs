//! # hodei-api
//!
//! The public front ends of a Hodei node. Both call one application layer:
//!
//! ```text
//!   REST (axum) ──┐
//!                 ├──▶ App (auth checks, validation, commands, outcomes) ──▶ ClusterNode
//!   gRPC (tonic) ─┘
//! ```
//!
//! - [`app`]: the application layer; every rule lives here once.
//! - [`auth`]: JWT verification and issuing, roles and tenant scoping.
//! - [`error`]: `ApiError`, mapped once to HTTP status + JSON and once to gRPC.
//! - [`dto`]: JSON request and response shapes, with bounds on every field.
//! - [`list`]: paginated, bounded listing with filters.
//! - [`rest`]: routes and extractors; [`grpc`]: `hodei.v1` services.
//! - [`workers`]: registration, leases, fenced reports, job output.
//! - [`request_id`]: `X-Request-Id` on every request's span and response, and
//!   carried to the leader with a forwarded write.
//!
//! Tenancy: a tenant token reading another tenant's job or tenant answers 404,
//! exactly as an unknown id would; acting for another tenant answers 403.

pub mod app;
pub mod auth;
pub mod dto;
pub mod error;
pub mod grpc;
pub mod list;
pub mod metrics;
pub mod request_id;
pub mod rest;
pub mod workers;

pub use app::App;
pub use auth::{Authenticator, Claims, Principal, Role};
pub use error::ApiError;
