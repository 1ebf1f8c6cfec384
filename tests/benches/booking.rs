//! Booking throughput: the HTTP API against the booking's essential SQL, in one run, on the same
//! database server, at the same concurrency.
//!
//! The baseline runs, in one transaction (`BEGIN IMMEDIATE` on SQLite), exactly what the issue
//! names: the guarded seat update, the booking insert and one outbox insert — as
//! `pgbench -n -c 32 -j 2 -f book.sql` would. The API does more (authentication, locks, the clash
//! and per-school checks, the existing-booking check, the waitlist position).
//!
//! Run: `cargo bench -p convene-tests --bench booking` (SQLite), with
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.
//! `BENCH_SECONDS` sets each measurement's length (default 5); `BENCH_DATABASE=postgres` (or
//! `sqlite`) runs on one database only.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use convene_tests::bench::{Run, backends, drive};
use convene_tests::{Backend, TestApp, json, spawn_app_with};
use sea_orm::sqlx::{self, Connection as _};
use sea_orm::{ConnectionTrait as _, Statement};

/// Sessions to spread bookings over (each on its own day, so nobody clashes).
const SESSIONS: usize = 200;
/// People booking through the API; another as many book through the baseline.
const PEOPLE: usize = 2000;

/// The participant and session of the `k`-th booking: never the same pair twice (for the first
/// people × sessions bookings), and consecutive bookings far apart, so concurrent requests spread
/// over sessions and people as random `:s` would in pgbench, instead of queueing on one row.
fn pair(k: usize, people: &[i64], sessions: &[i64]) -> (i64, i64) {
    let pairs = people.len() * sessions.len();
    // 7919 is prime and divides neither 2 nor 5, the only factors of 2000 x 200: a bijection.
    let i = (k % pairs) * 7919 % pairs;
    (people[i / sessions.len()], sessions[i % sessions.len()])
}

async fn setup(app: &TestApp) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let event = app.create_event(json!({"title": "Benchmark conference"})).await;
    let mut sessions = Vec::with_capacity(SESSIONS);
    for i in 0..SESSIONS {
        let day = (Utc::now() + chrono::Duration::days(2 + i as i64))
            .format("%Y-%m-%d")
            .to_string();
        let s = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T09:00"), "end": format!("{day}T10:00"), "capacity": 1_000_000}),
            )
            .await;
        sessions.push(s["id"].as_i64().expect("id"));
    }
    let api_people = app.create_participants(PEOPLE, None).await;
    let sql_people = app.create_participants(PEOPLE, None).await;
    (sessions, api_people, sql_people)
}

async fn api_run(
    app: &TestApp,
    concurrency: usize,
    duration: Duration,
    start: usize,
    people: &[i64],
    sessions: &[i64],
) -> Run {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let (address, key) = (app.address.clone(), app.key.clone());
    let (people, sessions) = (Arc::new(people.to_vec()), Arc::new(sessions.to_vec()));
    let (run, failures) = drive(concurrency, duration, start, move |k| {
        let (client, address, key, people, sessions) = (
            client.clone(),
            address.clone(),
            key.clone(),
            people.clone(),
            sessions.clone(),
        );
        async move {
            let (p, s) = pair(k, &people, &sessions);
            let reply = client
                .post(format!("{address}/v1/sessions/{s}/bookings"))
                .bearer_auth(&key)
                .json(&json!({"participant_id": p}))
                .send()
                .await;
            matches!(reply, Ok(r) if r.status() == 201)
        }
    })
    .await;
    assert_eq!(failures, 0, "API bookings failed");
    run
}

/// The baseline's statements, for a backend (placeholders differ).
fn baseline_sql(backend: Backend) -> [&'static str; 3] {
    match backend {
        Backend::Postgres => [
            "UPDATE sessions SET booked = booked + 1 WHERE id = $1 AND booked < capacity",
            "INSERT INTO bookings (session_id, participant_id, status, starts_at, ends_at, created_at, updated_at) \
             SELECT $1, $2, 'confirmed', now(), now(), now(), now() RETURNING id",
            "INSERT INTO notifications (channel, kind, participant_id, booking_id, session_id, payload, due_at, state, attempts, created_at, updated_at) \
             VALUES ('email', 'booking_confirmed', $2, $3, $1, '{}', now(), 'pending', 0, now(), now())",
        ],
        Backend::Sqlite => [
            "UPDATE sessions SET booked = booked + 1 WHERE id = ?1 AND booked < capacity",
            "INSERT INTO bookings (session_id, participant_id, status, starts_at, ends_at, created_at, updated_at) \
             VALUES (?1, ?2, 'confirmed', datetime('now'), datetime('now'), datetime('now'), datetime('now')) RETURNING id",
            "INSERT INTO notifications (channel, kind, participant_id, booking_id, session_id, payload, due_at, state, attempts, created_at, updated_at) \
             VALUES ('email', 'booking_confirmed', ?2, ?3, ?1, '{}', datetime('now'), 'pending', 0, datetime('now'), datetime('now'))",
        ],
    }
}

