//! `/o/term-dates`: the local authorities' term dates, which their schools follow unless they
//! have their own for a school year. Upload a council's term-dates file (`.ics`), see what each
//! authority has, and remove a closure or all of them — by the same rules, all or nothing, as
//! `/v1/local-authorities/{name}/closures`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{CONSOLE, Problems, query, render, signed_in_page};
use crate::domain::closure::{self, AuthorityImportResult, ClosureQuery};
use crate::domain::{DomainError, FieldError};
use crate::routes::web_session::{Form, Visitor, see_other};
use crate::state::AppState;
use crate::term_dates;

/// Registers the pages, with the service's upload limit on the upload.
pub fn configure(cfg: &mut web::ServiceConfig, upload_limit: usize) {
    cfg.service(
        web::resource("/o/term-dates")
            .app_data(web::PayloadConfig::new(upload_limit))
            .route(web::get().to(list))
            .route(web::post().to(upload)),
    )
    .service(web::resource("/o/term-dates/{name}").route(web::get().to(show)))
    .service(
        web::resource("/o/term-dates/{name}/delete")
            .route(web::get().to(confirm_delete))
            .route(web::post().to(delete)),
    );
}

/// A local authority's page, its name percent-encoded as one path segment.
fn page_of(name: &str) -> String {
    format!("/o/term-dates/{}", crate::routes::closures::path_segment(name))
}

/// The list of authorities with the upload form, after a refused upload with its problems.
async fn list_page(
    state: &AppState,
    visitor: &Visitor,
    problems: Problems,
    values: minijinja::Value,
) -> crate::domain::DomainResult<HttpResponse> {
    let authorities: Vec<minijinja::Value> = closure::authorities(&state.db)
        .await?
        .into_iter()
        .map(|a| {
            let href = page_of(&a.name);
            minijinja::context! { href, ..minijinja::Value::from_serialize(&a) }
        })
        .collect();
    Ok(render(
        visitor,
        problems.status(),
        "console/term_dates.html",
        minijinja::context! { authorities, problems, values },
    ))
}

/// `/o/term-dates`.
async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    signed_in_page(&state, &req, async |visitor| {
        list_page(&state, &visitor, Problems::default(), minijinja::context! {}).await
    })
    .await
}

/// An authority's page: its closures, and (after an upload) what the upload did.
async fn authority_page(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    imported: Option<&AuthorityImportResult>,
    done: Option<&str>,
) -> crate::domain::DomainResult<HttpResponse> {
    let closures = closure::list_for_authority(&state.db, name, &ClosureQuery::default()).await?;
    let (name, schools) = named(state, name).await?;
    Ok(render(
        visitor,
        StatusCode::OK,
        "console/term_dates_authority.html",
        minijinja::context! {
            name,
            href => page_of(&name),
            schools,
            closures,
            imported,
            deleted => done == Some("deleted"),
        },
    ))
}

/// An authority's name as the list shows it (else as given), and how many schools carry it.
async fn named(state: &AppState, name: &str) -> crate::domain::DomainResult<(String, u64)> {
    let key = crate::domain::closed_days::authority_key(name);
    let summary = closure::authorities(&state.db)
        .await?
        .into_iter()
        .find(|a| crate::domain::closed_days::authority_key(&a.name) == key);
    Ok(summary.map_or_else(|| (name.trim().to_owned(), 0), |a| (a.name, a.schools)))
}

/// `/o/term-dates/{name}`.
async fn show(state: web::Data<AppState>, req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    signed_in_page(&state, &req, async |visitor| {
        if closure::authority_name(&name).is_err() {
            return Ok(CONSOLE.not_found("local authority"));
        }
        let done = query(&req).get("done").map(str::to_owned);
        authority_page(&state, &visitor, &name, None, done.as_deref()).await
    })
    .await
}

