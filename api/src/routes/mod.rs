//! HTTP routes: thin handlers that parse the request, make one domain call and map the result.

pub mod announcements;
pub mod audit;
pub mod bookings;
pub mod closures;
pub mod cohorts;
pub mod console;
pub mod discord;
pub mod events;
pub mod feeds;
pub mod forms;
pub mod health;
pub mod imports;
pub mod insight;
pub mod me;
pub mod notifications;
pub mod participant_pages;
pub mod participants;
pub mod programmes;
pub mod reflections;
pub mod schools;
pub mod sessions;
pub mod signing_in;
pub mod surveys;
pub mod web_session;

use std::time::SystemTime;

use actix_web::http::header::{self, HttpDate};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::domain::page::{Page, PageRequest};
use crate::error::ApiError;
use crate::protection::Protection;
use crate::state::AppState;

/// Registers every route. Routes anyone may call without a key are wrapped in
/// `protection.rate_limit`; uploads get `protection.upload_limit`.
///
/// Routes are grouped in scopes by their first segments. actix tries a scope's fixed prefix with
/// a string comparison and only then the patterns inside it, each a regular expression, so a
/// request meets a handful of patterns instead of every route before it (matching had been a
/// tenth of the service's own CPU time per booking, and it runs again for the metrics' and the
/// log's route label). A path under a scope that nothing in the scope matches gets the app's 404.
pub fn configure(cfg: &mut web::ServiceConfig, protection: &Protection) {
    let limited = || protection.rate_limit.middleware();
    let upload = || web::PayloadConfig::new(protection.upload_limit);
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/metrics").route(web::get().to(health::metrics)))
        .service(
            web::scope("/v1/sessions")
                .service(
                    web::resource("/{id}/bookings")
                        .route(web::get().to(bookings::list))
                        .route(web::post().to(bookings::create)),
                )
                .service(web::resource("/{id}/attendance").route(web::post().to(bookings::attendance)))
                .service(web::resource("/{id}/register.csv").route(web::get().to(bookings::register)))
                .service(
                    web::resource("/{id}")
                        .route(web::get().to(sessions::read))
                        .route(web::patch().to(sessions::update))
                        .route(web::delete().to(sessions::delete)),
                ),
        )
        .service(
            web::scope("/v1/bookings").service(
                web::resource("/{id}")
                    .route(web::get().to(bookings::read))
                    .route(web::patch().to(bookings::mark))
                    .route(web::delete().to(bookings::cancel)),
            ),
        )
        .service(
            web::scope("/v1/events")
                .service(
                    web::resource("")
                        .route(web::get().to(events::list))
                        .route(web::post().to(events::create)),
                )
                .service(
                    web::resource("/{id}")
                        .route(web::get().to(events::read))
                        .route(web::patch().to(events::update))
                        .route(web::delete().to(events::delete)),
                )
                .service(
                    web::resource("/{id}/sessions")
                        .route(web::get().to(sessions::list))
                        .route(web::post().to(sessions::create)),
                ),
        )
        .service(
            web::resource("/v1/schools:import")
                .app_data(upload())
                .route(web::post().to(imports::schools)),
        )
        .service(
            web::scope("/v1/schools")
                .service(
                    web::resource("")
                        .route(web::get().to(schools::list))
                        .route(web::post().to(schools::create)),
                )
                .service(
                    web::resource("/{id}")
                        .route(web::get().to(schools::read))
                        .route(web::patch().to(schools::update))
                        .route(web::delete().to(schools::delete)),
                )
                .service(
                    web::resource("/{id}/closures")
                        .app_data(upload())
                        .route(web::get().to(closures::list))
                        .route(web::post().to(closures::import)),
                )
                .service(web::resource("/{id}/closures/{closure_id}").route(web::delete().to(closures::delete)))
                .service(web::resource("/{id}/closed-days").route(web::get().to(closures::closed_days))),
        )
        .service(
            web::scope("/v1/local-authorities")
                .service(
                    web::resource("/{name}/closures")
                        .app_data(upload())
                        .route(web::get().to(closures::list_for_authority))
                        .route(web::post().to(closures::import_for_authority))
                        .route(web::delete().to(closures::delete_all_for_authority)),
                )
                .service(
                    web::resource("/{name}/closures/{closure_id}")
                        .route(web::delete().to(closures::delete_for_authority)),
                ),
        )
        .service(
            web::resource("/v1/participants:import")
                .app_data(upload())
                .route(web::post().to(imports::participants)),
        )
        .service(
            web::scope("/v1/participants")
                .service(
                    web::resource("")
                        .route(web::get().to(participants::list))
                        .route(web::post().to(participants::create)),
                )
                .service(
                    web::resource("/{id}")
                        .route(web::get().to(participants::read))
                        .route(web::patch().to(participants::update))
                        .route(web::delete().to(participants::erase)),
                )
                .service(web::resource("/{id}/export").route(web::get().to(participants::export)))
                .service(web::resource("/{id}/feed-token").route(web::post().to(feeds::rotate)))
                .service(
                    web::resource("/{id}/sign-in-link").route(web::post().to(participant_pages::send_sign_in_link)),
                ),
        )
        .service(web::resource("/v1/announcements:preview").route(web::post().to(announcements::preview)))
        .service(
            web::scope("/v1/announcements")
                .service(
                    web::resource("")
                        .route(web::get().to(announcements::list))
                        .route(web::post().to(announcements::create)),
                )
                .service(web::resource("/{id}").route(web::get().to(announcements::read))),
        )
        .service(
            web::resource("/unsubscribe/{token:[A-Za-z0-9_-]+}")
                .wrap(limited())
                .route(web::get().to(announcements::confirm))
                .route(web::post().to(announcements::unsubscribe)),
        )
        .service(web::resource("/v1/audit").route(web::get().to(audit::list)))
        .service(web::resource("/v1/engagement").route(web::get().to(insight::engagement)))
        .service(web::resource("/v1/collaboration").route(web::get().to(insight::collaboration)))
        .service(
            web::scope("/v1/notifications")
                .service(web::resource("").route(web::get().to(notifications::list)))
                .service(web::resource("/{id}/retry").route(web::post().to(notifications::retry))),
        )
        .service(
            web::scope("/v1/bot")
                .service(web::resource("/link").wrap(limited()).route(web::post().to(me::link)))
                .service(
                    web::resource("/verify")
                        .wrap(limited())
                        .route(web::post().to(me::verify)),
                )
                .service(web::resource("/notifications/lease").route(web::post().to(notifications::lease)))
                .service(web::resource("/notifications/{id}/ack").route(web::post().to(notifications::ack)))
                .service(web::resource("/channel-posts/lease").route(web::post().to(discord::lease_posts)))
                .service(web::resource("/channel-posts/{id}/ack").route(web::post().to(discord::ack_post)))
                .service(web::resource("/guild-events/lease").route(web::post().to(discord::lease_guild_events)))
                .service(
                    web::resource("/guild-events/{session_id}/ack").route(web::post().to(discord::ack_guild_event)),
                ),
        )
        .service(
            web::scope("/v1/me")
                .service(web::resource("").route(web::get().to(me::read)))
                .service(web::resource("/sessions").route(web::get().to(me::sessions)))
                .service(
                    web::resource("/bookings")
                        .route(web::get().to(me::bookings))
                        .route(web::post().to(me::book)),
                )
                .service(
                    web::resource("/bookings/{id}")
                        .route(web::get().to(me::booking))
                        .route(web::delete().to(me::cancel)),
                )
                .service(web::resource("/feed").route(web::get().to(me::feed)))
                .service(web::resource("/feed-token").route(web::post().to(me::rotate_feed)))
                .service(
                    web::resource("/preferences")
                        .route(web::get().to(me::preferences))
                        .route(web::patch().to(me::update_preferences)),
                )
                .service(
                    web::resource("/reflections")
                        .route(web::get().to(me::reflections))
                        .route(web::post().to(me::reflect)),
                )
                .service(web::resource("/surveys").route(web::get().to(surveys::mine)))
                .service(web::resource("/surveys/{id}/answers").route(web::post().to(surveys::answer))),
        )
        .service(
            web::scope("/v1/surveys")
                .service(
                    web::resource("")
                        .route(web::get().to(surveys::list))
                        .route(web::post().to(surveys::create)),
                )
                .service(
                    web::resource("/{id}")
                        .route(web::get().to(surveys::read))
                        .route(web::patch().to(surveys::update)),
                )
                .service(web::resource("/{id}/report").route(web::get().to(surveys::report)))
                .service(web::resource("/{id}/responses.csv").route(web::get().to(surveys::responses_csv)))
                .service(web::resource("/{id}/invitations:send").route(web::post().to(surveys::send))),
        )
        .service(
            web::resource("/s/{token:[A-Za-z0-9_-]+}")
                .wrap(limited())
                .app_data(upload())
                .route(web::get().to(forms::show))
                .route(web::post().to(forms::submit)),
        )
        .service(
            web::resource("/v1/reflections")
                .route(web::get().to(reflections::list))
                .route(web::post().to(reflections::create)),
        )
        .service(
            web::scope("/ical")
                .wrap(limited())
                .service(web::resource("/p/{token:[A-Za-z0-9_-]+}.ics").route(web::get().to(feeds::participant)))
                .service(web::resource("/events/{id:[0-9]+}.ics").route(web::get().to(feeds::event)))
                .service(web::resource("/programmes/{id:[0-9]+}.ics").route(web::get().to(feeds::programme))),
        )
        .service(
            web::scope("/v1/cohorts")
                .service(
                    web::resource("")
                        .route(web::get().to(cohorts::list))
                        .route(web::post().to(cohorts::create)),
                )
                .service(web::resource("/{id}").route(web::get().to(cohorts::read)))
                .service(web::resource("/{id}/triads:propose").route(web::post().to(cohorts::propose)))
                .service(
                    web::resource("/{id}/triads")
                        .route(web::get().to(cohorts::triads))
                        .route(web::put().to(cohorts::accept)),
                )
                .service(web::resource("/{id}/visits:schedule").route(web::post().to(cohorts::schedule)))
                .service(
                    web::resource("/{id}/visits")
                        .route(web::get().to(cohorts::visits))
                        .route(web::delete().to(cohorts::cancel_visits)),
                ),
        )
        .service(
            web::scope("/v1/programmes")
                .service(
                    web::resource("")
                        .route(web::get().to(programmes::list))
                        .route(web::post().to(programmes::create)),
                )
                .service(
                    web::resource("/{id}")
                        .route(web::get().to(programmes::read))
                        .route(web::patch().to(programmes::update))
                        .route(web::delete().to(programmes::delete)),
                )
                .service(web::resource("/{id}/impact").route(web::get().to(surveys::impact))),
        )
        .configure(|cfg| participant_pages::configure(cfg, protection))
        .configure(|cfg| console::configure(cfg, protection));
}

