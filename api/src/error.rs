//! Every error the service gives is an RFC 7807 `application/problem+json` body with a stable
//! `code`: this module maps domain errors and HTTP-level failures to one in one place, and the
//! [`problem_for_any_error`] middleware rewrites any other error response (actix's own) the same way.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};

use crate::domain::import::RowError;
use crate::domain::{DomainError, FieldError};
use crate::problem_code::ProblemCode;
pub use crate::wire::problem::Problem;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The bad rows of a refused import.
#[derive(Debug)]
struct RowErrorList(Vec<RowError>);

/// An error on its way to becoming an HTTP response.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    status: StatusCode,
    code: ProblemCode,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    /// A refused import's bad rows (boxed: kept out of the size of every other error).
    row_errors: Option<Box<RowErrorList>>,
    /// Seconds for a `Retry-After` header (a 429).
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, stable code, title and detail.
    pub fn new(status: StatusCode, code: ProblemCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            row_errors: None,
            retry_after: None,
        }
    }

    /// 422 for a spreadsheet import refused because of bad rows (or a bad header): nothing was
    /// written; `errors` names each column at fault and `row_errors` gives each row's line.
    pub fn rows_refused(detail: impl Into<String>, rows: Vec<RowError>) -> Self {
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::InvalidRows,
            "Some rows are invalid",
            detail,
        )
        .with_errors(rows.iter().map(RowError::to_field_error).collect());
        error.row_errors = Some(Box::new(RowErrorList(rows)));
        error
    }

    /// 429 with a `Retry-After` of `seconds`.
    pub fn too_many(code: ProblemCode, detail: impl Into<String>, seconds: u64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, code, "Too many requests", detail);
        error.retry_after = Some(seconds);
        error
    }

    /// Adds the fields at fault.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Names `field` (if any) as at fault, with the detail as its message.
    fn with_field(self, field: Option<impl Into<String>>) -> Self {
        let errors = field
            .map(|f| vec![FieldError::new(f, self.detail.clone())])
            .unwrap_or_default();
        self.with_errors(errors)
    }

    /// 400: the request could not be read (bad JSON, query or path parameter).
    pub fn bad_request(code: ProblemCode, detail: impl Into<String>, field: Option<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "The request could not be read", detail).with_field(field)
    }

    /// 422: the fields were read but are invalid.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::ValidationFailed,
            "Some fields are invalid",
            errors,
        )
    }

    /// 400: query parameters that parsed but are out of range (e.g. `limit=0`, a foreign cursor).
    pub fn invalid_query(errors: Vec<FieldError>) -> Self {
        Self::fields(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidQuery,
            "The query parameters are invalid",
            errors,
        )
    }

    /// A domain error about a query's values: invalid fields are the query's (400
    /// `invalid_query`), anything else maps as usual.
    pub fn from_query(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(errors) => Self::invalid_query(errors),
            other => other.into(),
        }
    }

    /// An error listing `errors`, its detail joining each field's message.
    fn fields(status: StatusCode, code: ProblemCode, title: &'static str, errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(status, code, title, detail).with_errors(errors)
    }

    /// 401: no key, or a key that is unknown or revoked.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::Unauthorized,
            "An API key is needed",
            detail,
        )
    }

    /// 403: a valid key that may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemCode::Forbidden,
            "This key may not do that",
            detail,
        )
    }

    /// 404: no such thing, or no such route.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ProblemCode::NotFound, "Not found", detail)
    }

    /// An error with `status` and the stable code actix's own errors of that status get
    /// (`payload_too_large`, `method_not_allowed`, ...).
    pub fn from_status(status: StatusCode, detail: impl Into<String>) -> Self {
        let (code, title) = code_for(status);
        Self::new(status, code, title, detail)
    }

    /// 500: a failure of the server's own (logged in full, answered without internals).
    pub fn internal(err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::InternalError,
            "Something went wrong",
            "the server failed to complete the request; it has been logged",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> ProblemCode {
        self.code
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:convene:problem:{}", self.code.as_str()),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
            errors: self.errors.clone(),
            row_errors: self.row_errors.as_ref().map(|r| r.0.clone()).unwrap_or_default(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"convene\""));
        }
        match serde_json::to_string(&self.problem()) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound { what, id } => Self::not_found(format!("there is no {what} with id {id}")),
            DomainError::Invalid(errors) => Self::invalid(errors),
            DomainError::LocalTime { field, ref error } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                err.code(),
                "The local time cannot be placed",
                error.to_string(),
            )
            .with_field(Some(field)),
            DomainError::Conflict { code, detail, field } => Self::new(
                StatusCode::CONFLICT,
                code,
                "The request conflicts with the current state",
                detail,
            )
            .with_field(field),
            DomainError::Unprocessable { code, detail, field } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "The request cannot be carried out",
                detail,
            )
            .with_field(field),
            DomainError::Forbidden { code, detail } => Self::new(StatusCode::FORBIDDEN, code, "Not allowed", detail),
            DomainError::KeyRevoked => Self::unauthorized("the key is unknown or was revoked"),
            DomainError::TooMany {
                code,
                detail,
                retry_after_seconds,
            } => {
                let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, code, "Too many tries", detail);
                error.retry_after = Some(retry_after_seconds);
                error
            }
            DomainError::Database(ref db) => database_error(db, err.code()),
        }
    }
}

