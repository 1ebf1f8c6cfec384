//! A survey's page and a programme's impact page in the console, over HTTP: their charts read
//! from the markup (the numbers written on the bars), the tables beside them, the impact CSV,
//! no names on an anonymous survey's page, and the sign-in form for a visitor signed out. The
//! small network is built here, so every number is known by hand.

use chrono::{Duration, Utc};
use convene_api::domain::survey;
use convene_tests::web::{WebVisitor, console_organiser, plain};
use convene_tests::{TestApp, backends, json, spawn_app};
use reqwest::Method;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::Value;

/// The participants' names: none may appear on an anonymous survey's page.
const NAMES: [&str; 3] = ["Wilhelmina Okonkwo", "Bartholomew Fennimore", "Clementine Arbuthnot"];

/// The network: two schools, three people, a programme of two events and two surveys.
/// - "Reading Together launch" (held): Wilhelmina (Ash) and Bartholomew (Birch) attended,
///   Clementine (Ash) did not come; "Reading Together follow-up": Clementine booked, not marked.
/// - The named survey, sent 14 days after the launch to the two who came (day 0): Wilhelmina
///   answers at once (rating 4, a plan, Reading), Bartholomew two days later (rating 5, a plan,
///   Reading and Oracy); the follow-up goes out on day 28 and Wilhelmina answers it (rating 5,
///   did it: yes). So: ratings 4 ×1 and 5 ×2; Maths 0, Oracy 1, Reading 2; 2 planned, 1 done,
///   1 not followed up; invited 2, 2, 4 and answered 1, 2, 3 on days 0, 2 and 28.
/// - The anonymous survey, sent now; Wilhelmina answers its one question.
/// - Clementine reflects on the launch.
pub struct Network {
    /// The programme's id.
    pub programme: i64,
    /// The two events' ids: the launch, the follow-up.
    pub events: [i64; 2],
    /// The named survey's id.
    pub named: i64,
    /// The anonymous survey's id.
    pub anonymous: i64,
}

/// The form links queued for `participant`, oldest first.
async fn links(app: &TestApp, participant: i64) -> Vec<String> {
    entity::notification::Entity::find()
        .filter(entity::notification::Column::ParticipantId.eq(participant))
        .filter(entity::notification::Column::Kind.eq("survey_invitation"))
        .filter(entity::notification::Column::Channel.eq("email"))
        .order_by_asc(entity::notification::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.payload["url"].as_str().unwrap().to_owned())
        .collect()
}

