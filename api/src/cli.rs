//! The command line: `serve` (the default), `migrate`, `worker`, `keys create|list|revoke`, and
//! `solve triads|visits` (the triad solvers on a JSON file, no database).
//! Everything prints to the writer it is given, so tests run the real commands in-process.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use sea_orm::DatabaseConnection;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

use crate::clock::Clock;
use crate::config::{ConfigError, Settings, redact_url};
use crate::domain::audit::{Actor, Change};
use crate::domain::keys::{self, KeyRole};
use crate::domain::sign_in;
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
    Serve {
        /// On an empty database, first fill it with the demo network (as `demo` does).
        #[arg(long)]
        demo: bool,
    },
    /// Fill an empty database with a small demo network (24 schools, people, a conference, SLP
    /// sessions, a triad cohort with scheduled visits, a survey with answers), print an organiser
    /// key and URLs to try, and exit. Safe while `serve` runs.
    Demo,
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
    /// Manage the organisers who sign in to the organiser console (`/o`).
    Organisers {
        /// What to do.
        #[command(subcommand)]
        action: OrganisersCommand,
    },
    /// Run a triad solver on a JSON file and print its answer as JSON on stdout (logs go to
    /// stderr). Needs no database. An infeasible instance prints {"infeasible": rule, "detail"}
    /// and exits with status 1.
    Solve {
        /// Which solver.
        #[command(subcommand)]
        problem: SolveCommand,
    },
}

/// The `solve` subcommands.
#[derive(Debug, Subcommand)]
pub enum SolveCommand {
    /// Form a cohort's schools into triads (quads where the numbers force it). Input:
    /// {"schools": [{"id", "local_authority", "phase", "strengths", "priorities"}], "options":
    /// {"allow_mixed_phase", "pinned", "forbidden_pairs"}}.
    Triads(SolveArgs),
    /// Date each triad's visits and give each a facilitator. Input: {"triads", "window":
    /// {"start", "end"}, "weekdays", "min_days_between_visits", "closures", "facilitators"}.
    Visits(SolveArgs),
}

/// How a solver runs.
#[derive(Debug, clap::Args)]
pub struct SolveArgs {
    /// The JSON input file (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// The seed of the solver's random choices: the same seed and budget give the same answer.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The iteration budget (default: chosen from the instance's size, under a second for 600
    /// schools in a release build).
    #[arg(long, value_name = "N")]
    pub iterations: Option<u64>,
    /// A cap on the time spent; reaching it stops the search with the best answer so far.
    #[arg(long, value_name = "N")]
    pub time_limit_ms: Option<u64>,
}

/// The `organisers` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrganisersCommand {
    /// Make someone an organiser (adding them to the network if they are not in it) and print a
    /// link that signs them in to the console, alone on the last line: it works once, for 30
    /// minutes. Later they ask for links at /o/sign-in with their address.
    Invite {
        /// Their email address.
        #[arg(long)]
        email: String,
        /// Their name (used when they are new to the network).
        #[arg(long)]
        name: String,
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
    /// A solver's input could not be read or understood.
    #[error("{0}")]
    Input(String),
    /// A solver found the instance infeasible (the JSON saying why went to the output).
    #[error(transparent)]
    Infeasible(#[from] crate::solver::Infeasible),
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
    // Beside the log, sqlx's reports of taking pooled connections (at TRACE, which the log's
    // filter leaves out) feed `/metrics`.
    let waits = tracing_subscriber::filter::Targets::new()
        .with_target(crate::metrics::POOL_ACQUIRE_TARGET, tracing::Level::TRACE);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .with(crate::metrics::PoolWaitLayer.with_filter(waits))
        .try_init();
}

/// Connects and migrates, for commands that need the database.
async fn open(settings: &Settings) -> Result<DatabaseConnection, CliError> {
    let db = db::connect(&settings.database_url, settings.background_pool_size()).await?;
    db::migrate(&db, &settings.database_url).await?;
    Ok(db)
}

/// Runs a parsed command line as the `convene-api` binary does: logging to stderr, output to `out`.
pub async fn main(cli: Cli, out: &mut impl Write) -> Result<(), CliError> {
    if let Some(Command::Solve { problem }) = cli.command {
        return solve(problem, out);
    }
    let settings = Settings::load(cli.config.as_deref())?;
    init_logging(&settings);
    execute(&settings, cli.command, out).await
}

/// Runs a parsed command line, printing to `out`, without touching the process's logging.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<(), CliError> {
    if let Some(Command::Solve { problem }) = cli.command {
        return solve(problem, out);
    }
    let settings = Settings::load(cli.config.as_deref())?;
    execute(&settings, cli.command, out).await
}

