//! Embedded static assets for the SPA catch-all: content-hashed files under a base directory
//! and a few files at fixed paths, served from memory with validators and cache headers.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::body::{self, BodySize, MessageBody};
use actix_web::http::Method;
use actix_web::http::header::{
    self, EntityTag, HeaderValue, HttpDate, IfModifiedSince, IfNoneMatch, TryIntoHeaderValue,
};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use mime_guess::mime;
use sha2::{Digest, Sha256};

use crate::compress::{Precompressed, negotiate};
use crate::error::{InvalidReason, MountError};
use crate::prefix::{check_characters, check_segments};

/// `Cache-Control` of content-hashed files: their URL changes whenever their content does.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of files at fixed paths: cache, but revalidate (by `ETag`) before each use.
const CACHE_REVALIDATE: &str = "no-cache";

/// The methods an asset answers.
const ALLOWED_METHODS: &str = "GET, HEAD";

/// How many hex digits of the content's SHA-256 go into a hashed URL (64 bits).
const URL_HASH_LEN: usize = 16;

/// An asset's content, as accepted by [`Assets::hashed`] and [`Assets::file`].
///
/// Converts from what `include_bytes!` and `include_str!` give (`&'static [u8; N]`,
/// `&'static str`) and from `&'static [u8]` without copying, and from `Vec<u8>`, `String` and
/// [`Bytes`] without copying either.
#[derive(Debug, Clone)]
pub struct AssetBytes(Bytes);

impl From<Bytes> for AssetBytes {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<&'static [u8]> for AssetBytes {
    fn from(bytes: &'static [u8]) -> Self {
        Self(Bytes::from_static(bytes))
    }
}

impl<const N: usize> From<&'static [u8; N]> for AssetBytes {
    fn from(bytes: &'static [u8; N]) -> Self {
        Self(Bytes::from_static(bytes))
    }
}

impl From<&'static str> for AssetBytes {
    fn from(text: &'static str) -> Self {
        Self(Bytes::from_static(text.as_bytes()))
    }
}

impl From<Vec<u8>> for AssetBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::from(bytes))
    }
}

impl From<String> for AssetBytes {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

/// One registered file, with its response headers computed once.
#[derive(Clone)]
struct Asset {
    bytes: Bytes,
    content_type: String,
    content_type_header: HeaderValue,
    etag: EntityTag,
    etag_header: HeaderValue,
    cache_control: &'static str,
    /// Its brotli and gzip forms, made once here rather than per request.
    precompressed: Precompressed,
}

/// An in-memory set of static files, built at start-up and served by
/// [`respond`](Self::respond).
///
/// Two kinds of file:
///
/// - **Hashed** ([`hashed`](Self::hashed)): served at a URL that contains the first 16 hex
///   digits of the SHA-256 of the content, under a base directory (default
///   [`DEFAULT_BASE`](Self::DEFAULT_BASE)): `app.css` → `/static/app.3f2a1b9c0d7e6f54.css`.
///   The URL changes whenever the content does, so these are cached for a year as
///   `immutable`. [`url`](Self::url) gives the URL to put in HTML.
/// - **Fixed** ([`file`](Self::file)): served at the path given (`/favicon.ico`,
///   `/robots.txt`) with `Cache-Control: no-cache`, so clients revalidate with the `ETag`.
///
/// Every response carries `Content-Type` (from the extension; `; charset=utf-8` for text,
/// JavaScript and XML types; `application/octet-stream` when unknown),
/// `X-Content-Type-Options: nosniff`, a strong `ETag` (the content's SHA-256 in hex) and
/// `Last-Modified`. Textual files of 1 KiB or more are compressed (brotli and gzip, at the
/// best settings) once, when registered, and sent compressed to clients that accept it,
/// with `Vary: Accept-Encoding` ([`compress`](crate::compress)). Embedded bytes have no modification time of their own, so
/// `Last-Modified` is the time this `Assets` was created (in practice, process start, to the
/// second): it only moves forward across deploys, and the `ETag` does the precise work.
///
/// # Request paths
///
/// A request is answered only when its path (`HttpRequest::path()`: still percent-encoded,
/// without the query string) is **byte for byte** a registered URL. Nothing is normalised,
/// decoded or resolved, and nothing is read from the filesystem, so `/static/../Cargo.toml`,
/// `/static/%2e%2e/x`, `/static//app.css`, `/favicon.ico/` or `/%66avicon.ico` can only ever
/// be [`None`]. Registered paths are restricted to `A-Z a-z 0-9 / _ . ~ -` without empty or
/// dot segments, so each has exactly one spelling that browsers send as is. The query string
/// is ignored (`/favicon.ico?v=2` is `/favicon.ico`).
///
/// Which URLs may be served (say, not under a backend prefix) is for the caller to check,
/// with [`iter`](Self::iter).
///
/// Build one `Assets` at start-up and share it (it is cheap to clone; the bytes are
/// reference-counted or static): one built per worker would give each worker its own
/// `Last-Modified`.
///
/// # Example
///
/// ```
/// use actix_web::test::TestRequest;
/// use duet_mount::Assets;
///
/// let assets = Assets::new()
///     .hashed("app.css", "body { margin: 0 }") // or include_str!("../ui/app.css")
///     .file("/robots.txt", b"User-agent: *\n");
///
/// let url = assets.url("app.css").unwrap();
/// assert!(url.starts_with("/static/app.") && url.ends_with(".css"));
///
/// let response = assets.respond(&TestRequest::get().uri(url).to_http_request()).unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers().get("content-type").unwrap(), "text/css; charset=utf-8");
/// assert_eq!(response.headers().get("cache-control").unwrap(), "public, max-age=31536000, immutable");
///
/// assert!(assets.respond(&TestRequest::get().uri("/index.html").to_http_request()).is_none());
/// ```
#[derive(Clone)]
pub struct Assets {
    /// The hashed files' directory: no trailing slash, `""` for the root.
    base: String,
    /// URL → file.
    files: BTreeMap<String, Asset>,
    /// Logical name → URL, for hashed files.
    urls: BTreeMap<String, String>,
    /// When this set was created, to the second.
    last_modified: SystemTime,
    last_modified_header: HeaderValue,
}

impl Assets {
    /// Where hashed files are served unless [`with_base`](Self::with_base) says otherwise.
    pub const DEFAULT_BASE: &str = "/static";

