//! The bot's view of the Convene API: a trait of the calls it makes (so the command core can be
//! driven by anything that speaks them) and its implementation over HTTP with a bot key. The
//! request and response types are the API's own, from the `convene-api` library.

use std::future::Future;
use std::time::Duration;

use convene_api::wire::booking::Booking;
use convene_api::wire::discord::{ChannelPost, GuildEventAck, GuildEventSync, LeasedGuildEvents, LeasedPosts};
use convene_api::wire::feed::FeedToken;
use convene_api::wire::link::{LinkRequest, LinkRequested, Linked, VerifyRequest};
use convene_api::wire::me::{MyBooking, MyBookingInput, OpenSession, Preferences, PreferencesInput};
use convene_api::wire::notifications::{DiscordMessage, LeaseRequest, Leased};
use convene_api::wire::participant::Participant;
use convene_api::wire::problem::Problem;
use convene_api::wire::reflection::{Reflection, ReflectionText};
use convene_api::wire::survey::Invitation;
use convene_api::wire::survey::{AnswersInput, InvitationList};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call failed: the API refused it (with its problem), or it could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ApiFailure {
    /// The API answered with an error.
    #[error("{} {}: {}", .0.status, .0.code, .0.detail)]
    Refused(Box<Problem>),
    /// No usable answer: the API is down, unreachable, or answered something unreadable.
    #[error("the Convene API could not be reached: {0}")]
    Unreachable(String),
}

impl ApiFailure {
    /// The problem's stable code, if the API answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused(p) => Some(&p.code),
            Self::Unreachable(_) => None,
        }
    }
}

/// The result of a call.
pub type ApiResult<T> = Result<T, ApiFailure>;

/// A page of a list, as the API sends it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The next page's cursor.
    pub next_cursor: Option<String>,
}

/// Which sessions to list.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SessionQuery {
    /// `conference` or `slp_session`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Text in the title or label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// How many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A booking made: new (`created`) or the one the person already had.
#[derive(Clone, Debug)]
pub struct Made {
    /// The booking.
    pub booking: Booking,
    /// Whether it is new.
    pub created: bool,
}

/// Every call the bot makes. `user` is the Discord user acted for.
pub trait ConveneApi: Send + Sync {
    /// `POST /v1/bot/link`.
    fn link(&self, user: &str, email: &str) -> impl Future<Output = ApiResult<LinkRequested>> + Send;
    /// `POST /v1/bot/verify`.
    fn verify(&self, user: &str, code: &str) -> impl Future<Output = ApiResult<Linked>> + Send;
    /// `GET /v1/me`.
    fn me(&self, user: &str) -> impl Future<Output = ApiResult<Participant>> + Send;
    /// `GET /v1/me/sessions`.
    fn sessions(&self, user: &str, query: &SessionQuery) -> impl Future<Output = ApiResult<Page<OpenSession>>> + Send;
    /// `GET /v1/me/bookings?when=`.
    fn bookings(&self, user: &str, when: &str) -> impl Future<Output = ApiResult<Page<MyBooking>>> + Send;
    /// `GET /v1/me/bookings/{id}`.
    fn booking(&self, user: &str, id: i64) -> impl Future<Output = ApiResult<MyBooking>> + Send;
    /// `POST /v1/me/bookings` with an idempotency key.
    fn book(&self, user: &str, session_id: i64, idempotency_key: &str) -> impl Future<Output = ApiResult<Made>> + Send;
    /// `DELETE /v1/me/bookings/{id}`.
    fn cancel(&self, user: &str, id: i64) -> impl Future<Output = ApiResult<MyBooking>> + Send;
    /// `GET /v1/me/feed`, or `POST /v1/me/feed-token` to replace it.
    fn feed(&self, user: &str, rotate: bool) -> impl Future<Output = ApiResult<FeedToken>> + Send;
    /// `GET /v1/me/preferences`.
    fn preferences(&self, user: &str) -> impl Future<Output = ApiResult<Preferences>> + Send;
    /// `PATCH /v1/me/preferences`.
    fn set_preferences(
        &self,
        user: &str,
        change: &PreferencesInput,
    ) -> impl Future<Output = ApiResult<Preferences>> + Send;
    /// `POST /v1/me/reflections`.
    fn reflect(&self, user: &str, text: &ReflectionText) -> impl Future<Output = ApiResult<Reflection>> + Send;
    /// `GET /v1/me/surveys`.
    fn surveys(&self, user: &str) -> impl Future<Output = ApiResult<Vec<Invitation>>> + Send;
    /// `POST /v1/me/surveys/{id}/answers` with one answer (`null` skips an optional question).
    fn answer_survey(
        &self,
        user: &str,
        invitation: i64,
        key: &str,
        value: serde_json::Value,
    ) -> impl Future<Output = ApiResult<Invitation>> + Send;
    /// `POST /v1/bot/notifications/lease`.
    fn lease(&self, limit: i64, lease_seconds: i64) -> impl Future<Output = ApiResult<Vec<DiscordMessage>>> + Send;
    /// `POST /v1/bot/notifications/{id}/ack`.
    fn ack(&self, id: i64) -> impl Future<Output = ApiResult<()>> + Send;
}

