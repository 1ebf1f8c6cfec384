//! Calendar feeds for calendar apps: `/ical/p/{token}.ics` (a participant's private feed),
//! `/ical/events/{id}.ics` and `/ical/programmes/{id}.ics` (public), each with a strong `ETag`
//! and `304` to a matching `If-None-Match`; and the organisers' route that rotates a feed token.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::DomainResult;
use crate::domain::feed::{self, Feed, FeedToken};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// `text/calendar` as every calendar app expects it.
pub const CALENDAR: &str = "text/calendar; charset=utf-8";

/// A participant's private feed: their confirmed bookings, waitlisted ones (tentative), their
/// triad visits, and the join links of their online sessions. Anyone holding the URL can read it.
#[utoipa::path(get, path = "/ical/p/{token}.ics", tag = "calendars",
    params(("token" = String, Path, description = "The feed token from `POST /v1/participants/{id}/feed-token`"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the copy held")),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 304, description = "The copy held is current"),
        (status = 404, description = "No feed has this token (it may have been rotated)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn participant(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let missing = "no calendar feed has this address; it may have been replaced by a new one";
    let build = feed::participant_feed(&state.db, &state.site, &token);
    respond(&state, &req, format!("p:{token}"), missing, build).await
}

/// A published event's sessions, without join links. A cancelled event's feed is empty.
#[utoipa::path(get, path = "/ical/events/{id}.ics", tag = "calendars",
    params(("id" = i64, Path, description = "The event's id"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the copy held")),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 304, description = "The copy held is current"),
        (status = 404, description = "No such published event, or a triad's visit (private to its people)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn event(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let missing = format!("there is no published event with id {id}");
    respond(
        &state,
        &req,
        format!("e:{id}"),
        &missing,
        feed::event_feed(&state.db, &state.site, id),
    )
    .await
}

/// A published programme's events, without join links.
#[utoipa::path(get, path = "/ical/programmes/{id}.ics", tag = "calendars",
    params(("id" = i64, Path, description = "The programme's id"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the copy held")),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 304, description = "The copy held is current"),
        (status = 404, description = "No such published programme", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn programme(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let missing = format!("there is no published programme with id {id}");
    respond(
        &state,
        &req,
        format!("g:{id}"),
        &missing,
        feed::programme_feed(&state.db, &state.site, id),
    )
    .await
}

/// Give a participant a (new) private feed URL. The first call creates it; each later call
/// replaces it, and the old URL then answers `404`.
#[utoipa::path(post, path = "/v1/participants/{id}/feed-token", tag = "participants",
    params(("id" = i64, Path, description = "The participant's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new token and URL", body = FeedToken),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The participant was erased (`participant_erased`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let token = feed::rotate_token(&state.db, &state.site, id.into_inner(), now).await?;
    Ok(HttpResponse::Ok().json(token))
}

/// Renders a feed for [`super::cached`]; `None` (a 404) when there is no such feed.
async fn respond(
    state: &AppState,
    req: &HttpRequest,
    key: String,
    missing: &str,
    build: impl Future<Output = DomainResult<Option<Feed>>>,
) -> Result<HttpResponse, ApiError> {
    super::cached(state, req, key, CALENDAR, async {
        let Some(feed) = build.await? else {
            return Err(ApiError::not_found(missing));
        };
        Ok(super::Rendered {
            body: Bytes::from(feed.calendar.render()),
            last_modified: Some(feed.last_modified),
        })
    })
    .await
}
