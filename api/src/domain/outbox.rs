//! The transactional outbox: every change someone should hear about writes its message here, in
//! the same transaction as the change, so a message is never lost nor sent for a change that
//! rolled back. The notifications worker delivers them.

use chrono::{DateTime, Utc};
use entity::state::{BookingStatus, NotificationState};
use entity::{booking, notification, participant};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};

use super::DomainResult;

/// What a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A booking was confirmed.
    BookingConfirmed,
    /// A booking went on the waitlist.
    BookingWaitlisted,
    /// A waitlisted booking got a seat.
    BookingPromoted,
    /// A booking was cancelled (by the person or an organiser).
    BookingCancelled,
    /// The session was cancelled, so the booking was.
    SessionCancelled,
    /// The session moved (time or place): an updated invitation.
    SessionChanged,
    /// A reminder before a confirmed session (`payload.offset_minutes` before it starts).
    Reminder,
    /// A follow-up survey invitation (`payload`: `survey_title`, `url`).
    SurveyInvitation,
    /// A code to link a Discord account (`payload.code`).
    LinkCode,
    /// A link to sign in to the participant pages (`payload`: `url`, `minutes`).
    SignInLink,
    /// An organiser's announcement (`announcement_id` names it; `payload.unsubscribe_url`).
    Announcement,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookingConfirmed => "booking_confirmed",
            Self::BookingWaitlisted => "booking_waitlisted",
            Self::BookingPromoted => "booking_promoted",
            Self::BookingCancelled => "booking_cancelled",
            Self::SessionCancelled => "session_cancelled",
            Self::SessionChanged => "session_changed",
            Self::Reminder => "reminder",
            Self::SurveyInvitation => "survey_invitation",
            Self::LinkCode => "link_code",
            Self::SignInLink => "sign_in_link",
            Self::Announcement => "announcement",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Every kind.
    pub const ALL: [Kind; 11] = [
        Self::BookingConfirmed,
        Self::BookingWaitlisted,
        Self::BookingPromoted,
        Self::BookingCancelled,
        Self::SessionCancelled,
        Self::SessionChanged,
        Self::Reminder,
        Self::SurveyInvitation,
        Self::LinkCode,
        Self::SignInLink,
        Self::Announcement,
    ];
}

/// The channels a participant hears on: email unless turned off, Discord when linked and chosen.
pub(crate) fn channels(person: &participant::Model) -> Vec<&'static str> {
    let mut channels = Vec::with_capacity(2);
    if person.notify_email && person.email.is_some() {
        channels.push("email");
    }
    if person.notify_discord && person.discord_id.is_some() {
        channels.push("discord");
    }
    channels
}

/// The default reminders: 24 hours and 1 hour before a session, in minutes.
pub const DEFAULT_REMINDERS: [i64; 2] = [1440, 60];

/// A participant's reminder offsets in minutes (an empty list turns reminders off).
pub fn reminder_offsets(person: &participant::Model) -> Vec<i64> {
    match person.reminder_offsets_minutes.as_array() {
        Some(list) => list
            .iter()
            .filter_map(serde_json::Value::as_i64)
            .filter(|m| *m > 0)
            .collect(),
        None => DEFAULT_REMINDERS.to_vec(),
    }
}

/// When a reminder due at `due` is sent, given the person's quiet hours (local `HH:MM` start and
/// end, in their zone): outside them, as planned; inside, at their end if that is still at least
/// 15 minutes before the session, else just before they begin.
pub fn outside_quiet_hours(person: &participant::Model, due: DateTime<Utc>, starts_at: DateTime<Utc>) -> DateTime<Utc> {
    let (Some(start), Some(end)) = (
        person.quiet_hours_start.as_deref().and_then(parse_hhmm),
        person.quiet_hours_end.as_deref().and_then(parse_hhmm),
    ) else {
        return due;
    };
    let zone = crate::time::stored_zone(&person.time_zone);
    let local = due.with_timezone(&zone);
    let time = local.time();
    let quiet = if start <= end {
        time >= start && time < end
    } else {
        time >= start || time < end
    };
    if !quiet {
        return due;
    }
    // The quiet spell that holds `due`: it began on the day of `due` or the day before.
    let began_day = if start > end && time < end {
        local.date_naive().pred_opt().unwrap_or(local.date_naive())
    } else {
        local.date_naive()
    };
    let ends_day = if start > end {
        began_day.succ_opt().unwrap_or(began_day)
    } else {
        began_day
    };
    let at = |day: chrono::NaiveDate, t: chrono::NaiveTime| {
        crate::time::earliest(zone, day.and_time(t)).map(|l| l.with_timezone(&Utc))
    };
    match at(ends_day, end) {
        Some(after) if after + chrono::Duration::minutes(15) <= starts_at => after,
        _ => at(began_day, start)
            .map(|before| before - chrono::Duration::minutes(1))
            .unwrap_or(due),
    }
}

