//! Reminder delivery: 10,000 due reminders sent by a separate `convene-api worker` process to a
//! local SMTP server (aiosmtpd, `tests/tools/smtp_sink.py`, which saves each message before it
//! answers 250). Two runs per database:
//!
//! - clean: one worker from the first claim to the last row marked `sent`;
//! - crash: the worker is killed with SIGKILL once about 3,000 are sent, and a new one started at
//!   once. Every reminder must still arrive (none lost, none dead); a message the killed worker
//!   had handed to the SMTP server but not yet marked sent is sent again (at least once), so the
//!   sink may hold a few more messages than there are reminders: `repeated` counts them, by their
//!   `Message-ID` (derived from the outbox row). The rows the killed worker held leased come back
//!   when their lease (5 s here) runs out.
//!
//! The reminders are real: a published event's session a week away, 10,000 participants with
//! email, a confirmed booking each, and one `reminder` outbox row each, due now — inserted with SQL
//! (creating them over HTTP would take longer than sending them), and no other row pending.
//!
//! The worker is the release build of `convene-api` (so that it is measured as deployed), built on
//! first run with `cargo build --release -p convene-api` into this bench's own target folder; the
//! debug build `convene_tests::convene_binary()` gives the tests would measure the debug profile.
//!
//! Run: `cargo bench -p convene-tests --bench reminders` (SQLite), with
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.
//! `BENCH_REMINDERS` sets how many reminders (default 10,000; the kill comes at 30 %).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use convene_tests::smtp::{Mode, SmtpSink};
use convene_tests::{TestApp, backends, json, spawn_app_with};
use entity::{booking, notification, participant, session};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
    Statement, TransactionTrait as _,
};

/// Rows per multi-row INSERT (16 columns × 500 stays under SQLite's 32,766 variables).
const CHUNK: usize = 500;
/// How often the database is polled.
const POLL: Duration = Duration::from_millis(200);
/// The lease the worker is given: how long the killed worker's claim blocks its rows.
const LEASE_SECONDS: u64 = 5;
/// The longest a run may take before the bench gives up.
const GIVE_UP: Duration = Duration::from_secs(1800);

