//! `convene-bot`: Convene's Discord front end. It talks to the Convene HTTP API with a bot key,
//! acting for Discord users who linked their accounts. This is the skeleton: the commands come
//! with the bot issue.

use clap::Parser;

/// Convene's Discord bot: book sessions, get reminders and send reflections from chat.
#[derive(Debug, Parser)]
#[command(name = "convene-bot", version, about, long_about = None)]
struct Args {
    /// Read slash commands as lines from stdin and print the replies, instead of connecting to Discord.
    #[arg(long)]
    console: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    eprintln!(
        "convene-bot: the Discord bot is not built yet (console mode: {}); see `convene-bot --help`",
        args.console
    );
    std::process::ExitCode::FAILURE
}
