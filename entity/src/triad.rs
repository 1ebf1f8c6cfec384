//! `triads`: groups of (usually three) schools in a cohort that visit each other.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "triads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub cohort_id: i64,
    /// Display order within the cohort.
    pub position: i32,
    /// `proposed` | `accepted`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    /// A pinned triad is kept as it is when the cohort's triads are re-proposed.
    pub pinned: bool,
    /// The matching score the triad-forming algorithm gave this triad.
    pub score: i32,
    /// JSON explanation of the score (which strengths meet which priorities, ...).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub explanation: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::cohort::Entity",
        from = "Column::CohortId",
        to = "super::cohort::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_triads_cohort_id"
    )]
    Cohort,
    #[sea_orm(has_many = "super::triad_member::Entity")]
    TriadMembers,
    #[sea_orm(has_many = "super::visit::Entity")]
    Visits,
}

impl Related<super::cohort::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cohort.def()
    }
}

impl Related<super::triad_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TriadMembers.def()
    }
}

impl Related<super::visit::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Visits.def()
    }
}

/// The member schools of this triad, through `triad_members`.
impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        super::triad_member::Relation::School.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::triad_member::Relation::Triad.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
