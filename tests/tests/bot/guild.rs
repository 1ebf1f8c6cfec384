//! Discord, natively, against the fake Discord: the real `convene-bot` posts newly published
//! sessions to the announcements channel with a "Book" button that books whoever presses it,
//! and mirrors each session as a scheduled event in the server: made once, moved with it,
//! cancelled with it, and never showing a join link.

use std::process::Stdio;
use std::time::Duration;

use convene_tests::fake_discord::FakeDiscord;
use convene_tests::{TestApp, convene_bot_binary, json, spawn_apps};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
const SECRET_LINK: &str = "https://meet.example.org/secret-room-42";
/// The announcements channel the bot is given.
const CHANNEL: u64 = 1_200_000_000_000_000_777;

fn start_bot(app: &TestApp, bot: &str, fake: &FakeDiscord, channel: bool) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(convene_bot_binary());
    command
        .env_clear()
        .env("CONVENE_API_URL", &app.address)
        .env("CONVENE_BOT_KEY", bot)
        .env("DISCORD_TOKEN", "fake-token")
        .env("DISCORD_GUILD_ID", fake.guild_id().to_string())
        .env("CONVENE_DISCORD_PROXY", fake.http_url())
        .env("CONVENE_BOT_POLL_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if channel {
        command.env("DISCORD_ANNOUNCE_CHANNEL_ID", CHANNEL.to_string());
    }
    command.spawn().expect("convene-bot starts")
}

/// Waits until `check` holds of the fake (polling), or fails saying `what`.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A draft event of `kind` (an SLP session hosted online with a join link, else a conference at
/// a venue) with one session a week from now.
async fn draft(app: &TestApp, kind: &str, hour: u32) -> (Value, Value) {
    let overrides = if kind == "slp_session" {
        let host = app.create_school(json!({"accredited_practice": ["oracy"]})).await;
        json!({
            "kind": "slp_session", "title": "Oracy in Year 3", "status": "draft", "venue": null,
            "online_url": SECRET_LINK, "description": format!("Talk partners. Join: {SECRET_LINK}"),
            "host_school_id": host["id"], "topic": "oracy",
        })
    } else {
        json!({"status": "draft"})
    };
    let event = app.create_event(overrides).await;
    let start = chrono::Utc::now() + chrono::Duration::days(7);
    let session = app
        .create_session(
            &event["id"],
            json!({
                "start": start.format(&format!("%Y-%m-%dT{hour:02}:00")).to_string(),
                "end": start.format(&format!("%Y-%m-%dT{hour:02}:45")).to_string(),
                "capacity": 10,
            }),
        )
        .await;
    (event, session)
}

