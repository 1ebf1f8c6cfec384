//! `idempotency_keys`: stored outcomes of requests made with an `Idempotency-Key`, per API key.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The API key that made the request; keys are scoped per API key.
    pub api_key_id: i64,
    /// The client's `Idempotency-Key` value; unique together with `api_key_id`.
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub key: String,
    /// Hex SHA-256 of the request, to detect a key reused for a different request.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub request_hash: String,
    /// HTTP status of the stored response; `None` while the first request is in flight.
    pub response_status: Option<i32>,
    /// The stored response body, replayed to retries.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
    pub created_at: DateTimeUtc,
    /// After this instant the key may be purged and reused.
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::api_key::Entity",
        from = "Column::ApiKeyId",
        to = "super::api_key::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_idempotency_keys_api_key_id"
    )]
    ApiKey,
}

impl Related<super::api_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiKey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
