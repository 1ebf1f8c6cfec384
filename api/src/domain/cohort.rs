//! Triad cohorts: a set of schools that the forming solver splits into triads (the organiser
//! accepts the proposal or edits it; edits are checked against the same hard rules), whose visits
//! the scheduling solver then dates and gives facilitators. Scheduled visits become published
//! `triad_visit` events, one session each, that the triad's leaders and the facilitator are
//! booked onto, so they reach feeds, invitations and reminders like any other booking.
//!
//! Cohort states: `draft` (triads may be proposed, again and again) → `triads_accepted` (an
//! organiser accepted or edited them) → `scheduled` (visits exist). Cancelling the visits takes a
//! scheduled cohort back to `triads_accepted`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{Days, NaiveDate, NaiveTime, Utc};
use entity::{
    closure, cohort, cohort_school, event, facilitator_assignment, participant, school, triad, triad_member, visit,
};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contract::{self, CalendarDate, LocalTime, Name, Role, ShortLine, TimeZone, Weekday};
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

/// The roles at member schools booked onto visits when a cohort names none.
pub const DEFAULT_ATTENDEE_ROLES: [&str; 2] = ["head", "senior_leader"];
/// The weekday names a window may allow.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// The most schools one cohort may hold.
pub const MAX_SCHOOLS: usize = 2_000;
/// The longest a solver may run for one request.
pub const MAX_SOLVE_TIME: Duration = Duration::from_secs(30);
/// The longest window visits may be spread over (about two school years).
pub const MAX_WINDOW_DAYS: i64 = 731;
/// The time a solver gets when the request names none.
pub const DEFAULT_SOLVE_TIME: Duration = Duration::from_secs(5);
/// The fewest and most days between two visits of one triad.
pub const DAYS_BETWEEN_VISITS: std::ops::RangeInclusive<i64> = 0..=120;
/// The fewest and most visits a facilitator may make in a week.
pub const VISITS_PER_WEEK: std::ops::RangeInclusive<i64> = 1..=25;

contract::create_body!(
    /// A cohort as sent to create one, `name`, `school_ids` and `window` required.
    NewCohort => CohortInput, &["name", "school_ids", "window"],
    "A new cohort. Rules between fields: every school of `options.pinned` and `options.forbidden_pairs` is one \
of `school_ids`; `window.end` is not before `window.start` and at most 731 days after it; `visit_times.end` is \
after `visit_times.start`; each facilitator is named once. `school_ids`, `programme_id` and facilitators' \
`participant_id` name rows that exist."
);

/// A cohort's forming rules, naming schools by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortOptions {
    /// Whether a triad may mix phases (default false).
    #[serde(default)]
    pub allow_mixed_phase: bool,
    /// Sets of school ids that must share a triad (two to four schools each, of the cohort's).
    #[serde(default)]
    #[schema(value_type = Vec<contract::Pin>, example = json!([[1, 7]]))]
    pub pinned: Vec<Vec<i64>>,
    /// Pairs of school ids (two different schools of the cohort's) that must not share a triad.
    #[serde(default)]
    #[schema(value_type = Vec<contract::SchoolPair>, example = json!([[2, 9]]))]
    pub forbidden_pairs: Vec<[i64; 2]>,
}

/// When visits may happen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortWindow {
    /// The first day a visit may fall on.
    #[schema(value_type = CalendarDate, example = "2027-01-11")]
    pub start: NaiveDate,
    /// The last day a visit may fall on: not before `start`, at most 731 days after it.
    #[schema(value_type = CalendarDate, example = "2027-03-26")]
    pub end: NaiveDate,
    /// The weekdays visits may fall on (`mon`..`sun`; default Monday to Friday; at least one).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Weekday>>, min_items = 1, example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    pub weekdays: Option<Vec<String>>,
    /// The fewest days between two visits of one triad (default 7; 0 to 120).
    #[serde(default)]
    #[schema(value_type = Option<contract::DaysBetweenVisits>, example = 7)]
    pub min_days_between_visits: Option<i64>,
}

/// The time of day visits run, in a zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitTimes {
    /// The IANA zone (default `Europe/London`).
    #[schema(value_type = Option<TimeZone>, example = "Europe/London")]
    pub time_zone: Option<String>,
    /// When a visit starts, `HH:MM` local (default `09:00`).
    #[schema(value_type = Option<LocalTime>, example = "09:00")]
    pub start: Option<String>,
    /// When a visit ends, `HH:MM` local (default `15:30`), after `start`.
    #[schema(value_type = Option<LocalTime>, example = "15:30")]
    pub end: Option<String>,
}

