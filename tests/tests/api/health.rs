use convene_tests::spawn_apps;

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
