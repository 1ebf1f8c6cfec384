//! The wire types: what Convene's clients send and are answered, shared with them as Rust types
//! so that the bot and the service cannot drift apart.
//!
//! These build without the `server` feature (serde only; the OpenAPI derives and the schema
//! attributes that name [`crate::domain::contract`]'s types come with `server`), so the Discord bot
//! depends on `convene-api` with `default-features = false` and pulls in no actix-web, sea-orm,
//! sqlx or lettre. The service's own modules re-export each type where it belongs
//! (`domain::booking::Booking` is [`booking::Booking`]), so its code names them as before.
//! The states they carry are `entity::state`'s enums, which build without sea-orm too.

pub mod announcements;
pub mod booking;
pub mod discord;
pub mod feed;
pub mod link;
pub mod me;
pub mod notifications;
pub mod participant;
pub mod problem;
pub mod reflection;
pub mod survey;

pub use entity::state;

/// Serde helper for `PATCH` fields that may be cleared: absent is `None`, `null` is `Some(None)`,
/// a value is `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
