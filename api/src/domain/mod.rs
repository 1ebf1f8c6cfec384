//! The rules: what may be created, changed and seen. No actix types here; each function takes a
//! connection (or transaction) and plain values, and returns plain values or a [`DomainError`].

pub mod activity;
pub mod announcement;
pub mod audit;
pub mod booking;
pub mod closed_days;
pub mod closure;
pub mod cohort;
pub mod contract;
pub mod dashboard;
pub mod discord;
pub mod event;
pub mod feed;
pub mod idempotency;
pub mod import;
pub mod insight;
pub mod keys;
pub mod link;
pub mod me;
pub mod notification;
pub mod outbox;
pub mod page;
pub mod participant;
pub mod personal_data;
pub mod programme;
pub mod reflection;
pub mod report;
pub mod roster;
pub mod school;
pub mod session;
pub mod sign_in;
pub mod survey;
pub mod throttle;
pub mod validate;

use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, DbErr, SqlErr};

use crate::db::{begin_write, is_retryable};
use crate::problem_code::ProblemCode;

use crate::time::TimeError;
pub use validate::{FieldError, Validator};

/// Why a domain operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing named does not exist (or is not visible to the caller).
    #[error("{what} {id} was not found")]
    NotFound {
        /// The kind of thing, e.g. `school`.
        what: &'static str,
        /// The id as given.
        id: i64,
    },
    /// One or more fields are invalid.
    #[error("{} field(s) are invalid", .0.len())]
    Invalid(Vec<FieldError>),
    /// A local time could not be placed in its zone (gap or overlap at a clocks change).
    #[error("{field}: {error}")]
    LocalTime {
        /// The field that held the time.
        field: &'static str,
        /// What went wrong.
        error: TimeError,
    },
    /// The request clashes with the current state (a duplicate, a state that forbids it).
    #[error("{detail}")]
    Conflict {
        /// The stable machine-readable code, e.g. `urn_taken`.
        code: ProblemCode,
        /// What clashed, in words.
        detail: String,
        /// The field at fault, if one is.
        field: Option<&'static str>,
    },
    /// The request is well-formed but cannot be carried out as asked (a 422 with its own code).
    #[error("{detail}")]
    Unprocessable {
        /// The stable machine-readable code, e.g. `idempotency_key_reused`.
        code: ProblemCode,
        /// What is wrong, in words.
        detail: String,
        /// The field at fault, if one is.
        field: Option<&'static str>,
    },
    /// The caller may not do this to this thing, though it exists (a 403 with its own code), e.g.
    /// a participant booking a triad's visit they are not part of.
    #[error("{detail}")]
    Forbidden {
        /// The stable machine-readable code, e.g. `not_invited`.
        code: ProblemCode,
        /// What is refused and why, in words.
        detail: String,
    },
    /// Too many tries: refused until `retry_after_seconds` have passed (a 429 with `Retry-After`).
    #[error("{detail}")]
    TooMany {
        /// The stable machine-readable code, e.g. `verify_locked`.
        code: ProblemCode,
        /// What is locked and until when, in words.
        detail: String,
        /// Seconds until trying again can succeed.
        retry_after_seconds: u64,
    },
    /// The caller's key was revoked after this process last found it live (a 401).
    #[error("the key is unknown or was revoked")]
    KeyRevoked,
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl DomainError {
    /// The stable code this error is answered with: the one place a domain error is named, for
    /// the HTTP answer ([`crate::error::ApiError`]), an import's row errors and a solver's refusals.
    pub fn code(&self) -> ProblemCode {
        match self {
            Self::NotFound { .. } => ProblemCode::NotFound,
            Self::Invalid(_) => ProblemCode::ValidationFailed,
            Self::LocalTime {
                error: TimeError::Ambiguous { .. },
                ..
            } => ProblemCode::AmbiguousLocalTime,
            Self::LocalTime { .. } => ProblemCode::NonexistentLocalTime,
            Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Forbidden { code, .. }
            | Self::TooMany { code, .. } => *code,
            Self::KeyRevoked => ProblemCode::Unauthorized,
            Self::Database(sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_)) => {
                ProblemCode::DatabaseUnavailable
            }
            Self::Database(_) => ProblemCode::InternalError,
        }
    }

    /// A not-found error for `what` with `id`.
    pub fn not_found(what: &'static str, id: i64) -> Self {
        Self::NotFound { what, id }
    }

    /// A conflict with a code, a sentence and optionally the field at fault.
    pub fn conflict(code: ProblemCode, detail: impl Into<String>, field: Option<&'static str>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
            field,
        }
    }

    /// Maps a database error, turning a unique-constraint violation (a race between two
    /// identical creates) into a conflict instead of a server error.
    pub fn from_db_unique(err: DbErr, code: ProblemCode, detail: &str, field: Option<&'static str>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::conflict(code, detail, field),
            _ => Self::Database(err),
        }
    }
}

/// The error for a field that names a row that does not exist, e.g. `school_id: 99`.
pub fn unknown_reference(field: &str, what: &str, id: i64) -> DomainError {
    DomainError::Invalid(vec![FieldError::new(field, format!("no {what} has id {id}"))])
}

impl From<Vec<FieldError>> for DomainError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::Invalid(errors)
    }
}

/// The result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;

/// Runs `work` in a write transaction (`BEGIN IMMEDIATE` on SQLite), again (up to three times)
/// if PostgreSQL aborted it to break a deadlock; the error of the last try is returned.
pub(crate) async fn in_write_txn<T, F>(db: &DatabaseConnection, work: F) -> DomainResult<T>
where
    F: for<'t> AsyncFn(&'t DatabaseTransaction) -> DomainResult<T>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let txn = begin_write(db).await?;
        let result = match work(&txn).await {
            Ok(value) => txn.commit().await.map(|()| value).map_err(DomainError::from),
            Err(err) => {
                txn.rollback().await.ok();
                Err(err)
            }
        };
        match result {
            Err(DomainError::Database(ref e)) if attempt < 3 && is_retryable(e) => {
                tracing::info!(attempt, "retrying a transaction PostgreSQL aborted to break a deadlock");
            }
            other => return other,
        }
    }
}

/// Escapes `%`, `_` and `\` in user text for a `LIKE … ESCAPE '\'` pattern, and wraps it in `%…%`.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A condition matching rows where any of `columns` contains `text`, ignoring case, on both
/// SQLite and PostgreSQL (`LOWER(col) LIKE '%text%' ESCAPE '\\'`).
pub fn text_search<C: ColumnTrait>(columns: &[C], text: &str) -> Condition {
    let pattern = like_pattern(text.trim());
    columns.iter().fold(Condition::any(), |any, column| {
        any.add(Expr::expr(Func::lower(Expr::col(*column))).like(LikeExpr::new(&pattern).escape('\\')))
    })
}

/// A condition matching rows where `column` equals `value`, ignoring case.
pub fn equals_ignoring_case<C: ColumnTrait>(column: C, value: &str) -> Condition {
    Condition::all().add(Expr::expr(Func::lower(Expr::col(column))).eq(value.trim().to_lowercase()))
}
