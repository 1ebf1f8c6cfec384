//! `programmes`: groupings of events, cohorts and surveys (a conference series, an SLP programme, ...).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "programmes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub name: String,
    /// `conference_series` | `slp_programme` | `triad_cohort` | `other`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub kind: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// `draft` | `published` | `archived`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::event::Entity")]
    Events,
    #[sea_orm(has_many = "super::cohort::Entity")]
    Cohorts,
    #[sea_orm(has_many = "super::survey::Entity")]
    Surveys,
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Events.def()
    }
}

impl Related<super::cohort::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cohorts.def()
    }
}

impl Related<super::survey::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Surveys.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
