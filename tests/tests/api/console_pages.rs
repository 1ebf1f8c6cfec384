//! The organiser console's pages over HTTP with a cookie jar, as a browser without script would
//! use them: events made, published and cancelled (after a page saying how many will be told),
//! sessions added in local time, people booked and waitlisted, the register marked at the door,
//! walk-ins added, and the audit trail — each refusal shown on the page, changing nothing.

use convene_tests::web::{WebVisitor, console_organiser, heading_of, location, plain, submit};
use convene_tests::{backends, json, spawn_app};

/// The page at `path`, which must answer 200.
async fn page(visitor: &WebVisitor, path: &str) -> String {
    let reply = visitor.get(path).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.text
}

/// The text of the element with `id`, up to its closing tag `until`.
fn section<'a>(html: &'a str, id: &str, until: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{html}"));
    let end = html[start..].find(until).map_or(html.len(), |e| e + start);
    &html[start..end]
}

/// A date `days` from now, as a `datetime-local` field's day.
fn day(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn an_organiser_makes_and_publishes_an_event_with_two_sessions_books_people_and_sees_the_waitlist() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, lead) = console_organiser(&app).await;
        let school = app.create_school(json!({"name": "Northfield Primary"})).await;
        let ann = app
            .create_participant(
                json!({"name": "Ann Oduya", "email": "ann@northfield.example", "school_id": school["id"]}),
            )
            .await;
        let ben = app
            .create_participant(
                json!({"name": "Ben Marsh", "email": "ben@northfield.example", "school_id": school["id"]}),
            )
            .await;

        // An empty form comes back with its problems, each linked to its field; nothing is made.
        let empty = submit(&visitor, "/o/events/new", "/o/events/new", &[("kind", "conference")]).await;
        assert_eq!(empty.status, 422, "{backend:?}: {}", empty.text);
        let summary = section(&empty.text, "error-summary", "</div>");
        assert!(summary.contains("href=\"#title\""), "{summary}");
        assert!(empty.text.contains("id=\"title-error\""));
        assert!(heading_of(&empty.text) == "New event");
        assert_eq!(app.count("events").await, 0);

        let made = submit(
            &visitor,
            "/o/events/new",
            "/o/events/new",
            &[
                ("title", "Spring conference"),
                ("kind", "conference"),
                ("time_zone", "Europe/London"),
                ("venue", "Northfield Primary, Hall 2"),
            ],
        )
        .await;
        let event_page = location(&made);
        assert!(event_page.ends_with("?done=created"), "{event_page}");
        let event_id: i64 = event_page["/o/events/".len()..event_page.find('?').unwrap()]
            .parse()
            .unwrap();
        let shown = page(&visitor, &event_page).await;
        assert_eq!(heading_of(&shown), "Spring conference");
        assert!(plain(section(&shown, "event-status", "</span>")).contains("Draft"));
        assert!(plain(section(&shown, "notice", "</div>")).contains("created as a draft"));

        // A time the clocks skip is refused on its field, as the API refuses it.
        let path = format!("/o/events/{event_id}");
        let skipped = submit(
            &visitor,
            &path,
            &format!("{path}/sessions"),
            &[
                ("start", "2031-03-30T01:30"),
                ("end", "2031-03-30T03:00"),
                ("capacity", "10"),
            ],
        )
        .await;
        assert_eq!(skipped.status, 422, "{backend:?}: {}", skipped.text);
        assert!(skipped.text.contains("id=\"start-error\""), "{}", skipped.text);
        assert!(section(&skipped.text, "session-problems", "</div>").contains("href=\"#start\""));
        assert_eq!(app.count("sessions").await, 0);

        for (label, when, capacity) in [("Morning", day(20), "10"), ("Afternoon workshop", day(21), "1")] {
            let added = submit(
                &visitor,
                &path,
                &format!("{path}/sessions"),
                &[
                    ("label", label),
                    ("start", &format!("{when}T13:30")),
                    ("end", &format!("{when}T15:00")),
                    ("capacity", capacity),
                    ("per_school_limit", ""),
                ],
            )
            .await;
            assert!(location(&added).contains("done=session-added"));
        }
        let sessions = app.get(&format!("/v1/events/{event_id}/sessions")).await.json()["items"].clone();
        let workshop = &sessions[1];
        assert_eq!(
            workshop["start_local"],
            format!("{}T13:30:00", day(21)),
            "{backend:?}: local time kept"
        );
        assert_eq!(workshop["capacity"], 1);

        let published = submit(&visitor, &path, &format!("{path}/publish"), &[]).await;
        assert!(location(&published).ends_with("done=published"));
        let shown = page(&visitor, &path).await;
        assert!(plain(section(&shown, "event-status", "</span>")).contains("Published"));
        assert_eq!(
            app.get(&format!("/v1/events/{event_id}")).await.json()["status"],
            "published"
        );

        // Booking: find the person by name, press Book; the second goes on the waitlist.
        let session_path = format!("/o/sessions/{}", workshop["id"]);
        let found = page(&visitor, &format!("{session_path}?q=oduya")).await;
        assert!(found.contains(&format!("id=\"book-{}\"", ann["id"])), "{found}");
        assert!(!found.contains(&format!("id=\"book-{}\"", ben["id"])));
        for person in [&ann, &ben] {
            let booked = submit(
                &visitor,
                &session_path,
                &format!("{session_path}/book"),
                &[("participant_id", &person["id"].to_string())],
            )
            .await;
            assert!(location(&booked).contains("done=booked-"), "{backend:?}");
            let after = page(&visitor, &location(&booked)).await;
            let notice = plain(section(&after, "notice", "</div>"));
            let name = person["name"].as_str().unwrap();
            assert!(notice.contains(name), "{notice}");
        }
        let shown = page(&visitor, &session_path).await;
        assert!(plain(section(&shown, "bookings", "</table>")).contains("Ann Oduya"));
        let waitlist = plain(section(&shown, "waitlist", "</table>"));
        assert!(
            waitlist.contains("Ben Marsh") && waitlist.contains("Northfield Primary"),
            "{waitlist}"
        );
        let bookings = app
            .get(&format!("/v1/sessions/{}/bookings", workshop["id"]))
            .await
            .json()["items"]
            .clone();
        assert_eq!(bookings[0]["status"], "confirmed");
        assert_eq!(bookings[1]["status"], "waitlisted");
        assert_eq!(
            app.notifications("booking_confirmed", ann["id"].as_i64()).await,
            1,
            "{backend:?}: the same messages as the API's"
        );

        // Capacity below the seats taken is refused on its field; nothing changes.
        let shrink = submit(
            &visitor,
            &session_path,
            &session_path,
            &[
                ("label", "Afternoon workshop"),
                ("start", &format!("{}T13:30", day(21))),
                ("end", &format!("{}T15:00", day(21))),
                ("capacity", "0"),
            ],
        )
        .await;
        assert!(shrink.status == 409 || shrink.status == 422, "{}", shrink.text);
        assert!(shrink.text.contains("id=\"capacity-error\""), "{}", shrink.text);

        // Cancelling Ann's booking gives Ben her seat, as through the API.
        let cancel = format!("/o/bookings/{}/cancel", bookings[0]["id"]);
        let cancelled = submit(&visitor, &session_path, &cancel, &[]).await;
        assert!(location(&cancelled).contains("done=cancelled-"));
        let bookings = app
            .get(&format!("/v1/sessions/{}/bookings", workshop["id"]))
            .await
            .json()["items"]
            .clone();
        assert_eq!(bookings[1]["status"], "confirmed", "{backend:?}: promoted");

        let csv = visitor.get(&format!("{session_path}/register.csv")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.text.starts_with("name,school,status"), "{}", csv.text);
        assert!(
            csv.text.contains("Ben Marsh,Northfield Primary,confirmed"),
            "{}",
            csv.text
        );

        // Every change is in the trail, made by the organiser.
        let trail = app.get("/v1/audit?actor=organiser").await.json();
        let actions: Vec<&str> = trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for action in [
            "event.created",
            "session.created",
            "event.published",
            "booking.created",
            "booking.waitlisted",
            "booking.cancelled",
        ] {
            assert!(actions.contains(&action), "{backend:?}: {action} in {actions:?}");
        }
        assert_eq!(trail["items"][0]["actor"]["id"], lead["id"]);
        let audit_page = page(&visitor, "/o/audit").await;
        assert!(plain(section(&audit_page, "audit", "</table>")).contains("event.published"));
        assert!(audit_page.contains("Priya Shah"));
    }
}

