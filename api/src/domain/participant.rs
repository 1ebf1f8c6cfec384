//! Participants: school leaders, staff, facilitators and organisers who book and reflect.
//! Erasing one removes their personal data and keeps their history, anonymised.

use chrono::{DateTime, Utc};
use entity::state::BookingStatus;
use entity::{participant, school};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::audit::{Change, Target};
use super::contract::{self, Cursor, Email, LocalTime, Name, Reminders, Role, SearchText, TimeZone};
use super::page::{Page, PageRequest, fetch_page};
use super::validate::{NAME_MAX, nullable};
use super::{DomainError, DomainResult, Validator, in_write_txn, text_search};
use crate::db::for_update;
use crate::problem_code::ProblemCode;
use crate::time::format_utc;
pub use crate::wire::participant::Participant;

/// The roles a participant may have in a network.
pub const ROLES: &[&str] = &[
    "head",
    "senior_leader",
    "middle_leader",
    "teacher",
    "governor",
    "facilitator",
    "lead_reviewer",
    "organiser",
];

/// The zone a participant gets when none is given.
pub const DEFAULT_TIME_ZONE: &str = "Europe/London";

/// What the name of an erased participant reads as.
pub const ERASED_NAME: &str = "Erased participant";

/// The fields a new participant must have (a `PATCH` may leave any out).
pub const REQUIRED_ON_CREATE: &[&str] = &["name", "email", "role"];
/// The shortest and longest reminder, in minutes before a session (5 minutes to 30 days).
pub const REMINDER_MINUTES: std::ops::RangeInclusive<i64> = 5..=43_200;
/// The most reminders a participant may have.
pub const MAX_REMINDERS: usize = 5;

contract::create_body!(
    /// A participant as sent to create one: the fields of [`ParticipantInput`], those of
    /// [`REQUIRED_ON_CREATE`] required.
    NewParticipant => ParticipantInput, REQUIRED_ON_CREATE,
    "A new participant: `name`, `email` and `role` are required. Quiet hours are given both \
(`quiet_hours_start` and `quiet_hours_end`, different times) or neither."
);

/// A participant as sent to create or change one. On create `name`, `email` and `role` are
/// required; on `PATCH` only the fields given are changed (`school_id: null` removes the school).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    /// Their name.
    #[schema(value_type = Option<Name>, example = "Ann Jones")]
    pub name: Option<String>,
    /// Their email address (unique, `email_taken`; stored lower-cased).
    #[schema(value_type = Option<Email>, example = "ann.jones@northfield.sch.uk")]
    pub email: Option<String>,
    /// Their school, if they belong to one: the id of a school that exists.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, example = 1)]
    pub school_id: Option<Option<i64>>,
    /// Their role in the network.
    #[schema(value_type = Option<Role>, example = "head")]
    pub role: Option<String>,
    /// Their IANA time zone, used in emails and bot replies (default `Europe/London`).
    #[schema(value_type = Option<TimeZone>, example = "Europe/London")]
    pub time_zone: Option<String>,
    /// Whether they hear by email (default true).
    pub notify_email: Option<bool>,
    /// Whether they hear by Discord DM once their account is linked (default false).
    pub notify_discord: Option<bool>,
    /// Minutes before a session to remind them, e.g. `[1440, 60]` (the default); `[]` turns
    /// reminders off. Each between 5 and 43200 (30 days), at most five.
    #[schema(value_type = Option<Reminders>, example = json!([1440, 60]))]
    pub reminder_offsets_minutes: Option<Vec<i64>>,
    /// Start of their quiet hours, local `HH:MM` (reminders wait until the end); `null` for none.
    /// Quiet hours have a start and an end, or neither, and the two differ.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<LocalTime>, example = "21:00")]
    pub quiet_hours_start: Option<Option<String>>,
    /// End of their quiet hours, local `HH:MM` (see `quiet_hours_start`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<LocalTime>, example = "07:00")]
    pub quiet_hours_end: Option<Option<String>>,
}

/// Filters for the participant list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ParticipantFilter {
    /// Only participants of this school.
    pub school_id: Option<i64>,
    /// Only participants with this role.
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
    /// Text to find in the name or email.
    #[param(value_type = Option<SearchText>)]
    pub q: Option<String>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    pub cursor: Option<String>,
}

impl From<participant::Model> for Participant {
    fn from(m: participant::Model) -> Self {
        let reminder_offsets_minutes = super::outbox::reminder_offsets(&m);
        Self {
            id: m.id,
            name: m.name,
            email: m.email,
            school_id: m.school_id,
            role: m.role,
            time_zone: m.time_zone,
            notify_email: m.notify_email,
            notify_discord: m.notify_discord,
            discord_linked: m.discord_id.is_some(),
            reminder_offsets_minutes,
            quiet_hours_start: m.quiet_hours_start,
            quiet_hours_end: m.quiet_hours_end,
            erased: m.erased_at.is_some(),
            announcements: m.announcements,
            created_at: format_utc(m.created_at),
            updated_at: format_utc(m.updated_at),
        }
    }
}

