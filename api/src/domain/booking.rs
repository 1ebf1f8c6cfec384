//! Bookings: capacity, waitlist, promotion, clashes and per-school limits, correct under any
//! concurrency on SQLite and PostgreSQL.
//!
//! Every booking change runs in one write transaction (`BEGIN IMMEDIATE` on SQLite). On
//! PostgreSQL the session row is locked first, then the participant's, always in that order,
//! so bookings of one session queue and a person's bookings cannot race past the clash rule.
//! Seats and per-school seats are taken with guarded `UPDATE … WHERE booked < limit`: no count is
//! ever read and written back. Messages go into the outbox in the same transaction.

use chrono::{DateTime, Utc};
use entity::state::{BookingStatus, EventStatus, SessionStatus};
use entity::{api_key, booking, event, participant, school, session, session_school_count};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::{ExprTrait as _, IntoTableRef as _, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    FromQueryResult as _, IdenStatic as _, Iterable as _, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::{Change, Target};
use super::idempotency::{self, IdempotentRequest, StoredResponse};
use super::keys;
use super::outbox::{self, Kind};
use super::page::{Page, PageRequest, fetch_page};
use super::{DomainError, DomainResult, FieldError, Validator, contract, in_write_txn, unknown_reference};
use crate::db::for_update;
use crate::problem_code::ProblemCode;
use crate::time::{TimeZoneName, format_local, format_utc};
pub use crate::wire::booking::Booking;

/// A request to book a session.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    /// Who is booking: a participant who exists and was not erased.
    #[schema(value_type = i64, example = 1)]
    pub participant_id: Option<i64>,
}

impl Booking {
    fn view(m: &booking::Model, waitlist_position: Option<i64>) -> Self {
        Self {
            id: m.id,
            session_id: m.session_id,
            participant_id: m.participant_id,
            status: m.status,
            waitlist_position: if m.status == BookingStatus::Waitlisted {
                waitlist_position
            } else {
                None
            },
            waitlist_reason: if m.status == BookingStatus::Waitlisted {
                m.waitlist_reason.clone()
            } else {
                None
            },
            created_at: format_utc(m.created_at),
            updated_at: format_utc(m.updated_at),
        }
    }
}

/// What booking did: made a new booking, or found the one the person already had.
#[derive(Clone, Debug, PartialEq)]
pub enum Booked {
    /// A new booking (confirmed or waitlisted).
    Created(Booking),
    /// The person already held an active booking for this session; it is returned unchanged.
    Existing(Booking),
    /// A retry of an idempotent request: the first answer, as it was given.
    Replayed(StoredResponse),
}

/// Filters for a session's bookings.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BookingFilter {
    /// Only bookings in this state.
    #[param(value_type = Option<contract::BookingStatus>)]
    pub status: Option<String>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<contract::Cursor>)]
    pub cursor: Option<String>,
}

/// A change of attendance.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    /// `attended` or `no_show` (required).
    #[schema(value_type = contract::AttendanceStatus, example = "attended")]
    pub status: Option<String>,
}

/// One line of a register being marked.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceMark {
    /// Whose attendance: a participant with a confirmed booking for the session (required).
    #[schema(value_type = i64)]
    pub participant_id: Option<i64>,
    /// `attended` or `no_show` (required).
    #[schema(value_type = contract::AttendanceStatus)]
    pub status: Option<String>,
}

/// Attendance for many people of one session at once: all are marked, or none.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceSheet {
    /// The marks (at least one).
    #[schema(value_type = Vec<AttendanceMark>, min_items = 1)]
    pub marks: Option<Vec<AttendanceMark>>,
}

/// The session, its event and the person booking it, the session and the person locked for the
/// rest of the transaction, in one query (the event, not locked, says whether the session is open).
/// Refusals come in the order a person would want them: no such session, a session not open for
/// booking, then no such person. With `live_key`, the query also checks that key is still live,
/// and a revoked key is refused before anything else.
async fn lock_session_and_person(
    txn: &DatabaseTransaction,
    session_id: i64,
    participant_id: i64,
    live_key: Option<i64>,
    now: DateTime<Utc>,
) -> DomainResult<(session::Model, event::Model, participant::Model)> {
    let backend = txn.get_database_backend();
    let mut select = session::Entity::find_by_id(session_id).find_also_related(event::Entity);
    let query = QueryTrait::query(&mut select);
    let mut person = Expr::col((participant::Entity, participant::Column::Id))
        .eq(participant_id)
        .and(Expr::col((participant::Entity, participant::Column::ErasedAt)).is_null());
    if let Some(key) = live_key {
        person = person.and(Expr::exists(
            sea_orm::sea_query::Query::select()
                .expr(Expr::val(1))
                .from(api_key::Entity)
                .and_where(Expr::col((api_key::Entity, api_key::Column::Id)).eq(key))
                .and_where(Expr::col((api_key::Entity, api_key::Column::RevokedAt)).is_null())
                .to_owned(),
        ));
    }
    query.join(JoinType::InnerJoin, participant::Entity, person);
    for column in participant::Column::iter() {
        query.expr_as(
            column.select_as(Expr::col((participant::Entity, column))),
            format!("{PERSON}{}", column.as_str()),
        );
    }
    if backend == sea_orm::DatabaseBackend::Postgres {
        // NO KEY UPDATE, as `db::for_update` says why: foreign key checks of other
        // transactions (the worker's writes) neither wait for it nor make it wait.
        query.lock_with_tables(
            LockType::NoKeyUpdate,
            [session::Entity.into_table_ref(), participant::Entity.into_table_ref()],
        );
    }
    if let Some(row) = txn.query_one(&*query).await? {
        let session = session::Model::from_query_result(&row, "A_")?;
        let event = event::Model::from_query_result(&row, "B_")?;
        let person = participant::Model::from_query_result(&row, PERSON)?;
        check_open(&event, &session, now)?;
        return Ok((session, event, person));
    }
    if let Some(key) = live_key {
        ensure_live(txn, key).await?;
    }
    let Some((session, Some(event))) = session::Entity::find_by_id(session_id)
        .find_also_related(event::Entity)
        .one(txn)
        .await?
    else {
        return Err(DomainError::not_found("session", session_id));
    };
    check_open(&event, &session, now)?;
    Err(unknown_reference("participant_id", "participant", participant_id))
}

