//! The framework CLI: every app gets the same commands, as Django's `manage.py` gives every
//! project. An app's `main` is one line:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     duet::cli::run(duet::App::new("notes"))
//! }
//! ```
//!
//! | command | does |
//! |---|---|
//! | `serve` (the default) | checks the app, applies migrations, checks that the database matches the models, seeds a development database, serves on `--addr`/`DUET_ADDR` |
//! | `migrate [--list \| --revert]` | applies pending migrations; lists them; reverts the app's newest applied one |
//! | `makemigrations [NAME] [--check]` | writes the migration (SQLite and PostgreSQL) that makes the database match the app's models; `--check` writes nothing and exits 1 when there is one to write |
//! | `createuser NAME [--email E] [--staff] [--superuser]` | creates a user; the password comes from standard input |
//! | `changepassword NAME` | sets a user's password from standard input |
//! | `token NAME [--name N] [--expires 30d] [--scope read\|read_write]` | issues an API token and prints its key, once (default: named "token", read_write, never expiring) |
//! | `token --list NAME` | lists the user's tokens: id, name, scope, created, expires, last used (never keys) |
//! | `token --revoke ID` | revokes (deletes) a token: it stops working at once |
//! | `routes` | prints the prefix table, every route and page |
//! | `openapi` | prints the OpenAPI 3.1 document of the app's HTTP API (JSON), as `GET /api/schema/` serves it |
//! | `check [--deploy]` | validates the app without serving; exit 1 with every problem listed; `--deploy` also lists the settings unsafe in production (Django's `check --deploy`) |
//!
//! A bad setting is one line naming its variable, and exit code 2. Commands other than
//! `serve` and `migrate` never create a database: pointed at one that does not exist, or
//! that has pending migrations, they say so and exit 2.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use duet_models::{
    ApiToken, Choices, DatabaseUrl, Db, DbConfig, MigrationSet, NewUser, Scope, TokenScope, TokenSpec, User,
};

use crate::{App, Error, Services, Settings};

#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the app, apply migrations, seed a fresh development database, and serve (the
    /// default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate {
        /// List every migration, applied ([X]) or pending ([ ]), instead.
        #[arg(long)]
        list: bool,
        /// Revert the app's newest applied migration (never the framework's), instead.
        #[arg(long, conflicts_with = "list")]
        revert: bool,
    },
    /// Write the migration (SQLite and PostgreSQL) that makes the database match the app's
    /// models, into the app's migration directories.
    Makemigrations {
        /// The migration's name: lowercase letters, digits and underscores (default: made
        /// from the changes).
        name: Option<String>,
        /// Write nothing; exit 1, listing the changes, when the models and the migrations
        /// differ (for CI).
        #[arg(long)]
        check: bool,
    },
    /// Create a user; the password is read from standard input, never from arguments.
    Createuser {
        /// The new user's login name.
        username: String,
        /// Contact address (stored trimmed and lowercase, as sign-up stores it).
        #[arg(long, default_value = "")]
        email: String,
        /// May use the admin.
        #[arg(long)]
        staff: bool,
        /// Has every permission (implies --staff).
        #[arg(long)]
        superuser: bool,
    },
    /// Set a user's password; it is read from standard input, never from arguments.
    Changepassword {
        /// Whose password.
        username: String,
    },
    /// Issue an API token for a user and print its key (shown only this once); or list a
    /// user's tokens; or revoke one.
    Token {
        /// Whose token (to issue, or with --list).
        #[arg(required_unless_present = "revoke")]
        username: Option<String>,
        /// What the token is for.
        #[arg(long, default_value = "token", conflicts_with_all = ["list", "revoke"])]
        name: String,
        /// How long it works, such as 30d, 12h or 90min (default: forever).
        #[arg(long, value_name = "LIFETIME", conflicts_with_all = ["list", "revoke"])]
        expires: Option<String>,
        /// What it may do: read (GET, HEAD and OPTIONS only) or read_write.
        #[arg(long, default_value = "read_write", value_parser = token_scope, conflicts_with_all = ["list", "revoke"])]
        scope: TokenScope,
        /// List the user's tokens (id, name, scope, created, expires, last used) instead.
        #[arg(long)]
        list: bool,
        /// Revoke the token with this id (any user's) instead.
        #[arg(long, value_name = "ID", conflicts_with_all = ["username", "list"])]
        revoke: Option<i64>,
    },
    /// Print the prefix table, every HTTP route with its methods, and every page.
    Routes,
    /// Print the OpenAPI 3.1 document of the app's HTTP API (JSON).
    Openapi,
    /// Check the app without serving: prefixes, routes, states, pages, assets.
    Check {
        /// Also list the settings that are unsafe in production (exit 1 when there is one).
        #[arg(long)]
        deploy: bool,
    },
}

