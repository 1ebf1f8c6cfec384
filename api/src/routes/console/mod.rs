//! `/o/…`: the organiser console, for network coordinators who are not programmers: server-rendered
//! pages over the same domain functions as the API, reached by an emailed sign-in link.
//!
//! Who may sign in: a participant whose role is `organiser` (and not erased). The session cookie
//! (`HttpOnly`, `SameSite=Strict`, `Path=/o`, `Secure` behind https) lasts 12 hours and is a
//! session of the console's own scope: a participant's `/p` cookie never opens it. Signed out,
//! every page sends the visitor to `/o/sign-in`; every post but the sign-in form's carries the
//! session's anti-forgery token, and one without it is refused with a 403 page before anything
//! else, changing nothing.
//!
//! Every change is made by the domain's own functions, with the organiser as the actor of its
//! audit row; a refusal is shown on the page (on its field where it has one) and changes nothing.
//! After a change the browser is sent back to the page with `?done=…`, a code the page turns into
//! what happened by reading its own data, so a link can never make it say something untrue.

mod admin;
mod announcements;
mod audit;
mod cohorts;
mod dashboard;
mod events;
mod impact;
mod imports;
mod insight;
mod records;
mod sessions;
mod surveys;
mod term_dates;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::web_session::{Area, Visitor};
use crate::domain::DomainError;
use crate::domain::sign_in::Scope;
use crate::pages;
use crate::state::AppState;

/// The console, as an area people sign in to.
pub const CONSOLE: Area = Area {
    scope: Scope::Organiser,
    cookie: "convene_console",
    path: "/o",
    same_site: "Strict",
    home: "the console",
};

/// Registers the console's pages.
pub fn configure(cfg: &mut web::ServiceConfig, protection: &crate::protection::Protection) {
    cfg.service(web::resource("/o").route(web::get().to(dashboard::show)))
        .configure(|cfg| super::signing_in::configure(cfg, &CONSOLE, protection))
        .configure(events::configure)
        .configure(sessions::configure)
        .configure(admin::configure)
        .configure(surveys::configure)
        .configure(insight::configure)
        .configure(cohorts::configure)
        .configure(impact::configure)
        .configure(announcements::configure)
        .configure(|cfg| imports::configure(cfg, protection.upload_limit))
        .configure(|cfg| term_dates::configure(cfg, protection.upload_limit))
        .configure(records::configure::<records::Programmes>)
        .configure(records::configure::<records::Schools>)
        .configure(records::configure::<records::People>)
        .service(web::resource("/o/audit").route(web::get().to(audit::show)))
        .service(web::resource("/o/{tail:.*}").to(elsewhere));
}

/// Anything else under `/o`: the sign-in form for someone signed out, else a page saying there
/// is nothing here.
async fn elsewhere(state: web::Data<AppState>, req: HttpRequest, tail: web::Path<String>) -> HttpResponse {
    match CONSOLE.require(&state, &req).await {
        Ok(_) => CONSOLE.not_found(&tail),
        Err(response) => response,
    }
}

/// The section of the console's navigation each page's template (by the start of its name) belongs to.
const SECTIONS: &[(&str, &str)] = &[
    ("dashboard", "/o"),
    ("audit", "/o/audit"),
    ("keys", "/o/keys"),
    ("notifications", "/o/notifications"),
    ("programme", "/o/programmes"),
    ("school", "/o/schools"),
    ("people", "/o/people"),
    ("person", "/o/people"),
    ("imports", "/o/imports"),
    ("term_dates", "/o/term-dates"),
    ("survey", "/o/surveys"),
    ("engagement", "/o/engagement"),
    ("cohort", "/o/cohorts"),
    ("announcement", "/o/announcements"),
];

/// Renders a console page for the signed-in organiser: `context` plus their name and the
/// session's anti-forgery token, which every form on the page carries.
fn render(visitor: &Visitor, status: StatusCode, template: &str, context: minijinja::Value) -> HttpResponse {
    let name = template.trim_start_matches("console/");
    let section = SECTIONS
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map_or("/o/events", |(_, section)| *section);
    pages::render(
        status,
        template,
        minijinja::context! {
            organiser => visitor.signed.person.name,
            csrf => visitor.csrf,
            section,
            ..context
        },
    )
}

