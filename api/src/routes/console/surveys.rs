//! `/o/surveys`: the surveys, a new one for an event from a ready template (an intended action
//! 14 days after, followed up 6 weeks after) or from scratch, sending one now, and its responses
//! (the report, and a CSV of the answers, without names when it is anonymous).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::events::signed_in;
use super::{CONSOLE, Problems, download, number, posted, query, render, shown, values};
use crate::domain::event::{self, Audience, EventFilter};
use crate::domain::page::PageRequest;
use crate::domain::survey::{self, QuestionInput, SurveyInput};
use crate::domain::{DomainError, DomainResult, FieldError, report};
use crate::routes::web_session::{Form, Visitor, see_other};
use crate::state::AppState;

/// How many questions the from-scratch form offers.
const SCRATCH_QUESTIONS: usize = 4;
/// The new-survey form's fields (besides the from-scratch questions').
const FIELDS: &[&str] = &["title", "event_id", "template", "anonymous"];

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/o/surveys")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/o/surveys/{id}").route(web::get().to(show)))
    .service(web::resource("/o/surveys/{id}/send").route(web::post().to(send)))
    .service(web::resource("/o/surveys/{id}/responses.csv").route(web::get().to(responses_csv)));
}

/// The surveys and the form for a new one.
async fn list_page(
    state: &AppState,
    visitor: &Visitor,
    values: BTreeMap<String, String>,
    problems: Problems,
) -> DomainResult<HttpResponse> {
    let surveys = survey::list(&state.db, PageRequest::parse(Some(500), None)?)
        .await?
        .items;
    let filter = EventFilter::default();
    let events = event::list(
        &state.db,
        &filter,
        PageRequest::parse(Some(500), None)?,
        Audience::Organiser,
    )
    .await?
    .items;
    let titles: BTreeMap<i64, String> = events.iter().map(|e| (e.id, e.title.clone())).collect();
    let rows: Vec<minijinja::Value> = surveys
        .into_iter()
        .rev()
        .map(|s| {
            let about = s.event_id.and_then(|id| titles.get(&id).cloned());
            minijinja::context! { about, ..minijinja::Value::from_serialize(&s) }
        })
        .collect();
    Ok(render(
        visitor,
        problems.status(),
        "console/surveys.html",
        minijinja::context! {
            rows,
            events,
            values,
            problems,
            templates => survey::TEMPLATES,
            kinds => survey::KINDS,
            scratch => (1..=SCRATCH_QUESTIONS).collect::<Vec<_>>(),
        },
    ))
}

/// `/o/surveys`.
async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let visitor = signed_in!(state, req);
    let values = BTreeMap::from([("template".to_owned(), "impact".to_owned())]);
    list_page(&state, &visitor, values, Problems::default())
        .await
        .unwrap_or_else(|e| CONSOLE.trouble(e))
}

/// The survey the form describes: a template's questions, or the from-scratch rows filled in.
fn survey_input(form: &Form) -> Result<SurveyInput, DomainError> {
    let event_id = number(form, "event_id", "the event")?;
    let (offsets, questions) = match form.get("template").unwrap_or_default() {
        "scratch" => {
            let mut questions = Vec::new();
            for n in 1..=SCRATCH_QUESTIONS {
                let Some(prompt) = form.text(&format!("q{n}_prompt")) else {
                    continue;
                };
                let kind = form.text(&format!("q{n}_kind"));
                let options = form.text(&format!("q{n}_options")).map(|text| {
                    text.split(';')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect()
                });
                questions.push(QuestionInput {
                    key: Some(format!("q{n}")),
                    kind,
                    prompt: Some(prompt),
                    options,
                    required: Some(false),
                });
            }
            if questions.is_empty() {
                return Err(DomainError::Invalid(vec![FieldError::new(
                    "q1_prompt",
                    "write at least one question",
                )]));
            }
            let offsets = match number(form, "offset_days", "the days after the event")? {
                Some(days) => vec![days],
                None => vec![14],
            };
            (offsets, questions)
        }
        name => survey::template(name).ok_or_else(|| {
            DomainError::Invalid(vec![FieldError::new(
                "template",
                "choose a ready-made survey, or from scratch",
            )])
        })?,
    };
    Ok(SurveyInput {
        title: form.text("title"),
        event_id,
        programme_id: None,
        anonymous: Some(form.get("anonymous") == Some("true")),
        offsets_days: Some(offsets),
        questions: Some(questions),
    })
}

/// `POST /o/surveys`: makes the survey (open at once) and goes to its page.
async fn create(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let made = match survey_input(&form) {
                Ok(input) => survey::create(&state.db, input, &visitor.change()).await,
                Err(e) => Err(e),
            };
            match made {
                Ok(s) => Ok(see_other(&format!("/o/surveys/{}?done=created", s.id))),
                Err(err) => {
                    let mut names: Vec<String> = FIELDS.iter().map(|f| (*f).to_owned()).collect();
                    names.push("offset_days".to_owned());
                    for n in 1..=SCRATCH_QUESTIONS {
                        for part in ["prompt", "kind", "options"] {
                            names.push(format!("q{n}_{part}"));
                        }
                    }
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    list_page(state, &visitor, values(&form, &names), Problems::of(err)?).await
                }
            }
        })
        .await
}

/// A survey's page: its questions, the send button and its report.
async fn survey_page(
    state: &AppState,
    visitor: &Visitor,
    id: i64,
    done: Option<String>,
    refused: Problems,
) -> DomainResult<HttpResponse> {
    let found = match survey::get(&state.db, id).await {
        Ok(s) => s,
        Err(DomainError::NotFound { .. }) => return Ok(CONSOLE.not_found("survey")),
        Err(e) => return Err(e),
    };
    let report = report::survey_report(&state.db, id).await?;
    let about = match found.event_id {
        Some(event_id) => Some(event::get(&state.db, event_id, Audience::Organiser).await?.title),
        None => None,
    };
    Ok(render(
        visitor,
        if refused.list.is_empty() {
            StatusCode::OK
        } else {
            refused.status()
        },
        "console/survey.html",
        minijinja::context! { survey => found, report, about, done, problems => refused },
    ))
}

/// `/o/surveys/{id}`.
async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let done = query(&req).text("done");
    shown(&state, &req, &id, "survey", async |visitor, id| {
        survey_page(&state, &visitor, id, done, Problems::default()).await
    })
    .await
}

/// `POST /o/surveys/{id}/send`: invites everyone who attended and was not yet asked, now.
async fn send(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    posted(
        &state,
        &req,
        &body,
        &path,
        "survey",
        async |state, visitor, _form, id| match survey::send_now(&state.db, &state.public_url, id, &visitor.change())
            .await
        {
            Ok(sent) => {
                state.wake.notify_one();
                Ok(see_other(&format!("/o/surveys/{id}?done=sent-{}", sent.invited)))
            }
            Err(err) => survey_page(state, &visitor, id, None, Problems::of(err)?).await,
        },
    )
    .await
}

/// `/o/surveys/{id}/responses.csv`: every response, one row each (no names when anonymous).
async fn responses_csv(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    shown(&state, &req, &id, "survey", async |_, id| {
        download(crate::routes::surveys::responses_csv_of(&state, id).await, "survey")
    })
    .await
}
