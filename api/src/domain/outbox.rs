//! The transactional outbox: every change someone should hear about writes its message here, in
//! the same transaction as the change, so a message is never lost nor sent for a change that
//! rolled back. The notifications worker delivers them.

use chrono::{DateTime, Utc};
use entity::{notification, participant};
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use super::DomainResult;

/// What a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A booking was confirmed.
    BookingConfirmed,
    /// A booking went on the waitlist.
    BookingWaitlisted,
    /// A waitlisted booking got a seat.
    BookingPromoted,
    /// A booking was cancelled (by the person or an organiser).
    BookingCancelled,
    /// The session was cancelled, so the booking was.
    SessionCancelled,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookingConfirmed => "booking_confirmed",
            Self::BookingWaitlisted => "booking_waitlisted",
            Self::BookingPromoted => "booking_promoted",
            Self::BookingCancelled => "booking_cancelled",
            Self::SessionCancelled => "session_cancelled",
        }
    }
}

/// Queues a message about a booking for its participant, on each channel they chose
/// (email unless they turned it off; Discord when linked and chosen), due at `due_at`.
pub async fn notify_booking<C: ConnectionTrait>(
    txn: &C,
    person: &participant::Model,
    kind: Kind,
    booking_id: i64,
    session_id: i64,
    payload: serde_json::Value,
    due_at: DateTime<Utc>,
) -> DomainResult<()> {
    if person.erased_at.is_some() {
        return Ok(());
    }
    let mut channels = Vec::with_capacity(2);
    if person.notify_email && person.email.is_some() {
        channels.push("email");
    }
    if person.notify_discord && person.discord_id.is_some() {
        channels.push("discord");
    }
    let now = Utc::now();
    for channel in channels {
        let row = notification::ActiveModel {
            channel: Set(channel.to_owned()),
            kind: Set(kind.as_str().to_owned()),
            participant_id: Set(Some(person.id)),
            booking_id: Set(Some(booking_id)),
            session_id: Set(Some(session_id)),
            payload: Set(payload.clone()),
            due_at: Set(due_at),
            state: Set("pending".to_owned()),
            attempts: Set(0),
            last_error: Set(None),
            leased_until: Set(None),
            lease_owner: Set(None),
            sent_at: Set(None),
            message_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        notification::Entity::insert(row).exec_without_returning(txn).await?;
    }
    Ok(())
}
