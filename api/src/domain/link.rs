//! Linking a Discord account to a participant: `/link` emails a six-digit code to the person
//! whose email was given, `/verify` checks it. The answer to `/link` is the same whether or not
//! the email is known, so the bot cannot be used to find out who is in the network; a Discord
//! user who gets the code wrong five times is locked out for an hour. Codes are limited as
//! sign-in links are ([`super::throttle`]): a person is emailed at most one a minute and five an
//! hour, whoever asks (more asks are answered alike and send nothing), and one Discord user is
//! issued at most one a minute and five an hour (more are refused, `429 link_rate_limited`).

use chrono::{DateTime, Duration, Utc};
use entity::{discord_link_code, discord_link_request, participant};
use rand::Rng as _;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest as _, Sha256};

use super::outbox::{self, Kind};
use super::{DomainError, DomainResult, Validator, in_write_txn, throttle};
use crate::db::for_update;
use crate::problem_code::ProblemCode;
pub use crate::wire::link::{LinkRequest, LinkRequested, Linked, VerifyRequest};

/// How long a code works.
pub const CODE_MINUTES: i64 = 15;
/// Wrong codes allowed before the lock.
pub const MAX_WRONG: i32 = 5;
/// How long the lock lasts.
pub const LOCK_MINUTES: i64 = 60;
/// A second `/link` for the same person within this many seconds sends no second email.
const RESEND_AFTER_SECONDS: i64 = 60;

/// Checks a Discord user id: a snowflake, 1 to 20 digits.
fn discord_id(v: &mut Validator, value: Option<String>) -> String {
    let Some(value) = value.map(|s| s.trim().to_owned()) else {
        v.fail("discord_id", "is required");
        return String::new();
    };
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        v.fail("discord_id", "must be a Discord user id (digits only)");
    }
    value
}

fn hash(discord_id: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{discord_id}:{code}").as_bytes()))
}

/// The error while `discord_id` is locked out.
fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> DomainError {
    let seconds = (until - now).num_seconds().max(1);
    DomainError::TooMany {
        code: ProblemCode::VerifyLocked,
        detail: format!("too many wrong codes: try again in {} minutes", (seconds + 59) / 60),
        retry_after_seconds: u64::try_from(seconds).unwrap_or(1),
    }
}

/// The pending code row of `discord_id`, locked for the rest of the transaction on PostgreSQL.
async fn pending<C: ConnectionTrait>(txn: &C, discord_id: &str) -> DomainResult<Option<discord_link_code::Model>> {
    Ok(for_update(
        discord_link_code::Entity::find_by_id(discord_id.to_owned()),
        txn.get_database_backend(),
    )
    .one(txn)
    .await?)
}

