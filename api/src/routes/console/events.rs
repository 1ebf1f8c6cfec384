//! `/o/events…`: the events list with its filters, a new event, an event's page (its sessions,
//! adding one in the event's local time, editing it, publishing it) and cancelling it after a
//! page saying how many people will be told.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{
    CONSOLE, Problems, all_schools, listed, next_page, number, posted, query, render, shown, signed_in_page, values,
};
use crate::domain::event::{self, Audience, EventFilter, EventInput};
use crate::domain::page::PageRequest;
use crate::domain::programme::{self, ProgrammeFilter};
use crate::domain::session::{self, SessionInput};
use crate::domain::{DomainError, DomainResult, closed_days, in_write_txn, roster};
use entity::state::SessionStatus;
use crate::routes::web_session::{Form, Visitor, see_other};
use crate::state::AppState;
use crate::time::stored_zone;

/// The event form's fields.
const EVENT_FIELDS: &[&str] = &[
    "title",
    "kind",
    "time_zone",
    "venue",
    "online_url",
    "description",
    "programme_id",
    "host_school_id",
    "topic",
];
/// The events list's filters.
const FILTERS: &[&str] = &["status", "kind", "programme_id", "q"];
/// The session form's fields.
pub(super) const SESSION_FIELDS: &[&str] = &["label", "start", "end", "capacity", "per_school_limit"];

/// Registers the events pages (the new-event form before an event's page, whose id is a number).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/o/events").route(web::get().to(list)))
        .service(
            web::resource("/o/events/new")
                .route(web::get().to(new))
                .route(web::post().to(create)),
        )
        .service(
            web::resource("/o/events/{id}")
                .route(web::get().to(show))
                .route(web::post().to(edit)),
        )
        .service(web::resource("/o/events/{id}/sessions").route(web::post().to(add_session)))
        .service(web::resource("/o/events/{id}/publish").route(web::post().to(publish)))
        .service(
            web::resource("/o/events/{id}/cancel")
                .route(web::get().to(confirm_cancel))
                .route(web::post().to(cancel)),
        );
}

/// The events, filtered by kind, status, programme and text (the API's own filters).
async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    let filter = EventFilter {
        status: q.text("status"),
        kind: q.text("kind"),
        programme_id: q.text("programme_id").and_then(|p| p.parse().ok()),
        q: q.text("q"),
        cursor: q.text("cursor"),
        ..EventFilter::default()
    };
    signed_in_page(&state, &req, async |visitor| {
        let (events, problems) = listed(50, filter.cursor.as_deref(), async |page| {
            event::list(&state.db, &filter, page, Audience::Organiser).await
        })
        .await?;
        let programmes = programmes(&state).await?;
        let next = events
            .next_cursor
            .as_deref()
            .map(|cursor| next_page("/o/events", &q, FILTERS, cursor));
        DomainResult::Ok(render(
            &visitor,
            problems.status(),
            "console/events.html",
            minijinja::context! {
                events => events.items,
                next,
                programmes,
                filter => values(&q, FILTERS),
                problems,
            },
        ))
    })
    .await
}

/// The programmes, for the filter and the event form's choice.
async fn programmes(state: &AppState) -> DomainResult<Vec<programme::Programme>> {
    Ok(programme::list(
        &state.db,
        &ProgrammeFilter::default(),
        PageRequest::parse(Some(500), None)?,
    )
    .await?
    .items)
}

/// The event form, empty or as sent with its problems.
async fn event_form(
    state: &AppState,
    visitor: &Visitor,
    values: BTreeMap<String, String>,
    problems: Problems,
) -> DomainResult<HttpResponse> {
    Ok(render(
        visitor,
        problems.status(),
        "console/event_new.html",
        minijinja::context! {
            values,
            problems,
            programmes => programmes(state).await?,
            schools => all_schools(state).await?,
        },
    ))
}

/// `/o/events/new`: a new event's form.
async fn new(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let values = BTreeMap::from([
        ("kind".to_owned(), "conference".to_owned()),
        ("time_zone".to_owned(), "Europe/London".to_owned()),
    ]);
    signed_in_page(&state, &req, async |visitor| {
        event_form(&state, &visitor, values, Problems::default()).await
    })
    .await
}