    /// An empty set whose hashed files go under [`DEFAULT_BASE`](Self::DEFAULT_BASE).
    pub fn new() -> Self {
        Self::with_checked_base(Self::DEFAULT_BASE.to_owned())
    }

    /// An empty set whose hashed files go under `base` (such as `/assets`; `/` for the root;
    /// one trailing slash is ignored).
    ///
    /// # Panics
    ///
    /// When `base` is not a valid path; see [`try_with_base`](Self::try_with_base).
    #[track_caller]
    pub fn with_base(base: &str) -> Self {
        match Self::try_with_base(base) {
            Ok(assets) => assets,
            Err(err) => panic!("{err}"),
        }
    }

    /// An empty set whose hashed files go under `base`.
    ///
    /// # Errors
    ///
    /// [`MountError::InvalidAssetPath`] when `base` does not start with `/`, contains a
    /// character outside `A-Z a-z 0-9 / _ . ~ -`, an empty segment or a dot segment.
    pub fn try_with_base(base: &str) -> Result<Self, MountError> {
        let invalid = |reason| MountError::InvalidAssetPath {
            path: base.to_owned(),
            reason,
        };
        check_characters(base).map_err(invalid)?;
        let relative = base
            .strip_prefix('/')
            .ok_or_else(|| invalid(InvalidReason::NotAbsolute))?;
        let relative = relative.strip_suffix('/').unwrap_or(relative);
        if relative.is_empty() && base.len() > 1 {
            return Err(invalid(InvalidReason::EmptySegment)); // `//`
        }
        if !relative.is_empty() {
            check_segments(relative).map_err(invalid)?;
        }
        let base = if relative.is_empty() {
            String::new()
        } else {
            format!("/{relative}")
        };
        Ok(Self::with_checked_base(base))
    }

    fn with_checked_base(base: String) -> Self {
        let last_modified = whole_seconds(SystemTime::now());
        let last_modified_header = HttpDate::from(last_modified)
            .try_into_value()
            .expect("an HTTP date is a valid header value");
        Self {
            base,
            files: BTreeMap::new(),
            urls: BTreeMap::new(),
            last_modified,
            last_modified_header,
        }
    }

    /// Adds a content-hashed file. `logical_name` is relative to the base directory and may
    /// have directories (`app.css`, `fonts/inter.woff2`); it is served at
    /// `{base}/{dirs}{stem}.{hash}.{ext}`, where the extension is what follows the file
    /// name's last dot (a name without one gets `{base}/{dirs}{name}.{hash}`).
    ///
    /// # Panics
    ///
    /// When the name is invalid or already registered; see [`try_hashed`](Self::try_hashed).
    #[track_caller]
    pub fn hashed(self, logical_name: &str, bytes: impl Into<AssetBytes>) -> Self {
        match self.try_hashed(logical_name, bytes) {
            Ok(assets) => assets,
            Err(err) => panic!("{err}"),
        }
    }

