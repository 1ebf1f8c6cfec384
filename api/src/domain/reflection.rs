//! Reflections: a participant's note of what they tried after an event, what changed, and how
//! they know. Written at any time, optionally about one event.

use chrono::{DateTime, Utc};
use entity::{event, participant, reflection};
use sea_orm::sea_query::Query;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contract::{self, Cursor, Paragraph};
use super::page::{Page, PageRequest, fetch_page};
use super::{DomainError, DomainResult, Validator, unknown_reference};
use crate::problem_code::ProblemCode;
use crate::time::format_utc;
pub use crate::wire::reflection::{Reflection, ReflectionText};

/// The longest answer kept (a Discord modal's paragraph holds 4,000 characters).
pub const TEXT_MAX: usize = 4000;

/// The fields a reflection must have.
pub const REQUIRED: &[&str] = &["what_tried", "what_changed", "evidence"];

contract::create_body!(
    /// A reflection as the participant writes it, its texts required.
    NewReflectionText => ReflectionText, REQUIRED,
    "A reflection: the three texts are required; `event_id` names a published event."
);

contract::create_body!(
    /// A reflection an organiser records, its person and texts required.
    NewReflection => ReflectionInput, &["participant_id", "what_tried", "what_changed", "evidence"],
    "A reflection recorded for someone: `participant_id` (a participant who exists and was not erased) and the \
three texts are required; `event_id` names a published event."
);

/// A reflection an organiser records for a participant (from a conversation, a form on paper).
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReflectionInput {
    /// Whose reflection it is.
    #[schema(example = 1)]
    pub participant_id: Option<i64>,
    /// The event it is about, if any (a published event).
    pub event_id: Option<i64>,
    /// What they tried or adapted.
    #[schema(value_type = Option<Paragraph>)]
    pub what_tried: Option<String>,
    /// What changed as a result, so far.
    #[schema(value_type = Option<Paragraph>)]
    pub what_changed: Option<String>,
    /// How they know: the evidence.
    #[schema(value_type = Option<Paragraph>)]
    pub evidence: Option<String>,
}

/// Filters for the organisers' list of reflections.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReflectionFilter {
    /// Only reflections on this event.
    pub event_id: Option<i64>,
    /// Only reflections on events of this programme.
    pub programme_id: Option<i64>,
    /// Only reflections by people of this school.
    pub school_id: Option<i64>,
    /// Only reflections by this participant.
    pub participant_id: Option<i64>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    pub cursor: Option<String>,
}

fn view(r: reflection::Model, event_title: Option<String>) -> Reflection {
    Reflection {
        id: r.id,
        participant_id: r.participant_id,
        event_id: r.event_id,
        event_title,
        what_tried: r.what_tried,
        what_changed: r.what_changed,
        evidence: r.evidence,
        created_at: format_utc(r.created_at),
    }
}

fn required_text(v: &mut Validator, field: &str, value: Option<String>) -> String {
    match v.optional_text(field, value, TEXT_MAX) {
        Some(text) => text,
        None => {
            v.fail(field, "is required");
            String::new()
        }
    }
}