#[tokio::test]
async fn the_register_marks_attendance_one_tap_at_a_time_and_adds_walk_ins_once_the_session_has_started() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        // A session starting within the hour: booked now, marked at the door later.
        let event = app.create_event(json!({})).await;
        let at = |minutes: i64| {
            (chrono::Utc::now() + chrono::Duration::minutes(minutes))
                .format("%Y-%m-%dT%H:%M:00Z")
                .to_string()
        };
        let session = app
            .create_session(&event["id"], json!({"start": at(30), "end": at(150), "capacity": 1}))
            .await;
        let people = app.create_participants(3, None).await;
        let booking = app.book(&session["id"], people[0]).await.json();
        let waiting = app.book(&session["id"], people[1]).await.json();
        assert_eq!(waiting["status"], "waitlisted");
        let register = format!("/o/sessions/{}/register", session["id"]);

        let early = page(&visitor, &register).await;
        assert!(plain(&early).contains("has not started yet"));
        let refused = submit(
            &visitor,
            &register,
            &register,
            &[("booking_id", &booking["id"].to_string()), ("mark", "attended")],
        )
        .await;
        assert_eq!(refused.status, 409, "{backend:?}: {}", refused.text);
        assert!(plain(section(&refused.text, "error-summary", "</div>")).contains("once it has started"));

        app.clock.advance(chrono::TimeDelta::hours(1));
        let mark = |fields: Vec<(&'static str, String)>| {
            let register = register.clone();
            let visitor = &visitor;
            async move {
                let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let done = submit(visitor, &register, &register, &pairs).await;
                location(&done)
            }
        };
        let back = mark(vec![
            ("booking_id", booking["id"].to_string()),
            ("mark", "attended".into()),
        ])
        .await;
        assert_eq!(back, format!("{register}#person-{}", people[0]));
        let row = |html: &str, person: i64| {
            let start = html.find(&format!("id=\"person-{person}\"")).expect("a row");
            let end = html[start..].find("</li>").unwrap() + start;
            html[start..end].to_owned()
        };
        let shown = page(&visitor, &register).await;
        assert!(
            row(&shown, people[0]).contains("data-mark=\"attended\""),
            "{}",
            row(&shown, people[0])
        );
        mark(vec![
            ("booking_id", booking["id"].to_string()),
            ("mark", "no_show".into()),
        ])
        .await;
        assert_eq!(
            app.get(&format!("/v1/bookings/{}", booking["id"])).await.json()["status"],
            "no_show"
        );

        // The person still waiting came, and someone with no booking at all.
        mark(vec![("participant_id", people[1].to_string())]).await;
        mark(vec![("participant_id", people[2].to_string())]).await;
        let shown = page(&visitor, &register).await;
        for person in &people[1..] {
            assert!(row(&shown, *person).contains("data-mark=\"attended\""), "{backend:?}");
        }
        let csv = visitor
            .get(&format!("/o/sessions/{}/register.csv", session["id"]))
            .await
            .text;
        assert_eq!(csv.matches(",attended").count(), 2, "{csv}");
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["booked"],
            3,
            "{backend:?}: walk-ins are counted in the room"
        );
        // A mark of another session's booking, or a made-up mark, changes nothing.
        let other = app.open_session(5, json!({})).await;
        let elsewhere = app.book(&other["id"], people[2]).await.json();
        let wrong = submit(
            &visitor,
            &register,
            &register,
            &[("booking_id", &elsewhere["id"].to_string()), ("mark", "attended")],
        )
        .await;
        assert_eq!(wrong.status, 404, "{}", wrong.text);
        let made_up = submit(
            &visitor,
            &register,
            &register,
            &[("booking_id", &booking["id"].to_string()), ("mark", "asleep")],
        )
        .await;
        assert_eq!(made_up.status, 422, "{}", made_up.text);
        assert_eq!(
            app.get(&format!("/v1/bookings/{}", booking["id"])).await.json()["status"],
            "no_show"
        );
        assert_eq!(app.count("audit_entries WHERE action = 'attendance.marked'").await, 4);
    }
}

