//! Test harness: [`spawn_apps`] starts the real Convene API on port 0 against a fresh database —
//! a new SQLite file always, and a new PostgreSQL database too when `TEST_DATABASE_URL` names a
//! server — and gives back a client with an organiser key for each.

use std::path::PathBuf;

use convene_api::clock::Clock;
use convene_api::config::Settings;
use convene_api::domain::keys::{self, KeyRole};
use convene_api::startup::Application;
use rand::Rng as _;
use reqwest::{Method, RequestBuilder, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

pub mod bench;
pub mod browser;
pub mod debian;
pub mod discord_spec;
pub mod fake_discord;
pub mod itip;
pub mod python;
pub mod smtp;
pub mod web;

pub use reqwest;
pub use serde_json::json;

/// Which database a test app runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `TEST_DATABASE_URL`.
    Postgres,
}

/// The backends to test on: SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        backends.push(Backend::Postgres);
    }
    backends
}

/// A running app and a way to talk to it.
pub struct TestApp {
    /// Which database it runs on.
    pub backend: Backend,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// An organiser key.
    pub key: String,
    /// The app's database, for checking rows directly.
    pub db: DatabaseConnection,
    /// The database URL the app uses.
    pub database_url: String,
    /// The folder mail is written to (when no SMTP server is set).
    pub mail_dir: PathBuf,
    /// The settings the app was started with.
    pub settings: Settings,
    /// The app's clock: advance it to move the server's time on (instead of sleeping, or moving
    /// rows into the past).
    pub clock: Clock,
    client: reqwest::Client,
    _scratch: Scratch,
    _mail_scratch: Scratch,
}

/// What a test database leaves behind, removed on drop.
enum Scratch {
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self {
            Scratch::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Scratch::PgDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a fresh thread and runtime can block on the drop.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A short random suffix for scratch names.
fn random_suffix() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Makes a fresh, empty database for `backend` and returns its URL and what to clean up.
async fn fresh_database(backend: Backend) -> (String, Scratch) {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("convene-test-{}", random_suffix()));
            std::fs::create_dir_all(&dir).expect("make a scratch folder");
            (format!("sqlite://{}/convene.db", dir.display()), Scratch::Dir(dir))
        }
        Backend::Postgres => {
            let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
            let name = format!("convene_test_{}", random_suffix());
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("TEST_DATABASE_URL is set but PostgreSQL does not answer at {admin_url}: {e}")
            });
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create a test database");
            admin.close().await.ok();
            (
                with_database(&admin_url, &name),
                Scratch::PgDatabase { admin_url, name },
            )
        }
    }
}

/// Settings for a test app on `database_url`, listening on a random port.
pub fn test_settings(database_url: &str) -> Settings {
    Settings {
        bind: "127.0.0.1:0".to_owned(),
        database_url: database_url.to_owned(),
        db_pool: Some(10),
        // Tests call the public routes far faster than any person; the rate limits have their own tests.
        rate_limit: 0,
        bot_user_rate_limit: 0,
        bot_key_rate_limit: 0,
        ..Settings::default()
    }
}

/// Starts the real app on a fresh database of `backend`, with an organiser key.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with_pool(backend, Some(10)).await
}

/// Starts the real app with `pool` database connections (`None`: the service's own default).
pub async fn spawn_app_with_pool(backend: Backend, pool: Option<u32>) -> TestApp {
    spawn_app_with(backend, |s| s.db_pool = pool).await
}

/// Starts the real app with settings changed by `tweak` (an SMTP server, retry timings, ...).
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (database_url, scratch) = fresh_database(backend).await;
    let mail_dir = std::env::temp_dir().join(format!("convene-mail-{}", random_suffix()));
    let mut settings = Settings {
        mail_dir: mail_dir.display().to_string(),
        mail_retry_base_ms: 100,
        ..test_settings(&database_url)
    };
    tweak(&mut settings);
    let clock = Clock::system();
    let app = Application::build_with_clock(&settings, clock.clone())
        .await
        .expect("the app starts");
    let db = app.db().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let key = keys::create(
        &db,
        "test-organiser",
        KeyRole::Organiser,
        &convene_api::domain::audit::Change::new(convene_api::domain::audit::Actor::system("tests"), clock.now()),
    )
    .await
    .expect("make a key")
    .secret;
    TestApp {
        backend,
        address,
        key,
        db,
        database_url,
        mail_dir: mail_dir.clone(),
        settings,
        clock,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Drop idle connections well before the server's 5-second keep-alive closes them, so
            // a request on a slow, loaded machine never goes out on a socket being closed.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("client"),
        _scratch: scratch,
        _mail_scratch: Scratch::Dir(mail_dir),
    }
}

