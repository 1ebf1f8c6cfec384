//! Closures: the days a school is shut (holidays, INSET days, one-off closures), imported from its
//! own term-dates `.ics` or given as date ranges, and the same for a local authority, whose term
//! dates its schools follow unless they have their own ([`super::closed_days`] combines them with
//! the public holidays). The triad scheduler never plans a visit on them.

use std::collections::HashSet;

use chrono::NaiveDate;
use entity::{authority_closure, closure};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::{Change, Target};
use super::validate::{LONG_LINE_MAX, SHORT_LINE_MAX};
use super::{DomainError, DomainResult, Validator, closed_days, contract, in_write_txn, school};
use crate::term_dates::{ClosedDays, Skipped};
use crate::time::format_utc;

/// The kinds of closure.
pub const KINDS: &[&str] = &["holiday", "inset", "closure", "blackout"];

/// The most closures one import may hold.
pub const MAX_PER_IMPORT: usize = 1000;

/// One closed range as sent in JSON.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureInput {
    /// The first closed day, `YYYY-MM-DD` (required).
    #[schema(value_type = contract::CalendarDate, example = "2026-12-21")]
    pub start_date: Option<String>,
    /// The last closed day (inclusive); the start date when left out. Not before `start_date`,
    /// and at most 366 days after it.
    #[schema(value_type = Option<contract::CalendarDate>, example = "2027-01-01")]
    pub end_date: Option<String>,
    /// `holiday`, `inset`, `closure` (the default) or `blackout` (open, but not for visits).
    #[schema(value_type = Option<contract::ClosureKind>, example = "holiday")]
    pub kind: Option<String>,
    /// What the days are, e.g. `Christmas holiday`.
    #[schema(value_type = Option<contract::LongLine>)]
    pub summary: Option<String>,
}

/// A JSON import: `{"closures": [...]}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosuresInput {
    /// The closed ranges (at most 1,000).
    #[schema(max_items = 1000)]
    pub closures: Vec<ClosureInput>,
}

/// A closed range as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Closure {
    /// The closure's id.
    pub id: i64,
    /// The school.
    pub school_id: i64,
    /// The first closed day.
    #[schema(example = "2026-12-21")]
    pub start_date: String,
    /// The last closed day (inclusive).
    #[schema(example = "2027-01-01")]
    pub end_date: String,
    /// `holiday`, `inset`, `closure` or `blackout`.
    #[schema(value_type = contract::ClosureKind)]
    pub kind: String,
    /// What the days are.
    pub summary: Option<String>,
    /// How it came: `ics` or `json`.
    pub source: String,
    /// When it was imported (UTC).
    pub created_at: String,
}

impl From<closure::Model> for Closure {
    fn from(m: closure::Model) -> Self {
        Self {
            id: m.id,
            school_id: m.school_id,
            start_date: m.start_date.to_string(),
            end_date: m.end_date.to_string(),
            kind: m.kind,
            summary: m.summary,
            source: m.source,
            created_at: format_utc(m.created_at),
        }
    }
}

/// An event of an `.ics` file that was not imported, and why.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SkippedEvent {
    /// The line of its `BEGIN:VEVENT`.
    pub line: usize,
    /// Its summary.
    pub summary: Option<String>,
    /// Why it was left out.
    pub reason: String,
}

impl From<Skipped> for SkippedEvent {
    fn from(s: Skipped) -> Self {
        Self {
            line: s.line,
            summary: s.summary,
            reason: s.reason.to_owned(),
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// The closures added.
    pub imported: Vec<Closure>,
    /// How many given ranges the school already had (same days, kind and summary).
    pub already_present: usize,
    /// How many earlier closures were removed (`replace=true`).
    pub replaced: u64,
    /// Events of an `.ics` file that are not closures (term starts, cancelled events).
    pub skipped: Vec<SkippedEvent>,
}

/// `?replace=true` and list filters.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClosureQuery {
    /// On import: remove the school's earlier closures first (a re-issued term-dates file).
    #[param(ignore = true)]
    pub replace: Option<bool>,
    /// On list: only closures ending on or after this day.
    #[param(value_type = Option<contract::CalendarDate>)]
    pub from: Option<String>,
    /// On list: only closures starting on or before this day.
    #[param(value_type = Option<contract::CalendarDate>)]
    pub to: Option<String>,
}

/// A closed range, checked.
#[derive(Clone, Debug)]
pub struct NewClosure {
    start_date: NaiveDate,
    end_date: NaiveDate,
    kind: &'static str,
    summary: Option<String>,
}

impl From<ClosedDays> for NewClosure {
    fn from(c: ClosedDays) -> Self {
        Self {
            start_date: c.start_date,
            end_date: c.end_date,
            kind: c.kind,
            summary: c.summary,
        }
    }
}

pub(crate) fn date(v: &mut Validator, field: &str, value: Option<&str>) -> Option<NaiveDate> {
    let value = value?;
    match NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
        Ok(d) if (2000..=2099).contains(&chrono::Datelike::year(&d)) => Some(d),
        Ok(_) => {
            v.fail(field, "must fall between the years 2000 and 2099");
            None
        }
        Err(_) => {
            v.fail(field, "must be a date, YYYY-MM-DD");
            None
        }
    }
}

