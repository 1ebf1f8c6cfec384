//! The bot's side of the outbox: leasing Discord messages to deliver.

use serde::{Deserialize, Serialize};

/// A Discord message to send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DiscordMessage {
    /// Acknowledge with this id once sent.
    pub id: i64,
    /// The Discord user to DM.
    pub discord_user_id: String,
    /// What it is about, e.g. `booking_promoted`, `reminder`.
    pub kind: String,
    /// A one-line title.
    pub title: String,
    /// The message, plain text, in the person's time zone.
    pub text: String,
    /// The booking it is about (the bot can offer a cancel button).
    pub booking_id: Option<i64>,
    /// The session it is about.
    pub session_id: Option<i64>,
    /// Which try this is (1 for the first).
    pub attempt: i32,
}

/// What the bot asks for.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// At most this many messages (1–100, default 20).
    #[cfg_attr(feature = "server", schema(minimum = 1, maximum = 100))]
    pub limit: Option<i64>,
    /// How long they are the bot's to send (10–600 s, default 60); unacknowledged ones come back after.
    #[cfg_attr(feature = "server", schema(minimum = 10, maximum = 600))]
    pub lease_seconds: Option<i64>,
}

/// The messages leased.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Leased {
    /// Send each, then acknowledge it.
    pub items: Vec<DiscordMessage>,
}
