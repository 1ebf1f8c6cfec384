//! A local fake of Discord's REST API and gateway, good enough for a real serenity 0.12 + poise 0.6
//! bot to start, register its commands, receive interactions and answer them, with no internet
//! and no real token.
//!
//! * REST: an actix-web server (one worker) on `127.0.0.1:<port>`. Give [`FakeDiscord::http_url`] to
//!   serenity's `HttpBuilder::proxy(..)`: serenity then replaces `https://discord.com` in every
//!   route with it, so requests arrive as `/api/v10/...`. Every request is recorded
//!   ([`FakeDiscord::requests`]) and answered with a plausible Discord object, or with
//!   `404 {"message":"Unknown","code":0}` when the route is not known (still recorded).
//! * Discord's OpenAPI document judges both sides ([`crate::discord_spec`]): every request, in
//!   the one dispatch function whatever route it is for, must be a path and method the document
//!   has, with parameters and a JSON body its schemas accept (else it is refused as Discord
//!   would: 404, 405 or 400 `Invalid Form Body`), and every answer must match the document's
//!   schema for its status. Each violation is printed and recorded; dropping the fake while any
//!   are recorded panics with the list, so the test that caused them fails. A test that sends a
//!   bad request on purpose takes them with [`FakeDiscord::take_violations`].
//! * Gateway: a plain `ws://` WebSocket server (JSON text frames, no compression). It sends HELLO,
//!   answers IDENTIFY with READY, HEARTBEAT with HEARTBEAT_ACK, RESUME with RESUMED, and lets the
//!   test push any dispatch ([`FakeDiscord::send_dispatch`], [`FakeDiscord::send_interaction`]).
//!
//! Builders ([`FakeDiscord::slash_command`], [`FakeDiscord::button_click`], ...) produce
//! interaction payloads in Discord's wire format that serenity 0.12.5 deserialises.
//!
//! ```text
//! let fake = FakeDiscord::start().await;
//! let http = serenity::HttpBuilder::new("fake-token")
//!     .proxy(fake.http_url())
//!     .ratelimiter_disabled(true)
//!     .build();
//! let mut client = serenity::ClientBuilder::new_with_http(http, GatewayIntents::non_privileged())
//!     .framework(framework)
//!     .await?;
//! let bot = tokio::spawn(async move { client.start().await });
//! fake.wait_ready(Duration::from_secs(20)).await;
//! let ping = fake.slash_command("ping", Value::Null, 42, true);
//! fake.send_interaction(ping.clone()).await;
//! let callback = fake.wait_for_callback(&ping, Duration::from_secs(20)).await;
//! assert_eq!(callback.body["data"]["content"], "pong");
//! bot.abort();
//! ```
//!
//! What the bot does at startup (serenity 0.12.5 + poise 0.6.2, `Client::start`):
//! `GET /api/v10/oauth2/applications/@me` (poise's owners, while the client is built),
//! `GET /api/v10/gateway`, then the WebSocket to `<url>?v=10` (HELLO, IDENTIFY, HEARTBEAT), and
//! whatever the poise `setup` does after READY (typically
//! `PUT /api/v10/applications/{application_id}/commands`). The application id comes from READY.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use crate::discord_spec::{RequestMedia, Spec, Violation, ViolationKind};

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds, for realistic snowflakes.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// The fake application's id.
const APPLICATION_ID: u64 = 1_100_000_000_000_000_001;
/// The fake bot user's id (Discord makes it equal to the application id for new apps; it is kept
/// distinct here so that mixing the two up shows in tests).
const BOT_USER_ID: u64 = 1_100_000_000_000_000_002;
/// The user reported as the application's owner by `GET /oauth2/applications/@me`.
const OWNER_USER_ID: u64 = 1_100_000_000_000_000_003;
/// The guild used by interaction builders when `guild` is true.
const GUILD_ID: u64 = 1_100_000_000_000_000_004;
/// The guild text channel used by interaction builders when `guild` is true.
const GUILD_CHANNEL_ID: u64 = 1_100_000_000_000_000_005;
/// The default gateway heartbeat interval sent in HELLO, in milliseconds (Discord's usual value).
const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// A permission set with every bit Discord defines (as a decimal string, like Discord sends).
const ALL_PERMISSIONS: &str = "2251799813685247";

/// One REST request received by the fake, in arrival order.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// HTTP method, upper case (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: String,
    /// Request path including the query string, e.g. `/api/v10/channels/1/messages`.
    pub path: String,
    /// The JSON body; for `multipart/form-data` the `payload_json` part; `Value::Null` if none.
    pub body: Value,
    /// Files sent in a `multipart/form-data` request (attachments), in order.
    pub files: Vec<RecordedFile>,
    /// The `Authorization` header (serenity sends `Bot <token>`).
    pub authorization: Option<String>,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// The JSON the fake answered with (`Value::Null` for an empty body, e.g. a 204), so a test
    /// can read ids the bot was given (a created message's `id`, a DM channel's `id`, ...).
    pub response: Value,
}

impl Recorded {
    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// True when the method matches (case-insensitively) and the path without query ends with
    /// `path_suffix`, e.g. `r.is("POST", "/callback")`.
    pub fn is(&self, method: &str, path_suffix: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.path_only().ends_with(path_suffix)
    }
}

/// A file part of a `multipart/form-data` REST request.
#[derive(Clone, Debug)]
pub struct RecordedFile {
    /// The form field name (serenity uses `files[0]`, `files[1]`, ...).
    pub field: String,
    /// The file name given by the client.
    pub filename: String,
    /// The part's content type, if given.
    pub content_type: Option<String>,
    /// The raw bytes.
    pub bytes: Vec<u8>,
}

/// A canned response registered with [`FakeDiscord::stub`].
#[derive(Clone, Debug)]
struct Stub {
    method: String,
    path: String,
    status: u16,
    body: Value,
}

/// The live gateway connection that dispatches go to.
struct GatewayConn {
    /// Connection number, to tell a stale connection from the current one.
    id: u64,
    /// Frames to write to the socket.
    tx: mpsc::UnboundedSender<Message>,
}

/// Mutable state shared by the servers and the test.
#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    gateway_received: Vec<Value>,
    gateway_uris: Vec<String>,
    identify: Option<Value>,
    ready_count: u64,
    heartbeats: u64,
    conn: Option<GatewayConn>,
    seq: u64,
    session_id: String,
    dm_channels: HashMap<u64, u64>,
    /// Interaction token -> original response message.
    originals: HashMap<String, Value>,
    /// Interaction token -> channel id the interaction came from.
    token_channels: HashMap<String, u64>,
    /// Every message created through REST, by id.
    messages: HashMap<u64, Value>,
    global_commands: Vec<Value>,
    guild_commands: HashMap<u64, Vec<Value>>,
    stubs: Vec<Stub>,
    /// REST answers held back: `(method, path suffix, delay)`.
    delays: Vec<(String, String, Duration)>,
    tasks: Vec<tokio::task::AbortHandle>,
    /// Every way a request or an answer strayed from Discord's OpenAPI document, not yet taken
    /// by the test ([`FakeDiscord::take_violations`]); the fake panics on drop if any are left.
    violations: Vec<Violation>,
    /// Guild scheduled events, by id (see the "Guild scheduled events" section).
    scheduled_events: HashMap<u64, Value>,
}

