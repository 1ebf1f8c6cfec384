//! Follow-up surveys: organisers' `/v1/surveys` routes, and `/v1/me/surveys` where a linked
//! participant answers through the bot.

use actix_web::{HttpResponse, web};

use crate::auth::{Me, Organiser};
use crate::clock::Now;
use crate::domain::DomainError;
use crate::domain::report::{self, Impact, Report};
use crate::domain::survey::{self, Invitation, Sent, Survey, SurveyChange, SurveyInput};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::routes::me::PageQuery;
use crate::state::AppState;
pub use crate::wire::survey::{AnswersInput, InvitationList};

crate::list_schema!(SurveyList, Survey);

/// Create a survey: questions, and the days after the event (or programme) ends to send it to
/// those who attended.
#[utoipa::path(post, path = "/v1/surveys", tag = "surveys", request_body = survey::NewSurvey,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (open)", body = Survey),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    JsonBody(input): JsonBody<SurveyInput>,
) -> Result<HttpResponse, ApiError> {
    let created = survey::create(&state.db, input, &organiser.change(now)).await?;
    Ok(super::created(format!("/v1/surveys/{}", created.id), &created))
}

/// List surveys.
#[utoipa::path(get, path = "/v1/surveys", tag = "surveys",
    params(("limit" = Option<i64>, Query, minimum = 1, description = "How many (default 50; more than 500 gives 500)"),
        ("cursor" = Option<crate::domain::contract::Cursor>, Query, description = "The `next_cursor` of the previous page")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of surveys", body = SurveyList),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(page.limit, page.cursor.as_deref())?;
    Ok(super::page(survey::list(&state.db, page).await?))
}

/// Read a survey with its questions.
#[utoipa::path(get, path = "/v1/surveys/{id}", tag = "surveys", params(("id" = i64, Path, description = "The survey's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The survey", body = Survey),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such survey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(survey::get(&state.db, id.into_inner()).await?))
}

/// Close a survey (its form and the bot stop taking answers, and no more invitations go out),
/// reopen it, or set when it closes by itself.
#[utoipa::path(patch, path = "/v1/surveys/{id}", tag = "surveys", request_body = SurveyChange,
    params(("id" = i64, Path, description = "The survey's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The survey", body = Survey),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such survey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<SurveyChange>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(survey::change(&state.db, id.into_inner(), input, &organiser.change(now)).await?))
}

/// Send the survey now to everyone who attended (each person once, however often this is
/// called), by email with a personal link and by Discord DM as each chose.
#[utoipa::path(post, path = "/v1/surveys/{id}/invitations:send", tag = "surveys", params(("id" = i64, Path, description = "The survey's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many were invited now", body = Sent),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such survey", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`survey_closed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let sent = survey::send_now(&state.db, &state.public_url, id.into_inner(), &organiser.change(now)).await?;
    state.wake.notify_one();
    Ok(HttpResponse::Ok().json(sent))
}

/// My surveys still open for answers, newest first, each with the questions that apply to me
/// (a follow-up shows what I planned) and what I have answered.
#[utoipa::path(get, path = "/v1/me/surveys", tag = "me",
    params(("X-Discord-User" = String, Header, description = "The Discord user the bot acts for")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My open surveys", body = InvitationList),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_linked`, or an organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mine(state: web::Data<AppState>, Now(now): Now, me: Me) -> Result<HttpResponse, ApiError> {
    let items = survey::open_for(&state.db, &state.public_url, &me.person, now).await?;
    Ok(HttpResponse::Ok().json(InvitationList { items }))
}

/// Answer one of my surveys: all at once (`complete: true`) or a question at a time.
#[utoipa::path(post, path = "/v1/me/surveys/{id}/answers", tag = "me", request_body = AnswersInput,
    params(("X-Discord-User" = String, Header, description = "The Discord user the bot acts for"),
        ("id" = i64, Path, description = "The invitation's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The invitation with its answers", body = Invitation),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_linked`, or an organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No invitation of mine has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`survey_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Answers that do not fit their questions", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer(
    state: web::Data<AppState>,
    Now(now): Now,
    me: Me,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<AnswersInput>,
) -> Result<HttpResponse, ApiError> {
    let invitation = survey::invitation_of(&state.db, &me.person, id.into_inner()).await?;
    let saved = survey::answer(
        &state.db,
        &state.public_url,
        &invitation,
        input.answers.unwrap_or_default(),
        input.complete.unwrap_or(false),
        now,
    )
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// A survey's results: per question the answers' counts, means and distributions; the response
/// rate overall and by offset; for intended actions, how many were followed up and said done.
/// An anonymous survey's report names nobody (no report does).
#[utoipa::path(get, path = "/v1/surveys/{id}/report", tag = "surveys", params(("id" = i64, Path, description = "The survey's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = Report),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such survey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(report::survey_report(&state.db, id.into_inner()).await?))
}

/// A survey's responses, one row each with stable columns (`response_id, offset_days,
/// participant_id, name, school, submitted_at, updated_at`, then one per question; a follow-up
/// has `.done`, `.what_changed` and `.evidence`). In an anonymous survey the person's columns
/// are empty.
#[utoipa::path(get, path = "/v1/surveys/{id}/responses.csv", tag = "surveys", params(("id" = i64, Path, description = "The survey's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such survey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn responses_csv(
    state: web::Data<AppState>,
    _: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(responses_csv_of(&state, id.into_inner()).await?)
}

/// A survey's responses as a CSV download (the API's and the console's).
pub async fn responses_csv_of(state: &AppState, id: i64) -> Result<HttpResponse, DomainError> {
    let mut csv = String::new();
    for row in report::response_rows(&state.db, id).await? {
        csv.push_str(&crate::spreadsheet::csv_line(&row));
    }
    Ok(crate::spreadsheet::csv_download(
        &format!("survey-{id}-responses.csv"),
        csv,
    ))
}

/// A programme's impact: attendance at its events, its surveys' results (response rates,
/// means, intended actions followed up) and the reflections written about its events.
#[utoipa::path(get, path = "/v1/programmes/{id}/impact", tag = "programmes", params(("id" = i64, Path, description = "The programme's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The impact", body = Impact),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn impact(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(report::programme_impact(&state.db, id.into_inner()).await?))
}
