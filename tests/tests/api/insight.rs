//! Insight over HTTP: every school's engagement in a period and the collaboration links between
//! schools, on a small network built here whose every number is known by hand.

use chrono::{Days, Utc};
use convene_tests::{TestApp, backends, json, spawn_app};
use reqwest::Method;
use serde_json::Value;

/// Five schools in four authorities, four people, three sessions and a triad:
/// - Ash (Camden) and Cedar (Hackney) attend the conference's plenary; Birch (Camden) booked it
///   but did not come, and also booked the second conference, still to happen;
/// - Damson (Islington) leads an SLP session that Ash attends, and books the second conference;
/// - Ash, Cedar and Damson form an accepted triad; Elm (Lambeth) does nothing.
struct Network {
    ids: [i64; 5],
    programme: Value,
    period: String,
}

async fn network(app: &TestApp) -> Network {
    let mut ids = [0; 5];
    for (i, (name, la, phase)) in [
        ("Ash Primary", "Camden", "primary"),
        ("Birch Primary", "Camden", "primary"),
        ("Cedar Secondary", "Hackney", "secondary"),
        ("Damson Primary", "Islington", "primary"),
        ("Elm Primary", "Lambeth", "primary"),
    ]
    .into_iter()
    .enumerate()
    {
        ids[i] = app
            .create_school(json!({"name": name, "local_authority": la, "phase": phase}))
            .await["id"]
            .as_i64()
            .unwrap();
    }
    let person = |school: i64, name: &str| {
        let body = json!({"name": name, "school_id": school});
        async move { app.create_participant(body).await["id"].as_i64().unwrap() }
    };
    let (ash, birch, cedar, damson) = (
        person(ids[0], "Ann").await,
        person(ids[1], "Bob").await,
        person(ids[2], "Cat").await,
        person(ids[3], "Dev").await,
    );
    let at = |minutes: i64| {
        (Utc::now() + chrono::Duration::minutes(minutes))
            .format("%Y-%m-%dT%H:%M:00Z")
            .to_string()
    };
    let programme = app
        .post(
            "/v1/programmes",
            &json!({"name": "Sharing Leading Practice", "kind": "slp_programme"}),
        )
        .await
        .json();
    let conference = app.create_event(json!({"title": "Spring conference"})).await;
    let plenary = app
        .create_session(
            &conference["id"],
            json!({"start": at(30), "end": at(90), "capacity": 10}),
        )
        .await;
    let slp = app
        .create_event(
            json!({"kind": "slp_session", "title": "SLP: reading", "host_school_id": ids[3],
                             "topic": "reading", "programme_id": programme["id"]}),
        )
        .await;
    let led = app
        .create_session(&slp["id"], json!({"start": at(100), "end": at(160), "capacity": 10}))
        .await;
    let later = app.create_event(json!({"title": "Summer conference"})).await;
    let summer = app
        .create_session(
            &later["id"],
            json!({"start": at(4 * 24 * 60), "end": at(4 * 24 * 60 + 60), "capacity": 10}),
        )
        .await;
    for (session, person) in [
        (&plenary, ash),
        (&plenary, birch),
        (&plenary, cedar),
        (&led, ash),
        (&summer, birch),
        (&summer, damson),
    ] {
        let booked = app.book(&session["id"], person).await;
        assert_eq!(booked.status, 201, "{}", booked.text);
    }
    app.clock.advance(chrono::TimeDelta::hours(3));
    for (session, marks) in [
        (
            &plenary,
            json!([{"participant_id": ash, "status": "attended"}, {"participant_id": cedar, "status": "attended"},
                          {"participant_id": birch, "status": "no_show"}]),
        ),
        (&led, json!([{"participant_id": ash, "status": "attended"}])),
    ] {
        let marked = app
            .post(
                &format!("/v1/sessions/{}/attendance", session["id"]),
                &json!({"marks": marks}),
            )
            .await;
        assert_eq!(marked.status, 200, "{}", marked.text);
    }
    let today = Utc::now().date_naive();
    let cohort = app
        .post(
            "/v1/cohorts",
            &json!({"name": "Triads", "school_ids": [ids[0], ids[2], ids[3]],
                    "window": {"start": today + Days::new(14), "end": today + Days::new(60)},
                    "options": {"allow_mixed_phase": true}}),
        )
        .await;
    assert_eq!(cohort.status, 201, "{}", cohort.text);
    let accepted = app
        .send(
            app.request(Method::PUT, &format!("/v1/cohorts/{}/triads", cohort.json()["id"]))
                .json(&json!({"triads": [{"school_ids": [ids[0], ids[2], ids[3]]}]})),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    Network {
        ids,
        programme,
        period: format!("from={today}&to={}", today + Days::new(90)),
    }
}

#[tokio::test]
async fn engagement_counts_what_each_schools_staff_did_and_lists_the_schools_doing_nothing_first() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let n = network(&app).await;
        let report = app.get(&format!("/v1/engagement?{}", n.period)).await;
        assert_eq!(report.status, 200, "{}", report.text);
        let report = report.json();
        let rows = report["items"].as_array().unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "Elm Primary",
                "Birch Primary",
                "Ash Primary",
                "Cedar Secondary",
                "Damson Primary"
            ],
            "{backend:?}: none first, then booked only, then engaged, each by name"
        );
        let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap().clone();
        let ash = row("Ash Primary");
        assert_eq!(ash["state"], "engaged");
        assert_eq!(
            (ash["booked"].as_u64(), ash["attended"].as_u64()),
            (Some(2), Some(2)),
            "{ash}"
        );
        assert_eq!(ash["booked_by_kind"], json!({"conference": 1, "slp_session": 1}));
        assert_eq!(ash["attended_by_kind"], json!({"conference": 1, "slp_session": 1}));
        assert_eq!(ash["triads"], 1);
        let birch = row("Birch Primary");
        assert_eq!(birch["state"], "booked_only", "{birch}");
        assert_eq!(
            (birch["booked"].as_u64(), birch["attended"].as_u64()),
            (Some(2), Some(0))
        );
        let damson = row("Damson Primary");
        assert_eq!(
            damson["state"], "engaged",
            "leading a published session engages: {damson}"
        );
        assert_eq!(
            (damson["slp_led"].as_u64(), damson["attended"].as_u64()),
            (Some(1), Some(0))
        );
        assert_eq!(row("Elm Primary")["state"], "none");
        assert_eq!(
            report["totals"]["all"],
            json!({"engaged": 3, "booked_only": 1, "none": 1})
        );
        assert_eq!(
            report["totals"]["by_local_authority"]["Camden"],
            json!({"engaged": 1, "booked_only": 1, "none": 0})
        );
        assert_eq!(
            report["totals"]["by_phase"]["secondary"],
            json!({"engaged": 1, "booked_only": 0, "none": 0})
        );

        // Filters: an authority, a programme (only the SLP session is in it), and the period.
        let camden = app
            .get(&format!("/v1/engagement?{}&local_authority=camden", n.period))
            .await
            .json();
        assert_eq!(camden["items"].as_array().unwrap().len(), 2, "{backend:?}");
        let slp = app
            .get(&format!(
                "/v1/engagement?{}&programme_id={}",
                n.period, n.programme["id"]
            ))
            .await
            .json();
        let ash = slp["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "Ash Primary")
            .unwrap()
            .clone();
        assert_eq!(
            (ash["booked"].as_u64(), ash["triads"].as_u64()),
            (Some(1), Some(0)),
            "{backend:?}: {ash}"
        );
        let long_ago = app.get("/v1/engagement?from=2024-01-01&to=2024-12-31").await.json();
        assert_eq!(long_ago["totals"]["all"]["none"], 5);

        app.get("/v1/engagement?from=2027-02-30")
            .await
            .problem(422, "validation_failed");
        let backwards = app.get("/v1/engagement?from=2027-02-02&to=2027-02-01").await;
        assert_eq!(backwards.status, 200, "an empty period: {}", backwards.text);
        assert_eq!(
            backwards.json()["totals"]["all"]["none"],
            5,
            "nothing happens in no days"
        );
        app.get("/v1/engagement?school=1").await.problem(400, "invalid_query");
        assert_eq!(app.send(app.anonymous(Method::GET, "/v1/engagement")).await.status, 401);
    }
}

