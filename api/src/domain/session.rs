//! Sessions: the bookable units of an event — a start and end (UTC instants, shown in the
//! event's zone), a capacity, an optional per-school limit and a waitlist.

use chrono::{DateTime, Utc};
use entity::state::{BookingStatus, EventStatus, SessionStatus};
use entity::{booking, event, session, session_school_count};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::{Change, Target};
use super::closed_days::{self, ClosedDayWarning};
use super::contract::{self, Cursor, DateTimeInput, Name, Seats, TimeZone};
use super::event::{Audience, find_visible};
use super::page::{Page, PageRequest, fetch_page};
use super::validate::{NAME_MAX, nullable};
use super::{DomainError, DomainResult, FieldError, Validator, in_write_txn};
use crate::db::for_update;
use crate::problem_code::ProblemCode;
use crate::time::{TimeError, TimeInput, TimeZoneName, format_local, format_utc};

/// The largest capacity a session may have.
pub const MAX_CAPACITY: i64 = 1_000_000;
/// A session's states: the first is the one a new session has.
/// The fields a new session must have (a `PATCH` may leave any out).
pub const REQUIRED_ON_CREATE: &[&str] = &["start", "end", "capacity"];

contract::create_body!(
    /// A session as sent to create one: the fields of [`SessionInput`], those of
    /// [`REQUIRED_ON_CREATE`] required.
    NewSession => SessionInput, REQUIRED_ON_CREATE,
    "A new session: `start`, `end` and `capacity` are required; `end` is after `start`, and \
`per_school_limit` is at most `capacity`.",
    with status = contract::NewSessionStatus
);

/// A session as sent to create or change one. On create `start`, `end` and `capacity` are
/// required. Times are RFC 3339 instants (`2027-06-04T08:30:00Z`) or local date-times
/// (`2027-06-04T09:30`) read in the event's zone.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// A label shown after the event's title, e.g. `Workshop A: phonics`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Name>, example = "Workshop A: phonics")]
    pub label: Option<Option<String>>,
    /// When it starts: an instant with an offset, or a local time in the event's zone.
    #[schema(value_type = Option<DateTimeInput>, example = "2031-06-04T09:30")]
    pub start: Option<String>,
    /// When it ends: after `start` (a rule between two fields, which the schema cannot state).
    #[schema(value_type = Option<DateTimeInput>, example = "2031-06-04T12:00")]
    pub end: Option<String>,
    /// Seats, 1 to 1,000,000.
    #[schema(value_type = Option<Seats>, example = 30)]
    pub capacity: Option<i64>,
    /// At most this many confirmed seats for one school (`null` for no limit); at most `capacity`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Seats>, example = 2)]
    pub per_school_limit: Option<Option<i64>>,
    /// Whether a full session keeps a waitlist (default true).
    pub waitlist: Option<bool>,
    /// `scheduled` or `cancelled` (changing only).
    #[schema(value_type = Option<contract::SessionStatus>)]
    pub status: Option<String>,
}

/// A session as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Session {
    /// Its id.
    pub id: i64,
    /// The event it belongs to.
    pub event_id: i64,
    /// Its label.
    pub label: Option<String>,
    /// When it starts, in UTC.
    #[schema(value_type = contract::Instant, example = "2027-06-04T08:30:00Z")]
    pub start: String,
    /// When it ends, in UTC.
    #[schema(value_type = contract::Instant, example = "2027-06-04T11:00:00Z")]
    pub end: String,
    /// The IANA zone of the local times (the event's).
    #[schema(value_type = TimeZone, example = "Europe/London")]
    pub time_zone: String,
    /// When it starts, in its zone.
    #[schema(example = "2027-06-04T09:30:00")]
    pub start_local: String,
    /// When it ends, in its zone.
    #[schema(example = "2027-06-04T12:00:00")]
    pub end_local: String,
    /// Seats.
    pub capacity: i32,
    /// Confirmed seats taken.
    pub booked: i32,
    /// Seats left.
    pub available: i32,
    /// The per-school limit.
    pub per_school_limit: Option<i32>,
    /// Whether it keeps a waitlist.
    pub waitlist: bool,
    /// `scheduled` or `cancelled`.
    #[schema(value_type = contract::SessionStatus)]
    pub status: SessionStatus,
    /// Bumped whenever its time, place or state changes (the calendars' `SEQUENCE`).
    pub revision: i32,
    /// Given when a session is created or moved: the days it falls on when schools of its event
    /// are closed (their own closures, their local authority's term dates, public holidays).
    /// A warning only: the session is saved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ClosedDayWarning>,
}