/// Checks JSON ranges, naming each bad field as `closures[i].field`.
pub fn check(input: ClosuresInput) -> DomainResult<Vec<NewClosure>> {
    let mut v = Validator::new();
    if input.closures.len() > MAX_PER_IMPORT {
        v.fail("closures", format!("at most {MAX_PER_IMPORT} closures per import"));
    }
    let mut out = Vec::with_capacity(input.closures.len());
    for (i, c) in input.closures.into_iter().enumerate() {
        let field = |name: &str| format!("closures[{i}].{name}");
        let start = match c.start_date.as_deref() {
            None => {
                v.fail(field("start_date"), "is required");
                None
            }
            some => date(&mut v, &field("start_date"), some),
        };
        let end = date(&mut v, &field("end_date"), c.end_date.as_deref()).or(start);
        let kind = match c.kind {
            None => Some("closure"),
            some => v.one_of(&field("kind"), some, KINDS),
        };
        let summary = v.optional_line(&field("summary"), c.summary, LONG_LINE_MAX);
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                v.fail(field("end_date"), "must not be before start_date");
            } else if (e - s).num_days() > 366 {
                v.fail(field("end_date"), "a closure may last at most a year");
            }
        }
        if let (Some(start_date), Some(end_date), Some(kind)) = (start, end, kind) {
            out.push(NewClosure {
                start_date,
                end_date,
                kind,
                summary,
            });
        }
    }
    v.finish()?;
    Ok(out)
}

type Key = (NaiveDate, NaiveDate, String, Option<String>);

fn key(start: NaiveDate, end: NaiveDate, kind: &str, summary: Option<&str>) -> Key {
    (start, end, kind.to_owned(), summary.map(str::to_owned))
}

/// The ranges of `closures` not in `present` (nor repeated within the import), and how many were.
fn fresh(closures: &[NewClosure], mut present: HashSet<Key>) -> (Vec<&NewClosure>, usize) {
    let mut out = Vec::with_capacity(closures.len());
    for c in closures {
        if present.insert(key(c.start_date, c.end_date, c.kind, c.summary.as_deref())) {
            out.push(c);
        }
    }
    let already = closures.len() - out.len();
    (out, already)
}

fn not_too_many(closures: &[NewClosure]) -> DomainResult<()> {
    if closures.len() > MAX_PER_IMPORT {
        return Err(DomainError::Invalid(vec![super::FieldError::new(
            "body",
            format!("at most {MAX_PER_IMPORT} closures per import"),
        )]));
    }
    Ok(())
}

fn imported_summary(count: usize, source: &str, already_present: usize, replaced: u64) -> String {
    format!(
        "{count} closure{} from {source} ({already_present} already there, {replaced} replaced)",
        if count == 1 { "" } else { "s" }
    )
}

