//! Triad cohorts over HTTP: the solver proposes triads, the organiser accepts or edits them
//! (checked against the hard rules), the visits are scheduled and become events the members are
//! booked onto; and the `convene-api solve` command on JSON files.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike as _, Days, NaiveDate, Utc};
use convene_tests::reqwest::Method;
use convene_tests::{TestApp, convene_binary, json, spawn_apps};
use serde_json::Value;

/// A small network: `n` schools over local authorities taken in turn from `authorities`, with
/// strengths and priorities drawn from a few topics so that groupings differ in score.
async fn schools(app: &TestApp, n: usize, authorities: &[&str]) -> Vec<Value> {
    let topics = ["reading", "maths", "writing", "oracy", "send", "attendance"];
    let mut made = Vec::new();
    for i in 0..n {
        made.push(
            app.create_school(json!({
                "name": format!("School {i}"),
                "local_authority": authorities[i % authorities.len()],
                "strengths": [topics[i % 6], topics[(i + 2) % 6]],
                "priorities": [topics[(i + 1) % 6], topics[(i + 3) % 6]],
            }))
            .await,
        );
    }
    made
}

fn ids(schools: &[Value]) -> Vec<i64> {
    schools.iter().map(|s| s["id"].as_i64().unwrap()).collect()
}

fn groups_of(triads: &Value) -> Vec<Vec<i64>> {
    triads["triads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["school_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_i64().unwrap())
                .collect()
        })
        .collect()
}

