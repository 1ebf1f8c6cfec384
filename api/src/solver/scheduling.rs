//! Scheduling triad visits: each school of a triad hosts once, on a day open to the whole triad,
//! with a facilitator.
//!
//! # Hard rules
//! - Each school of a triad hosts exactly one of the triad's visits.
//! - A visit's day is inside the window, on an allowed weekday (`mon`..`sun`, default Monday to
//!   Friday), and not a closure of **any** school of the triad (everyone attends every visit).
//! - Visits of one triad are at least `min_days_between_visits` apart (at least one day apart
//!   when that is 0 or less: the same people cannot be in two schools on one day).
//! - Each visit has a facilitator who is available that day, is not excluded from the local
//!   authority of **any** school of the triad (the facilitator works with all of them at every
//!   visit; schools missing from `local_authorities` match no exclusion), is never on two visits in
//!   one day, and makes at most `max_visits_per_week` visits per ISO week (Monday to Sunday).
//!
//! # Soft goals (a penalty: lower is better, 0 is perfect)
//! - `spread`: for each triad, the days by which consecutive visits fall short of the ideal
//!   gap, the window's length divided by the number of visits (never less than the minimum gap).
//! - `facilitator_changes`: for each triad, the number of facilitators beyond the first.
//! - `workload_spread`: the most visits any facilitator makes minus the fewest (among those who
//!   can make any).
//! - `total = spread + 20 × facilitator_changes + 5 × workload_spread`.
//!
//! # Method
//! Facilitators first: triads, most constrained first (fewest eligible facilitators, fewest open
//! days), each get the eligible facilitator with the lowest share of their capacity promised.
//! Then days: triads, most constrained first, get the days a dynamic programme finds cheapest
//! (spread shortfall, a facilitator other than the triad's own, small random noise to spread
//! load). A triad that does not fit is placed by evicting the triads in its way, which queue to
//! be placed again (a min-conflicts repair). A local search then moves single visits to other
//! days or facilitators, or a whole triad to another facilitator, when that lowers the penalty.
//! All randomness comes from a `ChaCha8Rng` seeded with [`SolveParams::seed`] (a named generator,
//! so a seed gives the same schedule whatever the `rand` version).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use chrono::{Datelike as _, NaiveDate};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Infeasible, Rule, SolveParams};

/// The dates visits may fall on, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The first possible day.
    pub start: NaiveDate,
    /// The last possible day.
    pub end: NaiveDate,
}

/// An expert who leads visits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facilitator {
    /// The facilitator's id.
    pub id: String,
    /// The days they can lead a visit; `None` (or absent) means any day.
    #[serde(default)]
    pub available: Option<Vec<NaiveDate>>,
    /// The most visits they make in one ISO week.
    pub max_visits_per_week: u32,
    /// Local authorities they may not serve (a triad with a school of one of these is not theirs).
    #[serde(default)]
    pub excluded_local_authorities: Vec<String>,
}

fn default_weekdays() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec()
}

fn default_min_days() -> i64 {
    7
}

/// A scheduling problem: the triads, the window, closures and facilitators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitsInput {
    /// The triads, each a list of school ids; each school hosts one visit of its triad.
    pub triads: Vec<Vec<String>>,
    /// The dates visits may fall on.
    pub window: Window,
    /// The weekdays visits may fall on (`mon`..`sun`); default Monday to Friday.
    #[serde(default = "default_weekdays")]
    pub weekdays: Vec<String>,
    /// The fewest days between two visits of one triad; default 7.
    #[serde(default = "default_min_days")]
    pub min_days_between_visits: i64,
    /// Each school's closed days (term breaks, INSET days, blackout dates).
    #[serde(default)]
    pub closures: BTreeMap<String, Vec<NaiveDate>>,
    /// The facilitators.
    pub facilitators: Vec<Facilitator>,
    /// Each school's local authority, needed only for facilitators' exclusions.
    #[serde(default)]
    pub local_authorities: BTreeMap<String, String>,
}

/// One visit: triad `triad` (its index in the input) meets at `host` on `date` with `facilitator`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The triad's index in the input.
    pub triad: usize,
    /// The hosting school.
    pub host: String,
    /// The day of the visit.
    pub date: NaiveDate,
    /// The facilitator leading it.
    pub facilitator: String,
}

/// How far a schedule is from the soft goals (see the module's notes); lower is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Penalties {
    /// Days by which consecutive visits of a triad fall short of the ideal gap, summed.
    pub spread: u64,
    /// Facilitators beyond the first per triad, summed.
    pub facilitator_changes: u64,
    /// The busiest facilitator's visits minus the least busy's.
    pub workload_spread: u64,
    /// `spread + 20 × facilitator_changes + 5 × workload_spread`.
    pub total: u64,
}

/// Why a triad's visits fall where they do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriadSchedule {
    /// The triad's index in the input.
    pub triad: usize,
    /// Its schools.
    pub schools: Vec<String>,
    /// Its visits' dates, in order.
    pub dates: Vec<NaiveDate>,
    /// The facilitators of its visits, each once, the first the one with most visits.
    pub facilitators: Vec<String>,
    /// The days in the window open to the whole triad (allowed weekday, no closure).
    pub open_days: usize,
    /// The days between consecutive visits.
    pub gaps: Vec<i64>,
    /// The gap the spread goal aims for.
    pub ideal_gap: i64,
    /// This triad's share of the spread penalty.
    pub spread_penalty: u64,
}

/// A schedule that keeps every hard rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    /// The visits, by triad and then date.
    pub visits: Vec<Visit>,
    /// The soft goals' penalties.
    pub penalties: Penalties,
    /// One explanation per triad, in input order.
    pub explanations: Vec<TriadSchedule>,
    /// Placements and moves the search tried.
    pub iterations: u64,
}

const CHANGE_WEIGHT: u64 = 20;
const WORKLOAD_WEIGHT: u64 = 5;
/// The longest window handled, in days.
const MAX_WINDOW_DAYS: i64 = 3660;
const NONE: u32 = u32::MAX;

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

fn weekday(name: &str) -> Option<u32> {
    let n = norm(name);
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    days.iter()
        .position(|d| *d == n)
        .or_else(|| full.iter().position(|d| *d == n))
        .map(|p| p as u32)
}

/// How many visits at least `gap` days apart fit on the days marked in `ok` (counting up to `k`).
fn fits(ok: impl Iterator<Item = bool>, k: usize, gap: i64) -> usize {
    let mut count = 0;
    let mut last = i64::MIN / 2;
    for (d, open) in ok.enumerate() {
        if open && d as i64 - last >= gap {
            count += 1;
            last = d as i64;
        }
    }
    count.min(k)
}