/// Runs the command line of `app`: parses the settings and the command, runs it, and
/// returns the exit code (0, 1 for a failure, 2 for a bad setting or usage).
pub fn run(app: App) -> ExitCode {
    let name = app.name().to_owned();
    let command = app
        .augment(
            Cli::command()
                .name(name.clone())
                .mut_arg("database_url", |arg| {
                    arg.default_value(format!("sqlite://var/{name}.sqlite3"))
                })
                .mut_arg("redis_key_prefix", |arg| arg.default_value(name.clone())),
        )
        .about(format!("{name}, a duet app. Without a command, it serves."));
    let matches = match command.clone().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return usage_error(&name, &command, &error),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => return usage_error(&name, &command, &error),
    };
    crate::telemetry::init(cli.settings.log_format);
    let runtime = actix_web::rt::System::new();
    match runtime.block_on(execute(app, cli, &matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// A bad value is one line naming its environment variable; anything else (`--help`, an
/// unknown flag) is clap's own message.
fn usage_error(name: &str, command: &clap::Command, error: &clap::Error) -> ExitCode {
    let invalid = matches!(error.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue);
    // The context names the argument as shown: `--database-pool-size <N>`.
    let arg = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(shown)) if invalid => command.get_arguments().find(|a| {
            a.get_long()
                .is_some_and(|long| shown.split_whitespace().next() == Some(&format!("--{long}")))
        }),
        _ => None,
    };
    match (arg, std::error::Error::source(error)) {
        (Some(arg), Some(problem)) => {
            let var = match (arg.get_env(), arg.get_long()) {
                (Some(env), _) => env.to_string_lossy().into_owned(),
                (None, long) => format!("--{}", long.unwrap_or_default()),
            };
            eprintln!("{name}: {var}: {problem}");
            ExitCode::from(2)
        }
        _ => {
            let _ = error.print();
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
        }
    }
}