/// State shared behind an `Arc`.
struct Shared {
    http_addr: SocketAddr,
    ws_addr: SocketAddr,
    heartbeat_interval_ms: u64,
    counter: AtomicU64,
    conn_counter: AtomicU64,
    inner: Mutex<Inner>,
}

impl Shared {
    /// Locks the mutable state (recovering from a poisoned lock: a panicking test thread must not
    /// hide the real failure).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh, unique, realistic snowflake (timestamp bits = now).
    fn next_id(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let ms = now_unix_ms().saturating_sub(DISCORD_EPOCH_MS);
        (ms << 22) | (n & 0x3F_FFFF)
    }

    /// The `ws://` URL of the gateway.
    fn ws_url(&self) -> String {
        format!("ws://{}", self.ws_addr)
    }

    /// The DM channel id for a user, allocated on first use.
    fn dm_channel(&self, user_id: u64) -> u64 {
        if let Some(id) = self.lock().dm_channels.get(&user_id) {
            return *id;
        }
        let id = self.next_id();
        *self.lock().dm_channels.entry(user_id).or_insert(id)
    }
}

/// A running fake Discord (REST + gateway). Dropping it stops both servers.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    servers: Vec<JoinHandle<()>>,
    /// Stops the REST server's worker thread.
    rest: actix_web::dev::ServerHandle,
}

impl Drop for FakeDiscord {
    /// Stops both servers, then fails the test that made any request (or got any answer) outside
    /// Discord's OpenAPI document, unless the test took those violations itself.
    fn drop(&mut self) {
        // Sends the stop at once; its future only waits for the worker to finish.
        drop(self.rest.stop(false));
        for server in &self.servers {
            server.abort();
        }
        let violations = {
            let mut inner = self.shared.lock();
            for task in inner.tasks.drain(..) {
                task.abort();
            }
            std::mem::take(&mut inner.violations)
        };
        if violations.is_empty() {
            return;
        }
        let list = format_violations(&violations);
        if std::thread::panicking() {
            // A second panic would abort the process and hide the first failure.
            eprintln!("fake Discord: requests or answers outside Discord's OpenAPI document:\n{list}");
        } else {
            panic!("fake Discord: requests or answers outside Discord's OpenAPI document:\n{list}");
        }
    }
}