/// Starts one app per backend under test.
pub async fn spawn_apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for backend in backends() {
        apps.push(spawn_app(backend).await);
    }
    apps
}

/// A response read whole: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub text: String,
}

impl Reply {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts this is a problem+json error with `status` and `code`, and returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected {status} {code}, got: {}",
            self.text
        );
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "expected problem+json, got {}: {}",
            self.content_type(),
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{}", self.text);
        assert_eq!(body["status"], status, "{}", self.text);
        assert!(
            body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
            "{}",
            self.text
        );
        body
    }

    /// The fields a problem lists as at fault.
    pub fn fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// A request with the organiser key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.key)
    }

    /// A request without any key.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address))
    }

    /// Sends a request and reads the whole reply.
    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("the request is answered");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        Reply { status, headers, text }
    }

    /// GET with the organiser key.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    /// POST JSON with the organiser key.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// PATCH JSON with the organiser key.
    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PATCH, path).json(body)).await
    }

    /// DELETE with the organiser key.
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Creates a school with a unique URN (fields in `overrides` replace the defaults) and returns it.
    pub async fn create_school(&self, overrides: Value) -> Value {
        let mut body = json!({
            "name": "Northfield Primary School",
            "urn": format!("{}", rand::rng().random_range(100_000..999_999_999u32)),
            "local_authority": "Camden",
            "region": "London",
            "phase": "primary",
            "strengths": ["reading", "early years"],
            "priorities": ["maths"],
            "accredited_practice": ["reading"],
        });
        merge(&mut body, overrides);
        let reply = self.post("/v1/schools", &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// Creates a participant with a unique email and returns it.
    pub async fn create_participant(&self, overrides: Value) -> Value {
        let mut body = json!({
            "name": "Ann Jones",
            "email": format!("ann.{}@northfield.sch.uk", random_suffix()),
            "role": "head",
            "time_zone": "Europe/London",
        });
        merge(&mut body, overrides);
        let reply = self.post("/v1/participants", &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// Creates an event (a published conference in Europe/London unless overridden) and returns it.
    pub async fn create_event(&self, overrides: Value) -> Value {
        let mut body = json!({
            "kind": "conference",
            "title": "Summer conference",
            "time_zone": "Europe/London",
            "venue": "Northfield Primary School, Hall 2",
            "status": "published",
        });
        merge(&mut body, overrides);
        let reply = self.post("/v1/events", &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// Fills the app's database with the demo network (what `convene-api demo` makes: 24 schools
    /// and their people, a conference, SLP sessions, a triad cohort with its visits, last term's
    /// conference with its register, a survey with answers, and reflections), through the same
    /// domain functions as the API.
    pub async fn load_demo(&self) -> convene_api::demo::Demo {
        let site = convene_api::startup::feed_site(&self.settings, &self.address);
        convene_api::demo::fill(&self.db, &site, self.clock.now())
            .await
            .expect("the demo fills the new database")
    }

    /// Adds a session to an event and returns it.
    pub async fn create_session(&self, event_id: &Value, body: Value) -> Value {
        let reply = self.post(&format!("/v1/events/{event_id}/sessions"), &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// Counts the rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("a count")
    }
}

/// Lays `overrides` (a JSON object) over `body`; a `null` override removes the field.
pub fn merge(body: &mut Value, overrides: Value) {
    if let (Some(body), Value::Object(overrides)) = (body.as_object_mut(), overrides) {
        for (k, v) in overrides {
            if v.is_null() {
                body.remove(&k);
            } else {
                body.insert(k, v);
            }
        }
    }
}

impl TestApp {
    /// Makes `n` participants (over HTTP, a few at a time), each from `school_id` if given, and returns their ids.
    pub async fn create_participants(&self, n: usize, school_id: Option<&Value>) -> Vec<i64> {
        use futures_util::StreamExt as _;
        futures_util::stream::iter(0..n)
            .map(|i| {
                let mut body = json!({"name": format!("Person {i:04}")});
                if let Some(school) = school_id {
                    body["school_id"] = school.clone();
                }
                async move { self.create_participant(body).await["id"].as_i64().expect("an id") }
            })
            .buffered(16)
            .collect()
            .await
    }

    /// Books `participant_id` onto `session_id` and returns the reply.
    pub async fn book(&self, session_id: &Value, participant_id: i64) -> Reply {
        self.post(
            &format!("/v1/sessions/{session_id}/bookings"),
            &json!({"participant_id": participant_id}),
        )
        .await
    }

    /// A published event with one session of `capacity` seats (plus `extra` session fields), a week from now.
    pub async fn open_session(&self, capacity: i64, extra: Value) -> Value {
        let event = self.create_event(json!({})).await;
        let start = chrono::Utc::now() + chrono::Duration::days(7);
        let mut body = json!({
            "start": start.format("%Y-%m-%dT09:30").to_string(),
            "end": start.format("%Y-%m-%dT12:00").to_string(),
            "capacity": capacity,
        });
        merge(&mut body, extra);
        self.create_session(&event["id"], body).await
    }

    /// Makes a key for the Discord bot and returns its secret.
    pub async fn bot_key(&self) -> String {
        convene_api::domain::keys::create(
            &self.db,
            &format!("bot-{}", random_suffix()),
            KeyRole::Bot,
            &convene_api::domain::audit::Change::new(
                convene_api::domain::audit::Actor::system("tests"),
                self.clock.now(),
            ),
        )
        .await
        .expect("a bot key")
        .secret
    }

    /// A request as the bot acting for Discord user `discord_id`.
    pub fn as_discord(&self, bot: &str, discord_id: &str, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path)
            .bearer_auth(bot)
            .header("X-Discord-User", discord_id)
    }

    /// The code in the last link-code message queued for `participant_id` (read from the outbox).
    pub async fn link_code_for(&self, participant_id: i64) -> String {
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
        let row = entity::notification::Entity::find()
            .filter(entity::notification::Column::ParticipantId.eq(participant_id))
            .filter(entity::notification::Column::Kind.eq("link_code"))
            .order_by_desc(entity::notification::Column::Id)
            .one(&self.db)
            .await
            .expect("the outbox can be read")
            .expect("a link code was queued");
        row.payload["code"].as_str().expect("a code").to_owned()
    }

    /// Links Discord user `discord_id` to `participant` (a participant as created) through
    /// `/v1/bot/link` and `/v1/bot/verify`, as the bot does.
    pub async fn link_discord(&self, bot: &str, participant: &Value, discord_id: &str) {
        let asked = self
            .send(
                self.anonymous(Method::POST, "/v1/bot/link")
                    .bearer_auth(bot)
                    .json(&json!({"discord_id": discord_id, "email": participant["email"]})),
            )
            .await;
        assert_eq!(asked.status, 202, "{}", asked.text);
        let code = self.link_code_for(participant["id"].as_i64().expect("an id")).await;
        let verified = self
            .send(
                self.anonymous(Method::POST, "/v1/bot/verify")
                    .bearer_auth(bot)
                    .json(&json!({"discord_id": discord_id, "code": code})),
            )
            .await;
        assert_eq!(verified.status, 200, "{}", verified.text);
    }

    /// The value of the unlabelled metric `name` in `/metrics` (`None` when it is not there).
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = self.send(self.anonymous(Method::GET, "/metrics")).await.text;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .map(|value| value.trim().parse().expect("a metric's value is a number"))
    }

    /// Waits until the sign-in form's requests carried out (they are, after the form answers)
    /// number `n` in all, as `/metrics` counts them.
    pub async fn wait_for_sign_ins(&self, n: u64) {
        let mut done = 0.0;
        for _ in 0..300 {
            done = self.metric("convene_sign_in_requests_done_total").await.unwrap_or(0.0);
            if done >= n as f64 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{done} sign-in requests carried out after 30 s, not {n}");
    }

    /// Proposes triads for the cohort at `path` (`/v1/cohorts/{id}`) and accepts them as
    /// proposed; returns the accepted triads.
    pub async fn accept_proposed_triads(&self, path: &str) -> Value {
        let proposal = self.post(&format!("{path}/triads:propose"), &json!({})).await;
        assert_eq!(proposal.status, 200, "{}", proposal.text);
        let triads: Vec<Value> = proposal.json()["triads"]
            .as_array()
            .expect("triads")
            .iter()
            .map(|t| json!({"school_ids": t["school_ids"]}))
            .collect();
        let accepted = self
            .send(
                self.request(Method::PUT, &format!("{path}/triads"))
                    .json(&json!({"triads": triads})),
            )
            .await;
        assert_eq!(accepted.status, 200, "{}", accepted.text);
        accepted.json()
    }

    /// Counts outbox rows of `kind`, optionally for one participant.
    pub async fn notifications(&self, kind: &str, participant_id: Option<i64>) -> i64 {
        let filter = participant_id
            .map(|p| format!(" AND participant_id = {p}"))
            .unwrap_or_default();
        self.count(&format!("notifications WHERE kind = '{kind}'{filter}"))
            .await
    }
}

/// The `convene-bot` binary, built with [`convene_binary`].
pub fn convene_bot_binary() -> PathBuf {
    convene_binary().with_file_name("convene-bot")
}

/// The `convene-api` binary, built (debug profile) on first use, for tests and benchmarks that
/// need real separate processes (two workers, `kill -9`). The whole workspace's binaries are
/// built, so that dependencies keep the features `cargo test --workspace` gave them and are
/// not compiled a second time.
pub fn convene_binary() -> PathBuf {
    static BUILT: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    let target = python::target_dir();
    let mut cargo = std::process::Command::new(env!("CARGO"));
    // Only the variables a shell would give cargo: what `cargo test` sets for the test binary
    // (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...) is watched by build scripts such as ring's, and
    // would make this cargo rebuild the workspace, and the next `cargo test` rebuild it back.
    cargo.env_clear();
    for name in [
        "PATH",
        "HOME",
        "USER",
        "TMPDIR",
        "LANG",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "CARGO_BUILD_JOBS",
        "RUSTFLAGS",
    ] {
        if let Some(value) = std::env::var_os(name) {
            cargo.env(name, value);
        }
    }
    // The whole workspace's binaries, so dependencies keep the features `cargo test --workspace`
    // gave them.
    let status = cargo
        .args(["build", "--quiet", "--workspace", "--bins", "--target-dir"])
        .arg(&target)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building convene-api failed");
    let path = target.join("debug").join("convene-api");
    assert!(path.exists(), "no binary at {}", path.display());
    *built = Some(path.clone());
    path
}

/// The address a `convene-api serve` child (its stdout piped) says it listens at, from the first
/// line it prints, without a trailing slash; its stdout is then drained on a thread of its own,
/// so the process never writes to a closed pipe. Fails the test if nothing comes within 2 minutes.
pub fn serve_address(child: &mut std::process::Child) -> String {
    use std::io::{BufRead as _, BufReader};
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("serve's stdout is piped");
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
        for _ in lines {}
    });
    let first = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("serve prints where it listens");
    first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches('/')
        .to_owned()
}

/// A council's published term dates (as Camden publishes them): a term-start marker (not a closure), half term, Christmas.
pub const COUNCIL_TERM_DATES: &str = "BEGIN:VCALENDAR\r\n\
VERSION:2.0\r\n\
PRODID:-//Camden Council//Term dates//EN\r\n\
BEGIN:VEVENT\r\n\
UID:spring-start@camden\r\n\
DTSTART;VALUE=DATE:20270104\r\n\
SUMMARY:Spring term starts\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:half-term@camden\r\n\
DTSTART;VALUE=DATE:20270215\r\n\
DTEND;VALUE=DATE:20270220\r\n\
SUMMARY:Spring half term\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:christmas@camden\r\n\
DTSTART;VALUE=DATE:20261221\r\n\
DTEND;VALUE=DATE:20270102\r\n\
SUMMARY:Christmas holiday\r\n\
END:VEVENT\r\n\
END:VCALENDAR\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
    }
}
