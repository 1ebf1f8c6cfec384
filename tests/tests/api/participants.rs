use convene_tests::{json, spawn_apps};
use sea_orm::ConnectionTrait as _;

#[tokio::test]
async fn a_participant_is_created_and_read_back_with_its_id() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let body = json!({"name": "Siân Llewellyn", "email": "Sian.Llewellyn@Example.Sch.UK", "school_id": school["id"], "role": "senior_leader", "time_zone": "Europe/London"});
        let reply = app.post("/v1/participants", &body).await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        let person = reply.json();
        assert_eq!(person["email"], "sian.llewellyn@example.sch.uk");
        assert_eq!(person["name"], "Siân Llewellyn");
        assert_eq!(person["school_id"], school["id"]);
        assert_eq!(person["role"], "senior_leader");
        assert_eq!(person["erased"], false);
        let read = app.get(&format!("/v1/participants/{}", person["id"])).await.json();
        assert_eq!(read, person);
    }
}

#[tokio::test]
async fn a_participant_without_a_zone_gets_europe_london() {
    for app in spawn_apps().await {
        let person = app.create_participant(json!({"time_zone": null})).await;
        assert_eq!(person["time_zone"], "Europe/London");
    }
}

#[tokio::test]
async fn bad_participant_fields_are_each_named_and_nothing_is_written() {
    for app in spawn_apps().await {
        let reply = app
            .post(
                "/v1/participants",
                &json!({"name": "Ann", "email": "not-an-email", "role": "wizard", "time_zone": "Mars/Olympus"}),
            )
            .await;
        reply.problem(422, "validation_failed");
        let mut fields = reply.fields();
        fields.sort();
        assert_eq!(fields, ["email", "role", "time_zone"]);
        let unknown_school = app
            .post(
                "/v1/participants",
                &json!({"name": "Ann", "email": "ann@x.org", "role": "head", "school_id": 9999}),
            )
            .await;
        unknown_school.problem(422, "validation_failed");
        assert_eq!(unknown_school.fields(), ["school_id"]);
        assert_eq!(app.count("participants").await, 0);
    }
}

#[tokio::test]
async fn an_email_already_used_is_a_409() {
    for app in spawn_apps().await {
        app.create_participant(json!({"email": "ann@northfield.sch.uk"})).await;
        let reply = app
            .post(
                "/v1/participants",
                &json!({"name": "Another Ann", "email": "ANN@northfield.sch.uk", "role": "teacher"}),
            )
            .await;
        reply.problem(409, "email_taken");
        assert_eq!(reply.fields(), ["email"]);
        assert_eq!(app.count("participants").await, 1);
    }
}

#[tokio::test]
async fn participants_are_filtered_by_school_role_and_text() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        app.create_participant(json!({"name": "Ann Head", "school_id": school["id"], "role": "head"}))
            .await;
        app.create_participant(json!({"name": "Bob Teacher", "school_id": school["id"], "role": "teacher"}))
            .await;
        app.create_participant(json!({"name": "Cat Facilitator", "role": "facilitator"}))
            .await;
        assert_eq!(
            app.get(&format!("/v1/participants?school_id={}", school["id"]))
                .await
                .json()["items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            app.get("/v1/participants?role=facilitator").await.json()["items"][0]["name"],
            "Cat Facilitator"
        );
        assert_eq!(
            app.get("/v1/participants?q=bob").await.json()["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        app.get("/v1/participants?school_id=abc")
            .await
            .problem(400, "invalid_query");
    }
}

#[tokio::test]
async fn patching_can_move_a_participant_out_of_their_school() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let person = app.create_participant(json!({"school_id": school["id"]})).await;
        let path = format!("/v1/participants/{}", person["id"]);
        let moved = app
            .patch(&path, &json!({"school_id": null, "role": "facilitator"}))
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        assert!(moved.json()["school_id"].is_null());
        assert_eq!(moved.json()["role"], "facilitator");
        assert_eq!(moved.json()["email"], person["email"]);
    }
}

#[tokio::test]
async fn erasing_a_participant_removes_personal_data_and_keeps_the_row() {
    for app in spawn_apps().await {
        let person = app
            .create_participant(json!({"name": "Private Person", "email": "private@school.org"}))
            .await;
        let path = format!("/v1/participants/{}", person["id"]);
        assert_eq!(app.delete(&path).await.status, 204);
        let erased = app.get(&path).await.json();
        assert_eq!(erased["erased"], true);
        assert!(erased["email"].is_null());
        assert_ne!(erased["name"], "Private Person");
        assert_eq!(app.count("participants").await, 1, "the row stays so history adds up");
        let raw = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT name, email FROM participants".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(raw.try_get::<String>("", "name").unwrap(), "Private Person");
        assert!(raw.try_get::<Option<String>>("", "email").unwrap().is_none());
        // The address can be used again by someone new, erasing twice is harmless, and erased people are not edited.
        app.create_participant(json!({"email": "private@school.org"})).await;
        assert_eq!(app.delete(&path).await.status, 204);
        app.patch(&path, &json!({"name": "Back"}))
            .await
            .problem(409, "participant_erased");
    }
}