async fn execute(settings: &Settings, command: Option<Command>, out: &mut impl Write) -> Result<(), CliError> {
    let settings = settings.clone();
    match command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(&settings, demo, out).await,
        Command::Demo => {
            let db = open(&settings).await?;
            let url = settings.public_url_for(&settings.bind);
            demo(&db, &settings, &url, out).await
        }
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
        Command::Organisers {
            action: OrganisersCommand::Invite { email, name },
        } => {
            let db = open(&settings).await?;
            let url = settings.public_url_for(&settings.bind);
            let now = Clock::system().now();
            let (id, link) = sign_in::invite_organiser(&db, &url, Some(email), Some(name), now).await?;
            writeln!(
                out,
                "Participant {id} is an organiser. This link signs them in to the organiser console; it works once, for {} minutes:",
                sign_in::LINK_MINUTES
            )?;
            writeln!(out, "{link}")?;
            Ok(())
        }
        Command::Solve { problem } => solve(problem, out),
    }
}

/// Runs a solver on its JSON input and prints the answer (or the infeasibility) as JSON.
fn solve(problem: SolveCommand, out: &mut impl Write) -> Result<(), CliError> {
    use crate::solver::{SolveParams, forming, scheduling};

    fn read<T: serde::de::DeserializeOwned>(args: &SolveArgs) -> Result<T, CliError> {
        let shown = args.input.display();
        let text = if args.input.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(&args.input)
        }
        .map_err(|e| CliError::Input(format!("could not read {shown}: {e}")))?;
        serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{shown} is not a valid input: {e}")))
    }
    fn params(args: &SolveArgs) -> SolveParams {
        SolveParams {
            seed: args.seed,
            max_iterations: args.iterations,
            time_limit: args.time_limit_ms.map(std::time::Duration::from_millis),
        }
    }
    fn print<T: serde::Serialize>(
        out: &mut impl Write,
        answer: Result<T, crate::solver::Infeasible>,
    ) -> Result<(), CliError> {
        match answer {
            Ok(answer) => {
                serde_json::to_writer(&mut *out, &answer).map_err(std::io::Error::from)?;
                writeln!(out)?;
                Ok(())
            }
            Err(infeasible) => {
                let json = serde_json::json!({"infeasible": infeasible.rule, "detail": infeasible.detail});
                writeln!(out, "{json}")?;
                Err(infeasible.into())
            }
        }
    }
    match problem {
        SolveCommand::Triads(args) => {
            let input: forming::FormingInput = read(&args)?;
            print(out, forming::form(&input, &params(&args)))
        }
        SolveCommand::Visits(args) => {
            let input: scheduling::VisitsInput = read(&args)?;
            print(out, scheduling::schedule(&input, &params(&args)))
        }
    }
}

/// The name of the key made on a first start.
pub const FIRST_KEY_NAME: &str = "first-organiser-key";

