//! Signing in to the pages and out (the shared flow of [`crate::routes::signing_in`]).

use actix_web::{HttpRequest, HttpResponse, web};

use super::PAGES;
use crate::clock::Now;
use crate::routes::signing_in;
use crate::routes::web_session::see_other;
use crate::state::AppState;

/// `GET /p/sign-in`: the one-field form asking for an email address.
pub async fn sign_in_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    signing_in::form(&PAGES, &state, &req).await
}

/// `POST /p/sign-in`: emails a link if the address is someone's in the network; the same answer
/// either way.
pub async fn sign_in(state: web::Data<AppState>, Now(now): Now, body: web::Bytes) -> HttpResponse {
    signing_in::ask(&PAGES, &state, now, &body).await
}

/// `GET /p/auth/{token}`: an emailed link, opening a 30-day session.
pub async fn follow(state: web::Data<AppState>, Now(now): Now, token: web::Path<String>) -> HttpResponse {
    signing_in::follow(&PAGES, &state, now, &token).await
}

/// `POST /p/sign-out`: revokes the session (with `everywhere`, every session of the person).
pub async fn sign_out(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    signing_in::sign_out(&PAGES, &state, &req, &body).await
}

/// A `GET` of an address that only takes form posts: back to the page.
pub async fn back_home() -> HttpResponse {
    see_other(PAGES.path)
}

/// Anything else under `/p`.
pub async fn not_found(tail: web::Path<String>) -> HttpResponse {
    PAGES.not_found(&tail)
}
