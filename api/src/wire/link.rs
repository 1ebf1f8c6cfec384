//! Linking a Discord account to a participant: the request, the code, the answer.

use serde::{Deserialize, Serialize};

/// A request for a link code.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The Discord user's id (a snowflake, digits only).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::DiscordId, example = "80351110224678912"))]
    pub discord_id: Option<String>,
    /// The email address the participant is known by in Convene.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Email, example = "ann.jones@northfield.sch.uk"))]
    pub email: Option<String>,
}

/// The answer to a link request: always the same, whether or not the email is known.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LinkRequested {
    /// Minutes the code works for.
    #[cfg_attr(feature = "server", schema(example = 15))]
    pub expires_in_minutes: i64,
    /// What happens next, in words.
    pub detail: String,
}

/// A linked account.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Linked {
    /// The Discord user's id.
    pub discord_id: String,
    /// The participant it now acts for.
    pub participant_id: i64,
    /// Their name, to greet them.
    pub name: String,
}

/// A code to check.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The Discord user's id, as given to `/v1/bot/link`.
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::DiscordId, example = "80351110224678912"))]
    pub discord_id: Option<String>,
    /// The six-digit code from the email (the one sent: else `code_incorrect`).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::LinkCode, example = "042917"))]
    pub code: Option<String>,
}
