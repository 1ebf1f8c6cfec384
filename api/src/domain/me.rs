//! What a participant sees and does for themselves (through the bot, and later their own
//! pages): sessions open to them, their bookings, their preferences. Every change goes through
//! the same functions as the organisers' API, so the same rules and messages apply.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use entity::state::{BookingStatus, EventStatus, SessionStatus};
use entity::{booking, event, participant, session};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::Deserialize;
use utoipa::IntoParams;

use super::audit::Change;
use super::booking::{self as bookings, Booked, BookingInput};
use super::idempotency::IdempotentRequest;
use super::page::{Page, PageRequest, encode_cursor};
use super::participant::{Participant, ParticipantInput};
use super::{DomainError, DomainResult, Validator, equals_ignoring_case, text_search};
use crate::time::{TimeZoneName, format_local, format_utc};
pub use crate::wire::me::{
    BookingState, MyBooking, MyBookingInput, OpenSession, Preferences, PreferencesInput, SessionSummary,
};

/// The kinds of event whose sessions participants book themselves (triad visits are booked for them).
pub const OPEN_KINDS: &[&str] = &["conference", "slp_session"];
/// Which of their bookings a participant lists.
pub const WHEN: &[&str] = &["upcoming", "past"];

/// Filters for the sessions open to the participant.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpenSessionFilter {
    /// Only sessions of events of this kind (`conference` or `slp_session`).
    #[param(value_type = Option<super::contract::OpenEventKind>)]
    pub kind: Option<String>,
    /// Only sessions of events on this topic.
    #[param(value_type = Option<super::contract::SearchText>)]
    pub topic: Option<String>,
    /// Only sessions of this event.
    pub event_id: Option<i64>,
    /// Text to find in the event's title or the session's label.
    #[param(value_type = Option<super::contract::SearchText>)]
    pub q: Option<String>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<super::contract::Cursor>)]
    pub cursor: Option<String>,
}

/// Which of the participant's bookings to list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MyBookingFilter {
    /// `upcoming` (the default: confirmed and waitlisted bookings of sessions not yet over,
    /// soonest first) or `past` (sessions over that they held a seat for, latest first).
    #[param(value_type = Option<super::contract::When>)]
    pub when: Option<String>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<super::contract::Cursor>)]
    pub cursor: Option<String>,
}

impl From<&Participant> for Preferences {
    fn from(p: &Participant) -> Self {
        Self {
            time_zone: p.time_zone.clone(),
            notify_email: p.notify_email,
            notify_discord: p.notify_discord,
            reminder_offsets_minutes: p.reminder_offsets_minutes.clone(),
            quiet_hours_start: p.quiet_hours_start.clone(),
            quiet_hours_end: p.quiet_hours_end.clone(),
            announcements: p.announcements,
        }
    }
}

/// The zone a participant reads times in.
fn zone_of(person: &participant::Model) -> Tz {
    TimeZoneName::parse(&person.time_zone).unwrap_or(TimeZoneName::UTC).tz()
}

fn summary(s: &session::Model, e: &event::Model, zone: Tz) -> SessionSummary {
    SessionSummary {
        session_id: s.id,
        event_id: e.id,
        event_title: e.title.clone(),
        label: s.label.clone(),
        kind: e.kind.clone(),
        topic: e.topic.clone(),
        start: format_utc(s.starts_at),
        end: format_utc(s.ends_at),
        start_local: format_local(s.starts_at, zone),
        end_local: format_local(s.ends_at, zone),
        time_zone: zone.name().to_owned(),
        venue: e.venue.clone(),
        online: e.online_url.is_some(),
        capacity: s.capacity,
        available: (s.capacity - s.booked).max(0),
        waitlist: s.waitlist_enabled,
    }
}

/// Orders `select` by (`time`, `id`), ascending or descending, from just after `after`.
fn keyset<E: EntityTrait>(
    select: Select<E>,
    time: E::Column,
    id: E::Column,
    after: Option<(DateTime<Utc>, i64)>,
    descending: bool,
) -> Select<E> {
    let select = if descending {
        select.order_by_desc(time).order_by_desc(id)
    } else {
        select.order_by_asc(time).order_by_asc(id)
    };
    match after {
        None => select,
        Some((t, last)) if descending => select.filter(
            Condition::any()
                .add(time.lt(t))
                .add(Condition::all().add(time.eq(t)).add(id.lt(last))),
        ),
        Some((t, last)) => select.filter(
            Condition::any()
                .add(time.gt(t))
                .add(Condition::all().add(time.eq(t)).add(id.gt(last))),
        ),
    }
}

