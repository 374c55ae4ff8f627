//! The duet demo shop: orders placed by users, served as an SPA with server-side state, a
//! JSON API and webhooks on one port. The `shop` binary is [`cli::Cli`].
#![allow(clippy::print_stdout)]

pub mod api;
pub mod error;
pub mod orders;
pub mod pages;
pub mod seed;
pub mod server;
pub mod settings;
pub mod states;
pub mod webhooks;

use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};
use duet_models::{ApiToken, Db, DbConfig, FRAMEWORK_MIGRATIONS, MigrationSet, NewUser, User};

use crate::error::ShopError;
use crate::settings::{Env, Settings};

/// The shop's own migrations (the `orders` table).
pub const SHOP_MIGRATIONS: MigrationSet =
    duet_models::migration_set!("shop", sqlite: "migrations/sqlite", postgres: "migrations/postgres");
/// Every migration the shop applies: the framework's, then its own.
pub const MIGRATIONS: [MigrationSet; 2] = [FRAMEWORK_MIGRATIONS, SHOP_MIGRATIONS];

/// The duet demo shop: an SPA with server-side state, a JSON API and webhooks on one port.
///
/// Configuration comes from the environment: DATABASE_URL (default sqlite://var/shop.sqlite3),
/// DATABASE_POOL_SIZE, DATABASE_TIMEOUT_SECS, DATABASE_QUERY_TIMEOUT_SECS, REDIS_URL,
/// REDIS_KEY_PREFIX, REDIS_LOCK_TTL_MS, REDIS_TIMEOUT_MS, DUET_SECRET_KEY, DUET_ENV (development | production),
/// DUET_ALLOWED_HOSTS, DUET_NEW_TABS_PER_ADDRESS, DUET_TRUST_FORWARDED_FOR,
/// STRIPE_WEBHOOK_SECRET, GITHUB_WEBHOOK_SECRET, STANDARD_WEBHOOK_SECRET and RUST_LOG.
#[derive(Debug, Parser)]
#[command(name = "shop", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, seed a fresh development database, and serve (the default).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8000", env = "SHOP_ADDR")]
        addr: String,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the prefix table and every HTTP route with its methods.
    Routes,
    /// Create a user; the password is read from standard input, never from arguments.
    Createuser {
        /// The new user's login name.
        username: String,
        /// Contact address.
        #[arg(long, default_value = "")]
        email: String,
        /// May use the admin.
        #[arg(long)]
        staff: bool,
        /// Has every permission (implies --staff).
        #[arg(long)]
        superuser: bool,
    },
    /// Issue a new API token for a user and print it; it is shown only this once.
    Token {
        /// Whose token.
        username: String,
    },
}

/// Runs one `shop` command.
pub async fn run(cli: Cli) -> Result<(), ShopError> {
    match cli.command.unwrap_or(Command::Serve {
        addr: "127.0.0.1:8000".into(),
    }) {
        Command::Serve { addr } => {
            let settings = Settings::from_env()?;
            let db = open_db(settings.database.clone()).await?;
            migrate(&db).await?;
            if settings.env == Env::Development {
                seed::seed_if_empty(&db).await?;
            }
            server::serve(&settings, db, &addr).await
        }
        Command::Migrate => {
            let db = open_db(Settings::database_from_env()?).await?;
            let applied = migrate(&db).await?;
            if applied.is_empty() {
                println!("No migrations to apply.");
            } else {
                println!("Applied {} migration(s): {}", applied.len(), applied.join(", "));
            }
            Ok(())
        }
        Command::Routes => {
            let webhooks = webhooks::Webhooks::new(&settings::WebhookSecrets::from_env())?;
            let mounted = server::app(webhooks)
                .check()
                .map_err(|e| ShopError::Config(e.to_string()))?;
            println!("{mounted}");
            Ok(())
        }
        Command::Createuser {
            username,
            email,
            staff,
            superuser,
        } => {
            let db = open_db(Settings::database_from_env()?).await?;
            migrate(&db).await?;
            let password = read_password()?;
            let user = User::create(
                &db,
                NewUser {
                    username,
                    email,
                    password,
                    is_staff: staff,
                    is_superuser: superuser,
                },
            )
            .await
            .map_err(|e| match e {
                duet_models::Error::UniqueViolation(_) => ShopError::Input("that username is taken".into()),
                duet_models::Error::Config(problem) => ShopError::Input(problem),
                other => other.into(),
            })?;
            println!("Created user {:?} (id {}).", user.username, user.id);
            Ok(())
        }
        Command::Token { username } => {
            let db = open_db(Settings::database_from_env()?).await?;
            migrate(&db).await?;
            let user = User::by_username(&db, &username).await.map_err(|e| match e {
                duet_models::Error::NotFound => ShopError::Input(format!("no user named {username:?}")),
                other => other.into(),
            })?;
            println!("{}", ApiToken::issue(&db, user.id).await?);
            Ok(())
        }
    }
}

async fn open_db(config: DbConfig) -> Result<Db, ShopError> {
    Db::connect(config).await.map_err(|e| match e {
        duet_models::Error::Unavailable(reason) => {
            ShopError::config("DATABASE_URL", format!("cannot reach the database: {reason}"))
        }
        other => other.into(),
    })
}

async fn migrate(db: &Db) -> Result<Vec<String>, ShopError> {
    Ok(db.migrate(&MIGRATIONS).await?)
}

/// Reads the new password: typed twice without echo on a terminal, else the first line of stdin.
fn read_password() -> Result<String, ShopError> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password (again): ")?;
        if first != again {
            return Err(ShopError::Input("the passwords do not match".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err(ShopError::Input("the password must not be empty".into()));
    }
    Ok(password)
}
