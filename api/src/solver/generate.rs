//! Seeded instances for tests and benchmarks: a cohort of schools over twelve local authorities
//! of uneven size, mostly primary and secondary, each with 2–4 strengths and 2–4 priorities
//! among twelve topics; and a term of visits for its triads, with closures and facilitators.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::forming::{FormingInput, FormingOptions, School};
use super::scheduling::{Facilitator, VisitsInput, Window};

/// The twelve topics schools are strong in or want to improve.
pub const TOPICS: [&str; 12] = [
    "reading",
    "writing",
    "maths",
    "oracy",
    "send",
    "early years",
    "attendance",
    "behaviour",
    "curriculum",
    "assessment",
    "leadership",
    "science",
];

/// How often each topic is a strength, parallel to [`TOPICS`]: some are common, some rare.
const STRENGTH_WEIGHTS: [u32; 12] = [9, 5, 6, 4, 3, 7, 2, 6, 5, 3, 8, 4];
/// How often each topic is a priority, parallel to [`TOPICS`]: rare strengths are often wanted.
const PRIORITY_WEIGHTS: [u32; 12] = [4, 8, 9, 6, 8, 3, 9, 4, 5, 7, 3, 5];

/// The local authorities and their relative sizes (the largest under a sixth of a cohort).
const LOCAL_AUTHORITIES: [(&str, u32); 12] = [
    ("Camden", 14),
    ("Hackney", 12),
    ("Islington", 11),
    ("Lambeth", 10),
    ("Southwark", 9),
    ("Newham", 8),
    ("Barnet", 8),
    ("Croydon", 7),
    ("Ealing", 6),
    ("Enfield", 5),
    ("Haringey", 5),
    ("Lewisham", 4),
];

fn weighted(rng: &mut ChaCha8Rng, weights: &[u32], taken: &[usize]) -> usize {
    let total: u32 = weights
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(i))
        .map(|(_, w)| w)
        .sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if taken.contains(&i) {
            continue;
        }
        if pick < w {
            return i;
        }
        pick -= w;
    }
    (0..weights.len()).find(|i| !taken.contains(i)).unwrap_or(0)
}

/// `count` distinct topics drawn by `weights`, none of them in `avoid`.
fn topics(rng: &mut ChaCha8Rng, weights: &[u32], count: usize, avoid: &[usize]) -> Vec<usize> {
    let mut taken = avoid.to_vec();
    let mut picked = Vec::new();
    while picked.len() < count && taken.len() < weights.len() {
        let t = weighted(rng, weights, &taken);
        taken.push(t);
        picked.push(t);
    }
    picked
}

/// A cohort of `n` schools (ids `s1`..`sn`) from `seed`, with mixed phases allowed and no pins.
/// No local authority has more schools than there are groups, so it is feasible for any `n`
/// that can be split (not 1, 2 or 5).
pub fn cohort(n: usize, seed: u64) -> FormingInput {
    let weights: Vec<u32> = LOCAL_AUTHORITIES.iter().map(|&(_, w)| w).collect();
    cohort_with(n, seed, &weights, &STRENGTH_WEIGHTS, &PRIORITY_WEIGHTS)
}

/// Local authorities' sizes for [`skewed_cohort`]: three big ones (the largest near a third of
/// the cohort, as many as there are groups), nine small.
const SKEWED_AUTHORITIES: [u32; 12] = [30, 20, 14, 6, 5, 5, 4, 4, 3, 3, 3, 3];
/// Topics for [`skewed_cohort`]: three common strengths, five rare ones, and priorities that
/// favour the rare strengths.
const SKEWED_STRENGTHS: [u32; 12] = [20, 3, 10, 1, 1, 14, 1, 6, 4, 2, 12, 1];
const SKEWED_PRIORITIES: [u32; 12] = [2, 9, 6, 8, 10, 2, 10, 3, 5, 8, 2, 9];

/// Like [`cohort`], with authorities and topics skewed harder: a few big authorities, common
/// and rare strengths, priorities that are mostly the rare ones.
pub fn skewed_cohort(n: usize, seed: u64) -> FormingInput {
    cohort_with(n, seed, &SKEWED_AUTHORITIES, &SKEWED_STRENGTHS, &SKEWED_PRIORITIES)
}

