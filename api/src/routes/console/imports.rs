//! `/o/imports`: upload the schools or the people spreadsheet (CSV), see what it would do and
//! every problem by line before anything is written, then import it — by the same rules, in one
//! transaction, as `POST /v1/schools:import` and `/v1/participants:import`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::{CONSOLE, render, signed_in_page};
use crate::domain::audit::Change;
use crate::domain::import::{self, Imported, Mode};
use crate::domain::{DomainResult, FieldError};
use crate::routes::web_session::{Form, Visitor};
use crate::state::AppState;

/// What can be imported: its path segment, its name in the page's words, and its columns.
const SHEETS: &[(&str, &str, &[&str])] = &[
    ("schools", "schools", import::SCHOOL_COLUMNS),
    ("people", "people", import::PARTICIPANT_COLUMNS),
];

/// Registers the pages, with the service's upload limit on the posts.
pub fn configure(cfg: &mut web::ServiceConfig, upload_limit: usize) {
    cfg.service(web::resource("/o/imports").route(web::get().to(show)))
        .service(
            web::resource("/o/imports/{sheet}/check")
                .app_data(web::PayloadConfig::new(upload_limit))
                .route(web::post().to(check)),
        )
        .service(
            web::resource("/o/imports/{sheet}")
                .app_data(web::PayloadConfig::new(upload_limit))
                .route(web::post().to(run)),
        );
}

/// The imports page: the two upload forms, and (after a check or an import) its report.
fn page(visitor: &Visitor, status: StatusCode, result: Option<minijinja::Value>) -> HttpResponse {
    let sheets: Vec<minijinja::Value> = SHEETS
        .iter()
        .map(|(path, name, columns)| minijinja::context! { path, name, columns })
        .collect();
    render(
        visitor,
        status,
        "console/imports.html",
        minijinja::context! { sheets, result },
    )
}

/// `/o/imports`.
async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    signed_in_page(&state, &req, async |visitor| Ok(page(&visitor, StatusCode::OK, None))).await
}

/// Runs the import of `sheet` in `mode`.
async fn import(state: &AppState, sheet: &str, csv: &[u8], mode: Mode, change: &Change) -> DomainResult<Imported> {
    if sheet == "schools" {
        import::schools(&state.db, csv, mode, change).await
    } else {
        import::participants(&state.db, csv, mode, change).await
    }
}

/// The report of a check (`preview`) or an import, with the file's text to import after a check.
fn report(sheet: &str, csv: &str, imported: &Imported, preview: bool) -> (StatusCode, minijinja::Value) {
    let r = &imported.report;
    let would_write = r.created + r.updated;
    let status = if imported.written || (preview && r.errors.is_empty()) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        minijinja::context! {
            sheet,
            name => SHEETS.iter().find(|(p, ..)| *p == sheet).map(|(_, n, _)| *n),
            preview,
            written => imported.written,
            created => r.created,
            updated => r.updated,
            skipped => r.skipped,
            errors => r.errors,
            bad_lines => r.errors.iter().map(|e| e.line).collect::<std::collections::BTreeSet<_>>().len(),
            good => would_write,
            csv => preview.then_some(csv),
        },
    )
}

/// Reads a `multipart/form-data` upload: its text fields and the `file` field's bytes. `None`
/// when the body is not one (or is cut short).
pub(super) async fn read_upload(req: &HttpRequest, body: web::Bytes) -> Option<(Vec<(String, String)>, Vec<u8>)> {
    let content_type = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    let mut file = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.ok()?;
        if name == "file" {
            file = bytes.to_vec();
        } else {
            fields.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    Some((fields, file))
}

/// `POST /o/imports/{sheet}/check` (an upload: `csrf`, `file`): what importing the file would
/// do, every problem by line, and nothing written.
async fn check(
    state: web::Data<AppState>,
    req: HttpRequest,
    sheet: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let sheet = sheet.into_inner();
    let (fields, file) = read_upload(&req, body).await.unwrap_or_default();
    CONSOLE
        .guarded_form(&state, &req, Form::from_pairs(fields), async |state, visitor, _form| {
            if !SHEETS.iter().any(|(path, ..)| *path == sheet) {
                return Ok(CONSOLE.not_found("import"));
            }
            if file.iter().all(u8::is_ascii_whitespace) {
                let (status, result) = (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    minijinja::context! {
                        sheet,
                        missing => FieldError::new(format!("{sheet}-file"), "choose a CSV file to check"),
                    },
                );
                return Ok(page(&visitor, status, Some(result)));
            }
            let checked = import(state, &sheet, &file, Mode::Preview, &visitor.change()).await?;
            let (status, result) = report(&sheet, &String::from_utf8_lossy(&file), &checked, true);
            Ok(page(&visitor, status, Some(result)))
        })
        .await
}

/// `POST /o/imports/{sheet}` (`csrf`, `csv`, and `skip_invalid` to leave bad rows out): imports
/// the checked file.
async fn run(state: web::Data<AppState>, req: HttpRequest, sheet: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let sheet = sheet.into_inner();
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            if !SHEETS.iter().any(|(path, ..)| *path == sheet) {
                return Ok(CONSOLE.not_found("import"));
            }
            let csv = form.get("csv").unwrap_or_default().to_owned();
            let mode = Mode::skipping(form.get("skip_invalid") == Some("true"));
            let imported = import(state, &sheet, csv.as_bytes(), mode, &visitor.change()).await?;
            let (status, result) = report(&sheet, &csv, &imported, false);
            Ok(page(&visitor, status, Some(result)))
        })
        .await
}
