//! The Discord bot end to end: its command core against the real API, the console mode driven
//! through a pipe, and the Discord side against a local fake Discord (no internet, no token).

mod console;
mod core;
mod discord;
mod fake_discord;
mod guild;
