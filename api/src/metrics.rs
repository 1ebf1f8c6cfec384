//! Prometheus metrics, served at `/metrics`: request counts and latencies by route pattern,
//! method and status; the response cache's size; the outbox's lag and the messages sent and
//! failed by channel and kind; and how long requests waited for a database connection.

use std::sync::atomic::AtomicU64;
use std::sync::{LazyLock, Mutex};

use actix_web::http::Method;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::cache::{CacheUsage, ResponseCache};

/// The labels of a request metric: the route pattern (never the raw path), method and status.
/// Every value comes from a closed set, so no client can add series: build them with
/// [`RequestLabels::new`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route pattern, e.g. `/v1/schools/{id}`, or `unmatched`.
    route: String,
    /// The HTTP method if it is one the service knows, else `other`.
    method: &'static str,
    /// The response status.
    status: u16,
}

impl RequestLabels {
    /// The labels of a request answered with `status`: `route` is the pattern the router matched
    /// (`None` gives `unmatched`), and a method outside the standard set is `other`.
    pub fn new(route: Option<String>, method: &Method, status: u16) -> Self {
        Self {
            route: route.unwrap_or_else(|| "unmatched".to_owned()),
            method: method_label(method),
            status,
        }
    }
}

/// The label of a method: its name for the methods the service answers, else `other` (a client
/// may send any token as a method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The labels of an outbox metric: the channel and the kind of message, both from closed sets.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    /// `email` or `discord`.
    pub channel: &'static str,
    /// The kind, e.g. `booking_confirmed` (`other` for a kind this build does not know).
    pub kind: &'static str,
}

/// The label of a per-channel metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// `email` or `discord`.
    pub channel: &'static str,
}

/// How long taking a connection from a pool waited, in seconds: sqlx reports each as a
/// `sqlx::pool::acquire` event (turned on for the pools by `db`), which [`PoolWaitLayer`] records
/// here. One per process, as the pools' events are.
static POOL_WAIT: LazyLock<Histogram> = LazyLock::new(|| Histogram::new(exponential_buckets(0.0001, 2.0, 18)));

/// A `tracing` layer that records sqlx's `sqlx::pool::acquire` events in the pool-wait histogram.
pub struct PoolWaitLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PoolWaitLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != POOL_ACQUIRE_TARGET {
            return;
        }
        let mut wait = AcquiredAfter(None);
        event.record(&mut wait);
        if let Some(seconds) = wait.0 {
            POOL_WAIT.observe(seconds);
        }
    }
}

/// The target of sqlx's events about taking a connection from a pool.
pub const POOL_ACQUIRE_TARGET: &str = "sqlx::pool::acquire";

/// The `acquired_after_secs` field of sqlx's acquire event.
struct AcquiredAfter(Option<f64>);

