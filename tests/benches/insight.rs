//! Insight at the size of a large network: 600 schools in 12 local authorities, 3,000 staff,
//! 1,000 sessions of 400 published events over the last year and 50,000 bookings (seven in ten
//! attended), and 200 accepted triads — inserted with SQL (making them over HTTP would take far
//! longer than reading them), then `ANALYZE`d. Then `GET /v1/engagement` and `GET /v1/collaboration` are asked five
//! times each over HTTP to `convene-api serve` (the release build, its defaults: the notifications
//! worker on, mail going to the tests' SMTP sink), and the median and slowest answer printed, with
//! the size of what came back; then the counting alone, in this process. The target: well under a
//! second.
//!
//! Run: `cargo bench -p convene-tests --bench insight` (SQLite), with
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

use std::time::{Duration, Instant};

use chrono::{Days, TimeDelta, Utc};
use convene_tests::bench::{Serve, release_binary};
use convene_tests::smtp::{Mode, SmtpSink};
use convene_tests::{TestApp, backends, json, spawn_app_with};
use entity::state::{BookingStatus, CohortStatus, EventStatus, SessionStatus};
use entity::{booking, cohort, event, participant, school, session, triad, triad_member};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
    TransactionTrait as _,
};

const SCHOOLS: usize = 600;
const AUTHORITIES: usize = 12;
const STAFF_PER_SCHOOL: usize = 5;
const EVENTS: usize = 400;
const SESSIONS: usize = 1_000;
const BOOKINGS: usize = 50_000;
const TRIADS: usize = 200;
/// Rows per multi-row INSERT (under SQLite's 32,766 variables).
const CHUNK: usize = 500;
const RUNS: usize = 5;

/// A deterministic sequence, so every run builds the same network.
struct Seq(u64);

