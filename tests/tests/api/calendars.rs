//! Calendar feeds, read back by an independent reader (Python's `icalendar`, installed by the
//! test tooling) and checked byte by byte where calendar apps are strict.

use convene_tests::python::read_ics;
use convene_tests::reqwest::Method;
use convene_tests::{Reply, TestApp, json, spawn_apps};
use serde_json::Value;

const WELSH: &str = "Cynhadledd Arweinyddiaeth Ysgolion Cymru — Rhannu Arfer Dda ym Mhwllheli, Llanfairpwllgwyngyll a Chaerdydd 🏫📚✨🎉";
const VENUE: &str = "Neuadd y Dref, Stryd Fawr; Ystafell 2, Pwllheli, LL53 5RR";

async fn feed(app: &TestApp, path: &str) -> Reply {
    app.send(app.anonymous(Method::GET, path)).await
}

/// Fetches a feed, checks the bytes calendar apps are strict about, and reads it with Python.
async fn read_feed(app: &TestApp, path: &str) -> (Reply, Value) {
    let reply = feed(app, path).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    assert_eq!(reply.content_type(), "text/calendar; charset=utf-8");
    let etag = reply.headers["etag"].to_str().unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong ETag: {etag}");
    assert!(reply.headers.contains_key("last-modified"));
    let bytes = reply.text.as_bytes();
    assert!(reply.text.ends_with("\r\n"));
    for line in reply.text.split("\r\n") {
        assert!(line.len() <= 75, "a line over 75 octets: {line:?}");
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "a bare line end in {line:?}"
        );
    }
    for needle in [
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n",
        "X-PUBLISHED-TTL:PT1H\r\n",
        "X-WR-TIMEZONE:",
        "X-WR-CALNAME:",
    ] {
        assert!(reply.text.contains(needle), "{needle} missing from {}", reply.text);
    }
    assert!(!reply.text.contains("ATTENDEE"), "feeds name no attendees");
    let read = read_ics(bytes);
    (reply, read)
}

fn events(read: &Value) -> &Vec<Value> {
    read["events"].as_array().unwrap()
}

fn by_uid<'a>(read: &'a Value, uid_prefix: &str) -> &'a Value {
    events(read)
        .iter()
        .find(|e| e["uid"].as_str().unwrap().starts_with(uid_prefix))
        .unwrap_or_else(|| panic!("no {uid_prefix} in {read}"))
}

async fn session(app: &TestApp, event: &Value, start: &str, end: &str, label: Option<&str>, capacity: i64) -> Value {
    app.create_session(
        &event["id"],
        json!({"start": start, "end": end, "capacity": capacity, "label": label}),
    )
    .await
}

async fn feed_url(app: &TestApp, participant: i64) -> String {
    let reply = app
        .send(app.request(Method::POST, &format!("/v1/participants/{participant}/feed-token")))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 40, "a long token: {token}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let url = body["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/ical/p/{token}.ics", app.address));
    url.trim_start_matches(&app.address).to_owned()
}

