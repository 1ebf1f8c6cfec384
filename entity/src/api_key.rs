//! `api_keys`: credentials for organisers and the bot; only a hash of each key is stored.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Human-readable label, unique.
    #[sea_orm(column_type = "String(StringLen::N(100))", unique)]
    pub name: String,
    /// `organiser` | `bot`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub role: String,
    /// Lower-case hex SHA-256 of the key; the key itself is never stored.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub key_hash: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    /// Set when the key is revoked; a revoked key no longer authenticates.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::idempotency_key::Entity")]
    IdempotencyKeys,
}

impl Related<super::idempotency_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdempotencyKeys.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
