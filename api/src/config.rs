//! Configuration: defaults, then an optional `convene.toml`, then environment variables
//! prefixed `CONVENE_` (e.g. `CONVENE_BIND`, `CONVENE_DATABASE_URL`). Secrets are never logged:
//! [`Settings`]'s `Debug` hides the database password.

use std::fmt;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::db::Backend;

/// The file read when it exists (or the one `--config` names).
pub const DEFAULT_CONFIG_FILE: &str = "convene.toml";

/// The database connections the notifications worker uses: it claims, reads, writes sequences
/// and marks one statement after another, and renews its leases beside them. Here, beside the
/// rest of an instance's connection budget ([`Settings::background_pool_size`]).
pub const WORKER_CONNECTIONS: u32 = 3;

/// Everything the service can be told.
#[derive(Clone, Deserialize, Serialize)]
pub struct Settings {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free one).
    pub bind: String,
    /// `sqlite://convene.db` (the default: created and migrated on start) or `postgres://…`.
    pub database_url: String,
    /// The URL people reach the service at, used in links and feed URLs (default `http://<bind>`).
    pub public_url: Option<String>,
    /// Database pool size for requests (default on PostgreSQL 4 per core, from 8 to 32; 8 on SQLite).
    pub db_pool: Option<u32>,
    /// The log filter, e.g. `info` or `convene_api=debug` (`RUST_LOG` wins when set).
    pub log: String,
    /// The address mail comes from and calendars name as `ORGANIZER` (default `convene@<public host>`).
    pub mail_from: Option<String>,
    /// The name shown with that address.
    pub mail_from_name: String,
    /// Send mail through this SMTP server: `smtp://host:port` (plain), `smtp://…?tls=required`
    /// (STARTTLS), `smtps://user:pass@host` (TLS). When unset, mail is written to `mail_dir`.
    pub smtp_url: Option<String>,
    /// The folder `.eml` files are written to when no SMTP server is set.
    pub mail_dir: String,
    /// Whether `serve` also runs the notifications worker (`convene-api worker` runs it alone).
    pub worker: bool,
    /// Tries before a message is declared dead.
    pub mail_max_attempts: u32,
    /// The first retry's delay in milliseconds; each later one doubles it (with jitter), up to an hour.
    pub mail_retry_base_ms: u64,
    /// How long a worker's claim on a batch holds unless renewed; a worker renews its leases every
    /// third of this while it sends, so this is how soon the messages of a worker that died (or
    /// cannot reach the database to renew) are claimed by another, which may then send one that
    /// was already sent: delivery is at least once.
    pub mail_lease_seconds: u64,
    /// Requests a minute each client IP may make to the routes that need no key (calendar feeds,
    /// survey forms, participant pages, Discord link codes); `0` turns the limit off.
    pub rate_limit: u32,
    /// The largest JSON request body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// The largest upload accepted (CSV and calendar imports, survey forms), in bytes.
    pub upload_limit_bytes: usize,
    /// Origins allowed to call the API from a browser, comma-separated
    /// (`https://a.example.org,https://b.example.org`, or `*` for any); empty turns CORS off.
    pub cors_origins: String,
    /// Days after which survey responses and reflections are detached from their person by the
    /// worker's sweep; `0` keeps them linked for ever.
    pub retention_days: u32,
    /// On SIGTERM or Ctrl-C, how long requests in flight get to finish before the server closes.
    pub shutdown_timeout_seconds: u64,
    /// The most bytes the response cache (feeds, the public events list) holds, keys included.
    pub response_cache_bytes: usize,
    /// The most entries the response cache holds.
    pub response_cache_entries: usize,
    /// Requests a minute a bot key may make for one Discord user (`X-Discord-User`); `0` turns
    /// the limit off.
    pub bot_user_rate_limit: u32,
    /// Requests a minute one bot key may make in all; `0` turns the limit off.
    pub bot_key_rate_limit: u32,
}

