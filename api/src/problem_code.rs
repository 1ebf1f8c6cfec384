//! The stable, machine-readable codes of problem answers (`"code"` in every problem+json body):
//! one enum, so a code cannot be mistyped where it is raised or where it is read, and the OpenAPI
//! document lists them all. Each is written as today's snake_case text.

use serde::{Deserialize, Serialize};

macro_rules! problem_codes {
    ($($variant:ident = $text:literal,)*) => {
        /// A problem's code, sent as its snake_case text (`ProblemCode::SessionFull` is
        /// `"session_full"`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ProblemCode {
            $($variant,)*
        }

        impl ProblemCode {
            /// Every code.
            pub const ALL: &[ProblemCode] = &[$(ProblemCode::$variant,)*];

            /// The code as sent.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $text,)*
                }
            }

            /// The code a problem body names; `None` for one this build does not know (a newer
            /// server's).
            pub fn from_code(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|code| code.as_str() == text)
            }
        }
    };
}

problem_codes! {
    AmbiguousLocalTime = "ambiguous_local_time",
    BadRequest = "bad_request",
    BookingAttendanceMarked = "booking_attendance_marked",
    BookingClash = "booking_clash",
    BookingNotConfirmed = "booking_not_confirmed",
    CapacityBelowBooked = "capacity_below_booked",
    CodeExpired = "code_expired",
    CodeIncorrect = "code_incorrect",
    CohortScheduled = "cohort_scheduled",
    DatabaseUnavailable = "database_unavailable",
    DiscordUserMissing = "discord_user_missing",
    EmailTaken = "email_taken",
    EventCancelled = "event_cancelled",
    EventHasSessions = "event_has_sessions",
    EventNotDraft = "event_not_draft",
    EventNotPublished = "event_not_published",
    Forbidden = "forbidden",
    HeadersTooLarge = "headers_too_large",
    HostNotAccredited = "host_not_accredited",
    IdempotencyInProgress = "idempotency_in_progress",
    IdempotencyKeyReused = "idempotency_key_reused",
    InternalError = "internal_error",
    InvalidCalendar = "invalid_calendar",
    InvalidPath = "invalid_path",
    InvalidQuery = "invalid_query",
    InvalidRows = "invalid_rows",
    InvalidStatusChange = "invalid_status_change",
    KeyNameTaken = "key_name_taken",
    KeyNotFound = "key_not_found",
    KeyRevoked = "key_revoked",
    LinkRateLimited = "link_rate_limited",
    MalformedJson = "malformed_json",
    MethodNotAllowed = "method_not_allowed",
    NoCodePending = "no_code_pending",
    NonexistentLocalTime = "nonexistent_local_time",
    NotEmpty = "not_empty",
    NotFound = "not_found",
    NotInvited = "not_invited",
    NotLeased = "not_leased",
    NotLinked = "not_linked",
    NotificationNotDead = "notification_not_dead",
    ParticipantErased = "participant_erased",
    PayloadTooLarge = "payload_too_large",
    PerSchoolLimitReached = "per_school_limit_reached",
    RateLimited = "rate_limited",
    SessionCancelled = "session_cancelled",
    SessionFull = "session_full",
    SessionHasBookings = "session_has_bookings",
    SessionNotStarted = "session_not_started",
    SessionStarted = "session_started",
    SurveyClosed = "survey_closed",
    TriadsInfeasible = "triads_infeasible",
    TriadsInvalid = "triads_invalid",
    TriadsNotAccepted = "triads_not_accepted",
    Unauthorized = "unauthorized",
    UnreadableBody = "unreadable_body",
    Unsendable = "unsendable",
    UnsupportedMediaType = "unsupported_media_type",
    UriTooLong = "uri_too_long",
    UrnTaken = "urn_taken",
    ValidationFailed = "validation_failed",
    VerifyLocked = "verify_locked",
    VisitsAlreadyScheduled = "visits_already_scheduled",
    VisitsInfeasible = "visits_infeasible",
    VisitsNotScheduled = "visits_not_scheduled",
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use utoipa::OpenApi as _;

    use super::*;

    #[test]
    fn every_code_is_sent_as_its_text_and_read_back() {
        for code in ProblemCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str(), "{code:?}");
            assert_eq!(ProblemCode::from_code(code.as_str()), Some(*code));
        }
        assert_eq!(ProblemCode::from_code("no_such_code"), None);
    }

    #[test]
    fn the_document_lists_every_code_as_the_problem_bodys_code() {
        let document = serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap();
        let listed = &document["components"]["schemas"]["ProblemCode"]["enum"];
        let codes: Vec<&str> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, &serde_json::json!(codes), "{document}");
        assert_eq!(
            document["components"]["schemas"]["Problem"]["properties"]["code"]["$ref"],
            "#/components/schemas/ProblemCode"
        );
    }
}
