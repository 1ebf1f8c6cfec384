//! Signing in to the console and out (the shared flow of [`crate::routes::signing_in`]).

use actix_web::{HttpRequest, HttpResponse, web};

use super::CONSOLE;
use crate::clock::Now;
use crate::routes::signing_in;
use crate::state::AppState;

/// `GET /o/sign-in`: the form asking for an organiser's email address.
pub async fn form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    signing_in::form(&CONSOLE, &state, &req).await
}

/// `POST /o/sign-in`: emails a link if the address is an organiser's; the same answer either way.
pub async fn ask(state: web::Data<AppState>, Now(now): Now, body: web::Bytes) -> HttpResponse {
    signing_in::ask(&CONSOLE, &state, now, &body).await
}

/// `GET /o/auth/{token}`: an emailed link, opening a 12-hour session.
pub async fn follow(state: web::Data<AppState>, Now(now): Now, token: web::Path<String>) -> HttpResponse {
    signing_in::follow(&CONSOLE, &state, now, &token).await
}

/// `POST /o/sign-out`: revokes the session (with `everywhere`, every console session of the
/// organiser).
pub async fn sign_out(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    signing_in::sign_out(&CONSOLE, &state, &req, &body).await
}
