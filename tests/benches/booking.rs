//! Opening morning: bookings through `convene-api serve` as users run it — its defaults, the
//! notifications worker on, mail going to a real SMTP server on this machine (the tests' aiosmtpd
//! sink, `tests/tools/smtp_sink.py`) — beside the same build with `CONVENE_WORKER=false`, and the
//! database's own speed measured by the `pgbench` binary.
//!
//! Per database: 25 schools of 20 people (500 participants), one published event with 200
//! sessions, each on its own day (so nobody clashes) with seats for everyone. The service is the
//! release build of `convene-api` (see [`convene_tests::bench::release_binary`]), one `serve`
//! process at a time on the bench's database; the load comes from this process over HTTP/1.1
//! keep-alive connections with the organiser key. One setting differs from the defaults:
//! `CONVENE_RATE_LIMIT=0`, because the public reads measured below come from one address standing
//! in for a network's worth of people (bookings with a key are never rate limited).
//!
//! Cells, each printed as a table:
//! - closed loop, 32 connections, worker off then on: bookings/s, p50/p99, and the ratio on/off;
//!   once with every booking distinct, once with every booking sent twice at once (what a double
//!   click or a client's retry does; a "booking" is then the pair, its latency the later answer);
//!   after the worker-on run, the worker-off cells once more, and the ratio against them and
//!   against the mean of both worker-off runs (the worker-on run meets a database the first run
//!   has grown: the bracket takes that order out of the ratio);
//! - reads while the worker sends the closed loop's confirmations: `GET /v1/events?status=published`
//!   and a private feed, 32 connections;
//! - paced: 50/s and 200/s offered, open loop (each request sent at its planned time, its
//!   latency counted from then): p50/p99/max, worker on and off;
//! - drain: `BENCH_BURST_SECONDS` (default 60) at 200/s, then the time from the burst's end until
//!   every confirmation it caused has reached the SMTP server, with those lost and sent twice
//!   (by `Message-ID`, derived from the outbox row);
//! - baseline (PostgreSQL): `pgbench -n -c 32 -j 2` running the booking's essential SQL (guarded
//!   seat update, booking insert, one outbox insert, between BEGIN and COMMIT) on the same server,
//!   in the same run, and the worker-on closed loop as a ratio of it.
//!
//! Run: `cargo bench -p convene-tests --bench booking` (SQLite), with
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.
//! `BENCH_SECONDS` sets each measured cell's length (default 5); `BENCH_DATABASE=postgres` (or
//! `sqlite`) runs on one database only.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use convene_tests::bench::{Run, Serve, backends, drive, message_id, release_binary};
use convene_tests::smtp::{Mode, SmtpSink};
use convene_tests::{Backend, TestApp, json, spawn_app_with};

/// Sessions to spread bookings over (each on its own day, so nobody clashes).
const SESSIONS: usize = 200;
/// Schools, and people from each.
const SCHOOLS: usize = 25;
const PER_SCHOOL: usize = 20;
/// The concurrency of the closed-loop and read cells.
const CONNECTIONS: usize = 32;
/// The rates of the paced cells, bookings a second.
const PACED: [f64; 2] = [50.0, 200.0];

/// The participant and session of the `k`-th booking: never the same pair twice (for the first
/// people × sessions bookings), and consecutive bookings far apart, so concurrent requests spread
/// over sessions and people instead of queueing on one row.
fn pair(k: usize, people: &[i64], sessions: &[i64]) -> (i64, i64) {
    let pairs = people.len() * sessions.len();
    // 7919 is prime and divides neither 2 nor 5, the only factors of 500 x 200: a bijection.
    let i = (k % pairs) * 7919 % pairs;
    (people[i / sessions.len()], sessions[i % sessions.len()])
}

/// The network: sessions, people, and a private feed (the path of one person's).
struct Network {
    sessions: Vec<i64>,
    people: Vec<i64>,
    feed: String,
}

