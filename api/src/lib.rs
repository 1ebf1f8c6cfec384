//! Convene's service: the REST API for organisers, and the rules behind it.
//!
//! Layers point one way: [`routes`] (thin HTTP handlers) → [`domain`] (rules, no actix types) →
//! the `entity` crate and sea-orm. Pure code ([`time`]) touches no database.

pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod extract;
pub mod ical;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod problem_code;
pub mod protection;
pub mod routes;
pub mod solver;
pub mod spreadsheet;
pub mod startup;
pub mod state;
pub mod term_dates;
pub mod time;
pub mod wording;
pub mod worker;
