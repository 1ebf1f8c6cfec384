//! What a button under one of the bot's messages does, and the answer box one of them opens,
//! written into and read back from the custom id Discord returns when it is pressed. One type
//! writes and reads every id, so the places that make buttons and the places that answer them
//! (the command core, the Discord adapter and the console) cannot drift apart.

/// A button's action (or an answer box's), as its custom id says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ButtonAction {
    /// `view:<booking>`: show one of my bookings.
    ViewBooking(i64),
    /// `cancel:<booking>`: cancel it, or leave its waitlist.
    CancelBooking(i64),
    /// `book:<session>`: book this session (the button under a channel post).
    BookSession(i64),
    /// `survey:next`: ask my next unanswered survey question.
    NextQuestion,
    /// `sv:<invitation>:<question key>:<n>`: answer with `n` on a 1–5 scale, or with the `n`th
    /// choice (from 0).
    Choose {
        /// The survey invitation.
        invitation: i64,
        /// The question's key.
        key: String,
        /// The number or choice.
        choice: usize,
    },
    /// `sk:<invitation>:<question key>`: skip an optional question.
    Skip {
        /// The survey invitation.
        invitation: i64,
        /// The question's key.
        key: String,
    },
    /// `wr:<invitation>:<question key>`: open the answer box for a written answer.
    Write {
        /// The survey invitation.
        invitation: i64,
        /// The question's key.
        key: String,
    },
    /// `wa:<invitation>:<question key>`: the answer box itself, submitted.
    Written {
        /// The survey invitation.
        invitation: i64,
        /// The question's key.
        key: String,
    },
}

impl ButtonAction {
    /// The custom id to give the button (or answer box).
    pub fn id(&self) -> String {
        match self {
            Self::ViewBooking(booking) => format!("view:{booking}"),
            Self::CancelBooking(booking) => format!("cancel:{booking}"),
            Self::BookSession(session) => format!("book:{session}"),
            Self::NextQuestion => "survey:next".to_owned(),
            Self::Choose {
                invitation,
                key,
                choice,
            } => format!("sv:{invitation}:{key}:{choice}"),
            Self::Skip { invitation, key } => format!("sk:{invitation}:{key}"),
            Self::Write { invitation, key } => format!("wr:{invitation}:{key}"),
            Self::Written { invitation, key } => format!("wa:{invitation}:{key}"),
        }
    }

    /// The action a custom id names; `None` for one this version does not make (a button from
    /// an older version of the bot, or a forged one).
    pub fn parse(id: &str) -> Option<Self> {
        let (action, rest) = id.split_once(':')?;
        let question = |rest: &str| -> Option<(i64, String)> {
            let (invitation, key) = rest.split_once(':')?;
            (!key.is_empty() && !key.contains(':')).then_some((invitation.parse().ok()?, key.to_owned()))
        };
        Some(match action {
            "view" => Self::ViewBooking(rest.parse().ok()?),
            "cancel" => Self::CancelBooking(rest.parse().ok()?),
            "book" => Self::BookSession(rest.parse().ok()?),
            "survey" if rest == "next" => Self::NextQuestion,
            "sv" => {
                let (asked, choice) = rest.rsplit_once(':')?;
                let (invitation, key) = question(asked)?;
                Self::Choose {
                    invitation,
                    key,
                    choice: choice.parse().ok()?,
                }
            }
            "sk" => question(rest).map(|(invitation, key)| Self::Skip { invitation, key })?,
            "wr" => question(rest).map(|(invitation, key)| Self::Write { invitation, key })?,
            "wa" => question(rest).map(|(invitation, key)| Self::Written { invitation, key })?,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_id_and_unknown_ids_are_none() {
        let question = |invitation, key: &str| (invitation, key.to_owned());
        let (invitation, key) = question(12, "useful");
        for action in [
            ButtonAction::ViewBooking(7),
            ButtonAction::CancelBooking(7),
            ButtonAction::BookSession(9),
            ButtonAction::NextQuestion,
            ButtonAction::Choose {
                invitation,
                key: key.clone(),
                choice: 4,
            },
            ButtonAction::Skip {
                invitation,
                key: key.clone(),
            },
            ButtonAction::Write {
                invitation,
                key: key.clone(),
            },
            ButtonAction::Written {
                invitation,
                key: key.clone(),
            },
        ] {
            assert_eq!(
                ButtonAction::parse(&action.id()),
                Some(action.clone()),
                "{}",
                action.id()
            );
            assert!(action.id().len() <= 100, "Discord's limit for a custom id");
        }
        assert_eq!(ButtonAction::ViewBooking(7).id(), "view:7");
        assert_eq!(
            ButtonAction::Choose {
                invitation,
                key,
                choice: 4
            }
            .id(),
            "sv:12:useful:4"
        );
        for old in [
            "view:x",
            "cancel:",
            "book:x",
            "survey:all",
            "sv:12:useful",
            "sk:12",
            "wr::k",
            "zz:1",
            "plain",
        ] {
            assert_eq!(ButtonAction::parse(old), None, "{old}");
        }
    }
}
