//! Which days a school is closed, from three sources: its own closures, its local authority's term
//! dates, and the public holidays of its nation (shipped with Convene, [`crate::holidays`]).
//!
//! A school follows its authority's term dates unless it has set its own for that school year
//! (1 September to 31 August): an academy that imports its own holidays for 2026/27 no longer
//! follows the authority's 2026/27 holidays, though it still keeps its own one-off closures and
//! blackout days, and the public holidays, which every school keeps. Where several sources close
//! the same day, the school's own reason is the one shown, then the authority's, then the holiday.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use entity::{authority_closure, closure, event, school, triad_member, visit};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;

use super::DomainResult;
use crate::holidays::{self, Division};

/// Where a closed day comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The school's own closures.
    School,
    /// Its local authority's term dates.
    LocalAuthority,
    /// A public holiday of its nation.
    PublicHoliday,
}

/// Why a school is closed on a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// `holiday`, `inset`, `closure`, `blackout`, or `bank_holiday`.
    pub kind: String,
    /// What the day is, e.g. `Christmas holiday` or `Boxing Day (substitute day)`.
    pub summary: Option<String>,
    /// Where it comes from.
    pub source: Source,
}

impl Reason {
    /// The reason in a few words, e.g. `Boxing Day (substitute day)` or `inset`.
    pub fn label(&self) -> String {
        match (&self.summary, self.source) {
            (Some(summary), _) => summary.clone(),
            (None, Source::LocalAuthority) => format!("{} (local authority)", self.kind),
            (None, _) => self.kind.clone(),
        }
    }
}

/// A school's closed days, each with its reason.
pub type Closed = BTreeMap<NaiveDate, Reason>;

/// The school year a day falls in, named by the year it starts (2026 for 2026/27).
pub fn school_year(day: NaiveDate) -> i32 {
    if day.month() >= 9 { day.year() } else { day.year() - 1 }
}

fn year_start(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 9, 1).unwrap_or(NaiveDate::MIN)
}

/// A local authority's name folded for matching (trimmed, lower case, inner spaces single).
pub fn authority_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Each day of `from..=to` that a range `start..=end` covers.
fn days_of(start: NaiveDate, end: NaiveDate, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let first = start.max(from);
    let last = end.min(to);
    first.iter_days().take_while(move |d| *d <= last)
}

