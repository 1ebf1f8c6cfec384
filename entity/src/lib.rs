//! SeaORM entities for Convene's database: one module per table.
//!
//! The schema itself is created by the `migration` crate; these models mirror it. The state
//! enums ([`state`]) build without sea-orm (`default-features = false`), for clients of the API.

/// Declares the table modules, which need sea-orm (the `orm` feature, on by default).
macro_rules! tables {
    ($($table:ident),+ $(,)?) => {
        $(
            #[cfg(feature = "orm")]
            pub mod $table;
        )+
    };
}

tables!(
    announcement,
    announcement_recipient,
    api_key,
    audit_entry,
    authority_closure,
    booking,
    calendar_sequence,
    closure,
    cohort,
    cohort_school,
    discord_guild_event,
    discord_link_code,
    discord_link_request,
    event,
    facilitator_assignment,
    idempotency_key,
    notification,
    participant,
    participant_sign_in_token,
    participant_web_session,
    programme,
    reflection,
    school,
    session,
    session_school_count,
    survey,
    survey_invitation,
    survey_question,
    survey_response,
    triad,
    triad_member,
    visit,
);

pub mod state;

/// Every table's `Entity` under its CamelCase name.
#[cfg(feature = "orm")]
pub mod prelude {
    pub use super::announcement::Entity as Announcement;
    pub use super::announcement_recipient::Entity as AnnouncementRecipient;
    pub use super::api_key::Entity as ApiKey;
    pub use super::booking::Entity as Booking;
    pub use super::calendar_sequence::Entity as CalendarSequence;
    pub use super::closure::Entity as Closure;
    pub use super::cohort::Entity as Cohort;
    pub use super::cohort_school::Entity as CohortSchool;
    pub use super::discord_guild_event::Entity as DiscordGuildEvent;
    pub use super::discord_link_code::Entity as DiscordLinkCode;
    pub use super::discord_link_request::Entity as DiscordLinkRequest;
    pub use super::event::Entity as Event;
    pub use super::facilitator_assignment::Entity as FacilitatorAssignment;
    pub use super::idempotency_key::Entity as IdempotencyKey;
    pub use super::notification::Entity as Notification;
    pub use super::participant::Entity as Participant;
    pub use super::participant_sign_in_token::Entity as ParticipantSignInToken;
    pub use super::participant_web_session::Entity as ParticipantWebSession;
    pub use super::programme::Entity as Programme;
    pub use super::reflection::Entity as Reflection;
    pub use super::school::Entity as School;
    pub use super::session::Entity as Session;
    pub use super::session_school_count::Entity as SessionSchoolCount;
    pub use super::survey::Entity as Survey;
    pub use super::survey_invitation::Entity as SurveyInvitation;
    pub use super::survey_question::Entity as SurveyQuestion;
    pub use super::survey_response::Entity as SurveyResponse;
    pub use super::triad::Entity as Triad;
    pub use super::triad_member::Entity as TriadMember;
    pub use super::visit::Entity as Visit;
}