/// Makes a code for `discord_id` and emails it to the participant with `email`, if there is one.
/// With no such participant a code is stored all the same (and never sent), so `/verify` answers
/// alike. Refused only while the Discord user is locked out or has asked for too many codes; a
/// person already sent a code in the last minute, or five in the last hour, is sent none.
#[tracing::instrument(skip(db, input))]
pub async fn request_code(
    db: &DatabaseConnection,
    input: LinkRequest,
    now: DateTime<Utc>,
) -> DomainResult<LinkRequested> {
    let mut v = Validator::new();
    let discord_id = discord_id(&mut v, input.discord_id);
    let email = v.required_email("email", input.email);
    v.finish()?;
    in_write_txn(db, async |txn| {
        let answer = LinkRequested {
            expires_in_minutes: CODE_MINUTES,
            detail: format!(
                "if {email} belongs to someone in this network, a six-digit code is on its way there; \
                 it works for {CODE_MINUTES} minutes"
            ),
        };
        // Locked on PostgreSQL, so two requests for one person at once cannot both pass the limit.
        let person = for_update(
            participant::Entity::find()
                .filter(participant::Column::Email.eq(email.as_str()))
                .filter(participant::Column::ErasedAt.is_null()),
            txn.get_database_backend(),
        )
        .one(txn)
        .await?;
        let existing = pending(txn, &discord_id).await?;
        if let Some(until) = existing.as_ref().and_then(|row| row.locked_until).filter(|u| *u > now) {
            return Err(locked(until, now));
        }
        let person_id = person.as_ref().map(|p| p.id);
        let just_sent = existing.as_ref().is_some_and(|row| {
            row.participant_id == person_id
                && row.expires_at > now
                && now - row.updated_at < Duration::seconds(RESEND_AFTER_SECONDS)
        });
        if just_sent {
            return Ok(answer);
        }
        let asked = discord_link_request::Entity::find().filter(discord_link_request::Column::DiscordId.eq(&discord_id));
        if let Some(wait) =
            throttle::wait_before_next(txn, asked, discord_link_request::Column::CreatedAt, now).await?
        {
            let seconds = u64::try_from(wait.num_seconds()).unwrap_or(0).max(1);
            return Err(DomainError::TooMany {
                code: ProblemCode::LinkRateLimited,
                detail: format!(
                    "this Discord account asked for too many link codes (at most one a minute and {} an hour): try again in {seconds} s",
                    throttle::MAX_PER_HOUR
                ),
                retry_after_seconds: seconds,
            });
        }
        if let Some(id) = person_id {
            let sent = discord_link_request::Entity::find().filter(discord_link_request::Column::ParticipantId.eq(id));
            if throttle::wait_before_next(txn, sent, discord_link_request::Column::CreatedAt, now)
                .await?
                .is_some()
            {
                tracing::info!(participant_id = id, "a link code was asked for too soon; none sent");
                return Ok(answer);
            }
        }
        // What was issued over an hour ago no longer counts: keep the table to the last hour.
        discord_link_request::Entity::delete_many()
            .filter(discord_link_request::Column::CreatedAt.lt(now - Duration::hours(1)))
            .exec(txn)
            .await?;
        discord_link_request::ActiveModel {
            discord_id: Set(discord_id.clone()),
            participant_id: Set(person_id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let row = discord_link_code::ActiveModel {
            discord_id: Set(discord_id.clone()),
            participant_id: Set(person_id),
            code_hash: Set(hash(&discord_id, &code)),
            expires_at: Set(now + Duration::minutes(CODE_MINUTES)),
            failed_attempts: Set(0),
            locked_until: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        discord_link_code::Entity::insert(row)
            .on_conflict(
                OnConflict::column(discord_link_code::Column::DiscordId)
                    .update_columns([
                        discord_link_code::Column::ParticipantId,
                        discord_link_code::Column::CodeHash,
                        discord_link_code::Column::ExpiresAt,
                        discord_link_code::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        if let Some(person) = &person {
            outbox::notify_person(
                txn,
                person,
                &["email"],
                Kind::LinkCode,
                serde_json::json!({"code": code}),
                now,
            )
            .await?;
        }
        Ok(answer)
    })
    .await
}

/// Checks the code `discord_id` was sent and, when right, links the account: the Discord user
/// then acts for that participant (any earlier link of theirs is replaced) and hears by Discord
/// DM. A wrong code counts towards the lock; an expired one does not.
#[tracing::instrument(skip(db, input))]
pub async fn verify(db: &DatabaseConnection, input: VerifyRequest, now: DateTime<Utc>) -> DomainResult<Linked> {
    let mut v = Validator::new();
    let discord_id = discord_id(&mut v, input.discord_id);
    let code = input.code.map(|c| c.trim().to_owned()).unwrap_or_default();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        v.fail("code", "must be the six digits from the email");
    }
    v.finish()?;
    let outcome = in_write_txn(db, async |txn| {
        let Some(row) = pending(txn, &discord_id).await? else {
            return Err(DomainError::conflict(
                ProblemCode::NoCodePending,
                "no code was asked for this Discord account: ask for one with /link first",
                None,
            ));
        };
        if let Some(until) = row.locked_until.filter(|u| *u > now) {
            return Err(locked(until, now));
        }
        if row.expires_at <= now {
            return Err(DomainError::Unprocessable {
                code: ProblemCode::CodeExpired,
                detail: format!(
                    "the code has expired (codes work for {CODE_MINUTES} minutes): ask for a new one with /link"
                ),
                field: Some("code"),
            });
        }
        let right = row.participant_id.filter(|_| row.code_hash == hash(&discord_id, &code));
        let Some(participant_id) = right else {
            let wrong = row.failed_attempts + 1;
            let mut active: discord_link_code::ActiveModel = row.into();
            active.updated_at = Set(now);
            if wrong >= MAX_WRONG {
                let until = now + Duration::minutes(LOCK_MINUTES);
                active.failed_attempts = Set(0);
                active.locked_until = Set(Some(until));
                active.update(txn).await?;
                return Ok(Err(locked(until, now)));
            }
            active.failed_attempts = Set(wrong);
            active.update(txn).await?;
            return Ok(Err(DomainError::Unprocessable {
                code: ProblemCode::CodeIncorrect,
                detail: format!(
                    "that is not the code that was sent; {} {} left before a {LOCK_MINUTES}-minute lock",
                    MAX_WRONG - wrong,
                    if MAX_WRONG - wrong == 1 { "try" } else { "tries" }
                ),
                field: Some("code"),
            }));
        };
        discord_link_code::Entity::delete_by_id(discord_id.clone())
            .exec(txn)
            .await?;
        let person = super::participant::link_discord(txn, participant_id, &discord_id, now).await?;
        Ok(Ok(Linked {
            discord_id: discord_id.clone(),
            participant_id: person.id,
            name: person.name,
        }))
    })
    .await?;
    // A wrong code is committed (it counts) and then refused.
    outcome
}

/// The participant a Discord user is linked to, if any (never an erased one).
pub async fn linked_participant<C: ConnectionTrait>(
    db: &C,
    discord_id: &str,
) -> DomainResult<Option<participant::Model>> {
    Ok(participant::Entity::find()
        .filter(participant::Column::DiscordId.eq(discord_id))
        .filter(participant::Column::ErasedAt.is_null())
        .one(db)
        .await?)
}
