//! `check --deploy`: the settings that are unsafe in production, as Django's
//! `check --deploy` lists them.

use duet_auth::TrustedProxies;

#[cfg(test)]
use crate::SecurityHeaders;
use crate::settings::{Env, MIN_SECRET_LEN, Settings};
use crate::{App, CorsOrigins};

/// One problem: a stable id (`duet.W001`) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) id: &'static str,
    pub(crate) message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.id, self.message)
    }
}

/// Everything unsafe for production in `settings`, the app's security headers and what the
/// app reported itself ([`App::deploy_warning`]); `rust_log` is `RUST_LOG`.
pub(crate) fn problems(settings: &Settings, app: &App, rust_log: Option<&str>) -> Vec<Problem> {
    let mut found = Vec::new();
    let mut problem = |id, message: String| found.push(Problem { id, message });
    if settings.env != Env::Production {
        problem(
            "duet.W001",
            "DUET_ENV is not production: cookies are not Secure, no HSTS is sent, the development \
             key may be used and demo data is seeded. Set DUET_ENV=production."
                .into(),
        );
    }
    match &settings.secret_key {
        None => problem(
            "duet.W002",
            "DUET_SECRET_KEY is unset: sessions are signed with the development key in var/secret.key. \
             Set at least 64 random bytes."
                .into(),
        ),
        Some(key) if weak(key.bytes()) => problem(
            "duet.W003",
            format!(
                "DUET_SECRET_KEY looks weak (fewer than 5 distinct characters): use at least {MIN_SECRET_LEN} \
                 random bytes, such as `openssl rand -base64 64`."
            ),
        ),
        Some(_) => {}
    }
    match &settings.allowed_hosts {
        None => problem(
            "duet.W004",
            "DUET_ALLOWED_HOSTS is unset: set the host names the app answers to.".into(),
        ),
        Some(hosts) if hosts.allows_any() => problem(
            "duet.W005",
            "DUET_ALLOWED_HOSTS allows any host (*): set the app's own host names.".into(),
        ),
        Some(_) => {}
    }
    if settings.trusted_proxies.is_none() {
        problem(
            "duet.W006",
            "DUET_TRUSTED_PROXIES is unset: duet serves plain HTTP, so put a TLS-terminating proxy \
             in front and list its address, so that the scheme (Secure cookies, Origin checks), the \
             host and client addresses (throttling, tab limits, logs) are the clients' and not the \
             proxy's."
                .into(),
        );
    }
    if settings
        .trusted_proxies
        .as_ref()
        .is_some_and(TrustedProxies::trusts_anyone)
    {
        problem(
            "duet.W013",
            "DUET_TRUSTED_PROXIES trusts every address (0.0.0.0/0 or ::/0): any client can forge its \
             address, scheme and host. List the proxies' own addresses."
                .into(),
        );
    }
    for origin in settings.trusted_origins.iter().filter(|o| o.starts_with("http://")) {
        problem(
            "duet.W007",
            format!("DUET_TRUSTED_ORIGINS lists {origin}, which is not HTTPS."),
        );
    }
    match &settings.cors_origins {
        Some(CorsOrigins::Any) => problem(
            "duet.W011",
            "DUET_CORS_ORIGINS is *: any site's pages may call the API (with tokens, never cookies). \
             List the origins of the front-ends that call it."
                .into(),
        ),
        Some(CorsOrigins::Listed(origins)) => {
            for origin in origins.iter().filter(|o| o.starts_with("http://")) {
                problem(
                    "duet.W012",
                    format!("DUET_CORS_ORIGINS lists {origin}, which is not HTTPS."),
                );
            }
        }
        Some(CorsOrigins::Off) | None => {}
    }
    if app.security_headers.hsts_value().is_none() {
        problem(
            "duet.W008",
            "the app turned HSTS off (SecurityHeaders::hsts(None)): browsers may reach it over plain HTTP.".into(),
        );
    }
    if app.security_headers.csp_value().is_none() {
        problem(
            "duet.W009",
            "the app turned the Content-Security-Policy off (SecurityHeaders::content_security_policy(None)).".into(),
        );
    }
    if rust_log.is_some_and(|filter| filter.contains("debug") || filter.contains("trace")) {
        problem(
            "duet.W010",
            "RUST_LOG enables debug or trace logging: it is slow and may log request data. Use info.".into(),
        );
    }
    for warning in &app.deploy_warnings {
        problem("app.W001", warning.clone());
    }
    found
}

/// A key with fewer than 5 distinct bytes (`kkkk…`), as Django's `security.W009`.
fn weak(key: &[u8]) -> bool {
    let mut distinct = key.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() < 5
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    fn settings(args: &[&str]) -> Settings {
        Cli::parse_from(std::iter::once("app").chain(args.iter().copied())).settings
    }

    fn ids(problems: &[Problem]) -> Vec<&'static str> {
        problems.iter().map(|p| p.id).collect()
    }

    #[test]
    fn development_defaults_are_listed_and_a_production_setup_passes() {
        let app = App::new("t");
        let found = problems(&settings(&[]), &app, Some("debug"));
        assert_eq!(
            ids(&found),
            ["duet.W001", "duet.W002", "duet.W004", "duet.W006", "duet.W010"]
        );
        let key = "0123456789abcdef".repeat(4);
        let production = settings(&[
            "--env=production",
            "--secret-key",
            &key,
            "--allowed-hosts=shop.example.com",
            "--trusted-proxies=10.0.0.0/8",
        ]);
        assert_eq!(problems(&production, &app, Some("info")), []);
        let weak = settings(&[
            "--secret-key",
            &"k".repeat(64),
            "--allowed-hosts=*",
            "--trusted-proxies=::/0",
        ]);
        assert!(ids(&problems(&weak, &app, None)).contains(&"duet.W013"));
        assert!(ids(&problems(&weak, &app, None)).contains(&"duet.W003"));
        assert!(ids(&problems(&weak, &app, None)).contains(&"duet.W005"));
        let app = App::new("t")
            .security_headers(SecurityHeaders::default().hsts(None))
            .deploy_warning("STRIPE_WEBHOOK_SECRET is unset");
        let found = problems(&production, &app, None);
        assert_eq!(ids(&found), ["duet.W008", "app.W001"]);
        assert_eq!(found[1].to_string(), "app.W001: STRIPE_WEBHOOK_SECRET is unset");
    }

    #[test]
    fn cors_origins_must_be_listed_and_https() {
        let app = App::new("t");
        let cors = |origins: &str| ids(&problems(&settings(&["--cors-origins", origins]), &app, None));
        assert!(cors("*").contains(&"duet.W011"));
        let plain = problems(
            &settings(&["--cors-origins=https://a.example,http://b.example"]),
            &app,
            None,
        );
        let w012: Vec<String> = plain
            .iter()
            .filter(|p| p.id == "duet.W012")
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            w012,
            ["duet.W012: DUET_CORS_ORIGINS lists http://b.example, which is not HTTPS."]
        );
        assert!(
            !cors("https://a.example")
                .iter()
                .any(|id| ["duet.W011", "duet.W012"].contains(id))
        );
    }
}
