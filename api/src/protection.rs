//! What keeps the service standing in front of the open internet: per-client rate limits on the
//! routes anyone can call without a key, request body limits, security headers on every
//! response, and CORS (off unless origins are configured).
//!
//! Requests with a bot key are limited after the key is checked ([`BotLimits`]): per Discord user
//! the bot acts for, and per key in all, so one chatty user cannot use up the bot's share.
//!
//! The rate limiter is one keyed GCRA limiter (actix-governor over the `governor` crate) shared by
//! every route it wraps and every server worker, keyed by the client's IP address. Wrap a scope
//! or resource with [`RateLimit::middleware`]:
//!
//! ```text
//! cfg.service(web::scope("/p").wrap(protection.rate_limit.middleware()).route(...));
//! ```

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock as _, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use actix_governor::{Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::http::header::HeaderMap;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Condition, Next};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError as _};

use crate::config::Settings;
use crate::error::ApiError;
use crate::problem_code::ProblemCode;

/// The routes' share of the settings: the rate limiter and body limits.
#[derive(Clone)]
pub struct Protection {
    /// The per-client limit on unauthenticated routes.
    pub rate_limit: RateLimit,
    /// The largest JSON body accepted, in bytes.
    pub json_limit: usize,
    /// The largest upload (CSV or calendar import, survey form) accepted, in bytes.
    pub upload_limit: usize,
    /// The limits on requests with a bot key.
    pub bot_limits: BotLimits,
}

impl Protection {
    /// From the settings.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        Ok(Self {
            rate_limit: RateLimit::per_minute(settings.rate_limit)?,
            json_limit: settings.json_limit_bytes,
            upload_limit: settings.upload_limit_bytes,
            bot_limits: BotLimits::per_minute(settings.bot_user_rate_limit, settings.bot_key_rate_limit),
        })
    }
}

/// The key of a rate-limited request: the address of the client that connected.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp;

impl KeyExtractor for ClientIp {
    type Key = IpAddr;
    type KeyExtractionError = ApiError;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, ApiError> {
        req.peer_addr()
            .map(|addr| addr.ip())
            .ok_or_else(|| ApiError::internal(&"the client's address is unknown"))
    }

    fn exceed_rate_limit_response(&self, negative: &NotUntil<QuantaInstant>, _: HttpResponseBuilder) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now());
        // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry that fails.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::too_many(
            ProblemCode::RateLimited,
            format!("too many requests from this address; try again in {seconds} s"),
            seconds.max(1),
        )
        .error_response()
    }
}

/// A per-client limit of requests per minute (a burst of that many, refilled evenly over the
/// minute); `0` turns it off.
#[derive(Clone)]
pub struct RateLimit {
    per_minute: u32,
    config: GovernorConfig<ClientIp, NoOpMiddleware<QuantaInstant>>,
}

impl RateLimit {
    /// `per_minute` requests a minute per client IP; `0` for no limit.
    pub fn per_minute(per_minute: u32) -> Result<Self, String> {
        let quota = per_minute.max(1);
        let period = (Duration::from_secs(60) / quota).max(Duration::from_millis(1));
        let config = GovernorConfigBuilder::default()
            .key_extractor(ClientIp)
            .period(period)
            .burst_size(quota)
            .finish()
            .ok_or_else(|| format!("a rate limit of {per_minute} requests a minute cannot be set"))?;
        Ok(Self { per_minute, config })
    }

    /// Whether requests are limited at all.
    pub fn enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// The middleware to wrap a scope or resource with: the limit when on, a pass-through when off.
    /// Every wrap shares one set of buckets, so a client's calls to any limited route add up.
    pub fn middleware(&self) -> Condition<Governor<ClientIp, NoOpMiddleware<QuantaInstant>>> {
        Condition::new(self.enabled(), Governor::new(&self.config))
    }

    /// Forgets, once a minute, the clients whose buckets are full again, so the table of
    /// addresses does not grow without end. Needs a Tokio runtime.
    pub fn spawn_cleanup(&self) {
        if !self.enabled() {
            return;
        }
        let limiter = self.config.limiter().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        });
    }
}

