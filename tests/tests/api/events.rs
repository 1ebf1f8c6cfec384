use convene_tests::{json, spawn_apps};
use reqwest::Method;

#[tokio::test]
async fn an_event_starts_as_a_draft_and_is_published_by_patching_its_status() {
    for app in spawn_apps().await {
        let reply = app.post("/v1/events", &json!({"kind": "slp_session", "title": "Reading for pleasure", "time_zone": "Europe/London", "online_url": "https://meet.example.org/slp-reading", "topic": "reading"})).await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        let event = reply.json();
        assert_eq!(event["status"], "draft");
        assert_eq!(event["online_url"], "https://meet.example.org/slp-reading");
        let path = format!("/v1/events/{}", event["id"]);
        app.send(app.anonymous(Method::GET, &path))
            .await
            .problem(404, "not_found");
        // A Sharing Leading Practice session is published only by a school accredited in its topic.
        let refused = app.patch(&path, &json!({"status": "published"})).await;
        assert_eq!(
            refused.problem(422, "host_not_accredited")["errors"][0]["field"],
            "host_school_id"
        );
        let other = app
            .create_school(json!({"accredited_practice": ["Maths mastery"]}))
            .await;
        let refused = app
            .patch(&path, &json!({"status": "published", "host_school_id": other["id"]}))
            .await;
        assert_eq!(
            refused.problem(422, "host_not_accredited")["errors"][0]["field"],
            "topic"
        );
        assert_eq!(
            app.get(&path).await.json()["status"],
            "draft",
            "a refused publish changes nothing"
        );
        let host = app.create_school(json!({"accredited_practice": ["Reading"]})).await;
        let published = app
            .patch(&path, &json!({"status": "published", "host_school_id": host["id"]}))
            .await;
        assert_eq!(published.status, 200, "{}", published.text);
        assert_eq!(published.json()["status"], "published");
        let public = app.send(app.anonymous(Method::GET, &path)).await;
        assert_eq!(public.status, 200);
        assert!(
            public.json().get("online_url").is_none(),
            "the join link is never public: {}",
            public.text
        );
        assert_eq!(public.json()["online"], true);
    }
}

#[tokio::test]
async fn the_public_list_shows_only_published_events_and_never_join_links() {
    for app in spawn_apps().await {
        app.create_event(json!({"title": "Published one", "online_url": "https://meet.example.org/secret"}))
            .await;
        app.create_event(json!({"title": "Draft one", "status": "draft"})).await;
        let reply = app
            .send(app.anonymous(Method::GET, "/v1/events?status=published"))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let items = reply.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["title"], "Published one");
        assert!(!reply.text.contains("meet.example.org"), "{}", reply.text);
        let default = app.send(app.anonymous(Method::GET, "/v1/events")).await.json();
        assert_eq!(default["items"].as_array().unwrap().len(), 1);
        let drafts = app.send(app.anonymous(Method::GET, "/v1/events?status=draft")).await;
        drafts.problem(422, "validation_failed");
        let organiser = app.get("/v1/events").await.json();
        assert_eq!(organiser["items"].as_array().unwrap().len(), 2);
        assert!(organiser.to_string().contains("meet.example.org/secret"));
    }
}

#[tokio::test]
async fn the_public_list_answers_304_to_its_etag_until_an_event_changes() {
    for app in spawn_apps().await {
        app.create_event(json!({"title": "First"})).await;
        let first = app.send(app.anonymous(Method::GET, "/v1/events")).await;
        let etag = first.headers["etag"].to_str().unwrap().to_owned();
        let again = app
            .send(app.anonymous(Method::GET, "/v1/events").header("If-None-Match", &etag))
            .await;
        assert_eq!(again.status, 304);
        let second = app.create_event(json!({"title": "Second"})).await;
        let changed = app
            .send(app.anonymous(Method::GET, "/v1/events").header("If-None-Match", &etag))
            .await;
        assert_eq!(changed.status, 200, "a new event shows at once");
        assert_eq!(changed.json()["items"].as_array().unwrap().len(), 2);
        app.patch(
            &format!("/v1/events/{}", second["id"]),
            &json!({"title": "Second, renamed"}),
        )
        .await;
        let renamed = app.send(app.anonymous(Method::GET, "/v1/events")).await;
        assert!(renamed.text.contains("Second, renamed"), "{}", renamed.text);
    }
}