/// Cuts one extra row off a page, giving the cursor of the next.
fn paged<T>(mut rows: Vec<T>, page: PageRequest, id_of: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|r| encode_cursor(id_of(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

/// Sessions the participant can book now: of published conferences and SLP sessions, and of
/// the triad visits they are invited to; not cancelled, not yet started; soonest first, each with
/// their own booking if they hold one.
pub async fn open_sessions<C: ConnectionTrait>(
    db: &C,
    person: &participant::Model,
    filter: &OpenSessionFilter,
    page: PageRequest,
    now: DateTime<Utc>,
) -> DomainResult<Page<OpenSession>> {
    let mut v = Validator::new();
    let kind = filter
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .and_then(|k| v.one_of("kind", Some(k.to_owned()), OPEN_KINDS));
    v.finish()?;
    let mut select = session::Entity::find()
        .find_also_related(event::Entity)
        .filter(event::Column::Status.eq(EventStatus::Published))
        .filter(
            Condition::any()
                .add(event::Column::Kind.ne(super::event::PRIVATE_KIND))
                .add(session::Column::Id.in_subquery(super::cohort::invited_sessions(person))),
        )
        .filter(session::Column::Status.ne(SessionStatus::Cancelled))
        .filter(session::Column::StartsAt.gt(now));
    if let Some(kind) = kind {
        select = select.filter(event::Column::Kind.eq(kind));
    }
    if let Some(topic) = filter.topic.as_deref().filter(|t| !t.trim().is_empty()) {
        select = select.filter(equals_ignoring_case(event::Column::Topic, topic));
    }
    if let Some(event_id) = filter.event_id {
        select = select.filter(session::Column::EventId.eq(event_id));
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
        select = select.filter(
            Condition::any()
                .add(text_search(&[event::Column::Title], q))
                .add(text_search(&[session::Column::Label], q)),
        );
    }
    let after = match page.after {
        None => None,
        Some(id) => session::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|s| (s.starts_at, s.id)),
    };
    let mut query = select
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Id);
    if let Some((t, last)) = after {
        query = query.filter(
            Condition::any().add(session::Column::StartsAt.gt(t)).add(
                Condition::all()
                    .add(session::Column::StartsAt.eq(t))
                    .add(session::Column::Id.gt(last)),
            ),
        );
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    let (rows, next_cursor) = paged(rows, page, |(s, _)| s.id);
    let ids: Vec<i64> = rows.iter().map(|(s, _)| s.id).collect();
    let mine = bookings::active_for_person(db, person.id, &ids).await?;
    let zone = zone_of(person);
    let items = rows
        .into_iter()
        .filter_map(|(s, e)| e.map(|e| (s, e)))
        .map(|(s, e)| OpenSession {
            session: summary(&s, &e, zone),
            my_booking: mine
                .iter()
                .find(|b| b.0.session_id == s.id)
                .map(|(b, position)| BookingState {
                    id: b.id,
                    status: b.status,
                    waitlist_position: *position,
                }),
        })
        .collect();
    Ok(Page { items, next_cursor })
}

/// The participant's bookings: `upcoming` (active, soonest first) or `past` (seated, latest first).
pub async fn bookings<C: ConnectionTrait>(
    db: &C,
    person: &participant::Model,
    filter: &MyBookingFilter,
    page: PageRequest,
    now: DateTime<Utc>,
) -> DomainResult<Page<MyBooking>> {
    let mut v = Validator::new();
    let when = v
        .one_of(
            "when",
            Some(
                filter
                    .when
                    .clone()
                    .filter(|w| !w.is_empty())
                    .unwrap_or_else(|| "upcoming".into()),
            ),
            WHEN,
        )
        .unwrap_or("upcoming");
    v.finish()?;
    let past = when == "past";
    let mut select = booking::Entity::find().filter(booking::Column::ParticipantId.eq(person.id));
    select = if past {
        select
            .filter(booking::Column::Status.is_in([
                BookingStatus::Confirmed,
                BookingStatus::Attended,
                BookingStatus::NoShow,
            ]))
            .filter(booking::Column::EndsAt.lte(now))
    } else {
        select
            .filter(booking::Column::Status.is_in([BookingStatus::Confirmed, BookingStatus::Waitlisted]))
            .filter(booking::Column::EndsAt.gt(now))
    };
    let after = match page.after {
        None => None,
        Some(id) => booking::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|b| b.participant_id == person.id)
            .map(|b| (b.starts_at, b.id)),
    };
    let rows = keyset(select, booking::Column::StartsAt, booking::Column::Id, after, past)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let (rows, next_cursor) = paged(rows, page, |b| b.id);
    let mut items = Vec::with_capacity(rows.len());
    for b in rows {
        items.push(view_booking(db, person, b).await?);
    }
    Ok(Page { items, next_cursor })
}

async fn view_booking<C: ConnectionTrait>(
    db: &C,
    person: &participant::Model,
    b: entity::booking::Model,
) -> DomainResult<MyBooking> {
    let (s, e) = session::Entity::find_by_id(b.session_id)
        .find_also_related(event::Entity)
        .one(db)
        .await?
        .and_then(|(s, e)| e.map(|e| (s, e)))
        .ok_or_else(|| DomainError::not_found("session", b.session_id))?;
    let position = bookings::waitlist_position(db, &b).await?;
    let seated = matches!(b.status, BookingStatus::Confirmed | BookingStatus::Attended);
    Ok(MyBooking {
        id: b.id,
        waitlist_position: position,
        waitlist_reason: if b.status == BookingStatus::Waitlisted {
            b.waitlist_reason.clone()
        } else {
            None
        },
        join_url: if seated { e.online_url.clone() } else { None },
        status: b.status,
        session: summary(&s, &e, zone_of(person)),
    })
}

/// One of the participant's bookings; someone else's is not found.
pub async fn booking<C: ConnectionTrait>(db: &C, person: &participant::Model, id: i64) -> DomainResult<MyBooking> {
    let b = bookings::find(db, id).await?;
    if b.participant_id != person.id {
        return Err(DomainError::not_found("booking", id));
    }
    view_booking(db, person, b).await
}

/// Books a session for the participant, by the same rules as an organiser's booking, except that
/// a triad's visit is only for the people it invites.
pub async fn book(
    db: &sea_orm::DatabaseConnection,
    person: &participant::Model,
    input: &MyBookingInput,
    idempotent: Option<&IdempotentRequest>,
    change: &Change,
) -> DomainResult<Booked> {
    let session_id = input
        .session_id
        .ok_or_else(|| DomainError::Invalid(vec![super::FieldError::new("session_id", "is required")]))?;
    let booking_input = BookingInput {
        participant_id: Some(person.id),
    };
    bookings::book(
        db,
        session_id,
        &booking_input,
        idempotent,
        bookings::Booker::Participant,
        change,
    )
    .await
}

/// Cancels one of the participant's bookings; someone else's is not found.
pub async fn cancel(
    db: &sea_orm::DatabaseConnection,
    person: &participant::Model,
    id: i64,
    change: &Change,
) -> DomainResult<MyBooking> {
    let b = bookings::find(db, id).await?;
    if b.participant_id != person.id {
        return Err(DomainError::not_found("booking", id));
    }
    bookings::cancel(db, id, change).await?;
    booking(db, person, id).await
}

/// The participant's settings.
pub async fn preferences<C: ConnectionTrait>(db: &C, person: &participant::Model) -> DomainResult<Preferences> {
    let p = super::participant::get(db, person.id).await?;
    Ok(Preferences::from(&p))
}

/// Changes the participant's settings; their reminders are requeued when their times change.
/// The row and the requeued reminders are written in one write transaction, so concurrent
/// changes leave the reminders of whichever change came last, never a mix.
pub async fn update_preferences(
    db: &sea_orm::DatabaseConnection,
    person: &participant::Model,
    input: PreferencesInput,
    now: DateTime<Utc>,
) -> DomainResult<Preferences> {
    let announcements = input.announcements;
    let input = ParticipantInput {
        time_zone: input.time_zone,
        notify_email: input.notify_email,
        notify_discord: input.notify_discord,
        reminder_offsets_minutes: input.reminder_offsets_minutes,
        quiet_hours_start: input.quiet_hours_start,
        quiet_hours_end: input.quiet_hours_end,
        ..Default::default()
    };
    let p = super::in_write_txn(db, async |txn| {
        let mut p = super::participant::update(txn, person.id, input.clone(), now).await?;
        if let Some(on) = announcements {
            super::announcement::set_subscribed(txn, person.id, on, now).await?;
            p.announcements = on;
        }
        Ok(p)
    })
    .await?;
    Ok(Preferences::from(&p))
}