struct Triad {
    k: usize,
    open: Vec<bool>,
    eligible: Vec<u32>,
    ideal: i64,
}

struct Fac {
    avail: Vec<bool>,
    max_week: u32,
    capacity: u32,
}

/// The input as day and facilitator indices.
struct Model<'a> {
    input: &'a VisitsInput,
    start: NaiveDate,
    days: usize,
    week_of: Vec<u32>,
    weeks: usize,
    gap: i64,
    triads: Vec<Triad>,
    facs: Vec<Fac>,
    fac_index: HashMap<&'a str, u32>,
}

impl<'a> Model<'a> {
    /// Parses the input and checks what needs no search; `search` adds the checks a solve needs
    /// (each triad fits, the facilitators can cover it) that a given schedule need not pass.
    fn new(input: &'a VisitsInput, solving: bool) -> Result<Self, Infeasible> {
        let Window { start, end } = input.window;
        let length = (end - start).num_days() + 1;
        if length < 1 {
            return Err(Infeasible::new(
                Rule::Window,
                format!("the window ends ({end}) before it starts ({start})"),
            ));
        }
        if length > MAX_WINDOW_DAYS {
            return Err(Infeasible::new(
                Rule::Window,
                format!("the window is {length} days long; the scheduler handles up to {MAX_WINDOW_DAYS}"),
            ));
        }
        let days = length as usize;
        let mut allowed = [false; 7];
        for name in &input.weekdays {
            let Some(d) = weekday(name) else {
                return Err(Infeasible::new(
                    Rule::Weekdays,
                    format!("{name:?} is not a weekday (use mon, tue, wed, thu, fri, sat, sun)"),
                ));
            };
            allowed[d as usize] = true;
        }
        if !allowed.iter().any(|&a| a) {
            return Err(Infeasible::new(Rule::Weekdays, "no weekday is allowed for visits"));
        }
        let offset = start.weekday().num_days_from_monday() as usize;
        let week_of: Vec<u32> = (0..days).map(|d| ((d + offset) / 7) as u32).collect();
        let weeks = week_of.last().map_or(0, |&w| w as usize + 1);
        let day_of = |date: NaiveDate| {
            let d = (date - start).num_days();
            (0..length).contains(&d).then_some(d as usize)
        };
        let weekday_ok: Vec<bool> = (0..days).map(|d| allowed[(d + offset) % 7]).collect();
        let gap = input.min_days_between_visits.max(1);

        let mut fac_index = HashMap::new();
        let mut facs = Vec::with_capacity(input.facilitators.len());
        for (f, fac) in input.facilitators.iter().enumerate() {
            if fac_index.insert(fac.id.as_str(), f as u32).is_some() {
                return Err(Infeasible::new(
                    Rule::Facilitators,
                    format!("facilitator {} is listed twice", fac.id),
                ));
            }
            let mut avail = match &fac.available {
                None => vec![true; days],
                Some(dates) => {
                    let mut a = vec![false; days];
                    for &date in dates {
                        if let Some(d) = day_of(date) {
                            a[d] = true;
                        }
                    }
                    a
                }
            };
            for (d, a) in avail.iter_mut().enumerate() {
                *a &= weekday_ok[d];
            }
            let mut per_week = vec![0u32; weeks];
            for d in (0..days).filter(|&d| avail[d]) {
                per_week[week_of[d] as usize] += 1;
            }
            let capacity = per_week.iter().map(|&c| c.min(fac.max_visits_per_week)).sum();
            facs.push(Fac {
                avail,
                max_week: fac.max_visits_per_week,
                capacity,
            });
        }
        let excluded: Vec<HashSet<String>> = input
            .facilitators
            .iter()
            .map(|f| f.excluded_local_authorities.iter().map(|l| norm(l)).collect())
            .collect();
        let closures: HashMap<&str, Vec<usize>> = input
            .closures
            .iter()
            .map(|(school, dates)| (school.as_str(), dates.iter().filter_map(|&d| day_of(d)).collect()))
            .collect();

        let mut triads = Vec::with_capacity(input.triads.len());
        for (t, members) in input.triads.iter().enumerate() {
            if members.is_empty() {
                return Err(Infeasible::new(Rule::Triads, format!("triad {t} has no schools")));
            }
            for (x, a) in members.iter().enumerate() {
                if members[x + 1..].contains(a) {
                    return Err(Infeasible::new(
                        Rule::DuplicateSchool,
                        format!("triad {t} ({}) lists {a} twice", members.join(", ")),
                    ));
                }
            }
            let k = members.len();
            let mut open = weekday_ok.clone();
            for m in members {
                for &d in closures.get(m.as_str()).map_or(&[][..], Vec::as_slice) {
                    open[d] = false;
                }
            }
            let las: Vec<String> = members
                .iter()
                .filter_map(|m| input.local_authorities.get(m).map(|l| norm(l)))
                .collect();
            let eligible: Vec<u32> = (0..facs.len())
                .filter(|&f| facs[f].max_week > 0 && !las.iter().any(|l| excluded[f].contains(l)))
                .map(|f| f as u32)
                .collect();
            let ideal = ((days as i64) / k as i64).max(gap);
            triads.push(Triad {
                k,
                open,
                eligible,
                ideal,
            });
        }
        if solving {
            // The most basic rule first: the window for every triad, then closures, then facilitators.
            let needs = |t: usize| {
                format!(
                    "triad {t} ({}) needs {} visits at least {gap} days apart",
                    input.triads[t].join(", "),
                    triads[t].k
                )
            };
            for (t, triad) in triads.iter().enumerate() {
                let in_window = fits(weekday_ok.iter().copied(), triad.k, gap);
                if in_window < triad.k {
                    return Err(Infeasible::new(
                        Rule::Window,
                        format!("{}, but the window's allowed weekdays fit only {in_window}", needs(t)),
                    ));
                }
            }
            for (t, triad) in triads.iter().enumerate() {
                let with_closures = fits(triad.open.iter().copied(), triad.k, gap);
                if with_closures < triad.k {
                    return Err(Infeasible::new(
                        Rule::Closures,
                        format!(
                            "{}, but its schools' closures leave room for only {with_closures}",
                            needs(t)
                        ),
                    ));
                }
            }
            for (t, triad) in triads.iter().enumerate() {
                if triad.eligible.is_empty() {
                    return Err(Infeasible::new(
                        Rule::Facilitators,
                        format!(
                            "{}, but no facilitator may serve it (weekly limits of 0 or local authority exclusions)",
                            needs(t)
                        ),
                    ));
                }
                let covered = fits(
                    (0..days).map(|d| triad.open[d] && triad.eligible.iter().any(|&f| facs[f as usize].avail[d])),
                    triad.k,
                    gap,
                );
                if covered < triad.k {
                    return Err(Infeasible::new(
                        Rule::Facilitators,
                        format!(
                            "{}, but the facilitators who may serve it are available for only {covered} of them",
                            needs(t)
                        ),
                    ));
                }
            }
            let needed: usize = triads.iter().map(|t| t.k).sum();
            let capacity: u64 = facs.iter().map(|f| u64::from(f.capacity)).sum();
            if (needed as u64) > capacity {
                return Err(Infeasible::new(
                    Rule::Facilitators,
                    format!(
                        "the triads need {needed} visits but the facilitators can make at most {capacity} in the window"
                    ),
                ));
            }
        }
        Ok(Model {
            input,
            start,
            days,
            week_of,
            weeks,
            gap,
            triads,
            facs,
            fac_index,
        })
    }