async fn setup(app: &TestApp) -> Network {
    let event = app.create_event(json!({"title": "Spring conference"})).await;
    let mut sessions = Vec::with_capacity(SESSIONS);
    for i in 0..SESSIONS {
        let day = (Utc::now() + chrono::Duration::days(2 + i as i64))
            .format("%Y-%m-%d")
            .to_string();
        let s = app
            .create_session(
                &event["id"],
                json!({"label": format!("Workshop {i}"), "start": format!("{day}T09:00"), "end": format!("{day}T10:00"), "capacity": 1_000_000}),
            )
            .await;
        sessions.push(s["id"].as_i64().expect("id"));
    }
    let mut people = Vec::with_capacity(SCHOOLS * PER_SCHOOL);
    for i in 0..SCHOOLS {
        let school = app
            .create_school(json!({"name": format!("School {i:02}"), "urn": format!("{}", 200_000 + i)}))
            .await;
        people.extend(app.create_participants(PER_SCHOOL, Some(&school["id"])).await);
    }
    let reply = app
        .send(app.request(
            reqwest::Method::POST,
            &format!("/v1/participants/{}/feed-token", people[0]),
        ))
        .await;
    let url = reply.json()["url"].as_str().expect("a feed URL").to_owned();
    let feed = url.trim_start_matches(&app.address).to_owned();
    Network { sessions, people, feed }
}

/// What the load generator needs to book.
#[derive(Clone)]
struct Booker {
    client: reqwest::Client,
    address: String,
    key: String,
    people: Arc<Vec<i64>>,
    sessions: Arc<Vec<i64>>,
}

impl Booker {
    fn new(serve: &Serve, app: &TestApp, network: &Network) -> Self {
        Self {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(CONNECTIONS * 2)
                .build()
                .expect("client"),
            address: serve.address.clone(),
            key: app.key.clone(),
            people: Arc::new(network.people.clone()),
            sessions: Arc::new(network.sessions.clone()),
        }
    }

    /// Books the `k`-th pair; true on 201 (new) or 200 (the same booking again).
    async fn book(&self, k: usize) -> bool {
        let (p, s) = pair(k, &self.people, &self.sessions);
        let reply = self
            .client
            .post(format!("{}/v1/sessions/{s}/bookings", self.address))
            .bearer_auth(&self.key)
            .json(&json!({"participant_id": p}))
            .send()
            .await;
        match reply {
            Ok(r) if r.status() == 201 || r.status() == 200 => r.bytes().await.is_ok(),
            Ok(r) => {
                eprintln!(
                    "booking answered {}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
                false
            }
            Err(e) => {
                eprintln!("booking failed: {e}");
                false
            }
        }
    }

    /// Closed loop: `CONNECTIONS` clients booking as fast as they are answered; with `twice`,
    /// each booking is sent twice at once and counts when both are answered.
    async fn closed(&self, duration: Duration, start: usize, twice: bool) -> Run {
        let me = self.clone();
        let (run, failures) = drive(CONNECTIONS, duration, start, move |k| {
            let me = me.clone();
            async move {
                if twice {
                    let (a, b) = tokio::join!(me.book(k), me.book(k));
                    a && b
                } else {
                    me.book(k).await
                }
            }
        })
        .await;
        assert_eq!(failures, 0, "bookings failed");
        run
    }

    /// Open loop: `rate` bookings a second for `duration`, each sent at its planned time whatever
    /// the answers before it; latency counts from the planned time.
    async fn paced(&self, rate: f64, duration: Duration, start: usize) -> Run {
        let n = (rate * duration.as_secs_f64()) as usize;
        let began = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let at = began + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(at).await;
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                let ok = me.book(start + i).await;
                (ok, at.elapsed())
            }));
        }
        let mut latencies = Vec::with_capacity(n);
        for task in tasks {
            let (ok, latency) = task.await.expect("a booking task");
            assert!(ok, "a paced booking failed");
            latencies.push(latency);
        }
        Run {
            count: latencies.len(),
            seconds: began.elapsed().as_secs_f64(),
            latencies,
        }
    }

    /// Closed loop of GETs of `path` (no key) for `duration`.
    async fn reads(&self, path: &str, duration: Duration) -> Run {
        let (client, url) = (self.client.clone(), format!("{}{path}", self.address));
        let (run, failures) = drive(CONNECTIONS, duration, 0, move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    _ => false,
                }
            }
        })
        .await;
        assert_eq!(failures, 0, "reads of {path} failed");
        run
    }
}

/// Email confirmations not yet sent (pending or leased).
async fn unsent(app: &TestApp) -> i64 {
    app.count(
        "notifications WHERE channel = 'email' AND state IN ('pending', 'leased') AND due_at <= CURRENT_TIMESTAMP",
    )
    .await
}

