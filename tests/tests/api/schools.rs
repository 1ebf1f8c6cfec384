use convene_tests::{json, spawn_apps};

#[tokio::test]
async fn creating_a_school_returns_201_with_the_school_and_its_location() {
    for app in spawn_apps().await {
        let body = json!({
            "name": "Ysgol Gymraeg Aberystwyth", "urn": "400123", "local_authority": "Ceredigion",
            "region": "Wales", "phase": "primary", "strengths": ["reading", "oracy"],
            "priorities": ["maths", "attendance"], "accredited_practice": ["oracy"],
        });
        let reply = app.post("/v1/schools", &body).await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        let school = reply.json();
        let id = school["id"].as_i64().unwrap();
        assert_eq!(reply.headers["location"], format!("/v1/schools/{id}").as_str());
        assert_eq!(school["name"], "Ysgol Gymraeg Aberystwyth");
        assert_eq!(school["strengths"], json!(["reading", "oracy"]));
        assert_eq!(school["accredited_practice"], json!(["oracy"]));

        let read = app.get(&format!("/v1/schools/{id}")).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.json(), school);
    }
}

#[tokio::test]
async fn a_school_with_every_field_wrong_lists_each_field_and_writes_nothing() {
    for app in spawn_apps().await {
        let body = json!({"name": "  ", "urn": "12 34", "phase": "nursery", "strengths": ["ok", ""]});
        let reply = app.post("/v1/schools", &body).await;
        reply.problem(422, "validation_failed");
        let mut fields = reply.fields();
        fields.sort();
        assert_eq!(
            fields,
            ["local_authority", "name", "phase", "region", "strengths[1]", "urn"],
            "{}",
            reply.text
        );
        assert_eq!(app.count("schools").await, 0);
    }
}

#[tokio::test]
async fn a_second_school_with_the_same_urn_is_a_409_naming_the_urn() {
    for app in spawn_apps().await {
        let first = app.create_school(json!({"urn": "100001"})).await;
        let reply = app.post("/v1/schools", &json!({"name": "Other", "urn": "100001", "local_authority": "Brent", "region": "London", "phase": "secondary"})).await;
        let problem = reply.problem(409, "urn_taken");
        assert_eq!(reply.fields(), ["urn"]);
        assert!(
            problem["detail"].as_str().unwrap().contains(&first["id"].to_string()),
            "{problem}"
        );
        assert_eq!(app.count("schools").await, 1);
    }
}

#[tokio::test]
async fn schools_are_listed_a_page_at_a_time_with_filters() {
    for app in spawn_apps().await {
        for i in 0..5 {
            let la = if i % 2 == 0 { "Camden" } else { "Hackney" };
            let phase = if i < 3 { "primary" } else { "secondary" };
            app.create_school(json!({"name": format!("School {i} 100%_done"), "local_authority": la, "phase": phase}))
                .await;
        }
        let first = app.get("/v1/schools?limit=2").await.json();
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        assert!(
            cursor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let second = app.get(&format!("/v1/schools?limit=2&cursor={cursor}")).await.json();
        let third = app
            .get(&format!(
                "/v1/schools?limit=2&cursor={}",
                second["next_cursor"].as_str().unwrap()
            ))
            .await
            .json();
        assert_eq!(third["items"].as_array().unwrap().len(), 1);
        assert!(third["next_cursor"].is_null());
        let names: Vec<_> = [&first, &second, &third]
            .iter()
            .flat_map(|p| {
                p["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["name"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(names.len(), 5);
        assert!(names[0].starts_with("School 0") && names[4].starts_with("School 4"));

        let camden = app.get("/v1/schools?local_authority=camden").await.json();
        assert_eq!(camden["items"].as_array().unwrap().len(), 3);
        let secondary_hackney = app
            .get("/v1/schools?local_authority=Hackney&phase=secondary")
            .await
            .json();
        assert_eq!(secondary_hackney["items"].as_array().unwrap().len(), 1);
        let text = app.get("/v1/schools?q=school%203").await.json();
        assert_eq!(text["items"].as_array().unwrap().len(), 1);
        let literal_percent = app.get("/v1/schools?q=100%25_").await.json();
        assert_eq!(literal_percent["items"].as_array().unwrap().len(), 5);
        let no_match = app.get("/v1/schools?q=%25x%25").await.json();
        assert_eq!(no_match["items"].as_array().unwrap().len(), 0);

        let clamped = app.get("/v1/schools?limit=100000").await;
        assert_eq!(clamped.status, 200);
        app.get("/v1/schools?limit=0").await.problem(400, "invalid_query");
        app.get("/v1/schools?limit=ten").await.problem(400, "invalid_query");
        let bad_cursor = app.get("/v1/schools?cursor=nonsense").await;
        bad_cursor.problem(400, "invalid_query");
        assert_eq!(bad_cursor.fields(), ["cursor"]);
    }
}

#[tokio::test]
async fn patching_a_school_changes_only_the_fields_given() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let path = format!("/v1/schools/{}", school["id"]);
        let reply = app
            .patch(&path, &json!({"priorities": ["attendance"], "region": "North West"}))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let changed = reply.json();
        assert_eq!(changed["priorities"], json!(["attendance"]));
        assert_eq!(changed["region"], "North West");
        assert_eq!(changed["name"], school["name"]);
        assert_eq!(changed["strengths"], school["strengths"]);

        app.patch(&path, &json!({"phase": "kindergarten"}))
            .await
            .problem(422, "validation_failed");
        app.patch("/v1/schools/999999", &json!({"region": "x"}))
            .await
            .problem(404, "not_found");
    }
}

#[tokio::test]
async fn deleting_a_school_keeps_its_participants_without_it() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let person = app.create_participant(json!({"school_id": school["id"]})).await;
        let reply = app.delete(&format!("/v1/schools/{}", school["id"])).await;
        assert_eq!(reply.status, 204, "{}", reply.text);
        app.get(&format!("/v1/schools/{}", school["id"]))
            .await
            .problem(404, "not_found");
        let person = app.get(&format!("/v1/participants/{}", person["id"])).await.json();
        assert!(person["school_id"].is_null());
        app.delete(&format!("/v1/schools/{}", school["id"]))
            .await
            .problem(404, "not_found");
    }
}

#[tokio::test]
async fn schools_need_an_organiser_key() {
    for app in spawn_apps().await {
        let reply = app.send(app.anonymous(reqwest::Method::GET, "/v1/schools")).await;
        reply.problem(401, "unauthorized");
        assert!(reply.headers.contains_key("www-authenticate"));
        let forged = app
            .send(
                app.anonymous(reqwest::Method::GET, "/v1/schools")
                    .bearer_auth("cvn_not-a-key"),
            )
            .await;
        forged.problem(401, "unauthorized");
        let basic = app
            .send(
                app.anonymous(reqwest::Method::GET, "/v1/schools")
                    .header("Authorization", "Basic abc"),
            )
            .await;
        basic.problem(401, "unauthorized");
        let create = app
            .send(
                app.anonymous(reqwest::Method::POST, "/v1/schools")
                    .json(&json!({"name": "x"})),
            )
            .await;
        create.problem(401, "unauthorized");
        assert_eq!(app.count("schools").await, 0);
    }
}
