//! Data protection: `GET /v1/participants/{id}/export` (everything held about a person) and the
//! retention sweep that detaches old answers and reflections from their people.

use chrono::{Duration, Utc};
use convene_api::domain::personal_data::{self, Anonymised};
use convene_tests::reqwest::Method;
use convene_tests::{TestApp, json, spawn_apps};
use sea_orm::EntityTrait as _;
use serde_json::Value;

/// Ann, from a school, booked on a session of a past event, who answered its survey on the form
/// and wrote a reflection; returns her and the event.
async fn ann_with_history(app: &TestApp) -> (Value, Value) {
    let school = app
        .create_school(json!({"name": "Northfield Primary School", "urn": "100001"}))
        .await;
    let ann = app
        .create_participant(json!({"name": "Ann Jones", "school_id": school["id"], "quiet_hours_start": "21:00", "quiet_hours_end": "07:00"}))
        .await;
    let event = app.create_event(json!({"title": "Oracy in the early years"})).await;
    let day = (Utc::now() + Duration::days(2)).format("%Y-%m-%d").to_string();
    let session = app
        .create_session(
            &event["id"],
            json!({"label": "Workshop A", "start": format!("{day}T09:00"), "end": format!("{day}T12:00"), "capacity": 10}),
        )
        .await;
    assert_eq!(app.book(&session["id"], ann["id"].as_i64().unwrap()).await.status, 201);
    let past = (Utc::now() - Duration::days(3)).format("%Y-%m-%d").to_string();
    let moved = app
        .patch(
            &format!("/v1/sessions/{}", session["id"]),
            &json!({"start": format!("{past}T09:00"), "end": format!("{past}T12:00")}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let survey = app
        .post(
            "/v1/surveys",
            &json!({"title": "What changed after Oracy?", "event_id": event["id"], "questions": [
                {"key": "useful", "kind": "likert", "prompt": "How useful was it for your school?", "required": true},
                {"key": "other", "kind": "text", "prompt": "Anything else?"}
            ]}),
        )
        .await
        .json();
    let sent = app
        .post(&format!("/v1/surveys/{}/invitations:send", survey["id"]), &json!({}))
        .await;
    assert_eq!(sent.json()["invited"], 1, "{}", sent.text);
    let invitation = entity::survey_invitation::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .expect("an invitation");
    let body = "useful=4&other=Talk+partners+in+every+class";
    let answered = app
        .send(
            app.anonymous(Method::POST, &format!("/s/{}", invitation.token))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    let reflected = app
        .post(
            "/v1/reflections",
            &json!({"participant_id": ann["id"], "event_id": event["id"], "what_tried": "Talk partners",
                    "what_changed": "Fuller answers", "evidence": "Book looks"}),
        )
        .await;
    assert_eq!(reflected.status, 201, "{}", reflected.text);
    (ann, event)
}

#[tokio::test]
async fn exporting_a_participant_gives_everything_held_about_them() {
    for app in spawn_apps().await {
        let (ann, _) = ann_with_history(&app).await;
        let feed = app
            .post(&format!("/v1/participants/{}/feed-token", ann["id"]), &json!({}))
            .await
            .json();
        let token = feed["token"].as_str().unwrap().to_owned();
        let reply = app.get(&format!("/v1/participants/{}/export", ann["id"])).await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_eq!(reply.headers["cache-control"], "no-store");
        let data = reply.json();
        assert_eq!(data["profile"]["name"], "Ann Jones");
        assert_eq!(data["profile"]["email"], ann["email"]);
        assert_eq!(data["school"]["urn"], "100001");
        assert_eq!(data["preferences"]["quiet_hours_start"], "21:00");
        assert_eq!(data["preferences"]["reminder_offsets_minutes"], json!([1440, 60]));
        assert_eq!(data["preferences"]["announcements"], true);
        assert_eq!(data["discord"]["discord_id"], Value::Null);
        assert_eq!(data["has_private_feed"], true);
        assert!(!reply.text.contains(&token), "the feed's secret is not in the export");

        let booking = &data["bookings"][0];
        assert_eq!(booking["status"], "confirmed");
        assert_eq!(booking["session_label"], "Workshop A");
        assert_eq!(booking["event_title"], "Oracy in the early years");

        assert_eq!(data["reflections"][0]["what_tried"], "Talk partners");
        assert_eq!(data["reflections"][0]["event_title"], "Oracy in the early years");

        assert_eq!(
            data["survey_invitations"][0]["survey_title"],
            "What changed after Oracy?"
        );
        let response = &data["survey_responses"][0];
        assert_eq!(response["survey_title"], "What changed after Oracy?");
        assert_eq!(
            response["answers"],
            json!([
                {"key": "useful", "prompt": "How useful was it for your school?", "kind": "likert", "answer": 4},
                {"key": "other", "prompt": "Anything else?", "kind": "text", "answer": "Talk partners in every class"}
            ])
        );
        let kinds: Vec<&str> = data["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"booking_confirmed") && kinds.contains(&"survey_invitation"),
            "{kinds:?}"
        );
        assert!(
            data["notifications"][0].get("payload").is_none(),
            "only what and when, not the message"
        );

        app.get("/v1/participants/99999/export").await.problem(404, "not_found");
        app.send(app.anonymous(Method::GET, &format!("/v1/participants/{}/export", ann["id"])))
            .await
            .problem(401, "unauthorized");
    }
}

#[tokio::test]
async fn the_retention_sweep_detaches_old_answers_and_reflections_but_keeps_their_text() {
    for app in spawn_apps().await {
        let (ann, event) = ann_with_history(&app).await;
        let now = Utc::now();
        assert_eq!(
            personal_data::sweep(&app.db, 0, now + Duration::days(10_000))
                .await
                .unwrap(),
            Anonymised::default(),
            "0 keeps everything"
        );
        assert_eq!(
            personal_data::sweep(&app.db, 30, now + Duration::days(29))
                .await
                .unwrap(),
            Anonymised::default(),
            "nothing is older than 30 days yet"
        );
        assert_eq!(
            personal_data::sweep(&app.db, 30, now + Duration::days(31))
                .await
                .unwrap(),
            Anonymised {
                survey_responses: 1,
                reflections: 1
            }
        );
        assert_eq!(
            personal_data::sweep(&app.db, 30, now + Duration::days(31))
                .await
                .unwrap(),
            Anonymised::default(),
            "a second sweep finds nothing more"
        );

        let data = app.get(&format!("/v1/participants/{}/export", ann["id"])).await.json();
        assert_eq!(data["survey_responses"], json!([]));
        assert_eq!(data["reflections"], json!([]));
        assert_eq!(
            data["survey_invitations"],
            json!([]),
            "the invitation no longer names her"
        );
        assert_eq!(data["bookings"].as_array().unwrap().len(), 1, "bookings are kept");

        // The text stays in the network's reports, unlinked.
        let reflections = app
            .get(&format!("/v1/reflections?event_id={}", event["id"]))
            .await
            .json();
        assert_eq!(reflections["items"][0]["what_tried"], "Talk partners");
        assert_eq!(reflections["items"][0]["participant_id"], Value::Null);
        let responses = entity::survey_response::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].participant_id, None);
        assert_eq!(responses[0].answers["other"], "Talk partners in every class");
    }
}

#[tokio::test]
async fn erasing_a_person_kills_their_survey_link_feed_and_sign_in_links_and_their_answers_cannot_be_read_or_changed() {
    for app in spawn_apps().await {
        let (ann, _) = ann_with_history(&app).await;
        let id = ann["id"].as_i64().unwrap();
        let token = entity::survey_invitation::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .expect("an invitation")
            .token;
        let form = format!("/s/{token}");
        let before = app.send(app.anonymous(Method::GET, &form)).await;
        assert_eq!(before.status, 200, "{}", before.text);
        assert!(before.text.contains("Talk partners in every class"), "{}", before.text);
        let feed = app
            .send(app.request(Method::POST, &format!("/v1/participants/{id}/feed-token")))
            .await
            .json();
        let feed_path = feed["url"]
            .as_str()
            .and_then(|u| u.find("/ical/").map(|at| u[at..].to_owned()))
            .expect("a feed url");
        assert_eq!(app.send(app.anonymous(Method::GET, &feed_path)).await.status, 200);
        let sent = app
            .post(&format!("/v1/participants/{id}/sign-in-link"), &json!({}))
            .await;
        assert_eq!(sent.status, 202, "{}", sent.text);
        let link = convene_tests::web::sign_in_link_for(&app, id).await;
        let link_path = &link[link.find("/p/").expect("a /p link")..];

        assert_eq!(app.delete(&format!("/v1/participants/{id}")).await.status, 204);

        // The survey link answers as unknown, with a plain page, to reading and to changing.
        let read = app.send(app.anonymous(Method::GET, &form)).await;
        assert_eq!(read.status, 404, "{}", read.text);
        assert!(read.content_type().starts_with("text/html"), "{}", read.content_type());
        assert!(!read.text.contains("Talk partners"), "{}", read.text);
        let changed = app
            .send(
                app.anonymous(Method::POST, &form)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body("useful=1&other=Changed+by+someone+else"),
            )
            .await;
        assert_eq!(changed.status, 404, "{}", changed.text);
        let kept = entity::survey_response::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].participant_id, None, "kept, anonymised");
        assert_eq!(kept[0].answers["other"], "Talk partners in every class", "unchanged");
        // No stored token still holds the secret the link carried.
        let tokens: Vec<String> = entity::survey_invitation::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.token)
            .collect();
        assert!(!tokens.contains(&token), "{tokens:?}");

        // The feed and the unused sign-in link are dead too.
        assert_eq!(app.send(app.anonymous(Method::GET, &feed_path)).await.status, 404);
        let followed = app.send(app.anonymous(Method::GET, link_path)).await;
        assert_eq!(followed.status, 404, "{}", followed.text);
    }
}
