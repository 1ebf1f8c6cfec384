//! `/v1/audit`: the audit trail, newest first, for organisers.

use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::domain::audit::{self, AuditEntry, AuditFilter};
use crate::error::{ApiError, Problem};
use crate::extract::QueryParams;
use crate::state::AppState;

crate::list_schema!(AuditList, AuditEntry);

/// The audit trail: every change, who made it and when, newest first; filter by actor
/// (`organiser:12`, `key:3`, `system`) or target (`target_type=event&target_id=4`).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the trail, newest first", body = AuditList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter value is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<AuditFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(audit::list(&state.db, &filter, page).await?))
}
