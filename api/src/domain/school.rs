//! Schools: the members of a network, with their local authority, phase, strengths and priorities.

use chrono::{DateTime, Utc};
use entity::school;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contract::{self, Cursor, Name, Phase, SearchText, ShortLine, Topics, Urn};
use super::page::{Page, PageRequest, fetch_page};
use super::validate::{NAME_MAX, SHORT_LINE_MAX};
use super::{DomainError, DomainResult, Validator, equals_ignoring_case, text_search};
use crate::problem_code::ProblemCode;
use crate::time::format_utc;

/// The phases of education a school may serve.
pub const PHASES: &[&str] = &["primary", "secondary", "all_through", "special", "ap", "post_16"];
/// The longest URN (letters and digits).
pub const URN_MAX: usize = 16;
/// The fields a new school must have (a `PATCH` may leave any out).
pub const REQUIRED_ON_CREATE: &[&str] = &["name", "urn", "local_authority", "region", "phase"];

contract::create_body!(
    /// A school as sent to create one: the fields of [`SchoolInput`], those of
    /// [`REQUIRED_ON_CREATE`] required.
    NewSchool => SchoolInput, REQUIRED_ON_CREATE, "A new school: every field but the topic lists is required."
);

/// A school as sent to create or change one. On create every field but the topic lists is
/// required; on `PATCH` only the fields given are changed.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolInput {
    /// The school's name.
    #[schema(value_type = Option<Name>, example = "Northfield Primary School")]
    pub name: Option<String>,
    /// The Unique Reference Number (letters and digits, up to 16); unique (`urn_taken`).
    #[schema(value_type = Option<Urn>, example = "100001")]
    pub urn: Option<String>,
    /// The local authority the school belongs to; triads never pair two schools of one.
    #[schema(value_type = Option<ShortLine>, example = "Camden")]
    pub local_authority: Option<String>,
    /// The region, e.g. `London`.
    #[schema(value_type = Option<ShortLine>, example = "London")]
    pub region: Option<String>,
    /// The phase of education.
    #[schema(value_type = Option<Phase>, example = "primary")]
    pub phase: Option<String>,
    /// Topics the school is strong in.
    #[schema(value_type = Option<Topics>)]
    pub strengths: Option<Vec<String>>,
    /// Topics the school wants to improve.
    #[schema(value_type = Option<Topics>)]
    pub priorities: Option<Vec<String>>,
    /// Topics of practice accredited for Sharing Leading Practice sessions.
    #[schema(value_type = Option<Topics>)]
    pub accredited_practice: Option<Vec<String>>,
}

/// A school as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct School {
    /// The school's id.
    pub id: i64,
    /// The school's name.
    pub name: String,
    /// The Unique Reference Number.
    pub urn: String,
    /// The local authority.
    pub local_authority: String,
    /// The region.
    pub region: String,
    /// The phase.
    #[schema(value_type = Phase)]
    pub phase: String,
    /// Topics the school is strong in.
    pub strengths: Vec<String>,
    /// Topics the school wants to improve.
    pub priorities: Vec<String>,
    /// Topics of accredited practice.
    pub accredited_practice: Vec<String>,
    /// When it was created (UTC).
    #[schema(value_type = contract::Instant)]
    pub created_at: String,
    /// When it was last changed (UTC).
    #[schema(value_type = contract::Instant)]
    pub updated_at: String,
}

/// Filters for the school list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SchoolFilter {
    /// Only schools of this local authority (exact, any case).
    #[param(value_type = Option<SearchText>)]
    pub local_authority: Option<String>,
    /// Only schools of this phase.
    #[param(value_type = Option<Phase>)]
    pub phase: Option<String>,
    /// Text to find in the name or URN.
    #[param(value_type = Option<SearchText>)]
    pub q: Option<String>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    pub cursor: Option<String>,
}

/// Reads a JSON list of topics as stored.
pub fn topics_of(json: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(json.clone()).unwrap_or_default()
}

fn topics_json(topics: &[String]) -> serde_json::Value {
    serde_json::Value::from(topics.to_vec())
}

impl From<school::Model> for School {
    fn from(m: school::Model) -> Self {
        Self {
            id: m.id,
            strengths: topics_of(&m.strengths),
            priorities: topics_of(&m.priorities),
            accredited_practice: topics_of(&m.accredited_practice),
            name: m.name,
            urn: m.urn,
            local_authority: m.local_authority,
            region: m.region,
            phase: m.phase,
            created_at: format_utc(m.created_at),
            updated_at: format_utc(m.updated_at),
        }
    }
}

/// The checked fields of a school.
struct SchoolFields {
    name: String,
    urn: String,
    local_authority: String,
    region: String,
    phase: &'static str,
    strengths: Vec<String>,
    priorities: Vec<String>,
    accredited_practice: Vec<String>,
}

