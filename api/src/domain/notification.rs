//! Delivering the outbox: claiming due messages under a lease, marking them sent, retrying with
//! back-off, and the dead letters organisers can see and send again.
//!
//! A claim is one statement: `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING *`, with
//! `FOR UPDATE SKIP LOCKED` in the subquery on PostgreSQL so that workers never take the same
//! row (SQLite runs one writer at a time). A lease that runs out (a worker that died) makes the
//! row claimable again: delivery is at least once, never lost.
//!
//! Where the worker's locks are, and why a booking never waits for them:
//! - Every statement here is its own short transaction (autocommit); none is open across a send,
//!   a file write, a lease renewal or a wait. A claim, the batch's reads, its calendar sequences
//!   and its marking sent are one statement each, for a whole batch.
//! - The claim and the marks lock only `notifications` rows, and only rows already committed by
//!   the change that queued them: a booking writes new outbox rows, never claimed ones.
//! - The calendar sequences' upsert locks its own `calendar_sequences` rows, and its foreign key
//!   checks take `FOR KEY SHARE` on the person's and the session's rows for that one statement.
//!   Bookings lock those rows `FOR NO KEY UPDATE` (`db::for_update`), which does not conflict
//!   with `FOR KEY SHARE`: neither waits for the other. (With `FOR UPDATE`, which does, a
//!   booking queued behind the worker's check, and a second booking of the same pair queued
//!   between them deadlocked until PostgreSQL broke it after `deadlock_timeout`.)
//! - On SQLite there are no row locks: each of these statements takes its turn in the process's
//!   write queue (`db::write_turn`), between bookings' transactions, never inside one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::state::NotificationState;
use entity::{booking, event, notification, participant, session};
use rand::Rng as _;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    Statement, Value,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::{Change, Target};
use super::contract;
use super::page::{Page, PageRequest, fetch_page};
use super::{DomainError, DomainResult, Validator};
use crate::problem_code::ProblemCode;
use crate::time::format_utc;

/// The channels a message goes by.
pub const CHANNELS: &[&str] = &["email", "discord", "discord_channel"];

/// The longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Claims up to `limit` due messages of `channel` for `owner`, each leased for `lease`. Rows whose
/// lease ran out are claimed again. Each claim counts as an attempt. Announcements are taken after
/// every other due message, so that one to thousands of people never holds up a confirmation.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    channel: &str,
    owner: &str,
    limit: u64,
    lease: Duration,
    now: DateTime<Utc>,
) -> DomainResult<Vec<notification::Model>> {
    let backend = db.get_database_backend();
    let until = lease_end(now, lease);
    let (p, lock) = match backend {
        DatabaseBackend::Postgres => (["$1", "$2", "$3", "$4", "$5"], " FOR UPDATE SKIP LOCKED"),
        _ => (["?", "?", "?", "?", "?"], ""),
    };
    // Parameters by position: until, owner, now, channel, limit; SQLite binds each `?` in order,
    // so `now` is bound again for each later use.
    let sql = format!(
        "UPDATE notifications SET state = '{leased}', leased_until = {until}, lease_owner = {owner}, \
         attempts = attempts + 1, updated_at = {now} \
         WHERE id IN (SELECT id FROM notifications WHERE channel = {channel} AND \
         ((state = '{pending}' AND due_at <= {now2}) OR (state = '{leased}' AND leased_until < {now2})) \
         ORDER BY CASE WHEN kind = '{announcement}' THEN 1 ELSE 0 END, due_at, id LIMIT {limit}{lock}) RETURNING *",
        announcement = super::outbox::Kind::Announcement.as_str(),
        leased = NotificationState::Leased,
        pending = NotificationState::Pending,
        until = p[0],
        owner = p[1],
        now = p[2],
        channel = p[3],
        now2 = if backend == DatabaseBackend::Postgres {
            "$3"
        } else {
            "?"
        },
        limit = p[4],
    );
    let mut values: Vec<Value> = vec![until.into(), owner.into(), now.into(), channel.into()];
    if backend != DatabaseBackend::Postgres {
        values.push(now.into());
        values.push(now.into());
    }
    values.push((limit as i64).into());
    let mut rows = notification::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    rows.sort_by_key(|r| (r.due_at, r.id));
    Ok(rows)
}