/// The prefix of the person's columns in [`lock_session_and_person`] (the session's and the
/// event's are sea-orm's own `A_` and `B_`).
const PERSON: &str = "C_";

/// Refuses bookings on sessions that are not open: unpublished, cancelled or already started.
fn check_open(event: &event::Model, session: &session::Model, now: DateTime<Utc>) -> DomainResult<()> {
    let refuse = |code, detail: String| Err(DomainError::conflict(code, detail, None));
    match event.status {
        EventStatus::Cancelled => {
            return refuse(ProblemCode::EventCancelled, format!("event {} was cancelled", event.id));
        }
        EventStatus::Published => {}
        EventStatus::Draft => {
            return refuse(
                ProblemCode::EventNotPublished,
                format!("event {} is not published yet", event.id),
            );
        }
    }
    if session.status == SessionStatus::Cancelled {
        return refuse(
            ProblemCode::SessionCancelled,
            format!("session {} was cancelled", session.id),
        );
    }
    if session.starts_at <= now {
        return refuse(
            ProblemCode::SessionStarted,
            format!("session {} started at {}", session.id, format_utc(session.starts_at)),
        );
    }
    Ok(())
}

/// Takes one seat for a school if the session limits seats per school. `Ok(true)` when a seat
/// was taken (or no limit applies), `Ok(false)` when the school's seats are all taken.
async fn take_school_seat<C: ConnectionTrait>(
    txn: &C,
    session: &session::Model,
    school_id: Option<i64>,
) -> DomainResult<bool> {
    let (Some(limit), Some(school_id)) = (session.per_school_limit, school_id) else {
        return Ok(true);
    };
    session_school_count::Entity::insert(session_school_count::ActiveModel {
        session_id: Set(session.id),
        school_id: Set(school_id),
        booked: Set(0),
    })
    .on_conflict(
        OnConflict::columns([
            session_school_count::Column::SessionId,
            session_school_count::Column::SchoolId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .try_insert()
    .exec_without_returning(txn)
    .await?;
    let taken = session_school_count::Entity::update_many()
        .col_expr(
            session_school_count::Column::Booked,
            Expr::col(session_school_count::Column::Booked).add(1),
        )
        .filter(session_school_count::Column::SessionId.eq(session.id))
        .filter(session_school_count::Column::SchoolId.eq(school_id))
        .filter(Expr::col(session_school_count::Column::Booked).lt(limit))
        .exec(txn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Gives a school's seat back (when the session seat could not be had, or on cancellation).
async fn release_school_seat<C: ConnectionTrait>(
    txn: &C,
    session: &session::Model,
    school_id: Option<i64>,
) -> DomainResult<()> {
    let (Some(_), Some(school_id)) = (session.per_school_limit, school_id) else {
        return Ok(());
    };
    session_school_count::Entity::update_many()
        .col_expr(
            session_school_count::Column::Booked,
            Expr::col(session_school_count::Column::Booked).sub(1),
        )
        .filter(session_school_count::Column::SessionId.eq(session.id))
        .filter(session_school_count::Column::SchoolId.eq(school_id))
        .filter(Expr::col(session_school_count::Column::Booked).gt(0))
        .exec(txn)
        .await?;
    Ok(())
}

/// Takes one seat of the session if one is free. (On PostgreSQL [`confirm_at_once`] runs the
/// same guarded update in its SQL: change both together.)
async fn take_seat<C: ConnectionTrait>(txn: &C, session_id: i64) -> DomainResult<bool> {
    let taken = session::Entity::update_many()
        .col_expr(session::Column::Booked, Expr::col(session::Column::Booked).add(1))
        .filter(session::Column::Id.eq(session_id))
        .filter(Expr::col(session::Column::Booked).lt(Expr::col(session::Column::Capacity)))
        .exec(txn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Gives one seat back.
async fn release_seat<C: ConnectionTrait>(txn: &C, session_id: i64) -> DomainResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::Booked, Expr::col(session::Column::Booked).sub(1))
        .filter(session::Column::Id.eq(session_id))
        .filter(Expr::col(session::Column::Booked).gt(0))
        .exec(txn)
        .await?;
    Ok(())
}

/// Takes a school seat and a session seat together; `Err(reason)` names what was full.
async fn take_seats<C: ConnectionTrait>(
    txn: &C,
    session: &session::Model,
    school_id: Option<i64>,
) -> DomainResult<Result<(), &'static str>> {
    if !take_school_seat(txn, session, school_id).await? {
        return Ok(Err("per_school_limit"));
    }
    if !take_seat(txn, session.id).await? {
        release_school_seat(txn, session, school_id).await?;
        return Ok(Err("capacity"));
    }
    Ok(Ok(()))
}

/// Confirmed bookings whose times overlap `[starts_at, ends_at)` (back to back is no overlap).
/// [`confirm_at_once`] states the same rule in its SQL: change both together.
pub(crate) fn confirmed_overlapping(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(booking::Column::Status.eq(BookingStatus::Confirmed))
        .add(booking::Column::StartsAt.lt(ends_at))
        .add(booking::Column::EndsAt.gt(starts_at))
}

/// The confirmed booking of `participant_id` that overlaps `[starts_at, ends_at)`, outside `except_session`.
async fn clash_of<C: ConnectionTrait>(
    txn: &C,
    participant_id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    except_session: i64,
) -> DomainResult<Option<booking::Model>> {
    Ok(booking::Entity::find()
        .filter(booking::Column::ParticipantId.eq(participant_id))
        .filter(confirmed_overlapping(starts_at, ends_at))
        .filter(booking::Column::SessionId.ne(except_session))
        .one(txn)
        .await?)
}

/// The error naming the session a booking clashes with.
async fn clash_error<C: ConnectionTrait>(txn: &C, other: &booking::Model) -> DomainError {
    let described = async {
        let session = session::Entity::find_by_id(other.session_id).one(txn).await.ok()??;
        let event = event::Entity::find_by_id(session.event_id).one(txn).await.ok()??;
        let zone = TimeZoneName::parse(&session.time_zone)
            .unwrap_or(TimeZoneName::UTC)
            .tz();
        Some(format!(
            "it overlaps session {} of '{}' ({} to {}, {}), which is already booked",
            session.id,
            event.title,
            format_local(session.starts_at, zone),
            format_local(session.ends_at, zone),
            session.time_zone
        ))
    }
    .await;
    DomainError::conflict(
        ProblemCode::BookingClash,
        described.unwrap_or_else(|| format!("it overlaps session {}, which is already booked", other.session_id)),
        None,
    )
}

/// The place of a waitlisted booking in its session's queue (1 is next).
pub(crate) async fn waitlist_position<C: ConnectionTrait>(txn: &C, b: &booking::Model) -> DomainResult<Option<i64>> {
    if b.status != BookingStatus::Waitlisted {
        return Ok(None);
    }
    let ahead = booking::Entity::find()
        .filter(booking::Column::SessionId.eq(b.session_id))
        .filter(booking::Column::Status.eq(BookingStatus::Waitlisted))
        .filter(booking::Column::Id.lte(b.id))
        .count(txn)
        .await?;
    Ok(Some(i64::try_from(ahead).unwrap_or(i64::MAX)))
}

/// A person's active booking and any clash with the session, in one query. [`confirm_at_once`]
/// checks the same in its SQL (the test of both paths writing the same rows keeps them alike).
async fn existing_and_clash<C: ConnectionTrait>(
    txn: &C,
    participant_id: i64,
    session: &session::Model,
) -> DomainResult<(Option<booking::Model>, Option<booking::Model>)> {
    let rows = booking::Entity::find()
        .filter(booking::Column::ParticipantId.eq(participant_id))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(booking::Column::SessionId.eq(session.id))
                        .add(booking::Column::Status.is_in(BookingStatus::ACTIVE)),
                )
                .add(confirmed_overlapping(session.starts_at, session.ends_at)),
        )
        .all(txn)
        .await?;
    let (mine, others): (Vec<_>, Vec<_>) = rows.into_iter().partition(|b| b.session_id == session.id);
    Ok((mine.into_iter().next(), others.into_iter().next()))
}

/// The common case in one statement, on PostgreSQL: a free seat, no booking of this session
/// and no clash, so the seat is taken and the booking and its messages are written at once. The
/// checks are those of the general path below ([`existing_and_clash`], [`take_seat`]); they run
/// after [`lock_session_and_person`], so their snapshot sees every booking of this person. `None`
/// (and nothing written) when any check fails, when the session limits seats per school, or on
/// SQLite: the general path then finds out why and answers. The rules are restated in SQL here;
/// `the_one_statement_booking_and_the_general_path_answer_every_case_alike` (tests/…/bookings.rs)
/// plays each case (a free seat, full with and without a waitlist, a seat held, a clash) on both
/// paths and checks they answer and write alike.
async fn confirm_at_once(
    txn: &DatabaseTransaction,
    session: &session::Model,
    person: &participant::Model,
    now: DateTime<Utc>,
) -> DomainResult<Option<booking::Model>> {
    if txn.get_database_backend() != sea_orm::DatabaseBackend::Postgres || session.per_school_limit.is_some() {
        return Ok(None);
    }
    let payload = serde_json::json!({"waitlist_position": null, "waitlist_reason": null});
    let messages = outbox::booking_rows(
        person,
        Kind::BookingConfirmed,
        None,
        session.id,
        session.starts_at,
        payload,
        now,
        now,
    );
    let mut values: Vec<sea_orm::Value> = vec![
        session.id.into(),
        person.id.into(),
        session.starts_at.into(),
        session.ends_at.into(),
        person.school_id.into(),
        now.into(),
        BookingStatus::ACTIVE[0].as_str().into(),
        BookingStatus::ACTIVE[1].as_str().into(),
    ];
    let mut rows = Vec::with_capacity(messages.len());
    for message in messages {
        let n = values.len();
        rows.push(format!(
            "(${}::varchar, ${}::varchar, ${}::jsonb, ${}::timestamptz)",
            n + 1,
            n + 2,
            n + 3,
            n + 4
        ));
        for value in [
            message.channel.into_value(),
            message.kind.into_value(),
            message.payload.into_value(),
            message.due_at.into_value(),
        ] {
            values.push(
                value.ok_or_else(|| {
                    DomainError::Database(sea_orm::DbErr::Custom("an outbox row lacks a value".into()))
                })?,
            );
        }
    }
    // The tables by their entities' names, so a renamed table cannot leave this statement behind.
    let (sessions, bookings, notifications) = (
        sea_orm::EntityName::table_name(&session::Entity),
        sea_orm::EntityName::table_name(&booking::Entity),
        sea_orm::EntityName::table_name(&entity::notification::Entity),
    );
    let queue = if rows.is_empty() {
        String::new()
    } else {
        format!(
            ", queued AS (
                INSERT INTO {notifications} (channel, kind, participant_id, booking_id, session_id, payload, due_at, state, attempts, created_at, updated_at)
                SELECT m.channel, m.kind, $2, booking.id, $1, m.payload, m.due_at, 'pending', 0, $6, $6
                FROM booking CROSS JOIN (VALUES {}) AS m (channel, kind, payload, due_at)
            )",
            rows.join(", ")
        )
    };
    let sql = format!(
        "WITH seat AS (
            UPDATE {sessions} SET booked = booked + 1
            WHERE id = $1 AND booked < capacity AND NOT EXISTS (
                SELECT 1 FROM {bookings}
                WHERE participant_id = $2
                  AND ((session_id = $1 AND status IN ($7, $8))
                       OR (status = $7 AND starts_at < $4 AND ends_at > $3))
            )
            RETURNING id
        ), booking AS (
            INSERT INTO {bookings} (session_id, participant_id, school_id, status, waitlist_reason, starts_at, ends_at, created_at, updated_at, confirmed_at, cancelled_at)
            SELECT $1, $2, $5, $7, NULL, $3, $4, $6, $6, $6, NULL FROM seat
            RETURNING *
        ){queue}
        SELECT * FROM booking"
    );
    let statement = sea_orm::Statement::from_sql_and_values(sea_orm::DatabaseBackend::Postgres, sql, values);
    match txn.query_one_raw(statement).await? {
        Some(row) => Ok(Some(booking::Model::from_query_result(&row, "")?)),
        None => Ok(None),
    }
}

