//! What the page's forms do: book, cancel, rotate the feed, save settings, reflect; each answers
//! with the page and a sentence saying what happened.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use entity::state::BookingStatus;

use super::PAGES;
use super::page::{Notice, PrefsForm, ReflectionForm, View, page, title_of, when_of};
use crate::domain::booking::Booked;
use crate::domain::feed;
use crate::domain::me::{self, MyBookingInput, PreferencesInput};
use crate::domain::reflection::{self, ReflectionText};
use crate::domain::{DomainError, FieldError};
use crate::state::AppState;

/// The sentence for a booking or cancellation the rules refused.
pub(super) fn refusal(err: DomainError) -> Result<(StatusCode, Notice), DomainError> {
    let said = |code, detail: &str| {
        crate::wording::refusal(code, detail).unwrap_or_else(|| format!("Convene couldn't do that: {detail}."))
    };
    let (status, heading, line) = match err {
        DomainError::NotFound { what, .. } => (
            StatusCode::NOT_FOUND,
            "That isn't on your page any more",
            format!("Convene couldn't find that {what}. The lists below are up to date."),
        ),
        DomainError::Conflict { code, detail, .. } => {
            (StatusCode::CONFLICT, "That couldn't be done", said(code, &detail))
        }
        DomainError::Forbidden { code, detail } => {
            (StatusCode::FORBIDDEN, "That couldn't be done", said(code, &detail))
        }
        DomainError::Invalid(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That couldn't be done",
            errors
                .iter()
                .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => return Err(other),
    };
    Ok((status, Notice::refused(heading, vec![line])))
}

/// Reads a whole number id from a form field or path, for a clear refusal of anything else.
pub(super) fn id_from(text: Option<&str>) -> Option<i64> {
    text.map(str::trim)
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|id| *id > 0)
}

/// Books a session (or joins its waitlist), by the same rules and with the same messages as any
/// booking.
pub async fn book(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    PAGES.guarded(&state, &req, &body, async |state, visitor, form| {
        let Some(session_id) = id_from(form.get("session_id")) else {
            let notice = Notice::refused(
                "That couldn't be done",
                vec!["Choose a session from the list, then press its Book button.".to_owned()],
            );
            return page(state, &visitor, View::with(StatusCode::UNPROCESSABLE_ENTITY, notice)).await;
        };
        let person = &visitor.signed.person;
        let booked = me::book(
            &state.db,
            person,
            &MyBookingInput {
                session_id: Some(session_id),
            },
            None,
            &visitor.change(),
        )
        .await;
        let (created, booking) = match booked {
            Ok(Booked::Created(b)) => (true, b),
            Ok(Booked::Existing(b)) => (false, b),
            Ok(Booked::Replayed(_)) => {
                return page(state, &visitor, View::default()).await;
            }
            Err(e) => {
                let (status, notice) = refusal(e)?;
                return page(state, &visitor, View::with(status, notice)).await;
            }
        };
        let mine = me::booking(&state.db, person, booking.id).await?;
        let name = format!("{}, {}", title_of(&mine.session), when_of(&mine.session));
        let position = mine.waitlist_position.unwrap_or(0);
        let notice = match (mine.status, created) {
            (BookingStatus::Confirmed, true) => {
                let mut lines = vec![format!("{name}.")];
                if let Some(url) = &mine.join_url {
                    lines.push(format!("Join online: {url}"));
                }
                lines.push("It is in your calendar feed, and you will be reminded before it starts.".to_owned());
                Notice::done("You're booked", lines)
            }
            (BookingStatus::Waitlisted, true) => {
                let why = if mine.waitlist_reason.as_deref() == Some("per_school_limit") {
                    "Your school has reached its limit of places on that session"
                } else {
                    "That session is full"
                };
                Notice::done(
                    format!("You're on the waitlist, number {position}"),
                    vec![format!(
                        "{why}, so you are number {position} on the waitlist for {name}. We'll tell you if a place comes up."
                    )],
                )
            }
            (BookingStatus::Waitlisted, false) => Notice::done(
                format!("You're already on the waitlist, number {position}"),
                vec![format!("You are number {position} on the waitlist for {name}.")],
            ),
            _ => Notice::done(
                "You already have a place",
                vec![format!("You are already booked on {name}.")],
            ),
        };
        page(state, &visitor, View::with(StatusCode::OK, notice)).await
    })
    .await
}

/// Cancels one of the person's bookings or takes them off a waitlist; a seat freed goes to the
/// next person waiting.
pub async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let id = id_from(Some(id.as_str()));
    PAGES
        .guarded(&state, &req, &body, async |state, visitor, _form| {
            let person = &visitor.signed.person;
            let Some(id) = id else {
                let (status, notice) = refusal(DomainError::not_found("booking", 0))?;
                return page(state, &visitor, View::with(status, notice)).await;
            };
            let before = match me::booking(&state.db, person, id).await {
                Ok(b) => b,
                Err(e) => {
                    let (status, notice) = refusal(e)?;
                    return page(state, &visitor, View::with(status, notice)).await;
                }
            };
            let name = format!("{}, {}", title_of(&before.session), when_of(&before.session));
            let notice = match me::cancel(&state.db, person, id, &visitor.change()).await {
                Ok(_) if before.status == BookingStatus::Cancelled => Notice::done(
                    "Already cancelled",
                    vec![format!("Your booking of {name} was already cancelled.")],
                ),
                Ok(_) if before.status == BookingStatus::Waitlisted => Notice::done(
                    "You have left the waitlist",
                    vec![format!("You are no longer waiting for a place on {name}.")],
                ),
                Ok(_) => Notice::done(
                    "Booking cancelled",
                    vec![
                        format!("Cancelled: {name}."),
                        "Your place has gone to the next person waiting, if anyone was.".to_owned(),
                    ],
                ),
                Err(e) => {
                    let (status, notice) = refusal(e)?;
                    return page(state, &visitor, View::with(status, notice)).await;
                }
            };
            page(state, &visitor, View::with(StatusCode::OK, notice)).await
        })
        .await
}

