//! Triad cohorts: a set of schools that the forming solver splits into triads (the organiser
//! accepts the proposal or edits it; edits are checked against the same hard rules), whose visits
//! the scheduling solver then dates and gives facilitators. Scheduled visits become published
//! `triad_visit` events, one session each, that the triad's leaders and the facilitator are
//! booked onto, so they reach feeds, invitations and reminders like any other booking.
//!
//! Cohort states: `draft` (triads may be proposed, again and again) → `triads_accepted` (an
//! organiser accepted or edited them) → `scheduled` (visits exist). Cancelling the visits takes a
//! scheduled cohort back to `triads_accepted`.

mod board;
mod triads;
mod types;
mod visits;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use entity::state::{CohortStatus, EventStatus};
use entity::{
    cohort, cohort_school, event, facilitator_assignment, participant, school, triad, triad_member, visit,
};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use super::audit::{Change, Target};
use super::event::EventInput;
use super::page::{Page, PageRequest, fetch_page};
use super::session::SessionInput;
use super::validate::NAME_MAX;
use super::{DomainError, DomainResult, FieldError, Validator, in_write_txn, unknown_reference};
use crate::problem_code::ProblemCode;
use crate::solver::forming::{self, FormingInput, FormingOptions, GroupExplanation};
use crate::solver::scheduling::{self, VisitsInput};
use crate::solver::{Infeasible, Rule, SolveParams};
use crate::time::format_utc;

pub use board::{CalendarVisit, ClosedDay, FacilitatorLoad, VisitCalendar, members, monday_of, visit_calendar};
use triads::*;
pub use triads::{Move, accept, move_school, pin, propose, rearrange, triads};
pub use types::*;
pub use visits::{cancel_visits, ensure_invited, invited_sessions, replan, schedule, visits, visits_inviting};

fn field_of(rule: Rule) -> &'static str {
    match rule {
        Rule::Pinned => "options.pinned",
        Rule::ForbiddenPairs => "options.forbidden_pairs",
        Rule::Phase => "options.allow_mixed_phase",
        Rule::Window => "window",
        Rule::Weekdays => "window.weekdays",
        Rule::MinDaysBetweenVisits => "window.min_days_between_visits",
        Rule::Closures => "closures",
        Rule::Facilitators => "facilitators",
        Rule::GroupSizes | Rule::LocalAuthority | Rule::UnknownSchool | Rule::Topics => "school_ids",
        Rule::DuplicateSchool | Rule::MissingSchool | Rule::Triads => "triads",
    }
}

/// A solver's infeasibility as a `422` with `code`, the rule and its detail.
fn infeasible(code: ProblemCode, why: Infeasible) -> DomainError {
    DomainError::Unprocessable {
        code,
        detail: format!("{} ({}): {}", rule_sentence(why.rule), why.rule, why.detail),
        field: Some(field_of(why.rule)),
    }
}

fn rule_sentence(rule: Rule) -> &'static str {
    match rule {
        Rule::GroupSizes => "the schools cannot be split into triads (and the quads the numbers force)",
        Rule::LocalAuthority => "two schools of one local authority would have to share a triad",
        Rule::Phase => "phases may not mix and a phase cannot be grouped on its own",
        Rule::Pinned => "a pin cannot be kept",
        Rule::ForbiddenPairs => "a forbidden pair would have to share a triad",
        Rule::UnknownSchool => "a school is not in the cohort",
        Rule::DuplicateSchool => "a school is named twice",
        Rule::MissingSchool => "a school of the cohort is in no triad",
        Rule::Topics => "too many distinct topics",
        Rule::Window => "the window is too short",
        Rule::Weekdays => "no weekday is allowed",
        Rule::Closures => "closures leave too few open days",
        Rule::MinDaysBetweenVisits => "visits would be too close together",
        Rule::Facilitators => "no facilitator can cover a visit",
        Rule::Triads => "the triads are not valid",
    }
}

fn json_list<T: serde::de::DeserializeOwned>(json: &serde_json::Value) -> Vec<T> {
    serde_json::from_value(json.clone()).unwrap_or_default()
}

fn parse_hhmm(v: &mut Validator, field: &str, value: Option<String>, default: &str) -> String {
    let value = value.unwrap_or_else(|| default.to_owned());
    match NaiveTime::parse_from_str(value.trim(), "%H:%M") {
        Ok(t) => t.format("%H:%M").to_string(),
        Err(_) => {
            v.fail(field, "must be a local time HH:MM, e.g. 09:00");
            default.to_owned()
        }
    }
}

/// Reads a cohort row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<cohort::Model> {
    cohort::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("cohort", id))
}

async fn school_ids_of<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Vec<i64>> {
    Ok(cohort_school::Entity::find()
        .filter(cohort_school::Column::CohortId.eq(cohort_id))
        .order_by_asc(cohort_school::Column::SchoolId)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.school_id)
        .collect())
}

