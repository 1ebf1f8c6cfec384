//! The bot's command core (plain async functions over the API client) against the real API.

use convene_bot::api::HttpApi;
use convene_bot::core::{self, PrefsChange};
use convene_tests::{TestApp, json, spawn_apps};
use serde_json::Value;

/// A published event with one session of `capacity` seats, nine days from now, 16:00–17:00 London.
async fn workshop(app: &TestApp, title: &str, capacity: i64, extra: Value) -> Value {
    let mut body = json!({"title": title, "topic": "maths"});
    convene_tests::merge(&mut body, extra);
    let event = app.create_event(body).await;
    let day = (chrono::Utc::now() + chrono::Duration::days(9))
        .format("%Y-%m-%d")
        .to_string();
    app.create_session(
        &event["id"],
        json!({"start": format!("{day}T16:00"), "end": format!("{day}T17:00"), "capacity": capacity}),
    )
    .await
}

#[tokio::test]
async fn a_teacher_links_lists_books_into_a_full_session_and_cancels_through_the_command_core() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let api = HttpApi::new(&app.address, &bot).unwrap();
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let bob = app.create_participant(json!({"name": "Bob Smith"})).await;
        let session = workshop(
            &app,
            "Maths mastery",
            1,
            json!({"online_url": "https://meet.example.org/mm"}),
        )
        .await;
        let session_id = session["id"].as_i64().unwrap();

        // Not linked yet: every personal command says how to link.
        let reply = core::my_bookings(&api, "1001").await;
        assert!(
            reply.text.contains("isn't linked") && reply.text.contains("/link"),
            "{}",
            reply.text
        );
        assert!(reply.ephemeral);

        let reply = core::link(&api, "1001", ann["email"].as_str().unwrap()).await;
        assert!(
            reply.text.contains("six-digit code") && reply.text.contains("15 minutes"),
            "{}",
            reply.text
        );
        let unknown = core::link(&api, "1003", "nobody@nowhere.example").await;
        assert_eq!(
            unknown.text.replace("nobody@nowhere.example", "X"),
            reply.text.replace(ann["email"].as_str().unwrap(), "X"),
            "the same answer whether or not the email is known"
        );
        let code = app.link_code_for(ann["id"].as_i64().unwrap()).await;
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        let reply = core::verify(&api, "1001", &wrong).await;
        assert!(
            reply.text.contains("That code isn't right") && reply.text.contains("4 tries left"),
            "{}",
            reply.text
        );
        let reply = core::verify(&api, "1001", &code).await;
        assert!(reply.text.starts_with("Welcome, Ann Jones!"), "{}", reply.text);
        app.link_discord(&bot, &bob, "1002").await;

        let reply = core::events(&api, "1001", None, None, None).await;
        assert!(
            reply.text.contains("**Maths mastery**") && reply.text.contains(&format!("Session {session_id}")),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("1 of 1 places left"), "{}", reply.text);
        let none = core::events(&api, "1001", Some("slp_session"), None, None).await;
        assert!(none.text.starts_with("No sessions open"), "{}", none.text);
        let choices = core::session_choices(&api, "1001", "mastery").await;
        assert_eq!(choices.len(), 1);
        assert_eq!(choices[0].1, session_id);
        assert_eq!(core::topic_choices(&api, "1001", "ma").await, ["maths"]);

        let reply = core::book(&api, "1001", session_id, "k-ann").await;
        assert!(
            reply.text.starts_with("You're booked: **Maths mastery**"),
            "{}",
            reply.text
        );
        assert!(
            reply.text.contains("Join online: https://meet.example.org/mm"),
            "{}",
            reply.text
        );
        let ann_booking: i64 = reply
            .text
            .rsplit("Booking ")
            .next()
            .unwrap()
            .trim_end_matches('.')
            .parse()
            .unwrap();
        assert!(reply.buttons.iter().any(|b| b.id == format!("cancel:{ann_booking}")));
        // The same command retried (same key) books once.
        let again = core::book(&api, "1001", session_id, "k-ann").await;
        assert!(
            again.text.contains(&format!("Booking {ann_booking}.")),
            "{}",
            again.text
        );

        let reply = core::book(&api, "1002", session_id, "k-bob").await;
        assert!(
            reply
                .text
                .starts_with("That session is full — you are number 1 on the waitlist for **Maths mastery**"),
            "{}",
            reply.text
        );
        assert!(
            !reply.text.contains("meet.example.org"),
            "no join link while waitlisted: {}",
            reply.text
        );
        let mine = core::my_bookings(&api, "1002").await;
        assert!(mine.text.contains("number 1 on the waitlist"), "{}", mine.text);

        // Someone else's booking cannot be cancelled; one's own can, and Bob moves up.
        let reply = core::cancel(&api, "1002", ann_booking).await;
        assert!(reply.text.starts_with("I couldn't find that"), "{}", reply.text);
        let reply = core::cancel(&api, "1001", ann_booking).await;
        assert!(reply.text.starts_with("Cancelled: **Maths mastery**"), "{}", reply.text);
        let mine = core::my_bookings(&api, "1002").await;
        assert!(
            mine.text.contains(": booked. Booking"),
            "Bob was promoted: {}",
            mine.text
        );
        assert!(
            mine.text.contains("Join online: https://meet.example.org/mm"),
            "{}",
            mine.text
        );
        let reply = core::book(&api, "1001", 999_999, "k-none").await;
        assert!(reply.text.starts_with("I couldn't find that"), "{}", reply.text);

        let clash = workshop(&app, "Reading for pleasure", 5, json!({})).await;
        let reply = core::book(&api, "1002", clash["id"].as_i64().unwrap(), "k-clash").await;
        assert!(
            reply.text.starts_with("You can't book that: it overlaps session") && reply.text.contains("Maths mastery"),
            "{}",
            reply.text
        );
    }
}