/// Answers the survey form at `url` (as its reader would, signed out).
async fn answer(app: &TestApp, url: &str, fields: &[(&str, &str)]) {
    let path = format!("/s/{}", url.rsplit("/s/").next().unwrap());
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let reply = app
        .send(
            app.anonymous(Method::POST, &path)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Builds the network (see [`Network`]).
pub async fn network(app: &TestApp) -> Network {
    let ash = app
        .create_school(json!({"name": "Ash Primary", "local_authority": "Camden"}))
        .await["id"]
        .clone();
    let birch = app
        .create_school(json!({"name": "Birch Primary", "local_authority": "Hackney"}))
        .await["id"]
        .clone();
    let person = |name: &str, school: &Value| {
        let body = json!({"name": name, "school_id": school});
        async move { app.create_participant(body).await["id"].as_i64().unwrap() }
    };
    let (wil, bart, clem) = (
        person(NAMES[0], &ash).await,
        person(NAMES[1], &birch).await,
        person(NAMES[2], &ash).await,
    );
    let programme = app
        .post(
            "/v1/programmes",
            &json!({"name": "Reading Together", "kind": "conference_series"}),
        )
        .await;
    assert_eq!(programme.status, 201, "{}", programme.text);
    let programme = programme.json()["id"].as_i64().unwrap();
    let at = |minutes: i64| {
        (Utc::now() + Duration::minutes(minutes))
            .format("%Y-%m-%dT%H:%M:00Z")
            .to_string()
    };
    let launch = app
        .create_event(json!({"title": "Reading Together launch", "programme_id": programme}))
        .await;
    let held = app
        .create_session(&launch["id"], json!({"start": at(30), "end": at(90), "capacity": 10}))
        .await;
    let follow = app
        .create_event(json!({"title": "Reading Together follow-up", "programme_id": programme}))
        .await;
    let later = app
        .create_session(
            &follow["id"],
            json!({"start": at(4 * 24 * 60), "end": at(4 * 24 * 60 + 60), "capacity": 10}),
        )
        .await;
    for (session, p) in [(&held, wil), (&held, bart), (&held, clem), (&later, clem)] {
        let booked = app.book(&session["id"], p).await;
        assert_eq!(booked.status, 201, "{}", booked.text);
    }
    app.clock.advance(chrono::TimeDelta::hours(3));
    let marks = json!({"marks": [
        {"participant_id": wil, "status": "attended"},
        {"participant_id": bart, "status": "attended"},
        {"participant_id": clem, "status": "no_show"}
    ]});
    let marked = app
        .post(&format!("/v1/sessions/{}/attendance", held["id"]), &marks)
        .await;
    assert_eq!(marked.status, 200, "{}", marked.text);

    let named = app
        .post(
            "/v1/surveys",
            &json!({"title": "After the launch", "event_id": launch["id"], "offsets_days": [14, 42], "questions": [
                {"key": "useful", "kind": "likert", "prompt": "How useful was it for your school?", "required": true},
                {"key": "plan", "kind": "intended_action", "prompt": "What will you try in the next six weeks?"},
                {"key": "follow", "kind": "action_follow_up", "prompt": "Did you? What changed? How do you know?"},
                {"key": "areas", "kind": "multi_choice", "prompt": "Which areas will it touch?", "options": ["Oracy", "Reading", "Maths"]},
                {"key": "other", "kind": "text", "prompt": "Anything else?"}
            ]}),
        )
        .await;
    assert_eq!(named.status, 201, "{}", named.text);
    let named = named.json()["id"].as_i64().unwrap();
    let site = app.address.clone();

    // Day 0: fourteen days after the launch, the two who came are invited.
    app.clock.advance(chrono::TimeDelta::days(14));
    survey::sweep(&app.db, &site, app.clock.now()).await.unwrap();
    assert_eq!(links(app, wil).await.len(), 1);
    assert_eq!(links(app, bart).await.len(), 1);
    assert!(links(app, clem).await.is_empty(), "Clementine did not come");
    answer(
        app,
        &links(app, wil).await[0],
        &[
            ("useful", "4"),
            ("plan", "Paired reading every morning"),
            ("areas", "Reading"),
        ],
    )
    .await;
    app.clock.advance(chrono::TimeDelta::days(2));
    answer(
        app,
        &links(app, bart).await[0],
        &[
            ("useful", "5"),
            ("plan", "A book club at lunchtime"),
            ("areas", "Reading"),
            ("areas", "Oracy"),
            ("other", "The speakers were great"),
        ],
    )
    .await;
    // Day 28: the follow-up, which Wilhelmina answers.
    app.clock.advance(chrono::TimeDelta::days(26));
    survey::sweep(&app.db, &site, app.clock.now()).await.unwrap();
    let second = links(app, wil).await;
    assert_eq!(second.len(), 2, "{second:?}");
    answer(
        app,
        &second[1],
        &[
            ("useful", "5"),
            ("follow.done", "yes"),
            ("follow.what_changed", "Pupils read aloud more"),
            ("follow.evidence", "Reading logs"),
        ],
    )
    .await;

    let anonymous = app
        .post(
            "/v1/surveys",
            &json!({"title": "Tell us honestly", "event_id": launch["id"], "anonymous": true, "questions": [
                {"key": "honest", "kind": "text", "prompt": "What would you change?", "required": true},
                {"key": "score", "kind": "likert", "prompt": "How well was it run?"}
            ]}),
        )
        .await;
    assert_eq!(anonymous.status, 201, "{}", anonymous.text);
    let anonymous = anonymous.json()["id"].as_i64().unwrap();
    let sent = app
        .post(&format!("/v1/surveys/{anonymous}/invitations:send"), &json!({}))
        .await;
    assert!(sent.status.is_success(), "{}", sent.text);
    answer(
        app,
        links(app, wil).await.last().unwrap(),
        &[("honest", "Longer breaks"), ("score", "3")],
    )
    .await;

    let reflected = app
        .post(
            "/v1/reflections",
            &json!({"participant_id": clem, "event_id": launch["id"], "what_tried": "Reading aloud daily",
                    "what_changed": "Pupils choose books for themselves", "evidence": "Library loans doubled"}),
        )
        .await;
    assert_eq!(reflected.status, 201, "{}", reflected.text);
    Network {
        programme,
        events: [launch["id"].as_i64().unwrap(), follow["id"].as_i64().unwrap()],
        named,
        anonymous,
    }
}

/// The inline `<svg>` whose id is `id` in `html` (failing the test if there is none).
fn svg<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no chart {id} in the page:\n{html}"));
    let start = html[..at].rfind("<svg").expect("the chart is an inline svg");
    let end = at + html[at..].find("</svg>").expect("the svg ends");
    &html[start..end]
}

/// The texts of a chart's `<text>` elements, in order (axis ticks first, then each bar's label
/// followed by the numbers on its parts).
fn texts(chart: &str) -> Vec<String> {
    chart
        .split("<text")
        .skip(1)
        .map(|t| plain(t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()].trim()))
        .collect()
}

