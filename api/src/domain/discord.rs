//! Discord, natively: what the bot posts to the announcements channel, and the server's
//! scheduled events that mirror published conference and SLP sessions.
//!
//! Channel posts are outbox rows on the `discord_channel` channel, inserted in the transaction of
//! the change (a session published here; an announcement elsewhere), leased by the bot like its
//! DMs and rendered at lease time, so "places left" is as of the post.
//!
//! Scheduled events: a row per mirrored session in `discord_guild_events`, whose `version` every
//! change the mirror shows bumps (in the change's transaction). The bot leases rows whose version
//! is ahead of the synced one, does what the session's state now asks (create, update, cancel) and
//! acknowledges the version it did; a change made while the bot held the lease leaves the row
//! ahead again, so it is never lost. A lease is one guarded statement (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), so two bot processes never hold the same row and never make an event twice.
//!
//! Every rendering here leaves out the online join link, which only booked people may see.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::state::{EventStatus, NotificationState, SessionStatus};
use entity::{discord_guild_event, event, notification, session};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    Value,
};

use super::DomainResult;
use crate::time::format_utc;
use crate::wire::discord::{ChannelPost, GuildEventAction, GuildEventSync, PostedSession};

/// The outbox channel of posts to the announcements channel.
pub const CHANNEL: &str = "discord_channel";
/// The outbox kind of a post about a session just published.
pub const SESSION_PUBLISHED: &str = "session_published";
/// The outbox kind of an announcement's post (written by the announcements' own code).
pub const ANNOUNCEMENT: &str = "announcement";

/// Discord's limits: a scheduled event's name and location, and its description.
const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 1000;
/// How many times a scheduled event's sync is leased without being acknowledged (Discord keeps
/// refusing it, say) before it waits for its session to change, or for an organiser to ask for it
/// again: each change, and each sync done, starts the count again.
pub const MAX_SYNC_ATTEMPTS: i32 = 8;
/// How long after its first unacknowledged try a sync is offered again; each later try waits
/// twice as long (at most an hour), so eight tries span about two hours of a Discord outage.
const SYNC_RETRY_BASE: Duration = Duration::from_secs(30);
/// What stands in for an online link that an organiser also pasted into a description.
const LINK_WITHHELD: &str = "[the join link is sent to people who book]";

/// Whether sessions of `event` are posted and mirrored: conferences and SLP sessions, published.
fn mirrored(event: &event::Model) -> bool {
    event.status == EventStatus::Published && matches!(event.kind.as_str(), "conference" | "slp_session")
}

