//! `/v1/participants`: the people of the network (organisers only).

use actix_web::{HttpResponse, web};

use crate::auth::Organiser;
use crate::clock::Now;
use crate::domain::participant::{self, Participant, ParticipantFilter, ParticipantInput};
use crate::domain::personal_data::{self, PersonalData};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

crate::list_schema!(ParticipantList, Participant);

/// List participants, filtered by school, role or text.
#[utoipa::path(get, path = "/v1/participants", tag = "participants", params(ParticipantFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of participants", body = ParticipantList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<ParticipantFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    Ok(super::page(participant::list(&state.db, &filter, page).await?))
}

/// Add a participant.
#[utoipa::path(post, path = "/v1/participants", tag = "participants", request_body = participant::NewParticipant,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The participant was added", body = Participant),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email belongs to someone else (`email_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    JsonBody(input): JsonBody<ParticipantInput>,
) -> Result<HttpResponse, ApiError> {
    let participant = participant::save(&state.db, None, input, &organiser.change(now)).await?;
    Ok(super::created(
        format!("/v1/participants/{}", participant.id),
        &participant,
    ))
}

/// Read a participant.
#[utoipa::path(get, path = "/v1/participants/{id}", tag = "participants", params(("id" = i64, Path, description = "The participant's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The participant", body = Participant),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, _: Organiser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(participant::get(&state.db, id.into_inner()).await?))
}

/// Change a participant's fields (only those given).
#[utoipa::path(patch, path = "/v1/participants/{id}", tag = "participants", request_body = ParticipantInput,
    params(("id" = i64, Path, description = "The participant's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed participant", body = Participant),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email belongs to someone else, or the participant was erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
    JsonBody(input): JsonBody<ParticipantInput>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let changed = participant::save(&state.db, Some(id), input, &organiser.change(now)).await?;
    Ok(HttpResponse::Ok().json(changed))
}

/// Erase a participant: their name, email, Discord link and feed are removed; their bookings and
/// answers stay, anonymised, so counts and registers still add up.
#[utoipa::path(delete, path = "/v1/participants/{id}", tag = "participants", params(("id" = i64, Path, description = "The participant's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Erased (erasing again is harmless)"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn erase(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    participant::erase(&state.db, id.into_inner(), &organiser.change(now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Everything Convene holds about a person, as one JSON document (for a subject access request):
/// profile, school, preferences, Discord link, bookings with their sessions and events,
/// reflections, survey invitations and answers with their questions, and the messages sent
/// (what and when, not their text). Secrets (feed token, link codes) are never included.
#[utoipa::path(get, path = "/v1/participants/{id}/export", tag = "participants", params(("id" = i64, Path, description = "The participant's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Everything held about them", body = PersonalData),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let data = personal_data::export(&state.db, id, now).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"participant-{id}.json\""),
        ))
        .json(data))
}
