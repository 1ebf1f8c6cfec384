//! `/o/keys` (API keys: made, shown once, revoked) and `/o/notifications` (messages that could
//! not be delivered, with their reason, sent again on request).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{CONSOLE, Problems, listed, next_page, posted, query, render, signed_in_page};
use crate::domain::keys::{self, KeyRole};
use crate::domain::notification::{self, NotificationFilter};
use crate::domain::{DomainError, DomainResult, in_write_txn};
use crate::routes::web_session::{Visitor, see_other};
use crate::state::AppState;
use crate::time::format_utc;

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/o/keys")
            .route(web::get().to(keys_page))
            .route(web::post().to(create_key)),
    )
    .service(web::resource("/o/keys/revoke").route(web::post().to(revoke_key)))
    .service(web::resource("/o/notifications").route(web::get().to(notifications_page)))
    .service(web::resource("/o/notifications/{id}/retry").route(web::post().to(retry)))
    .service(web::resource("/o/notifications/discord-events/{session_id}/retry").route(web::post().to(retry_sync)));
}

/// The keys page: every key with its state, the form to make one, and a new key's secret once.
async fn keys_view(
    state: &AppState,
    visitor: &Visitor,
    secret: Option<(String, String)>,
    problems: Problems,
    done: Option<String>,
) -> DomainResult<HttpResponse> {
    let rows: Vec<minijinja::Value> = keys::list(&state.db)
        .await?
        .into_iter()
        .map(|k| {
            minijinja::context! {
                name => k.name,
                role => k.role,
                created => format_utc(k.created_at).replace('T', " ").replace('Z', ""),
                revoked => k.revoked_at.map(|at| format_utc(at).replace('T', " ").replace('Z', "")),
            }
        })
        .collect();
    let status = if secret.is_some() {
        StatusCode::CREATED
    } else {
        problems.status()
    };
    Ok(render(
        visitor,
        status,
        "console/keys.html",
        minijinja::context! {
            keys => rows,
            secret => secret.as_ref().map(|(_, s)| s),
            secret_name => secret.as_ref().map(|(n, _)| n),
            problems,
            done,
        },
    ))
}

/// `/o/keys`.
async fn keys_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let done = query(&req).text("done");
    signed_in_page(&state, &req, async |visitor| {
        keys_view(&state, &visitor, None, Problems::default(), done).await
    })
    .await
}

/// `POST /o/keys` (`name`, `role`): makes a key and shows its secret, this once.
async fn create_key(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let name = form.text("name").unwrap_or_default();
            let role = match form.get("role") {
                Some("bot") => Ok(KeyRole::Bot),
                Some("organiser") | None => Ok(KeyRole::Organiser),
                Some(_) => Err(DomainError::Invalid(vec![crate::domain::FieldError::new(
                    "role",
                    "choose organiser or bot",
                )])),
            };
            let change = visitor.change();
            let made = match role {
                Ok(role) => in_write_txn(&state.db, async |txn| keys::create(txn, &name, role, &change).await).await,
                Err(e) => Err(e),
            };
            match made {
                Ok(new) => {
                    keys_view(
                        state,
                        &visitor,
                        Some((new.key.name, new.secret)),
                        Problems::default(),
                        None,
                    )
                    .await
                }
                Err(err) => keys_view(state, &visitor, None, Problems::of(err)?, None).await,
            }
        })
        .await
}

/// `POST /o/keys/revoke` (`name`): revokes the key at once, in every instance.
async fn revoke_key(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let name = form.text("name").unwrap_or_default();
            let change = visitor.change();
            match in_write_txn(&state.db, async |txn| keys::revoke(txn, &name, &change).await).await {
                Ok(()) => Ok(see_other("/o/keys?done=revoked")),
                Err(err) => keys_view(state, &visitor, None, Problems::of(err)?, None).await,
            }
        })
        .await
}

/// The messages that could not be delivered, with their reason.
async fn notifications_view(
    state: &AppState,
    visitor: &Visitor,
    cursor: Option<String>,
    problems: Problems,
    done: Option<String>,
) -> DomainResult<HttpResponse> {
    let filter = NotificationFilter {
        state: Some("dead".to_owned()),
        ..NotificationFilter::default()
    };
    let (dead, listing) = listed(100, cursor.as_deref(), async |page| {
        notification::list(&state.db, &filter, page).await
    })
    .await?;
    let problems = if problems.list.is_empty() { listing } else { problems };
    let next = dead.next_cursor.as_deref().map(|c| {
        next_page(
            "/o/notifications",
            &crate::routes::web_session::Form::parse(b""),
            &[],
            c,
        )
    });
    let syncs = crate::domain::discord::given_up(&state.db, 100, visitor.now).await?;
    Ok(render(
        visitor,
        problems.status(),
        "console/notifications.html",
        minijinja::context! { dead => dead.items, next, problems, done, syncs },
    ))
}

/// `/o/notifications`.
async fn notifications_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    signed_in_page(&state, &req, async |visitor| {
        notifications_view(&state, &visitor, q.text("cursor"), Problems::default(), q.text("done")).await
    })
    .await
}

/// `POST /o/notifications/{id}/retry`: queues the message again, at once.
async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    posted(
        &state,
        &req,
        &body,
        &path,
        "message",
        async |state, visitor, _form, id| match notification::retry(&state.db, id, &visitor.change()).await {
            Ok(_) => {
                state.wake.notify_one();
                Ok(see_other(&format!("/o/notifications?done=retried-{id}")))
            }
            Err(err) => notifications_view(state, &visitor, None, Problems::of(err)?, None).await,
        },
    )
    .await
}

/// `POST /o/notifications/discord-events/{session_id}/retry`: offers a given-up scheduled-event
/// sync to the bot again.
async fn retry_sync(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    posted(
        &state,
        &req,
        &body,
        &path,
        "scheduled event",
        async |state, visitor, _form, id| match crate::domain::discord::retry_sync(&state.db, id, &visitor.change())
            .await
        {
            Ok(()) => Ok(see_other("/o/notifications?done=synced")),
            Err(err) => notifications_view(state, &visitor, None, Problems::of(err)?, None).await,
        },
    )
    .await
}
