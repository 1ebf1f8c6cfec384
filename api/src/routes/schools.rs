//! `/v1/schools`: the network's schools (organisers only).

use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::in_write_txn;
use crate::domain::school::{self, School, SchoolFilter, SchoolInput};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

crate::list_schema!(SchoolList, School);

/// List schools, filtered by local authority, phase or text.
#[utoipa::path(get, path = "/v1/schools", tag = "schools", params(SchoolFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of schools", body = SchoolList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<SchoolFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(school::list(&state.db, &filter, page).await?))
}

/// Add a school.
#[utoipa::path(post, path = "/v1/schools", tag = "schools", request_body = school::NewSchool,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The school was added", body = School),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The URN is taken (`urn_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    JsonBody(input): JsonBody<SchoolInput>,
) -> Result<HttpResponse, ApiError> {
    let school = school::save(&state.db, None, input, &organiser.change(now)).await?;
    Ok(super::created(format!("/v1/schools/{}", school.id), &school))
}

/// Read a school.
#[utoipa::path(get, path = "/v1/schools/{id}", tag = "schools", params(("id" = i64, Path, description = "The school's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The school", body = School),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such school", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(school::get(&state.db, id.into_inner()).await?))
}

/// Change a school's fields (only those given).
#[utoipa::path(patch, path = "/v1/schools/{id}", tag = "schools", request_body = SchoolInput,
    params(("id" = i64, Path, description = "The school's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed school", body = School),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such school", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The URN is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<SchoolInput>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let changed = school::save(&state.db, Some(id), input, &organiser.change(now)).await?;
    Ok(HttpResponse::Ok().json(changed))
}

/// Delete a school (its people keep their history).
#[utoipa::path(delete, path = "/v1/schools/{id}", tag = "schools", params(("id" = i64, Path, description = "The school's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such school", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (id, change) = (id.into_inner(), organiser.change(now));
    in_write_txn(&state.db, async |txn| school::delete(txn, id, &change).await).await?;
    Ok(HttpResponse::NoContent().finish())
}
