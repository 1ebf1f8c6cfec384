//! Signing in without a password, to the participant pages (`/p`) or, for organisers, to the
//! organiser console (`/o`): a single-use link, valid for [`LINK_MINUTES`], is emailed to the
//! address the network has for the person; following it opens a web session of the link's
//! [`Scope`] held in a cookie ([`SESSION_DAYS`] on the pages, [`CONSOLE_SESSION_HOURS`] in the
//! console). A link or session of one scope never opens the other. Only SHA-256 hashes of the link's
//! token and of the cookie's secret are stored. Asking for a link answers alike whether or not
//! the address is known, and a person gets at most one link a minute and [`MAX_LINKS_PER_HOUR`]
//! an hour however often it is asked for, so the form cannot be used to flood their inbox.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use entity::{participant, participant_sign_in_token as sign_in_token, participant_web_session as web_session};
use rand::RngCore as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::outbox::{self, Kind};
use super::{DomainError, DomainResult, Validator, in_write_txn};
use crate::db::for_update;
use crate::metrics::Metrics;

/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 30;
/// How long a web session of the participant pages lasts.
pub const SESSION_DAYS: i64 = 30;
/// How long a web session of the organiser console lasts.
pub const CONSOLE_SESSION_HOURS: i64 = 12;
/// The most links a person is sent in an hour when they ask for them (see [`super::throttle`]).
pub const MAX_LINKS_PER_HOUR: u64 = super::throttle::MAX_PER_HOUR;

/// What a sign-in link or web session opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The participant pages (`/p`): anyone in the network.
    Participant,
    /// The organiser console (`/o`): participants whose role is `organiser`.
    Organiser,
}

impl Scope {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Organiser => "organiser",
        }
    }

    /// The path the area lives at.
    fn path(self) -> &'static str {
        match self {
            Self::Participant => "/p",
            Self::Organiser => "/o",
        }
    }

    /// How long a session opened by a link of this scope lasts.
    pub fn session_lifetime(self) -> Duration {
        match self {
            Self::Participant => Duration::days(SESSION_DAYS),
            Self::Organiser => Duration::hours(CONSOLE_SESSION_HOURS),
        }
    }

    /// Whether `person` may sign in to this area (an erased person may sign in nowhere).
    pub fn admits(self, person: &participant::Model) -> bool {
        person.erased_at.is_none()
            && match self {
                Self::Participant => true,
                Self::Organiser => person.role == ORGANISER_ROLE,
            }
    }
}

/// The role of the participants who may sign in to the organiser console.
pub const ORGANISER_ROLE: &str = "organiser";

/// The answer to a sign-in request: the same whether or not the email is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequested {
    /// The address as read (lower-cased), to repeat back.
    pub email: String,
    /// Minutes the link works for.
    pub expires_in_minutes: i64,
}

/// What an organiser is told after sending someone their sign-in link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignInLinkSent {
    /// The participant the link was sent to.
    #[schema(example = 1)]
    pub participant_id: i64,
    /// Minutes the link works for.
    #[schema(example = 30)]
    pub expires_in_minutes: i64,
    /// What happens next, in words.
    pub detail: String,
}

/// Why a followed link did not sign anyone in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefused {
    /// No link has this token (mistyped, cut short, or its person was erased).
    Unknown,
    /// The link was followed before; each works once.
    Used,
    /// The link is older than [`LINK_MINUTES`].
    Expired,
}

/// A web session just opened: `secret` goes in the cookie and is never stored.
#[derive(Clone, Debug)]
pub struct NewWebSession {
    /// The cookie's value.
    pub secret: String,
}

/// A live web session and the person it signs in.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The session.
    pub session: web_session::Model,
    /// Its participant (never an erased one).
    pub person: participant::Model,
}

/// The SHA-256 of a secret, as stored.
fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// 256 random bits, URL-safe.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The URL of a sign-in link of `scope`.
pub fn link_url(public_url: &str, scope: Scope, token: &str) -> String {
    format!("{public_url}{}/auth/{token}", scope.path())
}

