//! `/v1/schools/{id}/closures` and `/v1/local-authorities/{name}/closures`: a school's or a local
//! authority's closed days, imported from a term-dates `.ics` or given as JSON date ranges
//! (organisers only).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::closed_days::{self, ClosedDay, ClosedDaysQuery};
use crate::domain::closure::{
    self, AuthorityClosure, AuthorityImportResult, Closure, ClosureQuery, ClosuresInput, ImportResult, NewClosure,
};
use crate::domain::{FieldError, contract};
use crate::error::{ApiError, Problem};
use crate::extract::{QueryParams, parse_json};
use crate::problem_code::ProblemCode;
use crate::state::AppState;
use crate::term_dates::{self, Skipped};

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
    let replace = replacing(&query)?;
    let (closures, skipped, source) = posted(&req, &body)?;
    let result = closure::import(
        &state.db,
        school_id,
        closures,
        skipped,
        source,
        replace,
        &organiser.change(now),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/schools/{school_id}/closures")))
        .json(result))
}

/// `?replace=`, refusing the list-only parameters.
fn replacing(query: &ClosureQuery) -> Result<bool, ApiError> {
    if query.from.is_some() || query.to.is_some() {
        return Err(ApiError::invalid_query(vec![FieldError::new(
            if query.from.is_some() { "from" } else { "to" },
            "is only for listing closures",
        )]));
    }
    Ok(query.replace.unwrap_or(false))
}

/// The closed ranges of a posted body: a `text/calendar` file or JSON ranges.
fn posted(req: &HttpRequest, body: &[u8]) -> Result<(Vec<NewClosure>, Vec<Skipped>, &'static str), ApiError> {
    match media_type(req).as_str() {
        "text/calendar" => {
            let text = std::str::from_utf8(body)
                .map_err(|e| calendar_error("body", format!("the file is not UTF-8 text: {e}")))?;
            let dates =
                term_dates::read(text).map_err(|e| calendar_error(&format!("line {}", e.line), e.to_string()))?;
            Ok((
                dates.closures.into_iter().map(Into::into).collect(),
                dates.skipped,
                "ics",
            ))
        }
        "application/json" => {
            let input: ClosuresInput = parse_json(body)?;
            Ok((closure::check(input)?, Vec::new(), "json"))
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::UnsupportedMediaType,
            "Unsupported media type",
            format!("send a text/calendar (.ics) file or JSON, not {other}"),
        )),
    }
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

/// Import a local authority's term dates: a `text/calendar` body (the authority's published
/// term-dates file) or JSON `{"closures": [...]}`, all or nothing, as for a school. Its schools
/// follow them in every school year (September to August) for which they have no holidays of
/// their own; a school's own closures always count. The name is matched to schools'
/// `local_authority` without regard to case, and may be given before any school carries it.
#[utoipa::path(post, path = "/v1/local-authorities/{name}/closures", tag = "schools",
    params(("name" = contract::ShortLine, Path, description = "The local authority, e.g. `Camden`"),
        ("replace" = Option<bool>, Query, description = "Remove the authority's earlier closures first (a re-issued term-dates file)")),
    request_body(content(
        (ClosuresInput = "application/json"),
        (String = "text/calendar", example = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261221\r\nDTEND;VALUE=DATE:20270102\r\nSUMMARY:Christmas holiday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
    )),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The closures added, the events left out, and how many schools follow them", body = AuthorityImportResult),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor text/calendar", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name or range (`validation_failed`) or a malformed calendar naming its line (`invalid_calendar`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_for_authority(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    req: HttpRequest,
    name: web::Path<String>,
    QueryParams(query): QueryParams<ClosureQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let replace = replacing(&query)?;
    let name = closure::authority_name(&name)?;
    let (closures, skipped, source) = posted(&req, &body)?;
    let result = closure::import_for_authority(
        &state.db,
        &name,
        closures,
        skipped,
        source,
        replace,
        &organiser.change(now),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", authority_location(&name)))
        .json(result))
}

fn authority_location(name: &str) -> String {
    format!("/v1/local-authorities/{}/closures", path_segment(name))
}

/// A local authority's name as one segment of a path: percent-encoded, spaces as `%20`.
pub(crate) fn path_segment(name: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    encoded.replace('+', "%20")
}

/// A local authority's closed days in date order (`from`/`to` keep those touching that span).
#[utoipa::path(get, path = "/v1/local-authorities/{name}/closures", tag = "schools",
    params(("name" = contract::ShortLine, Path, description = "The local authority"), ClosureQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The closures (none for an authority with none)", body = Vec<AuthorityClosure>),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_for_authority(
    state: web::Data<AppState>,
    _: Organiser,
    name: web::Path<String>,
    QueryParams(query): QueryParams<ClosureQuery>,
) -> Result<HttpResponse, ApiError> {
    let closures = closure::list_for_authority(&state.db, &name, &query)
        .await
        .map_err(ApiError::from_query)?;
    Ok(HttpResponse::Ok().json(closures))
}

/// Remove all of a local authority's closures (its schools then keep only their own closures and
/// the public holidays).
#[utoipa::path(delete, path = "/v1/local-authorities/{name}/closures", tag = "schools",
    params(("name" = contract::ShortLine, Path, description = "The local authority")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed (also when it had none)"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_all_for_authority(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    closure::delete_for_authority(&state.db, &name, None, &organiser.change(now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove one closure of a local authority.
#[utoipa::path(delete, path = "/v1/local-authorities/{name}/closures/{closure_id}", tag = "schools",
    params(("name" = contract::ShortLine, Path, description = "The local authority"), ("closure_id" = i64, Path, description = "The closure's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such closure of that authority", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_for_authority(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    closure::delete_for_authority(&state.db, &name, Some(id), &organiser.change(now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every day a school is closed from `from` to `to`, and why: its own closures, its local
/// authority's term dates (unless it has holidays of its own that school year), and the public
/// holidays of its nation (from its region). These are the days the visit scheduler avoids.
#[utoipa::path(get, path = "/v1/schools/{id}/closed-days", tag = "schools",
    params(("id" = i64, Path, description = "The school's id"), ClosedDaysQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The closed days, in date order", body = Vec<ClosedDay>),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such school", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn closed_days(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    id: web::Path<i64>,
    QueryParams(query): QueryParams<ClosedDaysQuery>,
) -> Result<HttpResponse, ApiError> {
    let days = closed_days::of_school(&state.db, id.into_inner(), &query, now.date_naive())
        .await
        .map_err(ApiError::from_query)?;
    Ok(HttpResponse::Ok().json(days))
}