/// Renders violations for panic messages, one a line.
fn format_violations(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl FakeDiscord {
    /// Binds the REST server and the gateway on `127.0.0.1`, port 0 each, and starts serving.
    /// HELLO asks for a heartbeat every 41.25 s (serenity's first heartbeat comes one interval
    /// after IDENTIFY, so short tests see none).
    pub async fn start() -> FakeDiscord {
        Self::start_with_heartbeat_interval(Duration::from_millis(HEARTBEAT_INTERVAL_MS)).await
    }

    /// As [`Self::start`], with the heartbeat interval HELLO announces (to exercise heartbeats).
    pub async fn start_with_heartbeat_interval(interval: Duration) -> FakeDiscord {
        let http = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake REST port");
        let ws = TcpListener::bind("127.0.0.1:0").await.expect("bind fake gateway port");
        let shared = Arc::new(Shared {
            http_addr: http.local_addr().expect("REST local addr"),
            ws_addr: ws.local_addr().expect("gateway local addr"),
            heartbeat_interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1),
            counter: AtomicU64::new(1),
            conn_counter: AtomicU64::new(1),
            inner: Mutex::new(Inner::default()),
        });
        let rest = serve_http(http, shared.clone());
        let rest_handle = rest.handle();
        let servers = vec![
            tokio::spawn(async move {
                let _ = rest.await;
            }),
            tokio::spawn(serve_gateway(ws, shared.clone())),
        ];
        FakeDiscord {
            shared,
            servers,
            rest: rest_handle,
        }
    }

    /// Base URL for serenity's `HttpBuilder::proxy(..)`, e.g. `http://127.0.0.1:41234` (no
    /// trailing slash, no `/api/v10`: serenity keeps the `/api/v10/...` path of each route).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.shared.http_addr)
    }

    /// The gateway URL handed out by `GET /gateway` and `GET /gateway/bot`, e.g.
    /// `ws://127.0.0.1:41235` (serenity appends `?v=10`).
    pub fn gateway_url(&self) -> String {
        self.shared.ws_url()
    }

    /// The fake application's id (sent in READY and by `GET /oauth2/applications/@me`).
    pub fn application_id(&self) -> u64 {
        APPLICATION_ID
    }

    /// The fake bot user's id (sent in READY and by `GET /users/@me`).
    pub fn bot_user_id(&self) -> u64 {
        BOT_USER_ID
    }

    /// The application owner's user id (poise puts it in `FrameworkOptions::owners`).
    pub fn owner_user_id(&self) -> u64 {
        OWNER_USER_ID
    }

    /// The guild that interaction builders use when `guild` is true.
    pub fn guild_id(&self) -> u64 {
        GUILD_ID
    }

    /// The guild text channel that interaction builders use when `guild` is true.
    pub fn guild_channel_id(&self) -> u64 {
        GUILD_CHANNEL_ID
    }

    /// The DM channel between the bot and `user_id`: the same id `POST /users/@me/channels`
    /// returns for that recipient, and the channel of DM interactions built for that user.
    pub fn dm_channel_id(&self, user_id: u64) -> u64 {
        self.shared.dm_channel(user_id)
    }

    /// Waits until a shard has IDENTIFYed and been sent READY. Panics after `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let inner = self.shared.lock();
                if inner.ready_count > 0 && inner.conn.is_some() {
                    return;
                }
            }
            if Instant::now() >= deadline {
                let inner = self.shared.lock();
                panic!(
                    "fake Discord: no shard became READY within {timeout:?}; gateway connections: \
                     {:?}; REST requests:\n{}",
                    inner.gateway_uris,
                    format_requests(&inner.requests)
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The number of READY events sent so far (one per IDENTIFY).
    pub fn ready_count(&self) -> u64 {
        self.shared.lock().ready_count
    }

    /// The last IDENTIFY payload's `d` (token, intents, shard, properties, ...), if any.
    pub fn identify_payload(&self) -> Option<Value> {
        self.shared.lock().identify.clone()
    }

    /// Every gateway payload received from the bot except heartbeats (IDENTIFY, presence
    /// updates, guild member requests, ...), in order.
    pub fn gateway_received(&self) -> Vec<Value> {
        self.shared.lock().gateway_received.clone()
    }

    /// The request URIs (path and query, e.g. `/?v=10`) of every gateway connection.
    pub fn gateway_connections(&self) -> Vec<String> {
        self.shared.lock().gateway_uris.clone()
    }

    /// How many HEARTBEATs (op 1) the bot has sent.
    pub fn heartbeat_count(&self) -> u64 {
        self.shared.lock().heartbeats
    }

    /// Sends a dispatch (op 0) with event name `event` (e.g. `"GUILD_CREATE"`) and data `data` on
    /// the current gateway connection, with the next sequence number. Waits (up to 10 s) for a
    /// READY connection first; panics if there is none.
    pub async fn send_dispatch(&self, event: &str, data: Value) {
        self.wait_ready(Duration::from_secs(10)).await;
        let mut inner = self.shared.lock();
        inner.seq += 1;
        let frame = json!({ "op": 0, "t": event, "s": inner.seq, "d": data });
        let conn = inner.conn.as_ref().expect("fake Discord: no gateway connection");
        conn.tx
            .send(Message::Text(frame.to_string()))
            .expect("fake Discord: gateway connection closed");
    }

    /// Dispatches `INTERACTION_CREATE` with `interaction` (from [`Self::slash_command`],
    /// [`Self::button_click`], ...). Remembers its token so that its original response message
    /// lands in the right channel.
    pub async fn send_interaction(&self, interaction: Value) {
        if let (Some(token), Some(channel)) = (interaction["token"].as_str(), id_of(&interaction["channel_id"])) {
            self.shared.lock().token_channels.insert(token.to_string(), channel);
        }
        self.send_dispatch("INTERACTION_CREATE", interaction).await;
    }

    /// Every REST request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Every way a request the fake received, or an answer it gave, strayed from Discord's
    /// OpenAPI document so far (see [`crate::discord_spec`]). They stay recorded: the fake panics
    /// on drop while any are left, so a test that expects some must [`Self::take_violations`].
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.lock().violations.clone()
    }

    /// Returns the recorded violations and forgets them, so that dropping the fake does not fail
    /// the test (for a test that sends a bad request on purpose).
    pub fn take_violations(&self) -> Vec<Violation> {
        std::mem::take(&mut self.shared.lock().violations)
    }

    /// Panics, listing them, if any request or answer so far strayed from Discord's document.
    /// (Dropping the fake does the same; this is for checking midway.)
    pub fn assert_no_violations(&self) {
        let violations = self.take_violations();
        assert!(
            violations.is_empty(),
            "fake Discord: requests or answers outside Discord's OpenAPI document:\n{}",
            format_violations(&violations)
        );
    }

    /// Forgets the recorded REST requests (not the fake's other state).
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Waits for the first recorded request (since start or the last [`Self::clear_requests`])
    /// that satisfies `pred` and returns it. Panics after `timeout`, listing every request seen.
    pub async fn wait_for_request(&self, pred: impl Fn(&Recorded) -> bool, timeout: Duration) -> Recorded {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let inner = self.shared.lock();
                if let Some(found) = inner.requests.iter().find(|r| pred(r)) {
                    return found.clone();
                }
                if Instant::now() >= deadline {
                    panic!(
                        "fake Discord: no matching REST request within {timeout:?}; requests seen:\n{}",
                        format_requests(&inner.requests)
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for the bot's `POST /interactions/{id}/{token}/callback` answering `interaction`
    /// (a payload sent with [`Self::send_interaction`]) and returns it. Panics after `timeout`.
    pub async fn wait_for_callback(&self, interaction: &Value, timeout: Duration) -> Recorded {
        let id = id_of(&interaction["id"]).expect("interaction has an id");
        let token = interaction["token"].as_str().expect("interaction has a token");
        let suffix = format!("/interactions/{id}/{token}/callback");
        self.wait_for_request(move |r| r.is("POST", &suffix), timeout).await
    }

    /// Waits for the bot's follow-up message on `interaction` (`POST /webhooks/{app}/{token}`, how
    /// poise answers after deferring or after a modal) and returns it. Panics after `timeout`.
    pub async fn wait_for_followup(&self, interaction: &Value, timeout: Duration) -> Recorded {
        let token = interaction["token"].as_str().expect("interaction has a token");
        let suffix = format!("/webhooks/{APPLICATION_ID}/{token}");
        self.wait_for_request(move |r| r.method == "POST" && r.path.ends_with(&suffix), timeout)
            .await
    }

    /// The original response message of an interaction (as `GET .../messages/@original` would
    /// return it), if the bot has answered with a message or deferred.
    pub fn original_response(&self, interaction: &Value) -> Option<Value> {
        let token = interaction["token"].as_str()?;
        self.shared.lock().originals.get(token).cloned()
    }

    /// Every message created through REST (channel messages, follow-ups), by id.
    pub fn message(&self, id: u64) -> Option<Value> {
        self.shared.lock().messages.get(&id).cloned()
    }

    /// The commands last registered globally (`PUT /applications/{id}/commands`), as echoed back.
    pub fn global_commands(&self) -> Vec<Value> {
        self.shared.lock().global_commands.clone()
    }

    /// The commands last registered in `guild_id`, as echoed back.
    pub fn guild_commands(&self, guild_id: u64) -> Vec<Value> {
        self.shared
            .lock()
            .guild_commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Answers `method path` (path without query, either the full `/api/v10/...` path or the
    /// part after `/api/v10`) with `status` and `body` instead of the built-in behaviour. Later
    /// stubs for the same route win. A `body` of `Value::Null` sends no body.
    pub fn stub(&self, method: &str, path: &str, status: u16, body: Value) {
        self.shared.lock().stubs.insert(
            0,
            Stub {
                method: method.to_ascii_uppercase(),
                path: path.to_string(),
                status,
                body,
            },
        );
    }

    /// Answers every `method` request whose path (without query) ends with `path_suffix` only
    /// after `delay`, as a slow or rate-limited Discord would (the request is recorded, and acted
    /// on, when it arrives).
    pub fn delay(&self, method: &str, path_suffix: &str, delay: Duration) {
        self.shared
            .lock()
            .delays
            .push((method.to_ascii_uppercase(), path_suffix.to_owned(), delay));
    }

    /// A user object as Discord sends it (`username` `user<id>`, new-style discriminator "0").
    pub fn user_json(&self, user_id: u64) -> Value {
        user_json(user_id)
    }

    /// Builds a base interaction payload of type `kind` (2 command, 3 component, 4 autocomplete,
    /// 5 modal submit) from `user_id`, in the fake guild's channel (`guild` true, with a
    /// `member`) or in the user's DM channel with the bot (with a `user`). `data` is the
    /// interaction's `data` object. The id and token are fresh.
    pub fn interaction(&self, kind: u8, user_id: u64, guild: bool, data: Value) -> Value {
        let channel_id = if guild {
            GUILD_CHANNEL_ID
        } else {
            self.dm_channel_id(user_id)
        };
        self.interaction_in(kind, user_id, guild, channel_id, data)
    }

    /// As [`Self::interaction`] but in a given channel.
    fn interaction_in(&self, kind: u8, user_id: u64, guild: bool, channel_id: u64, data: Value) -> Value {
        let id = self.shared.next_id();
        let mut payload = json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": kind,
            "data": data,
            "channel_id": channel_id.to_string(),
            "token": format!("fake-interaction-token-{id}"),
            "version": 1,
            "app_permissions": ALL_PERMISSIONS,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 26_214_400,
        });
        let obj = payload.as_object_mut().expect("object");
        if guild {
            obj.insert("guild_id".into(), json!(GUILD_ID.to_string()));
            obj.insert("guild_locale".into(), json!("en-US"));
            obj.insert(
                "channel".into(),
                json!({
                    "id": channel_id.to_string(), "type": 0, "name": "general",
                    "guild_id": GUILD_ID.to_string(), "permissions": ALL_PERMISSIONS,
                }),
            );
            obj.insert(
                "member".into(),
                json!({
                    "user": user_json(user_id),
                    "nick": null, "avatar": null, "roles": [],
                    "joined_at": rfc3339(now_unix_ms()), "premium_since": null,
                    "deaf": false, "mute": false, "flags": 0, "pending": false,
                    "permissions": ALL_PERMISSIONS, "communication_disabled_until": null,
                }),
            );
            obj.insert(
                "authorizing_integration_owners".into(),
                json!({ "0": GUILD_ID.to_string() }),
            );
            obj.insert("context".into(), json!(0));
        } else {
            obj.insert("user".into(), user_json(user_id));
            obj.insert(
                "channel".into(),
                json!({ "id": channel_id.to_string(), "type": 1, "recipients": [user_json(user_id)] }),
            );
            obj.insert("authorizing_integration_owners".into(), json!({ "0": "0" }));
            obj.insert("context".into(), json!(1));
        }
        payload
    }

    /// The id of a registered command named `name` (global or in the fake guild), else a fresh
    /// snowflake.
    fn command_id(&self, name: &str, guild: bool) -> u64 {
        let inner = self.shared.lock();
        let guild_cmds = inner.guild_commands.get(&GUILD_ID).filter(|_| guild);
        guild_cmds
            .into_iter()
            .flatten()
            .chain(inner.global_commands.iter())
            .find(|c| c["name"] == name)
            .and_then(|c| id_of(&c["id"]))
            .unwrap_or_else(|| self.shared.next_id())
    }

    /// An APPLICATION_COMMAND (type 2) interaction for slash command `name` from `user_id`, in
    /// the fake guild (`guild`) or in a DM. `options` is Discord's wire format, e.g.
    /// `json!([{"name": "when", "type": 3, "value": "tomorrow"}])`, or for a subcommand
    /// `json!([{"name": "add", "type": 1, "options": [...]}])`; `Value::Null` for none.
    pub fn slash_command(&self, name: &str, options: Value, user_id: u64, guild: bool) -> Value {
        let options = if options.is_null() { json!([]) } else { options };
        let mut data = json!({
            "id": self.command_id(name, guild).to_string(),
            "name": name,
            "type": 1,
            "options": options,
        });
        if guild {
            data["guild_id"] = json!(GUILD_ID.to_string());
        }
        self.interaction(2, user_id, guild, data)
    }

    /// An APPLICATION_COMMAND_AUTOCOMPLETE (type 4) interaction: like [`Self::slash_command`];
    /// mark the option being typed with `"focused": true` (its `value` is the partial text).
    pub fn autocomplete(&self, name: &str, options: Value, user_id: u64, guild: bool) -> Value {
        let mut payload = self.slash_command(name, options, user_id, guild);
        payload["type"] = json!(4);
        payload
    }

    /// A MESSAGE_COMPONENT (type 3) button click on `custom_id` by `user_id` on message
    /// `message_id` in channel `channel_id`, as in a DM. The clicked message is the one the bot
    /// created through the fake if known, else a minimal bot message.
    pub fn button_click(&self, custom_id: &str, user_id: u64, message_id: u64, channel_id: u64) -> Value {
        let data = json!({ "custom_id": custom_id, "component_type": 2 });
        self.component(data, user_id, message_id, channel_id)
    }

    /// A MESSAGE_COMPONENT (type 3) string-select choice of `values` on select menu `custom_id`,
    /// otherwise as [`Self::button_click`].
    pub fn string_select(
        &self,
        custom_id: &str,
        values: &[&str],
        user_id: u64,
        message_id: u64,
        channel_id: u64,
    ) -> Value {
        let data = json!({ "custom_id": custom_id, "component_type": 3, "values": values });
        self.component(data, user_id, message_id, channel_id)
    }

    /// A component interaction in a DM with `data`.
    fn component(&self, data: Value, user_id: u64, message_id: u64, channel_id: u64) -> Value {
        let message = self
            .message(message_id)
            .unwrap_or_else(|| message_json(&self.shared, message_id, channel_id, &json!({}), &[], None));
        let mut payload = self.interaction_in(3, user_id, false, channel_id, data);
        payload["message"] = message;
        payload
    }

    /// A MODAL_SUBMIT (type 5) interaction for modal `custom_id` (poise uses the invoking
    /// interaction's id; read it from the recorded callback's `data.custom_id`), with one text
    /// input per `(field custom_id, value)` pair, each in its own action row.
    pub fn modal_submit(&self, custom_id: &str, fields: &[(&str, &str)], user_id: u64, guild: bool) -> Value {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": id, "value": value }] }))
            .collect();
        let data = json!({ "custom_id": custom_id, "components": rows });
        self.interaction(5, user_id, guild, data)
    }
}

/// Extracts a snowflake from a JSON string or number.
fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// A user object as Discord sends it.
fn user_json(user_id: u64) -> Value {
    json!({
        "id": user_id.to_string(),
        "username": format!("user{user_id}"),
        "discriminator": "0",
        "global_name": format!("User {user_id}"),
        "avatar": null,
        "public_flags": 0,
        "flags": 0,
        "primary_guild": null,
    })
}

/// The bot's own user object (`bot: true`).
fn bot_user_json() -> Value {
    json!({
        "id": BOT_USER_ID.to_string(),
        "username": "convene-fake-bot",
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": true,
        "verified": true,
        "mfa_enabled": false,
        "flags": 0,
        "public_flags": 0,
        "primary_guild": null,
    })
}

/// `GET /oauth2/applications/@me`.
fn application_json() -> Value {
    json!({
        "id": APPLICATION_ID.to_string(),
        "name": "Convene (fake)",
        "icon": null,
        "description": "",
        "rpc_origins": [],
        "bot_public": true,
        "bot_require_code_grant": false,
        "owner": user_json(OWNER_USER_ID),
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "team": null,
        "flags": 0,
        "bot": bot_user_json(),
        "type": null,
        "flags_new": "0",
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": [],
    })
}

/// Milliseconds since the Unix epoch.
fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Formats Unix milliseconds as Discord does: `2025-01-31T12:34:56.789000+00:00`.
fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}000+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// A message object built from a create/edit body (`content`, `embeds`, `components`, `flags`,
/// `tts`) and uploaded files.
fn message_json(
    shared: &Shared,
    id: u64,
    channel_id: u64,
    body: &Value,
    files: &[RecordedFile],
    webhook_id: Option<u64>,
) -> Value {
    let get = |key: &str, default: Value| match body.get(key) {
        Some(v) if !v.is_null() => v.clone(),
        _ => default,
    };
    let mut msg = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": bot_user_json(),
        "content": get("content", json!("")),
        "timestamp": rfc3339(now_unix_ms()),
        "edited_timestamp": null,
        "tts": get("tts", json!(false)),
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments_json(shared, files),
        "embeds": get("embeds", json!([])),
        "pinned": false,
        "type": 0,
        "flags": get("flags", json!(0)),
        "components": components_response(&get("components", json!([]))),
    });
    if let Some(webhook) = webhook_id {
        msg["webhook_id"] = json!(webhook.to_string());
        msg["application_id"] = json!(APPLICATION_ID.to_string());
    }
    msg
}

