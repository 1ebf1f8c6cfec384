//! Standing in front of the open internet: per-client rate limits on the routes that need no key,
//! body limits, security headers and CORS.

use convene_tests::reqwest::{self, Method};
use convene_tests::{Backend, Reply, TestApp, json, spawn_app, spawn_app_with, spawn_apps};

/// A client whose requests come from `ip` (any address of 127.0.0.0/8 reaches the app).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn get_from(client: &reqwest::Client, app: &TestApp, path: &str) -> Reply {
    app.send(client.get(format!("{}{path}", app.address))).await
}

#[tokio::test]
async fn a_client_over_the_limit_on_public_routes_gets_429_with_retry_after_and_others_do_not() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.rate_limit = 3).await;
    let event = app.create_event(json!({})).await;
    let feed = format!("/ical/events/{}.ics", event["id"]);
    let first = client_from("127.0.0.1");
    for _ in 0..3 {
        assert_eq!(get_from(&first, &app, &feed).await.status, 200);
    }
    let limited = get_from(&first, &app, &feed).await;
    let problem = limited.problem(429, "rate_limited");
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "Retry-After: {retry_after}");
    assert!(problem["detail"].as_str().unwrap().contains("try again"), "{problem}");

    // The same client is limited on every public route: survey forms and Discord link codes too.
    get_from(&first, &app, "/s/not-a-token")
        .await
        .problem(429, "rate_limited");
    let link = app
        .send(
            first
                .post(format!("{}/v1/bot/verify", app.address))
                .json(&json!({"discord_id": "1", "code": "000000"})),
        )
        .await;
    link.problem(429, "rate_limited");

    // Another client has its own allowance.
    let second = client_from("127.0.0.2");
    assert_eq!(get_from(&second, &app, &feed).await.status, 200);

    // Routes that need a key are not limited, whoever calls them.
    for _ in 0..10 {
        let reply = app.get("/v1/schools").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

#[tokio::test]
async fn public_routes_are_not_limited_when_the_limit_is_zero() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.settings.rate_limit, 0);
    let event = app.create_event(json!({})).await;
    for _ in 0..200 {
        let reply = app
            .send(app.anonymous(Method::GET, &format!("/ical/events/{}.ics", event["id"])))
            .await;
        assert_eq!(reply.status, 200);
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let paths = [
            "/healthz".to_owned(),
            "/v1/schools".to_owned(),
            "/no/such/page".to_owned(),
            format!("/ical/events/{}.ics", event["id"]),
            "/s/not-a-token".to_owned(),
        ];
        for path in &paths {
            let reply = app.get(path).await;
            let header = |name: &str| {
                reply
                    .headers
                    .get(name)
                    .unwrap_or_else(|| panic!("{path} has no {name}"))
                    .to_str()
                    .unwrap()
                    .to_owned()
            };
            assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header("x-frame-options"), "DENY", "{path}");
            assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
            assert!(
                header("content-security-policy").contains("frame-ancestors 'none'"),
                "{path}"
            );
        }
        // The survey form's own policy is kept: it allows its inline styles and posting to itself.
        let page = app.get("/s/not-a-token").await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("style-src 'unsafe-inline'") && csp.contains("form-action 'self'"),
            "{csp}"
        );
        let json = app.get("/v1/schools").await;
        assert_eq!(
            json.headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
        );
    }
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() {
    let closed = spawn_app(Backend::Sqlite).await;
    let reply = closed
        .send(
            closed
                .request(Method::GET, "/v1/schools")
                .header("Origin", "https://network.example.org"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("access-control-allow-origin").is_none());

    let open = spawn_app_with(Backend::Sqlite, |s| {
        s.cors_origins = "https://network.example.org, https://other.example.org".to_owned()
    })
    .await;
    let preflight = open
        .send(
            open.anonymous(Method::OPTIONS, "/v1/schools")
                .header("Origin", "https://network.example.org")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization, content-type"),
        )
        .await;
    assert_eq!(preflight.status, 200, "{}", preflight.text);
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://network.example.org"
    );
    let allowed = open
        .send(
            open.request(Method::GET, "/v1/schools/999")
                .header("Origin", "https://other.example.org"),
        )
        .await;
    allowed.problem(404, "not_found");
    assert_eq!(
        allowed.headers["access-control-allow-origin"], "https://other.example.org",
        "error responses carry CORS headers too, so the browser can read the problem"
    );
    let stranger = open
        .send(
            open.anonymous(Method::OPTIONS, "/v1/schools")
                .header("Origin", "https://evil.example.com")
                .header("Access-Control-Request-Method", "POST"),
        )
        .await;
    assert!(stranger.headers.get("access-control-allow-origin").is_none());
    assert!(stranger.status.is_client_error(), "{}", stranger.status);
    assert!(
        stranger.content_type().starts_with("application/problem+json"),
        "{}",
        stranger.text
    );
}

#[tokio::test]
async fn bodies_over_the_configured_limits_are_413_problems_and_write_nothing() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.json_limit_bytes = 2048;
        s.upload_limit_bytes = 4096;
    })
    .await;
    let big_name = "x".repeat(3000);
    let reply = app
        .post(
            "/v1/schools",
            &json!({"name": big_name, "urn": "1", "local_authority": "A", "region": "B", "phase": "primary"}),
        )
        .await;
    let problem = reply.problem(413, "payload_too_large");
    assert!(problem["detail"].as_str().unwrap().contains("2048"), "{problem}");
    let school = app.create_school(json!({})).await;
    let ics = format!(
        "BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n",
        "X-FILLER:0123456789012345678901234567890123456789\r\n".repeat(100)
    );
    let reply = app
        .send(
            app.request(Method::POST, &format!("/v1/schools/{}/closures", school["id"]))
                .header("Content-Type", "text/calendar")
                .body(ics),
        )
        .await;
    reply.problem(413, "payload_too_large");
    let form = app
        .send(
            app.anonymous(Method::POST, "/s/some-token")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("other={}", "y".repeat(5000))),
        )
        .await;
    assert_eq!(form.status, 413, "{}", form.text);
    assert_eq!(app.count("closures").await, 0);
}