#[tokio::test]
async fn cancelling_an_event_asks_first_saying_how_many_people_will_be_told_then_tells_them() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        let event = app.create_event(json!({"title": "Autumn conference"})).await;
        let mut sessions = Vec::new();
        for (days, capacity) in [(10, 2), (11, 1)] {
            sessions.push(
                app.create_session(
                    &event["id"],
                    json!({"start": format!("{}T09:30", day(days)), "end": format!("{}T12:00", day(days)), "capacity": capacity}),
                )
                .await,
            );
        }
        let people = app.create_participants(3, None).await;
        // Two people on both sessions, the second waiting for the smaller; a third on one.
        for person in &people[..2] {
            for s in &sessions {
                app.book(&s["id"], *person).await;
            }
        }
        app.book(&sessions[0]["id"], people[2]).await;
        let path = format!("/o/events/{}", event["id"]);

        let confirm = page(&visitor, &format!("{path}/cancel")).await;
        assert!(heading_of(&confirm).starts_with("Cancel"), "{confirm}");
        let count = plain(section(&confirm, "cancel-count", "</p>"));
        assert!(count.contains("3 people"), "{backend:?}: {count}");
        assert_eq!(
            app.get(&format!("/v1/events/{}", event["id"])).await.json()["status"],
            "published"
        );

        let done = submit(&visitor, &format!("{path}/cancel"), &format!("{path}/cancel"), &[]).await;
        assert!(location(&done).ends_with("done=cancelled"));
        let shown = page(&visitor, &path).await;
        assert!(plain(section(&shown, "event-status", "</span>")).contains("Cancelled"));
        assert!(!shown.contains("id=\"publish\"") && !shown.contains("id=\"cancel-event\""));
        assert_eq!(
            app.get(&format!("/v1/events/{}", event["id"])).await.json()["status"],
            "cancelled"
        );
        assert_eq!(
            app.count("notifications WHERE kind = 'session_cancelled'").await,
            5,
            "{backend:?}: each active booking is told, as through the API"
        );
        let trail = app
            .get(&format!("/v1/audit?target_type=event&target_id={}", event["id"]))
            .await
            .json();
        assert_eq!(trail["items"][0]["action"], "event.cancelled");
        assert!(
            trail["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("5 bookings cancelled")
        );

        // Cancelling again is refused on the page and changes nothing.
        let again = submit(&visitor, &format!("{path}/cancel"), &format!("{path}/cancel"), &[]).await;
        assert_eq!(again.status, 409, "{backend:?}: {}", again.text);
        assert_eq!(app.count("notifications WHERE kind = 'session_cancelled'").await, 5);
    }
}

