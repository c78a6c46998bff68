use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = replyd::cli::Cli::parse();
    match replyd::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replyd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
