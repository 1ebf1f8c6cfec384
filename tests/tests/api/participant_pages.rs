//! The participant pages (`/p`), for people not on Discord: signing in by an emailed link,
//! then booking, cancelling, joining a waitlist, the calendar feed, settings, reflections and
//! surveys — over HTTP with a cookie jar, as a browser would, and in a real headless browser.

use std::time::Duration;

use chrono::{DateTime, Utc};
use convene_tests::reqwest::Method;
use convene_tests::smtp::{Mode, SmtpSink};
use convene_tests::web::{WebVisitor, csrf_of, heading_of, plain, sign_in_link_for, signed_in};
use convene_tests::{Reply, TestApp, backends, browser, json, spawn_app, spawn_app_with, spawn_apps};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, Statement};
use serde_json::Value;

const COOKIE: &str = "convene_session";

/// The browser test's screenshots, kept in `target/test-artifacts/participant-pages/`.
const SHOTS: [&str; 4] = [
    "1-page-360px.png",
    "2-booked.png",
    "3-waitlisted.png",
    "4-whole-page.png",
];

/// A session of a published event `days` from now, 09:30 to 12:00 in London, of `capacity` seats.
async fn session(app: &TestApp, title: &str, days: i64, capacity: i64, event: Value) -> Value {
    let mut body = json!({"title": title});
    convene_tests::merge(&mut body, event);
    let event = app.create_event(body).await;
    let day = (Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string();
    app.create_session(
        &event["id"],
        json!({"start": format!("{day}T09:30"), "end": format!("{day}T12:00"), "capacity": capacity}),
    )
    .await
}

/// The mail to `address` with `subject`, once it has arrived (read by Python's `email`).
async fn mail_to(sink: &SmtpSink, address: &str, subject: &str) -> Value {
    for _ in 0..200 {
        for mail in sink.messages() {
            if mail.rcpt_to.iter().any(|r| r == address) {
                let read = mail.read();
                if read["subject"] == subject {
                    assert_eq!(read["to"], json!([address]));
                    return read;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no mail to {address} with subject {subject:?}");
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn status_of(app: &TestApp, booking_id: i64) -> String {
    app.get(&format!("/v1/bookings/{booking_id}")).await.json()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The id of `participant_id`'s active booking of `session_id`.
async fn booking_id(app: &TestApp, session_id: &Value, participant_id: i64) -> i64 {
    scalar(
        app,
        &format!(
            "SELECT id AS n FROM bookings WHERE session_id = {session_id} AND participant_id = {participant_id} \
             AND status IN ('confirmed', 'waitlisted')"
        ),
    )
    .await
}

#[tokio::test]
async fn a_participant_signs_in_from_an_emailed_link_then_books_joins_a_waitlist_and_cancels_from_their_page() {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let url = sink.url();
        let app = spawn_app_with(backend, move |s| s.smtp_url = Some(url)).await;
        let ann = app
            .create_participant(json!({"name": "Ann Jones", "email": "ann@northfield.example"}))
            .await;
        let ann_id = ann["id"].as_i64().unwrap();
        let bob = app.create_participant(json!({"name": "Bob Smith"})).await["id"]
            .as_i64()
            .unwrap();
        let phonics = session(&app, "Phonics that sticks", 7, 30, json!({})).await;
        let oracy = session(&app, "Oracy in the early years", 8, 1, json!({})).await;
        assert_eq!(app.book(&oracy["id"], bob).await.status, 201);

        let visitor = WebVisitor::new(&app);
        let away = visitor.get("/p").await;
        assert_eq!(away.status, 303);
        assert_eq!(away.headers["location"], "/p/sign-in");
        let form = visitor.get("/p/sign-in").await;
        assert_eq!(form.status, 200);
        assert!(form.content_type().starts_with("text/html"), "{}", form.content_type());
        assert!(form.text.contains(r#"<label for="email">"#) && form.text.contains(r#"name="email""#));

        // The answer is the same whether or not the address is known.
        let known = visitor
            .post_form("/p/sign-in", &[("email", " Ann@Northfield.example ")])
            .await;
        let unknown = visitor
            .post_form("/p/sign-in", &[("email", "nobody@northfield.example")])
            .await;
        assert_eq!(known.status, 200, "{}", known.text);
        assert_eq!(unknown.status, 200, "{}", unknown.text);
        assert_eq!(heading_of(&known.text), "Check your email");
        assert_eq!(
            known.text.replace("ann@northfield.example", "ADDRESS"),
            unknown.text.replace("nobody@northfield.example", "ADDRESS"),
            "the page must not tell whether the address is known"
        );

        let mail = mail_to(&sink, "ann@northfield.example", "Your Convene sign-in link").await;
        let text = mail["text"].as_str().unwrap();
        let link = text
            .split_whitespace()
            .find(|w| w.starts_with(&format!("{}/p/auth/", app.address)))
            .unwrap_or_else(|| panic!("no sign-in link in the mail:\n{text}"))
            .to_owned();
        assert!(text.contains("30 minutes"), "{text}");
        assert!(mail["html"].as_str().unwrap().contains(&format!("href=\"{link}\"")));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            sink.messages()
                .iter()
                .all(|m| !m.rcpt_to.iter().any(|r| r.contains("nobody"))),
            "nothing goes to an unknown address"
        );

        // Following the link sets the session cookie and goes to the page.
        let followed = visitor.get(&link).await;
        assert_eq!(followed.status, 303, "{}", followed.text);
        assert_eq!(followed.headers["location"], "/p");
        let cookie = visitor.cookie(COOKIE).expect("a session cookie");
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/p",
            &format!("Max-Age={}", 30 * 24 * 3600),
        ] {
            assert!(
                cookie.set_by.contains(attribute),
                "{attribute} missing: {}",
                cookie.set_by
            );
        }
        assert!(
            !cookie.set_by.contains("Secure"),
            "plain http gets no Secure: {}",
            cookie.set_by
        );
        // Only hashes are stored: neither the cookie nor the link's token is in the database.
        let token = link.rsplit('/').next().unwrap();
        for (table, secret) in [
            ("participant_web_sessions", &cookie.value),
            ("participant_sign_in_tokens", &token.to_owned()),
        ] {
            assert_eq!(
                scalar(
                    &app,
                    &format!("SELECT COUNT(*) AS n FROM {table} WHERE token_hash = '{secret}'")
                )
                .await,
                0
            );
        }
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) AS n FROM participant_web_sessions").await,
            1
        );

        let page = visitor.get("/p").await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(heading_of(&page.text), "Your Convene page");
        assert!(page.text.contains("Signed in as Ann Jones"));
        assert!(page.text.contains("Phonics that sticks") && page.text.contains("Oracy in the early years"));
        assert!(page.text.contains("You have no upcoming bookings."));
        let csrf = csrf_of(&page.text);

        // Book: a seat is free.
        let booked = visitor
            .post_form(
                "/p/bookings",
                &[("csrf", &csrf), ("session_id", &phonics["id"].to_string())],
            )
            .await;
        assert_eq!(booked.status, 200, "{}", booked.text);
        assert!(plain(&booked.text).contains("You're booked"), "{}", booked.text);
        let phonics_booking = booking_id(&app, &phonics["id"], ann_id).await;
        assert_eq!(status_of(&app, phonics_booking).await, "confirmed");
        assert_eq!(
            app.notifications("booking_confirmed", Some(ann_id)).await,
            1,
            "the same outbox message as any booking"
        );
        mail_to(&sink, "ann@northfield.example", "Booked: Phonics that sticks").await;

        // Book a full session: the waitlist, with the place in the queue.
        let waiting = visitor
            .post_form(
                "/p/bookings",
                &[("csrf", &csrf), ("session_id", &oracy["id"].to_string())],
            )
            .await;
        assert_eq!(waiting.status, 200, "{}", waiting.text);
        assert!(waiting.text.contains("number 1 on the waitlist"), "{}", waiting.text);
        let oracy_booking = booking_id(&app, &oracy["id"], ann_id).await;
        assert_eq!(status_of(&app, oracy_booking).await, "waitlisted");
        let page = visitor.get("/p").await.text;
        assert!(page.contains("On the waitlist: number 1"), "{page}");
        assert!(page.contains("Leave the waitlist"));

        // Someone else's booking is not Ann's to cancel.
        let bobs = booking_id(&app, &oracy["id"], bob).await;
        let refused = visitor
            .post_form(&format!("/p/bookings/{bobs}/cancel"), &[("csrf", &csrf)])
            .await;
        assert_eq!(refused.status, 404, "{}", refused.text);
        assert_eq!(status_of(&app, bobs).await, "confirmed");

        // Cancel her confirmed booking; then Bob cancels and Ann is promoted from the waitlist.
        let cancelled = visitor
            .post_form(&format!("/p/bookings/{phonics_booking}/cancel"), &[("csrf", &csrf)])
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        assert!(cancelled.text.contains("Booking cancelled"), "{}", cancelled.text);
        assert_eq!(status_of(&app, phonics_booking).await, "cancelled");
        assert_eq!(app.notifications("booking_cancelled", Some(ann_id)).await, 1);
        assert_eq!(app.delete(&format!("/v1/bookings/{bobs}")).await.status, 200);
        assert_eq!(status_of(&app, oracy_booking).await, "confirmed");
        let page = visitor.get("/p").await.text;
        assert!(!page.contains("On the waitlist"), "{page}");
        assert!(page.contains("Cancel booking"), "{page}");
    }
}

#[tokio::test]
async fn a_forged_form_without_the_pages_token_gets_a_403_page_and_changes_nothing() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let cara = app.create_participant(json!({"name": "Cara Lee"})).await;
        let workshop = session(&app, "Maths mastery", 7, 10, json!({})).await;
        let (visitor, page) = signed_in(&app, &ann).await;
        let (_, caras_page) = signed_in(&app, &cara).await;
        let id = workshop["id"].to_string();
        let forgeries: [&[(&str, &str)]; 3] = [
            &[("session_id", &id)],
            &[("session_id", &id), ("csrf", "0123456789abcdef")],
            // Another person's token is no good either.
            &[("session_id", &id), ("csrf", &csrf_of(&caras_page))],
        ];
        for fields in forgeries {
            let forged = visitor.post_form("/p/bookings", fields).await;
            assert_eq!(forged.status, 403, "{}", forged.text);
            assert!(forged.content_type().starts_with("text/html"));
            assert_eq!(heading_of(&forged.text), "This form didn't come from your Convene page");
        }
        assert_eq!(app.count("bookings").await, 0, "a forged form books nothing");
        let feed = || async {
            entity::participant::Entity::find_by_id(ann["id"].as_i64().unwrap())
                .one(&app.db)
                .await
                .unwrap()
                .unwrap()
                .feed_token
        };
        let feed_before = feed().await;
        assert!(feed_before.is_some(), "the page made Ann a feed");
        assert_eq!(visitor.post_form("/p/feed", &[]).await.status, 403);
        assert_eq!(feed().await, feed_before, "a forged rotation rotates nothing");
        assert_eq!(visitor.post_form("/p/sign-out", &[("csrf", "nope")]).await.status, 403);
        assert_eq!(
            visitor.get("/p").await.status,
            200,
            "a forged sign-out does not sign out"
        );

        // Without a session at all: a page saying so, and nothing booked.
        let stranger = WebVisitor::new(&app);
        let signed_out = stranger
            .post_form("/p/bookings", &[("session_id", &id), ("csrf", &csrf_of(&page))])
            .await;
        assert_eq!(signed_out.status, 401, "{}", signed_out.text);
        assert_eq!(heading_of(&signed_out.text), "You are signed out");
        assert_eq!(app.count("bookings").await, 0);

        // The real token books.
        let booked = visitor
            .post_form("/p/bookings", &[("session_id", &id), ("csrf", &csrf_of(&page))])
            .await;
        assert_eq!(booked.status, 200, "{}", booked.text);
        assert_eq!(app.count("bookings").await, 1);
    }
}

#[tokio::test]
async fn a_sign_in_link_works_once_and_for_thirty_minutes_and_refused_links_get_a_clear_page() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let id = ann["id"].as_i64().unwrap();
        assert_eq!(
            app.post(&format!("/v1/participants/{id}/sign-in-link"), &json!({}))
                .await
                .status,
            202
        );
        let link = sign_in_link_for(&app, id).await;

        let first = WebVisitor::new(&app);
        assert_eq!(first.get(&link).await.status, 303);
        let second = WebVisitor::new(&app);
        let reused = second.get(&link).await;
        assert_eq!(reused.status, 410, "{}", reused.text);
        assert_eq!(heading_of(&reused.text), "This sign-in link has already been used");
        assert!(
            plain(&reused.text).contains(r#"href="/p/sign-in""#),
            "it says how to get another"
        );
        assert!(second.cookie(COOKIE).is_none());
        assert_eq!(second.get("/p").await.status, 303);

        assert_eq!(
            app.post(&format!("/v1/participants/{id}/sign-in-link"), &json!({}))
                .await
                .status,
            202
        );
        let stale = sign_in_link_for(&app, id).await;
        assert_ne!(stale, link);
        // Thirty minutes pass.
        entity::participant_sign_in_token::Entity::update_many()
            .col_expr(
                entity::participant_sign_in_token::Column::ExpiresAt,
                Expr::value(Utc::now() - chrono::Duration::seconds(1)),
            )
            .filter(entity::participant_sign_in_token::Column::UsedAt.is_null())
            .exec(&app.db)
            .await
            .unwrap();
        let expired = second.get(&stale).await;
        assert_eq!(expired.status, 410, "{}", expired.text);
        assert_eq!(heading_of(&expired.text), "This sign-in link has expired");
        assert!(expired.text.contains("30 minutes"));
        assert!(second.cookie(COOKIE).is_none());

        for (path, status) in [
            (format!("/p/auth/{}", "A".repeat(43)), 404),
            ("/p/auth/short".to_owned(), 404),
            ("/p/auth/%00%2F..%2Fetc".to_owned(), 404),
        ] {
            let unknown = second.get(&path).await;
            assert_eq!(unknown.status.as_u16(), status, "{path}: {}", unknown.text);
            assert!(unknown.content_type().starts_with("text/html"), "{path}");
            assert_eq!(heading_of(&unknown.text), "This sign-in link isn't recognised");
        }
        // The first browser is still signed in.
        assert_eq!(first.get("/p").await.status, 200);
    }
}

#[tokio::test]
async fn signing_out_revokes_the_session_on_the_server_not_just_in_the_browser() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let (phone, page) = signed_in(&app, &ann).await;
        let (laptop, _) = signed_in(&app, &ann).await;
        let (tablet, _) = signed_in(&app, &ann).await;
        let kept = phone.cookie(COOKIE).unwrap().value;

        let out = phone.post_form("/p/sign-out", &[("csrf", &csrf_of(&page))]).await;
        assert_eq!(out.status, 200, "{}", out.text);
        assert_eq!(heading_of(&out.text), "You are signed out");
        assert!(
            phone.cookie(COOKIE).is_none(),
            "the browser is told to forget the cookie"
        );
        // A copy of the old cookie no longer works: the session was revoked on the server.
        phone.set_cookie(COOKIE, &kept, "/p");
        assert_eq!(phone.get("/p").await.status, 303);
        assert_eq!(laptop.get("/p").await.status, 200, "other devices stay signed in");

        let laptop_page = laptop.get("/p").await.text;
        let everywhere = laptop
            .post_form("/p/sign-out", &[("csrf", &csrf_of(&laptop_page)), ("everywhere", "1")])
            .await;
        assert_eq!(everywhere.status, 200);
        assert_eq!(laptop.get("/p").await.status, 303);
        assert_eq!(tablet.get("/p").await.status, 303, "signed out on every device");

        // Erasing a participant ends their sessions and links.
        let (again, _) = signed_in(&app, &ann).await;
        assert_eq!(app.delete(&format!("/v1/participants/{}", ann["id"])).await.status, 204);
        assert_eq!(again.get("/p").await.status, 303);
        assert_eq!(app.count("participant_web_sessions").await, 0);
        assert_eq!(app.count("participant_sign_in_tokens").await, 0);
    }
}

