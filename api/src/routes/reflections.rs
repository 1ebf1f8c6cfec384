//! Organisers' `/v1/reflections`: record a participant's reflection, and read them by event,
//! programme, school or person.

use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::in_write_txn;
use crate::domain::reflection::{self, Reflection, ReflectionFilter, ReflectionInput};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

crate::list_schema!(ReflectionList, Reflection);

/// Record a reflection for a participant: what they tried, what changed, and how they know.
#[utoipa::path(post, path = "/v1/reflections", tag = "reflections", request_body = crate::domain::reflection::NewReflection,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = Reflection),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    JsonBody(input): JsonBody<ReflectionInput>,
) -> Result<HttpResponse, ApiError> {
    let stored = in_write_txn(&state.db, async |txn| {
        reflection::create_for(txn, input.clone(), now).await
    })
    .await?;
    Ok(super::created(
        format!("/v1/reflections?participant_id={}", stored.participant_id.unwrap_or(0)),
        &stored,
    ))
}

/// List reflections, oldest first, filtered by event, programme, school or participant.
#[utoipa::path(get, path = "/v1/reflections", tag = "reflections", params(ReflectionFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of reflections", body = ReflectionList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<ReflectionFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(reflection::list(&state.db, &filter, page).await?))
}
