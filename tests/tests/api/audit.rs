//! The audit trail: every change made through the API, the participant pages and the bot writes
//! a row in its own transaction, naming who made it; `GET /v1/audit` lists them newest first,
//! filtered; a refused change writes nothing; an erased person's name leaves the trail.

use convene_tests::web::{csrf_of, signed_in};
use convene_tests::{TestApp, backends, json, spawn_app};
use reqwest::Method;
use serde_json::Value;

/// The trail as `GET /v1/audit` answers it with `query`.
async fn trail(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("/v1/audit{query}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["items"].as_array().unwrap().clone()
}

/// The actions of `entries`, newest first.
fn actions(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_change_through_the_api_is_in_the_audit_trail_newest_first_with_the_key_that_made_it() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let school = app.create_school(json!({})).await;
        let people = app.create_participants(2, Some(&school["id"])).await;
        let event = app
            .create_event(json!({"title": "Summer conference", "status": "draft"}))
            .await;
        let start = (chrono::Utc::now() + chrono::Duration::days(9)).format("%Y-%m-%d");
        let session = app
            .create_session(
                &event["id"],
                json!({"start": format!("{start}T09:30"), "end": format!("{start}T12:00"), "capacity": 1}),
            )
            .await;
        let published = app
            .patch(&format!("/v1/events/{}", event["id"]), &json!({"status": "published"}))
            .await;
        assert_eq!(published.status, 200, "{}", published.text);
        let first = app.book(&session["id"], people[0]).await.json();
        app.book(&session["id"], people[1]).await;
        let cancelled = app.delete(&format!("/v1/bookings/{}", first["id"])).await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        let resized = app
            .patch(&format!("/v1/sessions/{}", session["id"]), &json!({"capacity": 5}))
            .await;
        assert_eq!(resized.status, 200, "{}", resized.text);

        let entries = trail(&app, "").await;
        let expected_newest_first = [
            "session.updated",
            "booking.cancelled",
            "booking.waitlisted",
            "booking.created",
            "event.published",
            "session.created",
            "event.created",
        ];
        assert_eq!(
            actions(&entries)[..expected_newest_first.len()],
            expected_newest_first,
            "{backend:?}: {entries:#?}"
        );
        assert!(actions(&entries).contains(&"school.created"));
        assert_eq!(
            actions(&entries)
                .iter()
                .filter(|a| **a == "participant.created")
                .count(),
            2
        );
        let newest = &entries[0];
        assert_eq!(newest["actor"]["kind"], "key", "{backend:?}: {newest}");
        assert!(newest["actor"]["id"].as_i64().is_some());
        assert!(!newest["actor"]["name"].as_str().unwrap().is_empty());
        assert_eq!(newest["target"], json!({"type": "session", "id": session["id"]}));
        assert!(
            newest["summary"].as_str().unwrap().contains("capacity 1 → 5"),
            "{backend:?}: {newest}"
        );
        let cancel = &entries[1];
        assert!(
            cancel["summary"]
                .as_str()
                .unwrap()
                .contains("promoted from the waitlist"),
            "{backend:?}: the seat went to the waitlist, and the row says so: {cancel}"
        );
        assert!(newest["at"].as_str().unwrap().ends_with('Z'));

        // Filters: one thing's history, one actor's changes, and pages of it.
        let of_event = trail(&app, &format!("?target_type=event&target_id={}", event["id"])).await;
        assert_eq!(actions(&of_event), ["event.published", "event.created"], "{backend:?}");
        let actor = format!("key:{}", newest["actor"]["id"]);
        let by_key = entries.iter().filter(|e| e["actor"]["kind"] == "key").count();
        assert_eq!(trail(&app, &format!("?actor={actor}")).await.len(), by_key);
        // The test's own key was made by the system, and the trail says so.
        assert_eq!(entries.last().unwrap()["action"], "key.created");
        assert_eq!(entries.last().unwrap()["actor"]["kind"], "system");
        assert!(trail(&app, "?actor=organiser").await.is_empty());
        let first_page = app.get("/v1/audit?limit=2").await.json();
        assert_eq!(first_page["items"].as_array().unwrap().len(), 2);
        let cursor = first_page["next_cursor"].as_str().expect("a next page");
        let second_page = trail(&app, &format!("?limit=2&cursor={cursor}")).await;
        assert_eq!(second_page[0]["id"], entries[2]["id"], "{backend:?}");

        // Bad filters get the field at fault; without a key, nothing.
        app.get("/v1/audit?actor=robot:1")
            .await
            .problem(422, "validation_failed");
        let bad = app.get("/v1/audit?target_type=Event!").await;
        assert_eq!(bad.fields(), ["target_type"], "{backend:?}: {}", bad.text);
        app.get("/v1/audit?colour=red").await.problem(400, "invalid_query");
        let anonymous = app.send(app.anonymous(Method::GET, "/v1/audit")).await;
        assert_eq!(anonymous.status, 401);
    }
}

#[tokio::test]
async fn a_refused_change_writes_no_audit_row() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let session = app.open_session(1, json!({})).await;
        let before = app.count("audit_entries").await;

        let too_small = app
            .patch(&format!("/v1/sessions/{}", session["id"]), &json!({"capacity": 0}))
            .await;
        assert_eq!(too_small.status, 422, "{}", too_small.text);
        let nobody = app.book(&session["id"], 999_999).await;
        assert_eq!(nobody.status, 422, "{}", nobody.text);
        let slp = app
            .post(
                "/v1/events",
                &json!({"kind": "slp_session", "title": "SLP: reading", "time_zone": "Europe/London", "status": "published"}),
            )
            .await;
        assert!(slp.status.as_u16() >= 400, "{backend:?}: {}", slp.text);

        assert_eq!(
            app.count("audit_entries").await,
            before,
            "{backend:?}: nothing was recorded"
        );
    }
}

#[tokio::test]
async fn a_participants_own_changes_name_them_until_they_are_erased_and_then_their_name_leaves_the_trail() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let session = app.open_session(10, json!({})).await;
        let ann = app
            .create_participant(json!({"name": "Annabel Quimby", "email": "annabel@northfield.example"}))
            .await;
        let (visitor, page) = signed_in(&app, &ann).await;
        let booked = visitor
            .post_form(
                "/p/bookings",
                &[("session_id", &session["id"].to_string()), ("csrf", &csrf_of(&page))],
            )
            .await;
        assert!(booked.status.as_u16() < 400, "{}", booked.text);

        let entries = trail(&app, "?actor=participant").await;
        assert_eq!(actions(&entries), ["booking.created"], "{backend:?}");
        assert_eq!(
            entries[0]["actor"],
            json!({"kind": "participant", "id": ann["id"], "name": "Annabel Quimby"})
        );

        let erased = app.delete(&format!("/v1/participants/{}", ann["id"])).await;
        assert!(erased.status.as_u16() < 300, "{}", erased.text);
        let everything = app.get("/v1/audit?limit=500").await;
        assert!(
            !everything.text.contains("Annabel"),
            "{backend:?}: the name is gone from the whole trail: {}",
            everything.text
        );
        let entries = trail(&app, &format!("?actor=participant:{}", ann["id"])).await;
        assert_eq!(entries[0]["actor"]["name"], "(erased)", "{backend:?}");
        let erasure = &trail(&app, "?target_type=participant").await[0];
        assert_eq!(erasure["action"], "participant.erased");
        assert_eq!(erasure["actor"]["kind"], "key");
    }
}
