//! Announcements: an organiser's message to an audience by email, Discord DM and a Discord
//! channel post, previewed first; the one-click unsubscribe (RFC 8058) each one carries.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use convene_tests::reqwest::Method;
use convene_tests::smtp::{Mode, ReceivedMail, SmtpSink};
use convene_tests::web::{WebVisitor, signed_in, submit};
use convene_tests::{Reply, TestApp, backends, json, spawn_app_with, spawn_apps};
use serde_json::Value;

async fn app_with_sink(backend: convene_tests::Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    spawn_app_with(backend, move |s| {
        s.smtp_url = Some(url);
        s.mail_max_attempts = 3;
        s.mail_retry_base_ms = 100;
    })
    .await
}

/// A header of a mail as read by Python's `email` package.
fn header<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}

/// The announcement mails among `mails` (their subject is `subject`), read.
fn announcements(mails: &[ReceivedMail], subject: &str) -> Vec<Value> {
    mails
        .iter()
        .map(ReceivedMail::read)
        .filter(|m| m["subject"] == subject)
        .collect()
}

/// The ids of the people listed on one channel of a preview.
fn ids(reach: &Value) -> BTreeSet<i64> {
    reach["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

/// Sends an announcement and answers it (201).
async fn send(app: &TestApp, body: &Value) -> Value {
    let reply = app.post("/v1/announcements", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

/// Polls an announcement until `done` holds for it.
async fn announcement_until(app: &TestApp, id: &Value, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = app.get(&format!("/v1/announcements/{id}")).await.json();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {last}");
}

/// The bot's lease of its due Discord messages.
async fn lease(app: &TestApp, bot: &str, limit: i64) -> Vec<Value> {
    let reply = app
        .send(
            app.anonymous(Method::POST, "/v1/bot/notifications/lease")
                .bearer_auth(bot)
                .json(&json!({"limit": limit})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["items"].as_array().unwrap().clone()
}

/// A POST with no key, no cookie and no form token, as a mail client's one-click unsubscribe.
async fn one_click(app: &TestApp, url: &str) -> Reply {
    let _ = app;
    let client = convene_tests::reqwest::Client::new();
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    Reply {
        status,
        headers,
        text: response.text().await.unwrap(),
    }
}

async fn plain_get(url: &str) -> Reply {
    let response = convene_tests::reqwest::get(url).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    Reply {
        status,
        headers,
        text: response.text().await.unwrap(),
    }
}

/// The URL between the angle brackets of a `List-Unsubscribe` header.
fn unsubscribe_url(mail: &Value) -> String {
    let value = header(mail, "List-Unsubscribe").unwrap_or_else(|| panic!("no List-Unsubscribe: {mail}"));
    value.trim().trim_start_matches('<').trim_end_matches('>').to_owned()
}

#[tokio::test]
async fn an_announcement_to_one_authoritys_heads_reaches_exactly_the_previewed_people_once_on_each_channel_and_none_who_unsubscribed()
 {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let app = app_with_sink(backend, &sink).await;
        let bot = app.bot_key().await;
        let camden = app
            .create_school(json!({"local_authority": "Camden", "phase": "primary"}))
            .await;
        let camden_too = app
            .create_school(json!({"name": "Kentish Town Secondary", "local_authority": "camden", "phase": "secondary"}))
            .await;
        let islington = app.create_school(json!({"local_authority": "Islington"})).await;
        let person = |name: &str, email: &str, school: &Value, role: &str, extra: Value| {
            let mut body = json!({"name": name, "email": email, "school_id": school["id"], "role": role});
            convene_tests::merge(&mut body, extra);
            body
        };
        let ann = app
            .create_participant(person(
                "Ann",
                "ann@example.org",
                &camden,
                "head",
                json!({"notify_discord": true}),
            ))
            .await;
        let bob = app
            .create_participant(person("Bob", "bob@example.org", &camden_too, "head", json!({})))
            .await;
        let gus = app
            .create_participant(person("Gus", "gus@example.org", &camden, "head", json!({})))
            .await;
        let quiet = app
            .create_participant(person(
                "Fay",
                "fay@example.org",
                &camden,
                "head",
                json!({"notify_email": false}),
            ))
            .await;
        let teacher = app
            .create_participant(person("Cal", "cal@example.org", &camden, "teacher", json!({})))
            .await;
        let elsewhere = app
            .create_participant(person("Dee", "dee@example.org", &islington, "head", json!({})))
            .await;
        let erased = app
            .create_participant(person("Eve", "eve@example.org", &camden, "head", json!({})))
            .await;
        assert_eq!(
            app.delete(&format!("/v1/participants/{}", erased["id"])).await.status,
            204
        );
        app.link_discord(&bot, &ann, "111111111111111111").await;
        app.link_discord(&bot, &quiet, "222222222222222222").await;
        // Fay is on Discord but hears by neither channel: only the channel post could reach her.
        let off = app
            .patch(
                &format!("/v1/participants/{}", quiet["id"]),
                &json!({"notify_discord": false}),
            )
            .await;
        assert_eq!(off.status, 200, "{}", off.text);
        let event = app
            .create_event(json!({"title": "Summer conference", "venue": "Camden Centre, Hall 2",
                "online_url": "https://meet.example.org/secret-room"}))
            .await;
        let day = (Utc::now() + chrono::Duration::days(20)).format("%Y-%m-%d").to_string();
        let session = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T09:30"), "end": format!("{day}T12:00"), "capacity": 50}),
            )
            .await;
        // Link codes went by email: what the sink holds before the announcements.
        let before = sink.wait_for(2, Duration::from_secs(30)).await.len();

        // A first announcement gives Gus a link, which he follows to stop announcements.
        let first = json!({"subject": "Save the date", "body": "The summer conference is coming.",
            "audience": {"local_authorities": ["Camden"], "roles": ["head"]}, "channels": ["email"]});
        send(&app, &first).await;
        let mails = sink.wait_for(before + 3, Duration::from_secs(30)).await;
        let to_gus = announcements(&mails, "Save the date")
            .into_iter()
            .find(|m| m["to"] == json!(["gus@example.org"]))
            .expect("Gus got the first announcement");
        let url = unsubscribe_url(&to_gus);
        assert_eq!(
            header(&to_gus, "List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        // A mail scanner following the link changes nothing; a person sees a button.
        let page = plain_get(&url).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains("<form method=\"post\""), "{}", page.text);
        let still = app.get(&format!("/v1/participants/{}", gus["id"])).await.json();
        assert_eq!(still["announcements"], true, "a GET unsubscribed: {still}");
        let stopped = one_click(&app, &url).await;
        assert_eq!(stopped.status, 200, "{}", stopped.text);
        assert_eq!(one_click(&app, &url).await.status, 200, "again: the same answer");
        let gus_now = app.get(&format!("/v1/participants/{}", gus["id"])).await.json();
        assert_eq!(gus_now["announcements"], false, "{gus_now}");
        // He still gets his booking's confirmation.
        let seen = sink.messages().len();
        assert_eq!(app.book(&session["id"], gus["id"].as_i64().unwrap()).await.status, 201);
        let mails = sink.wait_for(seen + 1, Duration::from_secs(30)).await;
        let confirmation = mails[seen..]
            .iter()
            .map(ReceivedMail::read)
            .find(|m| m["to"] == json!(["gus@example.org"]));
        assert!(
            confirmation.is_some_and(|m| m["subject"].as_str().unwrap().starts_with("Booked")),
            "Gus's confirmation"
        );

        // The preview of the announcement, then the announcement.
        let body = json!({"subject": "Places left at the summer conference", "body": "Twenty places are left.\nBring a colleague.",
            "event_id": event["id"], "audience": {"local_authorities": ["CAMDEN"], "roles": ["head"]},
            "channels": ["email", "discord_dm", "discord_channel"]});
        let preview = app.post("/v1/announcements:preview", &body).await;
        assert_eq!(preview.status, 200, "{}", preview.text);
        let preview = preview.json()["channels"].clone();
        let (ann_id, bob_id, quiet_id) = (
            ann["id"].as_i64().unwrap(),
            bob["id"].as_i64().unwrap(),
            quiet["id"].as_i64().unwrap(),
        );
        assert_eq!(ids(&preview["email"]), BTreeSet::from([ann_id, bob_id]), "{preview}");
        assert_eq!(preview["email"]["count"], 2);
        assert_eq!(ids(&preview["discord_dm"]), BTreeSet::from([ann_id]), "{preview}");
        assert_eq!(
            ids(&preview["discord_channel"]),
            BTreeSet::from([ann_id, quiet_id]),
            "{preview}"
        );
        for left_out in [&gus, &teacher, &elsewhere, &erased] {
            assert!(
                !preview.to_string().contains(&format!("\"id\":{},", left_out["id"])),
                "{left_out}"
            );
        }
        let seen = sink.messages().len();
        let sent = send(&app, &body).await;
        assert_eq!(sent["counts"]["queued"], 4, "two emails, a DM and the post: {sent}");
        let mails = sink.wait_for(seen + 2, Duration::from_secs(30)).await;
        let got = announcements(&mails, "Places left at the summer conference");
        let to: Vec<&Value> = got.iter().map(|m| &m["to"]).collect();
        assert_eq!(got.len(), 2, "{to:?}");
        let addressed: BTreeSet<&str> = got.iter().map(|m| m["to"][0].as_str().unwrap()).collect();
        assert_eq!(addressed, BTreeSet::from(["ann@example.org", "bob@example.org"]));
        // The mail: the words, the event in its own zone, the venue, where to book, never the
        // online link; text and HTML; the one-click unsubscribe headers.
        let mail = got.iter().find(|m| m["to"] == json!(["ann@example.org"])).unwrap();
        assert_eq!(
            mail["structure"],
            json!(["multipart/alternative", ["text/plain", "text/html"]])
        );
        let text = mail["text"].as_str().unwrap().replace("\r\n", "\n");
        assert!(text.contains("Twenty places are left.\nBring a colleague."), "{text}");
        assert!(text.contains("Summer conference"), "{text}");
        assert!(text.contains("09:30–12:00"), "in the event's zone: {text}");
        assert!(text.contains("Camden Centre, Hall 2"), "{text}");
        assert!(
            text.contains(&format!("{}/p#session-{}", app.address, session["id"])),
            "a link to book: {text}"
        );
        assert!(
            !mail.to_string().contains("secret-room"),
            "the join link leaked: {text}"
        );
        assert!(mail["html"].as_str().unwrap().contains("Camden Centre, Hall 2"));
        let ann_url = unsubscribe_url(mail);
        assert!(
            ann_url.starts_with(&format!("{}/unsubscribe/", app.address)),
            "{ann_url}"
        );
        assert_ne!(ann_url, url, "each person has their own link");
        assert_eq!(
            header(mail, "List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        // The bot's DM, once, and the channel post, once.
        let dms = lease(&app, &bot, 100).await;
        let dms: Vec<&Value> = dms.iter().filter(|m| m["kind"] == "announcement").collect();
        assert_eq!(dms.len(), 1, "{dms:?}");
        assert_eq!(dms[0]["discord_user_id"], "111111111111111111");
        assert_eq!(dms[0]["title"], "Places left at the summer conference");
        assert!(dms[0]["text"].as_str().unwrap().contains("Twenty places are left."));
        let ack = app
            .send(
                app.anonymous(Method::POST, &format!("/v1/bot/notifications/{}/ack", dms[0]["id"]))
                    .bearer_auth(&bot),
            )
            .await;
        assert_eq!(ack.status, 204, "{}", ack.text);
        let posts = app
            .count(&format!(
                "notifications WHERE announcement_id = {} AND channel = 'discord_channel' AND participant_id IS NULL AND session_id = {}",
                sent["id"], session["id"]
            ))
            .await;
        assert_eq!(posts, 1);
        let done = announcement_until(&app, &sent["id"], "both emails sent", |a| {
            a["by_channel"]["email"]["sent"] == 2 && a["by_channel"]["discord_dm"]["sent"] == 1
        })
        .await;
        assert_eq!(done["by_channel"]["discord_channel"]["queued"], 1, "{done}");
        assert_eq!(done["counts"]["failed"], 0, "{done}");
        // Nobody got it twice, and Gus not at all.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all = announcements(&sink.messages(), "Places left at the summer conference");
        assert_eq!(all.len(), 2, "{backend:?}");
        let audited = app.count("audit_entries WHERE action = 'announcement.sent'").await;
        assert_eq!(audited, 2, "{backend:?}");
    }
}

#[tokio::test]
async fn a_preview_writes_nothing_and_counts_each_person_once_whatever_filters_match_them() {
    for app in spawn_apps().await {
        let north = app
            .create_school(json!({"local_authority": "Leeds", "phase": "primary"}))
            .await;
        let south = app
            .create_school(json!({"local_authority": "Bradford", "phase": "special"}))
            .await;
        let ids_of = async |n: usize, school: &Value, role: &str| -> Vec<i64> {
            let mut out = Vec::new();
            for i in 0..n {
                let p = app
                    .create_participant(json!({"name": format!("{role} {i}"), "school_id": school["id"], "role": role}))
                    .await;
                out.push(p["id"].as_i64().unwrap());
            }
            out
        };
        let north_heads = ids_of(2, &north, "head").await;
        let north_teachers = ids_of(1, &north, "teacher").await;
        let south_heads = ids_of(1, &south, "head").await;
        // In Leeds, by their school and by their authority both (OR within a list, AND across).
        let body = json!({"subject": "S", "body": "B", "channels": ["email"],
            "audience": {"school_ids": [north["id"], south["id"], north["id"]], "local_authorities": ["Leeds", "leeds"], "roles": ["head", "senior_leader"]}});
        let tables = [
            "announcements",
            "announcement_recipients",
            "notifications",
            "audit_entries",
        ];
        let mut counts = Vec::new();
        for table in tables {
            counts.push(app.count(table).await);
        }
        let reply = app.post("/v1/announcements:preview", &body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let preview = reply.json();
        assert_eq!(preview["channels"]["email"]["count"], 2, "{preview}");
        assert_eq!(
            ids(&preview["channels"]["email"]),
            north_heads.iter().copied().collect::<BTreeSet<_>>()
        );
        assert!(
            preview["channels"].get("discord_dm").is_none(),
            "only the channels asked for"
        );
        assert_eq!(preview["channels"]["email"]["people"][0]["school_name"], north["name"]);
        for (table, before) in tables.iter().zip(&counts) {
            assert_eq!(app.count(table).await, *before, "the preview wrote to {table}");
        }
        // Phases: either of the two; and people booked on an event can be left out.
        let body = json!({"subject": "S", "body": "B", "channels": ["email"],
            "audience": {"phases": ["primary", "special"], "roles": ["head"]}});
        let preview = app.post("/v1/announcements:preview", &body).await.json();
        let mut everyone: Vec<i64> = north_heads.clone();
        everyone.extend(&south_heads);
        assert_eq!(ids(&preview["channels"]["email"]), everyone.iter().copied().collect());
        let session = app.open_session(10, json!({})).await;
        let event_id = app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["event_id"].clone();
        assert_eq!(app.book(&session["id"], north_heads[0]).await.status, 201);
        let body = json!({"subject": "S", "body": "B", "channels": ["email"],
            "audience": {"all": true, "exclude_booked_on_event_id": event_id}});
        let preview = app.post("/v1/announcements:preview", &body).await.json();
        let mut expected: BTreeSet<i64> = everyone.iter().copied().collect();
        expected.extend(&north_teachers);
        expected.remove(&north_heads[0]);
        assert_eq!(ids(&preview["channels"]["email"]), expected, "{preview}");
        let body = json!({"subject": "S", "body": "B", "channels": ["email"], "audience": {"event_id": event_id}});
        let preview = app.post("/v1/announcements:preview", &body).await.json();
        assert_eq!(ids(&preview["channels"]["email"]), BTreeSet::from([north_heads[0]]));
    }
}

#[tokio::test]
async fn each_person_is_sent_an_announcement_once_per_channel_by_the_databases_own_rule() {
    use sea_orm::{ActiveModelTrait as _, Set};
    for app in spawn_apps().await {
        let school = app.create_school(json!({"local_authority": "York"})).await;
        let ann = app.create_participant(json!({"school_id": school["id"]})).await;
        let body = json!({"subject": "S", "body": "B", "channels": ["email", "discord_channel"],
            "audience": {"school_ids": [school["id"]], "local_authorities": ["York"]}});
        let sent = send(&app, &body).await;
        assert_eq!(
            app.count(&format!("notifications WHERE announcement_id = {}", sent["id"]))
                .await,
            2
        );
        let row = |participant: Option<i64>, channel: &str| entity::notification::ActiveModel {
            channel: Set(channel.to_owned()),
            kind: Set("announcement".to_owned()),
            participant_id: Set(participant),
            payload: Set(json!({})),
            due_at: Set(Utc::now()),
            state: Set(entity::state::NotificationState::Pending),
            attempts: Set(0),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            announcement_id: Set(sent["id"].as_i64()),
            ..Default::default()
        };
        assert!(
            row(ann["id"].as_i64(), "email").insert(&app.db).await.is_err(),
            "a second email"
        );
        assert!(
            row(None, "discord_channel").insert(&app.db).await.is_err(),
            "a second post"
        );
        assert!(
            row(ann["id"].as_i64(), "discord").insert(&app.db).await.is_ok(),
            "another channel"
        );
    }
}

#[tokio::test]
async fn bad_announcements_are_refused_naming_the_field_and_only_organiser_keys_may_send() {
    for app in spawn_apps().await {
        let ok = json!({"subject": "S", "body": "B", "channels": ["email"], "audience": {"all": true}});
        let cases = [
            (json!({"subject": null}), "subject"),
            (json!({"subject": "x".repeat(201)}), "subject"),
            (json!({"body": "  "}), "body"),
            (json!({"body": "x".repeat(10_001)}), "body"),
            (json!({"channels": []}), "channels"),
            (json!({"channels": ["email", "pigeon"]}), "channels[1]"),
            (json!({"audience": {}}), "audience"),
            (json!({"audience": null}), "audience"),
            (json!({"audience": {"all": true, "roles": ["head"]}}), "audience.all"),
            (json!({"audience": {"roles": ["head", "king"]}}), "audience.roles[1]"),
            (json!({"audience": {"school_ids": []}}), "audience.school_ids"),
            (json!({"event_id": 999_999}), "event_id"),
            (json!({"audience": {"programme_id": 999_999}}), "audience.programme_id"),
            (json!({"audience": {"event_id": 999_999}}), "audience.event_id"),
            (json!({"audience": {"school_ids": [999_999]}}), "audience.school_ids"),
            (
                json!({"audience": {"all": true, "exclude_booked_on_event_id": 999_999}}),
                "audience.exclude_booked_on_event_id",
            ),
        ];
        let rows = app.count("notifications").await;
        for (change, field) in cases {
            let mut body = ok.clone();
            convene_tests::merge(&mut body, change.clone());
            if change.get("subject").is_some_and(Value::is_null) {
                body.as_object_mut().unwrap().remove("subject");
            }
            if change.get("audience").is_some_and(Value::is_null) {
                body.as_object_mut().unwrap().remove("audience");
            }
            for path in ["/v1/announcements", "/v1/announcements:preview"] {
                let reply = app.post(path, &body).await;
                reply.problem(422, "validation_failed");
                assert!(
                    reply.fields().contains(&field.to_owned()),
                    "{path} {change}: {}",
                    reply.text
                );
            }
        }
        let draft = app.create_event(json!({"status": "draft"})).await;
        let mut body = ok.clone();
        body["event_id"] = draft["id"].clone();
        assert_eq!(app.post("/v1/announcements", &body).await.fields(), ["event_id"]);
        let unknown_field = json!({"subject": "S", "body": "B", "channels": ["email"], "audience": {"everyone": true}});
        assert_eq!(app.post("/v1/announcements", &unknown_field).await.status, 422);
        assert_eq!(app.count("notifications").await, rows, "nothing was queued");
        assert_eq!(app.count("announcements").await, 0);
        // Without an organiser key, nothing is sent or shown.
        let anonymous = app
            .send(app.anonymous(Method::POST, "/v1/announcements").json(&ok))
            .await;
        assert_eq!(anonymous.status, 401);
        let bot = app.bot_key().await;
        for (method, path) in [
            (Method::POST, "/v1/announcements"),
            (Method::POST, "/v1/announcements:preview"),
            (Method::GET, "/v1/announcements"),
        ] {
            let reply = app
                .send(app.anonymous(method.clone(), path).bearer_auth(&bot).json(&ok))
                .await;
            assert_eq!(reply.status, 403, "{path}: {}", reply.text);
            let reply = app.send(app.anonymous(method, path).json(&ok)).await;
            assert_eq!(reply.status, 401, "{path}: {}", reply.text);
        }
        assert_eq!(app.count("announcements").await, 0);
        assert_eq!(app.get("/v1/announcements/12345").await.status, 404);
    }
}

#[tokio::test]
async fn the_unsubscribe_link_needs_no_session_unknown_tokens_change_nothing_and_the_settings_turn_announcements_back_on()
 {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"role": "governor"})).await;
        let sent = send(
            &app,
            &json!({"subject": "S", "body": "B", "channels": ["email"], "audience": {"roles": ["governor"]}}),
        )
        .await;
        let row: Value = {
            use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
            let row = entity::notification::Entity::find()
                .filter(entity::notification::Column::AnnouncementId.eq(sent["id"].as_i64()))
                .one(&app.db)
                .await
                .unwrap()
                .unwrap();
            row.payload
        };
        let url = row["unsubscribe_url"].as_str().unwrap().to_owned();
        let token = url.rsplit('/').next().unwrap().to_owned();
        // Unknown, altered or malformed tokens: a 404 page, and nothing changes.
        let mut altered = token.clone();
        altered.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
        for bad in [altered.as_str(), "nope", "ann@example.org"] {
            for method in [Method::GET, Method::POST] {
                let reply = app
                    .send(app.anonymous(method.clone(), &format!("/unsubscribe/{bad}")))
                    .await;
                assert_eq!(reply.status, 404, "{method} {bad}: {}", reply.text);
            }
        }
        let person = app.get(&format!("/v1/participants/{}", ann["id"])).await.json();
        assert_eq!(person["announcements"], true);
        let audit = app.count("audit_entries").await;
        let reply = one_click(&app, &url).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.text.contains("no longer get announcements"), "{}", reply.text);
        assert_eq!(one_click(&app, &url).await.status, 200);
        assert_eq!(app.count("audit_entries").await, audit + 1, "one change, recorded once");
        let person = app.get(&format!("/v1/participants/{}", ann["id"])).await.json();
        assert_eq!(person["announcements"], false);
        // A second announcement does not reach her; the settings on her page turn it back on.
        let body = json!({"subject": "S2", "body": "B", "channels": ["email"], "audience": {"roles": ["governor"]}});
        let preview = app.post("/v1/announcements:preview", &body).await.json();
        assert_eq!(preview["channels"]["email"]["count"], 0, "{preview}");
        let (visitor, page): (WebVisitor, String) = signed_in(&app, &ann).await;
        assert!(
            page.contains("id=\"announcements\""),
            "the settings offer announcements"
        );
        let saved = submit(
            &visitor,
            "/p",
            "/p/preferences",
            &[
                ("time_zone", "Europe/London"),
                ("notify_email", "on"),
                ("announcements_shown", "1"),
                ("announcements", "on"),
                ("reminder", "1440"),
            ],
        )
        .await;
        assert_eq!(saved.status, 200, "{}", saved.text);
        let person = app.get(&format!("/v1/participants/{}", ann["id"])).await.json();
        assert_eq!(person["announcements"], true, "{person}");
        let preview = app.post("/v1/announcements:preview", &body).await.json();
        assert_eq!(preview["channels"]["email"]["count"], 1, "{preview}");
    }
}

#[tokio::test]
async fn announcements_that_were_unsubscribed_before_they_went_are_withdrawn_and_counted() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let ann = app
            .create_participant(json!({"role": "facilitator", "notify_discord": true}))
            .await;
        app.link_discord(&bot, &ann, "333333333333333333").await;
        let sent = send(
            &app,
            &json!({"subject": "S", "body": "B", "channels": ["discord_dm"], "audience": {"roles": ["facilitator"]}}),
        )
        .await;
        assert_eq!(sent["by_channel"]["discord_dm"]["queued"], 1, "{sent}");
        let url = {
            use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
            entity::notification::Entity::find()
                .filter(entity::notification::Column::AnnouncementId.eq(sent["id"].as_i64()))
                .one(&app.db)
                .await
                .unwrap()
                .unwrap()
                .payload["unsubscribe_url"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(one_click(&app, &url).await.status, 200);
        assert!(lease(&app, &bot, 100).await.iter().all(|m| m["kind"] != "announcement"));
        let read = app.get(&format!("/v1/announcements/{}", sent["id"])).await.json();
        assert_eq!(read["by_channel"]["discord_dm"]["unsubscribed"], 1, "{read}");
        assert_eq!(read["counts"]["unsubscribed"], 1, "{read}");
        let list = app.get("/v1/announcements").await.json();
        assert_eq!(list["items"][0]["counts"]["unsubscribed"], 1, "{list}");
    }
}

#[tokio::test]
async fn a_large_announcement_is_paced_and_confirmations_go_before_it() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let school = app.create_school(json!({"local_authority": "Hull"})).await;
        let people = app.create_participants(45, Some(&school["id"])).await;
        let sent = send(
            &app,
            &json!({"subject": "S", "body": "B", "channels": ["email"], "audience": {"school_ids": [school["id"]]}}),
        )
        .await;
        assert_eq!(sent["counts"]["queued"], 45);
        let rows = app
            .get("/v1/notifications?kind=announcement&channel=email&limit=100")
            .await
            .json();
        let mut due: Vec<DateTime<Utc>> = rows["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["participant_id"].as_i64().is_some_and(|p| people.contains(&p)))
            .map(|n| {
                DateTime::parse_from_rfc3339(n["due_at"].as_str().unwrap())
                    .unwrap()
                    .to_utc()
            })
            .collect();
        due.sort();
        assert_eq!(due.len(), 45);
        assert_eq!(due[19], due[0], "twenty a second");
        assert_eq!(due[20] - due[0], chrono::Duration::seconds(1));
        assert_eq!(due[44] - due[0], chrono::Duration::seconds(2));

        // On Discord, where the bot takes messages when it asks: a booking's confirmation,
        // queued after an announcement's DMs, is handed out before them.
        let linked = [
            app.create_participant(json!({"role": "lead_reviewer", "notify_discord": true}))
                .await,
            app.create_participant(json!({"role": "lead_reviewer", "notify_discord": true}))
                .await,
        ];
        app.link_discord(&bot, &linked[0], "444444444444444444").await;
        app.link_discord(&bot, &linked[1], "555555555555555555").await;
        send(
            &app,
            &json!({"subject": "S", "body": "B", "channels": ["discord_dm"], "audience": {"roles": ["lead_reviewer"]}}),
        )
        .await;
        let session = app.open_session(10, json!({})).await;
        assert_eq!(
            app.book(&session["id"], linked[1]["id"].as_i64().unwrap()).await.status,
            201
        );
        let first = lease(&app, &bot, 1).await;
        assert_eq!(first[0]["kind"], "booking_confirmed", "{first:?}");
        let rest = lease(&app, &bot, 10).await;
        let kinds: Vec<&str> = rest.iter().map(|m| m["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["announcement", "announcement"]);
    }
}

#[tokio::test]
async fn the_console_shows_whom_an_announcement_reaches_before_it_can_be_sent() {
    for app in spawn_apps().await {
        let (visitor, _) = convene_tests::web::console_organiser(&app).await;
        let school = app
            .create_school(json!({"local_authority": "Leeds", "phase": "special"}))
            .await;
        let ann = app
            .create_participant(json!({"name": "Ann Jones", "school_id": school["id"], "role": "head"}))
            .await;
        app.create_participant(json!({"name": "Tom Teacher", "school_id": school["id"], "role": "teacher"}))
            .await;
        let form = visitor.get("/o/announcements/new").await;
        assert_eq!(form.status, 200, "{}", form.text);
        assert!(
            !form.text.contains("id=\"send-announcement\""),
            "no Send before a preview"
        );
        let fields = [
            ("subject", "Places left"),
            ("body", "Twenty places are left."),
            ("local_authorities", "Leeds"),
            ("roles", "head"),
            ("channels", "email"),
        ];
        let rows = app.count("notifications WHERE kind = 'announcement'").await;
        let preview = submit(&visitor, "/o/announcements/new", "/o/announcements/new", &fields).await;
        assert_eq!(preview.status, 200, "{}", preview.text);
        assert!(
            preview.text.contains("<span id=\"reach-email\">1</span>"),
            "{}",
            preview.text
        );
        assert!(preview.text.contains("Ann Jones"));
        assert!(!preview.text.contains("Tom Teacher"));
        assert!(preview.text.contains("id=\"send-announcement\""));
        assert_eq!(app.count("notifications WHERE kind = 'announcement'").await, rows);
        // A form with a mistake comes back with it, and sends nothing.
        let refused = submit(
            &visitor,
            "/o/announcements/new",
            "/o/announcements/new",
            &[("subject", "Places left"), ("body", "B"), ("channels", "email")],
        )
        .await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert!(refused.text.contains("id=\"audience-error\""), "{}", refused.text);
        let sent = submit(&visitor, "/o/announcements/new", "/o/announcements", &fields).await;
        let location = convene_tests::web::location(&sent);
        assert!(location.ends_with("?done=sent"), "{location}");
        let page = visitor.get(&location).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains("Places left") && page.text.contains("Twenty places are left."));
        assert_eq!(
            app.count(&format!(
                "notifications WHERE kind = 'announcement' AND participant_id = {}",
                ann["id"]
            ))
            .await,
            1
        );
        let list = visitor.get("/o/announcements").await;
        assert!(list.text.contains("Places left"), "{}", list.text);
    }
}
