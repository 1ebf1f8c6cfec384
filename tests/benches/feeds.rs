//! Calendar feeds and the public events list under load: a participant's private feed of 1,000
//! booked sessions (whole, and revalidated with `If-None-Match`), and the published-events list,
//! each at 32 concurrent connections; `/healthz` is the baseline of the same HTTP stack.
//!
//! Run: `cargo bench -p convene-tests --bench feeds` (SQLite), with
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.
//! `BENCH_SECONDS` sets each measurement's length (default 5).

use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Days, NaiveDate};
use convene_tests::bench::{Run, drive};
use convene_tests::reqwest::{Client, StatusCode};
use convene_tests::{TestApp, backends, json, spawn_app_with_pool};
use futures_util::StreamExt as _;

const EVENTS: usize = 100;
const SESSIONS_PER_EVENT: usize = 10;
const CONCURRENCY: usize = 32;

/// A participant booked onto 1,000 sessions of 100 published events; returns the feed's path.
async fn setup(app: &TestApp) -> String {
    let person = app.create_participant(json!({"name": "Busy Head Teacher"})).await["id"]
        .as_i64()
        .expect("id");
    let first = NaiveDate::from_ymd_opt(2027, 1, 4).expect("a date");
    let sessions: Vec<i64> = futures_util::stream::iter(0..EVENTS)
        .map(|e| async move {
            let event = app
                .create_event(json!({"title": format!("Conference {e}: Oracy, reading; and maths"),
                    "description": "A day of workshops, talks and school visits.\nBring a colleague."}))
                .await;
            let mut ids = Vec::new();
            for s in 0..SESSIONS_PER_EVENT {
                let day = first + Days::days((e * SESSIONS_PER_EVENT + s) as i64 / 3);
                let hour = 9 + ((e * SESSIONS_PER_EVENT + s) % 3) * 2;
                let session = app
                    .create_session(
                        &event["id"],
                        json!({"start": format!("{day}T{hour:02}:00"), "end": format!("{day}T{:02}:30", hour + 1),
                            "capacity": 30, "label": format!("Workshop {s}")}),
                    )
                    .await;
                ids.push(session["id"].as_i64().expect("id"));
            }
            ids
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    futures_util::stream::iter(sessions)
        .for_each_concurrent(16, |s| async move {
            assert_eq!(app.book(&json!(s), person).await.status, 201);
        })
        .await;
    let reply = app
        .send(app.request(
            convene_tests::reqwest::Method::POST,
            &format!("/v1/participants/{person}/feed-token"),
        ))
        .await;
    let url = reply.json()["url"].as_str().expect("a url").to_owned();
    url.trim_start_matches(&app.address).to_owned()
}

async fn run(url: String, if_none_match: Option<String>, expect: StatusCode, duration: Duration) -> (Run, usize) {
    let client = Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .expect("a client");
    let shared = Arc::new((client, url, if_none_match));
    drive(CONCURRENCY, duration, 0, move |_| {
        let shared = shared.clone();
        async move {
            let (client, url, tag) = &*shared;
            let mut request = client.get(url);
            if let Some(tag) = tag {
                request = request.header("If-None-Match", tag);
            }
            match request.send().await {
                Ok(response) if response.status() == expect => response.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await
}

#[tokio::main]
async fn main() {
    let seconds = convene_tests::bench::seconds();
    let duration = Duration::from_secs(seconds);
    println!("Feeds at {CONCURRENCY} connections, {seconds} s each (1,000-session private feed, 100 published events)");
    println!("| database | request | requests/s | p50 ms | p99 ms | failures |");
    println!("|---|---|---|---|---|---|");
    for backend in backends() {
        let app = spawn_app_with_pool(backend, None).await;
        let feed = setup(&app).await;
        let full = app
            .send(app.anonymous(convene_tests::reqwest::Method::GET, &feed))
            .await;
        assert_eq!(full.status, 200, "{}", full.text);
        assert_eq!(full.text.matches("BEGIN:VEVENT").count(), 1000);
        let etag = full.headers["etag"].to_str().expect("an ETag").to_owned();
        let cases = [
            ("GET /healthz (baseline)", "/healthz".to_owned(), None, StatusCode::OK),
            ("private feed, 1,000 events (200)", feed.clone(), None, StatusCode::OK),
            (
                "private feed, If-None-Match (304)",
                feed.clone(),
                Some(etag),
                StatusCode::NOT_MODIFIED,
            ),
            (
                "GET /v1/events (published list)",
                "/v1/events".to_owned(),
                None,
                StatusCode::OK,
            ),
        ];
        for (name, path, tag, expect) in cases {
            let url = format!("{}{path}", app.address);
            run(url.clone(), tag.clone(), expect, Duration::from_millis(500)).await;
            let (measured, failures) = run(url, tag, expect, duration).await;
            println!(
                "| {backend:?} | {name} | {:.0} | {:.1} | {:.1} | {failures} |",
                measured.rate(),
                measured.percentile(0.50),
                measured.percentile(0.99),
            );
        }
        println!("<!-- {backend:?}: the feed is {} bytes -->", full.text.len());
    }
}