/// A database failure: logged in full, answered without internals. A pool that timed out or a
/// database that is unreachable is a 503 the client may retry; anything else is a 500.
fn database_error(err: &sea_orm::DbErr, code: ProblemCode) -> ApiError {
    tracing::error!(error = %err, "database error");
    if code == ProblemCode::DatabaseUnavailable {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            "The database is unavailable",
            "the database did not answer in time; try again shortly",
        )
    } else {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::InternalError,
            "Something went wrong",
            "the server failed to complete the request; it has been logged",
        )
    }
}

/// The code and title for an error status that did not come from this module (actix's own).
fn code_for(status: StatusCode) -> (ProblemCode, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (ProblemCode::NotFound, "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => (ProblemCode::MethodNotAllowed, "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => (ProblemCode::PayloadTooLarge, "The request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ProblemCode::UnsupportedMediaType, "Unsupported media type"),
        StatusCode::URI_TOO_LONG => (ProblemCode::UriTooLong, "The URI is too long"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            (ProblemCode::HeadersTooLarge, "The request headers are too large")
        }
        StatusCode::UNAUTHORIZED => (ProblemCode::Unauthorized, "An API key is needed"),
        StatusCode::FORBIDDEN => (ProblemCode::Forbidden, "Forbidden"),
        s if s.is_server_error() => (ProblemCode::InternalError, "Something went wrong"),
        _ => (ProblemCode::BadRequest, "The request could not be read"),
    }
}

/// Middleware handler: turns any error response that is not already problem+json into one,
/// keeping its status (actix's 404, 405, 413 and extractor errors included).
pub fn problem_for_any_error<B: MessageBody>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems pass as they are, and so do the pages people read (a form's errors, an unknown link).
    let is_answered = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html"));
    if is_answered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, title) = code_for(status);
    let request = res.request();
    let detail = match status {
        StatusCode::NOT_FOUND => format!("no resource at {}", request.path()),
        StatusCode::METHOD_NOT_ALLOWED => format!("{} is not allowed on {}", request.method(), request.path()),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than this service accepts".to_owned(),
        _ => res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_else(|| title.to_owned()),
    };
    let error = ApiError::new(status, code, title, detail);
    let mut response: HttpResponse<BoxBody> = error.error_response();
    // Keep what the response already said (`Allow`, CORS, ...), except its old body's type and length.
    let own: Vec<header::HeaderName> = response.headers().keys().cloned().collect();
    for (name, value) in res.headers() {
        if name != header::CONTENT_LENGTH && !own.contains(name) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    let (req, _) = res.into_parts();
    let res = ServiceResponse::new(req, response).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
