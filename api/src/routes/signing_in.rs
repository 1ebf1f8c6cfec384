//! Signing in to an area (the participant pages, the organiser console) and out: the form asking
//! for an address, following an emailed link, signing out. [`configure`] registers them under an
//! area's path.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::web_session::{Area, Form, add_cookie, see_other};
use crate::cache::Unchanged;
use crate::clock::Now;
use crate::domain::DomainError;
use crate::domain::sign_in::{self, LinkRefused, Scope};
use crate::pages;
use crate::state::AppState;

/// Registers `area`'s `/sign-in` (the form, and asking for a link), `/auth/{token}` (following
/// one) and `/sign-out`. The first two, which anyone may call without a session, are
/// rate-limited per client.
pub fn configure(cfg: &mut web::ServiceConfig, area: &'static Area, protection: &crate::protection::Protection) {
    let path = area.path;
    cfg.service(
        web::resource(format!("{path}/sign-in"))
            .wrap(protection.rate_limit.middleware())
            .route(
                web::get().to(move |state: web::Data<AppState>, req: HttpRequest| async move {
                    form(area, &state, &req).await
                }),
            )
            .route(web::post().to(
                move |state: web::Data<AppState>, Now(now): Now, body: web::Bytes| async move {
                    ask(area, &state, now, &body).await
                },
            )),
    )
    .service(
        web::resource(format!("{path}/auth/{{token}}"))
            .wrap(protection.rate_limit.middleware())
            .route(web::get().to(
                move |state: web::Data<AppState>, Now(now): Now, token: web::Path<String>| async move {
                    follow(area, &state, now, &token).await
                },
            )),
    )
    .service(
        web::resource(format!("{path}/sign-out"))
            .route(web::post().to(
                move |state: web::Data<AppState>, req: HttpRequest, body: web::Bytes| async move {
                    sign_out(area, &state, &req, &body).await
                },
            ))
            // A `GET` of an address that only takes form posts: back to the area's home.
            .route(web::get().to(move || async move { see_other(area.path) })),
    );
}

#[derive(Serialize)]
struct SignInView {
    email: String,
    error: Option<String>,
    sent: bool,
    minutes: i64,
    /// Where the form posts.
    action: String,
    /// Whether this is the organiser console's form (the words differ).
    console: bool,
}

impl SignInView {
    fn new(area: &Area) -> Self {
        Self {
            email: String::new(),
            error: None,
            sent: false,
            minutes: sign_in::LINK_MINUTES,
            action: format!("{}/sign-in", area.path),
            console: area.scope == Scope::Organiser,
        }
    }
}

fn sign_in_page(status: StatusCode, view: SignInView) -> HttpResponse {
    pages::render(status, "sign_in.html", view)
}

/// The one-field form asking for an email address (someone signed in goes to the area's home).
async fn form(area: &Area, state: &AppState, req: &HttpRequest) -> HttpResponse {
    if let Ok(Some(_)) = area.visitor(state, req).await {
        return see_other(area.path);
    }
    sign_in_page(StatusCode::OK, SignInView::new(area))
}

/// Emails a sign-in link to the address if it belongs to someone who may sign in to the area,
/// and answers "check your email" either way.
async fn ask(area: &Area, state: &AppState, now: DateTime<Utc>, body: &[u8]) -> HttpResponse {
    let form = Form::parse(body);
    let typed = form.get("email").unwrap_or_default().trim().to_owned();
    match sign_in::read_email(form.get("email").map(str::to_owned)) {
        Ok(asked) => {
            // Looked up and sent after answering, so the answer takes as long either way.
            state.sign_in.ask(area.scope, asked.email.clone(), now);
            let mut page = sign_in_page(
                StatusCode::OK,
                SignInView {
                    email: asked.email,
                    sent: true,
                    minutes: asked.expires_in_minutes,
                    ..SignInView::new(area)
                },
            );
            page.extensions_mut().insert(Unchanged);
            page
        }
        Err(DomainError::Invalid(errors)) => sign_in_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            SignInView {
                email: typed.chars().take(320).collect(),
                error: Some(
                    errors
                        .first()
                        .map(|e| {
                            if e.message.starts_with("is required") {
                                "Enter your email address".to_owned()
                            } else {
                                "Enter your email address as name@school.org.uk".to_owned()
                            }
                        })
                        .unwrap_or_default(),
                ),
                ..SignInView::new(area)
            },
        ),
        Err(other) => area.trouble(other),
    }
}

/// Follows an emailed link: a fresh, unused one opens a session and goes to the area's home; a
/// used, expired or unknown one gets a page saying so and how to get another.
async fn follow(area: &Area, state: &AppState, now: DateTime<Utc>, token: &str) -> HttpResponse {
    let refused = match sign_in::follow_link(&state.db, area.scope, token, now).await {
        Ok(Ok(session)) => {
            let mut response = see_other(area.path);
            response
                .headers_mut()
                .insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
            let seconds = area.scope.session_lifetime().num_seconds();
            add_cookie(&mut response, &area.session_cookie(state, &session.secret, seconds));
            return response;
        }
        Ok(Err(refused)) => refused,
        Err(e) => return area.trouble(e),
    };
    let minutes = sign_in::LINK_MINUTES;
    match refused {
        LinkRefused::Used => pages::message(
            StatusCode::GONE,
            "This sign-in link has already been used",
            &[
                "Each link works only once, to keep your page safe. If you signed in with it on another device, you are still signed in there.",
                "To sign in here, ask for a new link: it takes a moment.",
            ],
            area.sign_in_link(),
        ),
        LinkRefused::Expired => pages::message(
            StatusCode::GONE,
            "This sign-in link has expired",
            &[
                &format!("Links work for {minutes} minutes after they are sent, to keep your page safe."),
                "Ask for a new link: it takes a moment.",
            ],
            area.sign_in_link(),
        ),
        LinkRefused::Unknown => pages::message(
            StatusCode::NOT_FOUND,
            "This sign-in link isn't recognised",
            &[
                "Check that you used the whole link from the email (some email programs break long links over two lines).",
                "If it still doesn't work, ask for a new link.",
            ],
            area.sign_in_link(),
        ),
    }
}

/// Signs out here (or, with `everywhere`, on every device): the session is revoked on the
/// server, not just forgotten by the browser.
async fn sign_out(area: &Area, state: &AppState, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    area.guarded(state, req, body, async |state, visitor, form| {
        let everywhere = form.get("everywhere").is_some();
        sign_in::sign_out(&state.db, &visitor.signed, everywhere, visitor.now).await?;
        let mut page = pages::message(
            StatusCode::OK,
            "You are signed out",
            &[if everywhere {
                "You are signed out on every device. To come back, ask for a new sign-in link."
            } else {
                "You are signed out on this device. To come back, ask for a new sign-in link."
            }],
            area.sign_in_link(),
        );
        add_cookie(&mut page, &area.session_cookie(state, "", 0));
        page.extensions_mut().insert(Unchanged);
        Ok(page)
    })
    .await
}