/// The HTTP worker threads a server runs: one per core.
pub fn http_workers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".to_owned(),
            database_url: "sqlite://convene.db".to_owned(),
            public_url: None,
            db_pool: None,
            log: "info".to_owned(),
            mail_from: None,
            mail_from_name: "Convene".to_owned(),
            smtp_url: None,
            mail_dir: "mail-outbox".to_owned(),
            worker: true,
            mail_max_attempts: 8,
            mail_retry_base_ms: 30_000,
            mail_lease_seconds: 120,
            rate_limit: 120,
            json_limit_bytes: 256 * 1024,
            upload_limit_bytes: 8 * 1024 * 1024,
            cors_origins: String::new(),
            retention_days: 0,
            shutdown_timeout_seconds: 30,
            response_cache_bytes: crate::cache::MAX_BYTES,
            response_cache_entries: crate::cache::MAX_ENTRIES,
            bot_user_rate_limit: 120,
            bot_key_rate_limit: 6000,
        }
    }
}

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be parsed.
    #[error("configuration: {0}")]
    Parse(String),
    /// A value is out of range or of the wrong form.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads defaults, then `file` (or `convene.toml` if it exists), then `CONVENE_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::Invalid(format!(
                        "the file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        let settings: Settings = figment
            .merge(Env::prefixed("CONVENE_"))
            .extract()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks values that parse but make no sense.
    pub fn check(&self) -> Result<(), ConfigError> {
        if Backend::of_url(&self.database_url).is_none() {
            return Err(ConfigError::Invalid(
                "CONVENE_DATABASE_URL must start with sqlite:// (a file) or postgres:// (a server)".to_owned(),
            ));
        }
        if self.db_pool == Some(0) {
            return Err(ConfigError::Invalid("CONVENE_DB_POOL must be at least 1".to_owned()));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(
                "CONVENE_PUBLIC_URL must start with http:// or https://".to_owned(),
            ));
        }
        if Backend::of_url(&self.database_url) == Some(Backend::Postgres)
            && url::Url::parse(&self.database_url).is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "CONVENE_DATABASE_URL is not a valid URL ({}); a password holding @, : or / must be written %40, %3A, %2F",
                redact_url(&self.database_url)
            )));
        }
        if let Some(url) = &self.smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(ConfigError::Invalid(
                "CONVENE_SMTP_URL must start with smtp:// or smtps://".to_owned(),
            ));
        }
        if self.mail_lease_seconds < 2 {
            return Err(ConfigError::Invalid(
                "CONVENE_MAIL_LEASE_SECONDS must be at least 2".to_owned(),
            ));
        }
        if self.mail_max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "CONVENE_MAIL_MAX_ATTEMPTS must be at least 1".to_owned(),
            ));
        }
        if self.json_limit_bytes < 1024 || self.upload_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "CONVENE_JSON_LIMIT_BYTES and CONVENE_UPLOAD_LIMIT_BYTES must be at least 1024".to_owned(),
            ));
        }
        if self.response_cache_entries == 0 {
            return Err(ConfigError::Invalid(
                "CONVENE_RESPONSE_CACHE_ENTRIES must be at least 1".to_owned(),
            ));
        }
        for origin in self.cors_origins() {
            let ok = origin == "*"
                || origin.split_once("://").is_some_and(|(scheme, rest)| {
                    matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains(['/', ' '])
                });
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "CONVENE_CORS_ORIGINS lists origins like https://network.example.org (no path), or *; not {origin:?}"
                )));
            }
        }
        if let Some(from) = &self.mail_from
            && !looks_like_email(from)
        {
            return Err(ConfigError::Invalid(format!(
                "CONVENE_MAIL_FROM must be an email address like convene@example.org, not {from:?}"
            )));
        }
        Ok(())
    }

    /// The origins of `cors_origins`, trimmed; empty when CORS is off.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The organiser address: as configured, else `convene@<host of the public URL>`.
    pub fn mail_from_for(&self, public_url: &str) -> String {
        match &self.mail_from {
            Some(from) => from.trim().to_owned(),
            None => format!("convene@{}", host_of(public_url)),
        }
    }

    /// The pool size for requests: as configured, else on PostgreSQL 4 connections per HTTP worker
    /// thread (one per core), from 8 to 32, and 8 on SQLite. More connections than the server has
    /// cores to run them only queue at the server instead of in the pool, where waiting costs
    /// nothing: on this project's 2-core machine, 32 connections booked at 0.55x–0.6x of the SQL
    /// baseline with 32 clients, 4 to 8 at 0.6x–0.9x (median 0.75x), p99 26–38 ms instead of 45
    /// (README, "Performance").
    pub fn pool_size(&self) -> u32 {
        self.db_pool.unwrap_or(match Backend::of_url(&self.database_url) {
            Some(Backend::Postgres) => u32::try_from(4 * http_workers()).unwrap_or(32).clamp(8, 32),
            _ => 8,
        })
    }

    /// The size of the pool for background work (the notifications worker, start-up, the CLI)
    /// and, on SQLite, for requests too. On PostgreSQL the worker's few connections
    /// ([`WORKER_CONNECTIONS`]) and one more: it works a statement at a time for a whole
    /// batch, so more would only let it compete with requests for the server's cores. With the
    /// request pools ([`Settings::pool_size`], 8 by default) an instance of `serve` opens at
    /// most 12 connections, and two fit PostgreSQL's default `max_connections` (100) with room.
    pub fn background_pool_size(&self) -> u32 {
        match Backend::of_url(&self.database_url) {
            Some(Backend::Postgres) => WORKER_CONNECTIONS + 1,
            _ => self.pool_size(),
        }
    }

    /// The public URL without a trailing slash, given the address actually bound (or, for a
    /// process that binds nothing, the configured `bind`).
    pub fn public_url_for(&self, bound: impl fmt::Display) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

