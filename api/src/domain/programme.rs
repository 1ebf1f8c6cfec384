//! Programmes: a series of events — a conference series, an SLP programme, a triad cohort.

use chrono::{DateTime, Utc};
use entity::programme;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contract::{self, Cursor, Description, Name, ProgrammeKind, ProgrammeStatus, SearchText};
use super::page::{Page, PageRequest, fetch_page};
use super::validate::{NAME_MAX, TEXT_MAX, nullable};
use super::{DomainError, DomainResult, Validator, text_search};
use crate::time::format_utc;

/// The kinds of programme.
pub const KINDS: &[&str] = &["conference_series", "slp_programme", "triad_cohort", "other"];
/// A programme's states: only a published programme has a public feed.
pub const STATUSES: &[&str] = &["draft", "published", "archived"];
/// The fields a new programme must have (a `PATCH` may leave any out).
pub const REQUIRED_ON_CREATE: &[&str] = &["name", "kind"];

contract::create_body!(
    /// A programme as sent to create one: the fields of [`ProgrammeInput`], those of
    /// [`REQUIRED_ON_CREATE`] required.
    NewProgramme => ProgrammeInput, REQUIRED_ON_CREATE, "A new programme: `name` and `kind` are required."
);

/// A programme as sent to create or change one (`name` and `kind` required on create).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeInput {
    /// The programme's name.
    #[schema(value_type = Option<Name>, example = "Growing the Top 2027")]
    pub name: Option<String>,
    /// The kind of programme.
    #[schema(value_type = Option<ProgrammeKind>, example = "triad_cohort")]
    pub kind: Option<String>,
    /// What it is for (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Description>)]
    pub description: Option<Option<String>>,
    /// `draft` (the default), `published` or `archived`.
    #[schema(value_type = Option<ProgrammeStatus>)]
    pub status: Option<String>,
}

/// A programme as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Programme {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its kind.
    #[schema(value_type = ProgrammeKind)]
    pub kind: String,
    /// What it is for.
    pub description: Option<String>,
    /// `draft`, `published` or `archived`.
    #[schema(value_type = ProgrammeStatus)]
    pub status: String,
    /// When it was created (UTC).
    #[schema(value_type = contract::Instant)]
    pub created_at: String,
    /// When it was last changed (UTC).
    #[schema(value_type = contract::Instant)]
    pub updated_at: String,
}

/// Filters for the programme list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeFilter {
    /// Only programmes of this kind.
    #[param(value_type = Option<ProgrammeKind>)]
    pub kind: Option<String>,
    /// Only programmes in this state.
    #[param(value_type = Option<ProgrammeStatus>)]
    pub status: Option<String>,
    /// Text to find in the name.
    #[param(value_type = Option<SearchText>)]
    pub q: Option<String>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    pub cursor: Option<String>,
}

impl From<programme::Model> for Programme {
    fn from(m: programme::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            kind: m.kind,
            description: m.description,
            status: m.status,
            created_at: format_utc(m.created_at),
            updated_at: format_utc(m.updated_at),
        }
    }
}

fn fill(
    active: &mut programme::ActiveModel,
    input: ProgrammeInput,
    existing: Option<&programme::Model>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let mut v = Validator::new();
    let name = v.required_line(
        "name",
        input.name.or_else(|| existing.map(|e| e.name.clone())),
        NAME_MAX,
    );
    let kind = v.one_of("kind", input.kind.or_else(|| existing.map(|e| e.kind.clone())), KINDS);
    let status = v.one_of(
        "status",
        input
            .status
            .or_else(|| existing.map(|e| e.status.clone()))
            .or_else(|| Some("draft".into())),
        STATUSES,
    );
    let description = match input.description {
        Some(given) => v.optional_text("description", given, TEXT_MAX),
        None => existing.and_then(|e| e.description.clone()),
    };
    v.finish()?;
    active.name = Set(name);
    active.kind = Set(kind.unwrap_or("other").to_owned());
    active.status = Set(status.unwrap_or("draft").to_owned());
    active.description = Set(description);
    active.updated_at = Set(now);
    Ok(())
}

/// Creates a programme.
#[tracing::instrument(skip(db, input))]
pub async fn create<C: ConnectionTrait>(db: &C, input: ProgrammeInput, now: DateTime<Utc>) -> DomainResult<Programme> {
    let mut active = programme::ActiveModel {
        created_at: Set(now),
        ..Default::default()
    };
    fill(&mut active, input, None, now)?;
    Ok(active.insert(db).await?.into())
}

/// Reads a programme row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<programme::Model> {
    programme::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("programme", id))
}

/// Reads a programme.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Programme> {
    Ok(find(db, id).await?.into())
}

/// Lists programmes matching `filter`, a page at a time.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &ProgrammeFilter,
    page: PageRequest,
) -> DomainResult<Page<Programme>> {
    let mut query = programme::Entity::find();
    if let Some(kind) = filter.kind.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(programme::Column::Kind.eq(kind));
    }
    if let Some(status) = filter.status.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(programme::Column::Status.eq(status));
    }
    if let Some(q) = filter.q.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(text_search(&[programme::Column::Name], q));
    }
    Ok(fetch_page(db, query, programme::Column::Id, |m| m.id, page)
        .await?
        .map(Programme::from))
}

/// Changes the fields given.
#[tracing::instrument(skip(db, input))]
pub async fn update<C: ConnectionTrait>(
    db: &C,
    id: i64,
    input: ProgrammeInput,
    now: DateTime<Utc>,
) -> DomainResult<Programme> {
    let existing = find(db, id).await?;
    let mut active: programme::ActiveModel = existing.clone().into();
    fill(&mut active, input, Some(&existing), now)?;
    Ok(active.update(db).await?.into())
}

/// Creates a programme (no `id`) or changes one, in a transaction of its own with its audit row.
pub async fn save(
    db: &sea_orm::DatabaseConnection,
    id: Option<i64>,
    input: ProgrammeInput,
    change: &super::audit::Change,
) -> DomainResult<Programme> {
    super::audit::save(
        db,
        change,
        "programme",
        id,
        async |txn| match id {
            None => create(txn, input.clone(), change.now).await,
            Some(id) => update(txn, id, input.clone(), change.now).await,
        },
        |saved| (saved.id, format!("\"{}\"", saved.name)),
    )
    .await
}

/// Deletes a programme; its events stay, no longer part of a series.
#[tracing::instrument(skip(db))]
pub async fn delete<C: ConnectionTrait>(db: &C, id: i64, change: &super::audit::Change) -> DomainResult<()> {
    if programme::Entity::delete_by_id(id).exec(db).await?.rows_affected == 0 {
        return Err(DomainError::not_found("programme", id));
    }
    change
        .record(
            db,
            "programme.deleted",
            super::audit::Target("programme", id),
            format!("programme {id} deleted"),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_requires_exactly_the_fields_the_parser_requires() {
        let mut active = <programme::ActiveModel as Default>::default();
        let Err(DomainError::Invalid(errors)) =
            fill(&mut active, ProgrammeInput::default(), None, DateTime::UNIX_EPOCH)
        else {
            panic!("an empty programme was taken");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, REQUIRED_ON_CREATE);
    }
}
