//! A participant's calendar feed address.

use serde::{Deserialize, Serialize};

/// A participant's feed URL.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct FeedToken {
    /// The secret in the URL; anyone holding it can read the feed.
    pub token: String,
    /// The URL to subscribe to in a calendar app.
    #[cfg_attr(
        feature = "server",
        schema(example = "https://convene.example.org/ical/p/3q2-7wEXAMPLEtoken.ics")
    )]
    pub url: String,
}