/// Checks `input` laid over `existing` (for a `PATCH`) or alone (for a create).
fn parse(input: SchoolInput, existing: Option<&school::Model>) -> Result<SchoolFields, Vec<super::FieldError>> {
    let mut v = Validator::new();
    let keep = |given: Option<String>, old: Option<&String>| given.or_else(|| old.cloned());
    let name = v.required_line("name", keep(input.name, existing.map(|e| &e.name)), NAME_MAX);
    let urn = v.required_line("urn", keep(input.urn, existing.map(|e| &e.urn)), URN_MAX);
    if !urn.is_empty() && !urn.chars().all(|c| c.is_ascii_alphanumeric()) {
        v.fail("urn", "must be letters and digits only");
    }
    let local_authority = v.required_line(
        "local_authority",
        keep(input.local_authority, existing.map(|e| &e.local_authority)),
        SHORT_LINE_MAX,
    );
    let region = v.required_line(
        "region",
        keep(input.region, existing.map(|e| &e.region)),
        SHORT_LINE_MAX,
    );
    let phase = v
        .one_of("phase", keep(input.phase, existing.map(|e| &e.phase)), PHASES)
        .unwrap_or("primary");
    let keep_topics =
        |given: Option<Vec<String>>, old: Option<&serde_json::Value>| given.or_else(|| old.map(topics_of));
    let strengths = v.topics(
        "strengths",
        keep_topics(input.strengths, existing.map(|e| &e.strengths)),
    );
    let priorities = v.topics(
        "priorities",
        keep_topics(input.priorities, existing.map(|e| &e.priorities)),
    );
    let accredited_practice = v.topics(
        "accredited_practice",
        keep_topics(input.accredited_practice, existing.map(|e| &e.accredited_practice)),
    );
    v.finish()?;
    Ok(SchoolFields {
        name,
        urn,
        local_authority,
        region,
        phase,
        strengths,
        priorities,
        accredited_practice,
    })
}

async fn ensure_urn_free<C: ConnectionTrait>(db: &C, urn: &str, except: Option<i64>) -> DomainResult<()> {
    let mut query = school::Entity::find().filter(school::Column::Urn.eq(urn));
    if let Some(id) = except {
        query = query.filter(school::Column::Id.ne(id));
    }
    if let Some(other) = query.one(db).await? {
        return Err(urn_taken(urn, other.id));
    }
    Ok(())
}

fn urn_taken(urn: &str, other: i64) -> DomainError {
    DomainError::conflict(
        ProblemCode::UrnTaken,
        format!("URN {urn} already belongs to school {other}"),
        Some("urn"),
    )
}

fn fill(active: &mut school::ActiveModel, f: SchoolFields, now: DateTime<Utc>) {
    active.name = Set(f.name);
    active.urn = Set(f.urn);
    active.local_authority = Set(f.local_authority);
    active.region = Set(f.region);
    active.phase = Set(f.phase.to_owned());
    active.strengths = Set(topics_json(&f.strengths));
    active.priorities = Set(topics_json(&f.priorities));
    active.accredited_practice = Set(topics_json(&f.accredited_practice));
    active.updated_at = Set(now);
}

/// Creates a school; its URN must be new.
#[tracing::instrument(skip(db, input))]
pub async fn create<C: ConnectionTrait>(db: &C, input: SchoolInput, now: DateTime<Utc>) -> DomainResult<School> {
    let fields = parse(input, None)?;
    ensure_urn_free(db, &fields.urn, None).await?;
    let urn = fields.urn.clone();
    let mut active = school::ActiveModel {
        created_at: Set(now),
        ..Default::default()
    };
    fill(&mut active, fields, now);
    let row = active.insert(db).await.map_err(|e| {
        DomainError::from_db_unique(
            e,
            ProblemCode::UrnTaken,
            &format!("URN {urn} is already used"),
            Some("urn"),
        )
    })?;
    Ok(row.into())
}

/// Reads a school row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<school::Model> {
    school::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("school", id))
}

/// Reads a school.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<School> {
    Ok(find(db, id).await?.into())
}

/// Lists schools matching `filter`, a page at a time.
pub async fn list<C: ConnectionTrait>(db: &C, filter: &SchoolFilter, page: PageRequest) -> DomainResult<Page<School>> {
    let mut query = school::Entity::find();
    if let Some(la) = filter.local_authority.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(equals_ignoring_case(school::Column::LocalAuthority, la));
    }
    if let Some(phase) = filter.phase.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(school::Column::Phase.eq(phase));
    }
    if let Some(q) = filter.q.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(text_search(&[school::Column::Name, school::Column::Urn], q));
    }
    Ok(fetch_page(db, query, school::Column::Id, |m| m.id, page)
        .await?
        .map(School::from))
}

/// Changes the fields given; the URN must stay unique.
#[tracing::instrument(skip(db, input))]
pub async fn update<C: ConnectionTrait>(
    db: &C,
    id: i64,
    input: SchoolInput,
    now: DateTime<Utc>,
) -> DomainResult<School> {
    let existing = find(db, id).await?;
    let fields = parse(input, Some(&existing))?;
    ensure_urn_free(db, &fields.urn, Some(id)).await?;
    let urn = fields.urn.clone();
    let mut active: school::ActiveModel = existing.into();
    fill(&mut active, fields, now);
    let row = active.update(db).await.map_err(|e| {
        DomainError::from_db_unique(
            e,
            ProblemCode::UrnTaken,
            &format!("URN {urn} is already used"),
            Some("urn"),
        )
    })?;
    Ok(row.into())
}

/// Creates a school (no `id`) or changes one, in a transaction of its own with its audit row.
pub async fn save(
    db: &sea_orm::DatabaseConnection,
    id: Option<i64>,
    input: SchoolInput,
    change: &super::audit::Change,
) -> DomainResult<School> {
    super::audit::save(
        db,
        change,
        "school",
        id,
        async |txn| match id {
            None => create(txn, input.clone(), change.now).await,
            Some(id) => update(txn, id, input.clone(), change.now).await,
        },
        |saved| (saved.id, format!("\"{}\" ({})", saved.name, saved.local_authority)),
    )
    .await
}

/// Deletes a school; its participants keep their history but lose the link to it.
#[tracing::instrument(skip(db))]
pub async fn delete<C: ConnectionTrait>(db: &C, id: i64, change: &super::audit::Change) -> DomainResult<()> {
    let result = school::Entity::delete_by_id(id).exec(db).await?;
    if result.rows_affected == 0 {
        return Err(DomainError::not_found("school", id));
    }
    change
        .record(
            db,
            "school.deleted",
            super::audit::Target("school", id),
            format!("school {id} deleted"),
        )
        .await
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
