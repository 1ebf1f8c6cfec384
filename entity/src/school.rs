//! `schools`: the schools taking part, with what they offer and want to work on.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "schools")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub name: String,
    /// The DfE Unique Reference Number.
    #[sea_orm(column_type = "String(StringLen::N(16))", unique)]
    pub urn: String,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub local_authority: String,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub region: String,
    /// `primary` | `secondary` | `all_through` | `special` | `ap` | `post_16`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub phase: String,
    /// JSON array of strength tags, used when forming triads.
    #[sea_orm(column_type = "JsonBinary")]
    pub strengths: Json,
    /// JSON array of improvement-priority tags, used when forming triads.
    #[sea_orm(column_type = "JsonBinary")]
    pub priorities: Json,
    /// JSON array of areas of accredited practice.
    #[sea_orm(column_type = "JsonBinary")]
    pub accredited_practice: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::participant::Entity")]
    Participants,
    /// Events hosted by this school.
    #[sea_orm(has_many = "super::event::Entity")]
    HostedEvents,
    #[sea_orm(has_many = "super::booking::Entity")]
    Bookings,
    #[sea_orm(has_many = "super::session_school_count::Entity")]
    SessionSchoolCounts,
    #[sea_orm(has_many = "super::cohort_school::Entity")]
    CohortSchools,
    #[sea_orm(has_many = "super::triad_member::Entity")]
    TriadMembers,
    /// Triad visits hosted by this school.
    #[sea_orm(has_many = "super::visit::Entity")]
    HostedVisits,
    #[sea_orm(has_many = "super::closure::Entity")]
    Closures,
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participants.def()
    }
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::HostedEvents.def()
    }
}

impl Related<super::booking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Bookings.def()
    }
}

impl Related<super::session_school_count::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SessionSchoolCounts.def()
    }
}

impl Related<super::cohort_school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CohortSchools.def()
    }
}

impl Related<super::triad_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TriadMembers.def()
    }
}

impl Related<super::visit::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::HostedVisits.def()
    }
}

impl Related<super::closure::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Closures.def()
    }
}

/// Cohorts this school is in, through `cohort_schools`.
impl Related<super::cohort::Entity> for Entity {
    fn to() -> RelationDef {
        super::cohort_school::Relation::Cohort.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::cohort_school::Relation::School.def().rev())
    }
}

/// Triads this school is a member of, through `triad_members`.
impl Related<super::triad::Entity> for Entity {
    fn to() -> RelationDef {
        super::triad_member::Relation::Triad.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::triad_member::Relation::School.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
