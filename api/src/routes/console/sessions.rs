//! `/o/sessions/{id}`: a session's confirmed bookings and waitlist in order, booking someone
//! found by name or email, cancelling a booking, changing the session (times in the event's
//! zone, capacity, per-school limit) and its register: as a CSV, and at the door on a phone
//! (`/o/sessions/{id}/register`), one tap a mark, walk-ins added as attended.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::events::{SESSION_FIELDS, session_input};
use super::{CONSOLE, Problems, download, number, posted, query, render, shown, values};
use crate::domain::booking::{self, AttendanceInput, Booked, BookingInput};
use crate::domain::event::{self, Audience};
use crate::domain::{DomainError, DomainResult, roster};
use crate::routes::web_session::{Visitor, see_other};
use crate::state::AppState;
use crate::time::stored_zone;

/// Registers the session pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/o/sessions/{id}")
            .route(web::get().to(show))
            .route(web::post().to(edit)),
    )
    .service(web::resource("/o/sessions/{id}/book").route(web::post().to(book)))
    .service(web::resource("/o/sessions/{id}/register.csv").route(web::get().to(register_csv)))
    .service(
        web::resource("/o/sessions/{id}/register")
            .route(web::get().to(register))
            .route(web::post().to(mark)),
    )
    .service(web::resource("/o/bookings/{id}/cancel").route(web::post().to(cancel_booking)));
}

/// A session with its event, as the pages show it.
struct Seen {
    session: entity::session::Model,
    event: event::Event,
}