/// Paging for a session list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SessionFilter {
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    pub cursor: Option<String>,
}

impl From<session::Model> for Session {
    fn from(m: session::Model) -> Self {
        let zone = TimeZoneName::parse(&m.time_zone).unwrap_or(TimeZoneName::UTC).tz();
        Self {
            id: m.id,
            event_id: m.event_id,
            label: m.label,
            start: format_utc(m.starts_at),
            end: format_utc(m.ends_at),
            start_local: format_local(m.starts_at, zone),
            end_local: format_local(m.ends_at, zone),
            time_zone: m.time_zone,
            capacity: m.capacity,
            booked: m.booked,
            available: std::cmp::max(m.capacity - m.booked, 0),
            per_school_limit: m.per_school_limit,
            waitlist: m.waitlist_enabled,
            status: m.status,
            revision: m.revision,
            warnings: Vec::new(),
        }
    }
}

/// The checked fields of a session.
struct SessionFields {
    label: Option<String>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    capacity: i32,
    per_school_limit: Option<i32>,
    waitlist: bool,
    status: SessionStatus,
}

/// Places a time in the zone, reporting a gap or overlap at a clocks change with its own code.
fn place(
    v: &mut Validator,
    field: &'static str,
    time: Option<TimeInput>,
    zone: TimeZoneName,
) -> DomainResult<Option<DateTime<Utc>>> {
    let Some(time) = time else { return Ok(None) };
    match time.resolve(zone) {
        Ok(t) => Ok(Some(t)),
        Err(error @ (TimeError::Nonexistent { .. } | TimeError::Ambiguous { .. })) => {
            Err(DomainError::LocalTime { field, error })
        }
        Err(other) => {
            v.fail_time(field, &other);
            Ok(None)
        }
    }
}

fn parse(input: SessionInput, zone: TimeZoneName, existing: Option<&session::Model>) -> DomainResult<SessionFields> {
    let mut v = Validator::new();
    let label = match input.label {
        Some(given) => v.optional_line("label", given, NAME_MAX),
        None => existing.and_then(|e| e.label.clone()),
    };
    let start = match (input.start, existing) {
        (None, Some(e)) => Some(TimeInput::Instant(e.starts_at)),
        (given, _) => v.time("start", given),
    };
    let end = match (input.end, existing) {
        (None, Some(e)) => Some(TimeInput::Instant(e.ends_at)),
        (given, _) => v.time("end", given),
    };
    let capacity = match input.capacity.or_else(|| existing.map(|e| i64::from(e.capacity))) {
        None => {
            v.fail("capacity", "is required (1 to 1,000,000 seats)");
            0
        }
        Some(c) => v.int_in("capacity", c, 1..=MAX_CAPACITY),
    };
    let per_school_limit = match input.per_school_limit {
        Some(given) => given,
        None => existing.and_then(|e| e.per_school_limit.map(i64::from)),
    }
    .map(|limit| v.int_in("per_school_limit", limit, 1..=MAX_CAPACITY));
    if let Some(limit) = per_school_limit
        && capacity > 0
        && limit > capacity
    {
        v.fail(
            "per_school_limit",
            format!("must not be more than the capacity ({capacity})"),
        );
    }
    let status = v
        .state(
            "status",
            input
                .status
                .or_else(|| existing.map(|e| e.status.as_str().to_owned()))
                .or_else(|| Some(SessionStatus::Scheduled.as_str().to_owned())),
            SessionStatus::ALL,
        )
        .unwrap_or(SessionStatus::Scheduled);
    let starts_at = place(&mut v, "start", start, zone)?;
    let ends_at = place(&mut v, "end", end, zone)?;
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e <= s
    {
        v.fail("end", "must be after start");
    }
    v.finish()?;
    let (Some(starts_at), Some(ends_at)) = (starts_at, ends_at) else {
        return Err(DomainError::Invalid(vec![FieldError::new("start", "is required")]));
    };
    Ok(SessionFields {
        label,
        starts_at,
        ends_at,
        capacity,
        per_school_limit,
        waitlist: input
            .waitlist
            .or_else(|| existing.map(|e| e.waitlist_enabled))
            .unwrap_or(true),
        status,
    })
}

