//! Cursor pagination shared by every list: ascending by id, `limit` rows, an opaque URL-safe cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::{FieldError, Validator};

/// The number of rows a list gives when no `limit` is asked for.
pub const DEFAULT_LIMIT: u64 = 50;
/// The most rows one page gives; larger limits are clamped to this.
pub const MAX_LIMIT: u64 = 500;

/// Which page of a list to read: rows after the cursor's id, at most `limit` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to return, 1 to [`MAX_LIMIT`].
    pub limit: u64,
    /// Only rows with an id greater than this.
    pub after: Option<i64>,
}

impl PageRequest {
    /// Reads `?limit=&cursor=`: no limit gives [`DEFAULT_LIMIT`], a limit over [`MAX_LIMIT`] is clamped,
    /// a limit under 1 or a cursor this service did not make is refused.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut v = Validator::new();
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if n < 1 => {
                v.fail("limit", "must be at least 1");
                DEFAULT_LIMIT
            }
            Some(n) => u64::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
        };
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => match decode_cursor(c) {
                Some(id) => Some(id),
                None => {
                    v.fail(
                        "cursor",
                        "is not a cursor from this list: pass next_cursor as it was given",
                    );
                    None
                }
            },
        };
        v.finish()?;
        Ok(Self { limit, after })
    }
}

/// One page of a list and the cursor of the next, if there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The rows, ascending by id.
    pub items: Vec<T>,
    /// The cursor of the next page, or `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Converts the rows, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Encodes a row id as an opaque, URL-safe cursor.
pub fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix("id:")?.parse().ok()
}

/// Runs `select` (with its filters already applied) for one page, ordered by `id_column`.
pub async fn fetch_page<E, C>(
    db: &C,
    select: Select<E>,
    id_column: E::Column,
    id_of: impl Fn(&E::Model) -> i64,
    page: PageRequest,
) -> Result<Page<E::Model>, sea_orm::DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut select = select.order_by_asc(id_column).limit(page.limit + 1);
    if let Some(after) = page.after {
        select = select.filter(id_column.gt(after));
    }
    let mut items = select.all(db).await?;
    let next_cursor = if items.len() as u64 > page.limit {
        items.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        items.last().map(|m| encode_cursor(id_of(m)))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_url_safe() {
        for id in [1, 42, i64::MAX] {
            let c = encode_cursor(id);
            assert!(c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
            assert_eq!(decode_cursor(&c), Some(id));
        }
        assert_eq!(decode_cursor("not a cursor"), None);
    }

    #[test]
    fn limits_default_clamp_and_refuse_zero() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(PageRequest::parse(Some(10_000), None).unwrap().limit, MAX_LIMIT);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(None, Some("zzz")).is_err());
    }
}
