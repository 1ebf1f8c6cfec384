//! Sessions: times read in the event's zone, refused in the clocks-change gap and overlap.
use sea_orm::ConnectionTrait as _;

use convene_tests::{json, spawn_apps};
use reqwest::Method;

#[tokio::test]
async fn a_local_time_is_read_in_the_events_zone_and_shown_in_utc_and_local() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let session = app
            .create_session(&event["id"], json!({"label": "Workshop A", "start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30, "per_school_limit": 2}))
            .await;
        assert_eq!(session["start"], "2027-06-04T08:30:00Z", "{:?}", app.backend);
        assert_eq!(session["end"], "2027-06-04T11:00:00Z");
        assert_eq!(session["start_local"], "2027-06-04T09:30:00");
        assert_eq!(session["time_zone"], "Europe/London");
        assert_eq!(session["capacity"], 30);
        assert_eq!(session["available"], 30);
        assert_eq!(session["per_school_limit"], 2);
        assert_eq!(session["waitlist"], true);
        assert_eq!(session["revision"], 0);
        let read = app.get(&format!("/v1/sessions/{}", session["id"])).await.json();
        assert_eq!(read, session);
    }
}

#[tokio::test]
async fn an_instant_with_an_offset_is_kept_and_shown_in_the_events_zone() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({"time_zone": "America/New_York"})).await;
        let session = app
            .create_session(
                &event["id"],
                json!({"start": "2027-01-15T14:00:00Z", "end": "2027-01-15T15:30:00+00:00", "capacity": 5}),
            )
            .await;
        assert_eq!(session["start"], "2027-01-15T14:00:00Z");
        assert_eq!(session["start_local"], "2027-01-15T09:00:00");
        assert_eq!(session["end_local"], "2027-01-15T10:30:00");
    }
}

#[tokio::test]
async fn a_local_time_in_the_spring_forward_gap_is_refused_as_nonexistent() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let reply = app
            .post(
                &format!("/v1/events/{}/sessions", event["id"]),
                &json!({"start": "2027-03-28T01:30", "end": "2027-03-28T03:00", "capacity": 10}),
            )
            .await;
        let body = reply.problem(422, "nonexistent_local_time");
        assert_eq!(reply.fields(), ["start"]);
        assert!(body["detail"].as_str().unwrap().contains("Europe/London"), "{body}");
        assert_eq!(app.count("sessions").await, 0);
    }
}

#[tokio::test]
async fn a_local_time_in_the_autumn_repeated_hour_is_refused_as_ambiguous() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let reply = app
            .post(
                &format!("/v1/events/{}/sessions", event["id"]),
                &json!({"start": "2027-10-31T00:30", "end": "2027-10-31T01:30", "capacity": 10}),
            )
            .await;
        reply.problem(422, "ambiguous_local_time");
        assert_eq!(reply.fields(), ["end"]);
        // The same hour given as an instant with its offset is fine.
        let ok = app
            .post(
                &format!("/v1/events/{}/sessions", event["id"]),
                &json!({"start": "2027-10-31T00:30", "end": "2027-10-31T01:30:00+00:00", "capacity": 10}),
            )
            .await;
        assert_eq!(ok.status, 201, "{}", ok.text);
    }
}

#[tokio::test]
async fn bad_session_fields_are_each_listed_and_nothing_is_written() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let path = format!("/v1/events/{}/sessions", event["id"]);
        let reply = app
            .post(
                &path,
                &json!({"start": "tomorrow", "capacity": 0, "per_school_limit": 0}),
            )
            .await;
        reply.problem(422, "validation_failed");
        let mut fields = reply.fields();
        fields.sort();
        assert_eq!(
            fields,
            ["capacity", "end", "per_school_limit", "start"],
            "{}",
            reply.text
        );

        let backwards = app
            .post(
                &path,
                &json!({"start": "2027-06-04T12:00", "end": "2027-06-04T09:00", "capacity": 3}),
            )
            .await;
        backwards.problem(422, "validation_failed");
        assert_eq!(backwards.fields(), ["end"]);
        let limit_over = app
            .post(
                &path,
                &json!({"start": "2027-06-04T09:00", "end": "2027-06-04T10:00", "capacity": 3, "per_school_limit": 4}),
            )
            .await;
        assert_eq!(limit_over.fields(), ["per_school_limit"]);
        let far_future = app
            .post(
                &path,
                &json!({"start": "2150-06-04T09:00", "end": "2150-06-04T10:00", "capacity": 3}),
            )
            .await;
        far_future.problem(422, "validation_failed");
        assert_eq!(app.count("sessions").await, 0);
        app.post(
            "/v1/events/424242/sessions",
            &json!({"start": "2027-06-04T09:00", "end": "2027-06-04T10:00", "capacity": 3}),
        )
        .await
        .problem(404, "not_found");
    }
}