    fn date(&self, d: u32) -> NaiveDate {
        self.start + chrono::Duration::days(i64::from(d))
    }
}

/// Who is where: each facilitator's days and weekly counts, and each triad's visits.
#[derive(Clone)]
struct Occupancy {
    /// `busy[f][d]`: the triad facilitator `f` is with on day `d`, or `NONE`.
    busy: Vec<Vec<u32>>,
    week: Vec<Vec<u32>>,
    load: Vec<u32>,
    /// Each triad's visits as (day, facilitator), sorted by day; empty when not placed.
    plan: Vec<Vec<(u32, u32)>>,
}

impl Occupancy {
    fn new(m: &Model) -> Self {
        Occupancy {
            busy: vec![vec![NONE; m.days]; m.facs.len()],
            week: vec![vec![0; m.weeks]; m.facs.len()],
            load: vec![0; m.facs.len()],
            plan: vec![Vec::new(); m.triads.len()],
        }
    }

    fn free(&self, m: &Model, f: u32, d: usize) -> bool {
        let fi = f as usize;
        m.facs[fi].avail[d] && self.busy[fi][d] == NONE && self.week[fi][m.week_of[d] as usize] < m.facs[fi].max_week
    }

    fn add(&mut self, m: &Model, t: usize, d: u32, f: u32) {
        let (fi, di) = (f as usize, d as usize);
        self.busy[fi][di] = t as u32;
        self.week[fi][m.week_of[di] as usize] += 1;
        self.load[fi] += 1;
        self.plan[t].push((d, f));
        self.plan[t].sort_unstable();
    }

    fn remove_visit(&mut self, m: &Model, t: usize, x: usize) -> (u32, u32) {
        let (d, f) = self.plan[t].remove(x);
        let (fi, di) = (f as usize, d as usize);
        self.busy[fi][di] = NONE;
        self.week[fi][m.week_of[di] as usize] -= 1;
        self.load[fi] -= 1;
        (d, f)
    }

    fn unplace(&mut self, m: &Model, t: usize) {
        while !self.plan[t].is_empty() {
            self.remove_visit(m, t, 0);
        }
    }

    fn spread(&self, m: &Model, t: usize) -> u64 {
        let ideal = m.triads[t].ideal;
        self.plan[t]
            .windows(2)
            .map(|w| (ideal - (i64::from(w[1].0) - i64::from(w[0].0))).max(0) as u64)
            .sum()
    }

    fn changes(&self, t: usize) -> u64 {
        let mut fs: Vec<u32> = self.plan[t].iter().map(|&(_, f)| f).collect();
        fs.sort_unstable();
        fs.dedup();
        fs.len().saturating_sub(1) as u64
    }

    fn workload(&self, m: &Model) -> u64 {
        let loads = (0..m.facs.len())
            .filter(|&f| m.facs[f].capacity > 0)
            .map(|f| self.load[f]);
        let (lo, hi) = loads.fold((u32::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
        u64::from(hi.saturating_sub(lo.min(hi)))
    }

    fn triad_penalty(&self, m: &Model, t: usize) -> u64 {
        self.spread(m, t) + CHANGE_WEIGHT * self.changes(t)
    }

    fn penalties(&self, m: &Model) -> Penalties {
        let spread = (0..m.triads.len()).map(|t| self.spread(m, t)).sum();
        let facilitator_changes = (0..m.triads.len()).map(|t| self.changes(t)).sum();
        let workload_spread = self.workload(m);
        Penalties {
            spread,
            facilitator_changes,
            workload_spread,
            total: spread + CHANGE_WEIGHT * facilitator_changes + WORKLOAD_WEIGHT * workload_spread,
        }
    }
}

const COST_CHANGE: i64 = 20 * 16;
const COST_EVICT: i64 = 4000 * 16;
const INF: i64 = i64::MAX / 4;

struct Scheduler<'a> {
    m: &'a Model<'a>,
    /// Each triad's own facilitator, chosen first.
    main: Vec<Option<u32>>,
}

impl Scheduler<'_> {
    /// Chooses each triad's facilitator: most constrained triads first, each to the eligible
    /// facilitator with the lowest share of capacity promised so far.
    fn assign_facilitators(m: &Model, rng: &mut ChaCha8Rng) -> Vec<Option<u32>> {
        let mut order: Vec<usize> = (0..m.triads.len()).collect();
        let open_count: Vec<usize> = m.triads.iter().map(|t| t.open.iter().filter(|&&o| o).count()).collect();
        let noise: Vec<u64> = order.iter().map(|_| rng.random()).collect();
        order.sort_by_key(|&t| (m.triads[t].eligible.len(), open_count[t], noise[t]));
        let mut promised = vec![0u64; m.facs.len()];
        let mut main = vec![None; m.triads.len()];
        for t in order {
            let triad = &m.triads[t];
            let best = triad
                .eligible
                .iter()
                .copied()
                .filter(|&f| {
                    let fac = &m.facs[f as usize];
                    fac.capacity > 0
                        && fits((0..m.days).map(|d| triad.open[d] && fac.avail[d]), triad.k, m.gap) >= triad.k
                })
                .min_by(|&a, &b| {
                    let (fa, fb) = (&m.facs[a as usize], &m.facs[b as usize]);
                    // Compare (promised + k) / capacity without division.
                    let la = (promised[a as usize] + triad.k as u64) * u64::from(fb.capacity);
                    let lb = (promised[b as usize] + triad.k as u64) * u64::from(fa.capacity);
                    la.cmp(&lb).then(a.cmp(&b))
                });
            if let Some(f) = best {
                promised[f as usize] += triad.k as u64;
                main[t] = Some(f);
            }
        }
        main
    }

