//! `facilitator_assignments`: participants who facilitate a cohort's visits, with their availability.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "facilitator_assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub cohort_id: i64,
    /// The facilitator. Unique together with `cohort_id`.
    pub participant_id: i64,
    /// JSON array of ISO dates the facilitator is available; `None` means any day.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub available_dates: Option<Json>,
    pub max_visits_per_week: i32,
    /// JSON array of local-authority names this facilitator must not be assigned to.
    #[sea_orm(column_type = "JsonBinary")]
    pub excluded_local_authorities: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::cohort::Entity",
        from = "Column::CohortId",
        to = "super::cohort::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_facilitator_assignments_cohort_id"
    )]
    Cohort,
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_facilitator_assignments_participant_id"
    )]
    Participant,
}

impl Related<super::cohort::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cohort.def()
    }
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
