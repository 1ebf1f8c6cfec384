//! `discord_link_codes`: a pending code linking a Discord account to a participant.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "discord_link_codes")]
pub struct Model {
    /// The Discord user asking to link.
    #[sea_orm(primary_key, auto_increment = false)]
    pub discord_id: String,
    /// The participant the code was sent to; none when the email given was not known.
    pub participant_id: Option<i64>,
    /// SHA-256 of the code, hex.
    pub code_hash: String,
    pub expires_at: DateTimeUtc,
    /// Wrong codes tried since the last lock or success.
    pub failed_attempts: i32,
    /// No code is accepted (nor sent) before this.
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
