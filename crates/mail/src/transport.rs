//! Where mail goes: the URL's forms, and the lettre transport each one builds.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::MailError;

/// How long one SMTP conversation may take before it counts as a failed try.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// `DUET_EMAIL_URL`, parsed.
#[derive(Clone, PartialEq, Eq)]
pub enum MailUrl {
    /// An SMTP server: `smtp://` upgrades with STARTTLS when the server offers it (port 587
    /// by default), `smtps://` speaks TLS from the start (port 465 by default).
    Smtp {
        /// Host name (also the name its certificate must carry).
        host: String,
        /// TCP port.
        port: u16,
        /// TLS from the first byte (`smtps://`).
        implicit_tls: bool,
        /// User name and password, when the URL carries them (percent-decoded).
        credentials: Option<(String, String)>,
    },
    /// Each message logged at INFO (the development default).
    Console,
    /// Each message written to this directory as `<uuid>.eml`.
    File(PathBuf),
}

/// Shows the URL without its password.
impl std::fmt::Display for MailUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailUrl::Smtp {
                host,
                port,
                implicit_tls,
                credentials,
            } => {
                let scheme = if *implicit_tls { "smtps" } else { "smtp" };
                let user = credentials.as_ref().map(|(u, _)| format!("{u}:…@")).unwrap_or_default();
                write!(f, "{scheme}://{user}{host}:{port}")
            }
            MailUrl::Console => f.write_str("console://"),
            MailUrl::File(dir) => write!(f, "file://{}", dir.display()),
        }
    }
}

impl std::fmt::Debug for MailUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MailUrl({self})")
    }
}

impl FromStr for MailUrl {
    type Err = MailError;

    fn from_str(text: &str) -> Result<MailUrl, MailError> {
        let bad = |why: &str| {
            MailError::Url(format!(
                "{why} (smtp://user:pass@host:port, smtps://…, console:// or file:///dir)"
            ))
        };
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        match url.scheme() {
            "console" => Ok(MailUrl::Console),
            "file" => {
                let dir = url
                    .to_file_path()
                    .map_err(|()| bad("a file URL needs an absolute path"))?;
                Ok(MailUrl::File(dir))
            }
            scheme @ ("smtp" | "smtps") => {
                let implicit_tls = scheme == "smtps";
                let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?;
                let decode = |part: &str| {
                    percent_encoding::percent_decode_str(part)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                let credentials = (!url.username().is_empty())
                    .then(|| (decode(url.username()), decode(url.password().unwrap_or_default())));
                Ok(MailUrl::Smtp {
                    host: host.trim_matches(['[', ']']).to_owned(),
                    port: url.port().unwrap_or(if implicit_tls { 465 } else { 587 }),
                    implicit_tls,
                    credentials,
                })
            }
            other => Err(bad(&format!("unknown scheme {other:?}"))),
        }
    }
}

/// The transport a [`MailUrl`] builds.
pub(crate) enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
    Console,
}

impl Transport {
    pub(crate) fn new(url: &MailUrl) -> Result<Transport, MailError> {
        Ok(match url {
            MailUrl::Smtp {
                host,
                port,
                implicit_tls,
                credentials,
            } => {
                let tls = TlsParameters::new(host.clone()).map_err(|e| MailError::Transport(e.to_string()))?;
                let tls = if *implicit_tls {
                    Tls::Wrapper(tls)
                } else {
                    Tls::Opportunistic(tls)
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(*port)
                    .tls(tls)
                    .timeout(Some(SMTP_TIMEOUT));
                if let Some((user, password)) = credentials {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Transport::Smtp(builder.build())
            }
            MailUrl::File(dir) => Transport::File(AsyncFileTransport::new(dir)),
            MailUrl::Console => Transport::Console,
        })
    }

    pub(crate) async fn send(&self, message: &Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message.clone()).await.map(drop).map_err(|e| e.to_string()),
            Transport::File(file) => file.send(message.clone()).await.map(drop).map_err(|e| e.to_string()),
            Transport::Console => {
                let formatted = String::from_utf8_lossy(&message.formatted()).into_owned();
                tracing::info!(message = %formatted, "email (console://: logged, not sent)");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        let parsed = text
            .parse::<MailUrl>()
            .map(|u| u.to_string())
            .unwrap_or_else(|e| e.to_string());
        assert!(parsed.starts_with(expected), "{text} → {parsed}");
    }

    #[test]
    fn urls() {
        check(
            "smtp://ada:s%40cret@mail.example.com",
            "smtp://ada:…@mail.example.com:587",
        );
        check("smtps://mail.example.com", "smtps://mail.example.com:465");
        check("smtp://127.0.0.1:2525", "smtp://127.0.0.1:2525");
        check("console://", "console://");
        check("file:///tmp/mail", "file:///tmp/mail");
        check("http://example.com", "invalid email URL: unknown scheme \"http\"");
        check("smtp://", "invalid email URL: no host");
        check("nonsense", "invalid email URL: relative URL without a base");
        let Ok(MailUrl::Smtp { credentials, .. }) = "smtp://ada:s%40cret@mail.example.com".parse() else {
            panic!("an SMTP URL");
        };
        assert_eq!(credentials, Some(("ada".into(), "s@cret".into())));
    }
}