/// Waits until the worker has sent everything due; how long that took.
/// Withdraws the messages a worker-off run queued, which a later worker-on run would otherwise
/// send (and the next worker-off run's database would carry as pending).
async fn withdraw_pending(app: &TestApp) {
    use sea_orm::{ConnectionTrait as _, Statement};
    app.db
        .execute_raw(Statement::from_string(
            app.db.get_database_backend(),
            "UPDATE notifications SET state = 'withdrawn' WHERE state = 'pending'".to_owned(),
        ))
        .await
        .expect("withdraw the queued messages");
}

async fn drained(app: &TestApp) -> Duration {
    let began = Instant::now();
    while unsent(app).await > 0 {
        assert!(
            began.elapsed() < Duration::from_secs(900),
            "the outbox did not drain in 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    began.elapsed()
}

/// The largest outbox row id so far.
async fn last_notification(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait as _, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COALESCE(MAX(id), 0) AS n FROM notifications".to_owned(),
        ))
        .await
        .expect("a query")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("a number")
}

/// The ids of the email confirmations queued after outbox row `after`.
async fn confirmations_after(app: &TestApp, after: i64) -> HashSet<i64> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QuerySelect as _};
    entity::notification::Entity::find()
        .select_only()
        .column(entity::notification::Column::Id)
        .filter(entity::notification::Column::Id.gt(after))
        .filter(entity::notification::Column::Channel.eq("email"))
        .filter(entity::notification::Column::Kind.eq("booking_confirmed"))
        .into_tuple::<i64>()
        .all(&app.db)
        .await
        .expect("a query")
        .into_iter()
        .collect()
}

/// The outbox row a message the sink received was written from, by its `Message-ID`.
fn row_of(mail: &convene_tests::smtp::ReceivedMail) -> Option<i64> {
    let id = message_id(mail)?;
    id.strip_prefix("<notification-")?.split('.').next()?.parse().ok()
}

/// Runs `pgbench -n -c 32 -j 2` for `seconds` on the app's database with the booking's essential
/// SQL, spreading bookings at random over the sessions and over people of its own; its rate.
fn pgbench(app: &TestApp, network: &Network, people: &[i64], seconds: u64) -> f64 {
    let script = std::env::temp_dir().join(format!("convene-book-{:016x}.sql", rand::random::<u64>()));
    // A random pair repeats now and then: the unique index on active bookings then leaves that
    // one out (ON CONFLICT DO NOTHING), as it would refuse a second booking.
    std::fs::write(
        &script,
        "\\set s random(:smin, :smax)\n\
         \\set p random(:pmin, :pmax)\n\
         BEGIN;\n\
         UPDATE sessions SET booked = booked + 1 WHERE id = :s AND booked < capacity;\n\
         WITH b AS (INSERT INTO bookings (session_id, participant_id, status, starts_at, ends_at, created_at, updated_at) \
         VALUES (:s, :p, 'confirmed', now(), now(), now(), now()) ON CONFLICT DO NOTHING RETURNING id) \
         INSERT INTO notifications (channel, kind, participant_id, booking_id, session_id, payload, due_at, state, attempts, created_at, updated_at) \
         SELECT 'email', 'booking_confirmed', :p, id, :s, '{}', now() + interval '10 years', 'pending', 0, now(), now() FROM b;\n\
         COMMIT;\n",
    )
    .expect("the pgbench script");
    let range = |ids: &[i64]| {
        (
            ids.iter().min().copied().unwrap_or(0),
            ids.iter().max().copied().unwrap_or(0),
        )
    };
    let (smin, smax) = range(&network.sessions);
    let (pmin, pmax) = range(people);
    assert_eq!(
        (smax - smin + 1, pmax - pmin + 1),
        (network.sessions.len() as i64, people.len() as i64),
        "the ids pgbench picks from are contiguous"
    );
    let output = Command::new("pgbench")
        .args(["-n", "-c", "32", "-j", "2", "-T", &seconds.to_string()])
        .args(["-D", &format!("smin={smin}"), "-D", &format!("smax={smax}")])
        .args(["-D", &format!("pmin={pmin}"), "-D", &format!("pmax={pmax}")])
        .arg("-f")
        .arg(&script)
        .arg(&app.database_url)
        .output()
        .unwrap_or_else(|e| {
            panic!("pgbench could not start ({e}); it comes with PostgreSQL's client (postgresql-client)")
        });
    std::fs::remove_file(&script).ok();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output:\n{text}"))
}

