//! `/v1/bot/channel-posts` and `/v1/bot/guild-events`: the bot leases what it posts to the
//! announcements channel and the scheduled events it keeps in step with sessions, and
//! acknowledges each one done. Bot keys only.

use actix_web::{HttpResponse, web};

use super::notifications::{bot_owner, lease_terms, not_leased};
use crate::auth::Bot;
use crate::clock::Now;
use crate::db;
use crate::domain::notification as outbox;
use crate::domain::{DomainError, Validator, discord};
use crate::error::{ApiError, Problem};
use crate::extract::parse_json;
use crate::state::AppState;
pub use crate::wire::discord::{GuildEventAck, LeasedGuildEvents, LeasedPosts};
use crate::wire::notifications::LeaseRequest;

/// Lease posts for the announcements channel (the body may be empty): announcements and newly
/// published conference and SLP sessions, with their places left as of now. Post each, then
/// acknowledge it; one not acknowledged within the lease is offered again.
#[utoipa::path(post, path = "/v1/bot/channel-posts/lease", tag = "bot", request_body = LeaseRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Posts to make", body = LeasedPosts),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a bot key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or lease", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn lease_posts(
    state: web::Data<AppState>,
    Now(now): Now,
    Bot(key): Bot,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (limit, lease) = lease_terms(&body)?;
    let owner = bot_owner(&key.name);
    let rows = {
        let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
        outbox::claim(&state.db, discord::CHANNEL, &owner, limit, lease, now).await?
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        match discord::channel_post(&state.db, &row, now).await? {
            Some(post) => items.push(post),
            None => {
                let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
                outbox::withdraw(
                    &state.db,
                    row.id,
                    &owner,
                    "its session was cancelled or has started",
                    now,
                )
                .await?;
            }
        }
    }
    Ok(HttpResponse::Ok().json(LeasedPosts { items }))
}

/// Acknowledge a channel post as made.
#[utoipa::path(post, path = "/v1/bot/channel-posts/{id}/ack", tag = "bot",
    params(("id" = i64, Path, description = "The post's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Marked posted"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a bot key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not leased to this bot, or the lease ran out (`not_leased`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ack_post(
    state: web::Data<AppState>,
    Now(now): Now,
    Bot(key): Bot,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let marked = {
        let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
        outbox::mark_sent(
            &state.db,
            id,
            &bot_owner(&key.name),
            &format!("discord-channel-{id}"),
            now,
        )
        .await?
    };
    match marked {
        // Only this route marks `discord_channel` rows: a DM's id is refused here.
        Some(kind) if kind == discord::SESSION_PUBLISHED || kind == discord::ANNOUNCEMENT => {
            state.metrics.message_sent(discord::CHANNEL, &kind);
            Ok(HttpResponse::NoContent().finish())
        }
        _ => Err(not_leased(format!(
            "post {id} is not leased to this bot (it may have been posted already, or its lease ran out)"
        ))),
    }
}

/// Lease scheduled events to bring in step with their sessions (the body may be empty): each
/// says what to do now (`create`, `update` or `cancel`). Do each, then acknowledge it with the
/// Discord event's id and the `version` leased; a session changed meanwhile is offered again.
#[utoipa::path(post, path = "/v1/bot/guild-events/lease", tag = "bot", request_body = LeaseRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Scheduled events to sync", body = LeasedGuildEvents),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a bot key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or lease", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn lease_guild_events(
    state: web::Data<AppState>,
    Now(now): Now,
    Bot(key): Bot,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (limit, lease) = lease_terms(&body)?;
    let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
    let items = discord::lease_guild_events(&state.db, &bot_owner(&key.name), limit, lease, now).await?;
    Ok(HttpResponse::Ok().json(LeasedGuildEvents { items }))
}

/// Acknowledge a session's scheduled event as synced.
#[utoipa::path(post, path = "/v1/bot/guild-events/{session_id}/ack", tag = "bot", request_body = GuildEventAck,
    params(("session_id" = i64, Path, description = "The session whose scheduled event was synced")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Marked synced"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a bot key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not leased to this bot, the lease ran out, or not a version it was given (`not_leased`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad Discord id or version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ack_guild_event(
    state: web::Data<AppState>,
    Bot(key): Bot,
    session_id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // Read after the key is checked, so that a caller without one learns nothing from the body.
    let input: GuildEventAck = parse_json(&body)?;
    let session_id = session_id.into_inner();
    let mut v = Validator::new();
    if input.discord_event_id.is_empty()
        || input.discord_event_id.len() > 32
        || !input.discord_event_id.bytes().all(|b| b.is_ascii_digit())
    {
        v.fail("discord_event_id", "a Discord id: 1 to 32 digits");
    }
    let version = v.int_in("version", input.version, 1..=i64::from(i32::MAX));
    v.finish().map_err(ApiError::invalid)?;
    let done = {
        let _turn = db::write_turn(&state.db).await.map_err(DomainError::from)?;
        discord::finish(
            &state.db,
            session_id,
            &bot_owner(&key.name),
            Some(&input.discord_event_id),
            version,
        )
        .await?
    };
    if done {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_leased(format!(
            "the scheduled event of session {session_id} is not leased to this bot at version {version} \
             (it may have been acknowledged already, or its lease ran out)"
        )))
    }
}