/// A facilitator of a cohort's visits: a participant, when they can go, and how often.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortFacilitator {
    /// The facilitator (a participant who exists and was not erased, named once).
    #[schema(example = 12)]
    pub participant_id: i64,
    /// The days they are available (`null` or absent for any day).
    #[serde(default)]
    #[schema(value_type = Option<Vec<CalendarDate>>, example = json!(["2027-01-12", "2027-01-19"]))]
    pub available: Option<Vec<NaiveDate>>,
    /// The most visits they make in one week, Monday to Sunday (default 3; 1 to 25).
    #[serde(default)]
    #[schema(value_type = Option<contract::VisitsPerWeek>, example = 3)]
    pub max_visits_per_week: Option<i64>,
    /// Local authorities whose schools they must not facilitate.
    #[serde(default)]
    #[schema(value_type = Vec<ShortLine>)]
    pub excluded_local_authorities: Vec<String>,
}

/// A cohort as sent to create one (`name`, `school_ids` and `window` are required).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortInput {
    /// The cohort's name.
    #[schema(value_type = Option<Name>, example = "Growing the Top 2027: London primaries")]
    pub name: Option<String>,
    /// The programme it belongs to; its visits' events join it.
    pub programme_id: Option<i64>,
    /// The schools to form into triads: each once, 1 to 2,000 of them.
    #[schema(value_type = Option<contract::CohortSchools>, example = json!([1, 2, 3, 4, 5, 6]))]
    pub school_ids: Option<Vec<i64>>,
    /// Forming rules: mixed phases, pins, forbidden pairs.
    #[serde(default)]
    pub options: CohortOptions,
    /// When visits may happen.
    pub window: Option<CohortWindow>,
    /// The time of day visits run.
    #[serde(default)]
    pub visit_times: VisitTimes,
    /// The roles at member schools booked onto visits (default `head`, `senior_leader`; at least one).
    #[schema(value_type = Option<Vec<Role>>, min_items = 1)]
    pub attendee_roles: Option<Vec<String>>,
    /// Who facilitates the visits.
    #[serde(default)]
    pub facilitators: Vec<CohortFacilitator>,
}

/// A cohort as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Cohort {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The programme it belongs to.
    pub programme_id: Option<i64>,
    /// `draft`, `triads_accepted` or `scheduled`.
    pub status: String,
    /// Its schools.
    pub school_ids: Vec<i64>,
    /// Its forming rules.
    pub options: CohortOptions,
    /// When visits may happen (weekdays and spacing filled in).
    pub window: CohortWindow,
    /// The time of day visits run (all filled in).
    pub visit_times: VisitTimes,
    /// The roles booked onto visits.
    pub attendee_roles: Vec<String>,
    /// Who facilitates.
    pub facilitators: Vec<CohortFacilitator>,
    /// When it was created (UTC).
    pub created_at: String,
    /// When it last changed (UTC).
    pub updated_at: String,
}

/// Filters for the cohort list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CohortFilter {
    /// Only cohorts of this programme.
    pub programme_id: Option<i64>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<contract::Cursor>)]
    pub cursor: Option<String>,
}

/// How a solver runs for one request; everything optional.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolveRequest {
    /// The seed of the solver's random choices (default 1): the same seed and budget give the same answer.
    #[schema(example = 1)]
    pub seed: Option<u64>,
    /// The iteration budget (default: chosen from the cohort's size).
    pub iterations: Option<u64>,
    /// A cap on the time spent, in milliseconds (default 5,000, at most 30,000).
    pub time_limit_ms: Option<u64>,
}

/// One priority of a school that a partner is strong in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CoveredPriority {
    /// The school with the priority.
    pub school_id: i64,
    /// The priority (a topic).
    pub priority: String,
    /// The partners strong in it.
    pub by: Vec<i64>,
}

/// One priority no partner covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UncoveredPriority {
    /// The school with the priority.
    pub school_id: i64,
    /// The priority (a topic).
    pub priority: String,
}

/// Why a triad scores what it does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TriadExplanation {
    /// Priorities a partner covers, and by whom.
    pub covered: Vec<CoveredPriority>,
    /// Priorities left uncovered.
    pub uncovered: Vec<UncoveredPriority>,
}

