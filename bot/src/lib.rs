//! Convene's Discord bot: a client of the Convene HTTP API (a bot key plus `X-Discord-User`),
//! never of the database. The command core ([`core`]) is plain async functions over a client
//! trait ([`api::ConveneApi`]); Discord ([`discord`]) and the console ([`console`]) are thin
//! adapters over it.

pub mod action;
pub mod api;
pub mod config;
pub mod console;
pub mod core;
pub mod discord;
pub mod guild;