/// Gives the person's calendar feed a new address; the old one stops working.
pub async fn rotate_feed(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    PAGES.guarded(&state, &req, &body, async |state, visitor, _form| {
        feed::rotate_token(&state.db, &state.site, visitor.signed.person.id, visitor.now).await?;
        let notice = Notice::done(
            "Your calendar has a new address",
            vec!["The old address no longer works: calendars subscribed to it will stop updating. Subscribe again with one of the links below.".to_owned()],
        );
        page(state, &visitor, View::with(StatusCode::OK, notice)).await
    })
    .await
}

/// Saves the settings form: time zone, channels, reminder times and quiet hours. Mistakes come
/// back beside their fields, with what was typed kept.
pub async fn save_preferences(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    PAGES.guarded(&state, &req, &body, async |state, visitor, form| {
        let person = &visitor.signed.person;
        let discord_shown = form.get("discord_shown").is_some();
        let announcements_shown = form.get("announcements_shown").is_some();
        let mut errors = Vec::new();
        let mut reminders = Vec::new();
        for value in form.all("reminder") {
            match value.trim().parse::<i64>() {
                Ok(m) => reminders.push(m),
                Err(_) => errors.push(FieldError::new(
                    "reminder_offsets_minutes",
                    "choose reminder times from the list",
                )),
            }
        }
        let typed = PrefsForm {
            time_zone: form.text("time_zone").unwrap_or_default(),
            notify_email: form.get("notify_email").is_some(),
            notify_discord: if discord_shown {
                form.get("notify_discord").is_some()
            } else {
                person.notify_discord
            },
            announcements: if announcements_shown {
                form.get("announcements").is_some()
            } else {
                person.announcements
            },
            reminders: reminders.clone(),
            quiet_start: form.text("quiet_start").unwrap_or_default(),
            quiet_end: form.text("quiet_end").unwrap_or_default(),
        };
        let result = if errors.is_empty() {
            me::update_preferences(
                &state.db,
                person,
                PreferencesInput {
                    time_zone: form.text("time_zone"),
                    notify_email: Some(typed.notify_email),
                    notify_discord: discord_shown.then_some(typed.notify_discord),
                    announcements: announcements_shown.then_some(typed.announcements),
                    reminder_offsets_minutes: Some(reminders),
                    quiet_hours_start: Some(form.text("quiet_start")),
                    quiet_hours_end: Some(form.text("quiet_end")),
                },
                visitor.now,
            )
            .await
            .map(|_| ())
        } else {
            Err(DomainError::Invalid(errors))
        };
        match result {
            Ok(()) => {
                let notice = Notice::done(
                    "Your settings are saved",
                    vec!["Times on this page and in your messages now follow them, and your reminders have been set again to match.".to_owned()],
                );
                page(state, &visitor, View::with(StatusCode::OK, notice)).await
            }
            Err(DomainError::Invalid(errors)) => {
                let notice = Notice::refused(
                    "Your settings were not saved",
                    vec!["Please correct the settings marked below.".to_owned()],
                );
                let mut view = View::with(StatusCode::UNPROCESSABLE_ENTITY, notice);
                view.prefs = Some(typed);
                view.prefs_errors = errors;
                page(state, &visitor, view).await
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// Stores a reflection: what the person tried, what changed and how they know, optionally about
/// an event they booked.
pub async fn reflect(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    PAGES
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let typed = ReflectionForm {
                event_id: form.text("event_id").unwrap_or_default(),
                what_tried: form.get("what_tried").unwrap_or_default().to_owned(),
                what_changed: form.get("what_changed").unwrap_or_default().to_owned(),
                evidence: form.get("evidence").unwrap_or_default().to_owned(),
            };
            let event_id = match form.text("event_id") {
                None => Ok(None),
                Some(text) => id_from(Some(&text)).map(Some).ok_or(()),
            };
            let result = match event_id {
                Ok(event_id) => reflection::create(
                    &state.db,
                    &visitor.signed.person,
                    ReflectionText {
                        event_id,
                        what_tried: form.text("what_tried"),
                        what_changed: form.text("what_changed"),
                        evidence: form.text("evidence"),
                    },
                    visitor.now,
                )
                .await
                .map(|_| ()),
                Err(()) => Err(DomainError::Invalid(vec![FieldError::new(
                    "event_id",
                    "choose an event from the list",
                )])),
            };
            match result {
                Ok(()) => {
                    let notice = Notice::done(
                        "Thank you: your reflection is saved",
                        vec!["It helps your network see what changed in schools, and how people know.".to_owned()],
                    );
                    page(state, &visitor, View::with(StatusCode::OK, notice)).await
                }
                Err(DomainError::Invalid(errors)) => {
                    let notice = Notice::refused(
                        "Your reflection was not saved",
                        vec!["Please fill in the parts marked below.".to_owned()],
                    );
                    let mut view = View::with(StatusCode::UNPROCESSABLE_ENTITY, notice);
                    view.reflection = Some(typed);
                    view.reflection_errors = errors;
                    page(state, &visitor, view).await
                }
                Err(e) => Err(e),
            }
        })
        .await
}
