//! `duet-bench`: measures duet against a bare actix-web baseline in the same run, with the
//! same load tool (`wrk`), on this machine. `just bench` runs it; results go to
//! `docs/benchmarks.md`.
#![allow(clippy::print_stdout)]

mod http;
mod load;

use clap::{Parser, Subcommand};

/// duet's benchmarks.
#[derive(Debug, Parser)]
#[command(name = "duet-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// `GET /api/orders/` with a logged-in session (50 orders) vs a bare actix-web handler
    /// serving the same JSON from memory.
    Http {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
    },
    /// The bare baseline server (started by the other commands).
    Bare {
        /// Address to listen on.
        #[arg(long)]
        addr: String,
        /// File holding the JSON body to serve.
        #[arg(long)]
        body: std::path::PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bare { addr, body } => http::serve_bare(&addr, &body),
        Command::Http { seconds, connections } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(http::run(seconds, connections))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            println!("duet-bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