async fn publish(app: &TestApp, event: &Value) {
    let published = app
        .patch(&format!("/v1/events/{}", event["id"]), &json!({"status": "published"}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
}

fn discord_time(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[tokio::test]
async fn a_published_session_is_posted_with_a_book_button_and_mirrored_as_a_scheduled_event_that_follows_it() {
    for app in spawn_apps().await {
        let fake = FakeDiscord::start().await;
        let guild = fake.guild_id();
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let user: u64 = 515_151;
        app.link_discord(&bot, &ann, &user.to_string()).await;
        let (conference, session) = draft(&app, "conference", 9).await;
        let (slp, _) = draft(&app, "slp_session", 15).await;
        let mut process = start_bot(&app, &bot, &fake, true);
        fake.wait_ready(WAIT).await;
        publish(&app, &conference).await;
        publish(&app, &slp).await;

        // The channel post: an embed with Discord timestamps, the venue, places left, a Book button.
        until("both sessions are posted to the channel", || {
            fake.channel_messages(CHANNEL).len() == 2
        })
        .await;
        let posts = fake.channel_messages(CHANNEL);
        let post = posts
            .iter()
            .find(|m| m["embeds"][0]["title"] == "Summer conference")
            .unwrap_or_else(|| panic!("the conference's post: {posts:?}"));
        let embed = post["embeds"][0].to_string();
        let start = discord_time(session["start"].as_str().unwrap()).timestamp();
        assert!(embed.contains(&format!("<t:{start}:F>")), "{embed}");
        assert!(embed.contains(&format!("<t:{start}:R>")), "{embed}");
        assert!(embed.contains("Northfield Primary School, Hall 2"), "{embed}");
        assert!(embed.contains("Places left") && embed.contains("\"10\""), "{embed}");
        let book = format!("book:{}", session["id"]);
        assert_eq!(post["components"][0]["components"][0]["custom_id"], book.as_str());
        assert_eq!(post["components"][0]["components"][0]["label"], "Book");

        // Pressing Book books the presser, privately.
        let message: u64 = post["id"].as_str().unwrap().parse().unwrap();
        let press = fake.guild_button_click(&book, user, message, CHANNEL);
        fake.send_interaction(press.clone()).await;
        let answer = fake.wait_for_callback(&press, WAIT).await;
        assert_eq!(answer.body["type"], 4, "{:?}", answer.body);
        assert_eq!(answer.body["data"]["flags"], 64, "ephemeral: {:?}", answer.body);
        let content = answer.body["data"]["content"].as_str().unwrap();
        assert!(content.starts_with("You're booked: **Summer conference**"), "{content}");
        let bookings = app
            .get(&format!("/v1/sessions/{}/bookings", session["id"]))
            .await
            .json();
        assert_eq!(bookings["items"][0]["participant_id"], ann["id"]);
        assert_eq!(bookings["items"][0]["status"], "confirmed");

        // Someone who has not linked is told how to.
        let stranger = fake.guild_button_click(&book, 777, message, CHANNEL);
        fake.send_interaction(stranger.clone()).await;
        let told = fake.wait_for_callback(&stranger, WAIT).await;
        assert_eq!(told.body["data"]["flags"], 64, "ephemeral: {:?}", told.body);
        assert!(
            told.body["data"]["content"].as_str().unwrap().contains("/link"),
            "{:?}",
            told.body
        );

        // The scheduled events: external, at the venue or online.
        until("both sessions are mirrored", || fake.scheduled_events(guild).len() == 2).await;
        let events = fake.scheduled_events(guild);
        let mirrored = |name: &str| {
            fake.scheduled_events(guild)
                .into_iter()
                .find(|e| e["name"] == name)
                .unwrap_or_else(|| panic!("{name} in {events:?}"))
        };
        let event = mirrored("Summer conference");
        assert_eq!(event["entity_type"], 3);
        assert_eq!(event["privacy_level"], 2);
        assert_eq!(event["status"], 1);
        assert_eq!(
            event["entity_metadata"]["location"],
            "Northfield Primary School, Hall 2"
        );
        assert_eq!(
            discord_time(event["scheduled_start_time"].as_str().unwrap()).timestamp(),
            start
        );
        let online = mirrored("Oracy in Year 3");
        assert_eq!(online["entity_metadata"]["location"], "Online");
        assert!(
            !online["description"].as_str().unwrap().contains("secret-room"),
            "{online}"
        );

        // The session moves twice; the same event follows it each time.
        for days in [8, 9] {
            let moved_to = chrono::Utc::now() + chrono::Duration::days(days);
            let moved = app
                .patch(
                    &format!("/v1/sessions/{}", session["id"]),
                    &json!({"start": moved_to.format("%Y-%m-%dT10:00").to_string(), "end": moved_to.format("%Y-%m-%dT11:30").to_string()}),
                )
                .await;
            assert_eq!(moved.status, 200, "{}", moved.text);
            let new_start = discord_time(moved.json()["start"].as_str().unwrap());
            until(&format!("the event moves {days} days out"), || {
                discord_time(mirrored("Summer conference")["scheduled_start_time"].as_str().unwrap()) == new_start
            })
            .await;
            assert_eq!(mirrored("Summer conference")["id"], event["id"], "the same event");
        }

        // Cancelled with its session.
        let cancelled = app
            .patch(
                &format!("/v1/sessions/{}", session["id"]),
                &json!({"status": "cancelled"}),
            )
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        until("the event is cancelled", || {
            mirrored("Summer conference")["status"] == 4
        })
        .await;
        let mut synced = false;
        for _ in 0..100 {
            if app.count("discord_guild_events WHERE synced_version = version").await == 2 {
                synced = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(synced, "every sync is acknowledged");
        assert_eq!(fake.scheduled_events(guild).len(), 2, "made once each, never again");
        assert_eq!(
            fake.requests()
                .iter()
                .filter(|r| r.is("POST", "/scheduled-events"))
                .count(),
            2
        );
        for request in fake.requests() {
            assert!(
                !request.body.to_string().contains("secret-room"),
                "no join link is sent to Discord: {request:?}"
            );
        }
        assert_eq!(
            app.count("notifications WHERE channel = 'discord_channel' AND state = 'sent'")
                .await,
            2
        );
        process.kill().await.ok();
    }
}

#[tokio::test]
async fn two_bot_processes_make_one_scheduled_event_per_session_and_without_a_channel_post_nothing() {
    for app in spawn_apps().await {
        let (first, second) = (app.bot_key().await, app.bot_key().await);
        let fakes = [FakeDiscord::start().await, FakeDiscord::start().await];
        let mut processes = Vec::new();
        for (fake, key) in fakes.iter().zip([&first, &second]) {
            processes.push(start_bot(&app, key, fake, false));
            fake.wait_ready(WAIT).await;
        }
        let mut events = Vec::new();
        for hour in [9, 11, 13] {
            events.push(draft(&app, "conference", hour).await.0);
        }
        for event in &events {
            publish(&app, event).await;
        }
        let made = || -> usize { fakes.iter().map(|f| f.scheduled_events(f.guild_id()).len()).sum() };
        until("every session is mirrored", || made() >= 3).await;
        let mut synced = false;
        for _ in 0..100 {
            if app.count("discord_guild_events WHERE synced_version = version").await == 3 {
                synced = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(synced, "every sync is acknowledged");
        // Long enough for a second bot to have made any of them again.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(made(), 3, "one event per session between the two bots");
        for fake in &fakes {
            assert!(
                fake.requests()
                    .iter()
                    .all(|r| !r.is("POST", &format!("/channels/{CHANNEL}/messages"))),
                "no channel set: nothing posted"
            );
        }
        assert_eq!(
            app.count("notifications WHERE channel = 'discord_channel' AND state = 'pending'")
                .await,
            3,
            "the posts wait for a bot that posts them"
        );
        for mut process in processes {
            process.kill().await.ok();
        }
    }
}