struct ParticipantFields {
    name: String,
    email: String,
    school_id: Option<i64>,
    role: &'static str,
    time_zone: &'static str,
    notify_email: bool,
    notify_discord: bool,
    reminders: Vec<i64>,
    quiet_hours: (Option<String>, Option<String>),
}

fn parse(
    input: ParticipantInput,
    existing: Option<&participant::Model>,
) -> Result<ParticipantFields, Vec<super::FieldError>> {
    let mut v = Validator::new();
    let name = v.required_line(
        "name",
        input.name.or_else(|| existing.map(|e| e.name.clone())),
        NAME_MAX,
    );
    let email = v.required_email("email", input.email.or_else(|| existing.and_then(|e| e.email.clone())));
    let school_id = match input.school_id {
        Some(given) => given,
        None => existing.and_then(|e| e.school_id),
    };
    let role = v
        .one_of("role", input.role.or_else(|| existing.map(|e| e.role.clone())), ROLES)
        .unwrap_or("teacher");
    let zone = input
        .time_zone
        .or_else(|| existing.map(|e| e.time_zone.clone()))
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_owned());
    let time_zone = v.zone("time_zone", Some(zone)).map_or(DEFAULT_TIME_ZONE, |z| z.name());
    let notify_email = input.notify_email.or(existing.map(|e| e.notify_email)).unwrap_or(true);
    let notify_discord = input
        .notify_discord
        .or(existing.map(|e| e.notify_discord))
        .unwrap_or(false);
    let reminders = match input.reminder_offsets_minutes {
        Some(list) => {
            if list.len() > MAX_REMINDERS {
                v.fail("reminder_offsets_minutes", "at most five reminders");
            }
            for (i, m) in list.iter().enumerate() {
                if !REMINDER_MINUTES.contains(m) {
                    v.fail(
                        format!("reminder_offsets_minutes[{i}]"),
                        "must be between 5 and 43200 minutes",
                    );
                }
            }
            let mut list = list;
            list.sort_unstable_by(|a, b| b.cmp(a));
            list.dedup();
            list
        }
        None => existing.map_or(
            super::outbox::DEFAULT_REMINDERS.to_vec(),
            super::outbox::reminder_offsets,
        ),
    };
    let start_text = match input.quiet_hours_start {
        Some(given) => given,
        None => existing.and_then(|e| e.quiet_hours_start.clone()),
    };
    let end_text = match input.quiet_hours_end {
        Some(given) => given,
        None => existing.and_then(|e| e.quiet_hours_end.clone()),
    };
    let mut quiet = |field: &str, text: &Option<String>| {
        let text = text.as_deref()?;
        match chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M") {
            Ok(t) => Some(t.format("%H:%M").to_string()),
            Err(_) => {
                v.fail(field, "must be a local time, HH:MM");
                None
            }
        }
    };
    let quiet_start = quiet("quiet_hours_start", &start_text);
    let quiet_end = quiet("quiet_hours_end", &end_text);
    if start_text.is_some() != end_text.is_some() {
        let missing = if start_text.is_some() {
            "quiet_hours_end"
        } else {
            "quiet_hours_start"
        };
        v.fail(missing, "give both quiet_hours_start and quiet_hours_end, or neither");
    } else if quiet_start.is_some() && quiet_start == quiet_end {
        v.fail("quiet_hours_end", "must differ from quiet_hours_start");
    }
    v.finish()?;
    Ok(ParticipantFields {
        name,
        email,
        school_id,
        role,
        time_zone,
        notify_email,
        notify_discord,
        reminders,
        quiet_hours: (quiet_start, quiet_end),
    })
}

/// Checks the school exists and the email is not someone else's.
async fn check_references<C: ConnectionTrait>(db: &C, f: &ParticipantFields, except: Option<i64>) -> DomainResult<()> {
    if let Some(school_id) = f.school_id
        && school::Entity::find_by_id(school_id).one(db).await?.is_none()
    {
        return Err(super::unknown_reference("school_id", "school", school_id));
    }
    let mut query = participant::Entity::find().filter(participant::Column::Email.eq(f.email.as_str()));
    if let Some(id) = except {
        query = query.filter(participant::Column::Id.ne(id));
    }
    if let Some(other) = query.one(db).await? {
        return Err(email_taken(&f.email, Some(other.id)));
    }
    Ok(())
}

