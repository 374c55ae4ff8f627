//! A shop whose mail goes to a directory (`DUET_EMAIL_URL=file://…`) or through a real
//! SMTP server (Python's aiosmtpd) into a maildir, and the messages read back from either.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use duet_models::testing::{TestDb, required_env};

use super::{Server, free_port, shop};

/// A shop whose mail is written to `mail/` in `dir`.
pub(crate) async fn serve(dir: &Path, test: &TestDb, extra_env: &[(&str, &str)]) -> Server {
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    serve_mailing(dir, test, &format!("file://{}", mail.display()), extra_env).await
}

/// A shop whose mail goes over SMTP to `smtp`.
pub(crate) async fn serve_smtp(dir: &Path, test: &TestDb, smtp: &SmtpServer) -> Server {
    serve_mailing(dir, test, &format!("smtp://127.0.0.1:{}", smtp.port), &[]).await
}

async fn serve_mailing(dir: &Path, test: &TestDb, email_url: &str, extra_env: &[(&str, &str)]) -> Server {
    let mut cmd = shop(dir, Some(&test.url), &[]);
    cmd.env("DUET_EMAIL_URL", email_url)
        .env("DUET_EMAIL_FROM", "Shop <shop@example.com>");
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    Server::start(cmd).await
}

/// A real SMTP server: aiosmtpd (`DUET_TEST_SMTP_PYTHON` names a Python that has it),
/// delivering to `mail/new/` in the test's directory, where [`mails_to`] reads; stopped on
/// drop.
pub(crate) struct SmtpServer {
    child: Child,
    port: u16,
}

impl SmtpServer {
    /// Started on a free port; `None` (the test skipped) when `DUET_TEST_SMTP_PYTHON` is unset.
    pub(crate) fn start(dir: &Path) -> Option<SmtpServer> {
        let python = required_env("DUET_TEST_SMTP_PYTHON", "SMTP (aiosmtpd)")?;
        let maildir = dir.join("mail");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "aiosmtpd listens on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(SmtpServer { child, port })
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The message files in `dir`: the file mailer's `mail/*.eml`, or the SMTP server's
/// `mail/new/*`.
fn message_files(dir: &Path) -> Vec<PathBuf> {
    let files = |dir: PathBuf| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect::<Vec<_>>()
    };
    let mut found: Vec<PathBuf> = files(dir.join("mail"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    found.extend(files(dir.join("mail").join("new")));
    found
}

/// The messages mailed to `to` so far, decoded, oldest first.
pub(crate) fn mails_to(dir: &Path, to: &str) -> Vec<String> {
    let mut mails: Vec<(std::time::SystemTime, String)> = message_files(dir)
        .into_iter()
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
