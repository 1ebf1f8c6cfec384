//! What keeps the service standing in front of the open internet: per-client rate limits on the
//! routes anyone can call without a key, request body limits, security headers on every
//! response, and CORS (off unless origins are configured).
//!
//! The rate limiter is one keyed GCRA limiter (actix-governor over the `governor` crate) shared by
//! every route it wraps and every server worker, keyed by the client's IP address. Wrap a scope
//! or resource with [`RateLimit::middleware`]:
//!
//! ```text
//! cfg.service(web::scope("/p").wrap(protection.rate_limit.middleware()).route(...));
//! ```

use std::net::IpAddr;
use std::time::Duration;

use actix_cors::Cors;
use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock as _, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
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

/// The routes' share of the settings: the rate limiter and body limits.
#[derive(Clone)]
pub struct Protection {
    /// The per-client limit on unauthenticated routes.
    pub rate_limit: RateLimit,
    /// The largest JSON body accepted, in bytes.
    pub json_limit: usize,
    /// The largest upload (CSV or calendar import, survey form) accepted, in bytes.
    pub upload_limit: usize,
}

impl Protection {
    /// From the settings.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        Ok(Self {
            rate_limit: RateLimit::per_minute(settings.rate_limit)?,
            json_limit: settings.json_limit_bytes,
            upload_limit: settings.upload_limit_bytes,
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
            "rate_limited",
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