/// Who asks for a booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Booker {
    /// An organiser, who may book anyone onto any open session; with their key's id, only while
    /// that key is live.
    Organiser(Option<i64>),
    /// The participant themself (the bot, `/v1/me`, `/p`): a triad's visit only if invited to it.
    Participant,
}

/// Books `input.participant_id` onto session `session_id`: a seat if one is free (and their
/// school is under its limit), else the waitlist in arrival order. A person who already holds an
/// active booking for the session gets it back. With an idempotency key, a retry gets the first answer.
#[tracing::instrument(skip(db, input, idempotent))]
pub async fn book(
    db: &DatabaseConnection,
    session_id: i64,
    input: &BookingInput,
    idempotent: Option<&IdempotentRequest>,
    booker: Booker,
    change: &Change,
) -> DomainResult<Booked> {
    let now = change.now;
    let live_key = match booker {
        Booker::Organiser(key) => key,
        Booker::Participant => None,
    };
    let Some(participant_id) = input.participant_id else {
        // A revoked key hears that first, as for any other refusal (and stores no answer).
        if let Some(key) = live_key {
            ensure_live(db, key).await?;
        }
        return Err(DomainError::Invalid(vec![FieldError::new(
            "participant_id",
            "is required",
        )]));
    };
    in_write_txn(db, async |txn| {
        let mut live_key = live_key;
        if let Some(request) = idempotent {
            // Checked before the key's stored answers are read, so a revoked key gets none.
            if let Some(key) = live_key.take() {
                ensure_live(txn, key).await?;
            }
            if let Some(stored) = idempotency::claim(txn, request, now).await? {
                return Ok(Booked::Replayed(stored));
            }
        }
        let booked = book_as(txn, session_id, participant_id, live_key, booker, now).await?;
        if let Booked::Created(b) = &booked {
            record_booked(txn, change, b).await?;
        }
        if let Some(request) = idempotent {
            let (status, view) = match &booked {
                Booked::Created(b) => (201, b),
                Booked::Existing(b) => (200, b),
                Booked::Replayed(_) => return Ok(booked),
            };
            let body = serde_json::to_string(view).unwrap_or_default();
            idempotency::save(txn, request, &StoredResponse { status, body }).await?;
        }
        Ok(booked)
    })
    .await
}