#[tokio::test]
async fn schools_are_linked_when_their_staff_met_or_share_a_triad_never_by_a_booking_alone() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let n = network(&app).await;
        let [ash, birch, cedar, damson, elm] = n.ids;
        let c = app.get(&format!("/v1/collaboration?{}", n.period)).await;
        assert_eq!(c.status, 200, "{}", c.text);
        let c = c.json();
        let links: Vec<(Vec<i64>, Vec<String>, u64)> = c["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["school_ids"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i.as_i64().unwrap())
                        .collect(),
                    l["kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap().to_owned())
                        .collect(),
                    l["count"].as_u64().unwrap(),
                )
            })
            .collect();
        let owned = |kinds: &[&str]| kinds.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            links,
            vec![
                (vec![ash, cedar], owned(&["attended_together", "triad"]), 2),
                (vec![ash, damson], owned(&["hosted", "triad"]), 2),
                (vec![cedar, damson], owned(&["triad"]), 1),
            ],
            "{backend:?}: Birch's no-show and the bookings of a conference still to come link nobody"
        );
        let partners = |id: i64| {
            let p = c["schools"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["school_id"] == id)
                .unwrap();
            (
                p["partners"].as_u64().unwrap(),
                p["partners_outside_authority"].as_u64().unwrap(),
            )
        };
        assert_eq!(partners(ash), (2, 2));
        assert_eq!(partners(birch), (0, 0));
        assert_eq!(partners(elm), (0, 0));
        assert_eq!(
            c["authorities"]["names"],
            json!(["Camden", "Hackney", "Islington", "Lambeth"])
        );
        assert_eq!(
            c["authorities"]["matrix"],
            json!([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]]),
            "{backend:?}"
        );

        let slp = app
            .get(&format!(
                "/v1/collaboration?{}&programme_id={}",
                n.period, n.programme["id"]
            ))
            .await
            .json();
        assert_eq!(
            slp["links"],
            json!([{"school_ids": [ash, damson], "kinds": ["hosted"], "count": 1}])
        );
    }
}