/// Whether `token` could be one of ours (43 URL-safe characters); anything else is refused
/// without a database lookup.
fn well_formed(token: &str) -> bool {
    (20..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Makes a link of `scope` for `person`, in `txn`: its URL, which holds the token (only the
/// token's hash is stored).
async fn make_link<C: ConnectionTrait>(
    txn: &C,
    public_url: &str,
    scope: Scope,
    person: &participant::Model,
    now: DateTime<Utc>,
) -> DomainResult<String> {
    let token = new_secret();
    sign_in_token::ActiveModel {
        participant_id: Set(person.id),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(LINK_MINUTES)),
        used_at: Set(None),
        scope: Set(scope.as_str().to_owned()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(link_url(public_url, scope, &token))
}

/// Makes a link of `scope` for `person` and queues the email carrying it, in `txn`.
async fn issue<C: ConnectionTrait>(
    txn: &C,
    public_url: &str,
    scope: Scope,
    person: &participant::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let url = make_link(txn, public_url, scope, person, now).await?;
    outbox::notify_person(
        txn,
        person,
        &["email"],
        Kind::SignInLink,
        serde_json::json!({"url": url, "minutes": LINK_MINUTES, "console": scope == Scope::Organiser}),
        now,
    )
    .await
}

/// Whether `person` was sent a link too lately, or too often this hour, to be sent another.
async fn throttled<C: ConnectionTrait>(txn: &C, person: &participant::Model, now: DateTime<Utc>) -> DomainResult<bool> {
    let issued = sign_in_token::Entity::find().filter(sign_in_token::Column::ParticipantId.eq(person.id));
    let wait = super::throttle::wait_before_next(txn, issued, sign_in_token::Column::CreatedAt, now).await?;
    Ok(wait.is_some())
}

/// Reads the address typed into the sign-in form: only a missing or malformed one is refused.
pub fn read_email(email: Option<String>) -> DomainResult<SignInRequested> {
    let mut v = Validator::new();
    let email = v.required_email("email", email.filter(|e| !e.trim().is_empty()));
    v.finish()?;
    Ok(SignInRequested {
        email,
        expires_in_minutes: LINK_MINUTES,
    })
}

/// Emails a sign-in link to the participant with `email`, if there is one (and they have not
/// just been sent one), in one write transaction. `true` when a link was queued.
///
/// Written without [`in_write_txn`]'s closure: it runs on a spawned task, and the compiler cannot
/// yet prove such a closure's future `Send` (rust-lang/rust#110338).
#[tracing::instrument(skip(db, public_url, email))]
pub async fn link_if_known(
    db: &DatabaseConnection,
    public_url: &str,
    scope: Scope,
    email: &str,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    let txn = crate::db::begin_write(db).await?;
    let done = link_in(&txn, public_url, scope, email, now).await;
    txn.settle(done).await
}

async fn link_in(
    txn: &DatabaseTransaction,
    public_url: &str,
    scope: Scope,
    email: &str,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    // Locked on PostgreSQL, so two requests at once cannot both pass the throttle.
    let person = for_update(
        participant::Entity::find()
            .filter(participant::Column::Email.eq(email))
            .filter(participant::Column::ErasedAt.is_null()),
        txn.get_database_backend(),
    )
    .one(txn)
    .await?;
    let Some(person) = person.filter(|p| scope.admits(p)) else {
        return Ok(false);
    };
    if throttled(txn, &person, now).await? {
        tracing::info!(
            participant_id = person.id,
            "a sign-in link was asked for too soon; none sent"
        );
        return Ok(false);
    }
    issue(txn, public_url, scope, &person, now).await?;
    Ok(true)
}

/// The sign-in form's requests, answered at once and carried out afterwards by one task
/// ([`SignInRequests::carry_out`]). Whether an address is known decides how much work a request
/// costs (a lookup, or a lookup, a throttle check and two inserts); done while answering, the
/// answer's timing would tell anyone whether an address is in the network. Off the request, both
/// answers are the same work. The queue is bounded: when it is full a request is dropped (and
/// logged), as a link throttled would be, and the form still answers alike.
#[derive(Clone)]
pub struct SignInRequests {
    queue: tokio::sync::mpsc::Sender<(Scope, String, DateTime<Utc>)>,
    metrics: Arc<Metrics>,
}

/// The other end of [`SignInRequests`], which [`SignInQueue::carry_out`] reads.
pub struct SignInQueue {
    requests: tokio::sync::mpsc::Receiver<(Scope, String, DateTime<Utc>)>,
    metrics: Arc<Metrics>,
}

impl SignInRequests {
    /// The most requests waiting at once.
    pub const CAPACITY: usize = 1_024;

    /// A queue, and its end for the task; both count what they do in `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> (Self, SignInQueue) {
        let (queue, requests) = tokio::sync::mpsc::channel(Self::CAPACITY);
        let end = SignInQueue {
            requests,
            metrics: metrics.clone(),
        };
        (Self { queue, metrics }, end)
    }

    /// Queues a request for a link of `scope` to `email` (as read by [`read_email`]), made at
    /// `now`.
    pub fn ask(&self, scope: Scope, email: String, now: DateTime<Utc>) {
        if self.queue.try_send((scope, email, now)).is_err() {
            self.metrics.sign_in_dropped();
            tracing::warn!("the sign-in queue is full or closed; a sign-in request was dropped");
        }
    }
}

impl SignInQueue {
    /// Carries out the queued requests one at a time until every sender is gone, waking the
    /// notifications worker after each link queued.
    pub async fn carry_out(mut self, db: DatabaseConnection, public_url: String, wake: Arc<Notify>) {
        while let Some((scope, email, asked_at)) = self.requests.recv().await {
            match link_if_known(&db, &public_url, scope, &email, asked_at).await {
                Ok(true) => wake.notify_one(),
                Ok(false) => {}
                Err(err) => tracing::error!(error = %err, "a sign-in request failed; no link was sent"),
            }
            self.metrics.sign_in_done();
        }
    }
}

/// Emails participant `id` a sign-in link at an organiser's request (not throttled). An unknown
/// or erased participant is not found.
#[tracing::instrument(skip(db, public_url))]
pub async fn send_link(
    db: &DatabaseConnection,
    public_url: &str,
    id: i64,
    now: DateTime<Utc>,
) -> DomainResult<SignInLinkSent> {
    in_write_txn(db, async |txn| {
        let person = participant::Entity::find_by_id(id)
            .filter(participant::Column::ErasedAt.is_null())
            .one(txn)
            .await?
            .ok_or_else(|| DomainError::not_found("participant", id))?;
        // Only erased people have no address.
        let Some(email) = person.email.clone() else {
            return Err(DomainError::not_found("participant", id));
        };
        issue(txn, public_url, Scope::Participant, &person, now).await?;
        Ok(SignInLinkSent {
            participant_id: id,
            expires_in_minutes: LINK_MINUTES,
            detail: format!("a sign-in link is on its way to {email}; it works once, for {LINK_MINUTES} minutes"),
        })
    })
    .await
}

/// A sign-in link to the organiser console for the person with `email`, who is made an
/// organiser first if they are not one yet (and added to the network, named `name`, if they are
/// not in it): for `convene-api organisers invite`, which prints the link rather than emailing
/// it. Answers the organiser's id and the link.
pub async fn invite_organiser(
    db: &DatabaseConnection,
    public_url: &str,
    email: Option<String>,
    name: Option<String>,
    now: DateTime<Utc>,
) -> DomainResult<(i64, String)> {
    let email = read_email(email)?.email;
    // Without `in_write_txn`'s closure, as in `link_if_known`: the CLI's future must stay `Send`.
    let txn = crate::db::begin_write(db).await?;
    let done = invite_in(&txn, public_url, email, name, now).await;
    txn.settle(done).await
}

async fn invite_in(
    txn: &DatabaseTransaction,
    public_url: &str,
    email: String,
    name: Option<String>,
    now: DateTime<Utc>,
) -> DomainResult<(i64, String)> {
    let existing = participant::Entity::find()
        .filter(participant::Column::Email.eq(email.as_str()))
        .filter(participant::Column::ErasedAt.is_null())
        .one(txn)
        .await?;
    let as_organiser = super::participant::ParticipantInput {
        role: Some(ORGANISER_ROLE.to_owned()),
        ..Default::default()
    };
    let id = match existing {
        Some(person) if person.role == ORGANISER_ROLE => person.id,
        Some(person) => super::participant::update(txn, person.id, as_organiser, now).await?.id,
        None => {
            let new = super::participant::ParticipantInput {
                name,
                email: Some(email),
                ..as_organiser
            };
            super::participant::create(txn, new, now).await?.id
        }
    };
    let person = participant::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| DomainError::not_found("participant", id))?;
    let url = make_link(txn, public_url, Scope::Organiser, &person, now).await?;
    Ok((id, url))
}

/// Follows a sign-in link: marks it used and opens a web session for its person. A link works
/// once (two browsers racing for it cannot both win) and only while it is fresh.
#[tracing::instrument(skip(db, token))]
pub async fn follow_link(
    db: &DatabaseConnection,
    scope: Scope,
    token: &str,
    now: DateTime<Utc>,
) -> DomainResult<Result<NewWebSession, LinkRefused>> {
    if !well_formed(token) {
        return Ok(Err(LinkRefused::Unknown));
    }
    let token_hash = hash(token);
    in_write_txn(db, async |txn| {
        // The guarded update is the claim: only one request can turn `used_at` from null.
        let claimed = sign_in_token::Entity::update_many()
            .col_expr(sign_in_token::Column::UsedAt, Expr::value(now))
            .filter(sign_in_token::Column::TokenHash.eq(token_hash.as_str()))
            .filter(sign_in_token::Column::Scope.eq(scope.as_str()))
            .filter(sign_in_token::Column::UsedAt.is_null())
            .filter(sign_in_token::Column::ExpiresAt.gt(now))
            .exec(txn)
            .await?
            .rows_affected
            == 1;
        let row = sign_in_token::Entity::find()
            .filter(sign_in_token::Column::TokenHash.eq(token_hash.as_str()))
            .filter(sign_in_token::Column::Scope.eq(scope.as_str()))
            .one(txn)
            .await?;
        let Some(row) = row else {
            return Ok(Err(LinkRefused::Unknown));
        };
        if !claimed {
            return Ok(Err(if row.used_at.is_some() {
                LinkRefused::Used
            } else {
                LinkRefused::Expired
            }));
        }
        let person = participant::Entity::find_by_id(row.participant_id).one(txn).await?;
        // Erased since, or (for the console) no longer an organiser.
        if !person.is_some_and(|p| scope.admits(&p)) {
            return Ok(Err(LinkRefused::Unknown));
        }
        let secret = new_secret();
        web_session::ActiveModel {
            participant_id: Set(row.participant_id),
            token_hash: Set(hash(&secret)),
            created_at: Set(now),
            expires_at: Set(now + scope.session_lifetime()),
            revoked_at: Set(None),
            scope: Set(scope.as_str().to_owned()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        Ok(Ok(NewWebSession { secret }))
    })
    .await
}

/// The live session whose cookie holds `secret`, with its person: `None` for an unknown,
/// expired or revoked session, or an erased person.
pub async fn session_for<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    secret: &str,
    now: DateTime<Utc>,
) -> DomainResult<Option<SignedIn>> {
    if !well_formed(secret) {
        return Ok(None);
    }
    let found = web_session::Entity::find()
        .filter(web_session::Column::TokenHash.eq(hash(secret)))
        .filter(web_session::Column::Scope.eq(scope.as_str()))
        .filter(web_session::Column::RevokedAt.is_null())
        .filter(web_session::Column::ExpiresAt.gt(now))
        .find_also_related(participant::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(session, person)| {
        person
            .filter(|p| scope.admits(p))
            .map(|person| SignedIn { session, person })
    }))
}

/// Ends a web session (and with `everywhere`, every live session of its person): their cookies
/// no longer sign anyone in.
#[tracing::instrument(skip(db, signed), fields(participant_id = signed.person.id))]
pub async fn sign_out<C: ConnectionTrait>(
    db: &C,
    signed: &SignedIn,
    everywhere: bool,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let mut update = web_session::Entity::update_many()
        .col_expr(web_session::Column::RevokedAt, Expr::value(now))
        .filter(web_session::Column::RevokedAt.is_null());
    update = if everywhere {
        update
            .filter(web_session::Column::ParticipantId.eq(signed.person.id))
            .filter(web_session::Column::Scope.eq(signed.session.scope.as_str()))
    } else {
        update.filter(web_session::Column::Id.eq(signed.session.id))
    };
    Ok(update.exec(db).await?.rows_affected)
}

/// Removes every sign-in link and web session of participant `id` (they are being erased).
pub async fn forget<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<()> {
    sign_in_token::Entity::delete_many()
        .filter(sign_in_token::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    web_session::Entity::delete_many()
        .filter(web_session::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The anti-forgery token of the session whose cookie holds `secret`: put in every form the
/// pages show and checked on every post. Another site can make a browser send the cookie (where
/// `SameSite` allows) but cannot read the page, so it cannot know this.
pub fn csrf_token(secret: &str) -> String {
    hex::encode(Sha256::digest(format!("convene-csrf:{secret}").as_bytes()))
}

/// Whether `given` is the anti-forgery token of the session with `secret` (compared in time
/// that does not depend on where they differ).
pub fn csrf_matches(secret: &str, given: &str) -> bool {
    let expected = csrf_token(secret);
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_matches_only_its_own_session() {
        let token = csrf_token("session-secret-aaaaaaaaaaaaaaaa");
        assert!(csrf_matches("session-secret-aaaaaaaaaaaaaaaa", &token));
        assert!(!csrf_matches("session-secret-bbbbbbbbbbbbbbbb", &token));
        assert!(!csrf_matches("session-secret-aaaaaaaaaaaaaaaa", ""));
        assert!(!csrf_matches("session-secret-aaaaaaaaaaaaaaaa", &token[1..]));
    }

    #[test]
    fn only_url_safe_tokens_of_a_sensible_length_are_looked_up() {
        assert!(well_formed(&new_secret()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"a".repeat(65)));
        assert!(!well_formed("abcdefghijklmnopqrstuvwxyz%2F../etc"));
    }
}