/// The texts after the bar labelled `label`, up to the next text that is not a number: the
/// numbers written on that bar's parts, in order.
fn bar(chart: &str, label: &str) -> Vec<String> {
    let all = texts(chart);
    let at = all
        .iter()
        .position(|t| t == label)
        .unwrap_or_else(|| panic!("no bar labelled {label:?}: {all:?}"));
    all[at + 1..]
        .iter()
        .take_while(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()))
        .cloned()
        .collect()
}

/// How many shapes of `colour` (plotters writes it in capitals) the chart has.
fn parts(chart: &str, colour: &str) -> usize {
    chart.matches(&format!("fill=\"{colour}\"")).count()
}

/// The cells of the table row whose opening tag holds `marker`, as text.
fn row(html: &str, marker: &str) -> Vec<String> {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no row {marker} in:\n{html}"));
    let end = at + html[at..].find("</tr>").unwrap();
    let mut cells = Vec::new();
    for cell in html[at..end].split("<td").skip(1) {
        let inner = &cell[cell.find('>').unwrap() + 1..];
        let inner = &inner[..inner.find("</td>").unwrap_or(inner.len())];
        let mut text = String::new();
        let mut in_tag = false;
        for c in inner.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        cells.push(plain(text.trim()));
    }
    cells
}

