//! Discord, natively, at the API: the bot's leases of channel posts and scheduled events, who may
//! call them, what they refuse, and what they hand out (never a join link).

use convene_tests::web::{WebVisitor, console_link, console_organiser, csrf_of, location, words};
use convene_tests::{Reply, TestApp, json, spawn_apps};
use reqwest::Method;
use serde_json::Value;

const SECRET_LINK: &str = "https://meet.example.org/secret-room-42";

async fn as_bot(app: &TestApp, bot: &str, path: &str, body: Option<Value>) -> Reply {
    let mut request = app.anonymous(Method::POST, path).bearer_auth(bot);
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// A draft SLP event with an online link (also pasted into its description) and one session a
/// week from now of `capacity` seats; returns (event, session).
async fn draft_slp(app: &TestApp, capacity: i64) -> (Value, Value) {
    let host = app.create_school(json!({"accredited_practice": ["oracy"]})).await;
    let event = app
        .create_event(json!({
            "kind": "slp_session",
            "title": "Oracy in Year 3",
            "status": "draft",
            "venue": null,
            "online_url": SECRET_LINK,
            "description": format!("Talk partners. Join: {SECRET_LINK}"),
            "host_school_id": host["id"],
            "topic": "oracy",
        }))
        .await;
    let start = chrono::Utc::now() + chrono::Duration::days(7);
    let session = app
        .create_session(
            &event["id"],
            json!({
                "start": start.format("%Y-%m-%dT15:30").to_string(),
                "end": start.format("%Y-%m-%dT16:30").to_string(),
                "capacity": capacity,
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

#[tokio::test]
async fn the_discord_lease_routes_need_a_bot_key() {
    for app in spawn_apps().await {
        for path in [
            "/v1/bot/channel-posts/lease",
            "/v1/bot/channel-posts/1/ack",
            "/v1/bot/guild-events/lease",
            "/v1/bot/guild-events/1/ack",
        ] {
            let anonymous = app.send(app.anonymous(Method::POST, path).json(&json!({}))).await;
            anonymous.problem(401, "unauthorized");
            let organiser = app.send(app.request(Method::POST, path).json(&json!({}))).await;
            organiser.problem(403, "forbidden");
        }
    }
}

#[tokio::test]
async fn bad_leases_and_acknowledgements_are_refused_naming_the_field() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        for path in ["/v1/bot/channel-posts/lease", "/v1/bot/guild-events/lease"] {
            let zero = as_bot(&app, &bot, path, Some(json!({"limit": 0}))).await;
            zero.problem(422, "validation_failed");
            assert_eq!(zero.fields(), ["limit"]);
            let long = as_bot(&app, &bot, path, Some(json!({"lease_seconds": 100_000}))).await;
            long.problem(422, "validation_failed");
            assert_eq!(long.fields(), ["lease_seconds"]);
            let unknown = as_bot(&app, &bot, path, Some(json!({"everything": true}))).await;
            assert_eq!(unknown.status, 422, "{}", unknown.text);
        }
        let not_an_id = as_bot(
            &app,
            &bot,
            "/v1/bot/guild-events/1/ack",
            Some(json!({"discord_event_id": "abc", "version": 1})),
        )
        .await;
        not_an_id.problem(422, "validation_failed");
        assert_eq!(not_an_id.fields(), ["discord_event_id"]);
        let no_version = as_bot(
            &app,
            &bot,
            "/v1/bot/guild-events/1/ack",
            Some(json!({"discord_event_id": "123", "version": 0})),
        )
        .await;
        no_version.problem(422, "validation_failed");
        assert_eq!(no_version.fields(), ["version"]);
        let missing = as_bot(&app, &bot, "/v1/bot/guild-events/1/ack", None).await;
        missing.problem(400, "malformed_json");
        let not_leased = as_bot(
            &app,
            &bot,
            "/v1/bot/guild-events/1/ack",
            Some(json!({"discord_event_id": "123", "version": 1})),
        )
        .await;
        not_leased.problem(409, "not_leased");
        as_bot(&app, &bot, "/v1/bot/channel-posts/999/ack", None)
            .await
            .problem(409, "not_leased");
        assert_eq!(app.count("discord_guild_events").await, 0);
    }
}

#[tokio::test]
async fn a_published_session_is_leased_as_a_channel_post_with_the_places_left_and_never_the_join_link() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let (event, session) = draft_slp(&app, 5).await;
        let lease = async |app: &TestApp| as_bot(app, &bot, "/v1/bot/channel-posts/lease", None).await;
        let draft = lease(&app).await;
        assert_eq!(draft.status, 200, "{}", draft.text);
        assert_eq!(draft.json()["items"], json!([]), "a draft is not posted");

        publish(&app, &event).await;
        let ann = app.create_participant(json!({})).await;
        assert_eq!(app.book(&session["id"], ann["id"].as_i64().unwrap()).await.status, 201);
        let leased = lease(&app).await;
        assert_eq!(leased.status, 200, "{}", leased.text);
        assert!(!leased.text.contains("secret-room"), "no join link: {}", leased.text);
        let items = leased.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1, "{items:?}");
        let post = &items[0];
        assert_eq!(post["kind"], "session_published");
        assert_eq!(post["title"], "Oracy in Year 3");
        assert_eq!(post["session"]["session_id"], session["id"]);
        assert_eq!(post["session"]["event_kind"], "slp_session");
        assert_eq!(post["session"]["places_left"], 4, "5 seats, 1 booked");
        assert_eq!(post["session"]["location"], "Online");
        let starts = chrono::DateTime::parse_from_rfc3339(session["start"].as_str().unwrap()).unwrap();
        assert_eq!(post["session"]["starts_at"], starts.timestamp());
        assert_eq!(lease(&app).await.json()["items"], json!([]), "leased once");

        let path = format!("/v1/bot/channel-posts/{}/ack", post["id"]);
        let acked = as_bot(&app, &bot, &path, None).await;
        assert_eq!(acked.status, 204, "{}", acked.text);
        as_bot(&app, &bot, &path, None).await.problem(409, "not_leased");
        assert_eq!(
            app.count("notifications WHERE channel = 'discord_channel' AND state = 'sent'")
                .await,
            1
        );
    }
}

