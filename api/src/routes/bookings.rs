//! Bookings: `/v1/sessions/{id}/bookings`, `/v1/bookings/{id}`, attendance and the register.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{Organiser, OrganiserToCheck};
use crate::clock::Now;
use crate::domain::DomainError;
use crate::domain::audit::{Actor, Change};
use crate::domain::booking::{self, AttendanceInput, AttendanceSheet, Booked, Booking, BookingFilter, BookingInput};
use crate::domain::idempotency::{self, IdempotentRequest, StoredResponse};
use crate::error::{ApiError, PROBLEM_JSON, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::problem_code::ProblemCode;
use crate::spreadsheet::csv_line;
use crate::state::AppState;

crate::list_schema!(BookingList, Booking);

/// The header a client sets so that a retried request is answered once.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Book a participant onto a session. A free seat confirms the booking (`201`, `confirmed`); a
/// full session puts it on the waitlist (`201`, `waitlisted` with its position), or answers `409
/// session_full` when the session keeps no waitlist. A person who already holds a booking for the
/// session gets it back (`200`). With `Idempotency-Key`, a retry gets the first answer again,
/// refusals included.
#[utoipa::path(post, path = "/v1/sessions/{id}/bookings", tag = "bookings", request_body = BookingInput,
    params(("id" = i64, Path, description = "The session's id"),
           ("Idempotency-Key" = Option<crate::domain::contract::IdempotencyKey>, Header, description = "Any unique string; a retry with the same key and body returns the first answer (kept 24 h)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Booked: confirmed or waitlisted", body = Booking),
        (status = 200, description = "The person's existing booking for this session", body = Booking),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`booking_clash`, `session_full`, `per_school_limit_reached`, `event_not_published`, `event_cancelled`, `session_cancelled`, `session_started` or `idempotency_in_progress`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`) or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    OrganiserToCheck(key): OrganiserToCheck,
    req: HttpRequest,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<BookingInput>,
) -> Result<HttpResponse, ApiError> {
    let session_id = id.into_inner();
    let request = format!(
        "POST /v1/sessions/{session_id}/bookings {}",
        serde_json::to_string(&input).unwrap_or_default()
    );
    let idempotent = idempotent_request(&req, key.id, &request)?;
    let result = booking::book(
        &state.db,
        session_id,
        &input,
        idempotent.as_ref(),
        booking::Booker::Organiser(Some(key.id)),
        &Change::new(Actor::key(&key), now),
    )
    .await;
    if matches!(result, Err(DomainError::KeyRevoked)) {
        state.keys.forget(key.id);
    }
    answer_booked(&state, idempotent.as_ref(), result, now, |id| {
        format!("/v1/bookings/{id}")
    })
    .await
}

/// The request's `Idempotency-Key`, if it has one, scoped to the calling key and `request`
/// (method, path and body, so the same key with another body is recognised).
pub(crate) fn idempotent_request(
    req: &HttpRequest,
    key_id: i64,
    request: &str,
) -> Result<Option<IdempotentRequest>, ApiError> {
    match req.headers().get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(value) => Ok(Some(IdempotentRequest::new(
            key_id,
            value.to_str().unwrap_or(""),
            request,
        )?)),
    }
}

/// The answer to a booking request: `201` with `Location` (from `location(id)`) for a new
/// booking, `200` for the person's existing one, the first answer again for a retry; a refusal
/// is stored under the idempotency key so a retry is refused alike.
pub(crate) async fn answer_booked(
    state: &AppState,
    idempotent: Option<&IdempotentRequest>,
    result: crate::domain::DomainResult<Booked>,
    now: chrono::DateTime<chrono::Utc>,
    location: impl Fn(i64) -> String,
) -> Result<HttpResponse, ApiError> {
    let booked = match result {
        Ok(booked) => booked,
        Err(err) => return Err(remember_refusal(state, idempotent, err.into(), now).await),
    };
    Ok(match booked {
        Booked::Created(b) => super::created(location(b.id), &b),
        Booked::Existing(b) => HttpResponse::Ok().json(b),
        Booked::Replayed(stored) => {
            let mut reply = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
            if stored.status == 201
                && let Ok(first) = serde_json::from_str::<Booking>(&stored.body)
            {
                reply.insert_header(("Location", location(first.id)));
            }
            let content_type = if stored.status >= 400 {
                PROBLEM_JSON
            } else {
                "application/json"
            };
            reply
                .content_type(content_type)
                .insert_header(("Idempotency-Replayed", "true"))
                .body(stored.body)
        }
    })
}

/// Stores a refusal as the first answer of an idempotent request, so its retries are refused
/// alike; errors about the key itself and server errors are not answers to store.
async fn remember_refusal(
    state: &AppState,
    request: Option<&IdempotentRequest>,
    error: ApiError,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiError {
    let storable = error.status().is_client_error()
        && error.status() != StatusCode::UNAUTHORIZED
        && !matches!(
            error.code(),
            ProblemCode::IdempotencyInProgress | ProblemCode::IdempotencyKeyReused
        );
    if let (Some(request), true) = (request, storable) {
        let stored = StoredResponse {
            status: error.status().as_u16(),
            body: serde_json::to_string(&error.problem()).unwrap_or_default(),
        };
        if let Err(e) = idempotency::save_refusal(&state.db, request, &stored, now).await {
            tracing::warn!(error = %e, "could not store a refused request's answer under its idempotency key");
        }
    }
    error
}

/// List a session's bookings in arrival order, waitlisted ones with their positions.
#[utoipa::path(get, path = "/v1/sessions/{id}/bookings", tag = "bookings",
    params(("id" = i64, Path, description = "The session's id"), BookingFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of bookings", body = BookingList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad status filter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    id: web::Path<i64>,
    QueryParams(filter): QueryParams<BookingFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(
        booking::list_for_session(&state.db, id.into_inner(), &filter, page).await?,
    ))
}

/// Read a booking.
#[utoipa::path(get, path = "/v1/bookings/{id}", tag = "bookings", params(("id" = i64, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The booking", body = Booking),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(booking::get(&state.db, id.into_inner()).await?))
}

/// Cancel a booking. A confirmed booking's seat goes to the head of the waitlist at once, and
/// that person is told. Cancelling again changes nothing.
#[utoipa::path(delete, path = "/v1/bookings/{id}", tag = "bookings", params(("id" = i64, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled booking", body = Booking),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Attendance was already marked (`booking_attendance_marked`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(booking::cancel(&state.db, id.into_inner(), &organiser.change(now)).await?))
}

/// Mark a booking `attended` or `no_show`, once its session has started.
#[utoipa::path(patch, path = "/v1/bookings/{id}", tag = "bookings", request_body = AttendanceInput,
    params(("id" = i64, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The marked booking", body = Booking),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`session_not_started` or `booking_not_confirmed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad status", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mark(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<AttendanceInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(booking::mark_attendance(&state.db, id.into_inner(), input, &organiser.change(now)).await?))
}

/// Mark a session's register at once: `{"marks": [{"participant_id": 1, "status": "attended"}, …]}`.
/// Either every mark is made or none is.
#[utoipa::path(post, path = "/v1/sessions/{id}/attendance", tag = "bookings", request_body = AttendanceSheet,
    params(("id" = i64, Path, description = "The session's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The marked bookings", body = BookingList),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`session_not_started`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad mark, or someone without a confirmed booking", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn attendance(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(sheet): JsonBody<AttendanceSheet>,
) -> Result<HttpResponse, ApiError> {
    let items = booking::mark_register(&state.db, id.into_inner(), sheet, &organiser.change(now)).await?;
    Ok(super::page(crate::domain::page::Page {
        items,
        next_cursor: None,
    }))
}

/// The register to print: name, school and status of everyone holding a seat, by name.
#[utoipa::path(get, path = "/v1/sessions/{id}/register.csv", tag = "bookings", params(("id" = i64, Path, description = "The session's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "CSV with a header row: name,school,status", content_type = "text/csv", body = String),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(register_csv(&state, id.into_inner()).await?)
}

/// A session's register as a CSV download (the API's and the console's).
pub async fn register_csv(state: &AppState, session_id: i64) -> Result<HttpResponse, DomainError> {
    let mut csv = csv_line(["name", "school", "status"]);
    for line in booking::register(&state.db, session_id).await? {
        csv.push_str(&csv_line([
            line.name.as_str(),
            line.school.as_str(),
            line.status.as_str(),
        ]));
    }
    Ok(crate::spreadsheet::csv_download(
        &format!("session-{session_id}-register.csv"),
        csv,
    ))
}
