//! `calendar_sequences`: the last iCalendar `SEQUENCE` sent to a person for a session.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "calendar_sequences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub participant_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: i64,
    /// The `SEQUENCE` of the last invitation or cancellation sent.
    pub sequence: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