fn zone_of(event: &event::Model) -> TimeZoneName {
    TimeZoneName::parse(&event.time_zone).unwrap_or(TimeZoneName::UTC)
}

fn refuse_if_cancelled(event: &event::Model) -> DomainResult<()> {
    if event.status == EventStatus::Cancelled {
        return Err(DomainError::conflict(
            ProblemCode::EventCancelled,
            format!("event {} was cancelled; its sessions cannot change", event.id),
            None,
        ));
    }
    Ok(())
}

/// Adds a session to an event that is not cancelled (a published event can gain sessions).
#[tracing::instrument(skip(db, input))]
pub async fn create<C: ConnectionTrait>(
    db: &C,
    event_id: i64,
    input: SessionInput,
    change: &Change,
) -> DomainResult<Session> {
    let now = change.now;
    let event = super::event::find(db, event_id).await?;
    refuse_if_cancelled(&event)?;
    let f = parse(input, zone_of(&event), None)?;
    if f.status == SessionStatus::Cancelled {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "status",
            "a new session is scheduled",
        )]));
    }
    let row = session::ActiveModel {
        event_id: Set(event_id),
        label: Set(f.label),
        starts_at: Set(f.starts_at),
        ends_at: Set(f.ends_at),
        time_zone: Set(event.time_zone.clone()),
        capacity: Set(f.capacity),
        booked: Set(0),
        per_school_limit: Set(f.per_school_limit),
        waitlist_enabled: Set(f.waitlist),
        status: Set(f.status),
        revision: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    super::discord::sessions_published(db, &event, &[row.id], now).await?;
    let mut session: Session = row.into();
    session.warnings = closed_days::session_warnings(db, &event, f.starts_at, f.ends_at).await?;
    change
        .record(
            db,
            "session.created",
            Target("session", session.id),
            format!(
                "{} of event {event_id} added: {} to {} ({}), {} seats",
                session.label.as_deref().unwrap_or("a session"),
                session.start_local,
                session.end_local,
                session.time_zone,
                session.capacity
            ),
        )
        .await?;
    Ok(session)
}

/// Reads a session row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<session::Model> {
    session::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("session", id))
}

/// Reads a session row and locks it for the rest of the transaction (on PostgreSQL; SQLite
/// write transactions already run one at a time).
pub async fn find_for_update<C: ConnectionTrait>(txn: &C, id: i64) -> DomainResult<session::Model> {
    for_update(session::Entity::find_by_id(id), txn.get_database_backend())
        .one(txn)
        .await?
        .ok_or_else(|| DomainError::not_found("session", id))
}

/// Reads a session that `audience` may see (its event must be visible to them).
pub async fn get<C: ConnectionTrait>(db: &C, id: i64, audience: Audience) -> DomainResult<Session> {
    let session = find(db, id).await?;
    find_visible(db, session.event_id, audience)
        .await
        .map_err(|_| DomainError::not_found("session", id))?;
    Ok(session.into())
}

/// Lists an event's sessions, a page at a time, ordered by id.
pub async fn list_for_event<C: ConnectionTrait>(
    db: &C,
    event_id: i64,
    page: PageRequest,
    audience: Audience,
) -> DomainResult<Page<Session>> {
    find_visible(db, event_id, audience).await?;
    let query = session::Entity::find().filter(session::Column::EventId.eq(event_id));
    Ok(fetch_page(db, query, session::Column::Id, |m| m.id, page)
        .await?
        .map(Session::from))
}

