//! Participants: school leaders, staff, facilitators and organisers who book and reflect.
//! Erasing one removes their personal data and keeps their history, anonymised.

use chrono::Utc;
use entity::{participant, school};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page::{Page, PageRequest, fetch_page};
use super::validate::{NAME_MAX, nullable};
use super::{DomainError, DomainResult, Validator, text_search};
use crate::time::format_utc;

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

/// The default reminders: 24 hours and 1 hour before a session, in minutes.
pub const DEFAULT_REMINDERS: [i64; 2] = [1440, 60];

/// What the name of an erased participant reads as.
pub const ERASED_NAME: &str = "Erased participant";

/// A participant as sent to create or change one. On create `name`, `email` and `role` are
/// required; on `PATCH` only the fields given are changed (`school_id: null` removes the school).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    /// Their name.
    #[schema(example = "Ann Jones")]
    pub name: Option<String>,
    /// Their email address (unique; stored lower-cased).
    #[schema(example = "ann.jones@northfield.sch.uk")]
    pub email: Option<String>,
    /// Their school, if they belong to one.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, example = 1)]
    pub school_id: Option<Option<i64>>,
    /// One of `head`, `senior_leader`, `middle_leader`, `teacher`, `governor`, `facilitator`, `lead_reviewer`, `organiser`.
    #[schema(example = "head")]
    pub role: Option<String>,
    /// Their IANA time zone, used in emails and bot replies (default `Europe/London`).
    #[schema(example = "Europe/London")]
    pub time_zone: Option<String>,
}

/// A participant as Convene shows it to organisers.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Participant {
    /// Their id.
    pub id: i64,
    /// Their name (`Erased participant` once erased).
    pub name: String,
    /// Their email (none once erased).
    pub email: Option<String>,
    /// Their school.
    pub school_id: Option<i64>,
    /// Their role.
    pub role: String,
    /// Their time zone.
    pub time_zone: String,
    /// Whether their personal data was erased.
    pub erased: bool,
    /// When they were added (UTC).
    pub created_at: String,
    /// When they were last changed (UTC).
    pub updated_at: String,
}

/// Filters for the participant list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParticipantFilter {
    /// Only participants of this school.
    pub school_id: Option<i64>,
    /// Only participants with this role.
    pub role: Option<String>,
    /// Text to find in the name or email.
    pub q: Option<String>,
    /// How many to return (default 50, at most 500).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl From<participant::Model> for Participant {
    fn from(m: participant::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            email: m.email,
            school_id: m.school_id,
            role: m.role,
            time_zone: m.time_zone,
            erased: m.erased_at.is_some(),
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
    v.finish()?;
    Ok(ParticipantFields {
        name,
        email,
        school_id,
        role,
        time_zone,
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
    DomainError::conflict("email_taken", detail, Some("email"))
}

fn fill(active: &mut participant::ActiveModel, f: ParticipantFields) {
    active.name = Set(f.name);
    active.email = Set(Some(f.email));
    active.school_id = Set(f.school_id);
    active.role = Set(f.role.to_owned());
    active.time_zone = Set(f.time_zone.to_owned());
    active.updated_at = Set(Utc::now());
}

/// Adds a participant with the default preferences (email reminders 24 h and 1 h before).
#[tracing::instrument(skip(db, input))]
pub async fn create<C: ConnectionTrait>(db: &C, input: ParticipantInput) -> DomainResult<Participant> {
    let fields = parse(input, None)?;
    check_references(db, &fields, None).await?;
    let email = fields.email.clone();
    let mut active = participant::ActiveModel {
        discord_id: Set(None),
        feed_token: Set(None),
        notify_email: Set(true),
        notify_discord: Set(false),
        reminder_offsets_minutes: Set(serde_json::Value::from(DEFAULT_REMINDERS.to_vec())),
        quiet_hours_start: Set(None),
        quiet_hours_end: Set(None),
        erased_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    fill(&mut active, fields);
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

/// Changes the fields given; an erased participant cannot be changed.
#[tracing::instrument(skip(db, input))]
pub async fn update<C: ConnectionTrait>(db: &C, id: i64, input: ParticipantInput) -> DomainResult<Participant> {
    let existing = find(db, id).await?;
    if existing.erased_at.is_some() {
        return Err(DomainError::conflict(
            "participant_erased",
            format!("participant {id} was erased and cannot be changed"),
            None,
        ));
    }
    let fields = parse(input, Some(&existing))?;
    check_references(db, &fields, Some(id)).await?;
    let email = fields.email.clone();
    let mut active: participant::ActiveModel = existing.into();
    fill(&mut active, fields);
    let row = active.update(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => email_taken(&email, None),
        _ => DomainError::Database(e),
    })?;
    Ok(row.into())
}

/// Erases a participant's personal data (name, email, Discord link, feed, preferences) and keeps
/// their bookings and answers, anonymised. Erasing twice is harmless.
#[tracing::instrument(skip(db))]
pub async fn erase<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<()> {
    let existing = find(db, id).await?;
    if existing.erased_at.is_some() {
        return Ok(());
    }
    let now = Utc::now();
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
    Ok(())
}