fn email_taken(email: &str, other: Option<i64>) -> DomainError {
    let detail = match other {
        Some(id) => format!("{email} already belongs to participant {id}"),
        None => format!("{email} is already used"),
    };
    DomainError::conflict(ProblemCode::EmailTaken, detail, Some("email"))
}

fn fill(active: &mut participant::ActiveModel, f: ParticipantFields, now: DateTime<Utc>) {
    active.name = Set(f.name);
    active.email = Set(Some(f.email));
    active.school_id = Set(f.school_id);
    active.role = Set(f.role.to_owned());
    active.time_zone = Set(f.time_zone.to_owned());
    active.notify_email = Set(f.notify_email);
    active.notify_discord = Set(f.notify_discord);
    active.reminder_offsets_minutes = Set(serde_json::Value::from(f.reminders));
    active.quiet_hours_start = Set(f.quiet_hours.0);
    active.quiet_hours_end = Set(f.quiet_hours.1);
    active.updated_at = Set(now);
}

/// Adds a participant with the default preferences (email reminders 24 h and 1 h before).
#[tracing::instrument(skip(db, input))]
pub async fn create<C: ConnectionTrait>(
    db: &C,
    input: ParticipantInput,
    now: DateTime<Utc>,
) -> DomainResult<Participant> {
    let fields = parse(input, None)?;
    check_references(db, &fields, None).await?;
    let email = fields.email.clone();
    let mut active = participant::ActiveModel {
        discord_id: Set(None),
        feed_token: Set(None),
        erased_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    fill(&mut active, fields, now);
    let row = active.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => email_taken(&email, None),
        _ => DomainError::Database(e),
    })?;
    Ok(row.into())
}

/// Reads a participant row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<participant::Model> {
    participant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("participant", id))
}

/// Reads a participant.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Participant> {
    Ok(find(db, id).await?.into())
}

/// Lists participants matching `filter`, a page at a time.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &ParticipantFilter,
    page: PageRequest,
) -> DomainResult<Page<Participant>> {
    let mut query = participant::Entity::find();
    if let Some(school_id) = filter.school_id {
        query = query.filter(participant::Column::SchoolId.eq(school_id));
    }
    if let Some(role) = filter.role.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(participant::Column::Role.eq(role));
    }
    if let Some(q) = filter.q.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(text_search(&[participant::Column::Name, participant::Column::Email], q));
    }
    Ok(fetch_page(db, query, participant::Column::Id, |m| m.id, page)
        .await?
        .map(Participant::from))
}

/// Creates a participant (no `id`) or changes one, in a transaction of its own with its audit row.
pub async fn save(
    db: &sea_orm::DatabaseConnection,
    id: Option<i64>,
    input: ParticipantInput,
    change: &super::audit::Change,
) -> DomainResult<Participant> {
    super::audit::save(
        db,
        change,
        "participant",
        id,
        async |txn| match id {
            None => create(txn, input.clone(), change.now).await,
            Some(id) => update(txn, id, input.clone(), change.now).await,
        },
        |saved| (saved.id, format!("participant {} ({})", saved.id, saved.role)),
    )
    .await
}

/// Changes the fields given; an erased participant cannot be changed.
#[tracing::instrument(skip(db, input))]
pub async fn update<C: ConnectionTrait>(
    db: &C,
    id: i64,
    input: ParticipantInput,
    now: DateTime<Utc>,
) -> DomainResult<Participant> {
    // Locked on PostgreSQL, so a concurrent change waits and then compares against this one's
    // result (whether the reminders need requeueing), not against the row as it was before both.
    let existing = for_update(participant::Entity::find_by_id(id), db.get_database_backend())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("participant", id))?;
    if existing.erased_at.is_some() {
        return Err(DomainError::conflict(
            ProblemCode::ParticipantErased,
            format!("participant {id} was erased and cannot be changed"),
            None,
        ));
    }
    let fields = parse(input, Some(&existing))?;
    check_references(db, &fields, Some(id)).await?;
    let email = fields.email.clone();
    let before = existing.clone();
    let mut active: participant::ActiveModel = existing.into();
    fill(&mut active, fields, now);
    let row = active.update(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => email_taken(&email, None),
        _ => DomainError::Database(e),
    })?;
    let reminders_changed = before.reminder_offsets_minutes != row.reminder_offsets_minutes
        || before.quiet_hours_start != row.quiet_hours_start
        || before.quiet_hours_end != row.quiet_hours_end
        || before.time_zone != row.time_zone
        || before.notify_email != row.notify_email
        || before.notify_discord != row.notify_discord;
    if reminders_changed {
        reschedule_reminders(db, &row, now).await?;
    }
    Ok(row.into())
}