/// Writes the audit row of a new booking.
async fn record_booked<C: ConnectionTrait>(txn: &C, change: &Change, b: &Booking) -> DomainResult<()> {
    let (action, how) = match b.waitlist_position {
        Some(position) => ("booking.waitlisted", format!("waitlisted at position {position}")),
        None => ("booking.created", "confirmed".to_owned()),
    };
    change
        .record(
            txn,
            action,
            Target("booking", b.id),
            format!("participant {} on session {}: {how}", b.participant_id, b.session_id),
        )
        .await
}

/// Books as [`book`] does, inside `txn`, for a caller already checked (a triad's visits).
pub(crate) async fn book_in(
    txn: &DatabaseTransaction,
    session_id: i64,
    participant_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<Booked> {
    book_as(txn, session_id, participant_id, None, Booker::Organiser(None), now).await
}

/// Refuses a key revoked since this process last found it live.
async fn ensure_live<C: ConnectionTrait>(db: &C, key: i64) -> DomainResult<()> {
    if keys::is_live(db, key).await? {
        Ok(())
    } else {
        Err(DomainError::KeyRevoked)
    }
}

/// Books inside `txn`; with `live_key`, only while that key is live (checked by the query that
/// locks the session, so it costs no extra round trip). A participant booking themself onto a
/// triad's visit must be invited to it (one more read, for those sessions only).
async fn book_as(
    txn: &DatabaseTransaction,
    session_id: i64,
    participant_id: i64,
    live_key: Option<i64>,
    booker: Booker,
    now: DateTime<Utc>,
) -> DomainResult<Booked> {
    let (session, event, person) = lock_session_and_person(txn, session_id, participant_id, live_key, now).await?;
    if booker == Booker::Participant && event.kind == super::event::PRIVATE_KIND {
        super::cohort::ensure_invited(txn, session_id, &person).await?;
    }
    if let Some(row) = confirm_at_once(txn, &session, &person, now).await? {
        return Ok(Booked::Created(Booking::view(&row, None)));
    }

    let (existing, clash) = existing_and_clash(txn, participant_id, &session).await?;
    if let Some(existing) = existing {
        let position = waitlist_position(txn, &existing).await?;
        return Ok(Booked::Existing(Booking::view(&existing, position)));
    }
    if let Some(other) = clash {
        return Err(clash_error(txn, &other).await);
    }

    let waitlist_reason = take_seats(txn, &session, person.school_id).await?.err();
    if let Some(reason) = waitlist_reason
        && !session.waitlist_enabled
    {
        let (code, detail) = match reason {
            "per_school_limit" => (
                ProblemCode::PerSchoolLimitReached,
                format!(
                    "session {session_id} allows {} people per school and has no waitlist",
                    session.per_school_limit.unwrap_or(0)
                ),
            ),
            _ => (
                ProblemCode::SessionFull,
                format!("session {session_id} is full and has no waitlist"),
            ),
        };
        return Err(DomainError::conflict(code, detail, None));
    }
    let status = if waitlist_reason.is_some() {
        BookingStatus::Waitlisted
    } else {
        BookingStatus::Confirmed
    };
    let row = booking::ActiveModel {
        session_id: Set(session_id),
        participant_id: Set(participant_id),
        school_id: Set(person.school_id),
        status: Set(status),
        waitlist_reason: Set(waitlist_reason.map(str::to_owned)),
        starts_at: Set(session.starts_at),
        ends_at: Set(session.ends_at),
        created_at: Set(now),
        updated_at: Set(now),
        confirmed_at: Set((status == BookingStatus::Confirmed).then_some(now)),
        cancelled_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let position = waitlist_position(txn, &row).await?;
    let kind = if status == BookingStatus::Confirmed {
        Kind::BookingConfirmed
    } else {
        Kind::BookingWaitlisted
    };
    let payload = serde_json::json!({"waitlist_position": position, "waitlist_reason": waitlist_reason});
    outbox::notify_booking(
        txn,
        &person,
        kind,
        row.id,
        session_id,
        session.starts_at,
        payload,
        now,
        now,
    )
    .await?;
    Ok(Booked::Created(Booking::view(&row, position)))
}

/// Fills free seats from the waitlist in arrival order, skipping people whose school is at its
/// limit or who now hold a clashing booking; tells each person promoted. Returns their bookings' ids.
pub async fn promote(
    txn: &DatabaseTransaction,
    session: &session::Model,
    now: DateTime<Utc>,
) -> DomainResult<Vec<i64>> {
    let mut promoted = Vec::new();
    let mut after = 0;
    loop {
        let fresh = session::Entity::find_by_id(session.id).one(txn).await?;
        if fresh.is_none_or(|s| s.booked >= s.capacity) {
            return Ok(promoted);
        }
        let candidates = booking::Entity::find()
            .filter(booking::Column::SessionId.eq(session.id))
            .filter(booking::Column::Status.eq(BookingStatus::Waitlisted))
            .filter(booking::Column::Id.gt(after))
            .order_by_asc(booking::Column::Id)
            .limit(50)
            .all(txn)
            .await?;
        if candidates.is_empty() {
            return Ok(promoted);
        }
        for candidate in candidates {
            after = candidate.id;
            let person = for_update(
                participant::Entity::find_by_id(candidate.participant_id),
                txn.get_database_backend(),
            )
            .one(txn)
            .await?;
            let Some(person) = person else { continue };
            if clash_of(txn, person.id, candidate.starts_at, candidate.ends_at, session.id)
                .await?
                .is_some()
            {
                continue;
            }
            match take_seats(txn, session, candidate.school_id).await? {
                Ok(()) => {}
                Err("capacity") => return Ok(promoted),
                Err(_) => continue,
            }
            let flipped = booking::Entity::update_many()
                .col_expr(booking::Column::Status, Expr::value(BookingStatus::Confirmed))
                .col_expr(booking::Column::WaitlistReason, Expr::value(Option::<String>::None))
                .col_expr(booking::Column::ConfirmedAt, Expr::value(now))
                .col_expr(booking::Column::UpdatedAt, Expr::value(now))
                .filter(booking::Column::Id.eq(candidate.id))
                .filter(booking::Column::Status.eq(BookingStatus::Waitlisted))
                .exec(txn)
                .await?;
            if flipped.rows_affected == 0 {
                release_seat(txn, session.id).await?;
                release_school_seat(txn, session, candidate.school_id).await?;
                continue;
            }
            outbox::notify_booking(
                txn,
                &person,
                Kind::BookingPromoted,
                candidate.id,
                session.id,
                session.starts_at,
                serde_json::json!({}),
                now,
                now,
            )
            .await?;
            promoted.push(candidate.id);
        }
    }
}

/// After `cancelled` (a confirmed booking) is cancelled, its person may take seats they were
/// passed over for because of it: re-runs promotion on the sessions where they wait at
/// overlapping times.
async fn reoffer_freed_by(
    txn: &DatabaseTransaction,
    cancelled: &booking::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let waiting = booking::Entity::find()
        .filter(booking::Column::ParticipantId.eq(cancelled.participant_id))
        .filter(booking::Column::Status.eq(BookingStatus::Waitlisted))
        .filter(booking::Column::StartsAt.lt(cancelled.ends_at))
        .filter(booking::Column::EndsAt.gt(cancelled.starts_at))
        .filter(booking::Column::SessionId.ne(cancelled.session_id))
        .all(txn)
        .await?;
    for w in waiting {
        let session = super::session::find_for_update(txn, w.session_id).await?;
        if session.starts_at > now && session.status != SessionStatus::Cancelled {
            promote(txn, &session, now).await?;
        }
    }
    Ok(())
}

/// Reads a booking row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<booking::Model> {
    booking::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("booking", id))
}