    /// Places triad `t`'s visits on the cheapest days. With `evict`, days where every eligible
    /// facilitator is taken may be used by unplacing the triads in the way, which are added to
    /// `evicted` (even when `t` still does not fit); without, such days are not used. Returns
    /// whether `t` was placed.
    fn place(
        &self,
        occ: &mut Occupancy,
        t: usize,
        evict: bool,
        evicted: &mut Vec<usize>,
        rng: &mut ChaCha8Rng,
    ) -> bool {
        let m = self.m;
        let triad = &m.triads[t];
        let (days, k, gap, ideal) = (m.days, triad.k, m.gap, triad.ideal);
        let cost: Vec<i64> = (0..days)
            .map(|d| {
                if !triad.open[d] {
                    return INF;
                }
                let noise = rng.random_range(0..48);
                if self.main[t].is_some_and(|f| occ.free(m, f, d)) {
                    noise
                } else if triad.eligible.iter().any(|&f| occ.free(m, f, d)) {
                    COST_CHANGE + noise
                } else if evict && triad.eligible.iter().any(|&f| m.facs[f as usize].avail[d]) {
                    COST_EVICT + rng.random_range(0..COST_EVICT / 4)
                } else {
                    INF
                }
            })
            .collect();
        // dp[i][d]: the cheapest placement of visits 0..=i with visit i on day d.
        let mut dp = vec![vec![INF; days]; k];
        let mut prev = vec![vec![NONE; days]; k];
        dp[0].clone_from(&cost);
        for i in 1..k {
            // prefix[d]: the cheapest dp[i-1][d'] for d' <= d, and where.
            let mut prefix = Vec::with_capacity(days);
            let mut best = (INF, NONE);
            for (d, &c) in dp[i - 1].iter().enumerate() {
                if c < best.0 {
                    best = (c, d as u32);
                }
                prefix.push(best);
            }
            for d in 0..days {
                if cost[d] >= INF {
                    continue;
                }
                let di = d as i64;
                let mut here = (INF, NONE);
                if di - ideal >= 0 {
                    here = prefix[(di - ideal) as usize];
                }
                let lo = (di - ideal + 1).max(0);
                for dp_day in lo..=di - gap {
                    let c = dp[i - 1][dp_day as usize];
                    if c >= INF {
                        continue;
                    }
                    let c = c + 16 * (ideal - (di - dp_day));
                    if c < here.0 {
                        here = (c, dp_day as u32);
                    }
                }
                if here.0 < INF {
                    dp[i][d] = here.0 + cost[d];
                    prev[i][d] = here.1;
                }
            }
        }
        let (mut total, mut last) = (INF, NONE);
        for (d, &c) in dp[k - 1].iter().enumerate() {
            if c < total {
                total = c;
                last = d as u32;
            }
        }
        if total >= INF {
            return false;
        }
        let mut chosen = vec![0u32; k];
        let mut d = last;
        for i in (0..k).rev() {
            chosen[i] = d;
            d = prev[i][d as usize];
        }
        for &d in &chosen {
            let di = d as usize;
            let f = self.main[t].filter(|&f| occ.free(m, f, di)).or_else(|| {
                triad
                    .eligible
                    .iter()
                    .copied()
                    .filter(|&f| occ.free(m, f, di))
                    .min_by_key(|&f| (occ.load[f as usize], f))
            });
            let f = match f {
                Some(f) => f,
                None if evict => match self.make_room(occ, t, di, evicted, rng) {
                    Some(f) => f,
                    None => {
                        occ.unplace(m, t);
                        return false;
                    }
                },
                None => {
                    occ.unplace(m, t);
                    return false;
                }
            };
            occ.add(m, t, d, f);
        }
        true
    }