/// Adds `closures` to a school in one transaction (all or nothing), leaving out ranges it already
/// has; with `replace`, its earlier closures are removed first.
pub async fn import(
    db: &DatabaseConnection,
    school_id: i64,
    closures: Vec<NewClosure>,
    skipped: Vec<Skipped>,
    source: &'static str,
    replace: bool,
    change: &Change,
) -> DomainResult<ImportResult> {
    let now = change.now;
    not_too_many(&closures)?;
    in_write_txn(db, async |txn| {
        school::find(txn, school_id).await?;
        let replaced = if replace {
            closure::Entity::delete_many()
                .filter(closure::Column::SchoolId.eq(school_id))
                .exec(txn)
                .await?
                .rows_affected
        } else {
            0
        };
        let present = closure::Entity::find()
            .filter(closure::Column::SchoolId.eq(school_id))
            .all(txn)
            .await?
            .into_iter()
            .map(|m| key(m.start_date, m.end_date, &m.kind, m.summary.as_deref()))
            .collect();
        let (fresh, already_present) = fresh(&closures, present);
        let mut imported = Vec::new();
        for c in fresh {
            let row = closure::ActiveModel {
                school_id: Set(school_id),
                start_date: Set(c.start_date),
                end_date: Set(c.end_date),
                kind: Set(c.kind.to_owned()),
                summary: Set(c.summary.clone()),
                source: Set(source.to_owned()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            imported.push(Closure::from(row));
        }
        change
            .record(
                txn,
                "closures.imported",
                Target("school", school_id),
                imported_summary(imported.len(), source, already_present, replaced),
            )
            .await?;
        Ok(ImportResult {
            imported,
            already_present,
            replaced,
            skipped: skipped.iter().cloned().map(SkippedEvent::from).collect(),
        })
    })
    .await
}

/// The `from` and `to` of a list query.
fn span(query: &ClosureQuery) -> DomainResult<(Option<NaiveDate>, Option<NaiveDate>)> {
    let mut v = Validator::new();
    let from = date(&mut v, "from", query.from.as_deref());
    let to = date(&mut v, "to", query.to.as_deref());
    if query.replace.is_some() {
        v.fail("replace", "is only for imports");
    }
    v.finish()?;
    Ok((from, to))
}

/// A school's closures in date order, optionally only those touching `from..=to`.
pub async fn list<C: ConnectionTrait>(db: &C, school_id: i64, query: &ClosureQuery) -> DomainResult<Vec<Closure>> {
    let (from, to) = span(query)?;
    school::find(db, school_id).await?;
    let mut select = closure::Entity::find().filter(closure::Column::SchoolId.eq(school_id));
    if let Some(from) = from {
        select = select.filter(closure::Column::EndDate.gte(from));
    }
    if let Some(to) = to {
        select = select.filter(closure::Column::StartDate.lte(to));
    }
    let rows = select
        .order_by_asc(closure::Column::StartDate)
        .order_by_asc(closure::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Closure::from).collect())
}

/// Removes one closure of a school.
pub async fn delete<C: ConnectionTrait>(db: &C, school_id: i64, id: i64, change: &Change) -> DomainResult<()> {
    let result = closure::Entity::delete_many()
        .filter(closure::Column::Id.eq(id))
        .filter(closure::Column::SchoolId.eq(school_id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(DomainError::not_found("closure", id));
    }
    change
        .record(
            db,
            "closure.deleted",
            Target("school", school_id),
            format!("closure {id} removed"),
        )
        .await
}

/// A local authority's closed range as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AuthorityClosure {
    /// The closure's id.
    pub id: i64,
    /// The local authority, as its name was first given.
    pub local_authority: String,
    /// The first closed day.
    #[schema(example = "2026-12-21")]
    pub start_date: String,
    /// The last closed day (inclusive).
    #[schema(example = "2027-01-01")]
    pub end_date: String,
    /// `holiday`, `inset`, `closure` or `blackout`.
    #[schema(value_type = contract::ClosureKind)]
    pub kind: String,
    /// What the days are.
    pub summary: Option<String>,
    /// How it came: `ics`, `json` or `demo`.
    pub source: String,
    /// When it was imported (UTC).
    pub created_at: String,
}

impl From<authority_closure::Model> for AuthorityClosure {
    fn from(m: authority_closure::Model) -> Self {
        Self {
            id: m.id,
            local_authority: m.local_authority,
            start_date: m.start_date.to_string(),
            end_date: m.end_date.to_string(),
            kind: m.kind,
            summary: m.summary,
            source: m.source,
            created_at: format_utc(m.created_at),
        }
    }
}

/// What an import of an authority's term dates did.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuthorityImportResult {
    /// The closures added.
    pub imported: Vec<AuthorityClosure>,
    /// How many given ranges the authority already had (same days, kind and summary).
    pub already_present: usize,
    /// How many earlier closures were removed (`replace=true`).
    pub replaced: u64,
    /// Events of an `.ics` file that are not closures (term starts, cancelled events).
    pub skipped: Vec<SkippedEvent>,
    /// How many schools carry this local authority (they follow these dates in every school year
    /// for which they have no holidays of their own).
    pub schools: u64,
}