/// What was wrong with a form: messages by field (for the fields) and in order (for the summary
/// at the top, each linking to its field, or to the form when the refusal names none).
#[derive(Clone, Debug, Default, Serialize)]
struct Problems {
    /// The status the page is answered with: 422 for invalid fields, 409 for a clash with the
    /// current state, as the API answers.
    #[serde(skip)]
    status: u16,
    /// `{field, message}` in the order found.
    list: Vec<Problem>,
    /// The first message of each field.
    by_field: BTreeMap<String, String>,
}

/// One thing wrong.
#[derive(Clone, Debug, Serialize)]
struct Problem {
    /// The field at fault (empty when the refusal names none).
    field: String,
    /// What is wrong, in words.
    message: String,
}

impl Problems {
    /// The problems of a refusal, or the error itself when it is not the organiser's doing (the
    /// database failed), to be shown as a trouble page.
    fn of(err: DomainError) -> Result<Self, DomainError> {
        let status = match &err {
            DomainError::Conflict { .. } => 409,
            DomainError::NotFound { .. } => 404,
            DomainError::Forbidden { .. } => 403,
            DomainError::TooMany { .. } => 429,
            _ => 422,
        };
        let pairs: Vec<(String, String)> = match err {
            DomainError::Invalid(errors) => errors
                .into_iter()
                .map(|e| {
                    let message = sentence(&e.field, e.message);
                    (e.field, message)
                })
                .collect(),
            DomainError::LocalTime { field, error } => vec![(field.to_owned(), error.to_string())],
            DomainError::Conflict { detail, field, .. } | DomainError::Unprocessable { detail, field, .. } => {
                vec![(field.unwrap_or_default().to_owned(), detail)]
            }
            DomainError::NotFound { what, id } => vec![(String::new(), format!("{what} {id} was not found"))],
            DomainError::Forbidden { detail, .. } | DomainError::TooMany { detail, .. } => {
                vec![(String::new(), detail)]
            }
            other @ (DomainError::KeyRevoked | DomainError::Database(_)) => return Err(other),
        };
        let mut problems = Self {
            status,
            ..Self::default()
        };
        for (field, message) in pairs {
            let field = field.split(['[', '.']).next().unwrap_or_default().to_owned();
            problems
                .by_field
                .entry(field.clone())
                .or_insert_with(|| message.clone());
            problems.list.push(Problem { field, message });
        }
        Ok(problems)
    }

    /// The status to answer with: 200 with no problem.
    fn status(&self) -> StatusCode {
        if self.list.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// A field's message as a sentence of its own, for the summary at the top of the page: the API's
/// `is required` reads `Title is required` (messages that already say what they are about stay).
fn sentence(field: &str, message: String) -> String {
    let starts_bare = ["is ", "must ", "needs ", "has ", "give ", "choose "]
        .iter()
        .any(|start| message.starts_with(start));
    if !starts_bare {
        return message;
    }
    let name = field.split(['[', '.']).next().unwrap_or_default().replace('_', " ");
    let mut label = name.trim_end_matches(" id").to_owned();
    if let Some(first) = label.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!("{label} {message}")
}

/// The id in a page's path: `None` (a page that is not there) for anything but a number.
fn id_of(path: &str) -> Option<i64> {
    path.parse().ok().filter(|id| *id > 0)
}

/// The query string's fields (`?done=…`, filters).
fn query(req: &HttpRequest) -> super::web_session::Form {
    super::web_session::Form::parse(req.query_string().as_bytes())
}

/// The form's text fields as they were sent, to fill the form again after a refusal.
fn values(form: &super::web_session::Form, names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|name| ((*name).to_owned(), form.get(name).unwrap_or_default().to_owned()))
        .collect()
}

/// A number field: `Ok(None)` when empty, else the number or the field's problem.
fn number(form: &super::web_session::Form, name: &'static str, what: &str) -> Result<Option<i64>, DomainError> {
    match form.text(name) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            DomainError::Invalid(vec![crate::domain::FieldError::new(
                name,
                format!("enter {what} as a whole number, like 30"),
            )])
        }),
    }
}

