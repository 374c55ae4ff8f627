//! The crate's one error type.

/// Why an app could not be checked, started or run, or why a command failed.
///
/// Each message names what to fix; [`Error::exit_code`] is what the framework CLI exits with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing or malformed. The message names the variable.
    #[error("{var}: {problem}")]
    Setting {
        /// The environment variable (or its `--flag`).
        var: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The app failed its start-up check; every problem found is listed.
    #[error("the app failed its check:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Check(Vec<String>),
    /// The database refused or could not be reached.
    #[error(transparent)]
    Db(#[from] duet_models::Error),
    /// A command's input was unusable (an unknown user, a taken username, an empty password).
    #[error("{0}")]
    Input(String),
    /// The server could not listen or stopped with an error.
    #[error("cannot serve on {addr}: {reason}")]
    Serve {
        /// The address.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// `check --deploy` listed settings that are unsafe in production.
    #[error("{0} setting(s) are unsafe in production (listed above)")]
    Deploy(usize),
    /// The app declares models but no migration set for their migrations.
    #[error(
        "the app has no migration set for its models' migrations: add one with \
         App::migrations(duet::models::migration_set!(…))"
    )]
    NoMigrationSet,
    /// The app declares several migration sets: which one its models' migrations go into
    /// is ambiguous.
    #[error(
        "the app has {} migration sets ({}); its models' migrations go into one: declare exactly one App::migrations(…)",
        .0.len(),
        .0.join(", ")
    )]
    SeveralMigrationSets(Vec<&'static str>),
    /// `makemigrations --check`: the models and the migrations differ.
    #[error("the models and the migrations differ ({changes} change(s)); run `{app} makemigrations`")]
    ModelsChanged {
        /// The app's name.
        app: String,
        /// How many changes a migration would make.
        changes: usize,
    },
    /// At start-up, the database does not have a model's table as the model needs it.
    #[error(
        "the database does not match the models; run `{app} makemigrations`, then `{app} migrate`:{}",
        .drift.iter().map(|d| format!("\n  - {d}")).collect::<String>()
    )]
    Drift {
        /// The app's name.
        app: String,
        /// Every difference found.
        drift: Vec<duet_models::autodetect::Drift>,
    },
    /// Reading input or a file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A problem with setting `var` (an environment variable such as `DATABASE_URL`).
    pub fn setting(var: &str, problem: impl std::fmt::Display) -> Error {
        Error::Setting {
            var: var.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// The process exit code: 2 for settings (and a database that does not exist), 1
    /// otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Setting { .. } | Error::Serve { .. } | Error::Db(duet_models::Error::Config(_)) => 2,
            _ => 1,
        }
    }
}
