//! `/v1/engagement` and `/v1/collaboration`: what each school did in a period, and who worked
//! with whom (organisers only).

use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::insight::{self, Collaboration, EngagementReport, InsightFilter};
use crate::error::{ApiError, Problem};
use crate::extract::QueryParams;
use crate::state::AppState;

/// Every school's engagement in the period (`from`/`to`, inclusive dates; default the year up to
/// today): staff booked and attended by kind of event, sessions hosted and led, triads, survey
/// responses and reflections, and a state — `none` first, where support should go.
#[utoipa::path(get, path = "/v1/engagement", tag = "insight", params(InsightFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One row per school, and totals by authority and phase", body = EngagementReport),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A date that is not one (a `from` after `to` is an empty period)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn engagement(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    QueryParams(filter): QueryParams<InsightFilter>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(insight::engagement(&state.db, &filter, now).await?))
}

/// The collaboration links between schools in the period: staff who met (attended one session,
/// or one school hosted a visit or led an SLP session the other attended) and schools sharing an
/// accepted triad; per school its partners, and links between local authorities.
#[utoipa::path(get, path = "/v1/collaboration", tag = "insight", params(InsightFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The links, each school's partners and the authorities' matrix", body = Collaboration),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A date that is not one (a `from` after `to` is an empty period)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn collaboration(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    QueryParams(filter): QueryParams<InsightFilter>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(insight::collaboration(&state.db, &filter, now).await?))
}
