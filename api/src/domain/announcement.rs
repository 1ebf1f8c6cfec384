//! Announcements: a message an organiser sends to an audience — by email, by Discord DM, or as one
//! post in the network's Discord channel — delivered through the outbox like every message.
//!
//! - The audience is a set of filters over participants (programme, event, schools, local
//!   authorities, phases, roles, and people to leave out because they are booked on an event):
//!   AND across kinds, OR within a list. Everyone is `all: true`, never an empty audience.
//! - Each channel reaches only people who have it: an email address and email on (`email`), a
//!   linked Discord account and Discord on (`discord_dm`), both only while they take
//!   announcements; erased people never. A preview answers exactly that, writing nothing.
//! - Sending writes the announcement, one outbox row per person and channel (unique indexes make
//!   that hold in the database, whichever filters matched a person), and each person's one-click
//!   unsubscribe token (RFC 8058), hashed, all in one transaction with its audit row.
//! - Pacing: a person's rows are due [`PACE_PER_SECOND`] a second, so thousands of mails trickle
//!   out behind the bookings' confirmations instead of in front of them; and the outbox's claim
//!   takes announcements after every other due message (`notification::claim`).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use entity::state::{BookingStatus, EventStatus, NotificationState, SessionStatus};
use entity::{announcement, announcement_recipient, booking, event, notification, participant, school, session};
use rand::RngCore as _;
use sea_orm::sea_query::{Expr, ExprTrait as _, Func, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::{Digest as _, Sha256};

use super::audit::{Actor, ActorKind, Change, Target};
use super::outbox::Kind;
use super::page::{Page, PageRequest, fetch_page};
use super::validate::SHORT_LINE_MAX;
use super::{DomainError, DomainResult, FieldError, Validator, in_write_txn};
use crate::time::format_utc;
pub use crate::wire::announcements::{
    Announcement, AnnouncementInput, Audience, ChannelCounts, ChannelReach, Counts, Preview, Reach, Reached,
};

/// The channels an announcement may go by.
pub const CHANNELS: &[&str] = &["email", "discord_dm", "discord_channel"];
/// The longest subject line.
pub const SUBJECT_MAX: usize = 200;
/// The longest message.
pub const BODY_MAX: usize = 10_000;
/// The most values one audience list holds.
pub const LIST_MAX: usize = 500;
/// How many people a preview lists per channel.
pub const PREVIEW_PEOPLE: u64 = 50;
/// How many of an announcement's messages fall due each second, per channel: about a batch of
/// the mail worker's a second, which it keeps up with even while it gives way to busy requests,
/// so confirmations never queue behind an announcement (10,000 mails take about 8 minutes).
pub const PACE_PER_SECOND: usize = 20;
/// Why a message that was not sent was withdrawn when its person had turned announcements off
/// (what the counts call `unsubscribed`).
pub const UNSUBSCRIBED: &str = "the participant turned announcements off";
/// The outbox channel of a Discord DM.
const DM: &str = "discord";
/// The outbox channel of a post in the Discord channel.
const POST: &str = "discord_channel";

super::contract::create_body!(
    /// An announcement as sent to preview or send it: the fields of [`AnnouncementInput`], all but
    /// `event_id` required.
    NewAnnouncement => AnnouncementInput, &["subject", "body", "audience", "channels"],
    "An announcement: `subject`, `body`, `audience` and `channels` are required. The audience's filters \
combine with AND across kinds and OR within a list; at least one filter, or `all: true` alone, is required. \
`event_id`, `audience.event_id`, `audience.programme_id`, `audience.exclude_booked_on_event_id` and \
`audience.school_ids` must name rows that exist (422 naming the field otherwise); `event_id` a published event."
);

/// Paging through the announcements sent.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementFilter {
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<super::contract::Cursor>)]
    pub cursor: Option<String>,
}

/// An announcement checked and ready: the fields as they will be stored.
struct Checked {
    subject: String,
    body: String,
    event: Option<event::Model>,
    audience: Audience,
    channels: Vec<&'static str>,
}

