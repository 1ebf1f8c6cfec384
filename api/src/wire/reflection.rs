//! Impact reflections: what a participant writes and what is kept.

use serde::{Deserialize, Serialize};

/// A reflection as Convene shows it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Reflection {
    /// Its id.
    pub id: i64,
    /// Who wrote it (none once they are erased).
    pub participant_id: Option<i64>,
    /// The event it is about.
    pub event_id: Option<i64>,
    /// That event's title.
    pub event_title: Option<String>,
    /// What they tried.
    pub what_tried: String,
    /// What changed.
    pub what_changed: String,
    /// The evidence.
    pub evidence: String,
    /// When it was written (UTC).
    #[cfg_attr(feature = "server", schema(value_type = crate::domain::contract::Instant))]
    pub created_at: String,
}

/// A reflection as the participant writes it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReflectionText {
    /// The event it is about, if any (a published event).
    #[cfg_attr(feature = "server", schema(example = 3))]
    pub event_id: Option<i64>,
    /// What they tried or adapted.
    #[cfg_attr(feature = "server", schema(value_type = Option<crate::domain::contract::Paragraph>, example = "Daily retrieval quizzes at the start of Year 8 maths lessons"))]
    pub what_tried: Option<String>,
    /// What changed as a result, so far.
    #[cfg_attr(feature = "server", schema(value_type = Option<crate::domain::contract::Paragraph>, example = "Pupils start work faster; fewer gaps in end-of-unit tests"))]
    pub what_changed: Option<String>,
    /// How they know: the evidence.
    #[cfg_attr(feature = "server", schema(value_type = Option<crate::domain::contract::Paragraph>, example = "Unit test scores up from 58% to 67% on the same paper as last year"))]
    pub evidence: Option<String>,
}
