//! The mailer against a real SMTP server: Python's aiosmtpd, started by each test, writing
//! what it receives to a maildir. Runs when `DUET_TEST_SMTP_PYTHON` names a Python with
//! aiosmtpd installed (`python3 -m pip install aiosmtpd`); skips otherwise.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use duet_mail::{Email, MailUrl, Mailer, Retry};

/// An aiosmtpd server on `port`, delivering to `dir/new/`; stopped on drop.
struct SmtpServer {
    child: Child,
    dir: PathBuf,
}

impl SmtpServer {
    fn start(python: &str, port: u16, dir: &Path) -> SmtpServer {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "aiosmtpd listens");
            std::thread::sleep(Duration::from_millis(20));
        }
        SmtpServer {
            child,
            dir: dir.to_owned(),
        }
    }

    /// The messages received so far, raw.
    fn received(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.join("new"))
            .map(|entries| {
                entries
                    .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<String> {
    use std::io::Write;
    let python = std::env::var("DUET_TEST_SMTP_PYTHON").ok().filter(|p| !p.is_empty());
    if python.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "DUET_TEST_SMTP_PYTHON is not set: in CI the SMTP tests must run, not skip"
        );
        let _ = writeln!(
            std::io::stderr(),
            "[duet] SMTP tests skipped: set DUET_TEST_SMTP_PYTHON to a Python with aiosmtpd (python3 -m pip install aiosmtpd)"
        );
    }
    python
}

/// The mailer's log lines in the test's output.
fn logs() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn email() -> Email {
    Email {
        to: "Ada Lovelace <ada@example.com>".into(),
        subject: "Confirm your address".into(),
        text: "Open http://shop.test/verify?token=abc to confirm.".into(),
        html: "<p><a href=\"http://shop.test/verify?token=abc\">Confirm</a></p>".into(),
    }
}

#[tokio::test]
async fn a_message_reaches_the_server_with_both_parts() {
    logs();
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = SmtpServer::start(&python, port, dir.path());
    let url: MailUrl = format!("smtp://127.0.0.1:{port}").parse().unwrap();
    let mailer = Mailer::start(&url, "Shop <shop@example.com>", Retry::default()).unwrap();
    mailer.send(email()).unwrap();
    mailer.idle().await;
    assert_eq!((mailer.sent(), mailer.failed(), mailer.retried()), (1, 0, 0));
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    for expected in [
        "From: Shop <shop@example.com>",
        "To: \"Ada Lovelace\" <ada@example.com>",
        "Subject: Confirm your address",
        "Content-Type: multipart/alternative",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
        "Open http://shop.test/verify?token=abc to confirm.",
        "<a href=\"http://shop.test/verify?token=abc\">Confirm</a>",
    ] {
        assert!(message.contains(expected), "{expected:?} missing from:\n{message}");
    }
}

#[tokio::test]
async fn a_server_that_comes_back_gets_the_message_on_a_later_try() {
    logs();
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url: MailUrl = format!("smtp://127.0.0.1:{port}").parse().unwrap();
    let retry = Retry {
        attempts: 6,
        first_delay: Duration::from_millis(200),
    };
    let mailer = Mailer::start(&url, "shop@example.com", retry).unwrap();
    // Queued at once although nothing listens: the first try fails (connection refused).
    mailer.send(email()).unwrap();
    assert_eq!(mailer.pending(), 1);
    let failed_once = async {
        while mailer.retried() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), failed_once)
        .await
        .expect("the first try fails");
    let server = SmtpServer::start(&python, port, dir.path());
    tokio::time::timeout(Duration::from_secs(15), mailer.idle())
        .await
        .unwrap();
    assert_eq!((mailer.sent(), mailer.failed()), (1, 0));
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_message_is_given_up_after_its_tries() {
    logs();
    // No server at all: nothing to skip for.
    let port = free_port();
    let url: MailUrl = format!("smtp://127.0.0.1:{port}").parse().unwrap();
    let retry = Retry {
        attempts: 3,
        first_delay: Duration::from_millis(20),
    };
    let mailer = Mailer::start(&url, "shop@example.com", retry).unwrap();
    mailer.send(email()).unwrap();
    assert!(matches!(
        mailer.send(Email {
            to: "not an address".into(),
            ..email()
        }),
        Err(duet_mail::MailError::Address(_))
    ));
    tokio::time::timeout(Duration::from_secs(5), mailer.idle())
        .await
        .unwrap();
    assert_eq!((mailer.sent(), mailer.retried(), mailer.failed()), (0, 2, 1));
}
