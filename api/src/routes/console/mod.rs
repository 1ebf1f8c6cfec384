//! `/o/…`: the organiser console, for network coordinators who are not programmers: server-rendered
//! pages over the same domain functions as the API, reached by an emailed sign-in link.
//!
//! Who may sign in: a participant whose role is `organiser` (and not erased). The session cookie
//! (`HttpOnly`, `SameSite=Strict`, `Path=/o`, `Secure` behind https) lasts 12 hours and is a
//! session of the console's own scope: a participant's `/p` cookie never opens it. Signed out,
//! every page sends the visitor to `/o/sign-in`; every post but the sign-in form's carries the
//! session's anti-forgery token, and one without it is refused with a 403 page before anything
//! else, changing nothing.

mod dashboard;
mod signing_in;

use actix_web::{HttpRequest, HttpResponse, web};

use super::web_session::{Area, see_other};
use crate::domain::sign_in::Scope;
use crate::state::AppState;

/// The console, as an area people sign in to.
pub const CONSOLE: Area = Area {
    scope: Scope::Organiser,
    cookie: "convene_console",
    path: "/o",
    same_site: "Strict",
    home: "the console",
};

/// Registers the console's pages.
pub fn configure(cfg: &mut web::ServiceConfig, protection: &crate::protection::Protection) {
    // The routes anyone may call without a session are rate-limited per client.
    cfg.service(web::resource("/o").route(web::get().to(dashboard::show)))
        .service(
            web::resource("/o/sign-in")
                .wrap(protection.rate_limit.middleware())
                .route(web::get().to(signing_in::form))
                .route(web::post().to(signing_in::ask)),
        )
        .service(
            web::resource("/o/auth/{token}")
                .wrap(protection.rate_limit.middleware())
                .route(web::get().to(signing_in::follow)),
        )
        .service(
            web::resource("/o/sign-out")
                .route(web::post().to(signing_in::sign_out))
                .route(web::get().to(home)),
        )
        .service(web::resource("/o/{tail:.*}").to(elsewhere));
}

/// A `GET` of an address that only takes form posts: back to the dashboard.
async fn home() -> HttpResponse {
    see_other(CONSOLE.path)
}

/// Anything else under `/o`: the sign-in form for someone signed out, else a page saying there
/// is nothing here.
async fn elsewhere(state: web::Data<AppState>, req: HttpRequest, tail: web::Path<String>) -> HttpResponse {
    match CONSOLE.require(&state, &req).await {
        Ok(_) => CONSOLE.not_found(&tail),
        Err(response) => response,
    }
}