impl tracing::field::Visit for AcquiredAfter {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "acquired_after_secs" {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

/// The service's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram>,
    sent: Family<MessageLabels, Counter>,
    failed: Family<MessageLabels, Counter>,
    lag: Family<ChannelLabels, Gauge<f64, AtomicU64>>,
    lag_read_at: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    cache_entries: Gauge,
    cache_bytes: Gauge,
    sign_ins_done: Counter,
    sign_ins_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers the metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("convene");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            durations.clone(),
        );
        let sent = Family::<MessageLabels, Counter>::default();
        let failed = Family::<MessageLabels, Counter>::default();
        let lag = Family::<ChannelLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "outbox_messages_sent",
            "Messages delivered (email: accepted by the SMTP server or written to the folder; discord: acknowledged by the bot)",
            sent.clone(),
        );
        registry.register(
            "outbox_messages_failed",
            "Tries to send a message that failed (it is tried again later, or ends dead)",
            failed.clone(),
        );
        registry.register(
            "outbox_lag_seconds",
            "How long the oldest message that is due and not yet sent has been due (0: none waiting)",
            lag.clone(),
        );
        registry.register(
            "db_pool_wait_seconds",
            "Time taken to get a connection from a database pool (the request pools, and on SQLite the worker's too)",
            POOL_WAIT.clone(),
        );
        let cache_entries = Gauge::default();
        let cache_bytes = Gauge::default();
        registry.register(
            "response_cache_entries",
            "Entries in the response cache",
            cache_entries.clone(),
        );
        registry.register(
            "response_cache_bytes",
            "Bytes in the response cache (keys, headers and bodies)",
            cache_bytes.clone(),
        );
        // Not split by outcome: `/metrics` needs no key, and a count of links sent would tell
        // whoever asks for one whether the address is known.
        let sign_ins_done = Counter::default();
        let sign_ins_dropped = Counter::default();
        registry.register(
            "sign_in_requests_done",
            "Sign-in requests from the pages carried out (a link sent, or none for an unknown or throttled address)",
            sign_ins_done.clone(),
        );
        registry.register(
            "sign_in_requests_dropped",
            "Sign-in requests from the pages dropped because too many were waiting",
            sign_ins_dropped.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            durations,
            sent,
            failed,
            lag,
            lag_read_at: Mutex::new(None),
            cache_entries,
            cache_bytes,
            sign_ins_done,
            sign_ins_dropped,
        }
    }

    /// Counts a sign-in request carried out.
    pub fn sign_in_done(&self) {
        self.sign_ins_done.inc();
    }

    /// Counts a sign-in request dropped.
    pub fn sign_in_dropped(&self) {
        self.sign_ins_dropped.inc();
    }

    /// Counts a message delivered on `channel`.
    pub fn message_sent(&self, channel: &'static str, kind: &str) {
        self.sent.get_or_create(&message_labels(channel, kind)).inc();
    }

    /// Counts a failed try to send a message on `channel`.
    pub fn message_failed(&self, channel: &'static str, kind: &str) {
        self.failed.get_or_create(&message_labels(channel, kind)).inc();
    }

    /// Whether the outbox's lag is due to be read again at `now` (the service's clock): at most
    /// once a second, however often `/metrics` is asked (it needs no key); true claims this
    /// second's read.
    pub fn outbox_lag_due(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        let Ok(mut read_at) = self.lag_read_at.lock() else {
            return false;
        };
        let due = read_at.is_none_or(|at| now - at >= chrono::TimeDelta::seconds(1) || now < at);
        if due {
            *read_at = Some(now);
        }
        due
    }

    /// Sets the outbox's lag, per channel (a channel not given has none waiting).
    pub fn set_outbox_lag(&self, lag: &[(String, f64)]) {
        for channel in ["email", "discord"] {
            let seconds = lag.iter().find(|(c, _)| c == channel).map_or(0.0, |(_, s)| *s);
            self.lag.get_or_create(&ChannelLabels { channel }).set(seconds);
        }
    }

    /// Records one answered request.
    pub fn observe(&self, labels: RequestLabels, seconds: f64) {
        self.durations.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }

    /// Adds the response cache's hit and miss counters to the metrics.
    pub fn register_cache(&self, cache: &ResponseCache) {
        let (hits, misses) = cache.counters();
        if let Ok(mut registry) = self.registry.lock() {
            registry.register("response_cache_hits", "Lookups answered from the response cache", hits);
            registry.register(
                "response_cache_misses",
                "Lookups the response cache could not answer",
                misses,
            );
        }
    }

    /// Records how full the response cache is (read when `/metrics` is asked for).
    pub fn set_cache_usage(&self, usage: CacheUsage) {
        self.cache_entries.set(i64::try_from(usage.entries).unwrap_or(i64::MAX));
        self.cache_bytes.set(i64::try_from(usage.bytes).unwrap_or(i64::MAX));
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

/// The labels of a message of `kind` on `channel`; a kind this build does not know is `other`.
fn message_labels(channel: &'static str, kind: &str) -> MessageLabels {
    MessageLabels {
        channel,
        kind: crate::domain::outbox::Kind::parse(kind).map_or("other", crate::domain::outbox::Kind::as_str),
    }
}