fn parse_hhmm(text: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// Queues a participant's reminders for a confirmed booking, on each of their channels; a
/// reminder whose time has passed is not queued.
pub async fn schedule_reminders<C: ConnectionTrait>(
    txn: &C,
    person: &participant::Model,
    booking_id: i64,
    session_id: i64,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    insert_rows(txn, reminder_rows(person, Some(booking_id), session_id, starts_at, now)).await
}

/// The outbox rows of a booking's reminders (see [`schedule_reminders`]).
fn reminder_rows(
    person: &participant::Model,
    booking_id: Option<i64>,
    session_id: i64,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<notification::ActiveModel> {
    let mut rows = Vec::new();
    for minutes in reminder_offsets(person) {
        let due = outside_quiet_hours(person, starts_at - chrono::Duration::minutes(minutes), starts_at);
        if due <= now || due >= starts_at {
            continue;
        }
        let message = Message {
            kind: Kind::Reminder,
            booking_id,
            session_id: Some(session_id),
            payload: serde_json::json!({"offset_minutes": minutes}),
            due_at: due,
        };
        rows.extend(message.rows(person, &channels(person), now));
    }
    rows
}

/// Withdraws the reminders not yet sent for a booking (it was cancelled, or its session moved).
pub async fn withdraw_reminders<C: ConnectionTrait>(
    txn: &C,
    booking_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(NotificationState::Withdrawn))
        .col_expr(notification::Column::LastError, Expr::value(reason))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::BookingId.eq(booking_id))
        .filter(notification::Column::Kind.eq(Kind::Reminder.as_str()))
        .filter(notification::Column::State.eq(NotificationState::Pending))
        .exec(txn)
        .await?;
    Ok(())
}

/// Withdraws every message not yet sent to a participant (their data is being erased).
pub async fn withdraw_all_for<C: ConnectionTrait>(
    txn: &C,
    participant_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(NotificationState::Withdrawn))
        .col_expr(
            notification::Column::LastError,
            Expr::value("the participant was erased"),
        )
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::ParticipantId.eq(participant_id))
        .filter(notification::Column::State.eq(NotificationState::Pending))
        .exec(txn)
        .await?;
    Ok(())
}

/// Tells everyone confirmed on a session that moved (its time, or its event's place): an updated
/// invitation each; when its time moved, their reminders move with it.
pub async fn session_changed(
    txn: &DatabaseTransaction,
    session_id: i64,
    starts_at: DateTime<Utc>,
    time_moved: bool,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let confirmed = booking::Entity::find()
        .filter(booking::Column::SessionId.eq(session_id))
        .filter(booking::Column::Status.eq(BookingStatus::Confirmed))
        .all(txn)
        .await?;
    let people = participant::Entity::find()
        .filter(participant::Column::Id.is_in(confirmed.iter().map(|b| b.participant_id)))
        .all(txn)
        .await?;
    let mut rows = Vec::new();
    for b in &confirmed {
        let Some(person) = people.iter().find(|p| p.id == b.participant_id) else {
            continue;
        };
        let message = Message {
            kind: Kind::SessionChanged,
            booking_id: Some(b.id),
            session_id: Some(session_id),
            payload: serde_json::json!({"time_moved": time_moved}),
            due_at: now,
        };
        rows.extend(message.rows(person, &channels(person), now));
        if time_moved && starts_at > now {
            withdraw_reminders(txn, b.id, "the session moved", now).await?;
            rows.extend(reminder_rows(person, Some(b.id), session_id, starts_at, now));
        }
    }
    insert_rows(txn, rows).await
}

