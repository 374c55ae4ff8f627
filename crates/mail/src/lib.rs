//! duet-mail sends the framework's and the app's email without ever making a request wait.
//!
//! - [`MailUrl`]: where mail goes, parsed once from `DUET_EMAIL_URL` —
//!   `smtp://user:pass@host:587` (STARTTLS when the server offers it), `smtps://…:465`
//!   (TLS from the first byte), `console://` (each message logged: development) or
//!   `file:///dir` (one `.eml` file per message: tests).
//! - [`Mailer`]: [`Mailer::send`] checks the addresses and queues the message (bounded); one
//!   worker task sends the queue in order, retrying a failed message a few times with a
//!   growing delay ([`Retry`]) and logging it once it gives up. [`Mailer::idle`] lets a
//!   shutdown wait for the queue.
//! - [`Email`]: a recipient, a subject and two bodies, text and HTML (sent as
//!   `multipart/alternative`).
//!
//! ```
//! use duet_mail::{Email, MailUrl, Mailer, Retry};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let dir = tempfile::tempdir().unwrap();
//! let url: MailUrl = format!("file://{}", dir.path().display()).parse().unwrap();
//! let mailer = Mailer::start(&url, "Shop <shop@example.com>", Retry::default()).unwrap();
//! mailer.send(Email {
//!     to: "ada@example.com".into(),
//!     subject: "Hello".into(),
//!     text: "Hello Ada".into(),
//!     html: "<p>Hello Ada</p>".into(),
//! }).unwrap();
//! mailer.idle().await;
//! assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
//! # }
//! ```

mod transport;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use tokio::sync::{Notify, mpsc};

pub use transport::MailUrl;
use transport::Transport;

/// How many messages may wait to be sent; beyond that [`Mailer::send`] refuses
/// ([`MailError::QueueFull`]) rather than hold memory or block.
const QUEUE: usize = 1024;

/// Why mail could not be configured or queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// `DUET_EMAIL_URL` is not one of the forms [`MailUrl`] reads.
    #[error("invalid email URL: {0}")]
    Url(String),
    /// An address (`DUET_EMAIL_FROM` or a recipient) is not a valid mailbox.
    #[error("invalid email address {0:?}")]
    Address(String),
    /// The message could not be built (a header lettre refuses).
    #[error("cannot build the message: {0}")]
    Message(String),
    /// The transport could not be set up (TLS parameters for the host).
    #[error("cannot set up the mail transport: {0}")]
    Transport(String),
    /// Too many messages are waiting: this one was not queued.
    #[error("the mail queue is full")]
    QueueFull,
}

/// An email to send: `text` and `html` are the two alternatives of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address (`ada@example.com` or `Ada <ada@example.com>`).
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// How a message that could not be sent is tried again: `attempts` in all, waiting
/// `first_delay` after the first failure and twice as long after each next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all, at least one.
    pub attempts: u32,
    /// The wait after the first failure.
    pub first_delay: Duration,
}

impl Default for Retry {
    /// Four tries, 2 s, 4 s then 8 s apart.
    fn default() -> Retry {
        Retry {
            attempts: 4,
            first_delay: Duration::from_secs(2),
        }
    }
}

/// Sends email through one queue and one worker task. Cheap to clone; clones share the queue.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Mailbox,
    queue: mpsc::Sender<Message>,
    counts: Arc<Counts>,
}

/// What the worker has done, and what is left.
#[derive(Default)]
struct Counts {
    pending: AtomicUsize,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    idle: Notify,
}

impl Counts {
    fn done(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.inner.from.to_string())
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer sending from `from` through `url`, its worker started on the current Tokio
    /// runtime. A bad `from` or TLS setup is an error here, before anything is queued.
    pub fn start(url: &MailUrl, from: &str, retry: Retry) -> Result<Mailer, MailError> {
        let from: Mailbox = from.parse().map_err(|_| MailError::Address(from.to_owned()))?;
        let transport = Transport::new(url)?;
        let (queue, received) = mpsc::channel(QUEUE);
        let counts = Arc::new(Counts::default());
        tokio::spawn(work(transport, received, Arc::clone(&counts), retry));
        tracing::info!(email = %url, from = %from, "mail");
        Ok(Mailer {
            inner: Arc::new(Inner { from, queue, counts }),
        })
    }

    /// Queues `email` and returns at once: the worker sends it. An invalid recipient, or a
    /// full queue, is an error (the caller decides whether its request fails).
    pub fn send(&self, email: Email) -> Result<(), MailError> {
        let to: Mailbox = email.to.parse().map_err(|_| MailError::Address(email.to.clone()))?;
        let message = Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text, email.html))
            .map_err(|e| MailError::Message(e.to_string()))?;
        let counts = &self.inner.counts;
        counts.pending.fetch_add(1, Ordering::AcqRel);
        if self.inner.queue.try_send(message).is_err() {
            counts.done();
            tracing::warn!("email not queued: the queue is full");
            return Err(MailError::QueueFull);
        }
        Ok(())
    }

    /// Resolves once every queued message has been sent or given up on (at shutdown: wait
    /// for it within the deadline).
    pub async fn idle(&self) {
        let counts = &self.inner.counts;
        loop {
            let idle = counts.idle.notified();
            if counts.pending.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Messages queued or being sent.
    pub fn pending(&self) -> usize {
        self.inner.counts.pending.load(Ordering::Acquire)
    }

    /// Messages sent since start.
    pub fn sent(&self) -> u64 {
        self.inner.counts.sent.load(Ordering::Relaxed)
    }

    /// Tries that failed and were followed by another, since start.
    pub fn retried(&self) -> u64 {
        self.inner.counts.retried.load(Ordering::Relaxed)
    }

    /// Messages given up on after every try since start.
    pub fn failed(&self) -> u64 {
        self.inner.counts.failed.load(Ordering::Relaxed)
    }
}

/// The worker: sends each message in turn, trying again after a growing delay, and logs
/// a message it gives up on.
async fn work(transport: Transport, mut queue: mpsc::Receiver<Message>, counts: Arc<Counts>, retry: Retry) {
    while let Some(message) = queue.recv().await {
        let to = message
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let mut delay = retry.first_delay;
        for attempt in 1..=retry.attempts.max(1) {
            match transport.send(&message).await {
                Ok(()) => {
                    counts.sent.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%to, attempt, "email sent");
                    break;
                }
                Err(error) if attempt < retry.attempts => {
                    counts.retried.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%to, attempt, %error, retry_in_ms = delay.as_millis() as u64, "email not sent; trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(error) => {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(%to, attempts = attempt, %error, "email given up: not sent");
                }
            }
        }
        counts.done();
    }
}

/// Whether `address` is a valid email address (`ada@example.com`, no display name).
pub fn is_address(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}
