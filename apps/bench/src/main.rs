//! `duet-bench`: measures duet against a bare actix-web baseline in the same run, with the
//! same load tool (`wrk`), on this machine. `just bench` runs it; results go to
//! `docs/benchmarks.md`.
#![allow(clippy::print_stdout)]

mod admin;
mod events;
mod http;
mod load;
mod logins;
mod servers;
mod soak;
mod ui;
mod webhooks;

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
    /// serving the same JSON from memory; duet with and without compression negotiated.
    Http {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// The `Accept-Encoding` of the compressed duet row.
        #[arg(long, value_name = "ENC", default_value = "gzip, br")]
        accept_encoding: String,
        /// A Redis for the throttle rows (Redis sessions without, then with, the user
        /// throttle); unset: those rows are skipped.
        #[arg(long, env = "DUET_TEST_REDIS_URL", value_name = "URL")]
        redis: Option<String>,
    },
    /// Token `GET /api/orders/` alone, then during a flood of wrong-password logins (each
    /// client sending the next as soon as one is answered); the shop's peak memory.
    Logins {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Clients sending wrong passwords at once.
        #[arg(long, default_value_t = 64)]
        flooders: usize,
    },
    /// Chaos soak: two shop instances on PostgreSQL and a Redis of its own, WebSocket tabs
    /// and API load while an instance is killed, Redis restarts and PostgreSQL terminates
    /// connections; fails unless every acknowledged event was applied exactly once, no
    /// response was a 500, none took longer than the timeouts allow, and memory stayed
    /// bounded.
    Soak {
        /// Seconds of load (the faults come at fixed fractions of it).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// A PostgreSQL server URL; the soak creates and drops a database of its own there.
        #[arg(long, env = "DUET_TEST_POSTGRES_URL")]
        postgres: String,
        /// WebSocket tabs sending events.
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// Concurrent API clients.
        #[arg(long, default_value_t = 8)]
        api: usize,
    },
    /// Signed 1 KiB Stripe POSTs, a fresh event id each: verification alone vs a bare
    /// handler, and the shop's full path (delivery recorded) on SQLite and PostgreSQL.
    Webhooks {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 8)]
        seconds: u64,
        /// Concurrent requests.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// A PostgreSQL server URL for the full path on PostgreSQL (skipped when unset).
        #[arg(long, env = "DUET_TEST_POSTGRES_URL")]
        postgres: Option<String>,
    },
    /// Event round trips over `/_event` vs a bare actix-ws echo of the same frames, and the
    /// Redis state manager vs the in-memory one (1 and 1,000 clients; Redis commands per
    /// event counted on a redis-server of its own), and server memory per idle connection.
    Events {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 8)]
        seconds: u64,
        /// Concurrent clients for the second measurement.
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Idle connections for the memory measurement.
        #[arg(long, default_value_t = 10_000)]
        idle: usize,
        /// Run one part only: the round trips, or the idle memory (on servers that have
        /// served no events first, so its figure can differ from the full run's).
        #[arg(long, value_enum)]
        only: Option<events::Part>,
    },
    /// The browser runtime: event sent → DOM updated in headless Chromium for a list of
    /// 1,000 orders (one added, one changed).
    Ui {
        /// Events per measurement.
        #[arg(long, default_value_t = 50)]
        iterations: usize,
        /// The chromedriver binary.
        #[arg(long, env = "DUET_TEST_CHROMEDRIVER", default_value = "/usr/bin/chromedriver")]
        chromedriver: String,
    },
    /// The admin's change list over 100,000 orders on SQLite and PostgreSQL: first page,
    /// a filtered page, a search, the last page and the index, one request at a time.
    Admin {
        /// Orders in the table.
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        /// Requests per page measured.
        #[arg(long, default_value_t = 20)]
        repeats: usize,
        /// A PostgreSQL server URL (skipped when unset).
        #[arg(long, env = "DUET_TEST_POSTGRES_URL")]
        postgres: Option<String>,
    },
    /// The bare actix-ws echo server (started by the events command).
    EchoServer {
        /// Address to listen on.
        #[arg(long)]
        addr: String,
        /// Make two Redis round trips per frame before echoing it.
        #[arg(long)]
        redis: Option<String>,
    },
    /// The webhook baseline servers (started by the webhooks command).
    WebhookServer {
        /// Address to listen on.
        #[arg(long)]
        addr: String,
        /// `bare` (returns 200) or `verify` (checks the Stripe signature, then 200).
        #[arg(long)]
        mode: String,
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
    /// The database floor of the HTTP benchmark (started by the http command).
    BareSqlite {
        /// Address to listen on.
        #[arg(long)]
        addr: String,
        /// The SQLite file holding the orders.
        #[arg(long)]
        database: String,
        /// Whose orders to list.
        #[arg(long, required_unless_present = "session", conflicts_with = "session")]
        customer: Option<i64>,
        /// List the session user's orders instead: decode the session cookie (keyed with
        /// `DUET_SECRET_KEY`, as the shop's) and look the user up, as duet does.
        #[arg(long)]
        session: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bare { addr, body } => http::serve_bare(&addr, &body),
        Command::BareSqlite {
            addr,
            database,
            customer,
            session,
        } => match (customer, session) {
            (Some(id), false) => http::serve_bare_sqlite(&addr, &database, http::Customer::Fixed(id)),
            _ => std::env::var("DUET_SECRET_KEY")
                .map_err(|_| "--session needs DUET_SECRET_KEY".to_owned())
                .and_then(|secret| {
                    http::serve_bare_sqlite(&addr, &database, http::Customer::FromSession(secret.into_bytes()))
                }),
        },
        Command::WebhookServer { addr, mode } => webhooks::serve(&addr, &mode),
        Command::EchoServer { addr, redis } => events::serve_echo(&addr, redis),
        Command::Events {
            seconds,
            clients,
            idle,
            only,
        } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(events::run(seconds, clients, idle, only))),
        Command::Ui {
            iterations,
            chromedriver,
        } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(ui::run(iterations, &chromedriver))),
        Command::Webhooks {
            seconds,
            concurrency,
            postgres,
        } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(webhooks::run(seconds, concurrency, postgres))),
        Command::Logins { seconds, flooders } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(logins::run(seconds, flooders))),
        Command::Soak {
            seconds,
            postgres,
            clients,
            api,
        } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(soak::run(seconds, &postgres, clients, api))),
        Command::Admin {
            rows,
            repeats,
            postgres,
        } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(admin::run(rows, repeats, postgres))),
        Command::Http {
            seconds,
            connections,
            accept_encoding,
            redis,
        } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(http::run(seconds, connections, &accept_encoding, redis.as_deref()))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            println!("duet-bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
