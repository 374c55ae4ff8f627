//! The prefix table: which paths belong to HTTP backends, which to the framework, and which
//! fall through to the SPA catch-all.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;

use crate::error::{InvalidReason, MountError};

/// The event-state protocol's endpoint (WebSocket). Reserved; matched exactly, with or without
/// a trailing slash.
pub const EVENT_PATH: &str = "/_event";

/// The health check. Reserved; matched exactly, with or without a trailing slash.
pub const HEALTH_PATH: &str = "/_health";

/// The framework's own files (runtime, app spec, …). Reserved with everything under it:
/// `/_duet`, `/_duet/`, `/_duet/app.js`.
pub const DUET_PATH: &str = "/_duet";

/// Paths the framework reserves for itself. No backend prefix may equal, lie under or contain
/// one of them, and requests for them never reach a backend or the SPA.
///
/// [`EVENT_PATH`] and [`HEALTH_PATH`] are single paths; [`DUET_PATH`] reserves its whole
/// subtree.
pub const RESERVED_PATHS: &[&str] = &[EVENT_PATH, HEALTH_PATH, DUET_PATH];

/// Reserved paths that reserve everything under them too.
const RESERVED_SUBTREES: &[&str] = &[DUET_PATH];

/// The backend prefix of duet-auth's views (`/accounts/login/`, `/accounts/me/`, …). Always in
/// the table.
pub const ACCOUNTS_PREFIX: &str = "/accounts";

/// The owner shown for [`ACCOUNTS_PREFIX`].
pub const ACCOUNTS_OWNER: &str = "duet-auth";

/// The owner shown for prefixes the app declares.
pub const APP_OWNER: &str = "app";

/// Prefixes the framework itself serves, with their owners.
const FRAMEWORK_PREFIXES: &[(&str, &str)] = &[(ACCOUNTS_PREFIX, ACCOUNTS_OWNER)];

/// Where a request path goes, as decided by [`PrefixTable::classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Under this backend prefix (an app prefix or [`ACCOUNTS_PREFIX`]): an HTTP API. A request
    /// here that no route answers gets the backend's 404, never the SPA shell.
    Backend(&'a str),
    /// One of [`RESERVED_PATHS`]: the framework's.
    Reserved(&'static str),
    /// Everything else: static assets and the SPA shell.
    CatchAll,
    /// A path that cannot be classified safely (see [`PrefixTable::classify`]). Answer 400 or
    /// 404; never the SPA shell.
    Invalid(InvalidPath),
}

/// Why [`PrefixTable::classify`] refused a request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidPath {
    /// The path is empty or does not start with `/`.
    NotAbsolute,
    /// A `%` is not followed by two hexadecimal digits.
    BadEscape,
    /// The percent-decoded path is not UTF-8.
    NotUtf8,
    /// The percent-decoded path contains a control character (such as NUL or a line break).
    ControlCharacter,
    /// The percent-decoded path has an empty segment (`//`), other than one trailing slash.
    EmptySegment,
    /// The percent-decoded path has a `.` or `..` segment.
    DotSegment,
}

impl fmt::Display for InvalidPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "the path does not start with `/`",
            Self::BadEscape => "the path has a malformed percent escape",
            Self::NotUtf8 => "the decoded path is not UTF-8",
            Self::ControlCharacter => "the decoded path contains a control character",
            Self::EmptySegment => "the decoded path has an empty segment (`//`)",
            Self::DotSegment => "the decoded path has a `.` or `..` segment",
        })
    }
}

/// The mount router's table of backend prefixes.
///
/// It holds the app's declared prefixes plus [`ACCOUNTS_PREFIX`], all validated so that no two
/// overlap and none touches a [reserved path](RESERVED_PATHS). Given a request path,
/// [`classify`](Self::classify) says whether it belongs to a backend, to the framework or to
/// the SPA catch-all.
///
/// Prefixes are compared segment by segment and case-sensitively: `/api` owns `/api`, `/api/`
/// and `/api/orders`, but not `/apix`, `/api-x` or `/API`.
///
/// Its [`Display`](fmt::Display) prints the table, one prefix per line with its owner, then the
/// reserved paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixTable {
    /// Normalised prefixes (no trailing slash) with their owners, sorted by prefix.
    entries: Vec<(String, &'static str)>,
}