/// Attachment objects for uploaded files.
fn attachments_json(shared: &Shared, files: &[RecordedFile]) -> Value {
    files
        .iter()
        .map(|f| {
            let id = shared.next_id();
            let url = format!("http://{}/attachments/{id}/{}", shared.http_addr, f.filename);
            json!({
                "id": id.to_string(), "filename": f.filename, "size": f.bytes.len(),
                "url": url, "proxy_url": url, "content_type": f.content_type,
            })
        })
        .collect()
}

/// A message's components as Discord answers them: every component gets the numeric `id`
/// Discord assigns (1, 2, ... depth first) unless it was given one, and a select menu its
/// default `min_values`/`max_values` of 1.
fn components_response(components: &Value) -> Value {
    fn number(value: &mut Value, next: &mut i64) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|item| number(item, next)),
            Value::Object(obj) => {
                if obj.contains_key("type") {
                    if !obj.contains_key("id") {
                        obj.insert("id".into(), json!(*next));
                    }
                    *next += 1;
                    // 3, 5, 6, 7, 8: the select menus.
                    if matches!(obj["type"].as_u64(), Some(3 | 5..=8)) {
                        obj.entry("min_values").or_insert(json!(1));
                        obj.entry("max_values").or_insert(json!(1));
                    }
                }
                for key in ["components", "accessory", "items"] {
                    if let Some(children) = obj.get_mut(key) {
                        number(children, next);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = components.clone();
    number(&mut out, &mut 1);
    out
}

/// Applies an edit body to a stored message.
fn apply_edit(shared: &Shared, msg: &mut Value, body: &Value, files: &[RecordedFile]) {
    for key in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            msg[key] = if key == "components" {
                components_response(v)
            } else {
                v.clone()
            };
        }
    }
    if !files.is_empty() {
        msg["attachments"] = attachments_json(shared, files);
    }
    msg["edited_timestamp"] = json!(rfc3339(now_unix_ms()));
}

