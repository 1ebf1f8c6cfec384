//! What the organiser console shows of a cohort: its schools with their topics (for the triad
//! cards), and its visits as a calendar reads them — by day, with the host's, the triad's and the
//! facilitator's names, the member schools' closures, and each facilitator's visits by week.

use chrono::Datelike;
use serde::Serialize;

use super::*;
use crate::domain::school::School;

/// The cohort's schools, by id.
pub async fn members<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Vec<School>> {
    find(db, cohort_id).await?;
    let ids = school_ids_of(db, cohort_id).await?;
    Ok(school::Entity::find()
        .filter(school::Column::Id.is_in(ids))
        .order_by_asc(school::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(School::from)
        .collect())
}

/// A visit as the calendar shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CalendarVisit {
    /// The visit.
    pub id: i64,
    /// Its day.
    pub date: NaiveDate,
    /// `scheduled` or `cancelled`.
    pub status: String,
    /// The host school.
    pub host_school_id: i64,
    /// Its name.
    pub host: String,
    /// The triad's number in the cohort, from 1.
    pub triad: i32,
    /// The triad's schools, by name.
    pub members: Vec<String>,
    /// The facilitator's name (none when erased or missing).
    pub facilitator: Option<String>,
    /// The facilitator.
    pub facilitator_id: Option<i64>,
    /// The visit's event.
    pub event_id: Option<i64>,
    /// The visit's session.
    pub session_id: Option<i64>,
}

/// A day some member school is closed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClosedDay {
    /// How many member schools are closed.
    pub schools: usize,
    /// The first few of them, by name, with the kind of closure.
    pub names: Vec<String>,
}

/// One facilitator's visits, week by week, against their limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FacilitatorLoad {
    /// The facilitator.
    pub participant_id: i64,
    /// Their name.
    pub name: String,
    /// Visits a week they may take.
    pub max_visits_per_week: i64,
    /// Scheduled visits by the week's Monday.
    pub by_week: BTreeMap<NaiveDate, u64>,
    /// Scheduled visits in all.
    pub total: u64,
}

/// A cohort's visits as a calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VisitCalendar {
    /// The window's first day.
    pub window_start: NaiveDate,
    /// Its last day.
    pub window_end: NaiveDate,
    /// The weekdays visits may fall on (`mon` …).
    pub weekdays: Vec<String>,
    /// Every visit, by date (cancelled ones too).
    pub visits: Vec<CalendarVisit>,
    /// Days in the window some member school is closed.
    pub closed: BTreeMap<NaiveDate, ClosedDay>,
    /// The facilitators' loads.
    pub facilitators: Vec<FacilitatorLoad>,
}

/// How many closed schools a day names.
const NAMED_CLOSURES: usize = 3;

/// The Monday of `day`'s week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// The cohort's visits, closures and facilitators, as the calendar shows them.
pub async fn visit_calendar<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<VisitCalendar> {
    let c = find(db, cohort_id).await?;
    let ids = school_ids_of(db, cohort_id).await?;
    let schools: HashMap<i64, school::Model> = school::Entity::find()
        .filter(school::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let name_of = |id: i64| {
        schools
            .get(&id)
            .map_or_else(|| format!("school {id}"), |s| s.name.clone())
    };
    let triads = current_triads(db, cohort_id).await?;
    let rows = visits::visit_rows(db, cohort_id).await?;
    let assignments = facilitators_of(db, cohort_id).await?;
    let mut people_ids: BTreeSet<i64> = assignments.iter().map(|f| f.participant_id).collect();
    people_ids.extend(rows.iter().filter_map(|v| v.facilitator_id));
    let people: HashMap<i64, String> = participant::Entity::find()
        .filter(participant::Column::Id.is_in(people_ids))
        .all(db)
        .await?
        .into_iter()
        .filter(|p| p.erased_at.is_none())
        .map(|p| (p.id, p.name))
        .collect();
    let mut visits = Vec::with_capacity(rows.len());
    let mut load: HashMap<i64, BTreeMap<NaiveDate, u64>> = HashMap::new();
    for row in rows {
        let Some(date) = row.date else { continue };
        let triad = triads.iter().find(|t| t.id == row.triad_id);
        if row.status == "scheduled"
            && let Some(f) = row.facilitator_id
        {
            *load.entry(f).or_default().entry(monday_of(date)).or_default() += 1;
        }
        visits.push(CalendarVisit {
            id: row.id,
            date,
            status: row.status,
            host_school_id: row.host_school_id,
            host: name_of(row.host_school_id),
            triad: triad.map_or(0, |t| t.position + 1),
            members: triad
                .map(|t| t.school_ids.iter().map(|&id| name_of(id)).collect())
                .unwrap_or_default(),
            facilitator: row.facilitator_id.and_then(|f| people.get(&f).cloned()),
            facilitator_id: row.facilitator_id,
            event_id: row.event_id,
            session_id: row.session_id,
        });
    }
    let mut closed: BTreeMap<NaiveDate, ClosedDay> = BTreeMap::new();
    let mut members: Vec<&school::Model> = schools.values().collect();
    members.sort_by_key(|s| s.id);
    let closed_days =
        crate::domain::closed_days::of_schools(db, &members, c.window_start, c.window_end).await?;
    for s in &members {
        for (day, reason) in closed_days.get(&s.id).into_iter().flatten() {
            let entry = closed.entry(*day).or_default();
            entry.schools += 1;
            if entry.names.len() < NAMED_CLOSURES {
                entry.names.push(format!("{} ({})", s.name, reason.label()));
            }
        }
    }
    let facilitators = assignments
        .iter()
        .map(|f| {
            let by_week = load.remove(&f.participant_id).unwrap_or_default();
            FacilitatorLoad {
                participant_id: f.participant_id,
                name: people
                    .get(&f.participant_id)
                    .cloned()
                    .unwrap_or_else(|| format!("person {}", f.participant_id)),
                max_visits_per_week: i64::from(f.max_visits_per_week),
                total: by_week.values().sum(),
                by_week,
            }
        })
        .collect();
    Ok(VisitCalendar {
        window_start: c.window_start,
        window_end: c.window_end,
        weekdays: json_list(&c.weekdays),
        visits,
        closed,
        facilitators,
    })
}
