//! `CostService` and `MetricsService`: the cost and metric views of
//! `/api/v1/cost-optimization` and `/api/v1/metrics`, in their REST JSON shape
//! (see [`super::view`]).

use tonic::{Request, Response, Status};

use hodei_cluster::Consistency;
use hodei_proto::v1 as pb;
use hodei_proto::v1::cost_service_server::CostService;
use hodei_proto::v1::metrics_service_server::MetricsService;

use super::{convert, principal, view, Services};
use crate::app::reports::ReportSpec;
use crate::error::ApiError;

type Reply<T> = Result<Response<T>, Status>;

/// Longest report id accepted (REST answers 404 past it, and so does this).
const MAX_REPORT_ID: usize = 200;

fn spec(s: Option<pb::ReportSpec>) -> ReportSpec {
    let s = s.unwrap_or_default();
    ReportSpec { period: s.period, from_ms: s.from_ms, to_ms: s.to_ms, tenant_id: s.tenant_id, pool_id: s.pool_id }
}

#[tonic::async_trait]
impl CostService for Services {
    async fn create_report(&self, req: Request<pb::CreateCostReportRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let read = self.app.cost_report(&p, spec(req.into_inner().spec), Consistency::Linearizable).await?;
        Ok(Response::new(view::reply(read)?))
    }

    async fn list_reports(&self, req: Request<pb::ListCostReportsRequest>) -> Reply<pb::ViewListReply> {
        let p = principal(&self.app, &req)?;
        let read = self.app.cost_reports(&p, convert::consistency(req.into_inner().read)).await?;
        Ok(Response::new(view::list_reply(read)?))
    }

    async fn get_report(&self, req: Request<pb::GetCostReportRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        if r.id.len() > MAX_REPORT_ID {
            return Err(ApiError::not_found("no such cost report").into());
        }
        let read = self.app.cost_report(&p, ReportSpec::from_id(&r.id)?, convert::consistency(r.read)).await?;
        Ok(Response::new(view::reply(read)?))
    }

    async fn get_breakdown(&self, req: Request<pb::GetBreakdownRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.cost_report(&p, spec(r.spec), convert::consistency(r.read)).await?;
        Ok(Response::new(view::reply(read)?))
    }

    async fn get_recommendations(&self, req: Request<pb::GetRecommendationsRequest>) -> Reply<pb::ViewListReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.recommendations(&p, r.pool_id, convert::consistency(r.read)).await?;
        Ok(Response::new(view::list_reply(read)?))
    }
}

#[tonic::async_trait]
impl MetricsService for Services {
    async fn get_history(&self, req: Request<pb::GetHistoryRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.pool_history(&p, &r.pool_id, unset(r.start), unset(r.end), unset(r.step), convert::consistency(r.read)).await?;
        Ok(Response::new(view::reply(read)?))
    }

    async fn get_tenant_metrics(&self, req: Request<pb::GetTenantMetricsRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let window = (unset(r.start), unset(r.end), unset(r.step));
        let read = self.app.tenant_metrics(&p, r.tenant_id, window, convert::consistency(r.read)).await?;
        Ok(Response::new(view::reply(read)?))
    }

    async fn get_costs(&self, req: Request<pb::GetCostsRequest>) -> Reply<pb::ViewListReply> {
        let p = principal(&self.app, &req)?;
        let read = self.app.cost_reports(&p, convert::consistency(req.into_inner().read)).await?;
        Ok(Response::new(view::list_reply(read)?))
    }
}

/// proto3 has no "absent" for scalars: 0 means "the default" (see the proto).
fn unset(v: u64) -> Option<u64> {
    (v != 0).then_some(v)
}
