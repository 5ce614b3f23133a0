//! The gRPC front end (`hodei.v1`): the same [`App`] calls as REST, with the
//! bearer token read from the `authorization` metadata.

mod convert;
mod services;
mod workers;

use tonic::service::Routes;

use hodei_proto::v1::cluster_service_server::ClusterServiceServer;
use hodei_proto::v1::job_service_server::JobServiceServer;
use hodei_proto::v1::tenant_service_server::TenantServiceServer;
use hodei_proto::v1::worker_service_server::WorkerServiceServer;

use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;

/// Every public gRPC service, ready to serve.
pub fn routes(app: App) -> Routes {
    let workers = workers::Workers { app: app.clone() };
    let svc = services::Services { app };
    Routes::new(TenantServiceServer::new(svc.clone()))
        .add_service(JobServiceServer::new(svc.clone()))
        .add_service(ClusterServiceServer::new(svc))
        .add_service(WorkerServiceServer::new(workers))
}

fn principal<T>(app: &App, req: &tonic::Request<T>) -> Result<Principal, ApiError> {
    let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
    app.auth.verify_header(header)
}