/// `POST /o/term-dates` (an upload: `csrf`, `authority`, `replace`, `file`): imports the file
/// for the authority, all or nothing, and shows the authority's page with what it did; a refusal
/// is shown on the list's form, with nothing written.
async fn upload(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (fields, file) = super::imports::read_upload(&req, body).await.unwrap_or_default();
    CONSOLE
        .guarded_form(&state, &req, Form::from_pairs(fields), async |state, visitor, form| {
            let authority = form.get("authority").unwrap_or_default().to_owned();
            let replace = form.get("replace") == Some("true");
            let values = minijinja::context! { authority, replace };
            match import(state, &visitor, &authority, &file, replace).await {
                Ok(result) => authority_page(state, &visitor, &authority, Some(&result), None).await,
                Err(e) => list_page(state, &visitor, Problems::of(e)?, values).await,
            }
        })
        .await
}

/// Reads the uploaded calendar and imports it for `authority`.
async fn import(
    state: &AppState,
    visitor: &Visitor,
    authority: &str,
    file: &[u8],
    replace: bool,
) -> crate::domain::DomainResult<AuthorityImportResult> {
    let refuse = |field: &str, message: String| DomainError::Invalid(vec![FieldError::new(field, message)]);
    let name = closure::authority_name(authority).map_err(|_| {
        refuse(
            "authority",
            "Give the local authority's name, as your schools list it".into(),
        )
    })?;
    if file.iter().all(u8::is_ascii_whitespace) {
        return Err(refuse(
            "file",
            "Choose the council's term-dates file (.ics) to upload".into(),
        ));
    }
    let text =
        std::str::from_utf8(file).map_err(|_| refuse("file", "The file is not a calendar (.ics) file".into()))?;
    let dates = term_dates::read(text).map_err(|e| refuse("file", format!("The calendar cannot be read at {e}")))?;
    closure::import_for_authority(
        &state.db,
        &name,
        dates.closures.into_iter().map(Into::into).collect(),
        dates.skipped,
        "ics",
        replace,
        &visitor.change(),
    )
    .await
    .map_err(|e| match e {
        // The API's body is the form's file.
        DomainError::Invalid(errors) => DomainError::Invalid(
            errors
                .into_iter()
                .map(|e| {
                    if e.field == "body" {
                        FieldError::new("file", e.message)
                    } else {
                        e
                    }
                })
                .collect(),
        ),
        other => other,
    })
}

/// `GET /o/term-dates/{name}/delete`: what removing all of an authority's term dates means, and
/// the button that does it.
async fn confirm_delete(state: web::Data<AppState>, req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    signed_in_page(&state, &req, async |visitor| {
        if closure::authority_name(&name).is_err() {
            return Ok(CONSOLE.not_found("local authority"));
        }
        let closures = closure::list_for_authority(&state.db, &name, &ClosureQuery::default()).await?;
        let (name, schools) = named(&state, &name).await?;
        Ok(render(
            &visitor,
            StatusCode::OK,
            "console/term_dates_remove.html",
            minijinja::context! { href => page_of(&name), name, schools, closures },
        ))
    })
    .await
}

/// `POST /o/term-dates/{name}/delete` (`csrf`, and `closure_id` for one closure or `all=true`
/// for all of them): removes them, and goes back to the authority's page. Anything else (a blank
/// or unknown closure) is a page that is not there, and removes nothing.
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let id = match (form.get("closure_id"), form.get("all")) {
                (Some(text), None) => match super::id_of(text.trim()) {
                    Some(id) => Some(id),
                    None => return Ok(CONSOLE.not_found("closure")),
                },
                (None, Some("true")) => None,
                _ => return Ok(CONSOLE.not_found("closure")),
            };
            match closure::delete_for_authority(&state.db, &name, id, &visitor.change()).await {
                Ok(_) => Ok(see_other(&format!("{}?done=deleted", page_of(&name)))),
                Err(DomainError::NotFound { .. }) => Ok(CONSOLE.not_found("closure")),
                Err(e) => Err(e),
            }
        })
        .await
}
