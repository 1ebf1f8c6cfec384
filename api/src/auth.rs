//! Who is calling: `Authorization: Bearer <key>` checked against the hashed keys.

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use chrono::{DateTime, Utc};

use crate::domain::audit::{Actor, ActorKind, Change};
use crate::domain::event::Audience;
use crate::domain::keys::{self, AuthenticatedKey, KeyRole};
use crate::error::ApiError;
use crate::problem_code::ProblemCode;
use crate::state::AppState;

/// The bearer token of a request: `None` when there is no `Authorization` header, an error when
/// there is one that is not `Bearer <token>`.
fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::unauthorized("use Authorization: Bearer <key>")),
    }
}

/// The request's key: `None` without an `Authorization` header; an error for a malformed
/// header or a key that is unknown or revoked.
fn key_of(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Option<AuthenticatedKey>, ApiError>> {
    let token = bearer(req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    Box::pin(async move {
        let Some(token) = token? else { return Ok(None) };
        let state = state.ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ProblemCode::InternalError,
                "Misconfigured",
                "no application state",
            )
        })?;
        match keys::authenticate(&state.db, &token).await? {
            Some(key) => Ok(Some(key)),
            None => Err(ApiError::unauthorized("the key is unknown or was revoked")),
        }
    })
}

/// The request's key, which must be live and of `role`: 401 without one, 403 with another role.
fn key_with_role(
    req: &HttpRequest,
    role: KeyRole,
    missing: &'static str,
) -> LocalBoxFuture<'static, Result<AuthenticatedKey, ApiError>> {
    let key = key_of(req);
    Box::pin(async move {
        let key = key.await?.ok_or_else(|| ApiError::unauthorized(missing))?;
        if key.role != role {
            return Err(ApiError::forbidden(format!(
                "the {} key '{}' cannot use {} routes{}",
                key.role.as_str(),
                key.name,
                if role == KeyRole::Bot { "the bot's" } else { "organiser" },
                if role == KeyRole::Bot {
                    " (make one with keys create --role bot)"
                } else {
                    ""
                },
            )));
        }
        Ok(key)
    })
}

/// An organiser: the request carries a live organiser key (else 401, or 403 for a bot key).
#[derive(Clone, Debug)]
pub struct Organiser(pub AuthenticatedKey);

impl FromRequest for Organiser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = key_with_role(
            req,
            KeyRole::Organiser,
            "this needs an organiser key: Authorization: Bearer <key>",
        );
        Box::pin(async move { key.await.map(Organiser) })
    }
}

impl Organiser {
    /// A change this key's holder makes `now`.
    pub fn change(&self, now: DateTime<Utc>) -> Change {
        Change::new(Actor::key(&self.0), now)
    }
}

impl OrganiserToCheck {
    /// A change this key's holder makes `now`.
    pub fn change(&self, now: DateTime<Utc>) -> Change {
        Change::new(Actor::key(&self.0), now)
    }
}

impl Me {
    /// A change the linked participant makes `now`, through the bot.
    pub fn change(&self, now: DateTime<Utc>) -> Change {
        Change::new(Actor::person(ActorKind::Participant, &self.person), now)
    }
}

/// An organiser, for a handler that checks the key is still live inside its own transaction
/// (booking does, in the query that locks the session): a key this process has found live before
/// is let through without asking the database, so the handler must pass its id on. Any other key
/// is looked up as for [`Organiser`] (401, or 403 for a bot key), and kept once found live.
#[derive(Clone, Debug)]
pub struct OrganiserToCheck(pub AuthenticatedKey);

impl FromRequest for OrganiserToCheck {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let hash = match bearer(req) {
            Ok(Some(token)) => Some(keys::hash_key(&token)),
            _ => None,
        };
        if let (Some(state), Some(hash)) = (&state, &hash)
            && let Some(key) = state.keys.get(hash)
        {
            return Box::pin(async move { Ok(Self(key)) });
        }
        let checked = key_with_role(
            req,
            KeyRole::Organiser,
            "this needs an organiser key: Authorization: Bearer <key>",
        );
        Box::pin(async move {
            let key = checked.await?;
            if let (Some(state), Some(hash)) = (state, hash) {
                state.keys.remember(hash, key.clone());
            }
            Ok(Self(key))
        })
    }
}

/// The Discord bot: the request carries a live bot key (else 401, or 403 for an organiser key),
/// within the key's rate limit (else 429).
#[derive(Clone, Debug)]
pub struct Bot(pub AuthenticatedKey);

impl FromRequest for Bot {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = key_with_role(req, KeyRole::Bot, "this needs a bot key: Authorization: Bearer <key>");
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let key = key.await?;
            if let Some(state) = state {
                state.bot_limits.check(key.id, None)?;
            }
            Ok(Bot(key))
        })
    }
}

/// Anyone: the public without a key, or an organiser with one. A key that is sent must be valid.
#[derive(Clone, Debug)]
pub struct Viewer(pub Audience);

impl FromRequest for Viewer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = key_of(req);
        Box::pin(async move {
            Ok(Viewer(match key.await? {
                Some(k) if k.role == KeyRole::Organiser => Audience::Organiser,
                _ => Audience::Public,
            }))
        })
    }
}

/// The header naming the Discord user the bot acts for.
pub const DISCORD_USER: &str = "X-Discord-User";

/// A linked participant, acting through the bot: a live bot key (else 401, or 403 for an
/// organiser key) and `X-Discord-User` naming a Discord account linked to a participant (else
/// `400 discord_user_missing`, or `403 not_linked`), within the limits per Discord user and per
/// key (else `429 rate_limited`).
#[derive(Clone, Debug)]
pub struct Me {
    /// The bot's key.
    pub key: AuthenticatedKey,
    /// The Discord user's id, as sent.
    pub discord_id: String,
    /// The participant it is linked to.
    pub person: entity::participant::Model,
}

impl FromRequest for Me {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = key_with_role(req, KeyRole::Bot, "this needs a bot key: Authorization: Bearer <key>");
        let discord_id = req
            .headers()
            .get(DISCORD_USER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let key = key.await?;
            let discord_id = discord_id.ok_or_else(|| {
                ApiError::bad_request(
                    ProblemCode::DiscordUserMissing,
                    "name the Discord user the bot acts for in the X-Discord-User header",
                    Some(DISCORD_USER.to_owned()),
                )
            })?;
            let state = state.ok_or_else(|| ApiError::internal(&"no application state"))?;
            state.bot_limits.check(key.id, Some(&discord_id))?;
            let person = crate::domain::link::linked_participant(&state.db, &discord_id)
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::FORBIDDEN,
                        ProblemCode::NotLinked,
                        "This Discord account is not linked",
                        format!("Discord user {discord_id} is not linked to a participant: link with /v1/bot/link and /v1/bot/verify"),
                    )
                })?;
            Ok(Me {
                key,
                discord_id,
                person,
            })
        })
    }
}
