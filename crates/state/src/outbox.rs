//! A socket's outbox: every frame for one socket, in order, bounded, for its one writer.
//!
//! Whatever sends a socket a frame — its replies, a handler's progress, pushes from other
//! sockets of the tab, background work, broadcasts, pings — puts it here, never on the
//! socket itself. The socket's writer task takes them out one at a time and is the only one
//! that writes. A client that stops reading cannot make the outbox grow: past its limit
//! the socket is closed (4008), and the frames waiting are dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// The close code for a client that does not read its frames.
pub(crate) const TOO_SLOW: u16 = 4008;

/// What the writer sends next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Out {
    /// A text frame.
    Text(String),
    /// A ping (the heartbeat).
    Ping,
    /// The answer to the client's ping.
    Pong(Vec<u8>),
    /// A `bye` frame and a close frame with this code and reason; the last thing sent.
    Close(u16, String),
    /// Nothing more: the writer stops without sending anything (the client left).
    Stop,
}

/// The producers' handle on a socket's outbox; clones share it.
#[derive(Clone)]
pub(crate) struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer.
    ready: Notify,
    /// Wakes whoever waits for the outbox to end ([`Outbox::ended`]).
    ended: Notify,
    limit: usize,
}

#[derive(Default)]
struct Queue {
    frames: VecDeque<Out>,
    /// Bytes of text waiting.
    bytes: usize,
    /// Set once a close (or stop) is queued: later frames are dropped.
    ending: bool,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.queue();
        f.debug_struct("Outbox")
            .field("frames", &queue.frames.len())
            .field("bytes", &queue.bytes)
            .field("ending", &queue.ending)
            .finish()
    }
}

impl Outbox {
    /// An empty outbox holding at most `limit` bytes of text (a single larger frame is
    /// accepted when nothing waits, so any one frame can be sent).
    pub(crate) fn new(limit: usize) -> Outbox {
        Outbox {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                ready: Notify::new(),
                ended: Notify::new(),
                limit,
            }),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a text frame. Past the limit the socket is closed instead (4008) and every
    /// waiting frame dropped; once the outbox is ending, frames are dropped. False when the
    /// frame was not queued.
    pub(crate) fn text(&self, text: String) -> bool {
        let mut queue = self.queue();
        if queue.ending {
            return false;
        }
        if queue.bytes > 0 && queue.bytes + text.len() > self.shared.limit {
            let waiting = queue.bytes;
            queue.frames.clear();
            queue.bytes = 0;
            queue.ending = true;
            queue.frames.push_back(Out::Close(
                TOO_SLOW,
                format!("too slow: {waiting} bytes were waiting for this socket; reconnect"),
            ));
            drop(queue);
            tracing::warn!(waiting, "event socket closed: the client is not reading its frames");
            self.wake();
            return false;
        }
        queue.bytes += text.len();
        queue.frames.push_back(Out::Text(text));
        drop(queue);
        self.shared.ready.notify_one();
        true
    }

    /// Queues a ping or a pong (not counted against the limit: they are tiny, and a client
    /// that does not read is closed by its text frames or the write timeout).
    pub(crate) fn control(&self, out: Out) {
        let mut queue = self.queue();
        if !queue.ending {
            queue.frames.push_back(out);
            drop(queue);
            self.shared.ready.notify_one();
        }
    }

    /// Ends the outbox: the frames already queued go out, then `bye` and a close frame with
    /// `code` and `reason`. Only the first end counts.
    pub(crate) fn close(&self, code: u16, reason: impl Into<String>) {
        self.end(Out::Close(code, reason.into()));
    }

    /// Ends the outbox without a close frame (the client is gone).
    pub(crate) fn stop(&self) {
        self.end(Out::Stop);
    }

    fn end(&self, last: Out) {
        let mut queue = self.queue();
        if queue.ending {
            return;
        }
        queue.ending = true;
        queue.frames.push_back(last);
        drop(queue);
        self.wake();
    }

    fn wake(&self) {
        self.shared.ready.notify_one();
        self.shared.ended.notify_waiters();
    }

    /// True once a close or stop is queued.
    fn is_ending(&self) -> bool {
        self.queue().ending
    }

    /// Waits until the outbox is ending (closed for being too slow, or by anyone).
    pub(crate) async fn ended(&self) {
        loop {
            let notified = self.shared.ended.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.is_ending() {
                return;
            }
            notified.await;
        }
    }

    /// The writer's side: the next frame, waiting for one.
    pub(crate) async fn next(&self) -> Out {
        loop {
            let notified = self.shared.ready.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            {
                let mut queue = self.queue();
                if let Some(out) = queue.frames.pop_front() {
                    if let Out::Text(text) = &out {
                        queue.bytes -= text.len();
                    }
                    return out;
                }
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_come_out_in_order_then_the_close() {
        let outbox = Outbox::new(100);
        assert!(outbox.text("a".into()));
        outbox.control(Out::Ping);
        assert!(outbox.text("b".into()));
        outbox.close(1000, "bye");
        assert!(!outbox.text("late".into()), "nothing after the close");
        assert_eq!(outbox.next().await, Out::Text("a".into()));
        assert_eq!(outbox.next().await, Out::Ping);
        assert_eq!(outbox.next().await, Out::Text("b".into()));
        assert_eq!(outbox.next().await, Out::Close(1000, "bye".into()));
    }

    #[tokio::test]
    async fn a_client_that_does_not_read_is_closed_not_buffered() {
        let outbox = Outbox::new(10);
        assert!(outbox.text("x".repeat(25)), "one large frame fits an empty outbox");
        assert!(!outbox.text("y".into()), "but nothing more: the socket is closed");
        outbox.ended().await;
        match outbox.next().await {
            Out::Close(code, reason) => {
                assert_eq!(code, TOO_SLOW);
                assert!(reason.starts_with("too slow: 25 bytes"), "{reason}");
            }
            other => panic!("the waiting frames are dropped for the close: {other:?}"),
        }
        assert_eq!(outbox.queue().bytes, 0);
    }
}