impl Checked {
    fn wants(&self, channel: &str) -> bool {
        self.channels.contains(&channel)
    }
}

/// Checks a list of an audience: absent is no filter; given, it holds 1 to [`LIST_MAX`] values.
fn list_given<T>(v: &mut Validator, field: &str, list: &Option<Vec<T>>) -> bool {
    match list {
        None => false,
        Some(items) if items.is_empty() => {
            v.fail(field, "must not be empty (leave it out to not filter by it)");
            true
        }
        Some(items) if items.len() > LIST_MAX => {
            v.fail(field, format!("must list at most {LIST_MAX} values"));
            true
        }
        Some(_) => true,
    }
}

/// An announcement's fields checked, before the ids it names are looked up.
struct Fields {
    subject: String,
    body: String,
    event_id: Option<i64>,
    audience: Audience,
    channels: Vec<&'static str>,
}

/// Checks the fields that need no database, naming every field at fault.
fn check_fields(input: AnnouncementInput) -> Result<Fields, DomainError> {
    let mut v = Validator::new();
    let subject = v.required_line("subject", input.subject, SUBJECT_MAX);
    let body = match v.optional_text("body", input.body, BODY_MAX) {
        Some(body) => body,
        None => {
            v.fail("body", "is required");
            String::new()
        }
    };
    let mut channels: Vec<&'static str> = Vec::new();
    match input.channels {
        None => v.fail("channels", format!("is required (any of {})", CHANNELS.join(", "))),
        Some(list) if list.is_empty() => v.fail(
            "channels",
            format!("must name at least one channel ({})", CHANNELS.join(", ")),
        ),
        Some(list) => {
            for (i, name) in list.into_iter().enumerate() {
                if let Some(channel) = v.one_of(&format!("channels[{i}]"), Some(name), CHANNELS)
                    && !channels.contains(&channel)
                {
                    channels.push(channel);
                }
            }
        }
    }
    let mut audience = Audience::default();
    match input.audience {
        None => v.fail(
            "audience",
            "is required: choose at least one filter, or `all: true` to send to everyone",
        ),
        Some(a) => {
            let mut filters = 0;
            filters += usize::from(a.programme_id.is_some()) + usize::from(a.event_id.is_some());
            filters += usize::from(list_given(&mut v, "audience.school_ids", &a.school_ids));
            filters += usize::from(list_given(&mut v, "audience.local_authorities", &a.local_authorities));
            filters += usize::from(list_given(&mut v, "audience.phases", &a.phases));
            filters += usize::from(list_given(&mut v, "audience.roles", &a.roles));
            let local_authorities = a.local_authorities.map(|list| {
                let mut kept: Vec<String> = Vec::new();
                for (i, name) in list.into_iter().enumerate() {
                    let name = v.line(&format!("audience.local_authorities[{i}]"), name, SHORT_LINE_MAX);
                    if !kept.iter().any(|k| k.eq_ignore_ascii_case(&name)) {
                        kept.push(name);
                    }
                }
                kept
            });
            let mut each_of = |field: &str, list: Option<Vec<String>>, allowed: &[&'static str]| {
                list.map(|list| {
                    let mut kept: Vec<String> = Vec::new();
                    for (i, value) in list.into_iter().enumerate() {
                        if let Some(value) = v.one_of(&format!("{field}[{i}]"), Some(value), allowed)
                            && !kept.iter().any(|k| k == value)
                        {
                            kept.push(value.to_owned());
                        }
                    }
                    kept
                })
            };
            let phases = each_of("audience.phases", a.phases, super::school::PHASES);
            let roles = each_of("audience.roles", a.roles, super::participant::ROLES);
            match a.all {
                Some(true) if filters > 0 => v.fail(
                    "audience.all",
                    "cannot be combined with other filters (leave it out to filter)",
                ),
                Some(false) => v.fail(
                    "audience.all",
                    "must be true when given (leave it out and choose filters instead)",
                ),
                None if filters == 0 => v.fail(
                    "audience",
                    "must have at least one filter, or `all: true` to send to everyone",
                ),
                _ => {}
            }
            let mut school_ids = a.school_ids;
            if let Some(ids) = school_ids.as_mut() {
                ids.sort_unstable();
                ids.dedup();
            }
            audience = Audience {
                all: a.all,
                programme_id: a.programme_id,
                event_id: a.event_id,
                school_ids,
                local_authorities,
                phases,
                roles,
                exclude_booked_on_event_id: a.exclude_booked_on_event_id,
            };
        }
    }
    v.finish()?;
    Ok(Fields {
        subject,
        body,
        event_id: input.event_id,
        audience,
        channels,
    })
}

