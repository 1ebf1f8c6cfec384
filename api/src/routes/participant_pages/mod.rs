//! `/p/…`: the participant's own pages, for people not on Discord — their bookings, sessions open
//! to them, their calendar feed, settings, reflections and surveys — reached by an emailed
//! sign-in link; and `POST /v1/participants/{id}/sign-in-link`, by which organisers send one.
//!
//! Plain server-rendered HTML: every action is a form post that works without JavaScript, goes
//! through the same domain functions as the bot's `/v1/me` routes (same rules, same messages in
//! the outbox) and answers with the page and a sentence saying what happened. A session cookie
//! (`HttpOnly`, `SameSite=Lax`, `Secure` behind https) says who is signed in; every post carries
//! the session's anti-forgery token, and one without it is refused with a 403 page and changes
//! nothing.

mod actions;
mod page;

use actix_web::{HttpResponse, web};

use super::web_session::{Area, see_other};
use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::sign_in::{self, Scope, SignInLinkSent};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

use actions::{book, cancel, reflect, rotate_feed, save_preferences};
use page::home;

/// The session cookie's name.
pub const COOKIE: &str = "convene_session";

/// The pages, as an area people sign in to: a 30-day session whose cookie is sent along when a
/// link from an email opens them (`SameSite=Lax`).
pub const PAGES: Area = Area {
    scope: Scope::Participant,
    cookie: COOKIE,
    path: "/p",
    same_site: "Lax",
    home: "your page",
};

/// Registers the pages and the organisers' route.
pub fn configure(cfg: &mut web::ServiceConfig, protection: &crate::protection::Protection) {
    cfg.service(web::resource("/p").route(web::get().to(home)))
        .configure(|cfg| super::signing_in::configure(cfg, &PAGES, protection))
        .service(
            web::resource("/p/bookings")
                .route(web::post().to(book))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/bookings/{id}/cancel")
                .route(web::post().to(cancel))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/feed")
                .route(web::post().to(rotate_feed))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/preferences")
                .route(web::post().to(save_preferences))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/reflections")
                .route(web::post().to(reflect))
                .route(web::get().to(back_home)),
        )
        .service(web::resource("/p/{tail:.*}").to(not_found));
}

/// A `GET` of an address that only takes form posts: back to the page.
async fn back_home() -> HttpResponse {
    see_other(PAGES.path)
}

/// Anything else under `/p`.
async fn not_found(tail: web::Path<String>) -> HttpResponse {
    PAGES.not_found(&tail)
}

/// Email a participant the link to sign in to their own pages (`/p`), for someone not on
/// Discord: it works once, for 30 minutes, and opens a 30-day session in their browser. The
/// participant can also ask for one themselves at `/p/sign-in` with their email address.
#[utoipa::path(post, path = "/v1/participants/{id}/sign-in-link", tag = "participants",
    params(("id" = i64, Path, description = "The participant's id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The link is queued in the outbox for email", body = SignInLinkSent),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A bot key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or the participant was erased", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_sign_in_link(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let sent = sign_in::send_link(&state.db, &state.public_url, id.into_inner(), now).await?;
    state.wake.notify_one();
    Ok(HttpResponse::Accepted().json(sent))
}
