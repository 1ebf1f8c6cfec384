//! `/v1/events`: organisers create and change events; anyone may list and read published ones
//! (never with their join links).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{Organiser, Viewer};
use crate::clock::Now;
use crate::domain::event::{self, Audience, Event, EventFilter, EventInput};
use crate::domain::in_write_txn;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

crate::list_schema!(EventList, Event);

/// List events. Without a key only published events are listed (the default filter) and join
/// links are left out; with an organiser key every state can be listed.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventFilter),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A key was sent but is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter value is invalid (e.g. `status=draft` without a key)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    Viewer(audience): Viewer,
    QueryParams(filter): QueryParams<EventFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    if audience == Audience::Organiser {
        return Ok(super::page(event::list(&state.db, &filter, page, audience).await?));
    }
    // The public list is the same for everyone: kept in the response cache, with an ETag.
    let key = format!("events?{}", filter.cache_key());
    super::cached(&state, &req, key, "application/json", async {
        let page = event::list(&state.db, &filter, page, audience).await?;
        let body = serde_json::to_vec(&super::ListBody {
            items: page.items,
            next_cursor: page.next_cursor,
        })
        .map_err(|e| ApiError::internal(&e))?;
        Ok(super::Rendered {
            body: body.into(),
            last_modified: None,
        })
    })
    .await
}

/// Create an event (a draft unless `status` is `published`).
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = crate::domain::event::NewEvent,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The event was created", body = Event),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<HttpResponse, ApiError> {
    let change = organiser.change(now);
    let event = in_write_txn(&state.db, async |txn| event::create(txn, input.clone(), &change).await).await?;
    Ok(super::created(format!("/v1/events/{}", event.id), &event))
}

/// Read an event: anyone for a published one (without its join link), organisers for any.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = i64, Path, description = "The event's id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 401, description = "A key was sent but is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event (or, without an organiser key, a draft or a triad's visit)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(
    state: web::Data<AppState>,
    Viewer(audience): Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(event::get(&state.db, id.into_inner(), audience).await?))
}

/// Change an event; `{"status": "published"}` publishes it and `{"status": "cancelled"}` cancels it and its sessions.
#[utoipa::path(patch, path = "/v1/events/{id}", tag = "events", request_body = EventInput,
    params(("id" = i64, Path, description = "The event's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed event", body = Event),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cancelled, or a change of state that is not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(event::update(&state.db, id.into_inner(), input, &organiser.change(now)).await?))
}

/// Delete a draft event and its sessions (a published event is cancelled instead).
#[utoipa::path(delete, path = "/v1/events/{id}", tag = "events", params(("id" = i64, Path, description = "The event's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft (`event_not_draft`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    event::delete(&state.db, id.into_inner(), &organiser.change(now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