impl PrefixTable {
    /// Validates the app's backend prefixes and builds the table (which also holds
    /// [`ACCOUNTS_PREFIX`]).
    ///
    /// A single trailing slash is normalised away (`/api/` is `/api`).
    ///
    /// # Errors
    ///
    /// The first problem found, in declaration order:
    /// [`EmptyPrefix`](MountError::EmptyPrefix), [`RootPrefix`](MountError::RootPrefix),
    /// [`InvalidPrefix`](MountError::InvalidPrefix) (not starting with `/`; a character outside
    /// `A-Z a-z 0-9 / _ . ~ -`, such as `?`, `#`, `%`, whitespace, `{` or `}`; `//`; a `.` or
    /// `..` segment), [`ReservedPrefix`](MountError::ReservedPrefix) (equal to, under or
    /// containing a reserved path), [`FrameworkPrefix`](MountError::FrameworkPrefix) (the same
    /// with `/accounts`), [`DuplicatePrefix`](MountError::DuplicatePrefix) and
    /// [`OverlappingPrefixes`](MountError::OverlappingPrefixes).
    pub fn new(prefixes: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Self, MountError> {
        // (normalised, as declared)
        let mut declared: Vec<(String, String)> = Vec::new();
        for prefix in prefixes {
            let raw = prefix.as_ref();
            let normalised = validate_prefix(raw)?;
            for (other, other_raw) in &declared {
                if *other == normalised {
                    return Err(MountError::DuplicatePrefix(raw.to_owned()));
                }
                if is_under(normalised, other) {
                    return Err(overlap(other_raw, raw));
                }
                if is_under(other, normalised) {
                    return Err(overlap(raw, other_raw));
                }
            }
            declared.push((normalised.to_owned(), raw.to_owned()));
        }

        let mut entries: Vec<(String, &'static str)> = declared
            .into_iter()
            .map(|(normalised, _)| (normalised, APP_OWNER))
            .chain(
                FRAMEWORK_PREFIXES
                    .iter()
                    .map(|&(prefix, owner)| (prefix.to_owned(), owner)),
            )
            .collect();
        entries.sort();
        Ok(Self { entries })
    }

    /// Every backend prefix, the app's and the framework's, normalised (no trailing slash) and
    /// sorted.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(prefix, _)| prefix.as_str())
    }

    /// Says where a request path goes.
    ///
    /// `path` is the path as actix gives it (`HttpRequest::path()`): still percent-encoded,
    /// without the query string.
    ///
    /// # Percent-encoding
    ///
    /// The path is classified **after percent-decoding it once**, so that no spelling of a
    /// backend path reaches the SPA: `/%61pi/x` is `/api/x` (actix's router decodes it the same
    /// way and may route it to `/api`'s handlers) and `/api%2Fx` is under `/api` too (actix's
    /// router keeps `%2F` encoded and so routes it nowhere; the backend then answers 404, not
    /// the SPA shell). Decoding is done once: `%2561` decodes to `%61`, not `a`.
    ///
    /// Paths that cannot be classified unambiguously are [`Target::Invalid`] rather than
    /// [`Target::CatchAll`]: an empty path or one not starting with `/`, a malformed escape
    /// (`%zz`, `%4`), a decoded path that is not UTF-8 or contains a control character, and a
    /// decoded path with an empty segment (`//api`, `/%2Fapi`) or a dot segment
    /// (`/api/../x`, `/api/%2e%2e/x`). Clients and proxies disagree about how to normalise
    /// these, and none is a page of the SPA. One trailing slash is not an empty segment.
    ///
    /// Matching is case-sensitive and by whole segments. [`EVENT_PATH`] and [`HEALTH_PATH`]
    /// match exactly, with or without a trailing slash (`/_event/x` is the catch-all's);
    /// [`DUET_PATH`] matches with everything under it.
    pub fn classify(&self, path: &str) -> Target<'_> {
        let path = match decode_path(path) {
            Ok(path) => path,
            Err(invalid) => return Target::Invalid(invalid),
        };
        let path = path.as_ref();

        for &reserved in RESERVED_PATHS {
            let matched = if RESERVED_SUBTREES.contains(&reserved) {
                is_under(path, reserved)
            } else {
                path.strip_prefix(reserved)
                    .is_some_and(|rest| rest.is_empty() || rest == "/")
            };
            if matched {
                return Target::Reserved(reserved);
            }
        }
        match self.entries.iter().find(|(prefix, _)| is_under(path, prefix)) {
            Some((prefix, _)) => Target::Backend(prefix),
            None => Target::CatchAll,
        }
    }

