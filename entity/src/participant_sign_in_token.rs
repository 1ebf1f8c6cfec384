//! `participant_sign_in_tokens`: a single-use link emailed to a participant to sign in to their
//! own pages; only a hash of the token is stored.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "participant_sign_in_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Whom the link signs in.
    pub participant_id: i64,
    /// Lower-case hex SHA-256 of the token in the link; the token itself is never stored.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    /// The link no longer works after this.
    pub expires_at: DateTimeUtc,
    /// When the link was followed; a used link never works again.
    pub used_at: Option<DateTimeUtc>,
    /// What the link signs in to: `participant` (the participant pages, `/p`) or `organiser` (the
    /// organiser console, `/o`).
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub scope: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_participant_sign_in_tokens_participant_id"
    )]
    Participant,
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
