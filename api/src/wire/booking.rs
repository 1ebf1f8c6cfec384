//! A booking as the service answers it.

use serde::{Deserialize, Serialize};

use super::state::BookingStatus;

/// A booking as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Booking {
    /// Its id.
    pub id: i64,
    /// The session booked.
    pub session_id: i64,
    /// Who booked.
    pub participant_id: i64,
    /// `confirmed`, `waitlisted`, `cancelled`, `attended` or `no_show`.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::BookingStatus))]
    pub status: BookingStatus,
    /// Place on the waitlist (1 is next), while waitlisted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    /// Why it is waitlisted: `capacity` (the session is full) or `per_school_limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_reason: Option<String>,
    /// When it was made (UTC).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Instant))]
    pub created_at: String,
    /// When it last changed (UTC).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Instant))]
    pub updated_at: String,
}
