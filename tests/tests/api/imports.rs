//! Importing a network from a spreadsheet: `POST /v1/schools:import` and
//! `POST /v1/participants:import` with CSV bodies.

use convene_tests::reqwest::Method;
use convene_tests::{Reply, TestApp, json, spawn_app_with, spawn_apps};
use serde_json::Value;

async fn import(app: &TestApp, path: &str, csv: &str) -> Reply {
    app.send(
        app.request(Method::POST, path)
            .header("Content-Type", "text/csv; charset=utf-8")
            .body(csv.to_owned()),
    )
    .await
}

/// `(line, field, code)` of each row error.
fn row_errors(errors: &Value) -> Vec<(u64, String, String)> {
    errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn importing_schools_creates_new_ones_and_updates_those_whose_urn_is_known() {
    for app in spawn_apps().await {
        let old = app
            .create_school(json!({"urn": "100001", "name": "Old name", "strengths": ["maths"]}))
            .await;
        let csv = "urn,name,local_authority,region,phase,strengths,priorities,accredited_practice\n\
                   100001,Northfield Primary School,Camden,London,primary,reading; early years,maths,reading\n\
                   100002,\"Southfield Academy, Upper\",Leeds,Yorkshire,secondary,,attendance;behaviour,\n";
        let reply = import(&app, "/v1/schools:import", csv).await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_eq!(
            reply.json(),
            json!({"created": 1, "updated": 1, "skipped": 0, "errors": []})
        );

        let updated = app.get(&format!("/v1/schools/{}", old["id"])).await.json();
        assert_eq!(updated["name"], "Northfield Primary School");
        assert_eq!(updated["strengths"], json!(["reading", "early years"]));
        let list = app.get("/v1/schools?q=Southfield").await.json();
        let new = &list["items"][0];
        assert_eq!(new["name"], "Southfield Academy, Upper");
        assert_eq!(new["priorities"], json!(["attendance", "behaviour"]));
        assert_eq!(new["phase"], "secondary");

        // Empty cells keep what a school has: a sheet of URNs and regions changes only regions.
        let reply = import(&app, "/v1/schools:import", "urn,region\n100002,North East\n").await;
        assert_eq!(reply.json()["updated"], 1, "{}", reply.text);
        let again = app.get(&format!("/v1/schools/{}", new["id"])).await.json();
        assert_eq!(again["region"], "North East");
        assert_eq!(again["name"], "Southfield Academy, Upper");
        assert_eq!(again["priorities"], json!(["attendance", "behaviour"]));
    }
}

#[tokio::test]
async fn a_bad_row_is_reported_by_line_and_field_and_nothing_is_written() {
    for app in spawn_apps().await {
        app.create_school(json!({"urn": "100001", "name": "Unchanged"})).await;
        let csv = "urn,name,local_authority,region,phase\n\
                   100001,Renamed,Camden,London,primary\n\
                   12 34,Bad URN,Camden,London,primary\n\
                   100003,New School,Camden,London,nursery\n\
                   100004,Fine,Camden,London,primary\n\
                   100004,Twice,Camden,London,primary\n";
        let reply = import(&app, "/v1/schools:import", csv).await;
        let problem = reply.problem(422, "invalid_rows");
        assert_eq!(
            row_errors(&problem["row_errors"]),
            [
                (3, "urn".to_owned(), "validation_failed".to_owned()),
                (4, "phase".to_owned(), "validation_failed".to_owned()),
                (6, "urn".to_owned(), "duplicate_row".to_owned()),
            ],
            "{}",
            reply.text
        );
        assert_eq!(reply.fields(), ["urn", "phase", "urn"]);
        assert!(
            problem["errors"][0]["message"].as_str().unwrap().starts_with("line 3:"),
            "{problem}"
        );
        assert!(problem["detail"].as_str().unwrap().contains("3, 4, 6"), "{problem}");
        assert_eq!(app.count("schools").await, 1, "nothing was created");
        let kept = app.get("/v1/schools").await.json();
        assert_eq!(kept["items"][0]["name"], "Unchanged", "nothing was updated");
    }
}

#[tokio::test]
async fn with_skip_invalid_the_good_rows_are_written_and_the_bad_ones_reported() {
    for app in spawn_apps().await {
        let csv = "urn,name,local_authority,region,phase\n\
                   100001,Good One,Camden,London,primary\n\
                   100002,,Camden,London,primary\n\
                   100003,Short row\n\
                   100004,Good Two,Leeds,Yorkshire,special\n";
        let reply = import(&app, "/v1/schools:import?skip_invalid=true", csv).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let body = reply.json();
        assert_eq!((body["created"].clone(), body["skipped"].clone()), (json!(2), json!(2)));
        assert_eq!(
            row_errors(&body["errors"]),
            [
                (3, "name".to_owned(), "validation_failed".to_owned()),
                (4, String::new(), "malformed_row".to_owned()),
            ]
        );
        assert_eq!(app.count("schools").await, 2);
    }
}

#[tokio::test]
async fn importing_participants_names_their_school_by_urn_and_updates_by_email() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({"urn": "100001"})).await;
        let ann = app
            .create_participant(json!({"email": "ann.jones@northfield.sch.uk", "role": "teacher"}))
            .await;
        let csv = "email,name,school_urn,role,time_zone,notify_discord,reminder_offsets_minutes,quiet_hours_start,quiet_hours_end\n\
                   Ann.Jones@Northfield.sch.uk,Ann Jones,100001,head,,,2880;60,21:00,07:00\n\
                   bob@southfield.sch.uk,Bob Smith,,governor,America/New_York,yes,,,\n";
        let reply = import(&app, "/v1/participants:import", csv).await;
        assert_eq!(reply.status, 200, "{:?}: {}", app.backend, reply.text);
        assert_eq!(
            reply.json(),
            json!({"created": 1, "updated": 1, "skipped": 0, "errors": []})
        );
        let ann = app.get(&format!("/v1/participants/{}", ann["id"])).await.json();
        assert_eq!(ann["role"], "head");
        assert_eq!(ann["school_id"], school["id"]);
        assert_eq!(ann["reminder_offsets_minutes"], json!([2880, 60]));
        assert_eq!(ann["quiet_hours_start"], "21:00");
        let bob = app.get("/v1/participants?q=bob@southfield").await.json();
        assert_eq!(bob["items"][0]["time_zone"], "America/New_York");
        assert_eq!(bob["items"][0]["notify_discord"], true);
        assert_eq!(bob["items"][0]["school_id"], Value::Null);

        let bad = "email,name,school_urn,role,notify_email,reminder_offsets_minutes\n\
                   cat@x.sch.uk,Cat,999999,head,,\n\
                   not-an-email,Dan,,head,,\n\
                   eve@x.sch.uk,Eve,,head,perhaps,60;soon\n";
        let reply = import(&app, "/v1/participants:import", bad).await;
        let problem = reply.problem(422, "invalid_rows");
        assert_eq!(
            row_errors(&problem["row_errors"]),
            [
                (2, "school_urn".to_owned(), "unknown_school".to_owned()),
                (3, "email".to_owned(), "validation_failed".to_owned()),
                (
                    4,
                    "reminder_offsets_minutes[1]".to_owned(),
                    "validation_failed".to_owned()
                ),
                (4, "notify_email".to_owned(), "validation_failed".to_owned()),
            ],
            "{}",
            reply.text
        );
        assert_eq!(app.count("participants").await, 2);
    }
}