#[tokio::test]
async fn a_surveys_page_draws_each_ratings_choices_and_follow_ups_as_bars_with_the_numbers_of_its_known_answers() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let n = network(&app).await;
        let (visitor, _) = console_organiser(&app).await;
        let page = visitor.get(&format!("/o/surveys/{}", n.named)).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.text);
        let html = &page.text;

        // The rating: one bar of 3 answers, a 4 (sky blue) and two 5s (blue).
        let rating = svg(html, "q1-chart");
        assert!(rating.contains("role=\"img\""), "{rating}");
        assert!(
            rating.contains("<title id=\"q1-chart-title\">Answers from 1 to 5 to: How useful"),
            "{rating}"
        );
        assert_eq!(bar(rating, "3 answers"), ["1", "2"], "{backend:?}: {:?}", texts(rating));
        assert_eq!((parts(rating, "#56B4E9"), parts(rating, "#0072B2")), (1, 1), "{rating}");
        let table = &html[html.find("id=\"q1-table\"").unwrap()..];
        assert!(
            table.contains("<td>4</td><td class=\"number\">1</td>")
                && table.contains("<td>5</td><td class=\"number\">2</td>"),
            "the table gives the same numbers"
        );

        // The intended action: two planned, one done, one not followed up yet.
        let plans = svg(html, "q2-chart");
        assert_eq!(bar(plans, "2 planned"), ["1", "1"], "{:?}", texts(plans));
        assert_eq!(
            (parts(plans, "#009E73"), parts(plans, "#56B4E9")),
            (1, 1),
            "done in green, not followed up in sky blue: {plans}"
        );
        let actions = &html[html.find("id=\"q2-table\"").unwrap()..];
        for (word, count) in [("Done", 1), ("Partly", 0), ("Not yet", 0), ("Not followed up yet", 1)] {
            assert!(
                actions.contains(&format!("<td>{word}</td><td class=\"number\">{count}</td>")),
                "{word}: {count}"
            );
        }
        // The follow-up question itself: one answer, done.
        assert_eq!(bar(svg(html, "q3-chart"), "1 answer"), ["1"]);
        // The choices, a bar each (Maths: none, so no number on it).
        let areas = svg(html, "q4-chart");
        let labels = texts(areas);
        assert_eq!(bar(areas, "Maths"), Vec::<String>::new(), "{labels:?}");
        assert_eq!(bar(areas, "Oracy"), ["1"], "{labels:?}");
        assert_eq!(bar(areas, "Reading"), ["2"], "{labels:?}");
        assert!(!html.contains("average of 5"), "only ratings have an average");
        // The free text, with its question.
        assert!(html.contains("The speakers were great"));
        assert!(html.contains("Paired reading every morning"));

        // Answers since sending: invited 2, 2, 4 and answered 1, 2, 3 on days 0, 2 and 28.
        let over_time = svg(html, "response-chart");
        let written = texts(over_time);
        assert!(
            written.iter().any(|t| t == "Answered") && written.iter().any(|t| t == "Invited"),
            "{written:?}"
        );
        let days = &html[html.find("id=\"response-table\"").unwrap()..];
        let days = &days[..days.find("</table>").unwrap()];
        let rows: Vec<Vec<String>> = days
            .split("<tr>")
            .skip(2)
            .map(|r| row(&format!("<tr>{r}"), "<tr>"))
            .collect();
        assert_eq!(
            rows,
            [["0", "2", "1", "50%"], ["2", "2", "2", "100%"], ["28", "4", "3", "75%"]],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn an_anonymous_surveys_page_names_nobody_and_a_signed_out_visitor_is_sent_to_sign_in() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let n = network(&app).await;
        let (visitor, _) = console_organiser(&app).await;
        let page = visitor.get(&format!("/o/surveys/{}", n.anonymous)).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.text);
        assert!(
            page.text.contains(", anonymous</li>"),
            "the page says so: {}",
            page.text
        );
        assert!(page.text.contains("Longer breaks"), "the answer is listed");
        assert_eq!(bar(svg(&page.text, "q2-chart"), "1 answer"), ["1"]);
        for name in NAMES {
            for part in name.split(' ') {
                assert!(
                    !page.text.contains(part),
                    "{backend:?}: the anonymous survey's page names {part}"
                );
            }
        }

        let stranger = WebVisitor::new(&app);
        for path in [
            format!("/o/surveys/{}", n.named),
            format!("/o/programmes/{}/impact", n.programme),
            format!("/o/programmes/{}/impact.csv", n.programme),
        ] {
            let reply = stranger.get(&path).await;
            assert_eq!(reply.status, 303, "{path}: {}", reply.text);
            assert_eq!(reply.headers["location"], "/o/sign-in", "{path}");
        }
        for path in [
            "/o/programmes/999999/impact",
            "/o/programmes/abc/impact",
            "/o/programmes/999999/impact.csv",
        ] {
            let reply = visitor.get(path).await;
            assert_eq!(reply.status, 404, "{path}: {}", reply.text);
        }

        // A school's timeline lists its staff's answers to the named survey, never to the
        // anonymous one (a school of one member of staff would give its answer away).
        let schools = app.get("/v1/schools").await.json();
        let mut named_answers = 0;
        for school in schools["items"].as_array().unwrap() {
            let page = visitor.get(&format!("/o/schools/{}", school["id"])).await;
            assert_eq!(page.status, 200, "{}", page.text);
            assert!(!page.text.contains("Tell us honestly"), "{backend:?}: {}", page.text);
            named_answers += page.text.matches("After the launch").count();
        }
        assert!(
            named_answers > 0,
            "{backend:?}: the named survey's answers are on the timelines"
        );
    }
}