/// Sessions of `event` became published (the event was published with them, or one was added
/// to it published): a post for the announcements channel each, and a scheduled event to make.
/// In the transaction of the change. Nothing for triad visits or drafts.
pub async fn sessions_published<C: ConnectionTrait>(
    txn: &C,
    event: &event::Model,
    session_ids: &[i64],
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if !mirrored(event) || session_ids.is_empty() {
        return Ok(());
    }
    // Always queued, as the API cannot know whether a bot posts to a channel: a row a session is
    // cheap, and a bot without `DISCORD_ANNOUNCE_CHANNEL_ID` never leases them (the outbox's lag
    // on `discord_channel` then says nobody is posting).
    let posts = session_ids.iter().map(|id| notification::ActiveModel {
        channel: Set(CHANNEL.to_owned()),
        kind: Set(SESSION_PUBLISHED.to_owned()),
        participant_id: Set(None),
        booking_id: Set(None),
        session_id: Set(Some(*id)),
        payload: Set(serde_json::json!({"event_id": event.id})),
        due_at: Set(now),
        state: Set(NotificationState::Pending),
        attempts: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    notification::Entity::insert_many(posts)
        .exec_without_returning(txn)
        .await?;
    let rows = session_ids.iter().map(|id| discord_guild_event::ActiveModel {
        session_id: Set(*id),
        discord_event_id: Set(None),
        version: Set(1),
        synced_version: Set(0),
        leased_until: Set(None),
        lease_owner: Set(None),
        attempts: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    discord_guild_event::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(discord_guild_event::Column::SessionId)
                .value(
                    discord_guild_event::Column::Version,
                    Expr::col((discord_guild_event::Entity, discord_guild_event::Column::Version)).add(1),
                )
                .value(discord_guild_event::Column::UpdatedAt, Expr::value(now))
                .value(discord_guild_event::Column::Attempts, Expr::value(0))
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Sessions whose scheduled events (those that exist) must catch up: moved, renamed, cancelled,
/// deleted, or their event changed. In the transaction of the change.
pub async fn sessions_changed<C: ConnectionTrait>(
    txn: &C,
    session_ids: &[i64],
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if session_ids.is_empty() {
        return Ok(());
    }
    discord_guild_event::Entity::update_many()
        .col_expr(
            discord_guild_event::Column::Version,
            Expr::col(discord_guild_event::Column::Version).add(1),
        )
        .col_expr(discord_guild_event::Column::UpdatedAt, Expr::value(now))
        .col_expr(discord_guild_event::Column::Attempts, Expr::value(0))
        .filter(discord_guild_event::Column::SessionId.is_in(session_ids.iter().copied()))
        .exec(txn)
        .await?;
    Ok(())
}

/// An event changed (`before` → `after`): publishing it publishes its sessions; a change the
/// mirror shows (title, description, venue, kind, cancellation) brings their events up to date.
pub async fn event_changed<C: ConnectionTrait>(
    txn: &C,
    before: &event::Model,
    after: &event::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let sessions = session::Entity::find()
        .filter(session::Column::EventId.eq(after.id))
        .all(txn)
        .await?;
    if before.status != EventStatus::Published && after.status == EventStatus::Published {
        let live: Vec<i64> = sessions
            .iter()
            .filter(|s| s.status != SessionStatus::Cancelled)
            .map(|s| s.id)
            .collect();
        return sessions_published(txn, after, &live, now).await;
    }
    let shown = before.title != after.title
        || before.description != after.description
        || before.venue != after.venue
        || before.online_url != after.online_url
        || before.kind != after.kind
        || before.status != after.status;
    if shown {
        let ids: Vec<i64> = sessions.iter().map(|s| s.id).collect();
        sessions_changed(txn, &ids, now).await?;
    }
    Ok(())
}

/// Text with `event`'s online link taken out, in case an organiser pasted it there too.
fn without_link(event: &event::Model, text: &str) -> String {
    match event.online_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => text.replace(url, LINK_WITHHELD),
        None => text.to_owned(),
    }
}

/// At most `max` characters of `text`, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A session's title: its event's, and its label after a dash.
fn session_title(event: &event::Model, session: &session::Model) -> String {
    match session.label.as_deref() {
        Some(label) => format!("{} — {label}", event.title),
        None => event.title.clone(),
    }
}

/// Where a session is, for people who have not booked: the venue, or `Online`.
fn location(event: &event::Model) -> String {
    let venue = event.venue.as_deref().map(str::trim).filter(|v| !v.is_empty());
    clip(venue.unwrap_or("Online"), NAME_MAX)
}

/// A session that is open to book: published, not cancelled, not started.
async fn open_session<C: ConnectionTrait>(
    db: &C,
    session_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<Option<(session::Model, event::Model)>> {
    let found = session::Entity::find_by_id(session_id)
        .find_also_related(event::Entity)
        .one(db)
        .await?;
    Ok(match found {
        Some((s, Some(e))) if s.status != SessionStatus::Cancelled && mirrored(&e) && s.starts_at > now => Some((s, e)),
        _ => None,
    })
}

fn posted(session: &session::Model, event: &event::Model) -> PostedSession {
    PostedSession {
        session_id: session.id,
        event_kind: event.kind.clone(),
        starts_at: session.starts_at.timestamp(),
        ends_at: session.ends_at.timestamp(),
        places_left: Ord::max(i64::from(session.capacity - session.booked), 0),
        location: location(event),
    }
}

/// A leased `discord_channel` row as a post; `None` when it no longer applies (its session was
/// cancelled or has started, or it is of a kind this version does not know).
pub async fn channel_post<C: ConnectionTrait>(
    db: &C,
    row: &notification::Model,
    now: DateTime<Utc>,
) -> DomainResult<Option<ChannelPost>> {
    let open = match row.session_id {
        Some(id) => open_session(db, id, now).await?,
        None => None,
    };
    match row.kind.as_str() {
        SESSION_PUBLISHED => {
            let Some((s, e)) = open else {
                return Ok(None);
            };
            let mut text = e
                .description
                .as_deref()
                .map(|d| without_link(&e, d))
                .unwrap_or_default();
            if e.kind == "slp_session" {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str("A Sharing Leading Practice session. The join link is sent to people who book.");
            }
            Ok(Some(ChannelPost {
                id: row.id,
                kind: row.kind.clone(),
                title: session_title(&e, &s),
                text,
                session: Some(posted(&s, &e)),
            }))
        }
        ANNOUNCEMENT => {
            let field = |name: &str| row.payload.get(name).and_then(|v| v.as_str()).unwrap_or_default();
            let (subject, body) = (field("subject"), field("body"));
            if subject.is_empty() && body.is_empty() {
                return Ok(None);
            }
            let body = match &open {
                Some((_, e)) => without_link(e, body),
                None => body.to_owned(),
            };
            Ok(Some(ChannelPost {
                id: row.id,
                kind: row.kind.clone(),
                title: subject.to_owned(),
                text: body,
                session: open.as_ref().map(|(s, e)| posted(s, e)),
            }))
        }
        _ => Ok(None),
    }
}

/// Leases up to `limit` scheduled events that are behind their sessions to `owner` for `lease`,
/// each with what to do now. Rows with nothing to do (a session cancelled before its event was
/// made, or one already started) are marked done instead of handed out. One leased
/// [`MAX_SYNC_ATTEMPTS`] times without being acknowledged is not offered again until its session
/// changes.
pub async fn lease_guild_events<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    limit: u64,
    lease: Duration,
    now: DateTime<Utc>,
) -> DomainResult<Vec<GuildEventSync>> {
    let backend = db.get_database_backend();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let (p, lock) = match backend {
        DatabaseBackend::Postgres => (["$1", "$2", "$3", "$3", "$4"], " FOR UPDATE SKIP LOCKED"),
        _ => (["?", "?", "?", "?", "?"], ""),
    };
    let sql = format!(
        "UPDATE discord_guild_events SET leased_until = {until}, lease_owner = {owner}, attempts = attempts + 1, \
         updated_at = {now} WHERE id IN (SELECT id FROM discord_guild_events WHERE version > synced_version \
         AND attempts < {max} AND (leased_until IS NULL OR leased_until < {now2}) \
         ORDER BY updated_at, id LIMIT {limit}{lock}) RETURNING *",
        max = MAX_SYNC_ATTEMPTS,
        until = p[0],
        owner = p[1],
        now = p[2],
        now2 = p[3],
        limit = p[4],
    );
    let mut values: Vec<Value> = vec![until.into(), owner.into(), now.into()];
    if backend != DatabaseBackend::Postgres {
        values.push(now.into());
    }
    values.push(i64::try_from(limit).unwrap_or(20).into());
    let mut rows = discord_guild_event::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    rows.sort_by_key(|r| (r.updated_at, r.id));
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        // Not acknowledged within its lease (Discord refused it, say), it is offered again only
        // after a wait that doubles with each try.
        let retry_at = until
            + chrono::Duration::from_std(super::notification::backoff(SYNC_RETRY_BASE, row.attempts))
                .unwrap_or(chrono::Duration::hours(1));
        discord_guild_event::Entity::update_many()
            .col_expr(discord_guild_event::Column::LeasedUntil, Expr::value(retry_at))
            .filter(discord_guild_event::Column::Id.eq(row.id))
            .filter(discord_guild_event::Column::LeaseOwner.eq(owner))
            .exec(db)
            .await?;
        if row.attempts >= MAX_SYNC_ATTEMPTS {
            tracing::warn!(
                session_id = row.session_id,
                attempts = row.attempts,
                "a session's Discord scheduled event is leased for the last time; unless this try is \
                 acknowledged it waits for the session to change"
            );
        }
        match guild_event_sync(db, &row, now).await? {
            Some(item) => items.push(item),
            None => {
                finish(db, row.session_id, owner, None, row.version).await?;
            }
        }
    }
    Ok(items)
}

/// A session whose scheduled event Discord kept refusing: its sync was tried
/// [`MAX_SYNC_ATTEMPTS`] times and now waits for the session to change or an organiser to ask.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GivenUp {
    /// The session.
    pub session_id: i64,
    /// Its event.
    pub event_id: i64,
    /// The event's title.
    pub title: String,
    /// The session's start (UTC).
    pub start: String,
    /// The tries made.
    pub attempts: i32,
}

/// Rows whose sync was given up on by `now`: tried [`MAX_SYNC_ATTEMPTS`] times, still behind
/// their session, and not leased.
fn gave_up(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(discord_guild_event::Column::Attempts.gte(MAX_SYNC_ATTEMPTS))
        .add(Expr::col(discord_guild_event::Column::Version).gt(Expr::col(discord_guild_event::Column::SyncedVersion)))
        .add(
            discord_guild_event::Column::LeasedUntil
                .is_null()
                .or(discord_guild_event::Column::LeasedUntil.lt(now)),
        )
}

/// An update that lets go of a row's lease and starts its count of tries again.
fn released() -> sea_orm::UpdateMany<discord_guild_event::Entity> {
    discord_guild_event::Entity::update_many()
        .col_expr(
            discord_guild_event::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            discord_guild_event::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(discord_guild_event::Column::Attempts, Expr::value(0))
}

/// The scheduled-event syncs given up on (at most `limit`, oldest change first).
pub async fn given_up<C: ConnectionTrait>(db: &C, limit: u64, now: DateTime<Utc>) -> DomainResult<Vec<GivenUp>> {
    let rows = discord_guild_event::Entity::find()
        .filter(gave_up(now))
        .order_by_asc(discord_guild_event::Column::UpdatedAt)
        .order_by_asc(discord_guild_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let Some((s, Some(e))) = session::Entity::find_by_id(row.session_id)
            .find_also_related(event::Entity)
            .one(db)
            .await?
        else {
            continue;
        };
        found.push(GivenUp {
            session_id: s.id,
            event_id: e.id,
            title: e.title,
            start: format_utc(s.starts_at),
            attempts: row.attempts,
        });
    }
    Ok(found)
}

/// Offers a given-up scheduled-event sync to the bot again, with a fresh count of tries (an
/// organiser fixed the cause, say). Not found unless the session's sync was given up.
pub async fn retry_sync(
    db: &sea_orm::DatabaseConnection,
    session_id: i64,
    change: &super::audit::Change,
) -> DomainResult<()> {
    super::in_write_txn(db, async |txn| {
        let done = released()
            .col_expr(discord_guild_event::Column::UpdatedAt, Expr::value(change.now))
            .filter(discord_guild_event::Column::SessionId.eq(session_id))
            .filter(gave_up(change.now))
            .exec(txn)
            .await?;
        if done.rows_affected == 0 {
            return Err(super::DomainError::not_found("scheduled event sync", session_id));
        }
        change
            .record(
                txn,
                "discord_sync.retried",
                super::audit::Target("session", session_id),
                format!("session {session_id}: its Discord scheduled event is tried again"),
            )
            .await?;
        Ok(())
    })
    .await
}

/// What a leased row asks the bot to do, as its session is now; `None` when nothing.
async fn guild_event_sync<C: ConnectionTrait>(
    db: &C,
    row: &discord_guild_event::Model,
    now: DateTime<Utc>,
) -> DomainResult<Option<GuildEventSync>> {
    let found = session::Entity::find_by_id(row.session_id)
        .find_also_related(event::Entity)
        .one(db)
        .await?;
    let (session, event) = match found {
        Some((s, Some(e))) => (Some(s), Some(e)),
        _ => (None, None),
    };
    let live = matches!((&session, &event), (Some(s), Some(e)) if s.status != SessionStatus::Cancelled && mirrored(e));
    let action = match (live, &row.discord_event_id) {
        // Discord makes and moves only events that have not started.
        (true, None) if session.as_ref().is_some_and(|s| s.starts_at > now) => GuildEventAction::Create,
        (true, Some(_)) if session.as_ref().is_some_and(|s| s.starts_at > now) => GuildEventAction::Update,
        (false, Some(_)) => GuildEventAction::Cancel,
        _ => return Ok(None),
    };
    let (name, description, start, end, location) = match (&session, &event) {
        (Some(s), Some(e)) => {
            let mut text = e.description.as_deref().map(|d| without_link(e, d)).unwrap_or_default();
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&format!("Book with the bot: /book {}", s.id));
            (
                clip(&session_title(e, s), NAME_MAX),
                clip(&text, DESCRIPTION_MAX),
                format_utc(s.starts_at),
                format_utc(s.ends_at),
                location(e),
            )
        }
        _ => (
            format!("Session {} (deleted)", row.session_id),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ),
    };
    Ok(Some(GuildEventSync {
        session_id: row.session_id,
        action,
        discord_event_id: row.discord_event_id.clone(),
        version: row.version,
        name,
        description,
        scheduled_start_time: start,
        scheduled_end_time: end,
        location,
    }))
}

/// Marks `version` of a session's scheduled event done by `owner` (with the Discord event's id,
/// when given) and ends the lease; `false` when `owner` holds no lease on it or `version` is not
/// one it was given. A version behind the current one leaves the row to be synced again.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    session_id: i64,
    owner: &str,
    discord_event_id: Option<&str>,
    version: i32,
) -> DomainResult<bool> {
    let mut update = released()
        .col_expr(discord_guild_event::Column::SyncedVersion, Expr::value(version))
        .filter(discord_guild_event::Column::SessionId.eq(session_id))
        .filter(discord_guild_event::Column::LeaseOwner.eq(owner))
        .filter(discord_guild_event::Column::Version.gte(version))
        .filter(discord_guild_event::Column::SyncedVersion.lt(version));
    if let Some(id) = discord_event_id {
        update = update.col_expr(discord_guild_event::Column::DiscordEventId, Expr::value(id));
    }
    Ok(update.exec(db).await?.rows_affected > 0)
}