fn row(cells: &[String]) {
    println!("| {} |", cells.join(" | "));
}

fn ms(run: &Run, p: f64) -> String {
    format!("{:.1}", run.percentile(p))
}

#[tokio::main]
async fn main() {
    let seconds = convene_tests::bench::seconds();
    let duration = Duration::from_secs(seconds);
    let burst = Duration::from_secs(
        std::env::var("BENCH_BURST_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let binary = tokio::task::spawn_blocking(release_binary).await.expect("the build");
    println!(
        "Opening morning: `convene-api serve` (release) with the worker on (mail to aiosmtpd) and off; {seconds} s cells"
    );
    for backend in backends() {
        println!("\n### {backend:?}\n");
        let sink = SmtpSink::start(Mode::Accept).await;
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let network = setup(&app).await;
        let scratch = std::env::temp_dir().join(format!("convene-bench-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&scratch).expect("a scratch folder");
        let log = |name: &str| -> PathBuf { scratch.join(name) };
        let mut next = 0;
        let warm = Duration::from_millis(500);

        // Worker off.
        let (off_distinct, off_twice, off_paced) = {
            let serve = Serve::start(&binary, &app, None, &log("off.log"));
            let booker = Booker::new(&serve, &app, &network);
            next += booker.closed(warm, next, false).await.count + CONNECTIONS;
            let distinct = booker.closed(duration, next, false).await;
            next += distinct.count + CONNECTIONS;
            let twice = booker.closed(duration, next, true).await;
            next += twice.count + CONNECTIONS;
            let mut paced = Vec::new();
            for rate in PACED {
                let run = booker.paced(rate, duration, next).await;
                next += run.count;
                paced.push(run);
            }
            (distinct, twice, paced)
        };
        // What the worker-off runs queued would otherwise be sent during the worker-on runs.
        withdraw_pending(&app).await;

        let baseline = match backend {
            Backend::Postgres => {
                let people = app.create_participants(2000, None).await;
                Some(tokio::task::block_in_place(|| {
                    pgbench(&app, &network, &people, seconds)
                }))
            }
            Backend::Sqlite => None,
        };

        // Worker on.
        let serve = Serve::start(&binary, &app, Some(&sink.url()), &log("on.log"));
        let booker = Booker::new(&serve, &app, &network);
        next += booker.closed(warm, next, false).await.count + CONNECTIONS;
        drained(&app).await;
        let on_distinct = booker.closed(duration, next, false).await;
        next += on_distinct.count + CONNECTIONS;
        let read_span = duration.min(Duration::from_secs(3));
        let events = booker.reads("/v1/events?status=published", read_span).await;
        let feed = booker.reads(&network.feed, read_span).await;
        let after_distinct = drained(&app).await + 2 * read_span;
        let on_twice = booker.closed(duration, next, true).await;
        next += on_twice.count + CONNECTIONS;
        let after_twice = drained(&app).await;

        println!("Closed loop, {CONNECTIONS} connections:\n");
        row(&[
            "bookings".into(),
            "worker off /s".into(),
            "p50 / p99 ms".into(),
            "worker on /s".into(),
            "p50 / p99 ms".into(),
            "on / off".into(),
            "mail drained after".into(),
        ]);
        row(&vec!["---".to_owned(); 7]);
        for (name, off, on, drain) in [
            ("distinct", &off_distinct, &on_distinct, after_distinct),
            ("each sent twice at once", &off_twice, &on_twice, after_twice),
        ] {
            row(&[
                name.into(),
                format!("{:.0}", off.rate()),
                format!("{} / {}", ms(off, 0.5), ms(off, 0.99)),
                format!("{:.0}", on.rate()),
                format!("{} / {}", ms(on, 0.5), ms(on, 0.99)),
                format!("{:.2}x", on.rate() / off.rate()),
                format!("{:.1} s", drain.as_secs_f64()),
            ]);
        }
        if let Some(tps) = baseline {
            println!(
                "\npgbench (-c 32 -j 2, the essential SQL): {tps:.0}/s; worker on, distinct: {:.2}x of it\n",
                on_distinct.rate() / tps
            );
        }
        println!("\nReads while the worker sends the closed loop's confirmations, {CONNECTIONS} connections:\n");
        row(&["read".into(), "/s".into(), "p50 ms".into(), "p99 ms".into()]);
        row(&vec!["---".to_owned(); 4]);
        for (name, run) in [("GET /v1/events?status=published", &events), ("a private feed", &feed)] {
            row(&[name.into(), format!("{:.0}", run.rate()), ms(run, 0.5), ms(run, 0.99)]);
        }

        println!("\nPaced (open loop):\n");
        row(&[
            "offered".into(),
            "worker on p50 / p99 / max ms".into(),
            "worker off p50 / p99 / max ms".into(),
        ]);
        row(&vec!["---".to_owned(); 3]);
        for (rate, off) in PACED.into_iter().zip(&off_paced) {
            let run = booker.paced(rate, duration, next).await;
            next += run.count;
            let cell = |r: &Run| format!("{} / {} / {}", ms(r, 0.5), ms(r, 0.99), ms(r, 1.0));
            row(&[format!("{rate:.0}/s"), cell(&run), cell(off)]);
            drained(&app).await;
        }

        // The drain after a burst.
        let before = last_notification(&app).await;
        let received_before = sink.messages().len();
        let run = booker.paced(200.0, burst, next).await;
        next += run.count;
        let ended = Instant::now();
        let expected = confirmations_after(&app, before).await;
        let mut last_arrival = Duration::ZERO;
        let (mut seen, mut repeats) = (HashSet::new(), 0usize);
        let mut checked = received_before;
        while seen.len() < expected.len() && ended.elapsed() < Duration::from_secs(600) {
            let messages = sink.messages();
            for mail in &messages[checked..] {
                if let Some(id) = row_of(mail).filter(|id| expected.contains(id))
                    && !seen.insert(id)
                {
                    repeats += 1;
                }
            }
            if messages.len() > checked {
                last_arrival = ended.elapsed();
            }
            checked = messages.len();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Anything sent twice arrives soon after; look once more.
        tokio::time::sleep(Duration::from_secs(2)).await;
        for mail in &sink.messages()[checked..] {
            if let Some(id) = row_of(mail).filter(|id| expected.contains(id))
                && !seen.insert(id)
            {
                repeats += 1;
            }
        }
        println!(
            "\nDrain: {} bookings at 200/s over {} s (p99 {} ms); their {} confirmations all reached the SMTP server {:.1} s after the burst; {} lost, {} sent twice\n",
            run.count,
            burst.as_secs(),
            ms(&run, 0.99),
            expected.len(),
            last_arrival.as_secs_f64(),
            expected.len() - seen.len(),
            repeats,
        );
        drop(serve);

        // The worker-off cells again, after the worker-on run: that run came second, on a
        // database the first grew, so its ratio is also given against this later baseline.
        withdraw_pending(&app).await;
        {
            let serve = Serve::start(&binary, &app, None, &log("off-again.log"));
            let booker = Booker::new(&serve, &app, &network);
            next += booker.closed(warm, next, false).await.count + CONNECTIONS;
            let distinct = booker.closed(duration, next, false).await;
            next += distinct.count + CONNECTIONS;
            let twice = booker.closed(duration, next, true).await;
            println!("Worker off again, after the worker-on run (the same database, grown by both runs):\n");
            row(&[
                "bookings".into(),
                "worker off again /s".into(),
                "p50 / p99 ms".into(),
                "on / off again".into(),
                "on / mean of both off runs".into(),
            ]);
            row(&vec!["---".to_owned(); 5]);
            for (name, before, on, again) in [
                ("distinct", &off_distinct, &on_distinct, &distinct),
                ("each sent twice at once", &off_twice, &on_twice, &twice),
            ] {
                row(&[
                    name.into(),
                    format!("{:.0}", again.rate()),
                    format!("{} / {}", ms(again, 0.5), ms(again, 0.99)),
                    format!("{:.2}x", on.rate() / again.rate()),
                    format!("{:.2}x", 2.0 * on.rate() / (before.rate() + again.rate())),
                ]);
            }
            println!();
        }
        let warnings = std::fs::read_to_string(log("on.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .count();
        println!(
            "<!-- {backend:?}: {warnings} warnings in the worker-on log, {} -->",
            scratch.display()
        );
    }
}
