//! `/p/…`: the participant's own pages, for people not on Discord — their bookings, sessions open
//! to them, their calendar feed, settings, reflections and surveys — reached by an emailed
//! sign-in link; and `POST /v1/participants/{id}/sign-in-link`, by which organisers send one.
//!
//! Plain server-rendered HTML: every action is a form post that works without JavaScript, goes
//! through the same domain functions as the bot's `/v1/me` routes (same rules, same messages in
//! the outbox) and answers with the page and a sentence saying what happened. A session cookie
//! (`HttpOnly`, `SameSite=Lax`, `Secure` behind https) says who is signed in; every post carries
//! the session's anti-forgery token, and one without it is refused with a 403 page and changes
//! nothing.

use std::collections::BTreeSet;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Organiser;
use crate::cache::Unchanged;
use crate::domain::booking::Booked;
use crate::domain::feed;
use crate::domain::me::{
    self, MyBooking, MyBookingFilter, MyBookingInput, OpenSessionFilter, PreferencesInput, SessionSummary,
};
use crate::domain::page::{MAX_LIMIT, PageRequest};
use crate::domain::reflection::{self, ReflectionText};
use crate::domain::sign_in::{self, LinkRefused, SignInLinkSent, SignedIn};
use crate::domain::{DomainError, FieldError, survey};
use crate::error::{ApiError, Problem};
use crate::pages::{self, Link};
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "convene_session";

/// Registers the pages and the organisers' route.
pub fn configure(cfg: &mut web::ServiceConfig, protection: &crate::protection::Protection) {
    // The routes anyone may call without a session are rate-limited per client.
    cfg.service(web::resource("/p").route(web::get().to(home)))
        .service(
            web::resource("/p/sign-in")
                .wrap(protection.rate_limit.middleware())
                .route(web::get().to(sign_in_form))
                .route(web::post().to(sign_in)),
        )
        .service(
            web::resource("/p/auth/{token}")
                .wrap(protection.rate_limit.middleware())
                .route(web::get().to(follow)),
        )
        .service(
            web::resource("/p/sign-out")
                .route(web::post().to(sign_out))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/bookings")
                .route(web::post().to(book))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/bookings/{id}/cancel")
                .route(web::post().to(cancel))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/feed")
                .route(web::post().to(rotate_feed))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/preferences")
                .route(web::post().to(save_preferences))
                .route(web::get().to(back_home)),
        )
        .service(
            web::resource("/p/reflections")
                .route(web::post().to(reflect))
                .route(web::get().to(back_home)),
        )
        .service(web::resource("/p/{tail:.*}").to(not_found));
}

