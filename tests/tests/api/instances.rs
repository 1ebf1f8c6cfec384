//! Several real `convene-api serve` processes on one database, as behind a load balancer: the
//! booking promises and the outbox hold across them, and a process killed with `kill -9` in the
//! middle of a booking storm leaves a consistent database that a new process carries on from.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use convene_tests::smtp::{Mode, SmtpSink};
use convene_tests::{Backend, TestApp, backends, convene_binary, json, spawn_app_with};
use futures_util::StreamExt as _;
use serde_json::Value;

/// A `convene-api serve` process on the test app's database, and the address it listens on.
pub(crate) struct Instance {
    child: Child,
    pub(crate) address: String,
    config: std::path::PathBuf,
}

impl Instance {
    /// Starts `serve` on a free port with the app's database; `worker` (an SMTP URL and a lease
    /// in seconds) turns its worker on.
    fn start(app: &TestApp, worker: Option<(&str, u64)>) -> Instance {
        let extra = match worker {
            Some((url, lease)) => format!("worker = true\nsmtp_url = \"{url}\"\nmail_lease_seconds = {lease}\n"),
            None => "worker = false\n".to_owned(),
        };
        Self::start_with(app, &extra)
    }

    /// Starts `serve` on a free port with the app's database and `extra` lines of configuration.
    pub(crate) fn start_with(app: &TestApp, extra: &str) -> Instance {
        let config = std::env::temp_dir().join(format!("convene-instance-{}.toml", rand::random::<u64>()));
        let text = format!(
            "bind = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\nlog = \"warn\"\ndb_pool = 8\n{extra}",
            app.database_url
        );
        std::fs::write(&config, text).unwrap();
        let mut child = Command::new(convene_binary())
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("CONVENE_RATE_LIMIT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("convene-api starts");
        let address = convene_tests::serve_address(&mut child);
        Instance { child, address, config }
    }

    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        std::fs::remove_file(&self.config).ok();
    }
}

