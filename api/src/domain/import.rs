//! Importing a network from a spreadsheet: schools keyed by URN and participants keyed by email,
//! from CSV whose header row names the same fields as the JSON API. Existing rows are updated,
//! new ones created, through the same rules as `POST`/`PATCH` (`school::create`/`update`,
//! `participant::create`/`update`), all in one transaction. A bad row is reported by its line,
//! field and reason; unless bad rows are to be skipped, one bad row writes nothing at all.

use std::collections::HashMap;

use entity::{participant as participant_row, school as school_row};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit::{Change, Target};
use super::participant::{self, ParticipantInput};
use super::school::{self, SchoolInput};
use super::{DomainError, DomainResult, FieldError};
use crate::db::{WriteTxn, begin_write};
use crate::problem_code::ProblemCode;
pub use crate::wire::problem::RowError;

/// The columns a schools sheet may have (`urn` is required: it is the key).
pub const SCHOOL_COLUMNS: &[&str] = &[
    "name",
    "urn",
    "local_authority",
    "region",
    "phase",
    "strengths",
    "priorities",
    "accredited_practice",
];

/// The columns a participants sheet may have (`email` is required: it is the key).
pub const PARTICIPANT_COLUMNS: &[&str] = &[
    "name",
    "email",
    "school_urn",
    "role",
    "time_zone",
    "notify_email",
    "notify_discord",
    "reminder_offsets_minutes",
    "quiet_hours_start",
    "quiet_hours_end",
];

impl RowError {
    fn new(line: u64, field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            line,
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// As a field error of a problem: the field, with the line in the message.
    pub fn to_field_error(&self) -> FieldError {
        FieldError::new(self.field.clone(), format!("line {}: {}", self.line, self.message))
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows that made a new school or participant.
    pub created: u64,
    /// Rows that changed an existing one.
    pub updated: u64,
    /// Bad rows left out (only with `skip_invalid=true`).
    pub skipped: u64,
    /// Every problem found, by line.
    pub errors: Vec<RowError>,
}

/// The outcome of an import: the report, and whether anything was written (nothing is when a
/// row was bad and bad rows were not to be skipped).
#[derive(Debug)]
pub struct Imported {
    /// What was (or would have been) done.
    pub report: ImportReport,
    /// Whether the transaction was committed.
    pub written: bool,
}

/// A sheet read from CSV: each data row's line and its non-empty cells by column name.
#[derive(Debug)]
struct Sheet {
    rows: Vec<Row>,
    /// Rows that could not be read at all.
    broken: Vec<RowError>,
}

#[derive(Clone, Debug)]
struct Row {
    line: u64,
    cells: HashMap<String, String>,
}

impl Row {
    fn take(&mut self, column: &str) -> Option<String> {
        self.cells.remove(column)
    }
}

/// Reads CSV text with a header row naming columns of `allowed`, of which `key` must be one.
/// A header at fault refuses the whole file (the `Err`); rows that cannot be read are reported.
/// An empty cell counts as not given: on create the field takes its default (or is reported
/// missing), on update it keeps its value.
fn read_sheet(body: &[u8], allowed: &[&str], key: &str) -> Result<Sheet, Vec<RowError>> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(body);
    if let Err(e) = std::str::from_utf8(body) {
        return Err(vec![RowError::new(
            1,
            "",
            "invalid_encoding",
            format!("the file is not UTF-8 text ({e}); save the spreadsheet as \"CSV UTF-8\""),
        )]);
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(body);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![RowError::new(1, "", "malformed_row", e.to_string())]),
    };
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(vec![RowError::new(
            1,
            "",
            "empty_file",
            format!(
                "the file has no header row; the first line names the columns, e.g. {}",
                allowed.join(",")
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    for name in &headers {
        let name = name.trim().to_ascii_lowercase();
        if !allowed.contains(&name.as_str()) {
            errors.push(RowError::new(
                1,
                name.clone(),
                "unknown_column",
                format!("is not a column of this import (columns: {})", allowed.join(", ")),
            ));
        } else if columns.contains(&name) {
            errors.push(RowError::new(1, name.clone(), "duplicate_column", "is named twice"));
        }
        columns.push(name);
    }
    if !columns.iter().any(|c| c == key) {
        errors.push(RowError::new(
            1,
            key,
            "missing_column",
            format!("the header needs a {key} column: it says which row is which"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut sheet = Sheet {
        rows: Vec::new(),
        broken: Vec::new(),
    };
    let mut lines = Lines::new(body);
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = lines.at(record.position());
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let cells = columns
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, value)| !value.trim().is_empty())
                    .map(|(c, v)| (c.clone(), v.to_owned()))
                    .collect();
                sheet.rows.push(Row { line, cells });
            }
            Err(e) => {
                let line = lines.at(e.position());
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("has {len} cells where the header has {expected_len}")
                    }
                    _ => e.to_string(),
                };
                sheet.broken.push(RowError::new(line, "", "malformed_row", message));
            }
        }
    }
    Ok(sheet)
}

/// Line numbers from byte offsets. The csv crate's own line count skips blank lines and, after
/// a CRLF line end (as spreadsheets on Windows save), is one short, so lines are counted here:
/// one plus the newlines before the record's first byte (records come in order).
struct Lines<'a> {
    body: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            offset: 0,
            line: 1,
        }
    }

    fn at(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else { return self.line };
        let mut byte = usize::try_from(position.byte())
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        // The position is where reading began: before the last record's line end and any blank lines.
        while self.body.get(byte).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            byte += 1;
        }
        if byte > self.offset {
            self.line += self.body[self.offset..byte].iter().filter(|b| **b == b'\n').count() as u64;
            self.offset = byte;
        }
        self.line
    }
}

