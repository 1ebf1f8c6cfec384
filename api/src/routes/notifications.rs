//! `/v1/notifications`: the outbox as organisers see it (dead letters above all), and
//! `/v1/bot/notifications`: the Discord bot leases its messages and acknowledges each one sent.

use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::auth::{Bot, Organiser};
use crate::clock::Now;
use crate::db;
use crate::domain::announcement;
use crate::domain::notification::{self as outbox, Notification, NotificationFilter};
use crate::domain::outbox::Kind;
use crate::domain::{DomainError, Validator};
use crate::error::{ApiError, Problem};
use crate::extract::{QueryParams, parse_optional_json};
use crate::mail::{self, About};
use crate::problem_code::ProblemCode;
use crate::state::AppState;
pub use crate::wire::notifications::{DiscordMessage, LeaseRequest, Leased};

crate::list_schema!(NotificationList, Notification);

/// List queued and sent messages, oldest first; `?state=dead` lists those that could not be delivered.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", params(NotificationFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of messages", body = NotificationList),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _: Organiser,
    QueryParams(filter): QueryParams<NotificationFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    let page = outbox::list(&state.db, &filter, page)
        .await
        .map_err(ApiError::from_query)?;
    Ok(super::page(page))
}

/// Send a dead message again (its tries start afresh).
#[utoipa::path(post, path = "/v1/notifications/{id}/retry", tag = "notifications",
    params(("id" = i64, Path, description = "The message's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The message, pending again", body = Notification),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message is not dead (`notification_not_dead`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry(
    state: web::Data<AppState>,
    Now(now): Now,
    organiser: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let row = outbox::retry(&state.db, id.into_inner(), &organiser.change(now)).await?;
    state.wake.notify_one();
    Ok(HttpResponse::Ok().json(row))
}

/// Lease due Discord messages (the body may be empty). Each must be acknowledged within the lease; one that is not (a
/// DM that failed) comes back later, and after the set number of tries it is dead.
#[utoipa::path(post, path = "/v1/bot/notifications/lease", tag = "bot", request_body = LeaseRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Messages to send", body = Leased),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a bot key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or lease", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn lease(
    state: web::Data<AppState>,
    Now(now): Now,
    Bot(key): Bot,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (limit, lease) = lease_terms(&body)?;
    let owner = bot_owner(&key.name);
    // Each write takes its turn on SQLite, as the worker's and the channel posts' do.
    let rows = {
        let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
        outbox::claim(&state.db, "discord", &owner, limit, lease, now).await?
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        match discord_message(&state, &row, now).await? {
            Some(message) => items.push(message),
            None => {
                let reason = announcement::why_not_sent(&state.db, &row)
                    .await?
                    .unwrap_or("no linked Discord account, or it no longer applies");
                let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
                outbox::withdraw(&state.db, row.id, &owner, reason, now).await?;
            }
        }
    }
    Ok(HttpResponse::Ok().json(Leased { items }))
}

/// Acknowledge a Discord message as sent.
#[utoipa::path(post, path = "/v1/bot/notifications/{id}/ack", tag = "bot",
    params(("id" = i64, Path, description = "The message's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Marked sent"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not leased to this bot, or the lease ran out (`not_leased`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ack(
    state: web::Data<AppState>,
    Now(now): Now,
    Bot(key): Bot,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let message_id = format!("discord-{id}");
    let marked = {
        let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
        outbox::mark_sent(&state.db, id, &bot_owner(&key.name), &message_id, now).await?
    };
    if let Some(kind) = marked {
        state.metrics.message_sent("discord", &kind);
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_leased(format!(
            "message {id} is not leased to this bot (it may have been sent already, or its lease ran out)"
        )))
    }
}

/// The answer to an acknowledgement of something this bot does not hold.
pub(super) fn not_leased(detail: String) -> ApiError {
    DomainError::conflict(ProblemCode::NotLeased, detail, None).into()
}

/// The lease's limit and length from an optional body: 1–100 (default 20) and 10–600 s (default 60).
pub(super) fn lease_terms(body: &[u8]) -> Result<(u64, Duration), ApiError> {
    let input: LeaseRequest = parse_optional_json(body)?;
    let mut v = Validator::new();
    let limit = v.int_in("limit", input.limit.unwrap_or(20), 1..=100);
    let seconds = v.int_in("lease_seconds", input.lease_seconds.unwrap_or(60), 10..=600);
    v.finish().map_err(ApiError::invalid)?;
    Ok((
        u64::try_from(limit).unwrap_or(20),
        Duration::from_secs(u64::try_from(seconds).unwrap_or(60)),
    ))
}

/// Who holds a bot's leases: its key's name.
pub(super) fn bot_owner(key_name: &str) -> String {
    format!("bot:{key_name}")
}

/// Writes a leased row as a Discord message; `None` when it no longer applies.
async fn discord_message(
    state: &AppState,
    row: &entity::notification::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<DiscordMessage>, ApiError> {
    let Some(kind) = Kind::parse(&row.kind) else {
        return Ok(None);
    };
    let Some(subject) = outbox::subject_of(&state.db, row).await? else {
        return Ok(None);
    };
    let person = &subject.person;
    let Some(discord_user_id) = person.discord_id.clone().filter(|_| person.erased_at.is_none()) else {
        return Ok(None);
    };
    // An announcement goes only to people who still hear by Discord and take announcements.
    if kind == Kind::Announcement && !(person.notify_discord && person.announcements) {
        return Ok(None);
    }
    let letter = mail::compose(kind, &About::of(&subject, &row.payload, 0, &state.site, now));
    Ok(Some(DiscordMessage {
        id: row.id,
        discord_user_id,
        kind: row.kind.clone(),
        title: letter.subject,
        text: letter.text,
        booking_id: row.booking_id,
        session_id: row.session_id,
        attempt: row.attempts,
    }))
}
