//! Security headers: on HTML responses a Content-Security-Policy that the runtime satisfies
//! (no inline script or style, no `eval`), framing refused, a referrer policy and an opener
//! policy; `X-Content-Type-Options: nosniff` on every response; HSTS in production. An app
//! changes them with [`App::security_headers`](crate::App::security_headers); a response
//! that sets one of them itself keeps its own.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderName, HeaderValue, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::Error as DuetError;

/// The default Content-Security-Policy: everything from this origin only (the runtime's
/// WebSocket included), images also as `data:` URLs, no plugins, no framing.
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// Two years, with subdomains, as hstspreload.org asks.
pub const DEFAULT_HSTS: &str = "max-age=63072000; includeSubDomains";

const CROSS_ORIGIN_OPENER_POLICY: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

/// The security headers of an app's responses. [`Default`] is the framework's choice; each
/// header can be replaced or turned off (`None`).
///
/// ```
/// use duet::{App, SecurityHeaders};
///
/// // An app whose pages embed images from a CDN and may be framed by its own origin.
/// let headers = SecurityHeaders::default()
///     .content_security_policy(Some(
///         "default-src 'self'; img-src 'self' https://cdn.example.com; frame-ancestors 'self'",
///     ))
///     .frame_options(Some("SAMEORIGIN"));
/// let app = App::new("shop").security_headers(headers);
/// # let _ = app;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    csp: Option<String>,
    frame_options: Option<String>,
    referrer_policy: Option<String>,
    opener_policy: Option<String>,
    hsts: Option<String>,
}

impl Default for SecurityHeaders {
    /// [`DEFAULT_CSP`], `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`,
    /// `Cross-Origin-Opener-Policy: same-origin`, and in production [`DEFAULT_HSTS`].
    fn default() -> SecurityHeaders {
        SecurityHeaders {
            csp: Some(DEFAULT_CSP.to_owned()),
            frame_options: Some("DENY".to_owned()),
            referrer_policy: Some("same-origin".to_owned()),
            opener_policy: Some("same-origin".to_owned()),
            hsts: Some(DEFAULT_HSTS.to_owned()),
        }
    }
}

impl SecurityHeaders {
    /// `Content-Security-Policy` of HTML responses.
    pub fn content_security_policy(mut self, policy: Option<&str>) -> SecurityHeaders {
        self.csp = policy.map(str::to_owned);
        self
    }

    /// `X-Frame-Options` of HTML responses (`DENY`, `SAMEORIGIN`).
    pub fn frame_options(mut self, value: Option<&str>) -> SecurityHeaders {
        self.frame_options = value.map(str::to_owned);
        self
    }

    /// `Referrer-Policy` of HTML responses.
    pub fn referrer_policy(mut self, value: Option<&str>) -> SecurityHeaders {
        self.referrer_policy = value.map(str::to_owned);
        self
    }

    /// `Cross-Origin-Opener-Policy` of HTML responses.
    pub fn opener_policy(mut self, value: Option<&str>) -> SecurityHeaders {
        self.opener_policy = value.map(str::to_owned);
        self
    }

    /// `Strict-Transport-Security` of every response in production (`DUET_ENV=production`:
    /// served over HTTPS); never sent in development.
    pub fn hsts(mut self, value: Option<&str>) -> SecurityHeaders {
        self.hsts = value.map(str::to_owned);
        self
    }

    /// The HSTS value, if sent (for `check --deploy`).
    pub(crate) fn hsts_value(&self) -> Option<&str> {
        self.hsts.as_deref()
    }

    /// The Content-Security-Policy, if sent (for `check --deploy`).
    pub(crate) fn csp_value(&self) -> Option<&str> {
        self.csp.as_deref()
    }

    /// The headers as sent, checked once (a value that is not a valid header is a start-up
    /// error naming it).
    pub(crate) fn compile(&self, production: bool) -> Result<HeaderSet, DuetError> {
        let value = |name: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| {
                    HeaderValue::from_str(v)
                        .map_err(|_| DuetError::setting(name, format!("{v:?} is not a valid header value")))
                })
                .transpose()
        };
        let html = [
            (CONTENT_SECURITY_POLICY, value("Content-Security-Policy", &self.csp)?),
            (X_FRAME_OPTIONS, value("X-Frame-Options", &self.frame_options)?),
            (REFERRER_POLICY, value("Referrer-Policy", &self.referrer_policy)?),
            (
                CROSS_ORIGIN_OPENER_POLICY,
                value("Cross-Origin-Opener-Policy", &self.opener_policy)?,
            ),
        ];
        let hsts = match production {
            true => value("Strict-Transport-Security", &self.hsts)?,
            false => None,
        };
        Ok(HeaderSet {
            html: html
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name, v)))
                .collect(),
            hsts,
        })
    }
}

/// The headers the middleware adds, as `web::Data<HeaderSet>`.
#[derive(Debug, Clone)]
pub(crate) struct HeaderSet {
    html: Vec<(HeaderName, HeaderValue)>,
    hsts: Option<HeaderValue>,
}

/// Middleware: adds the app's [`SecurityHeaders`] the response does not set itself.
pub(crate) async fn secure(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let set = req.app_data::<web::Data<HeaderSet>>().cloned();
    let mut response = next.call(req).await?;
    let Some(set) = set else { return Ok(response) };
    let headers = response.headers_mut();
    let html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html {
        for (name, value) in &set.html {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
    }
    if !headers.contains_key(X_CONTENT_TYPE_OPTIONS) {
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    }
    if let Some(hsts) = &set.hsts
        && !headers.contains_key(STRICT_TRANSPORT_SECURITY)
    {
        headers.insert(STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_only_in_production_and_bad_values_are_named() {
        let defaults = SecurityHeaders::default();
        assert!(defaults.compile(false).unwrap().hsts.is_none());
        assert!(defaults.compile(true).unwrap().hsts.is_some());
        assert_eq!(defaults.compile(true).unwrap().html.len(), 4);
        let off = defaults.clone().content_security_policy(None).frame_options(None);
        assert_eq!(off.compile(false).unwrap().html.len(), 2);
        let bad = defaults.content_security_policy(Some("default-src\n'self'"));
        assert!(
            bad.compile(false)
                .unwrap_err()
                .to_string()
                .contains("Content-Security-Policy")
        );
        assert!(!DEFAULT_CSP.contains("unsafe"));
    }
}
