//! `/v1/programmes`: series of events (organisers only).

use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::in_write_txn;
use crate::domain::programme::{self, Programme, ProgrammeFilter, ProgrammeInput};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

crate::list_schema!(ProgrammeList, Programme);

/// List programmes, filtered by kind, state or text.
#[utoipa::path(get, path = "/v1/programmes", tag = "programmes", params(ProgrammeFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of programmes", body = ProgrammeList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<ProgrammeFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(programme::list(&state.db, &filter, page).await?))
}

/// Add a programme.
#[utoipa::path(post, path = "/v1/programmes", tag = "programmes", request_body = crate::domain::programme::NewProgramme,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The programme was added", body = Programme),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    JsonBody(input): JsonBody<ProgrammeInput>,
) -> Result<HttpResponse, ApiError> {
    let programme = programme::save(&state.db, None, input, &organiser.change(now)).await?;
    Ok(super::created(format!("/v1/programmes/{}", programme.id), &programme))
}

/// Read a programme.
#[utoipa::path(get, path = "/v1/programmes/{id}", tag = "programmes", params(("id" = i64, Path, description = "The programme's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The programme", body = Programme),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(programme::get(&state.db, id.into_inner()).await?))
}

/// Change a programme's fields (only those given).
#[utoipa::path(patch, path = "/v1/programmes/{id}", tag = "programmes", request_body = ProgrammeInput,
    params(("id" = i64, Path, description = "The programme's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed programme", body = Programme),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<ProgrammeInput>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let changed = programme::save(&state.db, Some(id), input, &organiser.change(now)).await?;
    Ok(HttpResponse::Ok().json(changed))
}

/// Delete a programme (its events stay, no longer part of a series).
#[utoipa::path(delete, path = "/v1/programmes/{id}", tag = "programmes", params(("id" = i64, Path, description = "The programme's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (id, change) = (id.into_inner(), organiser.change(now));
    in_write_txn(&state.db, async |txn| programme::delete(txn, id, &change).await).await?;
    Ok(HttpResponse::NoContent().finish())
}