#[tokio::test]
async fn console_forms_without_their_token_change_nothing_and_bad_addresses_get_a_page_never_a_server_error() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        let session = app.open_session(5, json!({})).await;
        let person = app.create_participants(1, None).await[0];
        let booking = app.book(&session["id"], person).await.json();
        let event_id = session["event_id"].to_string();
        let before = app.count("audit_entries").await;

        let posts = [
            (
                "/o/events/new".to_owned(),
                vec![
                    ("title", "Forged"),
                    ("kind", "conference"),
                    ("time_zone", "Europe/London"),
                ],
            ),
            (format!("/o/events/{event_id}/cancel"), vec![]),
            (
                format!("/o/events/{event_id}/sessions"),
                vec![
                    ("start", "2031-06-01T09:00"),
                    ("end", "2031-06-01T10:00"),
                    ("capacity", "3"),
                ],
            ),
            (format!("/o/sessions/{}/book", session["id"]), vec![]),
            (format!("/o/bookings/{}/cancel", booking["id"]), vec![]),
            (format!("/o/sessions/{}/register", session["id"]), vec![]),
            (format!("/o/sessions/{}", session["id"]), vec![("capacity", "1")]),
        ];
        for (path, fields) in &posts {
            let mut forged = fields.clone();
            forged.push(("csrf", "not-the-token"));
            for fields in [fields.clone(), forged] {
                let reply = visitor.post_form(path, &fields).await;
                assert_eq!(reply.status, 403, "{backend:?}: {path}: {}", reply.text);
            }
            // Signed out, the same post changes nothing either.
            assert_eq!(
                WebVisitor::new(&app).post_form(path, fields).await.status,
                401,
                "{path}"
            );
        }
        assert_eq!(app.count("audit_entries").await, before, "{backend:?}: nothing changed");
        assert_eq!(
            app.get(&format!("/v1/bookings/{}", booking["id"])).await.json()["status"],
            "confirmed"
        );

        for (path, status) in [
            ("/o/events/abc", 404),
            ("/o/events/999999", 404),
            ("/o/sessions/-3", 404),
            ("/o/sessions/999999", 404),
            ("/o/sessions/999999/register", 404),
            ("/o/events?status=lost", 422),
            ("/o/events?cursor=zzz", 422),
            ("/o/audit?target_id=x&target_type=event", 422),
            ("/o/audit?actor=robot", 422),
        ] {
            let reply = visitor.get(path).await;
            assert_eq!(reply.status, status, "{backend:?}: {path}: {}", reply.text);
            assert!(reply.content_type().starts_with("text/html"), "{path}");
            // Signed out, every page leads to the sign-in form.
            let anonymous = WebVisitor::new(&app).get(path).await;
            assert_eq!(anonymous.status, 303, "{path}");
            assert_eq!(anonymous.headers["location"], "/o/sign-in");
        }
        let bad_post = submit(
            &visitor,
            "/o",
            &format!("/o/sessions/{}/book", session["id"]),
            &[("participant_id", "lots")],
        )
        .await;
        assert_eq!(bad_post.status, 422, "{}", bad_post.text);
        let unknown = submit(
            &visitor,
            "/o",
            &format!("/o/sessions/{}/book", session["id"]),
            &[("participant_id", "999999")],
        )
        .await;
        assert_eq!(unknown.status, 422, "{}", unknown.text);
    }
}

