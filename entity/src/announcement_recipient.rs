//! `announcement_recipients`: each person an announcement was queued for (once per announcement),
//! with the hash of their one-click unsubscribe token; the token itself is never stored here.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "announcement_recipients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub announcement_id: i64,
    pub participant_id: i64,
    /// Lower-case hex SHA-256 of the token in the unsubscribe link.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::announcement::Entity",
        from = "Column::AnnouncementId",
        to = "super::announcement::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_announcement_recipients_announcement_id"
    )]
    Announcement,
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_announcement_recipients_participant_id"
    )]
    Participant,
}

impl Related<super::announcement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Announcement.def()
    }
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