/// Checks an announcement: its fields, then that every id it names exists (and that the event
/// it is about is published), naming every field at fault.
async fn check<C: ConnectionTrait>(db: &C, input: AnnouncementInput) -> DomainResult<Checked> {
    let Fields {
        subject,
        body,
        event_id,
        audience,
        channels,
    } = check_fields(input)?;
    let mut errors = Vec::new();
    let event = match event_id {
        None => None,
        Some(id) => match event::Entity::find_by_id(id).one(db).await? {
            None => {
                errors.push(FieldError::new("event_id", format!("no event has id {id}")));
                None
            }
            Some(e) if e.status != EventStatus::Published => {
                errors.push(FieldError::new(
                    "event_id",
                    format!("event {id} is {}, not published: nobody could book it", e.status),
                ));
                None
            }
            Some(e) => Some(e),
        },
    };
    for (field, id) in [
        ("audience.event_id", audience.event_id),
        (
            "audience.exclude_booked_on_event_id",
            audience.exclude_booked_on_event_id,
        ),
    ] {
        if let Some(id) = id
            && event::Entity::find_by_id(id).one(db).await?.is_none()
        {
            errors.push(FieldError::new(field, format!("no event has id {id}")));
        }
    }
    if let Some(id) = audience.programme_id
        && entity::programme::Entity::find_by_id(id).one(db).await?.is_none()
    {
        errors.push(FieldError::new(
            "audience.programme_id",
            format!("no programme has id {id}"),
        ));
    }
    if let Some(ids) = &audience.school_ids {
        let found: Vec<i64> = school::Entity::find()
            .select_only()
            .column(school::Column::Id)
            .filter(school::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
            errors.push(FieldError::new(
                "audience.school_ids",
                format!("no school has id {missing}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    Ok(Checked {
        subject,
        body,
        event,
        audience,
        channels,
    })
}

/// The participants with a booking in one of `statuses` on a session of an event `events` selects.
fn booked_on(events: SelectStatement, statuses: &[BookingStatus]) -> SelectStatement {
    let sessions = Query::select()
        .column(session::Column::Id)
        .from(session::Entity)
        .and_where(session::Column::EventId.in_subquery(events))
        .to_owned();
    Query::select()
        .column(booking::Column::ParticipantId)
        .from(booking::Entity)
        .and_where(booking::Column::SessionId.in_subquery(sessions))
        .and_where(booking::Column::Status.is_in(statuses.iter().copied()))
        .to_owned()
}

fn event_by_id(id: i64) -> SelectStatement {
    Query::select()
        .column(event::Column::Id)
        .from(event::Entity)
        .and_where(event::Column::Id.eq(id))
        .to_owned()
}

fn schools_where(condition: Condition) -> SelectStatement {
    Query::select()
        .column(school::Column::Id)
        .from(school::Entity)
        .cond_where(condition)
        .to_owned()
}

/// The participants an audience selects: never an erased one.
fn audience_condition(a: &Audience) -> Condition {
    let holding = [BookingStatus::Confirmed, BookingStatus::Waitlisted];
    let mut c = Condition::all().add(participant::Column::ErasedAt.is_null());
    if let Some(roles) = &a.roles {
        c = c.add(participant::Column::Role.is_in(roles.iter().cloned()));
    }
    if let Some(ids) = &a.school_ids {
        c = c.add(participant::Column::SchoolId.is_in(ids.iter().copied()));
    }
    if let Some(names) = &a.local_authorities {
        let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
        c = c.add(participant::Column::SchoolId.in_subquery(schools_where(
            Condition::all().add(Expr::expr(Func::lower(Expr::col(school::Column::LocalAuthority))).is_in(lower)),
        )));
    }
    if let Some(phases) = &a.phases {
        c = c.add(participant::Column::SchoolId.in_subquery(schools_where(
            Condition::all().add(school::Column::Phase.is_in(phases.iter().cloned())),
        )));
    }
    if let Some(id) = a.event_id {
        c = c.add(participant::Column::Id.in_subquery(booked_on(event_by_id(id), &holding)));
    }
    if let Some(id) = a.programme_id {
        let events = Query::select()
            .column(event::Column::Id)
            .from(event::Entity)
            .and_where(event::Column::ProgrammeId.eq(id))
            .to_owned();
        c = c.add(participant::Column::Id.in_subquery(booked_on(
            events,
            &[
                BookingStatus::Confirmed,
                BookingStatus::Waitlisted,
                BookingStatus::Attended,
            ],
        )));
    }
    if let Some(id) = a.exclude_booked_on_event_id {
        c = c.add(participant::Column::Id.not_in_subquery(booked_on(event_by_id(id), &holding)));
    }
    c
}

/// The people of an audience a channel reaches.
fn channel_condition(channel: &str) -> Condition {
    match channel {
        "email" => Condition::all()
            .add(participant::Column::Email.is_not_null())
            .add(participant::Column::NotifyEmail.eq(true))
            .add(participant::Column::Announcements.eq(true)),
        "discord_dm" => Condition::all()
            .add(participant::Column::DiscordId.is_not_null())
            .add(participant::Column::NotifyDiscord.eq(true))
            .add(participant::Column::Announcements.eq(true)),
        _ => Condition::all().add(participant::Column::DiscordId.is_not_null()),
    }
}

/// Whom one channel reaches: how many, and the first [`PREVIEW_PEOPLE`] by id.
async fn reach<C: ConnectionTrait>(db: &C, audience: &Audience, channel: &str) -> DomainResult<Reach> {
    let select = participant::Entity::find()
        .filter(audience_condition(audience))
        .filter(channel_condition(channel));
    let count = select.clone().count(db).await?;
    let people = select
        .order_by_asc(participant::Column::Id)
        .limit(PREVIEW_PEOPLE)
        .find_also_related(school::Entity)
        .all(db)
        .await?
        .into_iter()
        .map(|(p, s)| Reached {
            id: p.id,
            name: p.name,
            role: p.role,
            school_id: p.school_id,
            school_name: s.map(|s| s.name),
        })
        .collect();
    Ok(Reach {
        count: i64::try_from(count).unwrap_or(i64::MAX),
        people,
    })
}

/// Whom an announcement would reach on each channel it asks for; nothing is written.
#[tracing::instrument(skip(db, input))]
pub async fn preview<C: ConnectionTrait>(db: &C, input: AnnouncementInput) -> DomainResult<Preview> {
    let checked = check(db, input).await?;
    let mut channels = ChannelReach::default();
    for channel in &checked.channels {
        let found = Some(reach(db, &checked.audience, channel).await?);
        match *channel {
            "email" => channels.email = found,
            "discord_dm" => channels.discord_dm = found,
            _ => channels.discord_channel = found,
        }
    }
    Ok(Preview { channels })
}

/// The SHA-256 of an unsubscribe token, as stored.
fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 256 random bits, URL-safe.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The one-click unsubscribe URL of a token.
pub fn unsubscribe_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/unsubscribe/{token}")
}

/// When the `n`th message of a channel falls due: [`PACE_PER_SECOND`] a second from `now`.
fn paced(now: DateTime<Utc>, n: usize) -> DateTime<Utc> {
    now + chrono::Duration::seconds(i64::try_from(n / PACE_PER_SECOND).unwrap_or(i64::MAX / 2))
}

/// Rows written in one statement: well under both databases' limits on bound values.
const ROWS_PER_STATEMENT: usize = 500;

/// Sends an announcement: stores it, queues one message per person and channel (paced) and the
/// channel post, with each person's unsubscribe token, and records `announcement.sent`, in one
/// transaction.
#[tracing::instrument(skip_all)]
pub async fn send(
    db: &DatabaseConnection,
    public_url: &str,
    input: AnnouncementInput,
    change: &Change,
) -> DomainResult<Announcement> {
    let now = change.now;
    in_write_txn(db, async |txn| {
        let checked = check(txn, input.clone()).await?;
        let mut reachable = Condition::any();
        for channel in ["email", "discord_dm"] {
            if checked.wants(channel) {
                reachable = reachable.add(channel_condition(channel));
            }
        }
        let people = if checked.wants("email") || checked.wants("discord_dm") {
            participant::Entity::find()
                .filter(audience_condition(&checked.audience))
                .filter(reachable)
                .order_by_asc(participant::Column::Id)
                .all(txn)
                .await?
        } else {
            Vec::new()
        };
        let row = announcement::ActiveModel {
            subject: Set(checked.subject.clone()),
            body: Set(checked.body.clone()),
            event_id: Set(checked.event.as_ref().map(|e| e.id)),
            audience: Set(serde_json::to_value(&checked.audience).unwrap_or_default()),
            channels: Set(serde_json::json!(checked.channels)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let mut recipients = Vec::with_capacity(people.len());
        let mut rows = Vec::with_capacity(people.len());
        let (mut emails, mut dms) = (0usize, 0usize);
        for person in &people {
            let email = checked.wants("email") && person.email.is_some() && person.notify_email && person.announcements;
            let dm = checked.wants("discord_dm")
                && person.discord_id.is_some()
                && person.notify_discord
                && person.announcements;
            if !email && !dm {
                continue;
            }
            let token = new_token();
            recipients.push(announcement_recipient::ActiveModel {
                announcement_id: Set(row.id),
                participant_id: Set(person.id),
                token_hash: Set(hash(&token)),
                created_at: Set(now),
                ..Default::default()
            });
            let payload = serde_json::json!({
                "announcement_id": row.id,
                "unsubscribe_url": unsubscribe_url(public_url, &token),
            });
            if email {
                rows.push(outbox_row(
                    row.id,
                    "email",
                    Some(person.id),
                    None,
                    payload.clone(),
                    paced(now, emails),
                    now,
                ));
                emails += 1;
            }
            if dm {
                rows.push(outbox_row(
                    row.id,
                    DM,
                    Some(person.id),
                    None,
                    payload,
                    paced(now, dms),
                    now,
                ));
                dms += 1;
            }
        }
        if checked.wants("discord_channel") {
            let next_session = match &checked.event {
                None => None,
                Some(e) => session::Entity::find()
                    .filter(session::Column::EventId.eq(e.id))
                    .filter(session::Column::Status.eq(SessionStatus::Scheduled))
                    .filter(session::Column::StartsAt.gt(now))
                    .order_by_asc(session::Column::StartsAt)
                    .one(txn)
                    .await?
                    .map(|s| s.id),
            };
            let payload = serde_json::json!({
                "announcement_id": row.id,
                "subject": checked.subject,
                "body": checked.body,
                "event_id": checked.event.as_ref().map(|e| e.id),
            });
            rows.push(outbox_row(row.id, POST, None, next_session, payload, now, now));
        }
        while !recipients.is_empty() {
            let rest = recipients.split_off(recipients.len().min(ROWS_PER_STATEMENT));
            announcement_recipient::Entity::insert_many(recipients)
                .exec_without_returning(txn)
                .await?;
            recipients = rest;
        }
        while !rows.is_empty() {
            let rest = rows.split_off(rows.len().min(ROWS_PER_STATEMENT));
            notification::Entity::insert_many(rows)
                .exec_without_returning(txn)
                .await?;
            rows = rest;
        }
        let mut reached = Vec::new();
        if checked.wants("email") {
            reached.push(format!("{emails} by email"));
        }
        if checked.wants("discord_dm") {
            reached.push(format!("{dms} by Discord DM"));
        }
        if checked.wants("discord_channel") {
            reached.push("a post in the Discord channel".to_owned());
        }
        change
            .record(
                txn,
                "announcement.sent",
                Target("announcement", row.id),
                format!("\"{}\": {}", checked.subject, reached.join(", ")),
            )
            .await?;
        let id = row.id;
        let counts = counts_of(txn, &[id]).await?;
        Ok(view(row, counts.get(&id)))
    })
    .await
}

/// One outbox row of an announcement.
fn outbox_row(
    announcement_id: i64,
    channel: &str,
    participant_id: Option<i64>,
    session_id: Option<i64>,
    payload: serde_json::Value,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> notification::ActiveModel {
    notification::ActiveModel {
        channel: Set(channel.to_owned()),
        kind: Set(Kind::Announcement.as_str().to_owned()),
        participant_id: Set(participant_id),
        booking_id: Set(None),
        session_id: Set(session_id),
        payload: Set(payload),
        due_at: Set(due_at),
        state: Set(NotificationState::Pending),
        attempts: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        announcement_id: Set(Some(announcement_id)),
        ..Default::default()
    }
}

/// An announcement's messages of one channel, state and reason, and how many.
type CountRow = (Option<i64>, String, NotificationState, Option<String>, i64);

/// The counts of each announcement of `ids`, per outbox channel, read in one statement.
async fn counts_of<C: ConnectionTrait>(db: &C, ids: &[i64]) -> DomainResult<HashMap<i64, ChannelCounts>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<CountRow> = notification::Entity::find()
        .select_only()
        .column(notification::Column::AnnouncementId)
        .column(notification::Column::Channel)
        .column(notification::Column::State)
        .column(notification::Column::LastError)
        .column_as(notification::Column::Id.count(), "n")
        .filter(notification::Column::AnnouncementId.is_in(ids.iter().copied()))
        .group_by(notification::Column::AnnouncementId)
        .group_by(notification::Column::Channel)
        .group_by(notification::Column::State)
        .group_by(notification::Column::LastError)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<i64, ChannelCounts> = HashMap::new();
    for (id, channel, state, reason, n) in rows {
        let Some(id) = id else { continue };
        let by_channel = out.entry(id).or_default();
        let counts = match channel.as_str() {
            "email" => by_channel.email.get_or_insert_with(Counts::default),
            DM => by_channel.discord_dm.get_or_insert_with(Counts::default),
            _ => by_channel.discord_channel.get_or_insert_with(Counts::default),
        };
        match state {
            NotificationState::Pending | NotificationState::Leased => counts.queued += n,
            NotificationState::Sent => counts.sent += n,
            NotificationState::Dead => counts.failed += n,
            NotificationState::Withdrawn if reason.as_deref() == Some(UNSUBSCRIBED) => counts.unsubscribed += n,
            NotificationState::Withdrawn => counts.withdrawn += n,
        }
    }
    Ok(out)
}

/// An announcement as organisers see it, with its counts.
fn view(m: announcement::Model, counts: Option<&ChannelCounts>) -> Announcement {
    let channels: Vec<String> = serde_json::from_value(m.channels).unwrap_or_default();
    let mut by_channel = counts.cloned().unwrap_or_default();
    // Every channel asked for is shown, with zeros when it reached nobody.
    for channel in &channels {
        match channel.as_str() {
            "email" => {
                by_channel.email.get_or_insert_with(Counts::default);
            }
            "discord_dm" => {
                by_channel.discord_dm.get_or_insert_with(Counts::default);
            }
            _ => {
                by_channel.discord_channel.get_or_insert_with(Counts::default);
            }
        }
    }
    let mut total = Counts::default();
    for c in [&by_channel.email, &by_channel.discord_dm, &by_channel.discord_channel]
        .into_iter()
        .flatten()
    {
        total.queued += c.queued;
        total.sent += c.sent;
        total.failed += c.failed;
        total.unsubscribed += c.unsubscribed;
        total.withdrawn += c.withdrawn;
    }
    Announcement {
        id: m.id,
        subject: m.subject,
        body: m.body,
        event_id: m.event_id,
        audience: serde_json::from_value(m.audience).unwrap_or_default(),
        channels,
        counts: total,
        by_channel,
        created_at: format_utc(m.created_at),
    }
}

/// One announcement with its counts.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Announcement> {
    let row = announcement::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("announcement", id))?;
    let counts = counts_of(db, &[id]).await?;
    Ok(view(row, counts.get(&id)))
}

/// Announcements sent, oldest first, with their counts.
pub async fn list<C: ConnectionTrait>(db: &C, page: PageRequest) -> DomainResult<Page<Announcement>> {
    let rows = fetch_page(
        db,
        announcement::Entity::find(),
        announcement::Column::Id,
        |a| a.id,
        page,
    )
    .await?;
    let ids: Vec<i64> = rows.items.iter().map(|a| a.id).collect();
    let counts = counts_of(db, &ids).await?;
    Ok(rows.map(|a| {
        let c = counts.get(&a.id).cloned();
        view(a, c.as_ref())
    }))
}

/// Whether `token` could be one of ours (43 URL-safe characters); anything else is refused
/// without a database lookup.
fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The person an unsubscribe token belongs to: `None` for a token that is not ours, and for a
/// person since erased.
pub async fn by_token<C: ConnectionTrait>(db: &C, token: &str) -> DomainResult<Option<participant::Model>> {
    if !well_formed(token) {
        return Ok(None);
    }
    let Some(recipient) = announcement_recipient::Entity::find()
        .filter(announcement_recipient::Column::TokenHash.eq(hash(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(participant::Entity::find_by_id(recipient.participant_id)
        .filter(participant::Column::ErasedAt.is_null())
        .one(db)
        .await?)
}

/// The one-click unsubscribe (RFC 8058): the token's person stops getting announcements (never
/// their booking messages, reminders or surveys), and those queued for them are withdrawn.
/// `None` for an unknown token (nothing changes); `Some(false)` when they had already stopped.
pub async fn unsubscribe(db: &DatabaseConnection, token: &str, now: DateTime<Utc>) -> DomainResult<Option<bool>> {
    if !well_formed(token) {
        return Ok(None);
    }
    in_write_txn(db, async |txn| {
        let Some(person) = by_token(txn, token).await? else {
            return Ok(None);
        };
        if !person.announcements {
            return Ok(Some(false));
        }
        set_subscribed(txn, person.id, false, now).await?;
        Change::new(Actor::person(ActorKind::Participant, &person), now)
            .record(
                txn,
                "participant.unsubscribed",
                Target("participant", person.id),
                "stopped announcements with the one-click link",
            )
            .await?;
        Ok(Some(true))
    })
    .await
}

/// Turns a participant's announcements on or off; off withdraws those not yet sent to them.
pub async fn set_subscribed<C: ConnectionTrait>(
    db: &C,
    participant_id: i64,
    on: bool,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    participant::Entity::update_many()
        .col_expr(participant::Column::Announcements, Expr::value(on))
        .col_expr(participant::Column::UpdatedAt, Expr::value(now))
        .filter(participant::Column::Id.eq(participant_id))
        .exec(db)
        .await?;
    if !on {
        notification::Entity::update_many()
            .col_expr(notification::Column::State, Expr::value(NotificationState::Withdrawn))
            .col_expr(notification::Column::LastError, Expr::value(UNSUBSCRIBED))
            .col_expr(notification::Column::UpdatedAt, Expr::value(now))
            .filter(notification::Column::ParticipantId.eq(participant_id))
            .filter(notification::Column::Kind.eq(Kind::Announcement.as_str()))
            .filter(notification::Column::State.eq(NotificationState::Pending))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// What an announcement's messages show: the announcement, and the event it is about with its
/// sessions still to come.
#[derive(Clone, Debug)]
pub struct Announcing {
    /// The announcement.
    pub announcement: announcement::Model,
    /// The event it is about, if any, and its scheduled sessions by start.
    pub event: Option<(event::Model, Vec<session::Model>)>,
}

/// What the announcements of a batch of outbox rows show, by announcement id (a statement each
/// for the announcements, their events and the events' sessions; none without announcements).
pub async fn announcing<C: ConnectionTrait>(
    db: &C,
    rows: &[notification::Model],
) -> DomainResult<HashMap<i64, Arc<Announcing>>> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.announcement_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let announcements = announcement::Entity::find()
        .filter(announcement::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let event_ids: Vec<i64> = announcements.iter().filter_map(|a| a.event_id).collect();
    let (events, sessions) = if event_ids.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (
            event::Entity::find()
                .filter(event::Column::Id.is_in(event_ids.clone()))
                .all(db)
                .await?,
            session::Entity::find()
                .filter(session::Column::EventId.is_in(event_ids))
                .filter(session::Column::Status.eq(SessionStatus::Scheduled))
                .order_by_asc(session::Column::StartsAt)
                .all(db)
                .await?,
        )
    };
    Ok(announcements
        .into_iter()
        .map(|a| {
            let event = a.event_id.and_then(|id| events.iter().find(|e| e.id == id)).map(|e| {
                let own: Vec<session::Model> = sessions.iter().filter(|s| s.event_id == e.id).cloned().collect();
                (e.clone(), own)
            });
            (a.id, Arc::new(Announcing { announcement: a, event }))
        })
        .collect())
}

/// Why a Discord DM of an announcement was not sent, if it is one whose person turned
/// announcements off ([`UNSUBSCRIBED`], so that the counts say so).
pub async fn why_not_sent<C: ConnectionTrait>(db: &C, row: &notification::Model) -> DomainResult<Option<&'static str>> {
    if row.kind != Kind::Announcement.as_str() {
        return Ok(None);
    }
    let Some(id) = row.participant_id else {
        return Ok(None);
    };
    let person = participant::Entity::find_by_id(id).one(db).await?;
    Ok(person.filter(|p| !p.announcements).map(|_| UNSUBSCRIBED))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(audience: serde_json::Value) -> AnnouncementInput {
        serde_json::from_value(serde_json::json!({
            "subject": "News", "body": "Hello", "channels": ["email"], "audience": audience,
        }))
        .unwrap()
    }

    fn fields(result: Result<Fields, DomainError>) -> Vec<String> {
        match result {
            Err(DomainError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected field errors, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn an_empty_audience_is_refused_and_everyone_must_be_said_alone() {
        assert_eq!(fields(check_fields(input(serde_json::json!({})))), ["audience"]);
        assert_eq!(
            fields(check_fields(input(serde_json::json!({"all": true, "roles": ["head"]})))),
            ["audience.all"]
        );
        assert_eq!(
            fields(check_fields(input(
                serde_json::json!({"exclude_booked_on_event_id": 1})
            ))),
            ["audience"]
        );
        assert!(check_fields(input(serde_json::json!({"all": true, "exclude_booked_on_event_id": 1}))).is_ok());
        assert_eq!(
            fields(check_fields(input(serde_json::json!({"roles": []})))),
            ["audience.roles"]
        );
        assert_eq!(
            fields(check_fields(input(
                serde_json::json!({"phases": ["primary", "nursery"]})
            ))),
            ["audience.phases[1]"]
        );
    }

    #[test]
    fn announcements_fall_due_a_few_a_second() {
        let now = DateTime::parse_from_rfc3339("2027-06-04T08:30:00Z").unwrap().to_utc();
        assert_eq!(paced(now, 0), now);
        assert_eq!(paced(now, PACE_PER_SECOND - 1), now);
        assert_eq!(paced(now, PACE_PER_SECOND * 30), now + chrono::Duration::seconds(30));
    }

    #[test]
    fn tokens_are_43_url_safe_characters() {
        let token = new_token();
        assert!(well_formed(&token), "{token}");
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}/", &token[..42])));
    }
}