/// A list cell: items separated by `;`, each trimmed, blanks dropped.
fn list(cell: Option<String>) -> Option<Vec<String>> {
    cell.map(|c| {
        c.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// A yes/no cell: `true`/`false`, `yes`/`no`, `1`/`0` (any case).
fn flag(row_errors: &mut Vec<RowError>, line: u64, field: &str, cell: Option<String>) -> Option<bool> {
    let cell = cell?;
    match cell.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => {
            row_errors.push(RowError::new(
                line,
                field,
                "validation_failed",
                format!("must be true or false, not {:?}", cell.trim()),
            ));
            None
        }
    }
}

/// The row errors for a domain refusal of one row, or the error to abort the import with.
fn row_errors_of(line: u64, err: DomainError) -> DomainResult<Vec<RowError>> {
    Ok(match err {
        DomainError::Invalid(fields) => fields
            .into_iter()
            .map(|f| RowError::new(line, f.field, ProblemCode::ValidationFailed.as_str(), f.message))
            .collect(),
        // A time that cannot be placed is one more invalid field to the person fixing the sheet.
        DomainError::LocalTime { field, error } => vec![RowError::new(
            line,
            field,
            ProblemCode::ValidationFailed.as_str(),
            error.to_string(),
        )],
        ref refused @ (DomainError::Conflict { .. }
        | DomainError::Unprocessable { .. }
        | DomainError::Forbidden { .. }
        | DomainError::NotFound { .. }) => {
            let field = match refused {
                DomainError::Conflict { field, .. } | DomainError::Unprocessable { field, .. } => field.unwrap_or(""),
                _ => "",
            };
            vec![RowError::new(line, field, refused.code().as_str(), refused.to_string())]
        }
        other @ (DomainError::TooMany { .. } | DomainError::KeyRevoked | DomainError::Database(_)) => {
            return Err(other);
        }
    })
}

/// Tallies one row's outcome.
#[derive(Default)]
struct Tally {
    report: ImportReport,
}

impl Tally {
    fn bad(&mut self, errors: Vec<RowError>) {
        self.report.skipped += 1;
        self.report.errors.extend(errors);
    }
}

/// What an import does with what it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Writes every row, or nothing when one is bad.
    Strict,
    /// Writes the good rows and leaves the bad ones out.
    SkipInvalid,
    /// Writes nothing: checks every row by the same rules and reports what an import would do.
    Preview,
}

impl Mode {
    /// `Strict`, or `SkipInvalid` when asked.
    pub fn skipping(skip_invalid: bool) -> Self {
        if skip_invalid { Self::SkipInvalid } else { Self::Strict }
    }
}

/// Commits when nothing was bad or bad rows are to be skipped (never for a preview); else rolls back.
async fn finish(
    txn: WriteTxn,
    mut tally: Tally,
    broken: Vec<RowError>,
    mode: Mode,
    change: &Change,
    what: &'static str,
) -> DomainResult<Imported> {
    tally.report.skipped += broken.len() as u64;
    tally.report.errors.extend(broken);
    tally.report.errors.sort_by_key(|e| e.line);
    let write = match mode {
        Mode::Strict => tally.report.errors.is_empty(),
        Mode::SkipInvalid => true,
        Mode::Preview => false,
    };
    if write {
        let r = &tally.report;
        change
            .record(
                &*txn,
                &format!("import.{what}"),
                Target("import", 0),
                format!(
                    "{what} from CSV: {} created, {} updated, {} skipped",
                    r.created, r.updated, r.skipped
                ),
            )
            .await?;
        txn.commit().await?;
        Ok(Imported {
            report: tally.report,
            written: true,
        })
    } else {
        txn.rollback().await?;
        Ok(Imported {
            report: tally.report,
            written: false,
        })
    }
}

/// The report for a file whose header is at fault: nothing read, nothing written.
fn refused(errors: Vec<RowError>) -> Imported {
    Imported {
        report: ImportReport {
            errors,
            ..ImportReport::default()
        },
        written: false,
    }
}

/// Imports schools from CSV, keyed by URN: each row updates the school with its URN or creates
/// one. `Mode::SkipInvalid` leaves bad rows out and writes the rest; `Mode::Strict` writes nothing
/// when one row is bad; `Mode::Preview` writes nothing and reports what would be done.
#[tracing::instrument(skip(db, body))]
pub async fn schools(db: &DatabaseConnection, body: &[u8], mode: Mode, change: &Change) -> DomainResult<Imported> {
    let now = change.now;
    let sheet = match read_sheet(body, SCHOOL_COLUMNS, "urn") {
        Ok(sheet) => sheet,
        Err(errors) => return Ok(refused(errors)),
    };
    let txn = begin_write(db).await?;
    let mut tally = Tally::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for mut row in sheet.rows {
        let line = row.line;
        let urn = row.take("urn").map(|u| u.trim().to_owned());
        if let Some(urn) = &urn {
            if let Some(first) = seen.get(urn) {
                tally.bad(vec![RowError::new(
                    line,
                    "urn",
                    "duplicate_row",
                    format!("URN {urn} is also on line {first}; give each school one row"),
                )]);
                continue;
            }
            seen.insert(urn.clone(), line);
        }
        let input = SchoolInput {
            name: row.take("name"),
            urn: urn.clone(),
            local_authority: row.take("local_authority"),
            region: row.take("region"),
            phase: row.take("phase").map(|p| p.trim().to_owned()),
            strengths: list(row.take("strengths")),
            priorities: list(row.take("priorities")),
            accredited_practice: list(row.take("accredited_practice")),
        };
        let existing = match &urn {
            Some(urn) => {
                school_row::Entity::find()
                    .filter(school_row::Column::Urn.eq(urn.as_str()))
                    .one(&*txn)
                    .await?
            }
            None => None,
        };
        let done = match existing {
            Some(found) => school::update(&*txn, found.id, input, now).await.map(|_| false),
            None => school::create(&*txn, input, now).await.map(|_| true),
        };
        match done {
            Ok(true) => tally.report.created += 1,
            Ok(false) => tally.report.updated += 1,
            Err(err) => tally.bad(row_errors_of(line, err)?),
        }
    }
    finish(txn, tally, sheet.broken, mode, change, "schools").await
}

/// Imports participants from CSV, keyed by email: each row updates the participant with that
/// email or creates one. `school_urn` names their school; lists (`reminder_offsets_minutes`) are
/// separated by `;`. The [`Mode`] says what is written, as for schools.
#[tracing::instrument(skip(db, body))]
pub async fn participants(db: &DatabaseConnection, body: &[u8], mode: Mode, change: &Change) -> DomainResult<Imported> {
    let now = change.now;
    let sheet = match read_sheet(body, PARTICIPANT_COLUMNS, "email") {
        Ok(sheet) => sheet,
        Err(errors) => return Ok(refused(errors)),
    };
    let txn = begin_write(db).await?;
    let mut tally = Tally::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut schools: HashMap<String, Option<i64>> = HashMap::new();
    for mut row in sheet.rows {
        let line = row.line;
        let mut errors = Vec::new();
        let email = row.take("email").map(|e| e.trim().to_lowercase());
        if let Some(email) = &email {
            if let Some(first) = seen.get(email) {
                tally.bad(vec![RowError::new(
                    line,
                    "email",
                    "duplicate_row",
                    format!("{email} is also on line {first}; give each person one row"),
                )]);
                continue;
            }
            seen.insert(email.clone(), line);
        }
        let school_id = match row.take("school_urn").map(|u| u.trim().to_owned()) {
            None => None,
            Some(urn) => {
                let id = match schools.get(&urn) {
                    Some(id) => *id,
                    None => {
                        let id = school_row::Entity::find()
                            .filter(school_row::Column::Urn.eq(urn.as_str()))
                            .one(&*txn)
                            .await?
                            .map(|s| s.id);
                        schools.insert(urn.clone(), id);
                        id
                    }
                };
                if id.is_none() {
                    errors.push(RowError::new(
                        line,
                        "school_urn",
                        "unknown_school",
                        format!("no school has URN {urn}; import the schools first"),
                    ));
                }
                id.map(Some)
            }
        };
        let reminders = match list(row.take("reminder_offsets_minutes")) {
            None => None,
            Some(items) => {
                let mut minutes = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item.parse::<i64>() {
                        Ok(m) => minutes.push(m),
                        Err(_) => errors.push(RowError::new(
                            line,
                            format!("reminder_offsets_minutes[{i}]"),
                            "validation_failed",
                            format!("must be a whole number of minutes, not {item:?}"),
                        )),
                    }
                }
                Some(minutes)
            }
        };
        let notify_email = flag(&mut errors, line, "notify_email", row.take("notify_email"));
        let notify_discord = flag(&mut errors, line, "notify_discord", row.take("notify_discord"));
        let input = ParticipantInput {
            name: row.take("name"),
            email: email.clone(),
            school_id,
            role: row.take("role").map(|r| r.trim().to_owned()),
            time_zone: row.take("time_zone").map(|z| z.trim().to_owned()),
            notify_email,
            notify_discord,
            reminder_offsets_minutes: reminders,
            quiet_hours_start: row.take("quiet_hours_start").map(Some),
            quiet_hours_end: row.take("quiet_hours_end").map(Some),
        };
        if !errors.is_empty() {
            tally.bad(errors);
            continue;
        }
        let existing = match &email {
            Some(email) => {
                participant_row::Entity::find()
                    .filter(participant_row::Column::Email.eq(email.as_str()))
                    .one(&*txn)
                    .await?
            }
            None => None,
        };
        let done = match existing {
            Some(found) => participant::update(&*txn, found.id, input, now).await.map(|_| false),
            None => participant::create(&*txn, input, now).await.map(|_| true),
        };
        match done {
            Ok(true) => tally.report.created += 1,
            Ok(false) => tally.report.updated += 1,
            Err(err) => tally.bad(row_errors_of(line, err)?),
        }
    }
    finish(txn, tally, sheet.broken, mode, change, "participants").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_reports_unknown_and_missing_columns_on_line_one() {
        let errors = read_sheet(b"name,postcode\nA,B\n", SCHOOL_COLUMNS, "urn").unwrap_err();
        let codes: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(codes, [(1, "postcode", "unknown_column"), (1, "urn", "missing_column")]);
    }

    #[test]
    fn rows_keep_their_line_numbers_across_quoted_newlines_and_blank_lines() {
        let sheet = read_sheet(
            "\u{feff}urn,name\n1,\"Two\nlines\"\n\n2,B\n3\n".as_bytes(),
            SCHOOL_COLUMNS,
            "urn",
        )
        .unwrap();
        let lines: Vec<_> = sheet.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 5]);
        assert_eq!(sheet.rows[0].cells["name"], "Two\nlines");
        assert_eq!(sheet.broken.len(), 1);
        assert_eq!(
            (sheet.broken[0].line, sheet.broken[0].code.as_str()),
            (6, "malformed_row")
        );
    }

    #[test]
    fn line_numbers_count_crlf_line_ends_like_lf() {
        let sheet = read_sheet(b"urn,name\r\n1,A\r\n\r\n2,\"B\r\nC\"\r\n3,D\r\n", SCHOOL_COLUMNS, "urn").unwrap();
        let lines: Vec<_> = sheet.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 6]);
    }

    #[test]
    fn list_cells_split_on_semicolons_and_drop_blanks() {
        assert_eq!(
            list(Some(" reading ; ;maths".into())),
            Some(vec!["reading".to_owned(), "maths".to_owned()])
        );
        assert_eq!(list(None), None);
    }
}
