//! `audit_entries`: one row for each change, written in the change's own transaction: when, who,
//! what and to what, with a short summary (names at most, never other personal data).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// When the change was made.
    pub at: DateTimeUtc,
    /// `key`, `organiser`, `participant`, `bot` or `system`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub actor_kind: String,
    /// The key's or the person's id (none for the system).
    pub actor_id: Option<i64>,
    /// The key's or the person's name when the change was made (blanked when the person is erased).
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub actor_name: String,
    /// What was done, e.g. `event.published`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub action: String,
    /// The kind of thing changed, e.g. `event`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub target_type: String,
    /// Its id.
    pub target_id: i64,
    /// What changed, in a few words.
    #[sea_orm(column_type = "String(StringLen::N(1000))")]
    pub summary: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