/// The session `id` and its event, or `None` when there is no such session.
async fn seen(state: &AppState, id: i64) -> DomainResult<Option<Seen>> {
    let session = match crate::domain::session::find(&state.db, id).await {
        Ok(s) => s,
        Err(DomainError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let event = event::get(&state.db, session.event_id, Audience::Organiser).await?;
    Ok(Some(Seen { session, event }))
}

/// The fields of a session as the page shows it: its title, times in its zone, seats.
fn describe(seen: &Seen) -> minijinja::Value {
    let s = &seen.session;
    let zone = stored_zone(&s.time_zone);
    let local = |t: chrono::DateTime<chrono::Utc>| crate::time::format_local(t, zone)[..16].to_owned();
    minijinja::context! {
        id => s.id,
        event_id => seen.event.id,
        event_title => seen.event.title,
        event_status => seen.event.status,
        title => match &s.label {
            Some(label) => format!("{}: {label}", seen.event.title),
            None => seen.event.title.clone(),
        },
        label => s.label,
        when => roster::human_time(s.starts_at, zone),
        ends => roster::human_time(s.ends_at, zone),
        start_local => local(s.starts_at),
        end_local => local(s.ends_at),
        time_zone => s.time_zone,
        capacity => s.capacity,
        booked => s.booked,
        per_school_limit => s.per_school_limit,
        status => s.status,
    }
}

/// What a session's page is showing besides the session: a search, a refusal, what was done.
#[derive(Default)]
struct Showing {
    /// The search for someone to book, as typed.
    q: Option<String>,
    /// What was just done (`?done=`).
    done: Option<String>,
    /// The session form as sent, with its problems.
    form: Option<(BTreeMap<String, String>, Problems)>,
    /// A refused booking or cancellation.
    action: Option<Problems>,
}

/// A session's page.
async fn session_page(state: &AppState, visitor: &Visitor, id: i64, showing: Showing) -> DomainResult<HttpResponse> {
    let Some(seen) = seen(state, id).await? else {
        return Ok(CONSOLE.not_found("session"));
    };
    let people = roster::of_session(&state.db, &seen.session).await?;
    let found = match &showing.q {
        Some(q) => roster::find_people(&state.db, q).await?,
        None => Vec::new(),
    };
    let status = showing
        .form
        .as_ref()
        .map(|(_, p)| p.status())
        .or(showing.action.as_ref().map(Problems::status))
        .unwrap_or(StatusCode::OK);
    let session = describe(&seen);
    let (form_values, form_problems) = showing.form.unwrap_or_else(|| {
        let s = &seen.session;
        let zone = stored_zone(&s.time_zone);
        let local = |t| crate::time::format_local(t, zone)[..16].to_owned();
        let values = BTreeMap::from([
            ("label".to_owned(), s.label.clone().unwrap_or_default()),
            ("start".to_owned(), local(s.starts_at)),
            ("end".to_owned(), local(s.ends_at)),
            ("capacity".to_owned(), s.capacity.to_string()),
            (
                "per_school_limit".to_owned(),
                s.per_school_limit.map(|l| l.to_string()).unwrap_or_default(),
            ),
        ]);
        (values, Problems::default())
    });
    Ok(render(
        visitor,
        status,
        "console/session.html",
        minijinja::context! {
            session,
            found,
            q => showing.q,
            searched => showing.q.is_some(),
            notice => notice(showing.done.as_deref(), &people),
            people,
            values => form_values,
            problems => form_problems,
            action_problems => showing.action.unwrap_or_default(),
        },
    ))
}

/// What was just done, in words, from the page's `?done=` code and the session's own people.
fn notice(done: Option<&str>, people: &roster::Roster) -> Option<String> {
    let line_of = |id: &str| {
        let id: i64 = id.parse().ok()?;
        people
            .seated
            .iter()
            .chain(&people.waiting)
            .chain(&people.cancelled)
            .find(|l| l.booking_id == id)
    };
    match done? {
        "saved" => Some("Your changes were saved.".to_owned()),
        code => {
            if let Some(line) = code.strip_prefix("booked-").and_then(line_of) {
                Some(match line.position {
                    Some(position) => format!("{} is on the waitlist, number {position}.", line.name),
                    None => format!("{} is booked: their place is confirmed.", line.name),
                })
            } else {
                code.strip_prefix("cancelled-")
                    .and_then(line_of)
                    .map(|line| format!("{}'s booking was cancelled; they are being told.", line.name))
            }
        }
    }
}

/// `/o/sessions/{id}` (`?q=` searches for someone to book).
async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let q = query(&req);
    let showing = Showing {
        q: q.text("q"),
        done: q.text("done"),
        ..Showing::default()
    };
    shown(&state, &req, &id, "session", async |visitor, id| {
        session_page(&state, &visitor, id, showing).await
    })
    .await
}

/// `POST /o/sessions/{id}`: changes the session (times in its event's zone, seats, limit).
async fn edit(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    posted(
        &state,
        &req,
        &body,
        &path,
        "session",
        async |state, visitor, form, id| {
            let changed = match session_input(&form) {
                Ok(input) => crate::domain::session::update(&state.db, id, input, &visitor.change()).await,
                Err(e) => Err(e),
            };
            match changed {
                Ok(_) => Ok(see_other(&format!("/o/sessions/{id}?done=saved"))),
                Err(err) => {
                    let showing = Showing {
                        form: Some((values(&form, SESSION_FIELDS), Problems::of(err)?)),
                        ..Showing::default()
                    };
                    session_page(state, &visitor, id, showing).await
                }
            }
        },
    )
    .await
}

/// Session `id`'s page, saying why what was asked (a booking, a cancellation) was refused.
async fn refused(state: &AppState, visitor: &Visitor, id: i64, err: DomainError) -> DomainResult<HttpResponse> {
    let showing = Showing {
        action: Some(Problems::of(err)?),
        ..Showing::default()
    };
    session_page(state, visitor, id, showing).await
}

/// `POST /o/sessions/{id}/book` (`participant_id`): books them, a seat or the waitlist, by the
/// same rules and with the same messages as the API.
async fn book(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    posted(
        &state,
        &req,
        &body,
        &path,
        "session",
        async |state, visitor, form, id| {
            let booked = match number(&form, "participant_id", "the person") {
                Ok(participant_id) => {
                    booking::book(
                        &state.db,
                        id,
                        &BookingInput { participant_id },
                        None,
                        booking::Booker::Organiser(None),
                        &visitor.change(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match booked {
                Ok(Booked::Created(b) | Booked::Existing(b)) => {
                    Ok(see_other(&format!("/o/sessions/{id}?done=booked-{}#people", b.id)))
                }
                Ok(Booked::Replayed(_)) => Ok(see_other(&format!("/o/sessions/{id}#people"))),
                Err(err) => refused(state, &visitor, id, err).await,
            }
        },
    )
    .await
}

/// `POST /o/bookings/{id}/cancel`: cancels the booking (the seat goes to the head of the
/// waitlist, as through the API), back to its session's page.
async fn cancel_booking(
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
        "session",
        async |state, visitor, _form, id| {
            let session_id = match booking::find(&state.db, id).await {
                Ok(b) => b.session_id,
                Err(DomainError::NotFound { .. }) => return Ok(CONSOLE.not_found("booking")),
                Err(e) => return Err(e),
            };
            match booking::cancel(&state.db, id, &visitor.change()).await {
                Ok(_) => Ok(see_other(&format!(
                    "/o/sessions/{session_id}?done=cancelled-{id}#people"
                ))),
                Err(err) => refused(state, &visitor, session_id, err).await,
            }
        },
    )
    .await
}

/// `/o/sessions/{id}/register.csv`: the register to print.
async fn register_csv(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    shown(&state, &req, &id, "session", async |_, id| {
        download(crate::routes::bookings::register_csv(&state, id).await, "session")
    })
    .await
}

/// The register page: everyone holding a seat or waiting, by name, each with their mark and
/// the two buttons that set it; a search to add someone who came without a booking.
async fn register_page(
    state: &AppState,
    visitor: &Visitor,
    id: i64,
    q: Option<String>,
    refused: Option<Problems>,
) -> DomainResult<HttpResponse> {
    let Some(seen) = seen(state, id).await? else {
        return Ok(CONSOLE.not_found("session"));
    };
    let people = roster::of_session(&state.db, &seen.session).await?;
    let mut lines: Vec<roster::Line> = people.seated.into_iter().chain(people.waiting).collect();
    lines.sort_by_key(|l| l.name.to_lowercase());
    let found = match &q {
        Some(q) => roster::find_people(&state.db, q).await?,
        None => Vec::new(),
    };
    let refused = refused.unwrap_or_default();
    Ok(render(
        visitor,
        refused.status(),
        "console/register.html",
        minijinja::context! {
            session => describe(&seen),
            lines,
            found,
            searched => q.is_some(),
            q,
            problems => refused,
            started => seen.session.starts_at <= visitor.now,
        },
    ))
}

/// `/o/sessions/{id}/register` (`?q=` searches for a walk-in).
async fn register(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let q = query(&req).text("q");
    shown(&state, &req, &id, "session", async |visitor, id| {
        register_page(&state, &visitor, id, q, None).await
    })
    .await
}

/// `POST /o/sessions/{id}/register`: one mark — `booking_id` with `mark` (`attended` or
/// `no_show`), or `participant_id` for someone who came without a booking (attended) — saved at
/// once, back to the register at that person's line.
async fn mark(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    posted(
        &state,
        &req,
        &body,
        &path,
        "session",
        async |state, visitor, form, id| {
            let marked = if form.text("participant_id").is_some() {
                match number(&form, "participant_id", "the person") {
                    Ok(Some(person)) => booking::walk_in(&state.db, id, person, &visitor.change()).await,
                    Ok(None) => unreachable!("a participant_id was given"),
                    Err(e) => Err(e),
                }
            } else {
                match number(&form, "booking_id", "the booking") {
                    Ok(Some(booking_id)) => mark_booking(state, &visitor, id, booking_id, form.text("mark")).await,
                    Ok(None) => Err(DomainError::Invalid(vec![crate::domain::FieldError::new(
                        "booking_id",
                        "choose the person to mark",
                    )])),
                    Err(e) => Err(e),
                }
            };
            match marked {
                Ok(b) => Ok(see_other(&format!(
                    "/o/sessions/{id}/register#person-{}",
                    b.participant_id
                ))),
                Err(err) => register_page(state, &visitor, id, None, Some(Problems::of(err)?)).await,
            }
        },
    )
    .await
}

/// Marks booking `booking_id` of session `session_id` (a booking of another session is not found).
async fn mark_booking(
    state: &AppState,
    visitor: &Visitor,
    session_id: i64,
    booking_id: i64,
    mark: Option<String>,
) -> DomainResult<booking::Booking> {
    if booking::find(&state.db, booking_id).await?.session_id != session_id {
        return Err(DomainError::not_found("booking", booking_id));
    }
    booking::mark_attendance(
        &state.db,
        booking_id,
        AttendanceInput { status: mark },
        &visitor.change(),
    )
    .await
}