#[tokio::test]
async fn the_page_gives_the_calendar_feed_with_subscribe_links_and_rotating_it_retires_the_old_address() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let (visitor, page) = signed_in(&app, &ann).await;
        let page = plain(&page);
        let url_marker = r#"id="feed-url" value=""#;
        let start = page.find(url_marker).expect("the feed address") + url_marker.len();
        let old = page[start..].split('"').next().unwrap().to_owned();
        assert!(old.starts_with(&format!("{}/ical/p/", app.address)), "{old}");
        let rest = old.split_once("://").unwrap().1;
        assert!(page.contains(&format!(r#"href="webcal://{rest}""#)), "a webcal:// link");
        let encoded: String = form_urlencoded::byte_serialize(format!("webcal://{rest}").as_bytes()).collect();
        assert!(page.contains(&format!("https://calendar.google.com/calendar/render?cid={encoded}")));
        let encoded: String = form_urlencoded::byte_serialize(old.as_bytes()).collect();
        assert!(page.contains(&format!("https://outlook.live.com/calendar/0/addfromweb?url={encoded}")));
        let fetch = |url: String| async move { reqwest_get(&url).await };
        assert_eq!(fetch(old.clone()).await, 200);

        let rotated = visitor.post_form("/p/feed", &[("csrf", &csrf_of(&page))]).await;
        assert_eq!(rotated.status, 200, "{}", rotated.text);
        assert!(rotated.text.contains("Your calendar has a new address"));
        assert_ne!(
            csrf_of(&rotated.text),
            "",
            "the page comes back ready for the next action"
        );
        let rotated = plain(&rotated.text);
        let start = rotated.find(url_marker).unwrap() + url_marker.len();
        let new = rotated[start..].split('"').next().unwrap().to_owned();
        assert_ne!(new, old);
        assert_eq!(fetch(old).await, 404, "the old address stops working");
        assert_eq!(fetch(new).await, 200);
    }
}

async fn reqwest_get(url: &str) -> u16 {
    convene_tests::reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn settings_reflections_and_surveys_work_from_the_page_and_times_follow_the_persons_own_zone() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let ann_id = ann["id"].as_i64().unwrap();
        let workshop = session(&app, "Reading for pleasure", 7, 10, json!({"topic": "reading"})).await;
        let (visitor, page) = signed_in(&app, &ann).await;
        let start: DateTime<Utc> = workshop["start"].as_str().unwrap().parse().unwrap();
        let london = start
            .with_timezone(&chrono_tz::Europe::London)
            .format("%H:%M")
            .to_string();
        assert!(
            page.contains(&format!(", {london}–")),
            "times in Ann's zone ({london}):\n{page}"
        );
        let csrf = csrf_of(&page);

        let saved = visitor
            .post_form(
                "/p/preferences",
                &[
                    ("csrf", &csrf),
                    ("time_zone", "America/New_York"),
                    ("notify_email", "on"),
                    ("reminder", "1440"),
                    ("reminder", "15"),
                    ("quiet_start", "21:00"),
                    ("quiet_end", "07:00"),
                ],
            )
            .await;
        assert_eq!(saved.status, 200, "{}", saved.text);
        assert!(saved.text.contains("Your settings are saved"));
        let me = app.get(&format!("/v1/participants/{ann_id}")).await.json();
        assert_eq!(me["time_zone"], "America/New_York");
        assert_eq!(me["reminder_offsets_minutes"], json!([1440, 15]));
        assert_eq!(me["quiet_hours_start"], "21:00");
        let new_york = start
            .with_timezone(&chrono_tz::America::New_York)
            .format("%H:%M")
            .to_string();
        assert!(
            saved.text.contains(&format!(", {new_york}–")),
            "times now in New York's ({new_york})"
        );

        // A zone that does not exist: the form comes back with the reason, nothing saved.
        let refused = visitor
            .post_form(
                "/p/preferences",
                &[
                    ("csrf", &csrf),
                    ("time_zone", "Mars/Olympus_Mons"),
                    ("notify_email", "on"),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert!(refused.text.contains("Your settings were not saved"));
        assert!(refused.text.contains(r#"aria-invalid="true""#));
        assert_eq!(
            app.get(&format!("/v1/participants/{ann_id}")).await.json()["time_zone"],
            "America/New_York"
        );

        // Reflections: all three parts are needed; then it is kept and listed.
        let empty = visitor
            .post_form("/p/reflections", &[("csrf", &csrf), ("what_tried", "Talk partners")])
            .await;
        assert_eq!(empty.status, 422, "{}", empty.text);
        assert!(empty.text.contains("Your reflection was not saved"));
        assert!(
            empty.text.contains(">Talk partners</textarea>"),
            "what was typed is kept"
        );
        assert_eq!(app.count("reflections").await, 0);
        let written = visitor
            .post_form(
                "/p/reflections",
                &[
                    ("csrf", &csrf),
                    ("event_id", ""),
                    ("what_tried", "Talk partners in Year 2"),
                    ("what_changed", "Fuller spoken answers"),
                    ("evidence", "Book looks & <pupil> voice"),
                ],
            )
            .await;
        assert_eq!(written.status, 200, "{}", written.text);
        assert!(written.text.contains("your reflection is saved"));
        assert!(
            written.text.contains("Book looks &amp; &lt;pupil&gt; voice"),
            "escaped, never raw HTML"
        );
        let listed = app
            .get(&format!("/v1/reflections?participant_id={ann_id}"))
            .await
            .json();
        assert_eq!(listed["items"][0]["what_tried"], "Talk partners in Year 2");
        let bad_event = visitor
            .post_form(
                "/p/reflections",
                &[
                    ("csrf", &csrf),
                    ("event_id", "banana"),
                    ("what_tried", "a"),
                    ("what_changed", "b"),
                    ("evidence", "c"),
                ],
            )
            .await;
        assert_eq!(bad_event.status, 422);

        // An open survey is linked from the page.
        assert_eq!(app.book(&workshop["id"], ann_id).await.status, 201);
        let survey = app
            .post(
                "/v1/surveys",
                &json!({"title": "What changed after Reading?", "event_id": workshop["event_id"], "questions": [
                    {"key": "plan", "kind": "intended_action", "prompt": "What will you try?", "required": true}]}),
            )
            .await
            .json();
        let sent = app
            .post(&format!("/v1/surveys/{}/invitations:send", survey["id"]), &json!({}))
            .await
            .json();
        assert_eq!(sent["invited"], 1, "{sent}");
        let page = visitor.get("/p").await.text;
        assert!(page.contains("What changed after Reading?"), "{page}");
        assert!(
            plain(&page).contains(&format!(r#"href="{}/s/"#, app.address)),
            "a link to the survey form"
        );

        // Sessions filter by kind and topic.
        let host = app.create_school(json!({"accredited_practice": ["maths"]})).await;
        session(
            &app,
            "SLP: maths talk",
            9,
            10,
            json!({"kind": "slp_session", "topic": "maths", "host_school_id": host["id"]}),
        )
        .await;
        let open_list = |html: &str| {
            let start = html.find(r#"<h2 id="sessions">"#).unwrap();
            let end = html.find(r#"<h2 id="calendar">"#).unwrap();
            html[start..end].to_owned()
        };
        let every = open_list(&visitor.get("/p").await.text);
        assert!(
            every.contains("Reading for pleasure") && every.contains("SLP: maths talk"),
            "{every}"
        );
        let reading = open_list(&visitor.get("/p?topic=Reading").await.text);
        assert!(
            reading.contains("Reading for pleasure") && !reading.contains("SLP: maths talk"),
            "{reading}"
        );
        let slp = open_list(&visitor.get("/p?kind=slp_session").await.text);
        assert!(
            slp.contains("SLP: maths talk") && !slp.contains("Reading for pleasure"),
            "{slp}"
        );
    }
}

#[tokio::test]
async fn sign_in_requests_are_throttled_per_address_and_a_malformed_address_gets_the_form_back() {
    for app in spawn_apps().await {
        let ann = app
            .create_participant(json!({"name": "Ann Jones", "email": "ann@throttle.example"}))
            .await;
        let visitor = WebVisitor::new(&app);
        for _ in 0..3 {
            let asked = visitor
                .post_form("/p/sign-in", &[("email", "ann@throttle.example")])
                .await;
            assert_eq!(asked.status, 200);
            assert_eq!(heading_of(&asked.text), "Check your email");
        }
        app.wait_for_sign_ins(3).await;
        assert_eq!(
            app.notifications("sign_in_link", ann["id"].as_i64()).await,
            1,
            "one link a minute, however often it is asked for"
        );
        for (email, message) in [
            ("", "Enter your email address"),
            ("not an address", "Enter your email address as name@school.org.uk"),
        ] {
            let bad = visitor.post_form("/p/sign-in", &[("email", email)]).await;
            assert_eq!(bad.status, 422, "{}", bad.text);
            assert!(bad.text.contains(message), "{}", bad.text);
            assert!(bad.text.contains(r#"aria-invalid="true""#));
        }
        let no_field = visitor.post_form("/p/sign-in", &[]).await;
        assert_eq!(no_field.status, 422);
        // Garbage bodies are just forms with nothing useful in them.
        let garbage = app
            .send(
                app.anonymous(Method::POST, "/p/sign-in")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(vec![0xff, 0xfe, b'=', b'%', b'z']),
            )
            .await;
        assert_eq!(garbage.status, 422, "{}", garbage.text);
    }
}

#[tokio::test]
async fn organisers_send_someone_their_sign_in_link_and_unknown_or_erased_people_are_not_found() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let id = ann["id"].as_i64().unwrap();
        let sent = app
            .post(&format!("/v1/participants/{id}/sign-in-link"), &json!({}))
            .await;
        assert_eq!(sent.status, 202, "{}", sent.text);
        assert_eq!(sent.json()["participant_id"], id);
        assert_eq!(sent.json()["expires_in_minutes"], 30);
        assert_eq!(app.notifications("sign_in_link", Some(id)).await, 1);

        app.post("/v1/participants/999999/sign-in-link", &json!({}))
            .await
            .problem(404, "not_found");
        app.send(app.anonymous(Method::POST, &format!("/v1/participants/{id}/sign-in-link")))
            .await
            .problem(401, "unauthorized");
        let bot = app.bot_key().await;
        app.send(
            app.anonymous(Method::POST, &format!("/v1/participants/{id}/sign-in-link"))
                .bearer_auth(&bot),
        )
        .await
        .problem(403, "forbidden");
        assert_eq!(app.delete(&format!("/v1/participants/{id}")).await.status, 204);
        app.post(&format!("/v1/participants/{id}/sign-in-link"), &json!({}))
            .await
            .problem(404, "not_found");

        let doc = app.get("/openapi.json").await.json();
        let op = &doc["paths"]["/v1/participants/{id}/sign-in-link"]["post"];
        assert!(
            op["responses"]["202"].is_object() && op["responses"]["404"].is_object(),
            "{op}"
        );
    }
}

#[tokio::test]
async fn bad_input_on_the_pages_gets_a_clear_page_never_a_server_error() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let (visitor, page) = signed_in(&app, &ann).await;
        let csrf = csrf_of(&page);
        let cases: Vec<(Reply, u16)> = vec![
            (
                visitor
                    .post_form("/p/bookings", &[("csrf", &csrf), ("session_id", "abc")])
                    .await,
                422,
            ),
            (visitor.post_form("/p/bookings", &[("csrf", &csrf)]).await, 422),
            (
                visitor
                    .post_form("/p/bookings", &[("csrf", &csrf), ("session_id", "99999")])
                    .await,
                404,
            ),
            (
                visitor
                    .post_form(
                        "/p/bookings",
                        &[("csrf", &csrf), ("session_id", "99999999999999999999999")],
                    )
                    .await,
                422,
            ),
            (
                visitor.post_form("/p/bookings/abc/cancel", &[("csrf", &csrf)]).await,
                404,
            ),
            (
                visitor.post_form("/p/bookings/424242/cancel", &[("csrf", &csrf)]).await,
                404,
            ),
            (
                visitor
                    .post_form("/p/preferences", &[("csrf", &csrf), ("reminder", "soon")])
                    .await,
                422,
            ),
            (
                visitor
                    .post_form(
                        "/p/preferences",
                        &[
                            ("csrf", &csrf),
                            ("time_zone", "Europe/London"),
                            ("quiet_start", "25:99"),
                        ],
                    )
                    .await,
                422,
            ),
            (visitor.get("/p?kind=bogus").await, 400),
            (visitor.get("/p?cursor=zzz").await, 400),
            (visitor.get("/p/nothing-here").await, 404),
        ];
        for (i, (reply, status)) in cases.into_iter().enumerate() {
            assert_eq!(reply.status.as_u16(), status, "case {i}: {}", reply.text);
            assert!(
                reply.content_type().starts_with("text/html"),
                "case {i}: {}",
                reply.content_type()
            );
        }
        let back = visitor.get("/p/bookings").await;
        assert_eq!(back.status, 303, "a GET of a form's address goes back to the page");
        assert_eq!(app.count("bookings").await, 0);
    }
}

#[tokio::test]
async fn the_page_is_used_in_headless_chromium_at_phone_width_and_booking_is_done_by_clicking() {
    let app = spawn_app(convene_tests::Backend::Sqlite).await;
    let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
    let bob = app.create_participant(json!({"name": "Bob Smith"})).await["id"]
        .as_i64()
        .unwrap();
    let open = session(
        &app,
        "Phonics that sticks: a long title that must wrap on a phone screen",
        7,
        30,
        json!({"topic": "reading"}),
    )
    .await;
    let full = session(&app, "Oracy in the early years", 8, 1, json!({})).await;
    assert_eq!(app.book(&full["id"], bob).await.status, 201);
    let id = ann["id"].as_i64().unwrap();
    assert_eq!(
        app.post(&format!("/v1/participants/{id}/sign-in-link"), &json!({}))
            .await
            .status,
        202
    );
    let link = sign_in_link_for(&app, id).await;

    let shots = browser::artifacts("participant-pages");
    let dir = shots.clone();
    let (book, wait) = (format!("book-{}", open["id"]), format!("book-{}", full["id"]));
    let seen =
        tokio::task::spawn_blocking(move || browser::run("participant_browser.py", &link, &dir, &[&book, &wait]))
            .await
            .unwrap();
    assert_eq!(seen["landed_path"], "/p", "{seen}");
    assert_eq!(seen["title"], "Your page — Convene");
    for width in ["scroll_width", "scroll_width_after"] {
        assert!(
            seen[width].as_i64().is_some_and(|w| w <= 360),
            "no sideways scrolling at 360 px: {seen}"
        );
    }
    assert!(
        seen["first_focus"].as_str().is_some_and(|f| f.ends_with("/p#bookings")),
        "the first Tab goes to the page's contents: {seen}"
    );
    assert_eq!(seen["booked_notice"], "You're booked", "{seen}");
    assert_eq!(seen["waitlist_notice"], "You're on the waitlist, number 1", "{seen}");
    assert_eq!(seen["screenshots"], json!(SHOTS));
    for shot in SHOTS {
        assert!(
            std::fs::metadata(shots.join(shot)).unwrap().len() > 1000,
            "{shot} is a real image"
        );
    }
    assert_eq!(
        status_of(&app, booking_id(&app, &open["id"], id).await).await,
        "confirmed"
    );
    assert_eq!(
        status_of(&app, booking_id(&app, &full["id"], id).await).await,
        "waitlisted"
    );
}
