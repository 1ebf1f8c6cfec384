//! Hostile traffic and privacy: what a client without a key sends cannot grow memory or the
//! metrics without bound, empty the caches, or read secrets in the logs.

use convene_tests::reqwest::Method;
use convene_tests::{TestApp, backends, json, spawn_app_with};
use rand::Rng as _;

/// The value of the unlabelled metric `name` in `/metrics`.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.send(app.anonymous(Method::GET, "/metrics")).await.text;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Random letters, `n` of them.
fn junk(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| rng.random_range(b'a'..=b'z') as char).collect()
}

#[tokio::test]
async fn unknown_query_parameters_on_the_events_list_are_refused_and_junk_filters_do_not_grow_the_cache_past_its_bound()
{
    const BYTES: usize = 256 * 1024;
    for backend in backends() {
        let app = spawn_app_with(backend, |s| {
            s.response_cache_bytes = BYTES;
            s.response_cache_entries = 100;
        })
        .await;
        app.create_event(json!({"status": "published"})).await;

        // An unknown parameter is refused, naming it, and never reaches the cache.
        for _ in 0..50 {
            let path = format!("/v1/events?q=zzzz&pad={}", junk(8 * 1024));
            let reply = app.send(app.anonymous(Method::GET, &path)).await;
            reply.problem(400, "invalid_query");
            assert_eq!(reply.fields(), ["pad"], "{}", reply.text);
        }
        assert_eq!(metric(&app, "convene_response_cache_entries").await, 0.0);

        // A known filter with a different junk value each time is answered, but the cache stays
        // within its bounds, keys included.
        for _ in 0..200 {
            let path = format!("/v1/events?q={}", junk(8 * 1024));
            let reply = app.send(app.anonymous(Method::GET, &path)).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
        let bytes = metric(&app, "convene_response_cache_bytes").await;
        let entries = metric(&app, "convene_response_cache_entries").await;
        assert!(bytes <= BYTES as f64, "{bytes} bytes in the cache");
        assert!(entries <= 100.0, "{entries} entries in the cache");
        assert!(entries > 0.0, "the cache keeps nothing");

        // A normal cached list still gets its ETag and a 304, whatever the parameters' order.
        let first = app
            .send(app.anonymous(Method::GET, "/v1/events?kind=conference&limit=10"))
            .await;
        assert_eq!(first.status, 200, "{}", first.text);
        let etag = first.headers["etag"].to_str().unwrap().to_owned();
        let again = app
            .send(
                app.anonymous(Method::GET, "/v1/events?limit=10&kind=conference")
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(again.status, 304, "{}", again.text);
        assert_eq!(again.headers["etag"].to_str().unwrap(), etag);
    }
}

#[tokio::test]
async fn requests_with_invented_methods_leave_the_metrics_small_and_are_counted_as_other() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let before = app.send(app.anonymous(Method::GET, "/metrics")).await.text.len();
        for n in 0..300 {
            let method = Method::from_bytes(format!("JUNK{n}{}", junk(20).to_uppercase()).as_bytes()).unwrap();
            let path = if n % 2 == 0 { "/v1/events" } else { "/no/such/place" };
            let reply = app.send(app.anonymous(method, path)).await;
            assert!(reply.status.is_client_error(), "{}: {}", reply.status, reply.text);
        }
        let text = app.send(app.anonymous(Method::GET, "/metrics")).await.text;
        assert!(!text.contains("JUNK"), "an invented method became a label");
        assert!(text.contains(r#"method="other""#), "{text}");
        assert!(text.contains(r#"route="unmatched""#), "{text}");
        assert!(
            text.len() < before + 20_000,
            "/metrics grew from {before} to {} bytes",
            text.len()
        );
    }
}

#[tokio::test]
async fn a_stream_of_refused_posts_leaves_a_cached_feed_cached() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let event = app.create_event(json!({})).await;
        let feed = format!("/ical/events/{}.ics", event["id"]);
        let first = app.send(app.anonymous(Method::GET, &feed)).await;
        assert_eq!(first.status, 200, "{}", first.text);
        let etag = first.headers["etag"].to_str().unwrap().to_owned();
        let hits = metric(&app, "convene_response_cache_hits_total").await;
        let misses = metric(&app, "convene_response_cache_misses_total").await;

        for _ in 0..50 {
            let reply = app
                .send(app.anonymous(Method::POST, "/v1/nothing-here").json(&json!({})))
                .await;
            reply.problem(404, "not_found");
            let refused = app
                .send(app.anonymous(Method::DELETE, &format!("/v1/events/{}", event["id"])))
                .await;
            assert_eq!(refused.status, 401, "{}", refused.text);
        }

        let again = app
            .send(app.anonymous(Method::GET, &feed).header("If-None-Match", &etag))
            .await;
        assert_eq!(again.status, 304, "{}", again.text);
        assert_eq!(metric(&app, "convene_response_cache_hits_total").await, hits + 1.0);
        assert_eq!(metric(&app, "convene_response_cache_misses_total").await, misses);

        // A write that succeeds still makes the feed be built again.
        let changed = app
            .patch(
                &format!("/v1/events/{}", event["id"]),
                &json!({"title": "Autumn conference"}),
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
        let rebuilt = app.send(app.anonymous(Method::GET, &feed)).await;
        assert!(rebuilt.text.contains("Autumn conference"), "{}", rebuilt.text);
        assert_eq!(metric(&app, "convene_response_cache_misses_total").await, misses + 1.0);
    }
}
