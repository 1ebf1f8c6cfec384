//! The bot's settings, from the environment. A missing or malformed setting is reported by
//! name, with where to get it, all at once.

use std::time::Duration;

/// Where the API is when `CONVENE_API_URL` is not set: `convene-api serve`'s default address.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8080";

/// How long the bot holds notifications it takes to send when `CONVENE_BOT_LEASE_SECONDS` is not set.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// What the console needs: the API and a bot key.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// `CONVENE_API_URL`.
    pub api_url: String,
    /// `CONVENE_BOT_KEY`.
    pub bot_key: String,
}

/// What the Discord bot needs.
#[derive(Clone, Debug)]
pub struct DiscordSettings {
    /// `CONVENE_API_URL`.
    pub api_url: String,
    /// `CONVENE_BOT_KEY`.
    pub bot_key: String,
    /// `DISCORD_TOKEN`.
    pub token: String,
    /// `DISCORD_GUILD_ID`: register commands in this server only (instantly) instead of globally,
    /// and mirror each published conference and SLP session there as a scheduled event.
    pub guild_id: Option<u64>,
    /// `DISCORD_ANNOUNCE_CHANNEL_ID`: post announcements and newly published conference and SLP
    /// sessions to this channel, each with a "Book" button; unset, nothing is posted.
    pub announce_channel_id: Option<u64>,
    /// `CONVENE_BOT_POLL_MS`: how often to ask the API for notifications to send (default 5 s).
    pub poll: Duration,
    /// `CONVENE_BOT_LEASE_SECONDS`: how long the bot holds the notifications it takes to send
    /// before the API offers them again (default 120; 10 to 600, as the API allows).
    pub lease: Duration,
    /// `CONVENE_DISCORD_PROXY`: send Discord's HTTP requests to this base URL instead (a
    /// rate-limiting proxy, or the tests' fake Discord).
    pub discord_proxy: Option<String>,
}

/// The settings that are missing or wrong, each as a line saying how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("convene-bot cannot start:\n{}", .0.join("\n"))]
pub struct SettingsError(pub Vec<String>);

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn api(problems: &mut Vec<String>) -> ApiSettings {
    let api_url = var("CONVENE_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
        problems.push(format!(
            "  CONVENE_API_URL must be the API's http:// or https:// address (it is {api_url:?})"
        ));
    }
    let bot_key = var("CONVENE_BOT_KEY").unwrap_or_else(|| {
        problems.push(
            "  CONVENE_BOT_KEY is not set: make a bot key with `convene-api keys create --name discord-bot --role bot`"
                .to_owned(),
        );
        String::new()
    });
    ApiSettings { api_url, bot_key }
}

/// The duration setting `name`, a whole number of `unit`s within `allowed` (`expected` says so in
/// words); a malformed one is added to `problems`, and the caller's default stands in for it.
fn duration(
    problems: &mut Vec<String>,
    name: &str,
    expected: &str,
    allowed: std::ops::RangeInclusive<u64>,
    unit: fn(u64) -> Duration,
) -> Option<Duration> {
    let given = var(name)?;
    match given.parse::<u64>() {
        Ok(n) if allowed.contains(&n) => Some(unit(n)),
        _ => {
            problems.push(format!("  {name} must be {expected}, not {given:?}"));
            None
        }
    }
}

/// The console's settings.
pub fn console() -> Result<ApiSettings, SettingsError> {
    let mut problems = Vec::new();
    let settings = api(&mut problems);
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(SettingsError(problems))
    }
}

/// The Discord bot's settings.
pub fn discord() -> Result<DiscordSettings, SettingsError> {
    let mut problems = Vec::new();
    let ApiSettings { api_url, bot_key } = api(&mut problems);
    let token = var("DISCORD_TOKEN").unwrap_or_else(|| {
        problems.push(
            "  DISCORD_TOKEN is not set: copy the bot's token from https://discord.com/developers/applications (Bot → Reset Token); \
             or try the bot without Discord: convene-bot --console --as <discord id>"
                .to_owned(),
        );
        String::new()
    });
    let guild_id = var("DISCORD_GUILD_ID").and_then(|g| match g.parse::<u64>() {
        Ok(id) if id > 0 => Some(id),
        _ => {
            problems.push(format!("  DISCORD_GUILD_ID must be a server id (digits), not {g:?}"));
            None
        }
    });
    let announce_channel_id = var("DISCORD_ANNOUNCE_CHANNEL_ID").and_then(|c| match c.parse::<u64>() {
        Ok(id) if id > 0 => Some(id),
        _ => {
            problems.push(format!(
                "  DISCORD_ANNOUNCE_CHANNEL_ID must be a channel id (digits; in Discord, right-click the channel → Copy Channel ID), not {c:?}"
            ));
            None
        }
    });
    let poll = duration(
        &mut problems,
        "CONVENE_BOT_POLL_MS",
        "milliseconds, at least 10",
        10..=u64::MAX,
        Duration::from_millis,
    )
    .unwrap_or(Duration::from_secs(5));
    let lease = duration(
        &mut problems,
        "CONVENE_BOT_LEASE_SECONDS",
        "seconds, from 10 to 600",
        10..=600,
        Duration::from_secs,
    )
    .unwrap_or(DEFAULT_LEASE);
    if problems.is_empty() {
        Ok(DiscordSettings {
            api_url,
            bot_key,
            token,
            guild_id,
            announce_channel_id,
            poll,
            lease,
            discord_proxy: var("CONVENE_DISCORD_PROXY"),
        })
    } else {
        Err(SettingsError(problems))
    }
}
