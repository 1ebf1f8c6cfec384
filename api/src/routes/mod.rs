//! HTTP routes: thin handlers that parse the request, make one domain call and map the result.

pub mod bookings;
pub mod closures;
pub mod events;
pub mod feeds;
pub mod health;
pub mod participants;
pub mod programmes;
pub mod schools;
pub mod sessions;

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::domain::page::{Page, PageRequest};
use crate::error::ApiError;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/metrics").route(web::get().to(health::metrics)))
        .service(
            web::resource("/v1/schools")
                .route(web::get().to(schools::list))
                .route(web::post().to(schools::create)),
        )
        .service(
            web::resource("/v1/schools/{id}")
                .route(web::get().to(schools::read))
                .route(web::patch().to(schools::update))
                .route(web::delete().to(schools::delete)),
        )
        .service(
            web::resource("/v1/participants")
                .route(web::get().to(participants::list))
                .route(web::post().to(participants::create)),
        )
        .service(
            web::resource("/v1/participants/{id}")
                .route(web::get().to(participants::read))
                .route(web::patch().to(participants::update))
                .route(web::delete().to(participants::erase)),
        )
        .service(web::resource("/v1/participants/{id}/feed-token").route(web::post().to(feeds::rotate)))
        .service(
            web::resource("/v1/schools/{id}/closures")
                .route(web::get().to(closures::list))
                .route(web::post().to(closures::import)),
        )
        .service(web::resource("/v1/schools/{id}/closures/{closure_id}").route(web::delete().to(closures::delete)))
        .service(web::resource("/ical/p/{token:[A-Za-z0-9_-]+}.ics").route(web::get().to(feeds::participant)))
        .service(web::resource("/ical/events/{id:[0-9]+}.ics").route(web::get().to(feeds::event)))
        .service(web::resource("/ical/programmes/{id:[0-9]+}.ics").route(web::get().to(feeds::programme)))
        .service(
            web::resource("/v1/programmes")
                .route(web::get().to(programmes::list))
                .route(web::post().to(programmes::create)),
        )
        .service(
            web::resource("/v1/programmes/{id}")
                .route(web::get().to(programmes::read))
                .route(web::patch().to(programmes::update))
                .route(web::delete().to(programmes::delete)),
        )
        .service(
            web::resource("/v1/events")
                .route(web::get().to(events::list))
                .route(web::post().to(events::create)),
        )
        .service(
            web::resource("/v1/events/{id}")
                .route(web::get().to(events::read))
                .route(web::patch().to(events::update))
                .route(web::delete().to(events::delete)),
        )
        .service(
            web::resource("/v1/events/{id}/sessions")
                .route(web::get().to(sessions::list))
                .route(web::post().to(sessions::create)),
        )
        .service(
            web::resource("/v1/sessions/{id}/bookings")
                .route(web::get().to(bookings::list))
                .route(web::post().to(bookings::create)),
        )
        .service(web::resource("/v1/sessions/{id}/attendance").route(web::post().to(bookings::attendance)))
        .service(web::resource("/v1/sessions/{id}/register.csv").route(web::get().to(bookings::register)))
        .service(
            web::resource("/v1/bookings/{id}")
                .route(web::get().to(bookings::read))
                .route(web::patch().to(bookings::mark))
                .route(web::delete().to(bookings::cancel)),
        )
        .service(
            web::resource("/v1/sessions/{id}")
                .route(web::get().to(sessions::read))
                .route(web::patch().to(sessions::update))
                .route(web::delete().to(sessions::delete)),
        );
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
