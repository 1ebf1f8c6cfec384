//! `/v1/me/…`: what a linked participant sees and does, through the bot (a bot key plus
//! `X-Discord-User`), and the bot's account linking, `/v1/bot/link` and `/v1/bot/verify`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{Bot, Me};
use crate::clock::Now;
use crate::domain::booking::Booking;
use crate::domain::feed::{self, FeedToken};
use crate::domain::in_write_txn;
use crate::domain::link::{self, LinkRequest, LinkRequested, Linked, VerifyRequest};
use crate::domain::me::{
    self, MyBooking, MyBookingFilter, MyBookingInput, OpenSession, OpenSessionFilter, Preferences, PreferencesInput,
};
use crate::domain::participant::Participant;
use crate::domain::reflection::{self, Reflection, ReflectionText};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

crate::list_schema!(OpenSessionList, OpenSession);
crate::list_schema!(MyBookingList, MyBooking);
crate::list_schema!(ReflectionList, Reflection);

/// Ask for a code to link a Discord account: a six-digit code is emailed to the participant with
/// this address, if there is one (at most one a minute and five an hour, whoever asks). The
/// answer is the same either way. A Discord user locked out for too many wrong codes gets
/// `429 verify_locked`, one that asked for more than one code a minute or five an hour
/// `429 link_rate_limited`, both with `Retry-After`.
#[utoipa::path(post, path = "/v1/bot/link", tag = "bot", request_body = LinkRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A code is on its way if the email is known", body = LinkRequested),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad Discord id or email", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`verify_locked`: too many wrong codes lately; `link_rate_limited`: too many codes asked for lately", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn link(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Bot,
    JsonBody(input): JsonBody<LinkRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Accepted().json(link::request_code(&state.db, input, now).await?))
}

/// Link a Discord account with the code from the email. Codes work for 15 minutes; five wrong
/// codes lock the Discord user out for an hour. Linking turns on Discord DMs for the person.
#[utoipa::path(post, path = "/v1/bot/verify", tag = "bot", request_body = VerifyRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Linked", body = Linked),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_code_pending`: no code was asked for", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`code_incorrect` (with the tries left), `code_expired`, or a malformed code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`verify_locked`: too many wrong codes", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    Now(now): Now,
    _: Bot,
    JsonBody(input): JsonBody<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(link::verify(&state.db, input, now).await?))
}

/// Who the Discord user is linked to.
#[utoipa::path(get, path = "/v1/me", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The linked participant", body = Participant),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read(state: web::Data<AppState>, me: Me) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(crate::domain::participant::get(&state.db, me.person.id).await?))
}

/// Sessions open to me: of published conferences and SLP sessions, not cancelled, not yet
/// started, soonest first, with my booking of each if I have one. Times are in my zone.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)"),
        OpenSessionFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of sessions", body = OpenSessionList),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sessions(
    state: web::Data<AppState>,
    Now(now): Now,
    me: Me,
    QueryParams(filter): QueryParams<OpenSessionFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    let found = me::open_sessions(&state.db, &me.person, &filter, page, now)
        .await
        .map_err(ApiError::from_query)?;
    Ok(super::page(found))
}

/// My bookings: `upcoming` (confirmed and waitlisted, soonest first) or `past`.
#[utoipa::path(get, path = "/v1/me/bookings", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)"),
        MyBookingFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of bookings", body = MyBookingList),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bookings(
    state: web::Data<AppState>,
    Now(now): Now,
    me: Me,
    QueryParams(filter): QueryParams<MyBookingFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(filter.limit, filter.cursor.as_deref())?;
    let found = me::bookings(&state.db, &me.person, &filter, page, now)
        .await
        .map_err(ApiError::from_query)?;
    Ok(super::page(found))
}

/// Book a session for myself, by the same rules as any booking: a free seat confirms it, a full
/// session waitlists it (or answers `409 session_full`), a clash is refused naming the other
/// session. `Idempotency-Key` makes a retry give the first answer.
#[utoipa::path(post, path = "/v1/me/bookings", tag = "me", request_body = MyBookingInput,
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)"),
        ("Idempotency-Key" = Option<crate::domain::contract::IdempotencyKey>, Header, description = "Any unique string; a retry with the same key and body returns the first answer (kept 24 h)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Booked: confirmed or waitlisted", body = Booking),
        (status = 200, description = "My existing booking of this session", body = Booking),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key; `not_linked`: the Discord user is not linked; or `not_invited`: the session is a triad's visit the person is not part of", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`booking_clash`, `session_full`, `per_school_limit_reached`, `event_not_published`, `event_cancelled`, `session_cancelled`, `session_started` or `idempotency_in_progress`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn book(
    state: web::Data<AppState>,
    Now(now): Now,
    me: Me,
    req: HttpRequest,
    JsonBody(input): JsonBody<MyBookingInput>,
) -> Result<HttpResponse, ApiError> {
    let request = format!(
        "POST /v1/me/bookings as {} {}",
        me.discord_id,
        serde_json::to_string(&input).unwrap_or_default()
    );
    let idempotent = super::bookings::idempotent_request(&req, me.key.id, &request)?;
    let result = me::book(&state.db, &me.person, &input, idempotent.as_ref(), &me.change(now)).await;
    super::bookings::answer_booked(&state, idempotent.as_ref(), result, now, |id| {
        format!("/v1/me/bookings/{id}")
    })
    .await
}