    /// Adds a content-hashed file; see [`hashed`](Self::hashed).
    ///
    /// # Errors
    ///
    /// [`MountError::InvalidAssetPath`] when `logical_name` is empty, starts or ends with
    /// `/`, contains a character outside `A-Z a-z 0-9 / _ . ~ -`, an empty segment or a dot
    /// segment; [`MountError::DuplicateAsset`] when the name, or the URL it gets, is already
    /// registered.
    pub fn try_hashed(mut self, logical_name: &str, bytes: impl Into<AssetBytes>) -> Result<Self, MountError> {
        let invalid = |reason| MountError::InvalidAssetPath {
            path: logical_name.to_owned(),
            reason,
        };
        check_characters(logical_name).map_err(invalid)?;
        if logical_name.starts_with('/') {
            return Err(invalid(InvalidReason::NotRelative));
        }
        if logical_name.ends_with('/') {
            return Err(invalid(InvalidReason::TrailingSlash));
        }
        check_segments(logical_name).map_err(invalid)?;
        if self.urls.contains_key(logical_name) {
            return Err(MountError::DuplicateAsset(logical_name.to_owned()));
        }

        let AssetBytes(bytes) = bytes.into();
        let digest = hex::encode(Sha256::digest(&bytes));
        let (dirs, file_name) = match logical_name.rsplit_once('/') {
            Some((dirs, file_name)) => (&logical_name[..=dirs.len()], file_name),
            None => ("", logical_name),
        };
        let hash = &digest[..URL_HASH_LEN];
        let url = match file_name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => {
                format!("{}/{dirs}{stem}.{hash}.{ext}", self.base)
            }
            _ => format!("{}/{dirs}{file_name}.{hash}", self.base),
        };
        let asset = Asset::new(bytes, &digest, logical_name, CACHE_IMMUTABLE);
        self.insert(url.clone(), asset)?;
        self.urls.insert(logical_name.to_owned(), url);
        Ok(self)
    }

    /// Adds a file served at the fixed path `url_path` (such as `/favicon.ico`), with
    /// `Cache-Control: no-cache`.
    ///
    /// # Panics
    ///
    /// When the path is invalid or already registered; see [`try_file`](Self::try_file).
    #[track_caller]
    pub fn file(self, url_path: &str, bytes: impl Into<AssetBytes>) -> Self {
        match self.try_file(url_path, bytes) {
            Ok(assets) => assets,
            Err(err) => panic!("{err}"),
        }
    }

    /// Adds a file served at a fixed path; see [`file`](Self::file).
    ///
    /// # Errors
    ///
    /// [`MountError::InvalidAssetPath`] when `url_path` does not start with `/`, ends with
    /// `/`, contains a character outside `A-Z a-z 0-9 / _ . ~ -`, an empty segment or a dot
    /// segment; [`MountError::DuplicateAsset`] when it is already registered.
    pub fn try_file(mut self, url_path: &str, bytes: impl Into<AssetBytes>) -> Result<Self, MountError> {
        let invalid = |reason| MountError::InvalidAssetPath {
            path: url_path.to_owned(),
            reason,
        };
        check_characters(url_path).map_err(invalid)?;
        let relative = url_path
            .strip_prefix('/')
            .ok_or_else(|| invalid(InvalidReason::NotAbsolute))?;
        if relative.is_empty() || relative.ends_with('/') {
            return Err(invalid(InvalidReason::TrailingSlash));
        }
        check_segments(relative).map_err(invalid)?;

        let AssetBytes(bytes) = bytes.into();
        let digest = hex::encode(Sha256::digest(&bytes));
        let asset = Asset::new(bytes, &digest, url_path, CACHE_REVALIDATE);
        self.insert(url_path.to_owned(), asset)?;
        Ok(self)
    }

    fn insert(&mut self, url: String, asset: Asset) -> Result<(), MountError> {
        if self.files.contains_key(&url) {
            return Err(MountError::DuplicateAsset(url));
        }
        self.files.insert(url, asset);
        Ok(())
    }

    /// The directory hashed files are served under (`""` for the root).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of the hashed file registered as `logical_name`, for use in HTML.
    pub fn url(&self, logical_name: &str) -> Option<&str> {
        self.urls.get(logical_name).map(String::as_str)
    }

    /// Whether `path` is exactly the URL of a registered file.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is registered.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every file as (URL, `Content-Type`), sorted by URL.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .map(|(url, asset)| (url.as_str(), asset.content_type.as_str()))
    }

    /// The `Last-Modified` of every file: when this set was created, to the second.
    pub fn last_modified(&self) -> SystemTime {
        self.last_modified
    }

    /// Answers a request for a registered file, or returns `None` when the request path names
    /// none (the caller then serves the SPA shell or a 404).
    ///
    /// - `GET`: 200 with the file. `HEAD`: the same status and headers, and a body that is
    ///   empty but sized like the file's, so that actix sends the file's `Content-Length`.
    /// - Conditional `GET`/`HEAD`: 304 with `ETag` and `Cache-Control` and no body when
    ///   `If-None-Match` is `*` or lists the `ETag` (weak comparison, so `W/"…"` matches too),
    ///   or, only when the request has no `If-None-Match`, when `If-Modified-Since` is not
    ///   earlier than `Last-Modified`. An unparsable `If-None-Match` matches nothing; an
    ///   unparsable `If-Modified-Since` is ignored.
    /// - Any other method: 405 with `Allow: GET, HEAD`.
    pub fn respond(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let asset = self.files.get(req.path())?;
        let method = req.method();
        if method != Method::GET && method != Method::HEAD {
            return Some(
                HttpResponse::MethodNotAllowed()
                    .insert_header((header::ALLOW, ALLOWED_METHODS))
                    .finish(),
            );
        }
        if self.not_modified(asset, req) {
            return Some(
                HttpResponse::NotModified()
                    .insert_header((header::ETAG, asset.etag_header.clone()))
                    .insert_header((header::CACHE_CONTROL, asset.cache_control))
                    // No body, and no `Content-Length` of 0 either.
                    .body(body::None::new()),
            );
        }

        let mut response = HttpResponse::Ok();
        response
            .insert_header((header::CONTENT_TYPE, asset.content_type_header.clone()))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::ETAG, asset.etag_header.clone()))
            .insert_header((header::LAST_MODIFIED, self.last_modified_header.clone()))
            .insert_header((header::CACHE_CONTROL, asset.cache_control));
        // The brotli or gzip form made at registration, when the client accepts it; a
        // response with `Content-Encoding` is left alone by the compression middleware.
        let mut bytes = &asset.bytes;
        if asset.precompressed.any() {
            response.insert_header((header::VARY, "accept-encoding"));
            let encoding = negotiate(req);
            if let Some(encoded) = asset.precompressed.get(encoding) {
                response.insert_header((header::CONTENT_ENCODING, encoding.to_header_value()));
                bytes = encoded;
            }
        }
        // No explicit `Content-Length`: actix derives it from the body's size.
        Some(if method == Method::HEAD {
            response.body(HeadBody(bytes.len() as u64))
        } else {
            response.body(bytes.clone())
        })
    }

    /// Whether a `GET` or `HEAD` is answered with 304 (RFC 9110, section 13.2.2).
    fn not_modified(&self, asset: &Asset, req: &HttpRequest) -> bool {
        if req.headers().contains_key(header::IF_NONE_MATCH) {
            return match req.get_header::<IfNoneMatch>() {
                Some(IfNoneMatch::Any) => true,
                Some(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(&asset.etag)),
                None => false,
            };
        }
        match req.get_header::<IfModifiedSince>() {
            Some(IfModifiedSince(since)) => self.last_modified <= SystemTime::from(since),
            None => false,
        }
    }
}