/// The API over HTTP.
#[derive(Clone, Debug)]
pub struct HttpApi {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl HttpApi {
    /// A client of the API at `base` (e.g. `http://127.0.0.1:8080`) with bot key `key`.
    pub fn new(base: &str, key: &str) -> Result<Self, ApiFailure> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("convene-bot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            client,
        })
    }

    /// Sends a request (as `user` when given) and returns the status and body, or the problem.
    async fn send(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<&(dyn erased::Json + Sync)>,
        extra: &[(&str, &str)],
    ) -> ApiResult<(u16, bytes::Bytes)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(user) = user {
            request = request.header("X-Discord-User", user);
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_json());
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
        if status >= 400 {
            return Err(match serde_json::from_slice::<Problem>(&bytes) {
                Ok(problem) => ApiFailure::Refused(Box::new(problem)),
                Err(_) => ApiFailure::Unreachable(format!("HTTP {status} without a problem body")),
            });
        }
        Ok((status, bytes))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<&(dyn erased::Json + Sync)>,
    ) -> ApiResult<T> {
        let (_, bytes) = self.send(method, path, user, body, &[]).await?;
        decode(&bytes)
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| ApiFailure::Unreachable(format!("an answer the bot cannot read: {e}")))
}

/// Object-safe JSON bodies.
mod erased {
    /// A value that can be sent as JSON.
    pub trait Json {
        /// Its JSON text.
        fn to_json(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

impl ConveneApi for HttpApi {
    async fn link(&self, user: &str, email: &str) -> ApiResult<LinkRequested> {
        let body = LinkRequest {
            discord_id: Some(user.to_owned()),
            email: Some(email.to_owned()),
        };
        self.call(Method::POST, "/v1/bot/link", None, Some(&body)).await
    }

    async fn verify(&self, user: &str, code: &str) -> ApiResult<Linked> {
        let body = VerifyRequest {
            discord_id: Some(user.to_owned()),
            code: Some(code.to_owned()),
        };
        self.call(Method::POST, "/v1/bot/verify", None, Some(&body)).await
    }

    async fn me(&self, user: &str) -> ApiResult<Participant> {
        self.call(Method::GET, "/v1/me", Some(user), None).await
    }

    async fn sessions(&self, user: &str, query: &SessionQuery) -> ApiResult<Page<OpenSession>> {
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        self.call(Method::GET, &format!("/v1/me/sessions?{query}"), Some(user), None)
            .await
    }

    async fn bookings(&self, user: &str, when: &str) -> ApiResult<Page<MyBooking>> {
        self.call(Method::GET, &format!("/v1/me/bookings?when={when}"), Some(user), None)
            .await
    }

    async fn booking(&self, user: &str, id: i64) -> ApiResult<MyBooking> {
        self.call(Method::GET, &format!("/v1/me/bookings/{id}"), Some(user), None)
            .await
    }

    async fn book(&self, user: &str, session_id: i64, idempotency_key: &str) -> ApiResult<Made> {
        let body = MyBookingInput {
            session_id: Some(session_id),
        };
        let (status, bytes) = self
            .send(
                Method::POST,
                "/v1/me/bookings",
                Some(user),
                Some(&body),
                &[("Idempotency-Key", idempotency_key)],
            )
            .await?;
        Ok(Made {
            booking: decode(&bytes)?,
            created: status == 201,
        })
    }

    async fn cancel(&self, user: &str, id: i64) -> ApiResult<MyBooking> {
        self.call(Method::DELETE, &format!("/v1/me/bookings/{id}"), Some(user), None)
            .await
    }

    async fn feed(&self, user: &str, rotate: bool) -> ApiResult<FeedToken> {
        if rotate {
            self.call(Method::POST, "/v1/me/feed-token", Some(user), None).await
        } else {
            self.call(Method::GET, "/v1/me/feed", Some(user), None).await
        }
    }

    async fn preferences(&self, user: &str) -> ApiResult<Preferences> {
        self.call(Method::GET, "/v1/me/preferences", Some(user), None).await
    }

    async fn set_preferences(&self, user: &str, change: &PreferencesInput) -> ApiResult<Preferences> {
        self.call(Method::PATCH, "/v1/me/preferences", Some(user), Some(change))
            .await
    }

    async fn reflect(&self, user: &str, text: &ReflectionText) -> ApiResult<Reflection> {
        self.call(Method::POST, "/v1/me/reflections", Some(user), Some(text))
            .await
    }

    async fn surveys(&self, user: &str) -> ApiResult<Vec<Invitation>> {
        let list: InvitationList = self.call(Method::GET, "/v1/me/surveys", Some(user), None).await?;
        Ok(list.items)
    }

    async fn answer_survey(
        &self,
        user: &str,
        invitation: i64,
        key: &str,
        value: serde_json::Value,
    ) -> ApiResult<Invitation> {
        let body = AnswersInput {
            answers: Some([(key.to_owned(), value)].into_iter().collect()),
            complete: Some(false),
        };
        self.call(
            Method::POST,
            &format!("/v1/me/surveys/{invitation}/answers"),
            Some(user),
            Some(&body),
        )
        .await
    }

    async fn lease(&self, limit: i64, lease_seconds: i64) -> ApiResult<Vec<DiscordMessage>> {
        let body = LeaseRequest {
            limit: Some(limit),
            lease_seconds: Some(lease_seconds),
        };
        let leased: Leased = self
            .call(Method::POST, "/v1/bot/notifications/lease", None, Some(&body))
            .await?;
        Ok(leased.items)
    }

    async fn ack(&self, id: i64) -> ApiResult<()> {
        self.send(
            Method::POST,
            &format!("/v1/bot/notifications/{id}/ack"),
            None,
            None,
            &[],
        )
        .await
        .map(|_| ())
    }
}

/// The bot's share of Discord, natively: channel posts and the server's scheduled events. Only
/// the Discord adapter makes these calls (the console has no channel nor server), so they are
/// the HTTP client's own rather than the command core's trait's.
impl HttpApi {
    /// `POST /v1/bot/channel-posts/lease`.
    pub async fn lease_channel_posts(&self, limit: i64, lease_seconds: i64) -> ApiResult<Vec<ChannelPost>> {
        let body = LeaseRequest {
            limit: Some(limit),
            lease_seconds: Some(lease_seconds),
        };
        let leased: LeasedPosts = self
            .call(Method::POST, "/v1/bot/channel-posts/lease", None, Some(&body))
            .await?;
        Ok(leased.items)
    }

    /// `POST /v1/bot/channel-posts/{id}/ack`.
    pub async fn ack_channel_post(&self, id: i64) -> ApiResult<()> {
        self.send(
            Method::POST,
            &format!("/v1/bot/channel-posts/{id}/ack"),
            None,
            None,
            &[],
        )
        .await
        .map(|_| ())
    }

    /// `POST /v1/bot/guild-events/lease`.
    pub async fn lease_guild_events(&self, limit: i64, lease_seconds: i64) -> ApiResult<Vec<GuildEventSync>> {
        let body = LeaseRequest {
            limit: Some(limit),
            lease_seconds: Some(lease_seconds),
        };
        let leased: LeasedGuildEvents = self
            .call(Method::POST, "/v1/bot/guild-events/lease", None, Some(&body))
            .await?;
        Ok(leased.items)
    }

    /// `POST /v1/bot/guild-events/{session_id}/ack`.
    pub async fn ack_guild_event(&self, session_id: i64, discord_event_id: &str, version: i32) -> ApiResult<()> {
        let body = GuildEventAck {
            discord_event_id: discord_event_id.to_owned(),
            version: i64::from(version),
        };
        self.send(
            Method::POST,
            &format!("/v1/bot/guild-events/{session_id}/ack"),
            None,
            Some(&body),
            &[],
        )
        .await
        .map(|_| ())
    }
}
