//! Triad solvers: forming on generated cohorts of 60, 300 and 600 schools, against our own long
//! runs from many seeds and Google OR-Tools CP-SAT (`tests/tools/cpsat_triads.py`, installed on
//! first use into a venv under the target folder) given 10 s and 60 s; then scheduling the
//! visits of 600 schools' triads, checked against every hard rule.
//!
//! First, the bound: the LP relaxation's against the simple one, on generated and skewed cohorts
//! of 60 to 600 schools.
//!
//! Run: `cargo bench -p convene-tests --bench triads`. `BENCH_QUICK=1` skips CP-SAT's 60 s runs
//! and shortens our long runs; `BENCH_NO_CPSAT=1` skips CP-SAT altogether; `BENCH_BOUND_ONLY=1`
//! stops after the bound's table.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use convene_api::solver::forming::{self, FormingInput};
use convene_api::solver::{SolveParams, generate, scheduling};
use convene_tests::python::{target_dir, tool};
use serde_json::Value;

/// The CP-SAT release compared against; its venv is named after it.
const ORTOOLS: &str = "ortools==9.15.6755";
const SIZES: [usize; 3] = [60, 300, 600];
const SEED: u64 = 1;

static INSTALL: Mutex<()> = Mutex::new(());

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The venv's `python` with `ortools` installed, made on first use (built beside and renamed,
/// as `convene_tests::python` does, so a half-made venv is never used).
fn ortools_python() -> PathBuf {
    let venv = target_dir()
        .join("test-tools")
        .join(format!("py-{}", ORTOOLS.replace("==", "-")));
    let python = venv.join("bin").join("python");
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if venv.join(".installed").exists() {
        return python;
    }
    let building = venv.with_extension(format!("building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(building.parent().unwrap()).unwrap();
    let run = |command: &mut Command, what: &str| {
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("{what}: could not start {command:?}: {e}"));
        assert!(
            output.status.success(),
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&building),
        "making a venv for CP-SAT",
    );
    run(
        Command::new(building.join("bin").join("python")).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            ORTOOLS,
        ]),
        "installing ortools from PyPI (needs the network once)",
    );
    std::fs::write(building.join(".installed"), ORTOOLS).unwrap();
    if std::fs::rename(&building, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
        assert!(venv.join(".installed").exists(), "could not move the venv into place");
    }
    python
}

/// What CP-SAT reached: its score (checked against our hard rules), status and bound.
struct CpSat {
    /// `None` when CP-SAT found no grouping in the time.
    score: Option<u64>,
    status: String,
    bound: Option<u64>,
}