async fn execute(app: App, cli: Cli, matches: &clap::ArgMatches) -> Result<(), Error> {
    let settings = cli.settings;
    let database = settings.database(&DatabaseUrl::SqliteFile(format!("var/{}.sqlite3", app.name()).into()));
    let name = app.name().to_owned();
    let command = cli.command.unwrap_or(Command::Serve);
    // The app's own settings complete its routes: only the commands that use them apply them.
    let app = match command {
        Command::Serve | Command::Routes | Command::Check { .. } | Command::Openapi => app.apply_settings(matches)?,
        _ => app,
    };
    let dir = settings.migrations_dir.as_deref();
    match command {
        Command::Serve => {
            let seed = app.seed_hook().cloned();
            let sets = app.migration_sets(dir)?;
            // The framework's tables are checked as the app's are.
            let mut models = duet_models::framework_models();
            models.extend_from_slice(app.models());
            let checked = app.check()?;
            // The settings that can be missing fail before the database is touched.
            let key = settings.session_key()?;
            settings.allowed_hosts()?;
            let db = connect(database).await?;
            db.migrate(&sets).await?;
            let drift = db.schema_drift(&models).await?;
            if !drift.is_empty() {
                return Err(Error::Drift { app: name, drift });
            }
            if let (Some(seed), crate::Env::Development) = (seed, settings.env) {
                seed(db.clone()).await?;
            }
            let services = Services::start(&settings, &key, &name, db).await?;
            checked.serve(services, &settings.addr).await
        }
        Command::Migrate { list, revert } => {
            let sets = app.migration_sets(dir)?;
            let db = connect(database).await?;
            if list {
                for migration in db.migration_status(&sets).await? {
                    let mark = if migration.applied { "X" } else { " " };
                    println!("[{mark}] {} {}", migration.set, migration.version);
                }
            } else if revert {
                // The app's own migrations: the framework's tables are no app's to take back.
                match db.revert_last(&sets[1..]).await? {
                    Some(version) => println!("Reverted migration {version}."),
                    None => println!("No migrations to revert."),
                }
            } else {
                let applied = db.migrate(&sets).await?;
                if applied.is_empty() {
                    println!("No migrations to apply.");
                } else {
                    println!("Applied {} migration(s): {}", applied.len(), applied.join(", "));
                }
            }
            Ok(())
        }
        Command::Makemigrations { name, check } => crate::makemigrations::run(&app, dir, name.as_deref(), check),
        Command::Createuser {
            username,
            email,
            staff,
            superuser,
        } => {
            // Stored as sign-up stores it, so that the address finds the account.
            let email = User::normalise_email(&email);
            if !email.is_empty() && !duet_mail::is_address(&email) {
                return Err(Error::Input(format!("--email: {email:?} is not an email address")));
            }
            let db = existing(&name, &app.migration_sets(dir)?, database).await?;
            let password = read_password()?;
            let new = NewUser {
                username,
                email,
                password,
                is_staff: staff,
                is_superuser: superuser,
                is_active: true,
            };
            let user = User::create(&db, new).await.map_err(|e| match e {
                duet_models::Error::UniqueViolation(_) => Error::Input("that username is taken".into()),
                duet_models::Error::Config(problem) => Error::Input(problem),
                other => other.into(),
            })?;
            println!("Created user {:?} (id {}).", user.username, user.id);
            Ok(())
        }
        Command::Changepassword { username } => {
            let db = existing(&name, &app.migration_sets(dir)?, database).await?;
            let user = user(&db, &username).await?;
            let password = read_password()?;
            User::set_password(&db, user.id, &password).await?;
            println!("Changed the password of {:?}.", user.username);
            Ok(())
        }
        Command::Token {
            username,
            name: token_name,
            expires,
            scope,
            list,
            revoke,
        } => {
            let db = existing(&name, &app.migration_sets(dir)?, database).await?;
            if let Some(id) = revoke {
                let token = ApiToken::revoke(&db, Scope::All, id).await.map_err(|e| match e {
                    duet_models::Error::NotFound => Error::Input(format!("no token with id {id}")),
                    other => other.into(),
                })?;
                println!("Revoked token {id} ({:?}).", token.name);
                return Ok(());
            }
            // clap requires the username unless --revoke is given.
            let user = user(&db, username.as_deref().unwrap_or_default()).await?;
            if list {
                print_tokens(&ApiToken::of_user(&db, user.id).await?);
                return Ok(());
            }
            let mut spec = TokenSpec {
                scope,
                ..TokenSpec::named(&token_name).map_err(|e| Error::Input(format!("--name: {e}")))?
            };
            if let Some(lifetime) = expires {
                spec = spec
                    .expires_in(&lifetime, duet_models::now())
                    .map_err(|e| Error::Input(format!("--expires: {e}")))?;
            }
            println!("{}", ApiToken::issue_with(&db, user.id, spec).await?.1);
            Ok(())
        }
        Command::Routes => {
            println!("{}", app.check()?);
            Ok(())
        }
        Command::Openapi => {
            let checked = app.check()?;
            println!("{:#}", checked.openapi());
            Ok(())
        }
        Command::Check { deploy } => {
            let checked = app.check()?;
            println!("{name}: the app passed its check ({} routes).", checked.routes().len());
            if !deploy {
                return Ok(());
            }
            let rust_log = std::env::var("RUST_LOG").ok();
            let problems = crate::deploy::problems(&settings, checked.app(), rust_log.as_deref());
            if problems.is_empty() {
                println!("{name}: no deployment problems found.");
                return Ok(());
            }
            println!("{name}: {} deployment problem(s):", problems.len());
            for problem in &problems {
                println!("  {problem}");
            }
            Err(Error::Deploy(problems.len()))
        }
    }
}

