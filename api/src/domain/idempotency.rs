//! `Idempotency-Key`: the first answer to a request is stored with a hash of the request for
//! 24 hours, in the same transaction as the change it made, so a retry gets that answer again and
//! never makes a second change. The same key with a different request is refused.

use chrono::{DateTime, Duration, Utc};
use entity::idempotency_key;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TryInsertResult};
use sha2::{Digest, Sha256};

use super::{DomainError, DomainResult};
use crate::problem_code::ProblemCode;

/// The longest key.
pub const KEY_MAX: usize = 255;

/// How long a key's answer is kept.
pub const KEEP_FOR: Duration = Duration::hours(24);

/// A request that carried an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub struct IdempotentRequest {
    /// The key that sent it (keys are scoped to the API key).
    pub api_key_id: i64,
    /// The client's idempotency key.
    pub key: String,
    /// SHA-256 of what the request asks for.
    pub request_hash: String,
}

impl IdempotentRequest {
    /// Checks the client's key (1 to 255 visible characters) and hashes the request.
    pub fn new(api_key_id: i64, key: &str, request: &str) -> DomainResult<Self> {
        let key = key.trim();
        if key.is_empty() || key.len() > KEY_MAX || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(DomainError::Invalid(vec![super::FieldError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )]));
        }
        Ok(Self {
            api_key_id,
            key: key.to_owned(),
            request_hash: hex::encode(Sha256::digest(request.as_bytes())),
        })
    }
}

/// A stored answer to replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// Its HTTP status.
    pub status: u16,
    /// Its JSON body.
    pub body: String,
}

/// Claims the key inside `txn`: `None` when this request is the first (the caller goes on and
/// later calls [`save`]), or the stored answer of the first. On PostgreSQL a concurrent duplicate
/// waits here until the first commits, then gets its answer.
pub async fn claim<C: ConnectionTrait>(
    txn: &C,
    request: &IdempotentRequest,
    now: DateTime<Utc>,
) -> DomainResult<Option<StoredResponse>> {
    for _ in 0..2 {
        let row = idempotency_key::ActiveModel {
            api_key_id: Set(request.api_key_id),
            key: Set(request.key.clone()),
            request_hash: Set(request.request_hash.clone()),
            response_status: Set(None),
            response_body: Set(None),
            created_at: Set(now),
            expires_at: Set(now + KEEP_FOR),
            ..Default::default()
        };
        let inserted = idempotency_key::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([idempotency_key::Column::ApiKeyId, idempotency_key::Column::Key])
                    .do_nothing()
                    .to_owned(),
            )
            .try_insert()
            .exec_without_returning(txn)
            .await?;
        if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
            return Ok(None);
        }
        let existing = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::ApiKeyId.eq(request.api_key_id))
            .filter(idempotency_key::Column::Key.eq(request.key.as_str()))
            .one(txn)
            .await?;
        let Some(existing) = existing else { continue };
        if existing.expires_at <= now {
            idempotency_key::Entity::delete_by_id(existing.id).exec(txn).await?;
            continue;
        }
        if existing.request_hash != request.request_hash {
            return Err(DomainError::Unprocessable {
                code: ProblemCode::IdempotencyKeyReused,
                detail: format!(
                    "the Idempotency-Key '{}' was already used for a different request; use a new key",
                    request.key
                ),
                field: Some("Idempotency-Key"),
            });
        }
        return match (existing.response_status, existing.response_body) {
            (Some(status), Some(body)) => Ok(Some(StoredResponse {
                status: u16::try_from(status).unwrap_or(200),
                body,
            })),
            _ => Err(DomainError::conflict(
                ProblemCode::IdempotencyInProgress,
                format!(
                    "a request with the Idempotency-Key '{}' is still being handled; retry shortly",
                    request.key
                ),
                None,
            )),
        };
    }
    Err(DomainError::conflict(
        ProblemCode::IdempotencyInProgress,
        "the Idempotency-Key is busy; retry shortly",
        None,
    ))
}

/// Stores the first answer, in the same transaction as the change.
pub async fn save<C: ConnectionTrait>(
    txn: &C,
    request: &IdempotentRequest,
    response: &StoredResponse,
) -> DomainResult<()> {
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::ResponseStatus,
            sea_orm::prelude::Expr::value(i32::from(response.status)),
        )
        .col_expr(
            idempotency_key::Column::ResponseBody,
            sea_orm::prelude::Expr::value(response.body.clone()),
        )
        .filter(idempotency_key::Column::ApiKeyId.eq(request.api_key_id))
        .filter(idempotency_key::Column::Key.eq(request.key.as_str()))
        .exec(txn)
        .await?;
    Ok(())
}

/// Stores a refusal (a 4xx answer) as the first answer of a request whose transaction rolled
/// back, so a retry is refused the same way even if the state has changed since. If a duplicate
/// already stored an answer, that one stands.
pub async fn save_refusal<C: ConnectionTrait>(
    db: &C,
    request: &IdempotentRequest,
    response: &StoredResponse,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let row = idempotency_key::ActiveModel {
        api_key_id: Set(request.api_key_id),
        key: Set(request.key.clone()),
        request_hash: Set(request.request_hash.clone()),
        response_status: Set(Some(i32::from(response.status))),
        response_body: Set(Some(response.body.clone())),
        created_at: Set(now),
        expires_at: Set(now + KEEP_FOR),
        ..Default::default()
    };
    idempotency_key::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([idempotency_key::Column::ApiKeyId, idempotency_key::Column::Key])
                .do_nothing()
                .to_owned(),
        )
        .try_insert()
        .exec_without_returning(db)
        .await?;
    Ok(())
}
