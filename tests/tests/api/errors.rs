//! Every error is problem+json with a stable code, including actix's own, and bad input writes nothing.

use convene_tests::{json, spawn_apps};
use reqwest::Method;

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    for app in spawn_apps().await {
        // Outside any group of routes, and inside groups whose other routes exist.
        for path in [
            "/v1/nothing-here",
            "/v1/sessions/1/nothing-here",
            "/v1/sessions",
            "/v1/me/nothing-here",
            "/v1/schools/1/closures/2/nothing-here",
            "/v1/schoolsnothing-here",
        ] {
            let reply = app.get(path).await;
            let body = reply.problem(404, "not_found");
            assert!(body["detail"].as_str().unwrap().contains(path), "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    for app in spawn_apps().await {
        let reply = app.send(app.request(Method::PUT, "/v1/schools")).await;
        reply.problem(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn malformed_json_is_a_400_problem_and_writes_nothing() {
    for app in spawn_apps().await {
        let reply = app
            .send(
                app.request(Method::POST, "/v1/schools")
                    .header("content-type", "application/json")
                    .body("{\"name\": "),
            )
            .await;
        reply.problem(400, "malformed_json");
        let empty = app
            .send(
                app.request(Method::POST, "/v1/schools")
                    .header("content-type", "application/json"),
            )
            .await;
        empty.problem(400, "malformed_json");
        let array = app.post("/v1/schools", &json!([1, 2])).await;
        array.problem(422, "validation_failed");
        assert_eq!(app.count("schools").await, 0);
    }
}

#[tokio::test]
async fn a_value_of_the_wrong_type_or_an_unknown_field_is_named() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let reply = app
            .post(
                &format!("/v1/events/{}/sessions", event["id"]),
                &json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": "thirty"}),
            )
            .await;
        reply.problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["capacity"]);
        let typo = app
            .post(
                &format!("/v1/events/{}/sessions", event["id"]),
                &json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capcity": 30}),
            )
            .await;
        typo.problem(422, "validation_failed");
        assert_eq!(typo.fields(), ["capcity"]);
        assert_eq!(app.count("sessions").await, 0);
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    for app in spawn_apps().await {
        let reply = app
            .send(
                app.request(Method::POST, "/v1/schools")
                    .header("content-type", "text/plain")
                    .body("name=x"),
            )
            .await;
        reply.problem(415, "unsupported_media_type");
    }
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem_and_writes_nothing() {
    for app in spawn_apps().await {
        let huge = "x".repeat(300 * 1024);
        let reply = app.post("/v1/schools", &json!({"name": huge})).await;
        reply.problem(413, "payload_too_large");
        assert_eq!(app.count("schools").await, 0);
    }
}

#[tokio::test]
async fn a_path_id_that_is_not_a_number_is_a_400_problem() {
    for app in spawn_apps().await {
        app.get("/v1/schools/abc").await.problem(400, "invalid_path");
        app.get("/v1/schools/99999999999999999999999")
            .await
            .problem(400, "invalid_path");
    }
}

#[tokio::test]
async fn nul_characters_in_text_are_refused_on_every_database() {
    for app in spawn_apps().await {
        let reply = app.post("/v1/schools", &json!({"name": "Bad\u{0}School", "urn": "1", "local_authority": "A", "region": "B", "phase": "primary"})).await;
        reply.problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["name"]);
        let reply = app.create_event(json!({})).await;
        let patched = app
            .patch(
                &format!("/v1/events/{}", reply["id"]),
                &json!({"description": "line\u{0}"}),
            )
            .await;
        patched.problem(422, "validation_failed");
        let strengths = app.post("/v1/schools", &json!({"name": "S", "urn": "2", "local_authority": "A", "region": "B", "phase": "primary", "strengths": ["a\u{0}"]})).await;
        strengths.problem(422, "validation_failed");
        assert_eq!(app.count("schools").await, 0);
    }
}

#[tokio::test]
async fn huge_numbers_are_refused_not_crashed_on() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let path = format!("/v1/events/{}/sessions", event["id"]);
        for capacity in [
            json!(0),
            json!(-1),
            json!(1_000_001),
            json!(1e30),
            json!(9223372036854775807i64),
        ] {
            let reply = app
                .post(
                    &path,
                    &json!({"start": "2027-06-04T09:30", "end": "2027-06-04T12:00", "capacity": capacity}),
                )
                .await;
            reply.problem(422, "validation_failed");
            assert_eq!(reply.fields(), ["capacity"], "{capacity}");
        }
        assert_eq!(app.count("sessions").await, 0);
    }
}

#[tokio::test]
async fn control_characters_and_impossible_dates_in_query_strings_are_400s_not_500s() {
    for app in spawn_apps().await {
        for path in ["/v1/events?q=%00", "/v1/events?topic=a%00b", "/v1/events?q%00=x"] {
            app.send(app.anonymous(Method::GET, path))
                .await
                .problem(400, "invalid_query");
        }
        for path in [
            "/v1/schools?q=%00",
            "/v1/schools?local_authority=%01",
            "/v1/participants?role=%00",
        ] {
            app.get(path).await.problem(400, "invalid_query");
        }
        for path in [
            "/v1/events?from=-5000-01-01",
            "/v1/events?to=9999-12-31",
            "/v1/events?from=1900-01-01T00:00:00Z",
        ] {
            let reply = app.send(app.anonymous(Method::GET, path)).await;
            reply.problem(422, "validation_failed");
        }
    }
}