/// Makes `n` due reminders that the worker will really send, and nothing else to send.
async fn setup(app: &TestApp, n: usize) {
    // A published event with one session a week away, `n` seats.
    let session_id = app.open_session(n as i64, json!({})).await["id"]
        .as_i64()
        .expect("a session id");
    let session = session::Entity::find_by_id(session_id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the session");
    let now = Utc::now();
    let domain = format!("r{:08x}.reminders.example.org", rand::random::<u32>());
    let txn = app.db.begin().await.unwrap();

    for chunk in (0..n).collect::<Vec<_>>().chunks(CHUNK) {
        participant::Entity::insert_many(chunk.iter().map(|i| participant::ActiveModel {
            name: Set(format!("Reminder Person {i:05}")),
            email: Set(Some(format!("person{i:05}@{domain}"))),
            school_id: Set(None),
            role: Set("teacher".to_owned()),
            time_zone: Set("Europe/London".to_owned()),
            discord_id: Set(None),
            feed_token: Set(None),
            notify_email: Set(true),
            notify_discord: Set(false),
            reminder_offsets_minutes: Set(json!([60])),
            quiet_hours_start: Set(None),
            quiet_hours_end: Set(None),
            erased_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    let people: Vec<i64> = participant::Entity::find()
        .select_only()
        .column(participant::Column::Id)
        .filter(participant::Column::Email.ends_with(format!("@{domain}")))
        .order_by_asc(participant::Column::Id)
        .into_tuple()
        .all(&txn)
        .await
        .unwrap();
    assert_eq!(people.len(), n);

    for chunk in people.chunks(CHUNK) {
        booking::Entity::insert_many(chunk.iter().map(|p| booking::ActiveModel {
            session_id: Set(session_id),
            participant_id: Set(*p),
            school_id: Set(None),
            status: Set(entity::state::BookingStatus::Confirmed),
            waitlist_reason: Set(None),
            starts_at: Set(session.starts_at),
            ends_at: Set(session.ends_at),
            created_at: Set(now),
            updated_at: Set(now),
            confirmed_at: Set(Some(now)),
            cancelled_at: Set(None),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    let bookings: Vec<(i64, i64)> = booking::Entity::find()
        .select_only()
        .column(booking::Column::Id)
        .column(booking::Column::ParticipantId)
        .filter(booking::Column::SessionId.eq(session_id))
        .order_by_asc(booking::Column::Id)
        .into_tuple()
        .all(&txn)
        .await
        .unwrap();
    assert_eq!(bookings.len(), n);
    session::Entity::update_many()
        .col_expr(session::Column::Booked, Expr::value(n as i32))
        .filter(session::Column::Id.eq(session_id))
        .exec(&txn)
        .await
        .unwrap();

    for chunk in bookings.chunks(CHUNK) {
        notification::Entity::insert_many(chunk.iter().map(|(b, p)| notification::ActiveModel {
            channel: Set("email".to_owned()),
            kind: Set("reminder".to_owned()),
            participant_id: Set(Some(*p)),
            booking_id: Set(Some(*b)),
            session_id: Set(Some(session_id)),
            payload: Set(json!({"offset_minutes": 60})),
            due_at: Set(now),
            state: Set(entity::state::NotificationState::Pending),
            attempts: Set(0),
            last_error: Set(None),
            leased_until: Set(None),
            lease_owner: Set(None),
            sent_at: Set(None),
            message_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    // Nothing else may be sent: the sink's count is the reminders'.
    notification::Entity::delete_many()
        .filter(notification::Column::Kind.ne("reminder"))
        .exec(&txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(by_state(app).await, BTreeMap::from([("pending".to_owned(), n as i64)]));
}

/// Makes every reminder due and unsent again, for the next run.
async fn reset(app: &TestApp) {
    let now = Utc::now();
    notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value("pending"))
        .col_expr(notification::Column::Attempts, Expr::value(0))
        .col_expr(notification::Column::DueAt, Expr::value(now))
        .col_expr(
            notification::Column::LeasedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(notification::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            notification::Column::SentAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(notification::Column::MessageId, Expr::value(Option::<String>::None))
        .col_expr(notification::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .exec(&app.db)
        .await
        .unwrap();
}

/// The outbox's rows by state.
async fn by_state(app: &TestApp) -> BTreeMap<String, i64> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT state, COUNT(*) AS n FROM notifications GROUP BY state".to_owned(),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.try_get("", "state").unwrap(), r.try_get("", "n").unwrap()))
        .collect()
}

fn count(states: &BTreeMap<String, i64>, state: &str) -> i64 {
    states.get(state).copied().unwrap_or(0)
}

/// A running `convene-api worker` process, killed (SIGKILL) when dropped, so that a failed run
/// leaves none behind.
struct WorkerProcess(Child);

impl WorkerProcess {
    /// Starts one, its stderr (the log, at `warn`) appended to `log`.
    fn start(binary: &Path, config: &Path, log: &Path) -> Self {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = Command::new(binary)
            .arg("--config")
            .arg(config)
            .arg("worker")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the worker starts");
        Self(child)
    }

    /// `kill -9`, and waits for it to be gone.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What one run measured.
struct Outcome {
    seconds: f64,
    states: BTreeMap<String, i64>,
    received: usize,
    distinct: usize,
    /// With a kill: rows sent when it came, rows the killed worker held leased, and messages the
    /// sink had taken that were not yet marked sent (the ones bound to be sent again).
    kill: Option<(i64, i64, i64)>,
    /// Log lines of the workers at warn or above.
    warnings: usize,
}

/// Starts a worker on the due reminders and waits until all `n` are sent; with `kill_at`, kills it
/// with SIGKILL once that many are sent and starts another.
async fn deliver(app: &TestApp, binary: &Path, n: usize, kill_at: Option<i64>) -> Outcome {
    let sink = SmtpSink::start(Mode::Accept).await;
    let scratch = std::env::temp_dir().join(format!("convene-reminders-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&scratch).unwrap();
    let (config, log) = (scratch.join("worker.toml"), scratch.join("worker.log"));
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\nsmtp_url = \"{}\"\npublic_url = \"{}\"\nmail_lease_seconds = {LEASE_SECONDS}\nlog = \"warn\"\n",
            app.database_url,
            sink.url(),
            app.address
        ),
    )
    .unwrap();

    let started = Instant::now();
    let mut worker = WorkerProcess::start(binary, &config, &log);
    let mut kill = None;
    let states = loop {
        tokio::time::sleep(POLL).await;
        let states = by_state(app).await;
        let sent = count(&states, "sent");
        if let Some(at) = kill_at
            && kill.is_none()
            && sent >= at
        {
            worker.kill();
            let after = by_state(app).await;
            let handed_over = sink.messages().len() as i64 - count(&after, "sent");
            kill = Some((count(&after, "sent"), count(&after, "leased"), handed_over));
            worker = WorkerProcess::start(binary, &config, &log);
            continue;
        }
        if sent == n as i64 {
            break states;
        }
        if let Some(status) = worker.0.try_wait().unwrap() {
            panic!(
                "the worker exited ({status}) with {sent} of {n} sent:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < GIVE_UP,
            "{sent} of {n} sent after {GIVE_UP:?}: {states:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    let seconds = started.elapsed().as_secs_f64();
    drop(worker);

    // Every row marked sent was accepted (saved) by the sink first, so all are there by now.
    let mail = sink.wait_for(n, Duration::from_secs(30)).await;
    let ids: Vec<String> = mail
        .iter()
        .map(|m| convene_tests::bench::message_id(m).expect("a Message-ID header"))
        .collect();
    let distinct: HashSet<&String> = ids.iter().collect();
    // The Message-IDs the rows were recorded with are exactly the ones the sink holds.
    let recorded: HashSet<String> = notification::Entity::find()
        .select_only()
        .column(notification::Column::MessageId)
        .into_tuple::<Option<String>>()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.expect("a sent row has its Message-ID"))
        .collect();
    assert_eq!(recorded.len(), n, "each row its own Message-ID");
    assert!(
        recorded.iter().all(|id| distinct.contains(id)),
        "every row's message reached the sink"
    );
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let warnings = log_text
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .count();
    if warnings > 0 {
        eprintln!("the workers warned {warnings} times; the first lines:");
        for line in log_text.lines().take(5) {
            eprintln!("  {line}");
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Outcome {
        seconds,
        states,
        received: mail.len(),
        distinct: distinct.len(),
        kill,
        warnings,
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_REMINDERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let kill_at = (n as i64 * 3) / 10;
    let binary = tokio::task::spawn_blocking(convene_tests::bench::release_binary)
        .await
        .unwrap();
    println!(
        "Reminders: {n} due reminders sent by one `convene-api worker` process (release build) to a local SMTP server (aiosmtpd); \
         in the crash run the worker is killed with SIGKILL at ~{kill_at} sent and a new one started (lease {LEASE_SECONDS} s)"
    );
    println!(
        "| database | run | reminders | seconds | per second | sink messages | distinct | repeated | sent | dead | in flight at kill |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for backend in backends() {
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let set_up = Instant::now();
        setup(&app, n).await;
        let set_up = set_up.elapsed().as_secs_f64();
        for (run, kill) in [("clean", None), ("kill -9 and restart", Some(kill_at))] {
            reset(&app).await;
            let o = deliver(&app, &binary, n, kill).await;
            let in_flight = o.kill.map_or_else(
                || "–".to_owned(),
                |(_, leased, handed)| format!("{leased} leased, {handed} handed to SMTP"),
            );
            println!(
                "| {backend:?} | {run} | {n} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {in_flight} |",
                o.seconds,
                n as f64 / o.seconds,
                o.received,
                o.distinct,
                o.received - o.distinct,
                count(&o.states, "sent"),
                count(&o.states, "dead"),
            );
            assert_eq!(o.distinct, n, "{backend:?} {run}: every reminder delivered");
            assert_eq!(count(&o.states, "sent"), n as i64, "{backend:?} {run}: every row sent");
            if let Some((sent, _, _)) = o.kill {
                println!(
                    "<!-- {backend:?} {run}: killed at {sent} sent; rows by state at the end {:?}; worker warnings {} -->",
                    o.states, o.warnings
                );
            } else if o.warnings > 0 {
                println!("<!-- {backend:?} {run}: worker warnings {} -->", o.warnings);
            }
        }
        println!("<!-- {backend:?}: setting up {n} participants, bookings and reminders took {set_up:.1} s -->");
    }
}