#[tokio::test]
async fn the_engagement_page_draws_the_bars_it_counts_and_gives_the_table_as_csv() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let n = network(&app).await;
        let (visitor, _) = convene_tests::web::console_organiser(&app).await;
        let page = visitor.get(&format!("/o/engagement?{}", n.period)).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.text);
        let html = &page.text;
        let chart = {
            let start = html.find("<svg").expect("an inline chart");
            &html[start..start + html[start..].find("</svg>").unwrap()]
        };
        assert!(
            chart.contains("id=\"engagement-chart\"") && chart.contains("role=\"img\""),
            "{chart}"
        );
        assert!(
            chart.contains("<title id=\"engagement-chart-title\">Schools engaged"),
            "{chart}"
        );
        // One bar part a state with schools in it: Camden engaged and booked only; Hackney and
        // Islington engaged; Lambeth doing nothing — in the Okabe–Ito blue, orange and pink.
        let parts = |colour: &str| chart.matches(&format!("fill=\"{colour}\"")).count();
        assert_eq!(
            (parts("#0072B2"), parts("#E69F00"), parts("#CC79A7")),
            (3, 1, 1),
            "{backend:?}: {chart}"
        );
        let texts: Vec<String> = chart
            .split("<text")
            .skip(1)
            .map(|t| {
                t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()]
                    .trim()
                    .to_owned()
            })
            .collect();
        for label in ["Camden", "Hackney", "Islington", "Lambeth"] {
            assert!(texts.iter().any(|t| t == label), "{label} labels its bar: {texts:?}");
        }
        assert!(html.contains("id=\"links-chart\""), "the heat map is there too");
        let table = &html[html.find("id=\"authority-table\"").unwrap()..];
        assert!(
            table.contains("Camden"),
            "a table of the same numbers is beside the chart"
        );

        let csv = visitor.get(&format!("/o/engagement.csv?{}", n.period)).await;
        assert_eq!(csv.status, 200);
        let lines: Vec<&str> = csv.text.lines().collect();
        assert_eq!(lines.len(), 6, "{}", csv.text);
        assert!(lines[0].starts_with("school_id,name,local_authority,phase,state,booked,attended"));
        assert!(lines[1].contains(",Elm Primary,Lambeth,primary,none,"), "{}", lines[1]);

        let bad = visitor.get("/o/engagement?from=yesterday").await;
        assert_eq!(bad.status, 422, "{}", bad.text);
        assert!(bad.text.contains("href=\"#from\""), "the problem links to its field");
    }
}