#[tokio::test]
async fn a_private_feed_shows_bookings_across_the_clocks_change_with_awkward_text_and_join_links_only_when_confirmed() {
    for app in spawn_apps().await {
        let host = app
            .address
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap()
            .to_owned();
        let conference = app
            .create_event(json!({"title": WELSH, "venue": VENUE, "description": "Bring: notes, a laptop; and questions\\answers.\nSecond line."}))
            .await;
        // One session on each side of the spring-forward change (28 March 2027).
        let before = session(
            &app,
            &conference,
            "2027-03-20T09:30",
            "2027-03-20T12:00",
            Some("Bore — 🌅"),
            10,
        )
        .await;
        let after = session(&app, &conference, "2027-04-10T09:30", "2027-04-10T12:00", None, 10).await;
        let online = app
            .create_event(
                json!({"kind": "slp_session", "title": "SLP: Oracy across the curriculum", "venue": null,
                "topic": "Oracy", "host_school_id": app.create_school(json!({"accredited_practice": ["Oracy"]})).await["id"],
                "online_url": "https://meet.example.org/oracy?pwd=a,b;c", "time_zone": "America/New_York"}),
            )
            .await;
        // The morning New York falls back to EST.
        let slp = session(&app, &online, "2027-11-07T09:30", "2027-11-07T11:00", None, 1).await;
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await["id"]
            .as_i64()
            .unwrap();
        let bob = app.create_participant(json!({"name": "Bob Evans"})).await["id"]
            .as_i64()
            .unwrap();
        for s in [&before, &after] {
            assert_eq!(app.book(&s["id"], ann).await.status, 201);
        }
        assert_eq!(app.book(&slp["id"], bob).await.json()["status"], "confirmed");
        assert_eq!(app.book(&slp["id"], ann).await.json()["status"], "waitlisted");

        let ann_feed = feed_url(&app, ann).await;
        let (reply, read) = read_feed(&app, &ann_feed).await;
        assert_eq!(read["method"], "PUBLISH");
        assert_eq!(read["calname"], "Convene: Ann Jones");
        assert_eq!(read["vtimezones"], json!(["America/New_York", "Europe/London"]));
        assert_eq!(events(&read).len(), 3, "{}", reply.text);
        let first = by_uid(&read, &format!("session-{}@{host}", before["id"]));
        assert_eq!(first["summary"], format!("{WELSH} — Bore — 🌅"));
        assert_eq!(first["location"], VENUE);
        assert_eq!(
            first["description"],
            "Bring: notes, a laptop; and questions\\answers.\nSecond line."
        );
        assert_eq!(first["dtstart"], before["start"]);
        assert_eq!(first["dtstart"], "2027-03-20T09:30:00Z", "GMT before the change");
        assert_eq!(first["dtstart_local"], "2027-03-20T09:30:00");
        assert_eq!(first["status"], "CONFIRMED");
        assert!(first["organizer"].as_str().unwrap().starts_with("mailto:"));
        let second = by_uid(&read, &format!("session-{}@", after["id"]));
        assert_eq!(second["dtstart"], "2027-04-10T08:30:00Z", "BST after the change");
        assert_eq!(second["summary"], WELSH);
        let waiting = by_uid(&read, &format!("session-{}@", slp["id"]));
        assert_eq!(waiting["status"], "TENTATIVE");
        assert!(waiting["summary"].as_str().unwrap().contains("waitlisted"));
        assert!(waiting.get("url").is_none(), "no join link while waitlisted: {waiting}");
        assert!(!reply.text.contains("meet.example.org"));
        assert_eq!(waiting["dtstart_tzid"], "America/New_York");
        assert_eq!(
            waiting["dtstart"], "2027-11-07T14:30:00Z",
            "EST, the day the clocks go back"
        );

        // Bob is confirmed: his feed carries the join link, in URL and DESCRIPTION.
        let bob_feed = feed_url(&app, bob).await;
        let (_, read) = read_feed(&app, &bob_feed).await;
        let joined = by_uid(&read, &format!("session-{}@", slp["id"]));
        assert_eq!(joined["url"], "https://meet.example.org/oracy?pwd=a,b;c");
        assert!(
            joined["description"]
                .as_str()
                .unwrap()
                .contains("https://meet.example.org/oracy?pwd=a,b;c")
        );
        assert_eq!(joined["location"], "Online");
        assert_eq!(read["vtimezones"], json!(["America/New_York"]));
    }
}