#[tokio::test]
async fn an_unknown_event_time_zone_is_refused() {
    for app in spawn_apps().await {
        let reply = app
            .post(
                "/v1/events",
                &json!({"kind": "conference", "title": "T", "time_zone": "Europe/Atlantis"}),
            )
            .await;
        reply.problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["time_zone"]);
        assert_eq!(app.count("events").await, 0);
    }
}

#[tokio::test]
async fn moving_a_session_bumps_its_revision_and_capacity_cannot_drop_below_bookings() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let session = app
            .create_session(
                &event["id"],
                json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
            )
            .await;
        let path = format!("/v1/sessions/{}", session["id"]);
        let moved = app
            .patch(&path, &json!({"start": "2027-06-05T09:30", "end": "2027-06-05T12:00"}))
            .await
            .json();
        assert_eq!(moved["start"], "2027-06-05T08:30:00Z");
        assert_eq!(moved["revision"], 1);
        let resized = app
            .patch(&path, &json!({"capacity": 40, "label": "Main hall"}))
            .await
            .json();
        assert_eq!(resized["revision"], 1, "a new capacity does not move the session");
        assert_eq!(resized["label"], "Main hall");
        // Seats taken (as the booking engine records them) limit how far capacity can drop.
        app.db
            .execute_unprepared(&format!("UPDATE sessions SET booked = 12 WHERE id = {}", session["id"]))
            .await
            .unwrap();
        let reply = app.patch(&path, &json!({"capacity": 11})).await;
        reply.problem(409, "capacity_below_booked");
        assert_eq!(reply.fields(), ["capacity"]);
        assert_eq!(app.get(&path).await.json()["capacity"], 40);
        let cancelled = app.patch(&path, &json!({"status": "cancelled"})).await.json();
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["revision"], 2);
        app.patch(&path, &json!({"capacity": 50}))
            .await
            .problem(409, "session_cancelled");
    }
}

#[tokio::test]
async fn a_session_without_bookings_can_be_deleted() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let session = app
            .create_session(
                &event["id"],
                json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
            )
            .await;
        let path = format!("/v1/sessions/{}", session["id"]);
        assert_eq!(app.delete(&path).await.status, 204);
        app.get(&path).await.problem(404, "not_found");
    }
}

#[tokio::test]
async fn sessions_of_a_published_event_are_public_and_of_a_draft_are_not() {
    for app in spawn_apps().await {
        let published = app.create_event(json!({})).await;
        let draft = app.create_event(json!({"status": "draft"})).await;
        let public_session = app
            .create_session(
                &published["id"],
                json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
            )
            .await;
        let draft_session = app
            .create_session(
                &draft["id"],
                json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
            )
            .await;
        let list = app
            .send(app.anonymous(Method::GET, &format!("/v1/events/{}/sessions", published["id"])))
            .await;
        assert_eq!(list.status, 200);
        assert_eq!(list.json()["items"][0]["id"], public_session["id"]);
        let read = app
            .send(app.anonymous(Method::GET, &format!("/v1/sessions/{}", public_session["id"])))
            .await;
        assert_eq!(read.status, 200);
        app.send(app.anonymous(Method::GET, &format!("/v1/events/{}/sessions", draft["id"])))
            .await
            .problem(404, "not_found");
        app.send(app.anonymous(Method::GET, &format!("/v1/sessions/{}", draft_session["id"])))
            .await
            .problem(404, "not_found");
        app.send(
            app.anonymous(Method::POST, &format!("/v1/events/{}/sessions", published["id"]))
                .json(&json!({})),
        )
        .await
        .problem(401, "unauthorized");
    }
}