/// A person's active (confirmed or waitlisted) bookings among `session_ids`, each with its
/// waitlist position.
pub async fn active_for_person<C: ConnectionTrait>(
    db: &C,
    participant_id: i64,
    session_ids: &[i64],
) -> DomainResult<Vec<(booking::Model, Option<i64>)>> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = booking::Entity::find()
        .filter(booking::Column::ParticipantId.eq(participant_id))
        .filter(booking::Column::SessionId.is_in(session_ids.iter().copied()))
        .filter(booking::Column::Status.is_in(BookingStatus::ACTIVE))
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for b in rows {
        let position = waitlist_position(db, &b).await?;
        out.push((b, position));
    }
    Ok(out)
}

/// Reads a booking, with its waitlist position.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Booking> {
    let b = find(db, id).await?;
    let position = waitlist_position(db, &b).await?;
    Ok(Booking::view(&b, position))
}

/// Cancels a booking. A confirmed one frees its seat, which goes to the head of the waitlist in
/// the same transaction. Cancelling a cancelled booking again changes nothing.
#[tracing::instrument(skip(db))]
pub async fn cancel(db: &DatabaseConnection, booking_id: i64, change: &Change) -> DomainResult<Booking> {
    let now = change.now;
    in_write_txn(db, async |txn| {
        let current = find(txn, booking_id).await?;
        let session = super::session::find_for_update(txn, current.session_id).await?;
        let current = find(txn, booking_id).await?;
        match current.status {
            BookingStatus::Cancelled => return Ok(Booking::view(&current, None)),
            BookingStatus::Attended | BookingStatus::NoShow => {
                return Err(DomainError::conflict(
                    ProblemCode::BookingAttendanceMarked,
                    format!(
                        "booking {booking_id} is marked {}; it can no longer be cancelled",
                        current.status
                    ),
                    None,
                ));
            }
            _ => {}
        }
        booking::Entity::update_many()
            .col_expr(booking::Column::Status, Expr::value(BookingStatus::Cancelled))
            .col_expr(booking::Column::CancelledAt, Expr::value(now))
            .col_expr(booking::Column::UpdatedAt, Expr::value(now))
            .filter(booking::Column::Id.eq(booking_id))
            .exec(txn)
            .await?;
        if current.status == BookingStatus::Confirmed {
            release_seat(txn, session.id).await?;
            release_school_seat(txn, &session, current.school_id).await?;
        }
        if let Some(person) = participant::Entity::find_by_id(current.participant_id).one(txn).await? {
            outbox::notify_booking(
                txn,
                &person,
                Kind::BookingCancelled,
                booking_id,
                session.id,
                session.starts_at,
                serde_json::json!({}),
                now,
                now,
            )
            .await?;
        }
        let promoted = if current.status == BookingStatus::Confirmed && session.starts_at > now {
            promote(txn, &session, now).await?
        } else {
            Vec::new()
        };
        let mut summary = format!(
            "participant {} on session {} (was {})",
            current.participant_id, session.id, current.status
        );
        if !promoted.is_empty() {
            summary.push_str(&format!(
                "; promoted from the waitlist: booking{} {}",
                if promoted.len() == 1 { "" } else { "s" },
                promoted.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        change
            .record(txn, "booking.cancelled", Target("booking", booking_id), summary)
            .await?;
        if current.status == BookingStatus::Confirmed {
            reoffer_freed_by(txn, &current, now).await?;
        }
        Ok(Booking::view(&find(txn, booking_id).await?, None))
    })
    .await
}

/// Cancels every active booking of a session that is itself being cancelled, frees its seats and
/// tells everyone who was booked or waiting. Runs inside the caller's transaction.
pub async fn cancel_all_for_session(
    txn: &DatabaseTransaction,
    session_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<usize> {
    let active = booking::Entity::find()
        .filter(booking::Column::SessionId.eq(session_id))
        .filter(booking::Column::Status.is_in(BookingStatus::ACTIVE))
        .all(txn)
        .await?;
    booking::Entity::update_many()
        .col_expr(booking::Column::Status, Expr::value(BookingStatus::Cancelled))
        .col_expr(booking::Column::CancelledAt, Expr::value(now))
        .col_expr(booking::Column::UpdatedAt, Expr::value(now))
        .filter(booking::Column::SessionId.eq(session_id))
        .filter(booking::Column::Status.is_in(BookingStatus::ACTIVE))
        .exec(txn)
        .await?;
    session::Entity::update_many()
        .col_expr(session::Column::Booked, Expr::value(0))
        .filter(session::Column::Id.eq(session_id))
        .exec(txn)
        .await?;
    session_school_count::Entity::delete_many()
        .filter(session_school_count::Column::SessionId.eq(session_id))
        .exec(txn)
        .await?;
    let people = participant::Entity::find()
        .filter(participant::Column::Id.is_in(active.iter().map(|b| b.participant_id)))
        .all(txn)
        .await?;
    for b in &active {
        if let Some(person) = people.iter().find(|p| p.id == b.participant_id) {
            let payload = serde_json::json!({"was": b.status});
            outbox::notify_booking(
                txn,
                person,
                Kind::SessionCancelled,
                b.id,
                session_id,
                b.starts_at,
                payload,
                now,
                now,
            )
            .await?;
        }
    }
    Ok(active.len())
}

/// Lists a session's bookings in arrival order, with waitlist positions.
pub async fn list_for_session<C: ConnectionTrait>(
    db: &C,
    session_id: i64,
    filter: &BookingFilter,
    page: PageRequest,
) -> DomainResult<Page<Booking>> {
    super::session::find(db, session_id).await?;
    let mut v = Validator::new();
    let status = filter
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| v.state("status", Some(s.to_owned()), BookingStatus::ALL));
    v.finish()?;
    let mut query = booking::Entity::find().filter(booking::Column::SessionId.eq(session_id));
    if let Some(status) = status {
        query = query.filter(booking::Column::Status.eq(status));
    }
    let rows = fetch_page(db, query, booking::Column::Id, |m| m.id, page).await?;
    // Positions: the waitlisted ahead of this page, then counting along it.
    let mut position = match rows.items.iter().find(|b| b.status == BookingStatus::Waitlisted) {
        Some(first) => waitlist_position(db, first).await?.unwrap_or(1) - 1,
        None => 0,
    };
    Ok(rows.map(|b| {
        let here = if b.status == BookingStatus::Waitlisted {
            position += 1;
            Some(position)
        } else {
            None
        };
        Booking::view(&b, here)
    }))
}

fn attendance_status(v: &mut Validator, field: &str, status: Option<String>) -> BookingStatus {
    v.state(field, status, &BookingStatus::ATTENDANCE)
        .unwrap_or(BookingStatus::Attended)
}

/// Marks whether someone came, once the session has started. Only seated bookings are marked.
async fn mark_in(
    txn: &DatabaseTransaction,
    b: &booking::Model,
    status: BookingStatus,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if !BookingStatus::SEATED.contains(&b.status) {
        return Err(DomainError::conflict(
            ProblemCode::BookingNotConfirmed,
            format!(
                "booking {} is {}; only confirmed bookings are marked attended or no-show",
                b.id, b.status
            ),
            None,
        ));
    }
    booking::Entity::update_many()
        .col_expr(booking::Column::Status, Expr::value(status))
        .col_expr(booking::Column::UpdatedAt, Expr::value(now))
        .filter(booking::Column::Id.eq(b.id))
        .filter(booking::Column::Status.is_in(BookingStatus::SEATED))
        .exec(txn)
        .await?;
    Ok(())
}

fn check_started(session: &session::Model, now: DateTime<Utc>) -> DomainResult<()> {
    if session.starts_at > now {
        return Err(DomainError::conflict(
            ProblemCode::SessionNotStarted,
            format!(
                "session {} starts at {}; attendance is marked once it has started",
                session.id,
                format_utc(session.starts_at)
            ),
            None,
        ));
    }
    Ok(())
}

/// Marks one booking `attended` or `no_show`.
#[tracing::instrument(skip(db, input))]
pub async fn mark_attendance(
    db: &DatabaseConnection,
    booking_id: i64,
    input: AttendanceInput,
    change: &Change,
) -> DomainResult<Booking> {
    let now = change.now;
    let mut v = Validator::new();
    let status = attendance_status(&mut v, "status", input.status);
    v.finish()?;
    in_write_txn(db, async |txn| {
        let session = super::session::find_for_update(txn, find(txn, booking_id).await?.session_id).await?;
        check_started(&session, now)?;
        // Read again under the session's lock: a cancellation may have just committed.
        let b = find(txn, booking_id).await?;
        mark_in(txn, &b, status, now).await?;
        record_marked(txn, change, &b, status).await?;
        Ok(Booking::view(&find(txn, booking_id).await?, None))
    })
    .await
}

/// Marks a whole register at once: every mark is checked first, and either all are made or none.
#[tracing::instrument(skip(db, sheet))]
pub async fn mark_register(
    db: &DatabaseConnection,
    session_id: i64,
    sheet: AttendanceSheet,
    change: &Change,
) -> DomainResult<Vec<Booking>> {
    let now = change.now;
    let mut v = Validator::new();
    let marks = sheet.marks.unwrap_or_default();
    if marks.is_empty() {
        v.fail("marks", "list at least one {participant_id, status}");
    }
    let checked: Vec<(i64, BookingStatus)> = marks
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let status = attendance_status(&mut v, &format!("marks[{i}].status"), m.status);
            let id = m.participant_id.unwrap_or_else(|| {
                v.fail(format!("marks[{i}].participant_id"), "is required");
                0
            });
            (id, status)
        })
        .collect();
    v.finish()?;
    in_write_txn(db, async |txn| {
        let session = super::session::find_for_update(txn, session_id).await?;
        check_started(&session, now)?;
        let mut marked = Vec::with_capacity(checked.len());
        for (i, (participant_id, status)) in checked.iter().enumerate() {
            let b = booking::Entity::find()
                .filter(booking::Column::SessionId.eq(session_id))
                .filter(booking::Column::ParticipantId.eq(*participant_id))
                .filter(booking::Column::Status.is_in(BookingStatus::SEATED))
                .one(txn)
                .await?
                .ok_or_else(|| {
                    DomainError::Invalid(vec![FieldError::new(
                        format!("marks[{i}].participant_id"),
                        format!("participant {participant_id} holds no confirmed booking for session {session_id}"),
                    )])
                })?;
            mark_in(txn, &b, *status, now).await?;
            record_marked(txn, change, &b, *status).await?;
            marked.push(b.id);
        }
        let rows = booking::Entity::find()
            .filter(booking::Column::Id.is_in(marked))
            .order_by_asc(booking::Column::Id)
            .all(txn)
            .await?;
        Ok(rows.iter().map(|b| Booking::view(b, None)).collect())
    })
    .await
}

/// Writes the audit row of an attendance mark.
async fn record_marked<C: ConnectionTrait>(
    txn: &C,
    change: &Change,
    b: &booking::Model,
    status: BookingStatus,
) -> DomainResult<()> {
    change
        .record(
            txn,
            "attendance.marked",
            Target("booking", b.id),
            format!("participant {} on session {}: {status}", b.participant_id, b.session_id),
        )
        .await
}

/// Records someone at the door as attended: their seat if they hold one, their waitlist place
/// turned into a seat, or a new booking for someone who came without one (a seat beyond the
/// capacity if need be: they are in the room). Only once the session has started.
#[tracing::instrument(skip(db))]
pub async fn walk_in(
    db: &DatabaseConnection,
    session_id: i64,
    participant_id: i64,
    change: &Change,
) -> DomainResult<Booking> {
    let now = change.now;
    in_write_txn(db, async |txn| {
        let session = super::session::find_for_update(txn, session_id).await?;
        check_started(&session, now)?;
        if session.status == entity::state::SessionStatus::Cancelled {
            return Err(DomainError::conflict(
                ProblemCode::SessionCancelled,
                format!("session {session_id} was cancelled"),
                None,
            ));
        }
        let person = participant::Entity::find_by_id(participant_id)
            .one(txn)
            .await?
            .filter(|p| p.erased_at.is_none())
            .ok_or_else(|| unknown_reference("participant_id", "participant", participant_id))?;
        let held = booking::Entity::find()
            .filter(booking::Column::SessionId.eq(session_id))
            .filter(booking::Column::ParticipantId.eq(participant_id))
            .filter(booking::Column::Status.is_in([
                BookingStatus::Confirmed,
                BookingStatus::Waitlisted,
                BookingStatus::Attended,
                BookingStatus::NoShow,
            ]))
            .order_by_desc(booking::Column::Id)
            .one(txn)
            .await?;
        let id = match held {
            Some(b) if BookingStatus::SEATED.contains(&b.status) => {
                mark_in(txn, &b, BookingStatus::Attended, now).await?;
                b.id
            }
            Some(b) => {
                booking::Entity::update_many()
                    .col_expr(booking::Column::Status, Expr::value(BookingStatus::Attended))
                    .col_expr(booking::Column::ConfirmedAt, Expr::value(now))
                    .col_expr(booking::Column::UpdatedAt, Expr::value(now))
                    .filter(booking::Column::Id.eq(b.id))
                    .exec(txn)
                    .await?;
                add_seat_at_door(txn, &session, person.school_id).await?;
                b.id
            }
            None => {
                let row = booking::ActiveModel {
                    session_id: Set(session_id),
                    participant_id: Set(participant_id),
                    school_id: Set(person.school_id),
                    status: Set(BookingStatus::Attended),
                    waitlist_reason: Set(None),
                    starts_at: Set(session.starts_at),
                    ends_at: Set(session.ends_at),
                    created_at: Set(now),
                    updated_at: Set(now),
                    confirmed_at: Set(Some(now)),
                    cancelled_at: Set(None),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
                add_seat_at_door(txn, &session, person.school_id).await?;
                row.id
            }
        };
        change
            .record(
                txn,
                "attendance.marked",
                Target("booking", id),
                format!("participant {participant_id} on session {session_id}: attended (at the door)"),
            )
            .await?;
        Ok(Booking::view(&find(txn, id).await?, None))
    })
    .await
}

/// Counts a seat taken at the door, whatever the capacity (and the school's, while a limit applies).
async fn add_seat_at_door(
    txn: &DatabaseTransaction,
    session: &session::Model,
    school_id: Option<i64>,
) -> DomainResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::Booked, Expr::col(session::Column::Booked).add(1))
        .filter(session::Column::Id.eq(session.id))
        .exec(txn)
        .await?;
    if session.per_school_limit.is_some()
        && let Some(school_id) = school_id
    {
        let sql = format!(
            "UPDATE session_school_counts SET booked = booked + 1 WHERE session_id = {} AND school_id = {school_id}",
            session.id
        );
        let updated = txn.execute_unprepared(&sql).await?;
        if updated.rows_affected() == 0 {
            session_school_count::ActiveModel {
                session_id: Set(session.id),
                school_id: Set(school_id),
                booked: Set(1),
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(())
}

/// One line of a printed register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterLine {
    /// The person's name.
    pub name: String,
    /// Their school's name, if any.
    pub school: String,
    /// `confirmed`, `attended` or `no_show`.
    pub status: BookingStatus,
}

/// The register of a session: everyone holding a seat, by name.
pub async fn register<C: ConnectionTrait>(db: &C, session_id: i64) -> DomainResult<Vec<RegisterLine>> {
    super::session::find(db, session_id).await?;
    let rows = booking::Entity::find()
        .filter(booking::Column::SessionId.eq(session_id))
        .filter(booking::Column::Status.is_in(BookingStatus::SEATED))
        .find_also_related(participant::Entity)
        .all(db)
        .await?;
    let school_ids: Vec<i64> = rows.iter().filter_map(|(b, _)| b.school_id).collect();
    let schools = school::Entity::find()
        .filter(school::Column::Id.is_in(school_ids))
        .all(db)
        .await?;
    let mut lines: Vec<RegisterLine> = rows
        .into_iter()
        .map(|(b, person)| RegisterLine {
            name: person.map(|p| p.name).unwrap_or_default(),
            school: b
                .school_id
                .and_then(|id| schools.iter().find(|s| s.id == id))
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            status: b.status,
        })
        .collect();
    lines.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.school.cmp(&b.school))
    });
    Ok(lines)
}

/// Used by [`super::session`] when a session's capacity or per-school limit grows.
pub async fn promote_after_change(
    txn: &DatabaseTransaction,
    session_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<Vec<i64>> {
    let session = super::session::find_for_update(txn, session_id).await?;
    promote(txn, &session, now).await
}
