use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = replyd::cli::Cli::parse();
    // Fine-tuning runs one large backward pass at a time: it needs candle's
    // intra-op pool, which everything else is better off without.
    if !cli.fine_tunes() {
        replyd::classify::model::one_thread_per_forward_pass();
    }
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
    match runtime.block_on(replyd::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replyd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
