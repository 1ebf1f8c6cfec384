//! `/v1/events/{id}/sessions` and `/v1/sessions/{id}`: the bookable units of an event.

use actix_web::{HttpResponse, web};

use crate::auth::{Organiser, Viewer};
use crate::clock::Now;
use crate::domain::in_write_txn;
use crate::domain::session::{self, Session, SessionFilter, SessionInput};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

crate::list_schema!(SessionList, Session);

/// List an event's sessions (anyone, for a published event).
#[utoipa::path(get, path = "/v1/events/{id}/sessions", tag = "sessions",
    params(("id" = i64, Path, description = "The event's id"), SessionFilter),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of sessions", body = SessionList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event (or, without an organiser key, a draft or a triad's visit)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    Viewer(audience): Viewer,
    id: web::Path<i64>,
    QueryParams(filter): QueryParams<SessionFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(
        session::list_for_event(&state.db, id.into_inner(), page, audience).await?,
    ))
}

/// Add a session to an event. `start` and `end` are instants (`2027-06-04T08:30:00Z`) or local
/// times in the event's zone (`2027-06-04T09:30`); a local time in the clocks-change gap or
/// overlap is refused with `nonexistent_local_time` or `ambiguous_local_time`.
#[utoipa::path(post, path = "/v1/events/{id}/sessions", tag = "sessions", request_body = crate::domain::session::NewSession,
    params(("id" = i64, Path, description = "The event's id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The session was added", body = Session),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event was cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a local time that does not exist or is ambiguous", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<SessionInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, change) = (id.into_inner(), organiser.change(now));
    let session = in_write_txn(&state.db, async |txn| {
        session::create(txn, id, input.clone(), &change).await
    })
    .await?;
    Ok(super::created(format!("/v1/sessions/{}", session.id), &session))
}

/// Read a session (anyone, for a published event).
#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "sessions", params(("id" = i64, Path, description = "The session's id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = Session),
        (status = 404, description = "No such session (or, without an organiser key, one of a draft or of a triad's visit)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(
    state: web::Data<AppState>,
    Viewer(audience): Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(session::get(&state.db, id.into_inner(), audience).await?))
}

/// Change a session: move it, resize it (never below its confirmed seats), or cancel it.
#[utoipa::path(patch, path = "/v1/sessions/{id}", tag = "sessions", request_body = SessionInput,
    params(("id" = i64, Path, description = "The session's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed session", body = Session),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cancelled, or capacity below the confirmed seats", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<SessionInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(session::update(&state.db, id.into_inner(), input, &organiser.change(now)).await?))
}

/// Delete a session nobody has booked (a booked one is cancelled instead).
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions", params(("id" = i64, Path, description = "The session's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has bookings (`session_has_bookings`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    session::delete(&state.db, id.into_inner(), &organiser.change(now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
