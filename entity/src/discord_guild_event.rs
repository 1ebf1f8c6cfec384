//! `discord_guild_events`: a session mirrored in the Discord server as a Guild Scheduled Event,
//! and whether the mirror is behind the session (`version > synced_version`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "discord_guild_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The session mirrored (no foreign key: a deleted session's event must still be removed).
    #[sea_orm(unique)]
    pub session_id: i64,
    /// The Discord scheduled event's id, once the bot has made it.
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub discord_event_id: Option<String>,
    /// Bumped by every change the mirror shows.
    pub version: i32,
    /// The version the bot last acknowledged as done.
    pub synced_version: i32,
    /// While the bot syncs it: until when it is the bot's.
    pub leased_until: Option<DateTimeUtc>,
    /// Which bot holds the lease.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub lease_owner: Option<String>,
    /// How many times it was leased.
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