/// Serves; on a database without keys, first makes an organiser key and prints it with the URL.
async fn serve(settings: &Settings, with_demo: bool, out: &mut impl Write) -> Result<(), CliError> {
    tracing::info!(?settings, "starting");
    let app = Application::build(settings).await?;
    let url = app.public_url().to_owned();
    writeln!(out, "Convene is listening on {url} (API documentation: {url}/docs)")?;
    if with_demo {
        match demo(app.db(), settings, &url, out).await {
            Err(CliError::Refused(why)) => writeln!(out, "No demo: {why}")?,
            other => other?,
        }
    }
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

/// Fills the database with the demo network and prints what to try, the key alone on the last line.
async fn demo(db: &DatabaseConnection, settings: &Settings, url: &str, out: &mut impl Write) -> Result<(), CliError> {
    let site = crate::startup::feed_site(settings, url);
    let now = Clock::system().now();
    // The demo's future holds borrows the compiler cannot prove `Send` for every lifetime, so it
    // runs on a blocking thread of its own, keeping `serve`'s future `Send`.
    let db = db.clone();
    let runtime = tokio::runtime::Handle::current();
    let made = tokio::task::spawn_blocking(move || runtime.block_on(crate::demo::fill(&db, &site, now)))
        .await
        .map_err(|e| CliError::Refused(format!("the demo stopped: {e}")))??;
    let counts: Vec<String> = made.counts.iter().map(|(what, n)| format!("{n} {what}")).collect();
    writeln!(out, "The demo network is in place: {}.", counts.join(", "))?;
    writeln!(out, "Try:")?;
    writeln!(out, "    API documentation:     {url}/docs")?;
    writeln!(out, "    published events:      curl {url}/v1/events")?;
    writeln!(
        out,
        "    the conference feed:   {url}/ical/events/{}.ics",
        made.conference_id
    )?;
    writeln!(out, "    a head teacher's feed: {}", made.feed_url)?;
    writeln!(out, "    a survey form:         {}", made.survey_url)?;
    writeln!(
        out,
        "    the organiser console: {} (signs in {}, once, for {} minutes)",
        made.console_url,
        crate::demo::DEMO_COORDINATOR.0,
        crate::domain::sign_in::LINK_MINUTES
    )?;
    writeln!(
        out,
        "    the triads and visits: curl -H 'Authorization: Bearer <key>' {url}/v1/cohorts/{}/visits",
        made.cohort_id
    )?;
    writeln!(
        out,
        "An organiser key named '{}' was made; it is shown only this once:",
        made.key_name
    )?;
    writeln!(out, "{}", made.key)?;
    out.flush()?;
    Ok(())
}

async fn worker(settings: &Settings, out: &mut impl Write) -> Result<(), CliError> {
    let db = open(settings).await?;
    let public_url = settings.public_url_for(&settings.bind);
    let site = crate::startup::feed_site(settings, &public_url);
    let worker = crate::worker::Worker::new(
        db,
        settings,
        site,
        std::sync::Arc::new(tokio::sync::Notify::new()),
        std::sync::Arc::new(crate::metrics::Metrics::new()),
        std::sync::Arc::default(),
        crate::clock::Clock::system(),
    )
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
    let now = Clock::system().now();
    if !keys::none_exist(db).await? {
        return Ok(None);
    }
    let change = Change::new(Actor::system("first start"), now);
    let txn = db::begin_write(db).await.map_err(DomainError::from)?;
    let made = keys::create(&*txn, FIRST_KEY_NAME, KeyRole::Organiser, &change).await;
    match txn.settle(made).await {
        Ok(new) => Ok(Some(new.secret)),
        Err(DomainError::Conflict { .. }) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

async fn keys_command(db: &DatabaseConnection, action: KeysCommand, out: &mut impl Write) -> Result<(), CliError> {
    let change = Change::new(Actor::system("command line"), Clock::system().now());
    match action {
        KeysCommand::Create { name, role } => {
            let new = {
                let txn = db::begin_write(db).await.map_err(DomainError::from)?;
                let made = keys::create(&*txn, &name, role.into(), &change).await;
                txn.settle(made).await?
            };
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
            {
                let txn = db::begin_write(db).await.map_err(DomainError::from)?;
                let revoked = keys::revoke(&*txn, &name, &change).await;
                txn.settle(revoked).await?
            };
            writeln!(out, "Revoked the key '{name}'.")?;
        }
    }
    Ok(())
}
