//! The page itself: what a signed-in participant sees (bookings, sessions open to them, their
//! feed, settings, reflections and surveys), as a view model the template renders.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use entity::state::BookingStatus;
use serde::Serialize;

use super::PAGES;
use crate::domain::feed;
use crate::domain::me::{self, MyBooking, MyBookingFilter, OpenSession, OpenSessionFilter, SessionSummary};
use crate::domain::page::{MAX_LIMIT, PageRequest};
use crate::domain::reflection::{self};
use crate::domain::{DomainError, FieldError, survey};
use crate::pages::{self};
use crate::routes::web_session::{Form, Visitor};
use crate::state::AppState;

/// What to tell the person at the top of the page.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Notice {
    /// Whether it went as asked (else it was refused).
    pub(super) success: bool,
    pub(super) heading: String,
    pub(super) lines: Vec<String>,
}

impl Notice {
    pub(super) fn done(heading: impl Into<String>, lines: Vec<String>) -> Self {
        Self {
            success: true,
            heading: heading.into(),
            lines,
        }
    }

    pub(super) fn refused(heading: impl Into<String>, lines: Vec<String>) -> Self {
        Self {
            success: false,
            heading: heading.into(),
            lines,
        }
    }
}

/// Everything the page shows besides what it reads from the database.
pub(super) struct View {
    pub(super) status: StatusCode,
    pub(super) notice: Option<Notice>,
    pub(super) kind: String,
    pub(super) topic: String,
    pub(super) cursor: Option<String>,
    /// The settings form as typed, when it came back with mistakes.
    pub(super) prefs: Option<PrefsForm>,
    pub(super) prefs_errors: Vec<FieldError>,
    /// The reflection form as typed, when it came back with mistakes.
    pub(super) reflection: Option<ReflectionForm>,
    pub(super) reflection_errors: Vec<FieldError>,
}

impl View {
    pub(super) fn with(status: StatusCode, notice: Notice) -> Self {
        Self {
            status,
            notice: Some(notice),
            ..Self::default()
        }
    }
}

