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

use actix_web::{HttpRequest, HttpResponse, web};

use super::web_session::Area;
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
    cfg.service(web::resource("/o").route(web::get().to(dashboard::show)))
        .configure(|cfg| super::signing_in::configure(cfg, &CONSOLE, protection))
        .service(web::resource("/o/{tail:.*}").to(elsewhere));
}

/// Anything else under `/o`: the sign-in form for someone signed out, else a page saying there
/// is nothing here.
async fn elsewhere(state: web::Data<AppState>, req: HttpRequest, tail: web::Path<String>) -> HttpResponse {
    match CONSOLE.require(&state, &req).await {
        Ok(_) => CONSOLE.not_found(&tail),
        Err(response) => response,
    }
}
