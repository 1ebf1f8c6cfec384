use convene_tests::{json, spawn_apps};

#[tokio::test]
async fn a_programme_is_created_changed_listed_and_deleted() {
    for app in spawn_apps().await {
        let reply = app.post("/v1/programmes", &json!({"name": "Growing the Top 2027", "kind": "triad_cohort", "description": "Outstanding leaders, in trios"})).await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        let programme = reply.json();
        assert_eq!(programme["status"], "draft");
        let path = format!("/v1/programmes/{}", programme["id"]);
        let published = app
            .patch(&path, &json!({"status": "published", "description": null}))
            .await
            .json();
        assert_eq!(published["status"], "published");
        assert!(published["description"].is_null());
        assert_eq!(published["name"], "Growing the Top 2027");
        let listed = app
            .get("/v1/programmes?kind=triad_cohort&status=published")
            .await
            .json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        let event = app.create_event(json!({"programme_id": programme["id"]})).await;
        assert_eq!(app.delete(&path).await.status, 204);
        app.get(&path).await.problem(404, "not_found");
        let event = app.get(&format!("/v1/events/{}", event["id"])).await.json();
        assert!(
            event["programme_id"].is_null(),
            "the event stays, outside any programme"
        );
    }
}

#[tokio::test]
async fn a_programme_with_a_bad_kind_or_status_is_refused() {
    for app in spawn_apps().await {
        let reply = app
            .post(
                "/v1/programmes",
                &json!({"name": "", "kind": "party", "status": "maybe"}),
            )
            .await;
        reply.problem(422, "validation_failed");
        let mut fields = reply.fields();
        fields.sort();
        assert_eq!(fields, ["kind", "name", "status"]);
        assert_eq!(app.count("programmes").await, 0);
    }
}
