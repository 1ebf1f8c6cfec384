//! `closures`: date ranges when a school is closed or unavailable (holidays, INSET days, blackouts).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "closures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub school_id: i64,
    pub start_date: Date,
    /// Last closed day (inclusive).
    pub end_date: Date,
    /// `holiday` | `inset` | `closure` | `blackout`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub kind: String,
    #[sea_orm(column_type = "String(StringLen::N(500))", nullable)]
    pub summary: Option<String>,
    /// How the closure was imported: `ics` | `json`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::SchoolId",
        to = "super::school::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_closures_school_id"
    )]
    School,
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::School.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
