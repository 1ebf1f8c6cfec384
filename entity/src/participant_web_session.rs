//! `participant_web_sessions`: a participant signed in to their own pages in one browser, opened
//! by a followed sign-in link; only a hash of the cookie's secret is stored.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "participant_web_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Who is signed in.
    pub participant_id: i64,
    /// Lower-case hex SHA-256 of the session cookie's secret.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    /// The session ends at this time (30 days after sign-in).
    pub expires_at: DateTimeUtc,
    /// Set on sign-out; a revoked session no longer signs anyone in.
    pub revoked_at: Option<DateTimeUtc>,
    /// What the session opens: `participant` (the participant pages, `/p`) or `organiser` (the
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
        fk_name = "fk_participant_web_sessions_participant_id"
    )]
    Participant,
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