#[tokio::test]
async fn a_programmes_impact_page_shows_attendance_surveys_reflections_and_schools_and_gives_a_csv() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let n = network(&app).await;
        let (visitor, _) = console_organiser(&app).await;
        let list = visitor.get("/o/programmes").await;
        let link = format!("href=\"/o/programmes/{}/impact\"", n.programme);
        assert!(list.text.contains(&link), "the programmes list links to it");
        let form = visitor.get(&format!("/o/programmes/{}", n.programme)).await;
        assert!(form.text.contains(&link), "the programme's page links to it");

        let page = visitor.get(&format!("/o/programmes/{}/impact", n.programme)).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.text);
        let html = &page.text;
        assert!(html.contains("<h1>Impact of Reading Together</h1>"));
        assert!(html.contains("@media print"), "a print stylesheet");

        // Attendance: the launch 3 booked (2 attended, 1 no-show), the follow-up 1 not marked.
        let [launch, follow] = n.events;
        assert_eq!(
            row(html, &format!("data-event=\"{launch}\"")),
            ["Reading Together launch", "3", "2", "1", "0", "0", "1"]
        );
        assert_eq!(
            row(html, &format!("data-event=\"{follow}\"")),
            ["Reading Together follow-up", "1", "0", "0", "1", "0", "0"]
        );
        assert_eq!(row(html, "data-event=\"total\""), ["4", "2", "1", "1", "0", "1"]);
        let chart = svg(html, "attendance-chart");
        assert_eq!(bar(chart, "Reading Together launch"), ["2", "1"], "{:?}", texts(chart));
        assert_eq!(bar(chart, "Reading Together follow-up"), ["1"], "{:?}", texts(chart));
        assert_eq!(
            (
                parts(chart, "#0072B2"),
                parts(chart, "#E69F00"),
                parts(chart, "#CC79A7")
            ),
            (1, 1, 1),
            "attended, no-show and not marked in three colours"
        );

        // Surveys: the named one asked 4 and answered 3, a plan done and one not followed up.
        let named = row(html, &format!("data-survey=\"{}\"", n.named));
        assert_eq!(named[..3], ["After the launch", "4", "3 (75%)"], "{named:?}");
        assert_eq!(named[4..], ["2", "1", "1", "0", "0"], "{named:?}");
        assert_eq!(bar(svg(html, "actions-chart"), "After the launch"), ["1", "1"]);

        // Reflections: what changed and how they know, with the school, not the name.
        for text in [
            "Pupils choose books for themselves",
            "Library loans doubled",
            "Ash Primary",
        ] {
            assert!(html.contains(text), "{text}");
        }
        assert!(
            !html.contains("Clementine"),
            "a reflection shows the school, not the person"
        );

        // Schools: both took part (their staff attended).
        assert!(html.contains("2 engaged"), "{}", plain(html));
        assert_eq!(row(html, "data-school=")[1], "engaged");

        let csv = visitor.get(&format!("/o/programmes/{}/impact.csv", n.programme)).await;
        assert_eq!(csv.status, 200, "{}", csv.text);
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let lines: Vec<&str> = csv.text.lines().collect();
        assert_eq!(
            lines,
            [
                "event_id,title,booked,attended,no_show,unmarked,waitlisted,reflections".to_owned(),
                format!("{launch},Reading Together launch,3,2,1,0,0,1"),
                format!("{follow},Reading Together follow-up,1,0,0,1,0,0"),
            ]
        );
    }
}