async fn sql_run(
    app: &TestApp,
    concurrency: usize,
    duration: Duration,
    start: usize,
    people: &[i64],
    sessions: &[i64],
) -> Run {
    let (people, sessions) = (Arc::new(people.to_vec()), Arc::new(sessions.to_vec()));
    let [seat, insert, outbox] = baseline_sql(app.backend);
    match app.backend {
        Backend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(concurrency as u32)
                .connect(&app.database_url)
                .await
                .expect("a PostgreSQL pool");
            let (run, failures) = drive(concurrency, duration, start, move |k| {
                let (pool, people, sessions) = (pool.clone(), people.clone(), sessions.clone());
                async move {
                    let (p, s) = pair(k, &people, &sessions);
                    let work = async {
                        let mut tx = pool.begin().await?;
                        sqlx::query(seat).bind(s).execute(&mut *tx).await?;
                        let (id,): (i64,) = sqlx::query_as(insert).bind(s).bind(p).fetch_one(&mut *tx).await?;
                        sqlx::query(outbox).bind(s).bind(p).bind(id).execute(&mut *tx).await?;
                        tx.commit().await
                    };
                    work.await.is_ok()
                }
            })
            .await;
            assert_eq!(failures, 0, "baseline transactions failed");
            run
        }
        Backend::Sqlite => {
            let path = app.database_url.trim_start_matches("sqlite://").to_owned();
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(concurrency.min(8) as u32)
                .connect_with(options)
                .await
                .expect("a SQLite pool");
            let (run, failures) = drive(concurrency, duration, start, move |k| {
                let (pool, people, sessions) = (pool.clone(), people.clone(), sessions.clone());
                async move {
                    let (p, s) = pair(k, &people, &sessions);
                    let work = async {
                        let mut conn = pool.acquire().await?;
                        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                        sqlx::query(seat).bind(s).execute(&mut *tx).await?;
                        let (id,): (i64,) = sqlx::query_as(insert).bind(s).bind(p).fetch_one(&mut *tx).await?;
                        sqlx::query(outbox).bind(s).bind(p).bind(id).execute(&mut *tx).await?;
                        tx.commit().await
                    };
                    work.await.is_ok()
                }
            })
            .await;
            assert_eq!(failures, 0, "baseline transactions failed");
            run
        }
    }
}

#[tokio::main]
async fn main() {
    let seconds = convene_tests::bench::seconds();
    let duration = Duration::from_secs(seconds);
    println!(
        "Booking throughput: HTTP API vs the essential SQL (seat update + booking insert + outbox insert), {seconds} s each"
    );
    println!(
        "| database | connections | API bookings/s | SQL bookings/s | ratio | API p50 ms | API p99 ms | SQL p50 ms | SQL p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for backend in backends() {
        // The service's own pool size; no outbox worker, which would spend the two cores on
        // sending the confirmations of both runs while they are measured.
        let app = spawn_app_with(backend, |s| {
            s.db_pool = None;
            s.worker = false;
        })
        .await;
        let (sessions, api_people, sql_people) = setup(&app).await;
        let (mut api_next, mut sql_next) = (0, 0);
        for concurrency in [8, 32] {
            // A short warm-up of both, then the measured runs.
            let warm = Duration::from_millis(500);
            api_next += api_run(&app, concurrency, warm, api_next, &api_people, &sessions)
                .await
                .count
                + concurrency;
            sql_next += sql_run(&app, concurrency, warm, sql_next, &sql_people, &sessions)
                .await
                .count
                + concurrency;
            let api = api_run(&app, concurrency, duration, api_next, &api_people, &sessions).await;
            api_next += api.count + concurrency;
            let sql = sql_run(&app, concurrency, duration, sql_next, &sql_people, &sessions).await;
            sql_next += sql.count + concurrency;
            println!(
                "| {:?} | {concurrency} | {:.0} | {:.0} | {:.2}x | {:.1} | {:.1} | {:.1} | {:.1} |",
                backend,
                api.rate(),
                sql.rate(),
                api.rate() / sql.rate(),
                api.percentile(0.50),
                api.percentile(0.99),
                sql.percentile(0.50),
                sql.percentile(0.99),
            );
        }
        let confirmed = app.count("bookings WHERE status = 'confirmed'").await;
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT COALESCE(SUM(booked), 0) AS n FROM sessions".to_owned(),
            ))
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get::<i64>("", "n").ok());
        println!("<!-- {backend:?}: {confirmed} confirmed bookings, seats counted {row:?} -->");
    }
}
