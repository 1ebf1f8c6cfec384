//! `/o`: the dashboard.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::CONSOLE;
use crate::domain::dashboard;
use crate::state::AppState;

/// The dashboard: every upcoming published event with its sessions' seats and waitlists, the
/// sessions nearly full, undelivered messages, surveys due to go out and the next two weeks'
/// triad visits.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let visitor = match CONSOLE.require(&state, &req).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    match dashboard::read(&state.db, visitor.now).await {
        Ok(board) => super::render(
            &visitor,
            StatusCode::OK,
            "console/dashboard.html",
            minijinja::context! { board },
        ),
        Err(e) => CONSOLE.trouble(e),
    }
}
