//! The shop's one error type: what went wrong, said in one line.

/// Why a `shop` command failed.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// A setting is missing or malformed; the message names the variable.
    #[error("{0}")]
    Config(String),
    /// The database refused or could not be reached.
    #[error(transparent)]
    Db(#[from] duet_models::Error),
    /// A command's input was unusable.
    #[error("{0}")]
    Input(String),
    /// Reading input or binding the socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ShopError {
    /// A problem with environment variable `var`.
    pub fn config(var: &str, problem: impl std::fmt::Display) -> ShopError {
        ShopError::Config(format!("{var}: {problem}"))
    }

    /// The process exit code: 2 for configuration, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ShopError::Config(_) => 2,
            ShopError::Db(duet_models::Error::Config(_)) => 2,
            _ => 1,
        }
    }
}
