//! `/s/{token}`: the survey form for people answering from an email link — a plain HTML page
//! that works without JavaScript. The token in the URL is the person's key to their own answers.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::Now;
use crate::domain::DomainError;
use crate::domain::survey::{self, Invitation, Question};
use crate::error::ApiError;
use crate::pages::{self, Link};
use crate::problem_code::ProblemCode;
use crate::state::AppState;

#[derive(Serialize)]
struct ErrorLine {
    anchor: String,
    message: String,
}

fn unknown() -> HttpResponse {
    pages::message(
        StatusCode::NOT_FOUND,
        "This link isn’t recognised",
        &[
            "Check that you used the whole link from the email (some email programs break long links over two lines).",
            "If it still doesn’t work, ask your network's organiser to send the survey again.",
        ],
        None,
    )
}

fn closed() -> HttpResponse {
    pages::message(
        StatusCode::GONE,
        "This survey has closed",
        &["Answers are no longer being collected. Thank you for your time."],
        None,
    )
}

fn form(
    status: StatusCode,
    path: &str,
    view: &Invitation,
    values: &BTreeMap<String, Value>,
    field_errors: &HashMap<String, String>,
) -> HttpResponse {
    let errors: Vec<ErrorLine> = view
        .questions
        .iter()
        .filter_map(|q| {
            field_errors.get(&q.key).map(|message| ErrorLine {
                anchor: format!("q-{}", q.key),
                message: format!("{}: {message}", q.prompt),
            })
        })
        .collect();
    pages::render(
        status,
        "survey.html",
        minijinja::context! {
            title => view.title,
            event_title => view.event_title,
            answered => view.complete && !view.answers.is_empty(),
            questions => view.questions,
            values => values,
            field_errors => field_errors,
            errors => errors,
            action => path,
        },
    )
}

async fn load(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
    token: &str,
) -> Result<Option<(entity::survey_invitation::Model, Invitation)>, ApiError> {
    let Some(invitation) = survey::by_token(&state.db, token).await? else {
        return Ok(None);
    };
    let view = survey::invitation_view(&state.db, &state.public_url, &invitation, now).await?;
    Ok(Some((invitation, view)))
}

/// The form, with any answers given before filled in.
pub async fn show(
    state: web::Data<AppState>,
    Now(now): Now,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some((_, view)) = load(&state, now, &token).await? else {
        return Ok(unknown());
    };
    if !view.open {
        return Ok(closed());
    }
    let path = format!("/s/{token}");
    Ok(form(StatusCode::OK, &path, &view, &view.answers, &HashMap::new()))
}

/// A form's fields as answers: one value per question, a list for multi-choice questions, and an
/// object for follow-ups. Blank fields are no answer.
fn answers_from(questions: &[Question], pairs: &[(String, String)]) -> BTreeMap<String, Value> {
    let one = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut answers = BTreeMap::new();
    for q in questions {
        let value = match q.kind.as_str() {
            "multi_choice" => {
                let picked: Vec<&String> = pairs.iter().filter(|(k, _)| k == &q.key).map(|(_, v)| v).collect();
                if picked.is_empty() { Value::Null } else { json!(picked) }
            }
            "action_follow_up" => {
                let done = one(&format!("{}.done", q.key));
                let changed = one(&format!("{}.what_changed", q.key));
                let evidence = one(&format!("{}.evidence", q.key));
                if done.is_none() && changed.is_none() && evidence.is_none() {
                    Value::Null
                } else {
                    json!({"done": done, "what_changed": changed, "evidence": evidence})
                }
            }
            _ => one(&q.key).map_or(Value::Null, Value::String),
        };
        answers.insert(q.key.clone(), value);
    }
    answers
}

/// Saves the answers (a second submission edits the first) and thanks the person; a form with
/// mistakes comes back with each one explained beside its question and in a summary at the top.
pub async fn submit(
    state: web::Data<AppState>,
    Now(now): Now,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some((invitation, view)) = load(&state, now, &token).await? else {
        return Ok(unknown());
    };
    if !view.open {
        return Ok(closed());
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let answers = answers_from(&view.questions, &pairs);
    let path = format!("/s/{token}");
    match survey::answer(&state.db, &state.public_url, &invitation, answers.clone(), true, now).await {
        Ok(_) => Ok(pages::message(
            StatusCode::OK,
            "Thank you",
            &[
                "Your answers are saved. They help your network see what changed in schools, and how people know.",
                "You can change them until the survey closes, with the same link.",
            ],
            Some(Link {
                href: path,
                text: "Change my answers".to_owned(),
            }),
        )),
        Err(DomainError::Invalid(errors)) => {
            let mut field_errors = HashMap::new();
            for e in errors {
                let key = e
                    .field
                    .strip_prefix("answers.")
                    .unwrap_or(&e.field)
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                field_errors.entry(key).or_insert(e.message);
            }
            let values = answers.into_iter().filter(|(_, v)| !v.is_null()).collect();
            Ok(form(
                StatusCode::UNPROCESSABLE_ENTITY,
                &path,
                &view,
                &values,
                &field_errors,
            ))
        }
        Err(DomainError::Conflict {
            code: ProblemCode::SurveyClosed,
            ..
        }) => Ok(closed()),
        Err(other) => Err(other.into()),
    }
}
