//! The bot's share of the API: linking a Discord account by an emailed code, and `/v1/me/…`,
//! where a linked participant sees and books sessions, cancels, gets their feed, sets their
//! preferences and writes reflections — by the same rules as everywhere else.

use std::time::Duration;

use convene_tests::reqwest::Method;
use convene_tests::smtp::{Mode, SmtpSink};
use convene_tests::{Reply, TestApp, backends, json, spawn_app_with, spawn_apps};
use serde_json::Value;

async fn link(app: &TestApp, bot: &str, discord_id: &str, email: &str) -> Reply {
    app.send(
        app.anonymous(Method::POST, "/v1/bot/link")
            .bearer_auth(bot)
            .json(&json!({"discord_id": discord_id, "email": email})),
    )
    .await
}

async fn verify(app: &TestApp, bot: &str, discord_id: &str, code: &str) -> Reply {
    app.send(
        app.anonymous(Method::POST, "/v1/bot/verify")
            .bearer_auth(bot)
            .json(&json!({"discord_id": discord_id, "code": code})),
    )
    .await
}

async fn me(app: &TestApp, bot: &str, discord_id: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = app.as_discord(bot, discord_id, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// A code that is not `code` (for the wrong tries).
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn a_code_emailed_over_smtp_links_a_discord_account_and_unknown_emails_get_the_same_answer() {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let url = sink.url();
        let app = spawn_app_with(backend, move |s| s.smtp_url = Some(url)).await;
        let bot = app.bot_key().await;
        let ann = app
            .create_participant(json!({"name": "Ann Jones", "email": "ann@northfield.example"}))
            .await;

        // Before linking, the bot cannot act for the Discord user.
        me(&app, &bot, "4242", Method::GET, "/v1/me", None)
            .await
            .problem(403, "not_linked");
        app.send(app.anonymous(Method::GET, "/v1/me").bearer_auth(&bot))
            .await
            .problem(400, "discord_user_missing");
        app.send(app.request(Method::GET, "/v1/me").header("X-Discord-User", "4242"))
            .await
            .problem(403, "forbidden");

        let known = link(&app, &bot, "4242", "Ann@Northfield.example").await;
        let unknown = link(&app, &bot, "5353", "nobody@northfield.example").await;
        assert_eq!(known.status, 202, "{}", known.text);
        assert_eq!(unknown.status, 202, "{}", unknown.text);
        assert_eq!(known.json()["expires_in_minutes"], 15);
        let shape = |r: &Reply| {
            r.json()["detail"]
                .as_str()
                .unwrap()
                .replace("ann@northfield.example", "")
                .replace("nobody@northfield.example", "")
        };
        assert_eq!(
            shape(&known),
            shape(&unknown),
            "the answer must not tell whether the email is known"
        );

        let mail = sink.wait_for(1, Duration::from_secs(20)).await[0].read();
        assert_eq!(mail["to"], json!(["ann@northfield.example"]));
        let subject = mail["subject"].as_str().unwrap();
        let code = subject.rsplit(' ').next().unwrap().to_owned();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{subject}");
        assert!(mail["text"].as_str().unwrap().contains(&code), "{mail}");

        let wrong = verify(&app, &bot, "4242", &other_than(&code)).await;
        assert!(
            wrong.problem(422, "code_incorrect")["detail"]
                .as_str()
                .unwrap()
                .contains("4 tries left"),
            "{}",
            wrong.text
        );
        // Someone else's Discord account cannot use Ann's code.
        verify(&app, &bot, "5353", &code).await.problem(422, "code_incorrect");
        verify(&app, &bot, "6464", &code).await.problem(409, "no_code_pending");
        verify(&app, &bot, "4242", "12ab")
            .await
            .problem(422, "validation_failed");

        let linked = verify(&app, &bot, "4242", &code).await;
        assert_eq!(linked.status, 200, "{}", linked.text);
        assert_eq!(linked.json()["participant_id"], ann["id"]);
        assert_eq!(linked.json()["name"], "Ann Jones");
        let profile = me(&app, &bot, "4242", Method::GET, "/v1/me", None).await.json();
        assert_eq!(profile["id"], ann["id"]);
        assert_eq!(profile["discord_linked"], true);
        assert_eq!(profile["notify_discord"], true, "linking turns on Discord messages");
        // A code works once.
        verify(&app, &bot, "4242", &code).await.problem(409, "no_code_pending");
        // Only one mail went out: nothing to the unknown address.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sink.messages().len(), 1);
    }
}

#[tokio::test]
async fn five_wrong_codes_lock_the_discord_user_out_and_old_codes_expire() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({})).await;
        let email = ann["email"].as_str().unwrap();
        assert_eq!(link(&app, &bot, "777", email).await.status, 202);
        let code = app.link_code_for(ann["id"].as_i64().unwrap()).await;
        let wrong = other_than(&code);
        for left in [4, 3, 2, 1] {
            let reply = verify(&app, &bot, "777", &wrong).await;
            let detail = reply.problem(422, "code_incorrect")["detail"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(detail.contains(&format!("{left} tr")), "{detail}");
        }
        let locked = verify(&app, &bot, "777", &wrong).await;
        locked.problem(429, "verify_locked");
        let retry: i64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((3500..=3600).contains(&retry), "{retry}");
        // Locked: the right code is refused too, and no new code is sent.
        verify(&app, &bot, "777", &code).await.problem(429, "verify_locked");
        link(&app, &bot, "777", email).await.problem(429, "verify_locked");
        assert_eq!(app.notifications("link_code", ann["id"].as_i64()).await, 1);
        me(&app, &bot, "777", Method::GET, "/v1/me", None)
            .await
            .problem(403, "not_linked");

        // An expired code is refused as expired (and a new /link makes a new one).
        let bob = app.create_participant(json!({})).await;
        assert_eq!(
            link(&app, &bot, "888", bob["email"].as_str().unwrap()).await.status,
            202
        );
        let code = app.link_code_for(bob["id"].as_i64().unwrap()).await;
        app.clock
            .advance(chrono::TimeDelta::minutes(convene_api::domain::link::CODE_MINUTES + 1));
        verify(&app, &bot, "888", &code).await.problem(422, "code_expired");
        link(&app, &bot, "888", "not-an-email")
            .await
            .problem(422, "validation_failed");
        link(&app, &bot, "eight", bob["email"].as_str().unwrap())
            .await
            .problem(422, "validation_failed");
    }
}