/// Reads `?limit=&cursor=`, answering a bad value with a 400 naming it.
pub fn page_request(limit: Option<i64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    PageRequest::parse(limit, cursor).map_err(ApiError::invalid_query)
}

/// One page of a list, as sent: `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Serialize)]
pub struct ListBody<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// 200 with a page of a list.
pub fn page<T: Serialize>(page: Page<T>) -> HttpResponse {
    HttpResponse::Ok().json(ListBody {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// 201 with the created thing and its `Location`.
pub fn created<T: Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header(("Location", location)).json(body)
}

/// Declares the OpenAPI schema of a list page of `$item`, named `$name`.
#[macro_export]
macro_rules! list_schema {
    ($name:ident, $item:ty) => {
        /// One page of a list: the rows and the cursor of the next page (`null` on the last).
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            /// The rows, ascending by id.
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

/// The strong `ETag` of a body: a hash of its bytes.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` header names `etag` (or is `*`). Weak comparison, as RFC 9110
/// asks for `If-None-Match`.
pub fn none_match(req: &HttpRequest, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    req.headers().get_all(header::IF_NONE_MATCH).any(|value| {
        value.to_str().is_ok_and(|list| {
            list.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == bare)
        })
    })
}

/// A body to keep in the response cache, and when what it shows last changed.
pub struct Rendered {
    /// The bytes sent.
    pub body: Bytes,
    /// Sent as `Last-Modified` when known.
    pub last_modified: Option<DateTime<Utc>>,
}

/// Answers a `GET` from the response cache when it holds a fresh copy under `key`, else builds
/// the body with `build` and keeps it; `304` when `If-None-Match` names the current `ETag`.
pub async fn cached(
    state: &AppState,
    req: &HttpRequest,
    key: String,
    content_type: &'static str,
    build: impl Future<Output = Result<Rendered, ApiError>>,
) -> Result<HttpResponse, ApiError> {
    let cached = match state.feeds.get(&key) {
        Some(hit) => hit,
        None => {
            let generation = state.feeds.generation();
            let rendered = build.await?;
            let etag = etag_of(&rendered.body);
            let last_modified = rendered
                .last_modified
                .map(|at| HttpDate::from(SystemTime::from(at)).to_string());
            state.feeds.put(key, generation, etag, last_modified, rendered.body)
        }
    };
    let fresh = none_match(req, &cached.etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, cached.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if let Some(at) = &cached.last_modified {
        response.insert_header((header::LAST_MODIFIED, at.clone()));
    }
    if fresh {
        return Ok(response.finish());
    }
    Ok(response.content_type(content_type).body(cached.body.clone()))
}
