//! The triad solvers: [`forming`] splits a cohort of schools into triads (and quads where the
//! numbers force it), [`scheduling`] dates each triad's visits and gives each a facilitator, and
//! [`generate`] makes seeded instances for tests and benchmarks.
//!
//! Pure code: plain values in, plain values out, no database and no HTTP. Both solvers are
//! deterministic for a given [`SolveParams::seed`] and iteration budget (the time limit is only
//! a cap, so a run that reaches it may differ from one that does not), never return an answer
//! that breaks a hard rule, and say which [`Rule`] makes an instance infeasible instead.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod forming;
pub mod generate;
pub mod scheduling;

/// How a solver runs: the seed of its random choices, its iteration budget and a time cap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SolveParams {
    /// The seed of every random choice; the same seed and budget give the same answer.
    pub seed: u64,
    /// How many moves the local search may try; `None` picks a default from the instance's size.
    pub max_iterations: Option<u64>,
    /// A cap on the wall-clock time; reaching it stops the search early with the best answer so far.
    pub time_limit: Option<Duration>,
}

/// The hard rule that makes an instance infeasible (or that a given answer breaks), as a stable
/// machine-readable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The schools cannot be split into groups of three with only the forced groups of four
    /// (1, 2 or 5 schools), or a given grouping has a group of another size or the wrong number
    /// of groups of four.
    GroupSizes,
    /// Two schools of one local authority would have to share a group.
    LocalAuthority,
    /// Phases may not be mixed and a phase's schools cannot be grouped on their own.
    Phase,
    /// A pin cannot be honoured: more than four schools, two of one local authority, a forbidden
    /// pair, a school named twice, mixed phases, or more pins than groups to hold them.
    Pinned,
    /// A forbidden pair would have to share a group (or pairs a school with itself).
    ForbiddenPairs,
    /// An id that is not one of the cohort's schools.
    UnknownSchool,
    /// A school listed twice (in the cohort, in a grouping or in one triad).
    DuplicateSchool,
    /// A grouping leaves a school of the cohort out.
    MissingSchool,
    /// More than 1,024 distinct topics that are both someone's strength and someone's priority.
    Topics,
    /// The window is empty or too short for a triad's visits at the minimum spacing.
    Window,
    /// A weekday name that is not `mon`..`sun`, or no weekday allowed at all.
    Weekdays,
    /// The triad's schools' closures leave too few open days for its visits.
    Closures,
    /// Two visits of one triad closer than the minimum number of days.
    MinDaysBetweenVisits,
    /// No facilitator can cover a visit: availability, exclusions, weekly limits, double booking.
    Facilitators,
    /// A triad with no schools, or a visit list where a school does not host exactly once.
    Triads,
}

impl Rule {
    /// The rule's stable code, as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::GroupSizes => "group_sizes",
            Rule::LocalAuthority => "local_authority",
            Rule::Phase => "phase",
            Rule::Pinned => "pinned",
            Rule::ForbiddenPairs => "forbidden_pairs",
            Rule::UnknownSchool => "unknown_school",
            Rule::DuplicateSchool => "duplicate_school",
            Rule::MissingSchool => "missing_school",
            Rule::Topics => "topics",
            Rule::Window => "window",
            Rule::Weekdays => "weekdays",
            Rule::Closures => "closures",
            Rule::MinDaysBetweenVisits => "min_days_between_visits",
            Rule::Facilitators => "facilitators",
            Rule::Triads => "triads",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why there is no answer: the hard rule at fault and a sentence naming the schools, local
/// authority, pin or triad concerned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("infeasible ({rule}): {detail}")]
pub struct Infeasible {
    /// The rule that cannot be kept.
    pub rule: Rule,
    /// What exactly is wrong, for the organiser.
    pub detail: String,
}

impl Infeasible {
    /// An infeasibility of `rule` with `detail`.
    pub fn new(rule: Rule, detail: impl Into<String>) -> Self {
        Infeasible {
            rule,
            detail: detail.into(),
        }
    }
}
