//! The session of the server-rendered areas people sign in to with an emailed link — the
//! participant pages (`/p`) and the organiser console (`/o`): the signed-in cookie, the
//! anti-forgery token every form carries, form parsing, and the answers for someone signed out, a
//! forged post or a failure. Each area has a cookie of its own, scoped to its path, and a session
//! opened in one never opens the other (see [`crate::domain::sign_in::Scope`]).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use crate::domain::DomainError;
use crate::domain::audit::{Actor, ActorKind, Change};
use crate::domain::sign_in::{self, Scope, SignedIn};
use crate::error::ApiError;
use crate::pages::{self, Link};
use crate::state::AppState;

/// An area people sign in to.
pub struct Area {
    /// Whose sessions open it.
    pub scope: Scope,
    /// The session cookie's name.
    pub cookie: &'static str,
    /// Where it lives (the cookie's `Path`, and its home page).
    pub path: &'static str,
    /// The cookie's `SameSite`: `Lax` for the participant pages (a link from an email opens
    /// them signed in), `Strict` for the console.
    pub same_site: &'static str,
    /// The home page's name, on links back to it.
    pub home: &'static str,
}

/// A form body's fields, in order (a field may repeat).
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads an `application/x-www-form-urlencoded` body (or query string).
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// A form of these fields.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The first value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, if given and not blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A signed-in person, with what their forms must carry.
pub struct Visitor {
    /// The session and its person.
    pub signed: SignedIn,
    /// The cookie's secret.
    pub secret: String,
    /// The anti-forgery token the session's forms carry.
    pub csrf: String,
    /// The time the request came in, read once from the service's clock.
    pub now: DateTime<Utc>,
    /// What the visitor is in the audit trail: an organiser in the console, else a participant.
    pub kind: ActorKind,
}

impl Visitor {
    /// A change the visitor makes, at the time their request came in.
    pub fn change(&self) -> Change {
        Change::new(Actor::person(self.kind, &self.signed.person), self.now)
    }
}

