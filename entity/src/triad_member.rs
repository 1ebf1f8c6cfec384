//! `triad_members`: which schools make up which triad (join table).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "triad_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub triad_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::triad::Entity",
        from = "Column::TriadId",
        to = "super::triad::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_triad_members_triad_id"
    )]
    Triad,
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::SchoolId",
        to = "super::school::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_triad_members_school_id"
    )]
    School,
}

impl Related<super::triad::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Triad.def()
    }
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::School.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
