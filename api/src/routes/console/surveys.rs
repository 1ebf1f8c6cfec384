//! `/o/surveys`: the surveys, a new one for an event from a ready template (an intended action
//! 14 days after, followed up 6 weeks after) or from scratch, sending one now, and its responses
//! (the report with a chart of each rating and choice question, of the intended actions followed
//! up and of the answers day by day since it was sent, each beside a table of the same numbers;
//! and a CSV of the answers, without names when it is anonymous).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};

use super::{CONSOLE, Problems, download, number, posted, query, render, shown, signed_in_page, values};
use crate::charts::{self, hue};
use crate::domain::event::{self, Audience, EventFilter};
use crate::domain::page::PageRequest;
use crate::domain::report::{QuestionResult, ResponseDay};
use crate::domain::survey::{self, DONE, QuestionInput, SurveyInput};
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
    let values = BTreeMap::from([("template".to_owned(), "impact".to_owned())]);
    signed_in_page(&state, &req, async |visitor| {
        list_page(&state, &visitor, values, Problems::default()).await
    })
    .await
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

/// The colours of a rating's answers, 1 to 5: warm for low, blue for high (Okabe–Ito).
const LIKERT_HUES: [usize; 5] = [hue::VERMILLION, hue::ORANGE, hue::YELLOW, hue::SKY, hue::BLUE];
/// The colours of the follow-up's answers (`yes`, `partly`, `no`) and of no follow-up yet.
pub(super) const DONE_HUES: [usize; 4] = [hue::GREEN, hue::ORANGE, hue::VERMILLION, hue::SKY];
/// How the page says each follow-up answer.
pub(super) const DONE_WORDS: [&str; 3] = ["Done", "Partly", "Not yet"];

/// A chart's drawing failed: shown as a trouble page, like a database failure.
pub(super) fn drawn(made: Result<String, String>) -> DomainResult<minijinja::Value> {
    made.map(minijinja::Value::from_safe_string)
        .map_err(|e| DomainError::Database(sea_orm::DbErr::Custom(e)))
}

/// A legend: each series' name and colour.
pub(super) fn legend(names: &[&str], hues: &[usize]) -> Vec<(String, String)> {
    names
        .iter()
        .zip(hues)
        .map(|(name, h)| ((*name).to_owned(), charts::colour(*h)))
        .collect()
}

/// The chart of question `q` (number `n` on the page) and its legend, for the kinds that have
/// one: ratings (one bar, its parts the answers 1 to 5), choices (a bar an option), intended
/// actions (one bar of the planners: done, partly, not yet, not followed up) and follow-ups.
fn question_chart(n: usize, q: &QuestionResult) -> DomainResult<Option<minijinja::Value>> {
    let id = format!("q{n}-chart");
    let count = |map: Option<&BTreeMap<String, u64>>, key: &str| map.and_then(|m| m.get(key)).copied().unwrap_or(0);
    let people = |many: u64, what: &str| format!("{many} {what}");
    let (svg, legend) = match q.kind.as_str() {
        "likert" => {
            let parts: Vec<u64> = ["1", "2", "3", "4", "5"]
                .iter()
                .map(|k| count(q.distribution.as_ref(), k))
                .collect();
            let rows = [(
                people(q.answered, if q.answered == 1 { "answer" } else { "answers" }),
                parts,
            )];
            let title = format!("Answers from 1 to 5 to: {}", q.prompt);
            (
                charts::stacked_bars_of(&id, &title, &rows, "people", &LIKERT_HUES),
                legend(&["1 (lowest)", "2", "3", "4", "5 (highest)"], &LIKERT_HUES),
            )
        }
        "single_choice" | "multi_choice" => {
            let rows: Vec<(String, Vec<u64>)> = q
                .distribution
                .iter()
                .flatten()
                .map(|(option, n)| (option.clone(), vec![*n]))
                .collect();
            let title = format!("How many chose each answer to: {}", q.prompt);
            (
                charts::stacked_bars_of(&id, &title, &rows, "people", &[hue::BLUE]),
                Vec::new(),
            )
        }
        "intended_action" => {
            let mut parts: Vec<u64> = DONE.iter().map(|k| count(q.done.as_ref(), k)).collect();
            parts.push(q.answered.saturating_sub(q.followed_up.unwrap_or(0)));
            let rows = [(people(q.answered, "planned"), parts)];
            let title = format!("Intended actions followed up, and done: {}", q.prompt);
            let mut names = DONE_WORDS.to_vec();
            names.push("Not followed up yet");
            (
                charts::stacked_bars_of(&id, &title, &rows, "people", &DONE_HUES),
                legend(&names, &DONE_HUES),
            )
        }
        "action_follow_up" => {
            let parts: Vec<u64> = DONE.iter().map(|k| count(q.done.as_ref(), k)).collect();
            let rows = [(
                people(q.answered, if q.answered == 1 { "answer" } else { "answers" }),
                parts,
            )];
            let title = format!("Whether people did what they planned: {}", q.prompt);
            (
                charts::stacked_bars_of(&id, &title, &rows, "people", &DONE_HUES),
                legend(&DONE_WORDS, &DONE_HUES),
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(minijinja::context! { svg => drawn(svg)?, legend }))
}

/// The chart of answers day by day since the survey was sent, and the days something happened
/// (for the table beside it).
fn days_chart(days: &[ResponseDay]) -> DomainResult<(minijinja::Value, Vec<minijinja::Value>)> {
    let series = [
        ("Answered".to_owned(), days.iter().map(|d| d.responded).collect()),
        ("Invited".to_owned(), days.iter().map(|d| d.invited).collect()),
    ];
    let svg = drawn(charts::running_totals(
        "response-chart",
        "Invitations answered and sent, in total, by day since the survey was first sent",
        "days since first sent",
        "people",
        &series,
    ))?;
    let mut rows = Vec::new();
    let mut before = (0, 0);
    for d in days {
        if (d.invited, d.responded) != before {
            let rate = (d.responded * 100 + d.invited / 2).checked_div(d.invited).unwrap_or(0);
            rows.push(minijinja::context! { rate, ..minijinja::Value::from_serialize(d) });
            before = (d.invited, d.responded);
        }
    }
    Ok((svg, rows))
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
    let charts = report
        .questions
        .iter()
        .enumerate()
        .map(|(n, q)| question_chart(n + 1, q))
        .collect::<DomainResult<Vec<_>>>()?;
    let (days, day_rows) = days_chart(&report::response_days(&state.db, id).await?)?;
    let about = match found.event_id {
        Some(event_id) => Some(event::get(&state.db, event_id, Audience::Organiser).await?.title),
        None => None,
    };
    Ok(render(
        visitor,
        refused.status(),
        "console/survey.html",
        minijinja::context! { survey => found, report, charts, days, day_rows, about, done, problems => refused },
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