impl Area {
    /// The session cookie's value, if the request carries one.
    pub fn cookie_secret(&self, req: &HttpRequest) -> Option<String> {
        req.headers()
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The `Set-Cookie` value that holds a session for `max_age_seconds` (0 removes it).
    pub fn session_cookie(&self, state: &AppState, value: &str, max_age_seconds: i64) -> String {
        format!(
            "{}={value}; Path={}; Max-Age={max_age_seconds}; HttpOnly; SameSite={}{}",
            self.cookie,
            self.path,
            self.same_site,
            if state.public_url.starts_with("https://") {
                "; Secure"
            } else {
                ""
            }
        )
    }

    /// Who the request's cookie signs in to this area, if anyone.
    pub async fn visitor(&self, state: &AppState, req: &HttpRequest) -> Result<Option<Visitor>, DomainError> {
        let Some(secret) = self.cookie_secret(req) else {
            return Ok(None);
        };
        let now = state.clock.now();
        Ok(sign_in::session_for(&state.db, self.scope, &secret, now)
            .await?
            .map(|signed| Visitor {
                signed,
                now,
                kind: match self.scope {
                    Scope::Organiser => ActorKind::Organiser,
                    Scope::Participant => ActorKind::Participant,
                },
                csrf: sign_in::csrf_token(&secret),
                secret,
            }))
    }

    /// The visitor signed in to this area, or the answer for someone who is not: to the sign-in
    /// form (forgetting a cookie that no longer signs anyone in).
    pub async fn require(&self, state: &AppState, req: &HttpRequest) -> Result<Visitor, HttpResponse> {
        match self.visitor(state, req).await {
            Ok(Some(visitor)) => Ok(visitor),
            Ok(None) => {
                let mut response = see_other(&format!("{}/sign-in", self.path));
                if self.cookie_secret(req).is_some() {
                    add_cookie(&mut response, &self.session_cookie(state, "", 0));
                }
                Err(response)
            }
            Err(e) => Err(self.trouble(e)),
        }
    }

    /// The link to this area's sign-in form.
    pub fn sign_in_link(&self) -> Option<Link> {
        Some(Link {
            href: format!("{}/sign-in", self.path),
            text: "Get a sign-in link".to_owned(),
        })
    }

    /// The link back to this area's home page.
    fn home_link(&self) -> Option<Link> {
        Some(Link {
            href: self.path.to_owned(),
            text: format!("Back to {}", self.home),
        })
    }

    /// The page for a post from someone not signed in (never signed in, signed out, or expired).
    pub fn signed_out(&self, state: &AppState) -> HttpResponse {
        let mut page = pages::message(
            StatusCode::UNAUTHORIZED,
            "You are signed out",
            &[
                "Nothing was changed. Your session has ended (or you signed out), so Convene doesn't know who you are.",
                "Sign in again with a new link from your email, then try once more.",
            ],
            self.sign_in_link(),
        );
        add_cookie(&mut page, &self.session_cookie(state, "", 0));
        page
    }

    /// The page for a post without this session's anti-forgery token: from another site, or a
    /// page kept open from an earlier session.
    pub fn forged(&self) -> HttpResponse {
        pages::message(
            StatusCode::FORBIDDEN,
            "This form didn't come from your Convene page",
            &[
                "Nothing was changed. The form was missing the check that shows it came from your own page (it may have come from another website, or from a page left open since an earlier sign-in).",
                "Go back to your page and try again from there.",
            ],
            self.home_link(),
        )
    }

    /// A failure that is not the person's doing (the database is down): a page, never a stack
    /// trace.
    pub fn trouble(&self, err: DomainError) -> HttpResponse {
        let status = ApiError::from(err).status();
        pages::message(
            status,
            "Sorry, something went wrong",
            &[
                "Convene couldn't finish that just now. Nothing you need to do has been lost: please try again in a minute.",
            ],
            self.home_link(),
        )
    }

    /// Anything else under the area's path: its home for an empty tail, else a page saying
    /// there is nothing here.
    pub fn not_found(&self, tail: &str) -> HttpResponse {
        if tail.is_empty() {
            return see_other(self.path);
        }
        pages::message(
            StatusCode::NOT_FOUND,
            "There is no page here",
            &["Check the address, or go back to where you started."],
            self.home_link(),
        )
    }

    /// Runs a post: the visitor must be signed in and the form must carry their anti-forgery
    /// token; then `act` answers. Any failure it returns becomes a page.
    pub async fn guarded<F>(&self, state: &AppState, req: &HttpRequest, body: &[u8], act: F) -> HttpResponse
    where
        F: AsyncFnOnce(&AppState, Visitor, Form) -> Result<HttpResponse, DomainError>,
    {
        self.guarded_form(state, req, Form::parse(body), act).await
    }

    /// Runs a post whose fields were already read (a file upload's): as [`Area::guarded`].
    pub async fn guarded_form<F>(&self, state: &AppState, req: &HttpRequest, form: Form, act: F) -> HttpResponse
    where
        F: AsyncFnOnce(&AppState, Visitor, Form) -> Result<HttpResponse, DomainError>,
    {
        let visitor = match self.visitor(state, req).await {
            Ok(Some(v)) => v,
            Ok(None) => return self.signed_out(state),
            Err(e) => return self.trouble(e),
        };
        if !form
            .get("csrf")
            .is_some_and(|given| sign_in::csrf_matches(&visitor.secret, given))
        {
            tracing::warn!(
                participant_id = visitor.signed.person.id,
                area = self.path,
                "a form post without its anti-forgery token was refused"
            );
            return self.forged();
        }
        act(state, visitor, form).await.unwrap_or_else(|e| self.trouble(e))
    }
}

/// A `303 See Other` to `location`, never cached.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Adds a `Set-Cookie` header.
pub fn add_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = header::HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