#[tokio::test]
async fn rotating_a_feed_token_retires_the_old_address() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let first = feed_url(&app, ann).await;
        assert_eq!(feed(&app, &first).await.status, 200);
        let second = feed_url(&app, ann).await;
        assert_ne!(first, second);
        feed(&app, &first).await.problem(404, "not_found");
        let (_, read) = read_feed(&app, &second).await;
        assert!(events(&read).is_empty());
        feed(&app, "/ical/p/not-a-real-token-at-all-000000000000.ics")
            .await
            .problem(404, "not_found");
        app.send(app.request(Method::POST, "/v1/participants/999999/feed-token"))
            .await
            .problem(404, "not_found");
        app.send(app.anonymous(Method::POST, &format!("/v1/participants/{ann}/feed-token")))
            .await
            .problem(401, "unauthorized");
        // Erasure removes the feed, and an erased person gets no new one.
        assert_eq!(app.delete(&format!("/v1/participants/{ann}")).await.status, 204);
        feed(&app, &second).await.problem(404, "not_found");
        app.send(app.request(Method::POST, &format!("/v1/participants/{ann}/feed-token")))
            .await
            .problem(409, "participant_erased");
    }
}

#[tokio::test]
async fn a_feed_answers_304_to_its_etag_and_a_moved_session_keeps_its_uid_with_a_higher_sequence() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({"title": "Autumn conference"})).await;
        let s = session(&app, &event, "2027-10-30T09:00", "2027-10-30T12:00", None, 5).await;
        let path = format!("/ical/events/{}.ics", event["id"]);
        let (reply, read) = read_feed(&app, &path).await;
        let etag = reply.headers["etag"].to_str().unwrap().to_owned();
        let before = by_uid(&read, &format!("session-{}@", s["id"])).clone();

        let cached = app
            .send(app.anonymous(Method::GET, &path).header("If-None-Match", &etag))
            .await;
        assert_eq!(cached.status, 304);
        assert!(cached.text.is_empty());
        assert_eq!(cached.headers["etag"], etag.as_str());
        let same = feed(&app, &path).await;
        assert_eq!(same.text, reply.text, "the same contents give the same bytes");

        // Moved across the clocks change (31 October 2027): BST to GMT.
        let moved = app
            .patch(
                &format!("/v1/sessions/{}", s["id"]),
                &json!({"start": "2027-11-06T09:00", "end": "2027-11-06T12:00"}),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        let stale = app
            .send(app.anonymous(Method::GET, &path).header("If-None-Match", &etag))
            .await;
        assert_eq!(stale.status, 200);
        assert_ne!(stale.headers["etag"], etag.as_str());
        let (_, read) = read_feed(&app, &path).await;
        let after = by_uid(&read, &format!("session-{}@", s["id"]));
        assert_eq!(after["uid"], before["uid"]);
        assert!(
            after["sequence"].as_i64() > before["sequence"].as_i64(),
            "{before} then {after}"
        );
        assert_eq!(before["dtstart"], "2027-10-30T08:00:00Z");
        assert_eq!(after["dtstart"], "2027-11-06T09:00:00Z");
    }
}

