//! `/healthz` (the process answers), `/readyz` (the database answers too) and `/metrics`.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::Now;
use crate::error::{ApiError, Problem};
use crate::problem_code::ProblemCode;
use crate::state::AppState;

/// The answer of a health check.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Up", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the process is up and its database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready", body = Health),
    (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::DatabaseUnavailable,
            "The database is unavailable",
            "the database did not answer",
        )
    })?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Metrics", content_type = "application/openmetrics-text", body = String),
))]
pub async fn metrics(state: web::Data<AppState>, Now(now): Now) -> HttpResponse {
    state.metrics.set_cache_usage(state.feeds.usage());
    // The outbox's lag as it is now (an index range of `(state, due_at)`), read at most once a
    // second; if the database does not answer, the last value stays and the rest is served.
    if state.metrics.outbox_lag_due(now) {
        match crate::domain::notification::lag(&state.db, now).await {
            Ok(lag) => state.metrics.set_outbox_lag(&lag),
            Err(err) => tracing::warn!(error = %err, "the outbox's lag could not be read for /metrics"),
        }
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}