/// An event as the form sends it: empty fields are left out (on a change, cleared).
fn event_input(form: &Form, changing: bool) -> Result<EventInput, DomainError> {
    let clearable = |name: &str| match form.text(name) {
        Some(text) => Some(Some(text)),
        None if changing => Some(None),
        None => None,
    };
    let id = |name: &'static str, what: &str| -> Result<Option<Option<i64>>, DomainError> {
        Ok(match number(form, name, what)? {
            Some(id) => Some(Some(id)),
            None if changing => Some(None),
            None => None,
        })
    };
    Ok(EventInput {
        kind: form.text("kind"),
        title: form.text("title"),
        time_zone: form.text("time_zone"),
        description: clearable("description"),
        venue: clearable("venue"),
        online_url: clearable("online_url"),
        programme_id: id("programme_id", "the programme")?,
        host_school_id: id("host_school_id", "the host school")?,
        topic: clearable("topic"),
        status: None,
    })
}

/// `POST /o/events/new`: creates the event as a draft and goes to its page.
async fn create(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let change = visitor.change();
            let created = match event_input(&form, false) {
                Ok(input) => {
                    in_write_txn(&state.db, async |txn| event::create(txn, input.clone(), &change).await).await
                }
                Err(e) => Err(e),
            };
            match created {
                Ok(event) => Ok(see_other(&format!("/o/events/{}?done=created", event.id))),
                Err(err) => event_form(state, &visitor, values(&form, EVENT_FIELDS), Problems::of(err)?).await,
            }
        })
        .await
}

/// Which of the event page's forms a refusal belongs to.
#[derive(Default)]
struct Refused {
    /// The event's own form (edit), with what was sent.
    event: Option<(BTreeMap<String, String>, Problems)>,
    /// The new-session form, with what was sent.
    session: Option<(BTreeMap<String, String>, Problems)>,
    /// Publishing: no form, a notice at the top.
    action: Option<Problems>,
}

/// An event's page: its details, its sessions with seats and waitlists, the forms to add a
/// session and to change the event, and what was just done (`?done=`).
async fn event_page(
    state: &AppState,
    visitor: &Visitor,
    id: i64,
    done: Option<String>,
    refused: Refused,
) -> DomainResult<HttpResponse> {
    let event = match event::get(&state.db, id, Audience::Organiser).await {
        Ok(event) => event,
        Err(DomainError::NotFound { .. }) => return Ok(CONSOLE.not_found("event")),
        Err(e) => return Err(e),
    };
    let waiting = roster::waiting_on_event(&state.db, id).await?;
    let zone = stored_zone(&event.time_zone);
    let row = event::find(&state.db, id).await?;
    let mut sessions: Vec<minijinja::Value> = Vec::new();
    for s in session::list_for_event(&state.db, id, PageRequest::parse(Some(500), None)?, Audience::Organiser)
        .await?
        .items
    {
        let starts = chrono::DateTime::parse_from_rfc3339(&s.start).map(|t| t.to_utc());
        let ends = chrono::DateTime::parse_from_rfc3339(&s.end).map(|t| t.to_utc());
        // Days a school of the event is closed: said beside the session, as when it was added.
        let closed: Vec<String> = match (starts, ends) {
            (Ok(starts), Ok(ends)) if s.status == SessionStatus::Scheduled => {
                closed_days::session_warnings(&state.db, &row, starts, ends)
                    .await?
                    .into_iter()
                    .map(|w| w.message)
                    .collect()
            }
            _ => Vec::new(),
        };
        sessions.push(minijinja::context! {
            when => starts.map(|t| roster::human_time(t, zone)).unwrap_or_else(|_| s.start_local.clone()),
            waiting => waiting.get(&s.id).copied().unwrap_or(0),
            closed,
            ..minijinja::Value::from_serialize(&s)
        });
    }
    let status = [&refused.event, &refused.session]
        .into_iter()
        .flatten()
        .map(|(_, p)| p.status())
        .chain(refused.action.iter().map(Problems::status))
        .next()
        .unwrap_or(StatusCode::OK);
    let (event_values, event_problems) = refused
        .event
        .unwrap_or_else(|| (super::records::shown_values(&event, EVENT_FIELDS), Problems::default()));
    let (session_values, session_problems) = refused.session.unwrap_or_default();
    Ok(render(
        visitor,
        status,
        "console/event.html",
        minijinja::context! {
            event,
            sessions,
            done,
            values => event_values,
            problems => event_problems,
            session_values,
            session_problems,
            action_problems => refused.action.unwrap_or_default(),
            programmes => programmes(state).await?,
            schools => all_schools(state).await?,
        },
    ))
}