    /// The owner of the backend prefix `path` is under ([`APP_OWNER`] or the owning crate, such
    /// as [`ACCOUNTS_OWNER`]), or `None` when [`classify`](Self::classify) does not send it to
    /// a backend.
    pub fn owner_of(&self, path: &str) -> Option<&'static str> {
        match self.classify(path) {
            Target::Backend(prefix) => self.owner(prefix),
            _ => None,
        }
    }

    /// The backend prefix an actix route pattern lies under, if any.
    ///
    /// Only the pattern's literal leading segments count, up to the first dynamic segment
    /// (`{…}`): `/api/v1/orders/{id}/` and `/api` lie under `/api`, while `/api{tail}*` does
    /// not (its first segment could be `/apix`). Patterns are compared as written, without
    /// percent-decoding.
    pub fn contains_route(&self, route_pattern: &str) -> Option<&str> {
        let literal = match route_pattern.find('{') {
            // Only the segments that end before the first `{` are fixed.
            Some(brace) => &route_pattern[..route_pattern[..brace].rfind('/')?],
            None => route_pattern,
        };
        self.entries
            .iter()
            .find(|(prefix, _)| is_under(literal, prefix))
            .map(|(prefix, _)| prefix.as_str())
    }

    fn owner(&self, prefix: &str) -> Option<&'static str> {
        self.entries.iter().find(|(p, _)| p == prefix).map(|&(_, owner)| owner)
    }
}

impl Default for PrefixTable {
    /// A table without app prefixes: only the framework's ([`ACCOUNTS_PREFIX`]).
    fn default() -> Self {
        Self::new(std::iter::empty::<&str>()).expect("the framework's own prefixes are valid")
    }
}

impl fmt::Display for PrefixTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .prefixes()
            .chain(RESERVED_PATHS.iter().copied())
            .map(str::len)
            .max()
            .unwrap_or(0);
        let mut first = true;
        let mut line = |f: &mut fmt::Formatter<'_>, path: &str, owner: &str| {
            if !std::mem::take(&mut first) {
                f.write_str("\n")?;
            }
            write!(f, "{path:<width$}  {owner}")
        };
        for (prefix, owner) in &self.entries {
            line(f, prefix, owner)?;
        }
        for &reserved in RESERVED_PATHS {
            let scope = if RESERVED_SUBTREES.contains(&reserved) {
                "reserved, with everything under it"
            } else {
                "reserved"
            };
            line(f, reserved, scope)?;
        }
        Ok(())
    }
}

/// Whether `path` is `prefix` or lies under it, by whole segments. `prefix` has no trailing
/// slash.
fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn overlap(outer: &str, inner: &str) -> MountError {
    MountError::OverlappingPrefixes {
        outer: outer.to_owned(),
        inner: inner.to_owned(),
    }
}