impl Seq {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// The ids of `entity`'s rows, ascending.
macro_rules! ids {
    ($db:expr, $entity:ident) => {
        $entity::Entity::find()
            .select_only()
            .column($entity::Column::Id)
            .order_by_asc($entity::Column::Id)
            .into_tuple::<i64>()
            .all($db)
            .await
            .unwrap()
    };
}

async fn build(app: &TestApp) {
    let now = Utc::now();
    let mut seq = Seq(42);
    let txn = app.db.begin().await.unwrap();
    for chunk in (0..SCHOOLS).collect::<Vec<_>>().chunks(CHUNK) {
        school::Entity::insert_many(chunk.iter().map(|i| school::ActiveModel {
            name: Set(format!("School {i:03}")),
            urn: Set(format!("{}", 500_000 + i)),
            local_authority: Set(format!("Authority {:02}", i % AUTHORITIES)),
            region: Set("London".to_owned()),
            phase: Set(if i % 4 == 0 { "secondary" } else { "primary" }.to_owned()),
            strengths: Set(json!(["reading"])),
            priorities: Set(json!(["maths"])),
            accredited_practice: Set(json!(["reading"])),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    let schools = ids!(&txn, school);
    let staff: Vec<(usize, i64)> = (0..SCHOOLS * STAFF_PER_SCHOOL)
        .map(|i| (i, schools[i % SCHOOLS]))
        .collect();
    for chunk in staff.chunks(CHUNK) {
        participant::Entity::insert_many(chunk.iter().map(|(i, school)| participant::ActiveModel {
            name: Set(format!("Person {i:05}")),
            email: Set(Some(format!("person{i:05}@insight.example"))),
            school_id: Set(Some(*school)),
            role: Set("teacher".to_owned()),
            time_zone: Set("Europe/London".to_owned()),
            notify_email: Set(true),
            notify_discord: Set(false),
            reminder_offsets_minutes: Set(json!([])),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    let people = ids!(&txn, participant);
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(CHUNK) {
        event::Entity::insert_many(chunk.iter().map(|i| {
            let kind = ["conference", "slp_session", "triad_visit"][i % 3];
            event::ActiveModel {
                kind: Set(kind.to_owned()),
                title: Set(format!("Event {i}")),
                time_zone: Set("Europe/London".to_owned()),
                status: Set(EventStatus::Published),
                host_school_id: Set((kind != "conference").then(|| schools[(i * 7) % SCHOOLS])),
                revision: Set(0),
                published_at: Set(Some(now)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    let events = ids!(&txn, event);
    let sessions: Vec<(i64, chrono::DateTime<Utc>)> = (0..SESSIONS)
        .map(|i| (events[i % EVENTS], now - TimeDelta::hours(8 * (i as i64 + 1))))
        .collect();
    for chunk in sessions.chunks(CHUNK) {
        session::Entity::insert_many(chunk.iter().map(|(event, at)| session::ActiveModel {
            event_id: Set(*event),
            starts_at: Set(*at),
            ends_at: Set(*at + TimeDelta::hours(2)),
            time_zone: Set("Europe/London".to_owned()),
            capacity: Set(100),
            booked: Set(0),
            waitlist_enabled: Set(true),
            status: Set(SessionStatus::Scheduled),
            revision: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    let session_rows: Vec<(i64, chrono::DateTime<Utc>)> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .column(session::Column::StartsAt)
        .order_by_asc(session::Column::Id)
        .into_tuple()
        .all(&txn)
        .await
        .unwrap();
    // 50 bookings a session, by distinct people.
    let mut bookings = Vec::with_capacity(BOOKINGS);
    for (k, (session, at)) in session_rows.iter().enumerate() {
        let mut taken = std::collections::HashSet::new();
        while taken.len() < BOOKINGS / SESSIONS {
            taken.insert(seq.next(people.len()));
        }
        for p in taken {
            let status = if seq.next(10) < 7 {
                BookingStatus::Attended
            } else if k % 2 == 0 {
                BookingStatus::NoShow
            } else {
                BookingStatus::Confirmed
            };
            bookings.push((*session, *at, people[p], staff[p].1, status));
        }
    }
    for chunk in bookings.chunks(CHUNK) {
        booking::Entity::insert_many(
            chunk
                .iter()
                .map(|(session, at, person, school, status)| booking::ActiveModel {
                    session_id: Set(*session),
                    participant_id: Set(*person),
                    school_id: Set(Some(*school)),
                    status: Set(*status),
                    starts_at: Set(*at),
                    ends_at: Set(*at + TimeDelta::hours(2)),
                    created_at: Set(now),
                    updated_at: Set(now),
                    confirmed_at: Set(Some(now)),
                    ..Default::default()
                }),
        )
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    let today = now.date_naive();
    let c = cohort::ActiveModel {
        name: Set("Triads".to_owned()),
        options: Set(json!({})),
        window_start: Set(today - Days::new(60)),
        window_end: Set(today + Days::new(60)),
        weekdays: Set(json!([1, 2, 3, 4, 5])),
        min_days_between_visits: Set(7),
        time_zone: Set("Europe/London".to_owned()),
        visit_starts: Set("09:30".to_owned()),
        visit_ends: Set("15:00".to_owned()),
        status: Set(CohortStatus::TriadsAccepted),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let c = cohort::Entity::insert(c).exec(&txn).await.unwrap().last_insert_id;
    triad::Entity::insert_many((0..TRIADS).map(|i| triad::ActiveModel {
        cohort_id: Set(c),
        position: Set(i as i32),
        status: Set("accepted".to_owned()),
        pinned: Set(false),
        score: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }))
    .exec_without_returning(&txn)
    .await
    .unwrap();
    let triads = ids!(&txn, triad);
    let members: Vec<(i64, i64)> = triads
        .iter()
        .enumerate()
        .flat_map(|(t, id)| (0..3).map(move |k| (*id, t * 3 + k)))
        .map(|(id, k)| (id, schools[k % SCHOOLS]))
        .collect();
    triad_member::Entity::insert_many(members.iter().map(|(triad_id, school_id)| triad_member::ActiveModel {
        triad_id: Set(*triad_id),
        school_id: Set(*school_id),
    }))
    .exec_without_returning(&txn)
    .await
    .unwrap();
    txn.commit().await.unwrap();
    // A live database has statistics on its tables (PostgreSQL's autovacuum gathers them after a
    // bulk load like this one); without them its planner takes a nested loop for the pairs.
    app.db.execute_unprepared("ANALYZE").await.unwrap();
    assert_eq!(
        booking::Entity::find()
            .filter(booking::Column::SchoolId.is_not_null())
            .count_rows(&app.db)
            .await,
        BOOKINGS
    );
}

/// Counts rows, for the check above.
trait CountRows {
    async fn count_rows(self, db: &sea_orm::DatabaseConnection) -> usize;
}

impl<E: sea_orm::EntityTrait> CountRows for sea_orm::Select<E>
where
    E::Model: Sync,
{
    async fn count_rows(self, db: &sea_orm::DatabaseConnection) -> usize {
        use sea_orm::PaginatorTrait as _;
        usize::try_from(self.count(db).await.unwrap()).unwrap()
    }
}

/// Asks `address` + `path` `RUNS` times with the organiser key; the median and slowest answer,
/// and the body's size.
async fn time(client: &reqwest::Client, address: &str, key: &str, path: &str) -> (Duration, Duration, usize) {
    let mut took = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let reply = client
            .get(format!("{address}{path}"))
            .bearer_auth(key)
            .send()
            .await
            .expect("the service answers");
        let status = reply.status();
        let body = reply.text().await.expect("a body");
        took.push(started.elapsed());
        assert_eq!(status, 200, "{path}: {body}");
        size = body.len();
    }
    took.sort();
    (took[RUNS / 2], took[RUNS - 1], size)
}

#[tokio::main]
async fn main() {
    let binary = tokio::task::spawn_blocking(release_binary).await.expect("the build");
    println!(
        "insight: {SCHOOLS} schools in {AUTHORITIES} authorities, {} staff, {SESSIONS} sessions of {EVENTS} events, \
         {BOOKINGS} bookings, {TRIADS} triads; median and slowest of {RUNS} asks over HTTP to `convene-api serve` \
         (release, its defaults: the worker on, mail to an SMTP server on this machine)",
        SCHOOLS * STAFF_PER_SCHOOL
    );
    let client = reqwest::Client::new();
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        // The test app only makes the database and the key; `serve` answers.
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let started = Instant::now();
        build(&app).await;
        println!(
            "{backend:?}: network inserted in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let today = Utc::now().date_naive();
        let period = format!("from={}&to={today}", today - Days::new(365));
        let scratch = std::env::temp_dir().join(format!("convene-bench-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&scratch).expect("a scratch folder");
        let serve = Serve::start(&binary, &app, Some(&sink.url()), &scratch.join("serve.log"));
        for path in [
            format!("/v1/engagement?{period}"),
            format!("/v1/collaboration?{period}"),
        ] {
            let (median, slowest, size) = time(&client, &serve.address, &app.key, &path).await;
            println!(
                "{backend:?}: {:<34} median {:>6.0} ms, slowest {:>6.0} ms, {:>8} bytes",
                path.split('?').next().unwrap(),
                median.as_secs_f64() * 1000.0,
                slowest.as_secs_f64() * 1000.0,
                size
            );
        }
        // Where the time goes: the counting alone (the domain's queries and their merging), without
        // turning the answer into JSON and sending it.
        let filter = convene_api::domain::insight::InsightFilter {
            from: Some((today - Days::new(365)).to_string()),
            to: Some(today.to_string()),
            ..Default::default()
        };
        let mut took = Vec::new();
        let mut links = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let c = convene_api::domain::insight::collaboration(&app.db, &filter, Utc::now())
                .await
                .unwrap();
            took.push(started.elapsed());
            links = c.links.len();
        }
        took.sort();
        println!(
            "{backend:?}: collaboration counted alone       median {:>6.0} ms ({links} linked pairs of {} possible)",
            took[RUNS / 2].as_secs_f64() * 1000.0,
            SCHOOLS * (SCHOOLS - 1) / 2
        );
        drop(serve);
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