/// The closed days of each of `schools` from `from` to `to` (inclusive), by school id. Schools
/// with no closed day in the span are present with an empty map.
pub async fn of_schools<C: ConnectionTrait>(
    db: &C,
    schools: &[&school::Model],
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<HashMap<i64, Closed>> {
    let mut out: HashMap<i64, Closed> = schools.iter().map(|s| (s.id, Closed::new())).collect();
    if schools.is_empty() || to < from {
        return Ok(out);
    }
    // The school years the span touches: a school's own holidays anywhere in one of them decide
    // whether it follows its authority that year.
    let years_from = year_start(school_year(from));
    let years_to = year_start(school_year(to) + 1) - Days::new(1);
    let ids: Vec<i64> = schools.iter().map(|s| s.id).collect();
    let own = closure::Entity::find()
        .filter(closure::Column::SchoolId.is_in(ids))
        .filter(closure::Column::StartDate.lte(years_to))
        .filter(closure::Column::EndDate.gte(years_from))
        .all(db)
        .await?;
    let keys: BTreeSet<String> = schools.iter().map(|s| authority_key(&s.local_authority)).collect();
    let authority = authority_closure::Entity::find()
        .filter(authority_closure::Column::AuthorityKey.is_in(keys))
        .filter(authority_closure::Column::StartDate.lte(to))
        .filter(authority_closure::Column::EndDate.gte(from))
        .all(db)
        .await?;
    let mut own_years: HashMap<i64, BTreeSet<i32>> = HashMap::new();
    for row in own.iter().filter(|r| r.kind == "holiday") {
        let years = own_years.entry(row.school_id).or_default();
        years.insert(school_year(row.start_date));
        years.insert(school_year(row.end_date));
    }
    for s in schools {
        let closed = out.entry(s.id).or_default();
        for row in own.iter().filter(|r| r.school_id == s.id) {
            for day in days_of(row.start_date, row.end_date, from, to) {
                closed.entry(day).or_insert_with(|| Reason {
                    kind: row.kind.clone(),
                    summary: row.summary.clone(),
                    source: Source::School,
                });
            }
        }
        let key = authority_key(&s.local_authority);
        let follows = |day: NaiveDate| !own_years.get(&s.id).is_some_and(|y| y.contains(&school_year(day)));
        for row in authority.iter().filter(|r| r.authority_key == key) {
            for day in days_of(row.start_date, row.end_date, from, to).filter(|d| follows(*d)) {
                closed.entry(day).or_insert_with(|| Reason {
                    kind: row.kind.clone(),
                    summary: row.summary.clone(),
                    source: Source::LocalAuthority,
                });
            }
        }
        for (day, title) in holidays::between(Division::of_region(&s.region), from, to) {
            closed.entry(day).or_insert_with(|| Reason {
                kind: "bank_holiday".to_owned(),
                summary: Some(title.to_owned()),
                source: Source::PublicHoliday,
            });
        }
    }
    Ok(out)
}

/// The public holidays of England and Wales (the default nation) from `from` to `to`, as reasons:
/// what an event with no schools of its own is checked against.
pub fn default_holidays(from: NaiveDate, to: NaiveDate) -> Closed {
    holidays::between(Division::EnglandAndWales, from, to)
        .map(|(day, title)| {
            (
                day,
                Reason {
                    kind: "bank_holiday".to_owned(),
                    summary: Some(title.to_owned()),
                    source: Source::PublicHoliday,
                },
            )
        })
        .collect()
}

/// A day a session falls on when schools of its event are closed: a warning, never a refusal (an
/// organiser may mean it, e.g. a conference on an INSET day).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClosedDayWarning {
    /// `closed_day`.
    #[schema(example = "closed_day")]
    pub code: String,
    /// The day, in the event's zone.
    #[schema(example = "2026-12-28")]
    pub date: String,
    /// The event's schools closed that day (its host school, a triad visit's schools); empty for
    /// a public holiday of England and Wales when the event has no schools of its own.
    pub school_ids: Vec<i64>,
    /// What is closed, in words.
    pub message: String,
}

/// The most days of one session checked (a session longer than this is checked on its first days).
const MOST_DAYS_CHECKED: usize = 31;

/// The most schools a warning names.
const MOST_NAMED: usize = 3;