#[tokio::test]
async fn two_leases_at_once_get_disjoint_scheduled_events_and_an_expired_lease_comes_back() {
    for app in spawn_apps().await {
        let (first, second) = (app.bot_key().await, app.bot_key().await);
        let event = app.create_event(json!({"status": "draft"})).await;
        let start = chrono::Utc::now() + chrono::Duration::days(7);
        let mut sessions = Vec::new();
        for hour in 9..13 {
            let s = app
                .create_session(
                    &event["id"],
                    json!({
                        "start": start.format(&format!("%Y-%m-%dT{hour}:00")).to_string(),
                        "end": start.format(&format!("%Y-%m-%dT{hour}:45")).to_string(),
                        "capacity": 10,
                    }),
                )
                .await;
            sessions.push(s["id"].as_i64().unwrap());
        }
        publish(&app, &event).await;
        let body = json!({"limit": 3, "lease_seconds": 10});
        let (a, b) = tokio::join!(
            as_bot(&app, &first, "/v1/bot/guild-events/lease", Some(body.clone())),
            as_bot(&app, &second, "/v1/bot/guild-events/lease", Some(body.clone())),
        );
        let ids = |reply: &Reply| -> Vec<i64> {
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    assert_eq!(i["action"], "create");
                    i["session_id"].as_i64().unwrap()
                })
                .collect()
        };
        let (mut a, b) = (ids(&a), ids(&b));
        assert!(a.iter().all(|id| !b.contains(id)), "disjoint: {a:?} and {b:?}");
        a.extend(&b);
        a.sort_unstable();
        assert_eq!(a, sessions, "between them, every session once");

        // Nobody acknowledges; once the leases and the first wait after a try run out, the
        // events are offered again.
        let none = as_bot(&app, &first, "/v1/bot/guild-events/lease", Some(body.clone())).await;
        assert_eq!(none.json()["items"], json!([]));
        app.clock.advance(chrono::Duration::seconds(60));
        let again = as_bot(&app, &first, "/v1/bot/guild-events/lease", Some(json!({"limit": 10}))).await;
        assert_eq!(ids(&again).len(), 4, "{}", again.text);
    }
}