#[tokio::test]
async fn reflections_preferences_and_the_calendar_feed_work_through_the_command_core() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let api = HttpApi::new(&app.address, &bot).unwrap();
        let ann = app.create_participant(json!({})).await;
        app.link_discord(&bot, &ann, "2001").await;
        let session = workshop(&app, "Oracy conference", 10, json!({})).await;
        core::book(&api, "2001", session["id"].as_i64().unwrap(), "k1").await;

        let events = core::event_choices(&api, "2001", "ora").await;
        assert_eq!(events.len(), 1);
        let reply = core::reflect(
            &api,
            "2001",
            Some(events[0].1),
            "Talk partners",
            "Fuller answers",
            "Book looks",
        )
        .await;
        assert!(
            reply.text.contains("saved") && reply.text.contains("**Oracy conference**"),
            "{}",
            reply.text
        );
        let reply = core::reflect(&api, "2001", None, "Talk partners", " ", "").await;
        assert!(
            reply.text.contains("“what changed” is required") && reply.text.contains("“how you know” is required"),
            "{}",
            reply.text
        );
        assert_eq!(app.count("reflections").await, 1);

        let shown = core::prefs(&api, "2001", PrefsChange::default()).await;
        assert!(
            shown.text.contains("Reminders: 1d, 1h before") && shown.text.contains("Discord: on"),
            "{}",
            shown.text
        );
        let change = PrefsChange {
            email: Some(false),
            reminders: Some("2h, 30m".into()),
            quiet: Some("21:00-07:00".into()),
            ..PrefsChange::default()
        };
        let saved = core::prefs(&api, "2001", change).await;
        assert!(
            saved.text.starts_with("Saved.")
                && saved.text.contains("Email: off")
                && saved.text.contains("Reminders: 2h, 30m before")
                && saved.text.contains("Quiet hours: 21:00–07:00"),
            "{}",
            saved.text
        );
        let bad = core::prefs(
            &api,
            "2001",
            PrefsChange {
                time_zone: Some("Mars/Olympus".into()),
                ..PrefsChange::default()
            },
        )
        .await;
        assert!(bad.text.starts_with("That didn't work: the time zone"), "{}", bad.text);
        let bad = core::prefs(
            &api,
            "2001",
            PrefsChange {
                reminders: Some("soon".into()),
                ..PrefsChange::default()
            },
        )
        .await;
        assert!(bad.text.contains("write times like 24h"), "{}", bad.text);

        let feed = core::calendar(&api, "2001", false).await;
        let url = feed.text.lines().nth(1).unwrap().to_owned();
        assert!(url.starts_with(&app.address) && url.ends_with(".ics"), "{}", feed.text);
        let ics = app.anonymous(
            convene_tests::reqwest::Method::GET,
            url.trim_start_matches(&app.address),
        );
        let body = app.send(ics).await;
        assert!(body.text.contains("SUMMARY:Oracy conference"), "{}", body.text);
        let rotated = core::calendar(&api, "2001", true).await;
        assert!(
            rotated.text.starts_with("Done: the old address no longer works."),
            "{}",
            rotated.text
        );
        assert!(!rotated.text.contains(&url));
    }
}