/// A triad (or quad) of a cohort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Triad {
    /// Its id.
    pub id: i64,
    /// Its place in the cohort's list, from 0.
    pub position: i32,
    /// Its schools.
    pub school_ids: Vec<i64>,
    /// `proposed` or `accepted`.
    pub status: String,
    /// Whether a new proposal keeps it together.
    pub pinned: bool,
    /// The number of its schools' priorities a partner is strong in.
    pub score: i64,
    /// Which priorities are covered by whom.
    pub explanation: TriadExplanation,
}

/// A cohort's triads with their total score.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Triads {
    /// The cohort.
    pub cohort_id: i64,
    /// The cohort's state after the change.
    pub status: String,
    /// The sum of the triads' scores.
    pub score: i64,
    /// No grouping can score more than this (each school's priorities that anyone is strong in).
    pub upper_bound: i64,
    /// The solver's iterations, when it just ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// The triads.
    pub triads: Vec<Triad>,
}

/// A triad as sent to accept or edit the cohort's triads.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriadEdit {
    /// Its schools.
    #[schema(example = json!([1, 4, 9]))]
    pub school_ids: Vec<i64>,
    /// Keep it together when triads are proposed again (default false).
    #[serde(default)]
    pub pinned: bool,
}

/// The cohort's triads as accepted or edited by an organiser.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriadsInput {
    /// Every triad (at least one); together they hold each of the cohort's schools exactly once.
    #[schema(min_items = 1)]
    pub triads: Vec<TriadEdit>,
}

/// A scheduled visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Visit {
    /// Its id.
    pub id: i64,
    /// The triad visiting.
    pub triad_id: i64,
    /// The school hosting.
    pub host_school_id: i64,
    /// The day.
    #[schema(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
    /// The facilitating participant.
    pub facilitator_id: Option<i64>,
    /// The `triad_visit` event.
    pub event_id: Option<i64>,
    /// Its session, which the members are booked onto.
    pub session_id: Option<i64>,
    /// `scheduled` or `cancelled`.
    pub status: String,
}

/// A person who could not be booked onto a visit, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Unbooked {
    /// The visit.
    pub visit_id: i64,
    /// The person.
    pub participant_id: i64,
    /// The booking rule's code, e.g. `booking_clash`.
    pub code: String,
    /// What stood in the way.
    pub detail: String,
}

/// What scheduling did.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Schedule {
    /// The cohort.
    pub cohort_id: i64,
    /// The soft goals' penalties (lower is better): spread, facilitator changes, workload.
    #[schema(value_type = contract::Penalties)]
    pub penalties: scheduling::Penalties,
    /// The visits, each a published `triad_visit` event.
    pub visits: Vec<Visit>,
    /// People the booking rules kept off a visit (e.g. already booked elsewhere that day).
    pub unbooked: Vec<Unbooked>,
}