    /// Frees an eligible facilitator of triad `t` on day `d` by unplacing the triads in the way
    /// (never `t` itself), which are added to `out`; returns the facilitator if it is now free.
    fn make_room(
        &self,
        occ: &mut Occupancy,
        t: usize,
        d: usize,
        out: &mut Vec<usize>,
        rng: &mut ChaCha8Rng,
    ) -> Option<u32> {
        let m = self.m;
        let w = m.week_of[d];
        let candidates: Vec<u32> = m.triads[t]
            .eligible
            .iter()
            .copied()
            .filter(|&f| {
                let fi = f as usize;
                if !m.facs[fi].avail[d] || occ.busy[fi][d] == t as u32 {
                    return false;
                }
                // The week must have a visit of another triad to give up, if it is full.
                occ.week[fi][w as usize] < m.facs[fi].max_week
                    || (0..m.days).any(|x| m.week_of[x] == w && occ.busy[fi][x] != NONE && occ.busy[fi][x] != t as u32)
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let f = if self.main[t].is_some_and(|f| candidates.contains(&f)) && rng.random_bool(0.5) {
            self.main[t].unwrap_or(candidates[0])
        } else {
            candidates[rng.random_range(0..candidates.len())]
        };
        let fi = f as usize;
        if occ.busy[fi][d] != NONE {
            let u = occ.busy[fi][d] as usize;
            occ.unplace(m, u);
            out.push(u);
        }
        if occ.week[fi][w as usize] >= m.facs[fi].max_week {
            let in_week: Vec<usize> = (0..m.days)
                .filter(|&x| m.week_of[x] == w && occ.busy[fi][x] != NONE && occ.busy[fi][x] != t as u32)
                .map(|x| occ.busy[fi][x] as usize)
                .collect();
            if in_week.is_empty() {
                return None;
            }
            let u = in_week[rng.random_range(0..in_week.len())];
            occ.unplace(m, u);
            out.push(u);
        }
        occ.free(m, f, d).then_some(f)
    }

    /// One random improving (or equal) move: a visit to another day or facilitator, or a triad
    /// to another facilitator. Returns whether it was taken.
    fn improve_step(&self, occ: &mut Occupancy, workload: &mut u64, rng: &mut ChaCha8Rng) -> bool {
        let m = self.m;
        let t = rng.random_range(0..m.triads.len());
        let triad = &m.triads[t];
        if occ.plan[t].is_empty() || triad.eligible.is_empty() {
            return false;
        }
        let before = occ.triad_penalty(m, t) + WORKLOAD_WEIGHT * *workload;
        let saved = occ.plan[t].clone();
        let kind = rng.random_range(0..4u32);
        if kind == 0 {
            // The whole triad to one facilitator.
            let f = triad.eligible[rng.random_range(0..triad.eligible.len())];
            occ.unplace(m, t);
            if saved.iter().all(|&(d, _)| occ.free(m, f, d as usize)) {
                let mut ok = true;
                for &(d, _) in &saved {
                    if occ.free(m, f, d as usize) {
                        occ.add(m, t, d, f);
                    } else {
                        ok = false;
                        break;
                    }
                }
                if ok {
                    let w = occ.workload(m);
                    if occ.triad_penalty(m, t) + WORKLOAD_WEIGHT * w <= before {
                        *workload = w;
                        return true;
                    }
                }
                occ.unplace(m, t);
            }
            for &(d, f) in &saved {
                occ.add(m, t, d, f);
            }
            return false;
        }
        let x = rng.random_range(0..saved.len());
        let (d0, f0) = occ.remove_visit(m, t, x);
        let (d, f) = if kind == 1 {
            (d0, triad.eligible[rng.random_range(0..triad.eligible.len())])
        } else {
            let d = rng.random_range(0..m.days) as u32;
            let f = if kind == 2 {
                f0
            } else {
                triad.eligible[rng.random_range(0..triad.eligible.len())]
            };
            (d, f)
        };
        let di = d as usize;
        let spaced = occ.plan[t]
            .iter()
            .all(|&(other, _)| (i64::from(other) - i64::from(d)).abs() >= m.gap);
        if triad.open[di] && spaced && occ.free(m, f, di) && (d, f) != (d0, f0) {
            occ.add(m, t, d, f);
            let w = if f == f0 { *workload } else { occ.workload(m) };
            if occ.triad_penalty(m, t) + WORKLOAD_WEIGHT * w <= before {
                *workload = w;
                return true;
            }
            let at = occ.plan[t].iter().position(|&v| v == (d, f)).unwrap_or(0);
            occ.remove_visit(m, t, at);
        }
        occ.add(m, t, d0, f0);
        false
    }
}

/// The default iteration budget: repairs and improving moves, a few hundred per visit.
pub fn default_iterations(visits: usize) -> u64 {
    20_000 + 200 * visits as u64
}

/// Schedules every triad's visits, keeping every hard rule, or says which rule makes that
/// impossible.
pub fn schedule(input: &VisitsInput, params: &SolveParams) -> Result<Scheduled, Infeasible> {
    let m = Model::new(input, true)?;
    let started = Instant::now();
    let deadline = params.time_limit.map(|t| started + t);
    let visits: usize = m.triads.iter().map(|t| t.k).sum();
    let budget = params.max_iterations.unwrap_or_else(|| default_iterations(visits));
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let main = Scheduler::assign_facilitators(&m, &mut rng);
    let scheduler = Scheduler { m: &m, main };
    let mut occ = Occupancy::new(&m);
    let open_count: Vec<usize> = m
        .triads
        .iter()
        .enumerate()
        .map(|(t, triad)| {
            (0..m.days)
                .filter(|&d| triad.open[d] && scheduler.main[t].is_none_or(|f| m.facs[f as usize].avail[d]))
                .count()
        })
        .collect();
    let mut order: Vec<usize> = (0..m.triads.len()).collect();
    order.sort_by_key(|&t| (open_count[t], m.triads[t].eligible.len(), t));
    let mut queue = VecDeque::new();
    let mut iterations = 0u64;
    let mut evicted = Vec::new();
    for t in order {
        iterations += 1;
        if !scheduler.place(&mut occ, t, false, &mut evicted, &mut rng) {
            queue.push_back(t);
        }
    }
    while let Some(t) = queue.pop_front() {
        iterations += 1;
        let out_of_time = iterations.is_multiple_of(64) && deadline.is_some_and(|d| Instant::now() >= d);
        if iterations > budget || out_of_time {
            let names = input.triads[t].join(", ");
            return Err(Infeasible::new(
                Rule::Facilitators,
                format!(
                    "no schedule was found for triad {t} ({names}) within the {} with the facilitators' availability and weekly limits ({} visits needed, at most {} possible)",
                    if out_of_time { "time limit" } else { "iteration budget" },
                    visits,
                    m.facs.iter().map(|f| u64::from(f.capacity)).sum::<u64>()
                ),
            ));
        }
        if occ.plan[t].is_empty() {
            if !scheduler.place(&mut occ, t, true, &mut evicted, &mut rng) {
                queue.push_back(t);
            }
            queue.extend(evicted.drain(..));
        }
    }
    if let Some(t) = (0..m.triads.len()).find(|&t| occ.plan[t].len() != m.triads[t].k) {
        return Err(Infeasible::new(
            Rule::Facilitators,
            format!("no schedule was found for triad {t} ({})", input.triads[t].join(", ")),
        ));
    }
    let mut workload = occ.workload(&m);
    while iterations < budget {
        if iterations.is_multiple_of(1024) && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        iterations += 1;
        scheduler.improve_step(&mut occ, &mut workload, &mut rng);
    }
    let visits = to_visits(&m, &occ);
    let explanations = explain(&m, &occ);
    Ok(Scheduled {
        visits,
        penalties: occ.penalties(&m),
        explanations,
        iterations,
    })
}

fn to_visits(m: &Model, occ: &Occupancy) -> Vec<Visit> {
    let mut visits = Vec::new();
    for (t, plan) in occ.plan.iter().enumerate() {
        for (x, &(d, f)) in plan.iter().enumerate() {
            visits.push(Visit {
                triad: t,
                host: m.input.triads[t][x].clone(),
                date: m.date(d),
                facilitator: m.input.facilitators[f as usize].id.clone(),
            });
        }
    }
    visits
}

fn explain(m: &Model, occ: &Occupancy) -> Vec<TriadSchedule> {
    (0..m.triads.len())
        .map(|t| {
            let plan = &occ.plan[t];
            let mut counts: Vec<(u32, usize)> = Vec::new();
            for &(_, f) in plan {
                match counts.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((f, 1)),
                }
            }
            counts.sort_by_key(|&(f, c)| (std::cmp::Reverse(c), f));
            TriadSchedule {
                triad: t,
                schools: m.input.triads[t].clone(),
                dates: plan.iter().map(|&(d, _)| m.date(d)).collect(),
                facilitators: counts
                    .iter()
                    .map(|&(f, _)| m.input.facilitators[f as usize].id.clone())
                    .collect(),
                open_days: m.triads[t].open.iter().filter(|&&o| o).count(),
                gaps: plan.windows(2).map(|w| i64::from(w[1].0) - i64::from(w[0].0)).collect(),
                ideal_gap: m.triads[t].ideal,
                spread_penalty: occ.spread(m, t),
            }
        })
        .collect()
}

/// Checks a list of visits against every hard rule and returns its penalties, or the first rule
/// it breaks.
pub fn check_visits(input: &VisitsInput, visits: &[Visit]) -> Result<Penalties, Infeasible> {
    let m = Model::new(input, false)?;
    let mut occ = Occupancy::new(&m);
    let mut hosted: Vec<Vec<bool>> = input.triads.iter().map(|t| vec![false; t.len()]).collect();
    let excluded: Vec<HashSet<String>> = input
        .facilitators
        .iter()
        .map(|f| f.excluded_local_authorities.iter().map(|l| norm(l)).collect())
        .collect();
    for v in visits {
        let what = format!("the visit of triad {} at {} on {}", v.triad, v.host, v.date);
        let Some(members) = input.triads.get(v.triad) else {
            return Err(Infeasible::new(Rule::Triads, format!("{what}: there is no such triad")));
        };
        let Some(x) = members.iter().position(|s| *s == v.host) else {
            return Err(Infeasible::new(
                Rule::Triads,
                format!("{what}: {} is not in the triad", v.host),
            ));
        };
        if std::mem::replace(&mut hosted[v.triad][x], true) {
            return Err(Infeasible::new(Rule::Triads, format!("{what}: {} hosts twice", v.host)));
        }
        let d = (v.date - m.start).num_days();
        if !(0..m.days as i64).contains(&d) {
            return Err(Infeasible::new(
                Rule::Window,
                format!("{what}: the day is outside the window"),
            ));
        }
        let d = d as usize;
        if !input
            .weekdays
            .iter()
            .filter_map(|w| weekday(w))
            .any(|w| w == v.date.weekday().num_days_from_monday())
        {
            return Err(Infeasible::new(
                Rule::Weekdays,
                format!("{what}: not an allowed weekday"),
            ));
        }
        if let Some(closed) = members
            .iter()
            .find(|s| input.closures.get(*s).is_some_and(|c| c.contains(&v.date)))
        {
            return Err(Infeasible::new(Rule::Closures, format!("{what}: {closed} is closed")));
        }
        let Some(&f) = m.fac_index.get(v.facilitator.as_str()) else {
            return Err(Infeasible::new(
                Rule::Facilitators,
                format!("{what}: no facilitator {}", v.facilitator),
            ));
        };
        let fi = f as usize;
        if !m.facs[fi].avail[d] {
            return Err(Infeasible::new(
                Rule::Facilitators,
                format!("{what}: {} is not available", v.facilitator),
            ));
        }
        if let Some(s) = members.iter().find(|s| {
            input
                .local_authorities
                .get(*s)
                .is_some_and(|la| excluded[fi].contains(&norm(la)))
        }) {
            return Err(Infeasible::new(
                Rule::Facilitators,
                format!("{what}: {} may not serve {s}'s local authority", v.facilitator),
            ));
        }
        if occ.busy[fi][d] != NONE {
            return Err(Infeasible::new(
                Rule::Facilitators,
                format!("{what}: {} already has a visit that day", v.facilitator),
            ));
        }
        if occ.week[fi][m.week_of[d] as usize] >= m.facs[fi].max_week {
            return Err(Infeasible::new(
                Rule::Facilitators,
                format!(
                    "{what}: {} would make more than {} visits that week",
                    v.facilitator, m.facs[fi].max_week
                ),
            ));
        }
        occ.add(&m, v.triad, d as u32, f);
    }
    for (t, plan) in occ.plan.iter().enumerate() {
        if let Some(w) = plan.windows(2).find(|w| i64::from(w[1].0) - i64::from(w[0].0) < m.gap) {
            return Err(Infeasible::new(
                Rule::MinDaysBetweenVisits,
                format!(
                    "triad {t} has visits on {} and {}, fewer than {} days apart",
                    m.date(w[0].0),
                    m.date(w[1].0),
                    m.gap
                ),
            ));
        }
        if let Some(x) = hosted[t].iter().position(|h| !h) {
            return Err(Infeasible::new(
                Rule::Triads,
                format!("{} of triad {t} hosts no visit", input.triads[t][x]),
            ));
        }
    }
    Ok(occ.penalties(&m))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, d).unwrap()
    }

    fn facilitator(id: &str, per_week: u32) -> Facilitator {
        Facilitator {
            id: id.to_owned(),
            available: None,
            max_visits_per_week: per_week,
            excluded_local_authorities: Vec::new(),
        }
    }

    /// `triads` triads of three, a window of `weeks` weeks from Monday 11 January 2027, and
    /// `facilitators` facilitators making up to 3 visits a week.
    fn simple(triads: usize, weeks: i64, facilitators: usize) -> VisitsInput {
        VisitsInput {
            triads: (0..triads)
                .map(|t| (0..3).map(|k| format!("t{t}s{k}")).collect())
                .collect(),
            window: Window {
                start: day(1, 11),
                end: day(1, 11) + Duration::days(7 * weeks - 3),
            },
            weekdays: default_weekdays(),
            min_days_between_visits: 7,
            closures: BTreeMap::new(),
            facilitators: (0..facilitators).map(|f| facilitator(&format!("f{f}"), 3)).collect(),
            local_authorities: BTreeMap::new(),
        }
    }

    fn quick() -> SolveParams {
        SolveParams {
            seed: 3,
            max_iterations: Some(20_000),
            time_limit: None,
        }
    }

    fn rule(result: Result<Scheduled, Infeasible>) -> Rule {
        match result {
            Ok(s) => panic!("expected infeasible, got {:?}", s.visits),
            Err(e) => e.rule,
        }
    }

    /// Every hard rule, checked from the input without the scheduler's code.
    fn assert_valid(input: &VisitsInput, scheduled: &Scheduled) {
        let allowed: Vec<u32> = input.weekdays.iter().filter_map(|w| weekday(w)).collect();
        let gap = input.min_days_between_visits.max(1);
        let mut hosts: HashSet<(usize, &str)> = HashSet::new();
        let mut fac_days: HashSet<(&str, NaiveDate)> = HashSet::new();
        let mut fac_weeks: HashMap<(&str, chrono::IsoWeek), u32> = HashMap::new();
        for v in &scheduled.visits {
            let members = &input.triads[v.triad];
            assert!(members.contains(&v.host), "{v:?}: host not in triad");
            assert!(hosts.insert((v.triad, &v.host)), "{v:?}: hosts twice");
            assert!(
                v.date >= input.window.start && v.date <= input.window.end,
                "{v:?}: outside the window"
            );
            assert!(
                allowed.contains(&v.date.weekday().num_days_from_monday()),
                "{v:?}: weekday"
            );
            for m in members {
                assert!(
                    !input.closures.get(m).is_some_and(|c| c.contains(&v.date)),
                    "{v:?}: {m} is closed"
                );
            }
            let f = input.facilitators.iter().find(|f| f.id == v.facilitator).unwrap();
            assert!(
                f.available.as_ref().is_none_or(|a| a.contains(&v.date)),
                "{v:?}: unavailable"
            );
            for m in members {
                if let Some(la) = input.local_authorities.get(m) {
                    assert!(
                        !f.excluded_local_authorities.iter().any(|x| norm(x) == norm(la)),
                        "{v:?}: {} may not serve {la}",
                        f.id
                    );
                }
            }
            assert!(fac_days.insert((&f.id, v.date)), "{v:?}: two visits in a day");
            let week = fac_weeks.entry((&f.id, v.date.iso_week())).or_default();
            *week += 1;
            assert!(*week <= f.max_visits_per_week, "{v:?}: weekly limit");
        }
        for (t, members) in input.triads.iter().enumerate() {
            for m in members {
                assert!(hosts.contains(&(t, m.as_str())), "{m} of triad {t} hosts no visit");
            }
            let mut dates: Vec<NaiveDate> = scheduled
                .visits
                .iter()
                .filter(|v| v.triad == t)
                .map(|v| v.date)
                .collect();
            dates.sort_unstable();
            for w in dates.windows(2) {
                assert!(
                    (w[1] - w[0]).num_days() >= gap,
                    "triad {t}: {} and {} too close",
                    w[0],
                    w[1]
                );
            }
        }
        assert_eq!(check_visits(input, &scheduled.visits), Ok(scheduled.penalties));
        assert_eq!(scheduled.explanations.len(), input.triads.len());
    }

    #[test]
    fn a_term_of_visits_keeps_every_rule_and_is_spread_out() {
        let input = simple(10, 12, 4);
        let scheduled = schedule(&input, &quick()).unwrap();
        assert_valid(&input, &scheduled);
        assert_eq!(scheduled.visits.len(), 30);
        // Plenty of room: one facilitator per triad, visits about four weeks apart.
        assert_eq!(scheduled.penalties.facilitator_changes, 0);
        for e in &scheduled.explanations {
            assert!(e.gaps.iter().all(|&g| g >= 21), "{e:?}");
        }
    }

    #[test]
    fn a_window_too_short_for_the_gaps_is_named() {
        // Two weeks hold at most two visits seven days apart; a triad needs three.
        assert_eq!(rule(schedule(&simple(1, 2, 1), &quick())), Rule::Window);
        let mut backwards = simple(1, 2, 1);
        backwards.window.end = backwards.window.start - Duration::days(1);
        assert_eq!(rule(schedule(&backwards, &quick())), Rule::Window);
    }

    #[test]
    fn closures_that_leave_no_room_are_named() {
        let mut input = simple(1, 3, 1);
        // Three weeks fit three visits only if each week has an open day: close all of week two
        // at one school and all of week three at another.
        input
            .closures
            .insert("t0s0".into(), (18..=22).map(|d| day(1, d)).collect());
        input
            .closures
            .insert("t0s2".into(), (25..=29).map(|d| day(1, d)).collect());
        assert_eq!(rule(schedule(&input, &quick())), Rule::Closures);
        input.closures.remove("t0s2");
        input.window.end = day(2, 5);
        assert_valid(&input, &schedule(&input, &quick()).unwrap());
    }

    #[test]
    fn facilitators_who_cannot_cover_are_named() {
        // One facilitator, one visit a week, two triads of three in four weeks.
        let mut input = simple(2, 4, 1);
        input.facilitators[0].max_visits_per_week = 1;
        assert_eq!(rule(schedule(&input, &quick())), Rule::Facilitators);
        // Excluded from a member's local authority.
        let mut input = simple(1, 6, 1);
        input.local_authorities.insert("t0s1".into(), "Camden".into());
        input.facilitators[0].excluded_local_authorities = vec![" camden".into()];
        assert_eq!(rule(schedule(&input, &quick())), Rule::Facilitators);
        // Available on two days only.
        let mut input = simple(1, 6, 1);
        input.facilitators[0].available = Some(vec![day(1, 12), day(1, 26)]);
        assert_eq!(rule(schedule(&input, &quick())), Rule::Facilitators);
        // No facilitators at all.
        let mut input = simple(1, 6, 1);
        input.facilitators.clear();
        assert_eq!(rule(schedule(&input, &quick())), Rule::Facilitators);
    }

    #[test]
    fn bad_input_is_named() {
        let mut input = simple(1, 6, 1);
        input.weekdays = vec!["mon".into(), "funday".into()];
        assert_eq!(rule(schedule(&input, &quick())), Rule::Weekdays);
        input.weekdays.clear();
        assert_eq!(rule(schedule(&input, &quick())), Rule::Weekdays);
        let mut input = simple(1, 6, 1);
        input.triads[0][1] = "t0s0".into();
        assert_eq!(rule(schedule(&input, &quick())), Rule::DuplicateSchool);
        let mut input = simple(1, 6, 1);
        input.triads.push(Vec::new());
        assert_eq!(rule(schedule(&input, &quick())), Rule::Triads);
    }

    #[test]
    fn tight_facilitators_are_shared_and_every_rule_holds() {
        // Ten triads of three in six weeks with two facilitators at three a week: 30 of 36 slots.
        let input = simple(10, 6, 2);
        let scheduled = schedule(&input, &SolveParams::default()).unwrap();
        assert_valid(&input, &scheduled);
    }

    #[test]
    fn check_visits_names_the_rule_a_visit_breaks() {
        let mut input = simple(1, 6, 2);
        input.closures.insert("t0s1".into(), vec![day(1, 13)]);
        input.facilitators[1].available = Some(vec![day(1, 11)]);
        let visit = |host: &str, date: NaiveDate, f: &str| Visit {
            triad: 0,
            host: host.into(),
            date,
            facilitator: f.into(),
        };
        let good = vec![
            visit("t0s0", day(1, 11), "f0"),
            visit("t0s1", day(1, 18), "f0"),
            visit("t0s2", day(1, 25), "f0"),
        ];
        assert!(check_visits(&input, &good).is_ok());
        let mut cases: Vec<(Vec<Visit>, Rule)> = Vec::new();
        let mut v = good.clone();
        v[1].date = day(1, 13);
        cases.push((v, Rule::Closures));
        let mut v = good.clone();
        v[1].date = day(1, 16);
        cases.push((v, Rule::Weekdays));
        let mut v = good.clone();
        v[1].date = day(1, 14);
        cases.push((v, Rule::MinDaysBetweenVisits));
        let mut v = good.clone();
        v[2].date = day(6, 1);
        cases.push((v, Rule::Window));
        let mut v = good.clone();
        v[1].facilitator = "f1".into();
        cases.push((v, Rule::Facilitators));
        let mut v = good.clone();
        v[2].host = "t0s0".into();
        cases.push((v, Rule::Triads));
        let mut v = good.clone();
        v.pop();
        cases.push((v, Rule::Triads));
        for (visits, expected) in cases {
            assert_eq!(
                check_visits(&input, &visits).map_err(|e| e.rule),
                Err(expected),
                "{visits:?}"
            );
        }
        // Two triads, one facilitator, same day; and a weekly limit of one.
        let mut two = simple(2, 6, 1);
        let clash = vec![
            visit("t0s0", day(1, 11), "f0"),
            visit("t0s1", day(1, 18), "f0"),
            visit("t0s2", day(1, 25), "f0"),
            Visit {
                triad: 1,
                ..visit("t1s0", day(1, 11), "f0")
            },
            Visit {
                triad: 1,
                ..visit("t1s1", day(1, 19), "f0")
            },
            Visit {
                triad: 1,
                ..visit("t1s2", day(1, 26), "f0")
            },
        ];
        assert_eq!(check_visits(&two, &clash).map_err(|e| e.rule), Err(Rule::Facilitators));
        two.facilitators[0].max_visits_per_week = 1;
        let mut weekly = clash.clone();
        weekly[3].date = day(1, 12);
        assert_eq!(check_visits(&two, &weekly).map_err(|e| e.rule), Err(Rule::Facilitators));
    }

    #[test]
    fn the_issue_example_parses_with_defaults() {
        let input: VisitsInput = serde_json::from_str(
            r#"{"triads": [["s1","s7","s9"]], "window": {"start": "2027-01-11", "end": "2027-03-26"},
                "closures": {"s1": ["2027-02-15"]},
                "facilitators": [{"id": "f1", "available": null, "max_visits_per_week": 3}]}"#,
        )
        .unwrap();
        assert_eq!(input.weekdays, default_weekdays());
        assert_eq!(input.min_days_between_visits, 7);
        let scheduled = schedule(&input, &quick()).unwrap();
        assert_valid(&input, &scheduled);
        let json = serde_json::to_value(&scheduled.visits[0]).unwrap();
        assert_eq!(json["triad"], 0);
        assert!(json["date"].as_str().unwrap().starts_with("2027-"));
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let cohort = crate::solver::generate::cohort(90, 5);
        let groups = crate::solver::forming::form(
            &cohort,
            &SolveParams {
                max_iterations: Some(30_000),
                ..SolveParams::default()
            },
        )
        .unwrap()
        .groups;
        let input = crate::solver::generate::visits(&cohort, &groups, 5);
        let params = SolveParams {
            seed: 9,
            ..SolveParams::default()
        };
        let first = schedule(&input, &params).unwrap();
        assert_eq!(schedule(&input, &params).unwrap(), first);
        assert_valid(&input, &first);
    }

    /// A random instance: triads of three or four, a window of a few weeks, random closures,
    /// weekdays, gaps and facilitators (some with few days, low limits or exclusions).
    fn random_input(seed: u64, triads: usize, weeks: i64, facilitators: usize) -> VisitsInput {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let las = ["Camden", "Hackney", "Islington", "Lambeth"];
        let mut input = simple(0, weeks, 0);
        let days = (input.window.end - input.window.start).num_days() + 1;
        for t in 0..triads {
            let size = rng.random_range(3..=4);
            let members: Vec<String> = (0..size).map(|k| format!("t{t}s{k}")).collect();
            for m in &members {
                input
                    .local_authorities
                    .insert(m.clone(), las[rng.random_range(0..las.len())].into());
                let closed: Vec<NaiveDate> = (0..rng.random_range(0..4))
                    .map(|_| input.window.start + Duration::days(rng.random_range(0..days)))
                    .collect();
                input.closures.insert(m.clone(), closed);
            }
            input.triads.push(members);
        }
        if rng.random_bool(0.3) {
            input.weekdays = vec!["Tue".into(), "wednesday".into(), "thu".into()];
        }
        input.min_days_between_visits = rng.random_range(0..=10);
        for f in 0..facilitators {
            let mut fac = facilitator(&format!("f{f}"), rng.random_range(1..=3));
            if rng.random_bool(0.3) {
                fac.available = Some(
                    (0..days)
                        .filter(|_| rng.random_bool(0.6))
                        .map(|d| input.window.start + Duration::days(d))
                        .collect(),
                );
            }
            if rng.random_bool(0.3) {
                fac.excluded_local_authorities = vec![las[rng.random_range(0..las.len())].into()];
            }
            input.facilitators.push(fac);
        }
        input
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any instance: a schedule keeps every hard rule; an infeasible one names a rule that
        /// really cannot be kept when counting alone shows it.
        #[test]
        fn schedules_keep_every_hard_rule(
            seed in any::<u64>(),
            triads in 1usize..25,
            weeks in 1i64..12,
            facilitators in 1usize..8,
        ) {
            let input = random_input(seed, triads, weeks, facilitators);
            match schedule(&input, &SolveParams { seed, max_iterations: Some(30_000), time_limit: None }) {
                Ok(scheduled) => assert_valid(&input, &scheduled),
                Err(e) => {
                    // A window that cannot hold the biggest triad's visits must be named as such.
                    let allowed: Vec<u32> = input.weekdays.iter().filter_map(|w| weekday(w)).collect();
                    let gap = input.min_days_between_visits.max(1);
                    let mut fit = 0;
                    let mut last: Option<NaiveDate> = None;
                    let mut d = input.window.start;
                    while d <= input.window.end {
                        if allowed.contains(&d.weekday().num_days_from_monday())
                            && last.is_none_or(|l| (d - l).num_days() >= gap)
                        {
                            fit += 1;
                            last = Some(d);
                        }
                        d += Duration::days(1);
                    }
                    let biggest = input.triads.iter().map(Vec::len).max().unwrap_or(0);
                    if fit < biggest {
                        prop_assert_eq!(e.rule, Rule::Window);
                    } else {
                        prop_assert!(matches!(e.rule, Rule::Window | Rule::Closures | Rule::Facilitators), "{}", e);
                    }
                }
            }
        }

        /// Roomy instances (many facilitators, a long window) always get a schedule.
        #[test]
        fn roomy_instances_are_always_scheduled(seed in any::<u64>(), triads in 1usize..30) {
            let mut input = random_input(seed, triads, 12, 0);
            input.min_days_between_visits = 7;
            input.weekdays = default_weekdays();
            input.facilitators = (0..triads.div_ceil(2) + 1).map(|f| facilitator(&format!("f{f}"), 3)).collect();
            let scheduled = schedule(&input, &SolveParams { seed, max_iterations: Some(30_000), time_limit: None });
            prop_assert!(scheduled.is_ok(), "{:?}", scheduled.err());
            assert_valid(&input, &scheduled.unwrap());
        }
    }
}
