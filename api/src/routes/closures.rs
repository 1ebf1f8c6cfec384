//! `/v1/schools/{id}/closures`: a school's closed days, imported from its term-dates `.ics` or
//! given as JSON date ranges (organisers only).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::FieldError;
use crate::domain::closure::{self, Closure, ClosureQuery, ClosuresInput, ImportResult};
use crate::error::{ApiError, Problem};
use crate::extract::{QueryParams, parse_json};
use crate::problem_code::ProblemCode;
use crate::state::AppState;
use crate::term_dates;

/// The essence of the request's `Content-Type`, lower-cased (`application/json` when absent).
fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_else(|| "application/json".to_owned())
}

/// Import closed days: a `text/calendar` body (the school's own term-dates or INSET-days file)
/// or JSON `{"closures": [{start_date, end_date?, kind?, summary?}]}`. All or nothing: a bad line
/// or range refuses the whole import. Ranges the school already has are not added twice; with
/// `?replace=true` the school's earlier closures are removed first.
#[utoipa::path(post, path = "/v1/schools/{id}/closures", tag = "schools",
    params(("id" = i64, Path, description = "The school's id"),
        ("replace" = Option<bool>, Query, description = "Remove the school's earlier closures first (a re-issued term-dates file)")),
    request_body(content(
        (ClosuresInput = "application/json"),
        (String = "text/calendar", example = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261026\r\nDTEND;VALUE=DATE:20261031\r\nSUMMARY:Half term\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
    )),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The closures added, and the events left out", body = ImportResult),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such school", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor text/calendar", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad range (`validation_failed`) or a malformed calendar naming its line (`invalid_calendar`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    req: HttpRequest,
    id: web::Path<i64>,
    QueryParams(query): QueryParams<ClosureQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let school_id = id.into_inner();
    if query.from.is_some() || query.to.is_some() {
        return Err(ApiError::invalid_query(vec![FieldError::new(
            if query.from.is_some() { "from" } else { "to" },
            "is only for listing closures",
        )]));
    }
    let replace = query.replace.unwrap_or(false);
    let change = organiser.change(now);
    let media = media_type(&req);
    let result = match media.as_str() {
        "text/calendar" => {
            let text = std::str::from_utf8(&body)
                .map_err(|e| calendar_error("body", format!("the file is not UTF-8 text: {e}")))?;
            let dates =
                term_dates::read(text).map_err(|e| calendar_error(&format!("line {}", e.line), e.to_string()))?;
            let closures = dates.closures.into_iter().map(Into::into).collect();
            closure::import(&state.db, school_id, closures, dates.skipped, "ics", replace, &change).await?
        }
        "application/json" => {
            let input: ClosuresInput = parse_json(&body)?;
            let closures = closure::check(input)?;
            closure::import(&state.db, school_id, closures, Vec::new(), "json", replace, &change).await?
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemCode::UnsupportedMediaType,
                "Unsupported media type",
                format!("send a text/calendar (.ics) file or JSON, not {other}"),
            ));
        }
    };
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/schools/{school_id}/closures")))
        .json(result))
}

fn calendar_error(field: &str, detail: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ProblemCode::InvalidCalendar,
        "The calendar file cannot be read",
        detail.clone(),
    )
    .with_errors(vec![FieldError::new(field, detail)])
}

/// A school's closed days in date order (`from`/`to` keep those touching that span).
#[utoipa::path(get, path = "/v1/schools/{id}/closures", tag = "schools",
    params(("id" = i64, Path, description = "The school's id"), ClosureQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The closures", body = Vec<Closure>),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such school", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    id: web::Path<i64>,
    QueryParams(query): QueryParams<ClosureQuery>,
) -> Result<HttpResponse, ApiError> {
    let closures = closure::list(&state.db, id.into_inner(), &query)
        .await
        .map_err(ApiError::from_query)?;
    Ok(HttpResponse::Ok().json(closures))
}

/// Remove one closure.
#[utoipa::path(delete, path = "/v1/schools/{id}/closures/{closure_id}", tag = "schools",
    params(("id" = i64, Path, description = "The school's id"), ("closure_id" = i64, Path, description = "The closure's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such closure of that school", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (school_id, id) = path.into_inner();
    closure::delete(&state.db, school_id, id, &organiser.change(now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