/// The score of a grouping computed from the schools themselves: for each school, how many of
/// its priorities some partner lists as a strength.
fn score_of(groups: &[Vec<i64>], schools: &[Value]) -> i64 {
    let by_id: BTreeMap<i64, &Value> = schools.iter().map(|s| (s["id"].as_i64().unwrap(), s)).collect();
    let topics = |s: &Value, key: &str| -> BTreeSet<String> {
        s[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    let mut score = 0;
    for group in groups {
        for &me in group {
            let wanted = topics(by_id[&me], "priorities");
            let offered: BTreeSet<String> = group
                .iter()
                .filter(|&&o| o != me)
                .flat_map(|o| topics(by_id[o], "strengths"))
                .collect();
            score += wanted.intersection(&offered).count() as i64;
        }
    }
    score
}

fn window(from_today: u64, days: u64) -> (NaiveDate, NaiveDate) {
    let today = Utc::now().date_naive();
    (today + Days::new(from_today), today + Days::new(from_today + days))
}

async fn cohort(app: &TestApp, body: Value) -> Value {
    let reply = app.post("/v1/cohorts", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

#[tokio::test]
async fn proposed_triads_keep_every_rule_and_their_score_is_what_the_schools_say() {
    for app in spawn_apps().await {
        let schools = schools(&app, 12, &["Camden", "Hackney", "Islington", "Lambeth"]).await;
        let (start, end) = window(14, 70);
        let c = cohort(
            &app,
            json!({"name": "Growing the Top 2027", "school_ids": ids(&schools),
                   "window": {"start": start, "end": end}}),
        )
        .await;
        assert_eq!(c["status"], "draft");
        assert_eq!(c["window"]["weekdays"], json!(["mon", "tue", "wed", "thu", "fri"]));
        let reply = app
            .post(&format!("/v1/cohorts/{}/triads:propose", c["id"]), &json!({"seed": 7}))
            .await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        let proposal = reply.json();
        let groups = groups_of(&proposal);
        assert_eq!(groups.len(), 4);
        let mut seen: Vec<i64> = groups.iter().flatten().copied().collect();
        seen.sort_unstable();
        let mut all = ids(&schools);
        all.sort_unstable();
        assert_eq!(seen, all, "every school is in exactly one triad");
        let la: BTreeMap<i64, String> = schools
            .iter()
            .map(|s| {
                (
                    s["id"].as_i64().unwrap(),
                    s["local_authority"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for g in &groups {
            assert_eq!(g.len(), 3);
            let authorities: BTreeSet<&String> = g.iter().map(|s| &la[s]).collect();
            assert_eq!(
                authorities.len(),
                3,
                "no two schools of one local authority share a triad: {g:?}"
            );
        }
        let score = proposal["score"].as_i64().unwrap();
        assert_eq!(score, score_of(&groups, &schools), "{proposal}");
        assert!(score > 0 && score <= proposal["upper_bound"].as_i64().unwrap());
        let triad = &proposal["triads"][0];
        assert_eq!(triad["status"], "proposed");
        let covered = triad["explanation"]["covered"].as_array().unwrap().len() as i64;
        assert_eq!(
            covered,
            triad["score"].as_i64().unwrap(),
            "one explanation line per covered priority"
        );

        // The same seed gives the same proposal; reading the triads gives what was stored.
        let again = app
            .post(&format!("/v1/cohorts/{}/triads:propose", c["id"]), &json!({"seed": 7}))
            .await;
        assert_eq!(groups_of(&again.json()), groups);
        let stored = app.get(&format!("/v1/cohorts/{}/triads", c["id"])).await.json();
        assert_eq!(groups_of(&stored), groups);
        assert_eq!(stored["score"], score);
    }
}

#[tokio::test]
async fn seven_schools_make_a_triad_and_a_quad_and_five_are_refused_naming_the_rule() {
    for app in spawn_apps().await {
        let seven = schools(
            &app,
            7,
            &[
                "Camden",
                "Hackney",
                "Islington",
                "Lambeth",
                "Newham",
                "Barnet",
                "Ealing",
            ],
        )
        .await;
        let (start, end) = window(14, 70);
        let c = cohort(
            &app,
            json!({"name": "Seven", "school_ids": ids(&seven), "window": {"start": start, "end": end}}),
        )
        .await;
        let reply = app
            .send(app.request(Method::POST, &format!("/v1/cohorts/{}/triads:propose", c["id"])))
            .await;
        assert_eq!(reply.status, 200, "an empty body takes the defaults: {}", reply.text);
        let mut sizes: Vec<usize> = groups_of(&reply.json()).iter().map(Vec::len).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![3, 4]);

        let five = &seven[..5];
        let c = cohort(
            &app,
            json!({"name": "Five", "school_ids": ids(five), "window": {"start": start, "end": end}}),
        )
        .await;
        let reply = app
            .post(&format!("/v1/cohorts/{}/triads:propose", c["id"]), &json!({}))
            .await;
        let problem = reply.problem(422, "triads_infeasible");
        assert!(problem["detail"].as_str().unwrap().contains("group_sizes"), "{problem}");
        assert_eq!(reply.fields(), vec!["school_ids"]);
        assert_eq!(app.count("triads").await, 2, "the refused proposal stored nothing");
    }
}

#[tokio::test]
async fn edited_triads_are_checked_against_the_hard_rules_and_a_refused_edit_changes_nothing() {
    for app in spawn_apps().await {
        let schools = schools(&app, 6, &["Camden", "Hackney", "Islington"]).await;
        let id = ids(&schools);
        let (start, end) = window(14, 70);
        let c = cohort(
            &app,
            json!({"name": "Edits", "school_ids": id, "window": {"start": start, "end": end},
                   "options": {"forbidden_pairs": [[id[0], id[4]]]}}),
        )
        .await;
        let path = format!("/v1/cohorts/{}/triads", c["id"]);
        let proposal = app.post(&format!("{path}:propose"), &json!({})).await.json();

        // Schools 0 and 3 are both in Camden.
        let same_la = json!({"triads": [{"school_ids": [id[0], id[3], id[1]]}, {"school_ids": [id[2], id[4], id[5]]}]});
        let reply = app.send(app.request(Method::PUT, &path).json(&same_la)).await;
        let problem = reply.problem(422, "triads_invalid");
        assert!(
            problem["detail"].as_str().unwrap().contains("local_authority"),
            "{problem}"
        );
        let forbidden =
            json!({"triads": [{"school_ids": [id[0], id[4], id[2]]}, {"school_ids": [id[3], id[1], id[5]]}]});
        let reply = app.send(app.request(Method::PUT, &path).json(&forbidden)).await;
        assert!(
            reply.problem(422, "triads_invalid")["detail"]
                .as_str()
                .unwrap()
                .contains("forbidden_pairs")
        );
        let missing = json!({"triads": [{"school_ids": [id[0], id[1], id[2]]}]});
        let reply = app.send(app.request(Method::PUT, &path).json(&missing)).await;
        assert!(
            reply.problem(422, "triads_invalid")["detail"]
                .as_str()
                .unwrap()
                .contains("missing_school")
        );
        let stranger =
            json!({"triads": [{"school_ids": [id[0], id[1], id[2]]}, {"school_ids": [id[3], id[4], 999_999]}]});
        let reply = app.send(app.request(Method::PUT, &path).json(&stranger)).await;
        assert!(
            reply.problem(422, "triads_invalid")["detail"]
                .as_str()
                .unwrap()
                .contains("unknown_school")
        );
        let stored = app.get(&path).await.json();
        assert_eq!(
            groups_of(&stored),
            groups_of(&proposal),
            "refused edits changed nothing"
        );
        assert_eq!(stored["status"], "draft");

        let edit = json!({"triads": [{"school_ids": [id[0], id[1], id[2]], "pinned": true}, {"school_ids": [id[3], id[4], id[5]]}]});
        let reply = app.send(app.request(Method::PUT, &path).json(&edit)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let accepted = reply.json();
        assert_eq!(accepted["status"], "triads_accepted");
        assert_eq!(accepted["triads"][0]["status"], "accepted");
        assert_eq!(
            accepted["score"].as_i64().unwrap(),
            score_of(&groups_of(&accepted), &schools)
        );
        // A new proposal keeps the pinned triad together.
        let again = app.post(&format!("{path}:propose"), &json!({"seed": 3})).await.json();
        assert!(groups_of(&again).contains(&vec![id[0], id[1], id[2]]), "{again}");
    }
}

#[tokio::test]
async fn scheduled_visits_become_events_the_triads_leaders_are_booked_onto_and_reach_their_feeds() {
    for app in spawn_apps().await {
        let schools = schools(&app, 6, &["Camden", "Hackney", "Islington"]).await;
        let id = ids(&schools);
        let mut heads = BTreeMap::new();
        for s in &schools {
            let head = app
                .create_participant(json!({"school_id": s["id"], "role": "head"}))
                .await;
            heads.insert(s["id"].as_i64().unwrap(), head["id"].as_i64().unwrap());
        }
        // A teacher is not a leader: not booked by default.
        let teacher = app
            .create_participant(json!({"school_id": id[0], "role": "teacher"}))
            .await;
        let facilitator = app
            .create_participant(json!({"role": "facilitator", "name": "Fiona Facilitator"}))
            .await;
        let programme = app
            .post(
                "/v1/programmes",
                &json!({"name": "Growing the Top", "kind": "triad_cohort"}),
            )
            .await
            .json();
        let (start, end) = window(7, 63);
        // School 0 is closed for the window's first five weeks: its triad must visit on other days.
        let closed_until = start + Days::new(34);
        let reply = app
            .post(
                &format!("/v1/schools/{}/closures", id[0]),
                &json!({"closures": [{"start_date": start, "end_date": closed_until, "kind": "closure"}]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let c = cohort(
            &app,
            json!({"name": "Growing the Top 2027", "programme_id": programme["id"], "school_ids": id,
                   "window": {"start": start, "end": end, "min_days_between_visits": 5},
                   "visit_times": {"start": "09:30", "end": "15:00"},
                   "facilitators": [{"participant_id": facilitator["id"], "max_visits_per_week": 2}]}),
        )
        .await;
        let path = format!("/v1/cohorts/{}", c["id"]);
        let reply = app.post(&format!("{path}/visits:schedule"), &json!({})).await;
        reply.problem(409, "triads_not_accepted");
        let accepted = app.accept_proposed_triads(&path).await;

        let reply = app.post(&format!("{path}/visits:schedule"), &json!({"seed": 2})).await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        let schedule = reply.json();
        assert_eq!(schedule["unbooked"], json!([]), "{schedule}");
        let visits = schedule["visits"].as_array().unwrap().clone();
        assert_eq!(visits.len(), 6);
        let triad_of: BTreeMap<i64, Vec<i64>> = accepted["triads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_i64().unwrap(), groups_of(&json!({"triads": [t]}))[0].clone()))
            .collect();
        let mut hosts = BTreeSet::new();
        let mut facilitator_weeks: BTreeMap<(i32, u32), usize> = BTreeMap::new();
        let mut days_by_triad: BTreeMap<i64, Vec<NaiveDate>> = BTreeMap::new();
        for v in &visits {
            let date: NaiveDate = v["date"].as_str().unwrap().parse().unwrap();
            assert!(date >= start && date <= end, "{v}");
            assert!(date.weekday().number_from_monday() <= 5, "a school day: {v}");
            let members = &triad_of[&v["triad_id"].as_i64().unwrap()];
            assert!(members.contains(&v["host_school_id"].as_i64().unwrap()));
            if members.contains(&id[0]) {
                assert!(date > closed_until, "never on a closure of a member school: {v}");
            }
            assert!(
                hosts.insert(v["host_school_id"].as_i64().unwrap()),
                "each school hosts once"
            );
            assert_eq!(v["facilitator_id"], facilitator["id"]);
            let week = date.iso_week();
            *facilitator_weeks.entry((week.year(), week.week())).or_default() += 1;
            days_by_triad
                .entry(v["triad_id"].as_i64().unwrap())
                .or_default()
                .push(date);

            // The visit is a published triad_visit event at the host, in the cohort's programme.
            let event = app.get(&format!("/v1/events/{}", v["event_id"])).await.json();
            assert_eq!(event["kind"], "triad_visit");
            assert_eq!(event["status"], "published");
            assert_eq!(event["programme_id"], programme["id"]);
            assert_eq!(event["host_school_id"], v["host_school_id"]);
            let session = app.get(&format!("/v1/sessions/{}", v["session_id"])).await.json();
            assert_eq!(session["start_local"], format!("{date}T09:30:00"), "{session}");
            assert_eq!(session["end_local"], format!("{date}T15:00:00"), "{session}");
            assert_eq!(session["time_zone"], "Europe/London");
            let bookings = app
                .get(&format!("/v1/sessions/{}/bookings", v["session_id"]))
                .await
                .json();
            let mut booked: Vec<i64> = bookings["items"]
                .as_array()
                .unwrap()
                .iter()
                .inspect(|b| assert_eq!(b["status"], "confirmed"))
                .map(|b| b["participant_id"].as_i64().unwrap())
                .collect();
            booked.sort_unstable();
            let mut expected: Vec<i64> = members.iter().map(|s| heads[s]).collect();
            expected.push(facilitator["id"].as_i64().unwrap());
            expected.sort_unstable();
            assert_eq!(
                booked, expected,
                "the triad's heads and the facilitator, not the teacher"
            );
            assert!(!booked.contains(&teacher["id"].as_i64().unwrap()));
        }
        assert!(facilitator_weeks.values().all(|&n| n <= 2), "{facilitator_weeks:?}");
        for days in days_by_triad.values_mut() {
            days.sort_unstable();
            assert!(days.windows(2).all(|w| (w[1] - w[0]).num_days() >= 5), "{days:?}");
        }
        let facilitator_days: BTreeSet<&str> = visits.iter().map(|v| v["date"].as_str().unwrap()).collect();
        assert_eq!(
            facilitator_days.len(),
            6,
            "one facilitator is never on two visits in a day"
        );

        // A head's private feed shows their triad's three visits.
        let head = heads[&id[1]];
        let feed = app
            .post(&format!("/v1/participants/{head}/feed-token"), &json!({}))
            .await
            .json();
        let url = feed["url"].as_str().unwrap();
        let path_only = &url[url.find("/ical/").unwrap()..];
        let ics = app.send(app.anonymous(Method::GET, path_only)).await.text;
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 3, "{ics}");
        assert!(ics.contains("Triad visit"), "{ics}");
        assert!(app.notifications("booking_confirmed", Some(head)).await >= 3);

        let public = app
            .send(app.anonymous(Method::GET, "/v1/events?limit=100"))
            .await
            .json();
        assert!(
            !public.to_string().contains("triad_visit"),
            "visits are not in the public list: {public}"
        );
        let listed = app.get(&format!("{path}/visits")).await.json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 6);
        app.post(&format!("{path}/visits:schedule"), &json!({}))
            .await
            .problem(409, "visits_already_scheduled");
        let triads: Vec<Value> = accepted["triads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| json!({"school_ids": t["school_ids"]}))
            .collect();
        let reply = app
            .send(
                app.request(Method::PUT, &format!("{path}/triads"))
                    .json(&json!({"triads": triads})),
            )
            .await;
        reply.problem(409, "cohort_scheduled");

        // Cancelling the visits cancels their events; the cohort can be scheduled again.
        let reply = app.delete(&format!("{path}/visits")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(
            reply.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["status"] == "cancelled")
        );
        let event = app.get(&format!("/v1/events/{}", visits[0]["event_id"])).await.json();
        assert_eq!(event["status"], "cancelled");
        let ics = app.send(app.anonymous(Method::GET, path_only)).await.text;
        assert_eq!(
            ics.matches("BEGIN:VEVENT").count(),
            0,
            "cancelled visits leave the feed"
        );
        let reply = app.post(&format!("{path}/visits:schedule"), &json!({"seed": 2})).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
}

#[tokio::test]
async fn a_cohort_that_cannot_be_scheduled_says_which_rule_and_books_nobody() {
    for app in spawn_apps().await {
        let schools = schools(&app, 3, &["Camden", "Hackney", "Islington"]).await;
        let facilitator = app.create_participant(json!({"role": "facilitator"})).await;
        let (start, _) = window(7, 0);
        // Three visits at least seven days apart cannot fit in ten days.
        let c = cohort(
            &app,
            json!({"name": "Too short", "school_ids": ids(&schools),
                   "window": {"start": start, "end": start + Days::new(10)},
                   "facilitators": [{"participant_id": facilitator["id"]}]}),
        )
        .await;
        let path = format!("/v1/cohorts/{}", c["id"]);
        app.post(&format!("{path}/triads:propose"), &json!({})).await;
        let accept = json!({"triads": [{"school_ids": ids(&schools)}]});
        assert_eq!(
            app.send(app.request(Method::PUT, &format!("{path}/triads")).json(&accept))
                .await
                .status,
            200
        );
        let reply = app.post(&format!("{path}/visits:schedule"), &json!({})).await;
        let problem = reply.problem(422, "visits_infeasible");
        assert!(problem["detail"].as_str().unwrap().contains("window"), "{problem}");
        assert_eq!(app.count("visits").await, 0);
        assert_eq!(app.count("bookings").await, 0);
        assert_eq!(app.get(&path).await.json()["status"], "triads_accepted");
    }
}

#[tokio::test]
async fn a_bad_cohort_is_refused_naming_each_field_at_fault() {
    for app in spawn_apps().await {
        let schools = schools(&app, 3, &["Camden", "Hackney", "Islington"]).await;
        let id = ids(&schools);
        let (start, end) = window(7, 30);
        let reply = app
            .post(
                "/v1/cohorts",
                &json!({"name": "", "school_ids": [id[0], id[0]],
                        "options": {"pinned": [[id[0], 424_242]], "forbidden_pairs": [[id[1], id[1]]]},
                        "window": {"start": end, "end": start, "weekdays": ["monday"]},
                        "visit_times": {"time_zone": "Europe/Londres", "start": "9am"},
                        "attendee_roles": ["pupil"],
                        "facilitators": [{"participant_id": 1, "max_visits_per_week": 0}]}),
            )
            .await;
        reply.problem(422, "validation_failed");
        let fields: BTreeSet<String> = reply.fields().into_iter().collect();
        for field in [
            "name",
            "school_ids",
            "options.pinned",
            "options.forbidden_pairs",
            "window.end",
            "window.weekdays",
            "visit_times.time_zone",
            "visit_times.start",
            "attendee_roles",
            "facilitators.max_visits_per_week",
        ] {
            assert!(fields.contains(field), "{field} is named: {}", reply.text);
        }
        let reply = app
            .post(
                "/v1/cohorts",
                &json!({"name": "Ghosts", "school_ids": [id[0], 777_777], "window": {"start": start, "end": end}}),
            )
            .await;
        reply.problem(422, "validation_failed");
        assert_eq!(reply.fields(), vec!["school_ids"]);
        let reply = app
            .post(
                "/v1/cohorts",
                &json!({"name": "No window", "school_ids": id, "colour": "red"}),
            )
            .await;
        reply.problem(422, "validation_failed");
        assert_eq!(app.count("cohorts").await, 0, "nothing was written");
        app.get("/v1/cohorts/424242").await.problem(404, "not_found");
        app.post("/v1/cohorts/424242/triads:propose", &json!({}))
            .await
            .problem(404, "not_found");
        let anonymous = app.send(app.anonymous(Method::GET, "/v1/cohorts")).await;
        anonymous.problem(401, "unauthorized");
    }
}

fn solve(args: &[&str], input: &Value) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("convene-solve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.json", args.join("-").replace(['/', ' '], "_")));
    std::fs::write(&file, input.to_string()).unwrap();
    let mut argv: Vec<&str> = vec!["solve"];
    argv.extend_from_slice(args);
    let output = std::process::Command::new(convene_binary())
        .args(&argv)
        .arg("--input")
        .arg(&file)
        .env("CONVENE_DATABASE_URL", "sqlite::memory:")
        .output()
        .expect("convene-api runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn the_solve_command_prints_only_json_and_an_infeasible_instance_exits_non_zero_naming_the_rule() {
    let schools: Vec<Value> = (0..9)
        .map(|i| {
            let authority = ["Camden", "Hackney", "Islington"][i % 3];
            json!({"id": format!("s{i}"), "local_authority": authority,
                   "phase": "primary", "strengths": ["reading"], "priorities": ["maths"]})
        })
        .collect();
    let (code, stdout, stderr) = solve(&["triads", "--seed", "5"], &json!({"schools": schools, "options": {}}));
    assert_eq!(code, 0, "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stdout is JSON only ({e}): {stdout}"));
    let groups = answer["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    assert!(answer["score"].is_u64() && answer["explanations"].is_array());

    let five = &schools[..5];
    let (code, stdout, _) = solve(&["triads"], &json!({"schools": five}));
    assert_eq!(code, 1);
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["infeasible"], "group_sizes");
    assert!(answer["detail"].is_string());

    let visits = json!({"triads": [["s1", "s7", "s9"]], "window": {"start": "2027-01-11", "end": "2027-03-26"},
        "weekdays": ["mon", "tue", "wed", "thu", "fri"], "min_days_between_visits": 7,
        "closures": {"s1": ["2027-02-15"]},
        "facilitators": [{"id": "f1", "available": null, "max_visits_per_week": 3}]});
    let (code, stdout, stderr) = solve(&["visits", "--seed", "1"], &visits);
    assert_eq!(code, 0, "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    let planned = answer["visits"].as_array().unwrap();
    assert_eq!(planned.len(), 3);
    let hosts: BTreeSet<&str> = planned.iter().map(|v| v["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, BTreeSet::from(["s1", "s7", "s9"]));
    assert!(
        planned
            .iter()
            .all(|v| v["date"] != "2027-02-15" && v["facilitator"] == "f1" && v["triad"] == 0)
    );

    let (code, stdout, _) = solve(
        &["visits"],
        &json!({"triads": [["a", "b", "c"]], "window": {"start": "2027-01-11", "end": "2027-01-14"},
        "facilitators": [{"id": "f1", "max_visits_per_week": 3}]}),
    );
    assert_eq!(code, 1);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["infeasible"], "window");

    let (code, stdout, stderr) = solve(&["triads"], &json!({"schools": "not a list"}));
    assert_ne!(code, 0);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("not a valid input"), "{stderr}");
}
