//! A cohort's types: what is sent to make one, to solve, to edit triads, and what is answered.

use std::time::Duration;

use chrono::NaiveDate;
use entity::state::CohortStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::contract::{self, CalendarDate, LocalTime, Name, Role, ShortLine, TimeZone, Weekday};
use crate::solver::scheduling;

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
    #[schema(value_type = contract::CohortStatus)]
    pub status: CohortStatus,
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
    #[schema(value_type = contract::CohortStatus)]
    pub status: CohortStatus,
    /// The sum of the triads' scores.
    pub score: i64,
    /// No grouping can score more than this: the linear relaxation of the set-partitioning model
    /// (every feasible triad, or quad where the numbers force quads), floored.
    pub upper_bound: i64,
    /// How far the score may be from the best possible: (upper_bound − score) / upper_bound.
    pub gap: f64,
    /// The score reaches the bound: no grouping scores more.
    pub proven_optimal: bool,
    /// Whether the bound was finished in the time allowed; when not, `upper_bound` is the best
    /// valid bound found by then.
    pub bound_complete: bool,
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
