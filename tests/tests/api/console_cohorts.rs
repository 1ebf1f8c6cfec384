//! Triads in the organiser console, over HTTP with a cookie jar: the cohort's triads as cards
//! with each school's priorities covered (by whom) or uncovered, a school moved to another triad
//! (refused on the page when it breaks a rule, changing nothing), a triad pinned, triads proposed
//! again and accepted; the visits as a calendar with each facilitator's load, scheduled and
//! cancelled from the page, and downloaded as CSV and `.ics`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, Utc};
use convene_tests::web::{WebVisitor, console_organiser, location, submit, words};
use convene_tests::{TestApp, backends, json, spawn_app};
use serde_json::Value;

/// The topics schools are strong in and want to improve.
const TOPICS: [&str; 6] = ["reading", "maths", "writing", "oracy", "send", "attendance"];

/// A school as the test knows it.
struct School {
    id: i64,
    name: String,
    local_authority: String,
    strengths: Vec<&'static str>,
    priorities: Vec<&'static str>,
}

/// Seven primary schools: Camden, Hackney and Islington twice, Lambeth once, so the solver must
/// make a triad of the first three authorities and a group of four with Lambeth in it.
async fn seven_schools(app: &TestApp) -> Vec<School> {
    let authorities = [
        "Camden",
        "Hackney",
        "Islington",
        "Lambeth",
        "Camden",
        "Hackney",
        "Islington",
    ];
    let mut made = Vec::new();
    for (i, la) in authorities.into_iter().enumerate() {
        let strengths = vec![TOPICS[i % 6], TOPICS[(i + 2) % 6]];
        let priorities = vec![TOPICS[(i + 1) % 6], TOPICS[(i + 3) % 6]];
        let name = format!("{la} School {i}");
        let s = app
            .create_school(json!({"name": name, "local_authority": la, "phase": "primary",
                                  "strengths": strengths, "priorities": priorities}))
            .await;
        made.push(School {
            id: s["id"].as_i64().unwrap(),
            name,
            local_authority: la.to_owned(),
            strengths,
            priorities,
        });
    }
    made
}