/// The schools an event is for: its host school and, for a triad visit, the triad's schools.
async fn schools_of_event<C: ConnectionTrait>(db: &C, event: &event::Model) -> DomainResult<Vec<school::Model>> {
    let mut ids: BTreeSet<i64> = event.host_school_id.into_iter().collect();
    let triads: Vec<i64> = visit::Entity::find()
        .filter(visit::Column::EventId.eq(event.id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.triad_id)
        .collect();
    if !triads.is_empty() {
        ids.extend(
            triad_member::Entity::find()
                .filter(triad_member::Column::TriadId.is_in(triads))
                .all(db)
                .await?
                .into_iter()
                .map(|m| m.school_id),
        );
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(school::Entity::find()
        .filter(school::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// The warnings for a session of `event` from `starts_at` to `ends_at`: each of its days (in the
/// event's zone) on which schools of the event are closed, or, for an event with no schools of
/// its own, each public holiday of England and Wales.
pub async fn session_warnings<C: ConnectionTrait>(
    db: &C,
    event: &event::Model,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> DomainResult<Vec<ClosedDayWarning>> {
    let zone = crate::time::stored_zone(&event.time_zone);
    let first = starts_at.with_timezone(&zone).date_naive();
    let last = ends_at.with_timezone(&zone).date_naive().max(first);
    let last = first
        .iter_days()
        .take(MOST_DAYS_CHECKED)
        .take_while(|d| *d <= last)
        .last()
        .unwrap_or(first);
    let schools = schools_of_event(db, event).await?;
    let when = |day: NaiveDate| day.format("%A %-d %B %Y").to_string();
    if schools.is_empty() {
        return Ok(default_holidays(first, last)
            .into_iter()
            .map(|(day, reason)| ClosedDayWarning {
                code: "closed_day".to_owned(),
                date: day.to_string(),
                school_ids: Vec::new(),
                message: format!(
                    "{} is a public holiday in England and Wales ({})",
                    when(day),
                    reason.label()
                ),
            })
            .collect());
    }
    let refs: Vec<&school::Model> = schools.iter().collect();
    let closed = of_schools(db, &refs, first, last).await?;
    let mut warnings = Vec::new();
    for day in first.iter_days().take_while(|d| *d <= last) {
        let shut: Vec<(&school::Model, &Reason)> = schools
            .iter()
            .filter_map(|s| closed.get(&s.id)?.get(&day).map(|r| (s, r)))
            .collect();
        if shut.is_empty() {
            continue;
        }
        let mut named: Vec<String> = shut
            .iter()
            .take(MOST_NAMED)
            .map(|(s, r)| format!("{} ({})", s.name, r.label()))
            .collect();
        if shut.len() > MOST_NAMED {
            named.push(format!("{} more", shut.len() - MOST_NAMED));
        }
        warnings.push(ClosedDayWarning {
            code: "closed_day".to_owned(),
            date: day.to_string(),
            school_ids: shut.iter().map(|(s, _)| s.id).collect(),
            message: format!("{} is a closed day for {}", when(day), named.join(", ")),
        });
    }
    Ok(warnings)
}

/// A day a school is closed, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClosedDay {
    /// The day.
    #[schema(example = "2026-12-28")]
    pub date: String,
    /// `holiday`, `inset`, `closure`, `blackout` or `bank_holiday`.
    #[schema(example = "bank_holiday")]
    pub kind: String,
    /// What the day is.
    #[schema(example = "Boxing Day (substitute day)")]
    pub summary: Option<String>,
    /// `school` (its own closures), `local_authority` (its authority's term dates) or
    /// `public_holiday`.
    pub source: Source,
}

/// `from` and `to` of a closed-days query.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClosedDaysQuery {
    /// The first day (default today).
    #[param(value_type = Option<super::contract::CalendarDate>)]
    pub from: Option<String>,
    /// The last day (default 90 days after `from`; at most 366 days after it).
    #[param(value_type = Option<super::contract::CalendarDate>)]
    pub to: Option<String>,
}

/// The longest span one closed-days query may cover.
pub const LONGEST_SPAN_DAYS: i64 = 366;

/// Every day from `from` to `to` a school is closed, and why: what the visit scheduler avoids.
pub async fn of_school<C: ConnectionTrait>(
    db: &C,
    school_id: i64,
    query: &ClosedDaysQuery,
    today: NaiveDate,
) -> DomainResult<Vec<ClosedDay>> {
    let mut v = super::Validator::new();
    let from = super::closure::date(&mut v, "from", query.from.as_deref()).unwrap_or(today);
    let to = super::closure::date(&mut v, "to", query.to.as_deref()).unwrap_or(from + Days::new(90));
    if to < from {
        v.fail("to", "must not be before from");
    } else if (to - from).num_days() > LONGEST_SPAN_DAYS {
        v.fail("to", format!("at most {LONGEST_SPAN_DAYS} days after from"));
    }
    v.finish()?;
    let school = super::school::find(db, school_id).await?;
    let closed = of_schools(db, &[&school], from, to).await?;
    Ok(closed
        .into_values()
        .flatten()
        .map(|(day, r)| ClosedDay {
            date: day.to_string(),
            kind: r.kind,
            summary: r.summary,
            source: r.source,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_school_year_runs_from_september_to_august() {
        assert_eq!(school_year(d(2026, 9, 1)), 2026);
        assert_eq!(school_year(d(2027, 8, 31)), 2026);
        assert_eq!(school_year(d(2026, 8, 31)), 2025);
    }

    #[test]
    fn authority_names_match_whatever_their_case_and_spacing() {
        assert_eq!(authority_key("  Tower   Hamlets "), "tower hamlets");
        assert_eq!(authority_key("CAMDEN"), authority_key("Camden"));
    }
}
