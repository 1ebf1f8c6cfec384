//! The pages' session: the signed-in cookie, the anti-forgery token every form carries, form
//! parsing, and the answers for someone signed out, a forged post or a failure. The organiser
//! console will share it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};

use super::COOKIE;
use crate::domain::DomainError;
use crate::domain::sign_in::{self, SignedIn};
use crate::error::ApiError;
use crate::pages::{self, Link};
use crate::state::AppState;

/// A form body's fields, in order (a field may repeat).
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, if given.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, if given and not blank.
    pub(super) fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every value of `name`.
    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The session cookie's value, if the request carries one.
pub(super) fn cookie_secret(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub(super) fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

/// The `Set-Cookie` value that holds a session for `max_age_seconds` (0 removes it).
pub(super) fn session_cookie(state: &AppState, value: &str, max_age_seconds: i64) -> String {
    format!(
        "{COOKIE}={value}; Path=/p; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{}",
        if secure(state) { "; Secure" } else { "" }
    )
}

/// A signed-in person, with what their forms must carry.
pub(super) struct Visitor {
    pub(super) signed: SignedIn,
    pub(super) secret: String,
    pub(super) csrf: String,
    /// The time the request came in, read once from the service's clock.
    pub(super) now: chrono::DateTime<chrono::Utc>,
}

/// Who the request's cookie signs in, if anyone.
pub(super) async fn visitor(state: &AppState, req: &HttpRequest) -> Result<Option<Visitor>, DomainError> {
    let Some(secret) = cookie_secret(req) else {
        return Ok(None);
    };
    let now = state.clock.now();
    Ok(sign_in::session_for(&state.db, &secret, now)
        .await?
        .map(|signed| Visitor {
            signed,
            now,
            csrf: sign_in::csrf_token(&secret),
            secret,
        }))
}

pub(super) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub(super) fn to_sign_in_link() -> Option<Link> {
    Some(Link {
        href: "/p/sign-in".to_owned(),
        text: "Get a sign-in link".to_owned(),
    })
}

/// The page for a post from someone not signed in (never signed in, signed out, or expired).
pub(super) fn signed_out(state: &AppState) -> HttpResponse {
    let mut page = pages::message(
        StatusCode::UNAUTHORIZED,
        "You are signed out",
        &[
            "Nothing was changed. Your session has ended (or you signed out), so Convene doesn't know who you are.",
            "Sign in again with a new link from your email, then try once more.",
        ],
        to_sign_in_link(),
    );
    add_cookie(&mut page, &session_cookie(state, "", 0));
    page
}

/// The page for a post without this session's anti-forgery token: from another site, or a
/// page kept open from an earlier session.
pub(super) fn forged() -> HttpResponse {
    pages::message(
        StatusCode::FORBIDDEN,
        "This form didn't come from your Convene page",
        &[
            "Nothing was changed. The form was missing the check that shows it came from your own page (it may have come from another website, or from a page left open since an earlier sign-in).",
            "Go back to your page and try again from there.",
        ],
        Some(Link {
            href: "/p".to_owned(),
            text: "Back to your page".to_owned(),
        }),
    )
}

pub(super) fn add_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = header::HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A failure that is not the person's doing (the database is down): a page, never a stack trace.
pub(super) fn trouble(err: DomainError) -> HttpResponse {
    let status = ApiError::from(err).status();
    pages::message(
        status,
        "Sorry, something went wrong",
        &["Convene couldn't finish that just now. Nothing you need to do has been lost: please try again in a minute."],
        Some(Link {
            href: "/p".to_owned(),
            text: "Back to your page".to_owned(),
        }),
    )
}

/// Runs a post: the visitor must be signed in and the form must carry their anti-forgery token;
/// then `act` answers. Any failure it returns becomes a page.
pub(super) async fn guarded<F>(state: &AppState, req: &HttpRequest, body: &[u8], act: F) -> HttpResponse
where
    F: AsyncFnOnce(&AppState, Visitor, Form) -> Result<HttpResponse, DomainError>,
{
    let visitor = match visitor(state, req).await {
        Ok(Some(v)) => v,
        Ok(None) => return signed_out(state),
        Err(e) => return trouble(e),
    };
    let form = Form::parse(body);
    if !form
        .get("csrf")
        .is_some_and(|given| sign_in::csrf_matches(&visitor.secret, given))
    {
        tracing::warn!(
            participant_id = visitor.signed.person.id,
            "a form post without its anti-forgery token was refused"
        );
        return forged();
    }
    act(state, visitor, form).await.unwrap_or_else(trouble)
}
