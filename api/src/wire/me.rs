//! What a participant sees and sends about themselves: sessions open to them, their bookings, their settings.

use serde::{Deserialize, Serialize};

use super::nullable;
use super::state::BookingStatus;

/// A session as a participant sees it, with its times in their own zone.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    /// The session's id (what to book).
    pub session_id: i64,
    /// Its event.
    pub event_id: i64,
    /// The event's title.
    pub event_title: String,
    /// The session's label, when the event has several.
    pub label: Option<String>,
    /// `conference`, `slp_session` or `triad_visit`.
    pub kind: String,
    /// The event's topic, if it has one.
    pub topic: Option<String>,
    /// Start (UTC).
    pub start: String,
    /// End (UTC).
    pub end: String,
    /// Start on the participant's clock (`time_zone`), without offset.
    pub start_local: String,
    /// End on the participant's clock.
    pub end_local: String,
    /// The participant's zone, in which `start_local` and `end_local` are given.
    pub time_zone: String,
    /// Where it happens, if in person.
    pub venue: Option<String>,
    /// Whether it is online (the link is given with a confirmed booking).
    pub online: bool,
    /// Seats in all.
    pub capacity: i32,
    /// Seats free now.
    pub available: i32,
    /// Whether a full session takes a waitlist.
    pub waitlist: bool,
}

/// The participant's own booking of a session, in brief.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct BookingState {
    /// The booking's id.
    pub id: i64,
    /// `confirmed` or `waitlisted`.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::BookingStatus))]
    pub status: BookingStatus,
    /// Place on the waitlist (1 is next), while waitlisted.
    pub waitlist_position: Option<i64>,
}

/// A session open to the participant, and their booking of it if they have one.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OpenSession {
    /// The session.
    pub session: SessionSummary,
    /// Their active booking of it, if any.
    pub my_booking: Option<BookingState>,
}

/// One of the participant's bookings, with its session.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MyBooking {
    /// The booking's id (what to cancel).
    pub id: i64,
    /// `confirmed`, `waitlisted`, `cancelled`, `attended` or `no_show`.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::BookingStatus))]
    pub status: BookingStatus,
    /// Place on the waitlist (1 is next), while waitlisted.
    pub waitlist_position: Option<i64>,
    /// Why it waits: `capacity` or `per_school_limit`.
    pub waitlist_reason: Option<String>,
    /// The online join link: only with a confirmed booking of an online session.
    pub join_url: Option<String>,
    /// The session.
    pub session: SessionSummary,
}

/// A request to book a session for oneself.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MyBookingInput {
    /// The session to book (required).
    #[cfg_attr(feature = "server", schema(value_type = i64, example = 12))]
    pub session_id: Option<i64>,
}

/// A participant's own settings.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Preferences {
    /// Their IANA time zone, used for times in messages.
    pub time_zone: String,
    /// Whether they hear by email.
    pub notify_email: bool,
    /// Whether they hear by Discord DM.
    pub notify_discord: bool,
    /// Minutes before a session they are reminded (`[]`: no reminders).
    pub reminder_offsets_minutes: Vec<i64>,
    /// Start of their quiet hours (local `HH:MM`): reminders then wait until the end.
    pub quiet_hours_start: Option<String>,
    /// End of their quiet hours (local `HH:MM`).
    pub quiet_hours_end: Option<String>,
    /// Whether they take announcements from the network's organisers (messages about their own
    /// bookings come whatever this says).
    #[serde(default = "yes")]
    pub announcements: bool,
}

/// The default of a setting that is on unless turned off.
fn yes() -> bool {
    true
}

/// A change of the participant's own settings: only the fields given change.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    /// An IANA time zone.
    #[cfg_attr(feature = "server", schema(value_type = Option<crate::domain::contract::TimeZone>, example = "Europe/London"))]
    pub time_zone: Option<String>,
    /// Whether to hear by email.
    pub notify_email: Option<bool>,
    /// Whether to hear by Discord DM.
    pub notify_discord: Option<bool>,
    /// Whether to take announcements from the network's organisers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcements: Option<bool>,
    /// Minutes before a session to be reminded, e.g. `[1440, 60]`; `[]` for none.
    #[cfg_attr(feature = "server", schema(value_type = Option<crate::domain::contract::Reminders>, example = json!([1440, 60])))]
    pub reminder_offsets_minutes: Option<Vec<i64>>,
    /// Start of quiet hours, local `HH:MM`; `null` for none. Quiet hours have a start and an
    /// end, or neither, and the two differ.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<crate::domain::contract::LocalTime>, example = "21:00"))]
    pub quiet_hours_start: Option<Option<String>>,
    /// End of quiet hours, local `HH:MM`; `null` for none.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<crate::domain::contract::LocalTime>, example = "07:00"))]
    pub quiet_hours_end: Option<Option<String>>,
}
