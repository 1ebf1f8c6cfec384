//! A participant as the service answers it.

use serde::{Deserialize, Serialize};

/// A participant as Convene shows it to organisers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Participant {
    /// Their id.
    pub id: i64,
    /// Their name (`Erased participant` once erased).
    pub name: String,
    /// Their email (none once erased).
    pub email: Option<String>,
    /// Their school.
    pub school_id: Option<i64>,
    /// Their role.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Role))]
    pub role: String,
    /// Their time zone.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::TimeZone))]
    pub time_zone: String,
    /// Whether they hear by email.
    pub notify_email: bool,
    /// Whether they hear by Discord DM (when linked).
    pub notify_discord: bool,
    /// Whether a Discord account is linked.
    pub discord_linked: bool,
    /// Minutes before a session they are reminded.
    pub reminder_offsets_minutes: Vec<i64>,
    /// Start of their quiet hours (local `HH:MM`).
    pub quiet_hours_start: Option<String>,
    /// End of their quiet hours (local `HH:MM`).
    pub quiet_hours_end: Option<String>,
    /// Whether their personal data was erased.
    pub erased: bool,
    /// Whether they take announcements (they can stop them with the link in each one, and turn
    /// them back on in their settings).
    #[serde(default = "yes")]
    pub announcements: bool,
    /// When they were added (UTC).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Instant))]
    pub created_at: String,
    /// When they were last changed (UTC).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Instant))]
    pub updated_at: String,
}

/// The default of a setting that is on unless turned off.
fn yes() -> bool {
    true
}