/// Links Discord user `discord_id` to participant `id` (unlinking whoever held it before) and
/// turns on Discord DMs for them, requeueing their reminders on their new channels.
pub(crate) async fn link_discord<C: ConnectionTrait>(
    txn: &C,
    id: i64,
    discord_id: &str,
    now: chrono::DateTime<Utc>,
) -> DomainResult<participant::Model> {
    let person = find(txn, id).await?;
    if person.erased_at.is_some() {
        return Err(DomainError::not_found("participant", id));
    }
    let holders = participant::Entity::find()
        .filter(participant::Column::DiscordId.eq(discord_id))
        .filter(participant::Column::Id.ne(id))
        .all(txn)
        .await?;
    for holder in holders {
        let mut active: participant::ActiveModel = holder.into();
        active.discord_id = Set(None);
        active.updated_at = Set(now);
        let row = active.update(txn).await?;
        reschedule_reminders(txn, &row, now).await?;
    }
    let mut active: participant::ActiveModel = person.into();
    active.discord_id = Set(Some(discord_id.to_owned()));
    active.notify_discord = Set(true);
    active.updated_at = Set(now);
    let row = active.update(txn).await?;
    reschedule_reminders(txn, &row, now).await?;
    Ok(row)
}

/// Queues a participant's reminders afresh for their upcoming confirmed bookings (their
/// reminder times, quiet hours, zone or channels changed).
async fn reschedule_reminders<C: ConnectionTrait>(
    db: &C,
    person: &participant::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let upcoming = entity::booking::Entity::find()
        .filter(entity::booking::Column::ParticipantId.eq(person.id))
        .filter(entity::booking::Column::Status.eq(BookingStatus::Confirmed))
        .filter(entity::booking::Column::StartsAt.gt(now))
        .all(db)
        .await?;
    for b in upcoming {
        super::outbox::withdraw_reminders(db, b.id, "the participant changed their reminders", now).await?;
        super::outbox::schedule_reminders(db, person, b.id, b.session_id, b.starts_at, now).await?;
    }
    Ok(())
}

/// Erases a participant's personal data (name, email, Discord link, feed, preferences) and keeps
/// their bookings and answers, anonymised; every secret that reached them stops working (survey
/// links, feed, sign-in links, signed-in sessions, link codes). All in one transaction. Erasing
/// twice is harmless.
#[tracing::instrument(skip(db))]
pub async fn erase(db: &DatabaseConnection, id: i64, change: &Change) -> DomainResult<()> {
    in_write_txn(db, async |txn| {
        erase_in(txn, id, change.now).await?;
        super::audit::forget_person(txn, id).await?;
        change
            .record(
                txn,
                "participant.erased",
                Target("participant", id),
                format!("participant {id} erased"),
            )
            .await
    })
    .await
}

async fn erase_in(db: &DatabaseTransaction, id: i64, now: DateTime<Utc>) -> DomainResult<()> {
    let existing = find(db, id).await?;
    if existing.erased_at.is_some() {
        return Ok(());
    }
    let mut active: participant::ActiveModel = existing.into();
    active.name = Set(ERASED_NAME.to_owned());
    active.email = Set(None);
    active.discord_id = Set(None);
    active.feed_token = Set(None);
    active.quiet_hours_start = Set(None);
    active.quiet_hours_end = Set(None);
    active.erased_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(db).await?;
    super::outbox::withdraw_all_for(db, id, now).await?;
    // Their answers and reflections stay in the counts, no longer linked to them.
    entity::survey_response::Entity::update_many()
        .col_expr(
            entity::survey_response::Column::ParticipantId,
            Expr::value(Option::<i64>::None),
        )
        .filter(entity::survey_response::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    entity::reflection::Entity::update_many()
        .col_expr(
            entity::reflection::Column::ParticipantId,
            Expr::value(Option::<i64>::None),
        )
        .filter(entity::reflection::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    // Their survey links die with the secret in them: the token becomes one no link can hold
    // (the form's path takes letters, digits, `-` and `_` only), unique as the column must be.
    entity::survey_invitation::Entity::update_many()
        .col_expr(
            entity::survey_invitation::Column::ParticipantId,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(entity::survey_invitation::Column::Token, Expr::cust("'erased:' || id"))
        .filter(entity::survey_invitation::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    entity::discord_link_code::Entity::delete_many()
        .filter(entity::discord_link_code::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    entity::discord_link_request::Entity::delete_many()
        .filter(entity::discord_link_request::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    super::sign_in::forget(db, id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_requires_exactly_the_fields_the_parser_requires() {
        let errors = parse(Default::default(), None).err().unwrap();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, REQUIRED_ON_CREATE);
    }
}
