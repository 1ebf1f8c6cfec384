//! The initial Convene schema: all 22 tables (see the schema contract).
//!
//! Conventions: every table but the three join/count tables has a BIGINT
//! auto-increment `id` (`integer PRIMARY KEY AUTOINCREMENT` on SQLite);
//! instants are `timestamp with time zone`, JSON is `jsonb` on PostgreSQL,
//! enumerations are `varchar(32)`, plain names/titles are `varchar(300)`.
//! Every foreign key is named `fk_<table>_<column>`. No column has a
//! timestamp default: the application sets `created_at`/`updated_at`, which
//! keeps one text format for instants on SQLite.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Length of plain names, titles and other short free text.
const NAME_LEN: u32 = 300;
/// Length of enumeration columns.
const ENUM_LEN: u32 = 32;
/// Length of IANA time-zone names.
const TZ_LEN: u32 = 64;

/// The partial unique index that allows one active (confirmed or waitlisted)
/// booking per participant per session. Same text on PostgreSQL and SQLite.
const UX_BOOKINGS_ACTIVE: &str = "CREATE UNIQUE INDEX ux_bookings_active ON bookings (session_id, participant_id) WHERE status IN ('confirmed','waitlisted')";

/// A named foreign key from `table.column` to `ref_table.id`.
fn fk(
    name: &str,
    table: impl IntoIden,
    column: impl IntoIden,
    ref_table: impl IntoIden,
    ref_column: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(ref_table, ref_column)
        .on_delete(on_delete)
        .to_owned()
}

/// A plain (non-unique) index.
fn idx<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoIden,
    cols: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col);
    }
    index
}

