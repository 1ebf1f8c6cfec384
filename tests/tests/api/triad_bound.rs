//! The triads' bound over HTTP and on the command line: `upper_bound` is the linear relaxation's
//! (tighter than each school's coverable priorities), with `gap`, `proven_optimal` and
//! `bound_complete`, checked on a cohort whose optimum is known by trying every grouping.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, Utc};
use convene_tests::reqwest::Method;
use convene_tests::{TestApp, convene_binary, json, spawn_apps};
use serde_json::Value;

/// Three pairs of schools that cover each other's one priority (reading/maths, writing/oracy,
/// send/science), each school of its own authority. Two triads hold at most two whole pairs, so
/// the best grouping scores 4, although every priority has someone strong in it (the simple
/// bound says 6).
const PAIRS: [(&str, &str); 6] = [
    ("reading", "maths"),
    ("maths", "reading"),
    ("writing", "oracy"),
    ("oracy", "writing"),
    ("send", "science"),
    ("science", "send"),
];

/// A visit window from a fortnight ahead, ten weeks long (a cohort needs one).
fn visit_window() -> Value {
    let today = Utc::now().date_naive();
    json!({"start": today + Days::new(14), "end": today + Days::new(84)})
}

async fn paired_schools(app: &TestApp) -> Vec<Value> {
    let mut made = Vec::new();
    for (i, (strength, priority)) in PAIRS.iter().enumerate() {
        made.push(
            app.create_school(json!({
                "name": format!("Paired School {i}"),
                "local_authority": format!("Authority {i}"),
                "strengths": [strength],
                "priorities": [priority],
            }))
            .await,
        );
    }
    made
}

/// The best score of any split of `ids` into two triads, by trying all ten.
fn optimum(ids: &[i64], schools: &[Value]) -> i64 {
    let by_id: BTreeMap<i64, &Value> = schools.iter().map(|s| (s["id"].as_i64().unwrap(), s)).collect();
    let topics = |id: i64, key: &str| -> BTreeSet<String> {
        by_id[&id][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_lowercase())
            .collect()
    };
    let score = |group: &[i64]| -> i64 {
        group
            .iter()
            .map(|&me| {
                let offered: BTreeSet<String> = group
                    .iter()
                    .filter(|&&o| o != me)
                    .flat_map(|&o| topics(o, "strengths"))
                    .collect();
                topics(me, "priorities").intersection(&offered).count() as i64
            })
            .sum()
    };
    let mut best = 0;
    for b in 1..6 {
        for c in b + 1..6 {
            let first = [ids[0], ids[b], ids[c]];
            let second: Vec<i64> = ids.iter().copied().filter(|i| !first.contains(i)).collect();
            best = best.max(score(&first) + score(&second));
        }
    }
    best
}

#[tokio::test]
async fn a_proposal_reports_the_lp_bound_its_gap_and_that_it_is_proven_optimal() {
    for app in spawn_apps().await {
        let schools = paired_schools(&app).await;
        let ids: Vec<i64> = schools.iter().map(|s| s["id"].as_i64().unwrap()).collect();
        let best = optimum(&ids, &schools);
        assert_eq!(best, 4, "two triads hold two of the three pairs");
        let reply = app
            .post(
                "/v1/cohorts",
                &json!({"name": "Pairs 2027", "school_ids": ids, "window": visit_window()}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let cohort = reply.json();
        let reply = app
            .post(
                &format!("/v1/cohorts/{}/triads:propose", cohort["id"]),
                &json!({"seed": 3}),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        let proposal = reply.json();
        assert_eq!(proposal["score"], best, "{proposal}");
        assert_eq!(
            proposal["upper_bound"], best,
            "the LP bound is the optimum, not 6: {proposal}"
        );
        assert_eq!(proposal["gap"], 0.0);
        assert_eq!(proposal["proven_optimal"], true);
        assert_eq!(proposal["bound_complete"], true);

        // The triads as they stand say the same; an edit to a worse grouping shows its gap.
        let path = format!("/v1/cohorts/{}/triads", cohort["id"]);
        let view = app.get(&path).await;
        assert_eq!(view.status, 200, "{}", view.text);
        let view = view.json();
        assert_eq!(
            (&view["upper_bound"], &view["proven_optimal"], &view["bound_complete"]),
            (&json!(4), &json!(true), &json!(true)),
            "{view}"
        );
        // Every pair split: 0 points of at most 4.
        let split = json!({"triads": [
            {"school_ids": [ids[0], ids[2], ids[4]]},
            {"school_ids": [ids[1], ids[3], ids[5]]},
        ]});
        let reply = app.send(app.request(Method::PUT, &path).json(&split)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let edited = reply.json();
        assert_eq!(edited["score"], 0, "{edited}");
        assert_eq!(edited["upper_bound"], 4);
        assert_eq!(edited["gap"], 1.0);
        assert_eq!(edited["proven_optimal"], false);
        // Pinned, that grouping is the only one left: the bound falls to its score.
        let pinned = json!({"triads": [
            {"school_ids": [ids[0], ids[2], ids[4]], "pinned": true},
            {"school_ids": [ids[1], ids[3], ids[5]]},
        ]});
        let reply = app.send(app.request(Method::PUT, &path).json(&pinned)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let edited = reply.json();
        assert_eq!(
            (&edited["score"], &edited["upper_bound"], &edited["proven_optimal"]),
            (&json!(0), &json!(0), &json!(true)),
            "{edited}"
        );
    }
}

#[test]
fn the_solve_command_prints_the_bound_beside_the_score() {
    let schools: Vec<Value> = PAIRS
        .iter()
        .enumerate()
        .map(|(i, (strength, priority))| {
            json!({"id": format!("s{i}"), "local_authority": format!("LA {i}"), "phase": "primary",
                   "strengths": [strength], "priorities": [priority]})
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("convene-bound-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pairs.json");
    std::fs::write(&file, json!({"schools": schools}).to_string()).unwrap();
    let output = std::process::Command::new(convene_binary())
        .args(["solve", "triads", "--input"])
        .arg(&file)
        .env("CONVENE_DATABASE_URL", "sqlite::memory:")
        .output()
        .expect("convene-api runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(answer["score"], 4, "{answer}");
    assert_eq!(answer["upper_bound"], 4);
    assert_eq!(answer["gap"], 0.0);
    assert_eq!(answer["proven_optimal"], true);
    assert_eq!(answer["bound_complete"], true);
}
