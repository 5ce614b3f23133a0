//! The gRPC front end (`hodei.v1`): the same [`App`] calls as REST, with the
//! bearer token read from the `authorization` metadata on every call (the
//! standard health service, served beside these, needs none).
//!
//! - [`services`]: `JobService`, `ClusterService`; [`tenants`]: `TenantService`;
//!   [`pools`]: `PoolService`; [`reports`]: `CostService`, `MetricsService`;
//!   [`workers`]: `WorkerService` (agents, and the admin's list and drain).
//! - [`status`]: `ApiError` to `Status` with `google.rpc` error details.
//! - [`convert`]: application shapes to messages; [`view`]: computed views as
//!   `google.protobuf.Struct` in their REST JSON shape.

mod convert;
mod pools;
mod reports;
mod services;
pub mod status;
mod tenants;
mod view;
mod workers;

use tonic::service::Routes;

use hodei_proto::v1::cluster_service_server::ClusterServiceServer;
use hodei_proto::v1::cost_service_server::CostServiceServer;
use hodei_proto::v1::job_service_server::JobServiceServer;
use hodei_proto::v1::metrics_service_server::MetricsServiceServer;
use hodei_proto::v1::pool_service_server::PoolServiceServer;
use hodei_proto::v1::tenant_service_server::TenantServiceServer;
use hodei_proto::v1::worker_service_server::WorkerServiceServer;

use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;

/// The state every public service shares: the application layer.
#[derive(Clone)]
pub(crate) struct Services {
    pub(crate) app: App,
}

/// The full names of the services [`routes`] serves, for the health service.
pub fn service_names() -> Vec<&'static str> {
    use tonic::server::NamedService;
    vec![
        <TenantServiceServer<Services> as NamedService>::NAME,
        <JobServiceServer<Services> as NamedService>::NAME,
        <ClusterServiceServer<Services> as NamedService>::NAME,
        <PoolServiceServer<Services> as NamedService>::NAME,
        <CostServiceServer<Services> as NamedService>::NAME,
        <MetricsServiceServer<Services> as NamedService>::NAME,
        <WorkerServiceServer<workers::Workers> as NamedService>::NAME,
    ]
}

/// Every public gRPC service, ready to serve.
pub fn routes(app: App) -> Routes {
    let workers = workers::Workers { app: app.clone() };
    let svc = Services { app };
    Routes::new(TenantServiceServer::new(svc.clone()))
        .add_service(JobServiceServer::new(svc.clone()))
        .add_service(ClusterServiceServer::new(svc.clone()))
        .add_service(PoolServiceServer::new(svc.clone()))
        .add_service(CostServiceServer::new(svc.clone()))
        .add_service(MetricsServiceServer::new(svc))
        .add_service(WorkerServiceServer::new(workers))
}

fn principal<T>(app: &App, req: &tonic::Request<T>) -> Result<Principal, ApiError> {
    let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
    app.auth.verify_header(header)
}