/// A unique index.
fn uidx<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoIden,
    cols: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut index = idx(name, table, cols);
    index.unique();
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        // 1. schools
        manager
            .create_table(
                Table::create()
                    .table(Schools::Table)
                    .col(big_pk_auto(Schools::Id))
                    .col(string_len(Schools::Name, NAME_LEN))
                    .col(string_len_uniq(Schools::Urn, 16))
                    .col(string_len(Schools::LocalAuthority, NAME_LEN))
                    .col(string_len(Schools::Region, NAME_LEN))
                    .col(string_len(Schools::Phase, ENUM_LEN))
                    .col(json_binary(Schools::Strengths))
                    .col(json_binary(Schools::Priorities))
                    .col(json_binary(Schools::AccreditedPractice))
                    .col(timestamp_with_time_zone(Schools::CreatedAt))
                    .col(timestamp_with_time_zone(Schools::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_schools_local_authority",
                Schools::Table,
                [Schools::LocalAuthority],
            ))
            .await?;
        manager
            .create_index(idx("idx_schools_phase", Schools::Table, [Schools::Phase]))
            .await?;

        // 2. participants
        manager
            .create_table(
                Table::create()
                    .table(Participants::Table)
                    .col(big_pk_auto(Participants::Id))
                    .col(string_len(Participants::Name, NAME_LEN))
                    .col(string_len_null(Participants::Email, 320).unique_key())
                    .col(big_integer_null(Participants::SchoolId))
                    .col(string_len(Participants::Role, ENUM_LEN))
                    .col(string_len(Participants::TimeZone, TZ_LEN))
                    .col(string_len_null(Participants::DiscordId, 32).unique_key())
                    .col(string_len_null(Participants::FeedToken, 64).unique_key())
                    .col(boolean(Participants::NotifyEmail).default(true))
                    .col(boolean(Participants::NotifyDiscord).default(false))
                    .col(json_binary(Participants::ReminderOffsetsMinutes))
                    .col(string_len_null(Participants::QuietHoursStart, 5))
                    .col(string_len_null(Participants::QuietHoursEnd, 5))
                    .col(timestamp_with_time_zone_null(Participants::ErasedAt))
                    .col(timestamp_with_time_zone(Participants::CreatedAt))
                    .col(timestamp_with_time_zone(Participants::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_participants_school_id",
                        Participants::Table,
                        Participants::SchoolId,
                        Schools::Table,
                        Schools::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_participants_school_id",
                Participants::Table,
                [Participants::SchoolId],
            ))
            .await?;

        // 3. api_keys
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string_len_uniq(ApiKeys::Name, 100))
                    .col(string_len(ApiKeys::Role, ENUM_LEN))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;

        // 4. programmes
        manager
            .create_table(
                Table::create()
                    .table(Programmes::Table)
                    .col(big_pk_auto(Programmes::Id))
                    .col(string_len(Programmes::Name, NAME_LEN))
                    .col(string_len(Programmes::Kind, ENUM_LEN))
                    .col(text_null(Programmes::Description))
                    .col(string_len(Programmes::Status, ENUM_LEN))
                    .col(timestamp_with_time_zone(Programmes::CreatedAt))
                    .col(timestamp_with_time_zone(Programmes::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // 5. events
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(big_pk_auto(Events::Id))
                    .col(big_integer_null(Events::ProgrammeId))
                    .col(string_len(Events::Kind, ENUM_LEN))
                    .col(string_len(Events::Title, NAME_LEN))
                    .col(text_null(Events::Description))
                    .col(string_len_null(Events::Venue, 500))
                    .col(string_len_null(Events::OnlineUrl, 2000))
                    .col(string_len(Events::TimeZone, TZ_LEN))
                    .col(string_len(Events::Status, ENUM_LEN))
                    .col(big_integer_null(Events::HostSchoolId))
                    .col(string_len_null(Events::Topic, 100))
                    .col(integer(Events::Revision).default(0))
                    .col(timestamp_with_time_zone_null(Events::PublishedAt))
                    .col(timestamp_with_time_zone_null(Events::CancelledAt))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_events_programme_id",
                        Events::Table,
                        Events::ProgrammeId,
                        Programmes::Table,
                        Programmes::Id,
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_events_host_school_id",
                        Events::Table,
                        Events::HostSchoolId,
                        Schools::Table,
                        Schools::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx("idx_events_status", Events::Table, [Events::Status]))
            .await?;
        manager
            .create_index(idx("idx_events_programme_id", Events::Table, [Events::ProgrammeId]))
            .await?;
        manager
            .create_index(idx("idx_events_kind", Events::Table, [Events::Kind]))
            .await?;

        // 6. sessions
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(big_pk_auto(Sessions::Id))
                    .col(big_integer(Sessions::EventId))
                    .col(string_len_null(Sessions::Label, NAME_LEN))
                    .col(timestamp_with_time_zone(Sessions::StartsAt))
                    .col(timestamp_with_time_zone(Sessions::EndsAt))
                    .col(string_len(Sessions::TimeZone, TZ_LEN))
                    .col(integer(Sessions::Capacity))
                    .col(integer(Sessions::Booked).default(0))
                    .col(integer_null(Sessions::PerSchoolLimit))
                    .col(boolean(Sessions::WaitlistEnabled).default(true))
                    .col(string_len(Sessions::Status, ENUM_LEN))
                    .col(integer(Sessions::Revision).default(0))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_sessions_event_id",
                        Sessions::Table,
                        Sessions::EventId,
                        Events::Table,
                        Events::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx("idx_sessions_event_id", Sessions::Table, [Sessions::EventId]))
            .await?;
        manager
            .create_index(idx("idx_sessions_starts_at", Sessions::Table, [Sessions::StartsAt]))
            .await?;

        // 7. bookings
        manager
            .create_table(
                Table::create()
                    .table(Bookings::Table)
                    .col(big_pk_auto(Bookings::Id))
                    .col(big_integer(Bookings::SessionId))
                    .col(big_integer(Bookings::ParticipantId))
                    .col(big_integer_null(Bookings::SchoolId))
                    .col(string_len(Bookings::Status, ENUM_LEN))
                    .col(string_len_null(Bookings::WaitlistReason, ENUM_LEN))
                    .col(timestamp_with_time_zone(Bookings::StartsAt))
                    .col(timestamp_with_time_zone(Bookings::EndsAt))
                    .col(timestamp_with_time_zone(Bookings::CreatedAt))
                    .col(timestamp_with_time_zone(Bookings::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Bookings::ConfirmedAt))
                    .col(timestamp_with_time_zone_null(Bookings::CancelledAt))
                    .foreign_key(&mut fk(
                        "fk_bookings_session_id",
                        Bookings::Table,
                        Bookings::SessionId,
                        Sessions::Table,
                        Sessions::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_bookings_participant_id",
                        Bookings::Table,
                        Bookings::ParticipantId,
                        Participants::Table,
                        Participants::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_bookings_school_id",
                        Bookings::Table,
                        Bookings::SchoolId,
                        Schools::Table,
                        Schools::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_bookings_session_id_status_id",
                Bookings::Table,
                [Bookings::SessionId, Bookings::Status, Bookings::Id],
            ))
            .await?;
        manager
            .create_index(idx(
                "idx_bookings_participant_id_status_starts_at",
                Bookings::Table,
                [Bookings::ParticipantId, Bookings::Status, Bookings::StartsAt],
            ))
            .await?;
        manager.get_connection().execute_unprepared(UX_BOOKINGS_ACTIVE).await?;

        // 8. session_school_counts
        manager
            .create_table(
                Table::create()
                    .table(SessionSchoolCounts::Table)
                    .col(big_integer(SessionSchoolCounts::SessionId))
                    .col(big_integer(SessionSchoolCounts::SchoolId))
                    .col(integer(SessionSchoolCounts::Booked).default(0))
                    .primary_key(
                        Index::create()
                            .col(SessionSchoolCounts::SessionId)
                            .col(SessionSchoolCounts::SchoolId),
                    )
                    .foreign_key(&mut fk(
                        "fk_session_school_counts_session_id",
                        SessionSchoolCounts::Table,
                        SessionSchoolCounts::SessionId,
                        Sessions::Table,
                        Sessions::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_session_school_counts_school_id",
                        SessionSchoolCounts::Table,
                        SessionSchoolCounts::SchoolId,
                        Schools::Table,
                        Schools::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // 9. cohorts
        manager
            .create_table(
                Table::create()
                    .table(Cohorts::Table)
                    .col(big_pk_auto(Cohorts::Id))
                    .col(big_integer_null(Cohorts::ProgrammeId))
                    .col(string_len(Cohorts::Name, NAME_LEN))
                    .col(json_binary(Cohorts::Options))
                    .col(date(Cohorts::WindowStart))
                    .col(date(Cohorts::WindowEnd))
                    .col(json_binary(Cohorts::Weekdays))
                    .col(integer(Cohorts::MinDaysBetweenVisits).default(7))
                    .col(string_len(Cohorts::Status, ENUM_LEN))
                    .col(timestamp_with_time_zone(Cohorts::CreatedAt))
                    .col(timestamp_with_time_zone(Cohorts::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_cohorts_programme_id",
                        Cohorts::Table,
                        Cohorts::ProgrammeId,
                        Programmes::Table,
                        Programmes::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;

        // 10. cohort_schools
        manager
            .create_table(
                Table::create()
                    .table(CohortSchools::Table)
                    .col(big_integer(CohortSchools::CohortId))
                    .col(big_integer(CohortSchools::SchoolId))
                    .primary_key(
                        Index::create()
                            .col(CohortSchools::CohortId)
                            .col(CohortSchools::SchoolId),
                    )
                    .foreign_key(&mut fk(
                        "fk_cohort_schools_cohort_id",
                        CohortSchools::Table,
                        CohortSchools::CohortId,
                        Cohorts::Table,
                        Cohorts::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_cohort_schools_school_id",
                        CohortSchools::Table,
                        CohortSchools::SchoolId,
                        Schools::Table,
                        Schools::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // 11. triads
        manager
            .create_table(
                Table::create()
                    .table(Triads::Table)
                    .col(big_pk_auto(Triads::Id))
                    .col(big_integer(Triads::CohortId))
                    .col(integer(Triads::Position))
                    .col(string_len(Triads::Status, ENUM_LEN))
                    .col(boolean(Triads::Pinned).default(false))
                    .col(integer(Triads::Score).default(0))
                    .col(json_binary_null(Triads::Explanation))
                    .col(timestamp_with_time_zone(Triads::CreatedAt))
                    .col(timestamp_with_time_zone(Triads::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_triads_cohort_id",
                        Triads::Table,
                        Triads::CohortId,
                        Cohorts::Table,
                        Cohorts::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx("idx_triads_cohort_id", Triads::Table, [Triads::CohortId]))
            .await?;

        // 12. triad_members
        manager
            .create_table(
                Table::create()
                    .table(TriadMembers::Table)
                    .col(big_integer(TriadMembers::TriadId))
                    .col(big_integer(TriadMembers::SchoolId))
                    .primary_key(Index::create().col(TriadMembers::TriadId).col(TriadMembers::SchoolId))
                    .foreign_key(&mut fk(
                        "fk_triad_members_triad_id",
                        TriadMembers::Table,
                        TriadMembers::TriadId,
                        Triads::Table,
                        Triads::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_triad_members_school_id",
                        TriadMembers::Table,
                        TriadMembers::SchoolId,
                        Schools::Table,
                        Schools::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // 13. facilitator_assignments
        manager
            .create_table(
                Table::create()
                    .table(FacilitatorAssignments::Table)
                    .col(big_pk_auto(FacilitatorAssignments::Id))
                    .col(big_integer(FacilitatorAssignments::CohortId))
                    .col(big_integer(FacilitatorAssignments::ParticipantId))
                    .col(json_binary_null(FacilitatorAssignments::AvailableDates))
                    .col(integer(FacilitatorAssignments::MaxVisitsPerWeek).default(3))
                    .col(json_binary(FacilitatorAssignments::ExcludedLocalAuthorities))
                    .col(timestamp_with_time_zone(FacilitatorAssignments::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_facilitator_assignments_cohort_id",
                        FacilitatorAssignments::Table,
                        FacilitatorAssignments::CohortId,
                        Cohorts::Table,
                        Cohorts::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_facilitator_assignments_participant_id",
                        FacilitatorAssignments::Table,
                        FacilitatorAssignments::ParticipantId,
                        Participants::Table,
                        Participants::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(uidx(
                "ux_facilitator_assignments_cohort_id_participant_id",
                FacilitatorAssignments::Table,
                [FacilitatorAssignments::CohortId, FacilitatorAssignments::ParticipantId],
            ))
            .await?;

        // 14. visits
        manager
            .create_table(
                Table::create()
                    .table(Visits::Table)
                    .col(big_pk_auto(Visits::Id))
                    .col(big_integer(Visits::TriadId))
                    .col(big_integer(Visits::HostSchoolId))
                    .col(date_null(Visits::Date))
                    .col(big_integer_null(Visits::FacilitatorId))
                    .col(big_integer_null(Visits::EventId))
                    .col(big_integer_null(Visits::SessionId))
                    .col(string_len(Visits::Status, ENUM_LEN))
                    .col(timestamp_with_time_zone(Visits::CreatedAt))
                    .col(timestamp_with_time_zone(Visits::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_visits_triad_id",
                        Visits::Table,
                        Visits::TriadId,
                        Triads::Table,
                        Triads::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_visits_host_school_id",
                        Visits::Table,
                        Visits::HostSchoolId,
                        Schools::Table,
                        Schools::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_visits_facilitator_id",
                        Visits::Table,
                        Visits::FacilitatorId,
                        Participants::Table,
                        Participants::Id,
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_visits_event_id",
                        Visits::Table,
                        Visits::EventId,
                        Events::Table,
                        Events::Id,
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_visits_session_id",
                        Visits::Table,
                        Visits::SessionId,
                        Sessions::Table,
                        Sessions::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx("idx_visits_triad_id", Visits::Table, [Visits::TriadId]))
            .await?;
        manager
            .create_index(idx(
                "idx_visits_facilitator_id_date",
                Visits::Table,
                [Visits::FacilitatorId, Visits::Date],
            ))
            .await?;

        // 15. closures
        manager
            .create_table(
                Table::create()
                    .table(Closures::Table)
                    .col(big_pk_auto(Closures::Id))
                    .col(big_integer(Closures::SchoolId))
                    .col(date(Closures::StartDate))
                    .col(date(Closures::EndDate))
                    .col(string_len(Closures::Kind, ENUM_LEN))
                    .col(string_len_null(Closures::Summary, 500))
                    .col(string_len(Closures::Source, ENUM_LEN))
                    .col(timestamp_with_time_zone(Closures::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_closures_school_id",
                        Closures::Table,
                        Closures::SchoolId,
                        Schools::Table,
                        Schools::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_closures_school_id_start_date",
                Closures::Table,
                [Closures::SchoolId, Closures::StartDate],
            ))
            .await?;

        // 16. surveys
        manager
            .create_table(
                Table::create()
                    .table(Surveys::Table)
                    .col(big_pk_auto(Surveys::Id))
                    .col(string_len(Surveys::Title, NAME_LEN))
                    .col(big_integer_null(Surveys::EventId))
                    .col(big_integer_null(Surveys::ProgrammeId))
                    .col(boolean(Surveys::Anonymous).default(false))
                    .col(json_binary(Surveys::OffsetsDays))
                    .col(string_len(Surveys::Status, ENUM_LEN))
                    .col(timestamp_with_time_zone_null(Surveys::ClosesAt))
                    .col(timestamp_with_time_zone(Surveys::CreatedAt))
                    .col(timestamp_with_time_zone(Surveys::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_surveys_event_id",
                        Surveys::Table,
                        Surveys::EventId,
                        Events::Table,
                        Events::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_surveys_programme_id",
                        Surveys::Table,
                        Surveys::ProgrammeId,
                        Programmes::Table,
                        Programmes::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // 17. survey_questions
        manager
            .create_table(
                Table::create()
                    .table(SurveyQuestions::Table)
                    .col(big_pk_auto(SurveyQuestions::Id))
                    .col(big_integer(SurveyQuestions::SurveyId))
                    .col(integer(SurveyQuestions::Position))
                    .col(string_len(SurveyQuestions::Key, 64))
                    .col(string_len(SurveyQuestions::Kind, ENUM_LEN))
                    .col(text(SurveyQuestions::Prompt))
                    .col(json_binary_null(SurveyQuestions::Options))
                    .col(boolean(SurveyQuestions::Required).default(false))
                    .foreign_key(&mut fk(
                        "fk_survey_questions_survey_id",
                        SurveyQuestions::Table,
                        SurveyQuestions::SurveyId,
                        Surveys::Table,
                        Surveys::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(uidx(
                "ux_survey_questions_survey_id_key",
                SurveyQuestions::Table,
                [SurveyQuestions::SurveyId, SurveyQuestions::Key],
            ))
            .await?;

        // 18. survey_invitations
        manager
            .create_table(
                Table::create()
                    .table(SurveyInvitations::Table)
                    .col(big_pk_auto(SurveyInvitations::Id))
                    .col(big_integer(SurveyInvitations::SurveyId))
                    .col(big_integer_null(SurveyInvitations::ParticipantId))
                    .col(string_len_uniq(SurveyInvitations::Token, 64))
                    .col(integer_null(SurveyInvitations::OffsetDays))
                    .col(timestamp_with_time_zone(SurveyInvitations::DueAt))
                    .col(timestamp_with_time_zone_null(SurveyInvitations::SentAt))
                    .col(timestamp_with_time_zone_null(SurveyInvitations::RespondedAt))
                    .col(timestamp_with_time_zone_null(SurveyInvitations::RemindedAt))
                    .col(string_len(SurveyInvitations::State, ENUM_LEN))
                    .col(timestamp_with_time_zone(SurveyInvitations::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_survey_invitations_survey_id",
                        SurveyInvitations::Table,
                        SurveyInvitations::SurveyId,
                        Surveys::Table,
                        Surveys::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_invitations_participant_id",
                        SurveyInvitations::Table,
                        SurveyInvitations::ParticipantId,
                        Participants::Table,
                        Participants::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_survey_invitations_survey_id",
                SurveyInvitations::Table,
                [SurveyInvitations::SurveyId],
            ))
            .await?;
        manager
            .create_index(idx(
                "idx_survey_invitations_state_due_at",
                SurveyInvitations::Table,
                [SurveyInvitations::State, SurveyInvitations::DueAt],
            ))
            .await?;

        // 19. survey_responses
        manager
            .create_table(
                Table::create()
                    .table(SurveyResponses::Table)
                    .col(big_pk_auto(SurveyResponses::Id))
                    .col(big_integer(SurveyResponses::SurveyId))
                    .col(big_integer_null(SurveyResponses::InvitationId).unique_key())
                    .col(big_integer_null(SurveyResponses::ParticipantId))
                    .col(json_binary(SurveyResponses::Answers))
                    .col(timestamp_with_time_zone(SurveyResponses::SubmittedAt))
                    .col(timestamp_with_time_zone(SurveyResponses::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_survey_id",
                        SurveyResponses::Table,
                        SurveyResponses::SurveyId,
                        Surveys::Table,
                        Surveys::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_invitation_id",
                        SurveyResponses::Table,
                        SurveyResponses::InvitationId,
                        SurveyInvitations::Table,
                        SurveyInvitations::Id,
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_participant_id",
                        SurveyResponses::Table,
                        SurveyResponses::ParticipantId,
                        Participants::Table,
                        Participants::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_survey_responses_survey_id",
                SurveyResponses::Table,
                [SurveyResponses::SurveyId],
            ))
            .await?;

        // 20. reflections
        manager
            .create_table(
                Table::create()
                    .table(Reflections::Table)
                    .col(big_pk_auto(Reflections::Id))
                    .col(big_integer_null(Reflections::ParticipantId))
                    .col(big_integer_null(Reflections::EventId))
                    .col(text(Reflections::WhatTried))
                    .col(text(Reflections::WhatChanged))
                    .col(text(Reflections::Evidence))
                    .col(timestamp_with_time_zone(Reflections::CreatedAt))
                    .col(timestamp_with_time_zone(Reflections::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_reflections_participant_id",
                        Reflections::Table,
                        Reflections::ParticipantId,
                        Participants::Table,
                        Participants::Id,
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_reflections_event_id",
                        Reflections::Table,
                        Reflections::EventId,
                        Events::Table,
                        Events::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_reflections_participant_id",
                Reflections::Table,
                [Reflections::ParticipantId],
            ))
            .await?;
        manager
            .create_index(idx(
                "idx_reflections_event_id",
                Reflections::Table,
                [Reflections::EventId],
            ))
            .await?;

        // 21. notifications (the outbox)
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(string_len(Notifications::Channel, ENUM_LEN))
                    .col(string_len(Notifications::Kind, 64))
                    .col(big_integer_null(Notifications::ParticipantId))
                    .col(big_integer_null(Notifications::BookingId))
                    .col(big_integer_null(Notifications::SessionId))
                    .col(json_binary(Notifications::Payload))
                    .col(timestamp_with_time_zone(Notifications::DueAt))
                    .col(string_len(Notifications::State, ENUM_LEN))
                    .col(integer(Notifications::Attempts).default(0))
                    .col(text_null(Notifications::LastError))
                    .col(timestamp_with_time_zone_null(Notifications::LeasedUntil))
                    .col(string_len_null(Notifications::LeaseOwner, 100))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    .col(string_len_null(Notifications::MessageId, 255))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone(Notifications::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_notifications_participant_id",
                        Notifications::Table,
                        Notifications::ParticipantId,
                        Participants::Table,
                        Participants::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_notifications_booking_id",
                        Notifications::Table,
                        Notifications::BookingId,
                        Bookings::Table,
                        Bookings::Id,
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_notifications_session_id",
                        Notifications::Table,
                        Notifications::SessionId,
                        Sessions::Table,
                        Sessions::Id,
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(idx(
                "idx_notifications_state_due_at",
                Notifications::Table,
                [Notifications::State, Notifications::DueAt],
            ))
            .await?;
        manager
            .create_index(idx(
                "idx_notifications_booking_id",
                Notifications::Table,
                [Notifications::BookingId],
            ))
            .await?;
        manager
            .create_index(idx(
                "idx_notifications_participant_id",
                Notifications::Table,
                [Notifications::ParticipantId],
            ))
            .await?;

        // 22. idempotency_keys
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(big_pk_auto(IdempotencyKeys::Id))
                    .col(big_integer(IdempotencyKeys::ApiKeyId))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(integer_null(IdempotencyKeys::ResponseStatus))
                    .col(text_null(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                    .foreign_key(&mut fk(
                        "fk_idempotency_keys_api_key_id",
                        IdempotencyKeys::Table,
                        IdempotencyKeys::ApiKeyId,
                        ApiKeys::Table,
                        ApiKeys::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(uidx(
                "ux_idempotency_keys_api_key_id_key",
                IdempotencyKeys::Table,
                [IdempotencyKeys::ApiKeyId, IdempotencyKeys::Key],
            ))
            .await?;
        manager
            .create_index(idx(
                "idx_idempotency_keys_expires_at",
                IdempotencyKeys::Table,
                [IdempotencyKeys::ExpiresAt],
            ))
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Reverse creation order, so that no table is dropped while another
        // still references it. Indexes go with their tables.
        let tables: [DynIden; 22] = [
            IdempotencyKeys::Table.into_iden(),
            Notifications::Table.into_iden(),
            Reflections::Table.into_iden(),
            SurveyResponses::Table.into_iden(),
            SurveyInvitations::Table.into_iden(),
            SurveyQuestions::Table.into_iden(),
            Surveys::Table.into_iden(),
            Closures::Table.into_iden(),
            Visits::Table.into_iden(),
            FacilitatorAssignments::Table.into_iden(),
            TriadMembers::Table.into_iden(),
            Triads::Table.into_iden(),
            CohortSchools::Table.into_iden(),
            Cohorts::Table.into_iden(),
            SessionSchoolCounts::Table.into_iden(),
            Bookings::Table.into_iden(),
            Sessions::Table.into_iden(),
            Events::Table.into_iden(),
            Programmes::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Participants::Table.into_iden(),
            Schools::Table.into_iden(),
        ];
        for table in tables {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }

    /// Run in a transaction on every backend (SQLite has transactional DDL
    /// too), so a failed migration leaves no half-built schema behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum Schools {
    Table,
    Id,
    Name,
    Urn,
    LocalAuthority,
    Region,
    Phase,
    Strengths,
    Priorities,
    AccreditedPractice,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Participants {
    Table,
    Id,
    Name,
    Email,
    SchoolId,
    Role,
    TimeZone,
    DiscordId,
    FeedToken,
    NotifyEmail,
    NotifyDiscord,
    ReminderOffsetsMinutes,
    QuietHoursStart,
    QuietHoursEnd,
    ErasedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Role,
    KeyHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Programmes {
    Table,
    Id,
    Name,
    Kind,
    Description,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    ProgrammeId,
    Kind,
    Title,
    Description,
    Venue,
    OnlineUrl,
    TimeZone,
    Status,
    HostSchoolId,
    Topic,
    Revision,
    PublishedAt,
    CancelledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    EventId,
    Label,
    StartsAt,
    EndsAt,
    TimeZone,
    Capacity,
    Booked,
    PerSchoolLimit,
    WaitlistEnabled,
    Status,
    Revision,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Bookings {
    Table,
    Id,
    SessionId,
    ParticipantId,
    SchoolId,
    Status,
    WaitlistReason,
    StartsAt,
    EndsAt,
    CreatedAt,
    UpdatedAt,
    ConfirmedAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum SessionSchoolCounts {
    Table,
    SessionId,
    SchoolId,
    Booked,
}

#[derive(DeriveIden)]
enum Cohorts {
    Table,
    Id,
    ProgrammeId,
    Name,
    Options,
    WindowStart,
    WindowEnd,
    Weekdays,
    MinDaysBetweenVisits,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CohortSchools {
    Table,
    CohortId,
    SchoolId,
}

#[derive(DeriveIden)]
enum Triads {
    Table,
    Id,
    CohortId,
    Position,
    Status,
    Pinned,
    Score,
    Explanation,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TriadMembers {
    Table,
    TriadId,
    SchoolId,
}

#[derive(DeriveIden)]
enum FacilitatorAssignments {
    Table,
    Id,
    CohortId,
    ParticipantId,
    AvailableDates,
    MaxVisitsPerWeek,
    ExcludedLocalAuthorities,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Visits {
    Table,
    Id,
    TriadId,
    HostSchoolId,
    Date,
    FacilitatorId,
    EventId,
    SessionId,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Closures {
    Table,
    Id,
    SchoolId,
    StartDate,
    EndDate,
    Kind,
    Summary,
    Source,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Surveys {
    Table,
    Id,
    Title,
    EventId,
    ProgrammeId,
    Anonymous,
    OffsetsDays,
    Status,
    ClosesAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SurveyQuestions {
    Table,
    Id,
    SurveyId,
    Position,
    Key,
    Kind,
    Prompt,
    Options,
    Required,
}

#[derive(DeriveIden)]
enum SurveyInvitations {
    Table,
    Id,
    SurveyId,
    ParticipantId,
    Token,
    OffsetDays,
    DueAt,
    SentAt,
    RespondedAt,
    RemindedAt,
    State,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
    SurveyId,
    InvitationId,
    ParticipantId,
    Answers,
    SubmittedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Reflections {
    Table,
    Id,
    ParticipantId,
    EventId,
    WhatTried,
    WhatChanged,
    Evidence,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    Channel,
    Kind,
    ParticipantId,
    BookingId,
    SessionId,
    Payload,
    DueAt,
    State,
    Attempts,
    LastError,
    LeasedUntil,
    LeaseOwner,
    SentAt,
    MessageId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    ApiKeyId,
    Key,
    RequestHash,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
    ExpiresAt,
}