/// Validates one declared prefix on its own and returns it normalised (one trailing slash
/// removed).
fn validate_prefix(raw: &str) -> Result<&str, MountError> {
    let invalid = |reason| MountError::InvalidPrefix {
        prefix: raw.to_owned(),
        reason,
    };
    if raw.is_empty() {
        return Err(MountError::EmptyPrefix);
    }
    check_characters(raw).map_err(invalid)?;
    let Some(relative) = raw.strip_prefix('/') else {
        return Err(invalid(InvalidReason::NotAbsolute));
    };
    if relative.is_empty() {
        return Err(MountError::RootPrefix);
    }
    let relative = relative.strip_suffix('/').unwrap_or(relative);
    check_segments(relative).map_err(invalid)?;
    let normalised = &raw[..relative.len() + 1];

    for &reserved in RESERVED_PATHS {
        if is_under(normalised, reserved) || is_under(reserved, normalised) {
            return Err(MountError::ReservedPrefix {
                prefix: raw.to_owned(),
                reserved,
            });
        }
    }
    for &(framework, owner) in FRAMEWORK_PREFIXES {
        if is_under(normalised, framework) || is_under(framework, normalised) {
            return Err(MountError::FrameworkPrefix {
                prefix: raw.to_owned(),
                framework,
                owner,
            });
        }
    }
    Ok(normalised)
}

/// Allows only `A-Z a-z 0-9 / _ . ~ -`: unreserved characters and `/`, so that a declared path
/// has exactly one spelling on the wire.
pub(crate) fn check_characters(path: &str) -> Result<(), InvalidReason> {
    match path
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '~' | '-')))
    {
        Some(c) => Err(InvalidReason::Character(c)),
        None => Ok(()),
    }
}

/// Checks `/`-separated segments (no leading or trailing slash expected): none empty, none `.`
/// or `..`.
pub(crate) fn check_segments(relative: &str) -> Result<(), InvalidReason> {
    for segment in relative.split('/') {
        match segment {
            "" => return Err(InvalidReason::EmptySegment),
            "." | ".." => return Err(InvalidReason::DotSegment),
            _ => {}
        }
    }
    Ok(())
}