async fn book(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    session: i64,
    person: i64,
) -> Result<(u16, Value), String> {
    let reply = client
        .post(format!("{base}/v1/sessions/{session}/bookings"))
        .bearer_auth(key)
        .json(&json!({"participant_id": person}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = reply.status().as_u16();
    let body = reply.json().await.map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// Every session's count of confirmed seats equals its seated bookings, and no outbox row names
/// a booking that does not exist.
async fn assert_consistent(app: &TestApp) {
    let wrong = app
        .count(
            "sessions s WHERE s.booked <> (SELECT COUNT(*) FROM bookings b WHERE b.session_id = s.id \
             AND b.status IN ('confirmed', 'attended', 'no_show'))",
        )
        .await;
    assert_eq!(
        wrong, 0,
        "{:?}: a session's count differs from its bookings",
        app.backend
    );
    let over = app.count("sessions WHERE booked > capacity").await;
    assert_eq!(over, 0, "{:?}: a session is over capacity", app.backend);
    let orphans = app
        .count("notifications n WHERE n.booking_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.id = n.booking_id)")
        .await;
    assert_eq!(
        orphans, 0,
        "{:?}: outbox rows for bookings that do not exist",
        app.backend
    );
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

#[tokio::test]
async fn two_instances_on_one_database_confirm_exactly_the_capacity_and_send_each_message_once() {
    for backend in backends() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let session = app.open_session(30, json!({})).await;
        let session_id = session["id"].as_i64().unwrap();
        let people = app.create_participants(1000, None).await;
        let instances = [
            Instance::start(&app, Some((&sink.url(), 60))),
            Instance::start(&app, Some((&sink.url(), 60))),
        ];
        let client = client();
        let replies: Vec<Result<(u16, Value), String>> = futures_util::stream::iter(people.iter().enumerate())
            .map(|(i, &person)| {
                let base = instances[i % 2].address.clone();
                let (client, key) = (client.clone(), app.key.clone());
                async move { book(&client, &base, &key, session_id, person).await }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let mut positions = Vec::new();
        let mut confirmed = 0;
        for reply in &replies {
            let (status, body) = reply.as_ref().unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            assert_eq!(*status, 201, "{backend:?}: {body}");
            match body["status"].as_str() {
                Some("confirmed") => confirmed += 1,
                _ => positions.push(body["waitlist_position"].as_i64().unwrap()),
            }
        }
        positions.sort_unstable();
        assert_eq!(confirmed, 30, "{backend:?}");
        assert_eq!(positions, (1..=970).collect::<Vec<_>>(), "{backend:?}");
        assert_consistent(&app).await;

        // Each booking's message (30 confirmations, 970 waitlist notices) arrives once, whichever
        // instance's worker claimed it.
        let mails = sink.wait_for(1000, Duration::from_secs(180)).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut ids: Vec<String> = mails
            .iter()
            .map(|m| m.read()["message_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(sink.messages().len(), 1000, "{backend:?}: one mail per booking");
        assert_eq!(ids.len(), 1000, "{backend:?}: no message sent twice");
        assert_eq!(
            app.count("notifications WHERE channel = 'email' AND state = 'sent'")
                .await,
            1000
        );
        drop(instances);
    }
}

#[tokio::test]
async fn a_message_slower_to_send_than_its_lease_is_sent_once_though_another_instance_is_waiting_for_work() {
    for backend in backends() {
        // The relay takes 6 s to accept each message; the leases last 3 s.
        let sink = SmtpSink::start(Mode::Slow).await;
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let session_id = app.open_session(30, json!({})).await["id"].as_i64().unwrap();
        let people = app.create_participants(3, None).await;
        let instances = [
            Instance::start(&app, Some((&sink.url(), 3))),
            Instance::start(&app, Some((&sink.url(), 3))),
        ];
        let client = client();
        for (i, &person) in people.iter().enumerate() {
            let (status, body) = book(&client, &instances[i % 2].address, &app.key, session_id, person)
                .await
                .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            assert_eq!(status, 201, "{backend:?}: {body}");
        }
        // Three confirmations (the reminders fall due next week). Had a lease run out while its
        // message was with the relay, the idle instance would have claimed it within a second and
        // sent it again 6 s later, about 4 s after the first copy arrived.
        sink.wait_for(3, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert_eq!(sink.messages().len(), 3, "{backend:?}: a message was sent twice");
        assert_eq!(
            app.count("notifications WHERE channel = 'email' AND state = 'sent' AND attempts = 1")
                .await,
            3,
            "{backend:?}: each message was claimed once and sent"
        );
        drop(instances);
    }
}

#[tokio::test]
async fn an_instance_killed_during_a_booking_storm_loses_nothing_it_confirmed_and_leaves_the_database_consistent() {
    for backend in backends() {
        let app = spawn_app_with(backend, |s| s.worker = false).await;
        let sessions: Vec<i64> = {
            let mut ids = Vec::new();
            for _ in 0..3 {
                ids.push(app.open_session(40, json!({})).await["id"].as_i64().unwrap());
            }
            ids
        };
        let people = app.create_participants(300, None).await;
        let mut instance = Instance::start(&app, None);
        let storm_client = client();
        let base = instance.address.clone();
        let key = app.key.clone();
        let storm = tokio::spawn({
            let people = people.clone();
            let sessions = sessions.clone();
            async move {
                futures_util::stream::iter(people.into_iter().enumerate())
                    .map(|(i, person)| {
                        let (client, base, key) = (storm_client.clone(), base.clone(), key.clone());
                        let session = sessions[i % 3];
                        async move { (person, session, book(&client, &base, &key, session, person).await) }
                    })
                    .buffer_unordered(32)
                    .collect::<Vec<_>>()
                    .await
            }
        });
        // Kill it once some bookings are in, while others are in flight.
        for _ in 0..400 {
            if app.count("bookings").await >= 60 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        instance.kill();
        let replies = storm.await.unwrap();
        let answered: Vec<(i64, i64, Value)> = replies
            .into_iter()
            .filter_map(|(person, session, reply)| match reply {
                Ok((201, body)) => Some((person, session, body)),
                _ => None,
            })
            .collect();
        assert!(
            !answered.is_empty(),
            "{backend:?}: some bookings were answered before the kill"
        );
        assert!(answered.len() < 300, "{backend:?}: the kill came during the storm");

        // A new process on the same database: every booking it answered is there as answered.
        let restarted = Instance::start(&app, None);
        assert_consistent(&app).await;
        for (person, session, body) in &answered {
            let stored = app.get(&format!("/v1/bookings/{}", body["id"])).await.json();
            assert_eq!(stored["participant_id"], *person, "{backend:?}");
            assert_eq!(stored["session_id"], *session);
            if body["status"] == "confirmed" {
                assert_eq!(
                    stored["status"], "confirmed",
                    "{backend:?}: a confirmed booking was lost"
                );
            }
        }
        // The storm's unanswered requests can be retried against the new process: each person
        // gets their existing booking or a new one, and the promises still hold.
        let client = client();
        for (i, &person) in people.iter().enumerate() {
            let (status, body) = book(&client, &restarted.address, &app.key, sessions[i % 3], person)
                .await
                .unwrap();
            assert!(status == 200 || status == 201, "{backend:?}: {status} {body}");
        }
        assert_eq!(app.count("bookings").await, 300, "{backend:?}: one booking per person");
        assert_eq!(app.count("bookings WHERE status = 'confirmed'").await, 120);
        assert_consistent(&app).await;
        if backend == Backend::Postgres {
            // No transaction was left open holding locks.
            let idle = app
                .count("pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()")
                .await;
            assert_eq!(idle, 0);
        }
    }
}