/// A local authority's name from the path: one line of at most 100 characters.
pub fn authority_name(name: &str) -> DomainResult<String> {
    let mut v = Validator::new();
    let name = v.required_line("name", Some(name.to_owned()), SHORT_LINE_MAX);
    v.finish()?;
    Ok(name)
}

/// Each spelling of a local authority the schools carry, with how many carry it. Names are
/// compared folded in Rust (the same on both databases, whatever their collation), so only one
/// row per spelling is read.
async fn spellings<C: ConnectionTrait>(db: &C) -> DomainResult<Vec<(String, i64)>> {
    Ok(entity::school::Entity::find()
        .select_only()
        .column(entity::school::Column::LocalAuthority)
        .column_as(entity::school::Column::Id.count(), "schools")
        .group_by(entity::school::Column::LocalAuthority)
        .into_tuple()
        .all(db)
        .await?)
}

async fn schools_of_authority<C: ConnectionTrait>(db: &C, key: &str) -> DomainResult<u64> {
    Ok(spellings(db)
        .await?
        .iter()
        .filter(|(name, _)| closed_days::authority_key(name) == key)
        .map(|(_, schools)| u64::try_from(*schools).unwrap_or_default())
        .sum())
}

/// A local authority as the console lists it: its schools and the term dates it has.
#[derive(Clone, Debug, Serialize)]
pub struct AuthoritySummary {
    /// Its name, as most of its schools spell it (or its closures, when no school carries it).
    pub name: String,
    /// How many schools carry it.
    pub schools: u64,
    /// How many closures it has.
    pub closures: u64,
    /// Its first closed day, when it has any.
    pub first: Option<NaiveDate>,
    /// Its last closed day, when it has any.
    pub last: Option<NaiveDate>,
}

/// An authority's closures in one row: its key, a spelling, how many, the first and last day.
type Loaded = (String, String, i64, Option<NaiveDate>, Option<NaiveDate>);

/// Every local authority the network knows, by name: those its schools carry (names that differ
/// only in case and spacing are one) and those with term dates loaded before any school carries
/// them. Schools with no authority are left out.
pub async fn authorities<C: ConnectionTrait>(db: &C) -> DomainResult<Vec<AuthoritySummary>> {
    let loaded: Vec<Loaded> = authority_closure::Entity::find()
        .select_only()
        .column(authority_closure::Column::AuthorityKey)
        .column_as(authority_closure::Column::LocalAuthority.min(), "name")
        .column_as(authority_closure::Column::Id.count(), "closures")
        .column_as(authority_closure::Column::StartDate.min(), "first")
        .column_as(authority_closure::Column::EndDate.max(), "last")
        .group_by(authority_closure::Column::AuthorityKey)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_key: std::collections::BTreeMap<String, (AuthoritySummary, u64)> = std::collections::BTreeMap::new();
    for (name, schools) in spellings(db).await? {
        let key = closed_days::authority_key(&name);
        if key.is_empty() {
            continue;
        }
        let schools = u64::try_from(schools).unwrap_or_default();
        let entry = by_key.entry(key).or_insert_with(|| {
            let summary = AuthoritySummary {
                name: name.trim().to_owned(),
                schools: 0,
                closures: 0,
                first: None,
                last: None,
            };
            (summary, 0)
        });
        entry.0.schools += schools;
        // The spelling most schools use names it (the first in order, when two tie).
        let name = name.trim();
        if schools > entry.1 || (schools == entry.1 && name < entry.0.name.as_str()) {
            entry.0.name = name.to_owned();
            entry.1 = schools;
        }
    }
    for (key, name, closures, first, last) in loaded {
        let entry = by_key.entry(key).or_insert_with(|| {
            let summary = AuthoritySummary {
                name: name.clone(),
                schools: 0,
                closures: 0,
                first: None,
                last: None,
            };
            (summary, 0)
        });
        if entry.1 == 0 {
            entry.0.name = name;
        }
        entry.0.closures = u64::try_from(closures).unwrap_or_default();
        entry.0.first = first;
        entry.0.last = last;
    }
    let mut all: Vec<AuthoritySummary> = by_key.into_values().map(|(summary, _)| summary).collect();
    all.sort_by_key(|a| a.name.to_lowercase());
    Ok(all)
}

