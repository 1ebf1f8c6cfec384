//! The OpenAPI document, derived from the handlers' own annotations and types so it cannot drift.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    bookings, closures, cohorts, events, feeds, health, imports, me, notifications, participant_pages, participants,
    programmes, reflections, schools, sessions, surveys,
};

/// Convene's v1 API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Convene",
        description = "Scheduling for school-improvement networks: schools, people, programmes, events and sessions. \
Errors are RFC 7807 `application/problem+json` with a stable `code`. Lists take `?limit=&cursor=` and answer \
`{\"items\": [...], \"next_cursor\": ...}`. Organisers send `Authorization: Bearer <key>` (made with `convene-api keys create`)."
    ),
    paths(
        health::healthz, health::readyz, health::metrics,
        schools::list, schools::create, schools::read, schools::update, schools::delete,
        participants::list, participants::create, participants::read, participants::update, participants::erase,
        participant_pages::send_sign_in_link,
        participants::export, imports::schools, imports::participants,
        programmes::list, programmes::create, programmes::read, programmes::update, programmes::delete,
        events::list, events::create, events::read, events::update, events::delete,
        sessions::list, sessions::create, sessions::read, sessions::update, sessions::delete,
        bookings::create, bookings::list, bookings::read, bookings::cancel, bookings::mark, bookings::attendance, bookings::register,
        closures::import, closures::list, closures::delete,
        feeds::rotate, feeds::participant, feeds::event, feeds::programme,
        notifications::list, notifications::retry, notifications::lease, notifications::ack,
        me::link, me::verify, me::read, me::sessions, me::bookings, me::book, me::booking, me::cancel,
        me::feed, me::rotate_feed, me::preferences, me::update_preferences, me::reflections, me::reflect,
        surveys::create, surveys::list, surveys::read, surveys::update, surveys::send, surveys::mine, surveys::answer,
        surveys::report, surveys::responses_csv, surveys::impact,
        reflections::create, reflections::list,
        cohorts::list, cohorts::create, cohorts::read, cohorts::propose, cohorts::triads, cohorts::accept,
        cohorts::schedule, cohorts::visits, cohorts::cancel_visits,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "schools", description = "The network's schools"),
        (name = "participants", description = "School leaders, staff, facilitators and organisers"),
        (name = "programmes", description = "Series of events"),
        (name = "events", description = "Conferences, SLP sessions and triad visits"),
        (name = "sessions", description = "The bookable units of events"),
        (name = "bookings", description = "Booking, waitlists, cancellation and attendance"),
        (name = "cohorts", description = "Triad cohorts: form triads of schools, accept or edit them, schedule their visits"),
        (name = "notifications", description = "The outbox: messages queued, sent and dead"),
        (name = "bot", description = "Routes for the Discord bot's key: account linking and its share of the outbox"),
        (name = "surveys", description = "Follow-up surveys sent after events, and their answers"),
        (name = "reflections", description = "What participants tried after events, what changed, and how they know"),
        (name = "me", description = "What a linked participant sees and does, through the bot: a bot key plus `X-Discord-User`"),
        (name = "calendars", description = "iCalendar feeds for calendar apps (no key: the URL is the secret or the event is public)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cvn_…")
                    .build(),
            ),
        );
    }
}
