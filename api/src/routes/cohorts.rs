//! `/v1/cohorts`: triad cohorts — form triads (the solver proposes, the organiser accepts or
//! edits) and schedule their visits (organisers only).

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::cohort::{
    self, Cohort, CohortFilter, CohortInput, Schedule, SolveRequest, Triads, TriadsInput, VisitList,
};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams, parse_optional_json};
use crate::state::AppState;

crate::list_schema!(CohortList, Cohort);

/// List cohorts, optionally of one programme.
#[utoipa::path(get, path = "/v1/cohorts", tag = "cohorts", params(CohortFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of cohorts", body = CohortList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<CohortFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(cohort::list(&state.db, &filter, page).await?))
}

/// Add a cohort: its schools, forming rules (mixed phases, pins, forbidden pairs), the window
/// and time of day of its visits, who attends them and who facilitates.
#[utoipa::path(post, path = "/v1/cohorts", tag = "cohorts", request_body = cohort::NewCohort,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The cohort was added, in `draft`", body = Cohort),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`), e.g. an unknown school or a pin outside the cohort", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    JsonBody(input): JsonBody<CohortInput>,
) -> Result<HttpResponse, ApiError> {
    let cohort = cohort::create(&state.db, input, now).await?;
    Ok(super::created(format!("/v1/cohorts/{}", cohort.id), &cohort))
}

/// Read a cohort.
#[utoipa::path(get, path = "/v1/cohorts/{id}", tag = "cohorts", params(("id" = i64, Path, description = "The cohort's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cohort", body = Cohort),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(cohort::get(&state.db, id.into_inner()).await?))
}

/// Propose triads: the forming solver splits the cohort into groups of three (four where the
/// numbers force it) that keep every hard rule and cover as many priorities as it can. The
/// proposal replaces earlier triads (pinned ones are kept together). The body is optional.
#[utoipa::path(post, path = "/v1/cohorts/{id}/triads:propose", tag = "cohorts", request_body(content = Option<SolveRequest>),
    params(("id" = i64, Path, description = "The cohort's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The proposed triads, their scores and explanations", body = Triads),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The cohort's visits are scheduled (`cohort_scheduled`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No grouping keeps the hard rules (`triads_infeasible`, naming the rule)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn propose(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: SolveRequest = parse_optional_json(&body)?;
    let triads = cohort::propose(&state.db, id.into_inner(), &request, &organiser.change(now)).await?;
    Ok(HttpResponse::Ok().json(triads))
}

/// The cohort's current triads, with scores and explanations.
#[utoipa::path(get, path = "/v1/cohorts/{id}/triads", tag = "cohorts", params(("id" = i64, Path, description = "The cohort's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The triads", body = Triads),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn triads(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(cohort::triads(&state.db, id.into_inner()).await?))
}

/// Accept triads: the proposal as it was, or edited. Every hard rule is checked (each school in
/// exactly one group, sizes, local authorities, phases, pins, forbidden pairs).
#[utoipa::path(put, path = "/v1/cohorts/{id}/triads", tag = "cohorts", request_body = TriadsInput,
    params(("id" = i64, Path, description = "The cohort's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The accepted triads", body = Triads),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The cohort's visits are scheduled (`cohort_scheduled`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The triads break a hard rule (`triads_invalid`, naming the rule)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<TriadsInput>,
) -> Result<HttpResponse, ApiError> {
    let triads = cohort::accept(&state.db, id.into_inner(), input, &organiser.change(now)).await?;
    Ok(HttpResponse::Ok().json(triads))
}

/// Schedule the visits of accepted triads: each school hosts once, on a day open to its whole
/// triad, with a facilitator. Each visit becomes a published `triad_visit` event that the
/// triad's attendees and facilitator are booked onto (invitations and reminders follow). The body is optional.
#[utoipa::path(post, path = "/v1/cohorts/{id}/visits:schedule", tag = "cohorts", request_body(content = Option<SolveRequest>),
    params(("id" = i64, Path, description = "The cohort's id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The visits, and anyone the booking rules kept off one", body = Schedule),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Triads not accepted (`triads_not_accepted`) or visits already scheduled (`visits_already_scheduled`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No schedule keeps the hard rules (`visits_infeasible`, naming the rule)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn schedule(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: SolveRequest = parse_optional_json(&body)?;
    let id = id.into_inner();
    let schedule = cohort::schedule(&state.db, id, &request, &organiser.change(now)).await?;
    Ok(super::created(format!("/v1/cohorts/{id}/visits"), &schedule))
}

/// The cohort's visits, by date.
#[utoipa::path(get, path = "/v1/cohorts/{id}/visits", tag = "cohorts", params(("id" = i64, Path, description = "The cohort's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The visits", body = VisitList),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn visits(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(cohort::visits(&state.db, id.into_inner()).await?))
}

/// Cancel the cohort's visits: their events are cancelled and everyone booked is told; the
/// cohort can then be scheduled again (or its triads changed).
#[utoipa::path(delete, path = "/v1/cohorts/{id}/visits", tag = "cohorts", params(("id" = i64, Path, description = "The cohort's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The visits, now cancelled", body = VisitList),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cohort", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No visits are scheduled (`visits_not_scheduled`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_visits(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(cohort::cancel_visits(&state.db, id.into_inner(), &organiser.change(now)).await?))
}