/// Opens the database, creating an SQLite file (and its directory) when it is missing.
async fn connect(config: DbConfig) -> Result<Db, Error> {
    Db::connect(config).await.map_err(|e| match e {
        duet_models::Error::Unavailable(reason) => {
            Error::setting("DATABASE_URL", format!("cannot reach the database: {reason}"))
        }
        other => other.into(),
    })
}

/// Opens a database that must already exist and be migrated.
async fn existing(name: &str, sets: &[MigrationSet], config: DbConfig) -> Result<Db, Error> {
    if let DatabaseUrl::SqliteFile(path) = &config.url
        && !path.exists()
    {
        return Err(Error::setting(
            "DATABASE_URL",
            format!(
                "the database {} does not exist; create it with `{name} migrate`",
                path.display()
            ),
        ));
    }
    let db = connect(config).await?;
    let pending = db
        .migration_status(sets)
        .await?
        .into_iter()
        .filter(|migration| !migration.applied)
        .count();
    if pending > 0 {
        return Err(Error::setting(
            "DATABASE_URL",
            format!("the database has {pending} pending migration(s); apply them with `{name} migrate`"),
        ));
    }
    Ok(db)
}

async fn user(db: &Db, username: &str) -> Result<User, Error> {
    User::by_username(db, username).await.map_err(|e| match e {
        duet_models::Error::NotFound => Error::Input(format!("no user named {username:?}")),
        other => other.into(),
    })
}

/// `token --list`: one line per token, newest first; times in UTC to the minute.
fn print_tokens(tokens: &[ApiToken]) {
    let at = |at: Option<chrono::NaiveDateTime>, none: &str| {
        at.map_or_else(|| none.to_owned(), |at| at.format("%Y-%m-%d %H:%M").to_string())
    };
    let now = duet_models::now();
    println!(
        "{:>6}  {:<24} {:<10} {:<16} {:<24} {:<16}",
        "ID", "NAME", "SCOPE", "CREATED (UTC)", "EXPIRES", "LAST USED"
    );
    for token in tokens {
        let mut expires = at(token.expires_at, "never");
        if token.is_expired(now) {
            expires.push_str(" (expired)");
        }
        println!(
            "{:>6}  {:<24} {:<10} {:<16} {:<24} {:<16}",
            token.id,
            token.name,
            token.scope.value(),
            at(Some(token.created_at), ""),
            expires,
            at(token.last_used_at, "never"),
        );
    }
}

/// `--scope`: a [`TokenScope`]'s value.
fn token_scope(value: &str) -> Result<TokenScope, String> {
    TokenScope::from_value(value).ok_or_else(|| {
        let values: Vec<&str> = TokenScope::CHOICES.iter().map(|c| c.value).collect();
        format!("{value:?} is not a scope; use one of {}", values.join(", "))
    })
}

/// Reads a new password: typed twice without echo on a terminal, else the first line of stdin.
fn read_password() -> Result<String, Error> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password (again): ")?;
        if first != again {
            return Err(Error::Input("the passwords do not match".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err(Error::Input("the password must not be empty".into()));
    }
    Ok(password)
}
