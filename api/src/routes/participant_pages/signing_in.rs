//! Signing in and out: the form asking for an address, following an emailed link, signing out.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::session::{Form, add_cookie, guarded, see_other, session_cookie, to_sign_in_link, trouble, visitor};
use crate::cache::Unchanged;
use crate::clock::Now;
use crate::domain::DomainError;
use crate::domain::sign_in::{self, LinkRefused};
use crate::pages::{self, Link};
use crate::state::AppState;

#[derive(Serialize)]
pub(super) struct SignInView {
    pub(super) email: String,
    pub(super) error: Option<String>,
    pub(super) sent: bool,
    pub(super) minutes: i64,
}

pub(super) fn sign_in_page(status: StatusCode, view: SignInView) -> HttpResponse {
    pages::render(status, "sign_in.html", view)
}

/// The one-field form asking for an email address (someone signed in goes to their page).
pub async fn sign_in_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Ok(Some(_)) = visitor(&state, &req).await {
        return see_other("/p");
    }
    sign_in_page(
        StatusCode::OK,
        SignInView {
            email: String::new(),
            error: None,
            sent: false,
            minutes: sign_in::LINK_MINUTES,
        },
    )
}

/// Emails a sign-in link to the address if it belongs to someone in the network, and answers
/// "check your email" either way.
pub async fn sign_in(state: web::Data<AppState>, Now(now): Now, body: web::Bytes) -> HttpResponse {
    let form = Form::parse(&body);
    let typed = form.get("email").unwrap_or_default().trim().to_owned();
    match sign_in::read_email(form.get("email").map(str::to_owned)) {
        Ok(asked) => {
            // Looked up and sent after answering, so the answer takes as long either way.
            state.sign_in.ask(asked.email.clone(), now);
            let mut page = sign_in_page(
                StatusCode::OK,
                SignInView {
                    email: asked.email,
                    error: None,
                    sent: true,
                    minutes: asked.expires_in_minutes,
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
                sent: false,
                minutes: sign_in::LINK_MINUTES,
            },
        ),
        Err(other) => trouble(other),
    }
}

/// Follows an emailed link: a fresh, unused one opens a session and goes to `/p`; a used,
/// expired or unknown one gets a page saying so and how to get another.
pub async fn follow(state: web::Data<AppState>, Now(now): Now, token: web::Path<String>) -> HttpResponse {
    let refused = match sign_in::follow_link(&state.db, &token, now).await {
        Ok(Ok(session)) => {
            let seconds = sign_in::SESSION_DAYS * 24 * 3600;
            let mut response = see_other("/p");
            response
                .headers_mut()
                .insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
            add_cookie(&mut response, &session_cookie(&state, &session.secret, seconds));
            return response;
        }
        Ok(Err(refused)) => refused,
        Err(e) => return trouble(e),
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
            to_sign_in_link(),
        ),
        LinkRefused::Expired => pages::message(
            StatusCode::GONE,
            "This sign-in link has expired",
            &[
                &format!("Links work for {minutes} minutes after they are sent, to keep your page safe."),
                "Ask for a new link: it takes a moment.",
            ],
            to_sign_in_link(),
        ),
        LinkRefused::Unknown => pages::message(
            StatusCode::NOT_FOUND,
            "This sign-in link isn't recognised",
            &[
                "Check that you used the whole link from the email (some email programs break long links over two lines).",
                "If it still doesn't work, ask for a new link.",
            ],
            to_sign_in_link(),
        ),
    }
}

/// Signs out here (or, with `everywhere`, on every device): the session is revoked on the
/// server, not just forgotten by the browser.
pub async fn sign_out(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    guarded(&state, &req, &body, async |state, visitor, form| {
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
            to_sign_in_link(),
        );
        add_cookie(&mut page, &session_cookie(state, "", 0));
        page.extensions_mut().insert(Unchanged);
        Ok(page)
    })
    .await
}

/// A `GET` of an address that only takes form posts: back to the page.
pub async fn back_home() -> HttpResponse {
    see_other("/p")
}

/// Anything else under `/p`.
pub async fn not_found(tail: web::Path<String>) -> HttpResponse {
    if tail.is_empty() {
        return see_other("/p");
    }
    pages::message(
        StatusCode::NOT_FOUND,
        "There is no page here",
        &["Check the address, or go to your page."],
        Some(Link {
            href: "/p".to_owned(),
            text: "Your page".to_owned(),
        }),
    )
}
