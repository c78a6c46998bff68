use clap::Parser;

fn main() -> std::process::ExitCode {
    replyd::classify::model::one_thread_per_forward_pass();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("replyd: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cli = replyd::cli::Cli::parse();
    match runtime.block_on(replyd::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replyd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
