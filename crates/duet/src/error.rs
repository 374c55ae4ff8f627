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
