//! The Discord side against a local fake Discord: the real `convene-bot` binary connects to it
//! (serenity's HTTP through `CONVENE_DISCORD_PROXY`, a gateway that answers HELLO/IDENTIFY/READY),
//! answers a slash command, and DMs a leased reminder with a button that cancels the booking.

use std::process::Stdio;
use std::time::Duration;

use convene_tests::fake_discord::FakeDiscord;
use convene_tests::{TestApp, convene_bot_binary, json, spawn_apps};
use sea_orm::{ConnectionTrait as _, Statement};

const WAIT: Duration = Duration::from_secs(30);

fn start_bot(app: &TestApp, bot: &str, fake: &FakeDiscord) -> tokio::process::Child {
    start_bot_with(app, bot, fake, &[])
}

fn start_bot_with(app: &TestApp, bot: &str, fake: &FakeDiscord, env: &[(&str, &str)]) -> tokio::process::Child {
    tokio::process::Command::new(convene_bot_binary())
        .env_clear()
        .envs(env.iter().copied())
        .env("CONVENE_API_URL", &app.address)
        .env("CONVENE_BOT_KEY", bot)
        .env("DISCORD_TOKEN", "fake-token")
        .env("CONVENE_DISCORD_PROXY", fake.http_url())
        .env("CONVENE_BOT_POLL_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("convene-bot starts")
}

#[tokio::test]
async fn the_bot_answers_a_slash_command_and_dms_a_leased_reminder_whose_button_cancels_the_booking() {
    for app in spawn_apps().await {
        let fake = FakeDiscord::start().await;
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let user: u64 = 424_242;
        app.link_discord(&bot, &ann, &user.to_string()).await;
        let one_hour = app
            .patch(
                &format!("/v1/participants/{}", ann["id"]),
                &json!({"reminder_offsets_minutes": [60]}),
            )
            .await;
        assert_eq!(one_hour.status, 200, "{}", one_hour.text);
        let session = app.open_session(10, json!({"label": "Workshop C"})).await;
        let mut process = start_bot(&app, &bot, &fake);

        fake.wait_ready(WAIT).await;
        let register = format!("/api/v10/applications/{}/commands", fake.application_id());
        let registered = fake
            .wait_for_request(|r| r.method == "PUT" && r.path == register, WAIT)
            .await;
        let names: Vec<&str> = registered
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        for name in [
            "link",
            "verify",
            "events",
            "book",
            "cancel",
            "mybookings",
            "calendar",
            "reflect",
            "prefs",
            "help",
        ] {
            assert!(names.contains(&name), "/{name} is registered: {names:?}");
        }

        // /book from a server channel: a private answer.
        let command = fake.slash_command(
            "book",
            json!([{"name": "session", "type": 4, "value": session["id"]}]),
            user,
            true,
        );
        fake.send_interaction(command.clone()).await;
        let deferred = fake.wait_for_callback(&command, WAIT).await;
        assert_eq!(deferred.body["type"], 5, "{:?}", deferred.body);
        assert_eq!(deferred.body["data"]["flags"], 64, "ephemeral: {:?}", deferred.body);
        // After deferring, poise answers with a follow-up on the interaction's webhook.
        let answer = fake.wait_for_followup(&command, WAIT).await;
        let content = answer.body["content"].as_str().unwrap();
        assert!(
            content.starts_with("You're booked: **Summer conference — Workshop C**"),
            "{content}"
        );
        let booking = app
            .get(&format!("/v1/sessions/{}/bookings", session["id"]))
            .await
            .json()["items"][0]
            .clone();
        assert_eq!(booking["participant_id"], ann["id"]);
        let cancel_id = format!("cancel:{}", booking["id"]);
        assert!(
            answer.body.to_string().contains(&cancel_id),
            "a cancel button: {:?}",
            answer.body
        );

        // Autocomplete offers the open sessions matching what is typed.
        let typing = fake.autocomplete(
            "book",
            json!([{"name": "session", "type": 4, "value": "worksh", "focused": true}]),
            user,
            true,
        );
        fake.send_interaction(typing.clone()).await;
        let offered = fake.wait_for_callback(&typing, WAIT).await;
        assert_eq!(offered.body["type"], 8, "{:?}", offered.body);
        let choices = offered.body["data"]["choices"].as_array().unwrap();
        assert_eq!(choices.len(), 1, "{choices:?}");
        assert!(
            choices[0]["name"]
                .as_str()
                .unwrap()
                .starts_with("Summer conference — Workshop C · "),
            "{choices:?}"
        );
        assert_eq!(choices[0]["value"], session["id"]);

        // /reflect opens a modal; what is written in it is stored as a reflection.
        let reflect = fake.slash_command("reflect", json!(null), user, true);
        fake.send_interaction(reflect.clone()).await;
        let modal = fake.wait_for_callback(&reflect, WAIT).await;
        assert_eq!(modal.body["type"], 9, "a modal: {:?}", modal.body);
        let modal_id = modal.body["data"]["custom_id"].as_str().unwrap().to_owned();
        let inputs = modal.body.to_string();
        for field in ["what_tried", "what_changed", "evidence"] {
            assert!(
                inputs.contains(&format!("\"custom_id\":\"{field}\"")),
                "{field} in {inputs}"
            );
        }
        let submit = fake.modal_submit(
            &modal_id,
            &[
                ("what_tried", "Talk partners in Year 3"),
                ("what_changed", "Fuller answers"),
                ("evidence", "Book looks: 18 of 28"),
            ],
            user,
            true,
        );
        fake.send_interaction(submit).await;
        let thanks = fake.wait_for_followup(&reflect, WAIT).await;
        assert!(
            thanks.body["content"].as_str().unwrap().starts_with("Thank you"),
            "{:?}",
            thanks.body
        );
        assert_eq!(
            app.count("reflections WHERE what_tried = 'Talk partners in Year 3'")
                .await,
            1
        );

        // The 1-hour reminder falls due (its time is brought forward): the bot leases it, DMs it, and acknowledges it.
        app.db
            .execute_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!(
                    "UPDATE notifications SET due_at = created_at WHERE kind = 'reminder' AND channel = 'discord' AND booking_id = {}",
                    booking["id"]
                ),
            ))
            .await
            .unwrap();
        let dm = fake.dm_channel_id(user);
        let reminder = fake
            .wait_for_request(
                |r| {
                    r.is("POST", &format!("/channels/{dm}/messages"))
                        && r.body["content"].as_str().is_some_and(|c| c.contains("Reminder"))
                },
                WAIT,
            )
            .await;
        assert!(
            reminder.body["content"].as_str().unwrap().contains("Workshop C"),
            "{:?}",
            reminder.body
        );
        assert!(reminder.body.to_string().contains(&cancel_id), "{:?}", reminder.body);
        let opened = fake
            .wait_for_request(|r| r.is("POST", "/users/@me/channels"), WAIT)
            .await;
        assert_eq!(
            opened.body["recipient_id"].to_string().trim_matches('"'),
            user.to_string()
        );
        let mut acked = false;
        for _ in 0..100 {
            let sent = app
                .get("/v1/notifications?channel=discord&kind=reminder&state=sent")
                .await
                .json();
            if sent["items"].as_array().is_some_and(|items| !items.is_empty()) {
                acked = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(acked, "the DM'd reminder is acknowledged");

        // The button under the DM cancels the booking.
        let message: u64 = reminder.response["id"].as_str().unwrap().parse().unwrap();
        let click = fake.button_click(&cancel_id, user, message, dm);
        fake.send_interaction(click.clone()).await;
        let answered = fake.wait_for_callback(&click, WAIT).await;
        assert_eq!(answered.body["type"], 4);
        assert!(
            answered.body["data"]["content"]
                .as_str()
                .unwrap()
                .starts_with("Cancelled:"),
            "{:?}",
            answered.body
        );
        assert_eq!(
            app.get(&format!("/v1/bookings/{}", booking["id"])).await.json()["status"],
            "cancelled"
        );

        // A command from someone who has not linked gets told how to.
        let stranger = fake.slash_command("mybookings", json!(null), 777, false);
        fake.send_interaction(stranger.clone()).await;
        fake.wait_for_callback(&stranger, WAIT).await;
        let told = fake.wait_for_followup(&stranger, WAIT).await;
        assert!(
            told.body["content"].as_str().unwrap().contains("/link"),
            "{:?}",
            told.body
        );

        process.kill().await.ok();
    }
}

#[tokio::test]
async fn a_survey_is_answered_in_discord_with_buttons_and_an_answer_box() {
    for app in spawn_apps().await {
        let fake = FakeDiscord::start().await;
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let user: u64 = 515_151;
        app.link_discord(&bot, &ann, &user.to_string()).await;
        let session = app.open_session(10, json!({})).await;
        assert_eq!(app.book(&session["id"], ann["id"].as_i64().unwrap()).await.status, 201);
        let survey = app
            .post(
                "/v1/surveys",
                &json!({"title": "What changed?", "event_id": session["event_id"], "questions": [
                    {"key": "useful", "kind": "likert", "prompt": "How useful was it?", "required": true},
                    {"key": "follow", "kind": "intended_action", "prompt": "What will you try?", "required": true}
                ]}),
            )
            .await
            .json();
        app.post(&format!("/v1/surveys/{}/invitations:send", survey["id"]), &json!({}))
            .await;
        let mut process = start_bot(&app, &bot, &fake);
        fake.wait_ready(WAIT).await;

        let command = fake.slash_command("survey", json!(null), user, false);
        fake.send_interaction(command.clone()).await;
        let asked = fake.wait_for_followup(&command, WAIT).await;
        assert!(
            asked.body["content"].as_str().unwrap().contains("How useful was it?"),
            "{:?}",
            asked.body
        );
        let four = asked.body["components"][0]["components"][3]["custom_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let message: u64 = asked.response["id"].as_str().unwrap().parse().unwrap();
        let channel = fake.dm_channel_id(user);

        let click = fake.button_click(&four, user, message, channel);
        fake.send_interaction(click.clone()).await;
        let next = fake.wait_for_callback(&click, WAIT).await;
        assert!(
            next.body["data"]["content"]
                .as_str()
                .unwrap()
                .contains("What will you try?"),
            "{:?}",
            next.body
        );
        let answer_id = next.body["data"]["components"][0]["components"][0]["custom_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(answer_id.starts_with("wr:"), "{answer_id}");

        let open = fake.button_click(&answer_id, user, message, channel);
        fake.send_interaction(open.clone()).await;
        let modal = fake.wait_for_callback(&open, WAIT).await;
        assert_eq!(modal.body["type"], 9, "an answer box: {:?}", modal.body);
        let modal_id = modal.body["data"]["custom_id"].as_str().unwrap().to_owned();
        let submit = fake.modal_submit(&modal_id, &[("answer", "Paired talk in Year 4")], user, false);
        fake.send_interaction(submit.clone()).await;
        let thanks = fake.wait_for_callback(&submit, WAIT).await;
        assert!(
            thanks.body["data"]["content"]
                .as_str()
                .unwrap()
                .starts_with("Thank you"),
            "{:?}",
            thanks.body
        );
        assert_eq!(app.count("survey_invitations WHERE state = 'answered'").await, 1);
        process.kill().await.ok();
    }
}

#[tokio::test]
async fn a_dm_discord_refuses_is_not_acknowledged_so_the_api_offers_it_again() {
    let app = convene_tests::spawn_app(convene_tests::Backend::Sqlite).await;
    let fake = FakeDiscord::start().await;
    let bot = app.bot_key().await;
    let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
    let user: u64 = 616_161;
    app.link_discord(&bot, &ann, &user.to_string()).await;
    // Ann has closed her DMs: Discord refuses every message to her.
    let dm = fake.dm_channel_id(user);
    fake.stub(
        "POST",
        &format!("/channels/{dm}/messages"),
        403,
        json!({"message": "Cannot send messages to this user", "code": 50007}),
    );
    let session = app.open_session(10, json!({})).await;
    assert_eq!(app.book(&session["id"], ann["id"].as_i64().unwrap()).await.status, 201);
    let mut process = start_bot(&app, &bot, &fake);
    fake.wait_ready(WAIT).await;
    fake.wait_for_request(
        |r| r.is("POST", &format!("/channels/{dm}/messages")) && r.status == 403,
        WAIT,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let discord = app
        .get(&format!(
            "/v1/notifications?channel=discord&participant_id={}",
            ann["id"]
        ))
        .await
        .json();
    let states: Vec<&str> = discord["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["state"].as_str().unwrap())
        .collect();
    assert!(
        !states.is_empty() && !states.contains(&"sent"),
        "nothing refused is marked sent: {states:?}"
    );
    process.kill().await.ok();
}

#[tokio::test]
async fn dms_that_outlast_their_lease_are_each_sent_once_though_a_second_bot_is_waiting_for_work() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let session = app.open_session(10, json!({})).await;
        let users: Vec<u64> = (0..8).map(|i| 737_000 + i).collect();
        for user in &users {
            let person = app.create_participant(json!({"name": format!("Teacher {user}")})).await;
            app.link_discord(&bot, &person, &user.to_string()).await;
            assert_eq!(
                app.book(&session["id"], person["id"].as_i64().unwrap()).await.status,
                201
            );
        }
        // Two bot processes, each with its own Discord answering every message 2 s late: eight
        // confirmations take 16 s to send one after another, longer than the 12 s lease. The
        // first bot leases all eight before the second starts asking.
        let fakes = [FakeDiscord::start().await, FakeDiscord::start().await];
        let lease = [("CONVENE_BOT_LEASE_SECONDS", "12")];
        let mut processes = Vec::new();
        for fake in &fakes {
            fake.delay("POST", "/messages", Duration::from_secs(2));
            processes.push(start_bot_with(&app, &bot, fake, &lease));
            fake.wait_ready(WAIT).await;
            if processes.len() == 1 {
                fake.wait_for_request(|r| r.is("POST", "/messages"), WAIT).await;
            }
        }

        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        let sent = "notifications WHERE channel = 'discord' AND kind = 'booking_confirmed' AND state = 'sent'";
        while app.count(sent).await < 8 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "all eight confirmations are sent within 90 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Long enough for a second send of any of them, leased again, to reach Discord.
        tokio::time::sleep(Duration::from_secs(3)).await;
        for user in &users {
            let dms: usize = fakes
                .iter()
                .map(|fake| {
                    let channel = fake.dm_channel_id(*user);
                    fake.requests()
                        .iter()
                        .filter(|r| r.is("POST", &format!("/channels/{channel}/messages")))
                        .count()
                })
                .sum();
            assert_eq!(dms, 1, "user {user} is told of their booking once");
        }
        for mut process in processes {
            process.kill().await.ok();
        }
    }
}
