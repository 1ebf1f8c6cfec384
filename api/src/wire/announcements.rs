//! Announcements: what an organiser sends to an audience, what a preview answers, and a sent
//! announcement with its delivery counts.

use serde::{Deserialize, Serialize};

/// Who an announcement is for. Filters of different kinds combine with AND; the values of one
/// list combine with OR (`phases: ["primary", "special"]` is either). At least one filter, or
/// `all: true` alone, is required: an announcement to everyone is never an accident.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Everyone (not erased): must be `true` and the only filter but `exclude_booked_on_event_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
    /// People with a booking (confirmed, waitlisted or attended) on an event of this programme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme_id: Option<i64>,
    /// People booked (confirmed) or waitlisted on a session of this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    /// People of these schools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(min_items = 1, max_items = 500))]
    pub school_ids: Option<Vec<i64>>,
    /// People of schools in these local authorities (letter case ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(min_items = 1, max_items = 500, value_type = Option<Vec<crate::domain::contract::ShortLine>>))]
    pub local_authorities: Option<Vec<String>>,
    /// People of schools of these phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<Vec<crate::domain::contract::Phase>>, min_items = 1, max_items = 500))]
    pub phases: Option<Vec<String>>,
    /// People with these roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<Vec<crate::domain::contract::Role>>, min_items = 1, max_items = 500))]
    pub roles: Option<Vec<String>>,
    /// Leaves out people booked (confirmed) or waitlisted on a session of this event (those who
    /// already have a place need no invitation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_booked_on_event_id: Option<i64>,
}

/// An announcement as sent to preview or send it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnnouncementInput {
    /// The subject line (required, one line of at most 200 characters).
    #[cfg_attr(
        feature = "server",
        schema(
            example = "Places left at the summer conference",
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub subject: Option<String>,
    /// The message (required, plain text of at most 10,000 characters; newlines kept).
    #[cfg_attr(
        feature = "server",
        schema(
            min_length = 1,
            max_length = 10000,
            pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
        )
    )]
    pub body: Option<String>,
    /// The event it is about, if any: a published event. Its title, dates (in the event's
    /// zone), venue and a link to book on the participant pages go with the email.
    pub event_id: Option<i64>,
    /// Who it is for (required).
    pub audience: Option<Audience>,
    /// How it goes (required, at least one): `email`, `discord_dm` (a direct message from the
    /// bot), `discord_channel` (one post in the network's Discord channel).
    #[cfg_attr(feature = "server", schema(value_type = Option<Vec<crate::domain::contract::AnnouncementChannel>>, example = json!(["email"]), min_items = 1, max_items = 3))]
    pub channels: Option<Vec<String>>,
}

/// A person an announcement reaches, in brief.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Reached {
    /// The participant's id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
    /// Their school's id, if they have one.
    pub school_id: Option<i64>,
    /// Their school's name.
    pub school_name: Option<String>,
}

/// Whom one channel reaches.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Reach {
    /// How many people.
    pub count: i64,
    /// The first of them (at most 50), by id.
    pub people: Vec<Reached>,
}

/// What an announcement would reach on each channel asked for (the others are left out).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChannelReach {
    /// People with an email address who hear by email and take announcements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Reach>,
    /// People with a linked Discord account who hear by Discord and take announcements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord_dm: Option<Reach>,
    /// People who could see the channel post: those of the audience with a linked Discord
    /// account (the post itself is one message, whoever reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord_channel: Option<Reach>,
}

/// A preview: whom each channel would reach. Nothing is written.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Preview {
    /// Per channel asked for.
    pub channels: ChannelReach,
}

/// How an announcement's messages fared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Counts {
    /// Queued and not yet sent (large announcements are paced).
    pub queued: i64,
    /// Sent (for a channel post: posted).
    pub sent: i64,
    /// Given up on after the set number of tries (dead letters, which can be retried).
    pub failed: i64,
    /// Not sent because the person turned announcements off before it went.
    pub unsubscribed: i64,
    /// Not sent for another reason (the person was erased, turned the channel off, unlinked).
    pub withdrawn: i64,
}

/// The counts of each channel an announcement went by.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChannelCounts {
    /// Emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Counts>,
    /// Discord direct messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord_dm: Option<Counts>,
    /// The Discord channel post (at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord_channel: Option<Counts>,
}

/// A sent announcement.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Announcement {
    /// Its id.
    pub id: i64,
    /// The subject line.
    pub subject: String,
    /// The message.
    pub body: String,
    /// The event it is about.
    pub event_id: Option<i64>,
    /// Who it was for, as asked.
    pub audience: Audience,
    /// The channels asked for.
    #[cfg_attr(feature = "server", schema(value_type = Vec<crate::domain::contract::AnnouncementChannel>))]
    pub channels: Vec<String>,
    /// All its messages, every channel together.
    pub counts: Counts,
    /// Per channel.
    pub by_channel: ChannelCounts,
    /// When it was sent (UTC).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Instant))]
    pub created_at: String,
}