#[tokio::test]
async fn a_scheduled_event_discord_keeps_refusing_is_retried_less_and_less_often_then_waits_for_a_change_or_an_organiser()
 {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let lease = async || {
            let reply = as_bot(
                &app,
                &bot,
                "/v1/bot/guild-events/lease",
                Some(json!({"lease_seconds": 10})),
            )
            .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.json()["items"].as_array().unwrap().len()
        };
        let (event, session) = draft_slp(&app, 5).await;
        publish(&app, &event).await;

        // The bot leases it and never acknowledges it (each try refused). Once the lease runs
        // out it waits a while before it is offered again.
        assert_eq!(lease().await, 1, "try 1");
        app.clock.advance(chrono::Duration::seconds(11));
        assert_eq!(lease().await, 0, "not at once after a failed try");
        app.clock.advance(chrono::Duration::seconds(60));
        assert_eq!(lease().await, 1, "try 2, after the first wait");
        for attempt in 3..=8 {
            app.clock.advance(chrono::Duration::hours(2));
            assert_eq!(lease().await, 1, "try {attempt}");
        }
        app.clock.advance(chrono::Duration::hours(2));
        assert_eq!(lease().await, 0, "after eight tries it is not offered again");
        app.clock.advance(chrono::Duration::days(1));
        assert_eq!(lease().await, 0);

        // The console's Undelivered page names it; an organiser tries it again.
        let (visitor, organiser) = console_organiser(&app).await;
        let page = visitor.get("/o/notifications").await;
        assert_eq!(page.status, 200, "{}", page.text);
        let text = words(&page.text);
        assert!(text.contains("Discord scheduled events not made"), "{text}");
        assert!(text.contains("Oracy in Year 3"), "{text}");
        let sid = session["id"].as_i64().unwrap();
        let path = format!("/o/notifications/discord-events/{sid}/retry");
        let forged = visitor.post_form(&path, &[]).await;
        assert_eq!(forged.status, 403);
        let retried = visitor.post_form(&path, &[("csrf", &csrf_of(&page.text))]).await;
        assert_eq!(location(&retried), "/o/notifications?done=synced");
        assert_eq!(lease().await, 1, "offered again");
        let again = visitor.post_form(&path, &[("csrf", &csrf_of(&page.text))]).await;
        assert_eq!(again.status, 404, "only a given-up sync is tried again");
        let audit = app.get("/v1/audit?actor=organiser").await.json();
        assert_eq!(audit["items"][0]["action"], "discord_sync.retried", "{audit}");

        // Given up again, then the session changes: it is offered again, with eight more tries.
        for _ in 2..=8 {
            app.clock.advance(chrono::Duration::hours(2));
            assert_eq!(lease().await, 1);
        }
        app.clock.advance(chrono::Duration::hours(2));
        assert_eq!(lease().await, 0);
        let later = chrono::Utc::now() + chrono::Duration::days(9);
        let moved = app
            .patch(
                &format!("/v1/sessions/{sid}"),
                &json!({"start": later.format("%Y-%m-%dT10:00").to_string(), "end": later.format("%Y-%m-%dT11:00").to_string()}),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        assert_eq!(lease().await, 1, "the moved session's event is tried again");
        let visitor = WebVisitor::new(&app);
        let followed = visitor.get(&console_link(&app, &organiser).await).await;
        assert_eq!(followed.status, 303, "signed in again: {}", followed.text);
        let page = visitor.get("/o/notifications").await;
        assert!(!words(&page.text).contains("Discord scheduled events not made"));
    }
}

#[tokio::test]
async fn a_session_moved_during_a_lease_is_synced_again_and_a_cancelled_one_asks_for_a_cancel() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let lease = async || as_bot(&app, &bot, "/v1/bot/guild-events/lease", None).await.json()["items"].clone();
        let ack = async |session: &Value, id: &str, version: &Value| {
            as_bot(
                &app,
                &bot,
                &format!("/v1/bot/guild-events/{session}/ack"),
                Some(json!({"discord_event_id": id, "version": version})),
            )
            .await
        };
        let (event, session) = draft_slp(&app, 5).await;
        let sid = &session["id"];
        assert_eq!(lease().await, json!([]), "a draft is not mirrored");
        publish(&app, &event).await;

        let items = lease().await;
        assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
        let create = &items[0];
        assert_eq!(create["action"], "create");
        assert_eq!(create["session_id"], *sid);
        assert_eq!(create["name"], "Oracy in Year 3");
        assert_eq!(create["location"], "Online");
        assert_eq!(create["scheduled_start_time"], session["start"]);
        assert!(!items.to_string().contains("secret-room"), "no join link: {items}");

        // The session moves while the bot is making its event.
        let later = chrono::Utc::now() + chrono::Duration::days(8);
        let moved = app
            .patch(
                &format!("/v1/sessions/{sid}"),
                &json!({"start": later.format("%Y-%m-%dT10:00").to_string(), "end": later.format("%Y-%m-%dT11:00").to_string()}),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        assert_eq!(ack(sid, "777000111", &create["version"]).await.status, 204);
        let items = lease().await;
        let update = &items[0];
        assert_eq!(update["action"], "update", "{items}");
        assert_eq!(update["discord_event_id"], "777000111");
        assert_eq!(update["scheduled_start_time"], moved.json()["start"]);
        assert!(update["version"].as_i64() > create["version"].as_i64());
        ack(sid, "777000111", &create["version"])
            .await
            .problem(409, "not_leased");
        assert_eq!(ack(sid, "777000111", &update["version"]).await.status, 204);
        assert_eq!(lease().await, json!([]), "in step");

        let cancelled = app
            .patch(&format!("/v1/sessions/{sid}"), &json!({"status": "cancelled"}))
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        let items = lease().await;
        assert_eq!(items[0]["action"], "cancel", "{items}");
        assert_eq!(items[0]["discord_event_id"], "777000111");
        assert_eq!(ack(sid, "777000111", &items[0]["version"]).await.status, 204);
        assert_eq!(lease().await, json!([]));
        let posts = as_bot(&app, &bot, "/v1/bot/channel-posts/lease", None).await;
        assert_eq!(
            posts.json()["items"],
            json!([]),
            "a cancelled session's post is withdrawn"
        );
    }
}