/// The link to the next page of a list at `path`: the same filters (`names` in the query) and the
/// page's cursor.
fn next_page(path: &str, q: &super::web_session::Form, names: &[&str], cursor: &str) -> String {
    let mut params = form_urlencoded::Serializer::new(String::new());
    for name in names {
        if let Some(value) = q.text(name) {
            params.append_pair(name, &value);
        }
    }
    params.append_pair("cursor", cursor);
    format!("{path}?{}", params.finish())
}

/// A page of a list as asked for (`limit` rows after `cursor`), or, when the cursor or a filter
/// is refused, an empty page and the problems to show above it.
async fn listed<T>(
    limit: i64,
    cursor: Option<&str>,
    list: impl AsyncFnOnce(crate::domain::page::PageRequest) -> crate::domain::DomainResult<crate::domain::page::Page<T>>,
) -> crate::domain::DomainResult<(crate::domain::page::Page<T>, Problems)> {
    let listed = match crate::domain::page::PageRequest::parse(Some(limit), cursor) {
        Ok(page) => list(page).await,
        Err(errors) => Err(DomainError::Invalid(errors)),
    };
    match listed {
        Ok(rows) => Ok((rows, Problems::default())),
        Err(err) => Ok((
            crate::domain::page::Page {
                items: Vec::new(),
                next_cursor: None,
            },
            Problems::of(err)?,
        )),
    }
}

/// A page about one thing, whose id is the last part of its path: the sign-in form for someone
/// signed out, a page that is not there for a path that is not an id, else what `show` answers
/// (a trouble page if the database fails).
async fn shown<F>(state: &AppState, req: &HttpRequest, path: &str, what: &str, show: F) -> HttpResponse
where
    F: AsyncFnOnce(Visitor, i64) -> crate::domain::DomainResult<HttpResponse>,
{
    let visitor = match CONSOLE.require(state, req).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    match id_of(path) {
        Some(id) => show(visitor, id).await.unwrap_or_else(|e| CONSOLE.trouble(e)),
        None => CONSOLE.not_found(what),
    }
}

/// A page not about one thing (a list, a report): the sign-in form for someone signed out, else
/// what `show` answers for the organiser (a trouble page if the database fails).
async fn signed_in_page<F>(state: &AppState, req: &HttpRequest, show: F) -> HttpResponse
where
    F: AsyncFnOnce(Visitor) -> crate::domain::DomainResult<HttpResponse>,
{
    match CONSOLE.require(state, req).await {
        Ok(visitor) => show(visitor).await.unwrap_or_else(|e| CONSOLE.trouble(e)),
        Err(response) => response,
    }
}

/// A post about one thing, whose id is the last part of its path: as [`Area::guarded`], with a
/// page that is not there for a path that is not an id.
async fn posted<F>(state: &AppState, req: &HttpRequest, body: &[u8], path: &str, what: &str, act: F) -> HttpResponse
where
    F: AsyncFnOnce(&AppState, Visitor, super::web_session::Form, i64) -> crate::domain::DomainResult<HttpResponse>,
{
    let id = id_of(path);
    CONSOLE
        .guarded(state, req, body, async |state, visitor, form| match id {
            Some(id) => act(state, visitor, form, id).await,
            None => Ok(CONSOLE.not_found(what)),
        })
        .await
}

/// The network's schools (the first 500, by id), for the forms that choose one.
async fn all_schools(state: &AppState) -> crate::domain::DomainResult<Vec<crate::domain::school::School>> {
    let page = crate::domain::page::PageRequest::parse(Some(500), None)?;
    Ok(crate::domain::school::list(&state.db, &Default::default(), page)
        .await?
        .items)
}

/// A download (a CSV), or the page for a thing that is not there.
fn download(made: crate::domain::DomainResult<HttpResponse>, what: &str) -> crate::domain::DomainResult<HttpResponse> {
    match made {
        Err(DomainError::NotFound { .. }) => Ok(CONSOLE.not_found(what)),
        other => other,
    }
}
