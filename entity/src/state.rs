//! The states a row moves through, as enums over the text columns that store them.
//!
//! Each is stored as the same snake_case text it always was (no migration: sea-orm's
//! `DeriveActiveEnum` over a `String` column), serialised to that text on the wire, and listed in
//! `NAMES` for the validators and the OpenAPI document. A state spelled wrong does not compile.
//!
//! This module builds without sea-orm (the `orm` feature off), so that a client of the API, such
//! as the Discord bot, can share these types without the database layer.

#[cfg(feature = "orm")]
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What every state enum offers, for code that takes any of them (the validators).
pub trait State: Copy + 'static {
    /// The text stored and sent for this state.
    fn as_str(self) -> &'static str;
    /// The state `text` names, if it names one.
    fn parse(text: &str) -> Option<Self>;
}

/// Declares a state enum: its variants with their stored text, `NAMES`, `as_str` and `parse`.
macro_rules! states {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "orm", derive(EnumIter, DeriveActiveEnum))]
        #[cfg_attr(feature = "orm", sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))"))]
        pub enum $name {
            $(
                $(#[$vdoc])*
                #[cfg_attr(feature = "orm", sea_orm(string_value = $value))]
                #[serde(rename = $value)]
                $variant,
            )+
        }

        impl $name {
            /// Every state, in the order declared.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// Every state, as stored and sent, in the order declared.
            pub const NAMES: &'static [&'static str] = &[$($value),+];

            /// The text stored and sent for this state.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }

            /// The state `text` names, if it names one.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($value => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl State for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(text: &str) -> Option<Self> {
                $name::parse(text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

states!(
    /// A booking's state.
    BookingStatus {
        /// Holds a seat.
        Confirmed = "confirmed",
        /// Waits for a seat (or for the school's limit to allow one).
        Waitlisted = "waitlisted",
        /// Given up, by the person or an organiser, or with its session.
        Cancelled = "cancelled",
        /// Marked as attended (keeps its seat).
        Attended = "attended",
        /// Marked as not attended (keeps its seat).
        NoShow = "no_show",
    }
);

impl BookingStatus {
    /// The states that hold or wait for a seat; at most one per person and session.
    pub const ACTIVE: [Self; 2] = [Self::Confirmed, Self::Waitlisted];
    /// The states that hold a seat (attendance keeps the seat).
    pub const SEATED: [Self; 3] = [Self::Confirmed, Self::Attended, Self::NoShow];
    /// The states attendance marks a booking with.
    pub const ATTENDANCE: [Self; 2] = [Self::Attended, Self::NoShow];
}

states!(
    /// An event's state.
    EventStatus {
        /// Seen only by organisers.
        Draft = "draft",
        /// Public: listed, bookable, in feeds.
        Published = "published",
        /// Called off; its sessions are cancelled.
        Cancelled = "cancelled",
    }
);

states!(
    /// A session's state.
    SessionStatus {
        /// Going ahead.
        Scheduled = "scheduled",
        /// Called off; its bookings are cancelled.
        Cancelled = "cancelled",
    }
);

states!(
    /// A triad cohort's state.
    CohortStatus {
        /// Triads proposed or being edited.
        Draft = "draft",
        /// The organiser accepted the triads.
        TriadsAccepted = "triads_accepted",
        /// The visits are scheduled.
        Scheduled = "scheduled",
    }
);

states!(
    /// An outbox message's state.
    NotificationState {
        /// Waiting to be sent (when due).
        Pending = "pending",
        /// Taken by a sender, until its lease ends.
        Leased = "leased",
        /// Delivered.
        Sent = "sent",
        /// Given up on after its attempts.
        Dead = "dead",
        /// No longer applies (its subject changed) and was not sent.
        Withdrawn = "withdrawn",
    }
);

states!(
    /// A survey's state.
    SurveyStatus {
        /// Being written; invites no one.
        Draft = "draft",
        /// Inviting and taking answers.
        Open = "open",
        /// Takes no more answers.
        Closed = "closed",
    }
);

states!(
    /// A survey invitation's state.
    InvitationState {
        /// Sent to the person, not yet answered.
        Sent = "sent",
        /// Answered (at least once; answers may be changed while the survey is open).
        Answered = "answered",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_the_text_it_is_stored_and_sent_as() {
        for name in BookingStatus::NAMES {
            let state = BookingStatus::parse(name).expect("a listed name parses");
            assert_eq!(state.as_str(), *name);
            assert_eq!(serde_json::to_value(state).unwrap(), serde_json::json!(name));
        }
        assert_eq!(BookingStatus::parse("Confirmed"), None);
        assert_eq!(
            serde_json::from_value::<CohortStatus>(serde_json::json!("triads_accepted")).unwrap(),
            CohortStatus::TriadsAccepted
        );
    }
}