impl Default for Assets {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Assets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assets")
            .field("base", &self.base)
            .field(
                "files",
                &self
                    .files
                    .iter()
                    .map(|(url, asset)| (url, asset.bytes.len()))
                    .collect::<Vec<_>>(),
            )
            .field("last_modified", &self.last_modified)
            .finish()
    }
}

impl Asset {
    /// `type_from` is the name whose extension gives the `Content-Type`.
    fn new(bytes: Bytes, digest: &str, type_from: &str, cache_control: &'static str) -> Self {
        let content_type = content_type(type_from);
        let content_type_header =
            HeaderValue::from_str(&content_type).expect("a guessed MIME type is a valid header value");
        let etag = EntityTag::new_strong(digest.to_owned());
        let etag_header = HeaderValue::from_str(&etag.to_string()).expect("a hex ETag is a valid header value");
        Self {
            precompressed: Precompressed::of(&bytes, &content_type),
            bytes,
            content_type,
            content_type_header,
            etag,
            etag_header,
            cache_control,
        }
    }
}

/// The `Content-Type` for a file name: guessed from its extension, with `; charset=utf-8` for
/// text, JavaScript and XML types (JSON defines no charset parameter), and
/// `application/octet-stream` when the extension is unknown.
fn content_type(name: &str) -> String {
    let Some(guess) = mime_guess::from_path(name).first() else {
        return mime::APPLICATION_OCTET_STREAM.essence_str().to_owned();
    };
    let textual = guess.type_() == mime::TEXT
        || guess.suffix() == Some(mime::XML)
        || (guess.type_() == mime::APPLICATION
            && matches!(guess.subtype().as_str(), "javascript" | "ecmascript" | "xml"));
    if textual {
        format!("{}; charset=utf-8", guess.essence_str())
    } else {
        guess.essence_str().to_owned()
    }
}

/// `time` truncated to whole seconds, the resolution of HTTP dates, so that a
/// `Last-Modified` sent back in `If-Modified-Since` compares equal.
fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since_epoch) => UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs()),
        Err(_) => UNIX_EPOCH,
    }
}

/// The body of a `HEAD` response: no bytes, but the size of the `GET` body, from which actix
/// writes `Content-Length` (and which it never tries to send for a `HEAD`).
struct HeadBody(u64);