#[tokio::test]
async fn drafts_never_appear_and_cancelled_sessions_and_events_leave_the_feeds() {
    for app in spawn_apps().await {
        let programme = app
            .post(
                "/v1/programmes",
                &json!({"name": "Growing the Top 2027", "kind": "conference_series", "status": "published"}),
            )
            .await
            .json();
        let draft_programme = app
            .post("/v1/programmes", &json!({"name": "Draft series", "kind": "other"}))
            .await
            .json();
        let live = app
            .create_event(json!({"title": "Spring conference", "programme_id": programme["id"],
                "online_url": "https://meet.example.org/spring"}))
            .await;
        let keep = session(&app, &live, "2027-05-10T09:00", "2027-05-10T12:00", Some("Morning"), 5).await;
        let drop = session(
            &app,
            &live,
            "2027-05-10T13:00",
            "2027-05-10T16:00",
            Some("Afternoon"),
            5,
        )
        .await;
        let draft = app
            .create_event(json!({"title": "Not yet announced", "programme_id": programme["id"], "status": "draft"}))
            .await;
        session(&app, &draft, "2027-06-01T09:00", "2027-06-01T12:00", None, 5).await;
        let doomed = app
            .create_event(json!({"title": "Called off", "programme_id": programme["id"]}))
            .await;
        session(&app, &doomed, "2027-06-02T09:00", "2027-06-02T12:00", None, 5).await;
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        for s in [&keep, &drop] {
            assert_eq!(app.book(&s["id"], ann).await.status, 201);
        }
        let private = feed_url(&app, ann).await;
        assert_eq!(events(&read_feed(&app, &private).await.1).len(), 2);

        let cancelled = app
            .patch(&format!("/v1/sessions/{}", drop["id"]), &json!({"status": "cancelled"}))
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        let cancelled = app
            .patch(&format!("/v1/events/{}", doomed["id"]), &json!({"status": "cancelled"}))
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);

        let (reply, read) = read_feed(&app, &format!("/ical/programmes/{}.ics", programme["id"])).await;
        let summaries: Vec<_> = events(&read)
            .iter()
            .map(|e| e["summary"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(summaries, vec!["Spring conference — Morning"]);
        assert_eq!(read["calname"], "Growing the Top 2027");
        assert!(
            !reply.text.contains("meet.example.org"),
            "public feeds carry no join link"
        );
        assert!(events(&read)[0].get("url").is_none());

        let (reply, read) = read_feed(&app, &format!("/ical/events/{}.ics", live["id"])).await;
        assert_eq!(events(&read).len(), 1);
        assert!(!reply.text.contains("meet.example.org"));
        let (_, read) = read_feed(&app, &format!("/ical/events/{}.ics", doomed["id"])).await;
        assert!(events(&read).is_empty(), "a cancelled event's feed empties");
        let (_, read) = read_feed(&app, &private).await;
        assert_eq!(events(&read).len(), 1, "the cancelled session left the private feed");
        assert_eq!(events(&read)[0]["url"], "https://meet.example.org/spring");

        feed(&app, &format!("/ical/events/{}.ics", draft["id"]))
            .await
            .problem(404, "not_found");
        feed(&app, "/ical/events/999999.ics").await.problem(404, "not_found");
        feed(&app, &format!("/ical/programmes/{}.ics", draft_programme["id"]))
            .await
            .problem(404, "not_found");
        feed(&app, "/ical/programmes/999999.ics")
            .await
            .problem(404, "not_found");
        feed(&app, "/ical/events/abc.ics").await.problem(404, "not_found");
    }
}

#[tokio::test]
async fn a_feed_of_a_thousand_sessions_is_read_whole() {
    use futures_util::StreamExt as _;
    for app in spawn_apps().await {
        let event = app.create_event(json!({"title": "Year of SLP sessions, 2027"})).await;
        let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        let created: Vec<Value> = futures_util::stream::iter(0..1000)
            .map(|i| {
                let day = start + chrono::Duration::days(i / 3);
                let hour = 9 + (i % 3) * 2;
                let event = &event;
                let app = &app;
                async move {
                    app.create_session(
                        &event["id"],
                        json!({"start": format!("{day}T{hour:02}:00"), "end": format!("{day}T{:02}:30", hour + 1),
                            "capacity": 20, "label": format!("Slot {i}, room ; {}", i % 7)}),
                    )
                    .await
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        assert_eq!(created.len(), 1000);
        let (_, read) = read_feed(&app, &format!("/ical/events/{}.ics", event["id"])).await;
        assert_eq!(events(&read).len(), 1000);
        assert_eq!(read["vtimezones"], json!(["Europe/London"]));
        let mut starts: Vec<_> = created
            .iter()
            .map(|s| s["start"].as_str().unwrap().to_owned())
            .collect();
        starts.sort();
        let mut read_starts: Vec<_> = events(&read)
            .iter()
            .map(|e| e["dtstart"].as_str().unwrap().to_owned())
            .collect();
        read_starts.sort();
        assert_eq!(read_starts, starts, "every instant survives the VTIMEZONE round trip");
    }
}
