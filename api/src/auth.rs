//! Who is calling: `Authorization: Bearer <key>` checked against the hashed keys.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::domain::event::Audience;
use crate::domain::keys::{self, AuthenticatedKey, KeyRole};
use crate::error::ApiError;
use crate::startup::AppState;

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

/// Checks the request's key, if it has one.
async fn key_of(state: web::Data<AppState>, token: Option<String>) -> Result<Option<AuthenticatedKey>, ApiError> {
    let Some(token) = token else { return Ok(None) };
    match keys::authenticate(&state.db, &token).await? {
        Some(key) => Ok(Some(key)),
        None => Err(ApiError::unauthorized("the key is unknown or was revoked")),
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Misconfigured",
            "no application state",
        )
    })
}

/// An organiser: the request carries a live organiser key (else 401, or 403 for a bot key).
#[derive(Clone, Debug)]
pub struct Organiser(pub AuthenticatedKey);

impl FromRequest for Organiser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state_of(req);
        Box::pin(async move {
            let token = token?
                .ok_or_else(|| ApiError::unauthorized("this needs an organiser key: Authorization: Bearer <key>"))?;
            let key = key_of(state?, Some(token))
                .await?
                .ok_or_else(|| ApiError::unauthorized("no key"))?;
            if key.role != KeyRole::Organiser {
                return Err(ApiError::forbidden(format!(
                    "the {} key '{}' cannot use organiser routes",
                    key.role.as_str(),
                    key.name
                )));
            }
            Ok(Organiser(key))
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
        let token = bearer(req);
        let state = state_of(req);
        Box::pin(async move {
            let token = token?;
            if token.is_none() {
                return Ok(Viewer(Audience::Public));
            }
            let key = key_of(state?, token).await?;
            Ok(Viewer(match key {
                Some(k) if k.role == KeyRole::Organiser => Audience::Organiser,
                _ => Audience::Public,
            }))
        })
    }
}
