//! End-to-end tests of the HTTP API: each test starts the real app on a fresh database (SQLite,
//! and PostgreSQL too when `TEST_DATABASE_URL` is set) and talks HTTP to it.

mod audit;
mod bookings;
mod browser;
mod calendars;
mod cli;
mod closures;
mod cohorts;
mod concurrency;
mod console;
mod console_admin;
mod console_browser;
mod console_cohorts;
mod console_pages;
mod errors;
mod events;
mod health;
mod hostile;
mod imports;
mod insight;
mod insight_browser;
mod instances;
mod me;
mod notifications;
mod participant_pages;
mod participants;
mod personal_data;
mod programmes;
mod protection;
mod reflections;
mod schemathesis;
mod schools;
mod sessions;
mod shutdown;
mod survey_charts;
mod surveys;