impl MessageBody for HeadBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.0)
    }

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;
    use actix_web::http::StatusCode;
    use actix_web::http::header::{HeaderMap, HeaderName};
    use actix_web::test::TestRequest;

    use super::*;

    const CSS: &str = "body { margin: 0 }";
    const ICO: &[u8] = &[0, 0, 1, 0, 1, 0, 16, 16];

    fn assets() -> Assets {
        Assets::new()
            .hashed("app.css", CSS)
            .hashed("js/app.min.js", b"console.log(1)")
            .file("/favicon.ico", ICO)
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// A response taken apart: status, headers, body size as announced, body bytes.
    struct Reply {
        status: StatusCode,
        headers: HeaderMap,
        size: BodySize,
        body: Bytes,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).map(|value| value.to_str().unwrap())
        }
    }

    async fn send(assets: &Assets, request: TestRequest) -> Option<Reply> {
        let response = assets.respond(&request.to_http_request())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body();
        let size = body.size();
        let body = to_bytes(body).await.unwrap();
        Some(Reply {
            status,
            headers,
            size,
            body,
        })
    }

    async fn get(assets: &Assets, uri: &str) -> Reply {
        send(assets, TestRequest::get().uri(uri)).await.unwrap()
    }

    fn with(method: Method, uri: &str, headers: &[(HeaderName, &str)]) -> TestRequest {
        headers.iter().fold(
            TestRequest::default().method(method).uri(uri),
            |request, (name, value)| request.append_header((name.clone(), *value)),
        )
    }

    fn sorted(headers: &HeaderMap) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    }

    fn hash_of(url: &str) -> &str {
        let file_name = url.rsplit('/').next().unwrap();
        let parts: Vec<&str> = file_name.split('.').collect();
        parts.iter().copied().find(|part| part.len() == URL_HASH_LEN).unwrap()
    }

    #[actix_web::test]
    async fn content_types() {
        let cases: &[(&str, &str)] = &[
            ("/a.css", "text/css; charset=utf-8"),
            ("/a.html", "text/html; charset=utf-8"),
            ("/a.txt", "text/plain; charset=utf-8"),
            ("/a.svg", "image/svg+xml; charset=utf-8"),
            ("/a.png", "image/png"),
            ("/a.json", "application/json"),
            ("/a.ico", "image/x-icon"),
            ("/a.woff2", "font/woff2"),
            ("/a.wasm", "application/wasm"),
            ("/a.unknownext", "application/octet-stream"),
            ("/LICENSE", "application/octet-stream"),
        ];
        let assets = cases
            .iter()
            .fold(Assets::new(), |assets, (path, _)| assets.file(path, *path));
        for &(path, expected) in cases {
            assert_eq!(
                get(&assets, path).await.header("content-type"),
                Some(expected),
                "{path}"
            );
        }
        // JavaScript is text, whichever name mime_guess gives it.
        let js = content_type("app.js");
        assert!(
            [
                "application/javascript; charset=utf-8",
                "text/javascript; charset=utf-8"
            ]
            .contains(&js.as_str()),
            "{js}"
        );
        // Hashed files take their type from the logical name.
        let assets = Assets::new().hashed("app.css", CSS).hashed("logo.svg", "<svg/>");
        let types: Vec<&str> = assets.iter().map(|(_, content_type)| content_type).collect();
        assert_eq!(types, ["text/css; charset=utf-8", "image/svg+xml; charset=utf-8"]);
    }

    #[test]
    fn hashed_urls() {
        let assets = assets();
        let css_hash = &sha256_hex(CSS.as_bytes())[..URL_HASH_LEN];
        assert_eq!(
            assets.url("app.css"),
            Some(format!("/static/app.{css_hash}.css").as_str())
        );
        let js_hash = &sha256_hex(b"console.log(1)")[..URL_HASH_LEN];
        assert_eq!(
            assets.url("js/app.min.js"),
            Some(format!("/static/js/app.min.{js_hash}.js").as_str())
        );
        assert_eq!(assets.url("favicon.ico"), None, "fixed files have no logical name");
        assert_eq!(assets.url("app"), None);

        let url = assets.url("app.css").unwrap();
        let hash = hash_of(url);
        assert!(
            hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{url}"
        );

        // Names without an extension, or whose only dot starts the name.
        let assets = Assets::new().hashed("LICENSE", "MIT").hashed("dir/.hidden", "x");
        let hash = &sha256_hex(b"MIT")[..URL_HASH_LEN];
        assert_eq!(assets.url("LICENSE"), Some(format!("/static/LICENSE.{hash}").as_str()));
        let hash = &sha256_hex(b"x")[..URL_HASH_LEN];
        assert_eq!(
            assets.url("dir/.hidden"),
            Some(format!("/static/dir/.hidden.{hash}").as_str())
        );

        // Other bases.
        let at = |base: &str| {
            Assets::with_base(base)
                .hashed("app.css", CSS)
                .url("app.css")
                .unwrap()
                .to_owned()
        };
        assert_eq!(at("/assets"), format!("/assets/app.{css_hash}.css"));
        assert_eq!(at("/assets/"), format!("/assets/app.{css_hash}.css"));
        assert_eq!(at("/a/b"), format!("/a/b/app.{css_hash}.css"));
        assert_eq!(at("/"), format!("/app.{css_hash}.css"));
        assert_eq!(Assets::with_base("/").base(), "");
        assert_eq!(Assets::new().base(), "/static");
    }

    #[test]
    fn hashed_urls_follow_the_content() {
        let url = |bytes: &'static str| {
            Assets::new()
                .hashed("app.css", bytes)
                .url("app.css")
                .unwrap()
                .to_owned()
        };
        assert_eq!(url(CSS), url(CSS));
        assert_eq!(
            url("a"),
            Assets::new().hashed("app.css", b"a".to_vec()).url("app.css").unwrap()
        );
        assert_ne!(url(CSS), url("body { margin: 1px }"));
        assert_ne!(hash_of(&url("a")), hash_of(&url("b")));
        // Same content under two names: two files.
        let assets = Assets::new().hashed("a.css", CSS).hashed("b.css", CSS);
        assert_eq!(assets.len(), 2);
        assert_eq!(
            hash_of(assets.url("a.css").unwrap()),
            hash_of(assets.url("b.css").unwrap())
        );
    }

    #[actix_web::test]
    async fn get_serves_the_file_with_cache_headers() {
        let assets = assets();
        let css = get(&assets, assets.url("app.css").unwrap()).await;
        assert_eq!(css.status, StatusCode::OK);
        assert_eq!(css.body, CSS.as_bytes());
        assert_eq!(css.size, BodySize::Sized(CSS.len() as u64));
        assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
        assert_eq!(css.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(
            css.header("etag"),
            Some(format!("\"{}\"", sha256_hex(CSS.as_bytes())).as_str())
        );
        let last_modified = css.header("last-modified").unwrap();
        assert_eq!(
            last_modified.parse::<HttpDate>().unwrap(),
            HttpDate::from(assets.last_modified())
        );
        assert_eq!(assets.last_modified(), whole_seconds(assets.last_modified()));
        assert!(assets.last_modified() <= SystemTime::now());

        let ico = get(&assets, "/favicon.ico").await;
        assert_eq!(ico.status, StatusCode::OK);
        assert_eq!(ico.body, ICO);
        assert_eq!(ico.header("cache-control"), Some("no-cache"));
        assert_eq!(ico.header("content-type"), Some("image/x-icon"));
        assert_eq!(ico.header("etag"), Some(format!("\"{}\"", sha256_hex(ICO)).as_str()));
        assert_eq!(ico.header("last-modified"), Some(last_modified));

        // The query string is not part of the path.
        assert_eq!(get(&assets, "/favicon.ico?v=2").await.body, ICO);
    }

    #[actix_web::test]
    async fn head_has_the_headers_of_get_and_no_body() {
        let assets = assets();
        for uri in [assets.url("app.css").unwrap(), "/favicon.ico"] {
            let get = get(&assets, uri).await;
            let head = send(&assets, TestRequest::default().method(Method::HEAD).uri(uri))
                .await
                .unwrap();
            assert_eq!(head.status, StatusCode::OK);
            assert_eq!(sorted(&head.headers), sorted(&get.headers));
            assert_eq!(head.size, get.size, "the size actix writes as Content-Length");
            assert!(head.body.is_empty());
        }
    }

    #[actix_web::test]
    async fn if_none_match() {
        let assets = assets();
        let url = assets.url("app.css").unwrap();
        let etag = format!("\"{}\"", sha256_hex(CSS.as_bytes()));
        let weak = format!("W/{etag}");
        let listed = format!("\"nope\", {etag}");
        let other = format!("\"{}\"", sha256_hex(b"other"));
        let matching = [etag.as_str(), weak.as_str(), listed.as_str(), "*"];
        for method in [Method::GET, Method::HEAD] {
            for value in matching {
                let reply = send(&assets, with(method.clone(), url, &[(header::IF_NONE_MATCH, value)]))
                    .await
                    .unwrap();
                assert_eq!(reply.status, StatusCode::NOT_MODIFIED, "{method} {value}");
                assert_eq!(reply.header("etag"), Some(etag.as_str()));
                assert_eq!(
                    reply.header("cache-control"),
                    Some("public, max-age=31536000, immutable")
                );
                assert_eq!(reply.header("content-type"), None);
                assert_eq!(reply.size, BodySize::None, "no body and no Content-Length");
                assert!(reply.body.is_empty());
            }
            // Two header lines.
            let request = with(
                method.clone(),
                url,
                &[(header::IF_NONE_MATCH, "\"nope\""), (header::IF_NONE_MATCH, &etag)],
            );
            assert_eq!(
                send(&assets, request).await.unwrap().status,
                StatusCode::NOT_MODIFIED,
                "{method}"
            );
            for value in [other.as_str(), "\"nope\", W/\"nope\"", "garbage", ""] {
                let reply = send(&assets, with(method.clone(), url, &[(header::IF_NONE_MATCH, value)]))
                    .await
                    .unwrap();
                assert_eq!(reply.status, StatusCode::OK, "{method} {value:?}");
            }
        }
        // The fixed file's 304 keeps its own Cache-Control.
        let etag = format!("\"{}\"", sha256_hex(ICO));
        let reply = send(
            &assets,
            with(Method::GET, "/favicon.ico", &[(header::IF_NONE_MATCH, &etag)]),
        )
        .await
        .unwrap();
        assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
        assert_eq!(reply.header("cache-control"), Some("no-cache"));
    }

    #[actix_web::test]
    async fn if_modified_since() {
        let assets = assets();
        let url = assets.url("app.css").unwrap();
        let date = |time: SystemTime| HttpDate::from(time).to_string();
        let built = assets.last_modified();
        let second = Duration::from_secs(1);
        for method in [Method::GET, Method::HEAD] {
            let cases = [
                (date(built), StatusCode::NOT_MODIFIED),
                (date(built + 3600 * second), StatusCode::NOT_MODIFIED),
                (date(built - second), StatusCode::OK),
                ("not a date".to_owned(), StatusCode::OK),
            ];
            for (value, status) in cases {
                let reply = send(
                    &assets,
                    with(method.clone(), url, &[(header::IF_MODIFIED_SINCE, &value)]),
                )
                .await
                .unwrap();
                assert_eq!(reply.status, status, "{method} {value}");
            }
            // Ignored when If-None-Match is present, matching or not.
            let other = format!("\"{}\"", sha256_hex(b"other"));
            let request = with(
                method.clone(),
                url,
                &[
                    (header::IF_NONE_MATCH, &other),
                    (header::IF_MODIFIED_SINCE, &date(built)),
                ],
            );
            assert_eq!(send(&assets, request).await.unwrap().status, StatusCode::OK, "{method}");
            let etag = format!("\"{}\"", sha256_hex(CSS.as_bytes()));
            let request = with(
                method.clone(),
                url,
                &[
                    (header::IF_NONE_MATCH, &etag),
                    (header::IF_MODIFIED_SINCE, &date(built - second)),
                ],
            );
            assert_eq!(
                send(&assets, request).await.unwrap().status,
                StatusCode::NOT_MODIFIED,
                "{method}"
            );
        }
    }

    #[actix_web::test]
    async fn other_methods_are_not_allowed() {
        let assets = assets();
        let etag = format!("\"{}\"", sha256_hex(ICO));
        for method in [
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ] {
            for uri in [assets.url("app.css").unwrap(), "/favicon.ico"] {
                let reply = send(&assets, with(method.clone(), uri, &[(header::IF_NONE_MATCH, &etag)]))
                    .await
                    .unwrap();
                assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
                assert_eq!(reply.header("allow"), Some("GET, HEAD"));
                assert!(reply.body.is_empty());
            }
            // Not an asset: not ours to refuse.
            assert!(send(&assets, with(method.clone(), "/api/orders", &[])).await.is_none());
        }
    }

    #[actix_web::test]
    async fn only_exactly_registered_paths_are_served() {
        let assets = assets();
        let css = assets.url("app.css").unwrap().to_owned();
        let file_name = css.rsplit('/').next().unwrap();
        let near_misses = [
            "/".to_owned(),
            "/static".to_owned(),
            "/static/".to_owned(),
            "/static/app.css".to_owned(),
            "/app.css".to_owned(),
            "/static/../Cargo.toml".to_owned(),
            "/static/%2e%2e/Cargo.toml".to_owned(),
            "/static/..%2fsecret".to_owned(),
            "/static/..%2Fsecret".to_owned(),
            "/static/%2e%2e%2f%2e%2e%2fetc/passwd".to_owned(),
            "/static/..\\Cargo.toml".to_owned(),
            format!("/static//{file_name}"),
            format!("//static/{file_name}"),
            format!("/static/./{file_name}"),
            format!("/static/js/../{file_name}"),
            format!("/static/{}", file_name.replacen('a', "%61", 1)),
            format!("/STATIC/{file_name}"),
            format!("{css}/"),
            format!("{css}."),
            format!("{css}%00"),
            "/favicon.ico/".to_owned(),
            "/favicon.ico/.".to_owned(),
            "/%66avicon.ico".to_owned(),
            "/favicon%2Eico".to_owned(),
            "/FAVICON.ICO".to_owned(),
            "/./favicon.ico".to_owned(),
            "/x/../favicon.ico".to_owned(),
            "/index.html".to_owned(),
        ];
        for path in &near_misses {
            for method in [Method::GET, Method::HEAD, Method::POST] {
                let request = TestRequest::default()
                    .method(method.clone())
                    .uri(path)
                    .to_http_request();
                assert!(
                    assets.respond(&request).is_none(),
                    "{method} {path} (request path {:?})",
                    request.path()
                );
            }
        }
        assert!(
            Assets::new()
                .respond(&TestRequest::get().uri("/favicon.ico").to_http_request())
                .is_none()
        );
    }

    #[test]
    fn listing() {
        let assets = assets();
        assert_eq!(assets.len(), 3);
        assert!(!assets.is_empty());
        assert!(Assets::new().is_empty());
        assert_eq!(Assets::default().len(), 0);
        let listed: Vec<(&str, &str)> = assets.iter().collect();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0], ("/favicon.ico", "image/x-icon"));
        assert_eq!(listed[1], (assets.url("app.css").unwrap(), "text/css; charset=utf-8"));
        assert_eq!(listed[2].0, assets.url("js/app.min.js").unwrap());
        assert!(assets.contains("/favicon.ico"));
        assert!(assets.contains(assets.url("app.css").unwrap()));
        assert!(!assets.contains("/static/app.css"));
        let debug = format!("{assets:?}");
        assert!(debug.contains("/favicon.ico") && !debug.contains("margin"), "{debug}");
    }

    #[test]
    fn byte_sources() {
        static BYTES: [u8; 3] = [1, 2, 3];
        let assets = Assets::new()
            .file("/a", &BYTES)
            .file("/b", &BYTES[..])
            .file("/c", "text")
            .file("/d", vec![1u8])
            .file("/e", String::from("text"))
            .file("/f", Bytes::from_static(b"x"));
        assert_eq!(assets.len(), 6);
    }

    #[test]
    fn invalid_registrations() {
        use InvalidReason::*;
        // `MountError` is not `PartialEq` (later variants may carry I/O errors): compare `Debug`.
        let error = |result: Result<Assets, MountError>| format!("{:?}", result.unwrap_err());
        let invalid = |path: &str, reason| {
            let path = path.to_owned();
            format!("{:?}", MountError::InvalidAssetPath { path, reason })
        };

        let hashed: &[(&str, InvalidReason)] = &[
            ("", EmptySegment),
            ("/app.css", NotRelative),
            ("css/", TrailingSlash),
            ("css//app.css", EmptySegment),
            ("../app.css", DotSegment),
            ("css/./app.css", DotSegment),
            ("app%2ecss", Character('%')),
            ("my app.css", Character(' ')),
            ("app.css?v=1", Character('?')),
            ("css\\app.css", Character('\\')),
        ];
        for &(name, reason) in hashed {
            let got = error(Assets::new().try_hashed(name, "x"));
            assert_eq!(got, invalid(name, reason), "hashed {name:?}");
        }

        let files: &[(&str, InvalidReason)] = &[
            ("", NotAbsolute),
            ("favicon.ico", NotAbsolute),
            ("/", TrailingSlash),
            ("/docs/", TrailingSlash),
            ("//favicon.ico", EmptySegment),
            ("/a/../favicon.ico", DotSegment),
            ("/favicon.ico#x", Character('#')),
            ("/%66avicon.ico", Character('%')),
        ];
        for &(path, reason) in files {
            let got = error(Assets::new().try_file(path, "x"));
            assert_eq!(got, invalid(path, reason), "file {path:?}");
        }

        let bases: &[(&str, InvalidReason)] = &[
            ("static", NotAbsolute),
            ("", NotAbsolute),
            ("//", EmptySegment),
            ("/a//b", EmptySegment),
            ("/static/..", DotSegment),
            ("/st atic", Character(' ')),
        ];
        for &(base, reason) in bases {
            let got = error(Assets::try_with_base(base));
            assert_eq!(got, invalid(base, reason), "base {base:?}");
        }

        let duplicate = |name: &str| format!("{:?}", MountError::DuplicateAsset(name.to_owned()));
        let twice = Assets::new().hashed("app.css", "a").try_hashed("app.css", "b");
        assert_eq!(error(twice), duplicate("app.css"));
        let twice = Assets::new().file("/robots.txt", "a").try_file("/robots.txt", "b");
        assert_eq!(error(twice), duplicate("/robots.txt"));
        let hashed = Assets::new().hashed("app.css", CSS);
        let url = hashed.url("app.css").unwrap().to_owned();
        assert_eq!(error(hashed.try_file(&url, "other")), duplicate(&url));

        assert_eq!(
            Assets::new().try_hashed("../x.css", "x").unwrap_err().to_string(),
            "asset path `../x.css` is invalid: it contains a `.` or `..` segment"
        );
    }

    #[test]
    #[should_panic(expected = "asset `app.css` is registered more than once")]
    fn hashed_panics_on_a_duplicate() {
        let _ = Assets::new().hashed("app.css", "a").hashed("app.css", "b");
    }

    #[test]
    #[should_panic(expected = "asset path `favicon.ico` is invalid: it must start with `/`")]
    fn file_panics_on_an_invalid_path() {
        let _ = Assets::new().file("favicon.ico", "x");
    }

    #[test]
    #[should_panic(expected = "asset path `static` is invalid")]
    fn with_base_panics_on_an_invalid_base() {
        let _ = Assets::with_base("static");
    }

    /// Over a real connection: actix writes `Content-Length` for `HEAD` from the body's size and
    /// sends no body; `GET` gets the bytes.
    #[actix_web::test]
    async fn head_and_get_on_the_wire() {
        use actix_web::{App, HttpServer, web};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let assets = web::Data::new(assets());
        let url = assets.url("app.css").unwrap().to_owned();
        let data = assets.clone();
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).default_service(web::to(
                |req: HttpRequest, assets: web::Data<Assets>| async move {
                    assets
                        .respond(&req)
                        .unwrap_or_else(|| HttpResponse::NotFound().finish())
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let address = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);

        let exchange = |method: &'static str| {
            let url = url.clone();
            async move {
                let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
                let request = format!("{method} {url} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).await.unwrap();
                let mut response = Vec::new();
                stream.read_to_end(&mut response).await.unwrap();
                let response = String::from_utf8(response).unwrap();
                let (head, body) = response.split_once("\r\n\r\n").unwrap();
                (head.to_ascii_lowercase(), body.to_owned())
            }
        };
        let (head, body) = exchange("HEAD").await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}\r\n", CSS.len())),
            "{head}"
        );
        assert!(head.contains("\r\ncontent-type: text/css; charset=utf-8\r\n"), "{head}");
        assert_eq!(body, "");
        let (head, body) = exchange("GET").await;
        assert!(
            head.contains(&format!("\r\ncontent-length: {}\r\n", CSS.len())),
            "{head}"
        );
        assert_eq!(body, CSS);

        handle.stop(true).await;
    }
}