async fn facilitators_of<C: ConnectionTrait>(
    db: &C,
    cohort_id: i64,
) -> DomainResult<Vec<facilitator_assignment::Model>> {
    Ok(facilitator_assignment::Entity::find()
        .filter(facilitator_assignment::Column::CohortId.eq(cohort_id))
        .order_by_asc(facilitator_assignment::Column::Id)
        .all(db)
        .await?)
}

fn attendee_roles(m: &cohort::Model) -> Vec<String> {
    m.attendee_roles
        .as_ref()
        .map(json_list)
        .unwrap_or_else(|| DEFAULT_ATTENDEE_ROLES.iter().map(|r| (*r).to_owned()).collect())
}

async fn view<C: ConnectionTrait>(db: &C, m: cohort::Model) -> DomainResult<Cohort> {
    let school_ids = school_ids_of(db, m.id).await?;
    let facilitators = facilitators_of(db, m.id)
        .await?
        .into_iter()
        .map(|f| CohortFacilitator {
            participant_id: f.participant_id,
            available: f.available_dates.as_ref().map(json_list),
            max_visits_per_week: Some(i64::from(f.max_visits_per_week)),
            excluded_local_authorities: json_list(&f.excluded_local_authorities),
        })
        .collect();
    Ok(Cohort {
        id: m.id,
        name: m.name.clone(),
        programme_id: m.programme_id,
        status: m.status,
        school_ids,
        options: serde_json::from_value(m.options.clone()).unwrap_or_default(),
        window: CohortWindow {
            start: m.window_start,
            end: m.window_end,
            weekdays: Some(json_list(&m.weekdays)),
            min_days_between_visits: Some(i64::from(m.min_days_between_visits)),
        },
        visit_times: VisitTimes {
            time_zone: Some(m.time_zone.clone()),
            start: Some(m.visit_starts.clone()),
            end: Some(m.visit_ends.clone()),
        },
        attendee_roles: attendee_roles(&m),
        facilitators,
        created_at: format_utc(m.created_at),
        updated_at: format_utc(m.updated_at),
    })
}

/// Checks that every id in `ids` is one of the cohort's schools, naming `field` otherwise.
fn check_members(v: &mut Validator, field: &str, ids: &[i64], members: &BTreeSet<i64>) {
    for id in ids {
        if !members.contains(id) {
            v.fail(field, format!("school {id} is not one of the cohort's schools"));
        }
    }
}