/// Per-minute limits on a bot key's requests (a burst of that many, refilled evenly over the
/// minute): per Discord user it acts for (`X-Discord-User`), and per key in all. `0` turns either
/// off. Only requests whose key was checked reach them, so only a bot can add entries.
#[derive(Clone, Default)]
pub struct BotLimits {
    per_user: Option<Arc<DefaultKeyedRateLimiter<(i64, String)>>>,
    per_key: Option<Arc<DefaultKeyedRateLimiter<i64>>>,
}

impl BotLimits {
    /// `per_user` requests a minute per Discord user and key, `per_key` per key; `0` for none.
    pub fn per_minute(per_user: u32, per_key: u32) -> Self {
        Self {
            per_user: NonZeroU32::new(per_user).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n)))),
            per_key: NonZeroU32::new(per_key).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n)))),
        }
    }

    /// Counts a request of bot key `key_id`, acting for `discord_id` when it names one; a request
    /// over either limit is `429 rate_limited` with `Retry-After` (and does not count against the
    /// key when its user's limit refused it).
    pub fn check(&self, key_id: i64, discord_id: Option<&str>) -> Result<(), ApiError> {
        if let (Some(limiter), Some(user)) = (&self.per_user, discord_id)
            && let Err(negative) = limiter.check_key(&(key_id, user.to_owned()))
        {
            return Err(too_many(&negative, "this Discord user"));
        }
        if let Some(limiter) = &self.per_key
            && let Err(negative) = limiter.check_key(&key_id)
        {
            return Err(too_many(&negative, "this bot key"));
        }
        Ok(())
    }

    /// Forgets, once a minute, the users and keys whose buckets are full again. Needs a Tokio
    /// runtime.
    pub fn spawn_cleanup(&self) {
        let (per_user, per_key) = (self.per_user.clone(), self.per_key.clone());
        if per_user.is_none() && per_key.is_none() {
            return;
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Some(limiter) = &per_user {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
                if let Some(limiter) = &per_key {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
        });
    }
}

/// The 429 for a request over a limit, naming `whose` limit it was.
fn too_many(negative: &NotUntil<QuantaInstant>, whose: &str) -> ApiError {
    let wait = negative.wait_time_from(DefaultClock::default().now());
    // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry that fails.
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    ApiError::too_many(
        ProblemCode::RateLimited,
        format!("too many requests from {whose}; try again in {seconds} s"),
        seconds,
    )
}

/// The Content-Security-Policy of responses that set none: nothing may load, nothing may frame.
/// Convene's own HTML pages (the survey form) set their own, which allows their inline styles.
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Middleware (for `middleware::from_fn`): security headers on every response —
/// `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`,
/// and a Content-Security-Policy where the handler set none (Swagger UI under `/docs` needs its
/// scripts and styles, so it gets only `frame-ancestors 'none'`). An error a middleware raised
/// (a CORS refusal, say) becomes a problem+json response here, so it gets them too.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let docs = req.path().starts_with("/docs");
    match next.call(req).await {
        Ok(mut res) => {
            harden(res.headers_mut(), docs);
            Ok(res)
        }
        Err(err) => {
            // The request is gone by now: answer through an error that carries the whole response.
            let status = err.as_response_error().status_code();
            let detail = err.to_string();
            let mut response = ApiError::from_status(status, detail.clone()).error_response();
            harden(response.headers_mut(), docs);
            Err(InternalError::from_response(detail, response).into())
        }
    }
}

fn harden(headers: &mut HeaderMap, docs: bool) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if docs { "frame-ancestors 'none'" } else { DEFAULT_CSP };
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
}

/// CORS for browser clients on `origins` (exact origins such as `https://network.example.org`);
/// with none, the middleware is a pass-through and browsers keep their same-origin rule.
pub fn cors(origins: &[String]) -> Condition<Cors> {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::LOCATION, header::ETAG, header::RETRY_AFTER])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    Condition::new(!origins.is_empty(), cors)
}
