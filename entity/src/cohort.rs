//! `cohorts`: a group of schools to be formed into triads and scheduled for peer visits.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "cohorts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub programme_id: Option<i64>,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub name: String,
    /// JSON object of the options used when forming this cohort's triads.
    #[sea_orm(column_type = "JsonBinary")]
    pub options: Json,
    /// First date on which visits may be scheduled.
    pub window_start: Date,
    /// Last date on which visits may be scheduled (inclusive).
    pub window_end: Date,
    /// JSON array of the weekdays on which visits may take place.
    #[sea_orm(column_type = "JsonBinary")]
    pub weekdays: Json,
    /// Minimum gap in days between two visits of the same triad.
    pub min_days_between_visits: i32,
    /// The IANA zone the visits' times are in.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub time_zone: String,
    /// When a visit starts, local `HH:MM`.
    #[sea_orm(column_type = "String(StringLen::N(5))")]
    pub visit_starts: String,
    /// When a visit ends, local `HH:MM`.
    #[sea_orm(column_type = "String(StringLen::N(5))")]
    pub visit_ends: String,
    /// JSON array of the participant roles at member schools booked onto visits; `None` for the
    /// default (heads and senior leaders).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub attendee_roles: Option<Json>,
    /// `draft` | `triads_accepted` | `scheduled`.
    pub status: crate::state::CohortStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::programme::Entity",
        from = "Column::ProgrammeId",
        to = "super::programme::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_cohorts_programme_id"
    )]
    Programme,
    #[sea_orm(has_many = "super::cohort_school::Entity")]
    CohortSchools,
    #[sea_orm(has_many = "super::triad::Entity")]
    Triads,
    #[sea_orm(has_many = "super::facilitator_assignment::Entity")]
    FacilitatorAssignments,
}

impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Programme.def()
    }
}

impl Related<super::cohort_school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CohortSchools.def()
    }
}

impl Related<super::triad::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Triads.def()
    }
}

impl Related<super::facilitator_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FacilitatorAssignments.def()
    }
}

/// The schools in this cohort, through `cohort_schools`.
impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        super::cohort_school::Relation::School.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::cohort_school::Relation::Cohort.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