/// `/o/events/{id}`.
async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let done = query(&req).text("done");
    shown(&state, &req, &id, "event", async |visitor, id| {
        event_page(&state, &visitor, id, done, Refused::default()).await
    })
    .await
}

/// `POST /o/events/{id}`: changes the event's details.
async fn edit(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    posted(&state, &req, &body, &path, "event", async |state, visitor, form, id| {
        let changed = match event_input(&form, true) {
            Ok(input) => event::update(&state.db, id, input, &visitor.change()).await,
            Err(e) => Err(e),
        };
        match changed {
            Ok(_) => Ok(see_other(&format!("/o/events/{id}?done=saved"))),
            Err(err) => {
                let refused = Refused {
                    event: Some((values(&form, EVENT_FIELDS), Problems::of(err)?)),
                    ..Refused::default()
                };
                event_page(state, &visitor, id, None, refused).await
            }
        }
    })
    .await
}

/// `POST /o/events/{id}/sessions`: adds a session, its times read in the event's zone.
async fn add_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    posted(&state, &req, &body, &path, "event", async |state, visitor, form, id| {
        let change = visitor.change();
        let input = session_input(&form);
        let added = match input {
            Ok(input) => {
                in_write_txn(&state.db, async |txn| {
                    session::create(txn, id, input.clone(), &change).await
                })
                .await
            }
            Err(e) => Err(e),
        };
        match added {
            Ok(_) => Ok(see_other(&format!("/o/events/{id}?done=session-added#sessions"))),
            Err(err) => {
                let refused = Refused {
                    session: Some((values(&form, SESSION_FIELDS), Problems::of(err)?)),
                    ..Refused::default()
                };
                event_page(state, &visitor, id, None, refused).await
            }
        }
    })
    .await
}

/// A session as its form sends it (a `datetime-local` gives the event's local time).
pub(super) fn session_input(form: &Form) -> Result<SessionInput, DomainError> {
    Ok(SessionInput {
        label: Some(form.text("label")),
        start: form.text("start"),
        end: form.text("end"),
        capacity: number(form, "capacity", "the number of seats")?,
        per_school_limit: Some(number(form, "per_school_limit", "the most seats for one school")?),
        waitlist: None,
        status: None,
    })
}

/// `POST /o/events/{id}/publish`: publishes the event (the same rules as the API: an SLP session
/// needs an accredited host).
async fn publish(
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
        "event",
        async |state, visitor, _form, id| set_status(state, &visitor, id, "published").await,
    )
    .await
}

/// `/o/events/{id}/cancel`: what cancelling would do, and the button that does it.
async fn confirm_cancel(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    shown(&state, &req, &id, "event", async |visitor, id| {
        let event = match event::get(&state.db, id, Audience::Organiser).await {
            Ok(event) => event,
            Err(DomainError::NotFound { .. }) => return Ok(CONSOLE.not_found("event")),
            Err(e) => return Err(e),
        };
        let told = roster::people_to_tell(&state.db, id).await?;
        Ok(render(
            &visitor,
            StatusCode::OK,
            "console/event_cancel.html",
            minijinja::context! { event, told },
        ))
    })
    .await
}

/// `POST /o/events/{id}/cancel`: cancels the event, its sessions and their bookings; everyone
/// booked or waiting is told, as through the API.
async fn cancel(
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
        "event",
        async |state, visitor, _form, id| set_status(state, &visitor, id, "cancelled").await,
    )
    .await
}

/// Moves event `id` to `status` (`published` or `cancelled`), back to its page saying so, or
/// showing why not.
async fn set_status(state: &AppState, visitor: &Visitor, id: i64, status: &str) -> DomainResult<HttpResponse> {
    let input = EventInput {
        status: Some(status.to_owned()),
        ..EventInput::default()
    };
    match event::update(&state.db, id, input, &visitor.change()).await {
        Ok(_) => Ok(see_other(&format!("/o/events/{id}?done={status}"))),
        Err(err) => {
            let refused = Refused {
                action: Some(Problems::of(err)?),
                ..Refused::default()
            };
            event_page(state, visitor, id, None, refused).await
        }
    }
}
