//! Survey invitations, their questions, and the answers a participant sends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A question as Convene shows it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Question {
    /// Its key.
    pub key: String,
    /// Its kind.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::QuestionKind))]
    pub kind: String,
    /// What is asked. For an `action_follow_up` shown to a person, it begins with what they planned.
    pub prompt: String,
    /// The choices (choice questions only).
    pub options: Option<Vec<String>>,
    /// Whether an answer is needed.
    pub required: bool,
}

/// One invitation as its person sees it: the questions that apply to them now, and what they
/// have answered so far.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Invitation {
    /// The invitation's id.
    pub id: i64,
    /// The survey's title.
    pub title: String,
    /// The event it follows up, if one.
    pub event_title: Option<String>,
    /// Days after the event it was sent (0: sent by hand).
    pub offset_days: i64,
    /// The questions for this invitation.
    pub questions: Vec<Question>,
    /// The answers given so far, by question key.
    #[cfg_attr(feature = "server", schema(value_type = BTreeMap<String, crate::domain::contract::Answer>))]
    pub answers: BTreeMap<String, Value>,
    /// Whether every required question is answered.
    pub complete: bool,
    /// Whether answers can still be given or changed.
    pub open: bool,
    /// The personal link to the form.
    pub url: String,
}

/// Answers to a survey invitation.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnswersInput {
    /// Answers by question key: a number 1–5 (`likert`), a choice (`single_choice`), a list of
    /// choices (`multi_choice`), text (`text`, `intended_action`), or for `action_follow_up`
    /// `{"done": "yes"|"partly"|"no", "what_changed": "…", "evidence": "…"}`. Keys left out keep
    /// their earlier answers; `null` clears a required question's answer and skips an optional one.
    #[cfg_attr(feature = "server", schema(value_type = Option<BTreeMap<String, crate::domain::contract::AnswerInput>>))]
    pub answers: Option<BTreeMap<String, Value>>,
    /// True when this is the final submission: then every required question must be answered.
    /// False saves answers one at a time (as the bot does).
    pub complete: Option<bool>,
}

/// The open invitations of a linked participant.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct InvitationList {
    /// Newest first.
    pub items: Vec<Invitation>,
}
