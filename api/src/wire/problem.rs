//! The one error body: an RFC 7807 problem with a stable code, the fields at fault and, for an import, the rows.

use serde::{Deserialize, Serialize};

/// One field at fault and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name as sent, e.g. `email` or `strengths[2]`.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

/// One thing wrong with one row (or, on line 1, with the header).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RowError {
    /// The line of the file the row starts on (the header is line 1).
    #[cfg_attr(feature = "server", schema(example = 3))]
    pub line: u64,
    /// The column at fault (a list item as `strengths[1]`; empty when the row as a whole is).
    #[cfg_attr(feature = "server", schema(example = "urn"))]
    pub field: String,
    /// A stable code: `validation_failed`, `unknown_school`, `duplicate_row`, `malformed_row`,
    /// `urn_taken`, `email_taken`, `participant_erased`, `unknown_column`, `duplicate_column`,
    /// `missing_column`, `empty_file`.
    #[cfg_attr(feature = "server", schema(example = "validation_failed"))]
    pub code: String,
    /// What is wrong, in words.
    #[cfg_attr(feature = "server", schema(example = "must be letters and digits only"))]
    pub message: String,
}

/// An RFC 7807 problem.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:convene:problem:<code>`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "server", schema(example = "urn:convene:problem:validation_failed"))]
    pub kind: String,
    /// A short summary of the kind of problem.
    #[cfg_attr(feature = "server", schema(example = "Some fields are invalid"))]
    pub title: String,
    /// The HTTP status.
    #[cfg_attr(feature = "server", schema(example = 422))]
    pub status: u16,
    /// What went wrong this time, in words.
    pub detail: String,
    /// A stable machine-readable code, e.g. `validation_failed`, `not_found`, `unauthorized`
    /// (text on the wire, so a client reads a code newer than itself; the document lists them).
    #[cfg_attr(feature = "server", schema(value_type = crate::problem_code::ProblemCode, example = "validation_failed"))]
    pub code: String,
    /// Each field at fault (empty when no field is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a refused spreadsheet import: each bad row's line, column, code and reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_errors: Vec<RowError>,
}