#[tokio::test]
async fn a_linked_participant_books_is_waitlisted_cancels_and_the_next_in_line_is_promoted() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let event = app
            .create_event(json!({"title": "Maths mastery", "kind": "conference", "topic": "maths", "online_url": "https://meet.example.org/maths"}))
            .await;
        let day = (chrono::Utc::now() + chrono::Duration::days(9))
            .format("%Y-%m-%d")
            .to_string();
        let session = app
            .create_session(&event["id"], json!({"start": format!("{day}T16:00"), "end": format!("{day}T17:00"), "capacity": 1, "label": "Workshop A"}))
            .await;
        let draft = app
            .create_event(json!({"title": "Secret draft", "status": "draft"}))
            .await;
        app.create_session(
            &draft["id"],
            json!({"start": format!("{day}T10:00"), "end": format!("{day}T11:00"), "capacity": 5}),
        )
        .await;
        let ann = app
            .create_participant(json!({"name": "Ann", "time_zone": "America/New_York"}))
            .await;
        let bob = app.create_participant(json!({"name": "Bob"})).await;
        app.link_discord(&bot, &ann, "100").await;
        app.link_discord(&bot, &bob, "200").await;

        let open = me(&app, &bot, "100", Method::GET, "/v1/me/sessions", None).await.json();
        let items = open["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "drafts are not open: {open}");
        assert_eq!(items[0]["session"]["event_title"], "Maths mastery");
        assert_eq!(items[0]["session"]["time_zone"], "America/New_York");
        assert_eq!(
            items[0]["session"]["start_local"],
            format!("{day}T11:00:00"),
            "in Ann's zone"
        );
        assert_eq!(items[0]["my_booking"], Value::Null);
        assert!(items[0]["session"].get("online_url").is_none() && items[0].get("join_url").is_none());
        for filter in ["kind=slp_session", "topic=science", "q=zzz"] {
            let page = me(
                &app,
                &bot,
                "100",
                Method::GET,
                &format!("/v1/me/sessions?{filter}"),
                None,
            )
            .await
            .json();
            assert_eq!(page["items"], json!([]), "{filter}");
        }
        let found = me(
            &app,
            &bot,
            "100",
            Method::GET,
            "/v1/me/sessions?q=workshop&topic=Maths",
            None,
        )
        .await
        .json();
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        me(&app, &bot, "100", Method::GET, "/v1/me/sessions?kind=party", None)
            .await
            .problem(400, "invalid_query");

        let body = json!({"session_id": session["id"]});
        let first = me(&app, &bot, "100", Method::POST, "/v1/me/bookings", Some(body.clone())).await;
        assert_eq!(first.status, 201, "{}", first.text);
        assert_eq!(first.json()["status"], "confirmed");
        let second = me(&app, &bot, "200", Method::POST, "/v1/me/bookings", Some(body.clone())).await;
        assert_eq!(second.json()["status"], "waitlisted");
        assert_eq!(second.json()["waitlist_position"], 1);
        let again = me(&app, &bot, "200", Method::POST, "/v1/me/bookings", Some(body.clone())).await;
        assert_eq!(again.status, 200, "booking twice gives the existing booking");

        let bobs = me(&app, &bot, "200", Method::GET, "/v1/me/bookings", None).await.json();
        assert_eq!(bobs["items"][0]["status"], "waitlisted");
        assert_eq!(
            bobs["items"][0]["join_url"],
            Value::Null,
            "no join link while waitlisted"
        );
        let anns = me(&app, &bot, "100", Method::GET, "/v1/me/bookings", None).await.json();
        assert_eq!(anns["items"][0]["join_url"], "https://meet.example.org/maths");
        assert_eq!(anns["items"][0]["session"]["label"], "Workshop A");

        // Nobody can see or cancel someone else's booking.
        let ann_booking = first.json()["id"].clone();
        me(
            &app,
            &bot,
            "200",
            Method::DELETE,
            &format!("/v1/me/bookings/{ann_booking}"),
            None,
        )
        .await
        .problem(404, "not_found");
        me(
            &app,
            &bot,
            "200",
            Method::GET,
            &format!("/v1/me/bookings/{ann_booking}"),
            None,
        )
        .await
        .problem(404, "not_found");
        let cancelled = me(
            &app,
            &bot,
            "100",
            Method::DELETE,
            &format!("/v1/me/bookings/{ann_booking}"),
            None,
        )
        .await;
        assert_eq!(cancelled.json()["status"], "cancelled", "{}", cancelled.text);
        let bobs = me(&app, &bot, "200", Method::GET, "/v1/me/bookings", None).await.json();
        assert_eq!(bobs["items"][0]["status"], "confirmed", "Bob was promoted: {bobs}");
        assert_eq!(
            app.notifications("booking_promoted", bob["id"].as_i64()).await,
            2,
            "by email and Discord"
        );

        me(
            &app,
            &bot,
            "100",
            Method::POST,
            "/v1/me/bookings",
            Some(json!({"session_id": 999_999})),
        )
        .await
        .problem(404, "not_found");
        me(
            &app,
            &bot,
            "100",
            Method::POST,
            "/v1/me/bookings",
            Some(json!({"session_id": session["id"], "participant_id": 2})),
        )
        .await
        .problem(422, "validation_failed");
        let past = me(&app, &bot, "100", Method::GET, "/v1/me/bookings?when=past", None)
            .await
            .json();
        assert_eq!(past["items"], json!([]));

        // The bot's key does nothing else.
        app.send(app.as_discord(&bot, "100", Method::GET, "/v1/participants"))
            .await
            .problem(403, "forbidden");
        app.send(app.as_discord(&bot, "100", Method::DELETE, &format!("/v1/bookings/{ann_booking}")))
            .await
            .problem(403, "forbidden");
    }
}

