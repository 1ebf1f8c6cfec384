//! `/v1/announcements`: messages organisers send to an audience by email, Discord DM or a Discord
//! channel post (a preview first, writing nothing), and `/unsubscribe/{token}`: the one-click
//! unsubscribe link (RFC 8058) every announcement carries.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::announcement::{self, Announcement, AnnouncementFilter, AnnouncementInput, Preview};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::pages::{self, Link};
use crate::state::AppState;

crate::list_schema!(AnnouncementList, Announcement);

/// List the announcements sent, oldest first, each with how its messages fared.
#[utoipa::path(get, path = "/v1/announcements", tag = "announcements", params(AnnouncementFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of announcements", body = AnnouncementList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<AnnouncementFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(announcement::list(&state.db, page).await?))
}

/// Send an announcement. Each person in the audience gets it once on each channel asked for that
/// they have (`email`: an address and email on; `discord_dm`: a linked Discord account and
/// Discord on; both only while they take announcements), through the outbox: retried, dead
/// letters kept, paced at 20 a second per channel behind other messages. `discord_channel` is one
/// post in the network's channel. Emails carry the event's details, a link to book, and a
/// one-click unsubscribe (`List-Unsubscribe`, `List-Unsubscribe-Post`).
#[utoipa::path(post, path = "/v1/announcements", tag = "announcements", request_body = crate::domain::announcement::NewAnnouncement,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Sent: queued in the outbox", body = Announcement),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or ids of nothing (`validation_failed`, naming each field)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    JsonBody(input): JsonBody<AnnouncementInput>,
) -> Result<HttpResponse, ApiError> {
    let sent = announcement::send(&state.db, &state.public_url, input, &organiser.change(now)).await?;
    state.wake.notify_one();
    Ok(super::created(format!("/v1/announcements/{}", sent.id), &sent))
}

/// Preview an announcement (the same body as sending one): how many people each channel asked
/// for would reach, and the first 50 of them. `discord_channel` counts the people of the
/// audience with a linked Discord account, who could see the post. Nothing is written or sent.
#[utoipa::path(post, path = "/v1/announcements:preview", tag = "announcements", request_body = crate::domain::announcement::NewAnnouncement,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whom each channel would reach", body = Preview),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or ids of nothing (`validation_failed`, naming each field)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn preview(
    state: web::Data<AppState>,
    _: Organiser,
    JsonBody(input): JsonBody<AnnouncementInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(announcement::preview(&state.db, input).await?))
}

/// Read an announcement, with how its messages fared: queued, sent, failed (dead letters),
/// unsubscribed (withdrawn because the person stopped announcements first) and withdrawn.
#[utoipa::path(get, path = "/v1/announcements/{id}", tag = "announcements",
    params(("id" = i64, Path, description = "The announcement's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The announcement", body = Announcement),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such announcement", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(announcement::get(&state.db, id.into_inner()).await?))
}

/// The page for a link that is not (or no longer) ours; it says nothing about anyone.
fn unknown() -> HttpResponse {
    pages::message(
        StatusCode::NOT_FOUND,
        "This link isn’t recognised",
        &["Check that you used the whole link from the email (some email programs break long links over two lines)."],
        None,
    )
}

/// The unsubscribe link opened in a browser: a page asking to confirm with a button. A `GET`
/// never unsubscribes (mail scanners follow links).
#[utoipa::path(get, path = "/unsubscribe/{token}", tag = "announcements",
    params(("token" = String, Path, description = "The token from the announcement's `List-Unsubscribe` URL")),
    responses(
        (status = 200, description = "A page with a button to stop announcements", content_type = "text/html"),
        (status = 404, description = "An unknown token", content_type = "text/html"),
    ))]
pub async fn confirm(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if announcement::by_token(&state.db, &token).await?.is_none() {
        return Ok(unknown());
    }
    Ok(pages::render(
        StatusCode::OK,
        "unsubscribe.html",
        minijinja::context! { action => format!("/unsubscribe/{token}") },
    ))
}

/// Stop announcements: the one-click unsubscribe of RFC 8058 (a mail client posts
/// `List-Unsubscribe=One-Click`), and the confirmation page's button. No session or form token
/// is needed: the token in the URL is the key. Booking confirmations, reminders and surveys
/// still come; the participant pages' settings turn announcements back on. Doing it again
/// changes nothing and answers the same.
#[utoipa::path(post, path = "/unsubscribe/{token}", tag = "announcements",
    params(("token" = String, Path, description = "The token from the announcement's `List-Unsubscribe` URL")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", example = "List-Unsubscribe=One-Click"),
    responses(
        (status = 200, description = "Announcements stopped", content_type = "text/html"),
        (status = 404, description = "An unknown token: nothing changed", content_type = "text/html"),
    ))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    Now(now): Now,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if announcement::unsubscribe(&state.db, &token, now).await?.is_none() {
        return Ok(unknown());
    }
    Ok(pages::message(
        StatusCode::OK,
        "You will no longer get announcements",
        &[
            "You will still get messages about your own bookings: confirmations, reminders and follow-up surveys.",
            "You can turn announcements back on at any time in the settings of your Convene page.",
        ],
        Some(Link {
            href: format!("{}/p#settings", state.public_url),
            text: "Your Convene page".to_owned(),
        }),
    ))
}