/// A cohort's visits.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct VisitList {
    /// The visits, by date.
    pub items: Vec<Visit>,
}

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
        status: m.status.clone(),
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
pub async fn create(db: &DatabaseConnection, input: CohortInput) -> DomainResult<Cohort> {
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
            if !super::participant::ROLES.contains(&role.as_str()) {
                v.fail(
                    "attendee_roles",
                    format!("'{role}' is not one of {}", super::participant::ROLES.join(", ")),
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

    let now = Utc::now();
    in_write_txn(db, async |txn| {
        if let Some(programme_id) = input.programme_id {
            super::programme::find(txn, programme_id)
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
            status: Set("draft".to_owned()),
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

/// The forming problem of a cohort: its schools as the solver sees them, its rules, and pins
/// for those of `triads` an organiser pinned.
async fn forming_input<C: ConnectionTrait>(db: &C, c: &cohort::Model, triads: &[Triad]) -> DomainResult<FormingInput> {
    let ids = school_ids_of(db, c.id).await?;
    let schools = school::Entity::find()
        .filter(school::Column::Id.is_in(ids))
        .order_by_asc(school::Column::Id)
        .all(db)
        .await?;
    let options: CohortOptions = serde_json::from_value(c.options.clone()).unwrap_or_default();
    let mut pinned: Vec<Vec<String>> = options
        .pinned
        .iter()
        .map(|pin| pin.iter().map(i64::to_string).collect())
        .collect();
    for t in triads.iter().filter(|t| t.pinned) {
        pinned.push(t.school_ids.iter().map(i64::to_string).collect());
    }
    Ok(FormingInput {
        schools: schools
            .into_iter()
            .map(|s| forming::School {
                id: s.id.to_string(),
                local_authority: s.local_authority.clone(),
                phase: s.phase.clone(),
                strengths: super::school::topics_of(&s.strengths),
                priorities: super::school::topics_of(&s.priorities),
            })
            .collect(),
        options: FormingOptions {
            allow_mixed_phase: options.allow_mixed_phase,
            pinned,
            forbidden_pairs: options
                .forbidden_pairs
                .iter()
                .map(|[a, b]| [a.to_string(), b.to_string()])
                .collect(),
        },
    })
}

fn id_of(text: &str) -> i64 {
    text.parse().unwrap_or_default()
}

fn explanation_of(e: &GroupExplanation) -> TriadExplanation {
    TriadExplanation {
        covered: e
            .covered
            .iter()
            .map(|c| CoveredPriority {
                school_id: id_of(&c.school),
                priority: c.priority.clone(),
                by: c.by.iter().map(|b| id_of(b)).collect(),
            })
            .collect(),
        uncovered: e
            .uncovered
            .iter()
            .map(|u| UncoveredPriority {
                school_id: id_of(&u.school),
                priority: u.priority.clone(),
            })
            .collect(),
    }
}

async fn current_triads<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Vec<Triad>> {
    let rows = triad::Entity::find()
        .filter(triad::Column::CohortId.eq(cohort_id))
        .order_by_asc(triad::Column::Position)
        .find_with_related(triad_member::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(t, members)| {
            let mut school_ids: Vec<i64> = members.iter().map(|m| m.school_id).collect();
            school_ids.sort_unstable();
            let explanation = t
                .explanation
                .clone()
                .and_then(|j| serde_json::from_value(j).ok())
                .unwrap_or_default();
            Triad {
                id: t.id,
                position: t.position,
                school_ids,
                status: t.status,
                pinned: t.pinned,
                score: i64::from(t.score),
                explanation,
            }
        })
        .collect())
}

fn solve_params(request: &SolveRequest) -> SolveParams {
    SolveParams {
        seed: request.seed.unwrap_or(1),
        max_iterations: request.iterations,
        time_limit: Some(
            request
                .time_limit_ms
                .map_or(DEFAULT_SOLVE_TIME, Duration::from_millis)
                .min(MAX_SOLVE_TIME),
        ),
    }
}

/// Runs a solver off the async threads (it is CPU-bound for up to its time limit).
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DomainError::Database(sea_orm::DbErr::Custom(format!("the solver stopped: {e}"))))
}

fn refuse_if_scheduled(c: &cohort::Model) -> DomainResult<()> {
    if c.status == "scheduled" {
        return Err(DomainError::conflict(
            ProblemCode::CohortScheduled,
            format!(
                "cohort {} has scheduled visits; cancel them (DELETE /v1/cohorts/{}/visits) before changing its triads",
                c.id, c.id
            ),
            None,
        ));
    }
    Ok(())
}

/// Replaces the cohort's triads with `groups`, each with its score and explanation, in `status`.
async fn store_triads<C: ConnectionTrait>(
    txn: &C,
    cohort_id: i64,
    groups: &[(Vec<i64>, bool)],
    explanations: &[GroupExplanation],
    status: &str,
) -> DomainResult<()> {
    let old: Vec<i64> = triad::Entity::find()
        .filter(triad::Column::CohortId.eq(cohort_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if !old.is_empty() {
        triad_member::Entity::delete_many()
            .filter(triad_member::Column::TriadId.is_in(old.clone()))
            .exec(txn)
            .await?;
        triad::Entity::delete_many()
            .filter(triad::Column::Id.is_in(old))
            .exec(txn)
            .await?;
    }
    let now = Utc::now();
    for (position, ((members, pinned), explanation)) in groups.iter().zip(explanations).enumerate() {
        let row = triad::ActiveModel {
            cohort_id: Set(cohort_id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            status: Set(status.to_owned()),
            pinned: Set(*pinned),
            score: Set(i32::try_from(explanation.score).unwrap_or(i32::MAX)),
            explanation: Set(Some(
                serde_json::to_value(explanation_of(explanation)).unwrap_or_default(),
            )),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        triad_member::Entity::insert_many(members.iter().map(|&school_id| triad_member::ActiveModel {
            triad_id: Set(row.id),
            school_id: Set(school_id),
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

async fn triads_view<C: ConnectionTrait>(db: &C, c: &cohort::Model, iterations: Option<u64>) -> DomainResult<Triads> {
    let triads = current_triads(db, c.id).await?;
    let input = forming_input(db, c, &triads).await?;
    Ok(Triads {
        cohort_id: c.id,
        status: c.status.clone(),
        score: triads.iter().map(|t| t.score).sum(),
        upper_bound: forming::upper_bound(&input).map_or(0, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        iterations,
        triads,
    })
}

/// The cohort's current triads (none until proposed).
pub async fn triads<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Triads> {
    let c = find(db, cohort_id).await?;
    triads_view(db, &c, None).await
}

/// Runs the forming solver on the cohort and stores its answer as the proposed triads (replacing
/// any earlier proposal or accepted triads; pinned triads and pins are kept together). The cohort
/// goes back to `draft`. A cohort with scheduled visits is refused.
#[tracing::instrument(skip(db, request))]
pub async fn propose(db: &DatabaseConnection, cohort_id: i64, request: &SolveRequest) -> DomainResult<Triads> {
    let c = find(db, cohort_id).await?;
    refuse_if_scheduled(&c)?;
    let current = current_triads(db, cohort_id).await?;
    let input = forming_input(db, &c, &current).await?;
    let pinned_sets: Vec<BTreeSet<i64>> = current
        .into_iter()
        .filter(|t| t.pinned)
        .map(|t| t.school_ids.into_iter().collect())
        .collect();
    let params = solve_params(request);
    let formed = off_thread(move || forming::form(&input, &params))
        .await?
        .map_err(|why| infeasible(ProblemCode::TriadsInfeasible, why))?;
    let groups: Vec<(Vec<i64>, bool)> = formed
        .groups
        .iter()
        .map(|g| {
            let mut ids: Vec<i64> = g.iter().map(|s| id_of(s)).collect();
            ids.sort_unstable();
            let set: BTreeSet<i64> = ids.iter().copied().collect();
            let pinned = pinned_sets.iter().any(|p| p.is_subset(&set));
            (ids, pinned)
        })
        .collect();
    in_write_txn(db, async |txn| {
        let c = find(txn, cohort_id).await?;
        refuse_if_scheduled(&c)?;
        store_triads(txn, cohort_id, &groups, &formed.explanations, "proposed").await?;
        let c = set_status(txn, c, "draft").await?;
        triads_view(txn, &c, Some(formed.iterations)).await
    })
    .await
}

async fn set_status<C: ConnectionTrait>(txn: &C, c: cohort::Model, status: &str) -> DomainResult<cohort::Model> {
    let mut active: cohort::ActiveModel = c.into();
    active.status = Set(status.to_owned());
    active.updated_at = Set(Utc::now());
    Ok(active.update(txn).await?)
}

/// Accepts the organiser's triads (the proposal as it was, or edited), after checking them
/// against every hard rule; the cohort becomes `triads_accepted`.
#[tracing::instrument(skip(db, input))]
pub async fn accept(db: &DatabaseConnection, cohort_id: i64, input: TriadsInput) -> DomainResult<Triads> {
    let c = find(db, cohort_id).await?;
    refuse_if_scheduled(&c)?;
    if input.triads.is_empty() {
        return Err(DomainError::Invalid(vec![FieldError::new("triads", "is required")]));
    }
    // The organiser's own edits decide: earlier pinned triads are not pins on them, only the
    // cohort's own pins are.
    let forming_in = forming_input(db, &c, &[]).await?;
    let groups: Vec<Vec<String>> = input
        .triads
        .iter()
        .map(|t| t.school_ids.iter().map(i64::to_string).collect())
        .collect();
    forming::check_groups(&forming_in, &groups).map_err(|why| infeasible(ProblemCode::TriadsInvalid, why))?;
    let explanations =
        forming::explain(&forming_in, &groups).map_err(|why| infeasible(ProblemCode::TriadsInvalid, why))?;
    let groups: Vec<(Vec<i64>, bool)> = input
        .triads
        .into_iter()
        .map(|t| {
            let mut ids = t.school_ids;
            ids.sort_unstable();
            (ids, t.pinned)
        })
        .collect();
    in_write_txn(db, async |txn| {
        let c = find(txn, cohort_id).await?;
        refuse_if_scheduled(&c)?;
        store_triads(txn, cohort_id, &groups, &explanations, "accepted").await?;
        let c = set_status(txn, c, "triads_accepted").await?;
        triads_view(txn, &c, None).await
    })
    .await
}

/// The scheduling problem of a cohort whose triads are accepted: only days from tomorrow on
/// (in the cohort's zone), every member school's closures inside the window, the facilitators.
async fn visits_input<C: ConnectionTrait>(
    db: &C,
    c: &cohort::Model,
    triads: &[Triad],
    schools: &HashMap<i64, school::Model>,
    facilitators: &[facilitator_assignment::Model],
) -> DomainResult<VisitsInput> {
    let zone = crate::time::stored_zone(&c.time_zone);
    let tomorrow = Utc::now().with_timezone(&zone).date_naive() + Days::new(1);
    let start = c.window_start.max(tomorrow);
    let end = c.window_end;
    let ids: Vec<i64> = schools.keys().copied().collect();
    let mut closures: BTreeMap<String, Vec<NaiveDate>> = BTreeMap::new();
    if start <= end {
        for row in closure::Entity::find()
            .filter(closure::Column::SchoolId.is_in(ids.clone()))
            .filter(closure::Column::StartDate.lte(end))
            .filter(closure::Column::EndDate.gte(start))
            .all(db)
            .await?
        {
            let days = closures.entry(row.school_id.to_string()).or_default();
            let mut day = row.start_date.max(start);
            while day <= row.end_date.min(end) {
                days.push(day);
                day = day + Days::new(1);
            }
        }
    }
    let local_authorities = schools
        .values()
        .map(|s| (s.id.to_string(), s.local_authority.clone()))
        .collect();
    let facilitators = facilitators
        .iter()
        .map(|f| scheduling::Facilitator {
            id: f.participant_id.to_string(),
            available: f.available_dates.as_ref().map(json_list),
            max_visits_per_week: u32::try_from(f.max_visits_per_week).unwrap_or(1),
            excluded_local_authorities: json_list(&f.excluded_local_authorities),
        })
        .collect();
    Ok(VisitsInput {
        triads: triads
            .iter()
            .map(|t| t.school_ids.iter().map(i64::to_string).collect())
            .collect(),
        window: scheduling::Window { start, end },
        weekdays: json_list(&c.weekdays),
        min_days_between_visits: i64::from(c.min_days_between_visits),
        closures,
        facilitators,
        local_authorities,
    })
}

/// Schedules the visits of a cohort whose triads are accepted: the solver dates each school's
/// visit and gives it a facilitator; each visit becomes a published `triad_visit` event at the
/// host school with one session, onto which the triad's attendees (the cohort's roles at its
/// schools) and the facilitator are booked, with their confirmations and reminders queued. All in
/// one transaction; the cohort becomes `scheduled`.
#[tracing::instrument(skip(db, request))]
pub async fn schedule(db: &DatabaseConnection, cohort_id: i64, request: &SolveRequest) -> DomainResult<Schedule> {
    let c = find(db, cohort_id).await?;
    match c.status.as_str() {
        "triads_accepted" => {}
        "scheduled" => {
            return Err(DomainError::conflict(
                ProblemCode::VisitsAlreadyScheduled,
                format!("cohort {cohort_id}'s visits are already scheduled; cancel them first to schedule again"),
                None,
            ));
        }
        _ => {
            return Err(DomainError::conflict(
                ProblemCode::TriadsNotAccepted,
                format!(
                    "cohort {cohort_id} has no accepted triads yet; accept them with PUT /v1/cohorts/{cohort_id}/triads"
                ),
                None,
            ));
        }
    }
    let facilitators = facilitators_of(db, cohort_id).await?;
    if facilitators.is_empty() {
        return Err(DomainError::Unprocessable {
            code: ProblemCode::VisitsInfeasible,
            detail: format!("cohort {cohort_id} has no facilitators to lead its visits"),
            field: Some("facilitators"),
        });
    }
    let triads = current_triads(db, cohort_id).await?;
    let school_rows: HashMap<i64, school::Model> = school::Entity::find()
        .filter(school::Column::Id.is_in(triads.iter().flat_map(|t| t.school_ids.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let input = visits_input(db, &c, &triads, &school_rows, &facilitators).await?;
    if input.window.start > input.window.end {
        return Err(DomainError::Unprocessable {
            code: ProblemCode::VisitsInfeasible,
            detail: format!(
                "the window ({} to {}) has no day left from tomorrow on",
                c.window_start, c.window_end
            ),
            field: Some("window"),
        });
    }
    let params = solve_params(request);
    let scheduled = off_thread(move || scheduling::schedule(&input, &params))
        .await?
        .map_err(|why| infeasible(ProblemCode::VisitsInfeasible, why))?;

    let roles = attendee_roles(&c);
    let attendees: Vec<participant::Model> = participant::Entity::find()
        .filter(participant::Column::SchoolId.is_in(school_rows.keys().copied()))
        .filter(participant::Column::Role.is_in(roles))
        .filter(participant::Column::ErasedAt.is_null())
        .order_by_asc(participant::Column::Id)
        .all(db)
        .await?;
    let facilitator_names: HashMap<i64, String> = participant::Entity::find()
        .filter(participant::Column::Id.is_in(facilitators.iter().map(|f| f.participant_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();

    in_write_txn(db, async |txn| {
        // Only one scheduling run wins; a second, concurrent one finds the cohort scheduled.
        let claimed = cohort::Entity::update_many()
            .col_expr(cohort::Column::Status, Expr::value("scheduled"))
            .col_expr(cohort::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(cohort::Column::Id.eq(cohort_id))
            .filter(cohort::Column::Status.eq("triads_accepted"))
            .exec(txn)
            .await?;
        if claimed.rows_affected == 0 {
            return Err(DomainError::conflict(
                ProblemCode::VisitsAlreadyScheduled,
                format!("cohort {cohort_id}'s visits were scheduled by another request"),
                None,
            ));
        }
        let now = Utc::now();
        let mut visits = Vec::with_capacity(scheduled.visits.len());
        let mut unbooked = Vec::new();
        for planned in &scheduled.visits {
            let triad = &triads[planned.triad];
            let host_id = id_of(&planned.host);
            let facilitator_id = id_of(&planned.facilitator);
            let host = &school_rows[&host_id];
            let members: Vec<&str> = triad
                .school_ids
                .iter()
                .filter_map(|id| school_rows.get(id).map(|s| s.name.as_str()))
                .collect();
            let facilitator = facilitator_names.get(&facilitator_id).cloned().unwrap_or_default();
            let people: Vec<i64> = attendees
                .iter()
                .filter(|p| p.school_id.is_some_and(|s| triad.school_ids.contains(&s)))
                .map(|p| p.id)
                .chain(std::iter::once(facilitator_id))
                .collect();
            let event = super::event::create(
                txn,
                EventInput {
                    kind: Some("triad_visit".to_owned()),
                    title: Some(format!("Triad visit: {}", host.name)),
                    time_zone: Some(c.time_zone.clone()),
                    description: Some(Some(format!(
                        "{}: triad {} ({}) visits {}, facilitated by {}.",
                        c.name,
                        triad.position + 1,
                        members.join(", "),
                        host.name,
                        facilitator
                    ))),
                    venue: Some(Some(format!("{}, {}", host.name, host.local_authority))),
                    online_url: None,
                    programme_id: Some(c.programme_id),
                    host_school_id: Some(Some(host_id)),
                    topic: None,
                    status: Some("published".to_owned()),
                },
            )
            .await?;
            let session = super::session::create(
                txn,
                event.id,
                SessionInput {
                    label: None,
                    start: Some(format!("{}T{}", planned.date, c.visit_starts)),
                    end: Some(format!("{}T{}", planned.date, c.visit_ends)),
                    capacity: Some(i64::try_from(people.len()).unwrap_or(1).max(1)),
                    per_school_limit: Some(None),
                    waitlist: Some(false),
                    status: None,
                },
            )
            .await?;
            let row = visit::ActiveModel {
                triad_id: Set(triad.id),
                host_school_id: Set(host_id),
                date: Set(Some(planned.date)),
                facilitator_id: Set(Some(facilitator_id)),
                event_id: Set(Some(event.id)),
                session_id: Set(Some(session.id)),
                status: Set("scheduled".to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            for person in people {
                match super::booking::book_in(txn, session.id, person, now).await {
                    Ok(_) => {}
                    Err(DomainError::Database(e)) => return Err(DomainError::Database(e)),
                    Err(refused) => unbooked.push(Unbooked {
                        visit_id: row.id,
                        participant_id: person,
                        code: refusal_code(&refused).to_owned(),
                        detail: refused.to_string(),
                    }),
                }
            }
            visits.push(visit_view(row));
        }
        Ok(Schedule {
            cohort_id,
            penalties: scheduled.penalties,
            visits,
            unbooked,
        })
    })
    .await
}

fn refusal_code(err: &DomainError) -> &'static str {
    match err {
        DomainError::Conflict { code, .. }
        | DomainError::Unprocessable { code, .. }
        | DomainError::TooMany { code, .. }
        | DomainError::Forbidden { code, .. } => code.as_str(),
        DomainError::NotFound { .. } => "not_found",
        DomainError::Invalid(_) => "validation_failed",
        DomainError::LocalTime { .. } => "local_time",
        DomainError::KeyRevoked => "unauthorized",
        DomainError::Database(_) => "internal_error",
    }
}

/// The visits `person` is invited to: those they facilitate, and those of the triads their
/// school is in. Only these people (and organisers) see a triad's visits and may book them.
pub fn visits_inviting(person: &participant::Model) -> Condition {
    let mut invited = Condition::any().add(visit::Column::FacilitatorId.eq(person.id));
    if let Some(school_id) = person.school_id {
        invited = invited.add(
            visit::Column::TriadId.in_subquery(
                Query::select()
                    .column(triad_member::Column::TriadId)
                    .from(triad_member::Entity)
                    .and_where(triad_member::Column::SchoolId.eq(school_id))
                    .to_owned(),
            ),
        );
    }
    invited
}

/// The sessions of the scheduled visits `person` is invited to, as a subquery.
pub fn invited_sessions(person: &participant::Model) -> SelectStatement {
    Query::select()
        .column(visit::Column::SessionId)
        .from(visit::Entity)
        .and_where(visit::Column::Status.eq("scheduled"))
        .and_where(visit::Column::SessionId.is_not_null())
        .cond_where(visits_inviting(person))
        .to_owned()
}

/// Refuses `person` a triad visit's session (`403 not_invited`) unless they are invited to it.
pub async fn ensure_invited<C: ConnectionTrait>(
    db: &C,
    session_id: i64,
    person: &participant::Model,
) -> DomainResult<()> {
    let invited = visit::Entity::find()
        .filter(visit::Column::SessionId.eq(session_id))
        .filter(visit::Column::Status.eq("scheduled"))
        .filter(visits_inviting(person))
        .one(db)
        .await?
        .is_some();
    if invited {
        return Ok(());
    }
    Err(DomainError::Forbidden {
        code: ProblemCode::NotInvited,
        detail: format!(
            "session {session_id} is a triad's visit; only the triad's schools and its facilitator may book it"
        ),
    })
}

fn visit_view(m: visit::Model) -> Visit {
    Visit {
        id: m.id,
        triad_id: m.triad_id,
        host_school_id: m.host_school_id,
        date: m.date,
        facilitator_id: m.facilitator_id,
        event_id: m.event_id,
        session_id: m.session_id,
        status: m.status,
    }
}

async fn visit_rows<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Vec<visit::Model>> {
    let triad_ids: Vec<i64> = triad::Entity::find()
        .filter(triad::Column::CohortId.eq(cohort_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    Ok(visit::Entity::find()
        .filter(visit::Column::TriadId.is_in(triad_ids))
        .order_by_asc(visit::Column::Date)
        .order_by_asc(visit::Column::Id)
        .all(db)
        .await?)
}

/// The cohort's visits, by date (cancelled ones included, marked so).
pub async fn visits<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<VisitList> {
    find(db, cohort_id).await?;
    Ok(VisitList {
        items: visit_rows(db, cohort_id).await?.into_iter().map(visit_view).collect(),
    })
}

/// Cancels the cohort's scheduled visits: each visit's event is cancelled (its bookings too, and
/// everyone booked is told, with calendar cancellations), and the cohort goes back to
/// `triads_accepted`, ready to be scheduled again.
#[tracing::instrument(skip(db))]
pub async fn cancel_visits(db: &DatabaseConnection, cohort_id: i64) -> DomainResult<VisitList> {
    let c = find(db, cohort_id).await?;
    if c.status != "scheduled" {
        return Err(DomainError::conflict(
            ProblemCode::VisitsNotScheduled,
            format!("cohort {cohort_id} has no scheduled visits to cancel"),
            None,
        ));
    }
    let rows = visit_rows(db, cohort_id).await?;
    for row in rows.iter().filter(|v| v.status == "scheduled") {
        if let Some(event_id) = row.event_id {
            let still_open = event::Entity::find_by_id(event_id)
                .one(db)
                .await?
                .is_some_and(|e| e.status != "cancelled");
            if still_open {
                super::event::update(
                    db,
                    event_id,
                    EventInput {
                        status: Some("cancelled".to_owned()),
                        ..Default::default()
                    },
                )
                .await?;
            }
        }
    }
    in_write_txn(db, async |txn| {
        visit::Entity::update_many()
            .col_expr(visit::Column::Status, Expr::value("cancelled"))
            .col_expr(visit::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(visit::Column::Id.is_in(rows.iter().map(|v| v.id)))
            .exec(txn)
            .await?;
        let c = find(txn, cohort_id).await?;
        set_status(txn, c, "triads_accepted").await?;
        Ok(())
    })
    .await?;
    visits(db, cohort_id).await
}