#[tokio::test]
async fn every_console_page_a_link_leads_to_renders_over_the_demo_network() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.load_demo().await;
        let (visitor, _) = console_organiser(&app).await;
        let mut to_visit = std::collections::VecDeque::from(["/o".to_owned()]);
        let mut seen = std::collections::BTreeSet::new();
        while let Some(path) = to_visit.pop_front() {
            if seen.len() >= 300 || !seen.insert(path.clone()) {
                continue;
            }
            let reply = visitor.get(&path).await;
            assert_eq!(reply.status, 200, "{backend:?}: {path}: {}", reply.text);
            let file = path.split('?').next().unwrap_or_default();
            if file.ends_with(".csv") || file.ends_with(".ics") {
                continue;
            }
            assert_eq!(reply.text.matches("<h1").count(), 1, "{path}: one h1");
            // Attribute values are HTML-escaped (`/` as `&#x2f;`), as a browser reads them.
            let html = reply.text.replace("&#x2f;", "/");
            for link in html.split("href=\"/o").skip(1) {
                let link = format!("/o{}", &link[..link.find('"').unwrap()]).replace("&amp;", "&");
                let link = link.split('#').next().unwrap().to_owned();
                // One page of each list is enough; the dashboard's links lead everywhere else.
                if !link.contains("cursor=") && !link.contains("?q=") {
                    to_visit.push_back(link);
                }
            }
        }
        for must in [
            "/o/events",
            "/o/schools",
            "/o/people",
            "/o/programmes",
            "/o/surveys",
            "/o/audit",
            "/o/keys",
            "/o/imports",
            "/o/notifications",
            "/o/engagement",
            "/o/cohorts",
            "/o/term-dates",
        ] {
            assert!(
                seen.contains(must),
                "{backend:?}: {must} is linked from the console: {seen:?}"
            );
        }
        assert!(
            seen.iter()
                .any(|p| p.starts_with("/o/sessions/") && p.ends_with("/register")),
            "{seen:?}"
        );
        assert!(
            seen.iter().filter(|p| p.starts_with("/o/events/")).count() > 5,
            "{seen:?}"
        );
        assert!(
            seen.iter().filter(|p| p.starts_with("/o/term-dates/")).count() >= 6,
            "{backend:?}: each of the demo's authorities has its term-dates page: {seen:?}"
        );
        for page in ["/visits", "/visits.csv", "/visits.ics"] {
            assert!(
                seen.iter().any(|p| p.starts_with("/o/cohorts/") && p.ends_with(page)),
                "{backend:?}: a cohort's {page}: {seen:?}"
            );
        }
    }
}