/// Changes a session. Capacity never goes below the confirmed seats; moving it or cancelling it
/// bumps its revision, and its bookings move with it (unless that would give someone two
/// overlapping confirmed bookings). The session row is locked first, so a booking or another
/// change of the same session waits.
#[tracing::instrument(skip(db, input))]
pub async fn update(db: &DatabaseConnection, id: i64, input: SessionInput, change: &Change) -> DomainResult<Session> {
    let now = change.now;
    let input = &input;
    in_write_txn(db, async |txn| {
        let existing = find_for_update(txn, id).await?;
        let event = super::event::find(txn, existing.event_id).await?;
        refuse_if_cancelled(&event)?;
        if existing.status == SessionStatus::Cancelled {
            return Err(DomainError::conflict(
                ProblemCode::SessionCancelled,
                format!("session {id} was cancelled and cannot be changed"),
                None,
            ));
        }
        let f = parse(input.clone(), zone_of(&event), Some(&existing))?;
        if f.capacity < existing.booked {
            return Err(DomainError::conflict(
                ProblemCode::CapacityBelowBooked,
                format!(
                    "session {id} has {} confirmed bookings, so its capacity cannot be {}",
                    existing.booked, f.capacity
                ),
                Some("capacity"),
            ));
        }
        let moved = f.starts_at != existing.starts_at || f.ends_at != existing.ends_at;
        let cancelling = f.status == SessionStatus::Cancelled;
        if moved && !cancelling {
            refuse_move_into_clash(txn, id, f.starts_at, f.ends_at).await?;
        }
        let mut update = session::Entity::update_many()
            .col_expr(session::Column::Label, Expr::value(f.label.clone()))
            .col_expr(session::Column::StartsAt, Expr::value(f.starts_at))
            .col_expr(session::Column::EndsAt, Expr::value(f.ends_at))
            .col_expr(session::Column::Capacity, Expr::value(f.capacity))
            .col_expr(session::Column::PerSchoolLimit, Expr::value(f.per_school_limit))
            .col_expr(session::Column::WaitlistEnabled, Expr::value(f.waitlist))
            .col_expr(session::Column::Status, Expr::value(f.status))
            .col_expr(session::Column::UpdatedAt, Expr::value(now))
            .filter(session::Column::Id.eq(id));
        if moved || cancelling {
            update = update.col_expr(session::Column::Revision, Expr::col(session::Column::Revision).add(1));
        }
        update.exec(txn).await?;
        if moved || cancelling || f.label != existing.label {
            super::discord::sessions_changed(txn, &[id], now).await?;
        }
        if moved {
            booking::Entity::update_many()
                .col_expr(booking::Column::StartsAt, Expr::value(f.starts_at))
                .col_expr(booking::Column::EndsAt, Expr::value(f.ends_at))
                .filter(booking::Column::SessionId.eq(id))
                .exec(txn)
                .await?;
        }
        if f.per_school_limit != existing.per_school_limit {
            recount_school_seats(txn, id).await?;
        }
        if moved && !cancelling {
            super::outbox::session_changed(txn, id, f.starts_at, true, now).await?;
        }
        let mut summary = Vec::new();
        if cancelling {
            let told = super::booking::cancel_all_for_session(txn, id, now).await?;
            summary.push(format!("{told} booking{} cancelled", if told == 1 { "" } else { "s" }));
        } else if (f.capacity > existing.capacity || f.per_school_limit != existing.per_school_limit)
            && f.starts_at > now
        {
            super::booking::promote_after_change(txn, id, now).await?;
        }
        if moved {
            summary.push(format!("moved to {}", format_local(f.starts_at, zone_of(&event).tz())));
        }
        if f.capacity != existing.capacity {
            summary.push(format!("capacity {} → {}", existing.capacity, f.capacity));
        }
        if f.per_school_limit != existing.per_school_limit {
            let show = |l: Option<i32>| l.map_or_else(|| "none".to_owned(), |n| n.to_string());
            summary.push(format!(
                "per-school limit {} → {}",
                show(existing.per_school_limit),
                show(f.per_school_limit)
            ));
        }
        if f.label != existing.label {
            summary.push("label".to_owned());
        }
        if f.waitlist != existing.waitlist_enabled {
            summary.push(format!("waitlist {}", if f.waitlist { "on" } else { "off" }));
        }
        if summary.is_empty() {
            summary.push("nothing".to_owned());
        }
        change
            .record(
                txn,
                if cancelling {
                    "session.cancelled"
                } else {
                    "session.updated"
                },
                Target("session", id),
                format!("session {id} of event {}: {}", event.id, summary.join("; ")),
            )
            .await?;
        let mut session: Session = find(txn, id).await?.into();
        if moved && !cancelling {
            session.warnings = closed_days::session_warnings(txn, &event, f.starts_at, f.ends_at).await?;
        }
        Ok(session)
    })
    .await
}

