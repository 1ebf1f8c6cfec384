//! `announcements`: messages an organiser sent to an audience by email, Discord DM or a Discord
//! channel; their deliveries are outbox rows (`notifications.announcement_id`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "announcements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The subject line (the email's subject, the DM's title).
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub subject: String,
    /// The message, plain text.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// The event it is about, if any (its details and a link to book go with it).
    pub event_id: Option<i64>,
    /// The audience as the organiser chose it (JSON object of filters).
    #[sea_orm(column_type = "JsonBinary")]
    pub audience: Json,
    /// The channels asked for (JSON array of `email`, `discord_dm`, `discord_channel`).
    #[sea_orm(column_type = "JsonBinary")]
    pub channels: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::event::Entity",
        from = "Column::EventId",
        to = "super::event::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_announcements_event_id"
    )]
    Event,
    #[sea_orm(has_many = "super::announcement_recipient::Entity")]
    Recipients,
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::announcement_recipient::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recipients.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