/// A cohort of `schools` with a facilitator who may take three visits a week.
async fn cohort_of(app: &TestApp, schools: &[School]) -> (i64, Value) {
    let facilitator = app
        .create_participant(json!({"role": "facilitator", "name": "Fiona Facilitator"}))
        .await;
    for s in schools {
        app.create_participant(json!({"school_id": s.id, "role": "head"})).await;
    }
    let today = Utc::now().date_naive();
    let reply = app
        .post(
            "/v1/cohorts",
            &json!({"name": "Growing the Top 2027", "school_ids": schools.iter().map(|s| s.id).collect::<Vec<_>>(),
                    "window": {"start": today + Days::new(7), "end": today + Days::new(70), "min_days_between_visits": 3},
                    "facilitators": [{"participant_id": facilitator["id"], "max_visits_per_week": 3}]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    (reply.json()["id"].as_i64().unwrap(), facilitator)
}

/// The cohort's triads through the API: `(triad id, its school ids, pinned)`.
async fn triads_of(app: &TestApp, cohort: i64) -> Vec<(i64, Vec<i64>, bool)> {
    let triads = app.get(&format!("/v1/cohorts/{cohort}/triads")).await.json();
    triads["triads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_i64().unwrap(),
                t["school_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_i64().unwrap())
                    .collect(),
                t["pinned"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The markup of the element whose attribute `attr` is `value`, up to the next element with that
/// attribute (or `until`).
fn part<'a>(html: &'a str, attr: &str, value: &str, until: &str) -> &'a str {
    let start = html
        .find(&format!("{attr}=\"{value}\""))
        .unwrap_or_else(|| panic!("no {attr}={value} in:\n{html}"));
    let rest = &html[start + 1..];
    let end = [rest.find(&format!("{attr}=\"")), rest.find(until)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    &html[start..start + 1 + end]
}

#[tokio::test]
async fn the_cohort_page_shows_each_triads_uncovered_priorities_and_refuses_a_move_that_puts_one_authoritys_schools_together()
 {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let schools = seven_schools(&app).await;
        let (cohort, _) = cohort_of(&app, &schools).await;
        let (visitor, organiser) = console_organiser(&app).await;
        let page = format!("/o/cohorts/{cohort}");
        let by_id: BTreeMap<i64, &School> = schools.iter().map(|s| (s.id, s)).collect();

        let proposed = submit(&visitor, &page, &format!("{page}/propose"), &[("seed", "4")]).await;
        assert_eq!(location(&proposed), format!("{page}?done=proposed"));
        let triads = triads_of(&app, cohort).await;
        assert_eq!(triads.len(), 2, "{backend:?}: a triad and a group of four");

        // Each card shows each school's priorities, covered by the partners strong in them or not.
        let html = visitor.get(&page).await.text;
        let mut uncovered = 0;
        for (triad, members, _) in &triads {
            let card = part(&html, "data-triad", &triad.to_string(), "name=\"triad_id\"");
            for &member in members {
                let school = by_id[&member];
                let row = part(card, "data-school", &member.to_string(), "\u{0}");
                assert!(
                    row.contains(&school.name) && row.contains(&school.local_authority),
                    "{row}"
                );
                for priority in &school.priorities {
                    let partners: BTreeSet<&str> = members
                        .iter()
                        .filter(|&&o| o != member && by_id[&o].strengths.contains(priority))
                        .map(|o| by_id[o].name.as_str())
                        .collect();
                    if partners.is_empty() {
                        uncovered += 1;
                        assert!(
                            row.contains(&format!("<li class=\"uncovered\">{priority}: uncovered</li>")),
                            "{backend:?}: {} wants {priority}, which nobody in its triad is strong in:\n{row}",
                            school.name
                        );
                    } else {
                        let line = &row[row
                            .find(&format!("<li class=\"covered\">{priority}: covered by "))
                            .unwrap_or_else(|| panic!("{priority} covered in:\n{row}"))..];
                        let line = &line[..line.find("</li>").unwrap()];
                        for partner in partners {
                            assert!(line.contains(partner), "{line} names {partner}");
                        }
                    }
                }
            }
        }
        assert!(
            words(&html).contains(&format!(
                "{uncovered} priorit{} uncovered",
                if uncovered == 1 { "y" } else { "ies" }
            )),
            "the page counts {uncovered} uncovered"
        );

        // Moving the group of four's Camden school into the triad, which has Camden already, is
        // refused on the page and changes nothing.
        let (triad_id, triad) = triads
            .iter()
            .map(|(id, m, _)| (*id, m))
            .find(|(_, m)| m.len() == 3)
            .unwrap();
        let four = &triads.iter().find(|(_, m, _)| m.len() == 4).unwrap().1;
        let camden = *four.iter().find(|&&s| by_id[&s].local_authority == "Camden").unwrap();
        assert!(triad.iter().any(|s| by_id[s].local_authority == "Camden"));
        let audit_before = app.count("audit_entries").await;
        let refused = submit(
            &visitor,
            &page,
            &format!("{page}/move"),
            &[("school_id", &camden.to_string()), ("to", &format!("t{triad_id}"))],
        )
        .await;
        assert_eq!(refused.status, 422, "{backend:?}: {}", refused.text);
        let said = words(&refused.text);
        assert!(said.contains("There is a problem"), "{said}");
        assert!(
            said.contains("two schools of one local authority"),
            "{backend:?}: the rule is named: {said}"
        );
        assert!(
            refused.text.contains("<a href=\"#to\">"),
            "the summary leads to the field"
        );
        assert_eq!(triads_of(&app, cohort).await, triads, "{backend:?}: nothing moved");
        assert_eq!(app.count("audit_entries").await, audit_before);

        // Moving Lambeth's school into the triad keeps every rule: saved as the proposal.
        let lambeth = schools.iter().find(|s| s.local_authority == "Lambeth").unwrap().id;
        let moved = submit(
            &visitor,
            &page,
            &format!("{page}/move"),
            &[("school_id", &lambeth.to_string()), ("to", &format!("t{triad_id}"))],
        )
        .await;
        assert_eq!(location(&moved), format!("{page}?done=moved"));
        let after = triads_of(&app, cohort).await;
        assert!(
            after
                .iter()
                .any(|(_, m, _)| m.len() == 4 && m.contains(&lambeth) && triad.iter().all(|s| m.contains(s))),
            "{backend:?}: {after:?}"
        );
        assert_eq!(
            app.get(&format!("/v1/cohorts/{cohort}")).await.json()["status"],
            "draft"
        );
        let trail = app
            .get(&format!("/v1/audit?target_type=cohort&target_id={cohort}"))
            .await
            .json();
        assert_eq!(trail["items"][0]["action"], "triads.edited", "{trail}");
        assert_eq!(trail["items"][0]["actor"]["id"], organiser["id"], "{trail}");

        // Two triads swap their Camden schools: every rule still holds. Swapping a Camden school
        // for a Hackney one would put two schools of an authority together: refused.
        let after_move = triads_of(&app, cohort).await;
        let of_authority =
            |members: &Vec<i64>, la: &str| *members.iter().find(|&&s| by_id[&s].local_authority == la).unwrap();
        let (first, second) = (&after_move[0].1, &after_move[1].1);
        let (camden_one, camden_two) = (of_authority(first, "Camden"), of_authority(second, "Camden"));
        let wrong = submit(
            &visitor,
            &page,
            &format!("{page}/move"),
            &[
                ("school_id", &camden_one.to_string()),
                ("to", &format!("s{}", of_authority(second, "Hackney"))),
            ],
        )
        .await;
        assert_eq!(wrong.status, 422, "{backend:?}: {}", wrong.text);
        assert!(
            words(&wrong.text).contains("two schools of one local authority"),
            "{}",
            wrong.text
        );
        assert_eq!(
            triads_of(&app, cohort).await,
            after_move,
            "{backend:?}: nothing swapped"
        );
        let swapped = submit(
            &visitor,
            &page,
            &format!("{page}/move"),
            &[
                ("school_id", &camden_one.to_string()),
                ("to", &format!("s{camden_two}")),
            ],
        )
        .await;
        assert_eq!(location(&swapped), format!("{page}?done=moved"));
        let after_swap = triads_of(&app, cohort).await;
        assert!(
            after_swap.iter().any(|(_, m, _)| m.contains(&camden_one)
                && m.len() == second.len()
                && m.iter().any(|s| second.contains(s)))
                && after_swap
                    .iter()
                    .any(|(_, m, _)| m.contains(&camden_two) && m.iter().any(|s| first.contains(s))),
            "{backend:?}: each Camden school is in the other's triad: {after_move:?} -> {after_swap:?}"
        );
        let nowhere = submit(
            &visitor,
            &page,
            &format!("{page}/move"),
            &[("school_id", &lambeth.to_string()), ("to", "x1")],
        )
        .await;
        assert_eq!(nowhere.status, 422, "{}", nowhere.text);
        assert!(nowhere.text.contains("<a href=\"#to\">"), "{}", nowhere.text);
        let after = after_swap;

        // Pin the group of four, propose again with another seed: it stays together.
        let (pin_id, pinned_members, _) = after.iter().find(|(_, m, _)| m.len() == 4).unwrap().clone();
        let pinned = submit(
            &visitor,
            &page,
            &format!("{page}/pin"),
            &[("triad_id", &pin_id.to_string()), ("pinned", "true")],
        )
        .await;
        assert_eq!(location(&pinned), format!("{page}?done=pinned"));
        assert!(
            triads_of(&app, cohort)
                .await
                .iter()
                .any(|(id, _, p)| *id == pin_id && *p)
        );
        let again = submit(&visitor, &page, &format!("{page}/propose"), &[("seed", "11")]).await;
        assert_eq!(location(&again), format!("{page}?done=proposed"));
        assert!(
            triads_of(&app, cohort)
                .await
                .iter()
                .any(|(_, m, p)| *m == pinned_members && *p),
            "{backend:?}: the pinned group is kept together"
        );

        // A seed that is not a number, and a triad of another cohort, are refused on the page.
        let bad = submit(&visitor, &page, &format!("{page}/propose"), &[("seed", "soon")]).await;
        assert_eq!(bad.status, 422, "{}", bad.text);
        assert!(bad.text.contains("<a href=\"#seed\">"), "{}", bad.text);
        let elsewhere = submit(
            &visitor,
            &page,
            &format!("{page}/pin"),
            &[("triad_id", "999999"), ("pinned", "true")],
        )
        .await;
        assert_eq!(elsewhere.status, 404, "{}", elsewhere.text);

        let accepted = submit(&visitor, &page, &format!("{page}/accept"), &[]).await;
        assert_eq!(location(&accepted), format!("{page}?done=accepted"));
        assert_eq!(
            app.get(&format!("/v1/cohorts/{cohort}")).await.json()["status"],
            "triads_accepted"
        );
        let listed = visitor.get("/o/cohorts").await;
        assert!(
            listed.text.contains(&format!("href=\"/o/cohorts/{cohort}\""))
                || listed
                    .text
                    .contains(&format!("href=\"&#x2f;o&#x2f;cohorts&#x2f;{cohort}\"")),
            "{}",
            listed.text
        );

        for path in [format!("/o/cohorts/{}", cohort + 1000), "/o/cohorts/abc".to_owned()] {
            assert_eq!(visitor.get(&path).await.status, 404, "{path}");
        }
        let anonymous = WebVisitor::new(&app).get(&page).await;
        assert_eq!(anonymous.status, 303);
        let forged = visitor
            .post_form(&format!("{page}/propose"), &[("csrf", "not-the-token")])
            .await;
        assert_eq!(forged.status, 403, "{}", forged.text);
    }
}

#[tokio::test]
async fn the_visits_calendar_shows_each_visit_on_its_day_with_the_facilitators_load_and_downloads_as_csv_and_ics() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let schools = seven_schools(&app).await;
        let (cohort, facilitator) = cohort_of(&app, &schools).await;
        let path = format!("/v1/cohorts/{cohort}");
        app.accept_proposed_triads(&path).await;
        let (visitor, _) = console_organiser(&app).await;
        let page = format!("/o/cohorts/{cohort}/visits");

        let scheduled = submit(&visitor, &page, &format!("{page}/schedule"), &[("seed", "2")]).await;
        assert_eq!(location(&scheduled), format!("{page}?done=scheduled"), "{backend:?}");
        let visits = app.get(&format!("{path}/visits")).await.json()["items"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(visits.len(), 7, "{backend:?}: each school hosts once");

        let html = visitor.get(&format!("{page}?done=scheduled")).await.text;
        assert!(words(&html).contains("The visits are scheduled"), "{html}");
        let names: BTreeMap<i64, &str> = schools.iter().map(|s| (s.id, s.name.as_str())).collect();
        let mut by_week: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
        for v in &visits {
            let date: chrono::NaiveDate = v["date"].as_str().unwrap().parse().unwrap();
            let cell = part(&html, "data-date", &date.to_string(), "</td>");
            let host = names[&v["host_school_id"].as_i64().unwrap()];
            assert!(
                cell.contains(host) && cell.contains("Fiona Facilitator"),
                "{backend:?}: {host} hosts on {date}:\n{cell}"
            );
            let monday = date - Days::new(chrono::Datelike::weekday(&date).num_days_from_monday().into());
            *by_week.entry(monday).or_default() += 1;
        }
        let load = part(&html, "data-facilitator", &facilitator["id"].to_string(), "</tr>");
        let cells: Vec<String> = load
            .split("<td class=\"number")
            .skip(1)
            .map(|c| words(&format!("<td class=\"number{c}")).trim().to_owned())
            .collect();
        let mut expected = vec!["3".to_owned()];
        expected.extend(by_week.values().map(u64::to_string));
        expected.push("7".to_owned());
        assert_eq!(cells, expected, "{backend:?}: limit, each busy week's visits, in all");

        let csv = visitor.get(&format!("/o/cohorts/{cohort}/visits.csv")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type().starts_with("text/csv"));
        let lines: Vec<&str> = csv.text.lines().collect();
        assert_eq!(lines.len(), 8, "{}", csv.text);
        assert!(lines[0].starts_with("date,weekday,host_school_id,host,triad"));
        for v in &visits {
            let host = names[&v["host_school_id"].as_i64().unwrap()];
            assert!(
                lines.iter().any(|l| l.starts_with(v["date"].as_str().unwrap())
                    && l.contains(host)
                    && l.contains("Fiona Facilitator")),
                "{}",
                csv.text
            );
        }
        let ics = visitor.get(&format!("/o/cohorts/{cohort}/visits.ics")).await;
        assert_eq!(ics.status, 200);
        assert!(ics.content_type().starts_with("text/calendar"));
        assert_eq!(ics.text.matches("BEGIN:VEVENT").count(), 7, "{}", ics.text);
        for v in &visits {
            assert!(
                ics.text.contains(&format!("UID:session-{}@", v["session_id"])),
                "{}",
                ics.text
            );
        }

        // A seed below zero changes nothing.
        let bad = submit(&visitor, &page, &format!("{page}/replan"), &[("seed", "-1")]).await;
        assert_eq!(bad.status, 422, "{}", bad.text);
        assert_eq!(app.get(&path).await.json()["status"], "scheduled");

        // Planning again makes seven new visits in place of the seven; when every school is then
        // closed for the whole window, no plan can be made and the visits stay as they are.
        let replanned = submit(&visitor, &page, &format!("{page}/replan"), &[("seed", "5")]).await;
        assert_eq!(location(&replanned), format!("{page}?done=replanned"), "{backend:?}");
        let listed = app.get(&format!("{path}/visits")).await.json()["items"]
            .as_array()
            .unwrap()
            .clone();
        let scheduled_now = |items: &[Value]| items.iter().filter(|v| v["status"] == "scheduled").count();
        assert_eq!((listed.len(), scheduled_now(&listed)), (14, 7), "{backend:?}");
        let window = app.get(&path).await.json()["window"].clone();
        for s in &schools {
            let closed = app
                .post(
                    &format!("/v1/schools/{}/closures", s.id),
                    &json!({"closures": [{"start_date": window["start"], "end_date": window["end"], "kind": "closure"}]}),
                )
                .await;
            assert_eq!(closed.status, 201, "{}", closed.text);
        }
        let impossible = submit(&visitor, &page, &format!("{page}/replan"), &[("seed", "6")]).await;
        assert_eq!(impossible.status, 422, "{backend:?}: {}", impossible.text);
        assert!(impossible.text.contains("<a href=\"#seed\">"), "{}", impossible.text);
        let kept = app.get(&format!("{path}/visits")).await.json()["items"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(
            (kept.len(), scheduled_now(&kept)),
            (14, 7),
            "{backend:?}: the visits were not cancelled for a plan that could not be made"
        );
        // Cancelling every visit tells everyone.
        let cancelled = submit(&visitor, &page, &format!("{page}/cancel"), &[]).await;
        assert_eq!(location(&cancelled), format!("{page}?done=cancelled"));
        let after = app.get(&format!("{path}/visits")).await.json();
        assert!(
            after["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["status"] == "cancelled"),
            "{after}"
        );
        assert_eq!(app.get(&path).await.json()["status"], "triads_accepted");
        let html = visitor.get(&page).await.text;
        assert_eq!(html.matches("visit cancelled").count(), 14, "{backend:?}");
        let again = submit(&visitor, &page, &format!("{page}/cancel"), &[]).await;
        assert_eq!(again.status, 409, "{}", again.text);

        for path in [
            format!("/o/cohorts/{}/visits", cohort + 1000),
            format!("/o/cohorts/{}/visits.csv", cohort + 1000),
            format!("/o/cohorts/{}/visits.ics", cohort + 1000),
        ] {
            assert_eq!(visitor.get(&path).await.status, 404, "{path}");
            assert_eq!(WebVisitor::new(&app).get(&path).await.status, 303, "{path}");
        }
    }
}

#[tokio::test]
async fn the_triad_visits_and_school_pages_are_used_in_headless_chromium_at_phone_and_desktop_width() {
    let shots = convene_tests::browser::artifacts("insight/triads");
    for backend in backends() {
        let app = spawn_app(backend).await;
        let demo = app.load_demo().await;
        // A second cohort, still a proposal, so its page has every form on it.
        let schools = app.get("/v1/schools?phase=primary&limit=100").await.json();
        let mut by_authority: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for s in schools["items"].as_array().unwrap() {
            by_authority
                .entry(s["local_authority"].as_str().unwrap().to_owned())
                .or_default()
                .push(s["id"].as_i64().unwrap());
        }
        let chosen: Vec<i64> = by_authority
            .values()
            .take(3)
            .flat_map(|ids| ids.iter().take(2).copied())
            .collect();
        assert_eq!(chosen.len(), 6, "{by_authority:?}");
        let today = Utc::now().date_naive();
        let draft = app
            .post(
                "/v1/cohorts",
                &json!({"name": "Growing the Top 2028", "school_ids": chosen,
                        "window": {"start": today + Days::new(90), "end": today + Days::new(150)}}),
            )
            .await;
        assert_eq!(draft.status, 201, "{}", draft.text);
        let draft = draft.json()["id"].as_i64().unwrap();
        let proposed = app
            .post(&format!("/v1/cohorts/{draft}/triads:propose"), &json!({}))
            .await;
        assert_eq!(proposed.status, 200, "{}", proposed.text);
        let host =
            app.get(&format!("/v1/cohorts/{}/visits", demo.cohort_id)).await.json()["items"][0]["host_school_id"]
                .as_i64()
                .unwrap();
        let lead = app
            .create_participant(json!({"name": "Priya Shah", "email": "priya@network.example", "role": "organiser"}))
            .await;
        let dir = shots.join(format!("{backend:?}").to_lowercase());
        std::fs::create_dir_all(&dir).unwrap();
        let paths = vec![
            "/o/cohorts".to_owned(),
            format!("/o/cohorts/{}", demo.cohort_id),
            format!("/o/cohorts/{}/visits", demo.cohort_id),
            format!("/o/cohorts/{draft}"),
            format!("/o/schools/{host}"),
        ];
        for (width, pages) in convene_tests::browser::console_pages(&app, &lead, &paths, &dir).await {
            let at = format!("{backend:?} at {width} px");
            assert_eq!(pages[1]["h1"], "Growing the Top 2027: London primaries", "{at}");
            assert_eq!(
                pages[2]["h1"], "Visits of Growing the Top 2027: London primaries",
                "{at}"
            );
            assert_eq!(pages[3]["h1"], "Growing the Top 2028", "{at}");
        }
    }
}
