//! Closures: the days a school is shut (holidays, INSET days, one-off closures), imported from its
//! own term-dates `.ics` or given as date ranges. The triad scheduler never plans a visit on them.

use std::collections::HashSet;

use chrono::NaiveDate;
use entity::closure;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::{Change, Target};
use super::validate::LONG_LINE_MAX;
use super::{DomainError, DomainResult, Validator, contract, in_write_txn, school};
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
    if closures.len() > MAX_PER_IMPORT {
        return Err(DomainError::Invalid(vec![super::FieldError::new(
            "body",
            format!("at most {MAX_PER_IMPORT} closures per import"),
        )]));
    }
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
        let key = |s: NaiveDate, e: NaiveDate, k: &str, summary: Option<&str>| {
            (s, e, k.to_owned(), summary.map(str::to_owned))
        };
        let mut present: HashSet<_> = closure::Entity::find()
            .filter(closure::Column::SchoolId.eq(school_id))
            .all(txn)
            .await?
            .into_iter()
            .map(|m| key(m.start_date, m.end_date, &m.kind, m.summary.as_deref()))
            .collect();
        let mut imported = Vec::new();
        let mut already_present = 0;
        for c in &closures {
            if !present.insert(key(c.start_date, c.end_date, c.kind, c.summary.as_deref())) {
                already_present += 1;
                continue;
            }
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
                format!(
                    "{} closure{} from {source} ({already_present} already there, {replaced} replaced)",
                    imported.len(),
                    if imported.len() == 1 { "" } else { "s" }
                ),
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

/// A school's closures in date order, optionally only those touching `from..=to`.
pub async fn list<C: ConnectionTrait>(db: &C, school_id: i64, query: &ClosureQuery) -> DomainResult<Vec<Closure>> {
    let mut v = Validator::new();
    let from = date(&mut v, "from", query.from.as_deref());
    let to = date(&mut v, "to", query.to.as_deref());
    if query.replace.is_some() {
        v.fail("replace", "is only for imports");
    }
    v.finish()?;
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
