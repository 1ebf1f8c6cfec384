//! The `convene-api` command: `serve` (the default), `migrate`, and `keys create|list|revoke`.

use std::process::ExitCode;

use clap::Parser as _;
use convene_api::cli::Cli;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout();
    match convene_api::cli::main(cli, &mut stdout).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("convene-api: {err}");
            ExitCode::FAILURE
        }
    }
}