#[tokio::test]
async fn a_follow_up_survey_is_answered_a_question_at_a_time_with_buttons_typed_answers_and_skips() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let api = HttpApi::new(&app.address, &bot).unwrap();
        let ann = app.create_participant(json!({})).await;
        app.link_discord(&bot, &ann, "3001").await;
        let reply = core::survey(&api, "3001", None).await;
        assert_eq!(reply.text, "You have no surveys waiting for you.");

        let session = workshop(&app, "Oracy conference", 10, json!({})).await;
        core::book(&api, "3001", session["id"].as_i64().unwrap(), "k1").await;
        let survey = app
            .post(
                "/v1/surveys",
                &json!({"title": "What changed?", "event_id": session["event_id"], "questions": [
                    {"key": "useful", "kind": "likert", "prompt": "How useful was it?", "required": true},
                    {"key": "plan", "kind": "intended_action", "prompt": "What will you try?", "required": true},
                    {"key": "areas", "kind": "multi_choice", "prompt": "Which areas?", "options": ["Oracy", "Reading"]},
                    {"key": "other", "kind": "text", "prompt": "Anything else?"}
                ]}),
            )
            .await
            .json();
        let sent = app
            .post(&format!("/v1/surveys/{}/invitations:send", survey["id"]), &json!({}))
            .await
            .json();
        assert_eq!(sent["invited"], 1, "confirmed, attendance not taken: {sent}");

        let first = core::survey(&api, "3001", None).await;
        assert!(
            first
                .text
                .starts_with("**What changed?** — question 1 of 4\nHow useful was it?"),
            "{}",
            first.text
        );
        let labels: Vec<&str> = first.buttons.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["1", "2", "3", "4", "5"]);
        let wrong = core::survey(&api, "3001", Some("9")).await;
        assert_eq!(
            wrong.text,
            "That didn't work: your answer must be a whole number from 1 to 5."
        );
        let second = core::button(&api, "3001", &first.buttons[3].id).await;
        assert!(
            second.text.contains("question 2 of 4\nWhat will you try?"),
            "{}",
            second.text
        );
        assert!(
            second.buttons.iter().any(|b| b.id.starts_with("wr:")),
            "an Answer button: {:?}",
            second.buttons
        );
        let skip = core::survey(&api, "3001", Some("skip")).await;
        assert_eq!(skip.text, "That question needs an answer.");
        let third = core::survey(&api, "3001", Some("Paired talk in Year 4")).await;
        assert!(third.text.contains("question 3 of 4 (optional)"), "{}", third.text);
        let fourth = core::survey(&api, "3001", Some("skip")).await;
        assert!(
            fourth.text.contains("question 4 of 4 (optional)\nAnything else?"),
            "{}",
            fourth.text
        );
        let skip_button = fourth.buttons.iter().find(|b| b.label == "Skip").unwrap();
        let done = core::button(&api, "3001", &skip_button.id).await;
        assert!(
            done.text.starts_with("Thank you — your answers are saved."),
            "{}",
            done.text
        );
        let after = core::survey(&api, "3001", None).await;
        assert_eq!(after.text, "You've answered all your surveys — thank you!");

        let invitations = app
            .send(app.as_discord(&bot, "3001", convene_tests::reqwest::Method::GET, "/v1/me/surveys"))
            .await
            .json();
        assert_eq!(invitations["items"][0]["complete"], true);
        assert_eq!(
            invitations["items"][0]["answers"],
            json!({"useful": 4, "plan": "Paired talk in Year 4", "areas": null, "other": null})
        );
    }
}
