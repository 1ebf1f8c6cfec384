//! Convene's service: the REST API for organisers, and the rules behind it.
//!
//! Layers point one way: [`routes`] (thin HTTP handlers) → [`domain`] (rules, no actix types) →
//! the `entity` crate and sea-orm. Pure code ([`time`]) touches no database.
//!
//! Everything but [`wire`], [`problem_code`] and [`wording`] is the service itself, behind the
//! default `server` feature; those three are what a client (the Discord bot) shares with it.

// The service itself, built with the `server` feature (the default). Declared one by one, not by
// a macro: `list_schema!` and friends are `macro_export`ed from inside these modules.
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod cache;
#[cfg(feature = "server")]
pub mod charts;
#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod clock;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod demo;
#[cfg(feature = "server")]
pub mod domain;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod extract;
#[cfg(feature = "server")]
pub mod holidays;
#[cfg(feature = "server")]
pub mod ical;
#[cfg(feature = "server")]
pub mod mail;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod openapi;
#[cfg(feature = "server")]
pub mod pages;
#[cfg(feature = "server")]
pub mod protection;
#[cfg(feature = "server")]
pub mod routes;
#[cfg(feature = "server")]
pub mod solver;
#[cfg(feature = "server")]
pub mod spreadsheet;
#[cfg(feature = "server")]
pub mod startup;
#[cfg(feature = "server")]
pub mod state;
#[cfg(feature = "server")]
pub mod term_dates;
#[cfg(feature = "server")]
pub mod time;
#[cfg(feature = "server")]
pub mod worker;

pub mod problem_code;
pub mod wire;
pub mod wording;