/// The host of a URL, without scheme, port or path: `https://convene.example.org:8443/x` gives
/// `convene.example.org`. Calendar `UID`s end in it.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    if host.is_empty() {
        "localhost".to_owned()
    } else {
        host.to_ascii_lowercase()
    }
}

fn looks_like_email(text: &str) -> bool {
    let text = text.trim();
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !text.contains([' ', '<', '>', ',', ';'])
    })
}

/// A database or SMTP URL fit for logs and messages: the password of its user info and the
/// value of any query parameter whose name contains `password` (`?password=`, `?sslpassword=`)
/// become `***`. The URL is parsed, not searched, so a password holding `@` or `:` is hidden
/// whole; a URL that does not parse is shown as its scheme alone.
pub fn redact_url(url: &str) -> String {
    const HIDDEN: &str = "***";
    let Ok(mut parsed) = url::Url::parse(url) else {
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        return format!("{scheme}://{HIDDEN} (not a valid URL)");
    };
    if parsed.password().is_some() && parsed.set_password(Some(HIDDEN)).is_err() {
        return format!("{}://{HIDDEN}", parsed.scheme());
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let secret = name.to_ascii_lowercase().contains("password");
                let value = if secret { HIDDEN.to_owned() } else { value.into_owned() };
                (name.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // `Url` escapes what it rewrites; show the stars as stars.
    parsed.to_string().replace("%2A%2A%2A", HIDDEN)
}

/// `text` (an error message, say) with every secret of `url` hidden: the URL itself wherever it
/// appears whole, and its password and `password` query values wherever they appear alone.
pub fn hide_url_secrets(text: &str, url: &str) -> String {
    let mut text = text.replace(url, &redact_url(url));
    if let Ok(parsed) = url::Url::parse(url) {
        let mut secrets: Vec<String> = parsed
            .query_pairs()
            .filter(|(name, _)| name.to_ascii_lowercase().contains("password"))
            .map(|(_, value)| value.into_owned())
            .collect();
        if let Some(password) = parsed.password() {
            secrets.push(password.to_owned());
            if let Ok(decoded) = percent_decode(password) {
                secrets.push(decoded);
            }
        }
        for secret in secrets.iter().filter(|s| s.len() >= 3) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}

/// Decodes `%XX` escapes (a URL's password is kept escaped).
fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("db_pool", &self.db_pool)
            .field("log", &self.log)
            .field("mail_from", &self.mail_from)
            .field("mail_from_name", &self.mail_from_name)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_dir", &self.mail_dir)
            .field("worker", &self.worker)
            .field("mail_max_attempts", &self.mail_max_attempts)
            .field("mail_retry_base_ms", &self.mail_retry_base_ms)
            .field("mail_lease_seconds", &self.mail_lease_seconds)
            .field("rate_limit", &self.rate_limit)
            .field("json_limit_bytes", &self.json_limit_bytes)
            .field("upload_limit_bytes", &self.upload_limit_bytes)
            .field("cors_origins", &self.cors_origins)
            .field("retention_days", &self.retention_days)
            .field("shutdown_timeout_seconds", &self.shutdown_timeout_seconds)
            .field("response_cache_bytes", &self.response_cache_bytes)
            .field("response_cache_entries", &self.response_cache_entries)
            .field("bot_user_rate_limit", &self.bot_user_rate_limit)
            .field("bot_key_rate_limit", &self.bot_key_rate_limit)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_a_url_drops_scheme_port_path_and_userinfo() {
        assert_eq!(host_of("https://Convene.Example.org:8443/x?y"), "convene.example.org");
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("http://u:p@[::1]:80/"), "[::1]");
        assert_eq!(host_of("http://"), "localhost");
    }

    #[test]
    fn the_default_pool_is_four_connections_per_http_worker_on_postgresql_and_eight_on_sqlite_and_background_work_keeps_a_few()
     {
        let on = |url: &str, db_pool| Settings {
            database_url: url.into(),
            db_pool,
            ..Settings::default()
        };
        let postgres = on("postgres://u@h/d", None);
        assert_eq!(postgres.pool_size(), (4 * http_workers() as u32).clamp(8, 32));
        // The worker's few connections and one for start-up, whatever the requests get.
        assert_eq!(postgres.background_pool_size(), WORKER_CONNECTIONS + 1);
        let sqlite = on("sqlite://convene.db", None);
        assert_eq!((sqlite.pool_size(), sqlite.background_pool_size()), (8, 8));
        assert_eq!(on("postgres://u@h/d", Some(50)).pool_size(), 50);
        assert_eq!(
            on("postgres://u@h/d", Some(50)).background_pool_size(),
            WORKER_CONNECTIONS + 1
        );
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        for (url, shown) in [
            (
                "postgres://convene@host/db?password=s3cretPW",
                "postgres://convene@host/db?password=***",
            ),
            (
                "postgres://convene:p@ss-s3cret@host/db",
                "postgres://convene:***@host/db",
            ),
            (
                "postgres://convene@host/db?sslmode=require&PassWord=s3cretPW&sslpassword=s3cretPW",
                "postgres://convene@host/db?sslmode=require&PassWord=***&sslpassword=***",
            ),
            (
                "smtps://mailer:s3cret%40x@smtp.example.org:465",
                "smtps://mailer:***@smtp.example.org:465",
            ),
            (
                "smtp://smtp.example.org:25?tls=required",
                "smtp://smtp.example.org:25?tls=required",
            ),
            ("postgres://convene:s3cret@[bad/db", "postgres://*** (not a valid URL)"),
        ] {
            assert_eq!(redact_url(url), shown);
        }
        assert_eq!(
            redact_url("postgres://convene:s3cret@db:5432/convene"),
            "postgres://convene:***@db:5432/convene"
        );
        assert_eq!(redact_url("sqlite://convene.db"), "sqlite://convene.db");
        let settings = Settings {
            database_url: "postgres://u:s3cret@h/d".into(),
            ..Settings::default()
        };
        assert!(!format!("{settings:?}").contains("s3cret"));
    }
}
