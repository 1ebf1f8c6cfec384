//! Prometheus metrics: request counts and latencies by route pattern, method and status, and the response
//! cache's size, served at `/metrics`.

use std::sync::Mutex;

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

/// The service's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram>,
    cache_entries: Gauge,
    cache_bytes: Gauge,
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
        Self {
            registry: Mutex::new(registry),
            requests,
            durations,
            cache_entries,
            cache_bytes,
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
