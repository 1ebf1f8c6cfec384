//! The OpenAPI document, derived from the handlers' own annotations and types so it cannot drift.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    announcements, audit, bookings, closures, cohorts, discord, events, feeds, health, imports, insight, me,
    notifications,
    participant_pages, participants, programmes, reflections, schools, sessions, surveys,
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
        closures::import_for_authority, closures::list_for_authority, closures::delete_all_for_authority, closures::delete_for_authority, closures::closed_days,
        feeds::rotate, feeds::participant, feeds::event, feeds::programme,
        notifications::list, notifications::retry, notifications::lease, notifications::ack,
        discord::lease_posts, discord::ack_post, discord::lease_guild_events, discord::ack_guild_event,
        me::link, me::verify, me::read, me::sessions, me::bookings, me::book, me::booking, me::cancel,
        me::feed, me::rotate_feed, me::preferences, me::update_preferences, me::reflections, me::reflect,
        surveys::create, surveys::list, surveys::read, surveys::update, surveys::send, surveys::mine, surveys::answer,
        surveys::report, surveys::responses_csv, surveys::impact,
        reflections::create, reflections::list,
        cohorts::list, cohorts::create, cohorts::read, cohorts::propose, cohorts::triads, cohorts::accept,
        cohorts::schedule, cohorts::visits, cohorts::cancel_visits,
        audit::list, insight::engagement, insight::collaboration,
        announcements::list, announcements::create, announcements::preview, announcements::read,
        announcements::confirm, announcements::unsubscribe,
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
        (name = "announcements", description = "Messages to an audience by email, Discord DM or channel; one-click unsubscribe (RFC 8058)"),
        (name = "audit", description = "The audit trail: who changed what, and when"),
        (name = "insight", description = "Engagement of each school and the collaboration links between them"),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The `(METHOD, path)` pairs a `configure` function's source registers: `web::scope("…")`
    /// prefixes the `web::resource("…")`s chained inside its parentheses, and each
    /// `web::get()`, `web::post()`, … inside a resource's parentheses is one of its methods.
    /// Patterns are written as the document writes them (`{id:[0-9]+}` is `{id}`).
    fn registered(source: &str) -> BTreeSet<(String, String)> {
        enum Open {
            Scope(String, i32),
            Resource(String, i32),
        }
        let mut found = BTreeSet::new();
        let mut open: Vec<Open> = Vec::new();
        let mut depth = 0;
        let mut rest = source;
        while let Some(c) = rest.chars().next() {
            let quoted = |prefix: &str| {
                let after = rest.strip_prefix(prefix)?;
                let end = after.find('"')?;
                Some((after[..end].to_owned(), &after[end + 2..]))
            };
            if let Some((path, after)) = quoted("web::scope(\"") {
                open.push(Open::Scope(path, depth));
                rest = after;
                continue;
            }
            if let Some((path, after)) = quoted("web::resource(\"") {
                let prefix: String = open
                    .iter()
                    .filter_map(|o| match o {
                        Open::Scope(p, _) => Some(p.as_str()),
                        Open::Resource(..) => None,
                    })
                    .collect();
                open.push(Open::Resource(format!("{prefix}{path}"), depth));
                rest = after;
                continue;
            }
            let method = ["get", "post", "put", "patch", "delete"]
                .into_iter()
                .find(|m| rest.starts_with(&format!("web::{m}()")));
            if let Some(method) = method {
                let resource = open.iter().rev().find_map(|o| match o {
                    Open::Resource(p, _) => Some(p.clone()),
                    Open::Scope(..) => None,
                });
                found.insert((method.to_uppercase(), resource.expect("a method inside a resource")));
                rest = &rest[method.len() + 7..];
                continue;
            }
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    while open.last().is_some_and(|o| match o {
                        Open::Scope(_, d) | Open::Resource(_, d) => *d > depth,
                    }) {
                        open.pop();
                    }
                }
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
        }
        found
            .into_iter()
            .map(|(method, path)| {
                let (mut plain, mut in_braces, mut in_pattern) = (String::new(), false, false);
                for c in path.chars() {
                    match c {
                        '{' => in_braces = true,
                        ':' if in_braces => in_pattern = true,
                        '}' => (in_braces, in_pattern) = (false, false),
                        _ => {}
                    }
                    if !in_pattern {
                        plain.push(c);
                    }
                }
                (method, plain)
            })
            .collect()
    }

    #[test]
    fn the_document_lists_every_route_registered_and_no_other() {
        let mut routes = registered(include_str!("routes/mod.rs"));
        routes.extend(registered(include_str!("routes/participant_pages/mod.rs")));
        // The HTML pages (participants' own pages, the survey form and the organiser console)
        // are for browsers, not API clients, and are left out of the document on purpose.
        routes.retain(|(_, path)| {
            !path.starts_with("/p") && !path.starts_with("/s/") && path != "/o" && !path.starts_with("/o/")
        });
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                    .map(move |method| (method.to_uppercase(), path.clone()))
            })
            .collect();
        let undocumented: Vec<_> = routes.difference(&documented).collect();
        let unregistered: Vec<_> = documented.difference(&routes).collect();
        assert!(
            undocumented.is_empty() && unregistered.is_empty(),
            "registered but not documented: {undocumented:?}\ndocumented but not registered: {unregistered:?}"
        );
        assert!(routes.len() > 60, "{routes:?}");
    }
}
