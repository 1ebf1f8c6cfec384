//! The bot's share of Discord, natively: posts to the announcements channel, and the server's
//! scheduled events that mirror published conference and SLP sessions.

use serde::{Deserialize, Serialize};

/// A post for the announcements channel: an announcement, or a session just published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChannelPost {
    /// Acknowledge with this id once posted.
    pub id: i64,
    /// `announcement` or `session_published`.
    pub kind: String,
    /// The embed's title.
    pub title: String,
    /// The embed's text (never a session's online join link).
    pub text: String,
    /// The session it offers to book, if any.
    pub session: Option<PostedSession>,
}

/// The session a channel post is about: enough for an embed with Discord's `<t:…>` timestamps
/// (each reader sees their own zone) and a "Book" button.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PostedSession {
    /// The session (the "Book" button books it).
    pub session_id: i64,
    /// `conference` or `slp_session`.
    pub event_kind: String,
    /// When it starts, in Unix seconds.
    pub starts_at: i64,
    /// When it ends, in Unix seconds.
    pub ends_at: i64,
    /// Seats not yet taken when the post was leased.
    pub places_left: i64,
    /// Where: the venue, or `Online` (never the join link, which only booked people see).
    pub location: String,
}

/// The channel posts leased.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LeasedPosts {
    /// Post each, then acknowledge it.
    pub items: Vec<ChannelPost>,
}

/// What to do to the Discord scheduled event of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GuildEventAction {
    /// Make it (`POST /guilds/{guild}/scheduled-events`).
    Create,
    /// Change it to match the session (`PATCH …/{id}`).
    Update,
    /// Cancel it (`PATCH …/{id}` with status 4, CANCELED).
    Cancel,
}

/// A session's scheduled event to bring up to date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct GuildEventSync {
    /// The session mirrored.
    pub session_id: i64,
    /// What to do.
    pub action: GuildEventAction,
    /// The Discord event's id (for `update` and `cancel`).
    pub discord_event_id: Option<String>,
    /// Send it back with the acknowledgement: a change made meanwhile stays to be synced.
    pub version: i32,
    /// The event's name (at most 100 characters).
    pub name: String,
    /// Its description (at most 1,000 characters; never a join link).
    pub description: String,
    /// When it starts (RFC 3339, UTC).
    pub scheduled_start_time: String,
    /// When it ends (RFC 3339, UTC).
    pub scheduled_end_time: String,
    /// The venue, or `Online` (at most 100 characters).
    pub location: String,
}

/// The scheduled events leased.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LeasedGuildEvents {
    /// Do each, then acknowledge it.
    pub items: Vec<GuildEventSync>,
}

/// The bot's acknowledgement of a synced scheduled event.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GuildEventAck {
    /// The Discord event's id (as Discord answered a create; the same one otherwise).
    #[cfg_attr(feature = "server", schema(max_length = 32, pattern = "^[0-9]{1,32}$"))]
    pub discord_event_id: String,
    /// The `version` leased.
    #[cfg_attr(feature = "server", schema(minimum = 1))]
    pub version: i64,
}
