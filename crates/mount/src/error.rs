//! The crate's one error type.

use std::fmt;

/// Everything that can be wrong with a mount configuration, found at start-up.
///
/// Each variant names the offending value and says why it was refused, so that the message
/// alone is enough to fix the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// A backend prefix is the empty string.
    #[error("backend prefix is empty; a prefix is an absolute path such as `/api`")]
    EmptyPrefix,

    /// A backend prefix is `/`, which would leave nothing to the framework or the SPA.
    #[error(
        "backend prefix `/` would take every path, leaving nothing to the framework or the SPA; \
         declare a prefix such as `/api`"
    )]
    RootPrefix,

    /// A backend prefix is not a plain absolute path.
    #[error("backend prefix `{prefix}` is invalid: {reason}")]
    InvalidPrefix {
        /// The prefix as declared.
        prefix: String,
        /// What is wrong with it.
        reason: InvalidReason,
    },

    /// The same backend prefix is declared twice (a single trailing slash makes no difference:
    /// `/api/` is `/api`).
    #[error(
        "backend prefix `{0}` is declared more than once \
         (a trailing slash does not make another prefix)"
    )]
    DuplicatePrefix(String),

    /// One backend prefix lies under another one, so it is unclear which owns the inner paths.
    #[error(
        "backend prefixes `{outer}` and `{inner}` overlap: `{inner}` lies under `{outer}`; \
         declare only `{outer}`"
    )]
    OverlappingPrefixes {
        /// The shorter prefix, as declared.
        outer: String,
        /// The prefix that lies under `outer`, as declared.
        inner: String,
    },

    /// A backend prefix is, lies under or contains one of the framework's reserved paths
    /// ([`RESERVED_PATHS`](crate::RESERVED_PATHS)).
    #[error("backend prefix `{prefix}` collides with `{reserved}`, a path reserved for the framework")]
    ReservedPrefix {
        /// The prefix as declared.
        prefix: String,
        /// The reserved path it collides with.
        reserved: &'static str,
    },

    /// A backend prefix is, lies under or contains a prefix the framework itself serves
    /// (such as [`ACCOUNTS_PREFIX`](crate::ACCOUNTS_PREFIX)).
    #[error("backend prefix `{prefix}` collides with `{framework}`, which {owner} serves")]
    FrameworkPrefix {
        /// The prefix as declared.
        prefix: String,
        /// The framework-owned prefix it collides with.
        framework: &'static str,
        /// The crate that owns `framework`.
        owner: &'static str,
    },

    /// A static asset's name, URL or base directory is not a plain path.
    #[error("asset path `{path}` is invalid: {reason}")]
    InvalidAssetPath {
        /// The path or name as given.
        path: String,
        /// What is wrong with it.
        reason: InvalidReason,
    },

    /// Two static assets would be served at the same URL, or one logical name is registered
    /// twice.
    #[error("asset `{0}` is registered more than once")]
    DuplicateAsset(String),

    /// The SPA shell refers to an asset that was not registered.
    #[error("the SPA shell refers to asset `{0}`, which is not registered")]
    MissingAsset(String),
}

/// Why a declared path (a backend prefix or an asset path) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReason {
    /// It does not start with `/`.
    NotAbsolute,
    /// It starts with `/` where a relative name is expected (a hashed asset's logical name).
    NotRelative,
    /// It contains `//` (an empty segment), or is otherwise empty where a name is needed.
    EmptySegment,
    /// It contains a `.` or `..` segment.
    DotSegment,
    /// It ends with `/` where a file name is expected.
    TrailingSlash,
    /// It contains a character outside `A-Z a-z 0-9 / _ . ~ -`.
    Character(char),
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAbsolute => f.write_str("it must start with `/`"),
            Self::NotRelative => f.write_str("it must be relative (no leading `/`)"),
            Self::EmptySegment => f.write_str("it contains an empty segment (`//`)"),
            Self::DotSegment => f.write_str("it contains a `.` or `..` segment"),
            Self::TrailingSlash => f.write_str("it must name a file, not end with `/`"),
            Self::Character(c) if c.is_whitespace() || c.is_control() => {
                write!(
                    f,
                    "it contains the character {c:?}; only `A-Z a-z 0-9 / _ . ~ -` are allowed"
                )
            }
            Self::Character(c) => {
                write!(f, "it contains `{c}`; only `A-Z a-z 0-9 / _ . ~ -` are allowed")
            }
        }
    }
}