/// Email a participant the link to sign in to their own pages (`/p`), for someone not on
/// Discord: it works once, for 30 minutes, and opens a 30-day session in their browser. The
/// participant can also ask for one themselves at `/p/sign-in` with their email address.
#[utoipa::path(post, path = "/v1/participants/{id}/sign-in-link", tag = "participants",
    params(("id" = i64, Path, description = "The participant's id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The link is queued in the outbox for email", body = SignInLinkSent),
        (status = 401, description = "No valid organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A bot key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or the participant was erased", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_sign_in_link(
    state: web::Data<AppState>,
    _: Organiser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let sent = sign_in::send_link(&state.db, &state.public_url, id.into_inner()).await?;
    state.wake.notify_one();
    Ok(HttpResponse::Accepted().json(sent))
}

// ---------------------------------------------------------------------------------------------
// Forms, cookies and who is signed in

/// A form body's fields, in order (a field may repeat).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, if given.
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, if given and not blank.
    fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every value of `name`.
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The session cookie's value, if the request carries one.
fn cookie_secret(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

/// The `Set-Cookie` value that holds a session for `max_age_seconds` (0 removes it).
fn session_cookie(state: &AppState, value: &str, max_age_seconds: i64) -> String {
    format!(
        "{COOKIE}={value}; Path=/p; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{}",
        if secure(state) { "; Secure" } else { "" }
    )
}

/// A signed-in person, with what their forms must carry.
struct Visitor {
    signed: SignedIn,
    secret: String,
    csrf: String,
}

/// Who the request's cookie signs in, if anyone.
async fn visitor(state: &AppState, req: &HttpRequest) -> Result<Option<Visitor>, DomainError> {
    let Some(secret) = cookie_secret(req) else {
        return Ok(None);
    };
    Ok(sign_in::session_for(&state.db, &secret).await?.map(|signed| Visitor {
        signed,
        csrf: sign_in::csrf_token(&secret),
        secret,
    }))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn to_sign_in_link() -> Option<Link> {
    Some(Link {
        href: "/p/sign-in".to_owned(),
        text: "Get a sign-in link".to_owned(),
    })
}

/// The page for a post from someone not signed in (never signed in, signed out, or expired).
fn signed_out(state: &AppState) -> HttpResponse {
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
fn forged() -> HttpResponse {
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

fn add_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = header::HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A failure that is not the person's doing (the database is down): a page, never a stack trace.
fn trouble(err: DomainError) -> HttpResponse {
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
async fn guarded<F>(state: &AppState, req: &HttpRequest, body: &[u8], act: F) -> HttpResponse
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

// ---------------------------------------------------------------------------------------------
// Signing in and out

#[derive(Serialize)]
struct SignInView {
    email: String,
    error: Option<String>,
    sent: bool,
    minutes: i64,
}

fn sign_in_page(status: StatusCode, view: SignInView) -> HttpResponse {
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
pub async fn sign_in(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let form = Form::parse(&body);
    let typed = form.get("email").unwrap_or_default().trim().to_owned();
    match sign_in::read_email(form.get("email").map(str::to_owned)) {
        Ok(asked) => {
            // Looked up and sent after answering, so the answer takes as long either way.
            state.sign_in.ask(asked.email.clone());
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
pub async fn follow(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let refused = match sign_in::follow_link(&state.db, &token).await {
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
        sign_in::sign_out(&state.db, &visitor.signed, everywhere).await?;
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

// ---------------------------------------------------------------------------------------------
// The page

/// What to tell the person at the top of the page.
#[derive(Clone, Debug, Serialize)]
struct Notice {
    /// Whether it went as asked (else it was refused).
    success: bool,
    heading: String,
    lines: Vec<String>,
}

impl Notice {
    fn done(heading: impl Into<String>, lines: Vec<String>) -> Self {
        Self {
            success: true,
            heading: heading.into(),
            lines,
        }
    }

    fn refused(heading: impl Into<String>, lines: Vec<String>) -> Self {
        Self {
            success: false,
            heading: heading.into(),
            lines,
        }
    }
}

/// Everything the page shows besides what it reads from the database.
struct View {
    status: StatusCode,
    notice: Option<Notice>,
    kind: String,
    topic: String,
    cursor: Option<String>,
    /// The settings form as typed, when it came back with mistakes.
    prefs: Option<PrefsForm>,
    prefs_errors: Vec<FieldError>,
    /// The reflection form as typed, when it came back with mistakes.
    reflection: Option<ReflectionForm>,
    reflection_errors: Vec<FieldError>,
}

impl View {
    fn with(status: StatusCode, notice: Notice) -> Self {
        Self {
            status,
            notice: Some(notice),
            ..Self::default()
        }
    }
}

impl Default for View {
    fn default() -> Self {
        Self {
            status: StatusCode::OK,
            notice: None,
            kind: String::new(),
            topic: String::new(),
            cursor: None,
            prefs: None,
            prefs_errors: Vec::new(),
            reflection: None,
            reflection_errors: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
struct PrefsForm {
    time_zone: String,
    notify_email: bool,
    notify_discord: bool,
    reminders: Vec<i64>,
    quiet_start: String,
    quiet_end: String,
}

#[derive(Clone, Debug, Default, Serialize)]
struct ReflectionForm {
    event_id: String,
    what_tried: String,
    what_changed: String,
    evidence: String,
}

#[derive(Serialize)]
struct BookingLine {
    id: i64,
    title: String,
    when: String,
    place: Option<String>,
    status: String,
    waitlisted: bool,
    waitlist_position: Option<i64>,
    per_school: bool,
    join_url: Option<String>,
}

#[derive(Serialize)]
struct SessionLine {
    id: i64,
    title: String,
    kind: &'static str,
    topic: Option<String>,
    when: String,
    place: Option<String>,
    seats: String,
    /// `confirmed` or `waitlisted` when the person holds it already.
    mine: Option<String>,
    waitlist_position: Option<i64>,
    /// The button's words, when it can be booked.
    action: Option<&'static str>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The title of a session: its event's, with the session's label when it has one.
fn title_of(s: &SessionSummary) -> String {
    match s.label.as_deref().filter(|l| !l.is_empty()) {
        Some(label) => format!("{}: {label}", s.event_title),
        None => s.event_title.clone(),
    }
}

/// `Tuesday 4 June 2027, 09:30–12:00 BST`, on the person's clock.
fn when_of(s: &SessionSummary) -> String {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|d| d.with_timezone(&Utc));
    let zone = crate::time::stored_zone(&s.time_zone);
    match (parse(&s.start), parse(&s.end)) {
        (Some(start), Some(end)) => crate::mail::when(start, end, zone, zone),
        _ => format!("{} ({})", s.start_local, s.time_zone),
    }
}

fn place_of(s: &SessionSummary) -> Option<String> {
    s.venue.clone().or_else(|| s.online.then(|| "Online".to_owned()))
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "conference" => "Conference",
        "slp_session" => "Sharing Leading Practice",
        "triad_visit" => "Triad visit",
        _ => "Session",
    }
}

/// "1 day before", "2 hours before", "15 minutes before".
fn reminder_label(minutes: i64) -> String {
    let (n, unit) = match minutes {
        m if m % 10_080 == 0 => (m / 10_080, "week"),
        m if m % 1440 == 0 => (m / 1440, "day"),
        m if m % 60 == 0 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    format!("{n} {unit}{} before", if n == 1 { "" } else { "s" })
}

/// The reminder times offered as tick boxes (and any others the person has chosen elsewhere).
const REMINDER_CHOICES: [i64; 6] = [10_080, 2880, 1440, 120, 60, 15];

/// The zones offered: the zone database's `Area/City` names, and UTC.
fn zones() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .filter(|n| n.contains('/') && !n.starts_with("Etc/") && !n.starts_with("SystemV/") && !n.starts_with("US/"))
        .collect();
    names.push("UTC");
    names.sort_unstable();
    names
}

fn feed_links(url: &str) -> serde_json::Value {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let webcal = match url.split_once("://") {
        Some((_, rest)) => format!("webcal://{rest}"),
        None => url.to_owned(),
    };
    serde_json::json!({
        "url": url,
        "webcal": webcal,
        "google": format!("https://calendar.google.com/calendar/render?cid={}", enc(&webcal)),
        "outlook": format!("https://outlook.live.com/calendar/0/addfromweb?url={}&name={}", enc(url), enc("Convene")),
        "office": format!("https://outlook.office.com/calendar/0/addfromweb?url={}&name={}", enc(url), enc("Convene")),
    })
}

/// Renders the whole page for the visitor, with `view`'s notice and forms.
async fn page(state: &AppState, visitor: &Visitor, mut view: View) -> Result<HttpResponse, DomainError> {
    let db = &state.db;
    // Read afresh: an action may just have changed the person (their zone, their feed).
    let person = crate::domain::participant::find(db, visitor.signed.person.id).await?;
    let limit = PageRequest {
        limit: 100,
        after: None,
    };

    let upcoming = me::bookings(db, &person, &MyBookingFilter::default(), limit).await?;
    let past = me::bookings(
        db,
        &person,
        &MyBookingFilter {
            when: Some("past".to_owned()),
            ..MyBookingFilter::default()
        },
        limit,
    )
    .await?;
    let bookings: Vec<BookingLine> = upcoming.items.iter().map(booking_line).collect();

    // Sessions open to them, filtered; the topics on offer come from the unfiltered list.
    let kind = Some(view.kind.clone()).filter(|k| !k.is_empty());
    let topic = Some(view.topic.clone()).filter(|t| !t.is_empty());
    let after = match view.cursor.as_deref() {
        None => Ok(None),
        Some(c) => PageRequest::parse(None, Some(c)).map(|p| p.after),
    };
    let after = match after {
        Ok(after) => after,
        Err(_) => {
            view.status = StatusCode::BAD_REQUEST;
            view.notice = Some(Notice::refused(
                "That list of sessions has moved on",
                vec![
                    "The link to the next sessions was not one Convene made. Here are the first ones again.".to_owned(),
                ],
            ));
            None
        }
    };
    let every = me::open_sessions(
        db,
        &person,
        &OpenSessionFilter {
            kind: kind.clone(),
            ..OpenSessionFilter::default()
        },
        PageRequest {
            limit: MAX_LIMIT,
            after: None,
        },
    )
    .await;
    let every = match every {
        Ok(page) => page,
        Err(DomainError::Invalid(_)) => {
            view.status = StatusCode::BAD_REQUEST;
            view.notice = Some(Notice::refused(
                "That kind of session isn't one Convene has",
                vec!["Showing sessions of every kind instead.".to_owned()],
            ));
            view.kind.clear();
            me::open_sessions(
                db,
                &person,
                &OpenSessionFilter::default(),
                PageRequest {
                    limit: MAX_LIMIT,
                    after: None,
                },
            )
            .await?
        }
        Err(e) => return Err(e),
    };
    let topics: BTreeSet<String> = every.items.iter().filter_map(|s| s.session.topic.clone()).collect();
    let open = me::open_sessions(
        db,
        &person,
        &OpenSessionFilter {
            kind: Some(view.kind.clone()).filter(|k| !k.is_empty()),
            topic,
            ..OpenSessionFilter::default()
        },
        PageRequest { limit: 25, after },
    )
    .await?;
    let sessions: Vec<SessionLine> = open
        .items
        .iter()
        .map(|o| {
            let s = &o.session;
            let full = s.available <= 0;
            SessionLine {
                id: s.session_id,
                title: title_of(s),
                kind: kind_label(&s.kind),
                topic: s.topic.clone(),
                when: when_of(s),
                place: place_of(s),
                seats: match (full, s.waitlist) {
                    (false, _) => format!(
                        "{} of {} {} free",
                        s.available,
                        s.capacity,
                        if s.capacity == 1 { "place" } else { "places" }
                    ),
                    (true, true) => "Full: you can join the waitlist".to_owned(),
                    (true, false) => "Full".to_owned(),
                },
                mine: o.my_booking.as_ref().map(|b| b.status.clone()),
                waitlist_position: o.my_booking.as_ref().and_then(|b| b.waitlist_position),
                action: match (o.my_booking.is_some(), full, s.waitlist) {
                    (true, _, _) => None,
                    (false, false, _) => Some("Book"),
                    (false, true, true) => Some("Join the waitlist"),
                    (false, true, false) => None,
                },
            }
        })
        .collect();
    let next_sessions = open.next_cursor.map(|c| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !view.kind.is_empty() {
            query.append_pair("kind", &view.kind);
        }
        if !view.topic.is_empty() {
            query.append_pair("topic", &view.topic);
        }
        query.append_pair("cursor", &c);
        format!("/p?{}#sessions", query.finish())
    });

    // The calendar feed: made on first sight, like /v1/me/feed.
    let feed_url = match &person.feed_token {
        Some(token) => feed::private_feed_url(&state.site.public_url, token),
        None => feed::rotate_token(db, &state.site, person.id).await?.url,
    };

    let prefs = view.prefs.clone().unwrap_or_else(|| PrefsForm {
        time_zone: person.time_zone.clone(),
        notify_email: person.notify_email,
        notify_discord: person.notify_discord,
        reminders: crate::domain::outbox::reminder_offsets(&person),
        quiet_start: person.quiet_hours_start.clone().unwrap_or_default(),
        quiet_end: person.quiet_hours_end.clone().unwrap_or_default(),
    });
    let mut offered: Vec<i64> = REMINDER_CHOICES.to_vec();
    offered.extend(prefs.reminders.iter().filter(|m| !REMINDER_CHOICES.contains(m)));
    offered.sort_unstable_by(|a, b| b.cmp(a));
    let reminder_choices: Vec<Choice> = offered
        .into_iter()
        .map(|m| Choice {
            value: m.to_string(),
            label: reminder_label(m),
            selected: prefs.reminders.contains(&m),
        })
        .collect();
    let mut zone_names: Vec<&str> = zones();
    if !zone_names.contains(&prefs.time_zone.as_str()) && crate::time::TimeZoneName::parse(&prefs.time_zone).is_ok() {
        zone_names.insert(0, prefs.time_zone.as_str());
    }
    let zone_choices: Vec<Choice> = zone_names
        .iter()
        .map(|z| Choice {
            value: (*z).to_owned(),
            label: z.replace('_', " "),
            selected: *z == prefs.time_zone,
        })
        .collect();

    // Reflections, newest first, and the events they can be about (those the person booked).
    let mut reflections = reflection::list_for_participant(
        db,
        person.id,
        PageRequest {
            limit: MAX_LIMIT,
            after: None,
        },
    )
    .await?
    .items;
    reflections.reverse();
    let reflection_form = view.reflection.clone().unwrap_or_default();
    let mut seen = BTreeSet::new();
    let event_choices: Vec<Choice> = past
        .items
        .iter()
        .chain(upcoming.items.iter())
        .filter(|b| seen.insert(b.session.event_id))
        .map(|b| Choice {
            value: b.session.event_id.to_string(),
            label: b.session.event_title.clone(),
            selected: reflection_form.event_id == b.session.event_id.to_string(),
        })
        .collect();

    let surveys = survey::open_for(db, &state.public_url, &person).await?;

    let kinds: Vec<Choice> = [
        ("", "Every kind"),
        ("conference", "Conferences"),
        ("slp_session", "Sharing Leading Practice"),
    ]
    .iter()
    .map(|(value, label)| Choice {
        value: (*value).to_owned(),
        label: (*label).to_owned(),
        selected: view.kind == *value,
    })
    .collect();
    let topic_choices: Vec<Choice> = std::iter::once(String::new())
        .chain(topics)
        .map(|t| Choice {
            label: if t.is_empty() {
                "Every topic".to_owned()
            } else {
                t.clone()
            },
            selected: t.eq_ignore_ascii_case(&view.topic),
            value: t,
        })
        .collect();
    let field_errors = |errors: &[FieldError], rename: &dyn Fn(&str) -> &'static str| {
        let mut by_field = std::collections::BTreeMap::new();
        for e in errors {
            by_field.entry(rename(&e.field)).or_insert_with(|| e.message.clone());
        }
        by_field
    };
    let prefs_errors = field_errors(&view.prefs_errors, &|f| match f.split('[').next().unwrap_or(f) {
        "reminder_offsets_minutes" => "reminders",
        "quiet_hours_start" => "quiet_start",
        "quiet_hours_end" => "quiet_end",
        "notify_email" => "notify_email",
        "notify_discord" => "notify_discord",
        _ => "time_zone",
    });
    let reflection_errors = field_errors(&view.reflection_errors, &|f| match f {
        "what_tried" => "what_tried",
        "what_changed" => "what_changed",
        "evidence" => "evidence",
        _ => "event_id",
    });
    let zone = crate::time::stored_zone(&person.time_zone);
    let reflections: Vec<serde_json::Value> = reflections
        .into_iter()
        .map(|r| {
            let written = DateTime::parse_from_rfc3339(&r.created_at)
                .map(|d| d.with_timezone(&zone).format("%-d %B %Y").to_string())
                .unwrap_or_default();
            serde_json::json!({
                "event_title": r.event_title,
                "written": written,
                "what_tried": r.what_tried,
                "what_changed": r.what_changed,
                "evidence": r.evidence,
            })
        })
        .collect();

    Ok(pages::render(
        view.status,
        "participant.html",
        minijinja::context! {
            name => person.name,
            email => person.email,
            time_zone => person.time_zone,
            csrf => visitor.csrf,
            notice => view.notice,
            bookings => bookings,
            sessions => sessions,
            next_sessions => next_sessions,
            kinds => kinds,
            topics => topic_choices,
            filtered => !view.kind.is_empty() || !view.topic.is_empty(),
            feed => feed_links(&feed_url),
            prefs => prefs,
            discord_linked => person.discord_id.is_some(),
            reminder_choices => reminder_choices,
            zones => zone_choices,
            prefs_errors => prefs_errors,
            reflections => reflections,
            reflection_form => reflection_form,
            event_choices => event_choices,
            reflection_errors => reflection_errors,
            surveys => surveys,
        },
    ))
}

fn booking_line(b: &MyBooking) -> BookingLine {
    BookingLine {
        id: b.id,
        title: title_of(&b.session),
        when: when_of(&b.session),
        place: place_of(&b.session),
        status: b.status.clone(),
        waitlisted: b.status == "waitlisted",
        waitlist_position: b.waitlist_position,
        per_school: b.waitlist_reason.as_deref() == Some("per_school_limit"),
        join_url: b.join_url.clone(),
    }
}

/// `/p`: the person's page (someone not signed in is sent to the sign-in form). `?kind=` and
/// `?topic=` filter the sessions open to them; `?cursor=` shows the next ones.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let visitor = match visitor(&state, &req).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            let mut response = see_other("/p/sign-in");
            if cookie_secret(&req).is_some() {
                add_cookie(&mut response, &session_cookie(&state, "", 0));
            }
            return response;
        }
        Err(e) => return trouble(e),
    };
    let query = Form::parse(req.query_string().as_bytes());
    let view = View {
        kind: query.text("kind").unwrap_or_default().chars().take(40).collect(),
        topic: query.text("topic").unwrap_or_default().chars().take(200).collect(),
        cursor: query.text("cursor"),
        ..View::default()
    };
    page(&state, &visitor, view).await.unwrap_or_else(trouble)
}

// ---------------------------------------------------------------------------------------------
// Actions

/// The sentence for a booking or cancellation the rules refused.
fn refusal(err: DomainError) -> Result<(StatusCode, Notice), DomainError> {
    let (status, heading, line) = match err {
        DomainError::NotFound { what, .. } => (
            StatusCode::NOT_FOUND,
            "That isn't on your page any more",
            format!("Convene couldn't find that {what}. The lists below are up to date."),
        ),
        DomainError::Conflict { code, detail, .. } => {
            let line = match code {
                "session_full" => "Sorry, that session is full and doesn't keep a waitlist.".to_owned(),
                "per_school_limit_reached" => {
                    "Sorry, your school already has as many people on that session as it allows.".to_owned()
                }
                "booking_clash" => format!(
                    "You can't book that: {detail}. Cancel the other booking first if you'd rather go to this one."
                ),
                "event_not_published" => "That session isn't open for booking yet.".to_owned(),
                "event_cancelled" | "session_cancelled" => {
                    "That session has been cancelled, so it can't be booked.".to_owned()
                }
                "session_started" => "That session has already started, so it can't be booked now.".to_owned(),
                "booking_attendance_marked" => {
                    "Attendance has already been taken for that booking, so it can't be cancelled.".to_owned()
                }
                _ => format!("Convene couldn't do that: {detail}."),
            };
            (StatusCode::CONFLICT, "That couldn't be done", line)
        }
        DomainError::Forbidden {
            code: "not_invited", ..
        } => (
            StatusCode::FORBIDDEN,
            "That couldn't be done",
            "That session is a triad visit, only for the triad's schools and its facilitator.".to_owned(),
        ),
        DomainError::Invalid(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That couldn't be done",
            errors
                .iter()
                .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => return Err(other),
    };
    Ok((status, Notice::refused(heading, vec![line])))
}

/// Reads a whole number id from a form field or path, for a clear refusal of anything else.
fn id_from(text: Option<&str>) -> Option<i64> {
    text.map(str::trim)
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|id| *id > 0)
}

/// Books a session (or joins its waitlist), by the same rules and with the same messages as any
/// booking.
pub async fn book(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    guarded(&state, &req, &body, async |state, visitor, form| {
        let Some(session_id) = id_from(form.get("session_id")) else {
            let notice = Notice::refused(
                "That couldn't be done",
                vec!["Choose a session from the list, then press its Book button.".to_owned()],
            );
            return page(state, &visitor, View::with(StatusCode::UNPROCESSABLE_ENTITY, notice)).await;
        };
        let person = &visitor.signed.person;
        let booked = me::book(
            &state.db,
            person,
            &MyBookingInput {
                session_id: Some(session_id),
            },
            None,
        )
        .await;
        let (created, booking) = match booked {
            Ok(Booked::Created(b)) => (true, b),
            Ok(Booked::Existing(b)) => (false, b),
            Ok(Booked::Replayed(_)) => {
                return page(state, &visitor, View::default()).await;
            }
            Err(e) => {
                let (status, notice) = refusal(e)?;
                return page(state, &visitor, View::with(status, notice)).await;
            }
        };
        let mine = me::booking(&state.db, person, booking.id).await?;
        let name = format!("{}, {}", title_of(&mine.session), when_of(&mine.session));
        let position = mine.waitlist_position.unwrap_or(0);
        let notice = match (mine.status.as_str(), created) {
            ("confirmed", true) => {
                let mut lines = vec![format!("{name}.")];
                if let Some(url) = &mine.join_url {
                    lines.push(format!("Join online: {url}"));
                }
                lines.push("It is in your calendar feed, and you will be reminded before it starts.".to_owned());
                Notice::done("You're booked", lines)
            }
            ("waitlisted", true) => {
                let why = if mine.waitlist_reason.as_deref() == Some("per_school_limit") {
                    "Your school has reached its limit of places on that session"
                } else {
                    "That session is full"
                };
                Notice::done(
                    format!("You're on the waitlist, number {position}"),
                    vec![format!(
                        "{why}, so you are number {position} on the waitlist for {name}. We'll tell you if a place comes up."
                    )],
                )
            }
            ("waitlisted", false) => Notice::done(
                format!("You're already on the waitlist, number {position}"),
                vec![format!("You are number {position} on the waitlist for {name}.")],
            ),
            _ => Notice::done(
                "You already have a place",
                vec![format!("You are already booked on {name}.")],
            ),
        };
        page(state, &visitor, View::with(StatusCode::OK, notice)).await
    })
    .await
}

/// Cancels one of the person's bookings or takes them off a waitlist; a seat freed goes to the
/// next person waiting.
pub async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let id = id_from(Some(id.as_str()));
    guarded(&state, &req, &body, async |state, visitor, _form| {
        let person = &visitor.signed.person;
        let Some(id) = id else {
            let (status, notice) = refusal(DomainError::not_found("booking", 0))?;
            return page(state, &visitor, View::with(status, notice)).await;
        };
        let before = match me::booking(&state.db, person, id).await {
            Ok(b) => b,
            Err(e) => {
                let (status, notice) = refusal(e)?;
                return page(state, &visitor, View::with(status, notice)).await;
            }
        };
        let name = format!("{}, {}", title_of(&before.session), when_of(&before.session));
        let notice = match me::cancel(&state.db, person, id).await {
            Ok(_) if before.status == "cancelled" => Notice::done(
                "Already cancelled",
                vec![format!("Your booking of {name} was already cancelled.")],
            ),
            Ok(_) if before.status == "waitlisted" => Notice::done(
                "You have left the waitlist",
                vec![format!("You are no longer waiting for a place on {name}.")],
            ),
            Ok(_) => Notice::done(
                "Booking cancelled",
                vec![
                    format!("Cancelled: {name}."),
                    "Your place has gone to the next person waiting, if anyone was.".to_owned(),
                ],
            ),
            Err(e) => {
                let (status, notice) = refusal(e)?;
                return page(state, &visitor, View::with(status, notice)).await;
            }
        };
        page(state, &visitor, View::with(StatusCode::OK, notice)).await
    })
    .await
}

/// Gives the person's calendar feed a new address; the old one stops working.
pub async fn rotate_feed(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    guarded(&state, &req, &body, async |state, visitor, _form| {
        feed::rotate_token(&state.db, &state.site, visitor.signed.person.id).await?;
        let notice = Notice::done(
            "Your calendar has a new address",
            vec!["The old address no longer works: calendars subscribed to it will stop updating. Subscribe again with one of the links below.".to_owned()],
        );
        page(state, &visitor, View::with(StatusCode::OK, notice)).await
    })
    .await
}

/// Saves the settings form: time zone, channels, reminder times and quiet hours. Mistakes come
/// back beside their fields, with what was typed kept.
pub async fn save_preferences(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    guarded(&state, &req, &body, async |state, visitor, form| {
        let person = &visitor.signed.person;
        let discord_shown = form.get("discord_shown").is_some();
        let mut errors = Vec::new();
        let mut reminders = Vec::new();
        for value in form.all("reminder") {
            match value.trim().parse::<i64>() {
                Ok(m) => reminders.push(m),
                Err(_) => errors.push(FieldError::new(
                    "reminder_offsets_minutes",
                    "choose reminder times from the list",
                )),
            }
        }
        let typed = PrefsForm {
            time_zone: form.text("time_zone").unwrap_or_default(),
            notify_email: form.get("notify_email").is_some(),
            notify_discord: if discord_shown {
                form.get("notify_discord").is_some()
            } else {
                person.notify_discord
            },
            reminders: reminders.clone(),
            quiet_start: form.text("quiet_start").unwrap_or_default(),
            quiet_end: form.text("quiet_end").unwrap_or_default(),
        };
        let result = if errors.is_empty() {
            me::update_preferences(
                &state.db,
                person,
                PreferencesInput {
                    time_zone: form.text("time_zone"),
                    notify_email: Some(typed.notify_email),
                    notify_discord: discord_shown.then_some(typed.notify_discord),
                    reminder_offsets_minutes: Some(reminders),
                    quiet_hours_start: Some(form.text("quiet_start")),
                    quiet_hours_end: Some(form.text("quiet_end")),
                },
            )
            .await
            .map(|_| ())
        } else {
            Err(DomainError::Invalid(errors))
        };
        match result {
            Ok(()) => {
                let notice = Notice::done(
                    "Your settings are saved",
                    vec!["Times on this page and in your messages now follow them, and your reminders have been set again to match.".to_owned()],
                );
                page(state, &visitor, View::with(StatusCode::OK, notice)).await
            }
            Err(DomainError::Invalid(errors)) => {
                let notice = Notice::refused(
                    "Your settings were not saved",
                    vec!["Please correct the settings marked below.".to_owned()],
                );
                let mut view = View::with(StatusCode::UNPROCESSABLE_ENTITY, notice);
                view.prefs = Some(typed);
                view.prefs_errors = errors;
                page(state, &visitor, view).await
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// Stores a reflection: what the person tried, what changed and how they know, optionally about
/// an event they booked.
pub async fn reflect(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    guarded(&state, &req, &body, async |state, visitor, form| {
        let typed = ReflectionForm {
            event_id: form.text("event_id").unwrap_or_default(),
            what_tried: form.get("what_tried").unwrap_or_default().to_owned(),
            what_changed: form.get("what_changed").unwrap_or_default().to_owned(),
            evidence: form.get("evidence").unwrap_or_default().to_owned(),
        };
        let event_id = match form.text("event_id") {
            None => Ok(None),
            Some(text) => id_from(Some(&text)).map(Some).ok_or(()),
        };
        let result = match event_id {
            Ok(event_id) => reflection::create(
                &state.db,
                &visitor.signed.person,
                ReflectionText {
                    event_id,
                    what_tried: form.text("what_tried"),
                    what_changed: form.text("what_changed"),
                    evidence: form.text("evidence"),
                },
            )
            .await
            .map(|_| ()),
            Err(()) => Err(DomainError::Invalid(vec![FieldError::new(
                "event_id",
                "choose an event from the list",
            )])),
        };
        match result {
            Ok(()) => {
                let notice = Notice::done(
                    "Thank you: your reflection is saved",
                    vec!["It helps your network see what changed in schools, and how people know.".to_owned()],
                );
                page(state, &visitor, View::with(StatusCode::OK, notice)).await
            }
            Err(DomainError::Invalid(errors)) => {
                let notice = Notice::refused(
                    "Your reflection was not saved",
                    vec!["Please fill in the parts marked below.".to_owned()],
                );
                let mut view = View::with(StatusCode::UNPROCESSABLE_ENTITY, notice);
                view.reflection = Some(typed);
                view.reflection_errors = errors;
                page(state, &visitor, view).await
            }
            Err(e) => Err(e),
        }
    })
    .await
}
