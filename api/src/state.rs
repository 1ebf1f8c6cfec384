//! What every handler can reach: the application's state, built once at start-up
//! ([`crate::startup`]) and given to each HTTP worker thread.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::cache::ResponseCache;
use crate::clock::Clock;
use crate::domain::feed::FeedSite;
use crate::domain::keys::KeyCache;
use crate::domain::sign_in::SignInRequests;
use crate::metrics::Metrics;
use crate::protection::BotLimits;
use crate::worker::RequestLoad;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The URL people reach the service at, without a trailing slash.
    pub public_url: String,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// What feeds and invitations say about the service (host for `UID`s, `ORGANIZER`).
    pub site: FeedSite,
    /// Rendered feeds, dropped after every write.
    pub feeds: Arc<ResponseCache>,
    /// Wakes this process's notifications worker after a write (it also polls).
    pub wake: Arc<Notify>,
    /// Organiser keys found live, for bookings (see `auth::OrganiserToCheck`).
    pub keys: Arc<KeyCache>,
    /// Requests being answered now, which the notifications worker gives way to.
    pub load: Arc<RequestLoad>,
    /// The limits on requests with a bot key, checked once the key is.
    pub bot_limits: BotLimits,
    /// Sign-in requests from the pages, carried out after they are answered.
    pub sign_in: SignInRequests,
    /// The clock every request reads its time from, once (see [`crate::clock::Now`]).
    pub clock: Clock,
}
