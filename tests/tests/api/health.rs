use std::time::Duration;

use convene_tests::{backends, json, spawn_app_with, spawn_apps};

use crate::instances::Instance;

#[tokio::test]
async fn healthz_and_readyz_answer_ok_without_a_key() {
    for app in spawn_apps().await {
        for path in ["/healthz", "/readyz"] {
            let reply = app.send(app.anonymous(reqwest::Method::GET, path)).await;
            assert_eq!(reply.status, 200, "{:?} {path}: {}", app.backend, reply.text);
            assert_eq!(reply.json()["status"], "ok");
        }
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    for app in spawn_apps().await {
        app.get("/v1/schools").await;
        app.get("/v1/schools/12345").await;
        let reply = app.send(app.anonymous(reqwest::Method::GET, "/metrics")).await;
        assert_eq!(reply.status, 200);
        assert!(reply.text.contains("convene_http_requests_total"), "{}", reply.text);
        assert!(reply.text.contains("route=\"/v1/schools/{id}\""), "{}", reply.text);
        assert!(!reply.text.contains("12345"), "raw paths must not become labels");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes_and_docs_are_browsable() {
    for app in spawn_apps().await {
        let reply = app.send(app.anonymous(reqwest::Method::GET, "/openapi.json")).await;
        assert_eq!(reply.status, 200);
        let doc = reply.json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in [
            "/v1/schools",
            "/v1/schools/{id}",
            "/v1/participants",
            "/v1/programmes",
            "/v1/events",
            "/v1/events/{id}/sessions",
            "/v1/sessions/{id}",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} is missing from /openapi.json");
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

        let docs = app.send(app.anonymous(reqwest::Method::GET, "/docs/")).await;
        assert_eq!(docs.status, 200, "{}", docs.text);
        assert!(docs.text.contains("swagger-ui"), "{}", docs.text);
        assert!(
            !docs.text.contains("https://"),
            "the docs page must not load anything from the internet"
        );
        let redirect = app.send(app.anonymous(reqwest::Method::GET, "/docs")).await;
        assert_eq!(redirect.status, 302);
    }
}

/// The value of the first sample of `/metrics` whose line starts with `prefix`.
fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_show_the_outbox_lag_the_messages_sent_by_kind_and_waits_for_a_database_connection() {
    for backend in backends() {
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let session = app.open_session(5, json!({})).await;
        let people = app.create_participants(1, None).await;
        // Booked while no worker runs: the confirmation waits, and the lag shows it.
        assert_eq!(app.book(&session["id"], people[0]).await.status, 201);
        let mail = tempfile_dir();
        let serve = Instance::start_with(&app, &format!("worker = true\nmail_dir = \"{}\"\n", mail.display()));
        let client = reqwest::Client::new();
        let mut metrics = String::new();
        for _ in 0..200 {
            metrics = client
                .get(format!("{}/metrics", serve.address))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if sample(
                &metrics,
                "convene_outbox_messages_sent_total{channel=\"email\",kind=\"booking_confirmed\"}",
            ) == Some(1.0)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            sample(
                &metrics,
                "convene_outbox_messages_sent_total{channel=\"email\",kind=\"booking_confirmed\"}"
            ),
            Some(1.0),
            "{backend:?}: {metrics}"
        );
        assert!(
            metrics.contains("convene_outbox_lag_seconds{channel=\"email\"}"),
            "{backend:?}: {metrics}"
        );
        // Nothing failed: the failures' counter has no series yet (the client shows none empty).
        assert!(
            !metrics.contains("convene_outbox_messages_failed_total{"),
            "{backend:?}: {metrics}"
        );
        assert!(
            sample(&metrics, "convene_db_pool_wait_seconds_count").is_some_and(|n| n >= 1.0),
            "{backend:?}: every request took a connection: {metrics}"
        );
        std::fs::remove_dir_all(&mail).ok();
    }
}

#[tokio::test]
async fn the_outbox_lag_counts_from_the_oldest_message_due_and_not_sent() {
    for backend in backends() {
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let session = app.open_session(5, json!({})).await;
        let people = app.create_participants(1, None).await;
        let lag = |text: &str| sample(text, "convene_outbox_lag_seconds{channel=\"email\"}");
        let first = app.send(app.anonymous(reqwest::Method::GET, "/metrics")).await.text;
        assert_eq!(lag(&first), Some(0.0), "{backend:?}: nothing waits yet: {first}");
        assert_eq!(app.book(&session["id"], people[0]).await.status, 201);
        app.clock.advance(chrono::TimeDelta::seconds(2));
        let later = app.send(app.anonymous(reqwest::Method::GET, "/metrics")).await.text;
        assert!(
            lag(&later).is_some_and(|s| s >= 2.0),
            "{backend:?}: the confirmation has waited two seconds with no worker: {later}"
        );
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("convene-metrics-mail-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