#[tokio::test]
async fn events_are_filtered_by_kind_topic_and_dates() {
    for app in spawn_apps().await {
        let june = app.create_event(json!({"kind": "conference", "title": "June"})).await;
        app.create_session(
            &june["id"],
            json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
        )
        .await;
        let march = app
            .create_event(json!({"kind": "slp_session", "title": "March", "topic": "Reading", "host_school_id": app.create_school(json!({"accredited_practice": ["reading"]})).await["id"]}))
            .await;
        app.create_session(
            &march["id"],
            json!({"start": "2027-03-10T16:00", "end": "2027-03-10T17:00", "capacity": 100}),
        )
        .await;
        let titles = |v: serde_json::Value| {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["title"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(titles(app.get("/v1/events?kind=slp_session").await.json()), ["March"]);
        assert_eq!(titles(app.get("/v1/events?topic=reading").await.json()), ["March"]);
        assert_eq!(titles(app.get("/v1/events?from=2027-05-01").await.json()), ["June"]);
        assert_eq!(titles(app.get("/v1/events?to=2027-03-10").await.json()), ["March"]);
        assert_eq!(
            titles(
                app.get("/v1/events?from=2027-03-10T16:30:00Z&to=2027-06-04T08:00:00Z")
                    .await
                    .json()
            ),
            ["March"]
        );
        let bad = app.get("/v1/events?from=soon&kind=party").await;
        bad.problem(422, "validation_failed");
        let mut fields = bad.fields();
        fields.sort();
        assert_eq!(fields, ["from", "kind"]);
    }
}

#[tokio::test]
async fn cancelling_an_event_cancels_its_sessions_and_is_final() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let session = app
            .create_session(
                &event["id"],
                json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
            )
            .await;
        let path = format!("/v1/events/{}", event["id"]);
        let cancelled = app.patch(&path, &json!({"status": "cancelled"})).await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        let session = app.get(&format!("/v1/sessions/{}", session["id"])).await.json();
        assert_eq!(session["status"], "cancelled");
        assert_eq!(session["revision"], 1);
        app.patch(&path, &json!({"status": "published"}))
            .await
            .problem(409, "event_cancelled");
        app.post(
            &format!("{path}/sessions"),
            &json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
        )
        .await
        .problem(409, "event_cancelled");
        app.delete(&path).await.problem(409, "event_not_draft");
    }
}

#[tokio::test]
async fn a_published_event_cannot_go_back_to_draft() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let reply = app
            .patch(&format!("/v1/events/{}", event["id"]), &json!({"status": "draft"}))
            .await;
        reply.problem(409, "invalid_status_change");
        assert_eq!(reply.fields(), ["status"]);
    }
}

#[tokio::test]
async fn moving_an_events_venue_bumps_its_sessions_revisions() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let session = app
            .create_session(
                &event["id"],
                json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
            )
            .await;
        let changed = app
            .patch(
                &format!("/v1/events/{}", event["id"]),
                &json!({"venue": "Town Hall, Room 1; 2nd floor"}),
            )
            .await
            .json();
        assert_eq!(changed["venue"], "Town Hall, Room 1; 2nd floor");
        assert_eq!(changed["revision"], 1);
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["revision"],
            1
        );
        let retitled = app
            .patch(&format!("/v1/events/{}", event["id"]), &json!({"title": "New title"}))
            .await
            .json();
        assert_eq!(retitled["revision"], 1, "a new title does not move anyone");
    }
}

#[tokio::test]
async fn an_events_zone_cannot_change_once_it_has_sessions() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let path = format!("/v1/events/{}", event["id"]);
        assert_eq!(
            app.patch(&path, &json!({"time_zone": "Europe/Dublin"})).await.status,
            200
        );
        app.create_session(
            &event["id"],
            json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
        )
        .await;
        app.patch(&path, &json!({"time_zone": "Europe/Paris"}))
            .await
            .problem(409, "event_has_sessions");
    }
}

#[tokio::test]
async fn bad_event_fields_are_each_named() {
    for app in spawn_apps().await {
        let reply = app.post("/v1/events", &json!({"kind": "party", "title": "", "time_zone": "Nowhere", "online_url": "javascript:alert(1)", "programme_id": 77})).await;
        reply.problem(422, "validation_failed");
        let mut fields = reply.fields();
        fields.sort();
        assert_eq!(fields, ["kind", "online_url", "time_zone", "title"]);
        let unknown = app
            .post(
                "/v1/events",
                &json!({"kind": "conference", "title": "T", "time_zone": "Europe/London", "programme_id": 77}),
            )
            .await;
        unknown.problem(422, "validation_failed");
        assert_eq!(unknown.fields(), ["programme_id"]);
        assert_eq!(app.count("events").await, 0);
    }
}

#[tokio::test]
async fn a_draft_event_can_be_deleted_with_its_sessions() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({"status": "draft"})).await;
        app.create_session(
            &event["id"],
            json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": 30}),
        )
        .await;
        assert_eq!(app.delete(&format!("/v1/events/{}", event["id"])).await.status, 204);
        assert_eq!(app.count("sessions").await, 0);
    }
}