/// One of my bookings, with its session (and the join link when confirmed and online).
#[utoipa::path(get, path = "/v1/me/bookings/{id}", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)"),
        ("id" = i64, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The booking", body = MyBooking),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No booking of mine has this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn booking(state: web::Data<AppState>, me: Me, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(me::booking(&state.db, &me.person, id.into_inner()).await?))
}

/// Cancel one of my bookings; a confirmed seat goes to the head of the waitlist at once.
#[utoipa::path(delete, path = "/v1/me/bookings/{id}", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)"),
        ("id" = i64, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled booking", body = MyBooking),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No booking of mine has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`booking_attendance_marked`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    state: web::Data<AppState>,
    Now(now): Now,
    me: Me,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(me::cancel(&state.db, &me.person, id.into_inner(), &me.change(now)).await?))
}

/// My private calendar feed's URL (made on first ask). Anyone with the URL can read it.
#[utoipa::path(get, path = "/v1/me/feed", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The feed's URL", body = FeedToken),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn feed(state: web::Data<AppState>, Now(now): Now, me: Me) -> Result<HttpResponse, ApiError> {
    let token = match &me.person.feed_token {
        Some(token) => FeedToken {
            url: feed::private_feed_url(&state.site.public_url, token),
            token: token.clone(),
        },
        None => feed::rotate_token(&state.db, &state.site, me.person.id, now).await?,
    };
    Ok(HttpResponse::Ok().json(token))
}

/// Replace my feed's URL: the old one stops working (for a URL that was shared by mistake).
#[utoipa::path(post, path = "/v1/me/feed-token", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new URL", body = FeedToken),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_feed(state: web::Data<AppState>, Now(now): Now, me: Me) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(feed::rotate_token(&state.db, &state.site, me.person.id, now).await?))
}

/// My settings: channels, reminder times, quiet hours, time zone.
#[utoipa::path(get, path = "/v1/me/preferences", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My settings", body = Preferences),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn preferences(state: web::Data<AppState>, me: Me) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(me::preferences(&state.db, &me.person).await?))
}

/// Change my settings (only the fields given); my reminders are requeued to match.
#[utoipa::path(patch, path = "/v1/me/preferences", tag = "me", request_body = PreferencesInput,
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My settings", body = Preferences),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_preferences(
    state: web::Data<AppState>,
    Now(now): Now,
    me: Me,
    JsonBody(input): JsonBody<PreferencesInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(me::update_preferences(&state.db, &me.person, input, now).await?))
}

/// My reflections, oldest first.
#[utoipa::path(get, path = "/v1/me/reflections", tag = "me",
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)"),
        ("limit" = Option<i64>, Query, minimum = 1, description = "How many to return (default 50; more than 500 gives 500)"),
        ("cursor" = Option<crate::domain::contract::Cursor>, Query, description = "The `next_cursor` of the previous page")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of reflections", body = ReflectionList),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reflections(
    state: web::Data<AppState>,
    me: Me,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(page.limit, page.cursor.as_deref())?;
    Ok(super::page(
        reflection::list_for_participant(&state.db, me.person.id, page).await?,
    ))
}

/// Write a reflection: what I tried, what changed, and how I know, optionally about an event.
#[utoipa::path(post, path = "/v1/me/reflections", tag = "me", request_body = crate::domain::reflection::NewReflectionText,
    params(
        ("X-Discord-User" = String, Header, description = "The Discord user the bot acts for (linked with /v1/bot/verify)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = Reflection),
        (status = 400, description = "`discord_user_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bot key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An organiser key, or `not_linked`: the Discord user is not linked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reflect(
    state: web::Data<AppState>,
    Now(now): Now,
    me: Me,
    JsonBody(input): JsonBody<ReflectionText>,
) -> Result<HttpResponse, ApiError> {
    let stored = in_write_txn(&state.db, async |txn| {
        reflection::create(txn, &me.person, input.clone(), now).await
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header(("Location", "/v1/me/reflections"))
        .json(stored))
}

/// `?limit=&cursor=`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    /// How many to return.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
