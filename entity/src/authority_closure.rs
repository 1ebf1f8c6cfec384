//! `authority_closures`: date ranges when a local authority's schools are closed (its term dates).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "authority_closures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The authority's name as first given, e.g. `Camden`.
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub local_authority: String,
    /// The name folded for matching schools' `local_authority` (trimmed, lower case).
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub authority_key: String,
    pub start_date: Date,
    /// Last closed day (inclusive).
    pub end_date: Date,
    /// `holiday` | `inset` | `closure` | `blackout`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub kind: String,
    #[sea_orm(column_type = "String(StringLen::N(500))", nullable)]
    pub summary: Option<String>,
    /// How the closure was imported: `ics` | `json` | `demo`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
