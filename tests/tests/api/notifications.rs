//! The outbox delivered: reminders that follow their booking, dead letters organisers can retry,
//! and the Discord bot's lease and acknowledgement.

use std::time::Duration;

use chrono::{DateTime, Utc};
use convene_api::domain::keys::{self, KeyRole};
use convene_tests::itip::itip_check;
use convene_tests::reqwest::Method;
use convene_tests::smtp::{Mode, SmtpSink};
use convene_tests::{TestApp, backends, convene_binary, json, spawn_app_with, spawn_apps};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::Value;

/// The `(kind, state, due_at)` of a participant's messages, oldest first.
async fn messages(app: &TestApp, participant: i64) -> Vec<(String, String, String)> {
    let reply = app
        .get(&format!("/v1/notifications?participant_id={participant}&limit=500"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_owned(),
                n["state"].as_str().unwrap().to_owned(),
                n["due_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn reminders(list: &[(String, String, String)], state: &str) -> Vec<String> {
    let mut due: Vec<_> = list
        .iter()
        .filter(|(k, s, _)| k == "reminder" && s == state)
        .map(|(_, _, d)| d.clone())
        .collect();
    due.sort();
    due
}

/// Waits until `check` holds for the participant's messages (the worker runs on its own).
async fn eventually(app: &TestApp, participant: i64, what: &str, check: impl Fn(&[(String, String, String)]) -> bool) {
    for _ in 0..100 {
        if check(&messages(app, participant).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {:?}", messages(app, participant).await);
}

#[tokio::test]
async fn reminders_are_queued_a_day_and_an_hour_before_and_follow_the_booking() {
    for app in spawn_apps().await {
        let session = app.open_session(10, json!({})).await;
        let start = at(session["start"].as_str().unwrap());
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let booking = app.book(&session["id"], ann).await.json();
        let list = messages(&app, ann).await;
        let expected = vec![
            convene_api::time::format_utc(start - chrono::Duration::days(1)),
            convene_api::time::format_utc(start - chrono::Duration::hours(1)),
        ];
        assert_eq!(reminders(&list, "pending"), expected);

        // Moving the session moves the reminders, and tells Ann with an updated invitation.
        let moved = app
            .patch(&format!("/v1/sessions/{}", session["id"]), &json!({"start": (start + chrono::Duration::days(1)).to_rfc3339(), "end": (start + chrono::Duration::days(1) + chrono::Duration::hours(2)).to_rfc3339()}))
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        let list = messages(&app, ann).await;
        assert!(list.iter().any(|(k, _, _)| k == "session_changed"), "{list:?}");
        assert_eq!(
            reminders(&list, "pending"),
            vec![
                convene_api::time::format_utc(start),
                convene_api::time::format_utc(start + chrono::Duration::days(1) - chrono::Duration::hours(1)),
            ]
        );
        assert_eq!(reminders(&list, "withdrawn").len(), 2);

        // Cancelling withdraws them: nobody is reminded of a session they left.
        assert_eq!(app.delete(&format!("/v1/bookings/{}", booking["id"])).await.status, 200);
        let list = messages(&app, ann).await;
        assert!(reminders(&list, "pending").is_empty(), "{list:?}");
        assert!(list.iter().any(|(k, _, _)| k == "booking_cancelled"));
    }
}

#[tokio::test]
async fn a_participant_chooses_their_reminders_and_quiet_hours() {
    for app in spawn_apps().await {
        // A session at 07:10 London time, a week or so ahead.
        let event = app.create_event(json!({})).await;
        let day = (Utc::now() + chrono::Duration::days(8)).format("%Y-%m-%d").to_string();
        let session = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T07:10"), "end": format!("{day}T09:00"), "capacity": 5}),
            )
            .await;
        let start = at(session["start"].as_str().unwrap());
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let bad = app
            .patch(
                &format!("/v1/participants/{ann}"),
                &json!({"reminder_offsets_minutes": [1, 60], "quiet_hours_start": "25:00"}),
            )
            .await;
        bad.problem(422, "validation_failed");
        let mut fields = bad.fields();
        fields.sort();
        assert_eq!(
            fields,
            vec!["quiet_hours_end", "quiet_hours_start", "reminder_offsets_minutes[0]"]
        );

        app.book(&session["id"], ann).await;
        // Quiet 21:00-07:00: the 1-hour reminder (06:10) would land in them, and their end is
        // too close to the start (under 15 minutes), so it goes just before they begin.
        let changed = app
            .patch(
                &format!("/v1/participants/{ann}"),
                &json!({"reminder_offsets_minutes": [60, 2880], "quiet_hours_start": "21:00", "quiet_hours_end": "07:00"}),
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
        assert_eq!(changed.json()["reminder_offsets_minutes"], json!([2880, 60]));
        let pending = reminders(&messages(&app, ann).await, "pending");
        let london = chrono_tz::Europe::London;
        let local = |t: &str| at(t).with_timezone(&london).format("%Y-%m-%d %H:%M").to_string();
        let evening_before = (start.with_timezone(&london).date_naive() - chrono::Duration::days(1))
            .format("%Y-%m-%d 20:59")
            .to_string();
        let two_days = (start - chrono::Duration::days(2))
            .with_timezone(&london)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let mut got: Vec<_> = pending.iter().map(|t| local(t)).collect();
        got.sort();
        // Two days before at 07:10 is after the quiet hours end (07:00): kept as planned.
        assert_eq!(got, vec![two_days, evening_before]);

        // No reminders at all.
        app.patch(
            &format!("/v1/participants/{ann}"),
            &json!({"reminder_offsets_minutes": []}),
        )
        .await;
        assert!(reminders(&messages(&app, ann).await, "pending").is_empty());
    }
}

#[tokio::test]
async fn mail_that_cannot_be_delivered_ends_dead_and_can_be_sent_again() {
    for backend in backends() {
        // Nothing listens on this port: every try fails at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let app = spawn_app_with(backend, |s| {
            s.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"));
            s.mail_max_attempts = 3;
            s.mail_retry_base_ms = 50;
        })
        .await;
        let session = app.open_session(10, json!({})).await;
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        app.book(&session["id"], ann).await;
        eventually(&app, ann, "the confirmation dies after three tries", |list| {
            list.iter().any(|(k, s, _)| k == "booking_confirmed" && s == "dead")
        })
        .await;
        let dead = app.get("/v1/notifications?state=dead").await.json();
        let row: &Value = &dead["items"][0];
        assert_eq!(row["attempts"], 3);
        assert!(row["last_error"].as_str().unwrap().len() > 5, "{row}");
        assert_eq!(row["channel"], "email");
        let retried = app
            .post(&format!("/v1/notifications/{}/retry", row["id"]), &json!({}))
            .await;
        assert_eq!(retried.status, 200, "{}", retried.text);
        assert_eq!(retried.json()["attempts"], 0);
        eventually(&app, ann, "the retried message dies again", |list| {
            list.iter().any(|(k, s, _)| k == "booking_confirmed" && s == "dead")
        })
        .await;
        app.post("/v1/notifications/999999/retry", &json!({}))
            .await
            .problem(404, "not_found");
        app.get("/v1/notifications?state=lost")
            .await
            .problem(400, "invalid_query");
    }
}

async fn bot_key(app: &TestApp) -> String {
    keys::create(
        &app.db,
        "discord-bot",
        KeyRole::Bot,
        &convene_api::domain::audit::Change::new(convene_api::domain::audit::Actor::system("tests"), app.clock.now()),
    )
    .await
    .unwrap()
    .secret
}

async fn link_discord(app: &TestApp, participant: i64, discord_id: &str) {
    // Linking through /link and /verify is the bot's issue; here the row is set directly.
    app.db
        .execute_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("UPDATE participants SET discord_id = '{discord_id}' WHERE id = {participant}"),
        ))
        .await
        .unwrap();
    let reply = app
        .patch(
            &format!("/v1/participants/{participant}"),
            &json!({"notify_discord": true, "notify_email": false}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_bot_leases_discord_messages_and_acknowledges_each_one_sent() {
    for app in spawn_apps().await {
        let bot = bot_key(&app).await;
        let session = app.open_session(1, json!({"label": "Morning"})).await;
        let ann = app.create_participant(json!({"name": "Ann"})).await["id"]
            .as_i64()
            .unwrap();
        let bob = app.create_participant(json!({"name": "Bob"})).await["id"]
            .as_i64()
            .unwrap();
        link_discord(&app, bob, "112233445566778899").await;
        let first = app.book(&session["id"], ann).await.json();
        assert_eq!(app.book(&session["id"], bob).await.json()["status"], "waitlisted");
        assert_eq!(app.delete(&format!("/v1/bookings/{}", first["id"])).await.status, 200);

        let lease = |body: Value| {
            app.send(
                app.anonymous(Method::POST, "/v1/bot/notifications/lease")
                    .bearer_auth(&bot)
                    .json(&body),
            )
        };
        let leased = lease(json!({"limit": 10})).await;
        assert_eq!(leased.status, 200, "{}", leased.text);
        let items = leased.json()["items"].as_array().unwrap().clone();
        let kinds: Vec<_> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["booking_waitlisted", "booking_promoted"], "{items:?}");
        let promoted = &items[1];
        assert_eq!(promoted["discord_user_id"], "112233445566778899");
        assert!(
            promoted["title"]
                .as_str()
                .unwrap()
                .contains("Summer conference — Morning")
        );
        assert!(promoted["text"].as_str().unwrap().contains("Hello Bob"));
        assert!(promoted["booking_id"].is_number());

        // Leased messages are not handed out twice while the lease holds.
        assert!(lease(json!({})).await.json()["items"].as_array().unwrap().is_empty());
        let ack = |id: &Value| {
            app.send(
                app.anonymous(Method::POST, &format!("/v1/bot/notifications/{id}/ack"))
                    .bearer_auth(&bot),
            )
        };
        assert_eq!(ack(&promoted["id"]).await.status, 204);
        ack(&promoted["id"]).await.problem(409, "not_leased");

        // An unacknowledged message (a DM that failed) comes back once its lease (a minute, by
        // default) runs out.
        app.clock.advance(chrono::TimeDelta::seconds(61));
        let again = lease(json!({})).await.json();
        assert_eq!(again["items"][0]["id"], items[0]["id"]);
        assert_eq!(again["items"][0]["attempt"], 2);

        // Only the bot's key may lease; the bot's key may do nothing else.
        app.send(
            app.request(Method::POST, "/v1/bot/notifications/lease")
                .json(&json!({})),
        )
        .await
        .problem(403, "forbidden");
        app.send(app.anonymous(Method::GET, "/v1/schools").bearer_auth(&bot))
            .await
            .problem(403, "forbidden");
        lease(json!({"limit": 0})).await.problem(422, "validation_failed");
        // Bob turned email off: nothing was queued for him by email.
        let email = app
            .get(&format!("/v1/notifications?participant_id={bob}&channel=email"))
            .await
            .json();
        assert!(email["items"].as_array().unwrap().is_empty(), "{email}");
    }
}

/// An app sending mail to `sink`, retrying fast.
async fn app_with_sink(backend: convene_tests::Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    spawn_app_with(backend, move |s| {
        s.smtp_url = Some(url);
        s.mail_max_attempts = 3;
        s.mail_retry_base_ms = 100;
    })
    .await
}

/// The first calendar part of a mail, checked by libical's iTIP rules.
fn itip(mail: &Value) -> &Value {
    let raw = mail["calendars"][0]["raw"].as_str().unwrap();
    itip_check(raw.as_bytes()).unwrap_or_else(|e| panic!("libical refused the invitation: {e}\n{raw}"));
    &mail["calendar"]["events"][0]
}

#[tokio::test]
async fn a_booking_emails_an_invitation_and_a_cancellation_withdraws_it_with_a_higher_sequence() {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let app = app_with_sink(backend, &sink).await;
        let event = app
            .create_event(json!({"title": "Oracy in the early years", "online_url": "https://meet.example.org/oracy"}))
            .await;
        let day = (Utc::now() + chrono::Duration::days(10)).format("%Y-%m-%d").to_string();
        let session = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T16:00"), "end": format!("{day}T17:30"), "capacity": 5}),
            )
            .await;
        let ann = app
            .create_participant(
                json!({"name": "Ann Jones", "email": "ann@northfield.example", "time_zone": "America/New_York"}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let booking = app.book(&session["id"], ann).await.json();
        let mail = sink.wait_for(1, Duration::from_secs(20)).await[0].read();
        assert_eq!(mail["to"], json!(["ann@northfield.example"]));
        assert!(
            mail["subject"]
                .as_str()
                .unwrap()
                .starts_with("Booked: Oracy in the early years"),
            "{mail}"
        );
        assert_eq!(
            mail["structure"],
            json!(["multipart/alternative", ["text/plain", "text/html", "text/calendar"]])
        );
        assert_eq!(mail["calendar_method"], "REQUEST");
        assert!(
            mail["calendar_content_type"]
                .as_str()
                .unwrap()
                .contains("charset=UTF-8")
        );
        let text = mail["text"].as_str().unwrap();
        assert!(text.contains("Hello Ann Jones"), "{text}");
        // In Ann's zone (New York), with the venue's time beside it.
        assert!(
            text.contains(" ET") || text.contains("EST") || text.contains("EDT"),
            "{text}"
        );
        assert!(text.contains("where it takes place"), "{text}");
        assert!(
            text.contains("https://meet.example.org/oracy"),
            "the confirmed get the join link: {text}"
        );
        let message_id = mail["message_id"].as_str().unwrap().to_owned();
        assert!(message_id.starts_with("<notification-"), "{message_id}");
        let invite = itip(&mail).clone();
        let host = app.address.trim_start_matches("http://").split(':').next().unwrap();
        assert_eq!(invite["uid"], format!("session-{}@{host}", session["id"]));
        assert_eq!(invite["attendees"], json!(["mailto:ann@northfield.example"]));
        assert_eq!(invite["attendee_params"][0]["rsvp"], "TRUE");
        assert!(invite["organizer"].as_str().unwrap().starts_with("mailto:"));
        assert_eq!(invite["dtstart"], session["start"]);

        assert_eq!(app.delete(&format!("/v1/bookings/{}", booking["id"])).await.status, 200);
        let cancel = sink.wait_for(2, Duration::from_secs(20)).await[1].read();
        assert_eq!(cancel["calendar_method"], "CANCEL");
        let withdrawn = itip(&cancel).clone();
        assert_eq!(withdrawn["uid"], invite["uid"]);
        assert_eq!(withdrawn["status"], "CANCELLED");
        assert!(
            withdrawn["sequence"].as_i64() > invite["sequence"].as_i64(),
            "{invite} then {withdrawn}"
        );

        // Booking again after a cancellation: a new invitation, higher again.
        app.book(&session["id"], ann).await;
        let again = sink.wait_for(3, Duration::from_secs(20)).await[2].read();
        let renewed = itip(&again).clone();
        assert_eq!(again["calendar_method"], "REQUEST");
        assert!(
            renewed["sequence"].as_i64() > withdrawn["sequence"].as_i64(),
            "{withdrawn} then {renewed}"
        );
        assert_eq!(sink.messages().len(), 3, "one mail per change, no more");
    }
}

#[tokio::test]
async fn a_promotion_and_a_moved_session_email_the_people_booked() {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let app = app_with_sink(backend, &sink).await;
        let session = app.open_session(1, json!({})).await;
        let ann = app.create_participant(json!({"email": "ann@example.org"})).await["id"]
            .as_i64()
            .unwrap();
        let bob = app.create_participant(json!({"email": "bob@example.org"})).await["id"]
            .as_i64()
            .unwrap();
        let first = app.book(&session["id"], ann).await.json();
        assert_eq!(app.book(&session["id"], bob).await.json()["status"], "waitlisted");
        sink.wait_for(2, Duration::from_secs(20)).await;
        app.delete(&format!("/v1/bookings/{}", first["id"])).await;
        let mails: Vec<Value> = sink
            .wait_for(4, Duration::from_secs(20))
            .await
            .iter()
            .map(|m| m.read())
            .collect();
        let to_bob: Vec<&Value> = mails.iter().filter(|m| m["to"] == json!(["bob@example.org"])).collect();
        assert!(
            to_bob[0]["subject"].as_str().unwrap().starts_with("On the waitlist"),
            "{}",
            to_bob[0]
        );
        assert!(to_bob[0]["text"].as_str().unwrap().contains("number 1 on its waitlist"));
        assert!(to_bob[0].get("calendar").is_none(), "no invitation while waiting");
        let promoted = to_bob[1];
        assert!(
            promoted["subject"].as_str().unwrap().starts_with("A place came up"),
            "{promoted}"
        );
        let invite = itip(promoted).clone();

        let start = at(session["start"].as_str().unwrap()) + chrono::Duration::hours(3);
        let moved = app
            .patch(
                &format!("/v1/sessions/{}", session["id"]),
                &json!({"start": start.to_rfc3339(), "end": (start + chrono::Duration::hours(1)).to_rfc3339()}),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        let update = sink.wait_for(5, Duration::from_secs(20)).await[4].read();
        assert_eq!(update["to"], json!(["bob@example.org"]));
        assert!(update["subject"].as_str().unwrap().starts_with("Changed:"), "{update}");
        assert_eq!(update["calendar_method"], "REQUEST");
        let changed = itip(&update);
        assert_eq!(changed["uid"], invite["uid"]);
        assert!(changed["sequence"].as_i64() > invite["sequence"].as_i64());
        assert_eq!(changed["dtstart"], convene_api::time::format_utc(start));
    }
}

#[tokio::test]
async fn an_smtp_server_that_refuses_or_drops_gets_retries_and_nothing_is_lost() {
    for backend in backends() {
        for mode in [Mode::TempFail, Mode::Drop] {
            let sink = SmtpSink::start(mode).await;
            let app = app_with_sink(backend, &sink).await;
            let session = app.open_session(10, json!({})).await;
            let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
            app.book(&session["id"], ann).await;
            eventually(&app, ann, "three refused tries end dead", |list| {
                list.iter().any(|(k, s, _)| k == "booking_confirmed" && s == "dead")
            })
            .await;
            let dead = &app.get("/v1/notifications?state=dead").await.json()["items"][0];
            assert_eq!(dead["attempts"], 3, "{dead}");
            assert!(sink.messages().is_empty(), "{mode:?}: nothing was accepted");
            // The server recovers; the organiser sends it again; it arrives once.
            sink.set_mode(Mode::Accept);
            app.post(&format!("/v1/notifications/{}/retry", dead["id"]), &json!({}))
                .await;
            let mail = sink.wait_for(1, Duration::from_secs(20)).await;
            eventually(&app, ann, "sent after the retry", |list| {
                list.iter().any(|(k, s, _)| k == "booking_confirmed" && s == "sent")
            })
            .await;
            assert_eq!(mail.len(), 1);
            assert_eq!(mail[0].read()["calendar_method"], "REQUEST");
        }
    }
}

#[tokio::test]
async fn two_worker_processes_never_send_the_same_message() {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let url = sink.url();
        let app = spawn_app_with(backend, move |s| {
            s.worker = false;
            s.smtp_url = Some(url);
        })
        .await;
        let session = app.open_session(1000, json!({})).await;
        let people = app.create_participants(120, None).await;
        for p in &people {
            assert_eq!(app.book(&session["id"], *p).await.status, 201);
        }
        let config = std::env::temp_dir().join(format!("convene-workers-{}.toml", rand::random::<u64>()));
        std::fs::write(
            &config,
            format!(
                // A worker's default pool is 32 connections: two workers need not hold that many
                // of PostgreSQL's 100 beside the other tests' apps.
                "database_url = \"{}\"\nsmtp_url = \"{}\"\npublic_url = \"{}\"\nlog = \"warn\"\ndb_pool = 4\n",
                app.database_url,
                sink.url(),
                app.address
            ),
        )
        .unwrap();
        let binary = convene_binary();
        let mut workers: Vec<_> = (0..2)
            .map(|_| {
                std::process::Command::new(&binary)
                    .arg("--config")
                    .arg(&config)
                    .arg("worker")
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mails = sink.wait_for(120, Duration::from_secs(90)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        for w in &mut workers {
            w.kill().unwrap();
            w.wait().unwrap();
        }
        let _ = std::fs::remove_file(&config);
        let mut ids: Vec<String> = mails
            .iter()
            .map(|m| m.read()["message_id"].as_str().unwrap().to_owned())
            .collect();
        let all = sink.messages().len();
        ids.sort();
        ids.dedup();
        assert_eq!(all, 120, "{backend:?}: one mail per booking");
        assert_eq!(ids.len(), 120, "{backend:?}: no message sent twice");
        let owners = app
            .count("notifications WHERE state = 'sent' AND kind = 'booking_confirmed'")
            .await;
        assert_eq!(owners, 120);
    }
}

/// The status of `person`'s booking of a session, as the organiser's list shows it.
async fn status_on(app: &TestApp, session: &Value, person: i64) -> Value {
    let list = app.get(&format!("/v1/sessions/{session}/bookings")).await;
    list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["participant_id"] == person)
        .map_or(Value::Null, |b| b["status"].clone())
}

#[tokio::test]
async fn bookings_cancellations_and_promotions_answer_while_the_relay_holds_their_own_messages_mid_send() {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Hold).await;
        let app = app_with_sink(backend, &sink).await;
        let first = app.open_session(1, json!({})).await;
        let event = app.create_event(json!({"title": "Second workshop"})).await;
        let day = (Utc::now() + chrono::Duration::days(12)).format("%Y-%m-%d").to_string();
        let second = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T09:00"), "end": format!("{day}T10:00"), "capacity": 5}),
            )
            .await;
        let people = app.create_participants(2, None).await;
        let (ann, ben) = (people[0], people[1]);

        // Ann's confirmation goes out, and the relay holds it mid-send.
        let booked = app.book(&first["id"], ann).await;
        assert_eq!(booked.status, 201, "{}", booked.text);
        sink.wait_until_holding(1, Duration::from_secs(60)).await;

        // Everything that touches the very person and session whose message is in flight. A
        // generous bound, so a lock held across the send fails the test instead of hanging it.
        let work = async {
            let reply = app.book(&first["id"], ben).await;
            assert_eq!(reply.json()["status"], "waitlisted", "{}", reply.text);
            let again = app.book(&first["id"], ann).await;
            assert_eq!(again.json()["id"], booked.json()["id"], "{}", again.text);
            let cancelled = app.delete(&format!("/v1/bookings/{}", booked.json()["id"])).await;
            assert_eq!(cancelled.status, 200, "{}", cancelled.text);
            let waiting = app.book(&first["id"], ann).await;
            assert_eq!(waiting.json()["status"], "waitlisted", "{}", waiting.text);
            let elsewhere = app.book(&second["id"], ann).await;
            assert_eq!(elsewhere.json()["status"], "confirmed", "{}", elsewhere.text);
            assert_eq!(
                status_on(&app, &first["id"], ben).await,
                json!("confirmed"),
                "Ben was promoted"
            );
        };
        tokio::time::timeout(Duration::from_secs(120), work)
            .await
            .unwrap_or_else(|_| panic!("{backend:?}: a request waited for the relay"));

        // All of it answered while the relay still held the first message: nothing has arrived.
        assert!(sink.held() >= 1);
        assert!(
            sink.messages().is_empty(),
            "{backend:?}: the relay let a message through before it was released"
        );

        // Released, everything queued is delivered or withdrawn, and nothing is left leased.
        sink.set_mode(Mode::Accept);
        let mut open = i64::MAX;
        for _ in 0..300 {
            open = app
                .count(
                    "notifications WHERE channel = 'email' AND state IN ('pending', 'leased') AND kind <> 'reminder'",
                )
                .await;
            if open == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            open, 0,
            "{backend:?}: messages still waiting after the relay was released"
        );
        let subjects: Vec<String> = sink
            .messages()
            .iter()
            .map(|m| m.read()["subject"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(
            subjects.iter().any(|s| s.starts_with("Booked:")),
            "{backend:?}: {subjects:?}"
        );
        // Each mail carries the Message-ID its row was marked sent with (marked a batch at once).
        let recorded: Vec<Value> = app
            .get("/v1/notifications?state=sent&channel=email&limit=500")
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["message_id"].clone())
            .collect();
        assert_eq!(
            recorded.len(),
            sink.messages().len(),
            "{backend:?}: one mail per row sent"
        );
        for mail in sink.messages() {
            let id = mail.read()["message_id"].clone();
            assert!(
                recorded.contains(&id),
                "{backend:?}: {id} is not a sent row's: {recorded:?}"
            );
        }
    }
}

#[tokio::test]
async fn bookings_cancellations_and_promotions_do_not_wait_for_a_transaction_that_references_their_session_and_people()
{
    // The worker's writes reference a session and a person (a calendar sequence, an outbox row),
    // and on PostgreSQL each foreign key check takes FOR KEY SHARE on the row it references
    // until that transaction ends. A booking that locked those rows FOR UPDATE queued behind it,
    // and a second booking of the same pair, queued between them, deadlocked (broken only after
    // `deadlock_timeout`). SQLite has no row locks: one writer at a time by design.
    for backend in backends()
        .into_iter()
        .filter(|b| *b == convene_tests::Backend::Postgres)
    {
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let session = app.open_session(1, json!({})).await;
        let people = app.create_participants(2, None).await;
        let (ann, ben) = (people[0], people[1]);
        let booked = app.book(&session["id"], ann).await.json();
        assert_eq!(booked["status"], "confirmed");
        assert_eq!(app.book(&session["id"], ben).await.json()["status"], "waitlisted");

        // Another connection writes what the worker writes for both people, and stays open.
        let other = sea_orm::Database::connect(&app.database_url).await.unwrap();
        let txn = sea_orm::TransactionTrait::begin(&other).await.unwrap();
        for person in [ann, ben] {
            txn.execute_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                format!(
                    "INSERT INTO calendar_sequences (participant_id, session_id, sequence, updated_at) \
                     VALUES ({person}, {}, 0, now())",
                    session["id"]
                ),
            ))
            .await
            .unwrap();
        }

        let work = async {
            let again = app.book(&session["id"], ann).await;
            assert_eq!(again.json()["id"], booked["id"], "{}", again.text);
            let twice = futures_util::future::join(app.book(&session["id"], ann), app.book(&session["id"], ann)).await;
            assert_eq!((twice.0.status.as_u16(), twice.1.status.as_u16()), (200, 200));
            let cancelled = app.delete(&format!("/v1/bookings/{}", booked["id"])).await;
            assert_eq!(cancelled.status, 200, "{}", cancelled.text);
            assert_eq!(
                status_on(&app, &session["id"], ben).await,
                json!("confirmed"),
                "Ben was promoted"
            );
        };
        // A bound, so that a booking queued behind the open transaction fails the test instead
        // of hanging it; the open transaction ends only after the requests answered.
        let answered = tokio::time::timeout(Duration::from_secs(60), work).await;
        txn.rollback().await.unwrap();
        assert!(
            answered.is_ok(),
            "a request waited for a transaction that only referenced its session and people"
        );
    }
}