/// Creates a cohort in `draft`: its schools, forming rules, window, visit times and facilitators.
#[tracing::instrument(skip(db, input))]
pub async fn create(db: &DatabaseConnection, input: CohortInput, now: DateTime<Utc>) -> DomainResult<Cohort> {
    let mut v = Validator::new();
    let name = v.required_line("name", input.name, NAME_MAX);
    let school_ids = input.school_ids.unwrap_or_default();
    if school_ids.is_empty() {
        v.fail("school_ids", "is required: the schools to form into triads");
    }
    if school_ids.len() > MAX_SCHOOLS {
        v.fail("school_ids", format!("holds more than {MAX_SCHOOLS} schools"));
    }
    let members: BTreeSet<i64> = school_ids.iter().copied().collect();
    if members.len() != school_ids.len() {
        v.fail("school_ids", "names a school more than once");
    }
    for pin in &input.options.pinned {
        if !(2..=4).contains(&pin.len()) {
            v.fail("options.pinned", "each pin holds two to four schools");
        }
        check_members(&mut v, "options.pinned", pin, &members);
    }
    for pair in &input.options.forbidden_pairs {
        if pair[0] == pair[1] {
            v.fail(
                "options.forbidden_pairs",
                format!("pairs school {} with itself", pair[0]),
            );
        }
        check_members(&mut v, "options.forbidden_pairs", pair, &members);
    }
    let (window_start, window_end, weekdays, min_days) = match input.window {
        None => {
            v.fail("window", "is required: {start, end} dates for the visits");
            (NaiveDate::MIN, NaiveDate::MIN, Vec::new(), 7)
        }
        Some(w) => {
            if w.end < w.start {
                v.fail("window.end", "is before window.start");
            } else if (w.end - w.start).num_days() > MAX_WINDOW_DAYS {
                v.fail(
                    "window.end",
                    format!("the window may span at most {MAX_WINDOW_DAYS} days"),
                );
            }
            let weekdays = w
                .weekdays
                .unwrap_or_else(|| WEEKDAYS[..5].iter().map(|d| (*d).to_owned()).collect());
            if weekdays.is_empty() {
                v.fail("window.weekdays", "allows no weekday");
            }
            for day in &weekdays {
                if !WEEKDAYS.contains(&day.as_str()) {
                    v.fail(
                        "window.weekdays",
                        format!("'{day}' is not one of {}", WEEKDAYS.join(", ")),
                    );
                }
            }
            let min_days = v.int_in(
                "window.min_days_between_visits",
                w.min_days_between_visits.unwrap_or(7),
                DAYS_BETWEEN_VISITS,
            );
            (w.start, w.end, weekdays, min_days)
        }
    };
    let zone = v.zone(
        "visit_times.time_zone",
        Some(
            input
                .visit_times
                .time_zone
                .unwrap_or_else(|| "Europe/London".to_owned()),
        ),
    );
    let starts = parse_hhmm(&mut v, "visit_times.start", input.visit_times.start, "09:00");
    let ends = parse_hhmm(&mut v, "visit_times.end", input.visit_times.end, "15:30");
    if ends <= starts {
        v.fail("visit_times.end", "must be after visit_times.start");
    }
    if let Some(roles) = &input.attendee_roles {
        if roles.is_empty() {
            v.fail("attendee_roles", "names no role");
        }
        for role in roles {
            if !crate::domain::participant::ROLES.contains(&role.as_str()) {
                v.fail(
                    "attendee_roles",
                    format!(
                        "'{role}' is not one of {}",
                        crate::domain::participant::ROLES.join(", ")
                    ),
                );
            }
        }
    }
    let mut facilitator_ids = BTreeSet::new();
    for f in &input.facilitators {
        if !facilitator_ids.insert(f.participant_id) {
            v.fail(
                "facilitators",
                format!("participant {} is named twice", f.participant_id),
            );
        }
        v.int_in(
            "facilitators.max_visits_per_week",
            f.max_visits_per_week.unwrap_or(3),
            VISITS_PER_WEEK,
        );
    }
    v.finish()?;

    in_write_txn(db, async |txn| {
        if let Some(programme_id) = input.programme_id {
            crate::domain::programme::find(txn, programme_id)
                .await
                .map_err(|_| unknown_reference("programme_id", "programme", programme_id))?;
        }
        let found: BTreeSet<i64> = school::Entity::find()
            .filter(school::Column::Id.is_in(members.iter().copied()))
            .all(txn)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        if let Some(missing) = members.iter().find(|id| !found.contains(id)) {
            return Err(unknown_reference("school_ids", "school", *missing));
        }
        for id in &facilitator_ids {
            let person = participant::Entity::find_by_id(*id).one(txn).await?;
            if person.is_none_or(|p| p.erased_at.is_some()) {
                return Err(unknown_reference("facilitators.participant_id", "participant", *id));
            }
        }
        let row = cohort::ActiveModel {
            programme_id: Set(input.programme_id),
            name: Set(name.clone()),
            options: Set(serde_json::to_value(&input.options).unwrap_or_default()),
            window_start: Set(window_start),
            window_end: Set(window_end),
            weekdays: Set(serde_json::Value::from(weekdays.clone())),
            min_days_between_visits: Set(min_days),
            status: Set(CohortStatus::Draft),
            time_zone: Set(zone.map_or("Europe/London", |z| z.name()).to_owned()),
            visit_starts: Set(starts.clone()),
            visit_ends: Set(ends.clone()),
            attendee_roles: Set(input.attendee_roles.clone().map(serde_json::Value::from)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        cohort_school::Entity::insert_many(members.iter().map(|&school_id| cohort_school::ActiveModel {
            cohort_id: Set(row.id),
            school_id: Set(school_id),
        }))
        .exec(txn)
        .await?;
        for f in &input.facilitators {
            facilitator_assignment::ActiveModel {
                cohort_id: Set(row.id),
                participant_id: Set(f.participant_id),
                available_dates: Set(f
                    .available
                    .as_ref()
                    .map(|days| serde_json::Value::from(days.iter().map(|d| d.to_string()).collect::<Vec<_>>()))),
                max_visits_per_week: Set(i32::try_from(f.max_visits_per_week.unwrap_or(3)).unwrap_or(3)),
                excluded_local_authorities: Set(serde_json::Value::from(f.excluded_local_authorities.clone())),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        view(txn, row).await
    })
    .await
}

/// Reads a cohort.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Cohort> {
    view(db, find(db, id).await?).await
}

/// Lists cohorts, a page at a time.
pub async fn list<C: ConnectionTrait>(db: &C, filter: &CohortFilter, page: PageRequest) -> DomainResult<Page<Cohort>> {
    let mut query = cohort::Entity::find();
    if let Some(programme_id) = filter.programme_id {
        query = query.filter(cohort::Column::ProgrammeId.eq(programme_id));
    }
    let rows = fetch_page(db, query, cohort::Column::Id, |m| m.id, page).await?;
    let mut items = Vec::with_capacity(rows.items.len());
    for row in rows.items {
        items.push(view(db, row).await?);
    }
    Ok(Page {
        items,
        next_cursor: rows.next_cursor,
    })
}