#[tokio::test]
async fn triad_visits_and_sessions_cancelled_before_their_event_was_made_are_not_mirrored() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let event = app.create_event(json!({"status": "draft"})).await;
        let start = chrono::Utc::now() + chrono::Duration::days(7);
        let session = app
            .create_session(
                &event["id"],
                json!({"start": start.format("%Y-%m-%dT09:30").to_string(), "end": start.format("%Y-%m-%dT12:00").to_string(), "capacity": 3}),
            )
            .await;
        publish(&app, &event).await;
        let cancelled = app
            .patch(
                &format!("/v1/sessions/{}", session["id"]),
                &json!({"status": "cancelled"}),
            )
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        let leased = as_bot(&app, &bot, "/v1/bot/guild-events/lease", None).await;
        assert_eq!(leased.json()["items"], json!([]), "nothing to make or cancel");
        assert_eq!(
            app.count("discord_guild_events WHERE synced_version = version").await,
            1,
            "and it is done"
        );
    }
}

#[tokio::test]
async fn an_announcements_channel_post_is_leased_with_its_words_and_the_events_session_and_counted_once_posted() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let event = app.create_event(json!({"title": "Summer conference"})).await;
        let start = chrono::Utc::now() + chrono::Duration::days(10);
        let session = app
            .create_session(
                &event["id"],
                json!({"start": start.format("%Y-%m-%dT09:30").to_string(),
                       "end": start.format("%Y-%m-%dT12:00").to_string(), "capacity": 30}),
            )
            .await;
        app.create_participant(json!({})).await;
        let sent = app
            .post(
                "/v1/announcements",
                &json!({"subject": "Bookings are open", "body": "Thirty places, first come first served.",
                        "event_id": event["id"], "audience": {"all": true}, "channels": ["discord_channel"]}),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.text);
        let announcement = sent.json();

        let leased = as_bot(&app, &bot, "/v1/bot/channel-posts/lease", None).await;
        assert_eq!(leased.status, 200, "{}", leased.text);
        let items = leased.json()["items"].as_array().unwrap().clone();
        let posts: Vec<&Value> = items.iter().filter(|p| p["kind"] == "announcement").collect();
        assert_eq!(
            posts.len(),
            1,
            "one post for the channel, whoever the audience: {items:?}"
        );
        let post = posts[0];
        assert_eq!(post["title"], "Bookings are open");
        assert!(
            post["text"]
                .as_str()
                .unwrap()
                .contains("Thirty places, first come first served."),
            "{post}"
        );
        assert_eq!(
            post["session"]["session_id"], session["id"],
            "its Book button books the event's session"
        );
        assert_eq!(post["session"]["places_left"], 30);

        let acked = as_bot(&app, &bot, &format!("/v1/bot/channel-posts/{}/ack", post["id"]), None).await;
        assert_eq!(acked.status, 204, "{}", acked.text);
        let read = app
            .get(&format!("/v1/announcements/{}", announcement["id"]))
            .await
            .json();
        assert_eq!(read["counts"]["sent"], 1, "{read}");
        assert_eq!(read["counts"]["queued"], 0, "{read}");
    }
}