/// Percent-decodes a request path once and checks that the result is an unambiguous absolute
/// path (see [`PrefixTable::classify`]).
fn decode_path(path: &str) -> Result<Cow<'_, str>, InvalidPath> {
    if !path.starts_with('/') {
        return Err(InvalidPath::NotAbsolute);
    }
    // `percent_decode_str` passes malformed escapes through unchanged; refuse them instead.
    let bytes = path.as_bytes();
    for (i, _) in path.match_indices('%') {
        let well_formed =
            matches!(bytes.get(i + 1..i + 3), Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit());
        if !well_formed {
            return Err(InvalidPath::BadEscape);
        }
    }
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| InvalidPath::NotUtf8)?;
    if decoded.chars().any(char::is_control) {
        return Err(InvalidPath::ControlCharacter);
    }
    let relative = &decoded[1..];
    if !relative.is_empty() {
        // One trailing slash is not an empty segment; `//` is.
        let relative = relative.strip_suffix('/').unwrap_or(relative);
        check_segments(relative).map_err(|reason| match reason {
            InvalidReason::DotSegment => InvalidPath::DotSegment,
            _ => InvalidPath::EmptySegment,
        })?;
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a table from `prefixes` and compares the outcome with `expected` (the sorted
    /// prefixes, or the error).
    #[track_caller]
    fn check(prefixes: &[&str], expected: Result<&[&str], MountError>) {
        match (PrefixTable::new(prefixes), expected) {
            (Ok(table), Ok(want)) => {
                assert_eq!(table.prefixes().collect::<Vec<_>>(), want, "prefixes {prefixes:?}");
            }
            // `MountError` is not `PartialEq` (later variants may carry I/O errors).
            (Err(err), Err(want)) => {
                assert_eq!(format!("{err:?}"), format!("{want:?}"), "prefixes {prefixes:?}");
            }
            (got, expected) => panic!("prefixes {prefixes:?}: got {got:?}, expected {expected:?}"),
        }
    }

    fn invalid(prefix: &str, reason: InvalidReason) -> MountError {
        MountError::InvalidPrefix {
            prefix: prefix.to_owned(),
            reason,
        }
    }

    fn reserved(prefix: &str, reserved: &'static str) -> MountError {
        MountError::ReservedPrefix {
            prefix: prefix.to_owned(),
            reserved,
        }
    }

    fn framework(prefix: &str) -> MountError {
        MountError::FrameworkPrefix {
            prefix: prefix.to_owned(),
            framework: "/accounts",
            owner: "duet-auth",
        }
    }

    #[test]
    fn valid_tables() {
        check(&[], Ok(&["/accounts"]));
        check(&["/api"], Ok(&["/accounts", "/api"]));
        check(&["/api/"], Ok(&["/accounts", "/api"]));
        check(
            &["/webhooks", "/api/v1", "/api/v2"],
            Ok(&["/accounts", "/api/v1", "/api/v2", "/webhooks"]),
        );
        check(
            &["/api", "/apix", "/api-x"],
            Ok(&["/accounts", "/api", "/api-x", "/apix"]),
        );
        check(&["/a_b.c~d-e/F9"], Ok(&["/a_b.c~d-e/F9", "/accounts"]));
        check(
            &["/.well-known", "/...", "/v1.0"],
            Ok(&["/...", "/.well-known", "/accounts", "/v1.0"]),
        );
        check(
            &["/_events", "/_duetx", "/_", "/account"],
            Ok(&["/_", "/_duetx", "/_events", "/account", "/accounts"]),
        );
        check(&["/API", "/api"], Ok(&["/API", "/accounts", "/api"]));
        assert_eq!(PrefixTable::default(), PrefixTable::new(Vec::<String>::new()).unwrap());
        // any `AsRef<str>` iterator
        let owned = vec![String::from("/api")];
        assert!(PrefixTable::new(&owned).is_ok());
        assert!(PrefixTable::new(owned).is_ok());
    }

    #[test]
    fn rejections() {
        use InvalidReason::*;
        check(&[""], Err(MountError::EmptyPrefix));
        check(&["/"], Err(MountError::RootPrefix));
        check(&["api"], Err(invalid("api", NotAbsolute)));
        check(&["api/"], Err(invalid("api/", NotAbsolute)));
        check(&["//"], Err(invalid("//", EmptySegment)));
        check(&["//api"], Err(invalid("//api", EmptySegment)));
        check(&["/api//v1"], Err(invalid("/api//v1", EmptySegment)));
        check(&["/api//"], Err(invalid("/api//", EmptySegment)));
        check(&["/api/.."], Err(invalid("/api/..", DotSegment)));
        check(&["/../api"], Err(invalid("/../api", DotSegment)));
        check(&["/api/./v1"], Err(invalid("/api/./v1", DotSegment)));
        check(&["/."], Err(invalid("/.", DotSegment)));
        check(&["/api?x=1"], Err(invalid("/api?x=1", Character('?'))));
        check(&["/api#top"], Err(invalid("/api#top", Character('#'))));
        check(&["/%61pi"], Err(invalid("/%61pi", Character('%'))));
        check(&["/my api"], Err(invalid("/my api", Character(' '))));
        check(&["/api\t"], Err(invalid("/api\t", Character('\t'))));
        check(&[" /api"], Err(invalid(" /api", Character(' '))));
        check(&["/api/{id}"], Err(invalid("/api/{id}", Character('{'))));
        check(&["/api}"], Err(invalid("/api}", Character('}'))));
        check(&["/api*"], Err(invalid("/api*", Character('*'))));
        check(&["/api:v1"], Err(invalid("/api:v1", Character(':'))));
        check(&["/api\\v1"], Err(invalid("/api\\v1", Character('\\'))));
        check(&["/café"], Err(invalid("/café", Character('é'))));
        check(&["/api", "/api"], Err(MountError::DuplicatePrefix("/api".into())));
        check(&["/api", "/api/"], Err(MountError::DuplicatePrefix("/api/".into())));
        check(
            &["/api/", "/x", "/api"],
            Err(MountError::DuplicatePrefix("/api".into())),
        );
        check(&["/api", "/api/v1"], Err(overlap("/api", "/api/v1")));
        check(&["/api/v1/", "/api"], Err(overlap("/api", "/api/v1/")));
        check(&["/a/b/c", "/a"], Err(overlap("/a", "/a/b/c")));
        check(&["/_event"], Err(reserved("/_event", "/_event")));
        check(&["/_event/"], Err(reserved("/_event/", "/_event")));
        check(&["/_event/x"], Err(reserved("/_event/x", "/_event")));
        check(&["/_health"], Err(reserved("/_health", "/_health")));
        check(&["/_duet"], Err(reserved("/_duet", "/_duet")));
        check(&["/_duet/x"], Err(reserved("/_duet/x", "/_duet")));
        check(&["/accounts"], Err(framework("/accounts")));
        check(&["/accounts/"], Err(framework("/accounts/")));
        check(&["/accounts/extra"], Err(framework("/accounts/extra")));
        // the first problem in declaration order wins
        check(&["/ok", "bad", "/_event"], Err(invalid("bad", NotAbsolute)));
    }

    #[test]
    fn error_messages_name_the_prefix_and_the_reason() {
        let message = |prefixes: &[&str]| PrefixTable::new(prefixes).unwrap_err().to_string();
        assert_eq!(
            message(&["/api?x"]),
            "backend prefix `/api?x` is invalid: it contains `?`; only `A-Z a-z 0-9 / _ . ~ -` are allowed"
        );
        assert_eq!(
            message(&["/my api"]),
            "backend prefix `/my api` is invalid: it contains the character ' '; only `A-Z a-z 0-9 / _ . ~ -` are allowed"
        );
        assert_eq!(
            message(&["/api", "/api/v1"]),
            "backend prefixes `/api` and `/api/v1` overlap: `/api/v1` lies under `/api`; declare only `/api`"
        );
        assert_eq!(
            message(&["/_duet/x"]),
            "backend prefix `/_duet/x` collides with `/_duet`, a path reserved for the framework"
        );
        assert_eq!(
            message(&["/accounts"]),
            "backend prefix `/accounts` collides with `/accounts`, which duet-auth serves"
        );
        assert!(message(&["/"]).contains("`/`"));
        assert!(message(&["/x/", "/x"]).contains("`/x`"));
    }

    #[test]
    fn classification() {
        let table = PrefixTable::new(["/api", "/webhooks/"]).unwrap();
        let cases: &[(&str, Target<'_>)] = &[
            ("/api", Target::Backend("/api")),
            ("/api/", Target::Backend("/api")),
            ("/api/x", Target::Backend("/api")),
            ("/api/x/y/", Target::Backend("/api")),
            ("/apix", Target::CatchAll),
            ("/api-x", Target::CatchAll),
            ("/API", Target::CatchAll),
            ("/API/x", Target::CatchAll),
            ("/", Target::CatchAll),
            ("/orders/42", Target::CatchAll),
            ("/webhooks", Target::Backend("/webhooks")),
            ("/webhooks/stripe", Target::Backend("/webhooks")),
            ("/accounts/login/", Target::Backend("/accounts")),
            ("/accounts", Target::Backend("/accounts")),
            ("/accountsx", Target::CatchAll),
            ("/_event", Target::Reserved("/_event")),
            ("/_event/", Target::Reserved("/_event")),
            ("/_eventx", Target::CatchAll),
            ("/_event/x", Target::CatchAll),
            ("/_health", Target::Reserved("/_health")),
            ("/_health/", Target::Reserved("/_health")),
            ("/_duet", Target::Reserved("/_duet")),
            ("/_duet/", Target::Reserved("/_duet")),
            ("/_duet/app.js", Target::Reserved("/_duet")),
            ("/_duetx", Target::CatchAll),
            // percent-encoding: classified on the decoded path
            ("/%61pi/x", Target::Backend("/api")),
            ("/%61%70%69", Target::Backend("/api")),
            ("/api%2Fx", Target::Backend("/api")),
            ("/%5Fevent", Target::Reserved("/_event")),
            ("/_duet%2Fapp.js", Target::Reserved("/_duet")),
            ("/%41PI", Target::CatchAll),
            ("/%2561pi", Target::CatchAll),
            ("/caf%C3%A9", Target::CatchAll),
            ("/a%20b", Target::CatchAll),
            // unclassifiable
            ("", Target::Invalid(InvalidPath::NotAbsolute)),
            ("api", Target::Invalid(InvalidPath::NotAbsolute)),
            ("*", Target::Invalid(InvalidPath::NotAbsolute)),
            ("//api", Target::Invalid(InvalidPath::EmptySegment)),
            ("/%2Fapi", Target::Invalid(InvalidPath::EmptySegment)),
            ("/api//x", Target::Invalid(InvalidPath::EmptySegment)),
            ("//", Target::Invalid(InvalidPath::EmptySegment)),
            ("/api/%2e%2e/x", Target::Invalid(InvalidPath::DotSegment)),
            ("/api/../x", Target::Invalid(InvalidPath::DotSegment)),
            ("/x/../api", Target::Invalid(InvalidPath::DotSegment)),
            ("/api/.", Target::Invalid(InvalidPath::DotSegment)),
            ("/%2E/api", Target::Invalid(InvalidPath::DotSegment)),
            ("/api%zz", Target::Invalid(InvalidPath::BadEscape)),
            ("/api%4", Target::Invalid(InvalidPath::BadEscape)),
            ("/api%", Target::Invalid(InvalidPath::BadEscape)),
            ("/%FF", Target::Invalid(InvalidPath::NotUtf8)),
            ("/api%00", Target::Invalid(InvalidPath::ControlCharacter)),
            ("/x%0D%0Ay", Target::Invalid(InvalidPath::ControlCharacter)),
        ];
        for &(path, expected) in cases {
            assert_eq!(table.classify(path), expected, "path {path:?}");
        }
    }

    #[test]
    fn owners() {
        let table = PrefixTable::new(["/api"]).unwrap();
        assert_eq!(table.owner_of("/api/orders"), Some(APP_OWNER));
        assert_eq!(table.owner_of("/accounts/me/"), Some(ACCOUNTS_OWNER));
        assert_eq!(table.owner_of("/_duet/app.js"), None);
        assert_eq!(table.owner_of("/orders"), None);
        assert_eq!(table.owner_of("//api"), None);
    }

    #[test]
    fn routes_under_prefixes() {
        let table = PrefixTable::new(["/api", "/hooks/v1"]).unwrap();
        let cases: &[(&str, Option<&str>)] = &[
            ("/api", Some("/api")),
            ("/api/", Some("/api")),
            ("/api/v1/orders/{id}/", Some("/api")),
            ("/api/{id}", Some("/api")),
            ("/api/v{n}", Some("/api")),
            ("/api/{tail:.*}", Some("/api")),
            ("/api{tail}*", None),
            ("/{api}/x", None),
            ("/apix/orders", None),
            ("/hooks/v1/{provider}", Some("/hooks/v1")),
            ("/hooks/{v}/stripe", None),
            ("/hooks", None),
            ("/accounts/login/", Some("/accounts")),
            ("/_health", None),
            ("/", None),
            ("", None),
            ("{x}", None),
        ];
        for &(pattern, expected) in cases {
            assert_eq!(table.contains_route(pattern), expected, "pattern {pattern:?}");
        }
    }

    #[test]
    fn display_lists_prefixes_with_owners_then_reserved_paths() {
        let table = PrefixTable::new(["/api", "/webhooks"]).unwrap();
        assert_eq!(
            table.to_string(),
            "/accounts  duet-auth\n\
             /api       app\n\
             /webhooks  app\n\
             /_event    reserved\n\
             /_health   reserved\n\
             /_duet     reserved, with everything under it"
        );
    }
}
