//! The command line: `serve` (the default), `migrate`, `keys create|list|revoke`.
//! Everything prints to the writer it is given, so tests run the real commands in-process.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use sea_orm::DatabaseConnection;
use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, Settings, redact_url};
use crate::domain::keys::{self, KeyRole};
use crate::domain::{DomainError, FieldError};
use crate::startup::{Application, StartError};
use crate::{db, time};

/// Convene: scheduling for school-improvement networks.
#[derive(Debug, Parser)]
#[command(name = "convene-api", version, about, long_about = None)]
pub struct Cli {
    /// A TOML file of settings (default: ./convene.toml if it exists). Environment variables
    /// prefixed CONVENE_ override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve the API (the default). On a database with no keys, makes
    /// one organiser key and prints it.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run only the notifications worker: send due email from the outbox until stopped (SIGTERM
    /// or Ctrl-C finish the message in hand and give back the rest).
    Worker,
    /// Manage API keys.
    Keys {
        /// What to do with keys.
        #[command(subcommand)]
        action: KeysCommand,
    },
}

/// The `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key; it is printed once, alone on the last line, and only its hash is stored.
    Create {
        /// A name to recognise it by (unique), e.g. "north-west-organisers".
        #[arg(long)]
        name: String,
        /// What the key may do.
        #[arg(long, value_enum, default_value_t = RoleArg::Organiser)]
        role: RoleArg,
    },
    /// List keys (names, roles, dates; never the keys themselves).
    List,
    /// Revoke a key by name; requests with it are refused from then on.
    Revoke {
        /// The key's name.
        name: String,
    },
}

/// A key's role, as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Manages the network through /v1.
    Organiser,
    /// The Discord bot.
    Bot,
}

impl From<RoleArg> for KeyRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Organiser => KeyRole::Organiser,
            RoleArg::Bot => KeyRole::Bot,
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Settings could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The service could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A rule refused the command.
    #[error("{0}")]
    Refused(String),
    /// Output could not be written.
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

impl From<DomainError> for CliError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Database(db) => Self::Database(db),
            DomainError::Invalid(errors) => Self::Refused(
                errors
                    .iter()
                    .map(|FieldError { field, message }| format!("{field} {message}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => Self::Refused(other.to_string()),
        }
    }
}

/// Starts logging to stderr: `RUST_LOG` if set, else the configured filter.
fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            EnvFilter::try_new(format!(
                "{},sqlx=warn,sea_orm=warn,sea_orm_migration=warn",
                settings.log
            ))
        })
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Connects and migrates, for commands that need the database.
async fn open(settings: &Settings) -> Result<DatabaseConnection, CliError> {
    let db = db::connect(&settings.database_url, settings.pool_size()).await?;
    db::migrate(&db, &settings.database_url).await?;
    Ok(db)
}

/// Runs a parsed command line as the `convene-api` binary does: logging to stderr, output to `out`.
pub async fn main(cli: Cli, out: &mut impl Write) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref())?;
    init_logging(&settings);
    execute(&settings, cli.command, out).await
}

/// Runs a parsed command line, printing to `out`, without touching the process's logging.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref())?;
    execute(&settings, cli.command, out).await
}

async fn execute(settings: &Settings, command: Option<Command>, out: &mut impl Write) -> Result<(), CliError> {
    let settings = settings.clone();
    match command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&settings, out).await,
        Command::Migrate => {
            open(&settings).await?;
            writeln!(out, "migrated {}", redact_url(&settings.database_url))?;
            Ok(())
        }
        Command::Worker => worker(&settings, out).await,
        Command::Keys { action } => {
            let db = open(&settings).await?;
            keys_command(&db, action, out).await
        }
    }
}

/// The name of the key made on a first start.
pub const FIRST_KEY_NAME: &str = "first-organiser-key";

/// Serves; on a database without keys, first makes an organiser key and prints it with the URL.
async fn serve(settings: &Settings, out: &mut impl Write) -> Result<(), CliError> {
    tracing::info!(?settings, "starting");
    let app = Application::build(settings).await?;
    let url = app.public_url().to_owned();
    writeln!(out, "Convene is listening on {url} (API documentation: {url}/docs)")?;
    if let Some(secret) = first_key(app.db()).await? {
        writeln!(
            out,
            "This database had no API keys, so an organiser key named '{FIRST_KEY_NAME}' was made."
        )?;
        writeln!(out, "It is shown only this once; try it with:")?;
        writeln!(out, "    curl -H 'Authorization: Bearer {secret}' {url}/v1/schools")?;
        writeln!(out, "{secret}")?;
    }
    out.flush()?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn worker(settings: &Settings, out: &mut impl Write) -> Result<(), CliError> {
    let db = open(settings).await?;
    let public_url = settings.public_url_for(&settings.bind);
    let site = crate::startup::feed_site(settings, &public_url);
    let worker = crate::worker::Worker::new(db, settings, site, std::sync::Arc::new(tokio::sync::Notify::new()))
        .map_err(|e| CliError::Start(StartError::Mail(e)))?;
    writeln!(
        out,
        "Convene's notifications worker is sending to {}",
        worker.describe()
    )?;
    out.flush()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    worker.run(stopped).await;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Makes the first organiser key if no key exists; `None` if one did (or another instance starting
/// at the same moment made it first).
pub async fn first_key(db: &DatabaseConnection) -> Result<Option<String>, CliError> {
    if !keys::none_exist(db).await? {
        return Ok(None);
    }
    match keys::create(db, FIRST_KEY_NAME, KeyRole::Organiser).await {
        Ok(new) => Ok(Some(new.secret)),
        Err(DomainError::Conflict { .. }) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

async fn keys_command(db: &DatabaseConnection, action: KeysCommand, out: &mut impl Write) -> Result<(), CliError> {
    match action {
        KeysCommand::Create { name, role } => {
            let new = keys::create(db, &name, role.into()).await?;
            writeln!(
                out,
                "Made the {} key '{}'. It is shown only this once:",
                new.key.role.as_str(),
                new.key.name
            )?;
            writeln!(out, "{}", new.secret)?;
        }
        KeysCommand::List => {
            writeln!(out, "{:<32} {:<10} {:<22} STATE", "NAME", "ROLE", "CREATED")?;
            for key in keys::list(db).await? {
                let state = match key.revoked_at {
                    Some(at) => format!("revoked {}", time::format_utc(at)),
                    None => "active".to_owned(),
                };
                writeln!(
                    out,
                    "{:<32} {:<10} {:<22} {}",
                    key.name,
                    key.role,
                    time::format_utc(key.created_at),
                    state
                )?;
            }
        }
        KeysCommand::Revoke { name } => {
            keys::revoke(db, &name).await?;
            writeln!(out, "Revoked the key '{name}'.")?;
        }
    }
    Ok(())
}