/// Stores a reflection by `person`.
#[tracing::instrument(skip(db, person, input), fields(participant_id = person.id))]
pub async fn create<C: ConnectionTrait>(
    db: &C,
    person: &participant::Model,
    input: ReflectionText,
    now: DateTime<Utc>,
) -> DomainResult<Reflection> {
    let mut v = Validator::new();
    let what_tried = required_text(&mut v, "what_tried", input.what_tried);
    let what_changed = required_text(&mut v, "what_changed", input.what_changed);
    let evidence = required_text(&mut v, "evidence", input.evidence);
    v.finish()?;
    let event = match input.event_id {
        None => None,
        Some(id) => Some(
            event::Entity::find_by_id(id)
                .filter(event::Column::PublishedAt.is_not_null())
                .one(db)
                .await?
                .ok_or_else(|| unknown_reference("event_id", "published event", id))?,
        ),
    };
    if person.erased_at.is_some() {
        return Err(DomainError::conflict(
            ProblemCode::ParticipantErased,
            format!("participant {} was erased", person.id),
            None,
        ));
    }
    let row = reflection::ActiveModel {
        participant_id: Set(Some(person.id)),
        event_id: Set(event.as_ref().map(|e| e.id)),
        what_tried: Set(what_tried),
        what_changed: Set(what_changed),
        evidence: Set(evidence),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(view(row, event.map(|e| e.title)))
}

/// Stores a reflection an organiser records for `input.participant_id`.
pub async fn create_for<C: ConnectionTrait>(
    db: &C,
    input: ReflectionInput,
    now: DateTime<Utc>,
) -> DomainResult<Reflection> {
    let id = input
        .participant_id
        .ok_or_else(|| DomainError::Invalid(vec![super::FieldError::new("participant_id", "is required")]))?;
    let person = participant::Entity::find_by_id(id)
        .filter(participant::Column::ErasedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| unknown_reference("participant_id", "participant", id))?;
    create(
        db,
        &person,
        ReflectionText {
            event_id: input.event_id,
            what_tried: input.what_tried,
            what_changed: input.what_changed,
            evidence: input.evidence,
        },
        now,
    )
    .await
}

/// Reflections matching `filter`, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &ReflectionFilter,
    page: PageRequest,
) -> DomainResult<Page<Reflection>> {
    let mut select = reflection::Entity::find();
    if let Some(id) = filter.event_id {
        select = select.filter(reflection::Column::EventId.eq(id));
    }
    if let Some(id) = filter.participant_id {
        select = select.filter(reflection::Column::ParticipantId.eq(id));
    }
    if let Some(id) = filter.programme_id {
        let events = Query::select()
            .column(event::Column::Id)
            .from(event::Entity)
            .and_where(event::Column::ProgrammeId.eq(id))
            .to_owned();
        select = select.filter(reflection::Column::EventId.in_subquery(events));
    }
    if let Some(id) = filter.school_id {
        let people = Query::select()
            .column(participant::Column::Id)
            .from(participant::Entity)
            .and_where(participant::Column::SchoolId.eq(id))
            .to_owned();
        select = select.filter(reflection::Column::ParticipantId.in_subquery(people));
    }
    with_titles(
        db,
        fetch_page(db, select, reflection::Column::Id, |r| r.id, page).await?,
    )
    .await
}

/// The school of each writer of `reflections` that has one, by participant id (for showing a
/// reflection with its school rather than its writer's name).
pub async fn writers_schools<C: ConnectionTrait>(
    db: &C,
    reflections: &[Reflection],
) -> DomainResult<std::collections::HashMap<i64, String>> {
    let people: Vec<i64> = reflections.iter().filter_map(|r| r.participant_id).collect();
    if people.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(participant::Entity::find()
        .filter(participant::Column::Id.is_in(people))
        .find_also_related(entity::school::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(p, s)| s.map(|s| (p.id, s.name)))
        .collect())
}

/// A participant's reflections, oldest first.
pub async fn list_for_participant<C: ConnectionTrait>(
    db: &C,
    participant_id: i64,
    page: PageRequest,
) -> DomainResult<Page<Reflection>> {
    let select = reflection::Entity::find().filter(reflection::Column::ParticipantId.eq(participant_id));
    with_titles(
        db,
        fetch_page(db, select, reflection::Column::Id, |r| r.id, page).await?,
    )
    .await
}

/// Views of a page of reflections, each with its event's title.
async fn with_titles<C: ConnectionTrait>(db: &C, rows: Page<reflection::Model>) -> DomainResult<Page<Reflection>> {
    let event_ids: Vec<i64> = rows.items.iter().filter_map(|r| r.event_id).collect();
    let events = if event_ids.is_empty() {
        Vec::new()
    } else {
        event::Entity::find()
            .filter(event::Column::Id.is_in(event_ids))
            .all(db)
            .await?
    };
    Ok(rows.map(|r| {
        let title = r
            .event_id
            .and_then(|id| events.iter().find(|e| e.id == id))
            .map(|e| e.title.clone());
        view(r, title)
    }))
}