/// Removes every null-valued member of the objects in `value`, recursively.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        Value::Object(obj) => {
            obj.retain(|_, v| !v.is_null());
            obj.values_mut().for_each(drop_nulls);
        }
        _ => {}
    }
}

/// Echoes a registered command with the fields Discord adds.
fn echo_command(shared: &Shared, cmd: &Value, guild_id: Option<u64>) -> Value {
    let mut out = cmd.clone();
    let obj = match out.as_object_mut() {
        Some(obj) => obj,
        None => return out,
    };
    // Discord leaves out of its answer what a command's options set to null.
    if let Some(options) = obj.get_mut("options") {
        drop_nulls(options);
    }
    obj.insert("id".into(), json!(shared.next_id().to_string()));
    obj.insert("application_id".into(), json!(APPLICATION_ID.to_string()));
    obj.insert("version".into(), json!(shared.next_id().to_string()));
    obj.entry("type").or_insert(json!(1));
    obj.entry("description").or_insert(json!(""));
    obj.entry("default_member_permissions").or_insert(Value::Null);
    if let Some(g) = guild_id {
        obj.insert("guild_id".into(), json!(g.to_string()));
    }
    out
}

/// Renders recorded requests for panic messages.
fn format_requests(requests: &[Recorded]) -> String {
    if requests.is_empty() {
        return "  (none)".into();
    }
    requests
        .iter()
        .map(|r| {
            let mut body = r.body.to_string();
            if body.len() > 600 {
                body.truncate(600);
                body.push('…');
            }
            format!("  {} {} -> {} {}", r.method, r.path, r.status, body)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

/// Serves REST with actix-web on `listener`, one worker: every request, whatever its path, goes
/// to [`rest`].
fn serve_http(listener: std::net::TcpListener, shared: Arc<Shared>) -> actix_web::dev::Server {
    let data = actix_web::web::Data::new(shared);
    actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(data.clone())
            // Attachments (a calendar file, say) are far below this.
            .app_data(actix_web::web::PayloadConfig::new(64 * 1024 * 1024))
            .default_service(actix_web::web::to(rest))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("the fake REST server listens")
    .run()
}

/// A REST request as the fake reads it.
struct HttpRequest {
    method: String,
    target: String,
    authorization: Option<String>,
    /// The JSON body, or `payload_json` of a multipart one.
    body: Value,
    files: Vec<RecordedFile>,
    /// How the body came (for checking it against Discord's document).
    media: RequestMedia,
}

/// Answers one REST request (after any delay a test asked for).
async fn rest(
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    shared: actix_web::web::Data<Arc<Shared>>,
) -> actix_web::HttpResponse {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header(actix_web::http::header::CONTENT_TYPE).unwrap_or_default();
    let (json_body, files, media) = match multer::parse_boundary(&content_type) {
        Ok(boundary) => {
            let (json, files) = parse_multipart(body, boundary).await;
            let fields = files.iter().map(|f| f.field.clone()).collect();
            (json, files, RequestMedia::Multipart { fields })
        }
        Err(_) if body.is_empty() => (Value::Null, Vec::new(), RequestMedia::None),
        Err(_) => match serde_json::from_slice(&body) {
            Ok(json) if content_type.is_empty() || content_type.starts_with("application/json") => {
                (json, Vec::new(), RequestMedia::Json)
            }
            _ => (
                Value::String(String::from_utf8_lossy(&body).into_owned()),
                Vec::new(),
                RequestMedia::Other(content_type.clone()),
            ),
        },
    };
    let request = HttpRequest {
        method: req.method().as_str().to_owned(),
        target: req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned()),
        authorization: header(actix_web::http::header::AUTHORIZATION),
        body: json_body,
        files,
        media,
    };
    let delay = shared
        .lock()
        .delays
        .iter()
        .find(|(method, suffix, _)| *method == request.method && req.path().ends_with(suffix.as_str()))
        .map(|(_, _, delay)| *delay);
    let (status, answer) = handle_rest(&shared, request);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
    match answer {
        Some(value) if status != actix_web::http::StatusCode::NO_CONTENT => actix_web::HttpResponse::build(status)
            .content_type("application/json")
            .body(value.to_string()),
        _ => actix_web::HttpResponse::build(status).finish(),
    }
}

/// Splits a `multipart/form-data` body into its JSON payload (`payload_json`) and its files.
async fn parse_multipart(body: actix_web::web::Bytes, boundary: String) -> (Value, Vec<RecordedFile>) {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut json_body = Value::Null;
    let mut files = Vec::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(ToString::to_string);
        let Ok(bytes) = field.bytes().await else { break };
        if name == "payload_json" {
            json_body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        } else if let Some(filename) = filename {
            files.push(RecordedFile {
                field: name,
                filename,
                content_type,
                bytes: bytes.to_vec(),
            });
        }
    }
    (json_body, files)
}

/// Records and answers one REST request.
fn handle_rest(shared: &Shared, req: HttpRequest) -> (u16, Option<Value>) {
    let HttpRequest {
        method,
        target,
        authorization,
        body,
        files,
        media,
    } = req;
    let full_path = target.split('?').next().unwrap_or("").to_string();
    let query = target.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default();
    let route = full_path.strip_prefix("/api/v10").unwrap_or(&full_path).to_string();

    let stub = shared
        .lock()
        .stubs
        .iter()
        .find(|s| s.method == method && (s.path == full_path || s.path == route))
        .cloned();
    // Every request, whatever answers it, is checked against Discord's document first: one
    // outside it is refused as Discord would, and recorded so that the test fails.
    let spec = Spec::get();
    let (operation, mut violations) = spec.check_request(&method, &target, &media, &body);
    let (status, response) = match stub {
        _ if !violations.is_empty() => refusal(&violations),
        Some(s) => (s.status, if s.body.is_null() { None } else { Some(s.body) }),
        None => route_rest(shared, &method, &route, &query, &body, &files),
    };
    if let Some(operation) = operation {
        violations.extend(spec.check_response(operation, &method, &target, status, response.as_ref()));
    }
    for violation in &violations {
        eprintln!("fake Discord: outside Discord's OpenAPI document: {violation}");
    }
    let mut inner = shared.lock();
    inner.violations.extend(violations);
    inner.requests.push(Recorded {
        method,
        path: target,
        body,
        files,
        authorization,
        status,
        response: response.clone().unwrap_or(Value::Null),
    });
    (status, response)
}

/// Discord's answer to a request outside its document: `404: Not Found` for an unknown route,
/// `405: Method Not Allowed` for a known route with another method (both code 0, as Discord
/// answers them), else `400 Invalid Form Body` (code 50035) for parameters or a body that do not
/// validate.
fn refusal(violations: &[Violation]) -> (u16, Option<Value>) {
    let kind = violations.first().map(|v| v.kind.clone());
    match kind {
        Some(ViolationKind::UnknownRoute) => (404, Some(json!({ "message": "404: Not Found", "code": 0 }))),
        Some(ViolationKind::UnknownMethod) => (405, Some(json!({ "message": "405: Method Not Allowed", "code": 0 }))),
        _ => (400, Some(json!({ "message": "Invalid Form Body", "code": 50035 }))),
    }
}

/// Discord's error body for an unknown resource.
fn not_found(code: u32, message: &str) -> (u16, Option<Value>) {
    (404, Some(json!({ "message": message, "code": code })))
}

/// The built-in REST behaviour. `route` is the path after `/api/v10`, without query.
fn route_rest(
    shared: &Shared,
    method: &str,
    route: &str,
    _query: &str,
    body: &Value,
    files: &[RecordedFile],
) -> (u16, Option<Value>) {
    let segs: Vec<&str> = route.trim_matches('/').split('/').collect();
    let num = |s: &str| s.parse::<u64>().ok();
    match (method, segs.as_slice()) {
        ("GET", ["gateway"]) => (200, Some(json!({ "url": shared.ws_url() }))),
        ("GET", ["gateway", "bot"]) => (
            200,
            Some(json!({
                "url": shared.ws_url(),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1,
                },
            })),
        ),
        ("GET", ["users", "@me"]) => (200, Some(bot_user_json())),
        ("GET", ["users", id]) => match num(id) {
            Some(id) => (200, Some(user_json(id))),
            None => not_found(10013, "Unknown User"),
        },
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
            (200, Some(application_json()))
        }
        ("PUT", ["applications", _, "commands"]) => {
            let echoed: Vec<Value> = body
                .as_array()
                .map(|cmds| cmds.iter().map(|c| echo_command(shared, c, None)).collect())
                .unwrap_or_default();
            shared.lock().global_commands = echoed.clone();
            (200, Some(Value::Array(echoed)))
        }
        ("GET", ["applications", _, "commands"]) => (200, Some(Value::Array(shared.lock().global_commands.clone()))),
        ("POST", ["applications", _, "commands"]) => {
            let cmd = echo_command(shared, body, None);
            let mut inner = shared.lock();
            inner.global_commands.retain(|c| c["name"] != cmd["name"]);
            inner.global_commands.push(cmd.clone());
            (201, Some(cmd))
        }
        ("PUT", ["applications", _, "guilds", gid, "commands"]) => {
            let gid = num(gid).unwrap_or(0);
            let echoed: Vec<Value> = body
                .as_array()
                .map(|cmds| cmds.iter().map(|c| echo_command(shared, c, Some(gid))).collect())
                .unwrap_or_default();
            shared.lock().guild_commands.insert(gid, echoed.clone());
            (200, Some(Value::Array(echoed)))
        }
        ("GET", ["applications", _, "guilds", gid, "commands"]) => {
            let cmds = num(gid)
                .and_then(|g| shared.lock().guild_commands.get(&g).cloned())
                .unwrap_or_default();
            (200, Some(Value::Array(cmds)))
        }
        ("POST", ["interactions", _id, token, "callback"]) => {
            let kind = body["type"].as_u64().unwrap_or(0);
            // 4 = CHANNEL_MESSAGE_WITH_SOURCE, 5 = DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE.
            if kind == 4 || kind == 5 {
                let channel = shared
                    .lock()
                    .token_channels
                    .get(*token)
                    .copied()
                    .unwrap_or(GUILD_CHANNEL_ID);
                let id = shared.next_id();
                let data = if kind == 4 { body["data"].clone() } else { json!({}) };
                let mut msg = message_json(shared, id, channel, &data, files, Some(APPLICATION_ID));
                if kind == 5 {
                    msg["flags"] = json!(body["data"]["flags"].as_u64().unwrap_or(0) | 128);
                }
                msg["type"] = json!(20);
                shared.lock().originals.insert((*token).to_string(), msg);
            }
            (204, None)
        }
        ("GET", ["webhooks", _, token, "messages", "@original"]) => match shared.lock().originals.get(*token) {
            Some(msg) => (200, Some(msg.clone())),
            None => not_found(10008, "Unknown Message"),
        },
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) => {
            let existing = shared.lock().originals.get(*token).cloned();
            let mut msg = existing.unwrap_or_else(|| {
                let channel = shared
                    .lock()
                    .token_channels
                    .get(*token)
                    .copied()
                    .unwrap_or(GUILD_CHANNEL_ID);
                message_json(shared, shared.next_id(), channel, &json!({}), &[], Some(APPLICATION_ID))
            });
            apply_edit(shared, &mut msg, body, files);
            if let Some(flags) = msg["flags"].as_u64() {
                msg["flags"] = json!(flags & !128); // no longer "loading"
            }
            shared.lock().originals.insert((*token).to_string(), msg.clone());
            (200, Some(msg))
        }
        ("DELETE", ["webhooks", _, token, "messages", "@original"]) => {
            shared.lock().originals.remove(*token);
            (204, None)
        }
        ("POST", ["webhooks", _, token]) => {
            let channel = shared
                .lock()
                .token_channels
                .get(*token)
                .copied()
                .unwrap_or(GUILD_CHANNEL_ID);
            let id = shared.next_id();
            let msg = message_json(shared, id, channel, body, files, Some(APPLICATION_ID));
            shared.lock().messages.insert(id, msg.clone());
            (200, Some(msg))
        }
        ("GET", ["webhooks", _, _, "messages", mid]) | ("GET", ["channels", _, "messages", mid]) => {
            match num(mid).and_then(|m| shared.lock().messages.get(&m).cloned()) {
                Some(msg) => (200, Some(msg)),
                None => not_found(10008, "Unknown Message"),
            }
        }
        ("PATCH", ["webhooks", _, _, "messages", mid]) | ("PATCH", ["channels", _, "messages", mid]) => {
            let Some(mid) = num(mid) else {
                return not_found(10008, "Unknown Message");
            };
            let existing = shared.lock().messages.get(&mid).cloned();
            let Some(mut msg) = existing else {
                return not_found(10008, "Unknown Message");
            };
            apply_edit(shared, &mut msg, body, files);
            shared.lock().messages.insert(mid, msg.clone());
            (200, Some(msg))
        }
        ("DELETE", ["webhooks", _, _, "messages", mid]) | ("DELETE", ["channels", _, "messages", mid]) => {
            if let Some(mid) = num(mid) {
                shared.lock().messages.remove(&mid);
            }
            (204, None)
        }
        ("POST", ["users", "@me", "channels"]) => match id_of(&body["recipient_id"]) {
            Some(user) => {
                let id = shared.dm_channel(user);
                (200, Some(dm_channel_json(id, user)))
            }
            None => (400, Some(json!({ "message": "Invalid Form Body", "code": 50035 }))),
        },
        ("GET", ["channels", cid]) => {
            let cid = num(cid).unwrap_or(0);
            let user = shared
                .lock()
                .dm_channels
                .iter()
                .find(|(_, c)| **c == cid)
                .map(|(u, _)| *u);
            match user {
                Some(user) => (200, Some(dm_channel_json(cid, user))),
                None => not_found(10003, "Unknown Channel"),
            }
        }
        ("POST", ["channels", cid, "messages"]) => {
            let Some(cid) = num(cid) else {
                return not_found(10003, "Unknown Channel");
            };
            let id = shared.next_id();
            let msg = message_json(shared, id, cid, body, files, None);
            shared.lock().messages.insert(id, msg.clone());
            (200, Some(msg))
        }
        ("POST", ["channels", _, "typing"]) => (204, None),
        _ => scheduled_event_route(shared, method, segs.as_slice(), body).unwrap_or_else(|| not_found(0, "Unknown")),
    }
}

