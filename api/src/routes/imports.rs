//! `POST /v1/schools:import` and `POST /v1/participants:import`: a network's schools and people
//! from a spreadsheet saved as CSV (organisers only).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::import::{self, ImportReport, Imported};
use crate::error::{ApiError, Problem};
use crate::extract::QueryParams;
use crate::problem_code::ProblemCode;
use crate::state::AppState;

/// Options of an import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Leave bad rows out and write the rest (default false: one bad row writes nothing).
    pub skip_invalid: Option<bool>,
}

/// Refuses a body that is not CSV.
fn require_csv(req: &HttpRequest) -> Result<(), ApiError> {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(media.as_str(), "text/csv" | "application/csv") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::UnsupportedMediaType,
            "Unsupported media type",
            format!(
                "send the spreadsheet as CSV with Content-Type: text/csv, not {}",
                if media.is_empty() { "no content type" } else { &media }
            ),
        ))
    }
}

/// 200 with the report, or 422 with every bad row when nothing was written.
fn respond(imported: Imported) -> Result<HttpResponse, ApiError> {
    if imported.written {
        return Ok(HttpResponse::Ok().json(imported.report));
    }
    let report = imported.report;
    let lines = report
        .errors
        .iter()
        .map(|e| e.line)
        .collect::<std::collections::BTreeSet<_>>();
    let detail = format!(
        "nothing was imported: {} row(s) have problems (lines {}); fix them, or send ?skip_invalid=true to import the rest",
        lines.len(),
        lines.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    );
    Err(ApiError::rows_refused(detail, report.errors))
}

/// Import schools from CSV. The header row names the columns, as the JSON fields are named:
/// `urn` (required: the key), `name`, `local_authority`, `region`, `phase`, and the lists
/// `strengths`, `priorities`, `accredited_practice` with items separated by `;`. A row whose URN
/// is known updates that school (empty cells keep its values); any other row creates one. One
/// transaction: a bad row writes nothing, unless `skip_invalid=true`.
#[utoipa::path(post, path = "/v1/schools:import", tag = "schools", params(ImportQuery),
    request_body(content = String, content_type = "text/csv",
        example = "urn,name,local_authority,region,phase,strengths,priorities\n100001,Northfield Primary School,Camden,London,primary,reading;early years,maths\n"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What was created, updated and skipped", body = ImportReport),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than the upload limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `text/csv`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad rows or a bad header (`invalid_rows`): nothing was written; `row_errors` lists each by line", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn schools(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    req: HttpRequest,
    QueryParams(query): QueryParams<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_csv(&req)?;
    respond(
        import::schools(
            &state.db,
            &body,
            import::Mode::skipping(query.skip_invalid.unwrap_or(false)),
            &organiser.change(now),
        )
        .await?,
    )
}

/// Import participants from CSV. The header row names the columns: `email` (required: the key),
/// `name`, `school_urn` (their school, by URN), `role`, `time_zone`, `notify_email`,
/// `notify_discord` (`true`/`false`), `reminder_offsets_minutes` (e.g. `1440;60`),
/// `quiet_hours_start`, `quiet_hours_end`. A row whose email is known updates that person (empty
/// cells keep their values); any other row adds one. One transaction: a bad row writes nothing,
/// unless `skip_invalid=true`.
#[utoipa::path(post, path = "/v1/participants:import", tag = "participants", params(ImportQuery),
    request_body(content = String, content_type = "text/csv",
        example = "email,name,school_urn,role\nann.jones@northfield.sch.uk,Ann Jones,100001,head\n"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What was created, updated and skipped", body = ImportReport),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than the upload limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `text/csv`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad rows or a bad header (`invalid_rows`): nothing was written; `row_errors` lists each by line", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn participants(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    req: HttpRequest,
    QueryParams(query): QueryParams<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_csv(&req)?;
    respond(
        import::participants(
            &state.db,
            &body,
            import::Mode::skipping(query.skip_invalid.unwrap_or(false)),
            &organiser.change(now),
        )
        .await?,
    )
}