impl Default for View {
    fn default() -> Self {
        Self {
            status: StatusCode::OK,
            notice: None,
            kind: String::new(),
            topic: String::new(),
            cursor: None,
            prefs: None,
            prefs_errors: Vec::new(),
            reflection: None,
            reflection_errors: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub(super) struct PrefsForm {
    pub(super) time_zone: String,
    pub(super) notify_email: bool,
    pub(super) notify_discord: bool,
    pub(super) announcements: bool,
    pub(super) reminders: Vec<i64>,
    pub(super) quiet_start: String,
    pub(super) quiet_end: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(super) struct ReflectionForm {
    pub(super) event_id: String,
    pub(super) what_tried: String,
    pub(super) what_changed: String,
    pub(super) evidence: String,
}

#[derive(Serialize)]
pub(super) struct BookingLine {
    pub(super) id: i64,
    pub(super) title: String,
    pub(super) when: String,
    pub(super) place: Option<String>,
    pub(super) status: String,
    pub(super) waitlisted: bool,
    pub(super) waitlist_position: Option<i64>,
    pub(super) per_school: bool,
    pub(super) join_url: Option<String>,
}

#[derive(Serialize)]
pub(super) struct SessionLine {
    pub(super) id: i64,
    pub(super) title: String,
    pub(super) kind: &'static str,
    pub(super) topic: Option<String>,
    pub(super) when: String,
    pub(super) place: Option<String>,
    pub(super) seats: String,
    /// `confirmed` or `waitlisted` when the person holds it already.
    pub(super) mine: Option<String>,
    pub(super) waitlist_position: Option<i64>,
    /// The button's words, when it can be booked.
    pub(super) action: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// The title of a session: its event's, with the session's label when it has one.
pub(super) fn title_of(s: &SessionSummary) -> String {
    match s.label.as_deref().filter(|l| !l.is_empty()) {
        Some(label) => format!("{}: {label}", s.event_title),
        None => s.event_title.clone(),
    }
}

/// `Tuesday 4 June 2027, 09:30–12:00 BST`, on the person's clock.
pub(super) fn when_of(s: &SessionSummary) -> String {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|d| d.with_timezone(&Utc));
    let zone = crate::time::stored_zone(&s.time_zone);
    match (parse(&s.start), parse(&s.end)) {
        (Some(start), Some(end)) => crate::mail::when(start, end, zone, zone),
        _ => format!("{} ({})", s.start_local, s.time_zone),
    }
}

pub(super) fn place_of(s: &SessionSummary) -> Option<String> {
    s.venue.clone().or_else(|| s.online.then(|| "Online".to_owned()))
}

pub(super) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "conference" => "Conference",
        "slp_session" => "Sharing Leading Practice",
        "triad_visit" => "Triad visit",
        _ => "Session",
    }
}

/// "1 day before", "2 hours before", "15 minutes before".
pub(super) fn reminder_label(minutes: i64) -> String {
    let (n, unit) = match minutes {
        m if m % 10_080 == 0 => (m / 10_080, "week"),
        m if m % 1440 == 0 => (m / 1440, "day"),
        m if m % 60 == 0 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    format!("{n} {unit}{} before", if n == 1 { "" } else { "s" })
}

/// The reminder times offered as tick boxes (and any others the person has chosen elsewhere).
pub(super) const REMINDER_CHOICES: [i64; 6] = [10_080, 2880, 1440, 120, 60, 15];

/// The zones offered: the zone database's `Area/City` names, and UTC.
pub(super) fn zones() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .filter(|n| n.contains('/') && !n.starts_with("Etc/") && !n.starts_with("SystemV/") && !n.starts_with("US/"))
        .collect();
    names.push("UTC");
    names.sort_unstable();
    names
}

pub(super) fn feed_links(url: &str) -> serde_json::Value {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let webcal = match url.split_once("://") {
        Some((_, rest)) => format!("webcal://{rest}"),
        None => url.to_owned(),
    };
    serde_json::json!({
        "url": url,
        "webcal": webcal,
        "google": format!("https://calendar.google.com/calendar/render?cid={}", enc(&webcal)),
        "outlook": format!("https://outlook.live.com/calendar/0/addfromweb?url={}&name={}", enc(url), enc("Convene")),
        "office": format!("https://outlook.office.com/calendar/0/addfromweb?url={}&name={}", enc(url), enc("Convene")),
    })
}

/// Renders the whole page for the visitor, with `view`'s notice and forms.
pub(super) async fn page(state: &AppState, visitor: &Visitor, mut view: View) -> Result<HttpResponse, DomainError> {
    let db = &state.db;
    let now = visitor.now;
    // Read afresh: an action may just have changed the person (their zone, their feed).
    let person = crate::domain::participant::find(db, visitor.signed.person.id).await?;
    let limit = PageRequest {
        limit: 100,
        after: None,
    };
    let upcoming = me::bookings(db, &person, &MyBookingFilter::default(), limit, now).await?;
    let past = me::bookings(
        db,
        &person,
        &MyBookingFilter {
            when: Some("past".to_owned()),
            ..MyBookingFilter::default()
        },
        limit,
        now,
    )
    .await?;
    let bookings: Vec<BookingLine> = upcoming.items.iter().map(booking_line).collect();
    let sessions = sessions_section(db, &person, &mut view, now).await?;

    // The calendar feed: made on first sight, like /v1/me/feed.
    let feed_url = match &person.feed_token {
        Some(token) => feed::private_feed_url(&state.site.public_url, token),
        None => feed::rotate_token(db, &state.site, person.id, now).await?.url,
    };
    let settings = settings_section(&person, &view);
    let reflections = reflections_section(db, &person, &view, &past.items, &upcoming.items).await?;
    let surveys = survey::open_for(db, &state.public_url, &person, now).await?;

    Ok(pages::render(
        view.status,
        "participant.html",
        minijinja::context! {
            name => person.name,
            email => person.email,
            time_zone => person.time_zone,
            csrf => visitor.csrf,
            notice => view.notice,
            bookings => bookings,
            sessions => sessions.lines,
            next_sessions => sessions.next,
            kinds => sessions.kinds,
            topics => sessions.topics,
            filtered => !view.kind.is_empty() || !view.topic.is_empty(),
            feed => feed_links(&feed_url),
            prefs => settings.form,
            discord_linked => person.discord_id.is_some(),
            reminder_choices => settings.reminders,
            zones => settings.zones,
            prefs_errors => settings.errors,
            reflections => reflections.written,
            reflection_form => reflections.form,
            event_choices => reflections.events,
            reflection_errors => reflections.errors,
            surveys => surveys,
        },
    ))
}

/// The page's "Sessions open to you" part.
struct Sessions {
    lines: Vec<SessionLine>,
    /// The link to the next page of them, if there is one.
    next: Option<String>,
    kinds: Vec<Choice>,
    topics: Vec<Choice>,
}

/// Sessions open to the person, filtered as `view` asks; the topics on offer come from the
/// unfiltered list. A filter or cursor Convene did not make is dropped, with a notice.
async fn sessions_section(
    db: &sea_orm::DatabaseConnection,
    person: &entity::participant::Model,
    view: &mut View,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Sessions, DomainError> {
    let kind = Some(view.kind.clone()).filter(|k| !k.is_empty());
    let topic = Some(view.topic.clone()).filter(|t| !t.is_empty());
    let after = match view.cursor.as_deref() {
        None => Ok(None),
        Some(c) => PageRequest::parse(None, Some(c)).map(|p| p.after),
    };
    let after = match after {
        Ok(after) => after,
        Err(_) => {
            view.status = StatusCode::BAD_REQUEST;
            view.notice = Some(Notice::refused(
                "That list of sessions has moved on",
                vec![
                    "The link to the next sessions was not one Convene made. Here are the first ones again.".to_owned(),
                ],
            ));
            None
        }
    };
    let every = me::open_sessions(
        db,
        person,
        &OpenSessionFilter {
            kind: kind.clone(),
            ..OpenSessionFilter::default()
        },
        PageRequest {
            limit: MAX_LIMIT,
            after: None,
        },
        now,
    )
    .await;
    let every = match every {
        Ok(page) => page,
        Err(DomainError::Invalid(_)) => {
            view.status = StatusCode::BAD_REQUEST;
            view.notice = Some(Notice::refused(
                "That kind of session isn't one Convene has",
                vec!["Showing sessions of every kind instead.".to_owned()],
            ));
            view.kind.clear();
            me::open_sessions(
                db,
                person,
                &OpenSessionFilter::default(),
                PageRequest {
                    limit: MAX_LIMIT,
                    after: None,
                },
                now,
            )
            .await?
        }
        Err(e) => return Err(e),
    };
    let topics: BTreeSet<String> = every.items.iter().filter_map(|s| s.session.topic.clone()).collect();
    let open = me::open_sessions(
        db,
        person,
        &OpenSessionFilter {
            kind: Some(view.kind.clone()).filter(|k| !k.is_empty()),
            topic,
            ..OpenSessionFilter::default()
        },
        PageRequest { limit: 25, after },
        now,
    )
    .await?;
    let sessions: Vec<SessionLine> = open.items.iter().map(session_line).collect();
    let next_sessions = open.next_cursor.map(|c| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !view.kind.is_empty() {
            query.append_pair("kind", &view.kind);
        }
        if !view.topic.is_empty() {
            query.append_pair("topic", &view.topic);
        }
        query.append_pair("cursor", &c);
        format!("/p?{}#sessions", query.finish())
    });

    let kinds: Vec<Choice> = [
        ("", "Every kind"),
        ("conference", "Conferences"),
        ("slp_session", "Sharing Leading Practice"),
    ]
    .iter()
    .map(|(value, label)| Choice {
        value: (*value).to_owned(),
        label: (*label).to_owned(),
        selected: view.kind == *value,
    })
    .collect();
    let topic_choices: Vec<Choice> = std::iter::once(String::new())
        .chain(topics)
        .map(|t| Choice {
            label: if t.is_empty() {
                "Every topic".to_owned()
            } else {
                t.clone()
            },
            selected: t.eq_ignore_ascii_case(&view.topic),
            value: t,
        })
        .collect();
    Ok(Sessions {
        lines: sessions,
        next: next_sessions,
        kinds,
        topics: topic_choices,
    })
}

/// One session open to the person, as the page lists it: seats left or the waitlist, their own
/// booking, and what its button does.
fn session_line(o: &OpenSession) -> SessionLine {
    let s = &o.session;
    let full = s.available <= 0;
    SessionLine {
        id: s.session_id,
        title: title_of(s),
        kind: kind_label(&s.kind),
        topic: s.topic.clone(),
        when: when_of(s),
        place: place_of(s),
        seats: match (full, s.waitlist) {
            (false, _) => format!(
                "{} of {} {} free",
                s.available,
                s.capacity,
                if s.capacity == 1 { "place" } else { "places" }
            ),
            (true, true) => "Full: you can join the waitlist".to_owned(),
            (true, false) => "Full".to_owned(),
        },
        mine: o.my_booking.as_ref().map(|b| b.status.to_string()),
        waitlist_position: o.my_booking.as_ref().and_then(|b| b.waitlist_position),
        action: match (o.my_booking.is_some(), full, s.waitlist) {
            (true, _, _) => None,
            (false, false, _) => Some("Book"),
            (false, true, true) => Some("Join the waitlist"),
            (false, true, false) => None,
        },
    }
}

/// The page's settings form: as `view` holds it after a refused save, else the person's own.
struct Settings {
    form: PrefsForm,
    reminders: Vec<Choice>,
    zones: Vec<Choice>,
    errors: std::collections::BTreeMap<&'static str, String>,
}

fn settings_section(person: &entity::participant::Model, view: &View) -> Settings {
    let prefs = view.prefs.clone().unwrap_or_else(|| PrefsForm {
        time_zone: person.time_zone.clone(),
        notify_email: person.notify_email,
        notify_discord: person.notify_discord,
        announcements: person.announcements,
        reminders: crate::domain::outbox::reminder_offsets(person),
        quiet_start: person.quiet_hours_start.clone().unwrap_or_default(),
        quiet_end: person.quiet_hours_end.clone().unwrap_or_default(),
    });
    let mut offered: Vec<i64> = REMINDER_CHOICES.to_vec();
    offered.extend(prefs.reminders.iter().filter(|m| !REMINDER_CHOICES.contains(m)));
    offered.sort_unstable_by(|a, b| b.cmp(a));
    let reminder_choices: Vec<Choice> = offered
        .into_iter()
        .map(|m| Choice {
            value: m.to_string(),
            label: reminder_label(m),
            selected: prefs.reminders.contains(&m),
        })
        .collect();
    let mut zone_names: Vec<&str> = zones();
    if !zone_names.contains(&prefs.time_zone.as_str()) && crate::time::TimeZoneName::parse(&prefs.time_zone).is_ok() {
        zone_names.insert(0, prefs.time_zone.as_str());
    }
    let zone_choices: Vec<Choice> = zone_names
        .iter()
        .map(|z| Choice {
            value: (*z).to_owned(),
            label: z.replace('_', " "),
            selected: *z == prefs.time_zone,
        })
        .collect();

    let errors = field_errors(&view.prefs_errors, &|f| match f.split('[').next().unwrap_or(f) {
        "reminder_offsets_minutes" => "reminders",
        "quiet_hours_start" => "quiet_start",
        "quiet_hours_end" => "quiet_end",
        "notify_email" => "notify_email",
        "notify_discord" => "notify_discord",
        _ => "time_zone",
    });
    Settings {
        form: prefs,
        reminders: reminder_choices,
        zones: zone_choices,
        errors,
    }
}

/// The page's reflections: those written, newest first, and the form with the events a
/// reflection can be about (those the person booked).
struct Reflections {
    written: Vec<serde_json::Value>,
    form: ReflectionForm,
    events: Vec<Choice>,
    errors: std::collections::BTreeMap<&'static str, String>,
}

async fn reflections_section(
    db: &sea_orm::DatabaseConnection,
    person: &entity::participant::Model,
    view: &View,
    past: &[MyBooking],
    upcoming: &[MyBooking],
) -> Result<Reflections, DomainError> {
    let mut reflections = reflection::list_for_participant(
        db,
        person.id,
        PageRequest {
            limit: MAX_LIMIT,
            after: None,
        },
    )
    .await?
    .items;
    reflections.reverse();
    let reflection_form = view.reflection.clone().unwrap_or_default();
    let mut seen = BTreeSet::new();
    let event_choices: Vec<Choice> = past
        .iter()
        .chain(upcoming)
        .filter(|b| seen.insert(b.session.event_id))
        .map(|b| Choice {
            value: b.session.event_id.to_string(),
            label: b.session.event_title.clone(),
            selected: reflection_form.event_id == b.session.event_id.to_string(),
        })
        .collect();

    let errors = field_errors(&view.reflection_errors, &|f| match f {
        "what_tried" => "what_tried",
        "what_changed" => "what_changed",
        "evidence" => "evidence",
        _ => "event_id",
    });
    let zone = crate::time::stored_zone(&person.time_zone);
    let reflections: Vec<serde_json::Value> = reflections
        .into_iter()
        .map(|r| {
            let written = DateTime::parse_from_rfc3339(&r.created_at)
                .map(|d| d.with_timezone(&zone).format("%-d %B %Y").to_string())
                .unwrap_or_default();
            serde_json::json!({
                "event_title": r.event_title,
                "written": written,
                "what_tried": r.what_tried,
                "what_changed": r.what_changed,
                "evidence": r.evidence,
            })
        })
        .collect();

    Ok(Reflections {
        written: reflections,
        form: reflection_form,
        events: event_choices,
        errors,
    })
}

/// Field errors by the form field they belong to (`rename` maps an API field to it), the first
/// message for each.
fn field_errors(
    errors: &[FieldError],
    rename: &dyn Fn(&str) -> &'static str,
) -> std::collections::BTreeMap<&'static str, String> {
    let mut by_field = std::collections::BTreeMap::new();
    for e in errors {
        by_field.entry(rename(&e.field)).or_insert_with(|| e.message.clone());
    }
    by_field
}

pub(super) fn booking_line(b: &MyBooking) -> BookingLine {
    BookingLine {
        id: b.id,
        title: title_of(&b.session),
        when: when_of(&b.session),
        place: place_of(&b.session),
        status: b.status.to_string(),
        waitlisted: b.status == BookingStatus::Waitlisted,
        waitlist_position: b.waitlist_position,
        per_school: b.waitlist_reason.as_deref() == Some("per_school_limit"),
        join_url: b.join_url.clone(),
    }
}

/// `/p`: the person's page (someone not signed in is sent to the sign-in form). `?kind=` and
/// `?topic=` filter the sessions open to them; `?cursor=` shows the next ones.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let visitor = match PAGES.require(&state, &req).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let query = Form::parse(req.query_string().as_bytes());
    let view = View {
        kind: query.text("kind").unwrap_or_default().chars().take(40).collect(),
        topic: query.text("topic").unwrap_or_default().chars().take(200).collect(),
        cursor: query.text("cursor"),
        ..View::default()
    };
    page(&state, &visitor, view).await.unwrap_or_else(|e| PAGES.trouble(e))
}