/// A DM channel object with `user` as its recipient.
fn dm_channel_json(channel_id: u64, user: u64) -> Value {
    json!({
        "id": channel_id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [user_json(user)],
    })
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

/// Accepts gateway connections forever.
async fn serve_gateway(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        let task = tokio::spawn(handle_gateway_conn(stream, shared.clone()));
        shared.lock().tasks.push(task.abort_handle());
    }
}

/// Serves one gateway WebSocket connection.
async fn handle_gateway_conn(stream: TcpStream, shared: Arc<Shared>) {
    let uri = Arc::new(Mutex::new(String::new()));
    let uri_slot = uri.clone();
    // tungstenite's callback signature fixes the (large) error type.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        *uri_slot.lock().unwrap_or_else(|e| e.into_inner()) = req.uri().to_string();
        Ok(resp)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let uri = uri.lock().unwrap_or_else(|e| e.into_inner()).clone();
    shared.lock().gateway_uris.push(uri);

    let conn_id = shared.conn_counter.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.send(msg).await.is_err() {
                break;
            }
        }
    });
    let send = |v: Value| {
        let _ = tx.send(Message::Text(v.to_string()));
    };
    send(json!({ "op": 10, "s": null, "t": null, "d": { "heartbeat_interval": shared.heartbeat_interval_ms } }));

    while let Some(frame) = source.next().await {
        let text = match frame {
            Ok(Message::Text(t)) => t,
            Ok(Message::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match payload["op"].as_u64() {
            // HEARTBEAT
            Some(1) => {
                shared.lock().heartbeats += 1;
                send(json!({ "op": 11, "s": null, "t": null, "d": null }));
            }
            // IDENTIFY
            Some(2) => {
                let shard = payload["d"]["shard"].clone();
                let session_id = format!("fake-session-{}", shared.next_id());
                let ready = json!({
                    "v": 10,
                    "user": bot_user_json(),
                    "guilds": [],
                    "session_id": session_id,
                    "resume_gateway_url": shared.ws_url(),
                    "shard": if shard.is_array() { shard } else { json!([0, 1]) },
                    "application": { "id": APPLICATION_ID.to_string(), "flags": 0 },
                    "private_channels": [],
                    "presences": [],
                    "relationships": [],
                    "_trace": ["fake-discord"],
                });
                let mut inner = shared.lock();
                inner.gateway_received.push(payload.clone());
                inner.identify = Some(payload["d"].clone());
                inner.session_id = session_id;
                inner.seq = 1;
                inner.conn = Some(GatewayConn {
                    id: conn_id,
                    tx: tx.clone(),
                });
                send(json!({ "op": 0, "t": "READY", "s": 1, "d": ready }));
                inner.ready_count += 1;
            }
            // RESUME
            Some(6) => {
                let mut inner = shared.lock();
                inner.gateway_received.push(payload.clone());
                inner.seq += 1;
                inner.conn = Some(GatewayConn {
                    id: conn_id,
                    tx: tx.clone(),
                });
                send(json!({ "op": 0, "t": "RESUMED", "s": inner.seq, "d": {} }));
            }
            _ => shared.lock().gateway_received.push(payload),
        }
    }
    writer.abort();
    let mut inner = shared.lock();
    if inner.conn.as_ref().is_some_and(|c| c.id == conn_id) {
        inner.conn = None;
    }
}

// ---------------------------------------------------------------------------------------------
// Guild scheduled events (and guild channel messages' buttons)
// ---------------------------------------------------------------------------------------------
//
// `GET|POST /guilds/{guild_id}/scheduled-events` and `GET|PATCH|DELETE
// /guilds/{guild_id}/scheduled-events/{event_id}`, kept in the fake's state so that tests can see
// what the server shows. Answers are shaped as Discord's OpenAPI document's
// `ExternalScheduledEventResponse` (the only entity type Convene makes); a request that Discord
// would refuse (a missing name, start or location, a change of a cancelled or completed event,
// a status change other than SCHEDULED → ACTIVE → COMPLETED or SCHEDULED → CANCELED) gets
// Discord's `400 Invalid Form Body` (code 50035) and changes nothing.

/// Discord's scheduled event statuses.
const EVENT_SCHEDULED: u64 = 1;
const EVENT_ACTIVE: u64 = 2;
const EVENT_COMPLETED: u64 = 3;
const EVENT_CANCELED: u64 = 4;

impl FakeDiscord {
    /// The guild's scheduled events, oldest first (cancelled ones included, as Discord keeps them
    /// for a while; deleted ones gone).
    pub fn scheduled_events(&self, guild_id: u64) -> Vec<Value> {
        let mut events: Vec<(u64, Value)> = self
            .shared
            .lock()
            .scheduled_events
            .iter()
            .filter(|(_, e)| e["guild_id"] == json!(guild_id.to_string()))
            .map(|(id, e)| (*id, e.clone()))
            .collect();
        events.sort_by_key(|(id, _)| *id);
        events.into_iter().map(|(_, e)| e).collect()
    }

    /// The messages created in channel `channel_id` through REST, oldest first.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<Value> {
        let mut messages: Vec<(u64, Value)> = self
            .shared
            .lock()
            .messages
            .iter()
            .filter(|(_, m)| m["channel_id"] == json!(channel_id.to_string()) && m.get("webhook_id").is_none())
            .map(|(id, m)| (*id, m.clone()))
            .collect();
        messages.sort_by_key(|(id, _)| *id);
        messages.into_iter().map(|(_, m)| m).collect()
    }

    /// A button press (MESSAGE_COMPONENT, type 3) on message `message_id` in the fake guild's
    /// text channel `channel_id`, by member `user_id`.
    pub fn guild_button_click(&self, custom_id: &str, user_id: u64, message_id: u64, channel_id: u64) -> Value {
        let message = self
            .message(message_id)
            .unwrap_or_else(|| message_json(&self.shared, message_id, channel_id, &json!({}), &[], None));
        let data = json!({ "custom_id": custom_id, "component_type": 2 });
        let mut payload = self.interaction_in(3, user_id, true, channel_id, data);
        payload["message"] = message;
        payload
    }
}