fn cohort_with(
    n: usize,
    seed: u64,
    weights: &[u32],
    strength_weights: &[u32; 12],
    priority_weights: &[u32; 12],
) -> FormingInput {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut la: Vec<usize> = (0..n).map(|_| weighted(&mut rng, weights, &[])).collect();
    // Keep every authority within the number of groups by moving schools to the smallest.
    let groups = (n / 3).max(1);
    loop {
        let mut counts = [0usize; 12];
        for &l in &la {
            counts[l] += 1;
        }
        let Some(big) = (0..12).find(|&l| counts[l] > groups) else {
            break;
        };
        let small = (0..12).min_by_key(|&l| (counts[l], l)).unwrap_or(0);
        if let Some(i) = la.iter().position(|&l| l == big) {
            la[i] = small;
        }
    }
    let schools = (0..n)
        .map(|i| {
            let roll = rng.random_range(0..100);
            let phase = match roll {
                0..70 => "primary",
                70..95 => "secondary",
                _ => "special",
            };
            let (s, p) = (rng.random_range(2..=4), rng.random_range(2..=4));
            let strengths = topics(&mut rng, strength_weights, s, &[]);
            let priorities = topics(&mut rng, priority_weights, p, &strengths);
            School {
                id: format!("s{}", i + 1),
                local_authority: LOCAL_AUTHORITIES[la[i]].0.to_owned(),
                phase: phase.to_owned(),
                strengths: strengths.iter().map(|&t| TOPICS[t].to_owned()).collect(),
                priorities: priorities.iter().map(|&t| TOPICS[t].to_owned()).collect(),
            }
        })
        .collect();
    FormingInput {
        schools,
        options: FormingOptions {
            allow_mixed_phase: true,
            ..FormingOptions::default()
        },
    }
}

/// A spring term of visits for `triads` of `cohort` from `seed`: twelve weeks from Monday
/// 11 January 2027 with a half-term week (15–19 February for most authorities, 22–26 February
/// for the rest), a few INSET days per school, weekly gaps of 7 days, and one facilitator per 30
/// schools (at least 4) making up to 3 visits a week, some available only three days a week and
/// some excluded from one authority.
pub fn visits(cohort: &FormingInput, triads: &[Vec<String>], seed: u64) -> VisitsInput {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(2027, m, d).unwrap_or_default();
    let start = day(1, 11);
    let end = day(4, 2);
    let late_half_term = ["Newham", "Croydon", "Enfield"];
    let mut closures = BTreeMap::new();
    let mut local_authorities = BTreeMap::new();
    for school in &cohort.schools {
        let half_term = if late_half_term.contains(&school.local_authority.as_str()) {
            day(2, 22)
        } else {
            day(2, 15)
        };
        let mut closed: Vec<NaiveDate> = (0..5).map(|k| half_term + chrono::Duration::days(k)).collect();
        for _ in 0..rng.random_range(0..=2) {
            closed.push(start + chrono::Duration::days(rng.random_range(0..82)));
        }
        closed.sort_unstable();
        closed.dedup();
        closures.insert(school.id.clone(), closed);
        local_authorities.insert(school.id.clone(), school.local_authority.clone());
    }
    let count = (cohort.schools.len() / 30).max(4);
    let facilitators = (0..count)
        .map(|f| {
            let available = (f % 7 == 3).then(|| {
                // Tuesday to Thursday only.
                (0..82)
                    .map(|k| start + chrono::Duration::days(k))
                    .filter(|d| {
                        use chrono::Datelike as _;
                        (1..=3).contains(&d.weekday().num_days_from_monday())
                    })
                    .collect()
            });
            let excluded_local_authorities = if f % 5 == 1 {
                vec![LOCAL_AUTHORITIES[rng.random_range(0..12)].0.to_owned()]
            } else {
                Vec::new()
            };
            Facilitator {
                id: format!("f{}", f + 1),
                available,
                max_visits_per_week: 3,
                excluded_local_authorities,
            }
        })
        .collect();
    VisitsInput {
        triads: triads.to_vec(),
        window: Window { start, end },
        weekdays: ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec(),
        min_days_between_visits: 7,
        closures,
        facilitators,
        local_authorities,
    }
}