/// Adds `closures` to a local authority's term dates in one transaction (all or nothing), leaving
/// out ranges it already has; with `replace`, its earlier closures are removed first.
#[allow(clippy::too_many_arguments)]
pub async fn import_for_authority(
    db: &DatabaseConnection,
    name: &str,
    closures: Vec<NewClosure>,
    skipped: Vec<Skipped>,
    source: &'static str,
    replace: bool,
    change: &Change,
) -> DomainResult<AuthorityImportResult> {
    let name = authority_name(name)?;
    let key = closed_days::authority_key(&name);
    not_too_many(&closures)?;
    in_write_txn(db, async |txn| {
        let of_authority = authority_closure::Column::AuthorityKey.eq(key.clone());
        let replaced = if replace {
            authority_closure::Entity::delete_many()
                .filter(of_authority.clone())
                .exec(txn)
                .await?
                .rows_affected
        } else {
            0
        };
        let present = authority_closure::Entity::find()
            .filter(of_authority)
            .all(txn)
            .await?
            .into_iter()
            .map(|m| self::key(m.start_date, m.end_date, &m.kind, m.summary.as_deref()))
            .collect();
        let (fresh, already_present) = fresh(&closures, present);
        let mut imported = Vec::new();
        for c in fresh {
            let row = authority_closure::ActiveModel {
                local_authority: Set(name.clone()),
                authority_key: Set(key.clone()),
                start_date: Set(c.start_date),
                end_date: Set(c.end_date),
                kind: Set(c.kind.to_owned()),
                summary: Set(c.summary.clone()),
                source: Set(source.to_owned()),
                created_at: Set(change.now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            imported.push(AuthorityClosure::from(row));
        }
        change
            .record(
                txn,
                "closures.imported",
                Target("local_authority", 0),
                format!(
                    "{name}: {}",
                    imported_summary(imported.len(), source, already_present, replaced)
                ),
            )
            .await?;
        Ok(AuthorityImportResult {
            imported,
            already_present,
            replaced,
            skipped: skipped.iter().cloned().map(SkippedEvent::from).collect(),
            schools: schools_of_authority(txn, &key).await?,
        })
    })
    .await
}

/// A local authority's closures in date order, optionally only those touching `from..=to` (an
/// authority with none, or unknown, has an empty list).
pub async fn list_for_authority<C: ConnectionTrait>(
    db: &C,
    name: &str,
    query: &ClosureQuery,
) -> DomainResult<Vec<AuthorityClosure>> {
    let (from, to) = span(query)?;
    let key = closed_days::authority_key(&authority_name(name)?);
    let mut select = authority_closure::Entity::find().filter(authority_closure::Column::AuthorityKey.eq(key));
    if let Some(from) = from {
        select = select.filter(authority_closure::Column::EndDate.gte(from));
    }
    if let Some(to) = to {
        select = select.filter(authority_closure::Column::StartDate.lte(to));
    }
    let rows = select
        .order_by_asc(authority_closure::Column::StartDate)
        .order_by_asc(authority_closure::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(AuthorityClosure::from).collect())
}

/// Removes one closure of a local authority, or (`id` left out) all of them, in one transaction
/// with its audit row; says how many went (and records nothing when none did).
pub async fn delete_for_authority(
    db: &DatabaseConnection,
    name: &str,
    id: Option<i64>,
    change: &Change,
) -> DomainResult<u64> {
    let name = authority_name(name)?;
    in_write_txn(db, async |txn| {
        let mut delete = authority_closure::Entity::delete_many()
            .filter(authority_closure::Column::AuthorityKey.eq(closed_days::authority_key(&name)));
        if let Some(id) = id {
            delete = delete.filter(authority_closure::Column::Id.eq(id));
        }
        let removed = delete.exec(txn).await?.rows_affected;
        match (id, removed) {
            (Some(id), 0) => return Err(DomainError::not_found("closure", id)),
            (None, 0) => return Ok(0),
            _ => {}
        }
        let what = id.map_or_else(
            || format!("{removed} closures removed"),
            |id| format!("closure {id} removed"),
        );
        change
            .record(
                txn,
                "closure.deleted",
                Target("local_authority", 0),
                format!("{name}: {what}"),
            )
            .await?;
        Ok(removed)
    })
    .await
}