#[tokio::test]
async fn a_header_with_an_unknown_or_missing_column_refuses_the_whole_file() {
    for app in spawn_apps().await {
        let reply = import(&app, "/v1/schools:import?skip_invalid=true", "name,postcode\nA,B\n").await;
        let problem = reply.problem(422, "invalid_rows");
        assert_eq!(
            row_errors(&problem["row_errors"]),
            [
                (1, "postcode".to_owned(), "unknown_column".to_owned()),
                (1, "urn".to_owned(), "missing_column".to_owned()),
            ]
        );
        let reply = import(&app, "/v1/participants:import", "").await;
        let problem = reply.problem(422, "invalid_rows");
        assert_eq!(problem["row_errors"][0]["code"], "empty_file");
        assert_eq!(app.count("schools").await, 0);
    }
}

#[tokio::test]
async fn an_import_needs_an_organiser_key_and_a_csv_body() {
    for app in spawn_apps().await {
        let anonymous = app
            .send(
                app.anonymous(Method::POST, "/v1/schools:import")
                    .header("Content-Type", "text/csv")
                    .body("urn\n1\n"),
            )
            .await;
        anonymous.problem(401, "unauthorized");
        let json_body = app.post("/v1/schools:import", &json!({"urn": "1"})).await;
        json_body.problem(415, "unsupported_media_type");
        let query = import(&app, "/v1/schools:import?skip_invalid=perhaps", "urn\n1\n").await;
        query.problem(400, "invalid_query");
        assert_eq!(app.count("schools").await, 0);
        // The route is not mistaken for a school id.
        app.get("/v1/schools:import").await.problem(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn a_spreadsheet_over_the_upload_limit_is_a_413_problem() {
    let app = spawn_app_with(convene_tests::Backend::Sqlite, |s| s.upload_limit_bytes = 4096).await;
    let mut csv = String::from("urn,name,local_authority,region,phase\n");
    for i in 0..200 {
        csv.push_str(&format!("{},School {i},Camden,London,primary\n", 100_000 + i));
    }
    import(&app, "/v1/schools:import", &csv)
        .await
        .problem(413, "payload_too_large");
    assert_eq!(app.count("schools").await, 0);
}