/// When a lease of length `lease` taken at `now` runs out.
fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60))
}

/// Extends `owner`'s leases on those of `ids` it still holds (not yet sent, failed or given back)
/// to `lease` from now, so that no other worker claims a message while it is being sent; how many
/// it extended. A lease that already ran out and was claimed by another worker stays theirs.
pub async fn renew<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
    owner: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let done = notification::Entity::update_many()
        .col_expr(notification::Column::LeasedUntil, Expr::value(lease_end(now, lease)))
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .filter(notification::Column::State.eq(NotificationState::Leased))
        .filter(notification::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Marks a leased message sent, if `owner` still holds its lease: its kind, or `None` if it did
/// not hold it.
pub async fn mark_sent<C: ConnectionTrait>(
    db: &C,
    id: i64,
    owner: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<Option<String>> {
    let done = notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(NotificationState::Sent))
        .col_expr(notification::Column::SentAt, Expr::value(now))
        .col_expr(notification::Column::MessageId, Expr::value(message_id))
        .col_expr(
            notification::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(notification::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::State.eq(NotificationState::Leased))
        .filter(notification::Column::LeaseOwner.eq(owner))
        .exec_with_returning(db)
        .await?;
    Ok(done.into_iter().next().map(|row| row.kind))
}

/// The `Message-ID` a message is sent with: derived from its outbox row, so a message sent again
/// (at least once) carries the same one, and mail clients show it once.
pub fn message_id(id: i64, kind: &str, host: &str) -> String {
    format!("<notification-{id}.{kind}@{host}>")
}

/// Marks sent, in one statement, those of `ids` whose lease `owner` still holds, each with its
/// [`message_id`] (which the statement builds the same way); how many it marked. One statement
/// for a batch instead of one per message: each commit is a flush of the database's log, which
/// bookings wait for too.
pub async fn mark_sent_many<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
    owner: &str,
    host: &str,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let p: [&str; 3] = match backend {
        DatabaseBackend::Postgres => ["$1", "$2", "$3"],
        _ => ["?1", "?2", "?3"],
    };
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "UPDATE notifications SET state = '{sent}', sent_at = {now}, updated_at = {now}, leased_until = NULL, \
         last_error = NULL, message_id = '<notification-' || CAST(id AS TEXT) || '.' || kind || '@' || {host} || '>' \
         WHERE state = '{leased}' AND lease_owner = {owner} AND id IN ({list})",
        sent = NotificationState::Sent,
        leased = NotificationState::Leased,
        now = p[0],
        host = p[1],
        owner = p[2],
    );
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [now.into(), host.into(), owner.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

/// The wait before try `attempt + 1`: `base` doubled per earlier try, at most an hour, with up to
/// a quarter more or less at random so that failures do not retry in step.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let wait = base.saturating_mul(2u32.saturating_pow(doublings)).min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0.75..1.25);
    wait.mul_f64(jitter)
}

/// Records a failed try: the message is due again after [`backoff`], or `dead` once it has had
/// `max_attempts` tries.
pub async fn mark_failed<C: ConnectionTrait>(
    db: &C,
    row: &notification::Model,
    owner: &str,
    error: &str,
    max_attempts: u32,
    base: Duration,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let dead = i64::from(row.attempts) >= i64::from(max_attempts);
    let due = now + chrono::Duration::from_std(backoff(base, row.attempts)).unwrap_or(chrono::Duration::hours(1));
    let error: String = error.chars().take(2000).collect();
    notification::Entity::update_many()
        .col_expr(
            notification::Column::State,
            Expr::value(if dead {
                NotificationState::Dead
            } else {
                NotificationState::Pending
            }),
        )
        .col_expr(
            notification::Column::DueAt,
            Expr::value(if dead { row.due_at } else { due }),
        )
        .col_expr(notification::Column::LastError, Expr::value(error))
        .col_expr(
            notification::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(notification::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::Id.eq(row.id))
        .filter(notification::Column::State.eq(NotificationState::Leased))
        .filter(notification::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a leased message withdrawn without sending it (it no longer applies), saying why.
pub async fn withdraw<C: ConnectionTrait>(
    db: &C,
    id: i64,
    owner: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(NotificationState::Withdrawn))
        .col_expr(notification::Column::LastError, Expr::value(reason))
        .col_expr(
            notification::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::State.eq(NotificationState::Leased))
        .filter(notification::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives back leased messages not yet tried (a worker shutting down): due again at once, and the
/// claim does not count as a try.
pub async fn release<C: ConnectionTrait>(db: &C, ids: &[i64], owner: &str, now: DateTime<Utc>) -> DomainResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    give_back(db, owner, Some(ids), now).await
}

/// Gives back every message `owner` still holds a lease on (a worker shutting down), as
/// [`release`] does: due again at once, the claim not counted as a try.
pub async fn release_held<C: ConnectionTrait>(db: &C, owner: &str, now: DateTime<Utc>) -> DomainResult<u64> {
    give_back(db, owner, None, now).await
}

/// Makes `owner`'s leased messages (only `ids`, when given) pending again, undoing the try their
/// claim counted.
async fn give_back<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    ids: Option<&[i64]>,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let mut update = notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(NotificationState::Pending))
        .col_expr(
            notification::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(notification::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).sub(1i32),
        )
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::State.eq(NotificationState::Leased))
        .filter(notification::Column::LeaseOwner.eq(owner));
    if let Some(ids) = ids {
        update = update.filter(notification::Column::Id.is_in(ids.iter().copied()));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// The next iCalendar `SEQUENCE` of each `(participant, session, revision)` in `wanted`, in
/// order: the session's revision the first time, then always above the last one sent (so a
/// re-booking after a cancellation goes higher). A statement per round, where a round holds each
/// pair once (a pair met twice in one batch takes the next round, and so a higher number).
pub async fn next_sequences<C: ConnectionTrait>(
    db: &C,
    wanted: &[(i64, i64, i32)],
    now: DateTime<Utc>,
) -> DomainResult<Vec<i32>> {
    let backend = db.get_database_backend();
    let mut out = vec![0; wanted.len()];
    let mut left: Vec<usize> = (0..wanted.len()).collect();
    while !left.is_empty() {
        let mut seen = std::collections::HashSet::new();
        let (round, later): (Vec<usize>, Vec<usize>) =
            left.into_iter().partition(|&i| seen.insert((wanted[i].0, wanted[i].1)));
        let mut values: Vec<Value> = Vec::with_capacity(round.len() * 4);
        let mut rows = Vec::with_capacity(round.len());
        for &i in &round {
            let n = values.len();
            rows.push(match backend {
                DatabaseBackend::Postgres => format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4),
                _ => "(?, ?, ?, ?)".to_owned(),
            });
            let (participant, session, revision) = wanted[i];
            values.extend([participant.into(), session.into(), revision.into(), now.into()]);
        }
        let sql = format!(
            "INSERT INTO calendar_sequences (participant_id, session_id, sequence, updated_at) VALUES {} \
             ON CONFLICT (participant_id, session_id) DO UPDATE SET \
             sequence = CASE WHEN calendar_sequences.sequence + 1 > excluded.sequence \
             THEN calendar_sequences.sequence + 1 ELSE excluded.sequence END, updated_at = excluded.updated_at \
             RETURNING participant_id, session_id, sequence",
            rows.join(", ")
        );
        let returned = db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        let mut got = std::collections::HashMap::with_capacity(returned.len());
        for row in returned {
            got.insert(
                (
                    row.try_get::<i64>("", "participant_id")?,
                    row.try_get::<i64>("", "session_id")?,
                ),
                row.try_get::<i32>("", "sequence")?,
            );
        }
        for i in round {
            out[i] = got.get(&(wanted[i].0, wanted[i].1)).copied().ok_or_else(|| {
                DomainError::Database(sea_orm::DbErr::RecordNotFound("calendar_sequences".to_owned()))
            })?;
        }
        left = later;
    }
    Ok(out)
}

/// What each of `rows` is about, read in three statements for the whole batch (people, bookings,
/// sessions with their events); by the row's id, and missing for a row whose participant,
/// booking or session is gone.
pub async fn subjects_of<C: ConnectionTrait>(
    db: &C,
    rows: &[notification::Model],
) -> DomainResult<std::collections::HashMap<i64, Subject>> {
    use std::collections::HashMap;
    let people: HashMap<i64, participant::Model> = participant::Entity::find()
        .filter(participant::Column::Id.is_in(rows.iter().filter_map(|r| r.participant_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let about_bookings = || rows.iter().filter(|r| r.booking_id.is_some() && r.session_id.is_some());
    let bookings: HashMap<i64, booking::Model> = if about_bookings().next().is_some() {
        booking::Entity::find()
            .filter(booking::Column::Id.is_in(about_bookings().filter_map(|r| r.booking_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|b| (b.id, b))
            .collect()
    } else {
        HashMap::new()
    };
    let sessions: HashMap<i64, (session::Model, event::Model)> = if about_bookings().next().is_some() {
        session::Entity::find()
            .find_also_related(event::Entity)
            .filter(session::Column::Id.is_in(about_bookings().filter_map(|r| r.session_id)))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|(s, e)| Some((s.id, (s, e?))))
            .collect()
    } else {
        HashMap::new()
    };
    let announcing = super::announcement::announcing(db, rows).await?;
    let mut subjects = HashMap::with_capacity(rows.len());
    for row in rows {
        let Some(person) = row.participant_id.and_then(|id| people.get(&id)) else {
            continue;
        };
        let booking = match (row.booking_id, row.session_id) {
            (Some(booking_id), Some(session_id)) => match (bookings.get(&booking_id), sessions.get(&session_id)) {
                (Some(b), Some((s, e))) => Some((b.clone(), s.clone(), e.clone())),
                _ => continue,
            },
            _ => None,
        };
        subjects.insert(
            row.id,
            Subject {
                person: person.clone(),
                booking,
                announcement: row.announcement_id.and_then(|id| announcing.get(&id).cloned()),
            },
        );
    }
    Ok(subjects)
}

/// The outbox's lag on each channel: how long the oldest message that is due and not yet sent
/// (pending, or leased and being sent) has been due, in seconds; a channel with none is left
/// out. What `/metrics` reports as `convene_outbox_lag_seconds`.
pub async fn lag<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> DomainResult<Vec<(String, f64)>> {
    let oldest: Vec<(String, Option<DateTime<Utc>>)> = notification::Entity::find()
        .select_only()
        .column(notification::Column::Channel)
        .column_as(notification::Column::DueAt.min(), "oldest")
        .filter(notification::Column::State.is_in([NotificationState::Pending, NotificationState::Leased]))
        .filter(notification::Column::DueAt.lte(now))
        .group_by(notification::Column::Channel)
        .into_tuple()
        .all(db)
        .await?;
    Ok(oldest
        .into_iter()
        .filter_map(|(channel, due)| {
            let due = due?;
            Some((channel, Ord::max((now - due).num_milliseconds(), 0) as f64 / 1000.0))
        })
        .collect())
}

/// What a message is about, as it is now.
pub struct Subject {
    /// The recipient.
    pub person: participant::Model,
    /// The booking, its session and the session's event, for messages about a booking.
    pub booking: Option<(booking::Model, session::Model, event::Model)>,
    /// The announcement, for an announcement's message.
    pub announcement: Option<std::sync::Arc<super::announcement::Announcing>>,
}

/// Reads what a message is about; `None` when its participant, booking or session is gone (one
/// message's [`subjects_of`]).
pub async fn subject_of<C: ConnectionTrait>(db: &C, row: &notification::Model) -> DomainResult<Option<Subject>> {
    Ok(subjects_of(db, std::slice::from_ref(row)).await?.remove(&row.id))
}

/// A message as organisers see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Notification {
    /// Its id.
    pub id: i64,
    /// `email` or `discord`.
    pub channel: String,
    /// What it is about, e.g. `booking_confirmed`, `reminder`.
    pub kind: String,
    /// Whom it is for.
    pub participant_id: Option<i64>,
    /// The booking it is about.
    pub booking_id: Option<i64>,
    /// The session it is about.
    pub session_id: Option<i64>,
    /// `pending`, `leased`, `sent`, `dead` or `withdrawn`.
    #[schema(value_type = contract::NotificationState)]
    pub state: NotificationState,
    /// Tries so far.
    pub attempts: i32,
    /// The last failure, or why it was withdrawn.
    pub last_error: Option<String>,
    /// When it is (or was) due (UTC).
    pub due_at: String,
    /// When it was sent (UTC).
    pub sent_at: Option<String>,
    /// The `Message-ID` it was sent with.
    pub message_id: Option<String>,
    /// When it was queued (UTC).
    pub created_at: String,
}

impl From<notification::Model> for Notification {
    fn from(m: notification::Model) -> Self {
        Self {
            id: m.id,
            channel: m.channel,
            kind: m.kind,
            participant_id: m.participant_id,
            booking_id: m.booking_id,
            session_id: m.session_id,
            state: m.state,
            attempts: m.attempts,
            last_error: m.last_error,
            due_at: format_utc(m.due_at),
            sent_at: m.sent_at.map(format_utc),
            message_id: m.message_id,
            created_at: format_utc(m.created_at),
        }
    }
}

/// Filters for the list of messages.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationFilter {
    /// Only messages in this state (`dead` for those that could not be delivered).
    #[param(value_type = Option<super::contract::NotificationState>)]
    pub state: Option<String>,
    /// Only `email` or `discord`.
    #[param(value_type = Option<super::contract::Channel>)]
    pub channel: Option<String>,
    /// Only this kind.
    #[param(value_type = Option<super::contract::NotificationKind>)]
    pub kind: Option<String>,
    /// Only messages to this participant.
    pub participant_id: Option<i64>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<super::contract::Cursor>)]
    pub cursor: Option<String>,
}

/// Lists messages, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &NotificationFilter,
    page: PageRequest,
) -> DomainResult<Page<Notification>> {
    let mut v = Validator::new();
    let state = filter
        .state
        .clone()
        .and_then(|s| v.state("state", Some(s), NotificationState::ALL));
    let channel = filter
        .channel
        .clone()
        .and_then(|c| v.one_of("channel", Some(c), CHANNELS));
    let kind = filter.kind.as_deref().and_then(|k| {
        let known = super::outbox::Kind::parse(k);
        if known.is_none() {
            v.fail("kind", format!("{k:?} is not a kind of message"));
        }
        known
    });
    v.finish()?;
    let mut select = notification::Entity::find();
    if let Some(state) = state {
        select = select.filter(notification::Column::State.eq(state));
    }
    if let Some(channel) = channel {
        select = select.filter(notification::Column::Channel.eq(channel));
    }
    if let Some(kind) = kind {
        select = select.filter(notification::Column::Kind.eq(kind.as_str()));
    }
    if let Some(p) = filter.participant_id {
        select = select.filter(notification::Column::ParticipantId.eq(p));
    }
    let page = fetch_page(db, select, notification::Column::Id, |m| m.id, page).await?;
    Ok(page.map(Notification::from))
}

/// Sends a dead message again: due at once, with its tries counted afresh.
pub async fn retry(db: &DatabaseConnection, id: i64, change: &Change) -> DomainResult<Notification> {
    let now = change.now;
    super::in_write_txn(db, async |txn| {
        let row = notification::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or_else(|| DomainError::not_found("notification", id))?;
        if row.state != NotificationState::Dead {
            return Err(DomainError::conflict(
                ProblemCode::NotificationNotDead,
                format!("notification {id} is {}; only dead messages can be retried", row.state),
                None,
            ));
        }
        notification::Entity::update_many()
            .col_expr(notification::Column::State, Expr::value(NotificationState::Pending))
            .col_expr(notification::Column::Attempts, Expr::value(0))
            .col_expr(notification::Column::DueAt, Expr::value(now))
            .col_expr(notification::Column::UpdatedAt, Expr::value(now))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::State.eq(NotificationState::Dead))
            .exec(txn)
            .await?;
        change
            .record(
                txn,
                "notification.retried",
                Target("notification", id),
                format!(
                    "{} by {} queued again after {} tries",
                    row.kind, row.channel, row.attempts
                ),
            )
            .await?;
        let row = notification::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or_else(|| DomainError::not_found("notification", id))?;
        Ok(row.into())
    })
    .await
}
