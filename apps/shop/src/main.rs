//! `shop`: the duet demo app. `shop serve` (the default) runs every surface on one port;
//! the other commands manage the database and accounts.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use shop::Cli;

/// mimalloc instead of glibc's allocator: per request the server allocates and frees many
/// small buffers across two worker threads, where glibc's malloc showed in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = actix_web::rt::System::new();
    match runtime.block_on(shop::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shop: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