#[tokio::test]
async fn a_schools_page_lists_its_partners_and_its_activity_newest_first() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let n = network(&app).await;
        let [ash, birch, cedar, damson, elm] = n.ids;
        let (visitor, _) = convene_tests::web::console_organiser(&app).await;
        let page = visitor.get(&format!("/o/schools/{ash}")).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.text);
        let html = &page.text;
        let partners = &html[html.find("id=\"partners\"").expect("a table of partners")..];
        let partners = &partners[..partners.find("</table>").unwrap()];
        let rows: Vec<&str> = partners.split("<tr data-partner=").skip(1).collect();
        assert_eq!(rows.len(), 2, "{backend:?}: Cedar and Damson, never Birch:\n{partners}");
        let row = |id: i64| {
            let row = rows
                .iter()
                .find(|r| r.starts_with(&format!("\"{id}\"")))
                .unwrap_or_else(|| panic!("school {id} is a partner:\n{partners}"));
            convene_tests::web::words(row)
        };
        let cedar_row = row(cedar);
        assert!(
            cedar_row.contains("Cedar Secondary")
                && cedar_row.contains("at a session together; in a triad")
                && cedar_row.contains("another authority")
                && cedar_row.trim_end().ends_with('2'),
            "{backend:?}: {cedar_row}"
        );
        let damson_row = row(damson);
        assert!(
            damson_row.contains("one hosted or led, the other attended; in a triad"),
            "{damson_row}"
        );
        for other in [birch, elm] {
            assert!(!partners.contains(&format!("\"{other}\"")), "{partners}");
        }
        assert!(
            convene_tests::web::words(html).contains("2 partners, 2 outside its local authority"),
            "{html}"
        );

        // Newest first: the triad (its cohort starts in a fortnight), the SLP session, the plenary.
        let timeline = &html[html.find("id=\"timeline\"").expect("a timeline")..];
        let timeline = &timeline[..timeline.find("</table>").unwrap()];
        let kinds: Vec<&str> = timeline
            .split("<tr data-kind=\"")
            .skip(1)
            .map(|r| &r[..r.find('"').unwrap()])
            .collect();
        assert_eq!(kinds, ["triad", "attended", "attended"], "{backend:?}: {timeline}");
        let said = convene_tests::web::words(timeline);
        let (slp, plenary) = (
            said.find("SLP: reading").unwrap(),
            said.find("Spring conference").unwrap(),
        );
        assert!(slp < plenary, "{said}");

        // Birch booked the summer conference (still to come) and missed the plenary.
        let birch_page = visitor.get(&format!("/o/schools/{birch}")).await.text;
        let birch_said = convene_tests::web::words(&birch_page);
        assert!(birch_said.contains("0 partners"), "{birch_said}");
        assert!(birch_said.contains("Booked Summer conference"), "{birch_said}");
        assert!(birch_page.contains("data-kind=\"no_show\""), "{birch_page}");
        let elm_page = visitor.get(&format!("/o/schools/{elm}")).await.text;
        assert!(
            convene_tests::web::words(&elm_page).contains("its staff have not booked"),
            "{elm_page}"
        );
    }
}

#[tokio::test]
async fn a_session_a_school_led_and_its_own_staff_attended_counts_once_for_the_two_schools() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let host = app
            .create_school(json!({"name": "Host Primary", "local_authority": "Camden"}))
            .await["id"]
            .as_i64()
            .unwrap();
        let guest = app
            .create_school(json!({"name": "Guest Primary", "local_authority": "Hackney"}))
            .await["id"]
            .as_i64()
            .unwrap();
        let leader = app.create_participant(json!({"school_id": host})).await["id"]
            .as_i64()
            .unwrap();
        let visitor = app.create_participant(json!({"school_id": guest})).await["id"]
            .as_i64()
            .unwrap();
        let at = |minutes: i64| {
            (Utc::now() + chrono::Duration::minutes(minutes))
                .format("%Y-%m-%dT%H:%M:00Z")
                .to_string()
        };
        let slp = app
            .create_event(
                json!({"kind": "slp_session", "title": "SLP: reading", "host_school_id": host, "topic": "reading"}),
            )
            .await;
        let session = app
            .create_session(&slp["id"], json!({"start": at(30), "end": at(90), "capacity": 10}))
            .await;
        for person in [leader, visitor] {
            assert_eq!(app.book(&session["id"], person).await.status, 201);
        }
        app.clock.advance(chrono::TimeDelta::hours(2));
        let marked = app
            .post(
                &format!("/v1/sessions/{}/attendance", session["id"]),
                &json!({"marks": [{"participant_id": leader, "status": "attended"}, {"participant_id": visitor, "status": "attended"}]}),
            )
            .await;
        assert_eq!(marked.status, 200, "{}", marked.text);
        let today = Utc::now().date_naive();
        let c = app
            .get(&format!("/v1/collaboration?from={today}&to={}", today + Days::new(1)))
            .await
            .json();
        assert_eq!(
            c["links"],
            json!([{"school_ids": [host.min(guest), host.max(guest)], "kinds": ["attended_together", "hosted"], "count": 1}]),
            "{backend:?}: one session, however they met there"
        );
    }
}
