//! API keys: made by the CLI, shown once, stored only as a SHA-256 hash so checking one is a
//! single indexed lookup.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::api_key;
use rand::RngCore as _;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use super::audit::{Change, Target};
use super::{DomainError, DomainResult};
use crate::problem_code::ProblemCode;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// Manages schools, people, events and everything else through `/v1`.
    Organiser,
    /// The Discord bot: acts for linked participants through `/v1/me` and `/v1/bot`.
    Bot,
}

impl KeyRole {
    /// The stored name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organiser => "organiser",
            Self::Bot => "bot",
        }
    }

    /// Reads a stored or typed role name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "organiser" => Some(Self::Organiser),
            "bot" => Some(Self::Bot),
            _ => None,
        }
    }
}

/// A key that was checked: its row id, name and role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedKey {
    /// The key's row id (scopes idempotency keys).
    pub id: i64,
    /// The key's name.
    pub name: String,
    /// What it may do.
    pub role: KeyRole,
}

/// A newly made key: the secret is in `secret` and is never stored.
#[derive(Clone, Debug)]
pub struct NewKey {
    /// The stored row.
    pub key: AuthenticatedKey,
    /// The key itself, to show once.
    pub secret: String,
}

/// The SHA-256 of a key, as stored.
pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Makes a random key with the `cvn_` prefix (256 bits of randomness).
fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("cvn_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates a key named `name`; a name already used is a conflict.
#[tracing::instrument(skip(db))]
pub async fn create<C: ConnectionTrait>(db: &C, name: &str, role: KeyRole, change: &Change) -> DomainResult<NewKey> {
    let now = change.now;
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(DomainError::Invalid(vec![super::FieldError::new(
            "name",
            "must be 1 to 100 characters on one line",
        )]));
    }
    let secret = generate_secret();
    let row = api_key::ActiveModel {
        name: Set(name.to_owned()),
        role: Set(role.as_str().to_owned()),
        key_hash: Set(hash_key(&secret)),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        DomainError::from_db_unique(
            e,
            ProblemCode::KeyNameTaken,
            &format!("a key named '{name}' already exists"),
            Some("name"),
        )
    })?;
    change
        .record(
            db,
            "key.created",
            Target("key", row.id),
            format!("{} key '{}' created", role.as_str(), row.name),
        )
        .await?;
    Ok(NewKey {
        key: AuthenticatedKey {
            id: row.id,
            name: row.name,
            role,
        },
        secret,
    })
}

/// Finds the live (unrevoked) key whose hash matches `secret`.
pub async fn authenticate<C: ConnectionTrait>(db: &C, secret: &str) -> DomainResult<Option<AuthenticatedKey>> {
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash_key(secret)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(found.and_then(|k| {
        KeyRole::parse(&k.role).map(|role| AuthenticatedKey {
            id: k.id,
            name: k.name,
            role,
        })
    }))
}

/// Whether the key with row id `id` exists and is not revoked.
pub async fn is_live<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<bool> {
    Ok(api_key::Entity::find_by_id(id)
        .filter(api_key::Column::RevokedAt.is_null())
        .count(db)
        .await?
        > 0)
}

/// The organiser keys this process has found live, by hash, so that a booking need not look its
/// key up before its transaction: it checks the key is still live inside the transaction instead
/// (`booking::book`), so a revoked key is refused at once by every process all the same. Only
/// keys that were live are kept, so the map holds at most the keys there are; it is emptied
/// should it ever reach [`KeyCache::MAX`].
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, AuthenticatedKey>>,
}

impl KeyCache {
    /// The most keys kept.
    pub const MAX: usize = 1024;

    /// The key whose hash is `hash`, if this process has found it live before.
    pub fn get(&self, hash: &str) -> Option<AuthenticatedKey> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).get(hash).cloned()
    }

    /// Keeps `key`, just found live, under its `hash`.
    pub fn remember(&self, hash: String, key: AuthenticatedKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= Self::MAX {
            keys.clear();
        }
        keys.insert(hash, key);
    }

    /// Drops the key with row id `id` (found revoked).
    pub fn forget(&self, id: i64) {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, key| key.id != id);
    }
}

/// Every key, oldest first, revoked ones included (the hash is never shown).
pub async fn list<C: ConnectionTrait>(db: &C) -> DomainResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// Revokes the key named `name`; revoking an unknown or already revoked key says so.
#[tracing::instrument(skip(db))]
pub async fn revoke<C: ConnectionTrait>(db: &C, name: &str, change: &Change) -> DomainResult<()> {
    let key = api_key::Entity::find()
        .filter(api_key::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| {
            DomainError::conflict(
                ProblemCode::KeyNotFound,
                format!("no key is named '{name}'"),
                Some("name"),
            )
        })?;
    if key.revoked_at.is_some() {
        return Err(DomainError::conflict(
            ProblemCode::KeyRevoked,
            format!("the key '{name}' was already revoked"),
            Some("name"),
        ));
    }
    let id = key.id;
    let mut key: api_key::ActiveModel = key.into();
    key.revoked_at = Set(Some(change.now));
    key.update(db).await?;
    change
        .record(db, "key.revoked", Target("key", id), format!("key '{name}' revoked"))
        .await
}

/// Whether no key has ever been made (the first `serve` then makes one).
pub async fn none_exist<C: ConnectionTrait>(db: &C) -> DomainResult<bool> {
    Ok(api_key::Entity::find().count(db).await? == 0)
}
