//! Graceful shutdown of the real `convene-api` binary: on SIGTERM a request in flight is answered
//! before the process exits, and the outbox leases the process holds are given back.

use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use convene_tests::{TestApp, backends, convene_binary, spawn_app};
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

/// A running `convene-api serve` on the app's database, its port, and its stderr lines.
struct Process {
    child: Child,
    port: u16,
    stderr: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    config: std::path::PathBuf,
}

async fn serve(app: &TestApp, worker: bool) -> Process {
    let binary = tokio::task::spawn_blocking(convene_binary).await.unwrap();
    let config = std::env::temp_dir().join(format!("convene-shutdown-{}.toml", rand::random::<u64>()));
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\ndb_pool = 4\nworker = {worker}\nmail_dir = \"{}\"\nshutdown_timeout_seconds = 20\n",
            app.database_url,
            app.mail_dir.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(binary)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("RUST_LOG", "warn,convene_api::worker=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
        .await
        .expect("serve says where it listens")
        .unwrap()
        .unwrap();
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    Process {
        child,
        port,
        stderr,
        config,
    }
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("still running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn exits_cleanly(process: &mut Process) {
    let status = tokio::time::timeout(Duration::from_secs(30), process.child.wait())
        .await
        .expect("the process exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
    std::fs::remove_file(&process.config).ok();
}

#[tokio::test]
async fn a_request_in_flight_when_sigterm_arrives_is_answered_before_the_process_exits() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let mut process = serve(&app, false).await;
        let body = r#"{"name": "Late School", "urn": "555001", "local_authority": "Camden", "region": "London", "phase": "primary"}"#;
        let (first, rest) = body.split_at(20);
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", process.port))
            .await
            .unwrap();
        let head = format!(
            "POST /v1/schools HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
            app.key,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;

        sigterm(&process.child);
        tokio::time::sleep(Duration::from_millis(700)).await;
        // The request is still being read; the server waits for it instead of cutting it off.
        stream.write_all(rest.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(20), stream.read_to_string(&mut answer))
            .await
            .expect("an answer")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 201"), "{backend:?}: {answer}");
        exits_cleanly(&mut process).await;
        assert_eq!(app.count("schools WHERE urn = '555001'").await, 1);
    }
}

#[tokio::test]
async fn on_sigterm_the_worker_gives_back_the_outbox_leases_it_holds() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let person = app.create_participant(convene_tests::json!({})).await["id"]
            .as_i64()
            .unwrap();
        let mut process = serve(&app, true).await;
        // The worker names the owner its leases are held under when it starts.
        let owner = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), process.stderr.next_line())
                .await
                .expect("the worker starts")
                .unwrap()
                .expect("a log line");
            if line.contains("notifications worker started") {
                let owner = line.split("owner=").nth(1).unwrap().split_whitespace().next().unwrap();
                break owner.to_owned();
            }
        };
        assert!(owner.contains(&format!(":{}:", process.child.id().unwrap())), "{owner}");

        // Messages the process holds a lease on (due tomorrow, so no worker takes them after),
        // and one another worker holds.
        let lease = |held_by: &str| {
            let now = Utc::now();
            entity::notification::ActiveModel {
                channel: Set("email".to_owned()),
                kind: Set("link_code".to_owned()),
                participant_id: Set(Some(person)),
                payload: Set(convene_tests::json!({"code": "123456"})),
                due_at: Set(now + chrono::Duration::days(1)),
                state: Set(entity::state::NotificationState::Leased),
                attempts: Set(1),
                leased_until: Set(Some(now + chrono::Duration::hours(1))),
                lease_owner: Set(Some(held_by.to_owned())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        };
        let mine = [
            lease(&owner).insert(&app.db).await.unwrap().id,
            lease(&owner).insert(&app.db).await.unwrap().id,
        ];
        let theirs = lease("another-instance:1:00000000").insert(&app.db).await.unwrap().id;

        sigterm(&process.child);
        exits_cleanly(&mut process).await;

        for id in mine {
            let row = entity::notification::Entity::find_by_id(id)
                .one(&app.db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (row.state.as_str(), row.lease_owner.as_deref(), row.attempts),
                ("pending", None, 0),
                "{backend:?}: given back, the claim not counted as a try"
            );
        }
        let other = entity::notification::Entity::find_by_id(theirs)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            other.state,
            entity::state::NotificationState::Leased,
            "another instance's lease is not touched"
        );
    }
}