#[tokio::test]
async fn a_linked_participant_gets_their_feed_sets_preferences_and_writes_reflections() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({})).await;
        app.link_discord(&bot, &ann, "300").await;

        let feed = me(&app, &bot, "300", Method::GET, "/v1/me/feed", None).await.json();
        let url = feed["url"].as_str().unwrap().to_owned();
        assert!(url.ends_with(".ics"), "{url}");
        assert_eq!(
            me(&app, &bot, "300", Method::GET, "/v1/me/feed", None).await.json()["url"],
            url,
            "asking again gives the same URL"
        );
        let path = url.split_once("/ical/").map(|(_, p)| format!("/ical/{p}")).unwrap();
        assert_eq!(app.get(&path).await.status, 200);
        let rotated = me(&app, &bot, "300", Method::POST, "/v1/me/feed-token", None)
            .await
            .json();
        assert_ne!(rotated["url"], url);
        assert_eq!(app.get(&path).await.status, 404, "the old URL stops working");

        let prefs = me(&app, &bot, "300", Method::GET, "/v1/me/preferences", None)
            .await
            .json();
        assert_eq!(prefs["reminder_offsets_minutes"], json!([1440, 60]));
        let changed = me(
            &app,
            &bot,
            "300",
            Method::PATCH,
            "/v1/me/preferences",
            Some(json!({"notify_email": false, "reminder_offsets_minutes": [120], "quiet_hours_start": "21:00", "quiet_hours_end": "07:00"})),
        )
        .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
        assert_eq!(changed.json()["notify_email"], false);
        assert_eq!(changed.json()["quiet_hours_start"], "21:00");
        let bad = me(
            &app,
            &bot,
            "300",
            Method::PATCH,
            "/v1/me/preferences",
            Some(json!({"reminder_offsets_minutes": [1], "time_zone": "Mars/Olympus"})),
        )
        .await;
        bad.problem(422, "validation_failed");
        let fields = bad.fields();
        assert!(
            fields.iter().any(|f| f.starts_with("reminder_offsets_minutes"))
                && fields.contains(&"time_zone".to_owned()),
            "{fields:?}"
        );
        me(
            &app,
            &bot,
            "300",
            Method::PATCH,
            "/v1/me/preferences",
            Some(json!({"email": "x@y.org"})),
        )
        .await
        .problem(422, "validation_failed");
        assert_eq!(
            me(&app, &bot, "300", Method::GET, "/v1/me/preferences", None)
                .await
                .json()["reminder_offsets_minutes"],
            json!([120])
        );

        let event = app.create_event(json!({"title": "Oracy conference"})).await;
        let written = me(
            &app,
            &bot,
            "300",
            Method::POST,
            "/v1/me/reflections",
            Some(json!({"event_id": event["id"], "what_tried": "Talk partners in Year 3", "what_changed": "More pupils answer in full sentences", "evidence": "Book looks: 18 of 28 pupils, up from 9"})),
        )
        .await;
        assert_eq!(written.status, 201, "{}", written.text);
        assert_eq!(written.json()["event_title"], "Oracy conference");
        assert_eq!(written.json()["participant_id"], ann["id"]);
        let missing = me(
            &app,
            &bot,
            "300",
            Method::POST,
            "/v1/me/reflections",
            Some(json!({"what_tried": "  ", "event_id": 999_999})),
        )
        .await;
        missing.problem(422, "validation_failed");
        let mut fields = missing.fields();
        fields.sort();
        assert_eq!(fields, ["evidence", "what_changed", "what_tried"]);
        let listed = me(&app, &bot, "300", Method::GET, "/v1/me/reflections", None)
            .await
            .json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        assert_eq!(listed["items"][0]["what_tried"], "Talk partners in Year 3");
        assert_eq!(
            app.count("reflections").await,
            1,
            "the refused reflection wrote nothing"
        );
    }
}
