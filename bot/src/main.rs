//! `convene-bot`: Convene's Discord bot, or with `--console` the same commands from a terminal.

use clap::Parser;
use convene_bot::{api::HttpApi, config, console, discord};

/// Convene's Discord bot: book sessions, get reminders and send reflections from chat.
///
/// Settings come from the environment: CONVENE_API_URL (default http://127.0.0.1:8080),
/// CONVENE_BOT_KEY (convene-api keys create --role bot), DISCORD_TOKEN, and optionally
/// DISCORD_GUILD_ID to register the commands in one server at once.
#[derive(Debug, Parser)]
#[command(name = "convene-bot", version, about, long_about)]
struct Args {
    /// Read commands as lines from stdin (`/link ann@school.org`, `/events`, `/book 12`, …) and
    /// print the replies, instead of connecting to Discord. Needs no Discord token.
    #[arg(long, requires = "as_user")]
    console: bool,
    /// With --console: the Discord user id to act as.
    #[arg(long = "as", value_name = "DISCORD_ID")]
    as_user: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONVENE_BOT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,convene_bot=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.console {
        let user = args.as_user.unwrap_or_default();
        if user.is_empty() || !user.bytes().all(|b| b.is_ascii_digit()) {
            eprintln!("convene-bot: --as needs a Discord user id (digits), e.g. --as 80351110224678912");
            return std::process::ExitCode::from(2);
        }
        let settings = match config::console() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return std::process::ExitCode::from(2);
            }
        };
        let api = match HttpApi::new(&settings.api_url, &settings.bot_key) {
            Ok(api) => api,
            Err(e) => {
                eprintln!("convene-bot: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        return match console::run(&api, &user, stdin, tokio::io::stdout()).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("convene-bot: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let settings = match config::discord() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    match discord::run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("convene-bot: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
