//! Term dates and bank holidays known by default: a local authority's closures, which its schools
//! follow unless they set their own; the public holidays of each nation, shipped with Convene; and
//! the visit scheduler, session creation and the demo all keeping clear of them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike as _, Days, NaiveDate, Utc, Weekday};
use convene_tests::reqwest::Method;
use convene_tests::web::{console_organiser, words};
use convene_tests::{COUNCIL_TERM_DATES, Reply, TestApp, json, spawn_apps};
use serde_json::Value;

async fn post_ics(app: &TestApp, path: &str, body: &str) -> Reply {
    app.send(
        app.request(Method::POST, path)
            .header("Content-Type", "text/calendar")
            .body(body.to_owned()),
    )
    .await
}

fn spans(list: &Value) -> Vec<(String, String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["start_date"].as_str().unwrap().to_owned(),
                c["end_date"].as_str().unwrap().to_owned(),
                c["summary"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// The closed days of a school as the API reports them: date → (kind, source).
async fn closed_days(
    app: &TestApp,
    school: &Value,
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<NaiveDate, (String, String)> {
    let reply = app
        .get(&format!("/v1/schools/{}/closed-days?from={from}&to={to}", school["id"]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                day(d["date"].as_str().unwrap()),
                (
                    d["kind"].as_str().unwrap().to_owned(),
                    d["source"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_local_authoritys_term_dates_are_imported_listed_and_removed_whatever_the_names_case() {
    for app in spawn_apps().await {
        app.create_school(json!({"local_authority": "Camden"})).await;
        app.create_school(json!({"local_authority": "camden "})).await;
        app.create_school(json!({"local_authority": "Hackney"})).await;

        let reply = post_ics(&app, "/v1/local-authorities/Camden/closures", COUNCIL_TERM_DATES).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["imported"].as_array().unwrap().len(), 2, "{body}");
        assert_eq!(body["skipped"][0]["summary"], "Spring term starts");
        assert_eq!(body["schools"], 2, "both spellings of Camden follow: {body}");
        assert_eq!(body["imported"][0]["local_authority"], "Camden");

        // The same file again adds nothing; JSON ranges add to it.
        let again = post_ics(&app, "/v1/local-authorities/CAMDEN/closures", COUNCIL_TERM_DATES).await;
        assert_eq!(again.json()["already_present"], 2);
        let json_reply = app
            .post(
                "/v1/local-authorities/camden/closures",
                &json!({"closures": [{"start_date": "2027-03-29", "end_date": "2027-04-09", "kind": "holiday", "summary": "Easter holiday"}]}),
            )
            .await;
        assert_eq!(json_reply.status, 201, "{}", json_reply.text);

        let list = app.get("/v1/local-authorities/Camden/closures").await;
        assert_eq!(list.status, 200);
        assert_eq!(
            spans(&list.json()),
            vec![
                ("2026-12-21".into(), "2027-01-01".into(), "Christmas holiday".into()),
                ("2027-02-15".into(), "2027-02-19".into(), "Spring half term".into()),
                ("2027-03-29".into(), "2027-04-09".into(), "Easter holiday".into()),
            ]
        );
        let touching = app
            .get("/v1/local-authorities/Camden/closures?from=2027-02-01&to=2027-03-01")
            .await
            .json();
        assert_eq!(touching.as_array().unwrap().len(), 1);
        assert_eq!(
            app.get("/v1/local-authorities/Hackney/closures").await.json(),
            json!([])
        );

        // All or nothing: one bad range refuses the whole import, naming it.
        let before = app.count("authority_closures").await;
        let bad = app
            .post(
                "/v1/local-authorities/Hackney/closures",
                &json!({"closures": [
                    {"start_date": "2027-02-15", "end_date": "2027-02-19", "kind": "holiday"},
                    {"start_date": "2027-04-09", "end_date": "2027-03-29", "kind": "holiday"}]}),
            )
            .await;
        let problem = bad.problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "closures[1].end_date", "{problem}");
        let broken = post_ics(
            &app,
            "/v1/local-authorities/Hackney/closures",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",
        )
        .await;
        broken.problem(422, "invalid_calendar");
        let long_name = "x".repeat(101);
        let named = app
            .post(
                &format!("/v1/local-authorities/{long_name}/closures"),
                &json!({"closures": []}),
            )
            .await;
        assert_eq!(named.problem(422, "validation_failed")["errors"][0]["field"], "name");
        let wrong_type = app
            .send(
                app.request(Method::POST, "/v1/local-authorities/Hackney/closures")
                    .header("Content-Type", "text/plain")
                    .body("2027-02-15"),
            )
            .await;
        wrong_type.problem(415, "unsupported_media_type");
        assert_eq!(app.count("authority_closures").await, before, "nothing was written");

        // Nobody without a key reads or writes them.
        let anonymous = app
            .send(app.anonymous(Method::GET, "/v1/local-authorities/Camden/closures"))
            .await;
        assert_eq!(anonymous.status, 401);
        let anonymous = app
            .send(
                app.anonymous(Method::POST, "/v1/local-authorities/Camden/closures")
                    .json(&json!({"closures": [{"start_date": "2027-05-03"}]})),
            )
            .await;
        assert_eq!(anonymous.status, 401);

        // One removed, then the rest.
        let first = list.json()[0]["id"].as_i64().unwrap();
        assert_eq!(
            app.delete(&format!("/v1/local-authorities/Camden/closures/{first}"))
                .await
                .status,
            204
        );
        app.delete(&format!("/v1/local-authorities/Camden/closures/{first}"))
            .await
            .problem(404, "not_found");
        assert_eq!(app.delete("/v1/local-authorities/Camden/closures").await.status, 204);
        assert_eq!(app.get("/v1/local-authorities/Camden/closures").await.json(), json!([]));
        let trail = app.get("/v1/audit?target_type=local_authority").await.json();
        assert!(
            trail["items"].as_array().unwrap().len() >= 4,
            "imports and removals are in the audit trail: {trail}"
        );
    }
}

#[tokio::test]
async fn a_schools_closed_days_join_its_own_closures_its_authoritys_term_dates_and_its_nations_bank_holidays() {
    for app in spawn_apps().await {
        let maintained = app
            .create_school(json!({"name": "Fleet Primary School", "local_authority": "Camden", "region": "London"}))
            .await;
        let academy = app
            .create_school(json!({"name": "Camden Academy", "local_authority": "Camden", "region": "London"}))
            .await;
        let edinburgh = app
            .create_school(json!({"name": "Leith Primary", "local_authority": "Edinburgh", "region": "Scotland"}))
            .await;
        let belfast = app
            .create_school(
                json!({"name": "Harbour Primary", "local_authority": "Belfast", "region": "Northern Ireland"}),
            )
            .await;
        let reply = post_ics(&app, "/v1/local-authorities/Camden/closures", COUNCIL_TERM_DATES).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        // The academy sets its own holidays for 2026/27: a week earlier at February half term,
        // and a different Christmas. Its own INSET day comes on top.
        let own = app
            .post(
                &format!("/v1/schools/{}/closures", academy["id"]),
                &json!({"closures": [
                    {"start_date": "2026-12-18", "end_date": "2027-01-04", "kind": "holiday", "summary": "Christmas"},
                    {"start_date": "2027-02-08", "end_date": "2027-02-12", "kind": "holiday", "summary": "Half term"},
                    {"start_date": "2027-03-01", "kind": "inset"}]}),
            )
            .await;
        assert_eq!(own.status, 201, "{}", own.text);
        let from = day("2026-12-14");
        let to = day("2027-03-05");

        let fleet = closed_days(&app, &maintained, from, to).await;
        // Camden's Christmas (21 Dec – 1 Jan) and half term (15–19 Feb), with the bank holidays
        // inside them shown as Camden's; nothing of the academy's.
        assert_eq!(fleet[&day("2026-12-21")], ("holiday".into(), "local_authority".into()));
        assert_eq!(fleet[&day("2027-01-01")], ("holiday".into(), "local_authority".into()));
        assert_eq!(fleet[&day("2027-02-17")], ("holiday".into(), "local_authority".into()));
        assert!(!fleet.contains_key(&day("2027-02-08")));
        assert!(!fleet.contains_key(&day("2026-12-18")));
        assert!(!fleet.contains_key(&day("2027-01-04")));
        let weekdays = |m: &BTreeMap<NaiveDate, (String, String)>| {
            m.keys().filter(|d| d.weekday().number_from_monday() <= 5).count()
        };
        assert_eq!(weekdays(&fleet), 10 + 5, "{fleet:?}");

        let academy_days = closed_days(&app, &academy, from, to).await;
        assert_eq!(academy_days[&day("2026-12-18")], ("holiday".into(), "school".into()));
        assert_eq!(academy_days[&day("2027-01-04")], ("holiday".into(), "school".into()));
        assert_eq!(academy_days[&day("2027-02-08")], ("holiday".into(), "school".into()));
        assert_eq!(academy_days[&day("2027-03-01")], ("inset".into(), "school".into()));
        assert!(
            !academy_days.contains_key(&day("2027-02-15")),
            "its own term dates override Camden's: {academy_days:?}"
        );

        // Without term dates, a school keeps its nation's bank holidays: Scotland's 2 January
        // falls on a Saturday in 2027 and moves to Monday 4 January; England's does not exist.
        let leith = closed_days(&app, &edinburgh, from, to).await;
        let holidays = |m: &BTreeMap<NaiveDate, (String, String)>| -> Vec<NaiveDate> {
            m.iter()
                .filter(|(_, (kind, source))| kind == "bank_holiday" && source == "public_holiday")
                .map(|(d, _)| *d)
                .collect()
        };
        assert_eq!(
            holidays(&leith),
            ["2026-12-25", "2026-12-28", "2027-01-01", "2027-01-04"]
                .map(day)
                .to_vec()
        );
        let harbour = closed_days(&app, &belfast, day("2027-03-01"), day("2027-07-31")).await;
        assert_eq!(
            holidays(&harbour),
            [
                "2027-03-17",
                "2027-03-26",
                "2027-03-29",
                "2027-05-03",
                "2027-05-31",
                "2027-07-12"
            ]
            .map(day)
            .to_vec()
        );

        // Bad spans are refused, naming the field.
        let reply = app
            .get(&format!(
                "/v1/schools/{}/closed-days?from=2027-01-01&to=2026-01-01",
                academy["id"]
            ))
            .await;
        assert_eq!(reply.problem(400, "invalid_query")["errors"][0]["field"], "to");
        let reply = app
            .get(&format!(
                "/v1/schools/{}/closed-days?from=2027-01-01&to=2029-01-01",
                academy["id"]
            ))
            .await;
        assert_eq!(reply.problem(400, "invalid_query")["errors"][0]["field"], "to");
        app.get("/v1/schools/999999/closed-days")
            .await
            .problem(404, "not_found");
    }
}

/// The Monday of the first week of May `year` (the early May bank holiday, in every nation).
fn early_may_bank_holiday(year: i32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, 5, 1).unwrap();
    first + Days::new(u64::from((7 - first.weekday().num_days_from_monday()) % 7))
}

#[tokio::test]
async fn visits_never_land_on_an_authority_closure_a_school_closure_or_a_bank_holiday_and_a_schools_own_term_dates_win()
{
    for app in spawn_apps().await {
        // Four weeks from the early May bank holiday of next year: W1 opens on the bank holiday.
        let w1 = early_may_bank_holiday(Utc::now().year() + 1);
        let week = |k: u64| w1 + Days::new(7 * k);
        let (start, end) = (w1, week(3) + Days::new(4));
        let school = |name: &str, la: &str| json!({"name": name, "local_authority": la, "region": "London"});
        // Triad A: an academy in Hackney with its own holidays in W3–W4, and schools of two
        // authorities with no term dates. It can meet only in W1–W2 — which Hackney's own
        // holiday would forbid, were the academy not to follow its own term dates instead.
        let academy = app.create_school(school("Hackney Academy", "Hackney")).await;
        let camden_a = app.create_school(school("Camden A", "Camden")).await;
        let islington_a = app.create_school(school("Islington A", "Islington")).await;
        // Triad B: a Hackney school that follows Hackney (closed W1–W2), so it meets in W3–W4.
        let hackney_b = app.create_school(school("Hackney B", "Hackney")).await;
        let camden_b = app.create_school(school("Camden B", "Camden")).await;
        let islington_b = app.create_school(school("Islington B", "Islington")).await;

        let reply = app
            .post(
                "/v1/local-authorities/Hackney/closures",
                &json!({"closures": [{"start_date": w1, "end_date": week(1) + Days::new(4), "kind": "holiday", "summary": "Hackney May holiday"}]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let reply = app
            .post(
                &format!("/v1/schools/{}/closures", academy["id"]),
                &json!({"closures": [{"start_date": week(2), "end_date": week(3) + Days::new(4), "kind": "holiday", "summary": "Academy holiday"}]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        // Islington A is shut on W1's Tuesday and Wednesday (a school closure of its own).
        let reply = app
            .post(
                &format!("/v1/schools/{}/closures", islington_a["id"]),
                &json!({"closures": [{"start_date": w1 + Days::new(1), "end_date": w1 + Days::new(2), "kind": "closure"}]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);

        let facilitator = app.create_participant(json!({"role": "facilitator"})).await;
        let triad_a: Vec<&Value> = vec![&academy, &camden_a, &islington_a];
        let triad_b: Vec<&Value> = vec![&hackney_b, &camden_b, &islington_b];
        let ids = |t: &[&Value]| t.iter().map(|s| s["id"].clone()).collect::<Vec<_>>();
        let all: Vec<Value> = ids(&triad_a).into_iter().chain(ids(&triad_b)).collect();
        let c = app
            .post(
                "/v1/cohorts",
                &json!({"name": "Summer visits", "school_ids": all,
                        "window": {"start": start, "end": end, "min_days_between_visits": 1},
                        "facilitators": [{"participant_id": facilitator["id"], "max_visits_per_week": 5}]}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.text);
        let path = format!("/v1/cohorts/{}", c.json()["id"]);
        let accepted = app
            .send(
                app.request(Method::PUT, &format!("{path}/triads"))
                    .json(&json!({"triads": [{"school_ids": ids(&triad_a)}, {"school_ids": ids(&triad_b)}]})),
            )
            .await;
        assert_eq!(accepted.status, 200, "{}", accepted.text);
        let reply = app.post(&format!("{path}/visits:schedule"), &json!({"seed": 3})).await;
        assert_eq!(
            reply.status, 201,
            "{:?}: the academy's triad can meet only if its own term dates win: {}",
            app.backend, reply.text
        );
        let visits = reply.json()["visits"].as_array().unwrap().clone();
        assert_eq!(visits.len(), 6);

        let a_ids: BTreeSet<i64> = triad_a.iter().map(|s| s["id"].as_i64().unwrap()).collect();
        let islington_closed = [w1 + Days::new(1), w1 + Days::new(2)];
        for v in &visits {
            let date: NaiveDate = v["date"].as_str().unwrap().parse().unwrap();
            assert_ne!(date, w1, "never on the bank holiday: {v}");
            assert!(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun));
            if a_ids.contains(&v["host_school_id"].as_i64().unwrap()) {
                assert!(date < week(2), "not in the academy's own holiday: {v}");
                assert!(!islington_closed.contains(&date), "not on Islington A's closure: {v}");
            } else {
                assert!(
                    date >= week(2),
                    "not in Hackney's holiday, which Hackney B follows: {v}"
                );
            }
        }

        // The console's calendar hatches the same days, naming why.
        let (console, _) = console_organiser(&app).await;
        let page = console.get(&format!("/o/cohorts/{}/visits", c.json()["id"])).await;
        assert_eq!(page.status, 200);
        let text = words(&page.text);
        assert!(text.contains("Early May bank holiday"), "{text}");
        assert!(text.contains("Closed: Hackney Academy (Academy holiday)"), "{text}");
        assert!(text.contains("Hackney B (Hackney May holiday)"), "{text}");
    }
}

#[tokio::test]
async fn a_session_on_a_day_its_schools_are_closed_is_saved_with_a_warning() {
    for app in spawn_apps().await {
        let leith = app
            .create_school(json!({"name": "Leith Primary", "local_authority": "Edinburgh", "region": "Scotland"}))
            .await;
        let fleet = app
            .create_school(json!({"name": "Fleet Primary School", "local_authority": "Camden", "region": "London"}))
            .await;
        let reply = post_ics(&app, "/v1/local-authorities/Camden/closures", COUNCIL_TERM_DATES).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let year = Utc::now().year() + 1;
        // St Andrew's Day: a bank holiday in Scotland, not in England.
        let st_andrew = {
            let d = NaiveDate::from_ymd_opt(year, 11, 30).unwrap();
            match d.weekday() {
                Weekday::Sat => d + Days::new(2),
                Weekday::Sun => d + Days::new(1),
                _ => d,
            }
        };
        let slp = app
            .create_event(
                json!({"host_school_id": leith["id"], "title": "Reading network meeting", "venue": "Leith Primary"}),
            )
            .await;
        let at = |d: NaiveDate| json!({"start": format!("{d}T16:00"), "end": format!("{d}T17:00"), "capacity": 30});
        let session = app.create_session(&slp["id"], at(st_andrew)).await;
        let warnings = session["warnings"].as_array().expect("a warning");
        assert_eq!(warnings.len(), 1, "{session}");
        assert_eq!(warnings[0]["code"], "closed_day");
        assert_eq!(warnings[0]["date"], st_andrew.to_string());
        assert_eq!(warnings[0]["school_ids"], json!([leith["id"]]));
        let message = warnings[0]["message"].as_str().unwrap();
        assert!(
            message.contains("Leith Primary") && message.contains("St Andrew"),
            "{message}"
        );
        // Saved all the same.
        let read = app.get(&format!("/v1/sessions/{}", session["id"])).await;
        assert_eq!(read.status, 200);
        assert!(
            read.json().get("warnings").is_none(),
            "a warning is said once, when it applies"
        );

        // The same day at an English school is an ordinary day; Camden's half term is not.
        let conference = app.create_event(json!({"host_school_id": fleet["id"]})).await;
        let plain = app.create_session(&conference["id"], at(st_andrew)).await;
        assert!(plain.get("warnings").is_none(), "{plain}");
        let half_term = app.create_session(&conference["id"], at(day("2027-02-16"))).await;
        let message = half_term["warnings"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("Fleet Primary School (Spring half term)"),
            "{half_term}"
        );

        // Moving a session onto a closed day warns too.
        let moved = app
            .patch(
                &format!("/v1/sessions/{}", plain["id"]),
                &json!({"start": format!("{}T16:00", day("2027-02-17")), "end": format!("{}T17:00", day("2027-02-17"))}),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        assert_eq!(moved.json()["warnings"][0]["date"], "2027-02-17");

        // An event with no schools of its own is checked against England and Wales's holidays.
        let open = app.create_event(json!({"title": "Network day"})).await;
        let may = app.create_session(&open["id"], at(early_may_bank_holiday(year))).await;
        let message = may["warnings"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("public holiday in England and Wales") && message.contains("Early May bank holiday"),
            "{may}"
        );
        let ordinary = app
            .create_session(&open["id"], at(early_may_bank_holiday(year) + Days::new(1)))
            .await;
        assert!(ordinary.get("warnings").is_none(), "{ordinary}");
    }
}

#[tokio::test]
async fn the_demo_loads_term_dates_so_no_session_or_visit_falls_in_a_holiday() {
    for app in spawn_apps().await {
        let demo = app.load_demo().await;
        let today = Utc::now().date_naive();
        let camden = app.get("/v1/local-authorities/Camden/closures").await.json();
        let summaries: BTreeSet<&str> = camden
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["summary"].as_str())
            .collect();
        for term in [
            "Autumn half term",
            "Christmas holiday",
            "Spring half term",
            "Easter holiday",
            "Summer holiday",
        ] {
            assert!(summaries.contains(term), "{term}: {summaries:?}");
        }
        let schools = app.get("/v1/schools?limit=100").await.json();
        let schools = schools["items"].as_array().unwrap().clone();
        assert_eq!(schools.len(), 24);
        let mut closed: BTreeSet<NaiveDate> = BTreeSet::new();
        for s in &schools {
            for from in [today - Days::new(100), today + Days::new(180)] {
                closed.extend(closed_days(&app, s, from, from + Days::new(180)).await.into_keys());
            }
        }
        // The days of every session: the conference's, the SLP sessions', last term's, the visits'.
        let events = app.get("/v1/events?limit=100&from=2000-01-01").await;
        assert_eq!(events.status, 200, "{}", events.text);
        let events = events.json();
        let mut checked = 0;
        for e in events["items"].as_array().unwrap() {
            let sessions = app.get(&format!("/v1/events/{}/sessions", e["id"])).await.json();
            for s in sessions["items"].as_array().unwrap() {
                let local = day(&s["start_local"].as_str().unwrap()[..10]);
                assert!(
                    !closed.contains(&local),
                    "{} on {local} falls on a closed day",
                    e["title"]
                );
                checked += 1;
            }
        }
        let visits = app.get(&format!("/v1/cohorts/{}/visits", demo.cohort_id)).await.json();
        let visits = visits["items"]
            .as_array()
            .or_else(|| visits.as_array())
            .unwrap()
            .clone();
        assert!(!visits.is_empty());
        for v in &visits {
            let date = day(v["date"].as_str().unwrap());
            assert!(!closed.contains(&date), "visit {v} falls on a closed day");
        }
        assert!(
            checked >= 5,
            "the conference, SLP sessions and last term's were checked: {checked}"
        );
    }
}