/// Discord's answer to a body it refuses.
fn invalid_form(field: &str, message: &str) -> (u16, Option<Value>) {
    (
        400,
        Some(json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": { field: { "_errors": [{ "code": "BASE_TYPE_INVALID", "message": message }] } },
        })),
    )
}

/// Reads an RFC 3339 instant as Unix milliseconds (enough of it for serenity's timestamps).
fn instant_ms(value: &Value) -> Option<u64> {
    let text = value.as_str()?;
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(parsed.timestamp_millis()).ok()
}

/// The scheduled-event routes; `None` for any other route.
fn scheduled_event_route(shared: &Shared, method: &str, segs: &[&str], body: &Value) -> Option<(u16, Option<Value>)> {
    let ["guilds", guild, "scheduled-events", rest @ ..] = segs else {
        return None;
    };
    let guild: u64 = guild.parse().ok()?;
    let event_id = match rest {
        [] => None,
        [id] => Some(id.parse::<u64>().ok()?),
        _ => return None,
    };
    let in_guild = |e: &Value| e["guild_id"] == json!(guild.to_string());
    Some(match (method, event_id) {
        ("GET", None) => {
            let fake = shared.lock();
            let mut events: Vec<(&u64, &Value)> = fake.scheduled_events.iter().filter(|(_, e)| in_guild(e)).collect();
            events.sort_by_key(|(id, _)| **id);
            (
                200,
                Some(Value::Array(events.into_iter().map(|(_, e)| e.clone()).collect())),
            )
        }
        ("POST", None) => {
            let name = body["name"].as_str().unwrap_or_default();
            let location = body["entity_metadata"]["location"].as_str().unwrap_or_default();
            if name.is_empty() || name.chars().count() > 100 {
                return Some(invalid_form("name", "1 to 100 characters"));
            }
            if body["entity_type"] != json!(3) {
                return Some(invalid_form("entity_type", "only EXTERNAL (3) is made by this fake"));
            }
            if location.is_empty() || location.chars().count() > 100 {
                return Some(invalid_form("entity_metadata", "an external event needs a location"));
            }
            let (Some(start), Some(end)) = (
                instant_ms(&body["scheduled_start_time"]),
                instant_ms(&body["scheduled_end_time"]),
            ) else {
                return Some(invalid_form(
                    "scheduled_start_time",
                    "an external event needs a start and an end",
                ));
            };
            if start <= now_unix_ms() || end <= start {
                return Some(invalid_form(
                    "scheduled_start_time",
                    "starts in the future and ends after it starts",
                ));
            }
            if body["privacy_level"] != json!(2) {
                return Some(invalid_form("privacy_level", "GUILD_ONLY (2)"));
            }
            let id = shared.next_id();
            let event = json!({
                "id": id.to_string(),
                "guild_id": guild.to_string(),
                "name": name,
                "description": body["description"].clone(),
                "channel_id": null,
                "creator_id": BOT_USER_ID.to_string(),
                "creator": bot_user_json(),
                "image": null,
                "scheduled_start_time": rfc3339(start),
                "scheduled_end_time": rfc3339(end),
                "status": EVENT_SCHEDULED,
                "entity_type": 3,
                "entity_id": null,
                "recurrence_rule": null,
                "user_count": 0,
                "privacy_level": 2,
                "user_rsvp": null,
                "guild_scheduled_event_exceptions": [],
                "entity_metadata": { "location": location },
            });
            shared.lock().scheduled_events.insert(id, event.clone());
            (200, Some(event))
        }
        ("GET", Some(id)) => match shared.lock().scheduled_events.get(&id).filter(|e| in_guild(e)) {
            Some(event) => (200, Some(event.clone())),
            None => not_found(10070, "Unknown Guild Scheduled Event"),
        },
        ("PATCH", Some(id)) => {
            let Some(mut event) = shared.lock().scheduled_events.get(&id).filter(|e| in_guild(e)).cloned() else {
                return Some(not_found(10070, "Unknown Guild Scheduled Event"));
            };
            let status = event["status"].as_u64().unwrap_or(EVENT_SCHEDULED);
            if status == EVENT_CANCELED || status == EVENT_COMPLETED {
                return Some(invalid_form(
                    "status",
                    "a cancelled or completed event cannot be changed",
                ));
            }
            if let Some(to) = body["status"].as_u64() {
                let allowed = matches!(
                    (status, to),
                    (EVENT_SCHEDULED, EVENT_ACTIVE | EVENT_CANCELED) | (EVENT_ACTIVE, EVENT_COMPLETED)
                ) || status == to;
                if !allowed {
                    return Some(invalid_form("status", "not a status this event can move to"));
                }
                event["status"] = json!(to);
            }
            if let Some(name) = body.get("name").and_then(Value::as_str) {
                if name.is_empty() || name.chars().count() > 100 {
                    return Some(invalid_form("name", "1 to 100 characters"));
                }
                event["name"] = json!(name);
            }
            if let Some(description) = body.get("description") {
                event["description"] = description.clone();
            }
            for key in ["scheduled_start_time", "scheduled_end_time"] {
                if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
                    let Some(ms) = instant_ms(value) else {
                        return Some(invalid_form(key, "an ISO 8601 timestamp"));
                    };
                    event[key] = json!(rfc3339(ms));
                }
            }
            if let Some(location) = body["entity_metadata"]["location"].as_str() {
                if location.is_empty() || location.chars().count() > 100 {
                    return Some(invalid_form("entity_metadata", "an external event needs a location"));
                }
                event["entity_metadata"] = json!({ "location": location });
            }
            shared.lock().scheduled_events.insert(id, event.clone());
            (200, Some(event))
        }
        ("DELETE", Some(id)) => match shared.lock().scheduled_events.remove(&id) {
            Some(_) => (204, None),
            None => not_found(10070, "Unknown Guild Scheduled Event"),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_multipart_message_is_read_as_its_json_payload_and_its_files() {
        let body = "--b0undary\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{\"content\":\"Your calendar\"}\r\n--b0undary\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"visit.ics\"\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n--b0undary--\r\n";
        let (json, files) = parse_multipart(actix_web::web::Bytes::from(body), "b0undary".to_owned()).await;
        assert_eq!(json, json!({"content": "Your calendar"}));
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].field, "files[0]");
        assert_eq!(files[0].filename, "visit.ics");
        assert_eq!(files[0].content_type.as_deref(), Some("text/calendar"));
        assert_eq!(files[0].bytes, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR");
    }
}
