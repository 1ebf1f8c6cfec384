//! `discord_link_requests`: a link code issued in the last hour, for limiting codes per
//! participant and per Discord user.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "discord_link_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The Discord user who asked.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub discord_id: String,
    /// The participant the code was emailed to; none when the email given was not known.
    pub participant_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_discord_link_requests_participant_id"
    )]
    Participant,
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
