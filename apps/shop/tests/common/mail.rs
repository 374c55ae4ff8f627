//! A shop whose mail goes to a directory (`DUET_EMAIL_URL=file://…`), and the messages
//! read back from it.

use std::path::Path;
use std::time::{Duration, Instant};

use duet_models::testing::TestDb;

use super::{Server, shop};

/// A shop whose mail is written to `mail/` in `dir`.
pub(crate) async fn serve(dir: &Path, test: &TestDb, extra_env: &[(&str, &str)]) -> Server {
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let mut cmd = shop(dir, Some(&test.url), &[]);
    cmd.env("DUET_EMAIL_URL", format!("file://{}", mail.display()))
        .env("DUET_EMAIL_FROM", "Shop <shop@example.com>");
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    Server::start(cmd).await
}

/// The messages mailed to `to` so far, decoded, oldest first.
pub(crate) fn mails_to(dir: &Path, to: &str) -> Vec<String> {
    let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir.join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let raw = std::fs::read(&p).unwrap();
            let text = quoted_printable::decode(&raw, quoted_printable::ParseMode::Robust).unwrap();
            (
                std::fs::metadata(&p).unwrap().modified().unwrap(),
                String::from_utf8(text).unwrap(),
            )
        })
        .filter(|(_, text)| text.contains(&format!("To: {to}")))
        .collect();
    mails.sort();
    mails.into_iter().map(|(_, text)| text).collect()
}

/// Waits for the `n`th message to `to` (mail is sent after the response).
pub(crate) async fn mail_to(dir: &Path, to: &str, n: usize) -> String {
    let started = Instant::now();
    loop {
        if let Some(mail) = mails_to(dir, to).into_iter().nth(n - 1) {
            return mail;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no message {n} to {to}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The token of the first `?token=` link in `mail`.
pub(crate) fn token_in(mail: &str) -> String {
    let at = mail.find("?token=").expect("a link with a token") + "?token=".len();
    mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The first link with a `?token=` in `mail`, whole.
pub(crate) fn link_in(mail: &str) -> String {
    let token = token_in(mail);
    let end = mail.find(&token).expect("a link with a token") + token.len();
    let start = mail[..end].rfind("http").expect("an absolute link");
    mail[start..end].to_owned()
}