fn cpsat(input: &FormingInput, seconds: u64) -> CpSat {
    let python = ortools_python();
    let file = std::env::temp_dir().join(format!(
        "convene-triads-{}-{}.json",
        input.schools.len(),
        std::process::id()
    ));
    std::fs::write(&file, serde_json::to_vec(input).unwrap()).unwrap();
    let output = Command::new(python)
        .arg(tool("cpsat_triads.py"))
        .arg(&file)
        .args(["--time-limit", &seconds.to_string()])
        .output()
        .expect("CP-SAT runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "cpsat_triads.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reply: Value = serde_json::from_slice(&output.stdout).expect("CP-SAT's JSON");
    let status = reply["status"].as_str().unwrap_or("?").to_owned();
    let groups: Vec<Vec<String>> = serde_json::from_value(reply["groups"].clone()).unwrap_or_default();
    let score = (!groups.is_empty()).then(|| {
        let checked = forming::check_groups(input, &groups).expect("CP-SAT's grouping keeps every hard rule");
        assert_eq!(Some(checked), reply["score"].as_u64(), "CP-SAT's score is ours");
        checked
    });
    CpSat {
        score,
        status,
        bound: reply["bound"].as_u64(),
    }
}

/// Runs `f` `times` times and returns the last result and the fastest time.
fn timed<T>(times: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut result = None;
    for _ in 0..times {
        let started = Instant::now();
        result = Some(f());
        best = best.min(started.elapsed());
    }
    (result.expect("at least one run"), best)
}

/// The LP bound beside the simple one, the score, the gap and the times, on generated cohorts
/// (the benchmark's own, and skewed ones: a few big authorities, common and rare topics).
fn bounds() {
    println!(
        "Bounding triads (seed {SEED}, mixed phases; forming: the search alone with its default budget, fastest of 3 \
         runs; bound: the LP by column generation from that grouping, fastest of 3, limit {} s)",
        forming::BOUND_TIME.as_secs()
    );
    println!(
        "| cohort | n | simple bound | LP bound | score | gap | proven optimal | bound complete | forming ms | bound ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, make) in [
        ("generated", generate::cohort as fn(usize, u64) -> FormingInput),
        ("skewed", generate::skewed_cohort),
    ] {
        for n in BOUND_SIZES {
            let input = make(n, SEED);
            let params = SolveParams {
                seed: SEED,
                ..SolveParams::default()
            };
            let (formed, formed_in) = timed(3, || forming::form_unbounded(&input, &params).expect("formed"));
            let (bound, bound_in) = timed(3, || {
                forming::bound(&input, Some(&formed.groups), forming::BOUND_TIME).expect("bounded")
            });
            assert!(bound.upper_bound >= formed.score, "the bound is below a score reached");
            println!(
                "| {name} | {n} | {} | {} | {} | {:.2}% | {} | {} | {:.1} | {:.1} |",
                formed.upper_bound,
                bound.upper_bound,
                formed.score,
                bound.gap(formed.score) * 100.0,
                if bound.proves(formed.score) { "yes" } else { "no" },
                if bound.complete { "yes" } else { "no" },
                formed_in.as_secs_f64() * 1000.0,
                bound_in.as_secs_f64() * 1000.0,
            );
        }
    }
    println!();
}

const BOUND_SIZES: [usize; 4] = [60, 90, 150, 600];

fn main() {
    bounds();
    if flag("BENCH_BOUND_ONLY") {
        return;
    }
    let quick = flag("BENCH_QUICK");
    let no_cpsat = flag("BENCH_NO_CPSAT");
    let (long_seeds, long_factor) = if quick { (5, 5) } else { (20, 10) };
    println!(
        "Forming triads (generated cohorts, seed {SEED}, mixed phases; ours: default budget, fastest of 3 runs; \
         long: best of {long_seeds} seeds at {long_factor}x the budget; CP-SAT {ORTOOLS}, compact model, default workers)"
    );
    println!(
        "| n | upper bound | ours | ours ms | ours long best | CP-SAT 10 s | CP-SAT 60 s | best known | ours vs best |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut triads_600 = None;
    for n in SIZES {
        let input = generate::cohort(n, SEED);
        let params = SolveParams {
            seed: SEED,
            ..SolveParams::default()
        };
        let (formed, took) = timed(3, || {
            forming::form_unbounded(&input, &params).expect("the cohort can be formed")
        });
        assert_eq!(forming::check_groups(&input, &formed.groups), Ok(formed.score));
        let budget = forming::default_iterations(n) * long_factor;
        let long_best = (0..long_seeds)
            .map(|seed| {
                let params = SolveParams {
                    seed: 1000 + seed,
                    max_iterations: Some(budget),
                    time_limit: None,
                };
                forming::form_unbounded(&input, &params).expect("formed").score
            })
            .max()
            .unwrap_or(0);
        let (ten, sixty) = if no_cpsat {
            (None, None)
        } else {
            (Some(cpsat(&input, 10)), (!quick).then(|| cpsat(&input, 60)))
        };
        let show = |c: &Option<CpSat>| match c {
            Some(c) => format!(
                "{} ({}{})",
                c.score.map_or("none".to_owned(), |s| s.to_string()),
                c.status,
                c.bound.map(|b| format!(", bound {b}")).unwrap_or_default()
            ),
            None => "skipped".to_owned(),
        };
        let best = [
            Some(formed.score),
            Some(long_best),
            ten.as_ref().and_then(|c| c.score),
            sixty.as_ref().and_then(|c| c.score),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        println!(
            "| {n} | {} | {} | {:.1} | {long_best} | {} | {} | {best} | {:+.2}% |",
            formed.upper_bound,
            formed.score,
            took.as_secs_f64() * 1000.0,
            show(&ten),
            show(&sixty),
            (formed.score as f64 - best as f64) / best.max(1) as f64 * 100.0,
        );
        if n == 600 {
            triads_600 = Some((input, formed.groups));
        }
    }
    let (cohort, groups) = triads_600.expect("600 schools formed");
    let visits_input = generate::visits(&cohort, &groups, SEED);
    let params = SolveParams {
        seed: SEED,
        ..SolveParams::default()
    };
    let (scheduled, took) = timed(3, || scheduling::schedule(&visits_input, &params));
    println!();
    println!(
        "Scheduling visits: {} schools in {} triads, {} to {}, {} facilitators at most 3 a week, min gap 7 days (fastest of 3 runs)",
        cohort.schools.len(),
        groups.len(),
        visits_input.window.start,
        visits_input.window.end,
        visits_input.facilitators.len()
    );
    println!("| schools | visits | ms | hard rules | penalty (spread, facilitator changes, workload spread) |");
    println!("|---|---|---|---|---|");
    match scheduled {
        Ok(s) => {
            let check = match scheduling::check_visits(&visits_input, &s.visits) {
                Ok(_) => "all kept".to_owned(),
                Err(e) => format!("BROKEN: {e}"),
            };
            println!(
                "| {} | {} | {:.1} | {check} | {} ({}, {}, {}) |",
                cohort.schools.len(),
                s.visits.len(),
                took.as_secs_f64() * 1000.0,
                s.penalties.total,
                s.penalties.spread,
                s.penalties.facilitator_changes,
                s.penalties.workload_spread
            );
        }
        Err(e) => println!(
            "| {} | 0 | {:.1} | infeasible: {e} | - |",
            cohort.schools.len(),
            took.as_secs_f64() * 1000.0
        ),
    }
}