/// Queues a message to a participant that is not about a booking (a link code, a survey), on
/// the channels given, due now.
pub async fn notify_person<C: ConnectionTrait>(
    txn: &C,
    person: &participant::Model,
    channels: &[&str],
    kind: Kind,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let message = Message {
        kind,
        booking_id: None,
        session_id: None,
        payload,
        due_at: now,
    };
    insert_rows(txn, message.rows(person, channels, now)).await
}

/// One message, to be queued for a person on each of their channels.
struct Message {
    kind: Kind,
    booking_id: Option<i64>,
    session_id: Option<i64>,
    payload: serde_json::Value,
    due_at: DateTime<Utc>,
}

impl Message {
    /// Its outbox rows, one per channel; none for a person whose data was erased.
    fn rows(
        &self,
        person: &participant::Model,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> Vec<notification::ActiveModel> {
        if person.erased_at.is_some() {
            return Vec::new();
        }
        channels
            .iter()
            .map(|channel| notification::ActiveModel {
                channel: Set((*channel).to_owned()),
                kind: Set(self.kind.as_str().to_owned()),
                participant_id: Set(Some(person.id)),
                booking_id: Set(self.booking_id),
                session_id: Set(self.session_id),
                payload: Set(self.payload.clone()),
                due_at: Set(self.due_at),
                state: Set(NotificationState::Pending),
                attempts: Set(0),
                last_error: Set(None),
                leased_until: Set(None),
                lease_owner: Set(None),
                sent_at: Set(None),
                message_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect()
    }
}

/// Writes outbox rows in as few statements as the databases' limits on bound values allow: a
/// booking's confirmation and its reminders in one.
async fn insert_rows<C: ConnectionTrait>(txn: &C, mut rows: Vec<notification::ActiveModel>) -> DomainResult<()> {
    /// 16 values a row: 8,000 a statement, under SQLite's 32,766 and PostgreSQL's 65,535.
    const ROWS_PER_STATEMENT: usize = 500;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(ROWS_PER_STATEMENT));
        notification::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        rows = rest;
    }
    Ok(())
}

/// Queues a message about a booking for its participant, on each channel they chose
/// (email unless they turned it off; Discord when linked and chosen), due at `due_at`. A
/// confirmation or promotion also queues the booking's reminders; a cancellation withdraws them.
#[allow(clippy::too_many_arguments)]
pub async fn notify_booking<C: ConnectionTrait>(
    txn: &C,
    person: &participant::Model,
    kind: Kind,
    booking_id: i64,
    session_id: i64,
    starts_at: DateTime<Utc>,
    payload: serde_json::Value,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if matches!(kind, Kind::BookingCancelled | Kind::SessionCancelled) {
        withdraw_reminders(txn, booking_id, "the booking was cancelled", now).await?;
    }
    let rows = booking_rows(
        person,
        kind,
        Some(booking_id),
        session_id,
        starts_at,
        payload,
        due_at,
        now,
    );
    insert_rows(txn, rows).await
}

/// The outbox rows of a message about a booking (see [`notify_booking`]), with the reminders of
/// a confirmation or promotion. `booking_id` is `None` when the caller's SQL fills it in, as
/// the booking and its messages are inserted by one statement.
#[allow(clippy::too_many_arguments)]
pub(crate) fn booking_rows(
    person: &participant::Model,
    kind: Kind,
    booking_id: Option<i64>,
    session_id: i64,
    starts_at: DateTime<Utc>,
    payload: serde_json::Value,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<notification::ActiveModel> {
    let message = Message {
        kind,
        booking_id,
        session_id: Some(session_id),
        payload,
        due_at,
    };
    let mut rows = message.rows(person, &channels(person), now);
    if matches!(kind, Kind::BookingConfirmed | Kind::BookingPromoted) {
        rows.extend(reminder_rows(person, booking_id, session_id, starts_at, due_at));
    }
    rows
}