/// Refuses to move a session to times that overlap another confirmed booking of someone
/// confirmed on it, naming the first such clash.
async fn refuse_move_into_clash(
    txn: &DatabaseTransaction,
    id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> DomainResult<()> {
    let attendees = Query::select()
        .column(booking::Column::ParticipantId)
        .from(booking::Entity)
        .and_where(Expr::col(booking::Column::SessionId).eq(id))
        .and_where(Expr::col(booking::Column::Status).eq(BookingStatus::Confirmed))
        .to_owned();
    let clash = booking::Entity::find()
        .filter(super::booking::confirmed_overlapping(starts_at, ends_at))
        .filter(booking::Column::SessionId.ne(id))
        .filter(booking::Column::ParticipantId.in_subquery(attendees))
        .one(txn)
        .await?;
    match clash {
        None => Ok(()),
        Some(other) => Err(DomainError::conflict(
            ProblemCode::BookingClash,
            format!(
                "moving session {id} there would give participant {} two overlapping bookings (session {} is at that time)",
                other.participant_id, other.session_id
            ),
            Some("start"),
        )),
    }
}

/// Recounts a session's seats per school from its bookings, after its per-school limit changed
/// (seats are only counted per school while a limit applies).
async fn recount_school_seats(txn: &DatabaseTransaction, id: i64) -> DomainResult<()> {
    session_school_count::Entity::delete_many()
        .filter(session_school_count::Column::SessionId.eq(id))
        .exec(txn)
        .await?;
    // `id` is a number, so it is safe to write into the statement.
    let sql = format!(
        "INSERT INTO session_school_counts (session_id, school_id, booked) \
         SELECT session_id, school_id, COUNT(*) FROM bookings \
         WHERE session_id = {id} AND school_id IS NOT NULL AND status IN ({seated}) \
         GROUP BY session_id, school_id",
        seated = BookingStatus::SEATED.map(|s| format!("'{s}'")).join(", "),
    );
    txn.execute_unprepared(&sql).await?;
    Ok(())
}

/// Deletes a session nobody has booked; a booked session is cancelled instead, so people are told.
/// The session row is locked first, so a booking cannot slip in between the check and the delete.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: i64, change: &Change) -> DomainResult<()> {
    in_write_txn(db, async |txn| {
        let existing = find_for_update(txn, id).await?;
        let booked = booking::Entity::find()
            .filter(booking::Column::SessionId.eq(id))
            .one(txn)
            .await?;
        if booked.is_some() {
            return Err(DomainError::conflict(
                ProblemCode::SessionHasBookings,
                format!("session {id} has bookings; cancel it instead so the people booked are told"),
                None,
            ));
        }
        session::Entity::delete_by_id(id).exec(txn).await?;
        super::discord::sessions_changed(txn, &[id], change.now).await?;
        change
            .record(
                txn,
                "session.deleted",
                Target("session", id),
                format!(
                    "session {id} of event {} deleted (nobody had booked it)",
                    existing.event_id
                ),
            )
            .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_requires_exactly_the_fields_the_parser_requires() {
        let Err(DomainError::Invalid(errors)) = parse(SessionInput::default(), TimeZoneName::UTC, None) else {
            panic!("an empty session was taken");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, REQUIRED_ON_CREATE);
    }
}
